#!/usr/bin/env bash
# timeout: 60
#
# RC4 peers are ciphered from the mapped files (worker/crypt.c,
# crypt_gather), so the cold path must have their pages in first: a file
# dropped from the page cache (bench/evict.py) is served to a
# python3-libtorrent leecher with MSE forced and RC4 only, byte for byte,
# through the cold path (cold_waits and cold_reads > 0, no page read twice),
# on RC4 (up_bytes_rc4 at least the file), with no peer dropped for an I/O
# error. (A file cut short under the worker is tests/unit/test_crypt.c: the
# master's lease takes a torrent out of service before a truncate goes on.)
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1
EVICT=$TOP/bench/evict.py
SIZE=$((4 * 1048576 + 11))

S_PL=256K
serve_init "$work/s"
serve_add_file cold.bin $SIZE || exit 1
serve_start -w 1 --send-strategy auto || exit 1

leech() { # DIR IP: an RC4-only libtorrent leecher of cold.bin
	mkdir -p "$1"
	"$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind "127.0.0.$2" --save "$1" \
		--enc forced --enc-level rc4 --timeout 20 "$S_DIR/torrents/cold.bin.torrent" \
		>"$1/lt.out" 2>&1 || { fail "leecher $1 failed"; show "$1/lt.out"; }
	tree_cmp "$S_DIR/data/cold.bin" "$1/cold.bin" || fail "$1: cold.bin differs"
}

out=$("$PY" "$EVICT" "$S_DIR/data/cold.bin")
case $out in
*" resident=0") ;;
*) echo "note: not all evicted ($out): the cold path may see less" ;;
esac
leech "$work/a" 10
waits=$(serve_stat cold_waits_total)
reads=$(serve_stat cold_reads_total)
rbytes=$(serve_stat cold_read_bytes_total)
rc4=$(serve_stat up_bytes_rc4)
[ "${waits:-0}" -gt 0 ] && [ "${reads:-0}" -gt 0 ] ||
	fail "cold_waits=$waits cold_reads=$reads, want > 0 after an eviction"
[ "${rc4:-0}" -ge $SIZE ] || fail "up_bytes_rc4=$rc4, want the whole file ($SIZE) or more"
[ "${rbytes:-0}" -le $SIZE ] || fail "cold_read_bytes=$rbytes, more than the file: a run read twice"
[ "$(serve_stat drop_io)" = 0 ] || fail "drop_io=$(serve_stat drop_io), want 0"
echo "cold, RC4: $out; cold_waits=$waits cold_reads=$reads up_bytes_rc4=$rc4"

serve_stop || fail "serve_stop"
serve_logs_clean
[ $fails -eq 0 ]
