#!/usr/bin/python3
"""mktorrents.py DATA TORRENTS N SIZE [PIECE]: N content files of SIZE
pseudo-random bytes (DATA/t00000.bin ...) and their single-file v1 torrents
(TORRENTS/t00000.bin.torrent), fast: for the many-torrents smoke test and
bench/many_torrents.sh, where N runs of `ringseed create` would take minutes."""
import hashlib
import os
import random
import sys


def benc(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, dict):
        out = b"d"
        for k in sorted(x, key=lambda k: k.encode() if isinstance(k, str) else k):
            out += benc(k) + benc(x[k])
        return out + b"e"
    raise TypeError(type(x))


def main():
    data, tdir, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    piece = int(sys.argv[5]) if len(sys.argv) > 5 else 16384
    os.makedirs(data, exist_ok=True)
    os.makedirs(tdir, exist_ok=True)
    rnd = random.Random(12)
    for i in range(n):
        name = "t%05d.bin" % i
        body = rnd.randbytes(size)
        with open(os.path.join(data, name), "wb") as f:
            f.write(body)
        pieces = b"".join(hashlib.sha1(body[o:o + piece]).digest() for o in range(0, size, piece))
        meta = {"info": {"name": name, "length": size, "piece length": piece, "pieces": pieces}}
        with open(os.path.join(tdir, name + ".torrent"), "wb") as f:
            f.write(benc(meta))


if __name__ == "__main__":
    main()
