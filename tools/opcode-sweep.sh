#!/bin/sh
# Run all 256 values of one instruction byte on the library and on
# qemu-system-i386 in lockstep (entryemu diff), and list the values where
# the two disagree: a second opinion on the instructions no scenario was
# written for.
#
#   tools/opcode-sweep.sh [-k] [-m MODE] BYTES [MODRM]
#
# BYTES   the bytes before the swept one, in hex, comma-separated: "0f",
#         "66,0f", "0f,71"; "" for the one-byte opcode map.
# MODRM   with it, the swept byte is an opcode and MODRM (hex) follows it:
#         00 gives a memory operand through %eax, c0 register operands.
#         Without it, the swept byte is the ModRM after BYTES.
# -m MODE where the instruction runs:
#         flat    32-bit code at CPL 3 (the default);
#         step    the same with EFLAGS.TF set by a POPF just before it
#                 (a single-step trap after it);
#         down    the same with EFLAGS.DF set (string instructions go down);
#         code16  a 16-bit code segment (GDT entry 6, base 0x08048000);
#         vm86    virtual-8086 mode, at 0x1000:0000.
# -k      keep the scenarios (their directory is printed).
#
# Each run loads the general registers with addresses in the user's data
# page (offsets in vm86 mode), runs the instruction with six zero bytes
# after it (for a displacement or an immediate), two NOPs, then a load
# from an address where nothing is mapped: every instruction that runs on
# ends in a #PF, whose frame shows both machines' registers.  Prints
# entryemu diff's summary, then one line per value that diverges beyond
# docs/known-departures.txt, with the first divergence.  Expect some that
# are not the library's to fix: QEMU's own departures from the SDM,
# RDTSC's values, and instructions the two CPU models do not share
# (docs/oracle.md, "Sweeping opcodes").
#
# ENTRYEMU names the entryemu to run; else $ENTRYEMU_BUILD/bin/entryemu
# (ENTRYEMU_BUILD: default build/ in this tree, as for the other tools),
# else the one on PATH.  Exit status: entryemu diff's (0 when every
# divergence is a known departure, 1 when one is not), 2 for bad
# arguments.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${ENTRYEMU:-}" ]; then
	ENTRYEMU=${ENTRYEMU_BUILD:-$top/build}/bin/entryemu
	[ -x "$ENTRYEMU" ] || ENTRYEMU=$(command -v entryemu || echo "$ENTRYEMU")
fi
usage() {
	echo "usage: tools/opcode-sweep.sh [-k] [-m flat|step|down|code16|vm86] BYTES [MODRM]" >&2
	echo "       (e.g. \`0f 00', or \`0f,71')" >&2
	exit 2
}
keep=0
mode=flat
while [ $# -gt 0 ]; do
	case $1 in
	-k) keep=1; shift ;;
	-m) [ $# -ge 2 ] || usage; mode=$2; shift 2 ;;
	-*) [ "$1" = "-" ] && break; echo "tools/opcode-sweep.sh: unknown option \`$1'" >&2; usage ;;
	*) break ;;
	esac
done
case $mode in
flat | step | down | code16 | vm86) ;;
*) echo "tools/opcode-sweep.sh: -m: \`$mode' is none of flat, step, down, code16, vm86" >&2; exit 2 ;;
esac
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	usage
fi
bytes=$1
modrm=${2:-}
hexbyte() {	# 0x.. from one or two hex digits, or nothing
	case $1 in
	[0-9a-fA-F] | [0-9a-fA-F][0-9a-fA-F]) printf '0x%s' "$1" ;;
	*) return 1 ;;
	esac
}
prefix=""
if [ -n "$bytes" ]; then
	old_ifs=$IFS
	IFS=,
	for b in $bytes; do
		h=$(hexbyte "$b") || { IFS=$old_ifs; echo "tools/opcode-sweep.sh: BYTES: \`$b' is not a hex byte" >&2; exit 2; }
		prefix="$prefix$h, "
	done
	IFS=$old_ifs
fi
if [ -n "$modrm" ]; then
	m=$(hexbyte "$modrm") || { echo "tools/opcode-sweep.sh: MODRM: \`$modrm' is not a hex byte" >&2; exit 2; }
fi
[ -x "$ENTRYEMU" ] || { echo "tools/opcode-sweep.sh: $ENTRYEMU: not built (set ENTRYEMU or ENTRYEMU_BUILD)" >&2; exit 2; }

# What comes before the instruction, and after it, in each mode.
case $mode in
vm86)
	head='vm86: 1
user: {ds: 0x1000, es: 0x1000, fs: 0x1000, gs: 0x1000, eax: 0x100, ebx: 0x200, ecx: 0x300, edx: 0x400, esi: 0x500, edi: 0x600}
code: |
  .code16'
	tail='  movw $0x3000, %bx
  movw %bx, %ds
  movw 0, %ax'
	;;
*)
	head='code: |
  movl $0x08060000, %eax
  movl $0x08060100, %ebx
  movl $0x08060200, %ecx
  movl $0x08060300, %edx
  movl $0x08060400, %esi
  movl $0x08060500, %edi'
	case $mode in
	step) head="$head
  pushfl
  orl \$0x100, (%esp)
  popfl" ;;
	down) head="$head
  std" ;;
	code16) head="gdt:
  - {entry: 6, lo: 0x8000ffff, hi: 0x0800fa04}
$head
  ljmp \$0x33, \$(1f - 0x08048000)
  .code16
  1:" ;;
	esac
	tail='  movl 0x20000000, %ecx'
	;;
esac

dir=$(mktemp -d "${TMPDIR:-/tmp}/opcode-sweep.XXXXXX") || exit 2
[ $keep = 1 ] || trap 'rm -rf "$dir"' EXIT
i=0
while [ $i -lt 256 ]; do
	x=$(printf '%02x' $i)
	if [ -n "$modrm" ]; then
		insn="${prefix}0x$x, $m"
	else
		insn="${prefix}0x$x"
	fi
	cat >"$dir/sweep-$x.yaml" <<EOF
name: sweep-$x
description: "byte $x of an opcode sweep ($mode)"
image: [post]
$head
  .byte $insn, 0, 0, 0, 0, 0, 0, 0x90, 0x90
$tail
expect:
  outcome: killed
EOF
	i=$((i + 1))
done
"$ENTRYEMU" diff "$dir"/sweep-*.yaml >"$dir/diff.out" 2>&1
rc=$?
grep '^diff:' "$dir/diff.out"
awk '/ DIVERGES / { name = $1; getline; what = $0; getline; a = $0; getline; b = $0;
		    gsub(/  +/, " ", what); gsub(/  +/, " ", a); gsub(/  +/, " ", b);
		    print name ":" what " |" a " |" b }' "$dir/diff.out"
[ $keep = 1 ] && echo "scenarios and entryemu diff's output: $dir"
exit $rc
