#!/usr/bin/python3
"""Helper for tests/e2e/serve_magnet.sh: peers that know only a magnet link,
peers that are seeds too, and hostile ut_metadata (BEP 9) peers.

Run with Debian's /usr/bin/python3; stdlib + libtorrent.

    serve_magnet.py lt MAGNET --save DIR [--peer IP:PORT] [--bind IP] [--timeout S] [--rate B]
        A libtorrent session given only MAGNET: the metadata comes from the
        swarm (the seeder), then the content. With --peer, connect_peer to it
        (and no tracker); otherwise the magnet's tr= and x.pe= are all it has.
        Exit 0 once it is seeding; prints "metadata in S s, complete in S s".

    serve_magnet.py lt-seed T.torrent DATA_DIR --peer IP:PORT [--timeout S]
        A libtorrent session seeding T from DATA_DIR connects to the seeder:
        exit 0 when the connection ended within the timeout (libtorrent
        closes it itself on reading have_all: "upload to upload").

    serve_magnet.py probe CASE IP:PORT HEX_INFO_HASH [--info FILE] [--other HEX]
        One raw peer that speaks BEP 3/6/10/9 by hand. CASE:
          fetch        ask every metadata piece, check the pieces join into the
                       info dictionary whose SHA-1 is the info-hash (and equal
                       --info's bytes if given); check the seeder's extended
                       handshake (m.ut_metadata, metadata_size, p, yourip,
                       reqq, upload_only, v)
          out-of-range piece = count, -1, 2**62: a reject for each, and the
                       connection stays usable (a valid piece after them)
          flood        --count requests at once (default 200): the burst is
                       served and the rest rejected; with 2,000 the peer is
                       dropped, never served past the burst
          bad-bencode  a ut_metadata message that is not bencode: closed
          bad-handshake an extended handshake that is not a dictionary: closed
          have-all     have_all (BEP 6): closed
          bitfield     a complete bitfield: closed
          upload-only  upload_only 1 in the extended handshake: closed
          leecher-bitfield  a bitfield with one piece missing: NOT closed
          unknown-hash connect with --other (not served): closed before any
                       metadata
        Prints one line; exit 0 when the seeder did what it should.
"""
import argparse
import hashlib
import os
import socket
import struct
import sys
import time

OUR_UT_METADATA = 7  # the id we ask the seeder to use towards us


# ------------------------------------------------------------------ bencode

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
    raise TypeError(type(v))


def bdec(b, i=0):
    """Returns (value, end offset)."""
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c == b"l":
        i += 1
        out = []
        while b[i:i + 1] != b"e":
            v, i = bdec(b, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i += 1
        out = {}
        while b[i:i + 1] != b"e":
            k, i = bdec(b, i)
            v, i = bdec(b, i)
            out[k] = v
        return out, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n


# ------------------------------------------------------------------ raw peer

class Closed(Exception):
    pass


class Peer:
    def __init__(self, addr, info_hash, fast=True, ext=True, timeout=10):
        host, port = addr.rsplit(":", 1)
        self.s = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
        self.buf = b""
        rsv = bytearray(8)
        if ext:
            rsv[5] |= 0x10
        if fast:
            rsv[7] |= 0x04
        self.s.sendall(b"\x13BitTorrent protocol" + bytes(rsv) + info_hash +
                       b"-PY0001-" + os.urandom(6).hex().encode())
        hs = self.read_exact(68)
        if hs[28:48] != info_hash:
            raise SystemExit("the seeder answered with info-hash %s" % hs[28:48].hex())
        self.reserved = hs[20:28]
        self.ext_hs = None
        self.seeder_meta_id = None

    def read_exact(self, n):
        while len(self.buf) < n:
            try:
                d = self.s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                d = b""
            if not d:
                raise Closed()
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def msg(self):
        """The next message as (id, payload); (None, b'') for a keep-alive."""
        n = struct.unpack(">I", self.read_exact(4))[0]
        if n == 0:
            return None, b""
        body = self.read_exact(n)
        return body[0], body[1:]

    def send(self, mid, payload=b""):
        self.s.sendall(struct.pack(">IB", len(payload) + 1, mid) + payload)

    def send_ext(self, ext_id, payload):
        self.send(20, bytes([ext_id]) + payload)

    def hello(self, extra=None):
        d = {"m": {"ut_metadata": OUR_UT_METADATA}, "v": "probe 1.0", "reqq": 100}
        d.update(extra or {})
        self.send_ext(0, benc(d))

    def wait_ext_hs(self, timeout=10):
        deadline = time.monotonic() + timeout
        while self.ext_hs is None:
            if time.monotonic() > deadline:
                raise SystemExit("no extended handshake from the seeder")
            mid, p = self.msg()
            if mid == 20 and p[:1] == b"\0":
                self.ext_hs, _ = bdec(p, 1)
                self.seeder_meta_id = self.ext_hs.get(b"m", {}).get(b"ut_metadata")
        return self.ext_hs

    def meta_request(self, piece):
        self.send_ext(self.seeder_meta_id, benc({"msg_type": 0, "piece": piece}))

    def meta_reply(self, timeout=10):
        """The next ut_metadata message sent to us: (dict, trailing bytes)."""
        self.s.settimeout(timeout)
        while True:
            mid, p = self.msg()
            if mid == 20 and p[0] == OUR_UT_METADATA:
                d, end = bdec(p, 1)
                return d, p[end:]

    def closed_within(self, secs):
        """True when the seeder closes the connection within secs (reading all)."""
        deadline = time.monotonic() + secs
        while time.monotonic() < deadline:
            self.s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                self.msg()
            except Closed:
                return True
            except socket.timeout:
                return False
        return False


def check_ext_hs(hs, addr, info_len):
    errs = []
    m = hs.get(b"m", {})
    if not isinstance(m.get(b"ut_metadata"), int) or not 0 < m[b"ut_metadata"] < 256:
        errs.append("m.ut_metadata %r" % m.get(b"ut_metadata"))
    if info_len is not None and hs.get(b"metadata_size") != info_len:
        errs.append("metadata_size %r, want %d" % (hs.get(b"metadata_size"), info_len))
    if hs.get(b"p") != int(addr.rsplit(":", 1)[1]):
        errs.append("p %r, want the port we connected to" % hs.get(b"p"))
    if hs.get(b"yourip") != socket.inet_aton("127.0.0.1"):
        errs.append("yourip %r, want 127.0.0.1 as 4 bytes" % hs.get(b"yourip"))
    if not isinstance(hs.get(b"reqq"), int) or hs[b"reqq"] < 1:
        errs.append("reqq %r" % hs.get(b"reqq"))
    if hs.get(b"upload_only") != 1:
        errs.append("upload_only %r, want 1 (BEP 21)" % hs.get(b"upload_only"))
    if not hs.get(b"v", b"").startswith(b"ringseed"):
        errs.append("v %r" % hs.get(b"v"))
    return errs


def probe_fetch(p, args, ih):
    hs = p.wait_ext_hs()
    size = hs.get(b"metadata_size")
    want = open(args.info, "rb").read() if args.info else None
    errs = check_ext_hs(hs, args.addr, len(want) if want is not None else None)
    if errs:
        return "extended handshake: " + "; ".join(errs)
    n = (size + 16383) // 16384
    for i in range(n):  # all requests first, as Transmission does
        p.meta_request(i)
    got = {}
    for _ in range(n):
        d, data = p.meta_reply()
        if d.get(b"msg_type") != 1:
            return "piece %r: msg_type %r" % (d.get(b"piece"), d.get(b"msg_type"))
        if d.get(b"total_size") != size:
            return "total_size %r, want %d" % (d.get(b"total_size"), size)
        i = d[b"piece"]
        if len(data) != min(16384, size - i * 16384):
            return "piece %d: %d bytes" % (i, len(data))
        got[i] = data
    info = b"".join(got[i] for i in range(n))
    if hashlib.sha1(info).digest() != ih:
        return "the metadata's SHA-1 %s is not the info-hash" % hashlib.sha1(info).hexdigest()
    if want is not None and info != want:
        return "the metadata differs from the .torrent's info dictionary"
    print("fetch: %d bytes in %d pieces, SHA-1 = info-hash" % (size, n))
    return None


def probe_out_of_range(p, args, ih):
    hs = p.wait_ext_hs()
    n = (hs[b"metadata_size"] + 16383) // 16384
    for piece in (n, -1, 2 ** 62, n + 1000):
        p.meta_request(piece)
        d, _ = p.meta_reply()
        if d.get(b"msg_type") != 2 or d.get(b"piece") != piece:
            return "piece %d: %r, want a reject" % (piece, d)
    p.meta_request(0)
    d, data = p.meta_reply()
    if d.get(b"msg_type") != 1 or not data:
        return "piece 0 after the rejects: %r" % d
    print("out-of-range: 4 rejects, then piece 0 served")
    return None


def probe_flood(p, args, ih):
    """--count requests at once: up to 200 are answered (the burst served, the
    rest rejected) and the peer kept; 2,000 fill the seeder's control buffer
    with rejects and the peer is dropped, never served past the burst."""
    hs = p.wait_ext_hs()
    n = (hs[b"metadata_size"] + 16383) // 16384
    burst = 2 * n + 8
    count = args.count
    batch = b"".join(struct.pack(">IBB", 2 + len(m), 20, p.seeder_meta_id) + m
                     for m in (benc({"msg_type": 0, "piece": i % n}) for i in range(count)))
    p.s.sendall(batch)
    served = rejected = 0
    closed = False
    try:
        while served + rejected < count:
            d, _ = p.meta_reply(timeout=5)
            if d.get(b"msg_type") == 1:
                served += 1
            elif d.get(b"msg_type") == 2:
                rejected += 1
    except Closed:
        closed = True
    if served > burst + 1:  # + 1: a token may come back during the test
        return "flood: served %d pieces at once, over the burst of %d" % (served, burst)
    if count <= 200 and (closed or served < burst or served + rejected != count):
        return "flood: %d requests: %d served, %d rejected%s, want %d served and the rest rejected" \
            % (count, served, rejected, ", closed" if closed else "", burst)
    if count > 200 and not closed:
        return "flood: %d requests: still connected" % count
    print("flood: %d requests: %d served (burst %d), %d rejected%s" %
          (count, served, burst, rejected, ", then closed" if closed else ""))
    return None


def expect_closed(p, what, secs=5):
    if not p.closed_within(secs):
        return "%s: the seeder kept the connection %d s" % (what, secs)
    print("%s: closed" % what)
    return None


def run_probe(args):
    ih = bytes.fromhex(args.info_hash)
    case = args.case
    if case == "unknown-hash":
        try:
            p = Peer(args.addr, bytes.fromhex(args.other))
        except Closed:
            print("unknown-hash: closed before its handshake")
            return None
        return "unknown-hash: the seeder answered a hash it does not serve"
    p = Peer(args.addr, ih)
    if case == "fetch":
        p.hello()
        return probe_fetch(p, args, ih)
    if case == "out-of-range":
        p.hello()
        return probe_out_of_range(p, args, ih)
    if case == "flood":
        p.hello()
        return probe_flood(p, args, ih)
    if case == "bad-bencode":
        p.hello()
        p.wait_ext_hs()
        p.send_ext(p.seeder_meta_id, b"d8:msg_typei0e5:piecei0")  # cut short
        return expect_closed(p, case)
    if case == "bad-handshake":
        p.send_ext(0, b"l1:me")
        return expect_closed(p, case)
    if case == "have-all":
        p.send(14)
        return expect_closed(p, case)
    if case == "upload-only":
        p.hello({"upload_only": 1})
        return expect_closed(p, case)
    if case in ("bitfield", "leecher-bitfield"):
        count = args.pieces
        bits = bytearray(b"\xff" * (count // 8))
        if count % 8:
            bits.append((0xff00 >> (count % 8)) & 0xff)  # spare bits zero
        if case == "leecher-bitfield":
            bits[-1] &= (0xff00 >> (count % 8 or 8)) & 0xff & ~(0x100 >> (count % 8 or 8))
        p.send(5, bytes(bits))
        if case == "bitfield":
            return expect_closed(p, case)
        if p.closed_within(3):
            return "leecher-bitfield: a leecher missing pieces was closed"
        print("leecher-bitfield: still connected after 3 s")
        return None
    return "unknown case %s" % case


# ------------------------------------------------------------------ libtorrent

def lt_session(bind):
    import libtorrent as lt
    mask = (lt.alert_category.error | lt.alert_category.connect | lt.alert_category.peer
            | lt.alert_category.status | lt.alert_category.storage)
    return lt, lt.session({
        "listen_interfaces": ("[%s]:0" if ":" in bind else "%s:0") % bind,
        "outgoing_interfaces": bind,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "out_enc_policy": int(lt.enc_policy.pe_disabled),
        "in_enc_policy": int(lt.enc_policy.pe_disabled),
        "allow_multiple_connections_per_ip": True,
        "min_reconnect_time": 1, "peer_connect_timeout": 5,
        "alert_mask": int(mask), "user_agent": "ringseed-test/1.0",
    })


def run_lt(args):
    lt, ses = lt_session(args.bind)
    if args.rate:
        # loopback peers are in libtorrent's "local" class, never rate limited
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)
    p = lt.parse_magnet_uri(args.magnet)
    p.save_path = args.save
    p.flags &= ~lt.torrent_flags.auto_managed
    p.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd \
        | lt.torrent_flags.disable_pex
    p.flags &= ~lt.torrent_flags.paused
    if args.peer:
        p.trackers = []
    h = ses.add_torrent(p)
    if args.rate:
        h.set_download_limit(args.rate)
    start = time.monotonic()
    meta_at = done_at = None
    last_connect = 0
    notes = []
    while time.monotonic() - start < args.timeout:
        for a in ses.pop_alerts():
            if isinstance(a, lt.metadata_received_alert) and meta_at is None:
                meta_at = time.monotonic() - start
            elif isinstance(a, (lt.metadata_failed_alert, lt.hash_failed_alert,
                                lt.torrent_error_alert, lt.file_error_alert)):
                notes.append(a.message())
        st = h.status()
        if args.peer and st.num_peers == 0 and time.monotonic() - last_connect > 1:
            last_connect = time.monotonic()
            host, port = args.peer.rsplit(":", 1)
            h.connect_peer((host.strip("[]"), int(port)))
        if st.is_seeding:
            done_at = time.monotonic() - start
            break
        time.sleep(0.2)
    st = h.status()
    ses.pause()
    if done_at is None:
        print("libtorrent: incomplete after %d s: has_metadata=%s, %d bytes, peers=%d; %s"
              % (args.timeout, st.has_metadata, st.total_wanted_done, st.num_peers,
                 "; ".join(notes[:5])))
        return 1
    if meta_at is None:
        meta_at = done_at
    print("libtorrent: metadata in %.1f s, complete in %.1f s%s"
          % (meta_at, done_at, ("; " + "; ".join(notes[:3])) if notes else ""))
    return 1 if any("hash" in n for n in notes) else 0


def run_lt_seed(args):
    """libtorrent seeding the same torrent connects to the seeder: neither
    side wants anything, so the connection must end at once. libtorrent
    itself closes it when it reads the seeder's have_all ("upload to
    upload"), and then does not connect to a known seed again."""
    lt, ses = lt_session(args.bind)
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(args.torrent)
    p.save_path = args.data
    p.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
    p.flags |= lt.torrent_flags.seed_mode | lt.torrent_flags.disable_dht \
        | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
    h = ses.add_torrent(p)
    host, port = args.peer.rsplit(":", 1)
    start = time.monotonic()
    h.connect_peer((host, int(port)))
    connected_at = closed = None
    while time.monotonic() - start < args.timeout and closed is None:
        for a in ses.pop_alerts():
            if isinstance(a, lt.peer_connect_alert):
                connected_at = time.monotonic()
            elif isinstance(a, lt.peer_disconnected_alert):
                closed = a.message().split("]", 2)[-1].strip()
        time.sleep(0.05)
    ses.pause()
    if connected_at is None or closed is None:
        print("lt-seed: connected=%s, ended=%s within %d s" % (connected_at is not None, closed,
                                                              args.timeout))
        return 1
    print("lt-seed: the connection ended after %.2f s: %s"
          % (time.monotonic() - connected_at, closed))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("lt")
    a.add_argument("magnet")
    a.add_argument("--save", required=True)
    a.add_argument("--peer")
    a.add_argument("--bind", default="127.0.0.1")
    a.add_argument("--timeout", type=float, default=60)
    a.add_argument("--rate", type=int, default=0, help="download limit, bytes/s")
    a = sub.add_parser("lt-seed")
    a.add_argument("torrent")
    a.add_argument("data")
    a.add_argument("--peer", required=True)
    a.add_argument("--bind", default="127.0.0.1")
    a.add_argument("--timeout", type=float, default=30)
    a = sub.add_parser("probe")
    a.add_argument("case")
    a.add_argument("addr")
    a.add_argument("info_hash")
    a.add_argument("--info")
    a.add_argument("--other")
    a.add_argument("--pieces", type=int, default=0)
    a.add_argument("--count", type=int, default=200)
    args = ap.parse_args()
    if args.cmd == "lt":
        return run_lt(args)
    if args.cmd == "lt-seed":
        return run_lt_seed(args)
    try:
        err = run_probe(args)
    except Closed:
        err = "%s: the seeder closed the connection unexpectedly" % args.case
    except socket.timeout:
        err = "%s: timed out waiting for the seeder" % args.case
    if err:
        print("probe " + err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
