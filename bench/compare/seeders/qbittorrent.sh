# qBittorrent-nox (libtorrent 2.0): profile under the run dir; the WebUI on
# 127.0.0.1 with the localhost auth bypass (no password needed from here);
# the legal notice accepted in qBittorrent.conf. Everything that matters for
# seeding is set through the WebUI API (app/setPreferences with
# seeders/qbittorrent-prefs.json) and read back. The listen socket's backlog
# is fixed when it is opened, so after setting socket_backlog_size the listen
# port is moved away and back to reopen it. The torrent is added with
# skip_checking.

qbittorrent_version() {
	local v; v=$(qbittorrent-nox --version 2>/dev/null | sed 's/^qBittorrent /qbittorrent-nox /')
	echo "$v${QB_LIBTORRENT:+ (libtorrent $QB_LIBTORRENT)}"
}

qb_api() { curl -sS --max-time 10 "$@"; }

# qbittorrent_start WORK PORT (the WebUI is on PORT+1)
qbittorrent_start() {
	local work=$1 port=$2 webui=$(($2 + 1))
	local api="http://127.0.0.1:$webui/api/v2"
	mkdir -p "$work/profile/qBittorrent/config"
	QB_PORT=$port QB_WEBUI=$webui SUBST_VARS="QB_PORT QB_WEBUI" \
		subst "$HERE/seeders/qbittorrent.conf.in" "$work/profile/qBittorrent/config/qBittorrent.conf"
	port_free "$webui" || { log "qbittorrent: WebUI port $webui is taken"; return 1; }
	launch "$work" qbittorrent-nox --profile="$work/profile"
	local pid=$LAST_PID i
	wait_listen "$webui" 30 "$pid" || return 1
	for i in $(seq 50); do qb_api "$api/app/version" > /dev/null 2>&1 && break; sleep 0.2; done

	# Preferences through the API, then read back.
	local prefs; prefs=$(tr -d '\n' < "$HERE/seeders/qbittorrent-prefs.json")
	qb_api --data-urlencode "json=$prefs" "$api/app/setPreferences" > /dev/null || return 1
	qb_api --data-urlencode "json={\"listen_port\":$((port + 5))}" "$api/app/setPreferences" > /dev/null
	sleep 0.5
	qb_api --data-urlencode "json={\"listen_port\":$port}" "$api/app/setPreferences" > /dev/null
	qb_api "$api/app/preferences" > "$work/preferences.json" || return 1
	"$PY" - "$HERE/seeders/qbittorrent-prefs.json" "$work/preferences.json" <<'PYEOF' || return 1
import json, sys
want = json.load(open(sys.argv[1])); got = json.load(open(sys.argv[2]))
bad = [(k, v, got.get(k)) for k, v in want.items() if got.get(k) != v]
for k, v, g in bad:
    print("qbittorrent: preference %s is %r, wanted %r" % (k, g, v), file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
	QB_LIBTORRENT=$(qb_api "$api/app/buildInfo" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["libtorrent"])')
	echo "$QB_LIBTORRENT" > "$work/libtorrent-version"

	wait_listen "$port" 10 "$pid" || return 1
	local backlog; backlog=$(ss -Htln "( sport = :$port )" | awk '{print $3; exit}')
	echo "$backlog" > "$work/listen-backlog"
	[ "$backlog" = 4096 ] || log "qbittorrent: listen backlog is $backlog, not 4096"

	qb_api -F "torrents=@$TORRENT" -F "savepath=$DATA_DIR" -F skip_checking=true \
		-F paused=false -F autoTMM=false "$api/torrents/add" > /dev/null || return 1
	local state=
	for i in $(seq 150); do
		state=$(qb_api "$api/torrents/info" 2>/dev/null | "$PY" -c '
import json, sys
t = json.load(sys.stdin)
print("%s %s" % (t[0]["state"], t[0]["progress"]) if t else "none")' 2>/dev/null)
		case $state in uploading\ 1|stalledUP\ 1|forcedUP\ 1) break ;; esac
		sleep 0.2
	done
	case $state in uploading\ 1|stalledUP\ 1|forcedUP\ 1) ;; *) log "qbittorrent: torrent state '$state'"; return 1 ;; esac
	probe_bt "$port" 60 "$pid"
}
