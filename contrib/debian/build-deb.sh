#!/usr/bin/env bash
# build-deb.sh ROOT VERSION OUTDIR: turns a `make install DESTDIR=ROOT
# PREFIX=/usr` tree into OUTDIR/ringseed_VERSION_ARCH.deb with dpkg-deb:
# the binary stripped, manual pages and changelog compressed, the
# maintainer scripts and conffiles added, dependencies from dpkg-shlibdeps.
set -eu
root=$1 version=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
arch=$(dpkg --print-architecture)

strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/ringseed"
find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +
doc=$root/usr/share/doc/ringseed
install -d -m 0755 "$doc"
install -m 0644 "$here/copyright" "$doc/copyright"
printf 'ringseed (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- ringseed maintainers <maintainers@ringseed.example.org>  %s\n' \
	"$version" "$version" "$(date -R -d @"${SOURCE_DATE_EPOCH:-0}")" | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# dpkg-shlibdeps wants a debian/control next to it
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/debian"
printf 'Source: ringseed\n\nPackage: ringseed\nArchitecture: any\n' >"$tmp/debian/control"
deps=$(cd "$tmp" && dpkg-shlibdeps -O "$root/usr/bin/ringseed" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$deps" ] || { echo "build-deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d -m 0755 "$root/DEBIAN"
size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$deps/" \
	"$here/control.in" >"$root/DEBIAN/control"
install -m 0755 "$here/postinst" "$here/postrm" "$root/DEBIAN/"
echo /etc/ringseed/ringseed.conf >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' |
	sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control" "$root/DEBIAN/conffiles"
find "$root" -path "$root/DEBIAN" -prune -o -type d -exec chmod 0755 {} +
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out/ringseed_${version}_${arch}.deb" >/dev/null
echo "$out/ringseed_${version}_${arch}.deb"
