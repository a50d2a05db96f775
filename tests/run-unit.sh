#!/bin/sh
# SPDX-License-Identifier: MIT
# run-unit.sh SUITE ... : runs each Check suite; fails if any fails.
# Each suite prints Check's own "N%: Checks: N, Failures: N, Errors: N".
rc=0
for t in "$@"; do
	echo "== $t"
	CK_FORK=yes "./$t" || rc=1
done
exit $rc
