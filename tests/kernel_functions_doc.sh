#!/bin/sh
# docs/kernel-functions.md lists every kernel function an image calls
# (each CALLOUT of asm/callouts.S) and every system call with a default
# of its own (src/kernel/defaults.c): a function added without its
# documentation fails here.
# Usage: kernel_functions_doc.sh SOURCE_DIR
set -u
src=$1
doc=$src/docs/kernel-functions.md
missing=0
for f in $(sed -n 's/^CALLOUT(\([A-Za-z0-9_]*\)).*/\1/p' "$src/asm/callouts.S") \
	 $(sed -n 's/.*{ *[0-9][0-9]*, *"\(sys_[a-z_]*\)".*/\1/p' "$src/src/kernel/defaults.c"); do
	grep -q "\`$f\`\|\`$f(" "$doc" || { echo "kernel_functions_doc: $f is not in $doc"; missing=1; }
done
n=$(grep -c '^CALLOUT(' "$src/asm/callouts.S")
[ "$n" -gt 20 ] || { echo "kernel_functions_doc: found only $n callouts"; missing=1; }
[ $missing = 0 ] && echo "kernel_functions_doc: ok ($n callouts)"
exit $missing
