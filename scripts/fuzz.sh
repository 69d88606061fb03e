#!/bin/sh
# Run one libFuzzer target for a number of seconds on its seed corpus.
#   scripts/fuzz.sh nke 300      (targets: fuzz/fuzz_*.c)
# New inputs go to build/fuzz/corpus-TARGET (the committed seeds stay as they
# are); a crash leaves crash-* files in build/fuzz/ and a non-zero status.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: fuzz.sh TARGET SECONDS}
secs=${2:-60}
cd "$top"
make fuzz >/dev/null
bin=build/fuzz/fuzz_$target
[ -x "$bin" ] || { echo "no fuzz target $target" >&2; exit 2; }
work=build/fuzz/corpus-$target
mkdir -p "$work"
seeds=fuzz/corpus/$target
[ -d "$seeds" ] || seeds=
cd build/fuzz
"./fuzz_$target" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=./ \
    "corpus-$target" ${seeds:+"$top/$seeds"} 2>&1 | tail -n 25
