#!/bin/sh
# Mutation of the CPU model: every mutant of tests/mutation/model-mutants.txt
# seeds one bug into one source file of src/cpu/; the suites that exercise
# the model must catch it.  For each mutant only that file is recompiled;
# it is linked with the build's other library objects into a private
# libentryemu.so.1, which the suites load first through LD_LIBRARY_PATH:
#   test_deliver_model (relinked, for deliver_model.c and desc.c mutants),
#   test_insn_size (relinked, for insn_size.c mutants),
#   test_delivery, test_kernel_faults, test_reset, test_syscall, test_tsc,
#   test_code_readonly, test_cs_limit and
#   `entryemu replay` of every bundled scenario (through a CLI linked
#   against the shared library).
# A mutant is killed when one of them fails.  Prints one line per mutant
# and "mutants killed: K/N"; exits 1 unless every mutant is killed (and
# there are at least 20).  The unmutated relink must pass first.
#
# CMake passes where the build's products are (tests/CMakeLists.txt):
#   MODEL_MUT_OBJECTS   the shared library's object files, ':'-separated
#   MODEL_MUT_CLI       entryemu linked against libentryemu.so.1
#   MODEL_MUT_TEST_BIN  the directory of test_delivery and test_kernel_faults
#   ENTRYEMU_IMAGES     the built kernel images
#   CC                  the C compiler
#   MUTATION_DIR        the work directory (default: a fresh temporary one,
#                       removed when every mutant is killed)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
spec=$top/tests/mutation/model-mutants.txt
: "${CC:=cc}"
CFLAGS="-std=gnu11 -O1 -fPIC -fvisibility=hidden -w -I$top/src -I$top/include $(pkg-config --cflags capstone unicorn)"
LIBS="$(pkg-config --libs unicorn capstone libelf libdw) -lpthread -ldl -lm"
CMOCKA="$(pkg-config --cflags --libs cmocka)"

field() {	# field N of mutant ID
	awk -F ' :: ' -v id="$1" -v n="$2" '!/^#/ && $1 == id { print $n }' "$spec"
}

obj_of() {	# the library object built from src file $1
	base=$(basename "$1")
	echo "$MODEL_MUT_OBJECTS" | tr ':' '\n' | grep -E "/$(dirname "$1")/$base(\.o|\.obj)?$|/${base%.c}\.o$" | head -n 1
}

# Link a private library in $1/lib from the build's objects, with src
# file $2 (may be empty) replaced by object $3.
link_lib() {
	dir=$1 file=$2 repl=$3
	mkdir -p "$dir/lib"
	objs=""
	old=""
	[ -n "$file" ] && old=$(obj_of "$file")
	for o in $(echo "$MODEL_MUT_OBJECTS" | tr ':' ' '); do
		if [ "$o" = "$old" ]; then objs="$objs $repl"; else objs="$objs $o"; fi
	done
	# shellcheck disable=SC2086
	$CC -shared -Wl,-soname,libentryemu.so.1 -o "$dir/lib/libentryemu.so.1" $objs $LIBS
}

# Run the suites against the library in $1/lib; $2: also relink and run
# test_deliver_model with these objects (deliver_model.o desc.o); $3: and
# test_insn_size with this insn_size.o.
# Prints nothing and returns 0 if all pass, else names the suite that failed.
suites() {
	dir=$1 tdm=$2 tis=${3:-}
	export ENTRYEMU_IMAGE_DIR="$ENTRYEMU_IMAGES"
	lp="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	if [ -n "$tdm" ]; then
		# shellcheck disable=SC2086
		$CC -o "$dir/test_deliver_model" "$work/test_deliver_model.o" $tdm $CMOCKA \
			>"$dir/tdm.link.log" 2>&1 || { echo "test_deliver_model (does not link)"; return 1; }
		timeout 60 "$dir/test_deliver_model" >"$dir/test_deliver_model.log" 2>&1 ||
			{ echo test_deliver_model; return 1; }
	fi
	if [ -n "$tis" ]; then
		# shellcheck disable=SC2086
		$CC -o "$dir/test_insn_size" "$work/test_insn_size.o" $tis $CMOCKA \
			$(pkg-config --libs capstone) >"$dir/tis.link.log" 2>&1 ||
			{ echo "test_insn_size (does not link)"; return 1; }
		timeout 60 "$dir/test_insn_size" >"$dir/test_insn_size.log" 2>&1 ||
			{ echo test_insn_size; return 1; }
	fi
	for t in test_delivery test_kernel_faults test_reset test_syscall test_tsc \
		 test_code_readonly test_cs_limit; do
		LD_LIBRARY_PATH=$lp timeout 60 "$MODEL_MUT_TEST_BIN/$t" >"$dir/$t.log" 2>&1 ||
			{ echo "$t"; return 1; }
	done
	LD_LIBRARY_PATH=$lp timeout 120 "$MODEL_MUT_CLI" replay >"$dir/replay.log" 2>&1 ||
		{ echo "entryemu replay ($(grep -E ' (FAIL|ERROR|UNSUPPORTED|OOPS)|: not finished: ' "$dir/replay.log" | head -n 1 | sed -E 's/^entryemu: ([^:]*): not finished: .*/\1 died/' | awk '{print $1, $2}'))"; return 1; }
	return 0
}

tdm_objects() {	# deliver_model.o desc.o, with src file $1 replaced by $2
	a=$(obj_of src/cpu/deliver_model.c) b=$(obj_of src/cpu/desc.c)
	[ "$1" = src/cpu/deliver_model.c ] && a=$2
	[ "$1" = src/cpu/desc.c ] && b=$2
	echo "$a $b"
}

if [ "${1:-}" = --one ]; then	# one mutant: writes its verdict file
	id=$2
	work=$MUTATION_DIR
	d=$work/$id
	mkdir -p "$d"
	file=$(field "$id" 2)
	script=$(field "$id" 4)
	sed -e "$script" "$top/$file" >"$d/$(basename "$file")"
	if cmp -s "$top/$file" "$d/$(basename "$file")"; then
		echo "does not apply: its sed script changes nothing in $file" >"$d.verdict"
		exit 0
	fi
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS -c -o "$d/mutant.o" "$d/$(basename "$file")" >"$d/build.log" 2>&1 ||
	   ! link_lib "$d" "$file" "$d/mutant.o" >>"$d/build.log" 2>&1; then
		echo "does not build (see $d/build.log)" >"$d.verdict"
		exit 0
	fi
	tdm=""
	case $file in src/cpu/deliver_model.c|src/cpu/desc.c) tdm=$(tdm_objects "$file" "$d/mutant.o") ;; esac
	tis=""
	[ "$file" = src/cpu/insn_size.c ] && tis=$d/mutant.o
	if by=$(suites "$d" "$tdm" "$tis"); then
		echo "SURVIVED" >"$d.verdict"
	else
		echo "killed by $by" >"$d.verdict"
	fi
	exit 0
fi

for v in MODEL_MUT_OBJECTS MODEL_MUT_CLI MODEL_MUT_TEST_BIN ENTRYEMU_IMAGES; do
	eval "val=\${$v:-}"
	[ -n "$val" ] || { echo "model-run: $v is not set (ctest sets it; see tests/CMakeLists.txt)"; exit 2; }
done
if [ -n "${MUTATION_DIR:-}" ]; then
	work=$MUTATION_DIR
	rm -rf "$work"
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/entryemu-model-mutants.XXXXXX")
fi
t0=$(date +%s)
# shellcheck disable=SC2086
$CC $CFLAGS -c -o "$work/test_deliver_model.o" "$top/tests/test_deliver_model.c" ||
	{ echo "model-run: cannot compile test_deliver_model.c"; exit 2; }
# shellcheck disable=SC2086
$CC $CFLAGS -c -o "$work/test_insn_size.o" "$top/tests/test_insn_size.c" ||
	{ echo "model-run: cannot compile test_insn_size.c"; exit 2; }
if ! link_lib "$work/baseline" "" "" >"$work/baseline.log" 2>&1; then
	echo "model-run: cannot link the unmutated library; see $work/baseline.log"
	exit 2
fi
if by=$(suites "$work/baseline" "$(tdm_objects "" "")" "$(obj_of src/cpu/insn_size.c)"); then :; else
	echo "model-run: the unmutated library fails $by; see $work/baseline"
	exit 1
fi

ids=$(awk -F ' :: ' '!/^#/ && NF == 4 { print $1 }' "$spec")
echo "$ids" | MUTATION_DIR=$work xargs -P "$(nproc)" -n 1 sh "$0" --one
n=0 k=0
for id in $ids; do
	n=$((n + 1))
	v=$(cat "$work/$id.verdict" 2>/dev/null || echo "not run")
	echo "mutant $id ($(field "$id" 2)): $v"
	case $v in killed*) k=$((k + 1)) ;; esac
done
echo "mutants killed: $k/$n (src/cpu model, $(($(date +%s) - t0)) s)"
if [ "$k" -eq "$n" ] && [ "$n" -ge 20 ]; then
	[ -n "${MUTATION_DIR:-}" ] || rm -rf "$work"
	exit 0
fi
echo "model-run: the mutants' sources and logs are in $work"
exit 1
