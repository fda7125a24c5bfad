#!/usr/bin/env bash
# A real Spark standalone cluster on 127.0.0.1 (one master, N workers, each its own JVM) started from
# the Spark jars Maven already has (no download). For trying spark-submit locally and for the cluster
# tests; a production cluster uses its own Spark installation.
#
#   deploy/standalone/cluster.sh start [WORKERS] [CORES_PER_WORKER] [MEMORY_PER_WORKER]   (default 2 1 2g)
#   deploy/standalone/cluster.sh status
#   deploy/standalone/cluster.sh stop
#
# State (pids, logs, a SPARK_HOME made of links to the Maven jars) lives in $NEST_CLUSTER_DIR
# (default: <repo>/target/standalone). The master URL is written to $NEST_CLUSTER_DIR/master-url.
# NEST_WORKER_JAVA_OPTS: extra JVM options for the workers, e.g. GPU resources for resource scheduling:
#   -Dspark.worker.resource.gpu.amount=2 -Dspark.worker.resource.gpu.discoveryScript=deploy/gpu/getGpusResources.sh
# Needs Maven (resolves the Spark jars once, from the local repository or Maven Central).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${NEST_CLUSTER_DIR:-$ROOT/target/standalone}
CP_FILE=$DIR/spark-classpath.txt
MASTER_PORT=${NEST_MASTER_PORT:-7077}
MASTER_UI_PORT=${NEST_MASTER_UI_PORT:-8080}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
OPENS="-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false"

spark_home() {
  # Spark's launcher (used by workers to start executors) expects $SPARK_HOME/jars: link the Maven jars there
  local home=$DIR/spark-home
  if [[ ! -s "$CP_FILE" || "$ROOT/deploy/standalone/spark-dist-pom.xml" -nt "$CP_FILE" ]]; then
    mvn -q -B -f "$ROOT/deploy/standalone/spark-dist-pom.xml" dependency:build-classpath \
      -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=runtime >&2
  fi
  rm -rf "$home"
  mkdir -p "$home/jars" "$home/conf"
  tr ':' '\n' < "$CP_FILE" | while read -r jar; do
    [[ -n "$jar" ]] && ln -sf "$jar" "$home/jars/$(basename "$jar")"
  done
  cat > "$home/conf/log4j2.properties" <<'LOG'
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.deploy.name = org.apache.spark.deploy
logger.deploy.level = info
LOG
  echo "$home"
}

launch() { # name class args...
  local name=$1; shift
  local cls=$1; shift
  local extra=""
  [[ "$cls" == *.Worker ]] && extra=${NEST_WORKER_JAVA_OPTS:-}
  # shellcheck disable=SC2086
  SPARK_HOME=$DIR/spark-home SPARK_SCALA_VERSION=2.12 SPARK_LOCAL_IP=127.0.0.1 SPARK_CONF_DIR=$DIR/spark-home/conf LC_ALL=C.UTF-8 \
    nohup "$JAVA" -Xmx512m $OPENS $extra -cp "$DIR/spark-home/conf:$DIR/spark-home/jars/*" "$cls" "$@" > "$DIR/$name.log" 2>&1 &
  echo $! > "$DIR/$name.pid"
}

wait_for() { # file pattern seconds
  for _ in $(seq 1 "$3"); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 1
  done
  echo "cluster.sh: timed out waiting for '$2' in $1" >&2
  tail -20 "$1" >&2
  return 1
}

start() {
  local workers=${1:-2} cores=${2:-1} memory=${3:-2g}
  mkdir -p "$DIR"
  if [[ -f "$DIR/master.pid" ]] && kill -0 "$(cat "$DIR/master.pid")" 2>/dev/null; then
    echo "cluster.sh: already running (master pid $(cat "$DIR/master.pid")); stop it first" >&2
    exit 1
  fi
  spark_home > /dev/null
  launch master org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$MASTER_PORT" --webui-port "$MASTER_UI_PORT"
  wait_for "$DIR/master.log" "I have been elected leader" 60
  # Spark moves to the next free port when the asked one is taken: use the one it bound
  local url
  url=$(grep -o 'Starting Spark master at spark://[^ ]*' "$DIR/master.log" | head -1 | sed 's/.* at //')
  [[ -n "$url" ]] || { echo "cluster.sh: cannot find the master URL in $DIR/master.log" >&2; exit 1; }
  for i in $(seq 1 "$workers"); do
    mkdir -p "$DIR/work-$i"
    launch "worker-$i" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores "$cores" --memory "$memory" \
      --work-dir "$DIR/work-$i" --webui-port $((MASTER_UI_PORT + i)) "$url"
  done
  for i in $(seq 1 "$workers"); do
    wait_for "$DIR/worker-$i.log" "Successfully registered with master" 60
  done
  echo "$url" > "$DIR/master-url"
  echo "master $url (UI http://127.0.0.1:$MASTER_UI_PORT), $workers worker(s) x $cores core(s), $memory; logs in $DIR"
}

stop() {
  local any=0
  for pidfile in "$DIR"/worker-*.pid "$DIR"/master.pid; do
    [[ -f "$pidfile" ]] || continue
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      # executors are children of their worker: stop them with it
      pkill -TERM -P "$pid" 2>/dev/null || true
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
      any=1
    fi
    rm -f "$pidfile"
  done
  rm -f "$DIR/master-url"
  [[ $any == 1 ]] && echo "stopped" || echo "not running"
}

status() {
  for pidfile in "$DIR"/master.pid "$DIR"/worker-*.pid; do
    [[ -f "$pidfile" ]] || continue
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then echo "$(basename "$pidfile" .pid): running (pid $pid)"; else echo "$(basename "$pidfile" .pid): dead"; fi
  done
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [WORKERS] [CORES] [MEMORY] | status | stop" >&2; exit 2 ;;
esac
