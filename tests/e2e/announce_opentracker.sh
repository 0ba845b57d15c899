#!/usr/bin/env bash
# announce_opentracker: `ringseed serve` announces to a real opentracker, one
# torrent over HTTP and one over UDP (BEP 15). For each, a libtorrent leecher
# that knows only the .torrent (no connect_peer) finds ringseed through the
# tracker and downloads it byte-exact. On SIGTERM ringseed's 'stopped' takes
# it off the tracker: the scrape's seeder count drops back to 0.
# timeout: 180
set -u
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"

serve_need
if ! command -v opentracker >/dev/null; then
	echo "skip: opentracker not installed (make deps)"
	exit 77
fi
if ! grep -q -- '-RS0100-' "$RINGSEED"; then
	echo "skip: $RINGSEED has no announcer yet (master/announce/announce.c is not wired into serve)"
	exit 77
fi
ALT=$E2E_LIB/announce_lt.py

# complete URL HASH: the tracker's seeder count for HASH
complete() {
	"$PY" "$ALT" scrape "$1" "$2" 2>/dev/null | cut -d' ' -f1
}
complete_is() {
	[ "$(complete "$1" "$2")" = "$3" ]
}

OT=$(free_port)
serve_init "$work/s"
serve_conf_add "[announce]" "retry_min = 1" "retry_max = 2"
for proto in http udp; do
	"$PY" "$LT" mkfile "$S_DIR/data/rel-$proto" 3000017 "$proto" || fail "mkfile rel-$proto"
done
serve_torrent "$S_DIR/data/rel-http" rel-http -a "http://127.0.0.1:$OT/announce"
serve_torrent "$S_DIR/data/rel-udp" rel-udp -a "udp://127.0.0.1:$OT"
H_HTTP=$(serve_hash rel-http)
H_UDP=$(serve_hash rel-udp)
SCRAPE="http://127.0.0.1:$OT/announce"

# Debian's opentracker serves whitelisted torrents only (-w: one hex info-hash a line)
# opentracker drops to user nobody, who must reach the list through mktemp's 0700 directory
mkdir -p "$work/ot"
printf '%s\n%s\n' "$H_HTTP" "$H_UDP" >"$work/ot/whitelist"
chmod go+x "$work"
chmod go+rx "$work/ot"
chmod go+r "$work/ot/whitelist"
(cd "$work/ot" && exec opentracker -i 127.0.0.1 -p "$OT" -P "$OT" -w "$work/ot/whitelist" \
	-A 127.0.0.1 >"$work/ot/log" 2>&1) &
OT_PID=$!
serve_bg_pids+=("$OT_PID")
if ! wait_until 10 complete_is "$SCRAPE" "$H_HTTP" 0; then
	fail "opentracker on 127.0.0.1:$OT did not answer a scrape"
	show "$work/ot/log"
	exit 1
fi

serve_settle
serve_start || exit 1
for h in "$H_HTTP" "$H_UDP"; do
	wait_until 15 complete_is "$SCRAPE" "$h" 1 ||
		fail "torrent $h: the tracker does not list ringseed as a seeder (complete=$(complete "$SCRAPE" "$h"))"
done

# each leecher on its own address: opentracker hands a peer its own address back
i=2
pids=()
for proto in http udp; do
	mkdir -p "$work/dl-$proto"
	"$PY" "$ALT" leech --bind "127.0.0.$i" --save "$work/dl-$proto" --timeout 90 \
		--expect-peer "127.0.0.1:$S_PORT" "$S_DIR/torrents/rel-$proto.torrent" \
		>"$work/leech-$proto.out" 2>&1 &
	pids+=($!)
	i=$((i + 1))
done
i=0
for proto in http udp; do
	if ! wait "${pids[$i]}"; then
		fail "the $proto leecher did not download rel-$proto through the tracker"
		show "$work/leech-$proto.out"
	elif ! tree_cmp "$S_DIR/data/rel-$proto" "$work/dl-$proto/rel-$proto"; then
		fail "rel-$proto downloaded through the $proto tracker differs"
	else
		echo "$proto: $(tail -n 1 "$work/leech-$proto.out")"
	fi
	i=$((i + 1))
done

# the leechers sent 'stopped' on their way out: ringseed alone again
before=()
for h in "$H_HTTP" "$H_UDP"; do
	wait_until 10 complete_is "$SCRAPE" "$h" 1 ||
		echo "note: torrent $h: complete=$(complete "$SCRAPE" "$h") after the leechers left"
	before[${#before[@]}]=$(complete "$SCRAPE" "$h")
done

serve_stop 10
i=0
for h in "$H_HTTP" "$H_UDP"; do
	want=$((${before[$i]} - 1))
	wait_until 5 complete_is "$SCRAPE" "$h" "$want" ||
		fail "torrent $h: seeders ${before[$i]} -> $(complete "$SCRAPE" "$h") after SIGTERM, want $want ('stopped' not seen)"
	i=$((i + 1))
done
if grep -E ' (warning|error): announce' "$S_LOG" >"$work/ann-errors"; then
	fail "announce failures in the log"
	show "$work/ann-errors"
fi
serve_logs_clean
[ "$fails" -eq 0 ]
