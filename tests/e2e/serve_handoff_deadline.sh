#!/usr/bin/env bash
# timeout: 60
#
# A worker that stops reading its channel must not make the master hold
# sockets for ever. Both workers are stopped (SIGSTOP); 1,500 peers send a
# valid handshake and hang up. The channels fill, the rest queue in the
# master, in CLOSE-WAIT once their peers are gone; within handshake_timeout
# (2 s here) plus a tick they are closed and counted
# (ringseed_peer_drops_total{reason="handoff_timeout"}), and the master holds
# no CLOSE-WAIT socket. After SIGCONT the workers serve again: a libtorrent
# download completes byte-exact.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
command -v ss >/dev/null || { echo "skip: ss (iproute2) not installed"; exit 77; }
cd "$work" || exit 1

serve_init "$work/s"
serve_add_file a.bin $((1048576 + 9)) || exit 1
HASH=$(serve_hash a.bin)
serve_settle
serve_start -o serve.handshake_timeout=2 || exit 1
close_wait() { # sockets in CLOSE-WAIT the master holds
	ss -Htnp state close-wait "( sport = :$S_PORT )" 2>/dev/null | grep -c "pid=$S_PID,"
}
no_close_wait() {
	[ "$(close_wait)" -eq 0 ]
}

for w in $S_WORKERS; do kill -STOP "$w"; done
"$PY" - "$S_PORT" "$HASH" <<'PYEOF'
import resource, socket, sys
port, h = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
hs = b"\x13BitTorrent protocol" + bytes(8) + h + b"-XX0000-" + bytes(12)
for i in range(1500):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(hs)
    s.close()
PYEOF
sleep 0.5
n1=$(close_wait)
echo "workers stopped: the master holds $n1 sockets in CLOSE-WAIT"
[ "${n1:-0}" -gt 0 ] || fail "no socket queued in the master (the channels took all 1,500?)"
wait_until 5 no_close_wait || fail "the master still holds $(close_wait) sockets in CLOSE-WAIT 5 s later"
d=$(serve_stat drop_handoff_timeout)
echo "drop_handoff_timeout = $d"
[ "${d:-0}" -ge "${n1:-1}" ] || fail "drop_handoff_timeout = $d, want >= $n1"
for w in $S_WORKERS; do kill -CONT "$w"; done

"$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.2 --save "$work/dl" --timeout 30 \
	"$S_DIR/torrents/a.bin.torrent" >"$work/leech.out" 2>&1 || { fail "download after SIGCONT"; show "$work/leech.out"; }
tree_cmp "$S_DIR/data/a.bin" "$work/dl/a.bin" || fail "a.bin differs"
serve_stop || true
grep -q ' final: .* drop_handoff_timeout=[1-9]' "$S_LOG" || fail "no drop_handoff_timeout in the final line"
serve_logs_clean
[ "$fails" -eq 0 ]
