#!/bin/sh
# Build a kernel image from an entry.S of your own tree (arch/i386/kernel/
# entry.S of 2.6.18-2.6.23, unmodified) against entryemu's kernel-style
# headers, linked with entryemu's callout slots, layout export, per-CPU
# data, vsyscall page and (if the file has none) kernel_thread_helper.
#
#   tools/own-entry.sh ENTRY.S [CONFIG] [OUT.elf]
#
# The script reads the file to find out which kernel it is:
#   - the register its SAVE_ALL saves and loads with the per-CPU segment
#     (pushl %gs: %gs; pushl %fs: %fs; neither: none);
#   - the espfix flavour (a call to patch_espfix_desc: the 32-bit
#     ESPFIX_SS of 2.6.20 on; setup_x86_bogus_stack: the 16-bit stack);
#   - whether it defines kernel_thread_helper (2.6.19 on; read from the
#     assembled object, so #ifdefs count) and its own argument-less
#     DISABLE_INTERRUPTS (2.6.19);
#   - the CONFIG_ names it tests;
# prints what it found, and picks the configuration (asm/config-CONFIG.h)
# that matches: pre (no per-CPU segment, 16-bit espfix: 2.6.18-2.6.19),
# post (%gs, 16-bit espfix: the seed's kernel), pda (%gs, 32-bit espfix:
# 2.6.20) or fs (%fs, 32-bit espfix: 2.6.21-2.6.23).  CONFIG names one
# of them to override the guess (a file with #ifdefs for several kernels,
# like entryemu's own asm/entry.S, needs it).
#
# Everything the image needs besides the file is assembled here from
# entryemu's asm/ for that configuration; CC is the compiler (default:
# gcc).  OUT.elf defaults to $ENTRYEMU_BUILD/own/entry-own-CONFIG.elf
# (ENTRYEMU_BUILD: default build/ in the source tree).  Run it with:
#   $ENTRYEMU_BUILD/bin/entryemu replay --image OUT.elf scenarios/...
# Exit status 2 on bad input, 1 when the file does not assemble or link.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: tools/own-entry.sh ENTRY.S [pre|post|pda|fs] [OUT.elf]"
src=${1:?$usage}
cfg=
out=
shift
case ${1:-} in
pre|post|pda|fs) cfg=$1; shift;;
esac
[ $# -le 1 ] || { echo "$usage" >&2; exit 2; }
out=${1:-}
[ -f "$src" ] || { echo "own-entry.sh: $src: no such file" >&2; exit 2; }
build=${ENTRYEMU_BUILD:-$top/build}
cc=${CC:-gcc}

# ---- what the file defines -------------------------------------------------
# Comments and strings are not stripped: the kernel's files mention these
# instructions only where they use them.
has() { grep -Eq "$1" "$src"; }
percpu=none
has '^[^#]*pushl?[[:space:]]+%gs' && percpu=gs
has '^[^#]*pushl?[[:space:]]+%fs' && percpu=fs
if has '^[^#]*pushl?[[:space:]]+%gs' && has '^[^#]*pushl?[[:space:]]+%fs'; then
	percpu=both
fi
espfix=none
has 'setup_x86_bogus_stack' && espfix=16
has 'patch_espfix_desc' && espfix=32
has 'setup_x86_bogus_stack' && has 'patch_espfix_desc' && espfix=both
own_irq_ops=no
has '^[[:space:]]*#[[:space:]]*define[[:space:]]+DISABLE_INTERRUPTS[[:space:]]' && own_irq_ops=yes
configs=$(grep -oE 'CONFIG_[A-Z0-9_]+' "$src" | sort -u | tr '\n' ' ')

guess=
case $percpu/$espfix in
none/16) guess=pre;;
gs/16) guess=post;;
gs/32) guess=pda;;
fs/32) guess=fs;;
esac

echo "own-entry.sh: $src"
echo "  per-CPU segment register: $percpu"
echo "  espfix: $(case $espfix in 16) echo '16-bit per-CPU stack (setup_x86_bogus_stack)';;
	32) echo '32-bit ESPFIX_SS with a base (patch_espfix_desc)';;
	*) echo "$espfix";; esac)"
[ $own_irq_ops = no ] || echo "  DISABLE_INTERRUPTS: defined in the file without arguments"
if [ -z "$cfg" ]; then
	[ -n "$guess" ] || {
		echo "own-entry.sh: no entryemu configuration has per-CPU register '$percpu'" \
		     "with espfix '$espfix'; name one: pre, post, pda or fs" >&2
		exit 2
	}
	cfg=$guess
	echo "  configuration: $cfg (asm/config-$cfg.h)"
else
	echo "  configuration: $cfg (asm/config-$cfg.h, as asked${guess:+; the file looks like $guess})"
fi
set_in_cfg=
unset_in_cfg=
for c in $configs; do
	if grep -Eq "^#define[[:space:]]+$c([[:space:]]|\$)" "$top/asm/config-$cfg.h"; then
		set_in_cfg="$set_in_cfg $c"
	else
		unset_in_cfg="$unset_in_cfg $c"
	fi
done
echo "  CONFIG_ names tested, set:${set_in_cfg:- none}"
echo "  CONFIG_ names tested, unset:${unset_in_cfg:- none}"

out=${out:-$build/own/entry-own-$cfg.elf}

# ---- assemble and link ------------------------------------------------------
# A copy of its own, so that its #include "syscall_table.S" and
# "irq_vectors.h" find entryemu's, not the kernel tree's neighbours.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
asm=$top/asm
mkdir -p "$tmp/asm"
# clang's integrated assembler takes no -Wa,--32: GNU as assembles, as
# for the bundled images (cmake/KernelImage.cmake)
case $("$cc" --version 2>/dev/null) in *clang*) asflags=-no-integrated-as ;; *) asflags= ;; esac
# the kernels' TRACE_IRQS_* pushes carry no CFI (asm/irqflags.h)
flags="$asflags -m32 -D__ASSEMBLY__ -DENTRYEMU_TRACE_IRQS_NO_CFI -include $asm/config-$cfg.h -I$tmp -I$asm/include -Wa,--32"
[ $own_irq_ops = no ] || flags="$flags -DENTRYEMU_ENTRY_OWN_IRQ_OPS"
# shellcheck disable=SC2086
"$cc" $asflags -m32 -S -O2 -ffreestanding -include "$asm/config-$cfg.h" -I"$asm/include" \
	-o "$tmp/asm-offsets.s" "$asm/asm-offsets.c"
sh "$asm/gen-asm-offsets.sh" "$tmp/asm-offsets.s" "$tmp/asm/asm-offsets.h"
cp "$src" "$tmp/entry.S"
# shellcheck disable=SC2086
"$cc" -c $flags -o "$tmp/entry.o" "$tmp/entry.S" || {
	echo "own-entry.sh: $src does not assemble against entryemu's headers (configuration $cfg)" >&2
	exit 1
}
objs=
parts="callouts layout percpu vsyscall"
if nm "$tmp/entry.o" | grep -q ' T kernel_thread_helper$'; then
	echo "  kernel_thread_helper: defined in the file"
else
	echo "  kernel_thread_helper: not in the file: entryemu's asm/process.S is linked"
	parts="$parts process"
fi
for part in $parts; do
	# shellcheck disable=SC2086
	"$cc" -c $flags -o "$tmp/$part.o" "$asm/$part.S"
	objs="$objs $tmp/$part.o"
done
mkdir -p "$(dirname "$out")"
# shellcheck disable=SC2086
ld -m elf_i386 -T "$asm/kernel.lds" -o "$out" "$tmp/entry.o" $objs || {
	echo "own-entry.sh: $src does not link with entryemu's objects (configuration $cfg)" >&2
	exit 1
}
echo "$out"
