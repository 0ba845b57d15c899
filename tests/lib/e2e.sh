# e2e.sh - what the end-to-end scripts share; source it, do not run it.
#
# Sets $work to a fresh directory removed on exit, $E2E_LIB to this folder
# (tests/lib: the shell and Python helpers of the cases in tests/e2e), and gives:
#   fail MSG...          count a failure and say it as "FAIL: MSG" (the script
#                        goes on, so one run shows every broken check); the one
#                        way a case reports a failed check. The Python helpers
#                        print their failed checks as "FAIL: ..." lines too and
#                        exit 1.
#   show FILE            a captured output, indented, for a failure report
#   sanitizer_clean F..  no sanitizer report or crash text in the files
#   one_line FILE        FILE holds exactly one newline-terminated line
# A script ends with: [ "$fails" -eq 0 ]
# A failure inside a subshell or a background job does not reach this shell's
# $fails: make the job's exit status say it, and count that (see sub() in
# serve_clients.sh).

E2E_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
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
