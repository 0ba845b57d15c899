#!/usr/bin/env bash
# timeout: 60
#
# `ringseed fetch` from BEP 19 web seeds (url-list): nginx serving the content
# on 127.0.0.1 (a config written here), whole pieces by Range requests.
#   web-one, web-tree  single-file (the URL is the file) and multi-file (the
#                      URL a folder: name/path appended), from nginx alone:
#                      byte-exact, every byte from the web seed
#   resume             nginx slowed (limit_rate), the fetch killed -9 once
#                      pieces are in, then run again: it resumes, byte-exact
#   mixed              slowed nginx and a capped ringseed seeder side by side:
#                      both contribute (web_bytes and bytes), byte-exact
#   hostile            beside nginx, tests/lib/webseed_bad.py as six web
#                      seeds: 200 for ranges, too long, a redirect loop,
#                      corrupted bytes (banned), a stall, 404; each counted
#                      and logged once with its URL, the fetch byte-exact
#                      from the good one
#   cli                --webseed URL for a torrent without url-list (and
#                      an ftp:// one refused, named)
#   small              a one-piece file from the server without ranges: its
#                      200 is the whole file, which is what was asked
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "skip: no nginx (nginx-light)"; exit 77; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
cd "$work" || exit 1

mkdir -p seed t ng/tmp
"$PY" "$LT" mkfile seed/one.bin 3000007 || exit 1
"$PY" "$LT" mktree seed/tree || exit 1

NP=$(free_port)
cat >ng/nginx.conf <<NGEOF
daemon off;
master_process off;
worker_processes 1;
pid $work/ng/nginx.pid;
error_log $work/ng/error.log warn;
events { worker_connections 256; }
http {
    access_log $work/ng/access.log;
    client_body_temp_path $work/ng/tmp/body;
    proxy_temp_path $work/ng/tmp/proxy;
    fastcgi_temp_path $work/ng/tmp/fastcgi;
    uwsgi_temp_path $work/ng/tmp/uwsgi;
    scgi_temp_path $work/ng/tmp/scgi;
    default_type application/octet-stream;
    sendfile on;
    server {
        listen 127.0.0.1:$NP;
        root $work/seed;
        location / { }
        # the same files at 128 KiB/s a request, in 4 KiB writes (a 32 KiB
        # piece sent in one sendfile would never be slowed): fetches that
        # last a while
        location /slow/ {
            alias $work/seed/;
            sendfile off;
            output_buffers 1 4k;
            limit_rate 128k;
        }
    }
}
NGEOF
bg "$NGINX" -p "$work/ng" -c "$work/ng/nginx.conf" -e "$work/ng/error.log"
wait_until 5 curl -sf -o /dev/null "http://127.0.0.1:$NP/one.bin" || { fail "nginx did not start"; show ng/error.log; exit 1; }
WEB=http://127.0.0.1:$NP

mk() { # NAME SRC WEBSEED...
	local name=$1 src=$2 w=()
	shift 2
	for u in "$@"; do w+=(-w "$u"); done
	"$RINGSEED" create -q -f v1 -l 32K "$src" -o "t/$name.torrent" "${w[@]}" || fail "create $name"
}
mk one seed/one.bin "$WEB/one.bin"
mk tree seed/tree "$WEB/"
mk one-slow seed/one.bin "$WEB/slow/"

check_done() { # NAME CONTENT LOG
	tree_cmp "$2" "$1/data/$(basename "$2")" || fail "$1: content differs"
	sanitizer_clean "$3" || fail "$1: sanitizer report"
}

# --- the web seed alone, single- and multi-file ---
for c in one:seed/one.bin tree:seed/tree; do
	name=web-${c%%:*} tor=t/${c%%:*}.torrent content=$work/${c#*:}
	fetch_dirs "$name"
	if fetch_go "$name.log" "$tor" "$name"; then
		check_done "$name" "$content" "$name.log"
		[ "$(fetch_count "$name.log" web_bytes)" -gt 0 ] || fail "$name: web_bytes=0"
		[ "$(fetch_count "$name.log" bytes)" = 0 ] || fail "$name: bytes from peers?"
	else
		fail "$name: fetch failed"
		show_tail "$name.log"
	fi
done
grep -q '"GET /tree/' ng/access.log || fail "web-tree: no request for name/path"

# --- kill -9 halfway, then resume ---
fetch_dirs resume
fetch_bg resume.1.log t/one-slow.torrent resume
state_some() { # the glob once the file is there
	local f
	for f in resume/state/*.fetch; do fetch_state_some "$f" && return 0; done
	return 1
}
wait_until 15 state_some || fail "resume: no piece saved"
kill -9 "$BG_PID"
wait "$BG_PID" 2>/dev/null
if fetch_go resume.2.log t/one.torrent resume; then
	check_done resume "$work/seed/one.bin" resume.2.log
	grep -qE 'pieces already here' resume.2.log || fail "resume: nothing resumed"
	n=$(fetch_count resume.2.log pieces)
	[ "$n" -gt 0 ] && [ "$n" -lt 92 ] || fail "resume: $n pieces fetched after the restart"
else
	fail "resume: second fetch failed"
	show_tail resume.2.log
fi

# --- a web seed and a ringseed peer together ---
serve_init "$work/srv"
cp seed/one.bin "$S_DIR/data/" && cp t/one-slow.torrent "$S_DIR/torrents/one.torrent"
# both capped (the seeder at 1 MiB/s, the web seed slowed) so that neither
# has it all before the other starts, however loaded the machine
if serve_start -o serve.max_upload_rate=1M; then
	fetch_dirs mixed
	if fetch_go mixed.log t/one-slow.torrent mixed --peer "127.0.0.1:$S_PORT"; then
		check_done mixed "$work/seed/one.bin" mixed.log
		[ "$(fetch_count mixed.log web_bytes)" -gt 0 ] || fail "mixed: nothing from the web seed"
		[ "$(fetch_count mixed.log bytes)" -gt 0 ] || fail "mixed: nothing from the peer"
	else
		fail "mixed: fetch failed"
		show_tail mixed.log
	fi
	serve_stop || true
fi

# --- hostile web seeds beside a good one ---
BP=$(free_port)
bg "$PY" "$E2E_LIB/webseed_bad.py" "$work/seed" "$BP" >bad.log 2>&1
wait_until 10 grep -q '^listening' bad.log || fail "hostile web seed did not start"
BAD=http://127.0.0.1:$BP
for c in one:seed/one.bin tree:seed/tree; do
	n=${c%%:*} name=hostile-${c%%:*} content=$work/${c#*:}
	mk "$name" "seed/$(basename "$content")" "$WEB/" "$BAD/norange/" "$BAD/long/" \
		"$BAD/loop/" "$BAD/corrupt/" "$BAD/stall/" "$BAD/missing/"
	fetch_dirs "$name"
	if ! fetch_go "$name.log" "t/$name.torrent" "$name" -o fetch.request_timeout=1; then
		fail "$name: fetch failed"
		show_tail "$name.log"
		continue
	fi
	check_done "$name" "$content" "$name.log"
	for k in web_no_range web_bad_length web_redirect_loops web_bans web_stalls web_http_errors hash_fails; do
		[ "$(fetch_count "$name.log" $k)" -ge 1 ] || fail "$name: $k=$(fetch_count "$name.log" $k), expected >= 1"
	done
	for m in norange long loop corrupt stall missing; do
		[ "$(grep -c "web seed $BAD/$m/: " "$name.log")" -ge 1 ] || fail "$name: no line about /$m/"
	done
	# logged once per seed and kind, however many times it happened
	[ "$(grep -c "web seed $BAD/norange/: answered" "$name.log")" = 1 ] || fail "$name: /norange/ logged more than once"
	# banned: nothing asked of the corrupt seed after its bad piece
	# (its two pieces in flight at the ban: a request per file each)
	max=2
	[ "$n" = one ] || max=6
	[ "$(grep -c "^corrupt $n" bad.log)" -le $max ] || fail "$name: banned seed asked again ($(grep -c "^corrupt $n" bad.log) requests)"
	# nothing unverified kept: a second run finds every piece
	fetch_go "$name.again.log" "t/$name.torrent" "$name" || fail "$name: second run failed"
	[ "$(fetch_count "$name.again.log" pieces)" = 0 ] || fail "$name: second run fetched pieces"
done

# --- --webseed: a web seed the torrent does not name ---
mk bare seed/one.bin
fetch_dirs cli
if "$RINGSEED" fetch t/bare.torrent -d cli/data -s cli/state --webseed ftp://127.0.0.1/x 2>cli.bad.log; then
	fail "cli: an ftp:// --webseed accepted"
else
	grep -q "webseed 'ftp://127.0.0.1/x': not an http" cli.bad.log || fail "cli: no line naming the ftp URL"
fi
if fetch_go cli.log t/bare.torrent cli --webseed "$WEB/"; then
	check_done cli "$work/seed/one.bin" cli.log
	[ "$(fetch_count cli.log web_bytes)" = 3000007 ] || fail "cli: web_bytes=$(fetch_count cli.log web_bytes)"
else
	fail "cli: fetch failed"
	show_tail cli.log
fi

# --- a server without ranges is still fine for a file that is one whole range ---
"$PY" "$LT" mkfile seed/small.bin 10000 || exit 1
mk small seed/small.bin "$BAD/norange/"
fetch_dirs small
if fetch_go small.log t/small.torrent small; then
	check_done small "$work/seed/small.bin" small.log
	[ "$(fetch_count small.log web_no_range)" = 0 ] || fail "small: a 200 for the whole file refused"
else
	fail "small: fetch failed"
	show_tail small.log
fi
[ "$fails" -eq 0 ]
