#!/usr/bin/env bash
# timeout: 60
#
# `ringseed fetch` from rtorrent as the seeder, byte-exact: a single file
# (3 MB + 11 bytes, 32 KiB pieces) from rtorrent capped at 1 MB/s, the fetch
# killed with SIGKILL once its resume state holds pieces, then run again
# (some pieces already there, the rest fetched); and the multi-file test
# tree. rtorrent wants a tracker in the .torrent, so the torrents name a dead
# one (127.0.0.1:9, refused at once); the fetch reaches rtorrent by --peer.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
command -v rtorrent >/dev/null || { echo "skip: rtorrent not installed"; exit 77; }
cd "$work" || exit 1

mkdir -p seed t
"$PY" "$LT" mkfile seed/one.bin $((3 * 1048576 + 11)) || exit 1
"$PY" "$LT" mktree seed/tree || exit 1
for n in one.bin tree; do
	"$RINGSEED" create -q -f v1 -l 32K "seed/$n" -o "t/$n.torrent" \
		-a http://127.0.0.1:9/announce || exit 1
done
ONE=$("$PY" "$LT" hash t/one.bin.torrent)

rt_start() { # NAME PORT TORRENT RATE
	mkdir -p "rt-$1/session"
	cat >"rt-$1/rc" <<EOR
system.daemon.set = true
session.path.set = $work/rt-$1/session
directory.default.set = $work/seed
network.bind_address.set = 127.0.0.1
network.local_address.set = 127.0.0.1
network.port_range.set = $2-$2
network.port_random.set = no
dht.mode.set = disable
protocol.pex.set = no
protocol.encryption.set = allow_incoming,try_outgoing,enable_retry
throttle.global_up.max_rate.set = $4
load.start_verbose = $work/$3
EOR
	bg rtorrent -n -o "import=$work/rt-$1/rc"
	wait_until 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null || fail "rtorrent $1 does not listen"
}
P1=$(free_port)
P2=$(free_port)
rt_start one "$P1" t/one.bin.torrent 1000000
rt_start tree "$P2" t/tree.torrent 0

fetch_dirs l
fetch_bg f1.log t/one.bin.torrent l --peer "127.0.0.1:$P1"
pid=$BG_PID
if wait_until 20 fetch_state_some "l/state/$ONE.fetch"; then
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
else
	fail "no resume state within 20 s"
	show_tail f1.log
fi
fetch_go f2.log t/one.bin.torrent l --peer "127.0.0.1:$P1" ||
	{ fail "second fetch from rtorrent failed"; show_tail f2.log; }
here=$(sed -n 's/.*fetch: one.bin: \([0-9]*\) of 97 pieces already here.*/\1/p' f2.log)
[ -n "$here" ] && [ "$here" -gt 0 ] && [ "$here" -lt 97 ] ||
	fail "the second run did not resume halfway (already here: '${here:-none}')"
tree_cmp seed/one.bin l/data/one.bin || fail "one.bin from rtorrent differs"
fetch_go f3.log t/tree.torrent l --peer "127.0.0.1:$P2" ||
	{ fail "fetch of the tree from rtorrent failed"; show_tail f3.log; }
tree_cmp seed/tree l/data/tree || fail "tree from rtorrent differs"
[ "$(fetch_count f3.log hash_fails)" = 0 ] || fail "hash failures from rtorrent"
sanitizer_clean f1.log f2.log f3.log || fail "sanitizer report"
[ "$fails" -eq 0 ]
