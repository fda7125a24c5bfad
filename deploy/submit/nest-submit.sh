#!/usr/bin/env bash
# nest-submit.sh: runs a nest command (featurize, pretrain, extract, doctor, ...) with spark-submit on a
# Spark standalone, YARN or Kubernetes cluster, with everything nest-spark needs passed explicitly:
#
#   * the shaded jar (nest-spark-job/target/nest-spark-job-*-spark.jar; on Kubernetes the image's copy)
#     and --class org.nestspark.job.cli.NestCli;
#   * the config file(s) shipped with --files to the driver and the executors; the command gets them by
#     basename where the cluster puts --files in the driver's working directory (YARN and Kubernetes
#     cluster mode), by the path given otherwise (client mode: the driver is this host; standalone cluster
#     mode: give a path all workers see, e.g. hdfs://...);
#   * Java 17 module options (--add-opens ...) and the Aeron flag of SharedTrainingMaster, for the driver
#     and the executors (spark.driver/executor.extraJavaOptions);
#   * Kryo with nest-spark's registrator org.nestspark.job.spark.NestKryoRegistrator (ND4J's
#     org.nd4j.kryo.Nd4jRegistrator plus Java serialization for records, which Spark's Kryo 4 cannot build);
#   * ND4J's off-heap memory: -Dorg.bytedeco.javacpp.maxbytes = memoryOverhead - 1 GiB (room for the JVM's
#     own native memory) and maxphysicalbytes = memory + memoryOverhead - 512 MiB (JavaCPP frees or fails
#     before the cluster kills the container), for executors and driver;
#   * OMP_NUM_THREADS for executors: CPU executors run one task per core and one ND4J thread per task
#     (OMP_NUM_THREADS=1); GPU executors run one task per GPU with cores/GPUs CPU threads each;
#   * GPU scheduling (--gpus-per-executor N): spark.executor.resource.gpu.amount=N,
#     spark.task.resource.gpu.amount=1, the discovery script deploy/gpu/getGpusResources.sh (shipped
#     with --files on YARN, the image's /opt/nest/getGpusResources.sh on Kubernetes; standalone workers
#     declare their GPUs themselves: spark.worker.resource.gpu.*), and one GPU for the driver in cluster
#     mode (the CUDA build's driver initialises ND4J's CUDA backend too).
#
# usage: deploy/submit/nest-submit.sh --target standalone|yarn|k8s --deploy-mode client|cluster [options] -- COMMAND [ARGS...]
#
#   --master URL               spark://HOST:7077 (standalone, required), k8s://https://HOST:PORT (k8s, required); yarn: not needed
#   --config FILE              nest config (repeatable, later wins); local path or Hadoop URI
#   --jar PATH                 the shaded jar (default: the built one; k8s: local:///opt/nest/nest-spark.jar, in the image)
#   --name NAME                application name (default: nest-COMMAND)
#   --executors N              number of executors (default 2)
#   --executor-cores C         cores per executor (default 4)
#   --executor-memory M        executor heap (default 8g)
#   --executor-offheap M       executor memoryOverhead, ND4J's arrays live there (default 8g)
#   --driver-cores C           (default 2)
#   --driver-memory M          (default 8g)
#   --driver-offheap M         driver memoryOverhead (default 4g)
#   --gpus-per-executor N      GPUs per executor (default 0 = CPU executors)
#   --omp-threads T            OMP_NUM_THREADS per executor (default: 1 on CPU, cores/GPUs on GPU)
#   --queue Q                  YARN queue
#   --image IMAGE              k8s: container image (deploy/docker/Dockerfile.cuda or a CPU image), required for k8s
#   --namespace NS             k8s namespace (default default)
#   --service-account SA       k8s service account of the driver (default spark)
#   --upload-path URI          k8s cluster mode: where spark-submit stages local --files (spark.kubernetes.file.upload.path)
#   --pod-template FILE        k8s executor pod template (default deploy/k8s/executor-pod-template.yaml when GPUs are used)
#   --driver-pod-template FILE k8s driver pod template (default deploy/k8s/driver-pod-template.yaml in cluster mode with GPUs)
#   --kryo-registrator CLASS   spark.kryo.registrator (default org.nestspark.job.spark.NestKryoRegistrator; ND4J's own is
#                              org.nd4j.kryo.Nd4jRegistrator)
#   --conf KEY=VALUE           any extra Spark setting (repeatable; applied last, so it wins)
#   --spark-submit CMD         the spark-submit to run (default $SPARK_HOME/bin/spark-submit, else spark-submit on PATH)
#   --dry-run                  print the exact command and exit
#
# Exit code: spark-submit's (in cluster mode YARN and Kubernetes wait for the application and return its
# outcome; in standalone cluster mode this script waits (spark.standalone.submit.waitAppCompletion=true) and
# exits 1 unless the driver ended FINISHED, since Spark's standalone client exits 0 even for a FAILED driver),
# 2 for bad usage.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

OPENS="-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false"
AERON="-Daeron.publication.unblock.timeout=60000000000"
K8S_JAR=local:///opt/nest/nest-spark.jar
K8S_GPU_SCRIPT=/opt/nest/getGpusResources.sh

die() { echo "nest-submit: $*" >&2; exit 2; }

# memory size (512m, 8g, 8G, 2048) -> MiB
mib() {
  local v=${1,,}
  [[ "$v" =~ ^([0-9]+)([kmgt]?)b?$ ]] || die "not a memory size: $1 (e.g. 512m, 8g)"
  local n=${BASH_REMATCH[1]} u=${BASH_REMATCH[2]:-m}
  case "$u" in
    k) echo $(( n / 1024 )) ;;
    m) echo "$n" ;;
    g) echo $(( n * 1024 )) ;;
    t) echo $(( n * 1024 * 1024 )) ;;
  esac
}

# prints a token so that a shell reads it back unchanged
quote() {
  if [[ "$1" =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}

target="" mode="" master="" jar="" name="" queue="" image="" namespace=default sa=spark upload="" template="" driver_template=""
executors=2 ecores=4 emem=8g eoff=8g dcores=2 dmem=8g doff=4g gpus=0 omp="" dry=0
kryo=org.nestspark.job.spark.NestKryoRegistrator
submit=${SPARK_HOME:+$SPARK_HOME/bin/}spark-submit
configs=() extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --) shift; break ;;
    --dry-run) dry=1; shift ;;
    --target|--deploy-mode|--master|--config|--jar|--name|--executors|--executor-cores|--executor-memory|--executor-offheap|\
    --driver-cores|--driver-memory|--driver-offheap|--gpus-per-executor|--omp-threads|--queue|--image|--namespace|\
    --service-account|--upload-path|--pod-template|--driver-pod-template|--conf|--spark-submit|--kryo-registrator)
      [[ $# -ge 2 ]] || die "$1 needs a value"
      case "$1" in
        --target) target=$2 ;; --deploy-mode) mode=$2 ;; --master) master=$2 ;; --config) configs+=("$2") ;;
        --jar) jar=$2 ;; --name) name=$2 ;; --executors) executors=$2 ;; --executor-cores) ecores=$2 ;;
        --executor-memory) emem=$2 ;; --executor-offheap) eoff=$2 ;; --driver-cores) dcores=$2 ;;
        --driver-memory) dmem=$2 ;; --driver-offheap) doff=$2 ;; --gpus-per-executor) gpus=$2 ;; --omp-threads) omp=$2 ;;
        --queue) queue=$2 ;; --image) image=$2 ;; --namespace) namespace=$2 ;; --service-account) sa=$2 ;;
        --upload-path) upload=$2 ;; --pod-template) template=$2 ;; --conf) extra+=("$2") ;; --spark-submit) submit=$2 ;;
        --kryo-registrator) kryo=$2 ;; --driver-pod-template) driver_template=$2 ;;
      esac
      shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (the nest command goes after --)" ;;
  esac
done
[[ $# -ge 1 ]] || die "no nest command: ... -- COMMAND [ARGS...] (e.g. -- pretrain exp_manager.exp_dir=hdfs:///nest/runs)"
command=$1; shift
args=("$@")

case "$target" in standalone|yarn|k8s) ;; *) die "--target must be standalone, yarn or k8s" ;; esac
case "$mode" in client|cluster) ;; *) die "--deploy-mode must be client or cluster" ;; esac
for n in executors ecores dcores gpus; do [[ "${!n}" =~ ^[0-9]+$ ]] || die "not a whole number: ${!n}"; done
(( executors >= 1 && ecores >= 1 && dcores >= 1 )) || die "executors and cores must be at least 1"
[[ -z "$omp" || "$omp" =~ ^[1-9][0-9]*$ ]] || die "--omp-threads must be a positive whole number"
case "$target" in
  standalone) [[ "$master" == spark://* ]] || die "--target standalone needs --master spark://HOST:PORT" ;;
  k8s) [[ "$master" == k8s://* ]] || die "--target k8s needs --master k8s://https://HOST:PORT"
       [[ -n "$image" ]] || die "--target k8s needs --image" ;;
  yarn) [[ -z "$master" || "$master" == yarn ]] || die "--target yarn takes no --master (it is yarn)"; master=yarn ;;
esac
(( gpus == 0 || ecores >= gpus )) || die "--executor-cores ($ecores) must be at least --gpus-per-executor ($gpus)"

has_scheme() { [[ "$1" =~ ^[A-Za-z][A-Za-z0-9+.-]*:// ]]; }

# the jar
if [[ -z "$jar" ]]; then
  if [[ "$target" == k8s ]]; then
    jar=$K8S_JAR
  else
    jar=$(ls "$ROOT"/nest-spark-job/target/nest-spark-job-*-spark.jar 2>/dev/null | head -1 || true)
    [[ -n "$jar" ]] || die "no jar: build it (mvn -DskipTests package, or mvn -Pcuda -DskipTests package for GPUs) or pass --jar"
  fi
elif ! has_scheme "$jar"; then
  [[ -f "$jar" ]] || die "jar not found: $jar"
  jar=$(cd "$(dirname "$jar")" && pwd)/$(basename "$jar")
fi

# memory: ND4J's arrays are off-heap (JavaCPP), inside memoryOverhead
e_heap=$(mib "$emem"); e_over=$(mib "$eoff"); d_heap=$(mib "$dmem"); d_over=$(mib "$doff")
(( e_over >= 1536 && d_over >= 1536 )) || die "--executor-offheap and --driver-offheap must be at least 1536m (ND4J needs off-heap room)"
e_javacpp="-Dorg.bytedeco.javacpp.maxbytes=$(( e_over - 1024 ))m -Dorg.bytedeco.javacpp.maxphysicalbytes=$(( e_heap + e_over - 512 ))m"
d_javacpp="-Dorg.bytedeco.javacpp.maxbytes=$(( d_over - 1024 ))m -Dorg.bytedeco.javacpp.maxphysicalbytes=$(( d_heap + d_over - 512 ))m"

# threads: CPU = one task per core, one ND4J thread each; GPU = one task per GPU, cores/GPUs threads each
task_cpus=1
if (( gpus > 0 )); then task_cpus=$(( ecores / gpus )); fi
[[ -n "$omp" ]] || omp=$task_cpus

# config files: shipped to driver and executors; the command reads them by basename in YARN/k8s cluster mode
files=()
cmd_configs=()
for c in "${configs[@]+"${configs[@]}"}"; do
  if ! has_scheme "$c"; then
    [[ -f "$c" ]] || die "config file not found: $c"
    c=$(cd "$(dirname "$c")" && pwd)/$(basename "$c")
  fi
  files+=("$c")
  if [[ "$mode" == cluster && "$target" != standalone ]]; then
    cmd_configs+=(--config "$(basename "$c")")
  else
    cmd_configs+=(--config "$c")
  fi
done
if [[ "$mode" == cluster && "$target" == k8s ]]; then
  local_files=0
  for f in "${files[@]+"${files[@]}"}"; do has_scheme "$f" || local_files=1; done
  (( local_files == 0 || ${#upload} > 0 )) || die "k8s cluster mode ships local config files through --upload-path (e.g. s3a://bucket/spark-upload), or give the config as a Hadoop URI"
fi
if (( gpus > 0 )) && [[ "$target" == yarn ]]; then
  files+=("$ROOT/deploy/gpu/getGpusResources.sh")
fi

cmd=(--master "$master" --deploy-mode "$mode" --name "${name:-nest-$command}" --class org.nestspark.job.cli.NestCli)
case "$target" in
  standalone) cmd+=(--total-executor-cores "$(( executors * ecores ))" --executor-cores "$ecores") ;;
  *) cmd+=(--num-executors "$executors" --executor-cores "$ecores") ;;
esac
cmd+=(--executor-memory "$emem" --driver-memory "$dmem" --driver-cores "$dcores")
[[ -n "$queue" ]] && { [[ "$target" == yarn ]] || die "--queue is for YARN"; cmd+=(--queue "$queue"); }
if (( ${#files[@]} )); then
  cmd+=(--files "$(IFS=,; echo "${files[*]}")")
fi
conf() { cmd+=(--conf "$1"); }
conf "spark.driver.extraJavaOptions=$OPENS $AERON $d_javacpp"
conf "spark.executor.extraJavaOptions=$OPENS $AERON $e_javacpp"
conf "spark.serializer=org.apache.spark.serializer.KryoSerializer"
conf "spark.kryo.registrator=$kryo"
conf "spark.kryoserializer.buffer.max=1024m"
conf "spark.executor.memoryOverhead=$eoff"
[[ "$mode" == cluster ]] && conf "spark.driver.memoryOverhead=$doff"
conf "spark.task.cpus=$task_cpus"
conf "spark.executorEnv.OMP_NUM_THREADS=$omp"
# idle OpenMP threads sleep instead of spinning against OpenBLAS's (ComputeThreads)
conf "spark.executorEnv.OMP_WAIT_POLICY=PASSIVE"
conf "spark.executorEnv.LC_ALL=C.UTF-8"
# training masters need their executors for the whole run
conf "spark.dynamicAllocation.enabled=false"
case "$target" in
  yarn)
    if [[ "$mode" == cluster ]]; then
      conf "spark.yarn.appMasterEnv.OMP_NUM_THREADS=$dcores"
      conf "spark.yarn.appMasterEnv.OMP_WAIT_POLICY=PASSIVE"
      conf "spark.yarn.appMasterEnv.LC_ALL=C.UTF-8"
    fi
    ;;
  k8s)
    conf "spark.kubernetes.container.image=$image"
    conf "spark.kubernetes.namespace=$namespace"
    conf "spark.kubernetes.authenticate.driver.serviceAccountName=$sa"
    if [[ "$mode" == cluster ]]; then
      conf "spark.kubernetes.driverEnv.OMP_NUM_THREADS=$dcores"
      conf "spark.kubernetes.driverEnv.OMP_WAIT_POLICY=PASSIVE"
      conf "spark.kubernetes.driverEnv.LC_ALL=C.UTF-8"
    fi
    [[ -n "$upload" ]] && conf "spark.kubernetes.file.upload.path=$upload"
    ;;
  standalone)
    [[ "$mode" == cluster ]] && conf "spark.standalone.submit.waitAppCompletion=true"
    ;;
esac
if (( gpus > 0 )); then
  conf "spark.executor.resource.gpu.amount=$gpus"
  conf "spark.task.resource.gpu.amount=1"
  case "$target" in
    yarn)
      conf "spark.executor.resource.gpu.discoveryScript=./getGpusResources.sh"
      [[ "$mode" == cluster ]] && { conf "spark.driver.resource.gpu.amount=1"; conf "spark.driver.resource.gpu.discoveryScript=./getGpusResources.sh"; }
      ;;
    k8s)
      conf "spark.executor.resource.gpu.vendor=nvidia.com"
      conf "spark.executor.resource.gpu.discoveryScript=$K8S_GPU_SCRIPT"
      conf "spark.kubernetes.executor.podTemplateFile=${template:-$ROOT/deploy/k8s/executor-pod-template.yaml}"
      if [[ "$mode" == cluster ]]; then
        conf "spark.driver.resource.gpu.amount=1"
        conf "spark.driver.resource.gpu.vendor=nvidia.com"
        conf "spark.driver.resource.gpu.discoveryScript=$K8S_GPU_SCRIPT"
        conf "spark.kubernetes.driver.podTemplateFile=${driver_template:-$ROOT/deploy/k8s/driver-pod-template.yaml}"
      fi
      ;;
    standalone) ;; # workers assign GPUs: spark.worker.resource.gpu.amount / discoveryScript in SPARK_WORKER_OPTS
  esac
else
  if [[ -n "$template" ]]; then
    [[ "$target" == k8s ]] || die "--pod-template is for k8s"
    conf "spark.kubernetes.executor.podTemplateFile=$template"
  fi
  if [[ -n "$driver_template" ]]; then
    [[ "$target" == k8s ]] || die "--driver-pod-template is for k8s"
    conf "spark.kubernetes.driver.podTemplateFile=$driver_template"
  fi
fi
for e in "${extra[@]+"${extra[@]}"}"; do
  [[ "$e" == *=* ]] || die "--conf needs KEY=VALUE, got $e"
  conf "$e"
done
app=("$jar" "$command" "${cmd_configs[@]+"${cmd_configs[@]}"}" "${args[@]+"${args[@]}"}")

# client mode: the driver is a JVM on this host
envs=()
[[ "$mode" == client ]] && envs=("OMP_NUM_THREADS=$dcores" "OMP_WAIT_POLICY=PASSIVE" "LC_ALL=C.UTF-8")

if (( dry )); then
  # one spark-submit option per line (they all take a value), then the jar, the command and its arguments
  line=""
  for e in "${envs[@]+"${envs[@]}"}"; do line+="$(quote "$e") "; done
  line+="$(quote "$submit")"
  for (( i = 0; i < ${#cmd[@]}; i += 2 )); do
    line+=" \\"$'\n'"  $(quote "${cmd[$i]}") $(quote "${cmd[$((i + 1))]}")"
  done
  line+=" \\"$'\n'" "
  for t in "${app[@]}"; do line+=" $(quote "$t")"; done
  printf '%s\n' "$line"
  exit 0
fi
for e in "${envs[@]+"${envs[@]}"}"; do export "${e?}"; done
if [[ "$target" == standalone && "$mode" == cluster ]]; then
  # Spark's standalone client exits 0 whatever state the driver ends in: read the state it reports
  log=$(mktemp "${TMPDIR:-/tmp}/nest-submit.XXXXXX")
  trap 'rm -f "$log"' EXIT
  set +e
  "$submit" "${cmd[@]}" "${app[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  state=$(grep -o 'State of driver driver-[^ ]* is [A-Z]*' "$log" | tail -1 | awk '{print $NF}')
  driver=$(grep -o 'driver-[0-9]*-[0-9]*' "$log" | head -1)
  if (( rc == 0 )) && [[ "$state" != FINISHED ]]; then
    echo "nest-submit: driver ${driver:-?} ended ${state:-in an unknown state}; its output is in the worker's work folder (${driver:-driver-*}/stderr)" >&2
    exit 1
  fi
  exit "$rc"
fi
exec "$submit" "${cmd[@]}" "${app[@]}"
