#!/bin/sh
# Set up, build and pass the tests: the CMocka suites and every scenario
# under ctest, then the same suites built with AddressSanitizer and UBSan,
# then the suites under valgrind's memcheck, then the libFuzzer targets
# for 60 s each (fuzz/README.md; ENTRYEMU_SKIP_FUZZ=1 skips them locally,
# CI runs them).
# The builds go to ENTRYEMU_BUILD (default: build/ in the source tree),
# ENTRYEMU_BUILD_ASAN and ENTRYEMU_BUILD_FUZZ (default: the same with
# -asan and -fuzz appended).
set -eu
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(abs "${ENTRYEMU_BUILD:-$top/build}")
asan=$(abs "${ENTRYEMU_BUILD_ASAN:-$build-asan}")
fuzz=$(abs "${ENTRYEMU_BUILD_FUZZ:-$build-fuzz}")
cd "$top"
jobs=$(nproc)

tools/setup.sh "$build"
ctest --test-dir "$build" --output-on-failure -j"$jobs"

echo "== sanitizers (ASan + UBSan) =="
tools/setup.sh "$asan" -DENTRYEMU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
LSAN_OPTIONS=suppressions="$top/tests/leaks/unicorn.lsan" \
	ctest --test-dir "$asan" --output-on-failure -j"$jobs" -E "mutation|consumer"

# memcheck: every suite again under valgrind; an invalid access or a
# definite leak fails (exit 99), and so does any failing test.  The one
# leak of Unicorn's own that the tests reach is suppressed, here and for
# LeakSanitizer above (tests/leaks/).
echo "== valgrind =="
log=$(mktemp)
trap 'rm -f "$log"' EXIT
memcheck() {
	rc=0
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--suppressions="$top/tests/leaks/unicorn.supp" "$@" >"$log" 2>&1 || rc=$?
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

# fuzz: fuzz_scenario and fuzz_image (ASan + UBSan, clang) for a bounded
# time, both at once, one process each (two cores).  A crash, a leak, an
# input slower than 1 s or more than 2 GiB fails; the input is left in
# $fuzz/fuzz/artifacts/ (minimise it, then add it to fuzz/corpus/scenario/
# or to fuzz/image-seeds.sh).
fuzz_stage() {
	echo "== fuzz (libFuzzer, ASan + UBSan) =="
	# clang and libFuzzer's runtime, if missing (the normal build is up to date)
	ENTRYEMU_FUZZ=1 tools/setup.sh "$build"
	cmake -S . -B "$fuzz" -DENTRYEMU_FUZZ=ON -DCMAKE_C_COMPILER=clang >/dev/null
	cmake --build "$fuzz" -j"$jobs" --target fuzz_scenario fuzz_image fuzz_entry
	secs=${ENTRYEMU_FUZZ_SECONDS:-60}
	work=$fuzz/fuzz
	rm -rf "$work/work" "$work/artifacts"
	mkdir -p "$work/work/scenario" "$work/work/image" "$work/artifacts"
	fuzzrun scenario -dict=fuzz/scenario.dict "$work/work/scenario" fuzz/corpus/scenario &
	p1=$!
	# fuzz_image explores from its seeds (every input found so far among
	# them) the same way; its long runs are made by hand (fuzz/README.md).
	fuzzrun image "$work/work/image" "$work/seeds/image" &
	p2=$!
	fuzz_wait scenario image
	# fuzz_entry does not run for a time here (what it finds in a minute
	# depends on the clock: fuzz/README.md), but every input of its
	# corpus, each a bug once found and fixed, runs once: a find fails.
	if ! ENTRYEMU_FUZZ_OUT="$work/entry-finds" "$fuzz/bin/fuzz_entry" -detect_leaks=0 \
		fuzz/corpus/entry/* >"$work/entry.log" 2>&1; then
		tail -40 "$work/entry.log"
		echo "fuzz: fuzz_entry fails on an input of fuzz/corpus/entry"
		exit 1
	fi
	echo "fuzz_entry: fuzz/corpus/entry clean ($(ls fuzz/corpus/entry | wc -l) inputs)"
	echo "fuzz: clean"
}
# fuzz_wait RUN1 RUN2: wait for the two runs started last ($p1, $p2),
# print their rates, and end the script if either failed
fuzz_wait() {
	rc1=0 rc2=0
	wait "$p1" || rc1=$?
	wait "$p2" || rc2=$?
	for t in "$1" "$2"; do
		grep -h "^stat::\(number_of_executed_units\|average_exec_per_sec\)" \
			"$work/$t.log" | sed "s/^/fuzz_$t: /"
	done
	if [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ]; then
		return 0
	fi
	for t in "$1" "$2"; do
		grep -q "^SUMMARY\|ERROR: libFuzzer" "$work/$t.log" || continue
		tail -60 "$work/$t.log"
	done
	ls -lR "$work/artifacts"
	echo "fuzz: failed ($1 exit $rc1, $2 exit $rc2)"
	exit 1
}
# fuzzrun TARGET ARGS...: one target for $secs, its output in $work/TARGET.log
fuzzrun() {
	t=$1
	shift
	"$fuzz/bin/fuzz_$t" -max_total_time="$secs" -timeout=1 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" \
		"$@" >"$work/$t.log" 2>&1
}
if [ "${ENTRYEMU_SKIP_FUZZ:-0}" = 1 ]; then
	echo "== fuzz: skipped (ENTRYEMU_SKIP_FUZZ=1) =="
else
	fuzz_stage
fi
