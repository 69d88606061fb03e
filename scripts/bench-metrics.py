#!/usr/bin/env python3
"""Helpers of scripts/bench-*.sh: read two /metrics snapshots of ntspoold.

  bench-metrics.py probes BEFORE AFTER SECONDS
      probes finished between the snapshots (ntspool_probes_total deltas),
      per second, by reason; samples stored per second; scheduler lag p50/p99
      interpolated within the buckets of the ntspool_scheduler_lag_seconds
      histogram delta (as Prometheus' histogram_quantile does); database
      batches and their p50/p99 (ntspool_db_batch_seconds) likewise.
      Prints "key=value" lines for the shell, then a human line.
"""
import re
import sys

LINE = re.compile(r'^([a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+|\+Inf|NaN)$')


def parse(path):
    m = {}
    for line in open(path):
        x = LINE.match(line.strip())
        if x:
            m[(x.group(1), x.group(2) or "")] = float(x.group(3))
    return m


def quantile(q, buckets):
    """buckets: [(upper bound, cumulative count)] sorted, +Inf last."""
    total = buckets[-1][1]
    if total <= 0:
        return float("nan")
    rank = q * total
    lo, prev = 0.0, 0.0
    for ub, cum in buckets:
        if cum >= rank:
            if ub == float("inf"):
                return lo  # beyond the last finite bound: report that bound
            return lo + (ub - lo) * (rank - prev) / (cum - prev) if cum > prev else ub
        lo, prev = ub, cum
    return lo


def buckets(a, b, metric):
    """The delta of a histogram's buckets: [(upper bound, cumulative count)]."""
    bk = []
    for (name, labels), v in b.items():
        if name == metric:
            le = re.search(r'le="([^"]*)"', labels).group(1)
            ub = float("inf") if le == "+Inf" else float(le)
            bk.append((ub, v - a.get((name, labels), 0.0)))
    bk.sort()
    return bk


def probes(before, after, seconds):
    a, b = parse(before), parse(after)
    total, reasons = 0.0, {}
    for (name, labels), v in b.items():
        # the built-in monitor's probes (results from remote monitors are
        # counted too, with monitor="remote")
        if name == "ntspool_probes_total" and 'monitor="remote"' not in labels:
            d = v - a.get((name, labels), 0.0)
            total += d
            r = re.search(r'reason="([^"]*)"', labels).group(1)
            reasons[r] = reasons.get(r, 0) + d
    bk = buckets(a, b, "ntspool_scheduler_lag_seconds_bucket")
    db = buckets(a, b, "ntspool_db_batch_seconds_bucket")
    stored = b.get(("ntspool_samples_stored_total", ""), 0) - a.get(
        ("ntspool_samples_stored_total", ""), 0)
    dropped = b.get(("ntspool_samples_dropped_total", ""), 0) - a.get(
        ("ntspool_samples_dropped_total", ""), 0)
    p50, p99 = quantile(0.5, bk), quantile(0.99, bk)
    print(f"probes={int(total)}")
    print(f"probes_per_s={total / seconds:.1f}")
    print(f"ok_fraction={reasons.get('ok', 0) / total if total else 0:.4f}")
    print(f"stored_per_s={stored / seconds:.1f}")
    print(f"dropped={int(dropped)}")
    print(f"lag_p50_ms={p50 * 1000:.2f}")
    print(f"lag_p99_ms={p99 * 1000:.2f}")
    nb = db[-1][1] if db else 0
    print(f"batches={int(nb)}")
    print(f"batch_p50_ms={quantile(0.5, db) * 1000 if nb else 0:.2f}")
    print(f"batch_p99_ms={quantile(0.99, db) * 1000 if nb else 0:.2f}")
    print("reasons=" + ",".join(f"{k}:{int(v)}" for k, v in sorted(reasons.items())))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "probes":
        probes(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(__doc__)
