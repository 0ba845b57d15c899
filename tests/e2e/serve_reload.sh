#!/usr/bin/env bash
# timeout: 120
#
# `ringseed serve` reloads and restarts:
# 1. SIGHUP while a libtorrent leecher downloads keep.bin (2 MB/s, about 6 s):
#    new.bin (content + .torrent dropped into the dirs) is added and gone.bin
#    (.torrent deleted) removed. The log says `reload: 3 torrents (+1, -1)`;
#    the keep.bin download completes byte-exact without ever losing its
#    connection; new.bin downloads byte-exact; a peer connected to gone.bin
#    before the reload is closed, and a new handshake for gone.bin gets EOF
#    with drop_unknown_hash +1.
# 2. Restart with unchanged content: every torrent `verified from state`,
#    nothing hashed.
# 3. One byte of tree/a/b/c/deep.bin changed (same size), restart: the log
#    names the bad piece as `piece N bad (...deep.bin at offset O)`, only the
#    pieces of deep.bin are hashed again, the tree still seeds; a peer gets a bitfield without piece N (no HAVE_ALL), a
#    reject_request for it, right bytes elsewhere; a libtorrent leecher gets
#    every piece but N, byte-exact, and never N; the other torrents are
#    still verified from state.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1
start=$(date +%s)

serve_init "$work/s"
serve_add_file keep.bin $((12 * 1048576 + 17)) || exit 1
serve_add_file gone.bin $((1048576 + 5)) || exit 1
serve_add_tree tree || exit 1
gone_hash=$(serve_hash gone.bin)
# new.bin's content is there from the start (no torrent names it yet): its
# .torrent alone is dropped in before SIGHUP
"$PY" "$LT" mkfile "$S_DIR/data/new.bin" $((2 * 1048576 + 3)) new.bin || exit 1
serve_settle
OPTS=(--workers 2 -o serve.stats_interval=1 -o paths.watch=no) # SIGHUP, not inotify, here
serve_start "${OPTS[@]}" || exit 1
grep -q ' ready: 3 torrents, 2 workers$' "$S_LOG" || fail "want 'ready: 3 torrents, 2 workers'"

hostile() {
	local c=$1 t=$2 ip=$3
	shift 3
	"$PY" "$E2E_LIB/serve_hostile.py" "$c" --peer "127.0.0.1:$S_PORT" --torrent "$S_DIR/torrents/$t.torrent" \
		--content "$S_DIR/data/$t" --bind "127.0.0.$ip" "$@"
}

# --- 1. SIGHUP during a download
mkdir -p "$work/keep"
bg "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.2 --save "$work/keep" --timeout 60 \
	--rate 2000000 --max-disconnects 0 --status "$work/keep.status" \
	"$S_DIR/torrents/keep.bin.torrent" >"$work/keep.out" 2>&1
keep=$BG_PID
under_way() {
	local p
	p=$(sed -n 's/^keep.bin \([0-9]*\)\/.* 1$/\1/p' "$work/keep.status" 2>/dev/null)
	[ -n "$p" ] && [ "$p" -ge 40 ]
}
wait_until 20 under_way || fail "the keep.bin leecher was not under way within 20 s"
hostile hold gone.bin 3 --wait 15 >"$work/hold.out" 2>&1 &
hold=$!
wait_until 10 grep -qs '^hold: greeted' "$work/hold.out" || fail "could not connect to gone.bin before the reload"

serve_torrent "$S_DIR/data/new.bin" new.bin
rm -f "$S_DIR/torrents/gone.bin.torrent"
echo "SIGHUP at keep.bin $(head -n 1 "$work/keep.status")"
kill -HUP "$S_PID"
serve_wait_log ' reload: 3 torrents \(\+1, -1\)$' 10 ||
	{ fail "no 'reload: 3 torrents (+1, -1)' within 10 s of SIGHUP"; show_tail "$S_LOG" 10; }
serve_wait_log " torrent new.bin $(serve_hash new.bin): [0-9]+ bytes, [0-9]+ pieces, seeding$" 5 ||
	fail "no 'torrent new.bin HEX: ... seeding' line within 5 s of the reload (checked off the loop)"

mkdir -p "$work/new"
if "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.4 --save "$work/new" --timeout 30 \
	"$S_DIR/torrents/new.bin.torrent" >"$work/new.out" 2>&1; then
	cat "$work/new.out"
	tree_cmp "$S_DIR/data/new.bin" "$work/new/new.bin" || fail "new.bin differs"
else
	fail "new.bin (added by SIGHUP) could not be downloaded"
	show "$work/new.out"
fi
if wait $hold; then
	tail -n 1 "$work/hold.out"
else
	fail "the peer of gone.bin (removed by SIGHUP) stayed connected"
	show "$work/hold.out"
fi
before=$(serve_stat drop_unknown_hash)
"$PY" "$E2E_LIB/serve_hostile.py" unknown-hash --hash "$gone_hash" --peer "127.0.0.1:$S_PORT" \
	--torrent "$S_DIR/torrents/keep.bin.torrent" --bind 127.0.0.5 ||
	fail "a handshake for gone.bin (removed) was not refused"
serve_wait_stat drop_unknown_hash $((${before:-0} + 1)) 5 ||
	fail "drop_unknown_hash went from ${before:-?} to $(serve_stat drop_unknown_hash), want +1"
if wait $keep; then
	cat "$work/keep.out"
	tree_cmp "$S_DIR/data/keep.bin" "$work/keep/keep.bin" || fail "keep.bin differs"
else
	fail "the keep.bin download across SIGHUP failed or lost its connection"
	show "$work/keep.out"
fi
serve_stop

# --- 2. restart, nothing changed
t0=$(date +%s.%N)
if serve_start "${OPTS[@]}"; then
	echo "restart to ready: $(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)") s"
	n=$(grep -c 'verified from state' "$S_LOG")
	[ "$n" -ge 3 ] || { fail "restart, unchanged: $n 'verified from state' lines, want one per torrent (3)"; show_tail "$S_LOG" 10; }
	grep -qw 'hashed' "$S_LOG" && { fail "restart, unchanged: something was hashed again"; grep -w hashed "$S_LOG" | head -n 3; }
	serve_stop
fi

# --- 3. one byte of the tree changed
# the piece holding byte 1000000 of deep.bin, where it starts in the file, and
# how many pieces deep.bin touches (those alone are hashed again)
read -r bad_piece bad_off deep_pieces < <("$PY" - "$S_DIR/torrents/tree.torrent" <<'EOF'
import sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
fs = ti.files()
pl = ti.piece_length()
for i in range(fs.num_files()):
    if fs.file_path(i).endswith("deep.bin"):
        foff, size = fs.file_offset(i), fs.file_size(i)
        n = (foff + 1000000) // pl
        print(n, n * pl - foff, (foff + size - 1) // pl - foff // pl + 1)
EOF
)
deep=$S_DIR/data/tree/a/b/c/deep.bin
cp "$deep" "$work/deep.orig"
printf '\x5a' | dd of="$deep" bs=1 seek=1000000 conv=notrunc status=none
cmp -s "$deep" "$work/deep.orig" && printf '\xa5' | dd of="$deep" bs=1 seek=1000000 conv=notrunc status=none
echo "changed byte 1000000 of deep.bin: piece $bad_piece (starts at offset $bad_off of the file)"
if serve_start "${OPTS[@]}"; then
	line=$(grep -E " piece $bad_piece bad \(.*deep\.bin at offset [0-9]+\)" "$S_LOG")
	if [ -z "$line" ]; then
		fail "no 'piece $bad_piece bad (.../deep.bin at offset O)' line"
		show_tail "$S_LOG" 12
	else
		echo "log: ${line#*: }"
		echo "$line" | grep -qE "at offset ($bad_off|1000000)\)" ||
			fail "the bad piece line gives an offset that is neither the piece's ($bad_off) nor the byte's (1000000)"
	fi
	grep -qE " torrent tree $(serve_hash tree): .*seeding" "$S_LOG" || fail "tree does not seed with one bad piece"
	hashed=$(sed -n 's/.* torrent tree: hashed \([0-9]*\) pieces.*/\1/p' "$S_LOG")
	[ "$hashed" = "$deep_pieces" ] ||
		fail "tree: hashed ${hashed:-no} pieces, want the $deep_pieces that deep.bin touches (nothing else changed)"
	for t in keep.bin new.bin; do
		grep -qF " torrent $t: verified from state" "$S_LOG" ||
			fail "$t not verified from state after a change to another torrent"
	done
	hostile greet tree 6 --missing "$bad_piece" || fail "the greeting/serving of tree with bad piece $bad_piece is wrong"
	mkdir -p "$work/tree"
	if "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.7 --save "$work/tree" --timeout 30 \
		--missing "$bad_piece" --hold 3 "$S_DIR/torrents/tree.torrent" >"$work/tree.out" 2>&1; then
		cat "$work/tree.out"
		while IFS= read -r -d '' f; do
			[ "$f" = a/b/c/deep.bin ] && continue
			cmp -s "$S_DIR/data/tree/$f" "$work/tree/tree/$f" || fail "tree/$f differs"
		done < <(cd "$S_DIR/data/tree" && find . -type f -size +0 -printf '%P\0')
		pl=$((32 * 1024))
		cmp -s -n "$bad_off" "$deep" "$work/tree/tree/a/b/c/deep.bin" &&
			cmp -s -i $((bad_off + pl)) "$deep" "$work/tree/tree/a/b/c/deep.bin" ||
			fail "deep.bin outside the bad piece differs"
	else
		fail "the leecher did not get every piece but $bad_piece (or got $bad_piece)"
		show "$work/tree.out"
	fi
	serve_stop
fi
serve_logs_clean

echo "serve_reload: $(($(date +%s) - start)) s, $fails failures"
[ $fails -eq 0 ]
