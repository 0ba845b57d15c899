#!/usr/bin/env bash
# timeout: 90
#
# bench/crowd.sh: 50 python3-libtorrent leechers, each from its own source
# address, against ringseed and (when installed) rtorrent, briefly. Each
# seeder's summary must say that all 50 reported, every one got bytes, no
# piece failed its hash, and the aggregate is above zero; and the JSON of
# each must be where --out put it.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
BENCH=$(dirname "$RINGSEED")/ringseed-bench
export BENCH RINGSEED
[ -x "$BENCH" ] || { echo "skip: $BENCH not built"; exit 77; }
cd "$work" || exit 1

seeders=ringseed
command -v rtorrent >/dev/null 2>&1 && seeders="ringseed rtorrent"
mkdir -p "$work/out"
TMPDIR=$work "$TOP/bench/crowd.sh" -n 50 -w 2 -d 3 --size 16 --seeders "$seeders" --out "$work/out" \
	>"$work/crowd.out" 2>"$work/crowd.err"
rc=$?
[ $rc -eq 0 ] || { fail "crowd.sh exited $rc, want 0"; show "$work/crowd.out"; show_tail "$work/crowd.err"; }
for s in $seeders; do
	out=$("$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
bad = []
if j["leechers"] != 50 or j["reported"] != 50: bad.append("%d of %d leechers reported" % (j["reported"], j["leechers"]))
if j["no_first_byte"]: bad.append("%d leechers got no byte" % j["no_first_byte"])
if j["hash_failures"]: bad.append("%d hash failures" % j["hash_failures"])
if not j["MBps"] > 0: bad.append("aggregate %.1f MB/s" % j["MBps"])
if not j["crowd_cpu_s"] > 0: bad.append("the crowd used no CPU?")
print("; ".join(bad) if bad else "ok: %.1f MB/s, median %.2f MB/s per leecher, seeder %.2f CPU-s, crowd %.2f cores" % (
    j["MBps"], j["per_leecher_MBps"]["median"], j["seeder_cpu_s"], j["crowd_cores"]))' "$work/out/crowd-$s.json" 2>&1)
	case $out in ok:*) echo "$s: $out" ;; *) fail "$s: $out" ;; esac
done
[ "$fails" -eq 0 ]
