# fetch.sh - what the `ringseed fetch` end-to-end scripts (tests/e2e/fetch_*.sh)
# share; source it after tests/lib/e2e.sh and tests/lib/serve.sh.
#
#   fetch_dirs DIR                  DIR/{data,state}
#   fetch_go LOG T DIR ARGS...      `ringseed fetch T -d DIR/data -s DIR/state
#                                   --exit-when-done ARGS` in the foreground,
#                                   stderr to LOG; its exit status
#   fetch_bg LOG T DIR ARGS...      the same in the background; sets $BG_PID
#   fetch_count LOG NAME            a counter of the last "complete"/"stopped"
#                                   line of LOG (pieces, bytes, bans, ...)
#   fetch_state_some FILE           the .fetch state FILE holds a piece or more
#   fetch_lt_seed LOG T SAVE PORT [--rate B]
#                                   python3-libtorrent seeding T from SAVE on
#                                   127.0.0.1:PORT (tests/lib/fetch_lt.py);
#                                   waits for "seeding"
FETCH_LT=$E2E_LIB/fetch_lt.py

fetch_dirs() {
	mkdir -p "$1/data" "$1/state"
}

fetch_go() {
	local log=$1 t=$2 dir=$3
	shift 3
	"$RINGSEED" fetch "$t" -d "$dir/data" -s "$dir/state" --exit-when-done "$@" 2>"$log"
}

fetch_bg() {
	local log=$1 t=$2 dir=$3
	shift 3
	bg "$RINGSEED" fetch "$t" -d "$dir/data" -s "$dir/state" --exit-when-done "$@" 2>"$log"
}

fetch_count() {
	grep -E 'fetch: .*: (complete|stopped) in' "$1" | tail -n 1 |
		grep -oE " $2=[0-9]+" | cut -d= -f2
}

fetch_lt_seed() {
	local log=$1
	shift
	bg "$PY" "$FETCH_LT" seed "$@" >"$log" 2>&1
	wait_until 20 grep -q '^seeding' "$log" || { fail "libtorrent seeder: $(cat "$log")"; return 1; }
}

# fetch_state_some FILE: the .fetch resume state FILE has at least one piece
fetch_state_some() {
	[ -s "$1" ] && "$PY" - "$1" <<'PYEOF'
import sys
raw = open(sys.argv[1], "rb").read()
i = raw.find(b"4:have")
if i < 0:
    sys.exit(1)
j = raw.index(b":", i + 6)
n = int(raw[i + 6:j])
sys.exit(0 if any(raw[j + 1:j + 1 + n]) else 1)
PYEOF
}
