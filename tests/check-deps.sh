#!/usr/bin/env bash
# Fails when an #include crosses the direction drawn in DESIGN.md:
#
#   master -> worker's public header (worker/worker.h) only
#   master, worker -> iocore, conf, proto
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
	[master]='^(master|iocore|conf|proto)/|^worker/worker\.h$'
	[bench]='^(bench|iocore|proto)/'
)
# System headers each folder may not include.
declare -A deny=(
	[proto]='^(liburing|curl/|ini\.h|unistd\.h|fcntl\.h|pthread\.h|dirent\.h|poll\.h|sys/(socket|stat|mman|epoll|ioctl|wait)\.h|sys/syscall\.h|signal\.h|netdb\.h)'
	[conf]='^(liburing|curl/|openssl/)'
	[iocore]='^(curl/|openssl/|ini\.h)'
	[worker]='^(curl/|ini\.h)'
	[master]='^$'
	[bench]='^(curl/|ini\.h)'
)

bad=0
for dir in proto conf iocore worker master bench; do
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
