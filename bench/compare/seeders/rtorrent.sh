# rtorrent: one rc file (seeders/rtorrent.rc.in), daemon mode, no DHT/PEX,
# upload slots and peer limits far above 2048, 4 MiB send buffers.
# rtorrent refuses a torrent without a tracker ("Could not find any
# trackers"), so it loads a copy of the .torrent with a dead announce URL
# (127.0.0.1:9, refused at once); the info dict, hence the info-hash, is the
# same.

rtorrent_version() { rtorrent -h 2>&1 | head -1 | sed 's/.*version /rtorrent /; s/\.$//'; }

# The encryption setting: plaintext and MSE both accepted; the rtorrent-rc4
# instance requires MSE with RC4 (plain handshakes and MSE offering only
# plaintext are refused: checked with ringseed-bench --mse rc4 / plain / none).
RT_ENC_ALLOW="allow_incoming,try_outgoing,enable_retry"
RT_ENC_RC4="allow_incoming,require,require_RC4"

# rtorrent_start WORK PORT [rc4]
rtorrent_start() {
	local work=$1 port=$2 enc=$RT_ENC_ALLOW probe=()
	[ "${3:-}" = rc4 ] && enc=$RT_ENC_RC4 && probe=(--mse rc4)
	mkdir -p "$work/session"
	RT_WORK=$work RT_PORT=$port RT_DATA=$DATA_DIR RT_TOR=$RT_TORRENT RT_ENC=$enc \
		SUBST_VARS="RT_WORK RT_PORT RT_DATA RT_TOR RT_ENC" subst "$HERE/seeders/rtorrent.rc.in" "$work/rtorrent.rc"
	# -n: no ~/.rtorrent.rc; the rc file is imported instead.
	launch "$work" rtorrent -n -o "import=$work/rtorrent.rc"
	local pid=$LAST_PID
	wait_listen "$port" 30 "$pid" || return 1
	# It hash-checks the 1 GiB on load (about 3 s); the probe waits for it.
	probe_bt "$port" 120 "$pid" "${probe[@]}"
}
