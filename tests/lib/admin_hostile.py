#!/usr/bin/python3
"""Hostile clients of ringseed's admin endpoint, for tests/e2e/admin_hostile.sh.

    admin_hostile.py PORT

Runs, one after the other, and prints one line per case:
  paths      unknown path (404), POST (405), garbage (400), a 16 KiB header (431)
  crowd      1,000 connections opened and left idle; an operator's GET /healthz
             still answers at once (the oldest idle ones make room)
  slowloris  20 clients sending one header byte every 0.5 s; each is closed at
             the 5 s deadline; /metrics answers in under 0.5 s meanwhile
Exit 0 when every case behaved, 1 otherwise (what went wrong is printed).
"""
import resource
import socket
import sys
import time

PORT = int(sys.argv[1])
bad = []


def get(path, data=None, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.sendall(data if data is not None else ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        if not b:
            break
        out += b
    s.close()
    return out


def code(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def case_paths():
    for what, data, want in (
            ("unknown path", None, 404),
            ("POST", b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
            ("garbage", b"\x16\x03\x01 hello there\r\n\r\n", 400),
            ("16 KiB header", b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 16384 + b"\r\n\r\n", 431)):
        try:
            c = code(get("/nope", data))
        except OSError as e:  # a reset while we still send the big header is fine
            c = 431 if want == 431 and "reset" in str(e).lower() else str(e)
        print("paths: %s -> %s" % (what, c))
        if c != want:
            bad.append("%s: answered %s, want %d" % (what, c, want))


def case_crowd(n=1000):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 100)), hard))
    socks = []
    for _ in range(n):
        try:
            socks.append(socket.create_connection(("127.0.0.1", PORT), timeout=2))
        except OSError as e:
            bad.append("crowd: connect %d: %s" % (len(socks), e))
            break
    time.sleep(0.3)
    t0 = time.monotonic()
    c = code(get("/healthz"))
    dt = time.monotonic() - t0
    print("crowd: %d idle connections, then /healthz -> %d in %.3f s" % (len(socks), c, dt))
    if c != 200 or dt > 1.0:
        bad.append("crowd: /healthz -> %d in %.3f s, want 200 in < 1 s" % (c, dt))
    for s in socks:
        s.close()


def case_slowloris(n=20):
    socks = [socket.create_connection(("127.0.0.1", PORT), timeout=2) for _ in range(n)]
    req = b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"z" * 100
    t0 = time.monotonic()
    closed_at = [None] * n
    worst = 0.0
    i = 0
    while time.monotonic() - t0 < 8 and None in closed_at:
        for k, s in enumerate(socks):
            if closed_at[k] is None:
                try:
                    s.send(req[i % len(req):i % len(req) + 1])
                except OSError:
                    closed_at[k] = time.monotonic() - t0
        i += 1
        t1 = time.monotonic()
        if code(get("/metrics")) != 200:
            bad.append("slowloris: /metrics not answered meanwhile")
        worst = max(worst, time.monotonic() - t1)
        time.sleep(0.5)
    done = [t for t in closed_at if t is not None]
    print("slowloris: %d of %d closed by the server, after %.1f .. %.1f s; /metrics took %.3f s at worst"
          % (len(done), n, min(done or [0]), max(done or [0]), worst))
    if len(done) != n or max(done) > 7.5:
        bad.append("slowloris: %d of %d closed within 7.5 s" % (len(done), n))
    if worst > 0.5:
        bad.append("slowloris: /metrics took %.3f s" % worst)
    for s in socks:
        s.close()


case_paths()
case_crowd()
case_slowloris()
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
