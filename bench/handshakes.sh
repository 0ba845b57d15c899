#!/usr/bin/env bash
#
# handshakes.sh - the master's handshake rate while N connections (default
# 20,000) open against `ringseed serve`, and what bounds it.
#
#   bench/handshakes.sh [-n N] [-p BENCHES] [-w WORKERS] [--opening K]
#
#   -n N          connections in all (default 20000), idle once handed over
#   -p BENCHES    ringseed-bench processes sharing them (default 2), each from
#                 its own 127.X.0.0/16 range, each under RLIMIT_NOFILE
#   -w WORKERS    seeder workers (default 2)
#   --opening K   connections each bench has connecting or handshaking at
#                 once (default 512)
#
# Every 0.5 s while they open: peers handed to workers
# (ringseed_peers_accepted_total), the master's CPU time (/proc/PID/stat),
# the whole machine's busy CPU (/proc/stat) and how long the master took to
# answer /healthz (its loop's latency). The peak interval is the figure: a
# loop-bound master would answer slowly with CPU to spare; a CPU-bound one
# uses a core (or the machine is busy) while still answering within
# milliseconds.
set -u
N=20000 P=2 W=2 OPEN=512
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift 2 ;;
	-p) P=$2; shift 2 ;;
	-w) W=$2; shift 2 ;;
	--opening) OPEN=$2; shift 2 ;;
	*) echo "usage: $0 [-n N] [-p BENCHES] [-w WORKERS] [--opening K]" >&2; exit 2 ;;
	esac
done
TOP=$(cd "$(dirname "$0")/.." && pwd)
RINGSEED=${RINGSEED:-$TOP/bin/ringseed}
BENCH=${BENCH:-$TOP/bin/ringseed-bench}
PY=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/handshakes.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port) admin=$(free_port)
mkdir -p "$work"/{data,torrents,state}
head -c $((4 << 20)) /dev/urandom >"$work/data/h.bin"
"$RINGSEED" create -q "$work/data/h.bin" -l 1M -o "$work/torrents/h.torrent" >/dev/null || exit 1
: >"$work/seeder.log"
"$RINGSEED" serve --listen "127.0.0.1:$port" --torrents "$work/torrents" --data "$work/data" \
	--state "$work/state" -w "$W" -o serve.idle_timeout=300 -o serve.stats_interval=0 \
	-o announce.enable=no -o admin.listen="127.0.0.1:$admin" -o net.max_per_ip=0 \
	-o net.max_per_subnet=0 -u "$(id -un)" 2>"$work/seeder.log" &
seeder=$!
pids+=("$seeder")
for ((i = 0; i < 300; i++)); do grep -q ' ready: ' "$work/seeder.log" && break; sleep 0.1; done
grep -q ' ready: ' "$work/seeder.log" || { tail -5 "$work/seeder.log"; exit 1; }

per=$(((N + P - 1) / P))
for ((i = 0; i < P; i++)); do
	"$BENCH" -t "$work/torrents/h.torrent" -c "127.0.0.1:$port" -n "$per" -q 0 -d 20 --warmup 40 \
		--max-opening "$OPEN" --src "127.$((30 + i)).0.1-127.$((30 + i)).255.254" --quiet \
		>"$work/bench$i.out" 2>&1 &
	pids+=($!)
done

"$PY" - "$admin" "$seeder" "$N" <<'PY'
import http.client, os, sys, time
port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
tck = os.sysconf("SC_CLK_TCK")
def accepted():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    t = time.monotonic()
    c.request("GET", "/healthz"); c.getresponse().read()
    lat = time.monotonic() - t
    c.request("GET", "/metrics"); body = c.getresponse().read().decode()
    c.close()
    v = sum(float(l.split()[-1]) for l in body.splitlines() if l.startswith("ringseed_peers_accepted_total"))
    return v, lat
def cpu_master():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tck
def cpu_all():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f) - f[3] - f[4], sum(f)
rows, t0 = [], time.monotonic()
a0, _ = accepted(); m0 = cpu_master(); b0, s0 = cpu_all(); t = time.monotonic()
while time.monotonic() - t0 < 60:
    time.sleep(0.5)
    a1, lat = accepted(); m1 = cpu_master(); b1, s1 = cpu_all(); t1 = time.monotonic()
    dt = t1 - t
    rows.append(((a1 - a0) / dt, (m1 - m0) / dt, (b1 - b0) / max(1, s1 - s0) * os.cpu_count(), lat * 1000, a1))
    a0, m0, b0, s0, t = a1, m1, b1, s1, t1
    if a1 >= n:
        break
print("%8s %10s %12s %12s %10s" % ("t (s)", "hs/s", "master CPU", "machine CPU", "healthz ms"))
for i, r in enumerate(rows):
    print("%8.1f %10.0f %12.2f %12.2f %10.1f" % ((i + 1) * 0.5, r[0], r[1], r[2], r[3]))
busy = [r for r in rows if r[0] > 0]
if busy:
    peak = max(busy, key=lambda r: r[0])
    print("connections handed over: %d of %d in %.1f s" % (rows[-1][4], n, 0.5 * len(rows)))
    print("peak: %.0f handshakes/s, master %.2f CPU, machine %.2f of %d CPUs, /healthz %.1f ms (max %.1f ms over the run)"
          % (peak[0], peak[1], peak[2], os.cpu_count(), peak[3], max(r[3] for r in rows)))
PY
grep -E ' (warning|error|alert): ' "$work/seeder.log" | head -5
