#!/usr/bin/env bash
# timeout: 60
#
# The command line of bin/ringseed and `ringseed info` output formats:
#   - --help of the program, of create and of info: exit 0, usage on stdout;
#     no command, an unknown command, bad info arguments: exit 2, usage or a
#     message on stderr, nothing on stdout; --version;
#   - `info --json` is strict UTF-8 JSON with exactly the documented keys and
#     types, agrees with the text output and the magnet link, including for
#     files whose names are not UTF-8 (made with `create` from a real tree and
#     written directly), which must come out as valid UTF-8 (U+FFFD);
#   - the magnet link: xt, dn, every tracker as a percent-encoded tr, and
#     x.pe=HOST:PORT with --peer (IPv4, [IPv6], a host name), the same in
#     text and JSON; a --peer that is not HOST:PORT is a usage error.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
PY=/usr/bin/python3

if [ ! -x "$PY" ]; then
	echo "skip: $PY is missing"
	exit 77
fi

. "$TOP/tests/lib/e2e.sh"
cd "$work" || exit 1

# run WANT_RC STDOUT_PATTERN STDERR_PATTERN ARGS...: patterns are grep -E on the
# whole output; "-" means that stream must be empty, "" means anything.
run() {
	local want=$1 outpat=$2 errpat=$3 rc
	shift 3
	"$RINGSEED" "$@" >o 2>e
	rc=$?
	local what="ringseed $*"
	if [ $rc -ne "$want" ]; then
		fail "$what: exit $rc, want $want"
		show e
		return
	fi
	sanitizer_clean o e || { fail "$what: sanitizer report"; show e; return; }
	if [ "$outpat" = - ]; then
		[ -s o ] && { fail "$what: stdout should be empty"; show o; }
	elif [ -n "$outpat" ] && ! grep -qE -- "$outpat" o; then
		fail "$what: stdout lacks /$outpat/"
		show o
	fi
	if [ "$errpat" = - ]; then
		[ -s e ] && { fail "$what: stderr should be empty"; show e; }
	elif [ -n "$errpat" ] && ! grep -qE -- "$errpat" e; then
		fail "$what: stderr lacks /$errpat/"
		show e
	fi
}

# --- help, version, usage errors ----------------------------------------------
run 0 '^usage: ringseed COMMAND' - --help
run 0 '^usage: ringseed COMMAND' - -h
run 0 '^usage: ringseed COMMAND' - help
run 0 '^  create ' - --help
run 0 '^  info ' - --help
run 0 '^ringseed [0-9]+\.[0-9]+\.[0-9]+' - --version
run 2 - '^usage: ringseed COMMAND'
run 2 - "unknown command 'frobnicate'" frobnicate
run 2 - "unknown command" --no-such-flag
run 0 '^usage: ringseed create PATH' - create --help
run 0 '^usage: ringseed create PATH' - create -h
run 0 '^usage: ringseed info ' - info --help
run 0 '^usage: ringseed info ' - info -h
run 2 - '^usage: ringseed info ' info
run 2 - '^usage: ringseed info ' info a.torrent b.torrent
run 2 - 'usage: ringseed info ' info --no-such-option a.torrent
run 2 - '^usage: ringseed create ' create

# --- info --json and text on a torrent made by create ---------------------------
mkdir -p tree/sub
printf 'hello world\n' >tree/a.txt
head -c 40000 /dev/zero >"tree/sub/zero s.bin"
run 0 '' '' create -f v1 tree -q -o tree.torrent -a "http://127.0.0.1:1/a,http://127.0.0.1:2/b" \
	-a "udp://127.0.0.1:3" -w "http://127.0.0.1:4/w/" -c 'quote " backslash \ tab	end' -s SRC
run 0 '' - info --json tree.torrent
cp o tree.json
run 0 '^info-hash: +[0-9a-f]{40}$' - info tree.torrent
cp o tree.txt

# check_json FILE.json [NAMES-ARE-BYTES]: strict UTF-8, exactly the keys, types
check_json() {
	"$PY" - "$@" <<'EOF'
import json, sys
raw = open(sys.argv[1], "rb").read()
try:
    text = raw.decode("utf-8")          # strict: no surrogates, no overlongs
except UnicodeDecodeError as e:
    sys.exit("not valid UTF-8: %s; bytes around it: %r" % (e, raw[max(0, e.start - 20):e.end + 20]))
try:
    d = json.loads(text)
except ValueError as e:
    sys.exit("not JSON: %s" % e)
types = {"name": str, "format": str, "info_hash": str, "info_hash_v2": (str, type(None)),
         "magnet": str, "piece_length": int,
         "piece_count": int, "total_size": int, "private": bool, "multi_file": bool,
         "files": list, "trackers": list, "web_seeds": list, "comment": (str, type(None)),
         "created_by": (str, type(None)), "source": (str, type(None)),
         "creation_date": int, "warnings": int}
errs = []
if set(d) != set(types):
    errs.append("keys: missing %s, extra %s" % (sorted(set(types) - set(d)), sorted(set(d) - set(types))))
for k, t in types.items():
    if k in d and not isinstance(d[k], t):
        errs.append("%s: %r is not %s" % (k, d[k], t))
ih = d.get("info_hash", "")
if len(ih) != 40 or any(c not in "0123456789abcdef" for c in ih):
    errs.append("info_hash %r" % ih)
if not d.get("magnet", "").startswith("magnet:?xt=urn:btih:" + ih + "&dn="):
    errs.append("magnet %r" % d.get("magnet"))
off = 0
for f in d.get("files", []):
    if set(f) - {"path", "length", "offset", "pad"} or not isinstance(f.get("path"), str):
        errs.append("file entry %r" % f)
    if f.get("offset") != off:
        errs.append("file %r: offset %r, want %d" % (f.get("path"), f.get("offset"), off))
    off += f.get("length", 0)
if off != d.get("total_size"):
    errs.append("files add up to %d, total_size %r" % (off, d.get("total_size")))
pl, pc = d.get("piece_length", 0), d.get("piece_count", 0)
if not pl or pc != -(-off // pl):
    errs.append("piece_count %r for %d bytes in pieces of %r" % (pc, off, pl))
for t in d.get("trackers", []):
    if not t or not all(isinstance(u, str) for u in t):
        errs.append("tier %r" % t)
if errs:
    sys.exit("\n".join(errs))
EOF
}

if ! check_json tree.json >py.err 2>&1; then
	fail "info --json tree.torrent"
	show py.err
fi
"$PY" - tree.json tree.txt <<'EOF' >py.err 2>&1 || { fail "info --json and text disagree on tree.torrent"; show py.err; }
import json, sys, urllib.parse
d = json.load(open(sys.argv[1], encoding="utf-8"))
txt = open(sys.argv[2], encoding="utf-8").read()
fields = dict(l.split(":", 1) for l in txt.splitlines() if l[:1] not in (" ", "") and ":" in l)
fields = {k.strip(): v.strip() for k, v in fields.items()}
want = {"name": "tree", "private": False, "multi_file": True, "total_size": 40012,
        "piece_length": 16384, "piece_count": 3, "source": "SRC", "created_by": "ringseed",
        "comment": 'quote " backslash \\ tab\tend', "warnings": 0,
        "web_seeds": ["http://127.0.0.1:4/w/"],
        "trackers": [["http://127.0.0.1:1/a", "http://127.0.0.1:2/b"], ["udp://127.0.0.1:3"]],
        "files": [{"path": "a.txt", "length": 12, "offset": 0},
                  {"path": "sub/zero s.bin", "length": 40000, "offset": 12}]}
errs = ["%s: got %r, want %r" % (k, d.get(k), v) for k, v in want.items() if d.get(k) != v]
if fields.get("info-hash") != d["info_hash"]:
    errs.append("text info-hash %r, json %r" % (fields.get("info-hash"), d["info_hash"]))
if fields.get("name") != d["name"]:
    errs.append("text name %r" % fields.get("name"))
m = urllib.parse.urlparse(d["magnet"])
q = urllib.parse.parse_qs(m.query)
if q.get("xt") != ["urn:btih:" + d["info_hash"]] or q.get("dn") != ["tree"] or \
        q.get("tr") != ["http://127.0.0.1:1/a", "http://127.0.0.1:2/b", "udp://127.0.0.1:3"]:
    errs.append("magnet %r parses as %r" % (d["magnet"], q))
if abs(d["creation_date"] - __import__("time").time()) > 3600:
    errs.append("creation_date %r" % d["creation_date"])
if errs:
    sys.exit("\n".join(errs))
EOF

# --- the magnet link: every tracker percent-encoded, x.pe with --peer ----------------
run 0 '' - create -f v1 tree -q -o mag.torrent -a 'http://127.0.0.1:1/ann?k=a+b&z=%41' -a 'udp://[::1]:3' \
	-a 'http://t.example/x'
for peer in 127.0.0.1:6881 '[::1]:6881' seed.example.org:51413; do
	run 0 '^  "magnet": "magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=tree&tr=.*&x\.pe=' - \
		info --json --peer "$peer" mag.torrent
	cp o mag.json
	run 0 '^magnet: +magnet:' - info -p "$peer" mag.torrent
	cp o mag.txt
	"$PY" - mag.json mag.txt "$peer" <<'EOF' >py.err 2>&1 || { fail "magnet with --peer $peer"; show py.err; }
import json, sys, urllib.parse
d = json.load(open(sys.argv[1]))
txt = [l.split(None, 1)[1].strip() for l in open(sys.argv[2]) if l.startswith("magnet:")]
m = d["magnet"]
errs = []
if txt != [m]:
    errs.append("text magnet %r, json %r" % (txt, m))
u = urllib.parse.urlparse(m)
if u.scheme != "magnet" or " " in m or "[" in m.split("&x.pe=")[0]:
    errs.append("%r is not one URI with its query percent-encoded" % m)
if not m.endswith("&x.pe=" + sys.argv[3]):  # literal: libtorrent does not decode x.pe
    errs.append("%r does not end with x.pe=%s as it stands" % (m, sys.argv[3]))
q = urllib.parse.parse_qs(u.query)
want = {"xt": ["urn:btih:" + d["info_hash"]], "dn": ["tree"], "x.pe": [sys.argv[3]],
        "tr": ["http://127.0.0.1:1/ann?k=a+b&z=%41", "udp://[::1]:3", "http://t.example/x"]}
if q != want:
    errs.append("magnet %r parses as %r, want %r" % (m, q, want))
if errs:
    sys.exit("\n".join(errs))
EOF
done
run 0 '' - info --json mag.torrent
grep -q 'x\.pe' o && fail "info without --peer: the magnet has an x.pe"
run 2 - "--peer ::1:6881: an IPv6 address goes in brackets" info --peer ::1:6881 mag.torrent
run 2 - "--peer 127.0.0.1:0: the port must be 1..65535" info --peer 127.0.0.1:0 mag.torrent
run 2 - "--peer 127.0.0.1:65536: the port" info --peer 127.0.0.1:65536 mag.torrent
run 2 - "--peer host: want HOST:PORT" info --peer host mag.torrent
run 2 - "--peer :6881: want HOST:PORT" info --peer :6881 mag.torrent
run 2 - "--peer a/b:1: a character" info --peer a/b:1 mag.torrent
run 2 - 'usage: ringseed info ' info --peer

# --- names that are not UTF-8 ------------------------------------------------------
# Each kind of invalid sequence: a stray byte, a lone continuation, overlong
# forms, a UTF-16 surrogate, a lead byte beyond U+10FFFF, code points beyond
# U+10FFFF, a truncated sequence; plus valid 4-byte UTF-8 and a control byte.
"$PY" - <<'EOF' || fail "could not make the non-UTF-8 tree"
import os
names = [b"ff-\xff", b"cont-\x80", b"overlong2-\xc0\xaf", b"overlong3-\xe0\x80\xaf",
         b"overlong4-\xf0\x80\x80\xaf", b"surrogate-\xed\xa0\x80", b"f5-\xf5\x80\x80\x80",
         b"f7-\xf7\xbf\xbf", b"above-10ffff-\xf4\x90\x80\x80", b"trunc-\xe2\x82",
         b"ok-emoji-\xf0\x9f\x98\x80", b"ctl-\x01\x1b[31m", b"latin1-caf\xe9"]
os.makedirs(b"raw/d\xfe")
for i, n in enumerate(names):
    with open(b"raw/d\xfe/" + n, "wb") as f:
        f.write(b"x" * (i + 1))
# the same, written directly as a single-file torrent's name
info = b"d6:lengthi1e4:name%d:%s12:piece lengthi16384e6:pieces20:%se" % (
    len(b"name-\xed\xa0\x80-\xf5\x80\x80\x80-\xe0\x80\xaf-\xff"),
    b"name-\xed\xa0\x80-\xf5\x80\x80\x80-\xe0\x80\xaf-\xff", b"\x00" * 20)
with open("rawname.torrent", "wb") as f:
    f.write(b"d7:comment4:\xc0\xaf\xed\xa0" + b"4:info" + info + b"e")
EOF
run 0 '' '' create -f v1 raw -q -o raw.torrent
for t in raw rawname; do
	run 0 '' - info --json $t.torrent
	cp o $t.json
	if ! check_json $t.json >py.err 2>&1; then
		fail "info --json $t.torrent (names that are not UTF-8)"
		show py.err
	fi
	run 0 '' - info $t.torrent
done
"$PY" - raw.json <<'EOF' >py.err 2>&1 || { fail "info --json raw.torrent: names"; show py.err; }
import json, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8", "replace"))
paths = [f["path"] for f in d["files"]]
errs = []
if len(paths) != 13:
    errs.append("%d files, want 13" % len(paths))
for p in paths:
    if not p.startswith("d\ufffd/"):
        errs.append("path %r: the directory byte 0xfe is not U+FFFD" % p)
if not any(p.endswith("ok-emoji-\U0001F600") for p in paths):
    errs.append("valid 4-byte UTF-8 was not kept: %r" % paths)
if not any(p.endswith("ctl-\x01\x1b[31m") for p in paths):
    errs.append("control bytes not kept as escapes: %r" % paths)
if errs:
    sys.exit("\n".join(errs))
EOF

echo "info_cli: $fails failures"
[ $fails -eq 0 ]
