#!/usr/bin/env python3
# summarize.py: count the results in meson's testlog.json and print one line
# "N passed, M failed" (with ", K skipped" when any were skipped). TAP
# programs are counted by their test cases; a program that crashed or timed
# out after its last reported case counts one more failure.
import json
import re
import sys

TAP_LINE = re.compile(r"^(not ok|ok)\b(.*)$", re.MULTILINE)

passed = failed = skipped = 0
try:
    with open(sys.argv[1], encoding="utf-8") as log:
        entries = [json.loads(line) for line in log if line.strip()]
except OSError as err:
    print(f"summarize.py: cannot read {sys.argv[1]}: {err.strerror}", file=sys.stderr)
    entries = []

for entry in entries:
    result = entry.get("result")
    cases = TAP_LINE.findall(entry.get("stdout") or "")
    if not cases:
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
        continue

    case_failures = 0
    for verdict, rest in cases:
        if "# SKIP" in rest.upper():
            skipped += 1
        elif verdict == "ok" or "# TODO" in rest.upper():
            passed += 1
        else:
            case_failures += 1
    failed += case_failures
    if result not in ("OK", "EXPECTEDFAIL", "SKIP") and case_failures == 0:
        failed += 1

if not entries:
    print("0 passed, 1 failed")
else:
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
