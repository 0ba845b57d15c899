#!/usr/bin/python3
"""Raw tracker requests for tests/e2e/tracker_builtin.sh (Debian /usr/bin/python3,
stdlib only).

    tracker_probe.py http URL HEX PEER_ID BIND PORT LEFT   announce over HTTP
    tracker_probe.py udp HOST:PORT HEX PEER_ID BIND PORT LEFT   BEP 15 announce
        print the peers of the reply, one "ip:port" a line; exit 1 on a
        failure reason, an HTTP error, a UDP error action or no reply.
    tracker_probe.py flood HOST PORT COUNT
        COUNT rounds of garbage: random bytes, a 100 KB request line, bad
        queries over HTTP, and random, short and wrong-connection-id UDP
        datagrams. Exits 0 when every HTTP answer was either a bencoded
        failure or a closed connection (never a hang past 5 s).
"""
import os
import random
import socket
import struct
import sys
import urllib.parse
from bdecode import bdecode


def compact(s, size):
    for k in range(0, len(s), size):
        ip = socket.inet_ntop(socket.AF_INET if size == 6 else socket.AF_INET6, s[k:k + size - 2])
        print("%s:%d" % (ip, struct.unpack("!H", s[k + size - 2:k + size])[0]))


def http_announce(url, hexhash, peer_id, bind, port, left):
    q = "info_hash=%s&peer_id=%s&port=%s&uploaded=0&downloaded=0&left=%s&compact=1&numwant=50" % (
        urllib.parse.quote(bytes.fromhex(hexhash)), urllib.parse.quote(peer_id.encode()), port, left)
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port), timeout=5, source_address=(bind, 0))
    s.sendall(("GET %s?%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (u.path, q, u.netloc)).encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n")[0]:
        print("FAIL: HTTP error:", head.split(b"\r\n")[0].decode(errors="replace"))
        return 1
    reply, _ = bdecode(body)
    if b"failure reason" in reply:
        print("FAIL: failure reason:", reply[b"failure reason"].decode(errors="replace"))
        return 1
    compact(reply.get(b"peers", b""), 6)
    compact(reply.get(b"peers6", b""), 18)
    return 0


def udp_announce(hostport, hexhash, peer_id, bind, port, left):
    host, p = hostport.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bind, 0))
    s.settimeout(3)
    tx = random.getrandbits(32)
    s.sendto(struct.pack("!QII", 0x41727101980, 0, tx), (host, int(p)))
    action, rtx, conn = struct.unpack("!IIQ", s.recv(2048)[:16])
    if action != 0 or rtx != tx:
        print("FAIL: bad UDP connect reply")
        return 1
    tx = random.getrandbits(32)
    req = struct.pack("!QII20s20sQQQIIIiH", conn, 1, tx, bytes.fromhex(hexhash), peer_id.encode(),
                      0, int(left), 0, 2, 0, random.getrandbits(32), 50, int(port))
    s.sendto(req, (host, int(p)))
    r = s.recv(65536)
    action, rtx = struct.unpack("!II", r[:8])
    if action != 1 or rtx != tx:
        print("FAIL: UDP error:", r[8:].decode(errors="replace"))
        return 1
    compact(r[20:], 6)
    return 0


def flood(host, port, count):
    rnd = random.Random(7)
    bad_queries = [b"GET /announce HTTP/1.1\r\n\r\n",
                   b"GET /announce?info_hash=%zz&peer_id=x&port=1 HTTP/1.1\r\n\r\n",
                   b"GET /announce?info_hash=abc&port=99999 HTTP/1.1\r\n\r\n",
                   b"GET /scrape?info_hash=" + b"%41" * 5000 + b" HTTP/1.1\r\n\r\n",
                   b"POST /announce HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789",
                   b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n"]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for n in range(count):
        kind = n % (len(bad_queries) + 1)
        payload = bad_queries[kind] if kind < len(bad_queries) else os.urandom(rnd.randint(1, 4096))
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
            s.close()
        except socket.timeout:
            print("FAIL: HTTP: no answer and no close within 5 s for request kind", kind)
            return 1
        except (ConnectionResetError, BrokenPipeError, OSError):
            data = b""  # closed by the tracker before or while we sent: allowed
        if data and b"failure reason" not in data:
            print("FAIL: HTTP: answer without a failure reason:", data[:80])
            return 1
        u.sendto(os.urandom(rnd.choice([1, 8, 15, 16, 98, 200])), (host, port))
        u.sendto(struct.pack("!QII", rnd.getrandbits(64), 1, n) + os.urandom(82), (host, port))
    print("flood: %d rounds sent" % count)
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "http":
        return http_announce(*sys.argv[2:8])
    if cmd == "udp":
        return udp_announce(*sys.argv[2:8])
    if cmd == "flood":
        return flood(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
