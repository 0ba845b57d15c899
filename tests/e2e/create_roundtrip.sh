#!/usr/bin/env bash
# timeout: 110
#
# `ringseed create -f v1` round trip (v2 and hybrid: create_v2.sh): make .torrents from a tree (nested dirs, odd
# sizes, empty files, a hidden file, spaces and UTF-8 in names, a symlink to a
# file, a short last piece) and from single files, then check each with
# tests/lib/lt_check.py: our own bencode reading and hashlib, create's stdout
# line, `ringseed info --json`, libtorrent (metadata, and a session that must
# be seeding after checking the content, and miss exactly the corrupted piece
# after one byte is flipped) and transmission-show.
# Also: the directory policy errors (exit 1, one line naming the path, no
# output left behind) and bad option values (exit 2).
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
PY=/usr/bin/python3

if ! "$PY" -c 'import libtorrent' 2>/dev/null; then
	echo "skip: $PY cannot import libtorrent (python3-libtorrent not installed)"
	exit 77
fi
TRANSMISSION=--transmission
if ! command -v transmission-show >/dev/null; then
	echo "note: transmission-show not installed, its checks are left out"
	TRANSMISSION=
fi

. "$TOP/tests/lib/e2e.sh"
CHECK=$E2E_LIB/lt_check.py
cd "$work" || exit 1

T1=http://127.0.0.1:6881/announce
T2=http://127.0.0.1:6882/announce
T3=udp://127.0.0.1:6883
W1=http://127.0.0.1:8081/files/
W2=https://127.0.0.1:8443/mirror/

# mk NAME EXPECT_QUIET CREATE-ARGS...: runs create (output NAME.torrent) and
# info --json; returns non-zero (after reporting) if either failed.
mk() {
	local name=$1 quiet=$2 rc
	shift 2
	"$RINGSEED" create -f v1 "$@" -o "$name.torrent" >"$name.out" 2>"$name.err"
	rc=$?
	if [ $rc -ne 0 ] || ! sanitizer_clean "$name.err"; then
		fail "create $* -> exit $rc"
		show "$name.err"
		return 1
	fi
	if [ "$quiet" = quiet ]; then
		[ -s "$name.err" ] && { fail "create -q $*: stderr not empty"; show "$name.err"; }
	elif ! grep -qE '^hashed [0-9]+ bytes in [0-9.]+ s \([0-9.]+ CPU-s\): [0-9]+ MiB/s on [0-9]+ threads?$' "$name.err"; then
		fail "create $*: no 'hashed ... MiB/s' line on stderr"
		show "$name.err"
	fi
	"$RINGSEED" info --json "$name.torrent" >"$name.json" 2>"$name.jerr"
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$name.jerr" ]; then
		fail "info --json $name.torrent -> exit $rc"
		show "$name.jerr"
		return 1
	fi
	"$RINGSEED" info "$name.torrent" >"$name.txt" 2>"$name.terr"
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$name.terr" ]; then
		fail "info $name.torrent -> exit $rc"
		show "$name.terr"
		return 1
	fi
	ls -- *.tmp.* >/dev/null 2>&1 && fail "create $*: left a temporary file behind"
	# the info-hash comparisons below need one on create's line
	if ! [[ $(hash_of "$name") =~ ^[0-9a-f]{40}$ ]]; then
		fail "create $*: no ', info-hash HEX' at the end of stdout"
		show "$name.out"
		return 1
	fi
	return 0
}

# verify NAME LT_CHECK-ARGS...
verify() {
	local name=$1
	shift
	if ! "$PY" "$CHECK" check --torrent "$name.torrent" --stdout "$name.out" \
		--json "$name.json" "$@" >"$name.check" 2>&1; then
		fail "$name.torrent: lt_check.py found differences"
		show "$name.check"
	else
		cat "$name.check"
	fi
}

hash_of() {
	sed -n 's/.*, info-hash \([0-9a-f]\{40\}\)$/\1/p' "$1.out"
}

start=$(date +%s)
"$PY" "$CHECK" mktree "$work/content" || exit 1

# --- 1. the tree, with two tiers (one of two URLs), two web seeds, comment, source
if mk full verbose content -a "$T1,$T2" -a "$T3" -w "$W1" -w "$W2" \
	-c "a comment, with ünïcødé" --source "SITE-1"; then
	verify full --content content --tier "$T1,$T2" --tier "$T3" --web-seed "$W1" \
		--web-seed "$W2" --comment "a comment, with ünïcødé" --source "SITE-1" \
		--corrupt "a/b/16385.bin" $TRANSMISSION
fi

# --- 2. private, quiet, two threads, one tracker (announce only, no announce-list)
if mk private quiet content -p -q -t 2 -a "$T1"; then
	verify private --content content --private --tier "$T1" \
		--corrupt "ünïcødé/日本語 ファイル.txt" $TRANSMISSION
	[ "$(hash_of private)" != "$(hash_of full)" ] ||
		fail "private and public torrents of the same tree have one info-hash"
fi

# --- 3. explicit piece length 32K, long options; no trackers, no web seeds
if mk p32k quiet content --piece-length 32K --quiet --private --comment c3; then
	verify p32k --content content --piece-length 32768 --private --comment c3 \
		--corrupt "a/b/c/deep-1000003.bin" $TRANSMISSION
fi
# The same tree and options give the same info-hash (the date is outside info).
if mk p32k-again quiet content --piece-length 32768 --quiet --private --comment other; then
	[ "$(hash_of p32k)" = "$(hash_of p32k-again)" ] ||
		fail "two creates of one tree with one info part differ: $(hash_of p32k) $(hash_of p32k-again)"
fi
# source changes the info-hash
if mk src2 quiet content --piece-length 32K -q -p -s "SITE-2"; then
	[ "$(hash_of src2)" != "$(hash_of p32k)" ] || fail "--source did not change the info-hash"
fi

# --- 4. a single file, given by a relative path with a directory part
if mk single verbose "content/a/b/c/deep-1000003.bin" -a "$T3" -w "$W1" -c "single"; then
	verify single --content "content/a/b/c/deep-1000003.bin" --tier "$T3" --web-seed "$W1" \
		--comment single --corrupt deep-1000003.bin $TRANSMISSION
fi
# a one-byte file: one piece of 16 KiB
if mk tiny quiet content/a/b/c/one -q; then
	verify tiny --content content/a/b/c/one --allow-full-last $TRANSMISSION
fi
# a file with a space and UTF-8 in its name, explicit 16K
if mk utf8 quiet "content/ünïcødé/日本語 ファイル.txt" -q -l 16k; then
	verify utf8 --content "content/ünïcødé/日本語 ファイル.txt" --piece-length 16384 \
		--corrupt x $TRANSMISSION
fi

# --- 5. the automatic piece length at its first step (sparse files: cheap)
mkdir sparse
truncate -s $((2500 * 16384)) sparse/exactly-2500x16K
truncate -s $((2500 * 16384 + 1)) sparse/one-more-byte
if mk auto1 quiet sparse/exactly-2500x16K -q; then
	grep -q ', 2500 pieces of 16384, ' auto1.out || fail "auto piece length: $(cat auto1.out)"
	verify auto1 --content sparse/exactly-2500x16K --allow-full-last --no-session
fi
if mk auto2 quiet sparse/one-more-byte -q; then
	grep -q ', 1251 pieces of 32768, ' auto2.out || fail "auto piece length: $(cat auto2.out)"
	verify auto2 --content sparse/one-more-byte $TRANSMISSION
fi

# --- 5b. several hashing threads and batches (16 MiB each) over files whose
# boundaries fall inside pieces; random data, so every piece hash differs
mkdir -p big/x
head -c 7340033 /dev/urandom >big/a
head -c 16777215 /dev/urandom >big/x/b
head -c 3 /dev/urandom >big/x/c
head -c 12582917 /dev/urandom >big/x/d
head -c 5000011 /dev/urandom >big/z
if mk big4 quiet big -q -t 4 -l 16K -a "$T1"; then
	verify big4 --content big --piece-length 16384 --tier "$T1" --corrupt x/d
	if mk big1 quiet big -q -t 1 -l 16K -a "$T1"; then
		[ "$(hash_of big1)" = "$(hash_of big4)" ] || fail "-t 1 and -t 4 give different torrents"
	fi
fi

# --- 6. the directory given as "content/" and as "." keeps its name
if mk slash quiet content/ -q; then
	grep -q '^slash.torrent: content, 13 files, ' slash.out || fail "create content/: $(cat slash.out)"
	[ "$(hash_of slash)" = "$(
		cd content && "$RINGSEED" create -f v1 . -q -o ../dot.torrent | sed -n 's/.*info-hash //p'
	)" ] || fail "create content/ and (cd content; create .) differ"
fi
# without -o: NAME.torrent in the current directory
mkdir defout
(cd defout && "$RINGSEED" create -f v1 ../content/a.txt -q >out 2>err) ||
	fail "create without -o: $(cat defout/err)"
[ -f defout/a.txt.torrent ] || fail "create without -o did not write a.txt.torrent here"
grep -q '^a.txt.torrent: a.txt, 1 file, 10 bytes, 1 pieces of 16384, info-hash ' defout/out ||
	fail "create without -o printed: $(cat defout/out)"

# --- 7. policy errors: exit 1, one line naming the path, nothing written
# refuse LABEL NEEDLE PATH [ARGS...]: create PATH must fail with exit 1 and one
# stderr line containing NEEDLE (the offending path) and leave no output.
refuse() {
	local label=$1 needle=$2 rc
	shift 2
	rm -f refused.torrent refused.torrent.tmp.*
	timeout 20 "$RINGSEED" create -f v1 "$@" -o refused.torrent >r.out 2>r.err
	rc=$?
	if [ $rc -ne 1 ]; then
		fail "$label: create $* -> exit $rc, want 1"
		show r.err
		return
	fi
	sanitizer_clean r.err || { fail "$label: sanitizer report"; show r.err; return; }
	[ -s r.out ] && fail "$label: wrote to stdout: $(head -c 200 r.out)"
	one_line r.err || { fail "$label: stderr is not exactly one line"; show r.err; }
	grep -qF -- "$needle" r.err || { fail "$label: error does not name '$needle'"; show r.err; }
	ls refused.torrent* >/dev/null 2>&1 && fail "$label: left refused.torrent* behind"
}

mkdir -p pol/dangling/sub pol/dirlink/real pol/fifo pol/socket pol/empty pol/emptyfiles/d \
	pol/emptydirs/x/y
echo data >pol/dangling/sub/ok
ln -s ../nowhere pol/dangling/sub/broken
refuse "dangling symlink" "sub/broken" pol/dangling
echo data >pol/dirlink/real/f
ln -s real pol/dirlink/link-to-dir
refuse "symlink to a directory" "link-to-dir" pol/dirlink
echo data >pol/fifo/f
mkfifo pol/fifo/a-fifo
refuse "fifo" "a-fifo" pol/fifo
echo data >pol/socket/f
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' pol/socket/sock
refuse "socket" "pol/socket/sock" pol/socket
refuse "empty directory" "pol/empty" pol/empty
: >pol/emptyfiles/a
: >pol/emptyfiles/d/b
refuse "only empty files" "pol/emptyfiles" pol/emptyfiles
refuse "only empty directories" "pol/emptydirs" pol/emptydirs
: >pol/empty-file
refuse "empty single file" "pol/empty-file" pol/empty-file
refuse "nonexistent path" "pol/nothing-here" pol/nothing-here
refuse "fifo as the input" "pol/fifo/a-fifo" pol/fifo/a-fifo
refuse "a device" "/dev/null" /dev/null
ln -s nowhere pol/dangling-top
refuse "dangling symlink as the input" "pol/dangling-top" pol/dangling-top

# --- 8. bad option values: exit 2, a message, nothing written
# usage LABEL ARGS...: create ARGS must exit 2 with something on stderr
usage() {
	local label=$1 rc
	shift
	rm -f refused.torrent
	"$RINGSEED" create -f v1 "$@" >u.out 2>u.err
	rc=$?
	if [ $rc -ne 2 ]; then
		fail "$label: create $* -> exit $rc, want 2$([ -e refused.torrent ] && echo ' (and it wrote the torrent)')"
		show u.err
		return
	fi
	if [ ! -s u.err ] || ! sanitizer_clean u.err; then
		fail "$label: create $*: no message, or a sanitizer report"
		show u.err
	fi
	[ -s u.out ] && fail "$label: create $*: wrote to stdout"
	[ -e refused.torrent ] && fail "$label: create $*: wrote refused.torrent"
}
for l in 1000 8K 32M abc 0 -1 16385 "" 1G 32KB 16KiB 0x4000 8k 24K 12M 4294967296 \
	18014398509482000K 17592186044417M; do
	usage "-l '$l'" content -o refused.torrent -q -l "$l"
done
for a in "ftp://127.0.0.1/announce" "127.0.0.1:6881" "http://a b/announce" "" "," \
	"$T1,ftp://127.0.0.1/x" "mailto:x@example.org"; do
	usage "-a '$a'" content -o refused.torrent -q -a "$a"
done
for w in "udp://127.0.0.1:1" "ftp://127.0.0.1/x" "" "http://a b/"; do
	usage "-w '$w'" content -o refused.torrent -q -w "$w"
done
for t in 0 257 abc ""; do
	usage "-t '$t'" content -o refused.torrent -q -t "$t"
done
usage "no path" -o refused.torrent
usage "two paths" content content -o refused.torrent
usage "unknown option" content -o refused.torrent --no-such-option

# good piece lengths: every spelling is accepted and used
for l in 16K:16384 16k:16384 16384:16384 64K:65536 1M:1048576 1m:1048576 16M:16777216 \
	16384K:16777216; do
	if "$RINGSEED" create -f v1 content/a.txt -q -o pl.torrent -l "${l%%:*}" >pl.out 2>pl.err; then
		grep -q " pieces of ${l##*:}, " pl.out || fail "-l ${l%%:*}: $(cat pl.out)"
	else
		fail "-l ${l%%:*} refused: $(cat pl.err)"
	fi
done

# --- 9. a tracker URL is written whole, or refused; never cut short
long="http://127.0.0.1:6881/announce?key=$(printf 'k%.0s' $(seq 5000))"
"$RINGSEED" create -f v1 content/a.txt -q -o long.torrent -a "$long" >/dev/null 2>long.err
rc=$?
if [ $rc -eq 0 ]; then
	"$PY" - long.torrent "$long" <<'EOF' ||
import sys
raw = open(sys.argv[1], "rb").read()
url = sys.argv[2].encode()
sys.exit(0 if b"%d:%s" % (len(url), url) in raw else 1)
EOF
		fail "a ${#long}-byte -a URL was accepted (exit 0) but the torrent holds a different URL"
elif [ $rc -ne 2 ]; then
	fail "a long -a URL: exit $rc"
fi

echo "create_roundtrip: $(($(date +%s) - start)) s, $fails failures"
[ $fails -eq 0 ]
