#!/usr/bin/env bash
# The Debian packages: builds them with `dpkg-buildpackage -b -us -uc` from
# a clean copy of the source (the tracked and new files, no build-*/),
# runs lintian on them (errors fail), installs both with dpkg -i and checks
# what a sysadmin meets: binaries in /usr/bin, man pages found by man -w,
# units in place and not enabled, /etc/default conffiles, examples, the
# pushprox system user, /etc/pushprox root:pushprox 0750, and no pushprox
# daemon running after the install.  Never starts a service.  Purges the
# packages at the end unless they were installed before.
# Needs root, dpkg-buildpackage and debhelper; exits 77 (skipped) without.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: dpkg -i needs root"
	exit 77
fi
for t in dpkg-buildpackage dh; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "SKIP: $t is not installed (apt-get install dpkg-dev debhelper)"
		exit 77
	fi
done

check() {
	if "$@"; then
		passed=$((passed + 1))
	else
		echo "FAILED: $*"
		failed=$((failed + 1))
	fi
}

installed_before=()
for p in pushprox-proxy pushprox-client; do
	if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ]; then
		installed_before+=("$p")
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pushprox-package.XXXXXX")
cleanup() {
	for p in pushprox-client pushprox-proxy; do
		case " ${installed_before[*]} " in
		*" $p "*) ;;
		*) dpkg --purge "$p" >/dev/null 2>&1 ;;
		esac
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# A clean copy: git's files (tracked and new, less the ignored build-*/),
# or the tree less build*/ outside git.
mkdir -p "$tmp/pushprox"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -e "$f" ] && printf '%s\0' "$f"
		done | xargs -0 cp --parents -t "$tmp/pushprox")
else
	tar -C "$src" --exclude='./build*' --exclude='./obj-*' --exclude=.git \
		-cf - . | tar -C "$tmp/pushprox" -xf -
fi

echo "--- dpkg-buildpackage -b -us -uc"
if (cd "$tmp/pushprox" && dpkg-buildpackage -b -us -uc) >"$tmp/build.log" 2>&1; then
	passed=$((passed + 1))
else
	tail -n 40 "$tmp/build.log"
	echo "FAILED: dpkg-buildpackage (log above)"
	failed=$((failed + 1))
	echo "$passed passed, $failed failed"
	exit 1
fi
debs=("$tmp"/pushprox-proxy_*.deb "$tmp"/pushprox-client_*.deb)
ls -l "${debs[@]}"

if command -v lintian >/dev/null 2>&1; then
	echo "--- lintian"
	lintian --no-tag-display-limit "$tmp"/*.changes 2>&1 | tee "$tmp/lintian.log"
	check test "$(grep -c '^E: ' "$tmp/lintian.log")" -eq 0
else
	echo "lintian is not installed: not run"
fi

echo "--- dpkg -i"
check dpkg -i "${debs[@]}"

for b in pushprox-proxy pushprox-client; do
	check test -x "/usr/bin/$b"
	check "/usr/bin/$b" --version
	check man -w "$b"
	check test -f "/lib/systemd/system/$b.service"
	check test -f "/etc/default/$b"
	check grep -q "^ARGS=" "/etc/default/$b"
	check sh -c "dpkg-query -W -f='\${Conffiles}' $b | grep -q ' /etc/default/$b '"
	# Installed, not enabled: no symlink in a .wants folder.
	check test ! -e "/etc/systemd/system/multi-user.target.wants/$b.service"
done
check man -w 5 pushprox-web-config
check man -w 5 pushprox-tokens
for f in web-config.yml tokens pushprox-alerts.yml; do
	check test -f "/usr/share/doc/pushprox-proxy/examples/$f"
done
check test -f /usr/share/doc/pushprox-client/operations.md.gz -o \
	-f /usr/share/doc/pushprox-client/operations.md
check sh -c 'getent passwd pushprox | grep -q ":/nonexistent:/usr/sbin/nologin$"'
check test "$(stat -c %U:%G:%a /etc/pushprox)" = "root:pushprox:750"

# No daemon started by the install: no process runs an installed binary.
running=""
for exe in /proc/[0-9]*/exe; do
	t=$(readlink "$exe" 2>/dev/null) || continue
	case "$t" in
	/usr/bin/pushprox-proxy* | /usr/bin/pushprox-client*) running="$running ${exe%/exe}" ;;
	esac
done
check test -z "$running"

# Reinstalling (an upgrade in place) keeps the user and starts nothing.
check dpkg -i "${debs[@]}"
check getent passwd pushprox

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
