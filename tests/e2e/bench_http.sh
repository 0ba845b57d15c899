#!/usr/bin/env bash
# timeout: 150
#
# ringseed-bench --http against nginx (the sendfile anchor of the benchmark):
# nginx serves a 16 MiB + 12345-byte file (the last range is short) on a
# loopback port with sendfile on, and keepalive_requests low enough that it
# closes keep-alive connections during the runs. With 8 connections:
#   1. 16 KiB ranges, discard, 2 s: payload, every connection got a 206, no
#      failure, the closes counted as reconnects, nginx's CPU sampled
#   2. 1 MiB ranges, trunc, 2 s: the same
#   3. -b all, 16 KiB ranges: every connection gets exactly the file's size
#   4. -b 3M, 1 MiB ranges, sequential: exactly 3 MiB each
# each exits 0 and its JSON parses. A path nginx does not have must exit 1
# and name the 404; --verify with --http must be refused (exit 2).
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
BENCH=$(dirname "$RINGSEED")/ringseed-bench

if [ ! -x "$BENCH" ]; then
	echo "skip: $BENCH not built (make builds it beside ringseed)"
	exit 77
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
	echo "skip: nginx not installed (make deps installs nginx-light)"
	exit 77
fi

# nginx's workers drop to user nobody when started as root: let them reach the file.
N=$work/nginx
mkdir -p "$N/www" "$N/tmp"
chmod go+rx "$work" "$N" "$N/www"
SIZE=$((16 * 1048576 + 12345))
head -c "$SIZE" /dev/urandom >"$N/www/file.bin"
chmod go+r "$N/www/file.bin"
PORT=$(free_port)
cat >"$N/nginx.conf" <<EOF
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 50;
	default_type application/octet-stream;
	client_body_temp_path $N/tmp/body;
	proxy_temp_path $N/tmp/proxy;
	fastcgi_temp_path $N/tmp/fastcgi;
	uwsgi_temp_path $N/tmp/uwsgi;
	scgi_temp_path $N/tmp/scgi;
	server {
		listen 127.0.0.1:$PORT backlog=4096;
		root $N/www;
	}
}
EOF

"$NGINX" -p "$N/" -c "$N/nginx.conf" -e "$N/error.log" -g 'daemon off;' >"$N/stderr" 2>&1 &
NGX_PID=$!
serve_all_pids+=("$NGX_PID") # killed with its workers at exit if still there
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}
if ! wait_until 10 port_open; then
	fail "nginx did not listen on 127.0.0.1:$PORT"
	show "$N/stderr"
	show "$N/error.log"
	exit 1
fi
URL=127.0.0.1:$PORT/file.bin

# check NAME WANT_BYTES: the JSON of run NAME says ok, 8 connections all with a
# 206, none failed, payload > 0 (or exactly WANT_BYTES), nginx sampled.
check() {
	"$PY" - "$work/$1.json" "$2" "$SIZE" <<'EOF' >"$work/$1.check" 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
want, size = int(sys.argv[2]), int(sys.argv[3])
c, t = j["connections"], j["throughput"]
bad = []
if not j["ok"]: bad.append("ok is false: " + j["error"])
if c["handshaked"] != 8: bad.append("handshaked %d, want 8" % c["handshaked"])
if c["failed"] != 0: bad.append("failed %d: %s" % (c["failed"], c["failures"]))
if t["bytes"] <= 0: bad.append("no payload")
if want and t["bytes"] != want: bad.append("payload %d bytes, want %d" % (t["bytes"], want))
if want and c["done"] != 8: bad.append("done %d, want 8" % c["done"])
if j["http"] is None or j["http"]["size"] != size: bad.append("size %s, want %d" % (j["http"], size))
if j["torrent"] is not None: bad.append("a torrent in HTTP mode")
if j["seeder"] is None or j["seeder"]["processes"] < 2: bad.append("nginx's CPU/RSS not sampled with its worker")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print("ok: %.0f MB/s, %d responses, %d reconnects" %
      (t["MBps"], j["http"]["responses"], c["reconnects"]))
EOF
}

# run NAME WANT_BYTES ARGS...: one ringseed-bench --http run, exit 0 and check NAME
run() {
	local name=$1 want=$2 rc
	shift 2
	"$BENCH" --http "$URL" -n 8 --seeder-pid "$NGX_PID" --json --quiet "$@" \
		>"$work/$name.json" 2>"$work/$name.err"
	rc=$?
	[ $rc -eq 0 ] || { fail "$name: ringseed-bench --http $* exited $rc, want 0"; show "$work/$name.err"; }
	if check "$name" "$want"; then
		echo "$name: $(cat "$work/$name.check")"
	else
		fail "$name: the JSON says:"
		show "$work/$name.check"
		show "$work/$name.err"
	fi
}

run small 0 --range 16384 -d 2 --warmup 1
grep -q '"reconnects": [1-9]' "$work/small.json" ||
	fail "small: keepalive_requests 50 closed no connection, or the closes were not counted"
run large 0 --range 1048576 --recv trunc -d 2 --warmup 1
run all $((8 * SIZE)) --range 16384 -b all
run budget $((8 * 3 * 1048576)) --range 1048576 --order sequential -b 3M

# A path nginx does not have: exit 1, and the status named.
"$BENCH" --http "127.0.0.1:$PORT/missing.bin" -n 4 -d 1 --warmup 0 --quiet \
	>"$work/missing.out" 2>&1
rc=$?
[ $rc -eq 1 ] || { fail "a 404 path: ringseed-bench exited $rc, want 1"; show "$work/missing.out"; }
grep -q 'FAILED: GET /missing.bin: HTTP 404 Not Found, want 206 Partial Content' "$work/missing.out" ||
	{ fail "a 404 path: the status is not named"; show "$work/missing.out"; }

# --verify has no piece hashes to check over HTTP: a usage error.
"$BENCH" --http "$URL" --verify -d 1 >"$work/verify.out" 2>&1
rc=$?
[ $rc -eq 2 ] || { fail "--http --verify exited $rc, want 2"; show "$work/verify.out"; }
grep -q -- '--verify is not supported with --http' "$work/verify.out" ||
	{ fail "--http --verify: no clear error"; show "$work/verify.out"; }

kill -TERM "$NGX_PID" 2>/dev/null
wait_until 5 eval '! pid_alive "$NGX_PID"' || fail "nginx still running 5 s after SIGTERM"
grep -E '\[(emerg|alert|crit)\]' "$N/error.log" && fail "nginx logged an error (above)"
sanitizer_clean "$work"/*.err "$work"/*.out || fail "sanitizer report in ringseed-bench's output"
[ "$fails" -eq 0 ]
