#!/usr/bin/python3
"""Writes the seed corpora for fuzz_bencode, fuzz_metainfo, fuzz_wire, fuzz_tracker, fuzz_ext,
fuzz_mse and fuzz_pex.

    /usr/bin/python3 tests/fuzz/make-corpus.py

Everything in tests/fuzz/corpus/bencode/, metainfo/, wire/, tracker/, ext/,
mse/ and pex/ is this script's output: it empties those directories and writes them again, so
that the seeds in the tree are always what this file says. Seeds are small
(well under 64 KiB): valid documents to grow from, and near misses on each
rule the parsers enforce, so the fuzzer starts at the edges.

Standard library only, with a minimal bencoder of its own.
"""

import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
MAX_SEED = 64 * 1024


def benc(v, sort=True):
    """Bencodes ints, bytes/str, lists and dicts (keys sorted unless told)."""
    if isinstance(v, bool):
        raise TypeError("bool is not a bencode type")
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(benc(x, sort) for x in v) + b"e"
    if isinstance(v, dict):
        items = [(k.encode() if isinstance(k, str) else k, x) for k, x in v.items()]
        if sort:
            items.sort(key=lambda kv: kv[0])
        return b"d" + b"".join(benc(k) + benc(x, sort) for k, x in items) + b"e"
    raise TypeError(type(v))


def pieces_for(total, piece_length):
    """SHA-1 of each piece of a deterministic byte stream of `total` bytes."""
    data = bytes((i * 7 + 3) & 0xFF for i in range(total))
    return b"".join(hashlib.sha1(data[i:i + piece_length]).digest()
                    for i in range(0, total, piece_length))


def info_single(name="file.bin", length=100, piece_length=16, **extra):
    info = {"name": name, "length": length, "piece length": piece_length,
            "pieces": pieces_for(length, piece_length)}
    info.update(extra)
    return info


def info_multi(files, name="dir", piece_length=32, **extra):
    total = sum(f[1] for f in files)
    entries = []
    for f in files:
        e = {"length": f[1], "path": f[0].split("/")}
        if len(f) > 2:
            e["attr"] = f[2]
        entries.append(e)
    info = {"name": name, "files": entries, "piece length": piece_length,
            "pieces": pieces_for(total, piece_length)}
    info.update(extra)
    return info


def torrent(info, **top):
    t = {"info": info}
    t.update(top)
    return benc(t)


def bencode_seeds():
    s = {}
    s["int-zero"] = b"i0e"
    s["int-minus-one"] = b"i-1e"
    s["int-max"] = b"i9223372036854775807e"
    s["int-min"] = b"i-9223372036854775808e"
    s["str-empty"] = b"0:"
    s["str-binary"] = b"8:\x00\x01\xffa\x00e:d"
    s["str-long"] = benc(bytes(range(256)) * 4)
    s["list-empty"] = b"le"
    s["dict-empty"] = b"de"
    s["list-mixed"] = benc([0, -5, b"", b"spam", [], {}, [[1]], {"k": [b"v"]}])
    s["dict-prefix-keys"] = benc({"a": 1, "ab": 2, "abc": [3], b"\xff": b"hi", "": 0})
    s["dict-nested"] = benc({"a": {"b": {"c": {"d": [1, 2, {"e": b"f"}]}}}})
    s["depth-64"] = b"l" * 64 + b"e" * 64
    s["torrent-like"] = torrent(info_single(), announce="http://t.example/a")
    # Accepted only with BC_ALLOW_UNSORTED / BC_ALLOW_TRAILING.
    s["relaxed-unsorted"] = b"d1:b0:1:a0:e"
    s["relaxed-unsorted-nested"] = b"ld1:z0:1:y0:ed1:ai1e1:bi2eee"
    s["relaxed-trailing"] = b"d1:ai1ee trailing"
    # Malformed: one rule each.
    s["bad-int-leading-zero"] = b"i01e"
    s["bad-int-negative-zero"] = b"i-0e"
    s["bad-int-empty"] = b"ie"
    s["bad-int-minus-only"] = b"i-e"
    s["bad-int-overflow"] = b"i9223372036854775808e"
    s["bad-int-underflow"] = b"i-9223372036854775809e"
    s["bad-str-leading-zero"] = b"03:abc"
    s["bad-str-overlong"] = b"5:abc"
    s["bad-str-huge-length"] = b"99999999999999999999:x"
    s["bad-depth-65"] = b"l" * 65 + b"e" * 65
    s["bad-dict-duplicate"] = b"d1:a0:1:a0:e"
    s["bad-dict-duplicate-unsorted"] = b"d1:b0:1:a0:1:b0:e"
    s["bad-dict-int-key"] = b"di1e0:e"
    s["bad-dict-key-without-value"] = b"d1:ae"
    s["bad-truncated"] = b"d4:spaml1:a1:b"
    s["bad-value-start"] = b"lxe"
    return s


def v2_root(layer, per=1):
    """BEP 52: the root over a piece layer, padded with zero subtrees."""
    import hashlib
    pad = b"\0" * 32
    while per > 1:
        pad, per = hashlib.sha256(pad + pad).digest(), per // 2
    row = [layer[i:i + 32] for i in range(0, len(layer), 32)]
    while len(row) > 1 or (len(row) & (len(row) - 1)):
        row += [pad] * (len(row) % 2)
        row = [hashlib.sha256(row[i] + row[i + 1]).digest() for i in range(0, len(row), 2)]
        pad = hashlib.sha256(pad + pad).digest()
    return row[0]


def v2_seeds():
    """v2-only and hybrid torrents whose piece layers hash to their roots
    (no content behind them: the parser never sees data), and near misses."""
    s = {}
    pl = 16384
    layer = bytes(range(96))  # 3 pieces of 40000 bytes
    root = v2_root(layer)
    small = b"\x5a" * 32
    leaf = lambda r, n: {"": {"length": n, "pieces root": r}}  # noqa: E731
    tree = {"d": {"x": leaf(root, 40000), "e": {"": {"length": 0}}}, "y": leaf(small, 5000)}
    v2 = {"meta version": 2, "name": "t", "piece length": pl, "file tree": tree}
    layers = {"piece layers": {root: layer}}
    s["v2-multi"] = torrent(v2, **layers)
    s["v2-single"] = torrent({"meta version": 2, "name": "x", "piece length": pl,
                              "file tree": {"x": leaf(root, 40000)}}, **layers)
    files = [{"length": 0, "path": [b"d", b"e"]}, {"length": 40000, "path": [b"d", b"x"]},
             {"attr": b"p", "length": 3 * pl - 40000, "path": [b".pad", b"9152"]},
             {"length": 5000, "path": [b"y"]}]
    hy = dict(v2, files=files, pieces=b"\x11" * 80)
    s["hybrid-multi"] = torrent(hy, **layers)
    s["hybrid-single"] = torrent({"meta version": 2, "name": "x", "piece length": pl,
                                  "file tree": {"x": leaf(small, 9000)}, "length": 9000,
                                  "pieces": b"\x22" * 20})
    s["bad-v2-layer"] = torrent(v2, **{"piece layers": {root: layer[:-1] + b"!"}})
    s["bad-v2-escape"] = torrent(dict(v2, **{"file tree": {"..": tree}}), **layers)
    s["bad-hybrid-differs"] = torrent(dict(hy, files=files[:2] + [files[3]], pieces=b"\x11" * 60),
                                      **layers)
    return s


def metainfo_seeds():
    s = {}
    s["single"] = torrent(info_single(), announce="http://tracker.example/announce")
    s["single-extras"] = torrent(
        info_single(length=40, piece_length=16, private=1, source="SRC"),
        announce="udp://tracker.example:6969",
        comment="a comment", **{"created by": "make-corpus.py",
                                "creation date": 1700000000,
                                "url-list": "http://seed.example/file.bin"})
    s["single-exact-pieces"] = torrent(info_single(length=64, piece_length=16))
    s["multi"] = torrent(info_multi([("a.txt", 50), ("sub/empty", 0), ("sub/c", 30),
                                     ("z", 100)]),
                         **{"announce-list": [["http://a1.example/a"],
                                              ["http://b1.example/a", "udp://b2.example:1"]],
                            "url-list": ["http://w1.example/", "http://w2.example/"]})
    s["single-web-seeds"] = torrent(
        info_single(), **{"url-list": ["http://w1.example/", "http://w2.example/",
                                       "ftp://w3.example/", "http://w4.example/"]})
    s["multi-pad"] = torrent(info_multi([("a", 20), (".pad/12", 12, "p"), ("b", 40)],
                                        piece_length=16))
    s["multi-deep"] = torrent(info_multi([("x/y/z/1", 7), ("x/y/2", 0), ("x/3", 9),
                                          ("4", 1)], piece_length=8))
    s["hybrid-v1v2"] = torrent(info_single(**{"meta version": 2}))
    s.update(v2_seeds())
    # Keys outside info may be out of order: accepted with a warning.
    info = benc(info_single())
    s["unsorted-top-level"] = (b"d4:info" + info + b"8:announce" +
                               benc("http://t.example/a") + b"e")
    # Odd shapes for optional keys: skipped, never trusted.
    s["odd-url-list-dict"] = torrent(
        info_single(), **{"url-list": {"http://w1.example/": "http://w2.example/",
                                       "http://w3.example/": "http://w4.example/"}})
    s["odd-url-list-int"] = torrent(info_single(), **{"url-list": 7})
    s["odd-url-list-mixed"] = torrent(
        info_multi([("a", 20), ("b c/d#e", 9)]),
        **{"url-list": ["", 7, ["http://nested.example/"], "http://a b.example/",
                        "http://ok.example/pub", "http://" + "x" * 300 + "/", "\x7f",
                        "https://ok.example/"]})
    s["url-list-empty"] = torrent(info_single(), **{"url-list": ""})
    s["odd-announce-list-shapes"] = torrent(
        info_single(), announce=5,
        **{"announce-list": [[], ["", "a b"], "http://x.example/", {"k": "v"},
                             ["http://y.example/"]]})
    # Near misses: each breaks one rule.
    bad = info_single()
    bad["pieces"] = bad["pieces"] + b"x"
    s["bad-pieces-41"] = torrent(bad)
    bad = info_single()
    bad["pieces"] = bad["pieces"] + b"\x00" * 20
    s["bad-piece-count-plus-one"] = torrent(bad)
    s["bad-path-dotdot"] = torrent(info_multi([("a", 50), ("../etc/passwd", 50)]))
    s["bad-path-duplicate"] = torrent(info_multi([("a/b", 50), ("a/b", 50)]))
    s["bad-path-file-and-dir"] = torrent(info_multi([("a", 50), ("a/b", 50)]))
    s["bad-name-slash"] = torrent(info_single(name="a/b"))
    s["bad-negative-length"] = torrent(info_single(length=-1))
    both = info_single()
    both["files"] = [{"length": 100, "path": ["x"]}]
    s["bad-length-and-files"] = torrent(both)
    s["bad-info-unsorted"] = (b"d4:infod4:name1:t6:lengthi16e12:piece lengthi16e6:pieces20:" +
                              b"A" * 20 + b"ee")
    s["bad-not-a-dict"] = benc([{"info": info_single()}])
    return s


def wire_msg(mid, payload=b"", length=None):
    """One peer wire message; length overrides the prefix for near misses."""
    n = len(payload) + 1 if length is None else length
    return n.to_bytes(4, "big") + bytes([mid]) + payload


def wire_u32(*vals):
    return b"".join(v.to_bytes(4, "big") for v in vals)


def wire_seeds():
    """Inputs for fuzz_wire: a control byte (its low 3 bits pick max_msg:
    0 = 1 MiB, 3 = 13), two bytes of split position, then what a peer sent."""
    def seed(stream, limit=0, split=7):
        return bytes([limit]) + split.to_bytes(2, "big") + stream

    keepalive = b"\0\0\0\0"
    ext_hs = wire_msg(20, b"\0" + benc({"m": {"ut_metadata": 3}, "reqq": 250,
                                         "v": "client 1.0"}))
    handshake = (b"\x13BitTorrent protocol" + b"\0\0\0\0\0\x10\0\x05" +
                 bytes(range(1, 21)) + b"-XX0001-abcdefghijkl")
    session = (ext_hs + wire_msg(2) + wire_msg(6, wire_u32(0, 0, 16384)) +
               wire_msg(6, wire_u32(0, 16384, 16384)) + keepalive +
               wire_msg(8, wire_u32(0, 16384, 16384)) + wire_msg(4, wire_u32(1)) +
               wire_msg(3))
    s = {}
    s["seeder-session"] = seed(session)
    s["handshake-then-session"] = seed(handshake + session, split=68)
    s["fixed-all"] = seed(b"".join(wire_msg(i) for i in (0, 1, 2, 3, 14, 15)) +
                          b"".join(wire_msg(i, wire_u32(0xfffffffe)) for i in (4, 13, 17)) +
                          b"".join(wire_msg(i, wire_u32(1, 2, 3)) for i in (6, 8, 16)) +
                          wire_msg(9, b"\x1a\xe1"))
    s["bitfield"] = seed(wire_msg(5, bytes([0xff] * 199 + [0xe0])) + wire_msg(14), split=100)
    s["bitfield-empty"] = seed(wire_msg(5) + wire_msg(1))
    s["piece"] = seed(wire_msg(7, wire_u32(3, 16384) + bytes(range(256)) * 2), split=300)
    s["piece-empty-block"] = seed(wire_msg(7, wire_u32(3, 0)))
    s["unknown-ids"] = seed(wire_msg(10, b"abc") + wire_msg(18) + wire_msg(200, bytes(300)) +
                            wire_msg(255, b"x") + wire_msg(2))
    s["hash-messages"] = seed(wire_msg(21, bytes(range(48))) +
                              wire_msg(22, bytes(range(48)) + bytes(64)) +
                              wire_msg(23, bytes(range(48))))
    s["keepalives-truncated"] = seed(keepalive * 5 + b"\0\0\0\x0d\x06\0\0")
    s["limit-13-at-limit"] = seed(wire_msg(6, wire_u32(1, 2, 3)) + wire_msg(5, bytes(12)),
                                  limit=3)
    # Near misses: each breaks one framing rule.
    s["bad-request-14"] = seed(wire_msg(2) + wire_msg(6, wire_u32(1, 2, 3) + b"x"))
    s["bad-have-4"] = seed(wire_msg(4, b"\0\0\0", 4) + b"\0")
    s["bad-choke-2"] = seed(wire_msg(0, b"x"))
    s["bad-port-4"] = seed(wire_msg(9, b"\x1a\xe1\0"))
    s["bad-piece-8"] = seed(wire_msg(7, wire_u32(1) + b"\0\0\0"))
    s["bad-extended-empty"] = seed(wire_msg(20))
    s["bad-hash-request-50"] = seed(wire_msg(21, bytes(49)))
    s["bad-hashes-48"] = seed(wire_msg(22, bytes(47)))
    s["bad-length-2pow31"] = seed(wire_msg(2) + b"\x80\0\0\0\x05")
    s["bad-length-2pow31-minus-1"] = seed(b"\x7f\xff\xff\xff\x07")
    s["bad-limit-13-bitfield"] = seed(wire_msg(5, bytes(13)), limit=3)
    return s


def be(n, *vals):
    """Big-endian fields of n bytes each."""
    return b"".join(v.to_bytes(n, "big") for v in vals)


def tracker_seeds():
    """Inputs for fuzz_tracker, which hands each to every tracker parser: HTTP
    replies (the scrape ones name the hash fuzz_tracker asks about), BEP 15
    packets in both directions, query strings and URLs."""
    fuzz_hash = b"01234567890123456789"
    peer_id = b"-RS0001-abcdefghijkl"
    hash_pct = "".join("%%%02X" % b for b in range(20))
    v4 = bytes([127, 0, 0, 1]) + be(2, 6881) + bytes([10, 0, 0, 2]) + be(2, 80)
    v6 = bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1]) + be(2, 6882)
    s = {}
    # HTTP announce replies (BEP 3, 7, 23).
    s["http-compact"] = benc({"interval": 1800, "min interval": 300, "complete": 5,
                              "incomplete": 3, "peers": v4, "peers6": v6,
                              "tracker id": "tid", "warning message": "slow"})
    s["http-dict-peers"] = benc({"interval": 60, "peers": [
        {"ip": "1.2.3.4", "port": 1, "peer id": peer_id},
        {"ip": "2001:db8::1", "port": 65535},
        {"ip": "::ffff:10.0.0.1", "port": 2},
        {"ip": "host.example", "port": 80},
        {"ip": "1:2:3:4:5:6:7::8", "port": 3}, {"ip": "::", "port": 4},
        {"ip": "1.2.3.4", "port": 0}, 7]})
    s["http-failure"] = benc({"failure reason": "unregistered torrent"})
    s["http-unsorted"] = b"d8:intervali7e5:peers0:8:completei1ee"
    s["http-bad-peers-7"] = benc({"interval": 1, "peers": b"1234567"})
    s["http-bad-interval"] = benc({"interval": -1, "peers": b""})
    # HTTP scrape replies (BEP 48).
    s["scrape-reply"] = benc({"files": {fuzz_hash: {"complete": 11, "downloaded": 13772,
                                                    "incomplete": 19},
                                        b"x" * 20: {"complete": 1}}})
    s["scrape-reply-huge"] = benc({"files": {fuzz_hash: {"complete": 1 << 40}}})
    # BEP 15 responses (the txid is the one fuzz_tracker expects: the input's own).
    s["udp-connect-resp"] = be(4, 0, 0xdeadbeef) + be(8, 0x0102030405060708)
    s["udp-announce-resp-v4"] = be(4, 1, 42, 1800, 3, 4) + v4
    s["udp-announce-resp-v6"] = be(4, 1, 42, 1800, 3, 4) + v6
    s["udp-scrape-resp"] = be(4, 2, 9, 1, 2, 3, 4, 5, 6)
    s["udp-error-resp"] = be(4, 3, 77) + b"unregistered torrent"
    # BEP 15 requests.
    s["udp-connect-req"] = be(8, 0x41727101980) + be(4, 0, 0xdeadbeef)
    announce = (be(8, 0xc0c1c2c3c4c5c6c7) + be(4, 1, 7) + bytes(range(20)) + peer_id +
                be(8, 1, 2, 3) + be(4, 2, 0, 0x1234abcd, 0xffffffff) + be(2, 6881))
    s["udp-announce-req"] = announce
    s["udp-announce-req-bep41"] = announce + b"\x02\x05/path\x00"
    s["udp-scrape-req"] = be(8, 5) + be(4, 2, 9) + fuzz_hash + b"y" * 20
    # Query strings and URLs.
    s["query-announce"] = ("info_hash=%s&peer_id=%s&port=6881&uploaded=1&downloaded=2"
                           "&left=3&event=started&compact=1&numwant=50&key=1234ABCD"
                           % (hash_pct, peer_id.decode())).encode()
    s["query-announce-minimal"] = ("port=1&peer_id=%s&info_hash=ABCDEFGHIJKLMNOPQR%%53T"
                                   % peer_id.decode()).encode()
    s["query-announce-stopped"] = ("info_hash=%s&peer_id=%s&port=65535&event=stopped"
                                   "&no_peer_id=1&compact=0&trackerid=x"
                                   % (hash_pct, peer_id.decode())).encode()
    s["query-bad-escape"] = ("info_hash=%s%%4&peer_id=%s&port=1"
                             % (hash_pct, peer_id.decode())).encode()
    s["query-scrape"] = ("info_hash=%s&x=1&info_hash=ABCDEFGHIJKLMNOPQRST&info_hash=%s"
                         % (hash_pct, hash_pct)).encode()
    s["url-announce"] = b"http://example.com:6969/x/announce.php?passkey=0f1e/2d"
    s["url-no-announce"] = b"http://announce.example.com/a"
    return s


def ext_seeds():
    """Inputs for fuzz_ext: the payload of an extended message after its id
    byte, read both as a peer's extended handshake and as ut_metadata."""
    s = {}
    s["hs-libtorrent"] = benc({"m": {"lt_donthave": 7, "share_mode": 8, "upload_only": 3,
                                     "ut_holepunch": 4, "ut_metadata": 2, "ut_pex": 1},
                               "complete_ago": -1, "metadata_size": 31235, "p": 6881,
                               "reqq": 500, "upload_only": 1, "v": "libtorrent/2.0.8.0",
                               "yourip": b"\x7f\0\0\x01"})
    s["hs-leecher"] = benc({"m": {"ut_metadata": 3, "ut_pex": 1}, "p": 51413,
                            "v": "Transmission 3.00", "reqq": 512})
    s["hs-unsorted"] = benc({"v": "x", "m": {"ut_metadata": 1}, "p": 1}, sort=False)
    s["hs-odd-types"] = benc({"m": 3, "p": 70000, "reqq": 0, "upload_only": "yes", "v": 1})
    s["hs-m-out-of-range"] = benc({"m": {"ut_metadata": 256, "ut_pex": -1}})
    s["hs-client-long"] = benc({"v": "\x01\xff" * 100})
    s["hs-empty"] = b"de"
    s["meta-request"] = benc({"msg_type": 0, "piece": 0})
    s["meta-reject"] = benc({"msg_type": 2, "piece": 3})
    s["meta-data"] = benc({"msg_type": 1, "piece": 1, "total_size": 20000}) + bytes(range(200))
    s["meta-huge-piece"] = benc({"msg_type": 0, "piece": 2**63 - 1})
    s["meta-negative-piece"] = benc({"msg_type": 0, "piece": -1})
    s["meta-unknown-type"] = benc({"msg_type": 7, "piece": 0})
    s["meta-unsorted"] = benc({"piece": 1, "msg_type": 0}, sort=False)
    # Near misses.
    s["bad-meta-no-piece"] = benc({"msg_type": 0})
    s["bad-meta-piece-string"] = benc({"msg_type": 0, "piece": "0"})
    s["bad-meta-truncated"] = benc({"msg_type": 0, "piece": 0})[:-1]
    s["bad-list"] = b"li0ee"
    s["bad-hs-trailing"] = b"d1:mdeex"
    s["bad-hs-duplicate"] = b"d1:pi1e1:pi2ee"
    return s


def pex_seeds():
    """Inputs for fuzz_pex: the payload of a ut_pex message (BEP 11) after
    its extended id byte."""
    v4 = lambda a, b, c, d, port: bytes([a, b, c, d]) + port.to_bytes(2, "big")
    v6 = lambda last, port: b"\x20\x01\x0d\xb8" + bytes(11) + bytes([last]) + port.to_bytes(2, "big")
    s = {}
    s["libtorrent"] = benc({"added": v4(127, 0, 0, 2, 6881), "added.f": b"\x10", "added6": b"",
                            "added6.f": b"", "dropped": b"", "dropped6": b""})
    s["mixed"] = benc({"added": v4(10, 0, 0, 1, 1) + v4(10, 0, 0, 2, 2), "added.f": b"\x01\x02",
                       "added6": v6(1, 80), "added6.f": b"\x04",
                       "dropped": v4(10, 0, 0, 3, 3), "dropped6": v6(2, 443)})
    s["dropped-only"] = benc({"dropped": v4(1, 2, 3, 4, 5)})
    s["unsorted"] = benc({"dropped": v4(1, 2, 3, 4, 5), "added": v4(5, 4, 3, 2, 1)}, sort=False)
    s["no-flags"] = benc({"added6": v6(9, 9)})
    # Near misses.
    s["bad-partial"] = benc({"added": b"12345"})
    s["bad-port-0"] = benc({"added": v4(1, 2, 3, 4, 0)})
    s["bad-flags-short"] = benc({"added": v4(1, 2, 3, 4, 5) * 1 + v4(1, 2, 3, 5, 5), "added.f": b"\x00"})
    s["bad-twice"] = benc({"added": v4(1, 2, 3, 4, 5) * 2})
    s["bad-added-dropped"] = benc({"added": v4(1, 2, 3, 4, 5), "dropped": v4(1, 2, 3, 4, 5)})
    s["bad-empty"] = b"de"
    s["bad-list"] = b"l5:addede"
    return s


MSE_PRIME = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08"
    "798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A"
    "63A36210000000000090563", 16)


def mse_seeds():
    """Inputs for fuzz_mse: a control byte (low 2 bits: 0 receiver, 1 initiator
    fed the tape; 2, 3 a real conversation with the tape XORed onto the
    initiator's or the receiver's bytes), then the tape. For a conversation
    the tape is a 2-byte offset, a policy byte for the initiator, and the
    bytes XORed on from that offset."""
    s = {}
    noise = bytes((i * 89 + 7) & 0xFF for i in range(700))
    key = (pow(2, 12345, MSE_PRIME)).to_bytes(96, "big")
    s["recv-key-then-noise"] = b"\x00" + key + noise
    s["recv-key-only"] = b"\x00" + key
    s["recv-short-95"] = b"\x00" + key[:95]
    s["recv-key-zero"] = b"\x00" + bytes(96)
    s["recv-key-p"] = b"\x00" + MSE_PRIME.to_bytes(96, "big")
    s["recv-key-p-minus-1"] = b"\x00" + (MSE_PRIME - 1).to_bytes(96, "big")
    s["recv-plain-handshake"] = b"\x00" + b"\x13BitTorrent protocol" + bytes(48)
    s["init-key-then-noise"] = b"\x01" + key + noise[:540]
    # Conversations: (offset, xor) pairs at the fields of step 3 and step 4
    # when the pads are short: req1 96, req2^req3 116, VC 136, provide 144,
    # len(PadC) 148; on the way back VC 96, select 104, len(PadD) 108.
    for ctl in (0x02, 0x0e, 0x1a, 0x36, 0x42):
        for off, x in ((1399, b"\0"), (96, b"\1"), (116, b"\1"), (136, b"\1"),
                       (147, b"\3"), (148, b"\4")):
            s["conv-%02x-ab-%d" % (ctl, off)] = bytes([ctl, 0, off >> 8, off & 0xFF, ctl]) + x
        for off, x in ((96, b"\1"), (107, b"\4"), (108, b"\4")):
            s["conv-%02x-ba-%d" % (ctl, off)] = bytes([ctl | 1, 0, off >> 8, off & 0xFF, ctl]) + x
    return s


def write(name, seeds):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    for k, v in sorted(seeds.items()):
        if len(v) >= MAX_SEED:
            sys.exit("seed %s/%s is %d bytes, over %d" % (name, k, len(v), MAX_SEED))
        with open(os.path.join(d, k), "wb") as out:
            out.write(v)
    print("%s: %d seeds" % (d, len(seeds)))


def main():
    write("bencode", bencode_seeds())
    write("metainfo", metainfo_seeds())
    write("wire", wire_seeds())
    write("tracker", tracker_seeds())
    write("ext", ext_seeds())
    write("mse", mse_seeds())
    write("pex", pex_seeds())


if __name__ == "__main__":
    main()
