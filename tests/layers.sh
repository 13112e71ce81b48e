#!/bin/sh
# The library's layers call downwards only: a file of one layer includes
# headers of its own layer or of the layers below it, never above.
# handle.h (the handle's state, made of each layer's types) is shared.
# The scenario layer sees the public headers and its own files only.
# Usage: layers.sh SRC_DIR
set -eu
src=$1
rank() {
	case $1 in
	base) echo 0 ;; engine) echo 1 ;; mem) echo 2 ;; image) echo 3 ;;
	cpu) echo 4 ;; kernel) echo 5 ;; run) echo 6 ;; oracle) echo 7 ;; *) echo 99 ;;
	esac
}
bad=0
for dir in base engine mem image cpu kernel run oracle; do
	own=$(rank "$dir")
	for f in "$src/$dir"/*.[ch]; do
		for inc in $(sed -n 's/^#include "\([a-z]*\)\/.*"/\1/p' "$f"); do
			if [ "$(rank "$inc")" -gt "$own" ]; then
				echo "$f includes a header of $inc/, a layer above $dir/"
				bad=1
			fi
		done
	done
done
for f in "$src"/scenario/*.[ch]; do
	for inc in $(sed -n 's/^#include "\(.*\)"/\1/p' "$f"); do
		if [ ! -f "$src/scenario/$inc" ]; then
			echo "$f includes $inc: the scenario layer may use the public API only"
			bad=1
		fi
	done
done
[ "$bad" -eq 0 ] && echo "layers: every include goes down"
exit "$bad"
