#!/usr/bin/python3
"""Helper for tests/e2e/serve_pex.sh: peer exchange (BEP 11) through ringseed.

Run with Debian's /usr/bin/python3 (python3-libtorrent is installed for it
only); stdlib + libtorrent.

    serve_pex.py swarm --peer IP:PORT --save DIR --rate B --delay S T.torrent
        Two libtorrent sessions, A on 127.0.0.2 and B on 127.0.0.3 (their
        own listen and source addresses), each told only of the seeder (no
        tracker, DHT, LSD, UPnP), with PEX on; B starts S seconds after A.
        Each downloads at most B bytes/s, all peers counted (loopback peers
        are otherwise never limited). Exit 0 when both are complete, each
        saw a connection with the other (which only the seeder's PEX can
        have told them of) and each uploaded payload to the other.

    serve_pex.py raw --peer IP:PORT --bind IP --hash HEX --listen-port P
                     --seconds S [--hostile] [--expect-added IP,...]
        A bare BitTorrent peer speaking BEP 10 from IP: it says "p" = P and
        ut_pex (id 7) in its extended handshake, sends interested, and for S
        seconds records every message. --hostile also sends, with the
        seeder's ut_pex id: garbage, a list that is not whole contacts, a
        valid message, one of 12 KiB and a burst of 10 valid ones.
        Prints one line of JSON: whether the seeder's "m" had ut_pex, the
        ut_pex messages it sent (their added contacts), and whether the
        connection was still open at the end.
"""
import argparse
import json
import os
import select
import socket
import struct
import sys
import time
from bdecode import bdecode

# ------------------------------------------------------------- bencoding


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, dict):
        return b"d" + b"".join(bencode(k) + bencode(v[k]) for k in sorted(v)) + b"e"
    return b"l" + b"".join(bencode(x) for x in v) + b"e"


def contacts(b, size):
    out = []
    for k in range(0, len(b) - size + 1, size):
        a = b[k:k + size - 2]
        ip = socket.inet_ntop(socket.AF_INET if size == 6 else socket.AF_INET6, a)
        out.append("%s:%d" % (ip, struct.unpack(">H", b[k + size - 2:k + size])[0]))
    return out


# ------------------------------------------------------------- raw peer


def ext_msg(ext_id, payload):
    return struct.pack(">IBB", 2 + len(payload), 20, ext_id) + payload


def cmd_raw(argv):
    ap = argparse.ArgumentParser(prog="serve_pex.py raw")
    ap.add_argument("--peer", required=True)
    ap.add_argument("--bind", required=True)
    ap.add_argument("--hash", required=True)
    ap.add_argument("--listen-port", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--hostile", action="store_true")
    args = ap.parse_args(argv)
    host, port = args.peer.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((args.bind, 0))
    s.connect((host, int(port)))
    rsv = bytearray(8)
    rsv[5] |= 0x10  # BEP 10
    s.sendall(b"\x13BitTorrent protocol" + bytes(rsv) + bytes.fromhex(args.hash) +
              b"-PX0001-" + os.urandom(6).hex().encode())
    hello = {b"m": {b"ut_pex": 7}, b"p": args.listen_port, b"v": b"pex-probe"}
    s.sendall(ext_msg(0, bencode(hello)) + struct.pack(">IB", 1, 2))
    buf = b""
    got_hs = False
    their_pex = None
    pex_msgs = []
    hostile_sent = False
    is_open = True
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], 0.1)
        if r:
            d = s.recv(65536)
            if not d:
                is_open = False
                break
            buf += d
        if not got_hs and len(buf) >= 68:
            buf, got_hs = buf[68:], True
        while got_hs and len(buf) >= 4:
            n = struct.unpack(">I", buf[:4])[0]
            if len(buf) < 4 + n:
                break
            m, buf = buf[4:4 + n], buf[4 + n:]
            if n >= 2 and m[0] == 20 and m[1] == 0:
                d, _ = bdecode(m[2:])
                their_pex = d.get(b"m", {}).get(b"ut_pex")
            elif n >= 2 and m[0] == 20 and m[1] == 7:
                d, _ = bdecode(m[2:])
                pex_msgs.append({
                    "added": contacts(d.get(b"added", b""), 6) + contacts(d.get(b"added6", b""), 18),
                    "flags": list(d.get(b"added.f", b"") + d.get(b"added6.f", b"")),
                    "dropped": contacts(d.get(b"dropped", b""), 6) + contacts(d.get(b"dropped6", b""), 18),
                    "at": round(args.seconds - (end - time.monotonic()), 1)})
        if args.hostile and their_pex and not hostile_sent:
            hostile_sent = True
            good = bencode({b"added": socket.inet_aton("10.9.8.7") + b"\x1a\xe1", b"added.f": b"\x10"})
            msgs = [b"\xffgarbage", bencode({b"added": b"12345"}), good,
                    bencode({b"added": os.urandom(6 * 2000)})]
            msgs += [good] * 10
            try:
                s.sendall(b"".join(ext_msg(their_pex, x) for x in msgs))
            except OSError:
                is_open = False
                break
    if is_open:  # still open: a keep-alive goes through, and nothing came back as EOF
        try:
            s.sendall(b"\0\0\0\0")
            r, _, _ = select.select([s], [], [], 0.2)
            if r and not s.recv(65536):
                is_open = False
        except OSError:
            is_open = False
    s.close()
    print(json.dumps({"m_ut_pex": their_pex, "pex": pex_msgs, "open": is_open,
                      "self": "%s:%d" % (args.bind, args.listen_port)}), flush=True)
    return 0


# ------------------------------------------------------------- libtorrent


def session(bind, rate):
    import libtorrent as lt
    ses = lt.session({
        "listen_interfaces": "%s:0" % bind,
        "outgoing_interfaces": bind,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "out_enc_policy": int(lt.enc_policy.pe_disabled),
        "in_enc_policy": int(lt.enc_policy.pe_disabled),
        "allow_multiple_connections_per_ip": True,
        "min_reconnect_time": 1,
        "peer_connect_timeout": 5,
        "user_agent": "ringseed-pex-test/1.0",
        "alert_mask": 0,
    })
    f = lt.ip_filter()  # every peer in the global class: the rate limit holds on loopback
    f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
    ses.set_peer_class_filter(f)
    return ses


def cmd_swarm(argv):
    import libtorrent as lt
    ap = argparse.ArgumentParser(prog="serve_pex.py swarm")
    ap.add_argument("--peer", required=True)
    ap.add_argument("--save", required=True)
    ap.add_argument("--rate", type=int, default=1000000)
    ap.add_argument("--delay", type=float, default=2)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("torrent")
    args = ap.parse_args(argv)
    host, port = args.peer.rsplit(":", 1)
    seeder = (host, int(port))
    ips = ["127.0.0.2", "127.0.0.3"]
    legs = []
    for k, ip in enumerate(ips):
        ses = session(ip, args.rate)
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(args.torrent)
        p.save_path = os.path.join(args.save, "abc"[k])
        p.flags &= ~lt.torrent_flags.auto_managed
        p.flags |= lt.torrent_flags.paused | lt.torrent_flags.disable_dht | \
            lt.torrent_flags.disable_lsd
        h = ses.add_torrent(p)
        h.set_download_limit(args.rate)
        legs.append({"ip": ip, "ses": ses, "h": h, "start": time.monotonic() + k * args.delay,
                     "started": False, "met": None, "done": None, "last": 0, "log": []})
    t0 = time.monotonic()
    while time.monotonic() - t0 < args.timeout:
        now = time.monotonic()
        for k, g in enumerate(legs):
            if not g["started"] and now >= g["start"]:
                g["h"].resume()
                g["started"] = True
            if not g["started"]:
                continue
            st = g["h"].status()
            if st.num_peers == 0 and now - g["last"] >= 1 and g["done"] is None:
                g["last"] = now
                g["h"].connect_peer(seeder)
            other = ips[1 - k]
            seen = set()
            for pi in g["h"].get_peer_info():
                seen.add("%s:%d/%s" % (pi.ip[0], pi.ip[1], "pex" if pi.source & 4 else
                                       "in" if pi.source & 32 else pi.source))
                if pi.ip[0] == other and g["met"] is None:
                    g["met"] = (round(now - t0, 1), "pex" if pi.source & 4 else "incoming")
            if seen != g.get("seen"):
                g["seen"] = seen
                g["log"].append("%.1f %s" % (now - t0, " ".join(sorted(seen))))
            if st.is_seeding and g["done"] is None:
                g["done"] = round(now - t0, 1)
        if all(g["done"] is not None for g in legs):
            break
        time.sleep(0.1)
    time.sleep(0.5)
    rc = 0
    for g in legs:
        st = g["h"].status()
        print("%s: done at %s s, met the other at %s, uploaded %d, downloaded %d"
              % (g["ip"], g["done"], g["met"], st.total_payload_upload, st.total_payload_download))
        for line in g["log"][:12]:
            print("  %s peers at %s" % (g["ip"], line))
        if g["done"] is None:
            print("FAIL: %s incomplete: %d/%d pieces" % (g["ip"], st.num_pieces,
                                                         g["h"].torrent_file().num_pieces()))
            rc = 1
        if g["met"] is None:
            print("FAIL: %s never connected with the other leecher" % g["ip"])
            rc = 1
        if st.total_payload_upload <= 0:
            print("FAIL: %s uploaded nothing to the other leecher" % g["ip"])
            rc = 1
    if not any(g["met"] and g["met"][1] == "pex" for g in legs):
        print("FAIL: neither leecher learned the other from PEX")
        rc = 1
    for g in legs:
        g["ses"].pause()
    return rc


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("swarm", "raw"):
        print(__doc__, file=sys.stderr)
        return 2
    return cmd_swarm(sys.argv[2:]) if sys.argv[1] == "swarm" else cmd_raw(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
