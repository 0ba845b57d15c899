#!/usr/bin/env bash
# Runs every ringseed test, each under its own timeout, and ends with the line
# "N passed, M failed, K skipped". Exit status is non-zero if any test failed.
#
# Tests and their conventions (exit 0 pass, 77 skip, anything else fail):
#   $UNIT_DIR/test_*        C unit tests, 60 s each
#   $FUZZ_DIR/fuzz_*        libFuzzer smoke runs, FUZZ_SECONDS each (plus margin),
#                           seeded from tests/fuzz/corpus/<name>/
#   tests/e2e/*.sh          end-to-end scripts; a line "# timeout: N" sets the limit
#                           (every file there is a case; what they share is in
#                           tests/lib/); a line "# san: skip - REASON" leaves the
#                           script out when SAN=1 (a SKIP line gives REASON): only
#                           for a test whose one value is interop with another
#                           program, on C paths other SAN-run tests drive too
# FUZZ_SECONDS=0 leaves the fuzz targets out (one SKIP line): the SAN pass of CI,
# since build/fuzz holds the same ASan+UBSan binaries for both passes.
# A test whose log has a line with " alert: " fails even if it exited 0.
# Each test's output goes to $LOG_DIR/NAME.log, replaced when that test runs
# again; logs of tests this run leaves out stay, so two runs with different
# filters in one tree keep each other's logs.
#
# Arguments, if any, are name filters (substring match) for running a subset.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${UNIT_DIR:=$top/build/rel/tests}"
: "${FUZZ_DIR:=$top/build/fuzz}"
: "${FUZZ_SECONDS:=30}"
: "${SAN:=0}"
: "${LOG_DIR:=$top/build/test-logs}"
export RINGSEED TOP="$top" FUZZ_SECONDS

mkdir -p "$LOG_DIR"
passed=0 failed=0 skipped=0
failures=()

wanted() {
	[ $# -eq 1 ] && return 0
	local name=$1 f
	shift
	for f in "$@"; do
		case "$name" in *"$f"*) return 0 ;; esac
	done
	return 1
}

# exec_test NAME TIMEOUT CMD...: run one test with its output in
# $LOG_DIR/NAME.log; writes "RC SECONDS" to $LOG_DIR/NAME.rc
exec_test() {
	local name=$1 limit=$2
	shift 2
	local log="$LOG_DIR/$name.log" start end rc
	mkdir -p "$(dirname "$log")"
	rm -f "$log"
	start=$(date +%s.%N)
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	end=$(date +%s.%N)
	echo "$rc $(printf '%.1f' "$(echo "$end - $start" | bc)")" >"$LOG_DIR/$name.rc"
}

# report NAME: count and print the result exec_test left for NAME
report() {
	local name=$1 log="$LOG_DIR/$1.log" rc secs limit=$2
	read -r rc secs <"$LOG_DIR/$name.rc"
	rm -f "$LOG_DIR/$name.rc"
	if [ $rc -eq 0 ] && grep -q ' alert: ' "$log"; then
		rc=1
		echo "(alert-level line in log)" >>"$log"
	fi
	case $rc in
	0)
		passed=$((passed + 1))
		printf 'PASS  %-40s %6ss\n' "$name" "$secs"
		;;
	77)
		skipped=$((skipped + 1))
		printf 'SKIP  %-40s %s\n' "$name" "$(grep -m1 -i 'skip' "$log" || tail -n 1 "$log")"
		;;
	*)
		failed=$((failed + 1))
		failures+=("$name")
		[ $rc -eq 124 ] || [ $rc -eq 137 ] && rc="$rc (timeout after ${limit}s)"
		printf 'FAIL  %-40s %6ss  exit %s\n' "$name" "$secs" "$rc"
		sed 's/^/      | /' "$log" | tail -n 40
		;;
	esac
}

# run NAME TIMEOUT CMD...: one test, then its result
run() {
	exec_test "$@"
	report "$1" "$2"
}

# Unit tests and fuzz smoke runs are single-threaded and share nothing (no
# ports, no files outside their own scratch), so JOBS of them (default: one
# per CPU) run at once; results are printed in order as each batch ends.
# End-to-end tests stay one at a time: they load the machine and time things.
: "${JOBS:=$(nproc)}"
batch_names=() batch_limits=()
# run_parallel NAME TIMEOUT CMD...: start one test, waiting for the batch when full
run_parallel() {
	exec_test "$@" &
	batch_names+=("$1")
	batch_limits+=("$2")
	[ ${#batch_names[@]} -ge "$JOBS" ] && batch_end
	return 0
}
batch_end() {
	local i
	wait
	for i in "${!batch_names[@]}"; do
		report "${batch_names[$i]}" "${batch_limits[$i]}"
	done
	batch_names=() batch_limits=()
}

for t in "$UNIT_DIR"/test_*; do
	[ -x "$t" ] || continue
	# A binary left from a test whose source is gone is not a test any more.
	[ -f "$TOP/tests/unit/$(basename "$t").c" ] || continue
	name=unit/$(basename "$t")
	wanted "$name" "$@" || continue
	run_parallel "$name" 60 "$t"
done
batch_end

works=() fuzz_off=0
for f in "$FUZZ_DIR"/fuzz_*; do
	[ -x "$f" ] || continue
	base=$(basename "$f")
	name=fuzz/$base
	wanted "$name" "$@" || continue
	[ "$FUZZ_SECONDS" -gt 0 ] || { fuzz_off=1; continue; }
	seeds="$top/tests/fuzz/corpus/${base#fuzz_}"
	work=$(mktemp -d)
	rm -f "$LOG_DIR/$base-"* # this target's crash artifacts from an earlier run
	# New inputs go to a scratch directory, never into the tree's corpus.
	# libFuzzer exits 77 on a crash by default, which would read as a skip.
	run_parallel "$name" $((FUZZ_SECONDS + 60)) "$f" -max_total_time="$FUZZ_SECONDS" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -error_exitcode=1 \
		-artifact_prefix="$LOG_DIR/$base-" "$work" "$seeds"
	works+=("$work")
done
batch_end
[ ${#works[@]} -gt 0 ] && rm -rf "${works[@]}"
if [ $fuzz_off -eq 1 ]; then
	skipped=$((skipped + 1))
	printf 'SKIP  %-40s %s\n' "fuzz/*" "FUZZ_SECONDS=0 (the same binaries ran in the plain pass)"
elif [ -z "$(ls "$FUZZ_DIR"/fuzz_* 2>/dev/null)" ] && [ -n "$(ls "$top"/tests/fuzz/fuzz_*.c 2>/dev/null)" ] &&
	wanted fuzz "$@"; then
	skipped=$((skipped + 1))
	printf 'SKIP  %-40s %s\n' "fuzz/*" "fuzz targets not built (clang missing: run 'make deps')"
fi

for s in "$top"/tests/e2e/*.sh; do
	[ -f "$s" ] || continue
	name=e2e/$(basename "$s" .sh)
	wanted "$name" "$@" || continue
	limit=$(sed -n 's/^# timeout: *\([0-9][0-9]*\).*/\1/p' "$s" | head -n 1)
	why=$(sed -n 's/^# san: *skip *-* *//p' "$s" | head -n 1)
	if [ "$SAN" = 1 ] && grep -q '^# san: *skip' "$s"; then
		skipped=$((skipped + 1))
		printf 'SKIP  %-40s %s\n' "$name" "under SAN: ${why:-no reason given}"
		continue
	fi
	run "$name" "${limit:-120}" bash "$s"
done

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]} (logs in $LOG_DIR)"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
