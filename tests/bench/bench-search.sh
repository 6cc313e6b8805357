#!/bin/sh
# bench-search.sh: authenticated memory search through `reflection serve`.
#
#   tests/bench/bench-search.sh [BUILDDIR]
#
# Seeds a fresh data folder with `bench-api seed` (a tenant, a member, an
# API key with every scope and MEMORIES memories, default 10000), starts
# `reflection serve --port 0 --data-dir` on it, then runs wrk with a Lua
# script that POSTs /api/v1/memories/search {"query": …, "k": 10,
# "user_id": …} with "Authorization: Bearer <the API key>", cycling through
# a fixed list of queries: a 2 s warm-up, then one run bounded by DURATION
# (default 10s) with THREADS (2) threads, for each number of connections in
# CONNECTIONS (default "8 16 50"). GET /healthz is measured the same way
# for comparison. Installs wrk with
# apt-get when it is missing. Prints the API key, a table of requests per
# second and latency percentiles, then stops the server with SIGTERM.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${1:-$top/build}
app="$builddir/src/reflection"
bench="$builddir/tests/bench/bench-api"
memories=${MEMORIES:-10000}
duration=${DURATION:-10s}
threads=${THREADS:-2}
connections=${CONNECTIONS:-8 16 50}

for program in "$app" "$bench"; do
  [ -x "$program" ] || { echo "bench-search.sh: $program is not built" >&2; exit 1; }
done

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench-search.sh: installing wrk" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y -o DPkg::Lock::Timeout=300 wrk >/dev/null
fi

tmp=$(mktemp -d /tmp/rfl-bench-search.XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$bench" seed "$tmp/data" "$memories" > "$tmp/seed"
api_key=$(sed -n 's/^api_key=//p' "$tmp/seed")
user_id=$(sed -n 's/^user_id=//p' "$tmp/seed")
stored=$(sed -n 's/^memories=//p' "$tmp/seed")
echo "seeded $stored memories for user $user_id; API key $api_key"

env -u DISPLAY -u WAYLAND_DISPLAY "$app" serve --port 0 --data-dir "$tmp/data" \
  > "$tmp/log" 2> "$tmp/err" &
pid=$!

url=""
for _ in $(seq 1 100); do
  url=$(sed -n '1s/^listening on //p' "$tmp/log")
  [ -n "$url" ] && break
  sleep 0.05
done
[ -n "$url" ] || { echo "bench-search.sh: the server did not start:" >&2; cat "$tmp/err" >&2; exit 1; }

cat > "$tmp/search.lua" <<EOF
local queries = {
  "coffee garden", "train ticket monday", "doctor appointment knee",
  "birthday of my sister", "piano and guitar music", "winter holiday mountain",
  "allergy peanuts medicine", "museum painting city", "breakfast bread cheese",
  "project deadline invoice", "swimming yoga running marathon", "cat dog parrot",
}
local bodies = {}
for i, q in ipairs(queries) do
  bodies[i] = '{"query": "' .. q .. '", "k": 10, "user_id": $user_id}'
end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $api_key"
request = function()
  n = n + 1
  return wrk.format(nil, "/api/v1/memories/search", nil, bodies[(n % #bodies) + 1])
end
EOF

status=$(curl -s -o "$tmp/first" -w '%{http_code}' "$url/api/v1/memories/search" \
  -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' \
  -d "{\"query\": \"coffee garden\", \"k\": 10, \"user_id\": $user_id}")
hits=$(grep -o '"memory":' "$tmp/first" | wc -l)
[ "$status" = 200 ] && [ "$hits" -eq 10 ] || {
  echo "bench-search.sh: a search answered $status with $hits hits:" >&2
  head -c 500 "$tmp/first" >&2
  exit 1
}

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

row() {
  name=$1
  c=$2
  shift 2
  wrk -t"$threads" -c"$c" -d2s "$@" > /dev/null
  wrk -t"$threads" -c"$c" -d"$duration" --latency "$@" > "$tmp/wrk"
  rps=$(sed -n 's/^Requests\/sec: *//p' "$tmp/wrk")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$tmp/wrk")")
  p90=$(to_ms "$(awk '$1 == "90%" {print $2}' "$tmp/wrk")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$tmp/wrk")")
  max=$(to_ms "$(awk '$1 == "Latency" {print $4; exit}' "$tmp/wrk")")
  errors=$(awk '/^  Non-2xx/ {n += $NF} /^  Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$tmp/wrk")
  printf '%-28s %5s %12s %9s %9s %9s %9s %8s\n' \
    "$name" "$c" "$rps" "$p50" "$p90" "$p99" "$max" "$errors"
}

echo "reflection serve on $url: wrk -t$threads -d$duration --latency ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-28s %5s %12s %9s %9s %9s %9s %8s\n' \
  request conns requests/s p50-ms p90-ms p99-ms max-ms errors
for c in $connections; do
  row "GET /healthz" "$c" "$url/healthz"
done
for c in $connections; do
  row "POST memories/search (k=10)" "$c" -s "$tmp/search.lua" "$url"
done

rss=$(awk '/^VmHWM/ {print $2 / 1024}' "/proc/$pid/status")
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
echo "server: peak RSS ${rss} MB, exit status $status after SIGTERM"
