# ringseed: `ringseed serve`, 2 workers (one per core), one send strategy.
# Announcing is off (the torrent has no tracker anyway); everything else is
# the default: no unchoke limit, reqq 500, 20000 peers per worker.

ringseed_version() { "$RINGSEED" --version 2>&1 | head -1; }

# ringseed_strategies: copy and splice, and send_zc when this build accepts it
# (ringseed check-config says whether the value is known).
ringseed_strategies() {
	local s f
	for s in copy splice send_zc; do
		f=$(mktemp)
		printf '[serve]\nsend_strategy = %s\n' "$s" > "$f"
		if "$RINGSEED" check-config "$f" > /dev/null 2>&1; then
			printf '%s ' "$s"
		fi
		rm -f "$f"
	done
	echo
}

# ringseed_start WORK PORT STRATEGY [TORRENT...]: the bench's v1 .torrent,
# or the ones given (the ringseed-v2 instance: the same data as a v2 and a
# hybrid torrent); the probe downloads through the first.
ringseed_start() {
	local work=$1 port=$2 strategy=$3 t
	shift 3
	[ $# -gt 0 ] || set -- "$TORRENT"
	mkdir -p "$work/state" "$work/torrents"
	for t in "$@"; do ln -sf "$t" "$work/torrents/"; done
	# net.max_per_ip=0: the load's connections share 127.0.0.1, and the
	# other seeders compared have no such cap; super-seeding off: the load's
	# peers never tell each other anything (bench/swarm.sh measures it)
	launch "$work" "$RINGSEED" serve --listen "127.0.0.1:$port" \
		--torrents "$work/torrents" --data "$DATA_DIR" --state "$work/state" \
		-w "$WORKERS" -o "serve.send_strategy=$strategy" -o announce.enable=no \
		-o net.max_per_ip=0 -o serve.super_seed=off -o admin.listen= -u "$(id -un)" --log-level notice
	local pid=$LAST_PID
	wait_listen "$port" 60 "$pid" || return 1
	probe_bt "$port" 60 "$pid" -t "$1"
}
