#!/bin/sh
# run-tool.sh: run a packaging tool, or skip the test when it is missing
#
# Copyright 2026 The Reflection authors
# SPDX-License-Identifier: MIT
#
# Usage: run-tool.sh TOOL [ARGUMENT...]
# Exits 77, which meson reports as SKIP, when TOOL is not installed.

tool=$1
if ! command -v "$tool" >/dev/null 2>&1; then
  echo "$tool is not installed: skipping"
  exit 77
fi
exec "$@"
