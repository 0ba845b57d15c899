#!/usr/bin/env bash
# timeout: 60
#
# `ringseed fetch` from transmission-cli as the seeder, byte-exact, a single
# file (1 MB + 11 bytes) and the multi-file test tree, each from its own
# transmission-cli, both fetches at once (transmission unchokes a new peer
# only at its 10 s rechoke, so each takes about that long). transmission-cli
# is reached by --peer (it listens on every address; no tracker).
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
command -v transmission-cli >/dev/null || { echo "skip: transmission-cli not installed"; exit 77; }
cd "$work" || exit 1

mkdir -p seed t
"$PY" "$LT" mkfile seed/one.bin $((1048576 + 11)) || exit 1
"$PY" "$LT" mktree seed/tree || exit 1
for n in one.bin tree; do
	"$RINGSEED" create -q -f v1 -l 32K "seed/$n" -o "t/$n.torrent" || exit 1
done
tr_start() { # NAME PORT
	mkdir -p "tr-$1"
	HOME=$work/tr-$1 bg transmission-cli -w "$work/seed" -p "$2" -D "t/$1.torrent" >"tr-$1.log" 2>&1
}
P1=$(free_port)
P2=$(free_port)
tr_start one.bin "$P1"
tr_start tree "$P2"
# the fetch starts once they accept connections (they may still be checking
# their content: the fetch then waits for their have messages)
wait_until 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P1" 2>/dev/null || fail "transmission-cli one.bin does not listen"
wait_until 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P2" 2>/dev/null || fail "transmission-cli tree does not listen"

fetch_dirs l
fetch_bg f1.log t/one.bin.torrent l --peer "127.0.0.1:$P1" -o announce.enable=no
p1=$BG_PID
fetch_bg f2.log t/tree.torrent l --peer "127.0.0.1:$P2" -o announce.enable=no
p2=$BG_PID
wait "$p1" || { fail "fetch of one.bin from transmission failed"; show_tail f1.log; }
wait "$p2" || { fail "fetch of the tree from transmission failed"; show_tail f2.log; }
tree_cmp seed/one.bin l/data/one.bin || fail "one.bin from transmission differs"
# transmission creates no 0-byte file, but it need not: the fetch does
tree_cmp seed/tree l/data/tree || fail "tree from transmission differs"
sanitizer_clean f1.log f2.log || fail "sanitizer report"
[ "$fails" -eq 0 ]
