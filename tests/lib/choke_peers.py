#!/usr/bin/python3
"""choke_peers.py - raw BitTorrent leechers that watch how a seeder chokes.

Used by tests/e2e/serve_choke.sh against a ringseed with 2 unchoke slots
and a 1 s rechoke. Six leechers (L1..L6), each from its own address
127.0.0.(base+i), download a single-file torrent with 16 KiB requests,
verify every block against the content, send have for each piece, and
record every choke and unchoke they get; a sampler notes who is unchoked
every 100 ms. Each leecher paces its requests to a rate of its own while
the check runs (phase 1), then the pacing is lifted so that everyone
finishes (phase 2). Leechers with an even number speak the Fast extension
(rejects expected on choke); odd ones do not (queued requests dropped).

  all          L1, L2 unchoked first and kept; nobody else until one leaves
  round_robin  every leecher gets a first turn before any gets a second,
               and a leecher is choked before it completes (rotation)
  fastest      L1, L2 (the fast ones) stay unchoked; at most one other
               (the optimistic unchoke) at a time, and it rotates
  anti_leech   L1 (claims 0%) and L2 (claims 90%) unchoked once the
               choker ran, though L3 and L4 (40-55%) connected first
  rate         three unpaced leechers: the aggregate stays near --cap

--allowed-fast K adds a seventh peer (fast, not interested, choked): it must
get K allowed_fast messages naming BEP 6's canonical set, download a piece
of it while choked, and get reject_request for a piece outside it.
Exit 0 with a summary line, 1 with the reason.
"""
import argparse
import hashlib
import os
import socket
import struct
import sys
import threading
import time
from bdecode import bdecode, info_bytes

CHOKE, UNCHOKE, INTERESTED, NOT_INTERESTED, HAVE, BITFIELD, REQUEST, PIECE = range(8)
HAVE_ALL, HAVE_NONE, REJECT, ALLOWED_FAST = 14, 15, 16, 17
BLOCK = 16384


class Fail(Exception):
    pass


class Torrent:
    def __init__(self, path, content):
        raw = open(path, "rb").read()
        meta, _ = bdecode(raw)
        info = meta[b"info"]
        self.ih = hashlib.sha1(info_bytes(raw)).digest()
        self.pl = info[b"piece length"]
        self.total = info[b"length"]
        self.n = (self.total + self.pl - 1) // self.pl
        self.data = open(content, "rb").read()
        if len(self.data) != self.total:
            raise Fail("content is %d bytes, the torrent says %d" % (len(self.data), self.total))

    def psize(self, i):
        return min(self.pl, self.total - i * self.pl)


def allowed_fast_set(ip, ih, n, k):
    """BEP 6's canonical algorithm, written again from the BEP."""
    x = struct.pack(">I", ip & 0xffffff00) + ih
    out = []
    k = min(k, n)
    while len(out) < k:
        x = hashlib.sha1(x).digest()
        for i in range(5):
            if len(out) >= k:
                break
            v = struct.unpack(">I", x[4 * i:4 * i + 4])[0] % n
            if v not in out:
                out.append(v)
    return out


def msg(mid, payload=b""):
    return struct.pack(">IB", 1 + len(payload), mid) + payload


class Conn:
    def __init__(self, ip, host, port, t, fast):
        self.s = socket.socket()
        self.s.bind((ip, 0))
        self.s.settimeout(5)
        self.s.connect((host, port))
        self.buf = b""
        r = bytearray(8)
        if fast:
            r[7] |= 0x04
        self.s.sendall(b"\x13BitTorrent protocol" + bytes(r) + t.ih + b"-CK0000-" +
                       os.urandom(6).hex().encode())
        hs = self.take(68, 5)
        if hs[28:48] != t.ih:
            raise Fail("handshake: wrong info-hash")

    def take(self, n, timeout):
        end = time.monotonic() + timeout
        while len(self.buf) < n:
            left = end - time.monotonic()
            if left <= 0:
                raise Fail("timeout")
            self.s.settimeout(left)
            d = self.s.recv(1 << 20)
            if not d:
                raise Fail("EOF")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_msg(self, timeout):
        """One message, or None when nothing whole arrives within timeout."""
        try:
            if len(self.buf) < 4:
                self.fill(4, timeout)
            n = struct.unpack(">I", self.buf[:4])[0]
            self.fill(4 + n, timeout)
        except socket.timeout:
            return None
        body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        if n == 0:
            return (-1, b"")
        return body[0], body[1:]

    def fill(self, n, timeout):
        self.s.settimeout(timeout)
        while len(self.buf) < n:
            d = self.s.recv(1 << 20)
            if not d:
                raise Fail("EOF")
            self.buf += d

    def send(self, b):
        self.s.sendall(b)


class Leecher(threading.Thread):
    def __init__(self, run, name, ip, rate, have_frac, fast):
        super().__init__(daemon=True)
        self.run_, self.name_, self.ip, self.rate, self.fast = run, name, ip, rate, fast
        t = run.t
        k = int(t.n * have_frac)
        self.claimed = set(range(t.n - k, t.n))  # the end of the file, so piece 0 is wanted
        self.missing = [i for i in range(t.n) if i not in self.claimed]
        self.got = {}  # piece -> set of begins
        self.out = set()  # (piece, begin) requested, not answered
        self.unchoked = False
        self.events = []  # (time, "choke" | "unchoke")
        self.done_at = None
        self.bytes = 0
        self.first_at = self.last_at = None
        self.error = None
        self.connected = threading.Event()

    def blocks(self, i):
        return [(i, b) for b in range(0, self.run_.t.psize(i), BLOCK)]

    def run(self):
        try:
            self.session()
        except Exception as e:  # noqa: BLE001 - reported by the checks
            self.error = "%s: %s" % (self.name_, e)
        finally:
            self.connected.set()

    def session(self):
        t = self.run_.t
        c = Conn(self.ip, self.run_.host, self.run_.port, t, self.fast)
        self.connected.set()
        if self.claimed:
            bf = bytearray((t.n + 7) // 8)
            for i in self.claimed:
                bf[i // 8] |= 0x80 >> (i % 8)
            c.send(msg(BITFIELD, bytes(bf)))
        elif self.fast:
            c.send(msg(HAVE_NONE))
        c.send(msg(INTERESTED))
        budget, last = 0.0, time.monotonic()
        while self.missing:
            m = c.read_msg(0.02)
            now = time.monotonic()
            if m:
                self.handle(c, m, now)
            paced = self.rate and not self.run_.unpaced.is_set()
            budget = min(budget + (now - last) * (self.rate or 0), 65536.0) if paced else 0
            last = now
            if self.unchoked:
                for i in self.missing:
                    for blk in self.blocks(i):
                        if len(self.out) >= 8 or (paced and budget < BLOCK):
                            break
                        if blk in self.out or blk[1] in self.got.get(i, ()):
                            continue
                        c.send(msg(REQUEST, struct.pack(">III", blk[0], blk[1],
                                                        min(BLOCK, t.psize(i) - blk[1]))))
                        self.out.add(blk)
                        budget -= BLOCK
        self.done_at = time.monotonic()
        c.send(msg(NOT_INTERESTED))
        c.s.close()

    def handle(self, c, m, now):
        mid, pl = m
        t = self.run_.t
        if mid == UNCHOKE:
            self.unchoked = True
            self.events.append((now, "unchoke"))
        elif mid == CHOKE:
            self.unchoked = False
            self.events.append((now, "choke"))
            if not self.fast:
                self.out.clear()  # BEP 3: dropped
        elif mid == REJECT:
            self.out.discard(struct.unpack(">II", pl[:8]))
        elif mid == PIECE:
            i, b = struct.unpack(">II", pl[:8])
            d = pl[8:]
            if d != t.data[i * t.pl + b:i * t.pl + b + len(d)]:
                raise Fail("piece %d at %d: wrong bytes" % (i, b))
            self.out.discard((i, b))
            self.bytes += len(d)
            self.first_at = self.first_at or now
            self.last_at = now
            self.got.setdefault(i, set()).add(b)
            if len(self.got[i]) == len(self.blocks(i)) and i in self.missing:
                self.missing.remove(i)
                c.send(msg(HAVE, struct.pack(">I", i)))


class Run:
    def __init__(self, args):
        self.args = args
        self.t = Torrent(args.torrent, args.content)
        self.host, self.port = args.peer.rsplit(":", 1)
        self.port = int(self.port)
        self.unpaced = threading.Event()
        self.samples = []  # (time, frozenset of unchoked names)
        self.leechers = []

    def add(self, name, rate, have_frac=0.0):
        i = len(self.leechers) + 1
        lc = Leecher(self, name, "127.0.0.%d" % (self.args.base + i), rate, have_frac, i % 2 == 0)
        self.leechers.append(lc)
        lc.start()
        lc.connected.wait(5)
        time.sleep(0.05)
        return lc

    def by(self, name):
        return next(lc for lc in self.leechers if lc.name_ == name)

    def sample(self):
        s = frozenset(lc.name_ for lc in self.leechers if lc.unchoked and lc.done_at is None)
        self.samples.append((time.monotonic(), s))

    def run_until(self, cond, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.sample()
            errs = [lc.error for lc in self.leechers if lc.error]
            if errs:
                raise Fail(errs[0])
            if cond():
                return True
            time.sleep(0.1)
        return False

    def finish(self, timeout):
        self.unpaced.set()
        if not self.run_until(lambda: all(lc.done_at for lc in self.leechers), timeout):
            raise Fail("not complete after %.0f s: %s" % (timeout, ", ".join(
                "%s %d/%d pieces%s" % (lc.name_, self.t.n - len(lc.missing), self.t.n,
                                       " (unchoked)" if lc.unchoked else "")
                for lc in self.leechers if lc.done_at is None)))

    def between(self, t0, t1):
        return [s for t, s in self.samples if t0 <= t <= t1]


def over_slots(samples, want):
    """Samples with more unchoked than want; one in a row is a message in flight."""
    bad = 0
    prev = False
    for s in samples:
        if len(s) > want:
            if prev:
                bad += 1
            prev = True
        else:
            prev = False
    return bad


def check_all(r):
    for n in ("L1", "L2", "L3", "L4", "L5", "L6"):
        r.add(n, 1 << 19)
    settle = time.monotonic() + 1.5
    r.run_until(lambda: any(lc.done_at for lc in r.leechers), 10)
    first_done = min(lc.done_at for lc in r.leechers if lc.done_at)
    win = r.between(settle, first_done - 0.1)
    if not win:
        raise Fail("a leecher completed before the check window")
    wrong = [s for s in win if s != {"L1", "L2"}]
    if len(wrong) > 1:
        raise Fail("unchoked %s, want L1 and L2 only (%d of %d samples)" %
                   (sorted(wrong[0]), len(wrong), len(win)))
    for n in ("L1", "L2"):
        if any(e == "choke" for _, e in r.by(n).events):
            raise Fail("%s was choked under choker all" % n)
    r.finish(12)
    return "L1, L2 held the slots (%d samples); the others followed as they left" % len(win)


def check_round_robin(r):
    for n in ("L1", "L2", "L3", "L4", "L5", "L6"):
        r.add(n, 1 << 20)

    def all_had_turn():
        return all(any(e == "unchoke" for _, e in lc.events) for lc in r.leechers)
    if not r.run_until(all_had_turn, 12):
        raise Fail("not every leecher was unchoked within 12 s: %s" % ", ".join(
            lc.name_ for lc in r.leechers if not lc.events))
    firsts = sorted((next(t for t, e in lc.events if e == "unchoke"), lc.name_)
                    for lc in r.leechers)
    last_first = firsts[-1][0]
    # A slot that a leaving leecher frees between rechokes goes to the peer
    # that waited longest on the same worker (README): those turns are left out.
    dones = [lc.done_at for lc in r.leechers if lc.done_at]
    for lc in r.leechers:
        ups = [t for t, e in lc.events if e == "unchoke"
               and not any(0 <= t - d < 0.3 for d in dones)]
        if len(ups) > 1 and ups[1] < last_first - 0.2:  # at an earlier rechoke, not the same
            raise Fail("%s got a second turn before %s had a first" % (lc.name_, firsts[-1][1]))
    choked = [lc.name_ for lc in r.leechers if any(e == "choke" for _, e in lc.events)]
    if len(choked) < 2:
        raise Fail("no rotation: choked before completing: %s" % choked)
    bad = over_slots(r.samples, 2)
    r.finish(12)
    if bad > 1:
        raise Fail("more than 2 unchoked in %d samples" % bad)
    return "turns in order %s; %s yielded their slot" % (
        " ".join(n for _, n in firsts), " ".join(choked))


def check_fastest(r):
    r.add("L1", 2 << 20)
    r.add("L2", 3 << 19)
    for n in ("L3", "L4", "L5", "L6"):
        r.add(n, 1 << 18)
    settle = time.monotonic() + 1.5
    r.run_until(lambda: any(lc.done_at for lc in r.leechers), 12)
    first_done = min(lc.done_at for lc in r.leechers if lc.done_at)
    if r.by("L1").done_at is None and r.by("L2").done_at is None:
        raise Fail("a slow leecher completed first")
    win = r.between(settle, first_done - 0.2)
    if len(win) < 5:
        raise Fail("a fast leecher completed before the check window")
    missing = [s for s in win if not {"L1", "L2"} <= s]
    if len(missing) > 1:
        raise Fail("L1 and L2 not both unchoked: %s (%d of %d samples)" %
                   (sorted(missing[0]), len(missing), len(win)))
    if over_slots(win, 3) > 1:
        raise Fail("more than one optimistic unchoke at a time")
    others = set()
    for s in r.between(0, first_done):
        others |= s - {"L1", "L2"}
    if len(others) < 2:
        raise Fail("the optimistic unchoke did not rotate: only %s" % sorted(others))
    r.finish(12)
    return "L1, L2 kept their slots (%d samples); optimistic: %s" % (len(win), " ".join(sorted(others)))


def check_anti_leech(r):
    r.add("L3", 1 << 18, 0.40)
    r.add("L4", 1 << 18, 0.45)
    r.add("L1", 1 << 18, 0.0)
    r.add("L2", 1 << 17, 0.85)  # slow, so that it is still there in the window
    r.add("L5", 1 << 18, 0.50)
    r.add("L6", 1 << 18, 0.55)
    t0 = time.monotonic()
    # A peer that came after a round's lists were made waits for the next one:
    # two rechokes (1 s each) after the last connection, every one is ranked.
    r.run_until(lambda: time.monotonic() > t0 + 3.2, 4)
    win = r.between(t0 + 2.4, t0 + 3.2)
    good = [s for s in win if s == {"L1", "L2"}]
    if len(good) < len(win) - 1:
        raise Fail("unchoked %s, want L1 (0%%) and L2 (85%%)" %
                   sorted(next(s for s in win if s != {"L1", "L2"})))
    if not any(e == "choke" for lc in (r.by("L3"), r.by("L4")) for _, e in lc.events) and \
            any(lc.events for lc in (r.by("L3"), r.by("L4"))):
        raise Fail("L3 or L4 were unchoked first but never choked")
    r.finish(12)
    return "L1 (0%%) and L2 (85%%) held the slots in %d of %d samples" % (len(good), len(win))


def check_rate(r):
    for n in ("L1", "L2", "L3"):
        r.add(n, 0)
    r.finish(15)
    first = min(lc.first_at for lc in r.leechers)
    last = max(lc.last_at for lc in r.leechers)
    total = sum(lc.bytes for lc in r.leechers)
    rate = total / max(last - first, 1e-3)
    cap = r.args.cap
    if not 0.5 * cap <= rate <= 1.3 * cap:
        raise Fail("aggregate %.0f B/s over %.1f s, cap %d: want 0.5x..1.3x" % (rate, last - first, cap))
    return "aggregate %.0f B/s over %.1f s (%.2fx the cap)" % (rate, last - first, rate / cap)


def check_allowed_fast(r, k):
    t = r.t
    ip = "127.0.0.%d" % (r.args.base + 9)
    want = allowed_fast_set(struct.unpack(">I", socket.inet_aton(ip))[0], t.ih, t.n, k)
    c = Conn(ip, r.host, r.port, t, True)
    c.send(msg(HAVE_NONE))
    got = []
    end = time.monotonic() + 3
    while len(got) < len(want) and time.monotonic() < end:
        m = c.read_msg(0.2)
        if m and m[0] == ALLOWED_FAST:
            got.append(struct.unpack(">I", m[1])[0])
        if m and m[0] == UNCHOKE:
            raise Fail("allowed fast peer: unchoked, but the slots were taken")
    if sorted(got) != sorted(want):
        raise Fail("allowed_fast %s, want BEP 6's set %s" % (got, want))
    p = want[0]
    for b in range(0, t.psize(p), BLOCK):
        c.send(msg(REQUEST, struct.pack(">III", p, b, min(BLOCK, t.psize(p) - b))))
    outside = next(i for i in range(t.n) if i not in want)
    c.send(msg(REQUEST, struct.pack(">III", outside, 0, BLOCK)))
    blocks, rejected = 0, False
    end = time.monotonic() + 5
    while (blocks < len(range(0, t.psize(p), BLOCK)) or not rejected) and time.monotonic() < end:
        m = c.read_msg(0.2)
        if not m:
            continue
        if m[0] == PIECE:
            i, b = struct.unpack(">II", m[1][:8])
            if i != p or m[1][8:] != t.data[i * t.pl + b:i * t.pl + b + len(m[1]) - 8]:
                raise Fail("allowed fast peer: a wrong block (%d, %d)" % (i, b))
            blocks += 1
        elif m[0] == REJECT:
            if struct.unpack(">I", m[1][:4])[0] != outside:
                raise Fail("allowed fast peer: a request for an allowed piece was rejected")
            rejected = True
        elif m[0] == UNCHOKE:
            raise Fail("allowed fast peer: unchoked, but the slots were taken")
    if not rejected or blocks < len(range(0, t.psize(p), BLOCK)):
        raise Fail("allowed fast peer: %d blocks of piece %d while choked, rejected outside: %s" %
                   (blocks, p, rejected))
    c.s.close()
    return "allowed fast %s; piece %d served while choked (%d blocks), %d rejected" % (
        want, p, blocks, outside)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["all", "round_robin", "fastest", "anti_leech", "rate"])
    ap.add_argument("--peer", required=True)
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--content", required=True)
    ap.add_argument("--base", type=int, default=10, help="leecher i binds 127.0.0.(base+i)")
    ap.add_argument("--cap", type=int, default=0)
    ap.add_argument("--allowed-fast", type=int, default=0)
    args = ap.parse_args()
    r = Run(args)
    try:
        notes = []
        if args.allowed_fast:
            for n in ("L1", "L2"):
                r.add(n, 1 << 19)
            time.sleep(0.3)
            notes.append(check_allowed_fast(r, args.allowed_fast))
            for n in ("L3", "L4", "L5", "L6"):
                r.add(n, 1 << 19)
            r.finish(12)
            notes.append("everyone completed")
        else:
            notes.append(globals()["check_" + args.mode](r))
    except Fail as e:
        t0 = min((lc.events[0][0] for lc in r.leechers if lc.events), default=0)
        for lc in r.leechers:
            print("  %s: %s%s" % (lc.name_, " ".join("%s@%.2f" % (e, t - t0) for t, e in lc.events),
                                  " done@%.2f" % (lc.done_at - t0) if lc.done_at else ""))
        print("%s: FAIL: %s" % (args.mode, e), flush=True)
        return 1
    print("%s: ok: %s" % (args.mode, "; ".join(notes)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
