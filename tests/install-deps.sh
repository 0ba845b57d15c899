#!/usr/bin/env bash
# Installs every Debian package ringseed needs to build and to run its tests.
set -eu
pkgs=(
	build-essential pkg-config bc
	liburing-dev libssl-dev libcurl4-openssl-dev libinih-dev libhttp-parser-dev
	clang libclang-rt-14-dev llvm
	python3 python3-libtorrent transmission-cli aria2 ctorrent rtorrent opentracker nginx-light
	prometheus curl lintian
)
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
