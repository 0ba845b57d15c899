#!/usr/bin/env bash
# timeout: 240
#
# make install and make deb:
# 1. `make install PREFIX=... SYSCONFDIR=...` into a scratch tree puts the
#    binary, the sample configuration, the unit, the sysusers.d and
#    tmpfiles.d entries and both manual pages in place; a second install
#    keeps an edited configuration; the installed binary runs.
# 2. ringseed.conf(5) names every key `ringseed print-config` prints, and
#    both pages render without a groff warning.
# 3. `systemd-analyze verify` passes on the installed unit, and fails on a
#    unit with a broken ExecStart line (so the check can fail).
# 4. `make deb` builds a .deb that lintian finds no error in; it holds the
#    same files, the configuration as a conffile.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
cd "$work" || exit 1
MK=(make -s -C "$TOP" --no-print-directory SAN=0)

inst=$work/inst
"${MK[@]}" install PREFIX="$inst/usr" SYSCONFDIR="$inst/etc" >"$work/install.out" 2>&1 ||
	{ fail "make install"; show "$work/install.out"; exit 1; }
for f in usr/bin/ringseed etc/ringseed/ringseed.conf usr/lib/systemd/system/ringseed.service \
	usr/lib/sysusers.d/ringseed.conf usr/lib/tmpfiles.d/ringseed.conf \
	usr/share/man/man8/ringseed.8 usr/share/man/man5/ringseed.conf.5; do
	[ -s "$inst/$f" ] || fail "make install: no $f"
done
"$inst/usr/bin/ringseed" --version | grep -q '^ringseed [0-9]' || fail "the installed binary does not run"
"$inst/usr/bin/ringseed" check-config "$inst/etc/ringseed/ringseed.conf" >/dev/null ||
	fail "the installed sample configuration does not check"
grep -q "^ExecStart=$inst/usr/bin/ringseed serve -c $inst/etc/ringseed/ringseed.conf\$" \
	"$inst/usr/lib/systemd/system/ringseed.service" || fail "the unit's ExecStart does not follow PREFIX"
echo "; edited" >>"$inst/etc/ringseed/ringseed.conf"
"${MK[@]}" install PREFIX="$inst/usr" SYSCONFDIR="$inst/etc" >/dev/null 2>&1 || fail "make install again"
tail -n 1 "$inst/etc/ringseed/ringseed.conf" | grep -q '^; edited' || fail "make install replaced an edited configuration"

# --- the manual pages
"$RINGSEED" print-config | sed -n 's/^\([a-z_]*\) =.*/\1/p' | sort -u >"$work/keys"
for k in $(cat "$work/keys"); do
	grep -q "^\.B ${k//_/_}\$" "$inst/usr/share/man/man5/ringseed.conf.5" || fail "ringseed.conf(5) lacks $k"
done
echo "ringseed.conf(5): $(grep -c '^\.TP' "$inst/usr/share/man/man5/ringseed.conf.5") keys"
for p in man8/ringseed.8 man5/ringseed.conf.5; do
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$inst/usr/share/man/$p" >"$work/man.out" 2>"$work/man.err" ||
		fail "man $p exited $?"
	[ -s "$work/man.err" ] && { fail "man $p: warnings"; show "$work/man.err"; }
	[ "$(wc -l <"$work/man.out")" -gt 20 ] || fail "man $p: too short"
done

# --- systemd-analyze verify
unit=$inst/usr/lib/systemd/system/ringseed.service
if command -v systemd-analyze >/dev/null; then
	MANPATH=$inst/usr/share/man systemd-analyze verify "$unit" >"$work/verify.out" 2>&1 ||
		{ fail "systemd-analyze verify"; show "$work/verify.out"; }
	for k in Type=notify ExecReload= NoNewPrivileges=yes ProtectSystem=strict \
		ReadWritePaths=/var/lib/ringseed/state LimitNOFILE= User=ringseed; do
		grep -q "^$k" "$unit" || fail "the unit has no $k"
	done
	mkdir -p "$work/broken"
	sed 's/^ExecStart=/ExecStrat=/' "$unit" >"$work/broken/ringseed.service"
	MANPATH=$inst/usr/share/man systemd-analyze verify "$work/broken/ringseed.service" >/dev/null 2>&1 &&
		fail "systemd-analyze verify passed a unit without ExecStart"
else
	echo "note: systemd-analyze not installed (package systemd): unit not verified"
fi

# --- make deb, lintian
if ! command -v dpkg-deb >/dev/null; then
	echo "note: dpkg-deb not installed: no .deb built"
else
	"${MK[@]}" deb DEB_OUT="$work/deb" >"$work/deb.out" 2>&1 || { fail "make deb"; show "$work/deb.out"; }
	deb=$(ls "$work"/deb/ringseed_*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		fail "make deb made no .deb"
	else
		dpkg-deb -c "$deb" | awk '{print $6}' >"$work/deb.list"
		for f in ./usr/bin/ringseed ./etc/ringseed/ringseed.conf ./lib/systemd/system/ringseed.service \
			./usr/share/man/man8/ringseed.8.gz ./usr/share/man/man5/ringseed.conf.5.gz \
			./usr/share/doc/ringseed/copyright; do
			grep -qx "$f" "$work/deb.list" || fail "the .deb has no $f"
		done
		dpkg-deb -f "$deb" Depends | grep -q liburing || fail "the .deb does not depend on liburing"
		dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/ringseed/ringseed.conf ||
			fail "the configuration is not a conffile"
		if command -v lintian >/dev/null; then
			lintian "$deb" >"$work/lintian.out" 2>&1
			grep -E '^E: ' "$work/lintian.out" && fail "lintian found errors"
			echo "lintian: $(grep -c '^[EW]: ' "$work/lintian.out") errors and warnings"
		else
			echo "note: lintian not installed (tests/install-deps.sh installs it): .deb not checked"
		fi
	fi
fi
[ "$fails" -eq 0 ]
