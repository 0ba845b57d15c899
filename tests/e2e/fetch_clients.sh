#!/usr/bin/env bash
# timeout: 60
#
# `ringseed fetch` from other seeders, byte-exact, single-file (3 MB + 11
# bytes, 32 KiB pieces, short last piece) and multi-file (the test tree:
# nested directories, 0-byte files, odd sizes):
#   - ringseed serve itself (both torrents from one instance); then a fetch
#     without --exit-when-done goes on seeding (verified from state, no
#     hashing) and libtorrent downloads from it;
#   - aria2c, the single file from a seeder capped at 1 MB/s, the fetch
#     killed with SIGKILL once its resume state holds pieces and run again
#     (it resumes: some pieces already there, the rest fetched); the tree
#     uncapped.
# aria2c is only reached by us connecting to it (--peer), no tracker.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
cd "$work" || exit 1

serve_init "$work/s"
serve_add_file one.bin $((3 * 1048576 + 11)) || exit 1
serve_add_tree tree || exit 1
ONE=$(serve_hash one.bin)
serve_start || exit 1

# ringseed from ringseed
fetch_dirs r
for t in one.bin tree; do
	if ! fetch_go "r.$t.log" "$S_DIR/torrents/$t.torrent" r --peer "127.0.0.1:$S_PORT"; then
		fail "fetch of $t from ringseed failed"
		show_tail "r.$t.log"
	fi
	[ "$(fetch_count "r.$t.log" hash_fails)" = 0 ] || fail "$t: hash failures from ringseed"
done
tree_cmp "$S_DIR/data/one.bin" r/data/one.bin || fail "one.bin from ringseed differs"
tree_cmp "$S_DIR/data/tree" r/data/tree || fail "tree from ringseed differs"
# without --exit-when-done, fetch goes on seeding what it fetched
KP=$(free_port)
root=()
[ "$(id -u)" -ne 0 ] || root=(-o core.user=root)
mkdir -p k/data k/state
bg env --default-signal=INT "$RINGSEED" fetch "$S_DIR/torrents/one.bin.torrent" -d k/data -s k/state \
	--peer "127.0.0.1:$S_PORT" -l "127.0.0.1:$KP" -o admin.listen= "${root[@]}" 2>k.log
kpid=$BG_PID
if wait_until 15 grep -q ' ready: 1 torrents' k.log; then
	grep -q 'torrent one.bin: verified from state' k.log || fail "fetch then serve hashed again"
	"$PY" "$LT" leech --peer "127.0.0.1:$KP" --save "$work/kleech" --timeout 15 \
		"$S_DIR/torrents/one.bin.torrent" >kleech.log 2>&1 ||
		{ fail "libtorrent could not download from fetch's seeder"; show kleech.log; }
	tree_cmp "$S_DIR/data/one.bin" kleech/one.bin || fail "one.bin from fetch's seeder differs"
	kill -TERM "$kpid"
	wait "$kpid" || fail "fetch's seeder did not exit 0 on SIGTERM"
else
	fail "fetch without --exit-when-done did not go on seeding"
	show_tail k.log
fi
up=$(serve_stat up_bytes)
[ "${up:-0}" -ge $((2 * (3 * 1048576 + 11))) ] || fail "serve's up_bytes ${up:-?} is less than one.bin twice"
serve_stop || fail "serve did not stop cleanly"

if ! command -v aria2c >/dev/null; then
	echo "note: aria2c not installed, left out"
	[ "$fails" -eq 0 ]
	exit
fi
aria() { # LOG PORT TORRENT [ARGS]
	local log=$1 port=$2 t=$3
	shift 3
	bg aria2c --seed-ratio=0.0 --bt-seed-unverified=true --listen-port="$port" \
		--enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
		--enable-peer-exchange=false --bt-require-crypto=false --bt-max-peers=0 \
		--summary-interval=0 --console-log-level=warn --file-allocation=none \
		-d "$S_DIR/data" "$@" "$t" >"$log" 2>&1
}
A1=$(free_port)
A2=$(free_port)
aria a1.log "$A1" "$S_DIR/torrents/one.bin.torrent" --max-upload-limit=1M
aria a2.log "$A2" "$S_DIR/torrents/tree.torrent"
wait_until 10 sh -c "ss -ltn | grep -q ':$A1 ' && ss -ltn | grep -q ':$A2 '" ||
	fail "aria2c does not listen"

fetch_dirs a
fetch_bg a1.fetch.log "$S_DIR/torrents/one.bin.torrent" a --peer "127.0.0.1:$A1"
pid=$BG_PID
if wait_until 15 fetch_state_some "a/state/$ONE.fetch"; then
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
else
	fail "no resume state within 15 s"
	show_tail a1.fetch.log
fi
if ! fetch_go a2.fetch.log "$S_DIR/torrents/one.bin.torrent" a --peer "127.0.0.1:$A1"; then
	fail "second fetch from aria2c failed"
	show_tail a2.fetch.log
fi
here=$(sed -n 's/.*fetch: one.bin: \([0-9]*\) of 97 pieces already here.*/\1/p' a2.fetch.log)
[ -n "$here" ] && [ "$here" -gt 0 ] && [ "$here" -lt 97 ] ||
	fail "the second run did not resume halfway (already here: '${here:-none}')"
tree_cmp "$S_DIR/data/one.bin" a/data/one.bin || fail "one.bin from aria2c differs"
if ! fetch_go a3.fetch.log "$S_DIR/torrents/tree.torrent" a --peer "127.0.0.1:$A2"; then
	fail "fetch of the tree from aria2c failed"
	show_tail a3.fetch.log
fi
tree_cmp "$S_DIR/data/tree" a/data/tree || fail "tree from aria2c differs"
sanitizer_clean ./*.log || fail "sanitizer report"
[ "$fails" -eq 0 ]
