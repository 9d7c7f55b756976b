#!/usr/bin/env bash
# canary against its peers on this machine, in one run, on one local nginx (keep-alive off, so
# every check is a fresh connection): one-shot CI runs against Hurl and curl, and probes per
# second against blackbox_exporter (driven by wrk) and wrk itself, and the daemon's CPU per run
# beside a bare C loop making the same requests as often (benches/floor.c). Prints a table.
#
#   benches/peers.sh                       # as root it installs nginx, hyperfine, wrk, time and
#                                          # prometheus-blackbox-exporter from Debian
#   CANARY_BASE=/path/to/older/canary benches/peers.sh   # adds an older build as a column
#
# Hurl is not in Debian: `cargo install hurl@8.0.1 --locked` (with libcurl4-openssl-dev
# libxml2-dev libclang-dev). Without it, its rows say so and the rest still runs.
set -euo pipefail
cd "$(dirname "$0")/.."

debian=()
command -v nginx >/dev/null || debian+=(nginx-light)
command -v hyperfine >/dev/null || debian+=(hyperfine)
command -v wrk >/dev/null || debian+=(wrk)
[ -x /usr/bin/time ] || debian+=(time)
command -v cc >/dev/null || debian+=(gcc)
command -v prometheus-blackbox-exporter >/dev/null || debian+=(prometheus-blackbox-exporter)
if ((${#debian[@]})); then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debian[@]}" >/dev/null
    else
        echo "install first: sudo apt-get install ${debian[*]}" >&2
        exit 2
    fi
fi
have_hurl=$(command -v hurl >/dev/null && echo yes || echo no)

cargo build --release --locked --quiet --bin canary
canary=$PWD/target/release/canary
base=${CANARY_BASE:-}

work=$(mktemp -d)
cleanup() {
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
    [ -n "${bbe:-}" ] && kill "$bbe" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port=18080
cat >"$work/nginx.conf" <<EOF
daemon on; worker_processes 2; pid $work/nginx.pid; error_log $work/error.log;
events { worker_connections 8192; }
http {
  access_log off; keepalive_timeout 0;
  server {
    listen 127.0.0.1:$port backlog=4096;
    location /health { default_type application/json; return 200 '{"status":"ok"}'; }
  }
}
EOF
nginx -c "$work/nginx.conf" -p "$work"
url=http://127.0.0.1:$port/health

# N one-request canaries (status and a JSONPath assertion), and the same as Hurl files.
make_set() {
    local n=$1 dir=$work/set$1
    mkdir -p "$dir/canary" "$dir/hurl"
    for i in $(seq "$n"); do
        printf 'name: c-%s\nhttp:\n  url: %s\n  assert:\n    - status: 200\n    - json: { path: $.status, equals: ok }\n' \
            "$i" "$url" >"$dir/canary/c-$i.yaml"
        printf 'GET %s\nHTTP 200\n[Asserts]\njsonpath "$.status" == "ok"\n' "$url" >"$dir/hurl/c-$i.hurl"
    done
}
for n in 1 200 2000 5000; do make_set "$n"; done

rows=()
# median wall (ms) of a command, by hyperfine.
wall() {
    hyperfine -N --warmup 2 --min-runs "$1" --export-json "$work/h.json" "$2" >/dev/null 2>&1
    python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$work/h.json"
}
# peak resident memory (MB) of one run.
peak() {
    /usr/bin/time -f %M -o "$work/t" "$@" >/dev/null 2>&1 || true
    python3 -c 'import sys; print("%.1f" % (int(open(sys.argv[1]).read().split()[-1])/1024))' "$work/t"
}
row() { rows+=("$(printf '| %s | %s | %s | %s | %s |' "$@")"); }
ratio() { python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print("%.2f" % (a/b) if b else "-")' "$1" "$2"; }

echo "one-shot runs ..." >&2
for case in "1 2" "200 2" "200 8" "2000 2" "2000 8"; do
    set -- $case
    n=$1 p=$2 dir=$work/set$1
    runs=$([ "$n" -ge 2000 ] && echo 5 || echo 15)
    c=$(wall "$runs" "$canary test $dir/canary --parallel $p")
    cm=$(peak "$canary" test "$dir/canary" --parallel "$p")
    old="-"
    [ -n "$base" ] && old=$(wall "$runs" "$base test $dir/canary --parallel $p")
    if [ "$have_hurl" = yes ]; then
        h=$(wall "$runs" "hurl --test --jobs $p --glob $dir/hurl/*.hurl")
        hm=$(peak hurl --test --jobs "$p" --glob "$dir/hurl/*.hurl")
        row "$n canaries, parallel $p: wall ms (peak MB)" "$c ($cm)" "$old" "Hurl $h ($hm)" "$(ratio "$c" "$h")"
    else
        row "$n canaries, parallel $p: wall ms (peak MB)" "$c ($cm)" "$old" "Hurl not installed" "-"
    fi
done
cu=$(wall 30 "curl -s -o /dev/null $url")
c1=$(wall 15 "$canary test $work/set1/canary")
row "1 request: wall ms" "$c1" "-" "curl $cu" "$(ratio "$c1" "$cu")"

echo "throughput ..." >&2
# canary: 5,000 fresh-connection checks at parallel 64, five times (a run is under half a second,
# so one is at the mercy of the machine's noise); the median run's checks per second and CPU.
for i in 1 2 3 4 5; do
    /usr/bin/time -f '%e %U %S' -o "$work/t" "$canary" test "$work/set5000/canary" --parallel 64 >/dev/null 2>&1 || true
    cat "$work/t" >>"$work/runs"
done
read -r e u s < <(sort -n "$work/runs" | sed -n 3p)
cps=$(python3 -c "print('%.0f' % (5000/$e))")
cpu=$(python3 -c "print('%.3f' % (($u+$s)*1000/5000))")
# The same runs' checks alone, without start-up and loading the 5,000 files (about a quarter of
# the wall above, most of it YAML parsing): from the JSON report, the first check's start to the
# last one's end; the median of three.
for i in 1 2 3; do
    "$canary" test "$work/set5000/canary" --parallel 64 --json "$work/r.json" >/dev/null 2>&1 || true
    python3 -c '
import json, sys
from datetime import datetime
runs = json.load(open(sys.argv[1]))["canaries"]
at = lambda r: datetime.fromisoformat(r["started_at"].replace("Z", "+00:00")).timestamp()
first = min(map(at, runs))
last = max(at(r) + r["duration_ms"] / 1000 for r in runs)
print("%.0f" % (len(runs) / (last - first)))' "$work/r.json" >>"$work/phase"
done
phase=$(sort -n "$work/phase" | sed -n 2p)
cat >"$work/bbe.yml" <<EOF
modules:
  http_2xx: { prober: http, timeout: 5s, http: { preferred_ip_protocol: ip4 } }
EOF
prometheus-blackbox-exporter --config.file="$work/bbe.yml" --web.listen-address=127.0.0.1:19115 >/dev/null 2>&1 &
bbe=$!
sleep 1
probe="http://127.0.0.1:19115/probe?module=http_2xx&target=$url"
bb=$(wrk -t2 -c64 -d10s "$probe" | awk '/Requests\/sec/ {printf "%.0f", $2}')
# CPU ms per probe: the exporter's user+system time over the probes it answered.
bbcpu=$(python3 -c "
import os
t=os.sysconf('SC_CLK_TCK'); f=open('/proc/$bbe/stat').read().split(')')[1].split()
print('%.3f' % ((int(f[11])+int(f[12]))/t*1000/max(1, $bb*10)))")
kill "$bbe"; bbe=
wr=$(wrk -t2 -c64 -d10s -H 'Connection: close' "$url" | awk '/Requests\/sec/ {printf "%.0f", $2}')
row "fresh-connection checks/s (CPU ms per check)" "$cps ($cpu)" "-" "blackbox_exporter $bb ($bbcpu)" "$(ratio "$cps" "$bb")"
row "checks/s as a share of wrk's Connection: close rate" "$cps" "-" "wrk $wr" "$(ratio "$cps" "$wr")"
row "checks/s while checking (loading excluded), as a share of wrk's" "$phase" "-" "wrk $wr" "$(ratio "$phase" "$wr")"

echo "daemon ..." >&2
# `canary run`: N canaries on rate(1 minute), spread over the minute, no sinks; CPU per run,
# schedule lateness p99 and resident memory over 40 s after 10 s of warm-up (runs read from its
# log lines).
daemon() {
    local bin=$1 n=$2 dir=$work/daemon$2 log=$work/daemon.log
    if [ ! -d "$dir" ]; then
        mkdir -p "$dir"
        for i in $(seq "$n"); do
            printf 'name: d-%s\nschedule: rate(1 minute)\nhttp:\n  url: %s\n  assert:\n    - status: 200\n    - json: { path: $.status, equals: ok }\n' \
                "$i" "$url" >"$dir/d-$i.yaml"
        done
    fi
    "$bin" run "$dir" --spread 60s --max-concurrent 64 --log-format json 2>"$log" &
    local pid=$!
    sleep 10
    local c0 l0 c1 l1 rss
    c0=$(awk '{print $14+$15}' /proc/$pid/stat); l0=$(wc -l <"$log")
    sleep 40
    c1=$(awk '{print $14+$15}' /proc/$pid/stat); l1=$(wc -l <"$log")
    rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    sed -n "$((l0 + 1)),${l1}p" "$log" | python3 -c "
import json, sys
late = sorted(e['lateness_ms'] for e in map(json.loads, sys.stdin) if e.get('message') == 'run')
cpu = ($c1 - $c0) / $(getconf CLK_TCK) * 1000
print('%.3f ms, lateness p99 %.1f ms, %.0f MB' % (cpu / max(1, len(late)), late[int(0.99 * len(late))] if late else 0, $rss / 1024))"
}
# The floor: a blocking C loop making the same request as often (every 60 ms and every 6 ms).
cc -O2 -o "$work/floor" benches/floor.c
for n in 1000 10000; do
    new=$(daemon "$canary" "$n")
    old="-"
    [ -n "$base" ] && old=$(daemon "$base" "$n")
    floor=$("$work/floor" "$port" $((60000 / n)) $((n * 40 / 60)) | cut -d, -f1)
    row "canary run, $n canaries: CPU per run, lateness p99, resident" "$new" "$old" \
        "C loop, one request per $((60000 / n)) ms: $floor" "$(ratio "${new%% ms*}" "${floor%% ms}")"
done

echo
echo "canary vs peers on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo
echo "| figure | canary | canary (CANARY_BASE) | peer | ratio canary/peer |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
