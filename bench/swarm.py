#!/usr/bin/python3
"""The python3-libtorrent side of bench/swarm.sh (Debian's /usr/bin/python3).

    swarm.py leech --torrent T --n N --net B --save DIR --out FILE.json
                   [--seed IP:PORT] [--no-pex] [--timeout S]
        N leechers in this process, leecher i a session of its own listening
        on and connecting from 127.0.B.(10+i). They find each other only
        through what the seeder side says: the torrent's tracker, and PEX
        (ut_pex) unless --no-pex; with --seed they are also pointed at the
        seeder (connect_peer), for a seeder that is not in the tracker. No
        DHT, LSD, uTP or encryption. Writes FILE.json once every leecher is
        complete or S seconds (default 300) passed:
            {"n", "done": [seconds or null per leecher], "all_done_s",
             "from_seed_bytes": payload the leechers counted from IP of --seed
             or --seed-ip, "ok"}
        and exits 0 when all completed.

    swarm.py seed --torrent T --data DIR --bind IP:PORT [--super] --ready F
        A libtorrent seed of T on IP:PORT (high_performance_seed, no limits;
        --super: its super-seeding), writing F once seeding; runs until
        SIGTERM.
"""
import argparse
import json
import os
import signal
import sys
import time

import libtorrent as lt


def base_settings(ip):
    return {
        "listen_interfaces": "%s:0" % ip, "outgoing_interfaces": ip,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "out_enc_policy": 2, "in_enc_policy": 2, "allow_multiple_connections_per_ip": True,
        "min_reconnect_time": 1, "peer_connect_timeout": 5, "aio_threads": 2,
        "hashing_threads": 1, "alert_mask": 0, "user_agent": "ringseed-swarm/1.0",
        "announce_to_all_trackers": True, "announce_to_all_tiers": True,
    }


def leech(a):
    seed = None
    if a.seed:
        host, port = a.seed.rsplit(":", 1)
        seed = (host, int(port))
    seed_ip = a.seed_ip or (seed[0] if seed else None)
    ls = []
    start = time.monotonic()  # each torrent starts as it is added
    for i in range(a.n):
        ip = "127.0.%d.%d" % (a.net, 10 + i)
        ses = lt.session(base_settings(ip))
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(a.torrent)
        p.save_path = os.path.join(a.save, str(i))
        p.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
        p.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
        if a.no_pex:
            p.flags |= lt.torrent_flags.disable_pex
        h = ses.add_torrent(p)
        h.resume()
        ls.append({"ses": ses, "h": h, "done": None, "from_seed": 0, "last": 0.0, "conn": {}})
    while time.monotonic() - start < a.timeout:
        now = time.monotonic()
        for lc in ls:
            if lc["done"] is not None:
                continue
            st = lc["h"].status()
            peers = lc["h"].get_peer_info()
            for pi in peers:
                if pi.ip[0] == seed_ip:
                    lc["conn"][pi.ip] = pi.total_download
            if st.is_seeding:
                lc["done"] = now - start
                lc["from_seed"] = sum(lc["conn"].values())
            elif seed and now - lc["last"] > 2 and not any(pi.ip[0] == seed_ip for pi in peers):
                lc["last"] = now
                lc["h"].connect_peer(seed)
        if all(lc["done"] is not None for lc in ls):
            break
        time.sleep(0.1)
    done = [lc["done"] for lc in ls]
    res = {"n": a.n, "done": done, "ok": all(d is not None for d in done),
           "all_done_s": max(done) if all(d is not None for d in done) else None,
           "from_seed_bytes": sum(lc["from_seed"] or sum(lc["conn"].values()) for lc in ls)}
    with open(a.out, "w") as f:
        json.dump(res, f)
    return 0 if res["ok"] else 1


def seed(a):
    ip, port = a.bind.rsplit(":", 1)
    s = lt.high_performance_seed()
    s.update(base_settings(ip))
    s.update({"listen_interfaces": a.bind, "connections_limit": 10000,
              "unchoke_slots_limit": -1, "upload_rate_limit": 0, "peer_turnover": 0})
    ses = lt.session(s)
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(a.torrent)
    p.save_path = a.data
    p.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
    p.flags |= lt.torrent_flags.seed_mode | lt.torrent_flags.disable_dht \
        | lt.torrent_flags.disable_lsd
    if a.super:
        p.flags |= lt.torrent_flags.super_seeding
    h = ses.add_torrent(p)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not h.status().is_seeding and not stop:
        time.sleep(0.1)
    open(a.ready, "w").close()
    while not stop:
        time.sleep(0.5)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("leech")
    s.add_argument("--torrent", required=True)
    s.add_argument("--n", type=int, required=True)
    s.add_argument("--net", type=int, default=50)
    s.add_argument("--save", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--seed")
    s.add_argument("--seed-ip")
    s.add_argument("--no-pex", action="store_true")
    s.add_argument("--timeout", type=float, default=300)
    s = sub.add_parser("seed")
    s.add_argument("--torrent", required=True)
    s.add_argument("--data", required=True)
    s.add_argument("--bind", required=True)
    s.add_argument("--super", action="store_true")
    s.add_argument("--ready", required=True)
    a = ap.parse_args()
    return {"leech": leech, "seed": seed}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
