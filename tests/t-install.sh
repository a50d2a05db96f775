#!/bin/sh
# SPDX-License-Identifier: MIT
# t-install.sh - make install and make uninstall honour DESTDIR, PREFIX
# and MANDIR: the binary, both man pages and the procmail examples land
# where asked with sane modes, the installed binary runs, and uninstall
# takes everything away again; and make demo trains and shows a verdict
# for each of the ten sample messages.
. "$(dirname "$0")/lib.sh"

# Linked statically (tests/libs.sh, when the archives are there), the
# binary loads libc and libm and nothing else: GMime's init no longer
# drags in GIO, gpgme and libidn2 with their shared objects
# (tokenizer/gmime_unused.c).
libs=$(ldd "$SPAMSIFT" 2>/dev/null | awk '$1 ~ /^lib/ { print $1 }' |
    sort | tr '\n' ' ')
case $libs in
*libgmime*) skip "shared objects: GMime is linked shared (LINK=shared)" ;;
*)
	# Sanitizer builds add their runtimes (libasan, libubsan and what
	# they need); none of these may come back.
	extra=$(echo "$libs" | tr ' ' '\n' | grep -E '^lib(gpgme|gpg-error|assuan|mount|blkid|selinux|sepol|unistring|idn2|pcre2|glib|gio|gobject|gmodule|icu|sqlite3|ffi|z)[.-]')
	check "shared objects: libc and libm, none of GMime's (${extra:-$libs})" \
	    [ -z "$extra" ] ;;
esac

D=$T/dest
MK="make -s -C $TOP DESTDIR=$D PREFIX=/opt/ss MANDIR=/opt/man"
$MK install >"$T/out" 2>&1
check "make install: status 0" [ $? = 0 ]
check "binary installed, executable" [ -x "$D/opt/ss/bin/spamsift" ]
check "spamsift.1 under MANDIR" [ -f "$D/opt/man/man1/spamsift.1" ]
check "spamsift.conf.5 under MANDIR" [ -f "$D/opt/man/man5/spamsift.conf.5" ]
check "procmail examples installed" \
    [ -f "$D/opt/ss/share/doc/spamsift/procmail/procmailrc.pipe" ]
mode=$(stat -c %a "$D/opt/man/man1/spamsift.1")
check "man page mode 644 ($mode)" [ "$mode" = 644 ]
check "installed binary runs" sh -c "'$D/opt/ss/bin/spamsift' --version | \
    grep -q '^spamsift '"
$MK uninstall >"$T/out" 2>&1
check "make uninstall: status 0" [ $? = 0 ]
left=$(find "$D" -type f | wc -l)
check "uninstall leaves no file ($left)" [ "$left" = 0 ]
make -s -C "$TOP" demo >"$T/demo" 2>&1
check "make demo: status 0" [ $? = 0 ]
n=$(grep -c '^\(SPAM\|clean\*\?\) ' "$T/demo")
check "make demo: ten verdicts ($n)" [ "$n" = 10 ]
check "make demo: the spam are found" grep -q '^SPAM ' "$T/demo"
done_testing
