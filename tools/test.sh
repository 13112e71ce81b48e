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
	ctest --test-dir build-asan --output-on-failure -j"$jobs" -E mutation

# memcheck: any invalid access or definite leak fails (exit 99).  Under
# valgrind, Unicorn cannot map a fault inside a translated block back to
# its instruction (its host-PC lookup fails on valgrind's translation), so
# kernel-mode page faults report the block's start: the replay verdicts
# are judged natively above, only memory errors here.
echo "== valgrind =="
memcheck() {
	rc=0
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$@" >/dev/null 2>/tmp/entryemu-valgrind.$$ || rc=$?
	if [ "$rc" -eq 99 ]; then
		cat /tmp/entryemu-valgrind.$$
		echo "valgrind: memory errors in $*"
		exit 1
	fi
	rm -f /tmp/entryemu-valgrind.$$
}
for t in build/bin/test_*; do
	memcheck "$t"
done
memcheck build/bin/entryemu replay
echo "valgrind: clean"
