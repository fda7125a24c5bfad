#!/usr/bin/env bash
# Makes the FLAC seeking fixtures of org.nestspark.audio.FlacSeekerTest under
# nest-model/src/test/resources/audio/seek/ (needs sox 14.4.x and flac 1.4.x here, never at test time):
#
#   sweep8k_seektable.flac     8 s, 8 kHz mono 16-bit (a 200-3000 Hz sweep plus faint white noise), fixed
#                              block size 1024, a SEEKTABLE with a point every second (-S 1s)
#   sweep8k_noseektable.flac   the same audio without a SEEKTABLE (--no-seektable)
#
# The tests compare a seeking decode with the whole-file decode of the same file (itself checked against
# `flac -d` by FlacDecoderTest), so no reference WAV is kept.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/../resources/audio/seek"
for tool in sox flac; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
sox -R -n -r 8000 -b 16 -c 1 "$TMP/sweep.wav" synth 8 sine 200-3000 vol 0.5
sox -R -n -r 8000 -b 16 -c 1 "$TMP/noise.wav" synth 8 whitenoise vol 0.0005
sox -R -m "$TMP/sweep.wav" "$TMP/noise.wav" "$TMP/mix.wav"
flac -s -5 -b 1024 -S 1s -f -o "$OUT/sweep8k_seektable.flac" "$TMP/mix.wav"
flac -s -5 -b 1024 --no-seektable -f -o "$OUT/sweep8k_noseektable.flac" "$TMP/mix.wav"
