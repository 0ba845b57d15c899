# e2e.sh - what the end-to-end scripts share; source it, do not run it.
#
# Sets $work to a fresh directory removed on exit, and gives:
#   fail MSG...          count a failure and say it (the script goes on)
#   show FILE            a captured output, indented, for a failure report
#   sanitizer_clean F..  no sanitizer report or crash text in the files
#   one_line FILE        FILE holds exactly one newline-terminated line
# A script ends with: [ "$fails" -eq 0 ]

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fails=0
fail() {
	fails=$((fails + 1))
	echo "FAIL: $*"
}

show() {
	sed -e 's/^/    | /' "$1" | head -n 20
}

sanitizer_clean() {
	! grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error|Segmentation fault|core dumped' "$@"
}

one_line() {
	[ -s "$1" ] && [ "$(wc -l <"$1")" -eq 1 ] && [ -z "$(tail -c 1 "$1" | tr -d '\n')" ]
}
