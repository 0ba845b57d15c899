#!/usr/bin/python3
"""Hostile Message Stream Encryption openings against a seeder.

    serve_mse_hostile.py --seeder IP:PORT --info-hash HEX [--bind IP]
                         [--half-open N] [--wait S]

Each case opens its own connection(s) and expects the seeder to close it:
  garbage      a good DH key, then 700 bytes with no HASH('req1', S) in them
  endless-pad  a good DH key, then a pad that never ends (64 bytes / 50 ms)
  wrong-vc     a correct step 3 for the served info-hash, VC not zero
  unknown-skey a correct step 3 for an info-hash nobody serves
  half-open    N connections that send a good DH key and then nothing
  slow-key     a DH key sent one byte per second
The cases run at once. One line per case: "CASE: N dropped in S s"; exit 0
when every connection was closed by the seeder within S seconds (default 40),
1 otherwise. Standard library only; the handshake is written from the MSE
spec (DH over the 768-bit prime, SHA-1, RC4 with 1,024 bytes discarded).
"""
import argparse
import hashlib
import os
import resource
import select
import socket
import sys
import threading
import time

P = int("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08"
        "798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A"
        "63A36210000000000090563", 16)


class RC4:
    def __init__(self, key):
        s = list(range(256))
        j = 0
        for i in range(256):
            j = (j + s[i] + key[i % len(key)]) & 0xFF
            s[i], s[j] = s[j], s[i]
        self.s, self.i, self.j = s, 0, 0
        self.crypt(bytes(1024))

    def crypt(self, data):
        s, i, j = self.s, self.i, self.j
        out = bytearray(len(data))
        for k, b in enumerate(data):
            i = (i + 1) & 0xFF
            j = (j + s[i]) & 0xFF
            s[i], s[j] = s[j], s[i]
            out[k] = b ^ s[(s[i] + s[j]) & 0xFF]
        self.i, self.j = i, j
        return bytes(out)


def sha1(*parts):
    return hashlib.sha1(b"".join(parts)).digest()


def keypair():
    x = int.from_bytes(os.urandom(20), "big")
    return x, pow(2, x, P).to_bytes(96, "big")


def connect(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((args.bind, 0))
    s.connect(args.seeder)
    return s


def closed_by_peer(s, deadline):
    """Reads until EOF or reset (True) or the deadline (False)."""
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, min(1.0, deadline - time.time())))
        if not r:
            continue
        try:
            if not s.recv(65536):
                return True
        except OSError:
            return True
    return False


def recv_exact(s, n, deadline):
    buf = b""
    while len(buf) < n and time.time() < deadline:
        s.settimeout(max(0.1, deadline - time.time()))
        chunk = s.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def step3(args, skey, vc):
    """Connects, exchanges keys and sends a step 3 with the given SKEY and VC."""
    s = connect(args)
    x, ya = keypair()
    s.sendall(ya)
    yb = recv_exact(s, 96, time.time() + 10)
    if len(yb) != 96:
        raise RuntimeError("no Yb from the seeder")
    secret = pow(int.from_bytes(yb, "big"), x, P).to_bytes(96, "big")
    req2 = sha1(b"req2", skey)
    req3 = sha1(b"req3", secret)
    enc = RC4(sha1(b"keyA", secret, skey))
    hs = b"\x13BitTorrent protocol" + bytes(8) + skey + b"-XX0000-hostilehosti"
    body = vc + b"\x00\x00\x00\x03" + b"\x00\x00" + len(hs).to_bytes(2, "big")
    s.sendall(sha1(b"req1", secret) + bytes(a ^ b for a, b in zip(req2, req3)) +
              enc.crypt(body) + enc.crypt(hs))
    return s


def case_garbage(args):
    s = connect(args)
    _, ya = keypair()
    s.sendall(ya + os.urandom(700))
    return [s]


def case_endless(args, stop):
    s = connect(args)
    _, ya = keypair()
    s.sendall(ya)

    def feed():
        try:
            while not stop.is_set():
                s.sendall(os.urandom(64))
                time.sleep(0.05)
        except OSError:
            pass
    threading.Thread(target=feed, daemon=True).start()
    return [s]


def case_slow(args, stop):
    s = connect(args)
    _, ya = keypair()

    def feed():
        try:
            for b in ya:
                if stop.is_set():
                    return
                s.sendall(bytes([b]))
                time.sleep(1)
        except OSError:
            pass
    threading.Thread(target=feed, daemon=True).start()
    return [s]


def case_half_open(args):
    socks = []
    for _ in range(args.half_open):
        s = connect(args)
        _, ya = keypair()
        s.sendall(ya)
        socks.append(s)
    return socks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeder", required=True)
    ap.add_argument("--info-hash", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--half-open", type=int, default=1000)
    ap.add_argument("--wait", type=float, default=40)
    args = ap.parse_args()
    host, port = args.seeder.rsplit(":", 1)
    args.seeder = (host, int(port))
    ih = bytes.fromhex(args.info_hash)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.half_open + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    stop = threading.Event()
    start = time.time()
    cases = [
        ("garbage", case_garbage(args)),
        ("endless-pad", case_endless(args, stop)),
        ("wrong-vc", [step3(args, ih, b"\x01" * 8)]),
        ("unknown-skey", [step3(args, os.urandom(20), bytes(8))]),
        ("slow-key", case_slow(args, stop)),
        ("half-open", case_half_open(args)),
    ]
    deadline = start + args.wait
    bad = 0
    for name, socks in cases:
        dropped = sum(1 for s in socks if closed_by_peer(s, deadline))
        print("%s: %d of %d dropped in %.1f s" % (name, dropped, len(socks), time.time() - start))
        bad += dropped != len(socks)
    stop.set()
    for _, socks in cases:
        for s in socks:
            s.close()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
