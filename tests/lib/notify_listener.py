#!/usr/bin/python3
"""A stand-in for systemd's notification socket, for tests/e2e/systemd_notify.sh.

    notify_listener.py SOCKET OUT PEER_PORT ADMIN_PORT

Binds a unix datagram socket at SOCKET and writes one line per datagram to
OUT: "PID MESSAGE" with the sender's pid (SCM_CREDENTIALS) and the message's
newlines as '|'. On READY=1 it connects at once to 127.0.0.1:PEER_PORT and
:ADMIN_PORT and writes "connect peer=ok|refused admin=ok|refused", which
shows whether the seeder was listening when it said it was ready.
"""
import socket
import struct
import sys

path, out, peer, admin = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
f = open(out, "a", buffering=1)
print("listening", file=f)


def probe(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return "ok"
    except OSError:
        return "refused"


while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = 0
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
    text = msg.decode(errors="replace").replace("\n", "|")
    line = "%d %s" % (pid, text)
    if "READY=1" in text:
        line += " connect peer=%s admin=%s" % (probe(peer), probe(admin))
    print(line, file=f)
