#!/usr/bin/env bash
# timeout: 30
#
# check-config and print-config through the real binary: the sample is valid,
# a bad file gets every error as FILE:LINE: KEY: REASON, print-config's output
# loads back to the same values, --help works, a missing file is one line.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:?TOP must name the repository root}"
. "$TOP/tests/lib/e2e.sh"
cd "$work" || exit 1

# run EXPECTED_STATUS CMD...: runs CMD with stdout in ./out and stderr in ./err.
run() {
	local want=$1 rc=0
	shift
	"$@" >out 2>err || rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "'$*' exited $rc, expected $want"
		echo "  stdout:"
		show out
		echo "  stderr:"
		show err
	fi
}

echo "the sample is valid"
run 0 "$RINGSEED" check-config "$TOP/conf/ringseed.conf"
[ "$(cat out)" = "$TOP/conf/ringseed.conf: ok" ] || fail "stdout: $(cat out)"
[ ! -s err ] || fail "stderr not empty: $(cat err)"

echo "a bad file: every error, with its line, and nothing on stdout"
cat >bad.conf <<'EOF'
[core]
workers = 999
log_level = loud
threads = 4

[bogus]
x = 1

[net]
listen = 1.2.3.4
listen = [::]:65536
this line is wrong
[core]
workers = 2
[paths]
data_dir = var/data
EOF
cat >want <<'EOF'
bad.conf:2: core.workers: 999 is out of range 1..256
bad.conf:3: core.log_level: 'loud' is not one of debug, info, notice, warning, error
bad.conf:4: core.threads: unknown key
bad.conf:6: [bogus]: unknown section
bad.conf:10: net.listen: '1.2.3.4' lacks :PORT
bad.conf:11: net.listen: '[::]:65536': port 65536 is out of range 1..65535
bad.conf:12: syntax error
bad.conf:14: core.workers: already set on line 2
bad.conf:16: paths.data_dir: 'var/data' is not an absolute path
EOF
run 1 "$RINGSEED" check-config bad.conf
diff -u want err || fail "check-config bad.conf: stderr differs"
[ ! -s out ] || fail "stdout not empty: $(cat out)"
run 1 "$RINGSEED" print-config -c bad.conf
diff -u want err || fail "print-config -c bad.conf: stderr differs"
[ ! -s out ] || fail "print-config printed a configuration it rejected"

echo "print-config round-trips through check-config"
run 0 "$RINGSEED" print-config
mv out defaults.conf
grep -qx 'workers = auto' defaults.conf || fail "no 'workers = auto' in print-config"
grep -qx 'listen = \[::\]:6881' defaults.conf || fail "no default IPv6 listen"
run 0 "$RINGSEED" check-config defaults.conf
[ "$(cat out)" = "defaults.conf: ok" ] || fail "stdout: $(cat out)"
run 0 "$RINGSEED" print-config --config defaults.conf
cmp -s defaults.conf out || fail "print-config -c of its own output differs"

cat >custom.conf <<'EOF'
[core]
  workers = 3   ; indentation and inline comments are fine
log_level = debug
[net]
listen = 127.0.0.1:7000
listen = [::1]:7001
[paths]
state_dir = /srv/ringseed state
EOF
run 0 "$RINGSEED" print-config -c custom.conf
mv out custom-printed.conf
for line in 'workers = 3' 'log_level = debug' 'listen = 127.0.0.1:7000' 'listen = [::1]:7001' \
	'state_dir = /srv/ringseed state' 'data_dir = /var/lib/ringseed/data'; do
	grep -qxF "$line" custom-printed.conf || fail "print-config -c custom.conf lacks '$line'"
done
[ "$(awk '/^\[/ { net = $0 == "[net]" } net && /^listen/' custom-printed.conf | wc -l)" -eq 2 ] ||
	fail "listen did not replace the defaults"
run 0 "$RINGSEED" check-config custom-printed.conf
run 0 "$RINGSEED" print-config -c custom-printed.conf
cmp -s custom-printed.conf out || fail "printed custom configuration does not round-trip"

echo "--help and usage errors"
for cmd in check-config print-config; do
	for opt in --help -h; do
		run 0 "$RINGSEED" "$cmd" "$opt"
		grep -q "^usage: ringseed $cmd" out || fail "$cmd $opt: no usage on stdout"
	done
done
run 2 "$RINGSEED" check-config
run 2 "$RINGSEED" check-config a.conf b.conf
run 2 "$RINGSEED" check-config --bogus bad.conf
run 2 "$RINGSEED" print-config extra
run 2 "$RINGSEED" print-config -c
grep -q "usage: ringseed print-config" err || fail "no usage on stderr for a usage error"

echo "a missing file is one clear line"
run 1 "$RINGSEED" check-config missing.conf
[ "$(cat err)" = "missing.conf: No such file or directory" ] || fail "stderr: $(cat err)"
[ ! -s out ] || fail "stdout not empty: $(cat out)"
run 1 "$RINGSEED" print-config -c missing.conf
[ "$(cat err)" = "missing.conf: No such file or directory" ] || fail "stderr: $(cat err)"
run 1 "$RINGSEED" check-config "$work"
[ "$(cat err)" = "$work: Is a directory" ] || fail "stderr: $(cat err)"

echo "config: $fails failures"
[ "$fails" -eq 0 ]
