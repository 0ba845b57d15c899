#!/usr/bin/env bash
# timeout: 90
# ringseed listens on IPv6 as well as IPv4: a python3-libtorrent leecher on
# ::1 downloads byte-exact through the [::1] listener while the IPv4 one
# is also open.
set -u
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
if ! /usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	echo "skip: no IPv6 loopback (::1) on this machine"
	exit 77
fi

serve_init "$work/s"
serve_add_file v6.bin 3000001 || exit 1
serve_settle
S_PORT=$(free_port)
serve_start --listen "[::1]:$S_PORT" || exit 1
grep -q "listening on \[::1\]:$S_PORT" "$S_LOG" || fail "no 'listening on [::1]:$S_PORT' line"

mkdir -p "$work/dl"
if ! /usr/bin/python3 "$E2E_LIB/serve_lt.py" leech --peer "[::1]:$S_PORT" --bind ::1 \
	--save "$work/dl" --timeout 60 "$S_DIR/torrents/v6.bin.torrent" >"$work/leech.out" 2>&1; then
	fail "the IPv6 leecher did not finish"
	show "$work/leech.out"
fi
cmp -s "$work/dl/v6.bin" "$S_DIR/data/v6.bin" || fail "v6.bin differs after the IPv6 download"
serve_stop || fail "serve did not stop cleanly"
serve_logs_clean || fail "sanitizer report in the logs"
[ "$fails" -eq 0 ]
