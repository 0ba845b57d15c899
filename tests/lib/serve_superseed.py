#!/usr/bin/python3
"""Peers for the super-seeding end-to-end test (tests/e2e/serve_superseed.sh).
Debian's /usr/bin/python3 (python3-libtorrent is installed for it only).

    serve_superseed.py swarm --peer IP:PORT --n N --save DIR [--net B]
                             [--timeout S] [--rate B/S] T.torrent
        N libtorrent leechers in this process, leecher i listening on and
        connecting from 127.0.B.(10+i), each pointed at the seeder and at
        every other leecher (connect_peer: no tracker, DHT, LSD or PEX), so
        that they can trade pieces. About 50 times a second each looks at
        what the seeder claims to have (peer_info of its connection) and
        keeps the most it ever claimed beyond the pieces the leecher had
        (`excess`). One line per leecher:
            leecher I: done S s, excess E, seed_claims C, uploaded U
        and exit 0 once all are complete, 1 on timeout (default 60). --rate
        caps each leecher's download, so that they overlap.

    serve_superseed.py probe --peer IP:PORT --hash HEX [--secs S] [--plain]
                             [--pieces N]
        A raw peer that says have_none (Fast extension), or with --plain no
        Fast extension and an empty bitfield of N pieces (none without N),
        asks for nothing and reports what the seeder said after S seconds
        (default 2):
            first=have_none|have_all|bitfield|none haves=K bitfield_pieces=B
        With --until-file F, it stays until F exists, then reports.

    serve_superseed.py seed --peer IP:PORT --data DIR --until-file F T.torrent
        A libtorrent seed of T (content in DIR) from 127.0.4.1 that keeps a
        connection to the seeder until F exists.

    serve_superseed.py liar --peer IP:PORT --hash HEX [--secs S]
        Three raw peers and a liar. A and B take the piece the seeder shows
        them and never fetch it; L says `have` for every piece shown to A or
        B (as if it had got it from them); C claims piece 0 in its bitfield
        and then requests it. After S seconds (default 4):
            a_haves=K b_haves=K c_rejects=K
"""
import argparse
import os
import socket
import struct
import sys
import threading
import time


def parse_addr(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


# ------------------------------------------------------------------ raw peers


class Raw:
    def __init__(self, peer, info_hash, fast=True, name=b"-XX0000-"):
        self.s = socket.create_connection(peer, timeout=5)
        rsv = bytearray(8)
        if fast:
            rsv[7] |= 0x04
        pid = name + os.urandom(6).hex().encode()[:12]
        self.s.sendall(bytes([19]) + b"BitTorrent protocol" + bytes(rsv) + info_hash + pid)
        hs = self.recvn(68)
        if hs[28:48] != info_hash:
            raise SystemExit("handshake: another info-hash")
        self.msgs = []  # (time, id, payload)
        self.lock = threading.Lock()
        self.closed = False
        self.t = threading.Thread(target=self.reader, daemon=True)
        self.t.start()

    def recvn(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise EOFError
            b += c
        return b

    def reader(self):
        self.s.settimeout(None)
        try:
            while True:
                n = struct.unpack(">I", self.recvn(4))[0]
                if n == 0:
                    continue
                body = self.recvn(n)
                with self.lock:
                    self.msgs.append((time.monotonic(), body[0], body[1:]))
        except (EOFError, OSError):
            self.closed = True

    def send(self, mid, payload=b""):
        self.s.sendall(struct.pack(">IB", 1 + len(payload), mid) + payload)

    def haves(self):
        with self.lock:
            return [struct.unpack(">I", p)[0] for _, i, p in self.msgs if i == 4]

    def count(self, mid):
        with self.lock:
            return sum(1 for _, i, _p in self.msgs if i == mid)

    def first(self):
        names = {15: "have_none", 14: "have_all", 5: "bitfield", 4: "have"}
        with self.lock:
            for _, i, _p in self.msgs:
                if i in names:
                    return names[i]
        return "none"

    def bitfield_pieces(self):
        with self.lock:
            for _, i, p in self.msgs:
                if i == 5:
                    return sum(bin(b).count("1") for b in p)
        return 0


def probe(a):
    r = Raw(parse_addr(a.peer), bytes.fromhex(a.hash), fast=not a.plain)
    if not a.plain:
        r.send(15)  # have_none (BEP 6), as a new leecher says
    elif a.pieces:
        r.send(5, bytes((a.pieces + 7) // 8))  # an empty bitfield
    r.send(2)  # interested: a leecher would be
    if a.request is not None:  # a client that asks without looking at what we show
        end = time.monotonic() + 5
        while time.monotonic() < end and not r.count(1):  # unchoke
            time.sleep(0.02)
        r.send(6, struct.pack(">III", a.request, 0, 16384))
    end = time.monotonic() + (30 if a.until_file else a.secs)
    while time.monotonic() < end and not (a.until_file and os.path.exists(a.until_file)):
        time.sleep(0.05)
    if a.until_file:
        time.sleep(a.secs)
    print("first=%s haves=%d bitfield_pieces=%d have_all=%d closed=%d pieces=%d rejects=%d" % (
        r.first(), len(r.haves()), r.bitfield_pieces(), r.count(14), r.closed, r.count(7),
        r.count(16)))
    return 0


def liar(a):
    peer, ih = parse_addr(a.peer), bytes.fromhex(a.hash)
    pa, pb = Raw(peer, ih), Raw(peer, ih)
    lr = Raw(peer, ih, name=b"-LI0000-")
    c = Raw(peer, ih, name=b"-LC0000-")
    for r in (pa, pb, lr, c):
        r.send(2)
    told = set()
    end = time.monotonic() + a.secs
    asked = False
    while time.monotonic() < end:
        for x in pa.haves() + pb.haves():
            if x not in told:
                told.add(x)
                lr.send(4, struct.pack(">I", x))
        if not asked and c.first() != "none":
            # claim piece 0 in a bitfield, then ask for it
            n = a.pieces
            bf = bytearray((n + 7) // 8)
            bf[0] |= 0x80
            c.send(5, bytes(bf))
            time.sleep(0.2)
            c.send(6, struct.pack(">III", 0, 0, 16384))
            asked = True
        time.sleep(0.05)
    print("a_haves=%d b_haves=%d l_told=%d c_rejects=%d c_pieces=%d" % (
        len(pa.haves()), len(pb.haves()), len(told), c.count(16), c.count(7)))
    return 0


# ------------------------------------------------------------------ libtorrent


def swarm(a):
    import libtorrent as lt

    seed = parse_addr(a.peer)
    ti = lt.torrent_info(a.torrent)
    leechers = []
    for i in range(a.n):
        ip = "127.0.%d.%d" % (a.net, 10 + i)
        ses = lt.session({
            "listen_interfaces": "%s:0" % ip, "outgoing_interfaces": ip,
            "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
            "enable_natpmp": False, "enable_outgoing_utp": False,
            "enable_incoming_utp": False, "out_enc_policy": 2, "in_enc_policy": 2,
            "allow_multiple_connections_per_ip": True, "min_reconnect_time": 1,
            "peer_connect_timeout": 5, "aio_threads": 1, "hashing_threads": 1,
            "alert_mask": 0, "user_agent": "ringseed-test/1.0",
        })
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(a.torrent)
        p.save_path = os.path.join(a.save, str(i))
        p.flags &= ~lt.torrent_flags.auto_managed
        p.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd \
            | lt.torrent_flags.disable_pex
        if a.rate:
            # loopback peers are in libtorrent's "local" class, never limited
            f = lt.ip_filter()
            f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
            ses.set_peer_class_filter(f)
        h = ses.add_torrent(p)
        if a.rate:
            h.set_download_limit(a.rate)
        h.resume()
        leechers.append({"ip": ip, "ses": ses, "h": h, "done": None, "excess": 0,
                         "claims": 0, "last": 0.0})
    start = time.monotonic()
    while not all(lc["ses"].listen_port() for lc in leechers):
        time.sleep(0.02)
    for lc in leechers:
        for o in leechers:
            if o is not lc:
                lc["h"].connect_peer((o["ip"], o["ses"].listen_port()))
    while time.monotonic() - start < a.timeout:
        now = time.monotonic()
        for lc in leechers:
            st = lc["h"].status()
            if lc["done"] is None and st.is_seeding:
                lc["done"] = now - start
            if lc["done"] is not None:
                continue
            if now - lc["last"] > 1.0 and not any(
                    (pi.ip[0], pi.ip[1]) == seed for pi in lc["h"].get_peer_info()):
                lc["last"] = now
                lc["h"].connect_peer(seed)
            for pi in lc["h"].get_peer_info():
                if (pi.ip[0], pi.ip[1]) != seed:
                    continue
                claims = sum(1 for x in pi.pieces if x)
                if pi.flags & lt.peer_info.seed:
                    claims = ti.num_pieces()
                lc["claims"] = max(lc["claims"], claims)
                lc["excess"] = max(lc["excess"], claims - st.num_pieces)
        if all(lc["done"] is not None for lc in leechers):
            break
        time.sleep(0.02)
    ok = True
    for i, lc in enumerate(leechers):
        st = lc["h"].status()
        if lc["done"] is None:
            ok = False
        print("leecher %d: done %s s, excess %d, seed_claims %d, uploaded %d" % (
            i, "%.2f" % lc["done"] if lc["done"] is not None else "never", lc["excess"],
            lc["claims"], st.total_payload_upload))
    return 0 if ok else 1


def seed(a):
    import libtorrent as lt

    ses = lt.session({
        "listen_interfaces": "127.0.4.1:0", "outgoing_interfaces": "127.0.4.1",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "out_enc_policy": 2, "in_enc_policy": 2, "user_agent": "ringseed-test/1.0",
    })
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(a.torrent)
    p.save_path = a.data
    p.flags &= ~lt.torrent_flags.auto_managed
    p.flags |= lt.torrent_flags.seed_mode | lt.torrent_flags.disable_pex
    h = ses.add_torrent(p)
    h.resume()
    peer = parse_addr(a.peer)
    last = 0
    while not os.path.exists(a.until_file):
        if time.monotonic() - last > 1 and not h.get_peer_info():
            last = time.monotonic()
            h.connect_peer(peer)
        time.sleep(0.05)
    print("seed: connected %d, seeding %s" % (len(h.get_peer_info()), h.status().is_seeding))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("swarm")
    s.add_argument("--peer", required=True)
    s.add_argument("--n", type=int, default=4)
    s.add_argument("--net", type=int, default=3)
    s.add_argument("--save", required=True)
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("--rate", type=int, default=0, help="download limit per leecher, B/s")
    s.add_argument("torrent")
    s = sub.add_parser("probe")
    s.add_argument("--peer", required=True)
    s.add_argument("--hash", required=True)
    s.add_argument("--secs", type=float, default=2)
    s.add_argument("--plain", action="store_true")
    s.add_argument("--pieces", type=int, default=0)
    s.add_argument("--until-file")
    s.add_argument("--request", type=int, help="then ask for this piece's first block")
    s = sub.add_parser("liar")
    s.add_argument("--peer", required=True)
    s.add_argument("--hash", required=True)
    s.add_argument("--secs", type=float, default=4)
    s.add_argument("--pieces", type=int, required=True)
    s = sub.add_parser("seed")
    s.add_argument("--peer", required=True)
    s.add_argument("--data", required=True)
    s.add_argument("--until-file", required=True)
    s.add_argument("torrent")
    a = ap.parse_args()
    return {"swarm": swarm, "probe": probe, "liar": liar, "seed": seed}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
