#!/bin/sh
# bench/profile.sh: profile pushprox-proxy under one bench run.
#
# Starts the proxy itself (so perf can attach to a known pid), runs
# pushprox-bench MODE against it with --proxy-url/--proxy-pid, records the
# proxy with perf (cpu-clock, DWARF call graphs) for RECORD seconds after
# DELAY seconds, and prints the top functions by self time and the kernel
# entry points (syscalls) by inclusive time.
#
# usage: bench/profile.sh BUILD DELAY RECORD MODE [bench flags...]
# e.g.:  bench/profile.sh build-bench 4 5 relay --clients 1000 --no-direct
#        bench/profile.sh build-bench 8 5 idle --clients 19000 --list-fetches 200
set -eu
build=$1 delay=$2 record=$3
shift 3
out=${PERF_OUT:-/tmp/pushprox-proxy.perf}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$build/proxy/pushprox-proxy" --web.listen-address=127.0.0.1:$port \
	--poll.timeout=1h --web.max-connections=25000 --log.level=warn \
	--push.max-size=1GiB --scrape.max-timeout=10m \
	>/tmp/pushprox-profile-proxy.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 0.5
"$build/bench/pushprox-bench" "$@" --proxy-url=http://127.0.0.1:$port \
	--proxy-pid=$pid >/tmp/pushprox-profile-bench.json \
	2>/tmp/pushprox-profile-bench.log &
bench=$!
sleep "$delay"
perf record -q -e cpu-clock -F 999 --call-graph dwarf,16384 -p $pid \
	-o "$out" -- sleep "$record" 2>/dev/null
wait $bench || true
cat /tmp/pushprox-profile-bench.json
echo "== self time, top 30 (perf report --no-children)"
perf report -i "$out" --stdio --no-children --sort dso,symbol -g none \
	2>/dev/null | grep -E '^ +[0-9]' | head -30
echo "== inclusive time of syscalls and proxy functions, top 40"
perf report -i "$out" --stdio --children --sort symbol -g none \
	2>/dev/null | grep -E '^ +[0-9]' |
	grep -E '__x64_sys_|\[\.\] [a-z_]+(start|reply|deliver|render|live|feed|cb|process|dumps|pack|qsort|json)' |
	head -40
