#!/usr/bin/env bash
# timeout: 90
#
# core.user / core.group, started as root:
# 1. core.user empty: ringseed refuses to serve as root (exit 1, one line
#    saying to set core.user); an unknown user is refused the same way.
# 2. core.user = nobody, listening on port 881 (below 1024): once ready the
#    master and every worker run as nobody, real, effective, saved and
#    filesystem ids (/proc/PID/status), with no supplementary group of root;
#    a libtorrent leecher downloads byte-exact from port 881; a torrent added
#    by SIGHUP (the state directory belongs to nobody, as the package makes
#    it) is served too; /status answers.
# Skipped when not run as root, or when nobody or port 881 is not available.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
[ "$(id -u)" -eq 0 ] || { echo "skip: not running as root"; exit 77; }
NOBODY=$(getent passwd nobody | cut -d: -f3)
[ -n "$NOBODY" ] || { echo "skip: no user 'nobody'"; exit 77; }
"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 881))' 2>/dev/null ||
	{ echo "skip: port 881 on 127.0.0.1 is taken"; exit 77; }
cd "$work" || exit 1
chmod 0755 "$work" # nobody may walk to the torrents directory on SIGHUP

serve_init "$work/s"
serve_add_file a.bin $((3 * 1048576 + 17)) || exit 1
serve_settle
chown nobody "$S_DIR/state"

# --- 1. refusals
conf_user() {
	sed -i '/^user = /d; /^group = /d' "$S_DIR/ringseed.conf"
	[ -z "$1" ] || sed -i "s/^\[core\]\$/[core]\nuser = $1/" "$S_DIR/ringseed.conf"
}
conf_user ""
"$RINGSEED" serve -c "$S_DIR/ringseed.conf" --listen 127.0.0.1:881 2>"$work/refuse.log"
rc=$?
[ $rc -eq 1 ] || fail "as root with core.user empty: exit $rc, want 1"
grep -q 'error: refusing to serve as root: set core.user' "$work/refuse.log" ||
	{ fail "no refusal line"; show "$work/refuse.log"; }
conf_user no_such_user_here
"$RINGSEED" serve -c "$S_DIR/ringseed.conf" --listen 127.0.0.1:881 2>"$work/nouser.log" &&
	fail "core.user = no_such_user_here: served"
grep -q "core.user: no user 'no_such_user_here'" "$work/nouser.log" || { fail "no line naming the unknown user"; show "$work/nouser.log"; }

# --- 2. nobody, on port 881
conf_user nobody
S_PORT=881
serve_start || exit 1
grep -q "running as nobody (uid $NOBODY" "$S_LOG" || fail "no 'running as nobody' line"
ids_ok() { # PID: every uid and gid nobody's, no group 0
	local st=/proc/$1/status
	awk -v u="$NOBODY" '/^Uid:/ { if ($2 != u || $3 != u || $4 != u || $5 != u) bad = 1 }
		/^Groups:/ { for (i = 2; i <= NF; i++) if ($i == 0) bad = 1 }
		/^Gid:/ { if ($2 == 0 || $3 == 0 || $4 == 0 || $5 == 0) bad = 1 }
		END { exit bad }' "$st"
}
for p in $S_PID $S_WORKERS; do
	if ids_ok "$p"; then
		echo "pid $p: $(grep -E '^(Uid|Gid):' /proc/$p/status | tr '\t\n' '  ')"
	else
		fail "pid $p does not run as nobody: $(grep -E '^(Uid|Gid|Groups):' /proc/$p/status | tr '\t\n' '  ')"
	fi
done
[ "$(echo $S_WORKERS | wc -w)" -eq 2 ] || fail "workers: $S_WORKERS"
# The master keeps CAP_LEASE (bit 28) and nothing else, for file leases on
# content root owns (master/proc/guard.h); the workers keep nothing.
cap_eff() { awk '/^CapEff:/ { print $2 }' "/proc/$1/status"; }
[ "$(cap_eff "$S_PID")" = 0000000010000000 ] || fail "master CapEff $(cap_eff "$S_PID"), want CAP_LEASE only"
for p in $S_WORKERS; do
	[ "$(cap_eff "$p")" = 0000000000000000 ] || fail "worker $p CapEff $(cap_eff "$p"), want none"
done
t0=$(date +%s%3N)
"$PY" -c "import os; os.close(os.open('$S_DIR/data/a.bin', os.O_WRONLY))"
serve_wait_log "torrent a.bin: a.bin opened for writing; out of service" 3 ||
	fail "a writer's open of root's file was not seen by a lease (CAP_LEASE)"
echo "a writer's open of a.bin (root's) seen as a lease break; $(($(date +%s%3N) - t0)) ms for the open and the log"
serve_wait_log " torrent a.bin: verified from state|torrent a.bin: hashed" 5 || true
wait_until 5 sh -c "grep -cE ' torrent a.bin [0-9a-f]+: .*seeding' '$S_LOG' | grep -q 2" ||
	fail "a.bin not served again after the writer closed it"

"$PY" "$LT" leech --peer 127.0.0.1:881 --bind 127.0.0.2 --save "$work/dl" --timeout 60 \
	"$S_DIR/torrents/a.bin.torrent" >"$work/leech.out" 2>&1 || { fail "download from port 881"; show "$work/leech.out"; }
tree_cmp "$S_DIR/data/a.bin" "$work/dl/a.bin" || fail "a.bin differs"

serve_add_file b.bin 200000 || exit 1
kill -HUP "$S_PID"
serve_wait_log ' (reload|rescan): 2 torrents \(\+1, -0\)' 10 || fail "nobody did not add b.bin (inotify or SIGHUP)"
"$PY" "$LT" leech --peer 127.0.0.1:881 --bind 127.0.0.3 --save "$work/dl2" --timeout 60 \
	"$S_DIR/torrents/b.bin.torrent" >"$work/leech2.out" 2>&1 || { fail "download of b.bin"; show "$work/leech2.out"; }
ls "$S_DIR/state"/*.state >/dev/null 2>&1 || fail "no state file"
"$RINGSEED" status --admin "127.0.0.1:$S_ADMIN" --json | grep -q '"name":"b.bin"' || fail "/status lacks b.bin"
serve_stop || true
serve_logs_clean
[ "$fails" -eq 0 ]
