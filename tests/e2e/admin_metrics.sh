#!/usr/bin/env bash
# timeout: 150
#
# The admin endpoint of `ringseed serve` under a real Prometheus:
# 1. Prometheus (the Debian package, on its own loopback port, its own
#    storage, a 1 s scrape interval) scrapes /metrics while aria2c downloads
#    a 6 MB torrent; its query API then shows the torrent's upload bytes equal
#    to the file size (within one 16 KiB block) and up = 1.
# 2. `promtool check metrics` passes on the exposition.
# 3. /status and `ringseed status --json` agree with each other and with the
#    download (bytes up, peers, state, the tracker announced to); the table
#    of `ringseed status` names the torrent and shows its verification bar.
# 4. /healthz: 200 while serving, 503 while stopping (the test tracker never
#    answers the 'stopped' announce, which holds the shutdown for
#    announce.stop_timeout).
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
for c in aria2c prometheus promtool curl; do
	command -v $c >/dev/null || { echo "skip: $c not installed (tests/install-deps.sh installs it)"; exit 77; }
done
cd "$work" || exit 1

serve_init "$work/s"
# A tracker that hands out ringseed's address (aria2c needs one) and never
# answers a 'stopped'.
TP_FILE=$work/tracker.port
S_PORT=$(free_port)
bg "$PY" "$E2E_LIB/serve_tracker.py" --peer "127.0.0.1:$S_PORT" --port-file "$TP_FILE" \
	--lifetime 140 --hang-stopped=-RS >"$work/tracker.log" 2>&1
wait_until 10 test -s "$TP_FILE" || { fail "the test tracker did not start"; exit 1; }
TP=$(cat "$TP_FILE")

SIZE=$((6 * 1048576 + 5))
"$PY" "$LT" mkfile "$S_DIR/data/big.bin" $SIZE big.bin || exit 1
serve_torrent "$S_DIR/data/big.bin" big.bin -a "http://127.0.0.1:$TP/announce" || exit 1
HASH=$(serve_hash big.bin)
serve_conf_add "[announce]" "stop_timeout = 3" "min_interval = 1"
serve_settle
serve_start || exit 1
URL=http://127.0.0.1:$S_ADMIN

# --- Prometheus, scraping every second
PP=$(free_port)
mkdir -p "$work/prom"
cat >"$work/prom.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ringseed
    static_configs:
      - targets: ['127.0.0.1:$S_ADMIN']
EOF
bg prometheus --config.file="$work/prom.yml" --storage.tsdb.path="$work/prom" \
	--web.listen-address="127.0.0.1:$PP" --log.level=warn >"$work/prom.log" 2>&1
PROM=$BG_PID
wait_until 30 curl -sf "http://127.0.0.1:$PP/-/ready" -o /dev/null ||
	{ fail "prometheus not ready within 30 s"; show_tail "$work/prom.log"; }

code=$(curl -s -o "$work/h1" -w '%{http_code}' "$URL/healthz")
[ "$code" = 200 ] && [ "$(cat "$work/h1")" = serving ] || fail "/healthz while serving: $code $(cat "$work/h1")"

# --- aria2c downloads, from 127.0.0.7
timeout 90 aria2c --dir="$work/out" --bt-exclude-tracker='*' \
	--bt-tracker="http://127.0.0.1:$TP/announce" --seed-time=0 \
	--enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false \
	--bt-require-crypto=false --file-allocation=none --summary-interval=0 \
	--console-log-level=warn --interface=127.0.0.7 --listen-port="$(free_port)" \
	--bt-stop-timeout=80 "$S_DIR/torrents/big.bin.torrent" >"$work/aria2.out" 2>&1 ||
	{ fail "aria2c exited $?"; show_tail "$work/aria2.out"; }
tree_cmp "$S_DIR/data/big.bin" "$work/out/big.bin" || fail "big.bin differs"

# --- what Prometheus saw (a few scrapes after the download)
promq() {
	curl -s --get "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=$1" |
		"$PY" -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "none")'
}
q_up="sum(ringseed_torrent_upload_bytes_total{info_hash=\"$HASH\"})"
prom_has_all() { [ "$(promq "$q_up")" != none ] && [ "$(promq "$q_up" | cut -d. -f1)" -ge $((SIZE - 16384)) ]; }
wait_until 15 prom_has_all || true
up=$(promq 'up{job="ringseed"}')
bytes=$(promq "$q_up")
echo "prometheus: up=$up, torrent upload bytes=$bytes (file $SIZE)"
[ "$up" = 1 ] || fail "prometheus: up = $up, want 1"
if [ "$bytes" = none ]; then
	fail "prometheus has no ringseed_torrent_upload_bytes_total for $HASH"
else
	d=$(("${bytes%%.*}" - SIZE))
	[ ${d#-} -le 16384 ] || fail "prometheus: $bytes bytes up, want $SIZE +- 16384"
fi
n=$(promq 'count(count by (__name__) ({job="ringseed",__name__=~"ringseed_.*"}))')
echo "prometheus: $n ringseed_* metric names"

# --- the exposition passes promtool
serve_metrics >"$work/metrics.txt"
promtool check metrics <"$work/metrics.txt" >"$work/promtool.out" 2>&1 ||
	{ fail "promtool check metrics"; show "$work/promtool.out"; }
for m in ringseed_upload_bytes_total ringseed_peers ringseed_peer_drops_total \
	ringseed_announces_total ringseed_admin_refused_total ringseed_worker_cpu_seconds_total; do
	grep -q "^# TYPE $m " "$work/metrics.txt" || fail "/metrics has no $m"
done
# The histograms: aria2c's peer got a first block, and every batch is counted.
grep -q '^# TYPE ringseed_peer_first_byte_seconds histogram$' "$work/metrics.txt" ||
	fail "/metrics has no histogram ringseed_peer_first_byte_seconds"
ttfb=$(awk '$1 == "ringseed_peer_first_byte_seconds_count" { print $2 }' "$work/metrics.txt")
batches=$(awk '$1 == "ringseed_send_batch_blocks_bucket{le=\"+Inf\"}" { print $2 }' "$work/metrics.txt")
blocks=$(awk '$1 == "ringseed_send_batch_blocks_sum" { print $2 }' "$work/metrics.txt")
echo "histograms: $ttfb first bytes, $batches batches carrying $blocks blocks"
[ "${ttfb:-0}" -ge 1 ] 2>/dev/null || fail "no time to first byte observed"
[ "${batches:-0}" -ge 1 ] && [ "${blocks:-0}" -ge "${batches:-0}" ] 2>/dev/null ||
	fail "send batch histogram: $batches batches, $blocks blocks"
[ "$blocks" = "$(serve_stat blocks)" ] || fail "batch histogram sum $blocks != blocks sent $(serve_stat blocks)"

# --- /status and `ringseed status --json` agree, with the download too
wait_until 5 sh -c "curl -s '$URL/status' | grep -q '\"last_announce\":[1-9]'" || true
curl -s "$URL/status" >"$work/status.json"
"$RINGSEED" status --admin "127.0.0.1:$S_ADMIN" --json >"$work/status2.json" ||
	fail "ringseed status --json exited $?"
"$PY" - "$work/status.json" "$work/status2.json" "$HASH" "$SIZE" "$TP" <<'EOF' || fail "/status check"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
h, size, tp = sys.argv[3], int(sys.argv[4]), sys.argv[5]
bad = []
def tor(s):
    t = [x for x in s["torrents"] if x["info_hash"] == h]
    return t[0] if t else None
ta, tb = tor(a), tor(b)
if not ta or not tb:
    sys.exit("torrent %s missing from /status" % h)
for k in ("name", "size", "state", "uploaded", "pieces", "verified"):
    if ta[k] != tb[k]:
        bad.append("%s: /status %r, ringseed status %r" % (k, ta[k], tb[k]))
if abs(ta["uploaded"] - size) > 16384:
    bad.append("uploaded %d, want %d +- 16384" % (ta["uploaded"], size))
if ta["size"] != size or ta["state"] != "seeding" or ta["verified"] != 1:
    bad.append("torrent: %r" % ta)
if sum(w["uploaded"] for w in a["workers"]) < ta["uploaded"]:
    bad.append("workers uploaded less than the torrent")
if len(a["workers"]) != 2 or not all(w["pid"] > 0 for w in a["workers"]):
    bad.append("workers: %r" % a["workers"])
tr = [t for t in a["trackers"] if ("127.0.0.1:%s/announce" % tp) in t["url"]]
if not tr or tr[0]["result"] != "ok" or tr[0]["last_announce"] <= 0:
    bad.append("trackers: %r" % a["trackers"])
if a["state"] != "serving" or a["version"] == "" or a["uptime"] <= 0:
    bad.append("state %r version %r uptime %r" % (a["state"], a["version"], a["uptime"]))
for x in bad:
    print("   ", x)
print("status: %s, %d bytes up, %d trackers, %d workers" % (ta["name"], ta["uploaded"], len(a["trackers"]), len(a["workers"])))
sys.exit(1 if bad else 0)
EOF
"$RINGSEED" status --admin "127.0.0.1:$S_ADMIN" >"$work/table.txt" || fail "ringseed status exited $?"
grep -q '^big.bin .*seeding.*\[####################\] 100%' "$work/table.txt" ||
	{ fail "ringseed status: no row for big.bin with a full bar"; show "$work/table.txt"; }
"$RINGSEED" status --admin 127.0.0.1:1 >/dev/null 2>"$work/err.txt" && fail "ringseed status against nothing exited 0"
one_line "$work/err.txt" || fail "ringseed status against nothing: not one line"

# --- /healthz 503 while stopping (the unanswered 'stopped' holds shutdown for 3 s)
kill "$PROM" 2>/dev/null
kill -TERM "$S_PID"
wait_until 2 sh -c "curl -s -o /dev/null -w '%{http_code}' '$URL/healthz' | grep -q 503" ||
	fail "/healthz did not say 503 while stopping"
curl -s "$URL/healthz" | grep -q stopping || true
serve_stop 10 || true
grep -q ' final: .*up_bytes=' "$S_LOG" || fail "no final stats line"
serve_logs_clean
[ "$fails" -eq 0 ]
