#!/bin/sh
# check-potfiles.sh: check that po/POTFILES.in is sorted and complete
#
# Copyright 2026 The Reflection authors
# SPDX-License-Identifier: MIT
#
# Usage: check-potfiles.sh [SOURCE_ROOT]
#
# Fails when po/POTFILES.in
#  - is not sorted (byte order, as `LC_ALL=C sort` orders it),
#  - lists a file twice or lists a file that does not exist,
#  - misses a file under src/ (*.c, *.h) or resources/ (*.ui) that has
#    translatable strings, or a translatable file in data/ (desktop entry,
#    AppStream metadata, GSettings schema).

set -u
LC_ALL=C
export LC_ALL

root=${1:-.}
potfiles=$root/po/POTFILES.in

if [ ! -f "$potfiles" ]; then
  echo "FAIL: $potfiles does not exist"
  exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

status=0

# The listed files: no comments, no blank lines, no surrounding blanks.
sed -e 's/#.*$//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$potfiles" \
  | grep -v '^$' > "$tmp/listed"

if ! sort -c "$tmp/listed" 2>/dev/null; then
  echo "FAIL: po/POTFILES.in is not sorted; expected this order:"
  sort "$tmp/listed" | sed 's/^/  /'
  status=1
fi

sort "$tmp/listed" | uniq -d > "$tmp/twice"
if [ -s "$tmp/twice" ]; then
  echo "FAIL: po/POTFILES.in lists these files more than once:"
  sed 's/^/  /' "$tmp/twice"
  status=1
fi

while IFS= read -r file; do
  if [ ! -f "$root/$file" ]; then
    echo "FAIL: po/POTFILES.in lists $file, which does not exist"
    status=1
  fi
done < "$tmp/listed"

# The files that need to be listed.
: > "$tmp/needed"
if [ -d "$root/src" ]; then
  (cd "$root" && find src -type f \( -name '*.c' -o -name '*.h' \) \
     -exec grep -l -E \
       '(^|[^A-Za-z0-9_])(_|N_|C_|NC_|ngettext|g_dngettext|g_dpgettext2) *\(' \
       {} +) >> "$tmp/needed"
fi
if [ -d "$root/resources" ]; then
  (cd "$root" && find resources -type f -name '*.ui' \
     -exec grep -l -E 'translatable="(yes|true|1)"' {} +) >> "$tmp/needed"
fi
if [ -d "$root/data" ]; then
  (cd "$root" && find data -type f \( -name '*.desktop.in' \
     -o -name '*.metainfo.xml.in' -o -name '*.gschema.xml' \)) >> "$tmp/needed"
fi

sort -u "$tmp/needed" > "$tmp/needed.sorted"
sort -u "$tmp/listed" > "$tmp/listed.sorted"
comm -23 "$tmp/needed.sorted" "$tmp/listed.sorted" > "$tmp/missing"
if [ -s "$tmp/missing" ]; then
  echo "FAIL: these files have translatable strings but are not in po/POTFILES.in:"
  sed 's/^/  /' "$tmp/missing"
  status=1
fi

if [ "$status" -eq 0 ]; then
  echo "po/POTFILES.in is sorted and complete ($(wc -l < "$tmp/listed" | tr -d ' ') files)"
fi
exit "$status"
