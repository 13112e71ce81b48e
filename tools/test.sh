#!/bin/sh
# Set up, build and pass the tests: the CMocka suites and every scenario
# under ctest, then the same suites built with AddressSanitizer and UBSan,
# then the suites under valgrind's memcheck.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc)

tools/setup.sh build
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== sanitizers (ASan + UBSan) =="
tools/setup.sh build-asan -DENTRYEMU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --test-dir build-asan --output-on-failure -j"$jobs" -E "mutation|consumer"

# memcheck: every suite again under valgrind; an invalid access or a
# definite leak fails (exit 99), and so does any failing test.
echo "== valgrind =="
memcheck() {
	rc=0
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$@" >/tmp/entryemu-valgrind.$$ 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -40 /tmp/entryemu-valgrind.$$
		echo "valgrind: $* failed (exit $rc)"
		exit 1
	fi
	rm -f /tmp/entryemu-valgrind.$$
}
for t in build/bin/test_*; do
	memcheck "$t"
done
memcheck build/bin/entryemu replay
echo "valgrind: clean"
