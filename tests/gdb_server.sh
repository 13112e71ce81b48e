# Sourced by the gdb tests: serve SCENARIO on IMAGE with `entryemu replay
# --gdb' on a free port.  Sets work (a scratch directory, removed at exit,
# with the replay's replay.out and replay.err), server (its pid) and port;
# name is the test's, for messages.
command -v gdb >/dev/null || { echo "$name: gdb is not installed"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/entryemu-gdb.XXXXXX")
trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

"$entryemu" replay --gdb 127.0.0.1:0 --image "$image" "$scenario" >"$work/replay.out" 2>"$work/replay.err" &
server=$!
port=
for _ in $(seq 50); do
	port=$(sed -n 's/^gdb: waiting on port \([0-9]*\).*/\1/p' "$work/replay.err")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { echo "$name: the server did not start"; cat "$work/replay.err"; exit 1; }
