#!/usr/bin/env bash
# timeout: 60
# The include-direction checker passes on the tree and catches each kind of
# violation when one is planted in a copy.
set -u
. "$TOP/tests/lib/e2e.sh"

if ! "$TOP/tests/check-deps.sh" "$TOP" >"$work/tree.out" 2>&1; then
	fail "check-deps refuses the tree itself"
	show "$work/tree.out"
fi

# plant N DIR FILE LINE: copy the tree to t.N, add LINE to DIR/FILE, expect
# failure; what went wrong goes to res.N (the plants run nproc at once: each
# is a few hundred greps, and nothing here is timed)
plant() {
	local t=$work/t.$1
	shift
	mkdir -p "$t"
	for d in proto conf iocore worker master bench; do
		[ -d "$TOP/$d" ] && cp -r "$TOP/$d" "$t/"
		mkdir -p "$t/$d"
	done
	mkdir -p "$t/$1"
	printf '%s\n' "$3" >>"$t/$1/$2"
	if "$TOP/tests/check-deps.sh" "$t" >"$t.out" 2>&1; then
		echo "check-deps missed: $1/$2: $3" >"$t.res"
	elif ! grep -q "$1/" "$t.out"; then
		{ echo "check-deps refused $1/$2: $3, but its message does not name $1/"; show "$t.out"; } >"$t.res"
	fi
	rm -rf "$t"
}
n=0
jobs=$(nproc)
plants=()
p() { # DIR FILE LINE: one more plant, in the background
	n=$((n + 1))
	plant "$n" "$@" &
	plants+=($!)
	[ "$(jobs -rp | wc -l)" -lt "$jobs" ] || wait -n
}
p proto planted.c '#include "iocore/log.h"'
p proto planted.c '#include <unistd.h>'
p proto planted.h '#include <liburing.h>'
p iocore planted.c '#include "proto/bencode.h"'
p iocore planted.c '#include <openssl/sha.h>'
p conf planted.c '#include "iocore/log.h"'
p worker planted.c '#include "master/cmd/cmd.h"'
p worker planted.c '#include <curl/curl.h>'
p master/proc planted.c '#include "worker/peer.h"'
p master/announce planted.c '#include "master/proc/master.h"'
p master/tracker planted.c '#include "master/proc/master.h"'
p master/content planted.c '#include "master/announce/announce.h"'
p master/proc planted.c '#include "master/cmd/cmd.h"'
p master planted.c '#include "proto/wire.h"'
p master/newroom planted.c '#include "proto/wire.h"'
p bench planted.c '#include "conf/conf.h"'
wait "${plants[@]}"
for ((i = 1; i <= n; i++)); do
	[ ! -s "$work/t.$i.res" ] || fail "$(cat "$work/t.$i.res")"
done
echo "check_deps: $fails failures"
[ "$fails" -eq 0 ]
