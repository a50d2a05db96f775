#!/bin/sh
# SPDX-License-Identifier: MIT
# valgrind.sh (make valgrind): the unit suites, and the binary training,
# classifying and piping the sample corpus, under valgrind memcheck.
# Fails on any error or definite leak (tests/valgrind.supp: one glibc
# loader false positive).  Prints the plain "N passed, N failed" line.
cd "$(dirname "$0")/.." || exit 1
command -v valgrind >/dev/null 2>&1 || {
	echo "valgrind: not installed (apt-get install valgrind): skipped"
	echo "valgrind: 0 passed, 0 failed, 1 skipped"
	exit 0
}
VG="valgrind -q --error-exitcode=99 --leak-check=full \
--errors-for-leak-kinds=definite --suppressions=tests/valgrind.supp"
pass=0 fail=0
run() {
	d=$1
	shift
	if "$@" >/dev/null 2>"$T/vg.err"; [ $? != 99 ] &&
	    ! grep -q '^==[0-9]*== [A-Z]' "$T/vg.err"; then
		pass=$((pass + 1))
		echo "ok - valgrind: $d"
	else
		fail=$((fail + 1))
		echo "not ok - valgrind: $d"
		head -n 30 "$T/vg.err"
	fi
}
T=$(mktemp -d "${TMPDIR:-/tmp}/spamsift-vg.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
chmod 700 "$T"
for t in "$@"; do
	run "$t" env CK_FORK=no $VG "./$t"
done
H=$T/home
run "train spam" $VG ./spamsift --homedir "$H" -s corpus/spam
run "train clean" $VG ./spamsift --homedir "$H" -c corpus/ham
run "classify the sample mbox" $VG ./spamsift --homedir "$H" corpus/sample.mbox
run "pipe, -a" sh -c "$VG ./spamsift --homedir '$H' -a --pipe \
--insert-flag --insert-probability < corpus/spam/spam-002.eml"
run "Japanese fixtures, tokens" $VG ./spamsift --show-tokens tests/data/ja-*.eml
run "explain" $VG ./spamsift --homedir "$H" --explain corpus/ham/ham-003.eml
run "tune" $VG ./spamsift --tune corpus/index
echo "valgrind: $pass passed, $fail failed"
[ "$fail" = 0 ]
