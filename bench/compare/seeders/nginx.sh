# nginx (nginx-light): sendfile, 2 workers (one per core), keep-alive
# connections that never run out of requests, the file's descriptor cached,
# backlog 4096. See seeders/nginx.conf.in. Measured with ringseed-bench's
# HTTP mode (pipelined Range requests).

nginx_version() { nginx -v 2>&1 | sed 's#nginx version: nginx/#nginx #'; }

# nginx_start WORK PORT
nginx_start() {
	local work=$1 port=$2
	mkdir -p "$work/tmp"
	NG_WORK=$work NG_PORT=$port NG_DATA=$DATA_DIR NG_WORKERS=$WORKERS \
		SUBST_VARS="NG_WORK NG_PORT NG_DATA NG_WORKERS" subst "$HERE/seeders/nginx.conf.in" "$work/nginx.conf"
	launch "$work" nginx -p "$work" -c "$work/nginx.conf" -e "$work/error.log"
	local pid=$LAST_PID i
	wait_listen "$port" 30 "$pid" || return 1
	for i in $(seq 50); do
		[ "$(curl -s --max-time 5 -r 0-16383 "http://127.0.0.1:$port/$DATA_NAME" | wc -c)" = 16384 ] && return 0
		sleep 0.2
	done
	return 1
}
