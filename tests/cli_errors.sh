#!/bin/sh
# Every fixture under bad/ must make `entryemu replay` exit 2, and every
# one under fail/ exit 1, with the error its "# expect-error:" line names
# (as FILE:LINE:COL: message when it gives a position).
set -u
cli=$1
dir=$(dirname "$0")
failures=0
check() {	# file, wanted exit status
	f=$1 want=$2
	exp=$(sed -n 's/^# expect-error: //p' "$f")
	err=$("$cli" replay "$f" 2>&1 >/dev/null)
	rc=$?
	case "$exp" in
	[0-9]*:[0-9]*:*) needle="$f:$exp" ;;
	*) needle="$exp" ;;
	esac
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $f: exit $rc, expected $want ($err)"
		failures=$((failures + 1))
	elif ! printf '%s\n' "$err" | grep -qF -- "$needle"; then
		echo "FAIL $f: expected '$needle' in: $err"
		failures=$((failures + 1))
	else
		echo "ok   $f: $(printf '%s\n' "$err" | head -1)"
	fi
}
for f in "$dir"/bad/*.yaml; do check "$f" 2; done
for f in "$dir"/fail/*.yaml; do check "$f" 1; done
# options and commands
"$cli" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL unknown command"; failures=$((failures + 1)); }
"$cli" replay --bogus >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL unknown option"; failures=$((failures + 1)); }
"$cli" replay "$dir/bad/missing.yaml" >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL missing file"; failures=$((failures + 1)); }
"$cli" replay --image /dev/null "$dir/../scenarios/getpid.yaml" >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL bad image"; failures=$((failures + 1)); }
"$cli" --help >/dev/null 2>&1 || { echo "FAIL --help"; failures=$((failures + 1)); }
for c in replay trace list coverage disasm bench cost; do
	"$cli" "$c" --help 2>/dev/null | grep -q "^usage: entryemu $c" ||
		{ echo "FAIL $c --help"; failures=$((failures + 1)); }
done
[ "$failures" -eq 0 ] && echo "cli errors: all as expected"
exit "$failures"
