#!/usr/bin/python3
"""Aggregates one `make bench` run (bench/compare/run.sh) into TABLE.md,
gnuplot data and two PNGs.

usage: aggregate.py RAW_DIR RESULTS_DIR

RAW_DIR is build/bench/runs/STAMP: machine.txt, versions.txt, idle.txt,
notes.txt, runs.tsv (row, N, rep, exit status, JSON path), json/*.json (one
ringseed-bench --json report per run), commands.txt and seeders/INSTANCE/
(each seeder's command line, config and log). Writes RESULTS_DIR/TABLE.md,
RESULTS_DIR/throughput.png and RESULTS_DIR/efficiency.png, and the gnuplot
data and script under RAW_DIR/plot/.
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
    "rtorrent-rc4": "rtorrent, 100% RC4 peers",
    "libtorrent-rc4": "libtorrent, 100% RC4 peers",
    "ringseed-churn": "ringseed splice + MSE openings",
}
ORDER = list(LABELS)
INSTANCE = {r: ("nginx" if r.startswith("nginx") else r) for r in LABELS}
# The RC4 rows are the same seeders, every peer opening with MSE (--mse rc4).
INSTANCE.update({"ringseed-rc4": "ringseed-splice", "rtorrent-rc4": "rtorrent",
                 "libtorrent-rc4": "libtorrent", "ringseed-churn": "ringseed-splice"})


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
    runs = {}  # (row, n) -> list of dicts
    for line in open(os.path.join(raw, "runs.tsv")):
        f = line.rstrip("\n").split("\t")
        if len(f) < 5:
            continue
        row, n, rep, rc, path = f[0], int(f[1]), int(f[2]), f[3], f[4]
        r = {"rep": rep, "rc": rc, "json": None}
        if path and os.path.exists(path):
            try:
                r["json"] = json.load(open(path))
            except (ValueError, OSError):
                pass
        runs.setdefault((row, n), []).append(r)
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
    return {
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
    }


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
    ns = sorted({n for (_, n) in runs})
    rows = [r for r in ORDER if any((r, n) in runs for n in ns)]
    rows += sorted({r for (r, _) in runs} - set(rows))

    agg = {}
    for (row, n), rs in runs.items():
        ms = [metrics(r) for r in rs]
        good = [m for m in ms if m]
        a = {"runs": sorted(rs, key=lambda r: r["rep"]), "ms": ms, "n_good": len(good)}
        for k in ("MBps", "eff", "cores", "rss", "held", "fmin", "fmed", "fair", "other"):
            a[k] = med([m[k] for m in good])
        a["other_max"] = max([m["other"] for m in good if m["other"] is not None], default=None)
        a["errors"] = {}
        for r, m in zip(rs, ms):
            if m is None:
                a["errors"].setdefault("no JSON (exit %s)" % r["rc"], 0)
                a["errors"]["no JSON (exit %s)" % r["rc"]] += 1
            elif not m["ok"]:
                a["errors"].setdefault(m["error"] or "exit %s" % r["rc"], 0)
                a["errors"][m["error"] or "exit %s" % r["rc"]] += 1
        agg[(row, n)] = a

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
    w("- %s repetitions, interleaved: every N and seeder of repetition 1, then repetition 2, ... "
      "(the seeder order rotates by one each repetition). Values are medians over the repetitions; "
      "*runs* lists each repetition's MB/s." % machine.get("reps"))
    w("- MB = 10^6 bytes of block payload. *MB/CPU-s*: MB served per CPU-second of the seeder "
      "(all its processes and threads; ringseed's and nginx's workers are children of the pid given). "
      "*×best*: ratio to the best ringseed strategy at that N, for that column. *RSS*: of the seeder at "
      "the end of the window (mmap-based seeders count the file pages they touched). *held/N*: "
      "connections still open at the end. *fair*: per-connection MB/s, min / median (1.00 = even), "
      "then the two values; – when the median peer got nothing. "
      "*other*: the most CPU any other process used during a run of that row (cores, from /proc/stat); "
      "above 0.1 the machine was shared during that run, and *runs* marks such a run with `*`.")
    w("")
    for note in notes:
        w("Note: %s\n" % note)

    for n in ns:
        bt = [r for r in rows if r.startswith("ringseed-") and (r, n) in agg]
        best_mb = max([agg[(r, n)]["MBps"] or 0 for r in bt], default=0)
        best_eff = max([agg[(r, n)]["eff"] or 0 for r in bt], default=0)
        w("## N = %d\n" % n)
        w("| seeder | MB/s | runs (MB/s) | ×best | MB/CPU-s | ×best | seeder cores | RSS MiB | held/N | fair min/median | other |")
        w("|---|--:|---|--:|--:|--:|--:|--:|--:|---|--:|")
        foot = []
        for r in rows:
            a = agg.get((r, n))
            if not a:
                continue
            label = LABELS.get(r, r)
            if a["n_good"] == 0:
                w("| %s | – | %s | | | | | | | | |" % (label, ", ".join("exit " + x["rc"] for x in a["runs"])))
                continue
            runs_s = " / ".join((fmt(m["MBps"]) + ("*" if (m["other"] or 0) > 0.1 else "")) if m else "–"
                                for m in a["ms"])
            fair = "–" if a["fmed"] is None else "%s (%s / %s)" % (
                "–" if a["fair"] is None else "%.2f" % a["fair"],
                fmt(a["fmin"], 2 if (a["fmin"] or 0) < 100 else 0), fmt(a["fmed"], 2 if (a["fmed"] or 0) < 100 else 0))
            held = "%d/%d" % (round(a["held"]), n) if a["held"] is not None else "–"
            w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, fmt(a["MBps"]), runs_s, ratio(a["MBps"], best_mb), fmt(a["eff"]),
                ratio(a["eff"], best_eff), fmt(a["cores"], 2), fmt(a["rss"]), held, fair,
                fmt(a["other_max"], 2)))
            for e, cnt in a["errors"].items():
                foot.append("%s: %d of %d runs did not finish as asked (ringseed-bench exit status 1 or worse): %s" % (label, cnt, len(a["runs"]), e))
        w("")
        for f in foot:
            w("- %s" % f)
        if foot:
            w("")

    # Plots.
    pdir = os.path.join(raw, "plot")
    os.makedirs(pdir, exist_ok=True)
    series = []
    for r in rows:
        pts = [(n, agg[(r, n)]["MBps"], agg[(r, n)]["eff"]) for n in ns
               if (r, n) in agg and agg[(r, n)]["MBps"] is not None]
        if not pts:
            continue
        dat = os.path.join(pdir, r + ".dat")
        with open(dat, "w") as f:
            f.write("# N MBps MB_per_cpu_s (medians)\n")
            for n, mb, eff in pts:
                f.write("%d %.3f %s\n" % (n, mb, "%.3f" % eff if eff else "NaN"))
        series.append((r, dat))
    styles = {
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
    }
    gp = os.path.join(pdir, "plot.gp")
    with open(gp, "w") as f:
        f.write("set terminal pngcairo size 1100,680 font 'DejaVu Sans,11'\n")
        f.write("set logscale x 2\nset xrange [%g:%g]\nset xtics (%s)\n"
                % (min(ns) / 1.6, max(ns) * 1.6, ", ".join(str(n) for n in ns)))
        f.write("set grid\nset key outside right top\nset xlabel 'connections N (log scale)'\n")
        f.write("set yrange [0:*]\n")
        for col, name, ylabel, title in (
                (2, "throughput.png", "MB/s (median)", "Aggregate payload throughput"),
                (3, "efficiency.png", "MB per seeder CPU-second (median)", "Seeder efficiency")):
            f.write("set output '%s'\n" % os.path.join(results, name))
            f.write("set ylabel '%s'\n" % ylabel)
            f.write("set title '%s, 1 GiB, 1 MiB pieces, Q=%s, %s CPUs, loopback'\n"
                    % (title, machine.get("queue"), machine.get("nproc")))
            plots = ["'%s' using 1:%d with linespoints %s ps 1.2 title '%s' noenhanced"
                     % (dat, col, styles.get(r, "lw 2") + ("" if " pt " in styles.get(r, "") else " pt 7"),
                        LABELS.get(r, r)) for r, dat in series]
            f.write("plot " + ", \\\n     ".join(plots) + "\n")
    subprocess.run(["gnuplot", gp], check=True)

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
