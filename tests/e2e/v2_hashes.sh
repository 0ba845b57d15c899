#!/usr/bin/env bash
# timeout: 120
#
# BEP 52 hash requests, served from the piece layers:
#   - python3-libtorrent given v2-only and hybrid torrents made by ringseed
#     but stripped of `piece layers` (same info-hashes) must fetch them with
#     hash requests: it downloads byte-exact from ringseed alone, ringseed
#     counts hashes sent and no hash_reject;
#   - a v2 magnet (btmh only, with x.pe) and a hybrid one: libtorrent gets
#     the info dictionary by ut_metadata and the layers by hash requests,
#     and downloads byte-exact;
#   - a hand-made peer's hash requests: a valid one gets `hashes` whose
#     proof climbs to the pieces root; an unknown root, another base layer,
#     a length of 1, 3 or 2^31, an index off the length or past the layer
#     each get `hash_reject` with the request echoed, also while choked, and
#     none is left unanswered; a flood of requests never read is dropped
#     (drop_flood), and the seeder serves on.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1

S_PL=32K
serve_init "$work/s"
"$PY" "$LT" mktree "$S_DIR/data/tree" tree || exit 1
"$PY" "$LT" mkfile "$S_DIR/data/big.bin" $((3 * 1048576 + 5)) big || exit 1
S_FORMAT=v2 serve_torrent "$S_DIR/data/tree" tree-v2 || exit 1
S_FORMAT=hybrid serve_torrent "$S_DIR/data/big.bin" big-hybrid -l 16K || exit 1
mkdir -p "$work/nl"
"$PY" - "$work/nl" "$S_DIR/torrents/tree-v2.torrent" "$S_DIR/torrents/big-hybrid.torrent" <<'PYEOF' ||
import os, sys
import libtorrent as lt
for t in sys.argv[2:]:
    d = lt.bdecode(open(t, "rb").read())
    del d[b"piece layers"]
    open(os.path.join(sys.argv[1], os.path.basename(t)), "wb").write(lt.bencode(d))
PYEOF
	{ fail "could not strip the piece layers"; exit 1; }
serve_settle
serve_start -o serve.stats_interval=1 || exit 1

# 1. libtorrent without piece layers.
if ! "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --save "$work/dl" --timeout 40 \
	"$work/nl/tree-v2.torrent" "$work/nl/big-hybrid.torrent" >"$work/leech.out" 2>&1; then
	fail "libtorrent without piece layers could not download from ringseed"
	show "$work/leech.out"
fi
cat "$work/leech.out"
tree_cmp "$S_DIR/data/tree" "$work/dl/tree" --skip-empty || fail "tree differs"
tree_cmp "$S_DIR/data/big.bin" "$work/dl/big.bin" || fail "big.bin differs"
serve_wait_stat hashes 2 5 || fail "hashes=$(serve_stat hashes): libtorrent fetched no layer by hash request"
[ "$(serve_stat hash_rejects)" = 0 ] || fail "hash_rejects=$(serve_stat hash_rejects) for libtorrent's requests"
echo "libtorrent: $(serve_stat hashes) hashes messages, $(serve_stat hash_rejects) rejects"

# 1b. A v2 magnet (btmh only) and a hybrid one: metadata by ut_metadata, layers by hash requests.
before=$(serve_stat hashes)
for t in tree-v2 big-hybrid; do
	m=$("$RINGSEED" info --json --peer "127.0.0.1:$S_PORT" "$S_DIR/torrents/$t.torrent" |
		"$PY" -c 'import json, sys; print(json.load(sys.stdin)["magnet"])')
	case $t in
	tree-v2) case $m in *btih*|*btmh*btmh*) fail "v2 magnet: $m" ;; *btmh*) ;; *) fail "v2 magnet: $m" ;; esac ;;
	esac
	if ! "$PY" "$E2E_LIB/serve_magnet.py" lt "$m" --peer "127.0.0.1:$S_PORT" --save "$work/mag-$t" \
		--timeout 40 >"$work/mag-$t.out" 2>&1; then
		fail "libtorrent could not download $t from its magnet"
		show "$work/mag-$t.out"
	fi
done
tree_cmp "$S_DIR/data/tree" "$work/mag-tree-v2/tree" --skip-empty || fail "v2 magnet: tree differs"
tree_cmp "$S_DIR/data/big.bin" "$work/mag-big-hybrid/big.bin" || fail "hybrid magnet: big.bin differs"
serve_wait_stat hashes $((before + 1)) 5 || fail "v2 magnet: no hash request answered (hashes=$(serve_stat hashes))"
echo "magnets: v2 and hybrid downloaded; hashes=$(serve_stat hashes)"

# 2. Hand-made requests.
"$PY" - "127.0.0.1:$S_PORT" "$S_DIR/torrents/big-hybrid.torrent" <<'PYEOF' >"$work/hand.out" 2>&1 ||
import hashlib, socket, struct, sys, time
import libtorrent as lt
host, port = sys.argv[1].rsplit(":", 1)
d = lt.bdecode(open(sys.argv[2], "rb").read())
info = d[b"info"]
root = info[b"file tree"][b"big.bin"][b""][b"pieces root"]
layer = d[b"piece layers"][root]
pl = info[b"piece length"]
height = (pl // 16384).bit_length() - 1
n = len(layer) // 32
bad = []

def connect():
    s = socket.create_connection((host, int(port)), timeout=5)
    ih = hashlib.sha1(lt.bencode(info)).digest()
    s.sendall(b"\x13BitTorrent protocol" + bytes([0, 0, 0, 0, 0, 0, 0, 0x14]) + ih +
              b"-XX0000-" + bytes(12))
    return s

def read_msg(s):
    hdr = b""
    while len(hdr) < 4:
        c = s.recv(4 - len(hdr))
        if not c:
            raise EOFError
        hdr += c
    (ln,) = struct.unpack(">I", hdr)
    body = b""
    while len(body) < ln:
        c = s.recv(ln - len(body))
        if not c:
            raise EOFError
        body += c
    return body

def req(r, base, index, length, proof):
    return r + struct.pack(">IIII", base, index, length, proof)

def ask(s, payload):
    s.sendall(struct.pack(">IB", 49, 21) + payload)
    while True:  # skip the intro: bitfield/have_all, extended handshake
        m = read_msg(s)
        if m and m[0] in (22, 23):
            return m

def climb(hs, index, length, proof):
    row = [hs[i * 32:(i + 1) * 32] for i in range(length)]
    pad = bytes(32)
    for _ in range(height):
        pad = hashlib.sha256(pad + pad).digest()
    while len(row) > 1:
        row = [hashlib.sha256(row[i] + row[i + 1]).digest() for i in range(0, len(row), 2)]
    h, pos = row[0], index // length
    for k in range(len(proof) // 32):
        u = proof[k * 32:(k + 1) * 32]
        h = hashlib.sha256(u + h if pos & 1 else h + u).digest()
        pos //= 2
    return h

s = connect()
s.recv(68)
# valid: the first 4 piece hashes with their proof (asked while choked: never interested)
p = req(root, height, 4, 4, 32)
m = ask(s, p)
if m[0] != 22 or m[1:49] != p:
    bad.append("valid request: answer id %d" % m[0])
else:
    hs = m[49:]
    if hs[:128] != layer[128:256]:
        bad.append("valid request: hashes differ from the piece layer")
    if climb(hs[:128], 4, 4, hs[128:]) != root:
        bad.append("valid request: the proof does not climb to the pieces root")
for label, payload in (("unknown root", req(bytes(32), height, 0, 2, 0)),
                       ("a layer above the pieces", req(root, height + 1, 0, 2, 0)),
                       ("length 1", req(root, height, 0, 1, 0)),
                       ("length 3", req(root, height, 0, 3, 0)),
                       ("length 2^31", req(root, height, 0, 1 << 31, 0)),
                       ("index off the length", req(root, height, 2, 4, 0)),
                       ("past the layer", req(root, height, 1 << 20, 2, 0))):
    m = ask(s, payload)
    if m[0] != 23 or m[1:] != payload:
        bad.append("%s: answer id %d, want hash_reject echoing the request" % (label, m[0]))
s.close()
# flood: requests never read
s = connect()
s.settimeout(10)
try:
    for i in range(20000):
        s.sendall((struct.pack(">IB", 49, 21) + req(root, height, 0, 512, 64)) * 16)
    bad.append("flood: still connected after 320000 requests")
except OSError:
    pass
s.close()
print("\n".join(bad) or "hand-made requests: hashes with a proof to the root; 7 kinds rejected; flood dropped")
sys.exit(1 if bad else 0)
PYEOF
	{ fail "hand-made hash requests"; show "$work/hand.out"; }
cat "$work/hand.out"
serve_wait_stat hash_rejects 7 5 || fail "hash_rejects=$(serve_stat hash_rejects), want 7"
serve_wait_stat drop_flood 1 5 || fail "drop_flood=$(serve_stat drop_flood), want 1"
# still serving
rm -rf "$work/dl2"
"$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --save "$work/dl2" --timeout 30 \
	"$S_DIR/torrents/tree-v2.torrent" >"$work/leech2.out" 2>&1 ||
	{ fail "no download after the hostile peers"; show "$work/leech2.out"; }
serve_stop
serve_logs_clean
[ $fails -eq 0 ]
