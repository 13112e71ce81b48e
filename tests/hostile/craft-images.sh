#!/bin/sh
# Writes crafted kernel images into DIR, each a copy of IMAGE (the built
# entry-post.elf) with one header, section or layout value made hostile,
# and prints "FILE<TAB>expected message" per image ("-": the image is
# odd but usable, and a run on it must pass).  Generated at test
# time from the built image (no kernel code is committed), with readelf
# to find the offsets and dd to patch 4 little-endian bytes.
# Usage: craft-images.sh IMAGE DIR
set -eu
img=$1 dir=$2
command -v readelf >/dev/null 2>&1 || exit 3

# put32 FILE OFFSET VALUE: store VALUE as a 32-bit little-endian word
put32() {
	v=$3
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((v & 255)) $((v >> 8 & 255)) \
		$((v >> 16 & 255)) $((v >> 24 & 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
# a fresh copy named DIR/NAME.elf
copy() { cp "$img" "$dir/$1.elf"; echo "$dir/$1.elf"; }

phoff=$(readelf -hW "$img" | sed -n 's/.*Start of program headers: *\([0-9]*\).*/\1/p')
shoff=$(readelf -hW "$img" | sed -n 's/.*Start of section headers: *\([0-9]*\).*/\1/p')
# section index and file offset of a section, by name
sect() { readelf -SW "$img" | sed 's/^ *\[ *\([0-9]*\)\]/\1/' | awk -v n="$1" '$2 == n { print $1, $5 }'; }
# file offset of a symbol's st_value
symval() {
	set -- "$1" $(sect .symtab)
	idx=$(readelf -sW "$img" | awk -v n="$1" '$8 == n { sub(":", "", $1); print $1; exit }')
	echo $((0x$3 + idx * 16 + 4))
}

# p_memsz 0x40000000 with a small p_filesz: the end once cut to 32 bits overflowed the heap
f=$(copy phdr-memsz); put32 "$f" $((phoff + 20)) 0x40000000
printf '%s\t%s\n' "$f" "program header 0: p_vaddr 0xc0100000 + p_memsz 0x40000000 is not within"
# p_memsz that wraps 4 GiB in 32-bit arithmetic
f=$(copy phdr-wrap); put32 "$f" $((phoff + 20)) 0xffffffff
printf '%s\t%s\n' "$f" "program header 0: p_vaddr 0xc0100000 + p_memsz 0xffffffff"
# p_offset far outside the file
f=$(copy phdr-offset); put32 "$f" $((phoff + 4)) 0xfffff000
printf '%s\t%s\n' "$f" "program header 0: p_offset 0xfffff000 + p_filesz"
# a second SHT_SYMTAB (the .strtab retyped): its count was added to the first's array
set -- $(sect .strtab)
f=$(copy second-symtab); put32 "$f" $((shoff + $1 * 40 + 4)) 2
printf '%s\t%s\n' "$f" "section .strtab: a second SHT_SYMTAB"
# layout values machine.c indexes host buffers with
f=$(copy ti-flags); put32 "$f" "$(symval entryemu_layout_TI_flags)" 0x2000
printf '%s\t%s\n' "$f" "entryemu_layout_TI_flags = 0x2000: not an aligned word within TI_SIZE"
f=$(copy thread-size); put32 "$f" "$(symval entryemu_layout_THREAD_SIZE)" 0x3000
printf '%s\t%s\n' "$f" "entryemu_layout_THREAD_SIZE = 0x3000 is not a power of two"
f=$(copy tss-esp0); put32 "$f" "$(symval entryemu_layout_TSS_esp0)" 0x1000
printf '%s\t%s\n' "$f" "entryemu_layout_TSS_esp0 = 0x1000: not an aligned word within TSS_SIZE"
f=$(copy pt-eip); put32 "$f" "$(symval entryemu_layout_PT_EIP)" 0xfffffffc
printf '%s\t%s\n' "$f" "entryemu_layout_PT_EIP = 0xfffffffc: not an aligned word within PT_SIZE"
# the per-CPU register must be one the image's pt_regs saves (post: %gs)
f=$(copy percpu-fs); put32 "$f" "$(symval entryemu_layout_PERCPU_SEG)" 4
printf '%s\t%s\n' "$f" "entryemu_layout_PERCPU_SEG = 4 does not match the pt_regs slots exported"
f=$(copy percpu-ss); put32 "$f" "$(symval entryemu_layout_PERCPU_SEG)" 2
printf '%s\t%s\n' "$f" "entryemu_layout_PERCPU_SEG = 2: expected 0 (none), 4 (%fs) or 5 (%gs)"
f=$(copy espfix-2); put32 "$f" "$(symval entryemu_layout_ESPFIX_32)" 2
printf '%s\t%s\n' "$f" "entryemu_layout_ESPFIX_32 = 2: expected 0 (16-bit stack) or 1"
# the GDT the machine loads must be where the image has room for it
f=$(copy gdt-misaligned); put32 "$f" "$(symval per_cpu__gdt_page)" 0xc0100001
printf '%s\t%s\n' "$f" "per_cpu__gdt_page = 0xc0100001: the GDT must be 8-byte aligned"
f=$(copy tss-size); put32 "$f" "$(symval entryemu_layout_TSS_SIZE)" 0x10000
printf '%s\t%s\n' "$f" "entryemu_layout_TSS_SIZE = 0x10000"
# .text's size grown over .fixup and .callouts: executable sections that
# overlap, so the entry-code decode met its instructions out of address
# order and the bitmap of instruction starts was indexed past its end
# (fuzz_image, under ASan).  The program headers are intact: it runs.
set -- $(sect .text)
f=$(copy text-overlaps); put32 "$f" $((shoff + $1 * 40 + 20)) 0x15ae
printf '%s\t%s\n' "$f" "-"
# cut short: the section headers are gone
f="$dir/truncated.elf"; head -c 4096 "$img" > "$f"
printf '%s\t%s\n' "$f" "program header 0: p_offset 0x1000 + p_filesz"
