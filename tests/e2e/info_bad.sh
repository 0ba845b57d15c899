#!/usr/bin/env bash
# timeout: 90
#
# `ringseed info` on malformed and odd .torrent files.
#
# tests/data/bad/*.torrent (listed in tests/data/bad/EXPECT, written by
# tests/data/make-bad.py): plain and --json, each must exit exactly 1 with
# nothing on stdout and exactly one line on stderr that starts with
# "ringseed info: FILE: " and contains the EXPECT substring; no sanitizer
# report anywhere. Also: a directory, a nonexistent path, /dev/null, a FIFO
# (must not block), a file over the size limit.
#
# tests/data/odd/*.torrent (odd/EXPECT): accepted, exit 0, the expected
# warning line (or a silent stderr), and `--json` output that parses and has
# the listed values.
#
# The committed corpus must be what make-bad.py writes now.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
PY=/usr/bin/python3
DATA=$TOP/tests/data

if [ ! -x "$PY" ]; then
	echo "skip: $PY is missing"
	exit 77
fi

. "$TOP/tests/lib/e2e.sh"

checked=0
IB_TAG= # what the files of expect_refusal's output end with
# expect_refusal PATH SUBSTRING [INFO-ARGS...]
expect_refusal() {
	local path=$1 want=$2 rc
	shift 2
	checked=$((checked + 1))
	local out=$work/out$IB_TAG err=$work/err$IB_TAG
	timeout "${TMO:-10}" "$RINGSEED" info "$@" "$path" >"$out" 2>"$err"
	rc=$?
	local what="ringseed info $* '$path'"
	if [ $rc -ne 1 ]; then
		fail "$what: exit status $rc, want 1$([ $rc -eq 124 ] && echo " (timed out after ${TMO:-10} s)")"
		show "$err"
		return
	fi
	if [ -s "$out" ]; then
		fail "$what: wrote to stdout"
		show "$out"
	fi
	if ! sanitizer_clean "$err" "$out"; then
		fail "$what: sanitizer report or crash"
		show "$err"
		return
	fi
	if ! one_line "$err"; then
		fail "$what: stderr is not exactly one line ($(wc -l <"$err") newlines, $(wc -c <"$err") bytes)"
		show "$err"
		return
	fi
	if ! grep -qF -- "ringseed info: $path: " "$err"; then
		fail "$what: error line does not start with 'ringseed info: $path: '"
		show "$err"
	fi
	if ! grep -qF -- "$want" "$err"; then
		fail "$what: error line lacks '$want'"
		show "$err"
	fi
}

# --- the committed corpus is what the generator writes -----------------------
if ! "$PY" "$DATA/make-bad.py" "$work/fresh" >/dev/null; then
	fail "tests/data/make-bad.py failed"
elif ! diff -r "$work/fresh/bad" "$DATA/bad" >"$work/diff" ||
	! diff -r "$work/fresh/odd" "$DATA/odd" >>"$work/diff"; then
	fail "tests/data/bad or tests/data/odd differ from what make-bad.py writes (rerun it)"
	show "$work/diff"
fi

# --- malformed files ----------------------------------------------------------
[ -s "$DATA/bad/EXPECT" ] || fail "tests/data/bad/EXPECT is missing"
# bad_cases TAG ARGS...: every case of EXPECT refused by `ringseed info ARGS`;
# its failures and checks go to $work/bad.TAG (plain and --json run at once,
# each its own ringseed per file: CPU only, nothing timed)
bad_cases() {
	local tag=$1 name want
	shift
	IB_TAG=.$tag fails=0 checked=0
	while IFS=$'\t' read -r name want; do
		[ -n "$name" ] && [ -f "$DATA/bad/$name" ] || continue
		expect_refusal "$DATA/bad/$name" "$want" "$@"
	done <"$DATA/bad/EXPECT"
	echo "$fails $checked" >"$work/bad.$tag"
}
bad_cases text &
bad_text=$!
bad_cases json --json &
bad_json=$!
nbad=0
while IFS=$'\t' read -r name want; do
	[ -n "$name" ] || continue
	nbad=$((nbad + 1))
	[ -f "$DATA/bad/$name" ] || fail "tests/data/bad/$name is listed in EXPECT but missing"
done <"$DATA/bad/EXPECT"
wait "$bad_text" "$bad_json"
for tag in text json; do
	if read -r f c <"$work/bad.$tag"; then
		fails=$((fails + f)) checked=$((checked + c))
	else
		fail "the $tag refusals did not finish"
	fi
done
[ $nbad -ge 50 ] || fail "only $nbad cases in tests/data/bad/EXPECT"
for f in "$DATA"/bad/*.torrent; do
	grep -q "^$(basename "$f")	" "$DATA/bad/EXPECT" || fail "$f is not listed in EXPECT"
done

# --- things that are not .torrent files at all ---------------------------------
mkdir "$work/dir.torrent"
expect_refusal "$work/dir.torrent" "not a regular file"
expect_refusal "$work/does-not-exist.torrent" "No such file or directory"
expect_refusal /dev/null "not a regular file"
# A FIFO must be refused, not waited on (open() of a FIFO blocks for a writer).
mkfifo "$work/fifo.torrent"
TMO=3 expect_refusal "$work/fifo.torrent" "not a regular file"
# Sparse, so it costs nothing: refused by its size before being read.
truncate -s $((129 << 20)) "$work/huge.torrent"
expect_refusal "$work/huge.torrent" "is larger than a .torrent may be"

# --- odd but acceptable files ---------------------------------------------------
[ -s "$DATA/odd/EXPECT" ] || fail "tests/data/odd/EXPECT is missing"
while IFS=$'\t' read -r name warning json; do
	[ -n "$name" ] || continue
	f=$DATA/odd/$name
	checked=$((checked + 1))
	for mode in text json; do
		args=()
		[ $mode = json ] && args=(--json)
		timeout 10 "$RINGSEED" info "${args[@]}" "$f" >"$work/out" 2>"$work/err"
		rc=$?
		what="ringseed info ${args[*]} '$f'"
		if [ $rc -ne 0 ]; then
			fail "$what: exit status $rc, want 0"
			show "$work/err"
			continue
		fi
		if ! sanitizer_clean "$work/err" "$work/out"; then
			fail "$what: sanitizer report or crash"
			show "$work/err"
			continue
		fi
		if [ "$warning" = - ]; then
			if [ -s "$work/err" ]; then
				fail "$what: unexpected stderr"
				show "$work/err"
			fi
		elif ! one_line "$work/err" || ! grep -qF -- "ringseed info: $f: warning: " "$work/err" ||
			! grep -qF -- "$warning" "$work/err"; then
			fail "$what: want one line 'ringseed info: $f: warning: ...$warning...'"
			show "$work/err"
		fi
		[ $mode = json ] || continue
		if ! "$PY" - "$work/out" "$json" >"$work/pyerr" 2>&1 <<'EOF'; then
import json, sys
raw = open(sys.argv[1], "rb").read()
doc = json.loads(raw.decode("utf-8"))   # strict UTF-8, then JSON
want = json.loads(sys.argv[2])
bad = ["%s: got %r, want %r" % (k, doc.get(k, "<missing>"), v)
       for k, v in sorted(want.items()) if doc.get(k, "<missing>") != v]
if bad:
    sys.exit("\n".join(bad))
EOF
			fail "$what: JSON output differs"
			show "$work/pyerr"
		fi
	done
done <"$DATA/odd/EXPECT"

echo "$checked files checked, $fails failures"
[ $fails -eq 0 ]
