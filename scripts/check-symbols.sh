#!/bin/sh
# Every global symbol of the library carries its module's prefix (STYLE.md 1):
# a file monitor/NAME.c, scorer/NAME.c, util/NAME.c or web/NAME.c exports
# NAME_* (monitor/sched.c: sch_*); every file of db/ exports db_*.  Prints the offenders; exits 1 if there are any.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
lib=${1:-$top/build/libntspool.a}
out=$(nm -A --defined-only --extern-only "$lib" | while IFS= read -r line; do
    member=${line#*:}; member=${member%%:*}
    sym=${line##* }
    stem=${member%.o}
    if [ -e "$top/db/$stem.c" ]; then prefix=db
    elif [ "$stem" = sched ]; then prefix=sch   # POSIX owns sched_ (STYLE.md 1)
    else prefix=$stem; fi
    case $sym in
    "${prefix}"_*) ;;
    *) echo "$member: $sym lacks the prefix ${prefix}_" ;;
    esac
done)
if [ -n "$out" ]; then
    echo "$out"
    exit 1
fi
echo "check-symbols: every global symbol carries its module prefix"
