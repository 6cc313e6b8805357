#!/bin/sh
# check-svg.sh: check that icons are well-formed SVG, and that symbolic
# icons use only the one colour GTK recolours
#
# Copyright 2026 The Reflection authors
# SPDX-License-Identifier: MIT
#
# Usage: check-svg.sh SVG-OR-FOLDER...
# A folder stands for every *.svg file below it.
# Exits 77 (SKIP) when xmllint is not installed.

if ! command -v xmllint >/dev/null 2>&1; then
  echo "xmllint is not installed: skipping"
  exit 77
fi

tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT INT TERM

for arg in "$@"; do
  if [ -d "$arg" ]; then
    find "$arg" -type f -name '*.svg' | LC_ALL=C sort
  else
    printf '%s\n' "$arg"
  fi
done > "$tmp"

status=0
count=0
while IFS= read -r svg; do
  count=$((count + 1))
  if ! xmllint --noout "$svg"; then
    echo "FAIL: $svg is not well-formed XML"
    status=1
    continue
  fi

  root=$(xmllint --xpath 'local-name(/*)' "$svg" 2>/dev/null)
  if [ "$root" != svg ]; then
    echo "FAIL: $svg has root element <$root>, not <svg>"
    status=1
    continue
  fi

  case $svg in
    *-symbolic.svg)
      viewbox=$(xmllint --xpath 'string(/*/@viewBox)' "$svg")
      if [ "$viewbox" != "0 0 16 16" ]; then
        echo "FAIL: $svg has viewBox \"$viewbox\", not \"0 0 16 16\""
        status=1
      fi
      colours=$(grep -o -i -E '#[0-9a-f]{6}\b|#[0-9a-f]{3}\b' "$svg" \
                | tr 'A-F' 'a-f' | sort -u | grep -v -x '#2e3436')
      if [ -n "$colours" ]; then
        echo "FAIL: $svg uses colours other than #2e3436:" $colours
        status=1
      fi
      if grep -q -E 'Gradient|<image|<text' "$svg"; then
        echo "FAIL: $svg uses gradients, images or text"
        status=1
      fi
      ;;
    *)
      viewbox=$(xmllint --xpath 'string(/*/@viewBox)' "$svg")
      if [ "$viewbox" != "0 0 128 128" ]; then
        echo "FAIL: $svg has viewBox \"$viewbox\", not \"0 0 128 128\""
        status=1
      fi
      ;;
  esac
done < "$tmp"

[ "$status" -eq 0 ] && echo "$count icons checked"
exit "$status"
