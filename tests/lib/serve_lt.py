#!/usr/bin/python3
"""Helper for the `ringseed serve` end-to-end tests (tests/e2e/serve_*.sh):
the content they serve, and libtorrent leechers pointed straight at the
seeder (handle.connect_peer, no tracker, no DHT, no LSD, no encryption).

Run with Debian's /usr/bin/python3 (python3-libtorrent is installed for it
only); stdlib + libtorrent.

    serve_lt.py mkfile PATH SIZE [SEED]
        SIZE pseudo-random bytes (the same for the same SEED) into PATH.

    serve_lt.py mktree DIR [SEED]
        The multi-file test tree: nested directories, odd sizes, a 0-byte
        file (and one nested), files of 1 byte and of piece length +- 1, a
        few MB in all; with -l 32K its last piece is short.

    serve_lt.py hash T.torrent
        Prints the info-hash (hex) of T.

    serve_lt.py leech --peer IP:PORT [options] T.torrent...
        One session that downloads every T from the seeder at IP:PORT into
        --save DIR (content lands as DIR/NAME, like the seeder's data dir).
        Reconnects (connect_peer again) whenever a torrent has no peer.
        Exit 0 when every torrent is complete and every check passed, 1
        otherwise (one line per problem). Prints one line per torrent:
            NAME: complete in S s, connects=C disconnects=D hashfails=H
        options:
          --bind IP           listen and connect from this 127.0.0.X
          --save DIR          where to download (default .)
          --timeout S         give up after S seconds (default 60)
          --rate B            download limit of each torrent, bytes/s
          --status FILE       written about 5 times a second: one line per
                              torrent "NAME PIECES/TOTAL CONNECTED" and a last
                              line "done" once every torrent is complete
          --max-disconnects N fail if a torrent lost its peer more than N
                              times before it was complete (default: any)
          --missing N[,N...]  these pieces must never arrive (the seeder has
                              them bad): done when every other piece is
                              here, then watch --hold S more seconds
          --hold S            (default 3)
          --stop-file FILE    give up (exit 1) as soon as FILE exists

    serve_lt.py crowd --peer IP:PORT --n N [options] T.torrent...
        N sessions in this process, session i listening on and connecting
        from 127.0.B.(10+i) (--net B, default 1), downloading into SAVE/i/.
        Same checks as leech, for all of them; --timeout, --save as above.
"""
import argparse
import os
import random
import sys
import time

import libtorrent as lt

# ------------------------------------------------------------------ content


def mkfile(path, size, seed):
    rnd = random.Random("%s:%s" % (seed, os.path.basename(path)))
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 1 << 20)
            f.write(rnd.randbytes(n))
            left -= n


# (relative path, size): about 3.6 MB; total % 32768 != 0 (short last piece),
# files that start and end inside pieces, two 0-byte files.
TREE = [
    ("top.bin", 1500007),
    ("a/one", 1),
    ("a/empty", 0),
    ("a/b/32767.bin", 32767),
    ("a/b/32769.bin", 32769),
    ("a/b/c/deep.bin", 2000003),
    ("a/b/c/empty-deep", 0),
    ("a/b/c/d/e/tiny", 7),
    ("dir with spaces/odd size.dat", 54321),
    ("z-last.bin", 65537),
]


def mktree(root, seed):
    os.makedirs(root)
    for rel, size in TREE:
        mkfile(os.path.join(root, rel), size, "%s:%s" % (seed, rel))


# ------------------------------------------------------------------ leechers


def info_hash(path):
    ti = lt.torrent_info(path)
    return str(ti.info_hash())


def parse_addr(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


ENC_POLICY = {"disabled": "pe_disabled", "enabled": "pe_enabled", "forced": "pe_forced"}
ENC_LEVEL = {"plain": "pe_plaintext", "rc4": "pe_rc4", "both": "pe_both"}


def make_session(bind, rate, enc="disabled", enc_level="both"):
    mask = (lt.alert_category.error | lt.alert_category.connect | lt.alert_category.peer
            | lt.alert_category.status | lt.alert_category.storage)
    settings = {
        "listen_interfaces": ("[%s]:0" if ":" in bind else "%s:0") % bind,
        "outgoing_interfaces": bind,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "out_enc_policy": int(getattr(lt.enc_policy, ENC_POLICY[enc])),
        "in_enc_policy": int(getattr(lt.enc_policy, ENC_POLICY[enc])),
        "allowed_enc_level": int(getattr(lt.enc_level, ENC_LEVEL[enc_level])),
        "prefer_rc4": enc_level == "rc4",
        "allow_multiple_connections_per_ip": True,
        "min_reconnect_time": 1,
        "peer_connect_timeout": 5,
        "aio_threads": 2,
        "hashing_threads": 1,
        "alert_mask": int(mask),
        "alert_queue_size": 10000,
        "user_agent": "ringseed-test/1.0",
    }
    ses = lt.session(settings)
    if rate:
        # Loopback peers are in the "local" peer class, which is never rate
        # limited: put everyone in the global class only.
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)
    return ses


class Leech:
    """One torrent in one session."""

    def __init__(self, ses, torrent, save, peer, rate, label, sequential=False):
        self.ses = ses
        self.peer = peer
        self.label = label
        self.ti = lt.torrent_info(torrent)
        self.name = self.ti.name()
        p = lt.add_torrent_params()
        p.ti = self.ti
        p.save_path = save
        p.flags &= ~lt.torrent_flags.auto_managed
        p.flags |= lt.torrent_flags.paused     # resumed by go(), all at once
        p.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd \
            | lt.torrent_flags.disable_pex
        self.h = ses.add_torrent(p)
        if rate:
            self.h.set_download_limit(rate)
        if sequential:
            self.h.set_flags(lt.torrent_flags.sequential_download)
        self.start = None
        self.done_at = None
        self.connects = 0
        self.disconnects = 0
        self.disconnects_before_done = 0
        self.hashfails = 0
        self.last_connect = 0
        self.reasons = []
        self.errors = []
        self.has_peer = False
        self.pieces = 0

    def go(self):
        self.h.resume()
        self.start = time.monotonic()

    def poke(self, now):
        st = self.h.status()
        self.pieces = st.num_pieces
        self.has_peer = st.num_peers > 0
        if not self.has_peer and now - self.last_connect >= 1.0 and self.done_at is None:
            self.last_connect = now
            try:
                self.h.connect_peer(self.peer)
            except Exception as e:  # noqa: BLE001 - reported, retried
                self.errors.append("connect_peer: %s" % e)
        return st

    def alert(self, a, missing):
        if isinstance(a, lt.torrent_finished_alert) and not missing and self.done_at is None:
            self.done_at = time.monotonic()
        elif isinstance(a, lt.peer_connect_alert):
            self.connects += 1
        elif isinstance(a, lt.peer_disconnected_alert):
            self.disconnects += 1
            # a seed drops a seed: a leecher done by now lost nothing
            if self.done_at is None and not self.h.status().is_seeding:
                self.disconnects_before_done += 1
                self.reasons.append("%.1fs: %s" % (time.monotonic() - self.start, a.message()))
        elif isinstance(a, lt.hash_failed_alert):
            self.hashfails += 1
            self.errors.append("hash failed: %s" % a.message())
        elif isinstance(a, (lt.file_error_alert, lt.torrent_error_alert)):
            self.errors.append(a.message())


def run_leeches(sessions, leeches, args, missing):
    by_handle = {}
    for lc in leeches:
        by_handle[lc.h] = lc
    for lc in leeches:
        lc.go()
    deadline = time.monotonic() + args.timeout
    all_done_at = None
    problems = []
    while True:
        now = time.monotonic()
        for ses in sessions:
            for a in ses.pop_alerts():
                h = getattr(a, "handle", None)
                lc = by_handle.get(h) if h is not None else None
                if lc is not None:
                    lc.alert(a, missing)
        for lc in leeches:
            st = lc.poke(now)
            want = lc.ti.num_pieces() - len(missing)
            if lc.done_at is None:
                if missing:
                    if st.num_pieces >= want and not any(st.pieces[i] for i in missing):
                        lc.done_at = now
                elif st.is_seeding:
                    lc.done_at = now
        if args.status:
            tmp = args.status + ".tmp"
            with open(tmp, "w") as f:
                for lc in leeches:
                    f.write("%s %d/%d %d\n" % (lc.name.replace(" ", "_"), lc.pieces,
                                               lc.ti.num_pieces(), int(lc.has_peer)))
                if all(lc.done_at is not None for lc in leeches):
                    f.write("done\n")
            os.rename(tmp, args.status)
        if all(lc.done_at is not None for lc in leeches):
            if all_done_at is None:
                all_done_at = now
            if not missing or now - all_done_at >= args.hold:
                break
        if now > deadline:
            problems.append("timeout after %d s" % args.timeout)
            break
        if args.stop_file and os.path.exists(args.stop_file):
            problems.append("stopped (%s exists)" % args.stop_file)
            break
        time.sleep(0.2)

    for lc in leeches:
        st = lc.h.status()
        if lc.done_at is None:
            problems.append("%s: %s: incomplete: %d/%d pieces, %d bytes, connects=%d disconnects=%d%s"
                            % (lc.label, lc.name, st.num_pieces, lc.ti.num_pieces(),
                               st.total_wanted_done, lc.connects, lc.disconnects,
                               ("; last: " + lc.reasons[-1]) if lc.reasons else ""))
        else:
            print("%s: %s: complete in %.1f s, connects=%d disconnects=%d hashfails=%d"
                  % (lc.label, lc.name, lc.done_at - lc.start, lc.connects,
                     lc.disconnects_before_done, lc.hashfails))
        for i in missing:
            if st.pieces[i]:
                problems.append("%s: %s: got piece %d, which the seeder has bad"
                                % (lc.label, lc.name, i))
        if args.max_disconnects is not None and lc.disconnects_before_done > args.max_disconnects:
            problems.append("%s: %s: lost the seeder %d times before it was complete: %s"
                            % (lc.label, lc.name, lc.disconnects_before_done,
                               "; ".join(lc.reasons[:5])))
        if lc.hashfails:
            problems.append("%s: %s: %d pieces failed their hash check (bad data from the seeder)"
                            % (lc.label, lc.name, lc.hashfails))
        for e in lc.errors[:5]:
            problems.append("%s: %s: %s" % (lc.label, lc.name, e))
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


def cmd_leech(argv, crowd):
    ap = argparse.ArgumentParser(prog="serve_lt.py " + ("crowd" if crowd else "leech"))
    ap.add_argument("--peer", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--save", default=".")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--rate", type=int, default=0)
    ap.add_argument("--status")
    ap.add_argument("--max-disconnects", type=int)
    ap.add_argument("--missing", default="")
    ap.add_argument("--hold", type=float, default=3)
    ap.add_argument("--stop-file")
    ap.add_argument("--n", type=int, default=1)
    ap.add_argument("--enc", choices=sorted(ENC_POLICY), default="disabled",
                    help="MSE for the connection: disabled, enabled (MSE first) or forced")
    ap.add_argument("--enc-level", choices=sorted(ENC_LEVEL), default="both",
                    help="what an MSE handshake offers: plain, rc4 or both")
    ap.add_argument("--net", type=int, default=1)
    ap.add_argument("--sequential", action="store_true", help="pieces in order")
    ap.add_argument("torrents", nargs="+")
    args = ap.parse_args(argv)
    peer = parse_addr(args.peer)
    missing = [int(x) for x in args.missing.split(",") if x]
    sessions, leeches = [], []
    n = args.n if crowd else 1
    for i in range(n):
        if crowd:
            bind = "127.0.%d.%d" % (args.net, 10 + i)
            save = os.path.join(args.save, str(i))
            label = "leecher %d (%s)" % (i, bind)
        else:
            bind, save, label = args.bind, args.save, "leecher (%s)" % args.bind
        os.makedirs(save, exist_ok=True)
        ses = make_session(bind, args.rate, args.enc, args.enc_level)
        sessions.append(ses)
        for t in args.torrents:
            leeches.append(Leech(ses, t, save, peer, args.rate, label, args.sequential))
    rc = run_leeches(sessions, leeches, args, missing)
    if crowd and rc == 0:
        times = [lc.done_at - lc.start for lc in leeches]
        print("crowd: %d downloads complete, %.1f .. %.1f s" % (len(times), min(times), max(times)))
    for ses in sessions:
        ses.pause()
    return rc


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "mkfile":
        mkfile(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "0")
        return 0
    if len(sys.argv) >= 3 and sys.argv[1] == "mktree":
        mktree(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "0")
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "hash":
        print(info_hash(sys.argv[2]))
        return 0
    if len(sys.argv) >= 2 and sys.argv[1] in ("leech", "crowd"):
        return cmd_leech(sys.argv[2:], sys.argv[1] == "crowd")
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
