#!/usr/bin/env bash
# timeout: 60
#
# `ringseed fetch --listen` uploads while it fetches: a python3-libtorrent
# seeder capped at 1 MB/s is the only source of a 4 MB release; a
# libtorrent leecher knows only the fetcher's listen address. It connects
# while the fetch runs and gets each verified piece from the fetcher
# (bitfield, have, requests served from the files); once the fetch
# completes the same address is `ringseed serve` and the leecher ends there.
#   - the leecher's copy is byte-exact;
#   - the fetch's "complete" line counts the peer that connected (inbound)
#     and at least 1 MB uploaded to it before completion (up_bytes);
#   - a raw peer with the Fast extension asking for a piece out of range
#     and, choked, for one we may have, gets reject_request for each
#     (up_refused counts them) and the fetch goes on;
#   - the same with the multi-file test tree (nested directories, 0-byte
#     files, odd sizes: blocks that span files are read one by one, the
#     others of a piece together), without the raw peer: byte-exact.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
cd "$work" || exit 1

mkdir -p seed t
"$PY" "$LT" mkfile seed/up.bin 4000011 || exit 1
"$RINGSEED" create -q -f v1 -l 32K seed/up.bin -o t/up.bin.torrent || exit 1
P1=$(free_port)
PF=$(free_port)
fetch_lt_seed lt.log t/up.bin.torrent seed "$P1" --rate 1000000 || exit 1
serve_init "$work/l"
bg env --default-signal=INT "$RINGSEED" fetch t/up.bin.torrent -c l/ringseed.conf \
	-d l/data -s l/state --listen "127.0.0.1:$PF" --peer "127.0.0.1:$P1" 2>f.log
fpid=$BG_PID
HASH=$("$PY" "$LT" hash t/up.bin.torrent)
# the .fetch state is written before the first byte is asked for: the listener is up
wait_until 10 test -e "l/state/$HASH.fetch" || fail "the fetch did not start"

# a hostile-ish raw peer: Fast extension, asks out of range, and while choked
"$PY" - "$PF" t/up.bin.torrent >raw.log 2>&1 <<'PYEOF' &
import hashlib, socket, struct, sys, time
raw = open(sys.argv[2], "rb").read()
i = raw.index(b"4:info") + 6
# the info dictionary runs to the torrent's closing 'e'
ih = hashlib.sha1(raw[i:-1]).digest()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
rsv = bytearray(8); rsv[7] |= 0x04
s.sendall(b"\x13BitTorrent protocol" + bytes(rsv) + ih + b"-XX0000-rawpeer00000")
buf = b""
def msg(mid, body=b""):
    s.sendall(struct.pack(">IB", 1 + len(body), mid) + body)
msg(15)  # have_none
msg(6, struct.pack(">III", 100000, 0, 16384))  # out of range
msg(6, struct.pack(">III", 0, 0, 16384))       # choked (not interested yet)
rejects, end = 0, time.time() + 5
while rejects < 2 and time.time() < end:
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    if not d:
        break
    buf += d
    if len(buf) >= 68 and buf[:1] == b"\x13":
        buf = buf[68:]
    while len(buf) >= 4:
        n = struct.unpack(">I", buf[:4])[0]
        if len(buf) < 4 + n:
            break
        if n and buf[4] == 16:
            rejects += 1
        buf = buf[4 + n:]
print("rejects", rejects)
PYEOF
rawpid=$!

if ! "$PY" "$LT" leech --peer "127.0.0.1:$PF" --save "$work/leech" --timeout 30 \
	t/up.bin.torrent >leech.log 2>&1; then
	fail "libtorrent could not download from the fetcher"
	show leech.log
fi
wait "$rawpid"
tree_cmp seed/up.bin leech/up.bin || fail "the leecher's copy differs"
wait_until 10 grep -q 'fetch: up.bin: complete' f.log || fail "the fetch did not complete"
up=$(fetch_count f.log up_bytes)
in=$(fetch_count f.log inbound)
refused=$(fetch_count f.log up_refused)
echo "fetch_upload: uploaded ${up:-?} bytes to ${in:-?} inbound peers while fetching; ${refused:-?} requests refused; raw peer: $(cat raw.log)"
[ "${in:-0}" -ge 2 ] || fail "inbound peers: ${in:-none}, expected the leecher and the raw peer"
[ "${up:-0}" -ge 1000000 ] || fail "uploaded ${up:-none} bytes while fetching, expected 1 MB or more"
[ "${refused:-0}" -ge 2 ] || fail "requests refused: ${refused:-none}, expected 2"
grep -q '^rejects 2' raw.log || { fail "the raw peer did not get two reject_request"; show raw.log; }
kill -INT "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null
grep -qi 'AddressSanitizer\|runtime error' f.log && { fail "sanitizer report"; show f.log; }

# the multi-file tree
"$PY" "$LT" mktree seed/tree || exit 1
"$RINGSEED" create -q -f v1 -l 32K seed/tree -o t/tree.torrent || exit 1
P2=$(free_port)
PF2=$(free_port)
fetch_lt_seed lt2.log t/tree.torrent seed "$P2" --rate 1000000 || exit 1
serve_init "$work/l2"
HASH2=$("$PY" "$LT" hash t/tree.torrent)
bg env --default-signal=INT "$RINGSEED" fetch t/tree.torrent -c l2/ringseed.conf \
	-d l2/data -s l2/state --listen "127.0.0.1:$PF2" --peer "127.0.0.1:$P2" 2>f2.log
fpid=$BG_PID
wait_until 10 test -e "l2/state/$HASH2.fetch" || fail "the tree's fetch did not start"
if ! "$PY" "$LT" leech --peer "127.0.0.1:$PF2" --save "$work/leech2" --timeout 30 \
	t/tree.torrent >leech2.log 2>&1; then
	fail "libtorrent could not download the tree from the fetcher"
	show leech2.log
fi
tree_cmp seed/tree leech2/tree || fail "the leecher's tree differs"
wait_until 10 grep -q 'fetch: tree: complete' f2.log || fail "the tree's fetch did not complete"
up=$(fetch_count f2.log up_bytes)
echo "fetch_upload: the tree: uploaded ${up:-?} bytes while fetching"
[ "${up:-0}" -ge 1000000 ] || fail "tree: uploaded ${up:-none} bytes while fetching, expected 1 MB or more"
kill -INT "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null
grep -qi 'AddressSanitizer\|runtime error' f2.log && { fail "sanitizer report"; show f2.log; }
[ "$fails" -eq 0 ]
