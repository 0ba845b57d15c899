#!/usr/bin/env bash
# timeout: 40
#
# `ringseed fetch` onto a disk that fills up. Root only: the test makes a
# private mount namespace (unshare -m) and mounts a 1 MiB tmpfs as the data
# directory; the release is 3 MiB, served by a good test peer
# (tests/lib/fetch_peer.py).
#   full, --exit-when-done  the preallocation fails: one line names the
#                           torrent, the file and the error; exit status 1
#   full, waiting           the same line, then (fetch.disk_retry = 1) it
#                           waits; the tmpfs is remounted at 8 MiB: the fetch
#                           goes on by itself and completes byte-exact
#   sparse, waiting         (fetch.preallocate = sparse) a write fails
#                           midway: one line names the torrent, the file, the
#                           piece and how many pieces are kept; every piece
#                           the .fetch state claims is on disk and right; the
#                           remount lets it finish byte-exact, resuming
#                           those pieces instead of fetching them again
set -u
if [ "$(id -u)" != 0 ]; then
	echo "skip: needs root (a mount namespace and a tmpfs)"
	exit 77
fi
if [ -z "${DISKFULL_NS:-}" ]; then
	DISKFULL_NS=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
fi
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
cd "$work" || exit 1
trap 'umount -l "$work/e/data" 2>/dev/null; serve_cleanup' EXIT

mkdir -p seed t
"$PY" "$LT" mkfile seed/rel.bin $((3 * 1048576 + 77)) || exit 1
"$RINGSEED" create -q -f v1 -l 64K seed/rel.bin -o t/rel.torrent || exit 1
PIECES=49
P=$(free_port)
bg "$PY" "$E2E_LIB/fetch_peer.py" t/rel.torrent seed/rel.bin "$P:good" >peer.log 2>&1
wait_until 10 grep -q '^listening' peer.log || { fail "test peer did not start"; exit 1; }

# fresh 1 MiB data directory, empty state
small_disk() {
	umount "$work/e/data" 2>/dev/null
	rm -rf e
	fetch_dirs e
	mount -t tmpfs -o size=1m tmpfs e/data || { fail "mount tmpfs"; exit 1; }
}

# every piece the .fetch state claims matches the seed's bytes; prints their count
state_pieces_good() {
	"$PY" - e/state/*.fetch e/data/rel.bin seed/rel.bin 65536 <<'PYEOF'
import sys
raw = open(sys.argv[1], "rb").read()
i = raw.find(b"4:have")
j = raw.index(b":", i + 6)
bits = raw[j + 1:j + 1 + int(raw[i + 6:j])]
got, want, plen = open(sys.argv[2], "rb"), open(sys.argv[3], "rb"), int(sys.argv[4])
n = 0
for p in range(len(bits) * 8):
    if bits[p // 8] & (0x80 >> (p % 8)):
        got.seek(p * plen); want.seek(p * plen)
        if got.read(plen) != want.read(plen):
            print("piece %d claimed but wrong on disk" % p)
            sys.exit(1)
        n += 1
print(n)
PYEOF
}

LINE_PRE="fetch: rel.bin: preallocating rel.bin \(3145805 bytes\): No space left on device"

# 1. full preallocation, --exit-when-done: stops at once, says why, exits 1
small_disk
fetch_go full1.log t/rel.torrent e --peer "127.0.0.1:$P" && fail "full: exit status 0 on a full disk"
[ "$(grep -cE "$LINE_PRE" full1.log)" = 1 ] || { fail "full: no line naming torrent, file, error"; show full1.log; }

# 2. full preallocation, waiting: resumes once the disk grows
small_disk
bg "$RINGSEED" fetch t/rel.torrent -d e/data -s e/state --peer "127.0.0.1:$P" \
	--listen "127.0.0.1:$(free_port)" -o fetch.disk_retry=1 2>full2.log
FPID=$BG_PID
wait_until 5 grep -qE "$LINE_PRE; the fetch stops and tries again every 1 s" full2.log ||
	{ fail "full, waiting: no disk-full line"; show full2.log; }
sleep 1.5
[ "$(grep -cE "$LINE_PRE" full2.log)" = 1 ] || fail "full, waiting: the line was repeated"
mount -o remount,size=8m e/data || fail "remount"
wait_until 10 grep -q 'fetch: rel.bin: complete in' full2.log || { fail "full: did not resume"; show full2.log; }
cmp -s seed/rel.bin e/data/rel.bin || fail "full: content differs"
kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null

# 3. sparse: a write fails midway; verified pieces survive; resumes
small_disk
bg "$RINGSEED" fetch t/rel.torrent -d e/data -s e/state --peer "127.0.0.1:$P" \
	--listen "127.0.0.1:$(free_port)" -o fetch.disk_retry=1 -o fetch.preallocate=sparse 2>sparse.log
FPID=$BG_PID
RE="fetch: rel.bin: writing rel.bin \(piece [0-9]+\): No space left on device \(([0-9]+) of $PIECES pieces verified and kept\)"
wait_until 10 grep -qE "$RE" sparse.log || { fail "sparse: no disk-full line"; show sparse.log; }
kept=$(grep -oE "$RE" sparse.log | head -n 1 | sed -E 's/.*\(([0-9]+) of.*/\1/')
[ "${kept:-0}" -ge 1 ] || fail "sparse: no piece kept before the disk filled"
good=$(state_pieces_good) || fail "sparse: $good"
[ "$good" = "$kept" ] || fail "sparse: the state holds $good pieces, the line said $kept"
sleep 1.5
mount -o remount,size=8m e/data || fail "remount"
wait_until 10 grep -q 'fetch: rel.bin: complete in' sparse.log || { fail "sparse: did not resume"; show sparse.log; }
grep -qE "fetch: rel.bin: $kept of $PIECES pieces already here" sparse.log ||
	fail "sparse: the kept pieces were not resumed"
cmp -s seed/rel.bin e/data/rel.bin || fail "sparse: content differs"
kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null
sanitizer_clean full1.log full2.log sparse.log || fail "sanitizer report"
[ "$fails" -eq 0 ]
