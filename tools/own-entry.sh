#!/bin/sh
# Build a kernel image from an entry.S of your own tree (arch/i386/kernel/
# entry.S of 2.6.18-2.6.20, unmodified) against entryemu's kernel-style
# headers, linked with entryemu's callout slots, kernel_thread_helper,
# layout export and vsyscall page.
#
#   tools/own-entry.sh ENTRY.S [pre|post] [OUT.elf]
#
# pre (default) configures the headers for 2.6.18's pt_regs (no xgs);
# post for the seed's.  The objects come from a build of entryemu:
# ENTRYEMU_BUILD names its directory (default: build/ in the source
# tree), or ENTRYEMU_ASM_DIR the directory of its assembled kernel
# objects (default: $ENTRYEMU_BUILD/asm); CC is the compiler (default:
# gcc).  OUT.elf defaults to $ENTRYEMU_BUILD/own/entry-own-CONFIG.elf.
# Run the result with:
#   $ENTRYEMU_BUILD/bin/entryemu replay --image OUT.elf scenarios/...
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
src=${1:?usage: tools/own-entry.sh ENTRY.S [pre|post] [OUT.elf]}
cfg=${2:-pre}
build=${ENTRYEMU_BUILD:-$top/build}
out=${3:-$build/own/entry-own-$cfg.elf}
case $cfg in pre|post) ;; *) echo "own-entry.sh: configuration is pre or post" >&2; exit 2;; esac
[ -f "$src" ] || { echo "own-entry.sh: $src: no such file" >&2; exit 2; }
gen=${ENTRYEMU_ASM_DIR:-$build/asm}/entry-$cfg
[ -f "$gen/callouts.o" ] ||
	{ echo "own-entry.sh: no $gen/callouts.o: build entryemu first (tools/setup.sh), or set ENTRYEMU_BUILD" >&2; exit 2; }

# A copy of its own, so that its #include "syscall_table.S" and
# "irq_vectors.h" find entryemu's, not the kernel tree's neighbours.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src" "$tmp/entry.S"
"${CC:-gcc}" -m32 -c -D__ASSEMBLY__ -include "$top/asm/config-$cfg.h" -I"$gen" \
	-I"$top/asm/include" -Wa,--32 -o "$tmp/entry.o" "$tmp/entry.S"
mkdir -p "$(dirname "$out")"
ld -m elf_i386 -T "$top/asm/kernel.lds" -o "$out" "$tmp/entry.o" \
	"$gen/process.o" "$gen/callouts.o" "$gen/layout.o" "$gen/vsyscall.o"
echo "$out"
