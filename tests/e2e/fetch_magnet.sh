#!/usr/bin/env bash
# timeout: 60
#
# `ringseed fetch MAGNET`: the metadata from peers (BEP 10 extended
# handshake, BEP 9 ut_metadata), checked against the info-hash, kept as
# STATE/magnet/INFOHASH.torrent; then the content, byte-exact.
#   a) from a `ringseed serve` named by x.pe (the link `ringseed info --peer`
#      prints), then a second run into fresh data reads the kept .torrent
#      ("metadata from an earlier run") and does not ask for metadata again;
#      the same from --peer with a link that has no x.pe;
#   b) from a python3-libtorrent seed (multi-file tree), given by --peer;
#   c) through the tr of the origin's built-in tracker alone (HTTP);
#   d) a bad link is a usage error naming the parameter.
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
"$PY" "$LT" mkfile "$S_DIR/data/rel.bin" $((2 * 1048576 + 77)) || exit 1
serve_torrent "$S_DIR/data/rel.bin" rel.bin -a "http://127.0.0.1:$TP/announce" || exit 1
serve_start --tracker-listen "127.0.0.1:$TP" || exit 1
serve_wait_stat announces 1 10 || fail "origin did not announce to its own tracker"

link() { "$RINGSEED" info "$@" | sed -n 's/^magnet: *//p'; }
M_PE=$(link --peer "127.0.0.1:$S_PORT" "$S_DIR/torrents/rel.bin.torrent")
M_TR=$(link "$S_DIR/torrents/rel.bin.torrent")
HASH=$("$RINGSEED" info "$S_DIR/torrents/rel.bin.torrent" | sed -n 's/^info-hash: *//p' | head -n 1)
case "$M_PE" in *x.pe=*) ;; *) fail "no x.pe in the link: $M_PE" ;; esac
M_BARE="magnet:?xt=urn:btih:$HASH"

# a) x.pe
fetch_dirs a1
fetch_go a1.log "$M_PE" a1 || { fail "fetch of the x.pe magnet failed"; show a1.log; }
grep -q "fetch: magnet .*: metadata complete" a1.log || fail "no metadata line: $(cat a1.log)"
[ -s "a1/state/magnet/$HASH.torrent" ] || fail "no kept .torrent in the state directory"
cmp -s "$S_DIR/data/rel.bin" a1/data/rel.bin || fail "rel.bin fetched by magnet differs"
# a restart needs no metadata: a fresh data directory, the same state
rm -rf a1/data && mkdir a1/data
fetch_go a1b.log "$M_PE" a1 || { fail "second fetch of the magnet failed"; show a1b.log; }
grep -q "metadata from an earlier run" a1b.log || fail "the kept .torrent was not used"
grep -q "metadata complete" a1b.log && fail "metadata fetched again on a restart"
cmp -s "$S_DIR/data/rel.bin" a1/data/rel.bin || fail "rel.bin of the second run differs"
# --peer with a bare link
fetch_dirs a2
fetch_go a2.log "$M_BARE" a2 --peer "127.0.0.1:$S_PORT" ||
	{ fail "fetch of a bare magnet with --peer failed"; show a2.log; }
cmp -s "$S_DIR/data/rel.bin" a2/data/rel.bin || fail "rel.bin fetched with --peer differs"

# c) the tracker in tr, nothing else (a listen port to announce)
fetch_dirs c
CP=$(free_port)
fetch_go c.log "$M_TR" c --listen "127.0.0.1:$CP" ||
	{ fail "fetch through the magnet's tr failed"; show c.log; }
grep -E "metadata complete.* announces=[1-9]" c.log >/dev/null ||
	fail "the metadata phase did not announce: $(grep metadata c.log)"
cmp -s "$S_DIR/data/rel.bin" c/data/rel.bin || fail "rel.bin fetched through tr differs"

# b) python3-libtorrent seeding a tree
mkdir -p lt/save
"$PY" "$LT" mktree lt/save/tree >/dev/null || exit 1
"$RINGSEED" create lt/save/tree -o lt/tree.torrent -f v1 >create.log 2>&1 ||
	{ fail "ringseed create of the tree failed"; show create.log; }
LP=$(free_port)
if fetch_lt_seed lt.log lt/tree.torrent lt/save "$LP"; then
	M_LT=$(link lt/tree.torrent)
	fetch_dirs b
	fetch_go b.log "$M_LT" b --peer "127.0.0.1:$LP" ||
		{ fail "fetch of a magnet from libtorrent failed"; show b.log; }
	tree_cmp lt/save/tree b/data/tree || fail "tree fetched by magnet from libtorrent differs"
	kill "$BG_PID" 2>/dev/null
fi

# d) a bad link: usage error, one line naming the parameter
"$RINGSEED" fetch "magnet:?xt=urn:btih:1234&dn=x" -d a1/data -s a1/state 2>bad.log
[ $? -eq 2 ] || fail "a bad magnet was not a usage error"
grep -q "magnet link: xt: urn:btih: with 4 characters" bad.log || fail "unclear error: $(cat bad.log)"

for l in a1.log a1b.log a2.log b.log c.log; do
	[ -e "$l" ] && ! sanitizer_clean "$l" && fail "sanitizer report in $l"
done
serve_stop || fail "origin did not stop cleanly"
[ "$fails" -eq 0 ]
