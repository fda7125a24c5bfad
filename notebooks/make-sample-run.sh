#!/usr/bin/env bash
# Makes a real (tiny) pretraining run and its extracted features from the bundled sample corpus, for running
# the notebooks on the jobs' actual output (CI does this):
#
#   notebooks/make-sample-run.sh OUT_DIR            # about 1-2 minutes on 2 cores
#   notebooks/run-notebooks.sh OUT_DIR/exp/nest OUT_DIR/features
#
# 1. bin/nest pretrain with conf/nest-tiny.conf (60 steps) on deploy/sample -> OUT_DIR/exp/nest
# 2. bin/nest extract of all 32 sample utterances with the last checkpoint, every layer -> OUT_DIR/features
# Runs resume and extraction keeps complete outputs, so a second call on the same OUT_DIR is quick.
# Environment: NEST_SPARK_MASTER (default local[2]); bin/nest's own (NEST_DRIVER_MEMORY, ...).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $# -eq 1 ]] || { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
S=$ROOT/deploy/sample
MASTER=${NEST_SPARK_MASTER:-local[2]}

"$ROOT/bin/nest" pretrain --config "$ROOT/conf/nest-tiny.conf" \
  model.train_ds.manifest_filepath="$S/train_manifest.json" model.train_ds.noise_manifest="$S/noise_manifest.json" \
  model.validation_ds.manifest_filepath="$S/val_manifest.json" exp_manager.exp_dir="$OUT/exp" "spark.master=$MASTER"

# one manifest with every utterance (absolute paths: it lives outside deploy/sample)
cat "$S/train_manifest.json" "$S/val_manifest.json" \
  | sed "s#\"audio_filepath\": \"#\"audio_filepath\": \"$S/#" > "$OUT/sample_manifest.json"
ckpt=$(find "$OUT/exp/nest/checkpoints" -name 'step-*.ckpt' | sort | tail -1)
"$ROOT/bin/nest" extract --model "$ckpt" --input "$OUT/sample_manifest.json" --output "$OUT/features" --layers all \
  "spark.master=$MASTER"
echo "run:      $OUT/exp/nest"
echo "features: $OUT/features"
