#!/bin/bash -eu
# OSS-Fuzz build of entryemu's three libFuzzer targets (fuzz/README.md).
#
# The OSS-Fuzz conventions: $CC and $CFLAGS (the sanitizer and coverage
# flags), $LIB_FUZZING_ENGINE (what links the engine in), $SRC (the
# checkout is $SRC/entryemu) and $OUT (what the runner gets), $WORK for
# the build tree.  Into $OUT: fuzz_entry, fuzz_scenario, fuzz_image; the
# kernel images they open, in $OUT/entryemu (fuzz/images.h); the shared
# libraries the base runner lacks (Unicorn, Capstone, libelf, libdw,
# libfyaml and theirs), in $OUT/lib, found through the targets' RUNPATH
# $ORIGIN/lib; <target>_seed_corpus.zip, <target>.dict, <target>.options.
#
# By hand, without Docker (the build needs the project's own
# dependencies, tools/setup.sh):
#   CC=clang CFLAGS='-fsanitize=address,undefined -fsanitize=fuzzer-no-link' \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer SRC=/path/above/checkout \
#   OUT=/tmp/out WORK=/tmp/work fuzz/oss-fuzz/build.sh
src=${ENTRYEMU_SRC:-$SRC/entryemu}
build=${WORK:-/tmp}/entryemu-fuzz-build
mkdir -p "$OUT"

# The sanitizers come in $CFLAGS, the engine in $LIB_FUZZING_ENGINE:
# the project adds neither (ENTRYEMU_FUZZ_SANITIZERS empty).  Build type
# None: $CFLAGS' optimisation level stands.
cmake -S "$src" -B "$build" -DENTRYEMU_FUZZ=ON \
	-DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_BUILD_TYPE=None \
	-DENTRYEMU_FUZZ_SANITIZERS= -DENTRYEMU_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
	-DCMAKE_BUILD_RPATH='$ORIGIN/lib'
cmake --build "$build" -j"$(nproc)" --target fuzz_entry fuzz_scenario fuzz_image

targets="fuzz_entry fuzz_scenario fuzz_image"
for t in $targets; do
	cp "$build/bin/$t" "$OUT/"
done

# the kernel images, where fuzz/images.h looks beside the binaries
mkdir -p "$OUT/entryemu"
cp "$build"/share/entryemu/*.elf "$OUT/entryemu/"

# shared libraries outside the C runtime (the base runner has that only)
mkdir -p "$OUT/lib"
for t in $targets; do
	ldd "$OUT/$t" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'
done | sort -u | while read -r lib; do
	case "$(basename "$lib")" in
	libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | ld-linux* | \
	libgcc_s.so* | libstdc++.so*) ;;
	*) cp -L "$lib" "$OUT/lib/" ;;
	esac
done

# seeds: flat zips, as ClusterFuzz unpacks them
zip -q -j "$OUT/fuzz_entry_seed_corpus.zip" "$src"/fuzz/corpus/entry/*
zip -q -j "$OUT/fuzz_scenario_seed_corpus.zip" "$src"/fuzz/corpus/scenario/*
zip -q -j "$OUT/fuzz_image_seed_corpus.zip" "$build"/fuzz/seeds/image/*
cp "$src/fuzz/entry.dict" "$OUT/fuzz_entry.dict"
cp "$src/fuzz/scenario.dict" "$OUT/fuzz_scenario.dict"
cp "$src/fuzz/fuzz_entry.options" "$OUT/fuzz_entry.options"
