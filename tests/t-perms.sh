#!/bin/sh
# SPDX-License-Identifier: MIT
# t-perms.sh - the user's files stay private: a new home is created 0700
# and the store 0600 whatever the umask; a home or store that others can
# write, or a configuration file others can write, is refused with an
# error naming it (and in pipe mode the message still goes through, exit
# 75).
. "$(dirname "$0")/lib.sh"

C=$TOP/corpus
M=$C/ham/ham-001.eml
H=$T/home1

(umask 000; "$SPAMSIFT" --homedir "$H" -q -s "$C/spam/spam-001.eml")
check "training creates the home" [ -d "$H" ]
check "home is 0700 under umask 000 ($(stat -c %a "$H"))" \
    [ "$(stat -c %a "$H")" = 700 ]
check "store is 0600 under umask 000 ($(stat -c %a "$H/spamsift.db"))" \
    [ "$(stat -c %a "$H/spamsift.db")" = 600 ]

chmod 0777 "$H"
"$SPAMSIFT" --homedir "$H" "$M" >/dev/null 2>"$T/err"
rc=$?
check "world-writable home refused (status $rc)" [ "$rc" = 3 ]
check "the error names it" grep -q "$H" "$T/err"
"$SPAMSIFT" --homedir "$H" --pipe --insert-flag <"$M" >"$T/out" 2>/dev/null
rc=$?
check "pipe mode: status 75 ($rc)" [ "$rc" = 75 ]
check "pipe mode: message unchanged" cmp -s "$T/out" "$M"
chmod 0700 "$H"

chmod 0666 "$H/spamsift.db"
"$SPAMSIFT" --homedir "$H" "$M" >/dev/null 2>"$T/err"
rc=$?
check "world-writable store refused (status $rc)" [ "$rc" = 3 ]
check "the error names the store" grep -q "spamsift.db" "$T/err"
chmod 0600 "$H/spamsift.db"

chmod 0770 "$H"
"$SPAMSIFT" --homedir "$H" "$M" >/dev/null 2>&1
rc=$?
check "group-writable home refused (status $rc)" [ "$rc" = 3 ]
chmod 0700 "$H"

echo "insert-flag" > "$H/spamsift.conf"
chmod 0666 "$H/spamsift.conf"
"$SPAMSIFT" --homedir "$H" "$M" >/dev/null 2>"$T/err"
rc=$?
check "world-writable spamsift.conf refused (status $rc)" [ "$rc" = 64 ]
check "the error names the file" grep -q "spamsift.conf" "$T/err"
rm -f "$H/spamsift.conf"

"$SPAMSIFT" --homedir "$H" "$M" >/dev/null 2>&1
rc=$?
check "private again: classifies (status $rc)" [ "$rc" -le 1 ]

# -a on a store its owner may read but not write: classified, not
# learned, and said so (as when learning fails), in both modes.  As root
# (who writes anything) through setpriv as nobody.
R=$T/ro
mkdir -m 755 "$R"
cp -p "$H/spamsift.db" "$R/"
run_as=
BIN=$SPAMSIFT
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null 2>&1 &&
	    nobody=$(id -u nobody 2>/dev/null); then
		chmod 711 "$T"
		chown -R "$nobody" "$R"
		cp "$SPAMSIFT" "$T/ss-ro"
		chmod 755 "$T/ss-ro"
		BIN=$T/ss-ro
		run_as="setpriv --reuid=$nobody --regid=$nobody --clear-groups"
	else
		BIN=
	fi
fi
if [ -n "$BIN" ]; then
	chmod 444 "$R/spamsift.db"
	$run_as "$BIN" --homedir "$R" -a "$M" >/dev/null 2>"$T/err"
	rc=$?
	check "-a, read-only store: the verdict stands (status $rc)" \
	    [ "$rc" -le 1 ]
	check "-a, read-only store: not learned, and said so" \
	    grep -q 'not writable: classified, not learned' "$T/err"
	$run_as "$BIN" --homedir "$R" -a --pipe --insert-flag <"$M" \
	    >"$T/out" 2>/dev/null
	rc=$?
	check "-a --pipe, read-only store: headers added (status $rc)" \
	    sh -c "[ $rc = 0 ] && grep -q '^X-Spam-Flag: ' '$T/out'"
	# Those reads left -wal and -shm with the store's mode then; the
	# store writable again, training works (it failed with "attempt to
	# write a readonly database"; found by review).
	ls -l "$R" >"$T/ls-ro"
	check "the reads left a read-only -shm" grep -q '^-r--r--r--.*-shm$' \
	    "$T/ls-ro"
	chmod 600 "$R/spamsift.db"
	$run_as "$BIN" --homedir "$R" -s "$C/spam/spam-002.eml" 2>"$T/err"
	rc=$?
	check "store writable again: training works (status $rc)" [ "$rc" = 0 ]
	check "... no read-only -wal or -shm left" \
	    sh -c "! ls -l '$R' | grep -q '^-r--r--r--.*-\(wal\|shm\)\$'"
	chmod 700 "$T"
else
	skip "-a on a read-only store: root without setpriv"
fi
done_testing
