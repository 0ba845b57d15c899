#!/usr/bin/env bash
# timeout: 60
#
# Many torrents (a smoke of bench/many_torrents.sh): 500 one-piece torrents.
# 1. `ringseed serve` is ready with all 500 (first start: every one hashed,
#    every state file written), and the last torrent downloads byte-exact;
# 2. a .torrent dropped into the watched directory seeds within 1 s (the
#    rescan stats 500 files, it does not parse them again);
# 3. SIGTERM: exit 0 within 5 s, the workers finish (none killed).
# Prints the start-to-ready and quit times.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1

N=500
serve_init "$work/s"
"$PY" "$E2E_LIB/mktorrents.py" "$S_DIR/data" "$S_DIR/torrents" $N 16384 || exit 1
"$PY" "$LT" mkfile "$S_DIR/data/extra.bin" 100000 extra || exit 1
"$RINGSEED" create -q -f v1 -l 16K "$S_DIR/data/extra.bin" -o "$work/extra.bin.torrent" >/dev/null || exit 1
serve_settle
log_ms() { local ts; ts=$(grep -m1 -E -- "$1" "$S_LOG" | cut -d' ' -f1); [ -n "$ts" ] && date -d "$ts" +%s%3N; }

t0=$(date +%s%3N)
serve_start || exit 1
echo "ready with $N torrents $(($(log_ms ' ready: ') - t0)) ms after exec (first start: all hashed)"
grep -q " ready: $N torrents" "$S_LOG" || fail "not ready with $N torrents"
last=$(printf 't%05d.bin' $((N - 1)))
mkdir -p "$work/dl"
"$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.2 --save "$work/dl" --timeout 15 \
	"$S_DIR/torrents/$last.torrent" >"$work/dl.out" 2>&1 || { fail "download of $last"; show "$work/dl.out"; }
tree_cmp "$S_DIR/data/$last" "$work/dl/$last" || fail "$last differs"

t0=$(date +%s%3N)
mv "$work/extra.bin.torrent" "$S_DIR/torrents/"
serve_wait_log " torrent extra.bin [0-9a-f]+: [0-9]+ bytes, [0-9]+ pieces, seeding" 5 || fail "extra.bin never seeded"
t1=$(log_ms ' torrent extra.bin [0-9a-f]+: ')
echo "extra.bin seeding $((t1 - t0)) ms after its .torrent was dropped in"
[ $((t1 - t0)) -le 1000 ] || fail "extra.bin seeded $((t1 - t0)) ms after its .torrent (want <= 1000)"
grep ' rescan: ' "$S_LOG" | sed 's/^.*notice: /    /'

t0=$(date +%s%3N)
serve_stop 5 || fail "did not stop within 5 s"
echo "quit $(($(log_ms ' bye$') - t0)) ms after SIGTERM"
grep -q 'killing them' "$S_LOG" && fail "workers were killed at quit"
serve_logs_clean
[ "$fails" -eq 0 ]
