#!/bin/sh
# SPDX-License-Identifier: MIT
# run-e2e.sh: runs every end-to-end script tests/t-*.sh (and, with
# STRESS=1, tests/stress-*.sh) against the built binary, then prints one
# "N passed, N failed, N skipped" line.  A script's standard error (the
# messages of commands whose status is what it checks, a shell's report
# of a process it killed on purpose) is shown only when the script fails.
cd "$(dirname "$0")/.." || exit 1
pass=0 fail=0 skipped=0
pat='tests/t-*.sh'
[ "${STRESS:-0}" = 1 ] && pat='tests/stress-*.sh'
err=$(mktemp "${TMPDIR:-/tmp}/spamsift-e2e.XXXXXX") || exit 1
trap 'rm -f "$err"' EXIT
for t in $pat; do
	[ -f "$t" ] || continue
	out=$(sh "$t" 2>"$err")
	rc=$?
	printf '%s\n' "$out" | grep -v '^ok - ' || true
	p=$(printf '%s\n' "$out" | grep -c '^ok - ')
	f=$(printf '%s\n' "$out" | grep -c '^not ok - ')
	s=$(printf '%s\n' "$out" | grep -c '^skip - ')
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $t exited $rc"
		f=1
	fi
	[ "$f" = 0 ] || sed "s|^|# $t stderr: |" "$err"
	pass=$((pass + p)) fail=$((fail + f)) skipped=$((skipped + s))
done
echo "e2e: $pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
