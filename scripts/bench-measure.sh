#!/bin/sh
# Measurement accuracy benchmark (issue 3): N full probes of the loopback
# chronyd of the test bed, and M runs of chronyd -Q (chrony's own NTS client)
# measuring the same server in the same run.  Prints the median and spread of
# offset and delay of each, side by side.  Not a test: figures to read.
#   scripts/bench-measure.sh [N=100] [M=15]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100}
m=${2:-15}
cd "$top"
make -s all
export TESTBED_DIR=${TESTBED_DIR:-$top/build/testbed}
sh scripts/testbed.sh start >/dev/null
trap 'sh scripts/testbed.sh stop >/dev/null 2>&1' EXIT
. "$TESTBED_DIR/testbed.env"
out=$(mktemp -d)
i=0
t0=$(date +%s%N)
while [ $i -lt "$n" ]; do
    bin/ntspool-probe --json -4 --ca-file "$TB_CA" -p "$TB_SYNC_KE" 127.0.0.1 \
        >"$out/p$i.json" || true
    i=$((i + 1))
done
t1=$(date +%s%N)
j=0
while [ $j -lt "$m" ]; do
    sh scripts/testbed.sh chrony-q sync 2>/dev/null >>"$out/q.txt" || true
    j=$((j + 1))
done
python3 - "$out" "$n" "$m" "$(( (t1 - t0) / 1000000 ))" <<'PY'
import glob, json, re, statistics, sys
out, n, m, ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
off, dly, ok = [], [], 0
for f in glob.glob(out + "/p*.json"):
    try:
        d = json.load(open(f))
    except ValueError:
        continue
    for p in d["probes"]:
        if p["reason"] == "ok":
            ok += 1
        for x in p["ntp"]:
            if x["status"] == "ok":
                off.append(x["offset"]); dly.append(x["delay"])
q = [float(v) for v in re.findall(r"wrong by (-?[0-9.]+) seconds", open(out + "/q.txt").read())]
def show(name, v):
    if not v:
        print(f"{name:28s} no samples"); return
    v = sorted(v)
    p10, p90 = v[len(v) // 10], v[(9 * len(v)) // 10]
    print(f"{name:28s} n={len(v):4d} median {statistics.median(v)*1e6:+9.1f} us"
          f"  p10..p90 {p10*1e6:+8.1f}..{p90*1e6:+8.1f} us  min {v[0]*1e6:+8.1f} max {v[-1]*1e6:+8.1f} us")
print(f"ntspool-probe: {n} probes, {ok} scored ok, {ms} ms wall in all ({ms/n:.1f} ms per process)")
show("ntspool-probe offset", off)
show("ntspool-probe delay", dly)
show("chronyd -Q offset", q)
if off and q:
    print(f"median offset difference (ntspool - chronyd -Q): "
          f"{(statistics.median(off) - statistics.median(q))*1e6:+.1f} us")
PY
rm -rf "$out"
