#!/bin/sh
# Turn the "->NAME value expr" markers of the compiled asm-offsets.c into
# a header of #defines (usage: gen-asm-offsets.sh IN.s OUT.h).
set -eu
in=$1 out=$2
{
	echo "/* Generated from asm-offsets.c by gen-asm-offsets.sh: do not edit. */"
	echo "#ifndef _ENTRYEMU_ASM_OFFSETS_H"
	echo "#define _ENTRYEMU_ASM_OFFSETS_H"
	sed -n -e 's/^[[:space:]]*->\([A-Za-z_][A-Za-z0-9_]*\) [$]\{0,1\}\(-\{0,1\}[0-9][0-9]*\) \(.*\)$/#define \1 \2 \/* \3 *\//p' \
	       -e 's/^[[:space:]]*->$//p' "$in"
	echo "#endif"
} > "$out.tmp"
mv "$out.tmp" "$out"
