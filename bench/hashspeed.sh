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
# to `sha256 x cores` alone (issue 13's words) is printed too. Both are
# timed by ringseed itself (create's "hashed B bytes in T s (C CPU-s)", the
# log's "hashed N pieces (WHICH) in T s ..., C CPU-s on N threads"; for a
# hybrid it says which hash set it chose), so each row also has CPU-seconds
# per GiB against openssl's (what a shared machine does not distort) and
# CPU / (wall x threads). All of it twice: as the CPU is, then with the SHA
# extensions masked (OPENSSL_ia32cap) for openssl and ringseed alike.
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

usage() { sed -n '3,31p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
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

# OpenSSL 3 (OPENSSL_ia32cap(3)): bit 64+29 is the SHA extensions; "~" masks
# it in the second word, so both openssl and ringseed run without them.
NO_SHA_NI=':~0x20000000'

# openssl's bytes per second on one core, 16 KiB blocks, 1 s (-mr: +F:N:ALGO:RATE).
# openssl speed times user CPU, so this is also bytes per CPU-second.
ossl() {
	env $CAP openssl speed -evp "$1" -bytes 16384 -seconds 1 -mr 2> /dev/null |
		awk -F: '/^\+F:/ { print $4 }' | tail -1
}

# create FORMAT: "WALL|CPU|THREADS" from ringseed create's own line
# "hashed B bytes in W s (C CPU-s): R MiB/s on N threads": the hashing
# threads' CPU time, not the process start
create() {
	local line
	line=$(env $CAP "$RINGSEED" create -f "$1" -l 1048576 "$DATA" -o "$WORK/$1.torrent" 2>&1 > /dev/null |
		tr '\r' '\n' | grep -m1 '^hashed ') || return 1
	sed -E 's/^hashed [0-9]+ bytes in ([0-9.]+) s \(([0-9.]+) CPU-s\).* on ([0-9]+) threads.*/\1|\2|\3/' <<< "$line"
}
# verify FORMAT: "WALL|WHICH|CPU|THREADS" from ringseed serve's first check of DATA
verify() {
	local fmt=$1 d=$WORK/v-$1 port line
	rm -rf "$d"
	mkdir -p "$d/torrents" "$d/state"
	cp "$WORK/$fmt.torrent" "$d/torrents/"
	port=$((30000 + RANDOM % 20000))
	: > "$d/log"
	env $CAP "$RINGSEED" serve --listen "127.0.0.1:$port" --torrents "$d/torrents" \
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
	# "... hashed 1024 pieces (SHA-256 merkle (BEP 52)) in 0.74 s (1024 good, 0 bad), 1.41 CPU-s on 2 threads"
	sed -E 's/.*hashed [0-9]+ pieces \((.*)\) in ([0-9.]+) s \(.*\), ([0-9.]+) CPU-s on ([0-9]+) threads.*/\2|\1|\3|\4/' <<< "$line"
}

# rate BYTES SECONDS -> MB/s; ratio A B -> A / B
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.1f", (s > 0 ? b / s / 1e6 : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# CPU-seconds per GiB: of a run (CPU seconds over the file), of openssl (a rate)
cpg() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.3f", s * 1073741824 / b }'; }
cpg_rate() { awk -v r="$1" 'BEGIN { printf "%.3f", (r > 0 ? 1073741824 / r : 0) }'; }
# parallel efficiency: CPU-seconds / (wall seconds x threads)
par() { awk -v c="$1" -v w="$2" -v n="$3" 'BEGIN { printf "%.2f", (w > 0 && n > 0 ? c / w / n : 0) }'; }

# run LABEL: every row with the CPU as it is ($CAP empty) or without SHA-NI
run() {
	local label=$1 sha256 sha1 s256 f c v cw cc cn vw vwhich vc vn ceil vceil cpu_c cpu_v
	sha256=$(ossl sha256)
	sha1=$(ossl sha1)
	if [ -z "$sha256" ] || [ -z "$sha1" ]; then fail "openssl speed gave no figure"; fi
	s256=$(awk -v b="$sha256" -v c="$cores" 'BEGIN { printf "%.1f", c * b / 1e6 }')
	# the ceilings in CPU-seconds per GiB: a hybrid creation hashes each byte twice
	declare -A CEIL=([v2]=$(cpg_rate "$sha256") [v1]=$(cpg_rate "$sha1"))
	CEIL[hybrid]=$(awk -v a="${CEIL[v2]}" -v b="${CEIL[v1]}" 'BEGIN { printf "%.3f", a + b }')
	OSSL="$sha256|$sha1|$s256"
	say "openssl:   sha256 $(awk -v b="$sha256" 'BEGIN { printf "%.1f", b / 1e6 }') MB/s," \
		"sha1 $(awk -v b="$sha1" 'BEGIN { printf "%.1f", b / 1e6 }') MB/s per CPU-second" \
		"(16 KiB blocks): ${CEIL[v2]} and ${CEIL[v1]} CPU-s/GiB; sha256 x cores $s256 MB/s"
	ROWS=()
	for f in hybrid v2 v1; do
		c=$(create "$f") || fail "ringseed create -f $f failed ($label)"
		v=$(verify "$f") || fail "ringseed serve did not verify the $f torrent ($label)"
		IFS='|' read -r cw cc cn <<< "$c"
		IFS='|' read -r vw vwhich vc vn <<< "$v"
		ceil=$(awk -v x="${CEIL[$f]}" -v c="$cores" 'BEGIN { printf "%.1f", c * 1073.741824 / x }')
		case $vwhich in *SHA-256* | *merkle*) vceil=v2 ;; *) vceil=v1 ;; esac
		cpu_c=$(cpg "$cc")
		cpu_v=$(cpg "$vc")
		ROWS+=("$f|$cw|$(mbps "$cw")|$ceil|$(ratio "$(mbps "$cw")" "$ceil")|$(ratio "$(mbps "$cw")" "$s256")|$cpu_c|${CEIL[$f]}|$(ratio "${CEIL[$f]}" "$cpu_c")|$(par "$cc" "$cw" "$cn")|$vw|$(mbps "$vw")|$vwhich|$(awk -v x="${CEIL[$vceil]}" -v c="$cores" 'BEGIN { printf "%.1f", c * 1073.741824 / x }')|$cpu_v|${CEIL[$vceil]}|$(ratio "${CEIL[$vceil]}" "$cpu_v")|$(par "$vc" "$vw" "$vn")")
	done
	for r in "${ROWS[@]}"; do
		IFS='|' read -r f cw cm cc cr cr256 ccpu cceil ceff cpar vw vm vwhich vcm vcpu vceil veff vpar <<< "$r"
		vr=$(ratio "$vm" "$vcm")
		if [ -n "$JSON" ]; then
			printf '%s{"format": "%s", "create_s": %s, "create_MBps": %s, "create_ceiling_MBps": %s, ' \
				"$SEP" "$f" "$cw" "$cm" "$cc"
			printf '"create_ratio": %s, "create_ratio_sha256_x_cores": %s, ' "$cr" "$cr256"
			printf '"create_cpu_s_per_GiB": %s, "create_ceiling_cpu_s_per_GiB": %s, "create_cpu_ratio": %s, "create_parallel": %s, ' \
				"$ccpu" "$cceil" "$ceff" "$cpar"
			printf '"verify_s": %s, "verify_MBps": %s, "verify_hashes": "%s", "verify_ceiling_MBps": %s, "verify_ratio": %s, ' \
				"$vw" "$vm" "$vwhich" "$vcm" "$vr"
			printf '"verify_cpu_s_per_GiB": %s, "verify_ceiling_cpu_s_per_GiB": %s, "verify_cpu_ratio": %s, "verify_parallel": %s}' \
				"$vcpu" "$vceil" "$veff" "$vpar"
			SEP=", "
			continue
		fi
		say "create $f: $cw s, $cm MB/s, $cr of its ceiling ($cc MB/s), $cr256 of sha256 x cores;" \
			"$ccpu CPU-s/GiB, openssl's $cceil: $ceff; parallel $cpar"
		say "verify $f: $vw s, $vm MB/s by $vwhich, $vr of its ceiling ($vcm MB/s);" \
			"$vcpu CPU-s/GiB, openssl's $vceil: $veff; parallel $vpar"
	done
}

# The CPU-time ratios are what to read on a shared machine: wall-clock
# figures fall when other work takes the cores, CPU-seconds hardly move.
CAP=
if [ -n "$JSON" ]; then
	SEP=
	run "with SHA-NI" > "$WORK/rows"
	IFS='|' read -r sha256 sha1 s256 <<< "$OSSL"
	printf '{"bytes": %s, "cores": %s, "openssl_sha256_Bps": %s, "openssl_sha1_Bps": %s, ' \
		"$bytes" "$cores" "$sha256" "$sha1"
	printf '"sha256_x_cores_MBps": %s, "formats": [%s], ' "$s256" "$(cat "$WORK/rows")"
	SEP=
	CAP="OPENSSL_ia32cap=$NO_SHA_NI"
	run "without SHA-NI" > "$WORK/rows"
	IFS='|' read -r sha256 sha1 s256 <<< "$OSSL"
	printf '"no_sha_ni": {"openssl_sha256_Bps": %s, "openssl_sha1_Bps": %s, "formats": [%s]}}\n' \
		"$sha256" "$sha1" "$(cat "$WORK/rows")"
	exit 0
fi
say "data:      $DATA, $bytes bytes, in the page cache; $cores cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "-- with SHA extensions"
run sha-ni
say "-- without SHA extensions (OPENSSL_ia32cap=$NO_SHA_NI)"
CAP="OPENSSL_ia32cap=$NO_SHA_NI"
run no-sha-ni
