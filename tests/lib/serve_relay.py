#!/usr/bin/python3
"""Connects a BitTorrent client that only accepts incoming loopback peers
(transmission-cli drops 127.0.0.0/8 peers learned from trackers or PEX) to a
seeder: the relay connects to both and joins the two streams.

    serve_relay.py --client IP:PORT --seeder IP:PORT (--torrent T | --info-hash HEX)
                   [--bind IP] [--lifetime S]

The side that connects speaks first, so the relay makes the handshakes up:
  1. a probe connection to the seeder learns its reserved bits and peer id;
  2. the relay connects to the client and sends it a handshake with the
     seeder's reserved bits and peer id; the client answers with its own;
  3. the relay connects to the seeder (from --bind) and sends the client's
     handshake; the seeder's answer is checked and dropped;
  4. from then on bytes pass unchanged both ways.
Both ends thus see the other's real reserved bits and negotiate the same
extensions (Fast, BEP 10) as over a direct connection. When either side
closes, the relay closes the other and starts again after a second (the
client may not listen yet, or drop the peer and take it back). Exits after S
seconds (default 120). One line per event on stdout.
"""
import argparse
import select
import socket
import sys
import time

import libtorrent as lt

PSTR = b"\x13BitTorrent protocol"


def addr(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def recv_exact(s, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timeout with %d of %d bytes" % (len(buf), n))
        s.settimeout(left)
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError("EOF after %d of %d bytes" % (len(buf), n))
        buf += d
    return buf


def connect(a, bind=None):
    s = socket.socket()
    if bind:
        s.bind((bind, 0))
    s.settimeout(5)
    s.connect(a)
    return s


def session(args, ih, seeder_hs):
    c = connect(addr(args.client))
    try:
        c.sendall(PSTR + seeder_hs[20:28] + ih + seeder_hs[48:68])
        chs = recv_exact(c, 68, time.monotonic() + 10)
        if chs[:20] != PSTR or chs[28:48] != ih:
            print("client sent a bad handshake: %r" % chs, flush=True)
            return
        s = connect(addr(args.seeder), args.bind)
        try:
            s.sendall(chs)
            shs = recv_exact(s, 68, time.monotonic() + 10)
            if shs[:20] != PSTR or shs[28:48] != ih:
                print("seeder sent a bad handshake: %r" % shs, flush=True)
                return
            print("joined client (reserved %s) and seeder (reserved %s)"
                  % (chs[20:28].hex(), shs[20:28].hex()), flush=True)
            pump(c, s)
        finally:
            s.close()
    finally:
        c.close()


def pump(a, b):
    a.setblocking(False)
    b.setblocking(False)
    peer = {a: b, b: a}
    pending = {a: b"", b: b""}   # bytes waiting to be written to the key
    total = {a: 0, b: 0}
    while True:
        rl = [x for x in (a, b) if len(pending[peer[x]]) < (1 << 20)]
        wl = [x for x in (a, b) if pending[x]]
        r, w, _ = select.select(rl, wl, [], 30)
        for x in w:
            try:
                n = x.send(pending[x])
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                print("send: %s" % e, flush=True)
                return
            pending[x] = pending[x][n:]
        for x in r:
            try:
                d = x.recv(1 << 18)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                print("recv: %s" % e, flush=True)
                return
            if not d:
                print("%s closed (%d bytes from it)" % ("client" if x is a else "seeder", total[x]),
                      flush=True)
                return
            total[x] += len(d)
            pending[peer[x]] += d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", required=True)
    ap.add_argument("--seeder", required=True)
    ap.add_argument("--torrent")
    ap.add_argument("--info-hash", help="instead of --torrent: a magnet link's client has no .torrent")
    ap.add_argument("--bind")
    ap.add_argument("--lifetime", type=float, default=120)
    args = ap.parse_args()
    if args.info_hash:
        ih = bytes.fromhex(args.info_hash)
    elif args.torrent:
        ih = bytes.fromhex(str(lt.torrent_info(args.torrent).info_hash()))
    else:
        ap.error("--torrent or --info-hash is required")
    end = time.monotonic() + args.lifetime
    seeder_hs = None
    while time.monotonic() < end:
        try:
            if seeder_hs is None:
                p = connect(addr(args.seeder), args.bind)
                # the reserved bits transmission sends: extension protocol + Fast
                p.sendall(PSTR + bytes([0, 0, 0, 0, 0, 0x10, 0, 0x04]) + ih
                          + b"-TR3000-probe0000000")
                seeder_hs = recv_exact(p, 68, time.monotonic() + 10)
                p.close()
                print("seeder reserved bits: %s" % seeder_hs[20:28].hex(), flush=True)
            session(args, ih, seeder_hs)
        except (OSError, EOFError, TimeoutError) as e:
            print("relay: %s" % e, flush=True)
        time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
