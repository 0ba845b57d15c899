#!/usr/bin/env bash
# timeout: 150
# san: skip - interop only: every C line it reaches (gcov) is reached by serve_mse, serve_magnet, announce_families and test_conf, which run under SAN
#
# transmission-cli with encryption required (-er) downloads a single-file and
# a multi-file torrent from `ringseed serve` (net.encryption = allow), byte
# for byte. transmission-cli connects only to peers it learns from a tracker
# and drops loopback ones, so the test runs in a network namespace of its
# own (unshare -n) where 10.99.0.1 is an address of lo: ringseed listens
# there, and tests/e2e/serve_tracker.py hands that address out. Transmission
# offers RC4 only when it opens with MSE, so both peers must come in on the
# RC4 path (peers_rc4 >= 2, peers_mse_plain and peers_plain 0).
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
if [ -z "${SERVE_MSE_NETNS:-}" ]; then
	command -v transmission-cli >/dev/null ||
		{ echo "skip: transmission-cli not installed"; exit 77; }
	unshare -n true 2>/dev/null ||
		{ echo "skip: cannot make a network namespace (unshare -n needs CAP_SYS_ADMIN)"; exit 77; }
	exec unshare -n env SERVE_MSE_NETNS=1 "$0" "$@"
fi
ip link set lo up && ip addr add 10.99.0.1/32 dev lo || { echo "FAIL: no 10.99.0.1 on lo"; exit 1; }
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1

serve_init "$work/c"
S_PORT=$(free_port)
bg "$PY" "$SERVE_E2E/serve_tracker.py" --peer "10.99.0.1:$S_PORT" --port-file "$work/tracker.port" \
	--lifetime 140 >"$work/tracker.log" 2>&1
wait_until 10 test -s "$work/tracker.port" || { echo "FAIL: the tracker did not start"; exit 1; }
announce=http://127.0.0.1:$(cat "$work/tracker.port")/announce
"$PY" "$LT" mkfile "$S_DIR/data/single.bin" $((2 * 1048576 + 11)) 7 || exit 1
"$PY" "$LT" mktree "$S_DIR/data/multi" 8 || exit 1
serve_torrent "$S_DIR/data/single.bin" single.bin -a "$announce" || exit 1
serve_torrent "$S_DIR/data/multi" multi -a "$announce" || exit 1
serve_settle
serve_start --listen "10.99.0.1:$S_PORT" -o announce.enable=no -o serve.stats_interval=1 || exit 1

# run_tr LABEL DIR TORRENT NAME: transmission-cli -er downloads TORRENT into DIR/out
run_tr() {
	local label=$1 dir=$2 torrent=$3 name=$4 tp pid
	mkdir -p "$dir/cfg" "$dir/out"
	tp=$(free_port)
	cat >"$dir/cfg/settings.json" <<EOF
{
    "dht-enabled": false,
    "lpd-enabled": false,
    "pex-enabled": false,
    "utp-enabled": false,
    "port-forwarding-enabled": false,
    "encryption": 2,
    "peer-port": $tp,
    "speed-limit-down-enabled": false,
    "speed-limit-up-enabled": false,
    "download-dir": "$dir/out",
    "incomplete-dir-enabled": false,
    "start-added-torrents": true
}
EOF
	printf '#!/bin/sh\ntouch "%s/done"\n' "$dir" >"$dir/done.sh"
	chmod +x "$dir/done.sh"
	bg transmission-cli -g "$dir/cfg" -w "$dir/out" -p "$tp" -er -f "$dir/done.sh" "$torrent" \
		>"$dir/tr.out" 2>&1
	pid=$BG_PID
	wait_until 90 test -e "$dir/done"
	local done=$?
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ $done -ne 0 ]; then
		fail "$label: transmission-cli -er did not finish within 90 s"
		tr '\r' '\n' <"$dir/tr.out" | grep -v '^$' | tail -n 5 | sed 's/^/    | /'
		return 1
	fi
	echo "$label: complete"
	tree_cmp "$S_DIR/data/$name" "$dir/out/$name" --skip-empty || fail "$label: $name differs"
}

sub() {
	local f0=$fails
	"$@"
	[ "$fails" -eq "$f0" ]
}

sub run_tr "transmission -er single" "$work/t1" "$S_DIR/torrents/single.bin.torrent" single.bin &
p1=$!
sub run_tr "transmission -er multi" "$work/t2" "$S_DIR/torrents/multi.torrent" multi &
p2=$!
wait $p1 || fails=$((fails + 1))
wait $p2 || fails=$((fails + 1))
serve_wait_stat peers_rc4 2 5 || fail "peers_rc4=$(serve_stat peers_rc4), want at least 2"
serve_wait_stat up_bytes_rc4 1 5 || fail "up_bytes_rc4=$(serve_stat up_bytes_rc4)"
for k in peers_mse_plain peers_plain drop_protocol; do
	[ "$(serve_stat $k)" = 0 ] || fail "$k=$(serve_stat $k), want 0 (Transmission -er offers RC4 only)"
done
grep ' stats: ' "$S_LOG" | tail -n 1 | tr ' ' '\n' | grep -E '^(peers_|up_bytes_|drop_mse)' | tr '\n' ' '
echo
serve_stop || fail "unclean stop"
[ "$fails" -eq 0 ]
