#!/usr/bin/python3
"""Writes the .torrent corpus that tests/e2e/info_bad.sh feeds to `ringseed info`.

    /usr/bin/python3 tests/data/make-bad.py [OUTDIR]

OUTDIR defaults to tests/data (next to this script). The script writes
OUTDIR/bad/*.torrent plus OUTDIR/bad/EXPECT, and OUTDIR/odd/*.torrent plus
OUTDIR/odd/EXPECT; it first deletes the *.torrent files already in those two
directories so that a case removed here disappears there too. The output is
deterministic (no dates, no randomness), so the committed corpus can be
checked against a fresh run: info_bad.sh does that.

bad/EXPECT:  FILE <TAB> a substring the one error line must contain
odd/EXPECT:  FILE <TAB> a substring of the warning line ("-": stderr empty)
                  <TAB> a JSON object whose keys `ringseed info --json` must
                        have with exactly these values

Stdlib only.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else HERE
BAD = os.path.join(OUT, "bad")
ODD = os.path.join(OUT, "odd")

# ---------------------------------------------------------------- bencoding


class Raw(bytes):
    """Bytes that go into the output as they are (already encoded)."""


class UDict(list):
    """A dictionary written in the given order, duplicates and all: a list of
    (key, value) pairs."""


def enc(v):
    if isinstance(v, Raw):
        return bytes(v)
    if isinstance(v, bool):
        raise TypeError("no booleans in bencoding")
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode("utf-8")
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, UDict):
        return b"d" + b"".join(enc(k) + enc(x) for k, x in v) + b"e"
    if isinstance(v, dict):
        items = sorted(((k.encode() if isinstance(k, str) else k), x) for k, x in v.items())
        return b"d" + b"".join(enc(k) + enc(x) for k, x in items) + b"e"
    if isinstance(v, (list, tuple)):
        return b"l" + b"".join(enc(x) for x in v) + b"e"
    raise TypeError(type(v))


PL = 16384
H = b"\x11" * 20  # a piece hash; nothing here is checked against data


def single(**over):
    """A valid single-file info dictionary (100 bytes, one piece); keyword
    arguments replace keys (None deletes one). Spaces in key names are
    written as underscores."""
    d = {"length": 100, "name": "x", "piece length": PL, "pieces": H}
    for k, v in over.items():
        k = k.replace("_", " ")
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return d


def multi(files=None, **over):
    """A valid multi-file info dictionary: files a (60 bytes) and b/c (40)."""
    if files is None:
        files = [{"length": 60, "path": ["a"]}, {"length": 40, "path": ["b", "c"]}]
    d = single(**over)
    d.pop("length", None)
    d["files"] = files
    if "pieces" not in over:
        total = sum(f["length"] for f in files if isinstance(f, dict) and
                    isinstance(f.get("length"), int) and f["length"] > 0)
        d["pieces"] = H * max(1, -(-total // d["piece length"])) \
            if isinstance(d.get("piece length"), int) and d["piece length"] > 0 else H
    return d


def torrent(info, **top):
    d = {"announce": "http://127.0.0.1:6969/announce", "info": info}
    for k, v in top.items():
        k = {"url_list": "url-list", "announce_list": "announce-list"}.get(k, k.replace("_", " "))
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return enc(d)


def fl(length, *path):
    return {"length": length, "path": list(path)}


VALID = torrent(single())

# ---------------------------------------------------------------- bad corpus

bad = []  # (file name, bytes, expected substring)


def B(name, data, expect):
    bad.append((name + ".torrent", data, expect))


def cut(data, marker, extra):
    """data truncated `extra` bytes after the start of marker."""
    i = data.index(marker)
    return data[: i + extra]


# Not bencoding at all, or not one value.
B("empty", b"", "not valid bencoding: empty input")
B("not-bencoded", b"hello, this is not a torrent\n",
  "not valid bencoding: unexpected byte where a value should start at byte 0")
B("json", b'{"info": {"name": "x"}}\n', "unexpected byte where a value should start at byte 0")
B("trunc-1", VALID[:1], "truncated: container not closed at byte 1")
B("trunc-in-key", cut(VALID, b"8:announce", 5), "string runs past the end of the input")
B("trunc-in-int", cut(VALID, b"i16384e", 4), "truncated integer")
B("trunc-in-strlen", cut(VALID, b"20:" + H, 1), "truncated string length")
B("trunc-in-pieces", cut(VALID, H, 7), "string runs past the end of the input")
B("trunc-before-last-e", VALID[:-1], "truncated: container not closed")
B("trunc-after-i", cut(VALID, b"i16384e", 1), "truncated integer")
B("trailing-garbage", VALID + b"garbage", "trailing bytes after the value at byte %d" % len(VALID))
B("trailing-newline", VALID + b"\n", "trailing bytes after the value")
B("trailing-second-dict", VALID + b"de", "trailing bytes after the value")
B("top-list", enc([single()]), "not a .torrent: the top level is not a dictionary")
B("top-int", b"i42e", "the top level is not a dictionary")
B("top-string", b"4:info", "the top level is not a dictionary")
B("top-empty-dict", b"de", "info: missing")
B("missing-info", enc({"announce": "http://127.0.0.1/a", "comment": "no info"}), "info: missing")
B("info-list", torrent([1, 2]), "info: not a dictionary")
B("info-string", torrent("d4:name1:xe"), "info: not a dictionary")
B("info-int", torrent(7), "info: not a dictionary")
B("info-unsorted-keys",
  torrent(UDict([("name", "x"), ("length", 100), ("piece length", PL), ("pieces", H)])),
  "info: dictionary keys not in sorted order")
B("info-nested-unsorted",
  torrent(multi(files=[UDict([("path", ["a"]), ("length", 100)])])),
  "info: dictionary keys not in sorted order")
B("info-duplicate-key",
  torrent(UDict([("length", 100), ("name", "x"), ("name", "y"), ("piece length", PL),
                 ("pieces", H)])),
  "duplicate dictionary key")
B("top-duplicate-key",
  enc(UDict([("announce", "http://127.0.0.1/a"), ("announce", "http://127.0.0.1/b"),
             ("info", single())])),
  "not valid bencoding: duplicate dictionary key")
B("top-duplicate-unsorted",
  enc(UDict([("z", 1), ("info", single()), ("a", 1), ("z", 2)])),
  "not valid bencoding: duplicate dictionary key")
B("top-duplicate-info",
  enc(UDict([("info", single()), ("info", single(name="y"))])),
  "duplicate dictionary key")
B("unsorted-too-many-keys",
  enc(UDict([("zz", 1), ("info", single())] + [("k%04d" % i, i) for i in range(300)])),
  "unsorted dictionary has too many keys to check")
B("key-not-string", b"di1ei2ee", "dictionary key is not a string")
B("key-without-value", b"d4:info" + enc(single()) + b"7:commente",
  "dictionary key has no value")
B("overlong-string", b"d4:info" + enc(single())[:-1] + b"7:comment99999999:shorte" + b"e",
  "string runs past the end of the input")
B("overlong-string-huge", b"d7:comment9999999999999999999:x4:info" + enc(single()) + b"e",
  "string runs past the end of the input")
B("string-length-20-digits", b"d7:comment00000000000000000001:x4:info" + enc(single()) + b"e",
  "string length has too many digits")
B("string-length-no-colon", b"d7:comment5xhello4:info" + enc(single()) + b"e",
  "string length not followed by ':'")
B("string-length-leading-zero", b"d7:comment05:hello4:info" + enc(single()) + b"e",
  "string length has a leading zero")
B("int-beyond-64-bits", torrent(single(), creation_date=Raw(b"i99999999999999999999e")),
  "integer does not fit in 64 bits")
B("int-2pow63", torrent(single(piece_length=Raw(b"i9223372036854775808e"))),
  "integer does not fit in 64 bits")
B("int-below-min64", torrent(single(), creation_date=Raw(b"i-9223372036854775809e")),
  "integer does not fit in 64 bits")
B("int-leading-zero", torrent(single(piece_length=Raw(b"i016384e"))),
  "integer has a leading zero")
B("int-leading-zero-neg", torrent(single(), creation_date=Raw(b"i-01e")),
  "integer has a leading zero")
B("int-negative-zero", torrent(single(), creation_date=Raw(b"i-0e")),
  "integer is negative zero")
B("int-no-digits", torrent(single(), creation_date=Raw(b"ie")), "integer has no digits")
B("int-not-terminated", torrent(single(), creation_date=Raw(b"i12x")),
  "integer not terminated by 'e'")
B("int-plus-sign", torrent(single(), creation_date=Raw(b"i+1e")), "integer has no digits")
B("deep-nesting-10000", b"d4:info" + enc(single())[:-1] + b"1:z" + b"l" * 10000 + b"e" * 10001
  + b"e", "nesting too deep")
B("deep-nesting-top", b"l" * 10000 + b"e" * 10000, "nesting too deep")
B("deep-dicts", b"d1:a" * 5000 + b"i1e" + b"e" * 5000, "nesting too deep")

# name
B("name-missing", torrent(single(name=None)), "info.name: missing or not a string")
B("name-int", torrent(single(name=5)), "info.name: missing or not a string")
B("name-dotdot", torrent(single(name="..")), "info.name: '.' and '..' are not allowed")
B("name-dot", torrent(single(name=".")), "info.name: '.' and '..' are not allowed")
B("name-empty", torrent(single(name="")), "info.name: empty component")
B("name-slash", torrent(single(name="a/b")), "info.name: component contains '/'")
B("name-absolute", torrent(single(name="/etc/passwd")), "info.name: component contains '/'")
B("name-nul", torrent(single(name=b"a\0b")), "info.name: component contains a NUL byte")
B("name-256-bytes", torrent(single(name="n" * 256)), "info.name: component longer than 255")
B("multi-name-dotdot", torrent(multi(name="..")), "info.name: '.' and '..' are not allowed")

# piece length and pieces
B("piece-length-0", torrent(single(piece_length=0)), "info.piece length: 0 is outside 1..")
B("piece-length-negative", torrent(single(piece_length=-16384)),
  "info.piece length: -16384 is outside 1..")
B("piece-length-2pow40", torrent(single(piece_length=1 << 40)),
  "info.piece length: 1099511627776 is outside 1..")
B("piece-length-missing", torrent(single(piece_length=None)),
  "info.piece length: missing or not an integer")
B("piece-length-string", torrent(single(piece_length="16384")),
  "info.piece length: missing or not an integer")
B("pieces-41-bytes", torrent(single(pieces=H * 2 + b"!")),
  "info.pieces: 41 bytes is not a multiple of 20")
B("pieces-19-bytes", torrent(single(pieces=H[:19])),
  "info.pieces: 19 bytes is not a multiple of 20")
B("pieces-missing", torrent(single(pieces=None)), "info.pieces: missing or not a string")
B("pieces-list", torrent(single(pieces=[H])), "info.pieces: missing or not a string")
B("pieces-too-many", torrent(single(pieces=H * 2)),
  "info.pieces: 2 hashes for 100 bytes in pieces of 16384 (want 1)")
B("pieces-too-few", torrent(single(length=3 * PL + 1, pieces=H * 3)),
  "info.pieces: 3 hashes for 49153 bytes in pieces of 16384 (want 4)")
B("pieces-empty", torrent(single(pieces=b"")),
  "info.pieces: 0 hashes for 100 bytes in pieces of 16384 (want 1)")
B("pieces-multi-too-few", torrent(multi(files=[fl(PL, "a"), fl(PL, "b")], pieces=H)),
  "info.pieces: 1 hashes for 32768 bytes in pieces of 16384 (want 2)")

# length / files
B("length-negative", torrent(single(length=-1)), "info.length: not a valid size")
B("length-string", torrent(single(length="100")), "info.length: not a valid size")
B("length-zero", torrent(single(length=0)), "info: the torrent holds no data (total length 0)")
B("total-2pow60", torrent(single(length=1 << 60)), "info.length: not a valid size")
B("total-2pow60-files", torrent(multi(files=[fl(1 << 53, "f%03d" % i) for i in range(128)],
                                      pieces=H)),
  "info.files: total length exceeds")
B("file-2pow60", torrent(multi(files=[fl(1, "a"), fl(1 << 60, "b")], pieces=H)),
  "info.files[1].length: 1152921504606846976 is not a valid size")
B("length-and-files", torrent(dict(multi(), length=100)),
  "info: needs exactly one of 'length' and 'files'")
B("neither-length-nor-files", torrent(single(length=None)),
  "info: needs exactly one of 'length' and 'files'")
B("files-empty-list", torrent(multi(files=[], pieces=H)), "info.files: empty list")
B("files-not-list", torrent(multi(files={"a": 1}, pieces=H)), "info.files: not a list")
B("files-all-empty", torrent(multi(files=[fl(0, "a"), fl(0, "b")], pieces=b"")),
  "info: the torrent holds no data (total length 0)")
B("file-not-dict", torrent(multi(files=[fl(100, "a"), "b"], pieces=H)),
  "info.files[1]: not a dictionary")
B("file-negative-length", torrent(multi(files=[fl(105, "a"), fl(-5, "b")], pieces=H)),
  "info.files[1].length: -5 is not a valid size")
B("file-length-missing", torrent(multi(files=[{"path": ["a"]}], pieces=H)),
  "info.files[0].length: missing or not an integer")
B("file-path-missing", torrent(multi(files=[{"length": 100}], pieces=H)),
  "info.files[0].path: missing")
B("file-path-not-list", torrent(multi(files=[{"length": 100, "path": "a/b"}], pieces=H)),
  "info.files[0].path: not a list")
B("file-path-empty-list", torrent(multi(files=[fl(100)], pieces=H)),
  "info.files[0].path: empty list")
B("file-path-int", torrent(multi(files=[fl(100, "a", 7)], pieces=H)),
  "info.files[0].path[1]: not a string")
B("path-dotdot", torrent(multi(files=[fl(50, "a"), fl(50, "..", "etc", "passwd")])),
  "info.files[1].path[0]: '.' and '..' are not allowed")
B("path-dotdot-inner", torrent(multi(files=[fl(100, "a", "..", "..", "b")])),
  "info.files[0].path[1]: '.' and '..' are not allowed")
B("path-dot", torrent(multi(files=[fl(100, "a", ".", "b")])),
  "info.files[0].path[1]: '.' and '..' are not allowed")
B("path-empty-component", torrent(multi(files=[fl(100, "a", "")])),
  "info.files[0].path[1]: empty component")
B("path-slash", torrent(multi(files=[fl(100, "a", "b/c")])),
  "info.files[0].path[1]: component contains '/'")
B("path-nul", torrent(multi(files=[fl(100, b"a\0.txt")])),
  "info.files[0].path[0]: component contains a NUL byte")
B("path-absolute", torrent(multi(files=[fl(100, "/etc", "passwd")])),
  "info.files[0].path[0]: component contains '/'")
B("path-component-256", torrent(multi(files=[fl(100, "d", "c" * 256)])),
  "info.files[0].path[1]: component longer than 255 bytes")
B("path-too-long", torrent(multi(files=[fl(100, *(["p" * 200] * 21))])),
  "info.files[0].path: longer than 4095 bytes")
B("duplicate-paths", torrent(multi(files=[fl(50, "b", "c"), fl(10, "a"), fl(40, "b", "c")])),
  "info.files: two files have the path 'b/c'")
B("file-is-also-dir", torrent(multi(files=[fl(50, "a"), fl(50, "a", "b")])),
  "info.files: 'a' is a file and also the directory of 'a/b'")
B("file-is-also-dir-far", torrent(multi(files=[fl(30, "a", "b", "c"), fl(30, "a-b"),
                                               fl(40, "a", "b")])),
  "info.files: 'a/b' is a file and also the directory of 'a/b/c'")
# The duplicated path holds a newline: the error must still be ONE line.
B("duplicate-paths-newline", torrent(multi(files=[fl(50, "evil\nline"), fl(50, "evil\nline")])),
  "info.files: two files have the path")

# v2 (BEP 52) and hybrids. Data: file "x" of 40000 bytes of 0x61 in pieces of
# 16 KiB (3 pieces, so it has a piece layer).
import hashlib  # noqa: E402


def sha(b):
    return hashlib.sha256(b).digest()


def mroot(row, width, pad):
    row = list(row)
    while width > 1:
        row += [pad] * (len(row) % 2)
        row = [sha(row[i] + row[i + 1]) for i in range(0, len(row), 2)]
        pad = sha(pad + pad)
        width //= 2
    return row[0]


def v2file(data, pl=PL):
    """(pieces root, piece layer) of data in pieces of pl (BEP 52)."""
    leaves = [sha(data[i:i + 16384]) for i in range(0, len(data), 16384)]
    per = pl // 16384
    if len(data) <= pl:
        return mroot(leaves, 1 << (len(leaves) - 1).bit_length(), b"\0" * 32), b""
    layer = [mroot(leaves[i:i + per], per, b"\0" * 32) for i in range(0, len(leaves), per)]
    pad = b"\0" * 32
    for _ in range(per.bit_length() - 1):
        pad = sha(pad + pad)
    return mroot(layer, 1 << (len(layer) - 1).bit_length(), pad), b"".join(layer)


X = b"a" * 40000
XROOT, XLAYER = v2file(X)
Y = b"b" * 5000
YROOT, _ = v2file(Y)


def leaf(root, length):
    return {"": {"length": length, "pieces root": root}}


def v2info(tree=None, **over):
    d = {"meta version": 2, "name": "x", "piece length": PL,
         "file tree": tree if tree is not None else {"x": leaf(XROOT, 40000)}}
    d.update({k.replace("_", " "): v for k, v in over.items()})
    return d


def v2torrent(info, layers=None):
    return torrent(info, piece_layers=layers if layers is not None else {XROOT: XLAYER})


def hyinfo(files, tree, **over):
    """A multi-file hybrid: v1 files (pieces unchecked) over the v2 tree."""
    total = sum(f["length"] for f in files)
    d = v2info(tree, files=files, pieces=H * (-(-total // PL)))
    d.update({k.replace("_", " "): v for k, v in over.items()})
    return d


def pad(n):
    return {"attr": "p", "length": n, "path": [".pad", str(n)]}


HYTREE = {"d": {"x": leaf(XROOT, 40000)}, "y": leaf(YROOT, 5000)}
HYFILES = [fl(40000, "d", "x"), pad(3 * PL - 40000), fl(5000, "y")]

B("v2-no-file-tree", torrent({"meta version": 2, "name": "x", "piece length": PL}),
  "info.file tree: missing (meta version 2)")
B("v2-meta-version-3", v2torrent(v2info(meta_version=3)),
  "info.meta version: not 2 (the only version BEP 52 defines)")
B("v2-tree-without-version", torrent(dict(single(), **{"file tree": {}})),
  "info.meta version: missing beside 'file tree'")
B("v2-piece-length-not-pow2", v2torrent(v2info(piece_length=3 * 16384)),
  "info.piece length: 49152 is not a power of two >= 16 KiB (BEP 52)")
B("v2-piece-length-8k", v2torrent(v2info(piece_length=8192)),
  "info.piece length: 8192 is not a power of two >= 16 KiB (BEP 52)")
B("v2-layer-wrong", v2torrent(v2info(), {XROOT: XLAYER[:-1] + b"\0"}),
  "piece layers: the layer for 'x' does not hash to its pieces root")
B("v2-layer-short", v2torrent(v2info(), {XROOT: XLAYER[:64]}),
  "piece layers: the layer for 'x' is not 3 hashes of 32 bytes")
B("v2-layer-missing", v2torrent(v2info(), {}),
  "piece layers: none for 'x' (40000 bytes, more than a piece)")
B("v2-layers-absent", torrent(v2info()),
  "piece layers: missing or not a dictionary ('x' needs one)")
B("v2-path-dotdot", v2torrent(v2info({"..": {"x": leaf(XROOT, 40000)}})),
  "info.file tree: a top-level name: '.' and '..' are not allowed")
B("v2-path-slash", v2torrent(v2info({"d": {"a/b": leaf(XROOT, 40000)}})),
  "info.file tree: a name in 'd': component contains '/'")
B("v2-path-empty", v2torrent(v2info({"": leaf(XROOT, 40000)})),
  "info.file tree: a top-level name: empty component")
B("v2-path-nul", v2torrent(v2info({"d\0x": leaf(XROOT, 40000)})),
  "info.file tree: a top-level name: component contains a NUL byte")
B("v2-file-and-dir", v2torrent(v2info({"d": dict(leaf(XROOT, 40000), e=leaf(YROOT, 5000))})),
  "info.file tree: 'd' is a file and also a directory")
B("v2-empty-dir", v2torrent(v2info({"d": {}, "x": leaf(XROOT, 40000)})),
  "info.file tree: 'd': empty directory")
B("v2-root-short", v2torrent(v2info({"x": leaf(XROOT[:31], 40000)})),
  "info.file tree: 'x': pieces root missing or not 32 bytes")
B("v2-negative-length", v2torrent(v2info({"x": leaf(XROOT, -1)})),
  "info.file tree: 'x': length -1 is not a valid size")
B("hybrid-size-differs", v2torrent(hyinfo([fl(40001, "d", "x"), pad(3 * PL - 40001),
                                           fl(5000, "y")], HYTREE)),
  "info: 'd/x' is 40001 bytes in the v1 file list but 40000 in the file tree "
  "(the v1 and v2 halves differ)")
B("hybrid-name-differs", v2torrent(hyinfo([fl(40000, "d", "z"), pad(3 * PL - 40000),
                                           fl(5000, "y")], HYTREE)),
  "info: file 0 is 'd/z' in the v1 file list but 'd/x' in the file tree "
  "(the v1 and v2 halves differ)")
B("hybrid-order-differs", v2torrent(hyinfo([fl(5000, "y"), pad(PL - 5000),
                                            fl(40000, "d", "x")], HYTREE)),
  "info: file 0 is 'y' in the v1 file list but 'd/x' in the file tree")
B("hybrid-no-padding", v2torrent(hyinfo([fl(40000, "d", "x"), fl(5000, "y")], HYTREE)),
  "info.files: 'y' starts at byte 40000, not 49152 where its v2 piece starts (BEP 47 padding)")
B("hybrid-extra-v1-file", v2torrent(hyinfo(HYFILES + [fl(7, "z")], HYTREE)),
  "info.files: 'z' is not in the file tree (the v1 and v2 halves differ)")
B("hybrid-missing-v1-file", v2torrent(hyinfo(HYFILES[:2], HYTREE)),
  "info: 'y' is in the file tree but not in the v1 file list (the v1 and v2 halves differ)")
B("hybrid-single-name-differs",
  v2torrent(dict(v2info(), length=40000, name="w", pieces=H * 3)),
  "info: file 0 is 'w' in the v1 file list but 'x' in the file tree")

# ---------------------------------------------------------------- odd corpus

odd = []  # (file name, bytes, warning substring or "", expected JSON subset)


def O(name, data, warning, expect):
    odd.append((name + ".torrent", data, warning, expect))


O("unsorted-outer",
  enc(UDict([("info", single()), ("comment", "keys out of order"),
             ("announce", "http://127.0.0.1:6969/announce")])),
  "warning: keys outside the info dictionary are not in sorted order (accepted)",
  {"name": "x", "comment": "keys out of order", "trackers": [["http://127.0.0.1:6969/announce"]],
   "warnings": 1})
O("url-list-string", torrent(single(), url_list="http://127.0.0.1:8080/x"), "",
  {"web_seeds": ["http://127.0.0.1:8080/x"], "warnings": 0})
O("url-list-empty-string", torrent(single(), url_list=""), "", {"web_seeds": [], "warnings": 0})
O("url-list-list", torrent(single(), url_list=["http://127.0.0.1:1/a", "http://127.0.0.1:2/b"]),
  "", {"web_seeds": ["http://127.0.0.1:1/a", "http://127.0.0.1:2/b"], "warnings": 0})
# BEP 19 says a string or a list; a dictionary is nonsense that must not hurt.
O("url-list-dict",
  torrent(single(), url_list={bytes([k]): "x" for k in range(256)}),
  "warning: url-list: neither a URL nor a list of them (ignored)",
  {"name": "x", "total_size": 100, "piece_count": 1, "web_seeds": [], "warnings": 1})
O("announce-list-empty-tier",
  torrent(single(), announce_list=[["http://127.0.0.1:1/a"], [], ["http://127.0.0.1:2/b"]]),
  "", {"trackers": [["http://127.0.0.1:1/a"], ["http://127.0.0.1:2/b"]], "warnings": 0})
O("announce-list-all-empty", torrent(single(), announce_list=[[], []]), "",
  {"trackers": [["http://127.0.0.1:6969/announce"]]})
O("announce-list-tiers",
  torrent(single(), announce_list=[["http://127.0.0.1:1/a", "udp://127.0.0.1:2"],
                                   ["https://127.0.0.1:3/c"]]), "",
  {"trackers": [["http://127.0.0.1:1/a", "udp://127.0.0.1:2"], ["https://127.0.0.1:3/c"]]})
O("announce-list-bad-entry",
  torrent(single(), announce_list=[["http://127.0.0.1:1/a", 5, "has space"]]),
  "warning: announce-list: an entry of tier 0 is not a usable URL (skipped)",
  {"trackers": [["http://127.0.0.1:1/a"]]})
O("announce-list-too-many",
  torrent(single(), announce=None,
          announce_list=[["http://127.0.0.1/%d/%d" % (t, u) for u in range(11)]
                         for t in range(100)]),
  "more than 1024 URLs", {"name": "x"})
O("no-trackers", torrent(single(), announce=None), "", {"trackers": [], "web_seeds": []})
O("v2-single", v2torrent(v2info()), "",
  {"name": "x", "format": "v2", "total_size": 3 * PL, "piece_count": 3, "multi_file": False,
   "files": [{"path": "x", "length": 40000, "offset": 0, "pieces_root": XROOT.hex()},
             {"path": ".pad/9152", "length": 3 * PL - 40000, "offset": 40000, "pad": True}],
   "info_hash_v2": sha(enc(v2info())).hex(), "info_hash": sha(enc(v2info())).hex()[:40]})
O("v2-multi", v2torrent(v2info(HYTREE)), "",
  {"format": "v2", "total_size": 4 * PL, "piece_count": 4, "multi_file": True,
   "files": [{"path": "d/x", "length": 40000, "offset": 0, "pieces_root": XROOT.hex()},
             {"path": ".pad/9152", "length": 3 * PL - 40000, "offset": 40000, "pad": True},
             {"path": "y", "length": 5000, "offset": 3 * PL, "pieces_root": YROOT.hex()},
             {"path": ".pad/11384", "length": PL - 5000, "offset": 3 * PL + 5000,
              "pad": True}]})
O("hybrid-multi", v2torrent(hyinfo(HYFILES, HYTREE)), "",
  {"format": "hybrid", "total_size": 3 * PL + 5000, "piece_count": 4,
   "info_hash_v2": sha(enc(hyinfo(HYFILES, HYTREE))).hex(),
   "info_hash": hashlib.sha1(enc(hyinfo(HYFILES, HYTREE))).hexdigest()})
O("hybrid-trailing-pad", v2torrent(hyinfo(HYFILES + [pad(PL - 5000)], HYTREE)), "",
  {"format": "hybrid", "total_size": 4 * PL, "piece_count": 4})
O("v2-layer-unused", v2torrent(v2info(), {XROOT: XLAYER, b"\x33" * 32: b"\x44" * 32}),
  "warning: piece layers: an entry matches no file's pieces root (ignored)",
  {"format": "v2", "warnings": 1})
O("private", torrent(single(private=1)), "", {"private": True})
O("private-0", torrent(single(private=0)), "", {"private": False})
O("pad-file",
  torrent(multi(files=[fl(10, "a"), {"attr": "p", "length": PL - 10, "path": [".pad", "16374"]},
                       fl(5, "b")])),
  "", {"files": [{"path": "a", "length": 10, "offset": 0},
                 {"path": ".pad/16374", "length": PL - 10, "offset": 10, "pad": True},
                 {"path": "b", "length": 5, "offset": PL}], "piece_count": 2})
O("empty-file-in-list", torrent(multi(files=[fl(0, "e"), fl(100, "d", "f"), fl(0, "z")])), "",
  {"files": [{"path": "e", "length": 0, "offset": 0},
             {"path": "d/f", "length": 100, "offset": 0},
             {"path": "z", "length": 0, "offset": 100}], "multi_file": True})
O("piece-length-not-pow2", torrent(single(length=25000, piece_length=10000, pieces=H * 3)), "",
  {"piece_length": 10000, "piece_count": 3, "total_size": 25000})
O("int-min64-outside-info", torrent(single(), creation_date=-(1 << 63)), "",
  {"creation_date": -(1 << 63)})
O("json-escapes", torrent(single(name='q"b\\s'), comment="tab\there\nnl \x01 \x7f \u00e9"), "",
  {"name": 'q"b\\s', "comment": "tab\there\nnl \x01 \x7f \u00e9"})
O("unknown-keys", torrent(dict(single(), **{"x-extra": [1, {"a": "b"}]}), zzz={"nested": [1]}),
  "", {"name": "x"})


# ---------------------------------------------------------------- write


def clean(d):
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.endswith(".torrent"):
            os.unlink(os.path.join(d, f))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    names = [n for n, *_ in bad] + [n for n, *_ in odd]
    assert len(names) == len(set(names)), "duplicate case names"
    clean(BAD)
    clean(ODD)
    lines = []
    for name, data, expect in bad:
        assert "\t" not in expect and "\n" not in expect
        assert len(data) < 64 * 1024, name
        write(os.path.join(BAD, name), data)
        lines.append("%s\t%s\n" % (name, expect))
    write(os.path.join(BAD, "EXPECT"), "".join(lines).encode())
    lines = []
    for name, data, warning, expect in odd:
        write(os.path.join(ODD, name), data)
        assert "\t" not in warning and "\n" not in warning and warning != "-"
        lines.append("%s\t%s\t%s\n" % (name, warning or "-", json.dumps(expect, sort_keys=True)))
    write(os.path.join(ODD, "EXPECT"), "".join(lines).encode())
    print("%d bad and %d odd .torrent files in %s" % (len(bad), len(odd), OUT))


if __name__ == "__main__":
    main()
