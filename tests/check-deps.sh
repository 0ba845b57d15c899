#!/usr/bin/env bash
# Fails when an #include crosses the direction drawn in DESIGN.md:
#
#   master -> worker's public header (worker/worker.h) only
#   master, worker -> iocore, conf, proto
#   inside master/, by room:
#     cmd      -> every room (argv to module calls)
#     proc     -> content, announce, tracker, admin, fetch (the loop drives them)
#     fetch    -> content (the leecher: verify state and files)
#     admin    -> content
#     announce -> content          tracker -> (its own room only)
#     content  -> (its own room only)
#   so no room includes cmd, and announce and tracker never include proc
#   bench -> iocore, proto
#   iocore -> liburing only          conf -> inih only
#   proto -> libcrypto only, and no syscall headers (it must stay pure)
#
# Usage: tests/check-deps.sh [TREE]   (default: the current directory)
set -u
tree=${1:-.}
cd "$tree" || exit 2

# Project headers each folder may include, as a regex on the quoted path.
declare -A allow=(
	[proto]='^proto/'
	[conf]='^conf/'
	[iocore]='^iocore/'
	[worker]='^(worker|iocore|conf|proto)/'
	[master/cmd]='^(master|iocore|conf|proto)/|^worker/worker\.h$'
	[master/proc]='^(master/(proc|content|announce|tracker|admin|fetch)|iocore|conf|proto)/|^worker/worker\.h$'
	[master/fetch]='^(master/(fetch|content)|iocore|conf|proto)/'
	[master/admin]='^(master/(admin|content)|iocore|conf|proto)/'
	[master/announce]='^(master/(announce|content)|iocore|conf|proto)/'
	[master/tracker]='^(master/tracker|iocore|conf|proto)/'
	[master/content]='^(master/content|iocore|conf|proto)/'
	[bench]='^(bench|iocore|proto)/'
)
# System headers each folder may not include.
declare -A deny=(
	[proto]='^(liburing|curl/|ini\.h|unistd\.h|fcntl\.h|pthread\.h|dirent\.h|poll\.h|sys/(socket|stat|mman|epoll|ioctl|wait)\.h|sys/syscall\.h|signal\.h|netdb\.h)'
	[conf]='^(liburing|curl/|openssl/)'
	[iocore]='^(curl/|openssl/|ini\.h)'
	[worker]='^(curl/|ini\.h)'
	[master/cmd]='^$'
	[master/proc]='^$'
	[master/admin]='^$'
	[master/announce]='^$'
	[master/tracker]='^$'
	[master/content]='^$'
	[master/fetch]='^$'
	[bench]='^(curl/|ini\.h)'
)

bad=0
# A file straight in master/, outside every room, has no rule: refuse it.
for f in master/*.[ch]; do
	[ -e "$f" ] || continue
	echo "$f: master/ holds rooms only (cmd, proc, content, announce, tracker, admin, fetch)"
	bad=1
done
# A new room needs its own line in the tables above, so its arrows are decided.
for d in master/*/; do
	[ -d "$d" ] || continue
	d=${d%/}
	[ -n "${allow[$d]+x}" ] || { echo "$d/: a room with no rule in tests/check-deps.sh"; bad=1; }
done
for dir in proto conf iocore worker bench master/cmd master/proc master/admin master/announce \
	master/tracker master/content master/fetch; do
	[ -d "$dir" ] || continue
	while IFS= read -r -d '' file; do
		while IFS=: read -r line text; do
			if [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
				inc=${BASH_REMATCH[1]}
				if ! [[ $inc =~ ${allow[$dir]} ]]; then
					echo "$file:$line: includes \"$inc\", which $dir/ may not (see DESIGN.md)"
					bad=1
				fi
			elif [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^\>]+)\> ]]; then
				inc=${BASH_REMATCH[1]}
				if [[ $inc =~ ${deny[$dir]} ]]; then
					echo "$file:$line: includes <$inc>, which $dir/ may not (see DESIGN.md)"
					bad=1
				fi
			fi
		done < <(grep -n '#[[:space:]]*include' "$file")
	done < <(find "$dir" -name '*.[ch]' -print0)
done
if [ $bad -ne 0 ]; then
	echo "check-deps: include direction violated"
	exit 1
fi
echo "check-deps: ok"
