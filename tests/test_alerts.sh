#!/usr/bin/env bash
# The example alerting rules (docs/examples/pushprox-alerts.yml): valid for
# `promtool check rules`, and every pushprox_ metric they use is one the
# daemons export (its name appears quoted in proxy/, client/ or common/).
# Exits 77 (skipped) without promtool (Debian's prometheus package).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
rules="$src/docs/examples/pushprox-alerts.yml"
passed=0
failed=0

if ! command -v promtool >/dev/null 2>&1; then
	echo "SKIP: promtool is not installed (apt-get install prometheus)"
	exit 77
fi

if promtool check rules "$rules"; then
	passed=$((passed + 1))
else
	echo "FAILED: promtool check rules $rules"
	failed=$((failed + 1))
fi

for m in $(grep -oE 'pushprox_[a-z_]+' "$rules" | sort -u); do
	if grep -rqF "\"$m\"" "$src/proxy" "$src/client" "$src/common"; then
		passed=$((passed + 1))
	else
		echo "FAILED: $m is in the rules but no daemon exports it"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
