# Helpers for bench/compare/run.sh and the seeders/*.sh it sources.
# Every server is started with `launch`, as a child of run.sh in a session
# (and process group) of its own, so that `stop_instance` and the EXIT trap
# can end it and everything it forked by its process-group id.

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# launch WORK CMD...: start CMD in the background in its own session, with
# stdout+stderr to WORK/log; its pid (= its process group) goes to WORK/pid
# and to the global LAUNCHED list (killed on exit). The exact command line is
# appended to WORK/cmd.
LAUNCHED=()
launch() {
	local work=$1; shift
	printf '%q ' "$@" >> "$work/cmd"; echo >> "$work/cmd"
	setsid "$@" >> "$work/log" 2>&1 < /dev/null &
	local pid=$!
	echo "$pid" > "$work/pid"
	LAUNCHED+=("$pid")
	LAST_PID=$pid
}

# kill_group PGID: TERM the group, wait up to 10 s, then KILL.
kill_group() {
	local pg=$1 i
	kill -0 -- "-$pg" 2>/dev/null || { wait "$pg" 2>/dev/null; return 0; }
	kill -TERM -- "-$pg" 2>/dev/null
	for i in $(seq 100); do
		kill -0 -- "-$pg" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 -- "-$pg" 2>/dev/null; then
		log "process group $pg still alive 10 s after SIGTERM: SIGKILL"
		kill -KILL -- "-$pg" 2>/dev/null
		sleep 0.2
	fi
	wait "$pg" 2>/dev/null
	return 0
}

stop_instance() {
	local work=$1
	[ -s "$work/pid" ] || return 0
	kill_group "$(cat "$work/pid")"
	rm -f "$work/pid"
}

# port_free PORT: nothing listens on 127.0.0.1:PORT (or any address).
port_free() {
	[ -z "$(ss -Htln "( sport = :$1 )" 2>/dev/null)" ]
}

# wait_listen PORT TIMEOUT_S PID: until something listens on PORT; fails if
# PID died or after TIMEOUT_S.
wait_listen() {
	local port=$1 t=$2 pid=$3 end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		[ -n "$(ss -Htln "( sport = :$port )" 2>/dev/null)" ] && return 0
		sleep 0.2
	done
	return 1
}

CHILD=
# run_bg LIMIT_S OUT ERR CMD...: CMD in the background under timeout (its own
# process group, killed by cleanup) with stdout to OUT and stderr to ERR,
# waited for so that signals are handled at once. (No redirection on the
# function itself: a trap that fires inside it would inherit it.)
run_bg() {
	local lim=$1 out=$2 err=$3; shift 3
	timeout -k 5 "$lim" "$@" > "$out" 2> "$err" &
	CHILD=$!
	wait "$CHILD"
	local rc=$?
	CHILD=
	return $rc
}

# probe_bt PORT TIMEOUT_S PID [BENCH_ARGS...]: one leecher downloads 1 MiB
# from the seeder; the seeder is ready when that works (it has finished any
# hash check, has every piece and unchokes). BENCH_ARGS replace `-t
# $TORRENT`: another torrent (-t FILE), MSE (--mse rc4) for a seeder that
# refuses plain peers.
probe_bt() {
	local port=$1 end=$((SECONDS + $2)) pid=$3
	shift 3
	[ $# -gt 0 ] || set -- -t "$TORRENT"
	case " $* " in *" -t "*) ;; *) set -- -t "$TORRENT" "$@" ;; esac
	while [ $SECONDS -lt $end ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		if run_bg 20 /dev/null /dev/null "$BENCH" "$@" -c "127.0.0.1:$port" \
			-n 1 -b 1M --timeout 15 --quiet; then
			return 0
		fi
		sleep 0.5
	done
	return 1
}

# group_ticks PGID: CPU clock ticks (user+system, all threads) of every
# process in the process group.
group_ticks() {
	local pg=$1
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v pg="$pg" '
		{ sub(/^[0-9]+ \(.*\) /, ""); if ($3 == pg) t += $12 + $13 }
		END { print t + 0 }'
}

# busy_sockets PORT: TCP sockets on local port PORT other than the listener
# and TIME-WAIT (i.e. connections the server still holds or has not yet
# accepted).
busy_sockets() {
	ss -Htan "( sport = :$1 )" 2>/dev/null | awk '$1 != "LISTEN" && $1 != "TIME-WAIT"' | wc -l
}

# wait_drained PORT TIMEOUT_S: until busy_sockets is 0; fails after TIMEOUT_S.
wait_drained() {
	local port=$1 end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		[ "$(busy_sockets "$port")" -eq 0 ] && return 0
		sleep 0.2
	done
	return 1
}

# subst TEMPLATE OUT: replace @KEY@ by the value of shell variable KEY for
# every KEY listed in SUBST_VARS.
subst() {
	local expr=() v
	for v in $SUBST_VARS; do
		expr+=(-e "s#@$v@#${!v}#g")
	done
	sed "${expr[@]}" "$1" > "$2"
}
