#!/usr/bin/env bash
# Executes every notebook of notebooks/ headless against a pretraining run and an extracted-features folder:
#
#   notebooks/run-notebooks.sh RUN_DIR FEATURES_DIR [OUT_DIR]
#
#   RUN_DIR       a run folder (<exp_manager.exp_dir>/<exp_manager.name>: metrics/, checkpoints/, preview/)
#   FEATURES_DIR  a folder written by `nest extract` ([L, D, T] .npy files + features.json)
#   OUT_DIR       where the executed notebooks (with their outputs and figures) go; default target/notebooks
#
# Local paths only (copy runs from HDFS/S3 first). The notebooks read the paths from NEST_RUN_DIR and
# NEST_FEATURES_DIR. Needs Debian's jupyter-nbconvert, python3-ipykernel, python3-matplotlib and
# python3-numpy (bin/test installs them). Exit status: 0 when every notebook ran without an error, 1 when one
# failed (its traceback is printed; the others still run), 2 for bad usage or missing tools.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -ge 2 && $# -le 3 ]] || { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
run_dir=$1 features_dir=$2 out_dir=${3:-$HERE/../target/notebooks}
[[ -d "$run_dir/metrics" || -f "$run_dir/metrics.jsonl" ]] || { echo "run-notebooks: neither $run_dir/metrics/ nor $run_dir/metrics.jsonl found (not a run folder)" >&2; exit 2; }
[[ -f "$features_dir/features.json" ]] || { echo "run-notebooks: $features_dir/features.json not found (not an extract output)" >&2; exit 2; }
command -v jupyter >/dev/null || { echo "run-notebooks: jupyter not found: apt-get install jupyter-nbconvert python3-ipykernel python3-matplotlib python3-numpy" >&2; exit 2; }
mkdir -p "$out_dir"
export NEST_RUN_DIR NEST_FEATURES_DIR
NEST_RUN_DIR=$(cd "$run_dir" && pwd)
NEST_FEATURES_DIR=$(cd "$features_dir" && pwd)
export MPLBACKEND=${MPLBACKEND:-module://matplotlib_inline.backend_inline}
failed=0
for nb in "$HERE"/[0-9][0-9]-*.ipynb; do
  name=$(basename "$nb")
  start=$(date +%s)
  if jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.kernel_name=python3 \
      --output-dir "$out_dir" --output "$name" "$nb" > "$out_dir/${name%.ipynb}.log" 2>&1; then
    echo "ok     $name ($(( $(date +%s) - start )) s) -> $out_dir/$name"
  else
    echo "FAILED $name: see $out_dir/${name%.ipynb}.log"
    tail -30 "$out_dir/${name%.ipynb}.log" | sed 's/\x1b\[[0-9;]*m//g'   # without the traceback's colours
    failed=1
  fi
done
exit $failed
