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
	ctest --test-dir build-asan --output-on-failure -j"$jobs"

echo "== valgrind =="
for t in build/bin/test_*; do
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$t" >/dev/null
done
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	build/bin/entryemu replay >/dev/null
echo "valgrind: clean"
