#!/usr/bin/env bash
# The systemd units (systemd/*.service.in): `systemd-analyze verify` passes
# (ExecStart pointed at the built binaries, Documentation= resolved against
# the built man pages) and `systemd-analyze security --offline=yes` rates
# each unit at most PUSHPROX_MAX_EXPOSURE (2.0, "OK").  Prints each score.
# Needs PUSHPROX_PROXY, PUSHPROX_CLIENT (the binaries) and PUSHPROX_MAN_DIR
# (the build's man/); exits 77 (skipped) without systemd-analyze.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
max=${PUSHPROX_MAX_EXPOSURE:-2.0}
passed=0
failed=0

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze is not installed (apt-get install systemd)"
	exit 77
fi
: "${PUSHPROX_PROXY:?}" "${PUSHPROX_CLIENT:?}" "${PUSHPROX_MAN_DIR:?}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pushprox-units.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/units" "$tmp/man/man1" "$tmp/man/man5"
cp "$PUSHPROX_MAN_DIR"/pushprox-*.1 "$tmp/man/man1/"
cp "$src"/man/pushprox-*.5 "$tmp/man/man5/"

check() {
	if "$@"; then
		passed=$((passed + 1))
	else
		echo "FAILED: $*"
		failed=$((failed + 1))
	fi
}

# verify UNIT: no complaint at all (the exit status and the output).
verify() {
	local out
	out=$(MANPATH="$tmp/man" systemd-analyze verify "$1" 2>&1)
	local rc=$?
	[ -n "$out" ] && printf '%s\n' "$out"
	[ "$rc" -eq 0 ] && [ -z "$out" ]
}

# score UNIT: the overall exposure, at most $max.
score() {
	local line value
	line=$(systemd-analyze security --offline=yes "$1" 2>&1 |
		grep 'Overall exposure level')
	value=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9.]*\) .*/\1/p')
	echo "$(basename "$1"): exposure ${value:-?} (at most $max): $line"
	[ -n "$value" ] && awk -v v="$value" -v m="$max" 'BEGIN { exit !(v <= m) }'
}

for d in proxy client; do
	if [ "$d" = proxy ]; then bin=$PUSHPROX_PROXY; else bin=$PUSHPROX_CLIENT; fi
	unit="$tmp/units/pushprox-$d.service"
	sed "s|@BINDIR@|$(cd "$(dirname "$bin")" && pwd)|" \
		"$src/systemd/pushprox-$d.service.in" >"$unit"
	check grep -q '^Type=notify$' "$unit"
	check verify "$unit"
	check score "$unit"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
