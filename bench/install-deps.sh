#!/usr/bin/env bash
# Installs the seeders and tools `make bench` compares ringseed against
# (bench/compare/run.sh), non-interactively, and makes sure none of them is
# left running as a system service: the harness starts its own instances on
# 127.0.0.1 with configs under build/bench/.
set -eu
pkgs=(qbittorrent-nox transmission-daemon transmission-cli nginx-light gnuplot-nox rtorrent aria2 python3-libtorrent curl iproute2 fio)
services=(transmission-daemon nginx)

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive

# Keep the packages' postinst scripts from starting their services: a
# policy-rc.d that answers 101 ("action forbidden") for the duration of the
# install, unless the machine already has one.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	own_policy=1
fi
cleanup() { [ "$own_policy" = 1 ] && $sudo rm -f "$policy"; return 0; }
trap cleanup EXIT

$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${pkgs[@]}"

# Whatever the init system, stop and disable the system instances.
for s in "${services[@]}"; do
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		$sudo systemctl disable --now "$s" >/dev/null 2>&1 || true
	else
		if [ -x "/etc/init.d/$s" ]; then
			$sudo "/etc/init.d/$s" stop >/dev/null 2>&1 || true
			command -v update-rc.d >/dev/null && $sudo update-rc.d "$s" disable >/dev/null 2>&1 || true
		fi
	fi
done
# An instance started some other way (e.g. by a postinst without policy-rc.d).
for pidfile in /run/nginx.pid /run/transmission-daemon.pid /var/run/transmission-daemon.pid; do
	if [ -s "$pidfile" ]; then
		pid=$(cat "$pidfile")
		kill -0 "$pid" 2>/dev/null && $sudo kill "$pid" 2>/dev/null || true
	fi
done
echo "bench deps installed: ${pkgs[*]}"
