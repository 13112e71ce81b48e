#!/bin/sh
# Every symbol a shared library given as an argument defines in its
# dynamic symbol table is part of the public API: named entryemu_*.
# Anything else (a helper that lost its static or missed the hidden
# visibility) fails the test, listed.
set -u
status=0
for lib in "$@"; do
	if [ ! -f "$lib" ]; then
		echo "exported_symbols: no $lib"
		status=1
		continue
	fi
	syms=$(nm -D --defined-only "$lib") || { echo "exported_symbols: nm failed on $lib"; status=1; continue; }
	n=$(printf '%s\n' "$syms" | awk 'NF >= 3 { print $3 }' | grep -c '^entryemu_')
	bad=$(printf '%s\n' "$syms" | awk 'NF >= 3 { print $3 }' | grep -v '^entryemu_')
	if [ -n "$bad" ]; then
		echo "$lib exports symbols outside the API:"
		printf '%s\n' "$bad" | sed 's/^/  /'
		status=1
	elif [ "$n" -eq 0 ]; then
		echo "$lib exports no entryemu_* symbol at all"
		status=1
	else
		echo "$lib: $n symbols, all entryemu_*"
	fi
done
exit $status
