#!/usr/bin/python3
"""A tracker that misbehaves on request, for the announce end-to-end tests
(tests/e2e/announce_*.sh). Stdlib only; Debian's /usr/bin/python3.

    announce_tracker.py --ports FILE --log FILE [--interval S] [--min-interval S]
                        [--slow S] [--lifetime S] [--dual]

Listens on 127.0.0.1, or with --dual on [::] for IPv6 and IPv4 alike (an
IPv4 client then shows as ::ffff:a.b.c.d).

HTTP (one port, HTTP/1.1 keep-alive) answers by the first path component:
    /ok/announce        a good reply: interval, min interval, tracker id
                        "tid-1", complete/incomplete, 2 compact IPv4 peers and
                        1 IPv6 peer (peers6); /ok/scrape answers BEP 48
    /nocounts/announce  a good reply without complete/incomplete (a client
                        should scrape to learn them); /nocounts/scrape answers
    /warn/announce      a good reply with a "warning message"
    /fail/announce      "failure reason"
    /garbage/announce   a body that is not bencode
    /trunc/announce     Content-Length larger than the body, then close
    /500/announce       HTTP 500
    /redirect/announce  302 to /redirected/announce (any other first component
                        answers as /ok does)
    /slow/announce      a good reply after --slow seconds (default 10)
UDP (BEP 15), one port per behaviour:
    ok       connect, announce (interval, 7 leechers, 3 seeders, 2 peers of the
             client's family: 6 or 18 bytes each), scrape
    error    connect ok, then an error action "udp test refusal" to announces
    silent   never answers (retransmits)
    badtxid  answers every request twice: a wrong transaction id first
The ports go to FILE as JSON once listening: {"http": P, "udp": {"ok": P, ...}}.
Every request is one JSON line in the log: t (time.time()), proto, mode,
kind (announce, scrape, connect), client "ip:port", and for announces
info_hash (hex), peer_id, port, uploaded, downloaded, left, event, numwant,
key, trackerid, compact; conn_id for UDP.
"""
import argparse
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
import http.server

PROTO_ID = 0x41727101980


def benc(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    if isinstance(v, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, x) for k, x in v.items())
        return b"d" + b"".join(benc(k) + benc(x) for k, x in items) + b"e"
    raise TypeError(v)


PEERS4 = socket.inet_aton("10.1.2.3") + struct.pack(">H", 6881) + \
    socket.inet_aton("10.1.2.4") + struct.pack(">H", 6882)
PEERS6 = socket.inet_pton(socket.AF_INET6, "2001:db8::1") + struct.pack(">H", 6883)


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def write(self, rec):
        rec["t"] = time.time()
        with self.lock:
            self.f.write(json.dumps(rec, sort_keys=True) + "\n")


def parse_query(q):
    """Raw query -> dict of bytes values (info_hash and peer_id are binary)."""
    out = {}
    for part in q.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        out.setdefault(urllib.parse.unquote(k), []).append(urllib.parse.unquote_to_bytes(v))
    return out


def http_handler(args, log):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall

        def reply(self, code, body, ctype="text/plain", extra=None, length=None):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                self.close_connection = True  # the client gave up (a timeout test)

        def do_GET(self):  # noqa: N802 - http.server's name
            path, _, query = self.path.partition("?")
            parts = path.strip("/").split("/")
            mode = parts[0] if len(parts) > 1 else "ok"
            kind = parts[-1]
            q = parse_query(query)
            rec = {"proto": "http", "mode": mode, "kind": kind,
                   "client": "%s:%d" % self.client_address[:2]}
            if kind.startswith("announce"):
                for k in ("port", "uploaded", "downloaded", "left", "numwant", "compact"):
                    if k in q:
                        rec[k] = int(q[k][-1])
                for k in ("event", "key", "trackerid"):
                    if k in q:
                        rec[k] = q[k][-1].decode(errors="replace")
                if "info_hash" in q:
                    rec["info_hash"] = q["info_hash"][-1].hex()
                if "peer_id" in q:
                    rec["peer_id"] = q["peer_id"][-1].decode(errors="replace")
            elif kind.startswith("scrape"):
                rec["info_hash"] = [h.hex() for h in q.get("info_hash", [])]
            log.write(rec)
            if kind.startswith("scrape"):
                files = {h: {"complete": 5, "downloaded": 9, "incomplete": 4}
                         for h in q.get("info_hash", [])}
                return self.reply(200, benc({"files": files}))
            if mode == "redirect":
                loc = "/redirected/announce?" + query
                return self.reply(302, b"", extra={"Location": loc})
            if mode == "500":
                return self.reply(500, b"internal error")
            if mode == "fail":
                return self.reply(200, benc({"failure reason": "test says no"}))
            if mode == "garbage":
                return self.reply(200, b"<html>this is not bencode</html>")
            if mode == "trunc":
                self.reply(200, benc({"interval": 1800})[:5], length=100)
                self.close_connection = True
                return
            if mode == "slow":
                time.sleep(args.slow)
            d = {"interval": args.interval, "min interval": args.min_interval,
                 "tracker id": "tid-1", "peers": PEERS4, "peers6": PEERS6}
            if mode != "nocounts":
                d["complete"] = 3
                d["incomplete"] = 7
            if mode == "warn":
                d["warning message"] = "test warning"
            return self.reply(200, benc(d))

        def log_message(self, *a):
            pass

    return H


def udp_server(sock, mode, args, log):
    conns = set()
    while True:
        try:
            data, addr = sock.recvfrom(2048)
        except OSError:
            return
        if len(data) < 16:
            continue
        conn_id, action, txid = struct.unpack(">QII", data[:16])
        rec = {"proto": "udp", "mode": mode, "client": "%s:%d" % addr[:2], "conn_id": conn_id}
        out = []
        if action == 0 and conn_id == PROTO_ID:
            rec["kind"] = "connect"
            cid = int.from_bytes(os.urandom(8), "big")
            conns.add(cid)
            out.append(struct.pack(">IIQ", 0, txid, cid))
        elif action == 1 and len(data) >= 98:
            ih, pid, down, left, up, ev, ip, key, nw, port = struct.unpack(
                ">20s20sQQQIIIiH", data[16:98])
            rec.update(kind="announce", info_hash=ih.hex(), peer_id=pid.decode(errors="replace"),
                       downloaded=down, left=left, uploaded=up, key="%08X" % key, numwant=nw,
                       port=port, event={0: "", 1: "completed", 2: "started", 3: "stopped"}.get(ev, "?"),
                       known_conn=conn_id in conns)
            if mode == "error":
                out.append(struct.pack(">II", 3, txid) + b"udp test refusal")
            else:
                # BEP 15: peers are 6 bytes to an IPv4 client, 18 to an IPv6 one
                v6 = ":" in addr[0] and not addr[0].startswith("::ffff:")
                out.append(struct.pack(">IIIII", 1, txid, args.interval, 7, 3) +
                           (PEERS6 * 2 if v6 else PEERS4))
        elif action == 2:
            rec["kind"] = "scrape"
            rec["info_hash"] = [data[i:i + 20].hex() for i in range(16, len(data), 20)]
            out.append(struct.pack(">II", 2, txid) +
                       b"".join(struct.pack(">III", 5, 9, 4) for _ in range(16, len(data), 20)))
        else:
            rec["kind"] = "bad"
        log.write(rec)
        if mode == "silent":
            continue
        for pkt in out:
            if mode == "badtxid":
                sock.sendto(pkt[:4] + struct.pack(">I", (txid + 1) & 0xffffffff) + pkt[8:], addr)
            sock.sendto(pkt, addr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--interval", type=int, default=1800)
    ap.add_argument("--min-interval", type=int, default=0)
    ap.add_argument("--slow", type=float, default=10)
    ap.add_argument("--lifetime", type=float, default=600)
    ap.add_argument("--dual", action="store_true")
    args = ap.parse_args()
    log = Log(args.log)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024
        address_family = socket.AF_INET6 if args.dual else socket.AF_INET

        def server_bind(self):
            if args.dual:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()

        def handle_error(self, request, client_address):
            pass  # a client that hung up is part of the tests

    bind = "::" if args.dual else args.bind
    srv = Server((bind, 0), http_handler(args, log))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    ports = {"http": srv.server_address[1], "udp": {}}
    for mode in ("ok", "error", "silent", "badtxid"):
        s = socket.socket(socket.AF_INET6 if args.dual else socket.AF_INET, socket.SOCK_DGRAM)
        if args.dual:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind((bind, 0))
        ports["udp"][mode] = s.getsockname()[1]
        threading.Thread(target=udp_server, args=(s, mode, args, log), daemon=True).start()
    tmp = args.ports + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ports, f)
    os.rename(tmp, args.ports)
    time.sleep(args.lifetime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
