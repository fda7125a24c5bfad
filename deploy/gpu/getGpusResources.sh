#!/usr/bin/env bash
# Spark GPU discovery script (spark.executor.resource.gpu.discoveryScript, spark.driver.resource.gpu.discoveryScript,
# spark.worker.resource.gpu.discoveryScript): prints the GPUs this container or host can use as Spark's
# ResourceInformation JSON, e.g. {"name": "gpu", "addresses": ["0","1"]}.
#
# Addresses are nvidia-smi's indices. When CUDA_VISIBLE_DEVICES restricts the visible GPUs (YARN and
# Kubernetes set it for a container), nvidia-smi still lists every GPU of the host, so only the visible
# ones are reported, renumbered from 0 as CUDA numbers them inside the process.
# Exit status non-zero (Spark then fails the executor with this message) when nvidia-smi is missing or fails.
set -euo pipefail
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "getGpusResources.sh: nvidia-smi not found: no NVIDIA driver on this host/container" >&2
  exit 1
fi
mapfile -t indices < <(nvidia-smi --query-gpu=index --format=csv,noheader | tr -d ' ')
if [[ -n "${CUDA_VISIBLE_DEVICES:-}" && "${CUDA_VISIBLE_DEVICES}" != "all" ]]; then
  IFS=, read -r -a visible <<< "$CUDA_VISIBLE_DEVICES"
  indices=()
  for i in "${!visible[@]}"; do indices+=("$i"); done
fi
json=""
for i in "${indices[@]+"${indices[@]}"}"; do
  [[ -n "$i" ]] || continue
  json+="${json:+,}\"$i\""
done
echo "{\"name\": \"gpu\", \"addresses\": [$json]}"
