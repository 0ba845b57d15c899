# python3-libtorrent: bench/compare/lt_seed.py under Debian's /usr/bin/python3
# (the package installs for it only). Settings: see lt_seed.py; the exact
# non-default values are printed into the instance's log at start.

libtorrent_version() {
	echo "python3-libtorrent $("$PY" -c 'import libtorrent as lt; print(lt.__version__)' 2>/dev/null)"
}

# libtorrent_start WORK PORT [rc4]: with rc4 (the libtorrent-rc4 instance)
# MSE with RC4 is required (in_enc_policy forced, allowed_enc_level rc4).
libtorrent_start() {
	local work=$1 port=$2 extra=() probe=()
	[ "${3:-}" = rc4 ] && extra=(--rc4) && probe=(--mse rc4)
	rm -f "$work/ready"
	launch "$work" "$PY" "$HERE/lt_seed.py" --torrent "$TORRENT" --save-path "$DATA_DIR" \
		--port "$port" --ready-file "$work/ready" --print-settings "${extra[@]}"
	local pid=$LAST_PID i
	for i in $(seq 300); do
		[ -s "$work/ready" ] && break
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.2
	done
	[ -s "$work/ready" ] || return 1
	probe_bt "$port" 60 "$pid" "${probe[@]}"
}
