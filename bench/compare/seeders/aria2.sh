# aria2c: seeds the file in --dir without checking it (--check-integrity
# false, --bt-seed-unverified), forever (--seed-ratio 0.0, no --seed-time),
# no peer or upload limits, no DHT/LPD/PEX, plaintext allowed, bound to
# 127.0.0.1 (--interface; its IPv6 listener then fails to bind, harmlessly).
# Not --bt-detach-seed-only: that stops it listening.

aria2_version() { aria2c --version 2>/dev/null | head -1 | sed 's/ version / /'; }

ARIA2_OPTS=(
	--seed-ratio=0.0 --bt-seed-unverified=true --check-integrity=false
	--bt-max-peers=0 --max-overall-upload-limit=0 --max-upload-limit=0
	--bt-require-crypto=false --rlimit-nofile=20000
	--enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false
	--file-allocation=none --allow-overwrite=false --auto-file-renaming=false
	--bt-stop-timeout=0 --enable-rpc=false --summary-interval=0 --console-log-level=warn
	--interface=127.0.0.1
)

# aria2_start WORK PORT
aria2_start() {
	local work=$1 port=$2
	launch "$work" aria2c --dir="$DATA_DIR" --listen-port="$port" "${ARIA2_OPTS[@]}" "$TORRENT"
	local pid=$LAST_PID
	wait_listen "$port" 30 "$pid" || return 1
	probe_bt "$port" 60 "$pid"
}
