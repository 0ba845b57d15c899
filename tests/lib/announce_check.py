#!/usr/bin/python3
"""Checks on the request log of tests/lib/announce_tracker.py, for the
announce end-to-end tests. Stdlib only. Exit 0 when the check holds, 1 with
one line per problem otherwise.

    announce_check.py retries LOG --proto P --mode M --expect D,D,... [--extra S] [--kind K]
        The announces (or requests of kind K) that reached mode M (over
        proto P), 'stopped' left out, came with the gaps
        D1, D2, ... seconds (each + up to a tenth of jitter, + the 100 ms tick,
        + S seconds the exchange itself takes, e.g. a timeout). Extra
        announces beyond the list are ignored.

    announce_check.py count LOG --proto P --mode M --kind K [--event E] [--min N] [--max N]
        How many requests of kind K (announce, scrape, connect) reached mode M;
        with --event only announces with that event ("" for none).

    announce_check.py reannounce LOG --proto P --mode M
        The first announce is event=started, the later ones carry no event,
        the same key and peer id, and (HTTP) the tracker id "tid-1" of the
        reply; peer id starts -RS0100-, left=0, compact=1 (HTTP).

    announce_check.py seen LOG --info-hash H [--event E] [--from IP] [--port N]
                          [--after T --within S] [--min N] [--max N]
        Announces of H (with that event, "" for none; sent from IP, the
        IPv4-mapped form counting as IPv4; announcing port N; arriving within
        S seconds after the epoch time T): at least --min (1), at most --max.

    announce_check.py peak LOG --bound N [--expect-total N]
        Announces per second (one-second bins from the first): prints the
        peak, the total and the time from the first to the last; fails if
        the peak is above N or the total is not N.
"""
import argparse
import json
import sys


def load(path, proto=None, mode=None, kind=None):
    out = []
    with open(path) as f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if proto and r.get("proto") != proto:
                continue
            if mode and r.get("mode") != mode:
                continue
            if kind and r.get("kind") != kind:
                continue
            out.append(r)
    return sorted(out, key=lambda r: r["t"])


def retries(a):
    ann = load(a.log, a.proto, a.mode, a.kind)
    ann = [r for r in ann if r.get("event") != "stopped"]
    want = [float(x) for x in a.expect.split(",")]
    times = [r["t"] for r in ann]
    gaps = [b - x for x, b in zip(times, times[1:])]
    print("%s %s: %d %ss, gaps %s" % (a.proto, a.mode, len(ann), a.kind,
                                            " ".join("%.2f" % g for g in gaps)))
    bad = 0
    if len(gaps) < len(want):
        print("FAIL: %s %s: %d gaps, want at least %d" % (a.proto, a.mode, len(gaps), len(want)))
        return 1
    for i, (g, w) in enumerate(zip(gaps, want)):
        lo, hi = w + a.extra - 0.15, w * 1.1 + a.extra + 0.4
        if not lo <= g <= hi:
            print("FAIL: %s %s: retry %d after %.2f s, want %.2f..%.2f" %
                  (a.proto, a.mode, i + 1, g, lo, hi))
            bad = 1
    return bad


def count(a):
    recs = load(a.log, a.proto, a.mode, a.kind)
    if a.event is not None:
        recs = [r for r in recs if r.get("event", "") == a.event]
    n = len(recs)
    print("%s %s %s%s: %d" % (a.proto, a.mode, a.kind,
                               "" if a.event is None else " event=%r" % a.event, n))
    if n < a.min or (a.max is not None and n > a.max):
        print("FAIL: %d, want %d..%s" % (n, a.min, a.max))
        return 1
    return 0


def reannounce(a):
    ann = load(a.log, a.proto, a.mode, "announce")
    bad = []
    if len(ann) < 2:
        bad.append("%d announces, want 2 or more" % len(ann))
    else:
        first, rest = ann[0], ann[1:]
        if first.get("event") != "started":
            bad.append("first event %r, want started" % first.get("event"))
        for r in rest:
            if r.get("event", "") not in ("", "stopped"):
                bad.append("re-announce with event %r" % r.get("event"))
            if r.get("key") != first.get("key") or r.get("peer_id") != first.get("peer_id"):
                bad.append("key or peer id changed: %s/%s -> %s/%s" % (
                    first.get("key"), first.get("peer_id"), r.get("key"), r.get("peer_id")))
            if a.proto == "http" and r.get("trackerid") != "tid-1":
                bad.append("re-announce without the tracker id (%r)" % r.get("trackerid"))
        for r in ann:
            if not str(r.get("peer_id", "")).startswith("-RS0100-") or len(r["peer_id"]) != 20:
                bad.append("peer id %r" % r.get("peer_id"))
            if r.get("left") != 0:
                bad.append("left=%r" % r.get("left"))
            if a.proto == "http" and r.get("compact") != 1:
                bad.append("compact=%r" % r.get("compact"))
    print("%s %s: %d announces, events %s" % (a.proto, a.mode, len(ann),
                                              [r.get("event", "") for r in ann]))
    for b in sorted(set(bad)):
        print("FAIL: %s %s: %s" % (a.proto, a.mode, b))
    return 1 if bad else 0


def client_ip(r):
    ip = r.get("client", "").rsplit(":", 1)[0]
    return ip[7:] if ip.startswith("::ffff:") else ip


def seen(a):
    recs = [r for r in load(a.log, kind="announce") if r.get("info_hash") == a.info_hash]
    if a.event is not None:
        recs = [r for r in recs if r.get("event", "") == a.event]
    if a.from_ip:
        recs = [r for r in recs if client_ip(r) == a.from_ip]
    if a.port:
        recs = [r for r in recs if r.get("port") == a.port]
    if a.after is not None:
        recs = [r for r in recs if a.after <= r["t"] <= a.after + a.within]
    desc = "%s%s%s%s%s" % (a.info_hash[:8], "" if a.event is None else " event=%r" % a.event,
                           " from %s" % a.from_ip if a.from_ip else "",
                           " port %d" % a.port if a.port else "",
                           "" if a.after is None else " within %g s" % a.within)
    extra = " (%.1f s after)" % (recs[0]["t"] - a.after) if recs and a.after else ""
    print("%s: %d%s" % (desc, len(recs), extra))
    if len(recs) < a.min or (a.max is not None and len(recs) > a.max):
        print("FAIL: %s: %d announces, want %d..%s" % (desc, len(recs), a.min, a.max))
        return 1
    return 0


def peak(a):
    ann = [r for r in load(a.log, kind="announce") if r.get("event") != "stopped"]
    if not ann:
        print("FAIL: no announce")
        return 1
    t0 = ann[0]["t"]
    bins = {}
    for r in ann:
        s = int(r["t"] - t0)
        bins[s] = bins.get(s, 0) + 1
    top = max(bins.values())
    span = ann[-1]["t"] - t0
    print("announces: %d in %.1f s, peak %d/s (bound %d), mean %.0f/s" %
          (len(ann), span, top, a.bound, len(ann) / max(span, 1)))
    bad = 0
    if top > a.bound:
        print("FAIL: peak %d announces/s above the bound %d" % (top, a.bound))
        bad = 1
    if a.expect_total is not None and len(ann) != a.expect_total:
        print("FAIL: %d announces, want %d" % (len(ann), a.expect_total))
        bad = 1
    return bad


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("retries")
    p.add_argument("log")
    p.add_argument("--proto", required=True)
    p.add_argument("--mode", required=True)
    p.add_argument("--expect", required=True)
    p.add_argument("--extra", type=float, default=0)
    p.add_argument("--kind", default="announce")
    p = sub.add_parser("count")
    p.add_argument("log")
    p.add_argument("--proto", required=True)
    p.add_argument("--mode", required=True)
    p.add_argument("--kind", required=True)
    p.add_argument("--event")
    p.add_argument("--min", type=int, default=1)
    p.add_argument("--max", type=int)
    p = sub.add_parser("reannounce")
    p.add_argument("log")
    p.add_argument("--proto", required=True)
    p.add_argument("--mode", required=True)
    p = sub.add_parser("seen")
    p.add_argument("log")
    p.add_argument("--info-hash", required=True)
    p.add_argument("--event")
    p.add_argument("--from", dest="from_ip")
    p.add_argument("--port", type=int)
    p.add_argument("--after", type=float)
    p.add_argument("--within", type=float, default=1e9)
    p.add_argument("--min", type=int, default=1)
    p.add_argument("--max", type=int)
    p = sub.add_parser("peak")
    p.add_argument("log")
    p.add_argument("--bound", type=int, required=True)
    p.add_argument("--expect-total", type=int)
    a = ap.parse_args()
    return {"retries": retries, "count": count, "reannounce": reannounce, "seen": seen,
            "peak": peak}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
