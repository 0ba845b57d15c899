#!/usr/bin/env bash
# timeout: 90
#
# bench/cold.sh (make bench-cold), briefly: a 48 MiB data set in a directory
# of the test's own, ringseed and nginx (when installed), 8 connections for
# 2 s each with no warm-up, fio (when installed) for 1 s at 16 KiB. The
# report must have a row per seeder with a rate and a disk-read ratio, and
# for ringseed the loop-turn quantiles and its cold-read counters; and
# nothing it started may be left. (serve_cold tests the cold path itself.)
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
cd "$work" || exit 1
bin=$(dirname "$RINGSEED")
[ -x "$bin/ringseed-bench" ] || { echo "skip: ringseed-bench not built"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "skip: no /usr/bin/python3"; exit 77; }
seeders=ringseed
command -v nginx >/dev/null && seeders="ringseed nginx"

# nginx's workers run as nobody when started as root: let them reach the data
chmod 755 "$work"
# cold.sh runs bin/ringseed of its tree: give it this build's binaries
mkdir -p tree/bench tree/bin
cp -r "$TOP/bench/." tree/bench/
cp "$RINGSEED" "$bin/ringseed-bench" tree/bin/
COLD_MB=48 COLD_NS=8 COLD_WINDOW=2 COLD_WARMUP=0 COLD_FIO_S=1 COLD_FIO_BS=16k \
	COLD_SEEDERS="$seeders" \
	COLD_DIR="$work/cold" COLD_PORT_BASE=$((20000 + RANDOM % 20000)) \
	timeout -k 5 75 tree/bench/cold.sh >out 2>err
rc=$?
[ $rc -eq 0 ] || { fail "cold.sh exited $rc"; show err; }
report=$(ls "$work"/cold/runs/*/REPORT.md 2>/dev/null | head -1)
[ -n "$report" ] || { fail "no REPORT.md"; show err; exit 1; }
cat "$report"
row=$(grep '^| ringseed | 8 |' "$report")
[ -n "$row" ] || fail "no ringseed row"
IFS='|' read -r _ _ _ mbps _ _ ratio loop cold _ <<<"$row"
[ "${mbps// /}" != failed ] && [ "${mbps// /}" -gt 0 ] 2>/dev/null || fail "ringseed MB/s: '$mbps'"
case $ratio in *[0-9].[0-9][0-9]*) ;; *) fail "ringseed disk read / sent: '$ratio'" ;; esac
# the window's own figures: on a loaded machine 8 connections may still be
# starting in a 2 s window, so a row without turns ('-') is accepted
case $loop in *" / "*"("*")"* | " - ") ;; *) fail "ringseed loop quantiles: '$loop'" ;; esac
case $cold in " "[0-9]*", "[0-9]*", "[0-9]*" ") ;; *) fail "ringseed cold reads: '$cold'" ;; esac
if [ "$seeders" != ringseed ]; then
	grep -qE '^\| nginx \| 8 \| [0-9]+ \|' "$report" || { fail "no nginx row with a rate"; show err; }
fi
if command -v fio >/dev/null; then
	grep -qE '^\| 16k \| [0-9]+ \|' "$report" || fail "no fio row for 16k"
fi
left=$(pgrep -f "$work/cold/runs" | tr '\n' ' ')
[ -z "$left" ] || fail "processes left running: $left"
[ $fails -eq 0 ]
