#!/usr/bin/env bash
# timeout: 60
#
# `ringseed fetch` of v2-only torrents (BEP 52, made by `ringseed create -f
# v2`), every piece checked by SHA-256 against its file's piece layer (or
# its pieces root, for a file of one piece), single- and multi-file:
#   - from `ringseed serve` (and a hybrid too, checked by both hash sets);
#   - from python3-libtorrent seeding the same torrents;
#   - from a good test peer beside one that corrupts every block
#     (tests/lib/fetch_peer.py): its pieces fail the merkle check, it is
#     banned, the result is byte-exact;
# each result byte-exact, with the verify state saved as serve expects: the
# edge's `ringseed serve` starts the fetched torrents "verified from state".
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
cd "$work" || exit 1

serve_init "$work/a"
"$PY" "$LT" mkfile "$S_DIR/data/one.bin" 1000007 || exit 1
"$PY" "$LT" mktree "$S_DIR/data/tree" || exit 1
S_FORMAT=v2 serve_torrent "$S_DIR/data/one.bin" one -l 32K || exit 1
S_FORMAT=v2 serve_torrent "$S_DIR/data/tree" tree -l 32K || exit 1
S_FORMAT=hybrid serve_torrent "$S_DIR/data/tree" hyb -l 32K || exit 1
serve_start || exit 1
A=$S_DIR
T=$A/torrents

# fetch_ok NAME TORRENT CONTENT ARGS...: a fetch into ${FDIR:-NAME}/, byte-exact
fetch_ok() {
	local name=$1 tor=$2 content=$3 dir=${FDIR:-$1}
	shift 3
	fetch_dirs "$dir"
	if ! fetch_go "$name.log" "$tor" "$dir" "$@"; then
		fail "$name: fetch failed"
		show_tail "$name.log"
		return 1
	fi
	tree_cmp "$content" "$dir/data/$(basename "$content")" || fail "$name: content differs"
	ls "$dir"/state/*.state >/dev/null 2>&1 || fail "$name: no verify state saved"
	ls "$dir"/state/*.fetch >/dev/null 2>&1 && fail "$name: .fetch state left behind"
}

fetch_ok rs-one "$T/one.torrent" "$A/data/one.bin" --peer "127.0.0.1:$S_PORT"
fetch_ok rs-tree "$T/tree.torrent" "$A/data/tree" --peer "127.0.0.1:$S_PORT"
fetch_ok rs-hyb "$T/hyb.torrent" "$A/data/tree" --peer "127.0.0.1:$S_PORT"

LP=$(free_port)
fetch_lt_seed lt.log "$T/one.torrent" "$A/data" "$LP" || exit 1
LPID=$BG_PID
LP2=$(free_port)
fetch_lt_seed lt2.log "$T/tree.torrent" "$A/data" "$LP2" || exit 1
FDIR=lt fetch_ok lt-one "$T/one.torrent" "$A/data/one.bin" --peer "127.0.0.1:$LP"
FDIR=lt fetch_ok lt-tree "$T/tree.torrent" "$A/data/tree" --peer "127.0.0.1:$LP2"
kill "$LPID" "$BG_PID" 2>/dev/null

# a corrupting peer: every piece it sends fails the merkle check
GP=$(free_port) CP=$(free_port)
bg "$PY" "$E2E_LIB/fetch_peer.py" "$T/tree.torrent" "$A/data/tree" "$GP:slow" "$CP:corrupt" >peers.log 2>&1
wait_until 10 grep -q '^listening' peers.log || fail "test peers did not start"
fetch_ok bad "$T/tree.torrent" "$A/data/tree" --peer "127.0.0.1:$GP" --peer "127.0.0.1:$CP"
[ "$(fetch_count bad.log bans)" = 1 ] || fail "bad: bans=$(fetch_count bad.log bans), expected 1"
[ "$(fetch_count bad.log hash_fails)" -ge 2 ] || fail "bad: fewer than 2 hash failures"
grep -q 'banned: sent 2 bad pieces' bad.log || fail "bad: no line about the ban"
serve_stop || fail "origin did not stop cleanly"

# the edge serves what it fetched from its verify state, without hashing
serve_init "$work/b"
cp "$T/one.torrent" "$T/tree.torrent" "$S_DIR/torrents/"
rm -rf "$S_DIR/data" "$S_DIR/state"
mv lt/data "$S_DIR/data"; mv lt/state "$S_DIR/state" # the files keep their ctime
serve_start || exit 1
grep -q 'torrent one.bin: verified from state' "$S_LOG" || fail "one: not verified from state"
grep -q 'torrent tree: verified from state' "$S_LOG" || fail "tree: not verified from state"
serve_stop || fail "edge did not stop cleanly"
sanitizer_clean ./*.log || fail "sanitizer report"
serve_logs_clean || fail "sanitizer report in the seeders' logs"
[ "$fails" -eq 0 ]
