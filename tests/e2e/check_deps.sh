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

plant() { # DIR FILE LINE: copy the tree, add LINE to DIR/FILE, expect failure
	rm -rf "$work/t"
	mkdir -p "$work/t"
	for d in proto conf iocore worker master bench; do
		[ -d "$TOP/$d" ] && cp -r "$TOP/$d" "$work/t/"
		mkdir -p "$work/t/$d"
	done
	mkdir -p "$work/t/$1"
	printf '%s\n' "$3" >>"$work/t/$1/$2"
	if "$TOP/tests/check-deps.sh" "$work/t" >"$work/out" 2>&1; then
		fail "check-deps missed: $1/$2: $3"
	elif ! grep -q "$1/" "$work/out"; then
		fail "check-deps refused $1/$2: $3, but its message does not name $1/"
		show "$work/out"
	fi
}
plant proto planted.c '#include "iocore/log.h"'
plant proto planted.c '#include <unistd.h>'
plant proto planted.h '#include <liburing.h>'
plant iocore planted.c '#include "proto/bencode.h"'
plant iocore planted.c '#include <openssl/sha.h>'
plant conf planted.c '#include "iocore/log.h"'
plant worker planted.c '#include "master/cmd/cmd.h"'
plant worker planted.c '#include <curl/curl.h>'
plant master/proc planted.c '#include "worker/peer.h"'
plant master/announce planted.c '#include "master/proc/master.h"'
plant master/tracker planted.c '#include "master/proc/master.h"'
plant master/content planted.c '#include "master/announce/announce.h"'
plant master/proc planted.c '#include "master/cmd/cmd.h"'
plant master planted.c '#include "proto/wire.h"'
plant master/newroom planted.c '#include "proto/wire.h"'
plant bench planted.c '#include "conf/conf.h"'
echo "check_deps: $fails failures"
[ "$fails" -eq 0 ]
