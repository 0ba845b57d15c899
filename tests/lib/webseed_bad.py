#!/usr/bin/env python3
"""webseed_bad.py - a hostile BEP 19 web seed for tests/e2e/fetch_webseed.sh.

    webseed_bad.py ROOT PORT

Serves the files under ROOT on 127.0.0.1:PORT, wrongly, by the first path
component of the URL (the rest names the file, as a web seed's URL does):
    /norange/...  200 and the whole file, whatever the Range asked
    /long/...     206 with the right Content-Range, but 16 bytes too many
    /loop/...     302 to itself, for ever
    /corrupt/...  206, the right range with its first byte flipped
    /stall/...    206 headers, then nothing (the connection held open)
    /missing/...  404
Prints "listening" once ready, and one line per request: MODE PATH RANGE.
"""
import os
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        parts = self.path.split("/", 2)
        mode = parts[1] if len(parts) > 1 else ""
        rel = urllib.parse.unquote(parts[2]) if len(parts) > 2 else ""
        rng = self.headers.get("Range", "")
        print(mode, rel, rng, flush=True)
        path = os.path.join(ROOT, rel)
        if mode == "loop":
            self.send(302, headers=[("Location", self.path)])
            return
        if mode == "missing" or ".." in rel.split("/") or not os.path.isfile(path):
            self.send(404, b"not here\n")
            return
        data = open(path, "rb").read()
        if mode == "norange":
            self.send(200, data)
            return
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", rng)
        if not m:
            self.send(416)
            return
        a, b = int(m.group(1)), min(int(m.group(2)), len(data) - 1)
        body = data[a:b + 1]
        cr = [("Content-Range", "bytes %d-%d/%d" % (a, b, len(data)))]
        if mode == "long":
            self.send(206, body + b"x" * 16, cr)
        elif mode == "corrupt":
            self.send(206, bytes([body[0] ^ 0xff]) + body[1:], cr)
        elif mode == "stall":
            self.send_response(206)
            self.send_header("Content-Range", cr[0][1])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.flush()
            time.sleep(30)
        else:
            self.send(400, b"unknown mode\n")


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
    srv.daemon_threads = True
    print("listening", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
