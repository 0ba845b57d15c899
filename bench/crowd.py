#!/usr/bin/python3
"""crowd.py - a crowd of real BitTorrent leechers: python3-libtorrent sessions.

One process runs --n sessions (bench/crowd.sh starts a few of these, one per
core). Session i listens on and connects from its own source address
(--src-base + i), has one torrent, and connects to the seeder itself (no
tracker, DHT, LSD, PEX, uTP or encryption). A leecher that completes the
torrent removes it with its files and adds it again, fresh, into a new
directory: the load lasts the whole run, and the disk holds at most about two
copies per leecher (files deleted seconds after they were written never reach
the disk).

Every leecher's byte counter (libtorrent's own total_done: the bytes of the
pieces it has and verified, as its state_update_alerts report it, plus what
earlier rounds downloaded; total_payload_download moves only once a second)
is read at the start of the window and at its end. Setting up a few dozen
sessions takes seconds (each add_torrent waits for its session's thread), so
the processes meet first: each writes READY_DIR/ready.ID once its leechers
exist, and when all --procs files are there, the window starts --warmup
seconds after the newest of them, the same instant for every process
(bench/crowd.sh reads it the same way). One JSON object on stdout: the process's aggregate, each
leecher's MB/s and first byte (from its torrent's start to its first verified
piece as the poll loop sees it; the loop starts once all of the process's
leechers exist, so on a busy machine this is an upper bound that includes
the set-up), rounds completed, hash failures, its own CPU time over the
window.

Usage: crowd.py --torrent T --peer HOST:PORT --n N --src-base 127.77.0.1
                --save DIR --ready-dir DIR --id K --procs P --warmup S --duration S
"""
import argparse
import ipaddress
import json
import os
import shutil
import sys
import time

import libtorrent as lt


def session(addr):
    return lt.session({
        "listen_interfaces": "%s:0" % addr,
        "outgoing_interfaces": addr,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "out_enc_policy": int(lt.enc_policy.pe_disabled),
        "in_enc_policy": int(lt.enc_policy.pe_disabled),
        "allow_multiple_connections_per_ip": True,
        "min_reconnect_time": 1, "peer_connect_timeout": 5,
        # one network thread, one disk thread, one hasher per leecher: a crowd
        # of 50 sessions on 2 cores must not be 600 threads
        "aio_threads": 1, "hashing_threads": 1,
        "alert_mask": int(lt.alert_category.error | lt.alert_category.status),
        "user_agent": "ringseed-crowd/1.0",
    })


class Leecher:
    """One session, one torrent, restarted each time it completes.

    Nothing here waits for libtorrent's thread except add_torrent: the status
    comes in state_update_alerts that post_torrent_updates() asks for, and
    completion in a torrent_finished_alert. A synchronous status() per
    leecher per poll took seconds on a busy machine, long enough for a
    finished leecher to sit idle until it was noticed."""

    def __init__(self, ses, ti, save, peer):
        self.ses, self.ti, self.save, self.peer = ses, ti, save, peer
        self.round = 0
        self.base = 0        # bytes of the rounds already completed
        self.done = 0        # total_done of the current round, as last reported
        self.peers = 0
        self.rounds_done = 0
        self.hashfails = 0
        self.h = None
        self.last_connect = 0.0
        self.t_added = time.time()  # first byte is timed from here
        self.add()

    def add(self):
        p = lt.add_torrent_params()
        p.ti = self.ti
        p.save_path = os.path.join(self.save, str(self.round))
        p.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
        p.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd \
            | lt.torrent_flags.disable_pex
        self.h = self.ses.add_torrent(p)
        self.done = 0
        self.peers = 0
        # at once: the poll loop starts only once every session of the process exists
        self.last_connect = time.time()
        try:
            self.h.connect_peer(self.peer)
        except Exception:  # noqa: BLE001 - retried by poll()
            self.last_connect = 0.0

    def restart(self):
        self.base += self.ti.total_size()
        self.rounds_done += 1
        self.ses.remove_torrent(self.h, lt.session.delete_files)
        self.round += 1
        self.add()
        # the delete runs in libtorrent's disk thread; the directory goes a round later
        shutil.rmtree(os.path.join(self.save, str(self.round - 2)), ignore_errors=True)

    def poll(self, now):
        """Handles what libtorrent reported; asks for the next report. Returns the bytes so far."""
        finished = False
        for al in self.ses.pop_alerts():
            if isinstance(al, lt.state_update_alert):
                for st in al.status:
                    if st.handle == self.h:
                        self.done, self.peers = st.total_done, st.num_peers
            elif isinstance(al, lt.torrent_finished_alert) and al.handle == self.h:
                finished = True
            elif isinstance(al, lt.hash_failed_alert):
                self.hashfails += 1
        if finished:
            self.restart()
        elif self.peers == 0 and now - self.last_connect >= 1.0:
            self.last_connect = now
            try:
                self.h.connect_peer(self.peer)
            except Exception:  # noqa: BLE001 - retried next poll
                pass
        self.ses.post_torrent_updates()
        return self.base + self.done


def cpu_s():
    t = os.times()
    return t.user + t.system


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--src-base", required=True)
    ap.add_argument("--save", required=True)
    ap.add_argument("--ready-dir", required=True)
    ap.add_argument("--id", type=int, default=0)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--ready-timeout", type=float, default=300)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--duration", type=float, default=10)
    a = ap.parse_args()
    host, port = a.peer.rsplit(":", 1)
    peer = (host, int(port))
    ti = lt.torrent_info(a.torrent)
    base = ipaddress.ip_address(a.src_base)
    crowd = []
    for i in range(a.n):
        addr = str(base + i)
        crowd.append(Leecher(session(addr), ti, os.path.join(a.save, str(i)), peer))
    open(os.path.join(a.ready_dir, "ready.%d" % a.id), "w").close()
    ready = [os.path.join(a.ready_dir, "ready.%d" % k) for k in range(a.procs)]
    t_window = t_end = None
    start_bytes, start_cpu, first = None, None, {}
    give_up = time.time() + a.ready_timeout
    while True:
        now = time.time()
        if t_window is None and all(os.path.exists(p) for p in ready):
            t_window = max(os.stat(p).st_mtime for p in ready) + a.warmup
            t_end = t_window + a.duration
        elif t_window is None and now > give_up:
            print("crowd.py: the other processes were not ready in %.0f s" % a.ready_timeout,
                  file=sys.stderr)
            return 1
        got = [lc.poll(now) for lc in crowd]
        for i, g in enumerate(got):
            if g > 0 and i not in first:
                first[i] = now - crowd[i].t_added
        if t_window is not None and start_bytes is None and now >= t_window:
            start_bytes, start_cpu, t0 = got, cpu_s(), now
        if t_end is not None and now >= t_end:
            break
        time.sleep(0.25)
    span = now - t0 if start_bytes is not None else 0
    rates = [(e - s) / span / 1e6 if span else 0 for s, e in zip(start_bytes or got, got)]
    out = {
        "leechers": a.n, "window_s": span,
        "bytes": sum(got) - sum(start_bytes or got),
        "MBps": (sum(got) - sum(start_bytes or got)) / span / 1e6 if span else 0,
        "per_leecher_MBps": rates,
        "first_byte_s": [first.get(i) for i in range(a.n)],
        "rounds_completed": sum(lc.rounds_done for lc in crowd),
        "hash_failures": sum(lc.hashfails for lc in crowd),
        "cpu_s": cpu_s() - start_cpu if start_cpu is not None else 0,
    }
    json.dump(out, sys.stdout)
    print()
    for lc in crowd:
        lc.ses.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
