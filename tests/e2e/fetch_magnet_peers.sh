#!/usr/bin/env bash
# timeout: 60
#
# Where a fetch's metadata and peers come from, with hostile and helpful
# test peers (tests/lib/fetch_peer.py):
#   - a magnet naming a peer whose metadata does not hash to the info-hash
#     (badmeta), one that rejects every metadata request (rejectmeta), and a
#     good one that comes up once both were asked: the reject is counted,
#     the liar is banned and counted (bans=1 hash_fails=1 in the metadata line),
#     the fetch proper never asks it (its blocks are corrupt: no hash fails),
#     and the result is byte-exact;
#   - PEX: the fetcher knows only peer A, which has nothing; A's ut_pex
#     names B, which has everything: the fetch completes from B
#     (pex_added=1), byte-exact;
#   - UDP tracker (BEP 15): a magnet whose only tr is the udp:// side of a
#     ringseed serve's built-in tracker: metadata and content both come
#     through peers it returns.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
cd "$work" || exit 1
FP=$E2E_LIB/fetch_peer.py

mkdir -p seed t
"$PY" "$LT" mkfile seed/one.bin 1500007 || exit 1
"$RINGSEED" create -q -f v1 -l 32K seed/one.bin -o t/one.torrent || exit 1
HASH=$("$RINGSEED" info t/one.torrent | sed -n 's/^info-hash: *//p' | head -n 1)

# --- metadata that does not hash: banned, counted, never asked again ---
BAD=$(free_port)
REJ=$(free_port)
GOOD=$(free_port)
bg "$PY" "$FP" t/one.torrent seed/one.bin "$BAD:badmeta" "$REJ:rejectmeta" >bad.log 2>&1
wait_until 10 grep -q listening bad.log || fail "badmeta peer did not start"
fetch_dirs h
fetch_bg h.log "magnet:?xt=urn:btih:$HASH&x.pe=127.0.0.1:$BAD&x.pe=127.0.0.1:$REJ" h \
	--peer "127.0.0.1:$GOOD"
FETCH_PID=$BG_PID
wait_until 10 grep -q "banned: sent metadata that does not hash" h.log ||
	fail "the metadata liar was not banned: $(cat h.log)"
wait_until 10 grep -q "rejected our request for piece 0" h.log ||
	fail "the rejecting peer was not asked: $(cat h.log)"
bg "$PY" "$FP" t/one.torrent seed/one.bin "$GOOD:meta" >good.log 2>&1
wait_until 20 grep -q "fetch: one.bin: complete in" h.log ||
	{ fail "magnet fetch beside a metadata liar did not complete"; show h.log; }
wait "$FETCH_PID" || fail "fetch exited with $?"
grep -E "metadata complete .* hash_fails=1 bans=1 rejects=[1-9]" h.log >/dev/null ||
	fail "liar not counted: $(grep 'metadata ' h.log)"
[ "$(fetch_count h.log hash_fails)" = 0 ] || fail "the banned peer was asked for blocks"
cmp -s seed/one.bin h/data/one.bin || fail "one.bin fetched beside a liar differs"

# --- PEX: A has nothing and names B ---
A=$(free_port)
B=$(free_port)
bg "$PY" "$FP" t/one.torrent seed/one.bin "$A:pex=$B" "$B:good" >pex.log 2>&1
wait_until 10 grep -q listening pex.log || fail "pex peers did not start"
fetch_dirs p
fetch_go p.log t/one.torrent p --peer "127.0.0.1:$A" ||
	{ fail "fetch through PEX failed"; show p.log; }
[ "$(fetch_count p.log pex_added)" = 1 ] || fail "PEX contact not added: $(tail -n 1 p.log)"
grep -q "good: connection" pex.log || fail "B was never connected to"
cmp -s seed/one.bin p/data/one.bin || fail "one.bin fetched through PEX differs"

# --- a UDP tracker only: the built-in tracker's udp:// side ---
TP=$(free_port)
serve_init "$work/o"
cp seed/one.bin "$S_DIR/data/"
serve_torrent "$S_DIR/data/one.bin" one.bin -a "udp://127.0.0.1:$TP/announce" || exit 1
serve_start --tracker-listen "127.0.0.1:$TP" || exit 1
serve_wait_stat announces 1 10 || fail "origin did not announce over UDP to its own tracker"
M_UDP=$("$RINGSEED" info "$S_DIR/torrents/one.bin.torrent" | sed -n 's/^magnet: *//p')
case "$M_UDP" in *tr=udp*) ;; *) fail "no udp tr in $M_UDP" ;; esac
fetch_dirs u
fetch_go u.log "$M_UDP" u --listen "127.0.0.1:$(free_port)" ||
	{ fail "fetch through a UDP tracker failed"; show u.log; }
grep -E "metadata complete.* announces=[1-9]" u.log >/dev/null ||
	fail "no UDP announce in the metadata phase: $(grep metadata u.log)"
[ "$(fetch_count u.log announces)" -ge 1 ] 2>/dev/null ||
	fail "the fetch proper did not announce over UDP: $(tail -n 1 u.log)"
cmp -s seed/one.bin u/data/one.bin || fail "one.bin fetched through a UDP tracker differs"

for l in h.log p.log u.log; do
	sanitizer_clean "$l" || fail "sanitizer report in $l"
done
serve_stop || fail "origin did not stop cleanly"
[ "$fails" -eq 0 ]
