#!/bin/sh
# test-check-potfiles.sh: show that check-potfiles.sh accepts a good
# POTFILES.in and rejects each kind of bad one
#
# Copyright 2026 The Reflection authors
# SPDX-License-Identifier: MIT
#
# Usage: test-check-potfiles.sh PATH/TO/check-potfiles.sh
# Prints TAP.

check=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

n=0
failed=0

# A small source tree: one C file and one UI file with strings, one C file
# and one UI file without, and a desktop entry.
make_tree ()
{
  rm -rf "$tmp/tree"
  mkdir -p "$tmp/tree/po" "$tmp/tree/src/ui" "$tmp/tree/src/core" \
           "$tmp/tree/resources/ui" "$tmp/tree/data"
  printf 'static const char *s = N_("Hello");\n' > "$tmp/tree/src/ui/a.c"
  printf 'g_set_error (error, D, 0, _ ("Bad input"));\n' > "$tmp/tree/src/core/b.c"
  printf 'int plain_(void);\nint x = y_ (1);\n' > "$tmp/tree/src/core/c.c"
  printf '<property name="label" translatable="yes">Go</property>\n' \
    > "$tmp/tree/resources/ui/w.ui"
  printf '<property name="label">x</property>\n' > "$tmp/tree/resources/ui/v.ui"
  printf '[Desktop Entry]\nName=X\n' > "$tmp/tree/data/x.desktop.in"
}

good_list ()
{
  printf '%s\n' data/x.desktop.in resources/ui/w.ui src/core/b.c src/ui/a.c
}

# expect NAME WANTED-STATUS: run the check on the tree and compare.
expect ()
{
  n=$((n + 1))
  sh "$check" "$tmp/tree" > "$tmp/out" 2>&1
  got=$?
  if { [ "$2" = pass ] && [ "$got" -eq 0 ]; } ||
     { [ "$2" = fail ] && [ "$got" -ne 0 ]; }; then
    echo "ok $n - $1"
  else
    echo "not ok $n - $1 (exit status $got)"
    sed 's/^/# /' "$tmp/out"
    failed=1
  fi
}

echo "1..7"

make_tree
good_list > "$tmp/tree/po/POTFILES.in"
expect "complete and sorted list passes" pass

make_tree
{ echo "# A comment"; good_list; echo; } > "$tmp/tree/po/POTFILES.in"
expect "comments and blank lines are ignored" pass

make_tree
good_list | sort -r > "$tmp/tree/po/POTFILES.in"
expect "unsorted list fails" fail

make_tree
good_list | grep -v '^src/core/b.c$' > "$tmp/tree/po/POTFILES.in"
expect "missing C file with _() fails" fail

make_tree
good_list | grep -v '^resources/ui/w.ui$' > "$tmp/tree/po/POTFILES.in"
expect "missing UI file with translatable=\"yes\" fails" fail

make_tree
{ good_list; echo src/ui/zz-gone.c; } > "$tmp/tree/po/POTFILES.in"
expect "list naming a file that does not exist fails" fail

make_tree
good_list | grep -v '^data/' > "$tmp/tree/po/POTFILES.in"
expect "missing desktop entry fails" fail

exit "$failed"
