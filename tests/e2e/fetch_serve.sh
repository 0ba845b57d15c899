#!/usr/bin/env bash
# timeout: 60
#
# fetch.enable inside `ringseed serve`: an edge instance whose torrents
# directory holds .torrent files without their content fetches them, then
# serves them.
#   - origin A serves rel.bin (3 MB, announcing to A's built-in tracker) and
#     the test tree (no tracker);
#   - edge B has both .torrent files, no content and no fetch.peers: rel.bin
#     is fetched from the peers A's tracker gives (announce with left > 0,
#     then event=completed), the tree is left alone ("no fetch.peers and no
#     HTTP tracker") and B does not create its files;
#   - fetch.peers = A added to B's configuration, SIGHUP: the tree is fetched;
#   - each complete fetch makes B rescan: "verified from state" (no hashing),
#     then served: libtorrent downloads both from B alone, byte-exact.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
cd "$work" || exit 1

TP=$(free_port)
serve_init "$work/a"
"$PY" "$LT" mkfile "$S_DIR/data/rel.bin" $((3 * 1048576 + 5)) || exit 1
serve_torrent "$S_DIR/data/rel.bin" rel.bin -a "http://127.0.0.1:$TP/announce" || exit 1
serve_add_tree tree || exit 1
serve_start --tracker-listen "127.0.0.1:$TP" || exit 1
serve_wait_stat announces 1 10 || fail "origin did not announce to its own tracker"
A_DIR=$S_DIR A_PORT=$S_PORT A_PID=$S_PID A_LOG=$S_LOG A_ADMIN=$S_ADMIN

serve_init "$work/b"
cp "$A_DIR"/torrents/*.torrent "$S_DIR/torrents/"
serve_start || exit 1
serve_wait_log 'fetch: .*rel.bin.torrent: complete; rescanning' 15 ||
	{ fail "rel.bin was not fetched through the tracker"; show_tail "$S_LOG"; }
serve_wait_log 'torrent rel.bin: verified from state' 5 || fail "rel.bin not verified from state"
grep -q 'tree.torrent: no fetch.peers and no HTTP tracker' "$S_LOG" ||
	fail "no line saying the tree cannot be fetched"
[ -e "$S_DIR/data/tree" ] && fail "the tree's files were made with no one to fetch them from"
grep -E 'fetch: rel.bin: complete in' "$S_LOG" >rel.done
[ "$(fetch_count rel.done announces)" -ge 2 ] 2>/dev/null ||
	fail "started and completed not both announced: $(cat rel.done)"

serve_conf_add "[fetch]" "peers = 127.0.0.1:$A_PORT"
kill -HUP "$S_PID"
serve_wait_log 'torrent tree: verified from state' 15 ||
	{ fail "the tree was not fetched after SIGHUP"; show_tail "$S_LOG"; }
grep -q 'hashed' "$S_LOG" && fail "the edge hashed fetched content"
tree_cmp "$A_DIR/data/tree" "$S_DIR/data/tree" || fail "fetched tree differs"
tree_cmp "$A_DIR/data/rel.bin" "$S_DIR/data/rel.bin" || fail "fetched rel.bin differs"

# the edge serves what it fetched, to a leecher that knows only the edge
if ! "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --save "$work/leech" --timeout 15 \
	"$S_DIR/torrents/rel.bin.torrent" "$S_DIR/torrents/tree.torrent" >leech.log 2>&1; then
	fail "libtorrent could not download from the edge"
	show leech.log
fi
tree_cmp "$A_DIR/data/tree" leech/tree || fail "tree leeched from the edge differs"
tree_cmp "$A_DIR/data/rel.bin" leech/rel.bin || fail "rel.bin leeched from the edge differs"
serve_stop || fail "edge did not stop cleanly"
serve_logs_clean || fail "sanitizer report in the edge's log"
S_DIR=$A_DIR S_PORT=$A_PORT S_PID=$A_PID S_LOG=$A_LOG S_ADMIN=$A_ADMIN
serve_stop || fail "origin did not stop cleanly"
[ "$fails" -eq 0 ]
