#!/usr/bin/python3
"""fetch_peer.py - a small seeder that misbehaves on purpose, for the fetch tests.

    fetch_peer.py T.torrent CONTENT PORT:MODE [PORT:MODE...]

CONTENT is the torrent's single file, or the directory holding a multi-file
torrent's files (DATA/NAME). Each PORT listens on 127.0.0.1 with one MODE:

    good         serves every block as asked
    slow         the same, 20 ms per block (so a fetch lasts a few seconds)
    corrupt      flips a byte of every block it serves (every piece is bad)
    liar         claims every piece, unchokes, never sends a block
    unrequested  sends a block nobody asked for, then serves as slow does
    badhave      sends `have` for a piece past the end after its bitfield

Prints "listening" once every port accepts; runs until killed. On each
connection it prints one line "MODE: connection" so a test can see who was
asked. Plain BitTorrent only (no MSE, no extensions). v1, hybrid and
v2-only torrents (BEP 52: found by the v2 info-hash cut to 20 bytes, each
file starting a piece).
"""
import hashlib
import os
import socket
import struct
import sys
import threading
import time
from bdecode import bdecode, info_bytes

PRINT_LOCK = threading.Lock()


class Content:
    def __init__(self, torrent, path):
        raw = open(torrent, "rb").read()
        meta, _ = bdecode(raw)
        info = meta[b"info"]
        self.plen = info[b"piece length"]
        if b"pieces" not in info:  # v2-only (BEP 52)
            self.v2(info, path, hashlib.sha256(info_bytes(raw)).digest()[:20])
            return
        self.info_hash = hashlib.sha1(info_bytes(raw)).digest()
        self.count = len(info[b"pieces"]) // 20
        if b"files" in info:
            self.files = [(os.path.join(path, *[p.decode() for p in f[b"path"]]), f[b"length"])
                          for f in info[b"files"]]
        else:
            self.files = [(path, info[b"length"])]
        self.total = sum(n for _, n in self.files)

    def v2(self, info, path, info_hash):
        """BEP 52 layout: every file starts a piece; the gaps are zeros (".pad")."""
        self.info_hash = info_hash
        found = []

        def walk(tree, comps):
            for k in sorted(tree):
                if k == b"":
                    found.append((comps, tree[k][b"length"]))
                else:
                    walk(tree[k], comps + [k.decode()])
        walk(info[b"file tree"], [])
        single = len(found) == 1 and len(found[0][0]) == 1
        self.files = []
        self.total = 0
        for comps, length in found + [(None, 0)]:
            if (length or comps is None) and self.total % self.plen:
                gap = self.plen - self.total % self.plen
                self.files.append((".pad", gap))
                self.total += gap
            if length:
                self.files.append((path if single else os.path.join(path, *comps), length))
                self.total += length
        self.count = (self.total + self.plen - 1) // self.plen

    def read(self, off, n):
        out = b""
        pos = 0
        for name, length in self.files:
            if off < pos + length and n > 0:
                start = off - pos
                take = min(n, length - start)
                if name.endswith(".pad") or "/.pad/" in name:
                    out += bytes(take)
                else:
                    with open(name, "rb") as f:
                        f.seek(start)
                        out += f.read(take)
                off += take
                n -= take
            pos += length
        return out


def recv_all(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def msg(mid, payload=b""):
    return struct.pack(">IB", 1 + len(payload), mid) + payload


def serve(conn, c, mode):
    with PRINT_LOCK:
        print(mode + ": connection", flush=True)
    hs = recv_all(conn, 68)
    if hs[28:48] != c.info_hash:
        return
    conn.sendall(bytes([19]) + b"BitTorrent protocol" + bytes(8) + c.info_hash +
                 b"-FP0001-" + os.urandom(12))
    nbytes = (c.count + 7) // 8
    bits = bytearray(b"\xff" * nbytes)
    spare = nbytes * 8 - c.count
    if spare:
        bits[-1] = (0xff << spare) & 0xff
    conn.sendall(msg(5, bytes(bits)))
    if mode == "badhave":
        conn.sendall(msg(4, struct.pack(">I", c.count + 5)))
    sent_stray = False
    while True:
        (n,) = struct.unpack(">I", recv_all(conn, 4))
        if n == 0:
            continue
        body = recv_all(conn, n)
        mid = body[0]
        if mid == 2:  # interested
            conn.sendall(msg(1))
        elif mid == 6:  # request
            index, begin, length = struct.unpack(">III", body[1:13])
            if mode == "liar":
                continue
            if mode == "unrequested" and not sent_stray:
                sent_stray = True
                other = (index + 1) % c.count
                conn.sendall(msg(7, struct.pack(">II", other, 0) + bytes(min(16384, c.plen))))
            data = c.read(index * c.plen + begin, length)
            if mode in ("slow", "unrequested"):
                time.sleep(0.02)
            if mode == "corrupt":
                data = bytes([data[0] ^ 0xff]) + data[1:]
            conn.sendall(msg(7, struct.pack(">II", index, begin) + data))


def listen(port, c, mode):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)

    def loop():
        while True:
            conn, _ = ls.accept()

            def run(conn=conn):
                try:
                    serve(conn, c, mode)
                except (EOFError, OSError):
                    pass
                finally:
                    conn.close()
            threading.Thread(target=run, daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    c = Content(sys.argv[1], sys.argv[2])
    for spec in sys.argv[3:]:
        port, mode = spec.split(":")
        listen(int(port), c, mode)
    print("listening", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
