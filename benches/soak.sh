#!/usr/bin/env bash
# The soak benchmark: `canary run` for an hour (SOAK_SECONDS) over 1,000 canaries on
# rate(1 minute) against passing, failing, slow, refused, resetting and hostile endpoints
# (trickling bodies, a 64 MiB compression bomb, an endless redirect, bytes that are not HTTP),
# plus browser canaries that pass and fail when chromedriver is installed; the Prometheus sink and
# a local archive are on. Every 30 s it samples the process's resident memory, open file
# descriptors, threads, live child processes and zombies, then prints each one's slope per hour
# after the first two minutes, and whether it is flat: memory within 10 % of its first
# post-warm-up sample and growing under 5 MB an hour; descriptors, threads and children no higher
# at the end than their highest in the first ten minutes (runs in flight come and go); never a
# zombie. Not part of CI.
#
#   benches/soak.sh            # SOAK_SECONDS=600 for a short one; CANARY=path to use a built binary
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${SOAK_SECONDS:-3600}
canary=${CANARY:-}
if [ -z "$canary" ]; then
    cargo build --release --quiet
    canary=$PWD/target/release/canary
fi
work=$(mktemp -d)
port=18790
metrics=18791
python3 benches/soak/server.py "$port" &
server=$!
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    kill "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

u=http://127.0.0.1:$port
mk() { # name count url timeout extra-yaml
    for i in $(seq "$2"); do
        printf 'name: %s-%s\nschedule: rate(1 minute)\ntimeout: %s\n%bhttp:\n  url: %s\n  max_body: 1MiB\n  assert:\n    - status: 200\n    - json: { path: $.status, equals: ok }\n' \
            "$1" "$i" "$4" "${5:-}" "$3" >"$work/canaries/$1-$i.yaml"
    done
}
mkdir -p "$work/canaries"
mk ok 500 "$u/ok" 10s
mk retried 50 "$u/fail" 10s 'retries: 1\n'
mk fail 50 "$u/fail" 10s
mk slow 80 "$u/slow" 2s
mk reset 60 "$u/reset" 10s
mk refused 60 "http://127.0.0.1:9/" 10s
mk trickle 60 "$u/trickle" 5s
mk bomb 40 "$u/bomb" 10s
mk loop 50 "$u/loop" 10s
mk garbage 50 "$u/garbage" 10s
browsers=0
if command -v chromedriver >/dev/null; then
    for kind in pass missing eval; do
        case $kind in
            pass) step='    - click: "#go"\n    - assert: { selector: "#out", text_equals: done }' ;;
            missing) step='    - click: "#missing"' ;;
            eval) step='    - eval: "1 === 2"' ;;
        esac
        printf "name: browser-%s\nschedule: rate(1 minute)\ntimeout: 30s\nbrowser:\n  steps:\n    - goto: %s/page\n$step\n" \
            "$kind" "$u" >"$work/canaries/browser-$kind.yaml"
        browsers=$((browsers + 1))
    done
else
    echo "no chromedriver: the browser canaries are left out (apt-get install chromium chromium-driver)" >&2
fi
echo "soak: $(ls "$work/canaries" | wc -l) canaries ($browsers browser), ${seconds}s, samples every 30 s" >&2

"$canary" run "$work/canaries" --spread 60s --metrics prometheus --listen "127.0.0.1:$metrics" \
    --archive "$work/archive" --artifacts "$work/artifacts" --log-format json 2>"$work/log.json" >/dev/null &
pid=$!

sample() {
    local t=$1 rss fds threads children zombies
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    threads=$(awk '/^Threads/ {print $2}' "/proc/$pid/status")
    fds=$(ls "/proc/$pid/fd" | wc -l)
    # every process below canary (chromedriver and its browsers), and those that are zombies
    children=$(ps -e -o pid=,ppid=,stat= | awk -v root="$pid" '
        { parent[$1] = $2; state[$1] = $3 }
        END { for (p in parent) { q = parent[p]; while (q && q != root && q in parent) q = parent[q];
                if (q == root) { n++; if (state[p] ~ /^Z/) z++ } } print n + 0, z + 0 }')
    runs=$(grep -c '"message":"run"' "$work/log.json" || true)
    echo "$t $((rss / 1024)) $fds $threads $children $runs"
}

samples=$work/samples
start=$(date +%s)
printf '%8s %8s %6s %8s %9s %8s %8s\n' seconds rss_MB fds threads children zombies runs
while :; do
    now=$(($(date +%s) - start))
    line=$(sample "$now")
    echo "$line" >>"$samples"
    printf '%8s %8s %6s %8s %9s %8s %8s\n' $line
    [ "$now" -ge "$seconds" ] && break
    sleep 30
done
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
left=$(ps -e -o pid=,comm= | grep -c -E 'chromedriver|chromium' || true)
python3 - "$samples" "$left" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
after = [r for r in rows if r[0] >= 120] or rows
def slope(col):
    xs = [r[0] / 3600 for r in after]; ys = [r[col] for r in after]
    n = len(xs); mx = sum(xs) / n; my = sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs) or 1
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den
first = after[0]
early = [r for r in rows if r[0] <= 600]
end = rows[-1]
runs = end[6] - first[6]
print()
print(f"runs: {int(end[6])} in {int(end[0])} s ({runs / max(1, end[0] - first[0]):.1f}/s after warm-up)")
verdicts = []
rss_ok = end[1] <= first[1] * 1.10 and slope(1) < 5
verdicts.append(("resident memory", f"{first[1]:.0f} → {end[1]:.0f} MB, slope {slope(1):+.1f} MB/h", rss_ok))
for col, name in [(2, "file descriptors"), (3, "threads"), (4, "child processes")]:
    peak = max(r[col] for r in early)
    verdicts.append((name, f"{first[col]:.0f} → {end[col]:.0f} (first ten minutes' peak {peak:.0f}), slope {slope(col):+.1f}/h", end[col] <= peak))
zombies = max(r[5] for r in rows)
verdicts.append(("zombies", f"at most {zombies:.0f} at any sample", zombies == 0))
verdicts.append(("browser processes after SIGTERM", sys.argv[2], sys.argv[2] == "0"))
for name, text, ok in verdicts:
    print(f"{name:32} {text:60} {'flat' if ok else 'NOT FLAT'}")
sys.exit(0 if all(v[2] for v in verdicts) else 1)
PY
