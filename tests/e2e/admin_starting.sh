#!/usr/bin/env bash
# timeout: 120
#
# The first check of the content runs off the master's loop at start-up, so
# the admin endpoint answers meanwhile:
# 1. with a 2 GiB torrent to hash (a sparse file: zeros cost no disk), a
#    poller sees /healthz answer 503 "starting" (within 0.5 s of each
#    request) while it is hashed, then 200 "serving" once ready; /status says
#    "starting" meanwhile, and lists the torrent after;
# 2. SIGTERM during that check: ringseed exits 0 once the check is over,
#    with no `ready:` line and `bye` last.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
command -v curl >/dev/null || { echo "skip: curl not installed"; exit 77; }
cd "$work" || exit 1

serve_init "$work/s"
truncate -s 2G "$S_DIR/data/big.bin"
S_PL=4M serve_torrent "$S_DIR/data/big.bin" big.bin || exit 1
serve_settle
URL=http://127.0.0.1:$S_ADMIN

# poll: one line per answer, "CODE BODY SECONDS", until a 200
poll() {
	local out
	set -o pipefail
	while :; do
		out=$(curl -s -m 2 -w ' %{http_code} %{time_total}' "$URL/healthz" 2>/dev/null | tr -d '\n') ||
			{ sleep 0.05; continue; }
		echo "$out" >>"$work/polls"
		case $out in *" 200 "*) break ;; esac
		[ -s "$work/status.json" ] || curl -s -m 2 "$URL/status" >"$work/status.json"
		sleep 0.05
	done
}

# --- 2. SIGTERM while the content is checked
S_PORT=$(free_port)
env "$RINGSEED" serve -c "$S_DIR/ringseed.conf" --listen "127.0.0.1:$S_PORT" 2>"$work/term.log" &
pid=$!
wait_until 20 sh -c "curl -s -m 1 '$URL/healthz' | grep -q starting" || fail "no 'starting' before SIGTERM"
kill -TERM "$pid"
wait "$pid"
rc=$?
[ $rc -eq 0 ] || { fail "SIGTERM while starting: exit $rc, want 0"; show_tail "$work/term.log"; }
grep -q ' ready: ' "$work/term.log" && fail "SIGTERM while starting: it went on to 'ready:'"
[ "$(tail -n 1 "$work/term.log" | sed 's/.*: //')" = bye ] || fail "SIGTERM while starting: the last line is not bye"
rm -f "$S_DIR"/state/*

# --- 1. 503 starting, then 200 serving
: >"$work/polls"
poll &
poller=$!
serve_start || exit 1
wait_until 5 grep -q ' 200 ' "$work/polls" || fail "no 200 after ready"
kill "$poller" 2>/dev/null
n503=$(grep -c '^starting 503 ' "$work/polls")
echo "healthz: $n503 answers '503 starting', then: $(grep -m1 ' 200 ' "$work/polls")"
[ "$n503" -ge 1 ] || { fail "no '503 starting' while the content was checked"; show "$work/polls"; }
slow=$(awk '$2 == 503 && $3 > 0.5' "$work/polls" | wc -l)
[ "$slow" -eq 0 ] || fail "$slow /healthz answers took over 0.5 s while starting"
grep -q '"state":"starting"' "$work/status.json" || { fail "/status did not say starting"; show "$work/status.json"; }
grep -q 'hashed [0-9]* pieces' "$S_LOG" || fail "the content was not hashed (the test needs a first check)"
"$RINGSEED" status --admin "127.0.0.1:$S_ADMIN" --json | grep -q '"name":"big.bin"' || fail "/status lacks big.bin after ready"
serve_stop || true
serve_logs_clean
[ "$fails" -eq 0 ]
