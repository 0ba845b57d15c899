#!/usr/bin/env bash
#
# hashspeed.sh - how fast ringseed hashes warm data, against what the CPU can
# do: `ringseed create --format hybrid|v2|v1` and a first verification of the
# same file by `ringseed serve` (a fresh state directory), each against
# `openssl speed -evp sha256` and `-evp sha1` on one core times the cores.
# See "Hashing speed: bench/hashspeed.sh" in bench/README.md.
#
#   bench/hashspeed.sh [--data FILE | --size MIB] [--json]
#
#   --data FILE   the file to hash (make bench passes its 1 GiB file); it is
#                 read once first, so that it is in the page cache
#   --size MIB    without --data: a file of MIB MiB of random data in a
#                 temporary directory (default 1024), removed afterwards
#   --json        one JSON object on stdout instead of the lines
#
# The ceiling for each: openssl's rate on 16 KiB blocks (ringseed's SHA-256
# leaves; its SHA-1 pieces are 1 MiB, hashed in a stream) times the cores
# (nproc), since create hashes on every core. A hybrid needs both hashes of
# every byte, so its ceiling is 1 / (1/sha1 + 1/sha256) per core; the ratio
# to `sha256 x cores` alone (issue 13's words) is printed too. Verification
# is timed by ringseed itself ("hashed N pieces (WHICH) in T s" in its log);
# for a hybrid it says which hash set it chose.
#
# Exit status: 0, or 1 when a step failed, 2 on bad usage. Every process it
# starts is stopped on exit.
#
# Environment: RINGSEED (default bin/ringseed of this tree), TMPDIR.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
RINGSEED=${RINGSEED:-$top/bin/ringseed}
DATA=
SIZE=1024
JSON=

usage() { sed -n '3,27p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
	case $1 in
	--data) DATA=${2:?--data FILE}; shift 2 ;;
	--size) SIZE=${2:?--size MIB}; shift 2 ;;
	--json) JSON=1; shift ;;
	-h | --help) usage 0 ;;
	*) echo "hashspeed.sh: unknown option '$1'" >&2; usage 2 ;;
	esac
done
case $SIZE in '' | *[!0-9]*) echo "hashspeed.sh: --size wants MiB, got '$SIZE'" >&2; exit 2 ;; esac
[ -x "$RINGSEED" ] || { echo "hashspeed.sh: $RINGSEED is missing: run make" >&2; exit 2; }
command -v openssl > /dev/null || { echo "hashspeed.sh: openssl is missing" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hashspeed.XXXXXX") || exit 2
SERVE=
cleanup() {
	[ -n "$SERVE" ] && kill "$SERVE" 2> /dev/null && wait "$SERVE" 2> /dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { [ -n "$JSON" ] || echo "$@"; }
fail() { echo "hashspeed.sh: $*" >&2; exit 1; }

if [ -z "$DATA" ]; then
	DATA=$WORK/data/hash.bin
	mkdir -p "$WORK/data"
	head -c "${SIZE}M" /dev/urandom > "$DATA" || fail "cannot write $DATA"
fi
[ -r "$DATA" ] || fail "cannot read $DATA"
bytes=$(stat -L -c %s "$DATA")
cat "$DATA" > /dev/null
cores=$(nproc)

# openssl's bytes per second on one core, 16 KiB blocks, 1 s (-mr: +F:N:ALGO:RATE)
ossl() {
	openssl speed -evp "$1" -bytes 16384 -seconds 1 -mr 2> /dev/null |
		awk -F: '/^\+F:/ { print $4 }' | tail -1
}
sha256=$(ossl sha256)
sha1=$(ossl sha1)
if [ -z "$sha256" ] || [ -z "$sha1" ]; then fail "openssl speed gave no figure"; fi

now() { date +%s.%N; }
# create FORMAT: seconds for ringseed create of DATA
create() {
	local t0 t1
	t0=$(now)
	"$RINGSEED" create -q -f "$1" -l 1048576 "$DATA" -o "$WORK/$1.torrent" > /dev/null || return 1
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
# verify FORMAT: "SECONDS|WHICH" from ringseed serve's first check of DATA
verify() {
	local fmt=$1 d=$WORK/v-$1 port line
	mkdir -p "$d/torrents" "$d/state"
	cp "$WORK/$fmt.torrent" "$d/torrents/"
	port=$((30000 + RANDOM % 20000))
	: > "$d/log"
	"$RINGSEED" serve --listen "127.0.0.1:$port" --torrents "$d/torrents" \
		--data "$(dirname "$DATA")" --state "$d/state" -o announce.enable=no \
		-o admin.listen= -u "$(id -un)" --log-level notice > "$d/log" 2>&1 &
	SERVE=$!
	for _ in $(seq 600); do
		grep -q 'ready:' "$d/log" && break
		kill -0 "$SERVE" 2> /dev/null || break
		sleep 0.2
	done
	kill "$SERVE" 2> /dev/null
	wait "$SERVE" 2> /dev/null
	SERVE=
	line=$(grep -m1 'hashed .* pieces' "$d/log")
	[ -n "$line" ] || { tail -3 "$d/log" >&2; return 1; }
	# "... hashed 1024 pieces (SHA-256 merkle (BEP 52)) in 0.74 s (1024 good, 0 bad)"
	sed -E 's/.*hashed [0-9]+ pieces \((.*)\) in ([0-9.]+) s.*/\2|\1/' <<< "$line"
}

declare -A T V
for f in hybrid v2 v1; do
	T[$f]=$(create "$f") || fail "ringseed create -f $f failed"
	V[$f]=$(verify "$f") || fail "ringseed serve did not verify the $f torrent"
done

# rate BYTES SECONDS -> MB/s; ratio RATE CEILING
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.1f", (s > 0 ? b / s / 1e6 : 0) }'; }
ceil_of() {
	case $1 in
	hybrid) awk -v a="$sha1" -v b="$sha256" -v c="$cores" 'BEGIN { printf "%.1f", c / (1 / a + 1 / b) / 1e6 }' ;;
	v2) awk -v b="$sha256" -v c="$cores" 'BEGIN { printf "%.1f", c * b / 1e6 }' ;;
	v1) awk -v a="$sha1" -v c="$cores" 'BEGIN { printf "%.1f", c * a / 1e6 }' ;;
	esac
}
# a verification of a hybrid uses one hash set: its ceiling is that one's
vceil_of() {
	case $2 in *SHA-256* | *merkle*) ceil_of v2 ;; *) ceil_of v1 ;; esac
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
s256=$(awk -v b="$sha256" -v c="$cores" 'BEGIN { printf "%.1f", c * b / 1e6 }')

out=()
for f in hybrid v2 v1; do
	c=$(mbps "${T[$f]}")
	vs=${V[$f]%%|*}
	vw=${V[$f]#*|}
	v=$(mbps "$vs")
	out+=("$f|${T[$f]}|$c|$(ceil_of "$f")|$(ratio "$c" "$(ceil_of "$f")")|$(ratio "$c" "$s256")|$vs|$v|$vw|$(vceil_of "$f" "$vw")|$(ratio "$v" "$(vceil_of "$f" "$vw")")")
done

if [ -n "$JSON" ]; then
	printf '{"bytes": %s, "cores": %s, "openssl_sha256_Bps": %s, "openssl_sha1_Bps": %s, ' \
		"$bytes" "$cores" "$sha256" "$sha1"
	printf '"sha256_x_cores_MBps": %s, "formats": [' "$s256"
	sep=
	for o in "${out[@]}"; do
		IFS='|' read -r f ct cm cc cr cr256 vs vm vw vc vr <<< "$o"
		printf '%s{"format": "%s", "create_s": %s, "create_MBps": %s, "create_ceiling_MBps": %s, ' \
			"$sep" "$f" "$ct" "$cm" "$cc"
		printf '"create_ratio": %s, "create_ratio_sha256_x_cores": %s, "verify_s": %s, ' "$cr" "$cr256" "$vs"
		printf '"verify_MBps": %s, "verify_hashes": "%s", "verify_ceiling_MBps": %s, "verify_ratio": %s}' \
			"$vm" "$vw" "$vc" "$vr"
		sep=", "
	done
	printf ']}\n'
	exit 0
fi
say "data:      $DATA, $bytes bytes, in the page cache; $cores cores"
say "openssl:   sha256 $(awk -v b="$sha256" 'BEGIN { printf "%.1f", b / 1e6 }') MB/s, sha1 $(awk -v b="$sha1" 'BEGIN { printf "%.1f", b / 1e6 }') MB/s per core (16 KiB blocks); sha256 x cores $s256 MB/s"
for o in "${out[@]}"; do
	IFS='|' read -r f ct cm cc cr cr256 vs vm vw vc vr <<< "$o"
	say "create $f: $ct s, $cm MB/s, $cr of its ceiling ($cc MB/s), $cr256 of sha256 x cores"
	say "verify $f: $vs s, $vm MB/s by $vw, $vr of its ceiling ($vc MB/s)"
done
