#!/usr/bin/env bash
# announce_families: ringseed listening on 127.0.0.1 and [::1] announces once
# per address family, each with that family's listen port: over HTTP to a
# host name (localhost, both loopbacks), over UDP likewise, and to a numeric
# IPv6 tracker only over IPv6. Within a tier whose first URL fails the next
# one is tried at once. A torrent added at runtime (SIGHUP) is announced
# within seconds, and one removed at runtime gets its 'stopped' as fast.
# timeout: 90
set -u
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"

serve_need
if ! "$PY" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	echo "skip: no IPv6 loopback (::1) on this machine"
	exit 77
fi
if ! grep -q -- '-RS0100-' "$RINGSEED"; then
	echo "skip: $RINGSEED has no announcer yet (master/announce/announce.c is not wired into serve)"
	exit 77
fi
CHK=$E2E_LIB/announce_check.py
TLOG=$work/tracker.log

bg "$PY" "$E2E_LIB/announce_tracker.py" --dual --ports "$work/ports" --log "$TLOG" --lifetime 85
wait_until 10 test -s "$work/ports" || { fail "the test tracker did not start"; exit 1; }
HP=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"])' "$work/ports")
UP=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["udp"]["ok"])' "$work/ports")

serve_init "$work/s"
add() { # NAME ARGS...: a small file and its torrent
	local name=$1
	shift
	"$PY" "$LT" mkfile "$S_DIR/data/$name" 5000 "$name" && serve_torrent "$S_DIR/data/$name" "$name" "$@" ||
		{ fail "$name: no torrent to announce"; exit 1; }
}
add f-http -a "http://localhost:$HP/ok/announce"
add f-udp -a "udp://localhost:$UP"
add f-v6 -a "http://[::1]:$HP/ok/announce"
add f-tier -a "http://127.0.0.1:$HP/500/announce,http://127.0.0.1:$HP/ok/announce"
H_HTTP=$(serve_hash f-http)
H_UDP=$(serve_hash f-udp)
H_V6=$(serve_hash f-v6)
H_TIER=$(serve_hash f-tier)

serve_settle
P6=$(free_port)
serve_start --listen "[::1]:$P6" -o paths.watch=no || exit 1 # runtime changes by SIGHUP
echo "listening on 127.0.0.1:$S_PORT and [::1]:$P6"

check() {
	"$PY" "$CHK" "$1" "$TLOG" "${@:2}" >"$work/check.out" 2>&1 || fail "announce_check.py $*"
	sed -e 's/^/  /' "$work/check.out"
}
quiet() {
	"$PY" "$CHK" "$1" "$TLOG" "${@:2}" >/dev/null 2>&1
}
both_started() { # HASH
	quiet seen --info-hash "$1" --event started --from 127.0.0.1 --port "$S_PORT" &&
		quiet seen --info-hash "$1" --event started --from ::1 --port "$P6"
}

wait_until 10 both_started "$H_HTTP"
wait_until 5 both_started "$H_UDP"
echo "started, per family:"
for h in "$H_HTTP" "$H_UDP"; do
	check seen --info-hash "$h" --event started --from 127.0.0.1 --port "$S_PORT" --max 1
	check seen --info-hash "$h" --event started --from ::1 --port "$P6" --max 1
done
check seen --info-hash "$H_V6" --event started --from ::1 --port "$P6" --max 1
check seen --info-hash "$H_V6" --event started --max 1 # never over IPv4
# the tier: if the failing URL came first, the next one got 'started' at once
check seen --info-hash "$H_TIER" --event started --from 127.0.0.1 --min 1 --max 2
"$PY" - "$TLOG" "$H_TIER" <<'EOF' || fail "f-tier: the good URL of the tier was not tried at once"
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
rs = sorted((r for r in rs if r.get("info_hash") == sys.argv[2]), key=lambda r: r["t"])
modes = [r["mode"] for r in rs]
print("  f-tier: %s" % " -> ".join(modes))
ok = [r for r in rs if r["mode"] == "ok"]
sys.exit(0 if ok and (rs[0]["mode"] == "ok" or ok[0]["t"] - rs[0]["t"] < 1.0) else 1)
EOF

echo "added at runtime:"
add f-late -a "http://localhost:$HP/ok/announce"
H_LATE=$(serve_hash f-late)
t=$(date +%s.%N)
kill -HUP "$S_PID"
wait_until 8 both_started "$H_LATE"
check seen --info-hash "$H_LATE" --event started --from 127.0.0.1 --after "$t" --within 4
check seen --info-hash "$H_LATE" --event started --from ::1 --after "$t" --within 4

echo "removed at runtime:"
rm -f "$S_DIR/torrents/f-late.torrent"
t=$(date +%s.%N)
kill -HUP "$S_PID"
sleep 3
check seen --info-hash "$H_LATE" --event stopped --from 127.0.0.1 --after "$t" --within 3 --max 1
check seen --info-hash "$H_LATE" --event stopped --from ::1 --after "$t" --within 3 --max 1

serve_stop 10
echo "stopped on SIGTERM:"
for h in "$H_HTTP" "$H_UDP"; do
	check seen --info-hash "$h" --event stopped --from 127.0.0.1 --port "$S_PORT" --max 1
	check seen --info-hash "$h" --event stopped --from ::1 --port "$P6" --max 1
done
check seen --info-hash "$H_V6" --event stopped --max 1
# the one failure expected: f-tier's URL that answers 500
grep 'announce failed' "$S_LOG" | grep -v "torrent f-tier, http://127.0.0.1:$HP/500/announce" \
	>"$work/ann-errors"
if [ -s "$work/ann-errors" ]; then
	fail "unexpected announce failures in the log"
	show "$work/ann-errors"
fi
serve_logs_clean
[ "$fails" -eq 0 ]
