#!/usr/bin/python3
"""A tiny HTTP tracker for the `ringseed serve` end-to-end tests: every
announce gets the one peer given on the command line, in compact form (BEP 23),
whatever the info-hash. It lets a client that takes peers only from trackers
(aria2c) find a seeder on loopback.

    serve_tracker.py --peer IP:PORT --port-file FILE [--lifetime S]
                     [--hang-stopped PEER_ID_PREFIX]

With --hang-stopped, an announce with event=stopped from a peer id starting
with the prefix is never answered (the connection is held until the tracker
exits), as from a tracker that went away.

Listens on 127.0.0.1 on a free port, written to FILE once listening; exits
after S seconds (default 300). Logs one line per announce on stdout.
"""
import argparse
import http.server
import os
import socket
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=300)
    ap.add_argument("--hang-stopped", default="")
    args = ap.parse_args()
    host, port = args.peer.rsplit(":", 1)
    compact = socket.inet_aton(host) + int(port).to_bytes(2, "big")
    body = (b"d8:completei1e10:incompletei0e8:intervali1800e12:min intervali1800e5:peers6:"
            + compact + b"e")

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            print("announce: %s" % self.path, flush=True)
            if (args.hang_stopped and "event=stopped" in self.path
                    and ("peer_id=" + args.hang_stopped) in self.path):
                time.sleep(args.lifetime)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    time.sleep(args.lifetime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
