#!/bin/sh
# Build a kernel image with one seeded bug (usage: tools/mutate.sh ID
# OUTDIR [post|pre]): with a mutant of tests/mutation/mutants.txt (the
# default) the post-patch image, or the family's a fourth field names
# (pda, fs); with one of tests/mutation/mutants-pre.txt the 2.6.18
# image.  OUTDIR then holds entry.S, the mutant in place of that image
# (entry-post.elf, entry-pre.elf, entry-pda.elf, ...) and every other
# image unmutated, so ENTRYEMU_IMAGE_DIR=OUTDIR runs anything on it.
#
# It links the mutant with the objects of an existing build; CMake passes
# where they are, and by hand the build directory is ENTRYEMU_BUILD
# (default: build/ in the source tree):
#   ENTRYEMU_ASM_DIR  the assembled kernel objects, one directory per
#                     image (default: $ENTRYEMU_BUILD/asm)
#   ENTRYEMU_IMAGES   the built images (default: $ENTRYEMU_BUILD/share/entryemu)
#   CC                the compiler that assembles entry.S (default: gcc)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
id=${1:?usage: tools/mutate.sh ID OUTDIR}
out=${2:?usage: tools/mutate.sh ID OUTDIR}
target=${3:-post}
case $target in
post) spec=$top/tests/mutation/mutants.txt ;;
pre) spec=$top/tests/mutation/mutants-pre.txt ;;
*) echo "mutate.sh: target '$target': post or pre" >&2; exit 2 ;;
esac
script=$(awk -F ' :: ' -v id="$id" '$1 == id { print $3 }' "$spec")
[ -n "$script" ] || { echo "mutate.sh: no mutant '$id' in $spec" >&2; exit 2; }
cfg=$(awk -F ' :: ' -v id="$id" '$1 == id { print $4 }' "$spec")
cfg=${cfg:-$target}
case $cfg in post|pre|pda|fs) ;; *) echo "mutate.sh: mutant '$id': family '$cfg' (post, pda, fs)" >&2; exit 2;; esac
build=${ENTRYEMU_BUILD:-$top/build}
gen=${ENTRYEMU_ASM_DIR:-$build/asm}/entry-$cfg
imgs=${ENTRYEMU_IMAGES:-$build/share/entryemu}
[ -f "$gen/callouts.o" ] ||
	{ echo "mutate.sh: no $gen/callouts.o: build entryemu first (or set ENTRYEMU_BUILD)" >&2; exit 2; }
mkdir -p "$out"
sed -e "$script" "$top/asm/entry.S" > "$out/entry.S"
if cmp -s "$top/asm/entry.S" "$out/entry.S"; then
	echo "mutate.sh: mutant '$id' changes nothing: its sed script no longer applies" >&2
	exit 2
fi
cc=${CC:-gcc}
# clang's integrated assembler takes no -Wa,--32: GNU as assembles, as
# for the bundled images (cmake/KernelImage.cmake)
case $("$cc" --version 2>/dev/null) in *clang*) asflags=-no-integrated-as ;; *) asflags= ;; esac
# shellcheck disable=SC2086
"$cc" $asflags -m32 -c -D__ASSEMBLY__ -include "$top/asm/config-$cfg.h" -I"$gen" \
	-I"$top/asm/include" -I"$top/asm" -Wa,--32 -o "$out/entry.o" "$out/entry.S"
# every image unmutated, then the mutant over its family's
cp "$imgs"/entry-*.elf "$out/"
ld -m elf_i386 -T "$top/asm/kernel.lds" -o "$out/entry-$cfg.elf" "$out/entry.o" \
	"$gen/process.o" "$gen/callouts.o" "$gen/layout.o" "$gen/percpu.o" "$gen/vsyscall.o"
