#!/usr/bin/env bash
# timeout: 90
#
# The torrents directory watched with inotify (paths.watch, on by default),
# no signal sent, while a libtorrent leecher downloads keep.bin at 2 MB/s:
# 1. new.bin's .torrent renamed into the directory: served within 1 s (the
#    `torrent new.bin HEX: ... seeding` line), and downloads byte-exact;
# 2. gone.bin's .torrent deleted: its connected peer is closed within 1 s,
#    and a new handshake for it is refused (drop_unknown_hash +1);
# 3. a .torrent written in place (cp, IN_CLOSE_WRITE) is picked up too, and a
#    file that is not a .torrent changes nothing;
# and the keep.bin download never loses its connection and completes.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1

serve_init "$work/s"
serve_add_file keep.bin $((12 * 1048576 + 17)) || exit 1
serve_add_file gone.bin $((1048576 + 5)) || exit 1
gone_hash=$(serve_hash gone.bin)
for n in new.bin cp.bin; do
	"$PY" "$LT" mkfile "$S_DIR/data/$n" $((2 * 1048576 + 3)) $n || exit 1
	"$RINGSEED" create -q -f v1 -l "$S_PL" "$S_DIR/data/$n" -o "$work/$n.torrent" >/dev/null || exit 1
done
serve_settle
serve_start || exit 1

hostile() {
	local c=$1 t=$2 ip=$3
	shift 3
	"$PY" "$E2E_LIB/serve_hostile.py" "$c" --peer "127.0.0.1:$S_PORT" --torrent "$S_DIR/torrents/$t.torrent" \
		--content "$S_DIR/data/$t" --bind "127.0.0.$ip" "$@"
}
# ms LINE_REGEX: the log time of the first matching line, in ms since the epoch
log_ms() {
	local ts
	ts=$(grep -m1 -E -- "$1" "$S_LOG" | cut -d' ' -f1)
	[ -n "$ts" ] && date -d "$ts" +%s%3N
}

mkdir -p "$work/keep"
bg "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.2 --save "$work/keep" --timeout 60 \
	--rate 2000000 --max-disconnects 0 --status "$work/keep.status" \
	"$S_DIR/torrents/keep.bin.torrent" >"$work/keep.out" 2>&1
keep=$BG_PID
hostile hold gone.bin 3 --wait 15 >"$work/hold.out" 2>&1 &
hold=$!
wait_until 10 grep -qs '^hold: greeted' "$work/hold.out" || fail "could not connect to gone.bin"

# --- 1. a .torrent renamed in
t0=$(date +%s%3N)
mv "$work/new.bin.torrent" "$S_DIR/torrents/"
serve_wait_log " torrent new.bin $(serve_hash new.bin): [0-9]+ bytes, [0-9]+ pieces, seeding( \((v2|hybrid)\))?\$" 5 ||
	fail "new.bin not served within 5 s of its .torrent"
t1=$(log_ms " torrent new.bin [0-9a-f]+: ") && echo "new.bin: served $((t1 - t0)) ms after the rename"
[ -n "$t1" ] && [ $((t1 - t0)) -le 1000 ] || fail "new.bin served $((t1 - t0)) ms after its .torrent, want <= 1000"
mkdir -p "$work/new"
"$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.4 --save "$work/new" --timeout 30 \
	"$S_DIR/torrents/new.bin.torrent" >"$work/new.out" 2>&1 || { fail "new.bin download"; show "$work/new.out"; }
tree_cmp "$S_DIR/data/new.bin" "$work/new/new.bin" || fail "new.bin differs"

# --- 2. a .torrent deleted
t0=$(date +%s%3N)
rm "$S_DIR/torrents/gone.bin.torrent"
if wait $hold; then
	echo "gone.bin: its peer closed $(($(date +%s%3N) - t0)) ms after the delete"
	[ $(($(date +%s%3N) - t0)) -le 1500 ] || fail "the peer of gone.bin was closed late"
else
	fail "the peer of gone.bin stayed connected"
	show "$work/hold.out"
fi
before=$(serve_stat drop_unknown_hash)
"$PY" "$E2E_LIB/serve_hostile.py" unknown-hash --hash "$gone_hash" --peer "127.0.0.1:$S_PORT" \
	--torrent "$S_DIR/torrents/keep.bin.torrent" --bind 127.0.0.5 >/dev/null ||
	fail "a handshake for gone.bin (deleted) was not refused"
serve_wait_stat drop_unknown_hash $((${before:-0} + 1)) 5 || fail "drop_unknown_hash did not rise"

# --- 3. cp in place; and a stray file
n_rescans=$(grep -c ' rescan: ' "$S_LOG")
echo junk >"$S_DIR/torrents/README.txt"
sleep 0.5
[ "$(grep -c ' rescan: ' "$S_LOG")" -eq "$n_rescans" ] || fail "a file that is not a .torrent caused a rescan"
cp "$work/cp.bin.torrent" "$S_DIR/torrents/"
serve_wait_log " torrent cp.bin [0-9a-f]+: [0-9]+ bytes, [0-9]+ pieces, seeding( \((v2|hybrid)\))?\$" 3 ||
	fail "cp.bin (copied in) not served"
grep -E ' rescan: ' "$S_LOG" | sed 's/^/    | /'

if wait $keep; then
	tree_cmp "$S_DIR/data/keep.bin" "$work/keep/keep.bin" || fail "keep.bin differs"
else
	fail "the keep.bin download failed or lost its connection"
	show "$work/keep.out"
fi
serve_stop || true
serve_logs_clean
[ "$fails" -eq 0 ]
