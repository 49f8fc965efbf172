#!/usr/bin/env bash
# The man pages: the generated pushprox-proxy(1) and pushprox-client(1)
# (PUSHPROX_MAN_DIR) and the hand-written section 5 pages (man/) render
# with no groff warning (-ww), have a NAME line that lexgrog (whatis)
# reads, and the generated pages name every flag that the daemon's --help
# lists (they come from the same table; this catches a stale page).
# Exits 77 (skipped) without groff or lexgrog.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0

for t in groff lexgrog; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "SKIP: $t is not installed (apt-get install groff-base man-db)"
		exit 77
	fi
done
: "${PUSHPROX_PROXY:?}" "${PUSHPROX_CLIENT:?}" "${PUSHPROX_MAN_DIR:?}"

check() {
	if "$@"; then
		passed=$((passed + 1))
	else
		echo "FAILED: $*"
		failed=$((failed + 1))
	fi
}

# clean PAGE: groff prints nothing on stderr with every warning enabled.
clean() {
	local out
	out=$(groff -man -Tutf8 -ww -z "$1" 2>&1)
	[ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
}

# whatis PAGE: lexgrog finds "name - description".
whatis() {
	lexgrog "$1" | grep -qE ': "pushprox-[a-z0-9-]+ - .+"$'
}

# flags PAGE BINARY: every --flag of BINARY --help is in PAGE's text.
flags() {
	local text missing=""
	text=$(groff -man -Tascii -P-cbou "$1" 2>/dev/null | tr -s ' \n' ' ')
	for f in $("$2" --help | grep -oE '^  --(\[no-\])?[a-z0-9.-]+' |
		sed 's/^  //'); do
		case "$text" in
		*"$f"*) ;;
		*) missing="$missing $f" ;;
		esac
	done
	[ -z "$missing" ] || { echo "$1: missing$missing"; return 1; }
}

for p in "$PUSHPROX_MAN_DIR"/pushprox-proxy.1 "$PUSHPROX_MAN_DIR"/pushprox-client.1 \
	"$src"/man/pushprox-web-config.5 "$src"/man/pushprox-tokens.5; do
	check test -s "$p"
	check clean "$p"
	check whatis "$p"
done
check flags "$PUSHPROX_MAN_DIR"/pushprox-proxy.1 "$PUSHPROX_PROXY"
check flags "$PUSHPROX_MAN_DIR"/pushprox-client.1 "$PUSHPROX_CLIENT"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
