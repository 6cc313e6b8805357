#!/bin/sh
# bench-http.sh: throughput and latency of `reflection serve` on loopback.
#
#   tests/bench/bench-http.sh [BUILDDIR]
#
# Starts `reflection serve --port 0` with a fresh data folder (its request
# log goes to a file, as it would in production), then runs wrk against each
# path in PATHS (default "/healthz"), every run bounded by DURATION (default
# 10s) with THREADS (2) threads and CONNECTIONS (50) connections, after a
# 2 s warm-up. Installs wrk with apt-get when it is missing. Prints a table
# of requests per second and latency percentiles, then stops the server
# with SIGTERM and reports how it exited.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${1:-$top/build}
app="$builddir/src/reflection"
paths=${PATHS:-/healthz}
duration=${DURATION:-10s}
threads=${THREADS:-2}
connections=${CONNECTIONS:-50}

[ -x "$app" ] || { echo "bench-http.sh: $app is not built" >&2; exit 1; }

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench-http.sh: installing wrk" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y -o DPkg::Lock::Timeout=300 wrk >/dev/null
fi

tmp=$(mktemp -d /tmp/rfl-bench-http.XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

env -u DISPLAY -u WAYLAND_DISPLAY "$app" serve --port 0 --data-dir "$tmp/data" \
  > "$tmp/log" 2> "$tmp/err" &
pid=$!

url=""
for _ in $(seq 1 100); do
  url=$(sed -n '1s/^listening on //p' "$tmp/log")
  [ -n "$url" ] && break
  sleep 0.05
done
[ -n "$url" ] || { echo "bench-http.sh: the server did not start:" >&2; cat "$tmp/err" >&2; exit 1; }

# Latency in milliseconds from wrk's "1.23ms", "456.00us" or "1.02s".
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000
    else if (v ~ /ms$/) n = n
    else if (v ~ /m$/) n *= 60000
    else if (v ~ /s$/) n *= 1000
    printf "%.2f", n
  }'
}

wrk -t"$threads" -c"$connections" -d2s "$url/healthz" > /dev/null

echo "reflection serve on $url: wrk -t$threads -c$connections -d$duration --latency ($(nproc) cores)"
printf '%-20s %12s %9s %9s %9s %9s %9s %8s\n' \
  path requests/s p50-ms p75-ms p90-ms p99-ms max-ms errors
for path in $paths; do
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$url$path" > "$tmp/wrk"
  rps=$(sed -n 's/^Requests\/sec: *//p' "$tmp/wrk")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$tmp/wrk")")
  p75=$(to_ms "$(awk '$1 == "75%" {print $2}' "$tmp/wrk")")
  p90=$(to_ms "$(awk '$1 == "90%" {print $2}' "$tmp/wrk")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$tmp/wrk")")
  max=$(to_ms "$(awk '$1 == "Latency" {print $4; exit}' "$tmp/wrk")")
  errors=$(awk '/^  Non-2xx/ {n += $NF} /^  Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$tmp/wrk")
  printf '%-20s %12s %9s %9s %9s %9s %9s %8s\n' \
    "$path" "$rps" "$p50" "$p75" "$p90" "$p99" "$max" "$errors"
done

rss=$(awk '/^VmHWM/ {print $2 / 1024}' "/proc/$pid/status")
lines=$(($(wc -l < "$tmp/log") - 2))
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
echo "server: peak RSS ${rss} MB, $lines request log lines, exit status $status after SIGTERM"
