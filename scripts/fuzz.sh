#!/bin/sh
# Run one libFuzzer target for a number of seconds on its seed corpus.
#   scripts/fuzz.sh nke 300      (targets: fuzz/fuzz_*.c)
# Seeds come from fuzz/corpus/TARGET/, a dictionary from fuzz/TARGET.dict if
# there is one.
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
dict=fuzz/$target.dict
[ -f "$dict" ] || dict=
cd build/fuzz
# Not piped into tail: sh has no pipefail, and the fuzzer's status matters.
st=0
"./fuzz_$target" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=./ \
    ${dict:+"-dict=$top/$dict"} \
    "corpus-$target" ${seeds:+"$top/$seeds"} >"fuzz-$target.log" 2>&1 || st=$?
tail -n 25 "fuzz-$target.log"
exit "$st"
