#!/usr/bin/python3
"""Many tiny torrents for the large-catalogue announce test
(tests/e2e/announce_many.sh). Stdlib only.

    announce_many.py DATA TORRENTS N URL

Writes N files DATA/mNNNNN (a few hundred bytes each, all different) and for
each a one-piece v1 .torrent TORRENTS/mNNNNN.torrent announcing to URL, the
way `ringseed create` would (sorted keys, 16 KiB pieces), in about a second.
"""
import hashlib
import os
import sys


def benc(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, dict):
        return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(v)


def main():
    data, torrents, n, url = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    os.makedirs(data, exist_ok=True)
    os.makedirs(torrents, exist_ok=True)
    for i in range(n):
        name = "m%05d" % i
        body = (b"ringseed announce test %d\n" % i) * (8 + i % 16)
        with open(os.path.join(data, name), "wb") as f:
            f.write(body)
        info = {"length": len(body), "name": name, "piece length": 16384,
                "pieces": hashlib.sha1(body).digest()}
        t = benc({"announce": url, "created by": "announce_many.py", "info": info})
        with open(os.path.join(torrents, name + ".torrent"), "wb") as f:
            f.write(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
