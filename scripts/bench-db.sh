#!/bin/sh
# Benchmark of the store: samples stored and scored per second in batches for
# 10,000 sources x 4 kinds x 3 monitors, in random order within each round,
# on a database grown to ~1.9M samples (16 rounds); the steady-state rate of
# the last rounds is the headline, next to the overall rate.  Then the time
# of each retention call on that database, database bytes per stored sample,
# and two baselines measured in the same run (see bench/bench_db.c).  About
# two minutes.  Builds the library (build/bench) and the bench program with
# the project's flags, runs it in a temporary directory, removes it.
#   scripts/bench-db.sh [bench_db options: -s sources -m monitors -r rounds
#                        -l last rounds -b batch -S seed -f retention calls]
# Targets (issue "Store and scorer"): >= 20,000 samples/s, < 400 bytes/sample.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build/bench}
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2 -g}
make -s BUILD="$BUILD" CC="$CC" CFLAGS="$CFLAGS" "$BUILD/libntspool.a"
PKGS="openssl libevent libevent_openssl jansson sqlite3 libcurl"
WARN="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
-Wpointer-arith -Wcast-qual -Wformat=2 -Wundef -Wvla -Wswitch-enum"
# shellcheck disable=SC2046,SC2086
$CC -std=c11 -D_GNU_SOURCE -I. $WARN $(pkg-config --cflags $PKGS) $CFLAGS \
    -o "$BUILD/bench_db" bench/bench_db.c "$BUILD/libntspool.a" $(pkg-config --libs $PKGS) -lm
dir=$(mktemp -d "${TMPDIR:-/tmp}/bench-db.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
echo "machine: $(nproc) cores, $(uname -sr), SQLite $(pkg-config --modversion sqlite3)"
"$BUILD/bench_db" -d "$dir" "$@"
