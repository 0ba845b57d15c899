#!/usr/bin/python3
"""Writes content and the v2 and hybrid .torrent files libtorrent makes for it.

    /usr/bin/python3 tests/data/make-v2.py OUTDIR

OUTDIR/data holds the content (deterministic bytes): a single file `one.bin`
and a directory `tree` (files of sizes around the 16 KiB block and the piece
boundaries, an empty file, a nested directory). OUTDIR/*.torrent are made by
python3-libtorrent's create_torrent, and OUTDIR/MANIFEST has one line per
torrent:

    FILE <TAB> FORMAT <TAB> V1 HASH (or -) <TAB> V2 HASH <TAB> CONTENT PATH

with the info-hashes as libtorrent computes them. Exit status 77 when
python3-libtorrent is missing.
"""
import os
import sys

try:
    import libtorrent as lt
except ImportError:
    print("skip: python3-libtorrent is not installed")
    sys.exit(77)

OUT = os.path.abspath(sys.argv[1])
DATA = os.path.join(OUT, "data")


def content(n, seed):
    return bytes(((i * 131 + seed * 7 + (i >> 9)) & 0xFF) for i in range(n))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


FILES = {"one.bin": 200000,
         "tree/a.bin": 100000, "tree/b/c.bin": 16384, "tree/b/d.bin": 16385,
         "tree/e": 0, "tree/f.bin": 5000, "tree/g.bin": 65536 + 1}


def make(path, flags, piece_length):
    fs = lt.file_storage()
    lt.add_files(fs, path)
    ct = lt.create_torrent(fs, piece_length, flags=flags)
    ct.set_creator("libtorrent")
    lt.set_piece_hashes(ct, os.path.dirname(path))
    return lt.bencode(ct.generate())


def main():
    for i, (rel, n) in enumerate(sorted(FILES.items())):
        write(os.path.join(DATA, rel), content(n, i))
    lines = []
    for src in ("one.bin", "tree"):
        for fmt, flags in (("v2", lt.create_torrent.v2_only), ("hybrid", 0)):
            for pl in (16384, 32768, 65536):
                name = "%s-%s-%d.torrent" % (src.split(".")[0], fmt, pl)
                data = make(os.path.join(DATA, src), flags, pl)
                write(os.path.join(OUT, name), data)
                h = lt.torrent_info(lt.bdecode(data)).info_hashes()
                v1 = str(h.v1) if h.has_v1() else "-"
                lines.append("%s\t%s\t%s\t%s\t%s\n" % (name, fmt, v1, str(h.v2), src))
    write(os.path.join(OUT, "MANIFEST"), "".join(lines).encode())


if __name__ == "__main__":
    main()
