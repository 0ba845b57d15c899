#!/usr/bin/python3
"""fetch_lt.py - python3-libtorrent as the seeder ringseed fetches from.

    fetch_lt.py seed T.torrent SAVE_DIR PORT [--rate BYTES_PER_S]

Seeds T.torrent from SAVE_DIR (its content at SAVE_DIR/NAME, checked first)
on 127.0.0.1:PORT, plain TCP, no DHT, LSD, uTP or encryption. With --rate,
its upload is capped (loopback peers included: libtorrent exempts its
"local" peer class from limits, so every address is put in the global one).
Prints "seeding" once the check is done; runs until killed.
"""
import argparse
import sys
import time

import libtorrent as lt


def main():
    ap = argparse.ArgumentParser(prog="fetch_lt.py")
    ap.add_argument("cmd", choices=["seed"])
    ap.add_argument("torrent")
    ap.add_argument("save")
    ap.add_argument("port", type=int)
    ap.add_argument("--rate", type=int, default=0)
    a = ap.parse_args()
    disabled = int(lt.enc_policy.pe_disabled)
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:%d" % a.port,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "out_enc_policy": disabled, "in_enc_policy": disabled,
        "allow_multiple_connections_per_ip": True,
        "unchoke_slots_limit": -1,
        "upload_rate_limit": a.rate,
        "alert_mask": int(lt.alert_category.error | lt.alert_category.status),
    })
    if a.rate:
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(a.torrent)
    p.save_path = a.save
    p.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
    p.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd \
        | lt.torrent_flags.disable_pex
    h = ses.add_torrent(p)
    deadline = time.monotonic() + 20
    while not h.status().is_seeding:
        if time.monotonic() > deadline:
            print("FAIL: libtorrent did not become a seed: %s" % h.status().state, flush=True)
            return 1
        time.sleep(0.05)
    print("seeding", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
