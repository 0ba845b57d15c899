#!/usr/bin/env bash
# timeout: 60
#
# The make bench rows of issues 10, 11 and 13, at small scale, against
# `ringseed serve`:
#   --info-hash   a v2-only torrent and a hybrid asked for by its truncated v2
#                 info-hash are served (the JSON names that hash); a v1
#                 torrent with --info-hash v2 and --verify of a v2 one exit 2
#   --churn       MSE (RC4) openings that close at the seeder's handshake:
#                 more handshakes than connections, none failed, and a rate
#                 per CPU-second of the master (--master-pid)
#   --ramp        the window opens only after every connection handshaked
#                 (and 0.5 s more); with a limit too short, the JSON says the
#                 ramp was cut
#   --split       throughput before and after the split, both above zero
#   hashspeed.sh  create and verify v1, v2 and hybrid of a small file, each
#                 against openssl's rate
#   run.sh        BENCH_DRY=1: every load planned, estimated under 30 minutes
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
head -c $((8 * 1048576)) /dev/urandom >"$S_DIR/data/ph.bin"
serve_torrent "$S_DIR/data/ph.bin" ph1 || exit 1
S_FORMAT=v2 serve_torrent "$S_DIR/data/ph.bin" ph2 || exit 1
S_FORMAT=hybrid serve_torrent "$S_DIR/data/ph.bin" phh || exit 1
serve_start || exit 1
TD=$S_DIR/torrents

# run NAME ARGS...: one bench run, JSON to NAME.json, exit status to NAME.rc
run() {
	local name=$1
	shift
	"$BENCH" -c "127.0.0.1:$S_PORT" --seeder-pid "$S_PID" --json --quiet "$@" \
		>"$work/$name.json" 2>"$work/$name.err"
	echo $? >"$work/$name.rc"
}

# check NAME RC PYTHON: the run exited RC and PYTHON (given j, the JSON)
# appends nothing to bad.
check() {
	local name=$1 want=$2 code=$3 out
	if [ "$(cat "$work/$name.rc")" != "$want" ]; then
		fail "$name: ringseed-bench exited $(cat "$work/$name.rc"), want $want"
		show "$work/$name.err"
		return
	fi
	out=$("$PY" -c "
import json, sys
j = json.load(open(sys.argv[1]))
bad = []
$code
for b in bad: print(b)
" "$work/$name.json" 2>&1)
	if [ -z "$out" ]; then
		echo "ok: $name"
	else
		fail "$name: $out"
		show "$work/$name.err"
	fi
}

v2hash() { "$RINGSEED" info "$1" | awk '/^info-hash v2:/ { print substr($3, 1, 40) }'; }

# 1. v2-only and hybrid through its v2 info-hash; v1 through a hybrid's v1 one
run v2 -t "$TD/ph2.torrent" -n 4 -d 0.5 --warmup 0.3
check v2 0 "
if j['torrent']['info_hash'] != '$(v2hash "$TD/ph2.torrent")': bad.append('info_hash %s' % j['torrent']['info_hash'])
if not j['phases']['info_hash_v2']: bad.append('not asked by the v2 hash')
if not j['throughput']['MBps'] > 0: bad.append('no payload')"
run hyv2 -t "$TD/phh.torrent" --info-hash v2 -n 4 -d 0.5 --warmup 0.3
check hyv2 0 "
if j['torrent']['info_hash'] != '$(v2hash "$TD/phh.torrent")': bad.append('info_hash %s' % j['torrent']['info_hash'])
if not j['throughput']['MBps'] > 0: bad.append('no payload')"
run hyv1 -t "$TD/phh.torrent" -n 4 -d 0.5 --warmup 0.3
check hyv1 0 "
if j['phases']['info_hash_v2']: bad.append('asked by the v2 hash without --info-hash v2')"
for bad in "v1v2|-t $TD/ph1.torrent --info-hash v2" "v2verify|-t $TD/ph2.torrent --verify -b 1M" \
	"splitlate|-t $TD/ph1.torrent -d 1 --split 2" "churnbudget|-t $TD/ph1.torrent --churn -b 1M"; do
	# shellcheck disable=SC2086
	run "${bad%%|*}" ${bad#*|} -n 1
	[ "$(cat "$work/${bad%%|*}.rc")" = 2 ] && echo "ok: ${bad%%|*} exits 2: $(tail -1 "$work/${bad%%|*}.err")" ||
		{ fail "${bad%%|*}: exit $(cat "$work/${bad%%|*}.rc"), want 2"; show "$work/${bad%%|*}.err"; }
done

# 2. MSE openings as fast as the seeder completes them
run churn -t "$TD/ph1.torrent" --churn --mse rc4 -n 16 -d 1 --warmup 0.3 --master-pid "$S_PID" \
	--src 127.3.0.2-127.3.255.254
check churn 0 "
c, m = j['phases']['churn'], j['phases']['master']
if not c['handshakes'] > 16: bad.append('%d handshakes in the window, want more than 16' % c['handshakes'])
if j['connections']['failed']: bad.append('%d failed' % j['connections']['failed'])
if not m or not m['handshakes_per_cpu_s'] > 0: bad.append('no rate per master CPU-second: %r' % m)"

# 3. the ramp: 32 connections, 4 opening at a time, no warm-up
run ramp -t "$TD/ph1.torrent" -n 32 --max-opening 4 --warmup 0 --ramp 20 -d 0.5
check ramp 0 "
r = j['phases']['ramp']
if not r['complete']: bad.append('ramp cut')
if not j['warmup_s'] >= r['all_in_s'] + 0.45: bad.append('window at %.3f s, all in at %.3f s' % (j['warmup_s'], r['all_in_s']))"
run rampcut -t "$TD/ph1.torrent" -n 200 --max-opening 1 --warmup 0 --ramp 0.001 -d 0.3
check rampcut "$(cat "$work/rampcut.rc")" "
if j['phases']['ramp']['complete']: bad.append('200 one at a time all in within 1 ms?')"

# 4. --split
run split -t "$TD/ph1.torrent" -n 8 -d 1 --warmup 0.3 --split 0.5
check split 0 "
s = j['phases']['split']
if not (s['before_MBps'] > 0 and s['after_MBps'] > 0): bad.append('split %r' % s)
if abs(s['before_s'] - 0.5) > 0.1: bad.append('split after %.3f s, want 0.5' % s['before_s'])"

# 5. hashspeed.sh on a small file
if RINGSEED=$RINGSEED "$TOP/bench/hashspeed.sh" --size 8 --json >"$work/hs.json" 2>"$work/hs.err"; then
	echo 0 >"$work/hs.rc"
else
	echo $? >"$work/hs.rc"
fi
check hs 0 "
if [f['format'] for f in j['formats']] != ['hybrid', 'v2', 'v1']: bad.append('formats %r' % j['formats'])
for f in j['formats']:
    if not (f['create_MBps'] > 0 and f['verify_MBps'] > 0 and f['create_ratio'] > 0 and f['verify_hashes']): bad.append('%r' % f)"

# 6. make bench's plan: every load, under 30 minutes by its own estimate
if [ -x "$TOP/bin/ringseed" ] && [ -x "$TOP/bin/ringseed-bench" ]; then
	BENCH_DRY=1 BENCH_RESULTS=$work/results "$TOP/bench/compare/run.sh" >"$work/dry.out" 2>&1
	est=$(sed -n 's/.*runs and the crowd, about \([0-9]*\) min \([0-9]*\) s.*/\1 \2/p' "$work/dry.out")
	if [ -z "$est" ]; then
		fail "run.sh BENCH_DRY=1 printed no estimate"
		show "$work/dry.out"
	elif [ $((${est% *} * 60 + ${est#* })) -gt 1800 ]; then
		fail "make bench is estimated at ${est% *} min ${est#* } s, over 30 minutes"
		show "$work/dry.out"
	else
		echo "ok: make bench estimated at ${est% *} min ${est#* } s: $(grep -o 'hashspeed.*' "$work/dry.out")"
	fi
	for l in rc4 mseopen v2 scale hashspeed counts; do
		grep -q "[:,] $l [0-9]* s" "$work/dry.out" || fail "run.sh BENCH_DRY=1 plans no $l"
	done
else
	echo "skip: run.sh's plan (bin/ringseed and bin/ringseed-bench are not built)"
fi

serve_stop || true
serve_logs_clean || true
sanitizer_clean "$work"/*.err || fail "sanitizer report in ringseed-bench's output"
[ "$fails" -eq 0 ]
