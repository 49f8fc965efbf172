#!/bin/sh
# bench/run-all.sh: every figure of docs/performance.md, one run after
# another (each mode starts its own proxy or client).  Writes one JSON line
# per run to OUT/results.jsonl (prefixed by the run's name) and each run's
# progress and readable figures to OUT/NAME.log.
#
# usage: bench/run-all.sh [BUILD [OUT]]     (defaults: build-bench, bench-out)
set -u
build=${1:-build-bench}
out=${2:-bench-out}
bench=$build/bench/pushprox-bench
mkdir -p "$out"
: >"$out/results.jsonl"

run() {
	name=$1
	shift
	echo "== $name: pushprox-bench $*" >&2
	line=$("$bench" "$@" 2>"$out/$name.log" | tail -n 1)
	echo "$name $line" >>"$out/results.jsonl"
	echo "$name $line" >&2
}

# idle: RSS per client, /clients, scrape latency
for n in 1000 5000 10000 19000; do
	run idle-$n idle --clients $n --scrapes 200 --list-fetches 20
done
# the cost of idle clients re-polling: every poll answered 204 after 5s
run idle-19000-repoll idle --clients 19000 --proxy-arg=--poll.timeout=5s
# relay: the target point (three times: the host is shared), then S, C
# and N varied one at a time
for i in 1 2 3; do
	run relay-s20k-c64-n1000-$i relay --clients 1000 --size 20KiB \
		--concurrency 64
done
run relay-s20k-c64-n1000-gzip relay --clients 1000 --size 20KiB \
	--concurrency 64 --gzip
for s in 1KiB 100KiB 1MiB; do
	run relay-s$s-c64-n1000 relay --clients 1000 --size $s --concurrency 64
done
for c in 1 8 256; do
	run relay-s20k-c$c-n1000 relay --clients 1000 --size 20KiB \
		--concurrency $c
done
for n in 100 10000 19000; do
	run relay-s20k-c64-n$n relay --clients $n --size 20KiB --concurrency 64
done
# compare: CPU per request of nginx proxy_pass, HAProxy, nginx static and
# the proxy's relay, side by side (servers on CPU 0, load on CPU 1)
for i in 1 2 3; do
	run compare-$i compare --clients 100 --size 20000 --concurrency 16 \
		--duration 15s
done
# large: one 100 MiB body through the proxy
run large large --large-size 100MiB
# client: the real client's own cost
run client client --size 20KiB --scrapes 2000 --idle 10s --large-size 100MiB
