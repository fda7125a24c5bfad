#!/usr/bin/env bash
# spark-submit without a Spark installation: runs org.apache.spark.deploy.SparkSubmit from the same
# Maven-resolved Spark jars as cluster.sh, with the nest-spark jar and Java 17 module options.
#   deploy/standalone/submit.sh [spark-submit options] -- <nest command> [args...]
# e.g. deploy/standalone/submit.sh --master "$(cat target/standalone/master-url)" -- featurize --manifest M --out DIR
# Without "--" it is a plain spark-submit (all arguments passed through, the jar and --class included), as
# deploy/submit/nest-submit.sh --spark-submit deploy/standalone/submit.sh uses it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${NEST_CLUSTER_DIR:-$ROOT/target/standalone}
CP_FILE=$DIR/spark-classpath.txt
if [[ ! -s "$CP_FILE" || "$ROOT/deploy/standalone/spark-dist-pom.xml" -nt "$CP_FILE" ]]; then
  mkdir -p "$DIR"
  mvn -q -B -f "$ROOT/deploy/standalone/spark-dist-pom.xml" dependency:build-classpath -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=runtime >&2
fi
passthrough=1
for a in "$@"; do [[ "$a" == "--" ]] && passthrough=0; done
opts=()
while [[ $# -gt 0 && "$1" != "--" ]]; do opts+=("$1"); shift; done
[[ "${1:-}" == "--" ]] && shift
OPENS="-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false"
export LC_ALL=C.UTF-8 SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}
if (( passthrough )); then
  # shellcheck disable=SC2086
  exec "${JAVA_HOME:+$JAVA_HOME/bin/}java" -Xmx"${NEST_DRIVER_MEMORY:-2g}" $OPENS -cp "$(cat "$CP_FILE")" \
    org.apache.spark.deploy.SparkSubmit "${opts[@]}"
fi
JAR=$(ls "$ROOT"/nest-spark-job/target/nest-spark-job-*-spark.jar 2>/dev/null | head -1 || true)
[[ -n "$JAR" ]] || { echo "submit.sh: build first: mvn -DskipTests package" >&2; exit 1; }
# shellcheck disable=SC2086
exec "${JAVA_HOME:+$JAVA_HOME/bin/}java" -Xmx"${NEST_DRIVER_MEMORY:-2g}" $OPENS -cp "$(cat "$CP_FILE")" \
  org.apache.spark.deploy.SparkSubmit "${opts[@]}" --class org.nestspark.job.cli.NestCli "$JAR" "$@"
