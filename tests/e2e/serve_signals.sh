#!/usr/bin/env bash
# timeout: 90
#
# `ringseed serve` and signals, process tree and log format:
# 1. --workers 1 on the command line beats `workers = 2` in the file; the
#    worker is a child of the master running the same binary.
# 2. SIGTERM during a download: exit 0 within 5 s, a `final:` line at
#    shutdown, `bye` last, no worker left; SIGINT the same.
# 3. SIGKILL of the master: no worker left within 2 s (PR_SET_PDEATHSIG), and
#    the port is free for a new start.
# The stats lines carry every counter of the spec. Every log line has the form `YYYY-MM-DDTHH:MM:SS.mmmZ ringseed[PID] LEVEL: ...`
# (workers `ringseed-wN[PID]`) with LEVEL one of alert..debug.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1
start=$(date +%s)

serve_init "$work/s"
serve_add_file sig.bin $((8 * 1048576 + 1)) || exit 1

# --- 1. the command line wins over the file; workers are our children
if serve_start --workers 1; then
	grep -q ' ready: 1 torrents, 1 workers$' "$S_LOG" || fail "--workers 1 over 'workers = 2': $(grep ' ready: ' "$S_LOG")"
	set -- $S_WORKERS
	[ $# -eq 1 ] || fail "--workers 1: the master has $# children"
	for w in $S_WORKERS; do
		[ "$(readlink "/proc/$w/exe")" = "$(readlink "/proc/$S_PID/exe")" ] ||
			fail "worker $w runs $(readlink "/proc/$w/exe"), not the master's binary"
	done
	serve_stop
fi

# --- 2. SIGTERM and SIGINT with a download in flight
for sig in TERM INT; do
	serve_start || continue
	rm -rf "$work/dl"
	mkdir -p "$work/dl"
	bg "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.2 --save "$work/dl" --timeout 30 \
		--rate 2000000 --status "$work/dl.status" "$S_DIR/torrents/sig.bin.torrent" >/dev/null 2>&1
	leech=$BG_PID
	wait_until 15 grep -qs ' 1$' "$work/dl.status" || fail "SIG$sig: the leecher did not connect"
	sleep 1
	workers=$(serve_workers)
	t0=$(date +%s.%N)
	kill -"$sig" "$S_PID"
	i=0
	while pid_alive "$S_PID" && [ $i -lt 60 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	secs=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")
	if pid_alive "$S_PID"; then
		fail "SIG$sig: still running after 6 s"
		serve_kill
	else
		wait "$S_PID"
		rc=$?
		echo "SIG$sig: exit $rc after $secs s"
		[ $rc -eq 0 ] || fail "SIG$sig: exit status $rc, want 0"
		awk "BEGIN { exit !($secs <= 5.0) }" || fail "SIG$sig: took $secs s, want <= 5"
		[ "$(tail -n 1 "$S_LOG" | sed 's/.*: //')" = bye ] || { fail "SIG$sig: last line is not 'bye'"; show_tail "$S_LOG" 4; }
		sed -n "/ final: /p" "$S_LOG" | grep -q . || fail "SIG$sig: no final stats line at shutdown"
		for w in $workers; do
			pid_alive "$w" && { fail "SIG$sig: worker $w still running"; kill -KILL "$w"; }
		done
	fi
	kill "$leech" 2>/dev/null
	wait "$leech" 2>/dev/null
done

# --- 3. SIGKILL of the master
if serve_start; then
	workers=$(serve_workers)
	[ -n "$workers" ] || fail "SIGKILL of the master: it had no worker to leave behind"
	kill -KILL "$S_PID"
	wait "$S_PID" 2>/dev/null
	gone() {
		local w
		for w in $workers; do
			pid_alive "$w" && return 1
		done
		return 0
	}
	if wait_until 2 gone; then
		echo "SIGKILL of the master: workers $(echo $workers) gone"
	else
		for w in $workers; do
			pid_alive "$w" && fail "SIGKILL of the master: worker $w still running after 2 s"
			kill -KILL "$w" 2>/dev/null
		done
	fi
	# the same port again: nothing left holds it
	serve_start && serve_stop
fi

# --- every counter of the spec in the final stats line (the periodic one is short)
for k in peers up_bytes blocks requests rejects handshakes drop_handshake_timeout drop_bad_handshake \
	drop_unknown_hash drop_protocol drop_bad_request drop_flood drop_idle drop_too_many worker_restarts; do
	grep -h ' final: ' "$S_DIR"/serve.*.log | grep -qE " $k=[0-9]+( |\$)" || fail "no $k= in the final stats lines"
done

# --- the log format, every line of every run
for f in "$S_DIR"/serve.*.log; do
	bad=$(grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z ringseed(-w[0-9]+)?\[[0-9]+\] (alert|error|warning|notice|info|debug): ' "$f" | head -n 3)
	[ -z "$bad" ] || { fail "$(basename "$f"): lines not in the log format:"; echo "$bad" | sed 's/^/    | /'; }
done
serve_logs_clean

echo "serve_signals: $(($(date +%s) - start)) s, $fails failures"
[ $fails -eq 0 ]
