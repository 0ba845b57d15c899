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
    meta         as good, and serves the metadata (BEP 10 + BEP 9 ut_metadata)
    badmeta      serves metadata with one byte flipped (it does not hash to the
                 info-hash), and corrupt blocks
    rejectmeta   offers metadata (metadata_size) but rejects every request for
                 it (BEP 9 msg_type 2); serves blocks as good does
    pex=PORT     has nothing (no bitfield); after the extended handshakes it
                 sends a ut_pex message (BEP 11) naming 127.0.0.1:PORT

Prints "listening" once every port accepts; runs until killed. On each
connection it prints one line "MODE: connection" so a test can see who was
asked. Plain BitTorrent (no MSE); the last four modes speak BEP 10 too.
v1, hybrid and v2-only torrents (BEP 52: found by the v2 info-hash cut to
20 bytes, each file starting a piece).
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
        self.info = info_bytes(raw)
        self.plen = info[b"piece length"]
        if b"pieces" not in info:  # v2-only (BEP 52)
            self.v2(info, path, hashlib.sha256(info_bytes(raw)).digest()[:20])
            return
        self.info_hash = hashlib.sha1(self.info).digest()
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


def benc(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, dict):
        return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(v)


EXT_MODES = ("meta", "badmeta", "rejectmeta")
MY_UT_METADATA, MY_UT_PEX = 1, 2


def ext_msg(conn, c, mode, body, theirs):
    """One extended message (BEP 10): their handshake, or a metadata request."""
    eid = body[1]
    if eid == 0:
        d, _ = bdecode(body, 2)
        theirs.update(d.get(b"m", {}))
        if mode.startswith("pex=") and b"ut_pex" in theirs:
            port = int(mode[4:])
            added = socket.inet_aton("127.0.0.1") + struct.pack(">H", port)
            payload = benc({b"added": added, b"added.f": b"\x10"})
            conn.sendall(msg(20, bytes([theirs[b"ut_pex"]]) + payload))
    elif eid == MY_UT_METADATA and b"ut_metadata" in theirs:
        d, _ = bdecode(body, 2)
        piece = d[b"piece"]
        if mode == "rejectmeta":
            rej = benc({b"msg_type": 2, b"piece": piece})
            conn.sendall(msg(20, bytes([theirs[b"ut_metadata"]]) + rej))
            return
        data = c.info[piece * 16384:(piece + 1) * 16384]
        if mode == "badmeta":
            data = bytes([data[0] ^ 0x01]) + data[1:]
        head = benc({b"msg_type": 1, b"piece": piece, b"total_size": len(c.info)})
        conn.sendall(msg(20, bytes([theirs[b"ut_metadata"]]) + head + data))


def serve(conn, c, mode):
    with PRINT_LOCK:
        print(mode + ": connection", flush=True)
    hs = recv_all(conn, 68)
    if hs[28:48] != c.info_hash:
        return
    ext = mode in EXT_MODES or mode.startswith("pex=")
    reserved = bytearray(8)
    if ext:
        reserved[5] |= 0x10
    conn.sendall(bytes([19]) + b"BitTorrent protocol" + bytes(reserved) + c.info_hash +
                 b"-FP0001-" + os.urandom(12))
    theirs = {}
    if ext:
        m = {b"m": {b"ut_metadata": MY_UT_METADATA, b"ut_pex": MY_UT_PEX}}
        if mode in EXT_MODES:
            m[b"metadata_size"] = len(c.info)
        conn.sendall(msg(20, b"\x00" + benc(m)))
    if mode.startswith("pex="):
        while True:  # nothing to give: only the extended messages
            (n,) = struct.unpack(">I", recv_all(conn, 4))
            body = recv_all(conn, n) if n else b""
            if body[:1] == b"\x14":
                ext_msg(conn, c, mode, body, theirs)
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
        if mid == 20:
            ext_msg(conn, c, mode, body, theirs)
        elif mid == 2:  # interested
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
            if mode in ("corrupt", "badmeta"):
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
