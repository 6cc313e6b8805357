#!/bin/sh
# check-appstream-tree.sh: validate the desktop entry, the AppStream
# metadata and the icons together, laid out as they are installed
#
# Copyright 2026 The Reflection authors
# SPDX-License-Identifier: MIT
#
# Usage: check-appstream-tree.sh DESKTOP METAINFO ICON SYMBOLIC-ICON
# Exits 77 (SKIP) when appstreamcli is not installed.

if ! command -v appstreamcli >/dev/null 2>&1; then
  echo "appstreamcli is not installed: skipping"
  exit 77
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

share=$tmp/usr/share
mkdir -p "$share/applications" "$share/metainfo" \
         "$share/icons/hicolor/scalable/apps" \
         "$share/icons/hicolor/symbolic/apps" || exit 1
cp "$1" "$share/applications/" &&
cp "$2" "$share/metainfo/" &&
cp "$3" "$share/icons/hicolor/scalable/apps/" &&
cp "$4" "$share/icons/hicolor/symbolic/apps/" || exit 1

exec appstreamcli validate-tree --no-net "$tmp"
