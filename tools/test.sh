#!/bin/sh
# Set up, build and pass the tests: the CMocka suites and every scenario
# under ctest, then the same suites built with AddressSanitizer and UBSan,
# then the suites under valgrind's memcheck.
# The builds go to ENTRYEMU_BUILD (default: build/ in the source tree)
# and ENTRYEMU_BUILD_ASAN (default: the same with -asan appended).
set -eu
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(abs "${ENTRYEMU_BUILD:-$top/build}")
asan=$(abs "${ENTRYEMU_BUILD_ASAN:-$build-asan}")
cd "$top"
jobs=$(nproc)

tools/setup.sh "$build"
ctest --test-dir "$build" --output-on-failure -j"$jobs"

echo "== sanitizers (ASan + UBSan) =="
tools/setup.sh "$asan" -DENTRYEMU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --test-dir "$asan" --output-on-failure -j"$jobs" -E "mutation|consumer"

# memcheck: every suite again under valgrind; an invalid access or a
# definite leak fails (exit 99), and so does any failing test.
echo "== valgrind =="
log=$(mktemp)
trap 'rm -f "$log"' EXIT
memcheck() {
	rc=0
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -40 "$log"
		echo "valgrind: $* failed (exit $rc)"
		exit 1
	fi
}
for t in "$build"/bin/test_*; do
	memcheck "$t"
done
memcheck "$build/bin/entryemu" replay
echo "valgrind: clean"
