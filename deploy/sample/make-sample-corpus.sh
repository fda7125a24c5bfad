#!/usr/bin/env bash
# Makes the small sample corpus that ships with nest-spark (README demo, tests):
#   speech/   32 short English utterances spoken by espeak-ng, 16 kHz mono (half WAV 16-bit, half FLAC)
#   noise/    4 noise clips made by sox (white, pink, brown noise and a hum), 16 kHz mono WAV
#   train_manifest.json, val_manifest.json, noise_manifest.json   NeMo manifests (relative paths)
# Needs Debian's espeak-ng, sox and flac:  apt-get install -y espeak-ng sox flac
# The files are committed; run this only to remake them.
#
# A longer corpus of the same kind (e.g. for comparing training strategies, README "Scaling out"):
#   deploy/sample/make-sample-corpus.sh --out DIR --repeat K
# speaks every sentence with K voice/speed combinations (32·K utterances; sentences 29-32 of each repeat go
# to val_manifest.json). --repeat 1 into the script's own folder is the bundled sample.
set -euo pipefail
out_dir=$(dirname "$0")
repeat=1
while (( $# )); do
  case "$1" in
    --out) out_dir=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    *) echo "usage: $0 [--out DIR] [--repeat K]" >&2; exit 2 ;;
  esac
done
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "--repeat takes a positive whole number, got '$repeat'" >&2; exit 2; }
mkdir -p "$out_dir"
cd "$out_dir"
for tool in espeak-ng sox flac; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y espeak-ng sox flac" >&2; exit 1; }
done
rm -rf speech noise ./*.json
mkdir -p speech noise

sentences=(
  "The quick brown fox jumps over the lazy dog."
  "Spark schedules tasks on executors across the cluster."
  "Self supervised learning needs no transcripts."
  "Please call Stella and ask her to bring these things."
  "The encoder reads eighty log mel features every ten milliseconds."
  "A masked block covers four hundred milliseconds of speech."
  "Six spoons of fresh snow peas."
  "We also need a small plastic snake and a big toy frog."
  "The weather today is cloudy with a chance of rain."
  "Checkpoints are written to a temporary name and renamed."
  "She can scoop these things into three red bags."
  "Noise is mixed into half of the utterances."
  "Random projection quantizers produce the training targets."
  "How much wood would a woodchuck chuck."
  "The train leaves the station at seven in the morning."
  "Parameter averaging keeps the workers in step."
  "Numbers like forty two and nineteen eighty four are spoken too."
  "Every path goes through the Hadoop file system."
  "A rainbow is a division of white light into many beautiful colors."
  "The driver owns the checkpoint manager."
  "Bring your own manifests and keep your own file names."
  "Short clips are repeated until they last one second."
  "Good morning."
  "Thank you very much."
  "Feature extraction runs in evaluation mode."
  "The conformer layer has two feed forward modules."
  "Open the window and let the fresh air in."
  "Batch norm statistics are averaged with the parameters."
  "Where are the keys to the blue car."
  "Learning rate warm up follows the Noam schedule."
  "Yes."
  "The sun sets behind the mountains in the evening."
)
voices=(en-us en-gb en-us+f3 en-gb+m3 en-us+f2 en+m7 en-us+m4 en-gb+f4)
speeds=(150 165 175 140 160 180 155 170)

: > train_manifest.json
: > val_manifest.json
tmp=$(mktemp -d)
for ((r = 0; r < repeat; r++)); do
for i in "${!sentences[@]}"; do
  j=$((r * ${#sentences[@]} + i))
  n=$(printf "%02d" "$j")
  v=${voices[$(((i + r) % ${#voices[@]}))]}
  s=${speeds[$(((i + 3 * r) % ${#speeds[@]}))]}
  espeak-ng -v "$v" -s "$s" -w "$tmp/$n.wav" "${sentences[$i]}"
  # 16 kHz mono 16-bit; a little headroom; trim espeak's trailing silence to 100 ms
  sox "$tmp/$n.wav" -r 16000 -c 1 -b 16 "$tmp/${n}_16k.wav" gain -n -3 reverse silence 1 0.1 0.1% reverse pad 0.05 0
  if (( i % 2 == 0 )); then
    out="speech/utt_$n.wav"; cp "$tmp/${n}_16k.wav" "$out"
  else
    out="speech/utt_$n.flac"; flac -s -8 -f -o "$out" "$tmp/${n}_16k.wav"
  fi
  rm -f "$tmp/$n.wav" "$tmp/${n}_16k.wav"
  dur=$(soxi -D "$out")
  text=${sentences[$i]}
  line="{\"audio_filepath\": \"$out\", \"duration\": $dur, \"text\": \"$text\"}"
  if (( i >= 28 )); then echo "$line" >> val_manifest.json; else echo "$line" >> train_manifest.json; fi
done
done
rmdir "$tmp"

sox -n -r 16000 -c 1 -b 16 noise/white.wav synth 3 whitenoise gain -18
sox -n -r 16000 -c 1 -b 16 noise/pink.wav synth 3 pinknoise gain -12
sox -n -r 16000 -c 1 -b 16 noise/brown.wav synth 4 brownnoise gain -10
sox -n -r 16000 -c 1 -b 16 noise/hum.wav synth 2.5 sine 50 sine 150 gain -20
: > noise_manifest.json
for f in noise/*.wav; do
  echo "{\"audio_filepath\": \"$f\", \"duration\": $(soxi -D "$f")}" >> noise_manifest.json
done
du -sh . && wc -l ./*.json
