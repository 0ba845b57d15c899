#!/usr/bin/python3
"""Aggregates one `make bench` run (bench/compare/run.sh) into TABLE.md,
gnuplot data and two PNGs.

usage: aggregate.py RAW_DIR RESULTS_DIR

RAW_DIR is build/bench/runs/STAMP: machine.txt, versions.txt, idle.txt,
notes.txt, runs.tsv (row, N, rep, exit status, JSON path, load; a line
without a load is a burst run, as every run was before the loads),
json/*.json (one ringseed-bench --json report per run), crowd/crowd-*.json
(bench/crowd.sh), commands.txt and seeders/INSTANCE/ (each seeder's command
line, config and log). Writes RESULTS_DIR/TABLE.md, throughput.png and
efficiency.png (the trickle load), throughput-burst.png and
efficiency-burst.png, and the gnuplot data and script under RAW_DIR/plot/.
"""
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LABELS = {
    "ringseed-copy": "ringseed copy",
    "ringseed-splice": "ringseed splice",
    "ringseed-send_zc": "ringseed send_zc",
    "rtorrent": "rtorrent",
    "qbittorrent": "qBittorrent",
    "libtorrent": "libtorrent (python)",
    "aria2": "aria2",
    "transmission": "Transmission",
    "nginx-16k": "nginx, 16 KiB ranges",
    "nginx-1m": "nginx, 1 MiB ranges",
    "ringseed-rc4": "ringseed, 100% RC4 peers",
    "rtorrent-rc4": "rtorrent, encryption required, 100% RC4 peers",
    "libtorrent-rc4": "libtorrent, RC4 forced, 100% RC4 peers",
    "ringseed-churn": "ringseed splice + MSE openings",
    "ringseed-v2": "ringseed splice, v2 torrent",
    "ringseed-hybrid": "ringseed splice, hybrid torrent",
}
ORDER = list(LABELS)
STYLES = {
    "ringseed-copy": "lw 3 dt 1 lc rgb '#d62728'",
    "ringseed-splice": "lw 3 dt 2 lc rgb '#ff7f0e'",
    "ringseed-send_zc": "lw 3 dt 3 lc rgb '#8c564b'",
    "rtorrent": "lw 2 lc rgb '#1f77b4'",
    "qbittorrent": "lw 2 lc rgb '#2ca02c'",
    "libtorrent": "lw 2 lc rgb '#17becf'",
    "aria2": "lw 2 lc rgb '#9467bd'",
    "transmission": "lw 2 lc rgb '#7f7f7f'",
    "nginx-16k": "lw 2 dt 2 lc rgb '#555555' pt 6",
    "nginx-1m": "lw 2 dt 3 lc rgb '#000000' pt 5",
    "ringseed-rc4": "lw 3 dt 4 lc rgb '#e377c2'",
    "rtorrent-rc4": "lw 2 dt 4 lc rgb '#1f77b4'",
    "libtorrent-rc4": "lw 2 dt 4 lc rgb '#17becf'",
    "ringseed-churn": "lw 2 dt 5 lc rgb '#ff7f0e'",
    "ringseed-v2": "lw 2 dt 6 lc rgb '#ff7f0e'",
    "ringseed-hybrid": "lw 2 dt 7 lc rgb '#ff7f0e'",
}
LOADS = ["trickle", "burst", "capped", "mixed", "wan", "rc4", "mseopen", "v2", "scale"]
LOAD_TITLE = {
    "trickle": "Trickle (each request alone, as its block arrives)",
    "burst": "Burst (the queue refilled per read)",
    "capped": "Capped",
    "mixed": "Mixed",
    "wan": "WAN",
    "rc4": "Encrypted: every peer on MSE with RC4 (trickle)",
    "mseopen": "MSE openings beside a download (trickle; MB/s over the whole window, both "
               "halves: the halves are in \"MSE handshakes beside a download\")",
    "v2": "v1, v2 and hybrid torrents of the same data (trickle)",
    "scale": "Scale: every connection handshaked before the window (trickle)",
}
INSTANCE = {r: ("nginx" if r.startswith("nginx") else r) for r in LABELS}
# The RC4 rows are the same seeders, every peer opening with MSE (--mse rc4).
INSTANCE.update({"ringseed-rc4": "ringseed-splice", "ringseed-churn": "ringseed-splice",
                 "ringseed-hybrid": "ringseed-v2"})


def rel(p):
    return p.replace(ROOT + "/", "")


def kv(path):
    d = {}
    if os.path.exists(path):
        for line in open(path):
            line = line.rstrip("\n")
            if "|" in line:
                k, v = line.split("|", 1)
                d.setdefault(k, v)
    return d


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=0):
    if x is None:
        return "–"
    return "{:,.{}f}".format(x, nd)


def ratio(x, best):
    if x is None or not best:
        return "–"
    return "%.2f" % (x / best)


def load_runs(raw):
    runs = {}  # (load, row, n) -> list of dicts
    for line in open(os.path.join(raw, "runs.tsv")):
        f = line.rstrip("\n").split("\t")
        if len(f) < 5:
            continue
        row, n, rep, rc, path = f[0], int(f[1]), int(f[2]), f[3], f[4]
        load = f[5] if len(f) > 5 and f[5] else "burst"
        r = {"rep": rep, "rc": rc, "json": None, "path": path}
        if path and os.path.exists(path):
            try:
                r["json"] = json.load(open(path))
            except (ValueError, OSError):
                pass
        runs.setdefault((load, row, n), []).append(r)
    return runs


def metrics(r):
    d = r["json"]
    if not d or "throughput" not in d:
        return None
    s = d.get("seeder") or {}
    c = d.get("connections") or {}
    pc = d.get("per_connection_MBps") or {}
    m = d.get("machine") or {}
    fmin, fmed = pc.get("min"), pc.get("median")
    cls = []
    for k in d.get("classes") or []:
        kp = k.get("per_connection_MBps") or {}
        cls.append({"pct": k["pct"], "rate": k["rate_Bps"], "MBps": k["MBps"], "cap": k["cap_MBps"],
                    "min": kp.get("min"), "median": kp.get("median")})
    return {
        "classes": cls,
        "rpw": (d.get("counts") or {}).get("requests_per_write"),
        "MBps": d["throughput"]["MBps"],
        "eff": s.get("MB_per_cpu_s") or None,
        "cores": s.get("cores"),
        "rss": (s.get("rss_kb") or 0) / 1024.0,
        "held": c.get("held", 0),
        "target": c.get("target", 0),
        "fmin": fmin,
        "fmed": fmed,
        "fair": (fmin / fmed) if fmed else None,
        "other": m.get("other_cores"),
        "ok": d.get("ok", False),
        "error": d.get("error", ""),
        "phases": d.get("phases") or {},
    }


def class_str(cls):
    """--rate/--mix classes of one run: MB/s (of the sum of caps), per-connection min / median."""
    if not cls:
        return "–"
    parts = []
    for k in cls:
        head = "%d%% %s" % (k["pct"], "@ %.2f MB/s" % (k["rate"] / 1e6) if k["rate"] else "uncapped")
        tot = fmt(k["MBps"], 1) + (" of %s (%.0f%%)" % (fmt(k["cap"], 1), 100 * k["MBps"] / k["cap"])
                                   if k["cap"] else "")
        parts.append("%s: %s MB/s, %s / %s" % (head, tot, fmt(k["min"], 2), fmt(k["median"], 2)))
    return "; ".join(parts)


def table(w, agg, rows, load, n, machine):
    bt = [r for r in rows if r.startswith("ringseed-") and (load, r, n) in agg]
    best_mb = max([agg[(load, r, n)]["MBps"] or 0 for r in bt], default=0)
    best_eff = max([agg[(load, r, n)]["eff"] or 0 for r in bt], default=0)
    what = {"capped": ", --rate %s" % (machine.get("capped", "|").split("|")[-1]),
            "mixed": ", --mix %s" % (machine.get("mixed", "|").split("|")[-1]),
            "wan": ", --rtt %s" % (machine.get("wan", "|").split("|")[-1])}.get(load, "")
    w("## %s: N = %d%s\n" % (LOAD_TITLE.get(load, load), n, what))
    classes = load in ("capped", "mixed")
    w("| seeder | MB/s | runs (MB/s) | ×best | MB/CPU-s | ×best | seeder cores | RSS MiB | held/N "
      "| fair min/median | requests per write | other |%s"
      % (" classes: MB/s, per connection min / median |" if classes else ""))
    w("|---|--:|---|--:|--:|--:|--:|--:|--:|---|--:|--:|%s" % ("---|" if classes else ""))
    foot = []
    for r in rows:
        a = agg.get((load, r, n))
        if not a:
            continue
        label = LABELS.get(r, r)
        if a["n_good"] == 0:
            w("| %s | – | %s | | | | | | | | | |%s" % (
                label, ", ".join("exit " + x["rc"] for x in a["runs"]), " |" if classes else ""))
            continue
        runs_s = " / ".join((fmt(m["MBps"]) + ("*" if (m["other"] or 0) > 0.1 else "")) if m else "–"
                            for m in a["ms"])
        fair = "–" if a["fmed"] is None else "%s (%s / %s)" % (
            "–" if a["fair"] is None else "%.2f" % a["fair"],
            fmt(a["fmin"], 2 if (a["fmin"] or 0) < 100 else 0),
            fmt(a["fmed"], 2 if (a["fmed"] or 0) < 100 else 0))
        held = "%d/%d" % (round(a["held"]), n) if a["held"] is not None else "–"
        w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%s" % (
            label, fmt(a["MBps"]), runs_s, ratio(a["MBps"], best_mb), fmt(a["eff"]),
            ratio(a["eff"], best_eff), fmt(a["cores"], 2), fmt(a["rss"]), held, fair,
            fmt(a["rpw"], 2) if not r.startswith("nginx") else "–", fmt(a["other_max"], 2),
            (" %s |" % class_str(a["classes"])) if classes else ""))
        ramps = [(m["phases"].get("ramp") or {}) for m in a["ms"] if m]
        if load == "scale" and ramps:
            foot.append("%s: every connection handshaked after %s s (the window opened 0.5 s "
                        "later)" % (label, " / ".join(
                            "%.1f" % rp["all_in_s"] if rp.get("complete") else "NOT ALL IN"
                            for rp in ramps)))
        for e, cnt in a["errors"].items():
            foot.append("%s: %d of %d runs did not finish as asked (ringseed-bench exit status 1 "
                        "or worse): %s" % (label, cnt, len(a["runs"]), e))
    w("")
    for f in foot:
        w("- %s" % f)
    if foot:
        w("")


def crowd_section(w, raw):
    d = os.path.join(raw, "crowd")
    res = []
    for s in ("ringseed", "rtorrent"):
        p = os.path.join(d, "crowd-%s.json" % s)
        if os.path.exists(p):
            try:
                res.append(json.load(open(p)))
            except ValueError:
                pass
    if not res:
        return
    w("## Real-client crowd: %d python3-libtorrent leechers\n" % res[0]["leechers"])
    w("`bench/crowd.sh`: each leecher a libtorrent 2.0 session of its own from its own 127.77.K.X, "
      "%d /usr/bin/python3 processes, a 64 MiB torrent (1 MiB pieces) downloaded again and again "
      "(a leecher that completes it deletes it and starts over); MB/s is the sum of the leechers' "
      "own counters over a %.0f s window. ringseed runs with the splice strategy. *crowd cores*: "
      "the leechers' own CPU. *limit*: clients when the crowd used at least 0.8 of a core per "
      "process, seeder when the seeder used 0.8 of the cores it can use (ringseed all, rtorrent "
      "one), else neither (a shared machine, or queues and round trips).\n"
      % (res[0]["crowd_processes"], res[0]["window_s"]))
    w("| seeder | MB/s | per leecher min / median MB/s | slowest first byte | seeder cores "
      "| MB/CPU-s | crowd cores | limit | rounds | ok |")
    w("|---|--:|---|--:|--:|--:|--:|---|--:|---|")
    for r in res:
        pl = r["per_leecher_MBps"]
        w("| %s | %s | %.2f / %.2f | %s | %.2f | %s | %.2f | %s | %d | %s |" % (
            r["seeder"], fmt(r["MBps"], 1), pl["min"], pl["median"],
            "–" if r["slowest_first_byte_s"] is None else "%.2f s" % r["slowest_first_byte_s"],
            r["seeder_cpu_s"] / r["window_s"] if r["window_s"] else 0, fmt(r["MB_per_seeder_cpu_s"]),
            r["crowd_cores"], r.get("limit", "–"), r["rounds_completed"], "yes" if r["ok"] else "no"))
    w("")


def swarm_section(w, raw):
    try:
        j = json.load(open(os.path.join(raw, "swarm", "swarm.json")))
    except (OSError, ValueError):
        return
    w("## Swarm: %d python3-libtorrent leechers trading among themselves\n" % j["leechers"])
    w("`bench/swarm.sh`: one %d MiB torrent (1 MiB pieces), the seeder's upload capped at %d Mbit/s "
      "(an HTB class on the loopback of a network namespace, for the seeder's address only: the "
      "leechers trade at loopback speed). The leechers find each other through a tracker (rows "
      "`-pex`: through ringseed's PEX only). *all done*: until the last leecher completed. "
      "*seeder bytes / copy*: what the seeder put on the wire (TCP/IP headers included) per "
      "copy completed, in torrent sizes; lower is better.\n" % (j["size_mib"], j["cap_mbit"]))
    w("| seeder | all done | seeder bytes / copy | ringseed payload / copy | copies |")
    w("|---|--:|--:|--:|--:|")
    for r in j["rows"]:
        sz = r["size_bytes"]
        w("| %s | %s | %s | %s | %d of %d |" % (
            r["row"], "%.1f s" % r["all_done_s"] if r["all_done_s"] else "never",
            "%.2f" % (r["wire_per_copy"] / sz) if r["wire_per_copy"] else "–",
            "%.2f" % (r["ringseed_payload_bytes"] / r["copies"] / sz)
            if r["ringseed_payload_bytes"] and r["copies"] else "–",
            r["copies"], r["leechers"]))
    w("")


def fleet_section(w, raw):
    try:
        j = json.load(open(os.path.join(raw, "fleet", "fleet.json")))
    except (OSError, ValueError):
        return
    w("## Fleet: 1 origin + %d edges distributing a release to themselves\n" % j["edges"])
    w("`bench/fleet.sh`: one %d MiB release (1 MiB pieces) at an origin ringseed whose upload is "
      "capped at %d MiB/s (serve.max_upload_rate); each edge on its own 127.0.1.N with only the "
      ".torrent. Row `rs`: the edges are ringseed serve (fetch.enable), uploading to each other "
      "while they fetch; row `lt`: python3-libtorrent leechers instead. *all done*: until the last "
      "edge had the release verified; *x size/cap*: that against the time the origin alone needs "
      "for one copy (target 1.3); *origin x size*: the payload the origin uploaded, in release "
      "sizes (target 1.5).\n" % (j["size_mib"], j["cap_mib"]))
    w("| edges | all done | x size/cap | origin x size | copies |")
    w("|---|--:|--:|--:|--:|")
    for r in j["rows"]:
        w("| %s | %s | %s | %.2f | %d of %d |" % (
            r["row"], "%.1f s" % r["all_done_s"] if r["all_done_s"] else "never",
            "%.2f" % r["time_ratio"] if r["time_ratio"] else "–", r["origin_ratio"],
            r["copies"], r["edges"]))
    w("")


def fetch1_section(w, raw):
    try:
        j = json.load(open(os.path.join(raw, "fetch1", "fetch1.json")))
    except (OSError, ValueError):
        return
    w("## One fetch from one local seeder\n")
    w("`bench/fetch1.sh`: one %d MiB torrent (1 MiB pieces) from a ringseed seeder on 127.0.0.1, "
      "found through its built-in tracker; each client from an empty directory until complete. "
      "*MB/s*: 10^6 bytes per wall second, set-up included; *CPU s / GB*: the client's user + "
      "system time per 10^9 bytes.\n" % j["size_mib"])
    w("| client | wall | MB/s | CPU s / GB | byte-exact |")
    w("|---|--:|--:|--:|--|")
    for r in j["rows"]:
        w("| %s | %.1f s | %.1f | %.2f | %s |" % (r["row"], r["wall_s"], r["MB_s"] or 0,
                                              r["cpu_s_per_GB"], "yes" if r["ok"] else "no"))
    w("")


def mseopen_section(w, runs, machine):
    """The MSE-openings row: the download's two halves, the openers' own report."""
    rs = [r for k, v in sorted(runs.items()) if k[0] == "mseopen" for r in v]
    if not rs:
        return
    w("## MSE handshakes beside a download: N = 256\n")
    w("The 256 download (trickle) over a window twice the usual length, split in the middle "
      "(`--split`): *before* is the first half, *during* the second, while a second "
      "ringseed-bench opens MSE connections offering RC4, as fast as the seeder completes "
      "them (`--churn --mse rc4`, %s at once, from 127.1.0.0/16): each does the DH, sends "
      "its handshake as the IA and closes when the seeder's handshake is back. *handshakes/s*: "
      "completed in the openers' window; *master cores*: the CPU of ringseed's master alone "
      "(`--master-pid`: it runs every MSE handshake; the workers are not counted); *per master "
      "CPU-s*: handshakes per CPU-second of the master. On 2 cores the openers (DH and RC4 "
      "too) compete with the seeder, so *during* bounds the effect from above.\n"
      % machine.get("mseopen", "?"))
    w("| rep | MB/s before | MB/s during | seeder cores before / during | handshakes/s "
      "| master cores | handshakes per master CPU-s | openers' cores | openers failed | other |")
    w("|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|")
    for r in rs:
        d = r["json"] or {}
        sp = (d.get("phases") or {}).get("split") or {}
        o = None
        op = (r.get("path") or "").replace(".json", ".opener.json")
        try:
            o = json.load(open(op))
        except (OSError, ValueError):
            pass
        ph = (o or {}).get("phases") or {}
        ch, ma = ph.get("churn") or {}, ph.get("master") or {}
        w("| %d | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s |" % (
            r["rep"], fmt(sp.get("before_MBps")), fmt(sp.get("after_MBps")),
            fmt(sp.get("before_seeder_cores"), 2), fmt(sp.get("after_seeder_cores"), 2),
            fmt(ch.get("per_s")), fmt(ma.get("cores"), 2), fmt(ma.get("handshakes_per_cpu_s")),
            fmt(((o or {}).get("bench") or {}).get("cores"), 2),
            "–" if o is None else (o.get("connections") or {}).get("failed", "–"),
            fmt(max((d.get("machine") or {}).get("other_cores") or 0,
                    ((o or {}).get("machine") or {}).get("other_cores") or 0), 2)))
    w("")


def v2_note(w, agg, n):
    """v2 and hybrid serving against v1, MB per CPU-second (issue 13: within 5%)."""
    base = agg.get(("v2", "ringseed-splice", n)) or {}
    out = []
    for r in ("ringseed-v2", "ringseed-hybrid"):
        a = agg.get(("v2", r, n)) or {}
        if base.get("eff") and a.get("eff"):
            out.append("%s %+.1f%% MB per CPU-second, %+.1f%% MB/s" % (
                LABELS[r], 100 * (a["eff"] / base["eff"] - 1),
                100 * (a["MBps"] / base["MBps"] - 1) if base.get("MBps") and a.get("MBps") else 0))
    if out:
        w("Against the v1 torrent (ringseed splice, same instance kind, same run): %s.\n"
          % "; ".join(out))


def hashspeed_section(w, raw):
    try:
        h = json.load(open(os.path.join(raw, "hashspeed.json")))
    except (OSError, ValueError):
        return
    w("## Hashing speed: create and verify, warm %s MiB\n" % fmt(h["bytes"] / 1048576.0))
    w("`bench/hashspeed.sh`: `ringseed create -f FORMAT -l 1M` of the warm file (wall time, "
      "every core), and the first verification by `ringseed serve` (its own log's time; for a "
      "hybrid it names the hash set it chose), against `openssl speed -evp sha256` and `sha1` "
      "on 16 KiB blocks, one core: %.0f and %.0f MB/s, times %d cores. A hybrid's ceiling is "
      "1 / (1/sha1 + 1/sha256) per core (both hashes of every byte); *of sha256 × cores* is "
      "issue 13's measure (target ≥ 0.80).\n" % (
          h["openssl_sha256_Bps"] / 1e6, h["openssl_sha1_Bps"] / 1e6, h["cores"]))
    w("CPU-s/GiB: the hashing threads' CPU time per GiB against openssl's (its rate is per "
      "CPU-second), *CPU ratio* the second over the first; *parallel* is CPU-seconds / "
      "(wall × threads).\n")
    passes = [("", h["formats"])]
    if "no_sha_ni" in h:
        passes.append((" (no SHA-NI)", h["no_sha_ni"]["formats"]))
    w("| format | create s | create MB/s | of its ceiling | of sha256 × cores | create CPU-s/GiB "
      "| CPU ratio | parallel | verify s | verify MB/s | verified by | of its ceiling "
      "| verify CPU-s/GiB | CPU ratio | parallel |")
    w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|")
    for label, rows in passes:
        for f in rows:
            w("| %s%s | %.2f | %s | %.2f | %.2f | %s | %s | %s | %.2f | %s | %s | %.2f | %s | %s "
              "| %s |" % (
                  f["format"], label, f["create_s"], fmt(f["create_MBps"]), f["create_ratio"],
                  f["create_ratio_sha256_x_cores"], f.get("create_cpu_s_per_GiB", "-"),
                  f.get("create_cpu_ratio", "-"), f.get("create_parallel", "-"),
                  f["verify_s"], fmt(f["verify_MBps"]), f["verify_hashes"], f["verify_ratio"],
                  f.get("verify_cpu_s_per_GiB", "-"), f.get("verify_cpu_ratio", "-"),
                  f.get("verify_parallel", "-")))
    w("")


def counts_section(w, raw, loads, machine):
    d = os.path.join(raw, "counts")
    res = []
    for load in loads:
        for inst in ("ringseed-splice", "rtorrent", "rtorrent-rc4"):
            p = os.path.join(d, "%s__%s.json" % (load, inst))
            try:
                res.append((load, inst, json.load(open(p))))
            except (OSError, ValueError):
                pass
    if not res:
        return
    w("## Per-block counts\n")
    w("`bench/counts.sh` once per load and seeder (trickle and burst at N = %s, the others at "
      "their own N), over the window: what one 16 KiB block served cost. *seeder segments*: TCP "
      "segments the seeder's sockets sent (`tcp_info` segs_out); *TcpOutSegs*: nstat, every "
      "segment on the machine, both ends and other users; *syscalls*, *io_uring_enter*: `perf "
      "stat` on the seeder's processes; *wake-ups*: voluntary context switches, and the "
      "nonvoluntary after the slash; *bench writes*: the bench's request sends per block.\n"
      % machine.get("counts_n", "?"))
    w("| load | seeder | N | MB/s | seeder segments | TcpOutSegs | syscalls | io_uring_enter "
      "| wake-ups / preempted | bench writes | clean |")
    w("|---|---|--:|--:|--:|--:|--:|--:|---|--:|---|")
    f = lambda v: "–" if v is None else "%.3f" % v
    for load, inst, j in res:
        pb = j["per_block"]
        w("| %s | %s | %d | %s | %s | %s | %s | %s | %s / %s | %s | %s |" % (
            load, LABELS.get(inst, inst), j["load"]["connections"], fmt(j["MBps"]),
            f(pb["seeder_segs"]), f(pb["tcp_out_segs"]), f(pb["syscalls"]), f(pb["io_uring_enter"]),
            f(pb["voluntary_ctxt_switches"]), f(pb["nonvoluntary_ctxt_switches"]),
            f(pb["bench_request_writes"]), "yes" if j["clean"] else "no"))
    w("")


def plot(agg, rows, load, suffix, pdir, results, machine):
    ns = sorted({k[2] for k in agg if k[0] == load})
    series = []
    for r in rows:
        pts = [(n, agg[(load, r, n)]["MBps"], agg[(load, r, n)]["eff"]) for n in ns
               if (load, r, n) in agg and agg[(load, r, n)]["MBps"] is not None]
        if not pts:
            continue
        dat = os.path.join(pdir, "%s-%s.dat" % (load, r))
        with open(dat, "w") as f:
            f.write("# N MBps MB_per_cpu_s (medians)\n")
            for n, mb, eff in pts:
                f.write("%d %.3f %s\n" % (n, mb, "%.3f" % eff if eff else "NaN"))
        series.append((r, dat))
    if not series:
        return
    gp = os.path.join(pdir, "plot-%s.gp" % load)
    with open(gp, "w") as f:
        f.write("set terminal pngcairo size 1100,680 font 'DejaVu Sans,11'\n")
        f.write("set logscale x 2\nset xrange [%g:%g]\nset xtics (%s)\n"
                % (min(ns) / 1.6, max(ns) * 1.6, ", ".join(str(n) for n in ns)))
        f.write("set grid\nset key outside right top\nset xlabel 'connections N (log scale)'\n")
        f.write("set yrange [0:*]\n")
        for col, name, ylabel, title in (
                (2, "throughput%s.png" % suffix, "MB/s (median)", "Aggregate payload throughput"),
                (3, "efficiency%s.png" % suffix, "MB per seeder CPU-second (median)",
                 "Seeder efficiency")):
            f.write("set output '%s'\n" % os.path.join(results, name))
            f.write("set ylabel '%s'\n" % ylabel)
            f.write("set title '%s, %s requests, 1 GiB, 1 MiB pieces, Q=%s, %s CPUs, loopback'\n"
                    % (title, load, machine.get("queue"), machine.get("nproc")))
            plots = ["'%s' using 1:%d with linespoints %s ps 1.2 title '%s' noenhanced"
                     % (dat, col, STYLES.get(r, "lw 2") + ("" if " pt " in STYLES.get(r, "") else " pt 7"),
                        LABELS.get(r, r)) for r, dat in series]
            f.write("plot " + ", \\\n     ".join(plots) + "\n")
    if os.environ.get("BENCH_NO_PLOTS") != "1":
        subprocess.run(["gnuplot", gp], check=True)


def main():
    raw, results = sys.argv[1], sys.argv[2]
    os.makedirs(results, exist_ok=True)
    machine = kv(os.path.join(raw, "machine.txt"))
    versions = kv(os.path.join(raw, "versions.txt"))
    idle = {}
    if os.path.exists(os.path.join(raw, "idle.txt")):
        for line in open(os.path.join(raw, "idle.txt")):
            f = line.rstrip("\n").split("|")
            if len(f) == 3:
                if f[1] == "drain":
                    idle.setdefault(f[0], ["", ""])[1] = "restart (held sockets after a run)"
                else:
                    idle[f[0]] = [f[1], f[2]]
    notes = [l.strip() for l in open(os.path.join(raw, "notes.txt"))] if os.path.exists(
        os.path.join(raw, "notes.txt")) else []
    notes = [n for n in notes if n]
    runs = load_runs(raw)
    loads = [l for l in LOADS if any(k[0] == l for k in runs)]
    loads += sorted({k[0] for k in runs} - set(loads))
    rows = [r for r in ORDER if any(k[1] == r for k in runs)]
    rows += sorted({k[1] for k in runs} - set(rows))

    agg = {}
    for (load, row, n), rs in runs.items():
        ms = [metrics(r) for r in rs]
        good = [m for m in ms if m]
        a = {"runs": sorted(rs, key=lambda r: r["rep"]), "ms": ms, "n_good": len(good)}
        for k in ("MBps", "eff", "cores", "rss", "held", "fmin", "fmed", "fair", "other", "rpw"):
            a[k] = med([m[k] for m in good])
        a["classes"] = good[0]["classes"] if len(good) == 1 else None
        a["other_max"] = max([m["other"] for m in good if m["other"] is not None], default=None)
        a["errors"] = {}
        for r, m in zip(rs, ms):
            if m is None:
                a["errors"].setdefault("no JSON (exit %s)" % r["rc"], 0)
                a["errors"]["no JSON (exit %s)" % r["rc"]] += 1
            elif not m["ok"]:
                a["errors"].setdefault(m["error"] or "exit %s" % r["rc"], 0)
                a["errors"][m["error"] or "exit %s" % r["rc"]] += 1
        agg[(load, row, n)] = a

    out = []
    w = out.append
    elapsed = int(machine.get("elapsed", "0"))
    w("# ringseed and other seeders side by side (`make bench`)\n")
    w("Made by `bench/compare/run.sh` on %s; the run took %d min %02d s. Raw JSON per run: "
      "`%s/json/` (not committed). How to read this: the last section of bench/README.md.\n"
      % (machine.get("date", "?"), elapsed // 60, elapsed % 60, rel(raw)))
    w("## Machine\n")
    w("| | |\n|---|---|")
    w("| CPUs (nproc) | %s |" % machine.get("nproc", "?"))
    w("| CPU model | %s |" % machine.get("cpu", "?"))
    w("| kernel | %s |" % machine.get("kernel", "?"))
    w("| memory | %s |" % machine.get("memory", "?"))
    w("| OS | %s |" % machine.get("os", "?"))
    w("| load average at the start | %s |" % machine.get("loadavg", "?"))
    if "busy" in machine:
        w("| CPU busy just before the start (cores, 2 s) | %s |" % machine["busy"])
    w("")
    w("## Seeders\n")
    w("| seeder | version | idle CPU (cores, 5 s with no peers) | between runs |")
    w("|---|---|---|---|")
    insts = []
    for r in rows:
        i = INSTANCE.get(r, r)
        if i not in insts:
            insts.append(i)
    for i in insts:
        v = versions.get(i, "?")
        idl, pol = idle.get(i, ["–", "–"])
        pol = {"keep": "kept running", "restart": "stopped; started again for each of its runs"}.get(pol, pol)
        w("| %s | %s | %s | %s |" % (i, v, idl or "–", pol))
    w("")
    w("## Method\n")
    w("- One file of 1 GiB of random data (`build/bench/data/bench-1g.bin`), its .torrent made by "
      "`bin/ringseed create -l 1048576` (1024 pieces of 1 MiB; info-hash %s), read once before the "
      "start so that it sits in the page cache." % machine.get("infohash", "?"))
    w("- Every seeder on its own port on 127.0.0.1, started once (hash check done or skipped before "
      "the first run) and kept running when idle costs nothing, else started and stopped around each "
      "of its runs (table above).")
    w("- Each run: `ringseed-bench -n N -q %s -d %s --warmup %s --recv %s --seeder-pid PID --json` "
      "(`--warmup %s` for N >= 1024, to cover the ramp; Transmission: `--warmup %s`, as it unchokes "
      "new peers only at its 10 s rechoke); random piece order; source addresses spread over "
      "127.0.0.0/8; at most 256 connections opening at once (the bench's default). nginx rows: the "
      "same with `--http` and `--range 16384` or `--range 1048576`. Exact commands: "
      "`%s/commands.txt`; the binaries are copies of bin/ taken at the start, in `%s/bin/`."
      % (machine.get("queue"), machine.get("window"), machine.get("warmup"), machine.get("recv"),
         machine.get("warmup_big"), machine.get("tr_warmup"), rel(raw), rel(raw)))
    w("- The loads (bench/README.md, \"The loads\"), each with the options above plus: *trickle* "
      "`--requests trickle` (each request written alone as its block arrives, like libtorrent or "
      "aria2 on a slow peer; the default), *burst* `--requests burst` (the whole queue refilled per "
      "read), *capped* `--rate %s` at N = %s, *mixed* `--mix %s` at N = %s, *wan* `--rtt %s` at "
      "N = %s (the round trip emulated by the bench: Q blocks per round trip). nginx rows run "
      "under burst, capped and mixed only (HTTP requests go out in bursts, and `--rtt` is "
      "BitTorrent only)." % (
          machine.get("capped", "|?").split("|")[-1], machine.get("capped", "?|").split("|")[0],
          machine.get("mixed", "|?").split("|")[-1], machine.get("mixed", "?|").split("|")[0],
          machine.get("wan", "|?").split("|")[-1], machine.get("wan", "?|").split("|")[0]))
    w("- The later loads: *rc4* every connection opens with MSE offering RC4 only (`--mse rc4`) at "
      "N = %s: ringseed (its default `net.encryption = allow`), rtorrent with `protocol.encryption "
      "= allow_incoming,require,require_RC4` and libtorrent with `in_enc_policy` forced and "
      "`allowed_enc_level` rc4 (both refuse plain peers: the probe before the first run uses "
      "MSE); *mseopen* (below); *v2* ringseed serving the same file as a v1, a v2 and a hybrid "
      "torrent (the hybrid asked for by its %s info-hash) at N = %s; *scale* N = %s at `-q %s` "
      "(%s: 10,000 x 32 x 16 KiB would be 5 GB in flight, over the kernel's TCP memory), the "
      "window opened only once every connection has handshaked (`--ramp %s`)." % (
          machine.get("rc4", "?"), machine.get("hybrid_hash", "v2"), machine.get("v2", "?"),
          machine.get("scale", "?|").split("|")[0], machine.get("scale", "|?").split("|")[-1],
          "ringseed splice and rtorrent only", machine.get("scale_ramp", "?")))
    w("- Repetitions: %s of the trickle rows (Transmission's %s: 16 s a run), %s of the burst "
      "rows, %s of the rc4 rows, %s of the v2 rows, one of the capped, mixed, wan, mseopen and "
      "scale rows and of the crowd (fewer for the slow rows, to keep `make bench` under 30 "
      "minutes), "
      "interleaved: every load, N and seeder of repetition 1, then repetition 2, ... (the seeder "
      "order rotates by one each repetition). Values are medians over the repetitions (of two: "
      "their mean); *runs* lists each repetition's MB/s." % (
          machine.get("reps"), machine.get("tr_reps", machine.get("reps")),
          machine.get("burst_reps", "1"), machine.get("rc4_reps", "1"), machine.get("v2_reps", "1")))
    w("- MB = 10^6 bytes of block payload. *MB/CPU-s*: MB served per CPU-second of the seeder "
      "(all its processes and threads; ringseed's and nginx's workers are children of the pid given). "
      "*×best*: ratio to the best ringseed strategy at that N, for that column. *RSS*: of the seeder at "
      "the end of the window (mmap-based seeders count the file pages they touched). *held/N*: "
      "connections still open at the end. *fair*: per-connection MB/s, min / median (1.00 = even), "
      "then the two values; – when the median peer got nothing. "
      "*requests per write*: the bench's requests over the sends that carried them (1.00: one "
      "request per write, trickle). *classes*: per --rate/--mix class, its aggregate (of the sum of "
      "its caps) and per-connection min / median MB/s. "
      "*other*: the most CPU any other process used during a run of that row (cores, from /proc/stat); "
      "above 0.1 the machine was shared during that run, and *runs* marks such a run with `*`.")
    w("")
    for note in notes:
        w("Note: %s\n" % note)

    for load in loads:
        ns = sorted({k[2] for k in agg if k[0] == load})
        for n in ns:
            table(w, agg, rows, load, n, machine)
            if load == "v2":
                v2_note(w, agg, n)

    mseopen_section(w, runs, machine)
    crowd_section(w, raw)
    swarm_section(w, raw)
    fleet_section(w, raw)
    fetch1_section(w, raw)
    counts_section(w, raw, loads, machine)
    hashspeed_section(w, raw)

    # Plots: the trickle load (the default) and the burst load.
    pdir = os.path.join(raw, "plot")
    os.makedirs(pdir, exist_ok=True)
    for load, suffix in (("trickle", ""), ("burst", "-burst")):
        if load in loads:
            plot(agg, rows, load, suffix, pdir, results, machine)

    # Exact commands and settings.
    w("## Exact commands and settings\n")
    w("Paths are relative to the repository; `RUN` is `%s`.\n" % rel(raw))
    sd = os.path.join(raw, "seeders")
    for i in insts:
        d = os.path.join(sd, i)
        if not os.path.isdir(d):
            continue
        w("### %s\n" % i)
        if os.path.exists(os.path.join(d, "cmd")):
            cmds = [l.strip() for l in open(os.path.join(d, "cmd")) if l.strip()]
            w("```sh\n%s\n```\n" % rel(cmds[0]).replace(rel(raw), "RUN"))
            if len(cmds) > 1:
                w("(started %d times)\n" % len(cmds))
        files = {
            "rtorrent": ["rtorrent.rc"],
            "transmission": ["settings.json"],
            "nginx": ["nginx.conf"],
        }.get(i, [])
        for fn in files:
            p = os.path.join(d, fn)
            if os.path.exists(p):
                w("`%s`:\n\n```\n%s```\n" % (fn, rel(open(p).read()).replace(rel(raw), "RUN")))
        if i == "qbittorrent":
            pj = os.path.join(ROOT, "bench/compare/seeders/qbittorrent-prefs.json")
            w("WebUI API `app/setPreferences` (read back and checked):\n\n```json\n%s```\n" % open(pj).read())
            for fn, what in (("listen-backlog", "listen backlog after reopening"),
                             ("libtorrent-version", "libtorrent")):
                p = os.path.join(d, fn)
                if os.path.exists(p):
                    w("%s: %s\n" % (what, open(p).read().strip()))
            w("The torrent is added with `torrents/add` and `skip_checking=true`, `paused=false`.\n")
        if i == "libtorrent":
            p = os.path.join(d, "log")
            if os.path.exists(p):
                lines = [l for l in open(p) if " = " in l]
                w("Settings that differ from libtorrent's defaults (high_performance_seed() plus "
                  "lt_seed.py's own); the torrent in seed mode, not auto-managed, "
                  "max_connections/max_uploads -1:\n\n```\n%s```\n" % "".join(lines))
    w("Per run, e.g. the first of each row:\n")
    w("```")
    seen = set()
    cp = os.path.join(raw, "commands.txt")
    if os.path.exists(cp):
        for line in open(cp):
            row = line.split(" ", 1)[0]
            if row not in seen:
                seen.add(row)
                w(rel(line.rstrip("\n")).replace(rel(raw), "RUN"))
    w("```")
    with open(os.path.join(results, "TABLE.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
