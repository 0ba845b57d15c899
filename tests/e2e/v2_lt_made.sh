#!/usr/bin/env bash
# timeout: 150
#
# BEP 52 torrents made by libtorrent (tests/data/make-v2.py: python3-libtorrent's
# create_torrent, v2-only and hybrid, one file and a tree, pieces of 16, 32
# and 64 KiB):
#   - `ringseed info --json` loads each with libtorrent's format and both
#     info-hashes (the v2 one, and for v2-only its 20-byte truncation);
#   - `ringseed serve` verifies them (v2-only by the merkle trees, hybrids by
#     the faster hash set, named in the log), and python3-libtorrent
#     downloads each byte-exact from ringseed alone, checking every piece;
#   - a handshake with a hybrid's v1 info-hash or its v2 one cut to 20 bytes
#     reaches the torrent and gets that same hash back (BEP 52), as does a
#     v2-only torrent's; an unknown hash is dropped;
#   - a restart with unchanged content is verified from the state files at
#     once; a byte changed in one file makes exactly its piece bad, for the
#     v2 torrent and the hybrid alike.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1

"$PY" "$TOP/tests/data/make-v2.py" "$work/lt" >"$work/make.out" 2>&1
rc=$?
[ $rc -eq 77 ] && { cat "$work/make.out"; exit 77; }
[ $rc -eq 0 ] || { fail "make-v2.py failed"; show "$work/make.out"; exit 1; }

# 1. info: format and hashes as libtorrent has them.
n=0
while IFS=$'\t' read -r file fmt v1 v2 src; do
	n=$((n + 1))
	if ! "$RINGSEED" info --json "$work/lt/$file" >"$work/info.json" 2>"$work/info.err"; then
		fail "ringseed info $file refused it"
		show "$work/info.err"
		continue
	fi
	[ -s "$work/info.err" ] && { fail "ringseed info $file: warnings"; show "$work/info.err"; }
	want1=$v1
	[ "$v1" = - ] && want1=${v2:0:40}
	"$PY" - "$work/info.json" "$fmt" "$want1" "$v2" <<'PYEOF' >"$work/check.out" 2>&1 ||
import json, sys
d = json.load(open(sys.argv[1]))
fmt, v1, v2 = sys.argv[2:5]
bad = ["%s: %r, want %r" % (k, d.get(k), w) for k, w in
       (("format", fmt), ("info_hash", v1), ("info_hash_v2", v2)) if d.get(k) != w]
if "urn:btmh:1220" + v2 not in d["magnet"]:
    bad.append("magnet without btmh: %s" % d["magnet"])
if ("urn:btih:" in d["magnet"]) != (fmt == "hybrid"):
    bad.append("magnet btih for %s: %s" % (fmt, d["magnet"]))
if not all(f.get("pieces_root") for f in d["files"] if not f.get("pad") and f["length"]):
    bad.append("a file without its pieces root")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
		{ fail "ringseed info --json $file"; show "$work/check.out"; }
done <"$work/lt/MANIFEST"
[ $n -eq 12 ] || fail "$n torrents in the manifest, want 12"
echo "info: $n libtorrent-made torrents loaded with libtorrent's hashes"

# 2. serve them; libtorrent downloads each from ringseed.
S_PL=32K
serve_init "$work/s"
cp -r "$work/lt/data/one.bin" "$work/lt/data/tree" "$S_DIR/data/"
for t in tree-v2-32768 tree-hybrid-16384 one-v2-65536 one-hybrid-32768; do
	cp "$work/lt/$t.torrent" "$S_DIR/torrents/"
done
serve_settle
serve_start || exit 1
for t in tree-v2-32768 one-v2-65536; do
	h=$("$PY" -c 'import libtorrent as lt, sys
print(str(lt.torrent_info(sys.argv[1]).info_hashes().v2)[:40])' "$S_DIR/torrents/$t.torrent")
	grep -qE "notice: torrent [a-z.]+ $h: [0-9]+ bytes, [0-9]+ pieces, seeding \(v2\)$" "$S_LOG" ||
		{ fail "$t ($h) is not seeding as v2"; show_tail "$S_LOG" 12; }
done
n=$(grep -c 'hashed [0-9]* pieces (SHA-256 merkle (BEP 52))' "$S_LOG")
[ "$n" -ge 2 ] || fail "$n torrents verified by their merkle trees, want at least the 2 v2-only ones"
n=$(grep -c 'hashed [0-9]* pieces (.*) in .* ([0-9]* good, 0 bad)' "$S_LOG")
[ "$n" -eq 4 ] || { fail "$n torrents hashed all good, want 4"; show_tail "$S_LOG" 12; }
grep -q ' ready: 4 torrents' "$S_LOG" || fail "not 4 torrents ready"

"$PY" - "127.0.0.1:$S_PORT" "$S_DIR"/torrents/*.torrent <<'PYEOF' >"$work/hs.out" 2>&1 ||
import socket, sys
import libtorrent as lt
host, port = sys.argv[1].rsplit(":", 1)
bad = []
def try_hash(h, label, want):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(b"\x13BitTorrent protocol" + bytes(8) + h + b"-XX0000-" + bytes(12))
    got = b""
    try:
        while len(got) < 68:
            c = s.recv(68 - len(got))
            if not c:
                break
            got += c
    except OSError:
        pass
    s.close()
    ok = len(got) == 68 and got[28:48] == h
    if ok != want:
        bad.append("%s: %s" % (label, "answered" if ok else "no handshake back (%d bytes)" % len(got)))
for t in sys.argv[2:]:
    hs = lt.torrent_info(t).info_hashes()
    if hs.has_v1():
        try_hash(hs.v1.to_bytes(), t + " v1", True)
    try_hash(hs.v2.to_bytes()[:20], t + " v2 truncated", True)
try_hash(bytes(range(20)), "unknown hash", False)
print("\n".join(bad) or "handshakes: every v1 and truncated v2 hash answered with itself")
sys.exit(1 if bad else 0)
PYEOF
	{ fail "handshakes by info-hash"; show "$work/hs.out"; }
cat "$work/hs.out"

for set in v2 hybrid; do
	ts=()
	for t in "$S_DIR"/torrents/*-"$set"-*.torrent; do ts+=("$t"); done
	if ! "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --save "$work/dl-$set" --timeout 40 \
		"${ts[@]}" >"$work/leech-$set.out" 2>&1; then
		fail "libtorrent could not download the $set torrents from ringseed"
		show "$work/leech-$set.out"
	fi
	cat "$work/leech-$set.out"
	tree_cmp "$S_DIR/data/tree" "$work/dl-$set/tree" --skip-empty || fail "$set: tree differs"
	tree_cmp "$S_DIR/data/one.bin" "$work/dl-$set/one.bin" || fail "$set: one.bin differs"
done
serve_stop

# 3. Restart: from state at once; then one byte changed in tree/a.bin.
serve_start || exit 1
n=$(grep -c 'verified from state' "$S_LOG")
[ "$n" -eq 4 ] || { fail "restart: $n torrents verified from state, want 4"; show_tail "$S_LOG" 12; }
serve_stop
printf 'X' | dd of="$S_DIR/data/tree/a.bin" bs=1 seek=70000 conv=notrunc status=none
serve_settle
serve_start || exit 1
# a.bin starts the torrent, so byte 70000 is in piece 70000 / piece length.
grep -q 'warning: torrent tree: piece 2 bad (tree/a.bin at offset 65536)' "$S_LOG" ||
	{ fail "v2 (32 KiB pieces): piece 2 of tree not found bad"; show_tail "$S_LOG" 12; }
grep -q 'warning: torrent tree: piece 4 bad (tree/a.bin at offset 65536)' "$S_LOG" ||
	{ fail "hybrid (16 KiB pieces): piece 4 of tree not found bad"; show_tail "$S_LOG" 12; }
n=$(grep -c ' bad (' "$S_LOG")
[ "$n" -eq 2 ] || fail "$n bad pieces, want 2"
n=$(grep -c 'torrent one.bin: verified from state' "$S_LOG")
[ "$n" -eq 2 ] || fail "one.bin: $n torrents verified from state, want 2"
serve_stop
serve_logs_clean
[ $fails -eq 0 ]
