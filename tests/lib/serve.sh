# serve.sh - what the `ringseed serve` end-to-end scripts (tests/e2e/serve_*.sh)
# share; source it after tests/lib/e2e.sh, do not run it.
#
#   $PY                             Debian's python3, the one with libtorrent
#   $LT                             tests/lib/serve_lt.py (files, hashes, leechers)
#   serve_need                      skip (exit 77) unless python3-libtorrent is
#                                   there and $RINGSEED has a serve command
#   free_port                       prints a free TCP port on 127.0.0.1
#   wait_until SECONDS CMD...       polls CMD every 0.1 s; status 0 once it
#                                   succeeds, 1 if SECONDS pass first
#   pid_alive PID                   PID exists and is not a zombie
#
#   serve_init DIR                  DIR/{data,torrents,state} and DIR/ringseed.conf
#                                   (2 workers, 127.0.0.1:1 as its listen line,
#                                   overridden by serve_start's --listen; the
#                                   admin endpoint on 127.0.0.1:$S_ADMIN; run
#                                   as root on purpose, core.user = root, when
#                                   the tests run as root; super-seeding
#                                   off, since most tests' leechers do not
#                                   know each other: serve_superseed.sh
#                                   turns it on with -o); the instance is
#                                   described by $S_DIR
#   serve_conf_add LINE...          appends lines to DIR/ringseed.conf
#   serve_init_shared DIR           serve_init DIR for a further instance that
#                                   serves the current one's data and torrents
#                                   directories (its own conf, state, ports, logs)
#   serve_save NAME, serve_use NAME keep the current instance (its S_* values)
#                                   under NAME, make NAME the current one: several
#                                   instances side by side in one script
#   serve_add_file NAME SIZE        content file DATA/NAME, pseudo-random, and
#                                   its torrent TORRENTS/NAME.torrent (-l $S_PL)
#   serve_add_tree NAME             the test tree as DATA/NAME, and its torrent
#   serve_torrent SRC NAME [ARGS]   TORRENTS/NAME.torrent made from SRC by
#                                   `ringseed create` (ARGS: more create options),
#                                   format $S_FORMAT (default v1: the clients
#                                   most tests drive read only v1)
#   serve_hash NAME                 info-hash of TORRENTS/NAME.torrent
#   serve_settle                    takes content out of the racy-timestamp window
#                                   (2 s, VERIFY_RACY_SECONDS in master/content/verify.h):
#                                   content written less than 2 s before a check is
#                                   hashed again by the next start, by design. Instead
#                                   of sleeping 2 s, it sets the mtime of each file of
#                                   the data directory written in the last 5 s 10 s
#                                   back: a file is racy only when mtime and ctime are
#                                   both recent, and the ctime this moves still tells
#                                   the seeder of any change since its last check
#
#   serve_start [ARGS...]           runs `ringseed serve -c CONF --listen
#                                   127.0.0.1:$S_PORT ARGS` in the background
#                                   (stderr to a new $S_LOG), waits for `ready:`
#                                   ($S_READY_TIMEOUT s, default 60); sets $S_PID
#                                   and $S_WORKERS. $S_PORT is picked once per
#                                   instance, so a restart keeps the port.
#                                   $S_WRAP, if set, goes before the binary
#                                   (e.g. "prlimit --nofile=128:128").
#   serve_stop [SECONDS]            SIGTERM, then: exit 0 within SECONDS (default
#                                   5), last line `bye`, no worker left; fails
#                                   (and SIGKILLs) otherwise
#   serve_kill                      SIGKILL the master and its workers (cleanup)
#   serve_logs_clean                no sanitizer report in any log of the instance
#   serve_stat KEY                  a counter of the running instance, read from
#                                   its /metrics (names as in the final log line:
#                                   up_bytes, drop_idle, announces...); empty if
#                                   the endpoint does not answer
#   serve_metrics                   the instance's /metrics, on stdout
#   serve_wait_stat KEY MIN SECONDS waits until KEY >= MIN; status 1 on timeout
#   serve_wait_log REGEX SECONDS    waits for a line of $S_LOG matching REGEX
#   serve_workers                   the master's children (worker pids), one a line
#
#   tree_cmp SRC DST [--skip-empty] every regular file under SRC (or SRC itself)
#                                   is byte-identical in DST, and DST has no
#                                   other file; 0-byte files skipped on request
#   show_tail FILE [N]              the last N (default 30) lines of FILE, indented
#   keep_running DIR LOG CMD...     runs CMD (output appended to LOG) and starts it
#                                   again whenever it exits, until DIR/done or
#                                   DIR/stop exists (5 starts at most, one line
#                                   each in DIR/starts), then stops it: for
#                                   transmission-cli, which exits as soon as it
#                                   finds its torrent stopped, as the torrent is
#                                   for a moment around each verification
#
# Every instance started is killed by the EXIT trap if still running; the work
# directory is removed then, unless SERVE_KEEP is set (for a look at the logs).

PY=/usr/bin/python3
SERVE_E2E=$E2E_LIB # the older name of $E2E_LIB, where the Python helpers are
LT=$E2E_LIB/serve_lt.py
S_PL=${S_PL:-32K}
S_READY_TIMEOUT=${S_READY_TIMEOUT:-60}
serve_all_pids=()
serve_bg_pids=()

serve_cleanup() {
	local p
	for p in "${serve_bg_pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${serve_all_pids[@]}"; do
		pkill -KILL -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	if [ -n "${SERVE_KEEP:-}" ]; then
		echo "kept: $work"
	else
		rm -rf "$work"
	fi
}
trap serve_cleanup EXIT

# bg CMD...: runs CMD in the background, killed at exit; sets $BG_PID
bg() {
	"$@" &
	BG_PID=$!
	serve_bg_pids+=("$BG_PID")
}

serve_need() {
	if ! "$PY" -c 'import libtorrent' 2>/dev/null; then
		echo "skip: $PY cannot import libtorrent (python3-libtorrent not installed)"
		exit 77
	fi
	if ! "$RINGSEED" serve --help >/dev/null 2>&1; then
		echo "skip: $RINGSEED has no working 'serve --help' (ringseed serve not built yet)"
		exit 77
	fi
}

free_port() {
	"$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

wait_until() {
	local secs=$1 i n
	shift
	n=$((secs * 10))
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

pid_alive() {
	[ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) [ZX] ' "/proc/$1/stat" 2>/dev/null
}

show_tail() {
	tail -n "${2:-30}" "$1" | sed -e 's/^/    | /'
}

serve_init() {
	S_DIR=$1
	S_PORT=
	S_N=0
	S_LOG=
	S_PID=
	S_ADMIN=$(free_port)
	mkdir -p "$S_DIR/data" "$S_DIR/torrents" "$S_DIR/state"
	local user=
	[ "$(id -u)" -ne 0 ] || user='user = root'
	cat >"$S_DIR/ringseed.conf" <<EOF
[core]
workers = 2
log_level = info
$user

[admin]
listen = 127.0.0.1:$S_ADMIN

[net]
listen = 127.0.0.1:1
# the tests open many connections from 127.0.0.1 (crowds, benches, hostile
# peers); serve_per_ip sets its own cap
max_per_ip = 1000000

[serve]
super_seed = off

[paths]
data_dir = $S_DIR/data
torrents_dir = $S_DIR/torrents
state_dir = $S_DIR/state
EOF
}

serve_conf_add() {
	printf '%s\n' "$@" >>"$S_DIR/ringseed.conf"
}

serve_init_shared() {
	local data torrents
	data=$(sed -n 's/^data_dir *= *//p' "$S_DIR/ringseed.conf" | tail -n 1)
	torrents=$(sed -n 's/^torrents_dir *= *//p' "$S_DIR/ringseed.conf" | tail -n 1)
	serve_init "$1"
	sed -i -e "s|^data_dir = .*|data_dir = $data|" -e "s|^torrents_dir = .*|torrents_dir = $torrents|" \
		"$S_DIR/ringseed.conf"
}

declare -A serve_saved
serve_save() {
	local v
	for v in S_DIR S_PORT S_N S_LOG S_PID S_ADMIN S_WORKERS S_NAME; do
		serve_saved[$1.$v]=${!v-}
	done
}
serve_use() {
	local v
	for v in S_DIR S_PORT S_N S_LOG S_PID S_ADMIN S_WORKERS S_NAME; do
		printf -v "$v" '%s' "${serve_saved[$1.$v]-}"
	done
}

serve_torrent() {
	local src=$1 name=$2
	shift 2
	if ! "$RINGSEED" create "$src" -q -f "${S_FORMAT:-v1}" -l "$S_PL" \
		-o "$S_DIR/torrents/$name.torrent" "$@" \
		>"$S_DIR/create-$name.out" 2>&1; then
		fail "ringseed create $src failed"
		show "$S_DIR/create-$name.out"
		return 1
	fi
}

serve_add_file() {
	"$PY" "$LT" mkfile "$S_DIR/data/$1" "$2" "$1" && serve_torrent "$S_DIR/data/$1" "$1"
}

serve_add_tree() {
	"$PY" "$LT" mktree "$S_DIR/data/$1" "$1" && serve_torrent "$S_DIR/data/$1" "$1"
}

serve_hash() {
	"$PY" "$LT" hash "$S_DIR/torrents/$1.torrent"
}

serve_settle() {
	local data now
	data=$(sed -n 's/^data_dir *= *//p' "$S_DIR/ringseed.conf" | tail -n 1)
	now=$(date +%s)
	find -L "${data:-$S_DIR/data}" -type f -newermt "@$((now - 5))" \
		-exec touch -m -d "@$((now - 10))" {} +
}

serve_start() {
	[ -n "$S_PORT" ] || S_PORT=$(free_port)
	S_N=$((S_N + 1))
	S_LOG=$S_DIR/serve.$S_N.log
	: >"$S_LOG"
	# a background job of a script starts with SIGINT ignored: undo that, as
	# for ringseed run from a terminal
	env --default-signal=INT ${S_WRAP:-} "$RINGSEED" serve -c "$S_DIR/ringseed.conf" \
		--listen "127.0.0.1:$S_PORT" "$@" 2>"$S_LOG" &
	S_PID=$!
	serve_all_pids+=("$S_PID")
	local i
	for ((i = 0; i < S_READY_TIMEOUT * 10; i++)); do
		grep -q ' ready: ' "$S_LOG" && break
		if ! pid_alive "$S_PID"; then
			wait "$S_PID"
			fail "ringseed serve $* exited ($?) before 'ready:'"
			show_tail "$S_LOG"
			return 1
		fi
		sleep 0.1
	done
	if ! grep -q ' ready: ' "$S_LOG"; then
		fail "ringseed serve $*: no 'ready:' line within $S_READY_TIMEOUT s"
		show_tail "$S_LOG"
		return 1
	fi
	grep -q " listening on 127.0.0.1:$S_PORT\$" "$S_LOG" ||
		fail "ringseed serve: no 'listening on 127.0.0.1:$S_PORT' line before ready"
	S_WORKERS=$(serve_workers | tr '\n' ' ')
	echo "serve: pid $S_PID, workers $S_WORKERS, port $S_PORT: $(grep -m1 ' ready: ' "$S_LOG" | sed 's/.*: ready:/ready:/')"
	return 0
}

serve_workers() {
	pgrep -P "$S_PID"
}

serve_stop() {
	local secs=${1:-5} workers rc i p
	workers=$(serve_workers)
	kill -TERM "$S_PID" 2>/dev/null
	for ((i = 0; i < secs * 10; i++)); do
		pid_alive "$S_PID" || break
		sleep 0.1
	done
	if pid_alive "$S_PID"; then
		fail "ringseed serve (pid $S_PID) still running $secs s after SIGTERM"
		show_tail "$S_LOG" 15
		serve_kill
		return 1
	fi
	wait "$S_PID"
	rc=$?
	[ $rc -eq 0 ] || { fail "ringseed serve exited $rc after SIGTERM, want 0"; show_tail "$S_LOG" 15; }
	[ "$(tail -n 1 "$S_LOG" | sed 's/.*: //')" = bye ] ||
		{ fail "the last log line after SIGTERM is not 'bye'"; show_tail "$S_LOG" 5; }
	for p in $workers; do
		if pid_alive "$p"; then
			fail "worker $p still running after the master exited"
			kill -KILL "$p" 2>/dev/null
			rc=1
		fi
	done
	[ $rc -eq 0 ]
}

serve_kill() {
	pkill -KILL -P "$S_PID" 2>/dev/null
	kill -KILL "$S_PID" 2>/dev/null
	wait "$S_PID" 2>/dev/null
}

serve_logs_clean() {
	local f ok=0
	for f in "$S_DIR"/serve.*.log; do
		if ! sanitizer_clean "$f"; then
			fail "sanitizer report or crash in $f"
			grep -m 5 -E -A 12 'AddressSanitizer|LeakSanitizer|runtime error|Segmentation fault' "$f" |
				sed -e 's/^/    | /'
			ok=1
		fi
	done
	return $ok
}

serve_metrics() {
	curl -s -m 5 "http://127.0.0.1:$S_ADMIN/metrics"
}

# The metric (and label) behind each name of the final stats line.
serve_metric_of() {
	case $1 in
	peers) echo 'ringseed_peers ' ;;
	up_bytes) echo 'ringseed_upload_bytes_total ' ;;
	blocks) echo 'ringseed_blocks_sent_total ' ;;
	requests | rejects | handshakes) echo "ringseed_$1_total " ;;
	drop_*) echo "ringseed_peer_drops_total{reason=\"${1#drop_}\"}" ;;
	handoff_fallback) echo 'ringseed_handoff_fallbacks_total ' ;;
	meta_pieces | meta_rejects | meta_flood) echo "ringseed_metadata_${1#meta_}_total " ;;
	hashes | hash_rejects) echo "ringseed_v2_$1_total " ;;
	pex_sent | pex_received | pex_bad | pex_flood | pex_lost) echo "ringseed_$1_total " ;;
	worker_restarts) echo 'ringseed_worker_restarts_total ' ;;
	superseed_*) echo "ringseed_$1_total " ;;
	peers_fetch) echo 'ringseed_peers_fetch_total ' ;;
	peers_plain | peers_mse_plain | peers_rc4) echo "ringseed_peers_accepted_total{path=\"${1#peers_}\"}" ;;
	up_bytes_mse_plain | up_bytes_rc4) echo "ringseed_upload_bytes_by_path_total{path=\"${1#up_bytes_}\"}" ;;
	announces | announce_failures | scrapes | scrape_failures) echo "ringseed_$1_total " ;;
	stopped | stopped_lost) echo "ringseed_announce_$1_total " ;;
	tracker_announces) echo 'ringseed_builtin_tracker_events_total{kind="announces"}' ;;
	content_*) echo "ringseed_content_events_total{kind=\"${1#content_}\"}" ;;
	*) echo "ringseed_$1 " ;;
	esac
}

# Sums every series of the metric (per-worker ones too); integers only.
serve_stat() {
	local m
	m=$(serve_metric_of "$1")
	serve_metrics | awk -v m="$m" '
		/^#/ { next }
		{ name = $1; sub(/\{.*/, "", name) }
		(substr(m, length(m)) == " " && name " " == m) || index($1, m) == 1 { s += $2; n++ }
		END { if (n) printf "%.0f\n", s }'
}

serve_stat_ge() {
	local v
	v=$(serve_stat "$1")
	[ -n "$v" ] && [ "$v" -ge "$2" ]
}

serve_wait_stat() {
	wait_until "$3" serve_stat_ge "$1" "$2"
}

serve_wait_log() {
	wait_until "$2" grep -qE -- "$1" "$S_LOG"
}

tree_cmp() {
	local src=$1 dst=$2 skip=${3:-} f bad=0 n=0
	if [ -f "$src" ]; then
		cmp -- "$src" "$dst" >/dev/null 2>&1 || { echo "$dst differs from $src"; return 1; }
		return 0
	fi
	while IFS= read -r -d '' f; do
		if [ "$skip" = --skip-empty ] && [ ! -s "$src/$f" ]; then
			continue
		fi
		n=$((n + 1))
		if [ ! -f "$dst/$f" ]; then
			echo "missing: $dst/$f"
			bad=1
		elif ! cmp -- "$src/$f" "$dst/$f" >/dev/null 2>&1; then
			echo "differs: $dst/$f ($(cmp -- "$src/$f" "$dst/$f" 2>&1 | head -c 200))"
			bad=1
		fi
	done < <(cd "$src" && find -L . -type f -printf '%P\0')
	while IFS= read -r -d '' f; do
		[ -e "$src/$f" ] || { echo "extra file: $dst/$f"; bad=1; }
	done < <(cd "$dst" 2>/dev/null && find . -type f -printf '%P\0')
	[ $n -gt 0 ] || { echo "no file compared under $src"; bad=1; }
	return $bad
}

keep_running() {
	local dir=$1 log=$2 starts=0 pid=
	shift 2
	while [ ! -e "$dir/done" ] && [ ! -e "$dir/stop" ]; do
		if [ -z "$pid" ] || { ! kill -0 "$pid" 2>/dev/null && [ $starts -lt 5 ]; }; then
			starts=$((starts + 1))
			echo "start $starts" >>"$dir/starts"
			"$@" >>"$log" 2>&1 &
			pid=$!
		fi
		sleep 0.5
	done
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	return 0
}
