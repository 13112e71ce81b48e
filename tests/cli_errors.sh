#!/bin/sh
# Every fixture under bad/ and hostile/ must make `entryemu replay` exit
# 2, and every one under fail/ exit 1, with the error its
# "# expect-error:" line names (as FILE:LINE:COL: message when it gives a
# position).  hostile/ holds what an attacker would try; each
# of those, and the inputs made below (bytes a YAML file cannot carry as
# a comment, FIFOs, crafted images), must also be refused within 2 s.
set -u
cli=$1
dir=$(dirname "$0")
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# run_cli ARGS...: err, rc and ms of one run; `timeout` ends a hang (then rc 124)
run_cli() {
	t0=$(now_ms)
	err=$(timeout 10 "$cli" "$@" 2>&1 >/dev/null)
	rc=$?
	ms=$(($(now_ms) - t0))
}
# expect2 WHAT NEEDLE ARGS...: exit 2 within 2 s, NEEDLE in the message
expect2() {
	what=$1 needle=$2
	shift 2
	run_cli "$@"
	if [ "$rc" -ne 2 ]; then
		echo "FAIL $what: exit $rc, expected 2 ($err)"
		failures=$((failures + 1))
	elif [ "$ms" -gt 2000 ]; then
		echo "FAIL $what: took $ms ms, at most 2000"
		failures=$((failures + 1))
	elif ! printf '%s\n' "$err" | grep -qF -- "$needle"; then
		echo "FAIL $what: expected '$needle' in: $err"
		failures=$((failures + 1))
	else
		echo "ok   $what (${ms} ms): $(printf '%s\n' "$err" | head -1)"
	fi
}
check() {	# file, wanted exit status
	f=$1 want=$2
	exp=$(sed -n 's/^# expect-error: //p' "$f")
	case "$exp" in
	[0-9]*:[0-9]*:*) needle="$f:$exp" ;;
	*) needle="$exp" ;;
	esac
	if [ "$want" -eq 2 ]; then
		expect2 "$f" "$needle" replay "$f"
		return
	fi
	err=$("$cli" replay "$f" 2>&1 >/dev/null)
	rc=$?
	case "$exp" in
	[0-9]*:[0-9]*:*) needle="$f:$exp" ;;
	*) needle="$exp" ;;
	esac
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $f: exit $rc, expected $want ($err)"
		failures=$((failures + 1))
	elif ! printf '%s\n' "$err" | grep -qF -- "$needle"; then
		echo "FAIL $f: expected '$needle' in: $err"
		failures=$((failures + 1))
	else
		echo "ok   $f: $(printf '%s\n' "$err" | head -1)"
	fi
}
for f in "$dir"/bad/*.yaml "$dir"/hostile/*.yaml; do check "$f" 2; done
for f in "$dir"/fail/*.yaml; do check "$f" 1; done

# --- scenario files no comment can describe --------------------------------
good="$dir/../scenarios/syscall-int80-getpid.yaml"
# '%' then a byte >= 0x80: libfyaml 0.7.12 looped forever in its directive scanner
printf '%%\200' > "$tmp/percent-high.yaml"
expect2 "percent + 0x80" "$tmp/percent-high.yaml:1:1: directive line" replay "$tmp/percent-high.yaml"
printf '%%TAG ! tag:x,2024:\ncode: nop\n' > "$tmp/tag.yaml"
expect2 "%TAG directive" "$tmp/tag.yaml:1:1: directive line" replay "$tmp/tag.yaml"
printf 'code: "nop"\nname: a\377b\n' > "$tmp/bad-utf8.yaml"
expect2 "invalid UTF-8" "$tmp/bad-utf8.yaml:2:8: invalid UTF-8 (byte 0xff)" replay "$tmp/bad-utf8.yaml"
printf 'code: "nop"\nname: \300\257\n' > "$tmp/overlong.yaml"
expect2 "overlong UTF-8" "$tmp/overlong.yaml:2:7: invalid UTF-8 (byte 0xc0)" replay "$tmp/overlong.yaml"
printf 'code: "nop"\0\n' > "$tmp/nul.yaml"
expect2 "NUL byte" "$tmp/nul.yaml:1:12: a NUL byte" replay "$tmp/nul.yaml"
{ echo 'code: "nop"'; head -c 1100000 /dev/zero | tr '\0' '#'; echo; } > "$tmp/big.yaml"
expect2 "file size cap" "$tmp/big.yaml:1:1: 1100013 bytes: a scenario file holds at most" replay "$tmp/big.yaml"
# FIFOs and directories: open() of a FIFO without a writer blocked forever
mkfifo "$tmp/fifo.yaml"
expect2 "FIFO scenario" "$tmp/fifo.yaml: not a regular file" replay "$tmp/fifo.yaml"
expect2 "directory scenario" "$tmp: not a regular file" trace "$tmp"
expect2 "FIFO image" "$tmp/fifo.yaml: not a regular file" replay --image "$tmp/fifo.yaml" "$good"

# --- crafted images, made from the built one ------------------------------
image="$(dirname "$cli")/../share/entryemu/entry-post.elf"
mkdir "$tmp/img"
if sh "$dir/hostile/craft-images.sh" "$image" "$tmp/img" > "$tmp/img/list"; then
	tab=$(printf '\t')
	while IFS="$tab" read -r f exp; do
		if [ "$exp" = "-" ]; then
			run_cli replay --image "$f" "$good"
			[ "$rc" -eq 0 ] || { echo "FAIL image $(basename "$f"): exit $rc, expected 0 ($err)"
					     failures=$((failures + 1)); }
		else
			expect2 "image $(basename "$f")" "$f: $exp" replay --image "$f" "$good"
		fi
	done < "$tmp/img/list"
else
	echo "skip crafted images: readelf (binutils) is missing"
fi

# limited LIMIT N ARGS...: `entryemu ARGS' under `ulimit LIMIT' exits 0
# with at least N runs passed
limited() {
	limit=$1 want=$2
	shift 2
	out=$( (ulimit $limit && "$cli" "$@") 2>&1)
	rc=$?
	passes=$(printf '%s\n' "$out" | grep -c ' PASS ')
	if [ "$rc" -ne 0 ] || [ "$passes" -lt "$want" ]; then
		echo "FAIL replay under ulimit $limit: exit $rc, $passes passes: $(printf '%s\n' "$out" | tail -1)"
		failures=$((failures + 1))
	else
		echo "ok   replay under ulimit $limit: $passes passes"
	fi
}

# many files under a low limit of descriptors: replay's output files are
# two a worker, not two a file (80 for these 40 files, past the limit)
mkdir "$tmp/many"
i=0
while [ $i -lt 40 ]; do cp "$good" "$tmp/many/s$i.yaml"; i=$((i + 1)); done
limited "-n 32" 40 replay -j2 "$tmp"/many/*.yaml

# room for one engine only (each maps 1 GiB of address space): replay
# reopens the machine it has on the next image, and with no room for
# even one the library's error says why (exit 2), where the emulator
# would print a line and end the process
if ldd "$cli" 2>/dev/null | grep -q libasan; then
	echo "skip address-space limits: an ASan build maps terabytes of shadow"
else
	# two files on four images each: eight runs
	limited "-v 1500000" 8 replay -j1 "$good" "$dir/../scenarios/irq-kernel.yaml"
	out=$( (ulimit -v 700000 && "$cli" replay -j1 "$good") 2>&1)
	rc=$?
	if [ "$rc" -ne 2 ] || ! printf '%s\n' "$out" | grep -q "1 GiB of address space"; then
		echo "FAIL replay under ulimit -v 700000: exit $rc: $(printf '%s\n' "$out" | tail -1)"
		failures=$((failures + 1))
	else
		echo "ok   replay under ulimit -v 700000: $(printf '%s\n' "$out" | head -1)"
	fi
fi

# options and commands
"$cli" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL unknown command"; failures=$((failures + 1)); }
"$cli" replay --bogus >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL unknown option"; failures=$((failures + 1)); }
"$cli" replay "$dir/bad/missing.yaml" >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL missing file"; failures=$((failures + 1)); }
expect2 "bad image" "/dev/null: not a regular file" replay --image /dev/null "$good"
"$cli" --help >/dev/null 2>&1 || { echo "FAIL --help"; failures=$((failures + 1)); }
for c in replay trace list coverage disasm bench cost; do
	"$cli" "$c" --help 2>/dev/null | grep -q "^usage: entryemu $c" ||
		{ echo "FAIL $c --help"; failures=$((failures + 1)); }
done
# an option the command does not read, and stray operands, are refused
expect2 "option not read" "entryemu list: --json does not apply" list --json
expect2 "image for cost" "entryemu cost: --image does not apply" cost --image post
expect2 "gdb for explore" "entryemu explore: --gdb does not apply" explore --gdb :0 "$good"
expect2 "operand for bench" "entryemu bench: takes no FILE: 'extra'" bench --quick extra
expect2 "operand for list" "entryemu list: takes no FILE: 'extra'" list extra
# explore's --out is checked before any variant runs
expect2 "out not a directory" "entryemu explore: --out $good: not a directory" explore --out "$good" "$good"
expect2 "out unreachable" "entryemu explore: --out /proc/none/x: No such file or directory" \
	explore --out /proc/none/x "$good"
# explore --known with a place that is not there, or none
expect2 "known place missing" "entryemu explore: --known: no place 'nowhere'" \
	explore --known lockdep@nowhere "$good"
expect2 "known place empty" "entryemu explore: --known: lockdep@: give a place" \
	explore --known lockdep@ "$good"
expect2 "known words empty" "entryemu explore: --known: lockdep~: give words of the report" \
	explore --known lockdep~ "$good"
# disasm of an address with nothing mapped
expect2 "disasm unmapped" "entryemu disasm: 0x12345678: nothing is mapped at 0x12345678" \
	disasm 0x12345678
"$cli" --version | grep -q "^entryemu [0-9]" || { echo "FAIL --version"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ] && echo "cli errors: all as expected"
exit "$failures"
