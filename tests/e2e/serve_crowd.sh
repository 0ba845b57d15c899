#!/usr/bin/env bash
# timeout: 120
#
# `ringseed serve` to a crowd: 50 libtorrent leechers (50 sessions in one
# python process, each listening on and connecting from its own 127.0.1.X)
# start at once and download a single-file torrent (4 MB + 1) and a small
# multi-file one, each at most 1.5 MB/s (so that they overlap for seconds);
# every copy must be byte-exact, and the stats must show that the bytes came
# from ringseed (up_bytes >= 50 x the content), that it had the 50 peers at
# once (the highest peers= of the 1-second stats lines), and no drop or reject
# of any kind.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1
start=$(date +%s)
N=50

serve_init "$work/s"
serve_add_file crowd.bin $((4 * 1048576 + 1)) || exit 1
"$PY" "$LT" mkfile "$S_DIR/data/small/x/a.bin" 100003 small && "$PY" "$LT" mkfile "$S_DIR/data/small/b" 7 small &&
	serve_torrent "$S_DIR/data/small" small || exit 1
size=$(($(stat -c %s "$S_DIR/data/crowd.bin") + 100010))
serve_start -o serve.stats_interval=1 -o serve.unchoke_slots=0 || exit 1

if "$PY" "$LT" crowd --n $N --peer "127.0.0.1:$S_PORT" --save "$work/crowd" --timeout 80 --rate 1500000 \
	"$S_DIR/torrents/crowd.bin.torrent" "$S_DIR/torrents/small.torrent" >"$work/crowd.out" 2>&1; then
	tail -n 1 "$work/crowd.out"
else
	fail "the crowd did not all complete"
	grep -v ': complete in ' "$work/crowd.out" | head -n 20 | sed 's/^/    | /'
fi
bad=0
for ((i = 0; i < N; i++)); do
	tree_cmp "$S_DIR/data/crowd.bin" "$work/crowd/$i/crowd.bin" >/dev/null &&
		tree_cmp "$S_DIR/data/small" "$work/crowd/$i/small" >/dev/null || bad=$((bad + 1))
done
[ $bad -eq 0 ] || fail "$bad of $N leechers have content that differs from the seeder's"

want=$((size * N))
serve_wait_stat up_bytes $want 5 || fail "up_bytes=$(serve_stat up_bytes), want >= $want ($N x $size)"
max_peers=$(grep ' stats: ' "$S_LOG" | tr ' ' '\n' | sed -n 's/^peers=//p' | sort -n | tail -n 1)
echo "peers high-water in the stats lines: ${max_peers:-none}"
[ "${max_peers:-0}" -ge $N ] || fail "peers= never reached $N in the stats lines (max ${max_peers:-none})"
for k in rejects drop_bad_request drop_protocol drop_flood drop_too_many drop_handshake_timeout \
	drop_bad_handshake drop_unknown_hash worker_restarts; do
	[ "$(serve_stat $k)" = 0 ] || fail "$k=$(serve_stat $k), want 0"
done
grep ' stats: ' "$S_LOG" | tail -n 1 | sed 's/.*stats:/stats:/'
serve_stop
serve_logs_clean

echo "serve_crowd: $(($(date +%s) - start)) s, $fails failures"
[ $fails -eq 0 ]
