#!/usr/bin/env bash
# timeout: 60
#
# Never a stale byte (master/proc/guard.h): content changed while served.
# 1. While libtorrent downloads f.bin in order at 1 MB/s, the test opens it
#    with open(O_WRONLY) (which waits for the seeder to let its lease go),
#    overwrites 40 KiB at 3/4 of it and closes it: the torrent is taken out
#    of service before the open returns, rechecked (the changed pieces bad),
#    and served again without them; the download stalls short of them. The
#    bytes are written back: served whole again, and the download completes
#    byte-exact with 0 hash failures (libtorrent's hash_failed_alert).
# 2. The file truncated to half: out of service, the check fails (short);
#    restored: served again, downloads byte-exact.
# 3. The file deleted: out of service; put back (a new inode): served again.
# 4. Another file renamed over it: out of service, then served again.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1

size=$((4 * 1048576))
serve_init "$work/s"
serve_add_file f.bin $size || exit 1
cp "$S_DIR/data/f.bin" "$work/orig.bin"
serve_settle
serve_start || exit 1
f=$S_DIR/data/f.bin
pieces=$((size / 32768))
at=$((size * 3 / 4))
first_bad=$((at / 32768))

# pwrite_from SRC OFFSET LEN: copy SRC[OFFSET, +LEN) into f.bin through a new open(O_WRONLY)
pwrite_from() {
	"$PY" - "$f" "$1" "$2" "$3" <<'PY'
import os, sys, time
dst, src, off, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(src, "rb") as s:
    s.seek(off)
    data = s.read(n)
t = time.monotonic()
fd = os.open(dst, os.O_WRONLY)
print("open waited %.0f ms" % ((time.monotonic() - t) * 1000))
os.pwrite(fd, data, off)
os.close(fd)
PY
}
out_count() { grep -c "torrent f.bin: .* out of service until it is checked again" "$S_LOG"; }
seed_count() { grep -cE " torrent f.bin [0-9a-f]+: [0-9]+ bytes, [0-9]+ pieces, seeding" "$S_LOG"; }
pieces_now() { cut -d' ' -f2 "$work/leech.status" 2>/dev/null | cut -d/ -f1; }

# --- 1. overwritten in the middle, while downloaded
mkdir -p "$work/dl"
bg "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.2 --save "$work/dl" --timeout 40 \
	--rate 1000000 --sequential --status "$work/leech.status" \
	"$S_DIR/torrents/f.bin.torrent" >"$work/leech.out" 2>&1
leech=$BG_PID
enough() { [ "$(pieces_now)" -ge $((pieces / 5)) ] 2>/dev/null; }
wait_until 10 enough ||
	fail "the download did not start"
"$PY" -c "
with open('$work/junk_at.bin', 'wb') as f:
    f.seek($at)
    f.write(bytes((i * 7 + 1) & 255 for i in range(40960)))"
echo "piece now: $(pieces_now)/$pieces when changed (first changed piece $first_bad)"
pwrite_from "$work/junk_at.bin" $at 40960
grep -q "torrent f.bin: f.bin opened for writing; out of service" "$S_LOG" ||
	fail "the writer's open was not seen as a lease break"
serve_wait_log "torrent f.bin: hashed [0-9]+ pieces .*\([0-9]+ good, [1-9][0-9]* bad\)" 5 ||
	fail "no recheck finding the changed pieces bad"
sleep 2.5 # the download goes on up to the changed pieces, and no further
got=$(pieces_now)
echo "pieces while changed: $got/$pieces"
[ "${got:-0}" -lt "$pieces" ] || fail "the download completed while f.bin was changed"
pwrite_from "$work/orig.bin" $at 40960 >/dev/null
serve_wait_log "torrent f.bin: hashed [0-9]+ pieces .*\([0-9]+ good, 0 bad\)" 5 ||
	fail "not served whole again after the bytes were put back"
if wait $leech; then
	tree_cmp "$work/orig.bin" "$work/dl/f.bin" || fail "the download differs"
else
	fail "the download failed (hash failures?)"
fi
show_tail "$work/leech.out" 3
grep -q "hashfails=0" "$work/leech.out" || fail "libtorrent saw hash failures"

# --- 2. truncated
n=$(out_count)
"$PY" -c "import os; os.truncate('$f', $((size / 2)))"
wait_until 3 sh -c "[ \$(grep -c 'out of service until it is checked again' '$S_LOG') -gt $n ]" ||
	fail "a truncate was not seen"
serve_wait_log "torrent f.bin: f.bin: not a regular file of its size; out of service" 3 ||
	fail "the truncated file was not held out"
n=$(seed_count)
cp "$work/orig.bin" "$work/restore.tmp" && cat "$work/restore.tmp" >"$f"
wait_until 5 sh -c "[ \$(grep -cE ' torrent f.bin [0-9a-f]+: .*seeding' '$S_LOG') -gt $n ]" ||
	fail "not served again after the truncate was undone"
mkdir -p "$work/dl2"
"$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.3 --save "$work/dl2" --timeout 15 \
	"$S_DIR/torrents/f.bin.torrent" >"$work/leech2.out" 2>&1 || { fail "download after the truncate"; show "$work/leech2.out"; }
tree_cmp "$work/orig.bin" "$work/dl2/f.bin" || fail "download after the truncate differs"

# --- 3. deleted, then put back
n=$(out_count)
rm "$f"
wait_until 3 sh -c "[ \$(grep -c 'out of service until it is checked again' '$S_LOG') -gt $n ]" ||
	fail "a delete was not seen"
n=$(seed_count)
cp "$work/orig.bin" "$f"
wait_until 5 sh -c "[ \$(grep -cE ' torrent f.bin [0-9a-f]+: .*seeding' '$S_LOG') -gt $n ]" ||
	fail "not served again after the file was put back"
# --- 4. replaced: another file renamed over it (the served inode loses its name)
n=$(out_count)
n2=$(seed_count)
cp "$work/orig.bin" "$S_DIR/data/.f.bin.new" && mv "$S_DIR/data/.f.bin.new" "$f"
wait_until 3 sh -c "[ \$(grep -c 'out of service until it is checked again' '$S_LOG') -gt $n ]" ||
	fail "a rename over the file was not seen"
wait_until 5 sh -c "[ \$(grep -cE ' torrent f.bin [0-9a-f]+: .*seeding' '$S_LOG') -gt $n2 ]" ||
	fail "not served again after the file was replaced"

echo "out of service $(out_count) times; lease breaks $(serve_stat content_lease_breaks), inotify changes $(serve_stat content_changes)"
[ "$(serve_stat content_lease_breaks)" -ge 2 ] 2>/dev/null || fail "fewer than 2 lease breaks counted"
[ "$(serve_stat content_taken_out)" -eq "$(out_count)" ] 2>/dev/null || fail "content_taken_out is not the count of 'out of service' lines"

serve_stop || true
serve_logs_clean
[ "$fails" -eq 0 ]
