#!/bin/sh
# startup.sh: cold start to first frame and idle memory of the application.
#
#   tests/bench/startup.sh [BUILDDIR] [RUNS]
#
# Starts `reflection` RUNS times (default 10) on a virtual display with a
# fresh home whose settings say setup is complete, so the main window is what
# appears. The application reports the wall-clock time of its first painted
# frame (RFL_REPORT_FIRST_FRAME); the difference to the moment before exec is
# the start-up time. Idle RSS is read from /proc three seconds after the
# first frame. Each renderer in RENDERERS (default "gl cairo") is measured:
# under Xvfb "gl" is Mesa's software rasteriser, whose LLVM JIT alone adds
# some 70 MB that a hardware driver does not. Needs xvfb-run and
# dbus-run-session; prints a table.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${1:-$top/build}
runs=${2:-10}
app="$builddir/src/reflection"
[ -x "$app" ] || { echo "startup.sh: $app is not built" >&2; exit 1; }

if [ -z "${RFL_BENCH_INNER:-}" ]; then
  export RFL_BENCH_INNER=1
  exec dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" "$0" "$builddir" "$runs"
fi

tmp=$(mktemp -d /tmp/rfl-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/config/glib-2.0/settings"
printf '[org/reflection/Reflection]\nsetup-complete=true\n' \
  > "$tmp/config/glib-2.0/settings/keyfile"

export HOME="$tmp" XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data"
export GSETTINGS_BACKEND=keyfile GSETTINGS_SCHEMA_DIR="$builddir/data"
export GTK_A11Y=none NO_AT_BRIDGE=1 RFL_REPORT_FIRST_FRAME=1

median() { echo "$@" | tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
summary=""
for renderer in ${RENDERERS:-gl cairo}; do
  export GSK_RENDERER="$renderer"
  echo "renderer: $renderer"
  printf '%-5s %14s %12s\n' run first-frame-ms idle-rss-mb
  i=1
  all_ms=""
  all_rss=""
  while [ "$i" -le "$runs" ]; do
    sync
    start=$(date +%s%6N)
    "$app" 2> "$tmp/err" &
    pid=$!
    frame=""
    for _ in $(seq 1 200); do
      frame=$(sed -n 's/^RFL_FIRST_FRAME_REALTIME_US=\([0-9]*\)$/\1/p' "$tmp/err" | head -n 1)
      [ -n "$frame" ] && break
      sleep 0.05
    done
    if [ -z "$frame" ]; then
      kill "$pid" 2>/dev/null || true
      echo "startup.sh: run $i never reported a first frame:" >&2
      cat "$tmp/err" >&2
      exit 1
    fi
    sleep 3
    rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    ms=$(( (frame - start) / 1000 ))
    rss=$(awk "BEGIN {printf \"%.1f\", $rss_kb / 1024}")
    printf '%-5s %14s %12s\n' "$i" "$ms" "$rss"
    all_ms="$all_ms $ms"
    all_rss="$all_rss $rss"
    i=$((i + 1))
  done

  summary="$summary$renderer $(median $all_ms) $(median $all_rss)
  "
  echo
done
printf '%-8s %-28s %10s %10s\n' renderer metric median target
echo "$summary" | while read -r r ms rss; do
  [ -n "$r" ] || continue
  printf '%-8s %-28s %10s %10s\n' "$r" "cold start to first frame" "$ms ms" "< 400 ms"
  printf '%-8s %-28s %10s %10s\n' "$r" "idle RSS" "$rss MB" "< 120 MB"
done
