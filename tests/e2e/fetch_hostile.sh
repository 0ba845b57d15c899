#!/usr/bin/env bash
# timeout: 40
#
# `ringseed fetch` among bad peers (tests/lib/fetch_peer.py), each on its own
# port, beside one good one (slow: 20 ms a block, so the fetch lasts long
# enough for a snub):
#   corrupt      every block it serves has a flipped byte: its pieces fail
#                the SHA-1 check, are thrown away and fetched again from the
#                good peer; after two bad pieces of its own it is banned
#                (bans=1) and never connected again
#   liar         claims every piece and never sends a block: snubbed after
#                fetch.request_timeout (1 s here), its requests go to others
#   unrequested  sends a block nobody asked for: dropped and counted
#   badhave      a `have` past the last piece: the connection is dropped and
#                counted (bad_messages)
# The result is byte-exact, single-file and multi-file, and nothing bad was
# written: a second run finds every piece already there.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
cd "$work" || exit 1

mkdir -p seed t
"$PY" "$LT" mkfile seed/one.bin 3000007 || exit 1
"$PY" "$LT" mktree seed/tree || exit 1
"$RINGSEED" create -q -f v1 -l 32K seed/one.bin -o t/one.torrent || exit 1
"$RINGSEED" create -q -f v1 -l 32K seed/tree -o t/tree.torrent || exit 1

run_case() { # NAME TORRENT CONTENT
	local name=$1 tor=$2 content=$3 modes="slow corrupt liar unrequested badhave" m p
	local ports=() peers=() specs=()
	for m in $modes; do
		p=$(free_port)
		ports+=("$p")
		specs+=("$p:$m")
		peers+=(--peer "127.0.0.1:$p")
	done
	bg "$PY" "$E2E_LIB/fetch_peer.py" "$tor" "$content" "${specs[@]}" >"$name.peers.log" 2>&1
	wait_until 10 grep -q '^listening' "$name.peers.log" || { fail "$name: test peers did not start"; return; }
	fetch_dirs "$name"
	if ! fetch_go "$name.log" "$tor" "$name" "${peers[@]}" -o fetch.request_timeout=1; then
		fail "$name: fetch failed"
		show_tail "$name.log"
		return
	fi
	tree_cmp "$content" "$name/data/$(basename "$content")" || fail "$name: content differs"
	[ "$(fetch_count "$name.log" bans)" = 1 ] || fail "$name: bans=$(fetch_count "$name.log" bans), expected 1"
	[ "$(fetch_count "$name.log" hash_fails)" -ge 2 ] || fail "$name: fewer than 2 hash failures"
	[ "$(fetch_count "$name.log" snubs)" -ge 1 ] || fail "$name: the liar was never snubbed"
	[ "$(fetch_count "$name.log" unrequested)" -ge 1 ] || fail "$name: no unrequested block counted"
	[ "$(fetch_count "$name.log" bad_messages)" -ge 1 ] || fail "$name: the bad have was not counted"
	grep -q 'banned: sent 2 bad pieces' "$name.log" || fail "$name: no line about the ban"
	# banned: one connection only, however long the fetch ran
	[ "$(grep -c '^corrupt: connection' "$name.peers.log")" = 1 ] ||
		fail "$name: the banned peer was connected again"
	grep -q '^unrequested: connection' "$name.peers.log" || fail "$name: unrequested peer unused"
	# nothing unverified was kept: a new run has every piece and fetches none
	fetch_go "$name.again.log" "$tor" "$name" || fail "$name: second run failed"
	[ "$(fetch_count "$name.again.log" pieces)" = 0 ] || fail "$name: second run fetched pieces"
	sanitizer_clean "$name.log" "$name.again.log" || fail "$name: sanitizer report"
}

run_case one t/one.torrent "$work/seed/one.bin"
run_case tree t/tree.torrent "$work/seed/tree"
[ "$fails" -eq 0 ]
