#!/usr/bin/env bash
# Trains the tiny preset the same number of samples four ways, for comparing training strategies
# (README "Scaling out", notebook 04):
#
#   notebooks/make-strategy-runs.sh CORPUS_DIR OUT_DIR [STEPS] [VAL_EVERY]
#
#   CORPUS_DIR  a folder with train_manifest.json, val_manifest.json, noise_manifest.json (deploy/sample, or a
#               longer corpus from deploy/sample/make-sample-corpus.sh --out DIR --repeat K)
#   OUT_DIR     gets one run folder per strategy: OUT_DIR/<strategy>/nest (metrics/, checkpoints/)
#   STEPS       steps of the two-worker runs (default 60); the one-process run takes twice as many, so every
#               run trains on the same batches' worth of samples
#   VAL_EVERY   validation interval of the two-worker runs in steps (default 20; doubled for one process)
#
# The runs: one-process (1 worker, local[1]); parameter-averaging (2 workers, averaging every step, local[2]);
# diloco-h10 and diloco-h50 (2 workers, 10 and 50 inner steps per round). Then prints val_loss and
# val_masked_accuracy side by side at equal samples. Runs resume, so a second call is quick.
# Environment: OMP_NUM_THREADS (default 1); bin/nest's own (NEST_DRIVER_MEMORY, ...).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $# -ge 2 && $# -le 4 ]] || { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
C=$(cd "$1" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
STEPS=${3:-60}
VAL=${4:-20}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
for f in train_manifest.json val_manifest.json noise_manifest.json; do
  [[ -f "$C/$f" ]] || { echo "make-strategy-runs: $C/$f not found" >&2; exit 2; }
done

run() { # name master workers steps val [key=value ...]
  local name=$1 master=$2 workers=$3 steps=$4 val=$5
  shift 5
  "$ROOT/bin/nest" pretrain --config "$ROOT/conf/nest-tiny.conf" \
    model.train_ds.manifest_filepath="$C/train_manifest.json" model.train_ds.noise_manifest="$C/noise_manifest.json" \
    model.validation_ds.manifest_filepath="$C/val_manifest.json" model.validation_ds.noise_manifest="$C/noise_manifest.json" \
    exp_manager.exp_dir="$OUT/$name" trainer.max_steps="$steps" trainer.max_epochs=-1 trainer.val_check_interval="$val" \
    trainer.log_every_n_steps="$val" "spark.master=$master" pretrain.num_workers="$workers" "$@" > "$OUT/$name.log" 2>&1 \
    || { echo "make-strategy-runs: $name failed, see $OUT/$name.log" >&2; tail -5 "$OUT/$name.log" >&2; exit 1; }
  echo "$name: $(grep '\[pretrain\] done' "$OUT/$name.log" | tail -1 | cut -c1-120)"
}
run one-process "local[1]" 1 $((2 * STEPS)) $((2 * VAL))
run parameter-averaging "local[2]" 2 "$STEPS" "$VAL" pretrain.strategy=parameter_averaging pretrain.averaging_frequency=1
run diloco-h10 "local[2]" 2 "$STEPS" "$VAL" pretrain.strategy=diloco pretrain.diloco.inner_steps=10
run diloco-h50 "local[2]" 2 "$STEPS" "$VAL" pretrain.strategy=diloco pretrain.diloco.inner_steps=50

python3 - "$OUT" "$ROOT/notebooks" <<'PY'
import json, os, sys
out = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from nest_metrics import read_metrics
runs = ["one-process", "parameter-averaging", "diloco-h10", "diloco-h50"]
def vals(name):
    res = {}
    for r in read_metrics(os.path.join(out, name, "nest"))[0]:
        if r.get("kind") == "val":
            res[r["step"] * (1 if name == "one-process" else 2)] = (r["val_loss"], r["val_masked_accuracy"])
    return res
v = {n: vals(n) for n in runs}
print("batches trained | " + " | ".join(f"{n} val_loss (acc)" for n in runs))
for b in sorted(v["one-process"]):
    cells = [f"{v[n][b][0]:.4f} ({v[n][b][1]:.3f})" if b in v[n] else "-" for n in runs]
    print(f"{b} | " + " | ".join(cells))
last = max(v["one-process"])
base = v["one-process"][last][0]
for n in runs[1:]:
    if last in v[n]:
        print(f"{n}: final val_loss {v[n][last][0]:.4f} = {100 * (v[n][last][0] / base - 1):+.1f} % vs one process")
PY
