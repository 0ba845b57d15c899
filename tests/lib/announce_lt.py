#!/usr/bin/python3
"""A libtorrent leecher that knows only the .torrent: it finds its peers
through the torrent's trackers (no connect_peer, no DHT, no LSD, no PEX),
for the announce end-to-end tests (tests/e2e/announce_*.sh). Debian's
/usr/bin/python3 with python3-libtorrent.

    announce_lt.py leech --bind IP --save DIR [--timeout S] [--expect-peer IP:PORT] T.torrent

Listens on and connects from IP (give each leecher its own 127.0.0.X:
opentracker hands a peer its own address back). Downloads T into DIR/NAME,
then removes the torrent (libtorrent sends 'stopped') and exits 0 once every
piece is verified; 1 on timeout. Prints one line per tracker reply and per
peer connected, and "complete in S s" at the end. With --expect-peer, the
download must have come from that peer.

    announce_lt.py scrape URL HEX_INFO_HASH
        BEP 48 scrape over HTTP: prints "complete incomplete downloaded".
"""
import argparse
import sys
import time
import urllib.parse
import urllib.request

import libtorrent as lt


def make_session(bind):
    mask = (lt.alert_category.error | lt.alert_category.connect | lt.alert_category.peer
            | lt.alert_category.status | lt.alert_category.tracker)
    return lt.session({
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
        "announce_to_all_trackers": True,
        "announce_to_all_tiers": True,
        "min_reconnect_time": 1,
        "peer_connect_timeout": 5,
        "stop_tracker_timeout": 3,
        "alert_mask": int(mask),
        "user_agent": "ringseed-test/1.0",
    })


def leech(args):
    ses = make_session(args.bind)
    ti = lt.torrent_info(args.torrent)
    p = lt.add_torrent_params()
    p.ti = ti
    p.save_path = args.save
    p.flags &= ~lt.torrent_flags.auto_managed
    p.flags &= ~lt.torrent_flags.paused
    h = ses.add_torrent(p)
    start = time.time()
    peers = set()
    ok = False
    while time.time() - start < args.timeout:
        for a in ses.pop_alerts():
            if isinstance(a, lt.tracker_reply_alert):
                print("tracker reply: %s: %d peers" % (a.url, a.num_peers), flush=True)
            elif isinstance(a, lt.tracker_error_alert):
                print("tracker error: %s: %s" % (a.url, a.message()), flush=True)
            elif isinstance(a, lt.peer_connect_alert):
                ep = "%s:%d" % (a.endpoint[0], a.endpoint[1])
                if ep not in peers:
                    peers.add(ep)
                    print("peer connected: %s" % ep, flush=True)
        st = h.status()
        if st.is_seeding:
            ok = True
            break
        time.sleep(0.1)
    took = time.time() - start
    if ok and args.expect_peer and args.expect_peer not in peers:
        print("FAIL: complete, but %s was never connected (peers: %s)" %
              (args.expect_peer, sorted(peers)))
        ok = False
    if ok:
        print("%s: complete in %.1f s, peers %s" % (ti.name(), took, sorted(peers)), flush=True)
    else:
        st = h.status()
        print("FAIL: %s: %d/%d pieces after %.0f s, peers %s" %
              (ti.name(), st.num_pieces, ti.num_pieces(), took, sorted(peers)))
    ses.remove_torrent(h)  # 'stopped' to the trackers
    end = time.time() + 3
    while time.time() < end:
        if any(isinstance(a, (lt.tracker_reply_alert, lt.tracker_error_alert))
               for a in ses.pop_alerts()):
            break
        time.sleep(0.1)
    return 0 if ok else 1


def bdecode(b, i=0):
    """(value, next index) of the bencoded value at b[i]; dict keys stay bytes."""
    c = b[i:i + 1]
    if c == b"i":
        e = b.index(b"e", i)
        return int(b[i + 1:e]), e + 1
    if c in (b"l", b"d"):
        out, i = ([] if c == b"l" else {}), i + 1
        while b[i:i + 1] != b"e":
            v, i = bdecode(b, i)
            if isinstance(out, list):
                out.append(v)
            else:
                out[v], i = bdecode(b, i)
        return out, i + 1
    colon = b.index(b":", i)
    n = int(b[i:colon])
    return b[colon + 1:colon + 1 + n], colon + 1 + n


def scrape(args):
    base, _, query = args.url.partition("?")
    head, _, last = base.rpartition("/")
    ih = bytes.fromhex(args.info_hash)
    url = "%s/%s?%sinfo_hash=%s" % (head, last.replace("announce", "scrape", 1),
                                    query + "&" if query else "",
                                    urllib.parse.quote_from_bytes(ih))
    reply, _ = bdecode(urllib.request.urlopen(url, timeout=5).read())
    e = reply.get(b"files", {}).get(ih, {})
    print(e.get(b"complete", 0), e.get(b"incomplete", 0), e.get(b"downloaded", 0))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    le = sub.add_parser("leech")
    le.add_argument("--bind", required=True)
    le.add_argument("--save", required=True)
    le.add_argument("--timeout", type=float, default=60)
    le.add_argument("--expect-peer")
    le.add_argument("torrent")
    sc = sub.add_parser("scrape")
    sc.add_argument("url")
    sc.add_argument("info_hash")
    args = ap.parse_args()
    return leech(args) if args.cmd == "leech" else scrape(args)


if __name__ == "__main__":
    sys.exit(main())
