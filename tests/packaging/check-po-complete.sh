#!/bin/sh
# check-po-complete.sh: every translation in po/LINGUAS is complete for the
# strings the sources have now: no untranslated and no fuzzy messages, and
# msgfmt --check accepts it (format strings match their originals).
#
# Copyright 2026 The Reflection authors
# SPDX-License-Identifier: MIT
#
# Usage: check-po-complete.sh SOURCE_ROOT
set -u
root=${1:-.}

for tool in xgettext msgmerge msgfmt; do
  command -v $tool >/dev/null 2>&1 || { echo "SKIP: $tool is not installed"; exit 77; }
done

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# The same keywords and flags as meson's glib preset for i18n.gettext.
(cd "$root" && xgettext --files-from=po/POTFILES.in --from-code=UTF-8 \
  --add-comments --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
  --keyword=NC_:1c,2 --keyword=g_dngettext:2,3 --keyword=ngettext:1,2 \
  --output="$tmp/reflection.pot") || { echo "FAIL: xgettext failed"; exit 1; }

status=0
for lang in $(sed -e 's/#.*//' "$root/po/LINGUAS"); do
  po="$root/po/$lang.po"
  if [ ! -f "$po" ]; then
    echo "FAIL: po/LINGUAS lists $lang but po/$lang.po does not exist"
    status=1
    continue
  fi
  msgmerge --quiet --no-fuzzy-matching --output-file="$tmp/$lang.po" "$po" "$tmp/reflection.pot" \
    || { echo "FAIL: msgmerge failed for $lang"; status=1; continue; }
  stats=$(LC_ALL=C msgfmt --check --statistics --output-file=/dev/null "$tmp/$lang.po" 2>&1) \
    || { echo "FAIL: msgfmt --check rejects po/$lang.po:"; echo "$stats"; status=1; continue; }
  case "$stats" in
    *untranslated*|*fuzzy*)
      echo "FAIL: po/$lang.po is incomplete: $stats"
      LC_ALL=C msgattrib --untranslated --only-fuzzy "$tmp/$lang.po" 2>/dev/null | grep '^msgid' | head -n 20
      LC_ALL=C msgattrib --untranslated "$tmp/$lang.po" | grep '^msgid ' | head -n 40
      status=1 ;;
    *) echo "ok: po/$lang.po: $stats" ;;
  esac
done
exit $status
