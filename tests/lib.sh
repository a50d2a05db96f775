# SPDX-License-Identifier: MIT
# lib.sh - sourced by the end-to-end scripts tests/t-*.sh.
# Gives: $SPAMSIFT (the built binary), $TOP (the source tree), $T (a fresh
# private temp dir removed at exit), $SHARED (../shared/corpus or empty),
# and ok/fail/skip/check helpers that count results for run-e2e.sh.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
SPAMSIFT=${SPAMSIFT:-$TOP/spamsift}
SHARED=
[ -d "$TOP/../shared/corpus" ] && SHARED=$(cd "$TOP/../shared/corpus" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/spamsift-test.XXXXXX")
chmod 700 "$T"
trap 'rm -rf "$T"' EXIT
export HOME="$T/home"
mkdir -m 700 "$HOME"
unset SPAMSIFT_HOME
_pass=0 _fail=0 _skip=0
_name=$(basename "$0" .sh)

ok() { _pass=$((_pass + 1)); echo "ok - $_name: $*"; }
fail() { _fail=$((_fail + 1)); echo "not ok - $_name: $*"; }
skip() { _skip=$((_skip + 1)); echo "skip - $_name: $*"; }
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() {
	_d=$1
	shift
	if "$@"; then ok "$_d"; else fail "$_d"; fi
}
# status_is WANT DESCRIPTION COMMAND...: ok when COMMAND exits WANT.
status_is() {
	_w=$1 _d=$2
	shift 2
	"$@"
	_s=$?
	if [ "$_s" = "$_w" ]; then ok "$_d"; else fail "$_d (status $_s, want $_w)"; fi
}
# garbage_store DIR: DIR (mode 0700) holding a spamsift.db that is not a
# database at all, as a corrupt store for the error paths.
garbage_store() {
	mkdir -p -m 700 "$1"
	_i=0
	while [ $_i -lt 300 ]; do
		echo "garbage, not a database $_i"
		_i=$((_i + 1))
	done >"$1/spamsift.db"
	chmod 600 "$1/spamsift.db"
}
# done_testing: print the counts line read by run-e2e.sh, exit non-zero
# on failure.
done_testing() {
	echo "# $_name: $_pass passed, $_fail failed, $_skip skipped"
	[ "$_fail" = 0 ]
	exit $?
}
