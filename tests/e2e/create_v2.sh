#!/usr/bin/env bash
# timeout: 150
#
# `ringseed create` of v2 (BEP 52) and hybrid torrents, against libtorrent:
#   - `create -f v2 -l N` gives the v2 info-hash libtorrent's create_torrent
#     (v2 only) gives for the same content and piece length (one file and a
#     tree with an empty file, nested directories and sizes around 16 KiB
#     and the piece boundaries; 16, 32 and 64 KiB pieces);
#   - the default format is hybrid: libtorrent loads it with the same v1
#     and v2 info-hashes as `ringseed info --json`, every file's pieces root
#     and a BEP 47 pad file before each file that needs one;
#   - transmission-show accepts `-f v1`, and judges our hybrid as it judges
#     libtorrent's (3.00 refuses every torrent with a file tree);
#   - ringseed serves its own v2 and hybrid torrents, and python3-libtorrent
#     downloads them byte-exact from it alone, with each send strategy (the
#     blocks that end a file run on into its pad file: zeros).
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
DATA=$work/lt/data

# 1. v2 info-hashes equal libtorrent's.
n=0
while IFS=$'\t' read -r file fmt v1 v2 src; do
	[ "$fmt" = v2 ] || continue
	pl=${file##*-}
	pl=${pl%.torrent}
	if ! "$RINGSEED" create -q -f v2 -l "$pl" "$DATA/$src" -o "$work/rs-$file" \
		>"$work/create.out" 2>"$work/create.err"; then
		fail "create -f v2 -l $pl $src failed"
		show "$work/create.err"
		continue
	fi
	got=$(sed -n 's/.*, v2, v2 info-hash \([0-9a-f]\{64\}\)$/\1/p' "$work/create.out")
	[ "$got" = "$v2" ] || { fail "create -f v2 -l $pl $src: v2 info-hash '$got', libtorrent's $v2"; show "$work/create.out"; }
	n=$((n + 1))
done <"$work/lt/MANIFEST"
[ $n -eq 6 ] || fail "$n v2 torrents compared, want 6"
echo "create -f v2: $n info-hashes equal libtorrent's"

# 1b. An unknown format: exit 2, one line, nothing written.
for f in v3 V2 "" hybrid2; do
	rm -f "$work/bad.torrent"
	"$RINGSEED" create -q -f "$f" "$DATA/one.bin" -o "$work/bad.torrent" >"$work/bad.out" 2>"$work/bad.err"
	rc=$?
	[ $rc -eq 2 ] && [ ! -e "$work/bad.torrent" ] && grep -q "^ringseed create: -f $f: want v1, v2 or hybrid$" "$work/bad.err" ||
		{ fail "create -f '$f': exit $rc, want 2 with one line and no file"; show "$work/bad.err"; }
done

# 2. The default is hybrid; libtorrent agrees on both hashes and the layout.
"$RINGSEED" create -l 32K "$DATA/tree" -o "$work/hy.torrent" >"$work/hy.out" 2>"$work/hy.err" ||
	{ fail "create (default format) failed"; show "$work/hy.err"; }
grep -qE '^hashed [0-9]+ bytes in [0-9.]+ s \([0-9.]+ CPU-s\): [0-9]+ MiB/s on [0-9]+ threads? \(SHA-1 and SHA-256 merkle\)$' \
	"$work/hy.err" || { fail "no 'hashed ... (SHA-1 and SHA-256 merkle)' line"; show "$work/hy.err"; }
"$RINGSEED" info --json "$work/hy.torrent" >"$work/hy.json" 2>"$work/hy.info.err" ||
	{ fail "ringseed info refused its own hybrid"; show "$work/hy.info.err"; }
"$PY" - "$work/hy.torrent" "$work/hy.json" <<'PYEOF' >"$work/lt.out" 2>&1 || { fail "libtorrent and ringseed disagree on the hybrid"; show "$work/lt.out"; }
import json, sys
import libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
d = json.load(open(sys.argv[2]))
bad = []
h = ti.info_hashes()
if d["format"] != "hybrid" or not h.has_v1() or not h.has_v2():
    bad.append("format %s, libtorrent v1 %s v2 %s" % (d["format"], h.has_v1(), h.has_v2()))
if str(h.v1) != d["info_hash"] or str(h.v2) != d["info_hash_v2"]:
    bad.append("hashes: libtorrent %s %s, ringseed %s %s" % (h.v1, h.v2, d["info_hash"], d["info_hash_v2"]))
fs = ti.files()
lt_files = [(fs.file_path(i).split("/", 1)[1], fs.file_size(i), fs.file_offset(i))
            for i in range(fs.num_files()) if not fs.pad_file_attribute(i) if hasattr(fs, "pad_file_attribute")] \
    if hasattr(fs, "pad_file_attribute") else \
    [(fs.file_path(i).split("/", 1)[1], fs.file_size(i), fs.file_offset(i))
     for i in range(fs.num_files()) if not (fs.file_flags(i) & lt.file_storage.flag_pad_file)]
rs_files = [(f["path"], f["length"], f["offset"]) for f in d["files"] if not f.get("pad")]
if lt_files != rs_files:
    bad.append("files: libtorrent %s, ringseed %s" % (lt_files, rs_files))
for path, length, off in rs_files:
    if length and off % ti.piece_length():
        bad.append("%s starts at %d, not on a piece boundary" % (path, off))
print("\n".join(bad) or "libtorrent: hybrid with the same hashes and files")
sys.exit(1 if bad else 0)
PYEOF
cat "$work/lt.out"

# 3. transmission-show: v1 accepted; our hybrid judged as libtorrent's.
if command -v transmission-show >/dev/null; then
	"$RINGSEED" create -q -f v1 -l 32K "$DATA/tree" -o "$work/v1.torrent" >/dev/null ||
		fail "create -f v1 failed"
	transmission-show "$work/v1.torrent" >"$work/ts.out" 2>&1 ||
		{ fail "transmission-show refused our v1 torrent"; show "$work/ts.out"; }
	transmission-show "$work/hy.torrent" >/dev/null 2>&1
	ours=$?
	transmission-show "$work/lt/tree-hybrid-32768.torrent" >/dev/null 2>&1
	theirs=$?
	[ $ours -eq $theirs ] ||
		fail "transmission-show: exit $ours on our hybrid, $theirs on libtorrent's"
	echo "transmission-show: v1 accepted; hybrids: exit $ours for ours, $theirs for libtorrent's"
else
	echo "transmission-show missing: not compared"
fi

# 4. ringseed serves its own v2 and hybrid torrents to libtorrent.
S_PL=32K
serve_init "$work/s"
cp -r "$DATA/one.bin" "$DATA/tree" "$S_DIR/data/"
S_FORMAT=v2 serve_torrent "$S_DIR/data/tree" tree-v2 || exit 1
S_FORMAT=v2 serve_torrent "$S_DIR/data/one.bin" one-v2 -l 64K || exit 1
S_FORMAT=hybrid serve_torrent "$S_DIR/data/tree" tree-hybrid -l 16K || exit 1
S_FORMAT=hybrid serve_torrent "$S_DIR/data/one.bin" one-hybrid || exit 1
serve_settle
# Blocks that end a file run on into its pad file: zeros from every send strategy.
for strategy in copy splice send_zc; do
	serve_start --send-strategy "$strategy" || exit 1
	for set in v2 hybrid; do
		dl=$work/dl-$strategy-$set
		if ! "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --save "$dl" --timeout 40 \
			"$S_DIR/torrents/tree-$set.torrent" "$S_DIR/torrents/one-$set.torrent" \
			>"$dl.out" 2>&1; then
			fail "$strategy: libtorrent could not download ringseed's $set torrents"
			show "$dl.out"
		fi
		sed "s/^/$strategy: /" "$dl.out"
		tree_cmp "$S_DIR/data/tree" "$dl/tree" --skip-empty || fail "$strategy $set: tree differs"
		tree_cmp "$S_DIR/data/one.bin" "$dl/one.bin" || fail "$strategy $set: one.bin differs"
	done
	serve_stop
done
serve_logs_clean
[ $fails -eq 0 ]
