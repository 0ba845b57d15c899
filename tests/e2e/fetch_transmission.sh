#!/usr/bin/env bash
# timeout: 60
#
# `ringseed fetch` from transmission-cli as the seeder, byte-exact: a single
# file (2 MB + 11 bytes, 32 KiB pieces) from a transmission-cli capped at
# 1 MB/s, the fetch killed with SIGKILL once its resume state holds pieces,
# then run again (some pieces already there, the rest fetched); and, at the
# same time, the multi-file test tree from another transmission-cli.
# transmission unchokes a new peer only at its rechoke, every 10 s from the
# torrent's start: the second run also has a third transmission-cli, started
# 5 s after the first, so that it waits for half a period, not a whole one.
# -M spares transmission's 8 s NAT-PMP stall at start. transmission-cli is
# reached by --peer (it listens on every address; no tracker).
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
command -v transmission-cli >/dev/null || { echo "skip: transmission-cli not installed"; exit 77; }
cd "$work" || exit 1

mkdir -p seed t
"$PY" "$LT" mkfile seed/one.bin $((2 * 1048576 + 11)) || exit 1
"$PY" "$LT" mktree seed/tree || exit 1
for n in one.bin tree; do
	"$RINGSEED" create -q -f v1 -l 32K "seed/$n" -o "t/$n.torrent" || exit 1
done
ONE=$("$PY" "$LT" hash t/one.bin.torrent)
tr_start() { # NAME TORRENT PORT UPLIMIT
	mkdir -p "tr-$1"
	HOME=$work/tr-$1 bg transmission-cli -w "$work/seed" -p "$3" -M $4 \
		-D "t/$2.torrent" >"tr-$1.log" 2>&1
}
P1=$(free_port)
P2=$(free_port)
P3=$(free_port)
tr_start one one.bin "$P1" "-u 1000"
tr_start tree tree "$P2" -U
# the fetch starts once they accept connections (they may still be checking
# their content: the fetch then waits for their have messages)
wait_until 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P1" 2>/dev/null || fail "transmission-cli one.bin does not listen"
wait_until 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P2" 2>/dev/null || fail "transmission-cli tree does not listen"

fetch_dirs l
fetch_bg f3.log t/tree.torrent l --peer "127.0.0.1:$P2" -o announce.enable=no
p3=$BG_PID
fetch_bg f1.log t/one.bin.torrent l --peer "127.0.0.1:$P1" -o announce.enable=no
p1=$BG_PID
sleep 5
tr_start two one.bin "$P3" -U
if wait_until 25 fetch_state_some "l/state/$ONE.fetch"; then
	kill -KILL "$p1"
	wait "$p1" 2>/dev/null
else
	fail "no resume state within 25 s"
	show_tail f1.log
fi
fetch_go f2.log t/one.bin.torrent l --peer "127.0.0.1:$P1" --peer "127.0.0.1:$P3" -o announce.enable=no ||
	{ fail "second fetch from transmission failed"; show_tail f2.log; }
here=$(sed -n 's/.*fetch: one.bin: \([0-9]*\) of 65 pieces already here.*/\1/p' f2.log)
[ -n "$here" ] && [ "$here" -gt 0 ] && [ "$here" -lt 65 ] ||
	fail "the second run did not resume halfway (already here: '${here:-none}')"
tree_cmp seed/one.bin l/data/one.bin || fail "one.bin from transmission differs"
wait "$p3" || { fail "fetch of the tree from transmission failed"; show_tail f3.log; }
# transmission creates no 0-byte file, but it need not: the fetch does
tree_cmp seed/tree l/data/tree || fail "tree from transmission differs"
[ "$(fetch_count f3.log hash_fails)" = 0 ] || fail "hash failures from transmission"
sanitizer_clean f1.log f2.log f3.log || fail "sanitizer report"
[ "$fails" -eq 0 ]
