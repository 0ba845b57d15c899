#!/usr/bin/env bash
# timeout: 60
#
# Damaged content is repaired, not served with holes: edge B serves rel.bin
# (2 MiB, 64 KiB pieces) and the test tree; bytes are flipped in two pieces
# of rel.bin and in one of the tree's files; B restarts with origin A (good
# data) in fetch.peers:
#   - B's check finds the bad pieces and does not serve either torrent;
#   - its fetcher starts from that check: only the bad pieces are fetched
#     (the rest "already here");
#   - then both are served whole: libtorrent downloads them from B alone,
#     byte-exact.
# Then a byte flipped while B serves: the guard's recheck finds the piece
# bad, B stops serving rel.bin, fetches that piece and serves it whole again.
# Without a source (no fetch.peers), the same damage is served as before:
# the good pieces only.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
cd "$work" || exit 1
S_PL=64K

serve_init "$work/a"
serve_add_file rel.bin $((2 * 1048576 + 3)) || exit 1
serve_add_tree tree || exit 1
serve_start || exit 1
A_DIR=$S_DIR A_PORT=$S_PORT A_PID=$S_PID A_LOG=$S_LOG A_ADMIN=$S_ADMIN

# flip PIECE FILE: one byte in the middle of a 64 KiB piece
flip() {
	"$PY" - "$2" $(($1 * 65536 + 1000)) <<'PYEOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0x5a]))
PYEOF
}

serve_init "$work/b"
cp -a "$A_DIR/data/." "$S_DIR/data/"
cp "$A_DIR"/torrents/*.torrent "$S_DIR/torrents/"
serve_start || exit 1
serve_stop || fail "edge did not stop cleanly"
flip 3 "$S_DIR/data/rel.bin"
flip 17 "$S_DIR/data/rel.bin"
flip 1 "$S_DIR/data/tree/top.bin"

# no source: served with its good pieces, as before
serve_start || exit 1
grep -q 'torrent rel.bin: piece 3 bad' "$S_LOG" || fail "no source: piece 3 not found bad"
grep -qE 'torrent rel.bin [0-9a-f]+: .*seeding' "$S_LOG" || fail "no source: rel.bin not served"
serve_stop || fail "edge did not stop cleanly"

serve_conf_add "[fetch]" "peers = 127.0.0.1:$A_PORT"
serve_start || exit 1
grep -q 'torrent rel.bin: 2 of 33 pieces bad; not served until they are fetched again' "$S_LOG" ||
	{ fail "rel.bin: no line about its bad pieces"; show_tail "$S_LOG"; }
serve_wait_log 'torrent rel.bin: verified from state' 15 ||
	{ fail "rel.bin was not repaired"; show_tail "$S_LOG"; }
serve_wait_log 'torrent tree: verified from state' 10 ||
	{ fail "tree was not repaired"; show_tail "$S_LOG"; }
# not served before the fetch completed
first_seed=$(grep -nE 'torrent rel.bin [0-9a-f]+: .*seeding' "$S_LOG" | head -n 1 | cut -d: -f1)
fetched=$(grep -n 'fetch: .*rel.bin.torrent: complete; rescanning' "$S_LOG" | head -n 1 | cut -d: -f1)
[ -n "$fetched" ] && [ "${first_seed:-0}" -gt "$fetched" ] ||
	fail "rel.bin served before its repair (line ${first_seed:-none}, fetched at ${fetched:-none})"
grep -q 'fetch: rel.bin: 31 of 33 pieces already here' "$S_LOG" ||
	fail "rel.bin: the fetch did not start from the check"
done_line=$(grep -E 'fetch: rel.bin: complete in' "$S_LOG" | tail -n 1)
echo "$done_line" >rel.done
[ "$(fetch_count rel.done pieces)" = 2 ] || fail "rel.bin: fetched more than its 2 bad pieces: $done_line"
tree_cmp "$A_DIR/data/rel.bin" "$S_DIR/data/rel.bin" || fail "rel.bin not repaired byte-exact"
tree_cmp "$A_DIR/data/tree" "$S_DIR/data/tree" || fail "tree not repaired byte-exact"

# served whole, from B alone
if ! "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --save "$work/leech" --timeout 15 \
	"$S_DIR/torrents/rel.bin.torrent" "$S_DIR/torrents/tree.torrent" >leech.log 2>&1; then
	fail "libtorrent could not download from the repaired edge"
	show leech.log
fi
tree_cmp "$A_DIR/data/rel.bin" leech/rel.bin || fail "rel.bin leeched from the edge differs"
tree_cmp "$A_DIR/data/tree" leech/tree || fail "tree leeched from the edge differs"

# damage while served: the guard's recheck finds it, the fetcher repairs it
flip 9 "$S_DIR/data/rel.bin"
serve_wait_log 'torrent rel.bin: 1 of 33 pieces bad; not served until they are fetched again' 10 ||
	{ fail "recheck: no line about the bad piece"; show_tail "$S_LOG"; }
serve_wait_log 'fetch: rel.bin: 32 of 33 pieces already here' 10 || fail "recheck: no fetch from the check"
wait_until 15 cmp -s "$A_DIR/data/rel.bin" "$S_DIR/data/rel.bin" || fail "recheck: not repaired"
served_again() {
	sed -n '/fetch: rel.bin: 32 of 33/,$p' "$S_LOG" |
		grep -qE 'torrent rel.bin: (verified from state|hashed .*, 0 bad\))'
}
wait_until 10 served_again || { fail "recheck: not served again"; show_tail "$S_LOG"; }
rm -rf leech
if ! "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --save "$work/leech" --timeout 15 \
	"$S_DIR/torrents/rel.bin.torrent" >leech2.log 2>&1; then
	fail "libtorrent could not download from the edge after the recheck"
	show leech2.log
fi
tree_cmp "$A_DIR/data/rel.bin" leech/rel.bin || fail "rel.bin leeched after the recheck differs"
serve_stop || fail "edge did not stop cleanly"
serve_logs_clean || fail "sanitizer report in the edge's log"
S_DIR=$A_DIR S_PORT=$A_PORT S_PID=$A_PID S_LOG=$A_LOG S_ADMIN=$A_ADMIN
serve_stop || fail "origin did not stop cleanly"
[ "$fails" -eq 0 ]
