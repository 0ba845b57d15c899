#!/usr/bin/env bash
# timeout: 90
#
# Hostile clients of the admin endpoint (tests/lib/admin_hostile.py): unknown
# paths, POST, garbage, a 16 KiB header, 1,000 idle connections, 20 slowloris
# clients. Each is answered or closed within its bound, every refusal is
# counted in ringseed_admin_refused_total, an operator's request is answered
# at once throughout, and a libtorrent leecher downloading meanwhile
# completes byte-exact.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1

serve_init "$work/s"
serve_add_file honest.bin $((8 * 1048576 + 3)) || exit 1
serve_settle
serve_start || exit 1

refused() {
	serve_metrics | sed -n "s/^ringseed_admin_refused_total{reason=\"$1\"} //p"
}

bg "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.2 --save "$work/honest" \
	--timeout 60 --rate 1000000 "$S_DIR/torrents/honest.bin.torrent" >"$work/leech.out" 2>&1
LEECH=$BG_PID

"$PY" "$E2E_LIB/admin_hostile.py" "$S_ADMIN" || fail "admin_hostile.py (above)"

for r in not_found bad_request too_big conns timeout aborted; do
	v=$(refused $r)
	echo "refused{reason=$r} = $v"
	case $r in
	not_found | too_big) [ "${v:-0}" -ge 1 ] || fail "$r not counted" ;;
	bad_request) [ "${v:-0}" -eq 2 ] || fail "$r: $v, want 2 (POST, garbage)" ;;
	aborted) [ "${v:-0}" -ge 1 ] || fail "$r: $v, want >= 1 (idle connections the client closed)" ;;
	conns) [ "${v:-0}" -ge 900 ] || fail "$r: $v, want >= 900 of the 1,000 idle connections" ;;
	timeout) [ "${v:-0}" -ge 20 ] || fail "$r: $v, want >= 20 (slowloris)" ;;
	esac
done
conns=$(serve_metrics | sed -n 's/^ringseed_admin_connections //p')
[ "${conns:-x}" -le 1 ] 2>/dev/null || fail "admin connections still open: $conns"

wait "$LEECH" || { fail "the honest leecher failed"; show "$work/leech.out"; }
tree_cmp "$S_DIR/data/honest.bin" "$work/honest/honest.bin" || fail "honest.bin differs"
serve_stop || true
serve_logs_clean
[ "$fails" -eq 0 ]
