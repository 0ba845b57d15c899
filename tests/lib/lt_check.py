#!/usr/bin/python3
"""Helper for tests/e2e/create_roundtrip.sh: checks a .torrent made by
`ringseed create` against the content it describes, with independent readers.

Run with Debian's /usr/bin/python3 (python3-libtorrent is installed for it
only); stdlib + libtorrent.

    lt_check.py mktree DIR
        Writes the test tree (deterministic content) into DIR, which must not
        exist: nested directories, odd sizes, empty files, a hidden file,
        names with spaces and UTF-8, a symlink to a file, an empty directory.

    lt_check.py check --torrent T --content PATH --stdout FILE --json FILE [options]
        T was made from PATH by `ringseed create`; FILE holds what create
        printed on stdout, the other FILE what `ringseed info --json T`
        printed. Checks, each against what is expected from PATH and options:
          - our own strict bencode reading of T: info-hash, name, piece length,
            files (paths, sizes, order), trackers, web seeds, comment, source,
            private, created by, and every piece hash recomputed with hashlib;
          - create's stdout line and `info --json`;
          - libtorrent's torrent_info: hash, pieces, files, trackers, web
            seeds, private flag, comment;
          - transmission-show (with --transmission);
          - a libtorrent session that checks PATH: it must be seeding with
            every piece; with --corrupt REL, a byte of that file is flipped
            and after a recheck exactly the piece holding it must be missing
            (then the byte is restored and it must be seeding again).
        options: --piece-length N (default: the automatic rule) --private
                 --tier URL[,URL...] (repeatable, in order) --web-seed URL
                 (repeatable) --comment TEXT --source TEXT --corrupt REL
                 --transmission --no-session (--corrupt: any value for a
                 single file, which is the one corrupted)
Exit status 0 if everything matched, 1 with one line per mismatch otherwise.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

problems = []


def check(cond, what):
    if not cond:
        problems.append(what)
    return cond


def eq(got, want, what):
    return check(got == want, "%s: got %r, want %r" % (what, got, want))


# ------------------------------------------------------------------ the tree

# (relative path, size); 0-byte files included. The total is chosen so that
# the last piece is short at 16 KiB and at 32 KiB.
TREE = [
    (".hidden", 777),
    ("a/16383.bin", 16383),
    ("a/b/16385.bin", 16385),
    ("a/b/c/deep-1000003.bin", 1000003),
    ("a/b/c/one", 1),
    ("a/b/c/empty-deep", 0),
    ("a-b", 5),                 # sorts after "a/..." ('/' first), before "a.txt"
    ("a.txt", 10),
    ("Zcaps", 3),               # upper case sorts before lower case
    ("dir with spaces/file name with spaces.txt", 4097),
    ("ünïcødé/日本語 ファイル.txt", 12345),
    ("empty", 0),
]
SYMLINKS = [("link-to-one", "a/b/c/one")]   # followed: content like any file
EMPTY_DIRS = ["z-empty-dir", "a/b/empty-sub"]


def content_bytes(rel, size):
    """Deterministic bytes for a file: SHA-256 in counter mode over its path."""
    out = bytearray()
    seed = rel.encode()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(seed + i.to_bytes(8, "big")).digest()
        i += 1
    return bytes(out[:size])


def mktree(root):
    os.makedirs(root)
    for rel, size in TREE:
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(content_bytes(rel, size))
    for rel, target in SYMLINKS:
        os.symlink(os.path.relpath(os.path.join(root, target),
                                   os.path.dirname(os.path.join(root, rel))),
                   os.path.join(root, rel))
    for rel in EMPTY_DIRS:
        os.makedirs(os.path.join(root, rel), exist_ok=True)


# ------------------------------------------------------------------ oracle

def expected_files(content):
    """[(components as bytes tuple, size)] in ringseed's order: path order,
    comparing component by component (which is what sorting the tuples
    does). Symlinks to files are followed."""
    if os.path.isfile(content):
        return [((os.path.basename(os.path.realpath(content)).encode(),),
                 os.path.getsize(content))]
    out = []
    base = os.fsencode(content)
    for dirpath, dirnames, filenames in os.walk(base):
        for n in filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, base)
            out.append((tuple(rel.split(b"/")), os.stat(p).st_size))
    out.sort()
    return out


def auto_piece_length(total):
    p = 16 << 10
    while p < (16 << 20) and -(-total // p) > 2500:
        p <<= 1
    return p


# ------------------------------------------------------------------ bencode

class BDecodeError(Exception):
    pass


def bdecode(data):
    """Strict decoder; returns (value, spans) where spans maps id of each
    dict to nothing; the info dictionary's raw span is returned separately."""
    pos = 0
    info_span = [None]

    def val(depth):
        nonlocal pos
        if pos >= len(data):
            raise BDecodeError("truncated")
        c = data[pos:pos + 1]
        if c == b"i":
            end = data.index(b"e", pos)
            s = data[pos + 1:end]
            if not re.fullmatch(rb"-?(0|[1-9][0-9]*)", s) or s == b"-0":
                raise BDecodeError("bad integer %r" % s)
            pos = end + 1
            return int(s)
        if c == b"l":
            pos += 1
            out = []
            while data[pos:pos + 1] != b"e":
                out.append(val(depth + 1))
            pos += 1
            return out
        if c == b"d":
            pos += 1
            out = {}
            last = None
            while data[pos:pos + 1] != b"e":
                k = val(depth + 1)
                if not isinstance(k, bytes):
                    raise BDecodeError("key not a string")
                if last is not None and k <= last:
                    raise BDecodeError("keys not sorted: %r after %r" % (k, last))
                last = k
                start = pos
                out[k] = val(depth + 1)
                if depth == 0 and k == b"info":
                    info_span[0] = (start, pos)
            pos += 1
            return out
        if c.isdigit():
            colon = data.index(b":", pos)
            n = data[pos:colon]
            if not re.fullmatch(rb"0|[1-9][0-9]*", n):
                raise BDecodeError("bad string length")
            n = int(n)
            pos = colon + 1 + n
            if pos > len(data):
                raise BDecodeError("string past end")
            return data[colon + 1:pos]
        raise BDecodeError("unexpected byte %r at %d" % (c, pos))

    v = val(0)
    if pos != len(data):
        raise BDecodeError("trailing bytes")
    return v, info_span[0]


# ------------------------------------------------------------------ checks

def parse_tiers(tier_args):
    return [[u for u in t.split(",") if u] for t in tier_args]


def check_raw(raw, a, files, pl):
    """Our own reading of the .torrent; returns the info-hash."""
    try:
        top, span = bdecode(raw)
    except (BDecodeError, ValueError) as e:
        check(False, "bencode: %s" % e)
        return None
    ih = hashlib.sha1(raw[span[0]:span[1]]).hexdigest()
    info = top[b"info"]
    single = os.path.isfile(a.content)
    total = sum(s for _, s in files)
    name = os.path.basename(os.path.realpath(a.content)).encode()
    eq(info.get(b"name"), name, "info.name")
    eq(info.get(b"piece length"), pl, "info.piece length")
    npieces = -(-total // pl)
    check(total % pl != 0 or a.allow_full_last, "test setup: the last piece is not short "
          "(total %d, piece length %d)" % (total, pl))
    if single:
        eq(info.get(b"length"), total, "info.length")
        check(b"files" not in info, "single file torrent has info.files")
    else:
        check(b"length" not in info, "multi-file torrent has info.length")
        got = [(tuple(f[b"path"]), f[b"length"]) for f in info.get(b"files", [])]
        eq(got, files, "info.files (paths, sizes, order)")
    eq(info.get(b"private"), 1 if a.private else None, "info.private")
    eq(info.get(b"source"), a.source.encode() if a.source is not None else None, "info.source")
    extra = set(info) - {b"name", b"piece length", b"pieces", b"length", b"files",
                         b"private", b"source"}
    eq(sorted(extra), [], "unexpected keys in info")
    pieces = info.get(b"pieces", b"")
    eq(len(pieces), 20 * npieces, "len(info.pieces)")
    # every piece, recomputed from the files on disk
    if not a.no_hashlib:
        h = hashlib.sha1()
        got_n = 0
        bad = []
        filled = 0
        root = os.fsencode(a.content)
        for comps, size in files:
            p = root if single else os.path.join(root, *comps)
            with open(p, "rb") as f:
                while True:
                    chunk = f.read(min(pl - filled, 1 << 20))
                    if not chunk:
                        break
                    h.update(chunk)
                    filled += len(chunk)
                    if filled == pl:
                        if h.digest() != pieces[20 * got_n:20 * got_n + 20]:
                            bad.append(got_n)
                        got_n += 1
                        h = hashlib.sha1()
                        filled = 0
        if filled:
            if h.digest() != pieces[20 * got_n:20 * got_n + 20]:
                bad.append(got_n)
            got_n += 1
        eq(got_n, npieces, "pieces hashed by hashlib")
        eq(bad, [], "pieces whose SHA-1 (hashlib) differs from info.pieces")
    # outside info
    tiers = parse_tiers(a.tier)
    urls = [u for t in tiers for u in t]
    eq(top.get(b"announce"), urls[0].encode() if urls else None, "announce")
    if len(urls) > 1:
        eq(top.get(b"announce-list"), [[u.encode() for u in t] for t in tiers], "announce-list")
    else:
        check(b"announce-list" not in top, "announce-list present for %d URL(s)" % len(urls))
    eq(top.get(b"url-list"), [w.encode() for w in a.web_seed] if a.web_seed else None,
       "url-list")
    eq(top.get(b"comment"), a.comment.encode() if a.comment is not None else None, "comment")
    eq(top.get(b"created by"), b"ringseed", "created by")
    cd = top.get(b"creation date")
    check(isinstance(cd, int) and abs(cd - time.time()) < 3600,
          "creation date %r is not about now" % (cd,))
    return ih


def check_stdout(path, a, ih, files, pl):
    lines = open(path, "rb").read().decode("utf-8").splitlines()
    if not eq(len(lines), 1, "lines create printed on stdout"):
        return
    total = sum(s for _, s in files)
    n = len(files)
    name = os.path.basename(os.path.realpath(a.content))
    want = "%s: %s, %d file%s, %d bytes, %d pieces of %d, info-hash %s" % (
        a.torrent_arg or a.torrent, name, n, "" if n == 1 else "s", total, -(-total // pl),
        pl, ih)
    eq(lines[0], want, "create's stdout line")


def check_json(path, a, ih, files, pl):
    raw = open(path, "rb").read()
    try:
        d = json.loads(raw.decode("utf-8"))
    except ValueError as e:
        check(False, "info --json does not parse: %s" % e)
        return
    keys = {"name", "info_hash", "magnet", "piece_length", "piece_count", "total_size",
            "private", "multi_file", "files", "trackers", "web_seeds", "comment",
            "created_by", "source", "creation_date", "warnings", "format", "info_hash_v2"}
    eq(sorted(set(d) ^ keys), [], "info --json: keys missing or extra")
    eq((d.get("format"), d.get("info_hash_v2")), ("v1", None), "info --json: format of a v1 torrent")
    single = os.path.isfile(a.content)
    total = sum(s for _, s in files)
    name = os.path.basename(os.path.realpath(a.content))
    eq(d.get("name"), name, "info --json name")
    eq(d.get("info_hash"), ih, "info --json info_hash")
    check(str(d.get("magnet", "")).startswith("magnet:?xt=urn:btih:%s&dn=" % ih),
          "info --json magnet: %r" % d.get("magnet"))
    eq(d.get("piece_length"), pl, "info --json piece_length")
    eq(d.get("piece_count"), -(-total // pl), "info --json piece_count")
    eq(d.get("total_size"), total, "info --json total_size")
    eq(d.get("private"), bool(a.private), "info --json private")
    eq(d.get("multi_file"), not single, "info --json multi_file")
    want_files, off = [], 0
    for comps, size in files:
        want_files.append({"path": name if single else b"/".join(comps).decode(),
                           "length": size, "offset": off})
        off += size
    eq(d.get("files"), want_files, "info --json files")
    eq(d.get("trackers"), parse_tiers(a.tier), "info --json trackers")
    eq(d.get("web_seeds"), a.web_seed, "info --json web_seeds")
    eq(d.get("comment"), a.comment, "info --json comment")
    eq(d.get("created_by"), "ringseed", "info --json created_by")
    eq(d.get("source"), a.source, "info --json source")
    eq(d.get("warnings"), 0, "info --json warnings")


def check_lt_info(lt, a, ih, files, pl):
    ti = lt.torrent_info(a.torrent)
    single = os.path.isfile(a.content)
    total = sum(s for _, s in files)
    name = os.path.basename(os.path.realpath(a.content))
    eq(str(ti.info_hashes().v1), ih, "libtorrent info-hash")
    eq(ti.name(), name, "libtorrent name")
    eq(ti.num_pieces(), -(-total // pl), "libtorrent num_pieces")
    eq(ti.piece_length(), pl, "libtorrent piece_length")
    eq(ti.total_size(), total, "libtorrent total_size")
    eq(ti.piece_size(ti.num_pieces() - 1), total - (ti.num_pieces() - 1) * pl,
       "libtorrent last piece size")
    fs = ti.files()
    got = [(fs.file_path(i), fs.file_size(i), fs.file_offset(i)) for i in range(fs.num_files())]
    want, off = [], 0
    for comps, size in files:
        want.append((name if single else os.path.join(name, *[c.decode() for c in comps]),
                     size, off))
        off += size
    eq(got, want, "libtorrent files (path, size, offset)")
    check(all(fs.file_flags(i) == 0 for i in range(fs.num_files())),
          "libtorrent sees pad/hidden/executable/symlink flags")
    # libtorrent shuffles the URLs inside a tier (BEP 12), so compare sorted
    tr = sorted((t.tier, t.url) for t in ti.trackers())
    want_tr = sorted((i, u) for i, t in enumerate(parse_tiers(a.tier)) for u in t)
    eq(tr, want_tr, "libtorrent trackers (tier, url)")
    eq([w["url"] for w in ti.web_seeds()], a.web_seed, "libtorrent web seeds")
    eq(ti.priv(), bool(a.private), "libtorrent private flag")
    eq(ti.comment(), a.comment or "", "libtorrent comment")
    eq(ti.creator(), "ringseed", "libtorrent creator")
    return ti


def wait_checked(lt, ses, h, what, timeout=60):
    """Waits for a torrent_checked_alert for h; returns its status."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ses.wait_for_alert(200)
        for al in ses.pop_alerts():
            if isinstance(al, lt.torrent_checked_alert):
                return h.status()
            if isinstance(al, (lt.file_error_alert, lt.torrent_error_alert)):
                check(False, "%s: libtorrent error: %s" % (what, al.message()))
                return None
    check(False, "%s: libtorrent did not finish checking within %d s (state %s)"
          % (what, timeout, h.status().state))
    return None


def check_session(lt, ti, a, files, pl):
    single = os.path.isfile(a.content)
    save = os.path.dirname(os.path.realpath(a.content))
    if single:
        # the torrent's name is the real file's name: seed from where it is
        save = os.path.dirname(os.path.realpath(a.content))
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "alert_mask": lt.alert_category.status | lt.alert_category.error
                      | lt.alert_category.storage,
    })
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = save
    # no announces, no web seed fetches: this is only about the piece hashes
    atp.flags = (atp.flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused) \
        | lt.torrent_flags.override_trackers | lt.torrent_flags.override_web_seeds \
        | lt.torrent_flags.upload_mode
    atp.trackers = []
    atp.url_seeds = []
    h = ses.add_torrent(atp)
    st = wait_checked(lt, ses, h, "first check")
    n = ti.num_pieces()
    if st is None:
        return
    eq(st.num_pieces, n, "libtorrent: pieces verified on the first check")
    check(st.is_seeding, "libtorrent: not seeding after the first check (state %s)" % st.state)
    if not a.corrupt:
        return
    # flip one byte in the middle of the file and recheck
    root = a.content
    target = root if single else os.path.join(root, a.corrupt)
    rel = () if single else tuple(os.fsencode(a.corrupt).split(b"/"))
    off = 0
    for comps, size in files:
        if single or comps == rel:
            break
        off += size
    else:
        check(False, "--corrupt %s: not a file of the torrent" % a.corrupt)
        return
    size = os.path.getsize(target)
    at = size // 2
    piece = (off + at) // pl
    with open(target, "r+b") as f:
        f.seek(at)
        orig = f.read(1)
        f.seek(at)
        f.write(bytes([orig[0] ^ 0xFF]))
    try:
        h.force_recheck()
        st = wait_checked(lt, ses, h, "recheck after corrupting %s" % a.corrupt)
        if st is not None:
            missing = [i for i, have in enumerate(st.pieces) if not have]
            eq(missing, [piece], "libtorrent: missing pieces after flipping byte %d of %s"
               % (at, a.corrupt))
            check(not st.is_seeding, "libtorrent: still seeding with a corrupt piece")
    finally:
        with open(target, "r+b") as f:
            f.seek(at)
            f.write(orig)
    h.force_recheck()
    st = wait_checked(lt, ses, h, "recheck after restoring %s" % a.corrupt)
    if st is not None:
        eq(st.num_pieces, n, "libtorrent: pieces verified after restoring the byte")
    ses.remove_torrent(h)


UNITS = {"B": 1, "bytes": 1, "kB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3, "TB": 1000 ** 4,
         "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}


def human_ok(text, size):
    """Does transmission's humanized size (e.g. '100.0 kB') fit size?"""
    m = re.fullmatch(r"([0-9]+)(?:\.([0-9]+))? (\S+)", text.strip())
    if not m or m.group(3) not in UNITS:
        return False
    unit = UNITS[m.group(3)]
    v = float(m.group(1) + "." + (m.group(2) or "0"))
    step = unit * 10 ** -len(m.group(2) or "")
    return v * unit - step <= size <= (v + step) * unit + step


def check_transmission(a, ih, files, pl):
    exe = shutil.which("transmission-show")
    if not exe:
        print("transmission-show not installed: that part is skipped")
        return
    r = subprocess.run([exe, a.torrent], capture_output=True)
    if not eq(r.returncode, 0, "transmission-show exit status"):
        return
    out = r.stdout.decode("utf-8", "replace")
    single = os.path.isfile(a.content)
    total = sum(s for _, s in files)
    name = os.path.basename(os.path.realpath(a.content))

    def field(k):
        m = re.search(r"^\s*%s: (.*)$" % re.escape(k), out, re.M)
        return m.group(1).strip() if m else None

    eq(field("Hash"), ih, "transmission-show Hash")
    eq(field("Name"), name, "transmission-show Name")
    eq(field("Piece Count"), str(-(-total // pl)), "transmission-show Piece Count")
    check(human_ok(field("Piece Size") or "", pl),
          "transmission-show Piece Size %r for %d" % (field("Piece Size"), pl))
    check(human_ok(field("Total Size") or "", total),
          "transmission-show Total Size %r for %d" % (field("Total Size"), total))
    eq(field("Privacy"), "Private torrent" if a.private else "Public torrent",
       "transmission-show Privacy")
    if a.comment is not None:
        eq(field("Comment"), a.comment, "transmission-show Comment")
    eq(field("Created by"), "ringseed", "transmission-show Created by")
    sections = re.split(r"^(GENERAL|TRACKERS|WEBSEEDS|FILES)\s*$", out, flags=re.M)
    sec = {sections[i]: sections[i + 1] for i in range(1, len(sections) - 1, 2)}
    # files: "  NAME/PATH (SIZE)", sorted by name; compare as sorted lists
    got = []
    for line in sec.get("FILES", "").splitlines():
        if not line.strip():
            continue
        m = re.fullmatch(r"  (.*) \(([^()]*)\)", line)
        if not check(m, "transmission-show: odd FILES line %r" % line):
            continue
        got.append((m.group(1), m.group(2)))
    want = sorted((name if single else "/".join([name] + [c.decode() for c in comps]), size)
                  for comps, size in files)
    got.sort()
    eq([g[0] for g in got], [w[0] for w in want], "transmission-show file names")
    eq(len(got), len(files), "transmission-show file count")
    for (gn, gs), (wn, ws) in zip(got, want):
        if gn == wn:
            check(human_ok(gs, ws), "transmission-show size %r for %s (%d bytes)" % (gs, gn, ws))
    # trackers: "Tier #N" then URLs
    tiers = []
    for line in sec.get("TRACKERS", "").splitlines():
        line = line.strip()
        if line.startswith("Tier #"):
            tiers.append([])
        elif line:
            if not tiers:
                tiers.append([])
            tiers[-1].append(line)
    eq(tiers, parse_tiers(a.tier), "transmission-show trackers by tier")
    webs = [l.strip() for l in sec.get("WEBSEEDS", "").splitlines() if l.strip()]
    eq(webs, a.web_seed, "transmission-show web seeds")


def cmd_check(argv):
    p = argparse.ArgumentParser(prog="lt_check.py check")
    p.add_argument("--torrent", required=True)
    p.add_argument("--torrent-arg", help="the -o value as create printed it (default --torrent)")
    p.add_argument("--content", required=True)
    p.add_argument("--stdout", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--piece-length", type=int)
    p.add_argument("--private", action="store_true")
    p.add_argument("--tier", action="append", default=[])
    p.add_argument("--web-seed", action="append", default=[])
    p.add_argument("--comment")
    p.add_argument("--source")
    p.add_argument("--corrupt")
    p.add_argument("--transmission", action="store_true")
    p.add_argument("--no-session", action="store_true")
    p.add_argument("--no-hashlib", action="store_true")
    p.add_argument("--allow-full-last", action="store_true",
                   help="the total may be a multiple of the piece length")
    a = p.parse_args(argv)
    import libtorrent as lt

    files = expected_files(a.content)
    total = sum(s for _, s in files)
    pl = a.piece_length or auto_piece_length(total)
    raw = open(a.torrent, "rb").read()
    ih = check_raw(raw, a, files, pl)
    if ih is None:
        ih = "?"
    check_stdout(a.stdout, a, ih, files, pl)
    check_json(a.json, a, ih, files, pl)
    ti = check_lt_info(lt, a, ih, files, pl)
    if a.transmission:
        check_transmission(a, ih, files, pl)
    if not a.no_session:
        check_session(lt, ti, a, files, pl)
    label = os.path.basename(a.torrent)
    if problems:
        for m in problems:
            print("FAIL: %s: %s" % (label, m))
        return 1
    print("%s: ok (%s, %d files, %d bytes, %d pieces of %d)"
          % (label, ih, len(files), total, -(-total // pl), pl))
    return 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "mktree":
        mktree(sys.argv[2])
        return 0
    if len(sys.argv) >= 2 and sys.argv[1] == "check":
        return cmd_check(sys.argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
