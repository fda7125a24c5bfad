#!/usr/bin/env bash
# Fuzzes nest-spark's parsers with Jazzer, one target after another, each for its @FuzzTest maxDuration
# (30 s; raise it in the test class for a longer campaign). Usage: deploy/fuzz/fuzz.sh [TARGET ...]
#   targets: AudioFuzzTest#wav AudioFuzzTest#flac NpyFuzzTest#npy NemoFuzzTest#yaml NemoFuzzTest#pickle
#            NemoArchiveFuzzTest#tar NemoArchiveFuzzTest#torchZip ManifestFuzzTest#manifest NestConfigFuzzTest#config
#            (default: all)
# A crash, hang or out-of-memory is saved by Jazzer as an input file under
# nest-model/src/test/resources/org/nestspark/<package>/<Class>Inputs/<target>/ (commit it with the fix: the
# normal test run replays every input there); the generated corpus goes to .cifuzz-corpus/ (not committed).
# Prints one line per target: executions, corpus size and findings (from libFuzzer's closing lines).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
targets=("$@")
(( ${#targets[@]} )) || targets=(AudioFuzzTest#wav AudioFuzzTest#flac NpyFuzzTest#npy NemoFuzzTest#yaml NemoFuzzTest#pickle
  NemoArchiveFuzzTest#tar NemoArchiveFuzzTest#torchZip ManifestFuzzTest#manifest NestConfigFuzzTest#config)
mkdir -p target/fuzz
status=0
for t in "${targets[@]}"; do
  log="target/fuzz/${t//#/_}.log"
  JAZZER_FUZZ=1 mvn -B -ntp -o -pl nest-model test -Dtest="$t" -Dsurefire.failIfNoSpecifiedTests=false \
    -Dsurefire.reportFormat=plain > "$log" 2>&1
  rc=$?
  execs=$(grep -ao 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1)
  cov=$(grep -aoE '#[0-9]+ +(DONE|pulse|NEW|REDUCE).*' "$log" | tail -1 | cut -c1-100)
  finding=$(grep -aE 'FuzzTestFindingException|== Java Exception|ERROR: libFuzzer' "$log" | head -1 | cut -c1-160)
  printf '%-22s rc=%d  %s  %s  %s\n' "$t" "$rc" "${execs:-?}" "${cov:-}" "${finding:-no finding}"
  (( rc == 0 )) || status=1
done
exit $status
