#!/bin/sh
# bench/syscalls.sh: the proxy's system calls per relayed scrape.  Starts
# the proxy, lets `pushprox-bench relay` drive it (keep-alive scrapers,
# simulated clients), attaches `strace -c -f` to the proxy for a window in
# the steady state, and divides each call's count by the scrapes the proxy
# counted meanwhile (pushprox_scrapes_total from its /metrics).
#
# usage: bench/syscalls.sh [BUILD [PROXY_BIN [SECONDS [relay flags...]]]]
#   defaults: build-bench, BUILD/proxy/pushprox-proxy, 5; the relay flags
#   default to --clients 100 --size 20000 --concurrency 16.
set -eu
build=${1:-build-bench}
bin=${2:-$build/proxy/pushprox-proxy}
secs=${3:-5}
[ $# -gt 3 ] && shift 3 || set --
[ $# -gt 0 ] || set -- --clients 100 --size 20000 --concurrency 16
bench=$build/bench/pushprox-bench
tmp=$(mktemp -d /tmp/pushprox-syscalls-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" --web.listen-address=127.0.0.1:$port --poll.timeout=10m \
	--web.max-connections=5000 --log.level=warn 2>"$tmp/proxy.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
scrapes() {
	curl -s "http://127.0.0.1:$port/metrics" |
		awk '/^pushprox_scrapes_total/ { n += $2 } END { print n + 0 }'
}
for i in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$port/metrics" && break
	sleep 0.1
done
"$bench" relay --proxy-url=http://127.0.0.1:$port --proxy-pid=$pid \
	--no-direct --warmup 1s --duration $((secs + 6))s "$@" \
	>"$tmp/bench.json" 2>"$tmp/bench.log" &
bpid=$!
sleep 3		# clients registered, scrapers running
s0=$(scrapes)
timeout -s INT "$secs" strace -c -f -p $pid -o "$tmp/strace" 2>/dev/null || true
s1=$(scrapes)
wait $bpid || true
n=$((s1 - s0))
echo "scrapes in the window: $n"
awk -v n="$n" '
	/^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+/ {
		calls = $4; name = $NF
		if (name == "total") { total = calls; next }
		printf "%-16s %8.2f per scrape\n", name, calls / n
	}
	/total$/ { total = $(NF - 2) }
	END { printf "%-16s %8.2f per scrape\n", "all", total / n }
' "$tmp/strace"
