#!/usr/bin/env bash
# timeout: 120
#
# net.max_per_ip = 4: one address cannot take every slot.
#   127.0.0.2 opens 30 connections and handshakes on each: 4 stay open (handed
#     to the workers), 26 are closed at accept; drop_per_ip +26
#   127.0.0.3 does the same at once: its own 4 (the cap is per address)
#   127.0.0.2, still holding its 4, reconnects 1,000 times: every one closed
#     before its handshake is read; drop_per_ip +1,000
#   meanwhile an honest libtorrent leecher from 127.0.0.5 downloads byte-exact
#   127.0.0.2 closes its 4: within a few seconds it gets 4 again (the workers
#     give the counts back) and no more
#   another instance with net.max_per_subnet = 6: 127.0.0.2 holds 4, then 127.0.0.3
#     only 2 (same /24), 127.0.1.2 its 4
#   ::1 on an IPv6 listener: 4 of 10 (skipped without IPv6)
# drop_per_ip in /metrics and in the final line; no sanitizer report.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1

serve_init "$work/s"
serve_add_file a.bin $((4 * 1048576 + 7)) || exit 1
HASH=$(serve_hash a.bin)
serve_settle
serve_start -o net.max_per_ip=4 -o serve.stats_interval=1 || exit 1

# hold IP N [PORT HOST]: N connections from IP, each sends a handshake; after
# 1 s prints how many are still open, then keeps them until the file
# $work/release.IP exists
cat >"$work/hold.py" <<'PYEOF'
import os, socket, sys, time
ip, n, host, port, h, flag = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), bytes.fromhex(sys.argv[5]), sys.argv[6]
hs = b"\x13BitTorrent protocol" + bytes(8) + h + b"-XX0000-" + bytes(12)
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
socks = []
for i in range(n):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((ip, 0))
    s.connect((host, port))
    try:
        s.sendall(hs)
    except OSError:
        pass
    socks.append(s)
time.sleep(1.0)
def is_open(s):
    s.setblocking(False)
    try:
        while True:
            d = s.recv(65536)  # our handshake and bitfield arrive on a kept one
            if not d:
                return False
    except BlockingIOError:
        return True
    except OSError:
        return False
print(sum(is_open(s) for s in socks), flush=True)
while not os.path.exists(flag):
    time.sleep(0.1)
PYEOF
hold() { # IP N OUT [HOST]
	local host=${4:-127.0.0.1}
	rm -f "$work/release.$1"
	bg "$PY" "$work/hold.py" "$1" "$2" "$host" "$S_PORT" "$HASH" "$work/release.$1" >"$3"
}
held() { # OUT: waits for the count
	wait_until 15 grep -qs . "$1" && cat "$1"
}

mkdir -p "$work/dl"
bg "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.5 --save "$work/dl" \
	--timeout 60 --rate 500000 --max-disconnects 0 "$S_DIR/torrents/a.bin.torrent" >"$work/leech.out" 2>&1
leech=$BG_PID

d0=$(serve_stat drop_per_ip)
[ "${d0:-x}" = 0 ] || fail "drop_per_ip is ${d0:-missing} in /metrics before any peer, want 0"
hold 127.0.0.2 30 "$work/h2a"
hold 127.0.0.3 30 "$work/h3"
n2=$(held "$work/h2a")
n3=$(held "$work/h3")
echo "127.0.0.2 holds $n2 of 30, 127.0.0.3 holds $n3 of 30"
[ "$n2" = 4 ] || fail "127.0.0.2 holds ${n2:-?} connections, want the cap (4)"
[ "$n3" = 4 ] || fail "127.0.0.3 holds ${n3:-?} connections, want its own cap (4)"
serve_wait_stat drop_per_ip 52 5 || fail "drop_per_ip = $(serve_stat drop_per_ip), want 52"

"$PY" - "$S_PORT" "$HASH" >"$work/storm.out" <<'PYEOF'
import socket, sys
port, h = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
hs = b"\x13BitTorrent protocol" + bytes(8) + h + b"-XX0000-" + bytes(12)
kept = 0
for i in range(1000):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.settimeout(2)
    s.connect(("127.0.0.1", port))
    try:
        s.sendall(hs)
        if s.recv(68):
            kept += 1  # the seeder answered: admitted over the cap
    except OSError:
        pass
    s.close()
print(kept)
PYEOF
kept=$(cat "$work/storm.out")
echo "1,000 reconnects from 127.0.0.2 over its cap: $kept answered"
[ "$kept" = 0 ] || fail "$kept of 1,000 reconnects over the cap were served"
serve_wait_stat drop_per_ip 1052 5 || fail "drop_per_ip = $(serve_stat drop_per_ip), want 1052"

# the counts go down when peers leave
touch "$work/release.127.0.0.2"
sleep 1
again() {
	hold 127.0.0.2 10 "$work/h2b"
	n=$(held "$work/h2b")
	touch "$work/release.127.0.0.2"
	echo "127.0.0.2 again: holds $n of 10"
	[ "$n" = 4 ]
}
wait_until 10 again || fail "127.0.0.2 got ${n:-?} connections once its first ones closed, want 4"
touch "$work/release.127.0.0.3"

serve_save first

# net.max_per_subnet = 6: 127.0.0.0/24 holds 6 in all, 127.0.1.0/24 its own
# (an instance of its own: the leecher goes on on the first meanwhile)
serve_init_shared "$work/s-subnet"
serve_start -o net.max_per_ip=4 -o net.max_per_subnet=6 || exit 1
serve_save subnet
hold 127.0.0.2 10 "$work/s2"
s2=$(held "$work/s2")
hold 127.0.0.3 10 "$work/s3"
s3=$(held "$work/s3")
hold 127.0.1.2 10 "$work/s12"
s12=$(held "$work/s12")
touch "$work/release.127.0.0.2" "$work/release.127.0.0.3" "$work/release.127.0.1.2"
echo "subnet cap 6: 127.0.0.2 holds $s2, 127.0.0.3 holds $s3, 127.0.1.2 holds $s12 (of 10 each)"
[ "$s2" = 4 ] && [ "$s3" = 2 ] && [ "$s12" = 4 ] ||
	fail "with max_per_subnet=6 they hold $s2, $s3, $s12, want 4, 2 (the /24 is full), 4"

# IPv6 peers have their cap too (listeners are IPV6_V6ONLY, so IPv4-mapped
# addresses never reach one: that case is test_addrcap's)
if "$PY" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	serve_stop || true
	serve_use first
	serve_init_shared "$work/s-v6"
	S_PORT=$(free_port)
	serve_start -o net.max_per_ip=4 --listen "[::1]:$S_PORT" || exit 1
	serve_save v6
	hold ::1 10 "$work/h6" ::1
	n6=$(held "$work/h6")
	touch "$work/release.::1"
	echo "::1 holds $n6 of 10"
	[ "$n6" = 4 ] || fail "::1 holds ${n6:-?} connections, want the cap (4)"
else
	echo "no IPv6 loopback: the IPv6 case is skipped"
fi

serve_stop || true

serve_use first
wait "$leech" || { fail "the honest leecher from 127.0.0.5 did not complete"; show "$work/leech.out"; }
tree_cmp "$S_DIR/data/a.bin" "$work/dl/a.bin" || fail "a.bin differs"
serve_stop || true
grep -q ' final: .* drop_per_ip=[1-9]' "$S_LOG" || fail "no drop_per_ip in the final line"
for i in first subnet v6; do
	serve_use $i
	[ -z "$S_PID" ] || serve_logs_clean
done
[ "$fails" -eq 0 ]
