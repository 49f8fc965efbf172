#!/bin/sh
# bench/callgrind.sh: the proxy's instructions per relayed scrape, by
# function (valgrind's callgrind: counts are repeatable on a noisy host,
# unlike time).  Starts the proxy under callgrind, lets `pushprox-bench
# relay` drive it, zeroes the counters once the clients are registered,
# dumps them after SECONDS, and divides by the scrapes the proxy counted
# in between (pushprox_scrapes_total).  Prints the total per scrape and the
# top functions by inclusive and by self instructions.
#
# usage: bench/callgrind.sh [BUILD [PROXY_BIN [SECONDS [relay flags...]]]]
#   defaults: build-bench, BUILD/proxy/pushprox-proxy, 20; relay flags
#   --clients 100 --size 20000 --concurrency 4.  Build with debug info
#   (meson configure BUILD -Ddebug=true) for function names.
set -eu
build=${1:-build-bench}
bin=${2:-$build/proxy/pushprox-proxy}
secs=${3:-20}
[ $# -gt 3 ] && shift 3 || set --
[ $# -gt 0 ] || set -- --clients 100 --size 20000 --concurrency 4
bench=$build/bench/pushprox-bench
out=${CALLGRIND_OUT:-/tmp/pushprox-proxy.callgrind}
tmp=$(mktemp -d /tmp/pushprox-callgrind-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -f "$out"
valgrind -q --tool=callgrind --callgrind-out-file="$out" \
	"$bin" --web.listen-address=127.0.0.1:$port --poll.timeout=10m \
	--web.max-connections=5000 --log.level=warn 2>"$tmp/proxy.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
scrapes() {
	curl -s -m 10 "http://127.0.0.1:$port/metrics" |
		awk '/^pushprox_scrapes_total/ { n += $2 } END { print n + 0 }'
}
for i in $(seq 100); do
	curl -s -m 2 -o /dev/null "http://127.0.0.1:$port/metrics" && break
	sleep 0.2
done
"$bench" relay --proxy-url=http://127.0.0.1:$port --proxy-pid=$pid \
	--no-direct --warmup 1s --duration $((secs + 20))s \
	--scrape-timeout 30s "$@" >"$tmp/bench.json" 2>"$tmp/bench.log" &
bpid=$!
sleep 8		# clients registered under valgrind, scrapers running
s0=$(scrapes)
callgrind_control -z $pid >/dev/null
sleep "$secs"
callgrind_control -d $pid >/dev/null
s1=$(scrapes)
kill $bpid 2>/dev/null || true
wait $bpid 2>/dev/null || true
n=$((s1 - s0))
dump=$(ls -t "$out"* | head -n 1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
echo "scrapes in the window: $n"
echo "instructions per scrape: $((total / n))"
echo "== inclusive, top 30 (instructions per scrape)"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null |
	awk -v n="$n" '/^ *[0-9,]+ .*:/ { c = $1; gsub(",", "", c); $1 = ""; printf "%9.0f %s\n", c / n, $0 }' |
	head -30
echo "== self, top 30 (instructions per scrape)"
callgrind_annotate "$dump" 2>/dev/null |
	awk -v n="$n" '/^ *[0-9,]+ .*:/ { c = $1; gsub(",", "", c); $1 = ""; printf "%9.0f %s\n", c / n, $0 }' |
	head -30
