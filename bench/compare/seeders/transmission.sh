# transmission-daemon: -f -g CONFIG_DIR with seeders/transmission.json.in as
# settings.json: peer and upload-slot limits 5000, no speed limits, no
# queues, no DHT/LPD/PEX/uTP, plaintext preferred, RPC on 127.0.0.1 without
# auth. The peer listener is on 127.0.0.1 and, since 3.00 always opens an
# IPv6 one too, on ::1. The torrent is added with transmission-remote with
# the download dir at the data; Transmission verifies it, and is ready when
# it is 100% and seeding.

transmission_version() { transmission-daemon --version 2>&1 | head -1; }

# transmission_start WORK PORT (RPC on PORT+1)
transmission_start() {
	local work=$1 port=$2 rpc=$(($2 + 1))
	mkdir -p "$work/config"
	TR_PORT=$port TR_RPC=$rpc TR_DATA=$DATA_DIR SUBST_VARS="TR_PORT TR_RPC TR_DATA" \
		subst "$HERE/seeders/transmission.json.in" "$work/settings.json"
	# (Transmission rewrites its copy with every default on exit.)
	cp "$work/settings.json" "$work/config/settings.json"
	port_free "$rpc" || { log "transmission: RPC port $rpc is taken"; return 1; }
	launch "$work" transmission-daemon -f -g "$work/config" --log-error
	local pid=$LAST_PID i s=
	wait_listen "$rpc" 30 "$pid" || return 1
	# (on a restart it is there already, and this only says so)
	timeout 20 transmission-remote "127.0.0.1:$rpc" -a "$TORRENT" -w "$DATA_DIR" >> "$work/log" 2>&1
	for i in $(seq 300); do
		s=$(timeout 10 transmission-remote "127.0.0.1:$rpc" -t all -i 2>&1)
		if grep -q 'Percent Done: 100%' <<< "$s" && grep -qE 'State: (Seeding|Idle)' <<< "$s"; then
			break
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.2
	done
	grep -q 'Percent Done: 100%' <<< "$s" || { log "transmission: not seeding: $(grep -E 'State|Percent' <<< "$s" | tr '\n' ' ')"; return 1; }
	# New peers are unchoked at the next 10 s rechoke: the probe may wait that long.
	probe_bt "$port" 60 "$pid"
}
