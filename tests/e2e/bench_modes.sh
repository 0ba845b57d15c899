#!/usr/bin/env bash
# timeout: 60
#
# ringseed-bench's load shapes against `ringseed serve`, each briefly, and
# whether the report's numbers say the load had that shape:
#   trickle   each request alone: the bench's requests per write is ~1, and
#             strace counts one sendto(2) per request after the first fill
#   burst     the queue refilled per read: several requests per write, no
#             sendto at all (every request goes through the ring's sends)
#   --rate    every connection within 10% of 500 KB/s, the sum of the caps
#   --mix     the capped class at its cap, the uncapped one far above it
#   --rtt     one connection at Q=4 and 40 ms: at most 4 x 16 KiB / 40 ms
#             (1.64 MB/s), and without --rtt far faster
#   -q 0      every connection handshaked and held, no payload, exit 0
# and that bad combinations of the new options exit 2 naming the option.
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
if ! "$RINGSEED" serve --help >/dev/null 2>&1; then
	echo "skip: $RINGSEED has no working 'serve --help'"
	exit 77
fi
cd "$work" || exit 1

S_PL=1M
serve_init "$work/s"
head -c $((16 * 1048576)) /dev/urandom >"$S_DIR/data/modes.bin"
serve_torrent "$S_DIR/data/modes.bin" modes || exit 1
T=$S_DIR/torrents/modes.torrent
serve_start || exit 1

# run NAME ARGS...: one bench run, JSON to NAME.json; exit status kept in NAME.rc
run() {
	local name=$1
	shift
	"$BENCH" -t "$T" -c "127.0.0.1:$S_PORT" --seeder-pid "$S_PID" --json --quiet "$@" \
		>"$work/$name.json" 2>"$work/$name.err"
	echo $? >"$work/$name.rc"
}

# check NAME PYTHON: the run exited 0 and PYTHON (given j, the JSON) prints
# nothing but "ok: ..." lines; anything else is a failure.
check() {
	local name=$1 code=$2 out
	if [ "$(cat "$work/$name.rc")" != 0 ]; then
		fail "$name: ringseed-bench exited $(cat "$work/$name.rc"), want 0"
		show "$work/$name.err"
		show "$work/$name.json"
		return
	fi
	out=$("$PY" -c "
import json, sys
j = json.load(open(sys.argv[1]))
bad = []
$code
for b in bad: print(b)
" "$work/$name.json" 2>&1)
	if [ -n "$out" ] && ! grep -qv '^ok' <<<"$out"; then
		echo "$name: $out"
	else
		fail "$name: $out"
	fi
}

# 1. Trickle, under strace: one sendto per request written alone.
if command -v strace >/dev/null 2>&1; then
	# LeakSanitizer cannot run under ptrace: no leak check for this one run (SAN=1)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -qq -c -e trace=sendto -o "$work/trickle.strace" \
		"$BENCH" -t "$T" -c "127.0.0.1:$S_PORT" -n 2 -b 8M --json --quiet \
		>"$work/trickle.json" 2>"$work/trickle.err"
	echo $? >"$work/trickle.rc"
	sendto=$(awk '$NF == "sendto" {print $4}' "$work/trickle.strace")
	echo "trickle: ${sendto:-0} sendto calls"
	check trickle "
c = j['counts']
n = int('${sendto:-0}')
if j['options']['requests'] != 'trickle': bad.append('the default is not trickle')
if c['requests'] != 1024: bad.append('%d requests, want 1024 (2 x 8 MiB of 16 KiB)' % c['requests'])
# the first fill (Q=32 per connection) goes out in one ring send; every later request alone
if not 1024 - 64 <= n <= 1024: bad.append('%d sendto calls for 1024 requests, want 960 to 1024' % n)
if c['requests_per_write'] > 1.1: bad.append('%.2f requests per write' % c['requests_per_write'])
print('ok: %d requests in %d writes, %d of them sendto' % (c['requests'], c['request_writes'], n))"
else
	echo "trickle: no strace; the bench's own counter only"
fi

# 2. Trickle and burst, the bench's counters: 1 request per write against several.
run trickle2 -n 8 -d 2 --warmup 1
run burst -n 8 -d 2 --warmup 1 --requests burst
check trickle2 "
c = j['counts']
if c['requests_per_write'] > 1.05: bad.append('trickle: %.2f requests per write, want 1' % c['requests_per_write'])
if c['blocks'] < 100: bad.append('trickle: only %d blocks' % c['blocks'])
print('ok: %.2f requests per write, %.0f MB/s' % (c['requests_per_write'], j['throughput']['MBps']))"
check burst "
c = j['counts']
if j['options']['requests'] != 'burst': bad.append('options.requests is not burst')
if c['requests_per_write'] < 1.5: bad.append('burst: %.2f requests per write, want several' % c['requests_per_write'])
print('ok: %.2f requests per write, %.0f MB/s' % (c['requests_per_write'], j['throughput']['MBps']))"

# 3. --rate 500K: every connection at the cap (within 10%), the aggregate their sum.
run rate -n 8 -d 3 --warmup 1 --rate 500K
check rate "
r, k = j['per_connection_MBps'], j['classes'][0]
if k['rate_Bps'] != 500000: bad.append('class rate %d, want 500000' % k['rate_Bps'])
if not (0.45 <= r['min'] and r['max'] <= 0.55): bad.append('per connection %.3f..%.3f MB/s, want 0.45..0.55' % (r['min'], r['max']))
if abs(j['throughput']['MBps'] - 4.0) > 0.4: bad.append('aggregate %.2f MB/s, want 4.0 +- 0.4' % j['throughput']['MBps'])
if j['counts']['token_waits'] == 0: bad.append('never waited for tokens')
print('ok: min %.3f median %.3f max %.3f MB/s, %.2f MB/s in all' % (r['min'], r['median'], r['max'], j['throughput']['MBps']))"

# 4. --mix: half capped at 500 KB/s, half uncapped.
run mix -n 8 -d 3 --warmup 1 --mix 50:500K,50:0
check mix "
a, z = j['classes']
if a['connections'] != 4 or z['connections'] != 4: bad.append('classes of %d and %d connections, want 4 and 4' % (a['connections'], z['connections']))
pa, pz = a['per_connection_MBps'], z['per_connection_MBps']
if not (0.45 <= pa['min'] and pa['max'] <= 0.55): bad.append('capped class %.3f..%.3f MB/s, want 0.45..0.55' % (pa['min'], pa['max']))
if pz['min'] < 5: bad.append('uncapped class min %.3f MB/s, want far above the cap' % pz['min'])
print('ok: capped median %.3f MB/s, uncapped median %.1f MB/s' % (pa['median'], pz['median']))"

# 5. --rtt: queue / rtt bounds one connection; without it the same queue runs far faster.
run rtt -n 1 -q 4 -d 2 --warmup 1 --rtt 40ms
run nortt -n 1 -q 4 -d 2 --warmup 1
check rtt "
r = j['throughput']['MBps']
bound = 4 * 16384 / 0.040 / 1e6
if j['options']['rtt_ms'] != 40: bad.append('options.rtt_ms %s, want 40' % j['options']['rtt_ms'])
if r > bound * 1.05: bad.append('%.3f MB/s above queue/rtt = %.3f' % (r, bound))
if r < bound * 0.6: bad.append('%.3f MB/s, far below queue/rtt = %.3f' % (r, bound))
print('ok: %.3f MB/s, queue/rtt %.3f' % (r, bound))"
check nortt "
r = j['throughput']['MBps']
if r < 3 * 4 * 16384 / 0.040 / 1e6: bad.append('without --rtt only %.3f MB/s: the rtt run proves nothing' % r)
print('ok: %.1f MB/s without --rtt' % r)"

# 6. -q 0: handshaked, interested, held, nothing downloaded; exit 0.
run idle -n 8 -q 0 -d 2 --warmup 1
check idle "
c = j['connections']
if c['handshaked'] != 8 or c['held'] != 8: bad.append('handshaked %d held %d, want 8 and 8' % (c['handshaked'], c['held']))
if j['throughput']['bytes'] != 0 or j['counts']['requests'] != 0: bad.append('an idle run downloaded %d bytes' % j['throughput']['bytes'])
if j['options']['requests'] != 'idle': bad.append('options.requests is %s, want idle' % j['options']['requests'])
print('ok: 8 held, 0 bytes')"

# 7. Bad combinations: exit 2, naming the option.
bad_opt() {
	local want=$1
	shift
	"$BENCH" "$@" >"$work/bad.out" 2>&1
	local rc=$?
	if [ $rc -ne 2 ] || ! grep -q -- "$want" "$work/bad.out"; then
		fail "ringseed-bench $*: exit $rc, want 2 and a line naming $want"
		show "$work/bad.out"
	fi
}
bad_opt --mix -t "$T" -c "127.0.0.1:$S_PORT" --mix 50:500K,40:0
bad_opt --mix -t "$T" -c "127.0.0.1:$S_PORT" --mix 50:fast,50:0
bad_opt --rate -t "$T" -c "127.0.0.1:$S_PORT" --rate -5
bad_opt --rtt -t "$T" -c "127.0.0.1:$S_PORT" --rtt 40 --rtt 5min
bad_opt --requests -t "$T" -c "127.0.0.1:$S_PORT" --requests drip
bad_opt '-q 0' -t "$T" -c "127.0.0.1:$S_PORT" -q 0 -b 1M
bad_opt --rtt --http "127.0.0.1:$S_PORT/x" --rtt 40ms

serve_stop || true
serve_logs_clean || true
sanitizer_clean "$work"/*.err || fail "sanitizer report in ringseed-bench's output"
[ "$fails" -eq 0 ]
