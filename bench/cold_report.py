#!/usr/bin/python3
"""cold_report.py fio|runs: the Markdown tables of bench/cold.sh, from stdin.

fio:  one line per block size, "BS|MBps|IOPS".
runs: one line per run, "SEEDER|N|BENCH_JSON|DISK_READ_BYTES|METRICS0|METRICS1"
      (the metrics files, /metrics before and after the window, for ringseed
      only): MB/s, MB per seeder CPU-second, cores, disk bytes read per byte
      sent in the window, and from ringseed's counters the loop-turn
      histogram of the window (p50, p99: the upper bound of the bucket the
      quantile falls in) and its cold reads.
"""
import json
import re
import sys

SAMPLE = re.compile(r'^ringseed_([a-z_]+)(\{[^}]*\})? (\S+)$')


def metrics(path):
    out = {}
    try:
        for line in open(path):
            m = SAMPLE.match(line.strip())
            if m:
                key = m.group(1) + (m.group(2) or "")
                out[key] = out.get(key, 0.0) + float(m.group(3))
    except OSError:
        pass
    return out


def loop_quantiles(m0, m1):
    """p50 and p99 of the window's loop turns, in ms (bucket upper bounds)."""
    buckets = []
    for k, v in m1.items():
        m = re.match(r'worker_loop_seconds_bucket\{le="([^"]+)"\}', k)
        if m:
            le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
            buckets.append((le, v - m0.get(k, 0.0)))
    buckets.sort()
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]

    def q(f):
        for le, c in buckets:
            if c >= f * total:
                return "%.2f" % (le * 1e3) if le != float("inf") else "> 50"
        return "?"
    return q(0.5), q(0.99), int(total)


def fio(lines):
    print("Disk ceiling (fio, random reads, direct I/O, io_uring, the data set's file):")
    print()
    print("| block | MB/s | IOPS |")
    print("|---|--:|--:|")
    for line in lines:
        bs, mbps, iops = line.split("|")
        print("| %s | %s | %s |" % (bs, mbps, iops))
    print()


def runs(lines):
    print("| seeder | N | MB/s | MB per CPU-s | cores | disk read / sent | loop p50 / p99 ms (turns) | cold reads, MB read, shared |")
    print("|---|--:|--:|--:|--:|--:|---|---|")
    for line in lines:
        seeder, n, path, disk, m0, m1 = line.split("|")
        try:
            j = json.load(open(path))
            mbps = j["throughput"]["MBps"]
            sent = j["throughput"]["bytes"]
            s = j.get("seeder") or {}
            eff, cores = s.get("MB_per_cpu_s", 0), s.get("cores", 0)
        except (OSError, ValueError, KeyError):
            print("| %s | %s | failed | | | | | |" % (seeder, n))
            continue
        ratio = "%.2f" % (int(disk) / sent) if sent else "-"
        loop = cold = "-"
        if m0 and m1:
            a, b = metrics(m0), metrics(m1)
            lq = loop_quantiles(a, b)
            if lq:
                loop = "%s / %s (%d)" % (lq[0], lq[1], lq[2])

            def d(k):
                return b.get(k, 0) - a.get(k, 0)
            cold = "%d, %.0f, %d" % (d("cold_reads_total"), d("cold_read_bytes_total") / 1e6,
                                     d("cold_shared_total"))
        print("| %s | %s | %.0f | %.0f | %.2f | %s | %s | %s |" % (seeder, n, mbps, eff, cores, ratio,
                                                               loop, cold))


def main():
    lines = [x.strip() for x in sys.stdin if x.strip()]
    if sys.argv[1:] == ["fio"]:
        if lines:
            fio(lines)
    elif sys.argv[1:] == ["runs"]:
        runs(lines)
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
