#!/usr/bin/python3
"""A python3-libtorrent seeder for `make bench` (bench/compare/run.sh).

Seeds one .torrent from SAVE_PATH on 127.0.0.1:PORT, tuned as a seedbox
would be: libtorrent's high_performance_seed() preset, then no connection,
unchoke or per-IP limits, a deep listen queue, TCP only, no DHT/LSD/UPnP/
NAT-PMP. The torrent is added in seed mode (no hash check; pieces are
checked lazily on first read) and not auto-managed, so no queueing.

Run with Debian's /usr/bin/python3: python3-libtorrent installs for it only.
When the torrent is seeding it writes READY_FILE, then idles (one alert pop a
second) until SIGTERM or SIGINT.
"""
import argparse
import signal
import sys
import time

import libtorrent as lt


def settings(port, rc4):
    s = lt.high_performance_seed()
    s.update({
        "listen_interfaces": "127.0.0.1:%d" % port,
        "outgoing_interfaces": "127.0.0.1",
        "connections_limit": 10000,
        "unchoke_slots_limit": -1,
        "allow_multiple_connections_per_ip": True,
        "listen_queue_size": 4096,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "upload_rate_limit": 0,
        "download_rate_limit": 0,
        "peer_turnover": 0,
        "user_agent": "lt_seed/" + lt.__version__,
        "alert_mask": lt.alert.category_t.error_notification,
    })
    if rc4:
        # Encrypted peers only, and RC4 only: plain BitTorrent handshakes and
        # MSE offering plaintext are refused (the 100% RC4 rows of make bench).
        s.update({
            "in_enc_policy": int(lt.enc_policy.forced),
            "out_enc_policy": int(lt.enc_policy.forced),
            "allowed_enc_level": int(lt.enc_level.rc4),
            "prefer_rc4": True,
        })
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--save-path", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--rc4", action="store_true",
                    help="require MSE with RC4 (in_enc_policy forced, allowed_enc_level rc4)")
    ap.add_argument("--print-settings", action="store_true",
                    help="print the settings that differ from the defaults")
    a = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    st = settings(a.port, a.rc4)
    ses = lt.session(st)
    if a.print_settings:
        d = lt.default_settings()
        got = ses.get_settings()
        for k in sorted(st):
            if got.get(k) != d.get(k):
                print("%s = %r" % (k, got.get(k)))
        sys.stdout.flush()

    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(a.torrent)
    atp.save_path = a.save_path
    atp.flags = (atp.flags | lt.torrent_flags.seed_mode) & ~lt.torrent_flags.auto_managed \
        & ~lt.torrent_flags.paused
    h = ses.add_torrent(atp)
    h.set_max_connections(-1)
    h.set_max_uploads(-1)

    deadline = time.monotonic() + 60
    while not stop:
        s = h.status()
        if s.state == lt.torrent_status.seeding and ses.listen_port() == a.port:
            break
        if time.monotonic() > deadline:
            print("lt_seed: not seeding after 60 s (state %s, listen port %d)"
                  % (s.state, ses.listen_port()), file=sys.stderr)
            return 1
        for al in ses.pop_alerts():
            print("lt_seed: %s" % al.message(), file=sys.stderr)
        time.sleep(0.1)
    with open(a.ready_file, "w") as f:
        f.write("seeding %s on 127.0.0.1:%d\n" % (a.torrent, a.port))

    while not stop:
        time.sleep(1)
        for al in ses.pop_alerts():
            print("lt_seed: %s" % al.message(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
