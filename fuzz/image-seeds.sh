#!/bin/sh
# Writes the image fuzz target's seeds into DIR, all made from the built
# images in IMAGEDIR (no kernel binary is committed): each bundled image,
# a stripped copy, the crafted images of tests/hostile/craft-images.sh,
# and the inputs fuzzing found (fuzz/README.md), each rebuilt here as
# the few bytes it changes in entry-post.elf, found by symbol or field.
# With OPENDIR, it also writes there the inputs of bugs still open: a
# seed that fails the target would fail every fuzz run (fuzz/README.md).
# Usage: image-seeds.sh IMAGEDIR DIR [OPENDIR]
set -eu
imgdir=$1 dir=$2 open=${3:-}
top=$(cd "$(dirname "$0")/.." && pwd)
img=$imgdir/entry-post.elf
mkdir -p "$dir"
cp "$imgdir"/entry-*.elf "$dir/"
strip --strip-all -o "$dir/entry-post-stripped.elf" "$img"
command -v readelf >/dev/null 2>&1 || exit 0
sh "$top/tests/hostile/craft-images.sh" "$img" "$dir" >/dev/null

# put8 FILE OFFSET BYTE...: store bytes at OFFSET
put8() {
	f=$1 off=$2
	shift 2
	for b in "$@"; do
		# shellcheck disable=SC2059
		printf "$(printf '\\%03o' "$b")" | dd of="$f" bs=1 seek="$off" conv=notrunc 2>/dev/null
		off=$((off + 1))
	done
}
# symoff IMAGE SYMBOL DELTA: file offset of symbol + delta, through the
# PT_LOAD that holds it
symoff() {
	v=$(( 0x$(readelf -sW "$1" | awk -v n="$2" '$8 == n { print $2; exit }') + $3 ))
	readelf -lW "$1" | awk '$1 == "LOAD" { print $2, $3, $5 }' |
	while read -r o a s; do
		if [ "$v" -ge $((a)) ] && [ "$v" -lt $((a + s)) ]; then
			echo $((o + v - a))
			break
		fi
	done
}
phoff=$(readelf -hW "$img" | sed -n 's/.*Start of program headers: *\([0-9]*\).*/\1/p')

# ljmp through a register (ff ee) at system_call: Unicorn 2.0.1 aborts
# the process while translating it (fuzz/known.h)
f=$dir/found-tcg-ljmp-reg.elf
cp "$img" "$f"
put8 "$f" "$(symoff "$img" system_call 0)" 0xff 0xee
# the text segment read from 0x100 bytes further into the file: its
# stores into pages of translated code leak Unicorn's code bitmaps
f=$dir/found-unicorn-code-bitmap-leak.elf
cp "$img" "$f"
put8 "$f" $((phoff + 5)) 0x11
# on the CONFIG_PREEMPT kernel: the syscall path's range check becomes
# a store through %esi (#PF), and page_fault starts with popal, which
# pops past the top of the kernel stack (#PF again): a fault per
# instruction, with the stack where it was, until the budget runs out
# (the default 1,000,000 take 6 s)
pre=$imgdir/entry-post-preempt.elf
f=$dir/found-fault-storm.elf
cp "$pre" "$f"
put8 "$f" $(($(symoff "$pre" syscall_call 0) - 5)) 0x00
put8 "$f" "$(symoff "$pre" page_fault 0)" 0x61

# the first FDE of .debug_frame with an address_range of 0xffffffff: the
# CFI loader walked every address of that range (11 s) before it clipped
# the range to the entry code
f=$dir/found-cfi-huge-fde-range.elf
cp "$img" "$f"
dfoff=$(readelf -SW "$img" | awk '$2 == ".debug_frame" { print $5; exit }')
if [ -n "$dfoff" ]; then
	dfoff=$((0x$dfoff))
	cielen=$(od -An -tu4 -j "$dfoff" -N4 "$img" | tr -d ' ')
	# the FDE after the CIE: length, CIE pointer, initial location, range
	put8 "$f" $((dfoff + 4 + cielen + 12)) 0xff 0xff 0xff 0xff
fi

[ -n "$open" ] || exit 0
mkdir -p "$open"
# getpid's sys_call_table entry sends it to the callout slot of syscall
# 179, whose ret becomes a store through %ebx (#PF inside the slot), and
# page_fault starts with a store through %eax (#PF again): without
# --trace the handler then runs at CPL 3, every event is "vector 14 error
# code 0x4 from CPL 3 at page_fault", no instruction executes, and the
# run ends only at the wall-clock limit, with millions of events.
f=$open/open-event-loop-no-insns.elf
cp "$pre" "$f"
slot=$(( 0x$(readelf -sW "$pre" | awk '$8 == "sys_call_stubs" { print $2; exit }') + 179 * 4 ))
put8 "$f" "$(symoff "$pre" sys_call_table $((20 * 4)))" \
	$((slot & 255)) $((slot >> 8 & 255)) $((slot >> 16 & 255)) $((slot >> 24 & 255))
put8 "$f" "$(symoff "$pre" sys_call_stubs $((179 * 4)))" 0x00 0x03
put8 "$f" "$(symoff "$pre" page_fault 0)" 0x10 0xc0
