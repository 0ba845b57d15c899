#!/usr/bin/python3
"""Hostile and probing peers for tests/e2e/serve_hostile.sh (and the other
serve tests): raw BitTorrent wire protocol over TCP, stdlib + libtorrent (only
to read the .torrent).

    serve_hostile.py CASE --peer IP:PORT --torrent T [--content PATH]
                     [--bind IP] [--max-request N] [--max-peers N] [--count N]
                     [--wait S] [--missing N,..] [--hash HEX] [--no-fast] [--no-ext]

--content is the torrent's content as the seeder has it (the file, or the
directory for a multi-file torrent): blocks received are checked against it.

Each CASE prints what the peer saw, one line, and exits 0 if that is what the
spec asks of the seeder, 1 otherwise (with the reason):

  greet        handshake with the extension + Fast bits: the answer echoes the
               info-hash, sets the same two bits, then HAVE_ALL (or, with
               --missing N,.. a bitfield without those pieces) and a BEP 10
               handshake (id 20/0), and unchoke after interested. Then one
               valid block of each of the first, --missing and last pieces
               is served or rejected as the bitfield says, data checked
               against --content. With --no-fast: a full bitfield (spare bits
               clear), no HAVE_ALL; with --no-ext: no id 20 message.
  garbage      68 bytes that are not a handshake: EOF, nothing received
  unknown-hash a valid handshake for an info-hash the seeder does not serve
               (random, or --hash HEX): EOF, nothing received
  bad-requests with Fast: on one connection, a request past the end of a
               piece, past the end of the torrent (index = number of pieces),
               past the end of the short last piece, of length 0, of length
               --max-request + 1 and beginning at the piece's end each get a
               reject_request for exactly
               that request; the connection stays up and then serves a valid
               block with the right bytes
  reject-burst with Fast: --count N requests longer than --max-request in one
               packet get N reject_request, in order, each for exactly its
               request (nothing else, no garbage), then a valid block
  bad-requests-nofast
               the same six, each on its own connection without the Fast
               bit: each ends with EOF and no piece for it
  big-length   a message length prefix of 2 GB after the handshake: EOF
  flood        --count N valid requests (N > reqq) at once on a connection
               with a small receive buffer that reads nothing for 2 s: then
               EOF (dropped) before all N blocks came
  stuck        --count N (< reqq) requests, then never reads for --wait S
               (idle_timeout + slack): after that, draining the socket ends in
               EOF within 10 s (the seeder dropped it, nothing blocked)
  cancel       with Fast, a small receive buffer: --count N requests (more
               blocks than the sockets hold), then cancels for the last 2/3
               of them at once; then every request gets exactly one answer
               (the block, or a reject_request for a cancelled one), at least
               one cancel took effect, and the blocks are right
  pipeline     --count N = the seeder's reqq: 96 blocks with 12 requests kept
               in flight and 160 with 40 (at most N; a batch takes some of the
               queue, new requests come in behind the rest, the head walks to
               the tail), then D requests at once on a connection with a
               small receive buffer that reads nothing for 1 s (what the
               sockets do not hold queues up in the seeder), then one more for
               each block received until D more were asked: D = 200 (the
               queue's tail reaches the end of its buffer while its head walks
               behind the full socket) and D = N (the queue grows to reqq and
               goes round its ring). The k-th block received answers
               the k-th request (the queue is FIFO), bytes right, no
               reject_request, no EOF
  max-request  with Fast: a request of exactly --max-request bytes is served
               (right bytes), one of --max-request + 1 gets reject_request
  hold         greet, then wait up to --wait S for the seeder to close the
               connection (a torrent removed by SIGHUP): ok if it does
  slots        (serve.unchoke_slots = 1, one worker) a first peer is
               unchoked; a second interested one stays choked, its request
               gets reject_request; when the first leaves, the second is
               unchoked and served
  too-many     (serve.max_peers = M given as --max-peers M, one worker)
               --count N peers at once: M get the handshake back, N - M EOF
  half-open    --count N connections at once, half send nothing, half the
               first 10 bytes of a handshake; every one must end in EOF
               within --wait S
"""
import argparse
import os
import random
import select
import socket
import struct
import sys
import time

import libtorrent as lt

PSTR = b"\x13BitTorrent protocol"
EXT = (5, 0x10)
FAST = (7, 0x04)
CHOKE, UNCHOKE, INTERESTED, NOT_INTERESTED, HAVE, BITFIELD, REQUEST, PIECE, CANCEL = range(9)
HAVE_ALL, HAVE_NONE, REJECT, ALLOWED_FAST, EXTENDED = 14, 15, 16, 17, 20
NAMES = {0: "choke", 1: "unchoke", 2: "interested", 3: "not_interested", 4: "have",
         5: "bitfield", 6: "request", 7: "piece", 8: "cancel", 9: "port", 13: "suggest",
         14: "have_all", 15: "have_none", 16: "reject_request", 17: "allowed_fast",
         20: "extended"}


class Fail(Exception):
    pass


class EOF(Exception):
    pass


def reserved(fast=True, ext=True):
    r = bytearray(8)
    if ext:
        r[EXT[0]] |= EXT[1]
    if fast:
        r[FAST[0]] |= FAST[1]
    return bytes(r)


def handshake(ih, fast=True, ext=True):
    return PSTR + reserved(fast, ext) + ih + b"-RS0000-" + os.urandom(6).hex().encode()[:12]


def msg(mid, payload=b""):
    return struct.pack(">IB", 1 + len(payload), mid) + payload


def req(mid, index, begin, length):
    return msg(mid, struct.pack(">III", index, begin, length))


class Torrent:
    def __init__(self, path, content):
        ti = lt.torrent_info(path)
        self.ih = bytes.fromhex(str(ti.info_hash()))
        self.pl = ti.piece_length()
        self.n = ti.num_pieces()
        self.total = ti.total_size()
        self.last = self.total - (self.n - 1) * self.pl
        fs = ti.files()
        self.files = [(fs.file_path(i), fs.file_offset(i), fs.file_size(i))
                      for i in range(fs.num_files())]
        self.content = content
        self.single = fs.num_files() == 1 and content and os.path.isfile(content)

    def piece_size(self, i):
        return self.last if i == self.n - 1 else self.pl

    def data(self, index, begin, length):
        """The bytes of the torrent at (index, begin, length), from --content."""
        off = index * self.pl + begin
        out = b""
        for path, foff, fsize in self.files:
            if foff + fsize <= off or foff >= off + length or fsize == 0:
                continue
            if self.single:
                fpath = self.content
            else:   # path is NAME/dir/file; content is DATA/NAME
                fpath = os.path.join(self.content, *path.split(os.sep)[1:])
            lo = max(off, foff)
            hi = min(off + length, foff + fsize)
            with open(fpath, "rb") as f:
                f.seek(lo - foff)
                out += f.read(hi - lo)
        return out


class Peer:
    def __init__(self, args, rcvbuf=0):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if args.bind:
            self.s.bind((args.bind, 0))
        self.s.settimeout(5)
        host, port = args.peer.rsplit(":", 1)
        self.s.connect((host, int(port)))
        self.buf = b""
        self.got = 0

    def send(self, b):
        self.s.sendall(b)

    def fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("timeout waiting for %d bytes (have %d)" % (n, len(self.buf)))
            self.s.settimeout(left)
            try:
                d = self.s.recv(1 << 16)
            except ConnectionResetError:
                d = b""
            except socket.timeout:
                continue
            if not d:
                raise EOF()
            self.buf += d
            self.got += len(d)

    def take(self, n, deadline):
        self.fill(n, deadline)
        b, self.buf = self.buf[:n], self.buf[n:]
        return b

    def handshake(self, t, fast=True, ext=True, timeout=5):
        self.send(handshake(t.ih, fast, ext))
        h = self.take(68, time.monotonic() + timeout)
        if h[:20] != PSTR:
            raise Fail("the answer is not a BitTorrent handshake: %r" % h[:20])
        if h[28:48] != t.ih:
            raise Fail("the answer has info-hash %s, want %s" % (h[28:48].hex(), t.ih.hex()))
        return h

    def read_msg(self, timeout=5):
        """(id, payload), or (None, b'') for a keep-alive."""
        deadline = time.monotonic() + timeout
        n = struct.unpack(">I", self.take(4, deadline))[0]
        if n > (1 << 17) + 13:
            raise Fail("message of %d bytes from the seeder" % n)
        if n == 0:
            return None, b""
        b = self.take(n, deadline)
        return b[0], b[1:]

    def expect_eof(self, timeout):
        """True if the seeder closes within timeout (whatever it sends first)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.fill(len(self.buf) + 1, deadline)
                self.buf = b""
        except EOF:
            return True
        except Fail:
            return False
        except OSError:
            return True

    def until_unchoked(self, timeout=10):
        """Reads the greeting up to unchoke; returns the ids seen in order."""
        seen = []
        deadline = time.monotonic() + timeout
        self.bitfield = None
        while True:
            mid, p = self.read_msg(max(0.1, deadline - time.monotonic()))
            seen.append(mid)
            if mid == BITFIELD:
                self.bitfield = p
            if mid == HAVE_ALL:
                self.bitfield = "all"
            if mid == UNCHOKE:
                return seen

    def close(self):
        self.s.close()


def connect_greet(args, t, fast=True, ext=True, rcvbuf=0):
    p = Peer(args, rcvbuf)
    p.handshake(t, fast, ext)
    p.send(msg(INTERESTED))
    seen = p.until_unchoked()
    return p, seen


def expect_block(p, t, index, begin, length, timeout=10):
    """Reads until the piece (index, begin) arrives; checks its bytes."""
    deadline = time.monotonic() + timeout
    while True:
        mid, pl = p.read_msg(max(0.1, deadline - time.monotonic()))
        if mid == PIECE:
            i, b = struct.unpack(">II", pl[:8])
            if (i, b) != (index, begin):
                continue
            data = pl[8:]
            if len(data) != length:
                raise Fail("block %d/%d: %d bytes, want %d" % (index, begin, len(data), length))
            if t.content and data != t.data(index, begin, length):
                raise Fail("block %d/%d: wrong bytes" % (index, begin))
            return
        if mid == REJECT:
            raise Fail("valid request %d/%d/%d rejected" % (index, begin, length))


def case_greet(args, t):
    fast, ext = not args.no_fast, not args.no_ext
    missing = [int(x) for x in args.missing.split(",") if x]
    p = Peer(args)
    h = p.handshake(t, fast, ext)
    r = h[20:28]
    problems = []
    if not r[EXT[0]] & EXT[1]:
        problems.append("reserved bits %s: no extension protocol bit" % r.hex())
    if not r[FAST[0]] & FAST[1]:
        problems.append("reserved bits %s: no Fast bit" % r.hex())
    p.send(msg(INTERESTED))
    seen = p.until_unchoked()
    names = [NAMES.get(m, str(m)) for m in seen]
    if fast and not missing:
        if HAVE_ALL not in seen:
            problems.append("Fast peer, complete seeder: no have_all (got %s)" % names)
        if BITFIELD in seen:
            problems.append("Fast peer: a bitfield besides have_all")
    else:
        if BITFIELD not in seen:
            problems.append("no bitfield (got %s)" % names)
        else:
            bf = p.bitfield
            want = bytearray((t.n + 7) // 8)
            for i in range(t.n):
                if i not in missing:
                    want[i // 8] |= 0x80 >> (i % 8)
            if bytes(bf) != bytes(want):
                problems.append("bitfield %s, want %s" % (bf.hex()[:64], want.hex()[:64]))
        if HAVE_ALL in seen:
            problems.append("have_all although %s" % ("the peer has no Fast bit" if not fast
                                                      else "pieces are missing"))
    if ext and EXTENDED not in seen:
        problems.append("no BEP 10 extended handshake before unchoke (got %s)" % names)
    if not ext and EXTENDED in seen:
        problems.append("an extended message to a peer without the extension bit")
    if seen and seen[0] not in (HAVE_ALL, BITFIELD, HAVE_NONE, EXTENDED, None):
        problems.append("first message is %s" % names[0])
    # blocks: first piece, a missing piece, the short last piece
    checks = [(0, 0, min(16384, t.piece_size(0)))]
    for m in missing:
        checks.append((m, 0, 16384))
    last = t.n - 1
    checks.append((last, t.piece_size(last) - min(16384, t.piece_size(last)),
                   min(16384, t.piece_size(last))))
    for i, b, n in checks:
        p.send(req(REQUEST, i, b, n))
        if i in missing:
            deadline = time.monotonic() + 5
            try:
                while True:
                    mid, pl = p.read_msg(max(0.1, deadline - time.monotonic()))
                    if mid == PIECE and struct.unpack(">I", pl[:4])[0] == i:
                        problems.append("piece %d, which the seeder has bad, was served" % i)
                        break
                    if mid == REJECT and struct.unpack(">III", pl) == (i, b, n):
                        break
            except EOF:
                if fast:
                    problems.append("a request for missing piece %d: EOF, want reject_request" % i)
                p = connect_greet(args, t, fast, ext)[0]
            except Fail as e:
                if fast:
                    problems.append("a request for missing piece %d: %s" % (i, e))
        else:
            try:
                expect_block(p, t, i, b, n)
            except (Fail, EOF) as e:
                problems.append("block %d/%d/%d: %s" % (i, b, n, e or "EOF"))
    p.close()
    if problems:
        raise Fail("; ".join(problems))
    return "greeting %s, reserved %s, %d blocks checked" % (names, r.hex(), len(checks))


def expect_nothing_then_eof(args, t, data, what):
    p = Peer(args)
    p.send(data)
    closed = p.expect_eof(args.wait)
    if not closed:
        raise Fail("%s: the connection is still open after %.0f s" % (what, args.wait))
    if p.got:
        raise Fail("%s: closed, but sent %d bytes first" % (what, p.got))
    return "%s: closed, nothing received" % what


def bad_requests(t, max_request):
    last = t.n - 1
    return [
        ("past the end of piece 0", (0, t.pl - 8192, 16384)),
        ("past the end of the torrent", (t.n, 0, 16384)),
        ("past the end of the short last piece", (last, t.last - 100, 16384 if t.last >= 100 else 200)),
        ("length 0", (0, 0, 0)),
        ("length max_request+1", (0, 0, max_request + 1)),
        ("begin past the piece", (1 % t.n, t.piece_size(1 % t.n), 1)),
    ]


def case_bad_requests(args, t):
    p, _ = connect_greet(args, t)
    out = []
    for what, (i, b, n) in bad_requests(t, args.max_request):
        p.send(req(REQUEST, i, b, n))
        deadline = time.monotonic() + 5
        try:
            while True:
                mid, pl = p.read_msg(max(0.1, deadline - time.monotonic()))
                if mid == REJECT:
                    got = struct.unpack(">III", pl)
                    if got != (i, b, n):
                        raise Fail("%s: reject_request for %s, want %s" % (what, got, (i, b, n)))
                    out.append(what)
                    break
                if mid == PIECE:
                    raise Fail("%s (%d/%d/%d): served a piece message" % (what, i, b, n))
        except EOF:
            raise Fail("%s (%d/%d/%d): EOF, want reject_request (Fast peer)" % (what, i, b, n))
        except Fail as e:
            raise Fail("%s (%d/%d/%d): %s" % (what, i, b, n, e))
    p.send(req(REQUEST, 0, 16384, 16384))
    try:
        expect_block(p, t, 0, 16384, 16384)
    except EOF:
        raise Fail("after the rejects, a valid request got EOF")
    p.close()
    return "rejected: %s; then a valid block served" % ", ".join(out)


def case_reject_burst(args, t):
    """--count N invalid requests in one packet: N reject_request, in order,
    each for exactly its request, and the connection still serves."""
    p, _ = connect_greet(args, t)
    rs = [(i % t.n, 0, args.max_request + 1 + i) for i in range(args.count)]
    p.send(b"".join(req(REQUEST, *r) for r in rs))
    got = 0
    deadline = time.monotonic() + 10
    try:
        while got < len(rs):
            mid, pl = p.read_msg(max(0.1, deadline - time.monotonic()))
            if mid != REJECT:
                raise Fail("message %s (%d bytes: %s) where reject_request %d of %d was due"
                           % (NAMES.get(mid, mid), len(pl), pl[:16].hex(), got + 1, len(rs)))
            if struct.unpack(">III", pl) != rs[got]:
                raise Fail("reject_request %d of %d is for %s, want %s"
                           % (got + 1, len(rs), struct.unpack(">III", pl), rs[got]))
            got += 1
    except EOF:
        raise Fail("EOF after %d of %d reject_request" % (got, len(rs)))
    except Fail as e:
        raise Fail("%s (first bytes then waiting: %s)" % (e, p.buf[:32].hex()))
    p.send(req(REQUEST, 0, 0, 16384))
    expect_block(p, t, 0, 0, 16384)
    p.close()
    return "%d bad requests in one packet: %d reject_request in order, then a block" % (len(rs), got)


def case_bad_requests_nofast(args, t):
    out = []
    for what, (i, b, n) in bad_requests(t, args.max_request):
        p = Peer(args)
        p.handshake(t, fast=False)
        p.send(msg(INTERESTED))
        p.until_unchoked()
        p.send(req(REQUEST, i, b, n))
        deadline = time.monotonic() + 5
        try:
            while True:
                mid, pl = p.read_msg(max(0.1, deadline - time.monotonic()))
                if mid == PIECE:
                    raise Fail("%s (%d/%d/%d): served" % (what, i, b, n))
                if mid == REJECT:
                    raise Fail("%s: reject_request to a peer without the Fast bit" % what)
        except EOF:
            out.append(what)
        except Fail as e:
            raise Fail("%s (%d/%d/%d) without Fast: %s; want EOF" % (what, i, b, n, e))
        p.close()
    return "closed for: %s" % ", ".join(out)


def case_big_length(args, t):
    p, _ = connect_greet(args, t)
    p.send(struct.pack(">I", 0x80000000) + b"\x07" + b"x" * 1000)
    if not p.expect_eof(args.wait):
        raise Fail("a 2 GB length prefix: still connected after %.0f s" % args.wait)
    return "2 GB length prefix: closed"


def all_requests(t, count):
    out = []
    for i in range(t.n):
        for b in range(0, t.piece_size(i), 16384):
            out.append((i, b, min(16384, t.piece_size(i) - b)))
            if len(out) == count:
                return out
    raise Fail("the torrent has only %d blocks, %d wanted" % (len(out), count))


def case_flood(args, t):
    p, _ = connect_greet(args, t, rcvbuf=4096)
    rs = all_requests(t, args.count)
    p.send(b"".join(req(REQUEST, *r) for r in rs))
    time.sleep(2)
    blocks = 0
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            mid, _ = p.read_msg(max(0.1, deadline - time.monotonic()))
            if mid == PIECE:
                blocks += 1
        raise Fail("%d requests at once: still connected after 10 s, %d blocks" % (len(rs), blocks))
    except EOF:
        pass
    if blocks >= len(rs):
        raise Fail("%d requests at once: all %d served, then closed" % (len(rs), blocks))
    return "%d requests at once: closed after %d blocks" % (len(rs), blocks)


def case_stuck(args, t):
    p, _ = connect_greet(args, t, rcvbuf=4096)
    rs = all_requests(t, args.count)
    p.send(b"".join(req(REQUEST, *r) for r in rs))
    time.sleep(args.wait)
    if not p.expect_eof(10):
        raise Fail("a peer that read nothing for %.0f s is still connected" % args.wait)
    return "a peer that read nothing for %.0f s: closed (%d bytes were waiting)" % (args.wait, p.got)


def case_cancel(args, t):
    n, c = args.count, args.count * 2 // 3
    p, _ = connect_greet(args, t, rcvbuf=4096)
    rs = all_requests(t, n)
    # more than the sockets can hold (a few MB): the last ones are still
    # queued in the seeder when their cancels arrive
    p.send(b"".join(req(REQUEST, *r) for r in rs))
    p.send(b"".join(req(CANCEL, *r) for r in rs[n - c:]))
    answers = {}
    deadline = time.monotonic() + 20
    while len(answers) < len(rs) and time.monotonic() < deadline:
        try:
            mid, pl = p.read_msg(max(0.1, deadline - time.monotonic()))
        except EOF:
            raise Fail("%d requests, the last %d cancelled: EOF after %d answers (%d blocks, "
                       "%d reject_request)" % (n, c, len(answers),
                                               sum(1 for v in answers.values() if v == "piece"),
                                               sum(1 for v in answers.values() if v != "piece")))
        if mid == PIECE:
            i, b = struct.unpack(">II", pl[:8])
            key = (i, b, len(pl) - 8)
            if t.content and pl[8:] != t.data(*key):
                raise Fail("block %s: wrong bytes" % (key,))
        elif mid == REJECT:
            key = struct.unpack(">III", pl)
        else:
            continue
        if key in answers:
            raise Fail("request %s answered twice (%s, then %s)" % (key, answers[key], NAMES[mid]))
        if key not in rs:
            raise Fail("an answer to %s, which was never requested" % (key,))
        answers[key] = NAMES[mid]
    unanswered = [r for r in rs if r not in answers]
    if unanswered:
        raise Fail("%d requests (%d of them cancelled) never answered by a piece or reject_request "
                   "(BEP 6: a cancel gets exactly one of them), e.g. %s"
                   % (len(unanswered), sum(1 for r in unanswered if r in rs[n - c:]), unanswered[0]))
    rejected = [r for r in rs if answers[r] == "reject_request"]
    if any(r in rs[:n - c] for r in rejected):
        raise Fail("a request that was not cancelled got reject_request")
    if not rejected:
        raise Fail("all %d blocks served although %d were cancelled at once" % (n, c))
    return "%d requests, %d cancelled: %d blocks, %d reject_request" % (n, c, n - len(rejected),
                                                                     len(rejected))


def case_pipeline(args, t):
    n = args.count
    blocks = all_requests(t, n)
    shallow = [(min(12, n), 96), (min(40, n), 160)]  # (in flight, blocks)
    stalls = [min(200, n), n]  # requests at once, then as many one for one
    first = sum(c for _, c in shallow)
    want = [blocks[k % len(blocks)] for k in range(first + 2 * sum(stalls))]
    p, _ = connect_greet(args, t, rcvbuf=4096)
    sent = got = 0

    def ask(upto):
        nonlocal sent
        if upto > sent:
            p.send(b"".join(req(REQUEST, *r) for r in want[sent:upto]))
            sent = upto

    def receive(phase, depth, cap):
        nonlocal got
        deadline = time.monotonic() + 30
        try:
            mid, pl = p.read_msg(max(0.1, deadline - time.monotonic()))
        except EOF:
            raise Fail("%s: EOF after %d of %d blocks (%d requested)" % (phase, got, len(want), sent))
        if mid == REJECT:
            raise Fail("%s: reject_request for %s (block %d, %d requested)"
                       % (phase, struct.unpack(">III", pl), got, sent))
        if mid != PIECE:
            return
        key = struct.unpack(">II", pl[:8]) + (len(pl) - 8,)
        if key != want[got]:
            raise Fail("%s: block %d is %s, want %s (requests are served in order)"
                       % (phase, got, key, want[got]))
        if t.content and pl[8:] != t.data(*key):
            raise Fail("%s: block %d %s: wrong bytes" % (phase, got, key))
        got += 1
        ask(min(got + depth, cap))

    # shallow pipelines: a batch takes some requests, new ones come in behind
    # the rest, and the queue's head walks along until its tail is reached
    end = 0
    for depth, count in shallow:
        end += count
        ask(min(got + depth, end))
        while got < end:
            receive("%d in flight" % depth, depth, end)
    # d at once, nothing read for 1 s: what the sockets do not hold waits in
    # the seeder's queue; then one more for each block. With 200 (reqq 500)
    # its head walks behind the full socket until its tail reaches the end of
    # the buffer (256), and the requests move to the front; with reqq the
    # queue grows to reqq and goes round its ring.
    for d in stalls:
        end += 2 * d
        ask(got + d)
        time.sleep(1)
        while got < end:
            receive("%d in flight" % d, d, end)
    p.close()
    return ("%s, then %s requests at once and as many more as blocks came: all %d served "
            "in order, bytes right"
            % (", ".join("%d blocks %d in flight" % (c, d) for d, c in shallow),
               " and ".join(str(d) for d in stalls), len(want)))


def case_max_request(args, t):
    n = args.max_request
    if n > t.pl:
        raise Fail("--max-request %d is more than the piece length %d" % (n, t.pl))
    p, _ = connect_greet(args, t)
    p.send(req(REQUEST, 0, 0, n))
    try:
        expect_block(p, t, 0, 0, n)
    except EOF:
        raise Fail("a request of max_request = %d bytes: EOF, want the block" % n)
    p.send(req(REQUEST, 1, 0, n + 1))
    deadline = time.monotonic() + 5
    try:
        while True:
            mid, pl = p.read_msg(max(0.1, deadline - time.monotonic()))
            if mid == PIECE:
                raise Fail("a request of max_request + 1 = %d bytes was served" % (n + 1))
            if mid == REJECT:
                if struct.unpack(">III", pl) != (1, 0, n + 1):
                    raise Fail("reject_request for %s, want (1, 0, %d)" % (struct.unpack(">III", pl), n + 1))
                break
    except EOF:
        raise Fail("a request of max_request + 1 = %d bytes: EOF, want reject_request" % (n + 1))
    p.close()
    return "a %d-byte block served, %d bytes rejected" % (n, n + 1)


def case_hold(args, t):
    p, seen = connect_greet(args, t)
    print("hold: greeted (%s), waiting up to %.0f s for EOF" % ([NAMES.get(m, m) for m in seen], args.wait),
          flush=True)
    t0 = time.monotonic()
    if not p.expect_eof(args.wait):
        raise Fail("still connected after %.0f s" % args.wait)
    return "closed by the seeder after %.1f s" % (time.monotonic() - t0)


def case_slots(args, t):
    """unchoke_slots = 1, one worker: the second interested peer stays choked
    (its request gets reject_request) until the first one leaves."""
    a, seen = connect_greet(args, t)
    b = Peer(args)
    b.handshake(t)
    b.send(msg(INTERESTED))
    deadline = time.monotonic() + 1.5
    try:
        while True:
            mid, _ = b.read_msg(max(0.05, deadline - time.monotonic()))
            if mid == UNCHOKE:
                raise Fail("a second peer was unchoked with unchoke_slots = 1")
    except Fail as e:
        if "timeout" not in str(e):
            raise
    b.send(req(REQUEST, 0, 0, 16384))
    deadline = time.monotonic() + 5
    while True:
        mid, pl = b.read_msg(max(0.1, deadline - time.monotonic()))
        if mid == REJECT and struct.unpack(">III", pl) == (0, 0, 16384):
            break
        if mid == PIECE:
            raise Fail("a choked peer was served a block")
        if mid == UNCHOKE:
            raise Fail("a second peer was unchoked with unchoke_slots = 1")
    a.close()
    deadline = time.monotonic() + 5
    while True:
        mid, _ = b.read_msg(max(0.1, deadline - time.monotonic()))
        if mid == UNCHOKE:
            break
    b.send(req(REQUEST, 0, 0, 16384))
    expect_block(b, t, 0, 0, 16384)
    b.close()
    return ("the second peer: choked, its request rejected, unchoked when the first left, "
            "then served")


def case_too_many(args, t):
    """--count N peers at once against max_peers M < N (one worker): M get
    the seeder's handshake, the others EOF."""
    socks = []
    for k in range(args.count):
        p = Peer(args)
        p.send(handshake(t.ih))
        socks.append(p)
    served = closed = 0
    for p in socks:
        try:
            p.take(68, time.monotonic() + 3)
            served += 1
        except EOF:
            closed += 1
        except Fail:
            pass
    for p in socks:
        p.close()
    if served != args.max_peers or closed != args.count - args.max_peers:
        raise Fail("%d peers at once, max_peers %d: %d handshakes back, %d closed"
                   % (args.count, args.max_peers, served, closed))
    return "%d peers at once, max_peers %d: %d served, %d closed" % (args.count, args.max_peers,
                                                                    served, closed)


def case_half_open(args, t):
    socks = []
    host, port = args.peer.rsplit(":", 1)
    for k in range(args.count):
        s = socket.socket()
        s.setblocking(False)
        if args.bind:
            s.bind((args.bind, 0))
        try:
            s.connect((host, int(port)))
        except BlockingIOError:
            pass
        socks.append(s)
    # wait for the connects, then send the partial handshakes
    deadline = time.monotonic() + 10
    pending = set(socks)
    while pending and time.monotonic() < deadline:
        _, w, _ = select.select([], list(pending)[:500], [], 0.5)
        for s in w:
            pending.discard(s)
    if pending:
        raise Fail("%d of %d connections not established in 10 s" % (len(pending), len(socks)))
    for k, s in enumerate(socks):
        if k % 2:
            try:
                s.send(PSTR[:10])
            except OSError:
                pass
    t0 = time.monotonic()
    open_ = set(socks)
    times = []
    deadline = t0 + args.wait
    while open_ and time.monotonic() < deadline:
        # select() is limited to FD_SETSIZE; use poll
        po = select.poll()
        fdmap = {}
        for s in open_:
            po.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)
            fdmap[s.fileno()] = s
        for fd, ev in po.poll(200):
            s = fdmap[fd]
            try:
                d = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if not d:
                open_.discard(s)
                times.append(time.monotonic() - t0)
    for s in socks:
        s.close()
    if open_:
        raise Fail("%d of %d half-open connections still open after %.0f s"
                   % (len(open_), len(socks), args.wait))
    return "%d half-open connections: all closed after %.1f .. %.1f s" % (len(socks), min(times), max(times))


CASES = {
    "greet": case_greet,
    "garbage": lambda a, t: expect_nothing_then_eof(a, t, os.urandom(68).replace(b"\x13", b"x"),
                                                    "68 bytes of garbage"),
    "unknown-hash": lambda a, t: expect_nothing_then_eof(
        a, t, PSTR + reserved() + (bytes.fromhex(a.hash) if a.hash else os.urandom(20))
        + b"-RS0000-unknownhash!", "handshake for an unknown info-hash"),
    "bad-requests": case_bad_requests,
    "bad-requests-nofast": case_bad_requests_nofast,
    "reject-burst": case_reject_burst,
    "big-length": case_big_length,
    "flood": case_flood,
    "stuck": case_stuck,
    "cancel": case_cancel,
    "half-open": case_half_open,
    "max-request": case_max_request,
    "pipeline": case_pipeline,
    "hold": case_hold,
    "slots": case_slots,
    "too-many": case_too_many,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--peer", required=True)
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--content")
    ap.add_argument("--bind")
    ap.add_argument("--hash")
    ap.add_argument("--max-request", type=int, default=16384)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--max-peers", type=int, default=16)
    ap.add_argument("--wait", type=float, default=5)
    ap.add_argument("--missing", default="")
    ap.add_argument("--no-fast", action="store_true")
    ap.add_argument("--no-ext", action="store_true")
    args = ap.parse_args()
    t = Torrent(args.torrent, args.content)
    random.seed()
    try:
        print("%s: ok: %s" % (args.case, CASES[args.case](args, t)))
        return 0
    except Fail as e:
        print("FAIL: %s: %s" % (args.case, e))
    except EOF:
        print("FAIL: %s: unexpected EOF" % args.case)
    except OSError as e:
        print("FAIL: %s: %s" % (args.case, e))
    return 1


if __name__ == "__main__":
    sys.exit(main())
