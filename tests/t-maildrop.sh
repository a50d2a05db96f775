#!/bin/sh
# SPDX-License-Identifier: MIT
# t-maildrop.sh - runs the real maildrop on procmail/mailfilter with a
# temporary HOME ("maildrop RCFILE", the rcfile mode 0600 as maildrop
# insists, HOME set in it, since maildrop takes HOME from the password
# file).  A database is trained on the odd-numbered messages of corpus/;
# the even-numbered ones are delivered one at a time into Maildir and mbox
# folders.  Proves: each message lands in the folder its verdict says
# (compared with spamsift run directly), arrives byte for byte plus only
# the X-Spam lines, nothing is lost; with a corrupt or missing database
# the "exception" block delivers everything to the inbox unchanged, and
# without it maildrop exits 75 (the mail server keeps the message).
. "$(dirname "$0")/lib.sh"

if ! command -v maildrop >/dev/null 2>&1; then
	skip "maildrop is not installed (apt-get install maildrop): the" \
	    "mailfilter example is not tested"
	done_testing
fi

C=$TOP/corpus
P=$TOP/procmail
# A private copy of the binary: all verdicts from the same build.
mkdir "$T/bin"
cp "$SPAMSIFT" "$T/bin/spamsift"
SPAMSIFT=$T/bin/spamsift
PRISTINE=$T/pristine
GOT=$T/got
LOG=$T/maildrop.log
mkdir "$GOT"

. "$(dirname "$0")/mda.sh"
train_half
ndeliver=$(echo $deliver_list | wc -w)
# shellcheck disable=SC2086
"$SPAMSIFT" --homedir "$PRISTINE" -q --list-spam $deliver_list \
    >"$T/ref-spam"
nref=$(wc -l <"$T/ref-spam")
if [ "$nref" -gt 0 ] && [ "$nref" -lt "$ndeliver" ]; then
	ok "reference run: $nref of $ndeliver messages are spam (a mixed batch)"
else
	fail "reference run: $nref of $ndeliver spam; want a mixed batch"
fi

# fresh_home DB: an empty HOME with the Maildirs maildrop wants made, and
# the trained database, none, or a corrupt one.
fresh_home() {
	rm -rf "$HOME" "$GOT"
	mkdir -m 700 "$HOME"
	mkdir "$GOT" "$HOME/Mail"
	for d in "$HOME/Maildir" "$HOME/Maildir/.Spam"; do
		mkdir -p "$d/cur" "$d/new" "$d/tmp"
	done
	install_store "$1"
}

# mkrc KIND [noexception]: the mailfilter as a user would install it, with
# HOME and a log file set first and spamsift's full path; KIND mbox
# makes the folders mbox files.
mkrc() {
	{
		echo "HOME=\"$HOME\""
		echo "logfile \"$LOG\""
		if [ "$1" = mbox ]; then
			sed -e 's#^DEFAULT=.*#DEFAULT="$HOME/Mail/inbox"#' \
			    -e 's#^SPAM=.*#SPAM="$HOME/Mail/spam"#' \
			    "$P/mailfilter"
		else
			cat "$P/mailfilter"
		fi
	} | sed -e '/^[^#]/s#"spamsift #"'"$SPAMSIFT"' #' >"$T/mailfilter"
	if [ "${2:-}" = noexception ]; then
		awk '/^exception \{$/ { skip = 1; next }
		    skip && /^}$/ { skip = 0; next } { print }' \
		    "$T/mailfilter" >"$T/mf2"
		mv "$T/mf2" "$T/mailfilter"
	fi
	chmod 600 "$T/mailfilter"
}

deliver() {
	maildrop -f sender@example.org "$T/mailfilter" <"$1" 2>>"$T/stderr"
}


# run_batch KIND DB: deliver the batch, then check where each message is
# and that it is intact.
run_batch() {
	kind=$1 db=$2
	fresh_home "$db"
	mkrc "$kind"
	k=0 bad_rc=0 bad_place=0 bad_bytes=0 bad_flag=0
	for m in $deliver_list; do
		k=$((k + 1))
		deliver "$m" || bad_rc=$((bad_rc + 1))
		collect "$kind" "$k"
	done
	split_mboxes
	k=0
	for m in $deliver_list; do
		k=$((k + 1))
		want=inbox
		[ "$db" = trained ] && grep -qxF "$m" "$T/ref-spam" && want=spam
		if [ ! -f "$GOT/$want.$k" ]; then
			bad_place=$((bad_place + 1))
			echo "# $kind/$db: $m not in $want"
			continue
		fi
		if [ "$kind" = mbox ]; then
			head -n 1 "$GOT/$want.$k" |
			    grep -q '^From sender@example.org ' ||
			    bad_bytes=$((bad_bytes + 1))
			# Without the envelope line and the blank line after.
			sed -e '1d' -e '$d' "$GOT/$want.$k" >"$T/body"
		else
			cp "$GOT/$want.$k" "$T/body"
		fi
		if [ "$db" = trained ]; then
			flag=No
			[ "$want" = spam ] && flag=Yes
			tr -d '\r' <"$T/body" >"$T/lf"
			grep -q "^X-Spam-Flag: $flag\$" "$T/lf" &&
			    grep -q '^X-Spam-Probability: [01]\.[0-9]*$' \
			    "$T/lf" || bad_flag=$((bad_flag + 1))
		fi
		sed -e '/^X-Spam-Flag: /d' -e '/^X-Spam-Probability: /d' \
		    "$T/body" | cmp -s - "$m" || {
			bad_bytes=$((bad_bytes + 1))
			echo "# $kind/$db: $m altered"
		}
		# Unfiltered (database broken): not even our lines.
		if [ "$db" != trained ] && grep -q '^X-Spam-' "$T/body"; then
			bad_bytes=$((bad_bytes + 1))
		fi
	done
	name="mailfilter, $kind, $db database"
	check "$name: maildrop exits 0 for all $k messages" [ "$bad_rc" = 0 ]
	check "$name: each message in the folder its verdict says" \
	    [ "$bad_place" = 0 ]
	check "$name: each message arrives byte for byte (+ X-Spam lines)" \
	    [ "$bad_bytes" = 0 ]
	if [ "$db" = trained ]; then
		check "$name: X-Spam-Flag/-Probability match the verdict" \
		    [ "$bad_flag" = 0 ]
		ns=$(find "$GOT" -name 'spam.*' | wc -l)
		if [ "$ns" -gt 0 ] && [ "$ns" -lt "$k" ]; then
			ok "$name: $ns spam, $((k - ns)) inbox"
		else
			fail "$name: $ns spam of $k: want a mix"
		fi
	fi
	n=$(find "$GOT" -type f | wc -l)
	check "$name: nothing lost or doubled ($n of $k delivered)" \
	    [ "$n" = "$k" ]
	if [ "$kind" = mbox ]; then
		a=$(cat "$HOME"/Mail/* | wc -c)
		b=$(cat "$GOT"/* | wc -c)
		left=$((a - b))
		n=$(find "$HOME/Maildir" -type f | wc -l)
		[ "$n" = 0 ] || left="$left + $n in Maildir"
	else
		left=$(find "$HOME/Maildir" "$HOME/Mail" -type f | wc -l)
	fi
	check "$name: no stray files left in the folders" [ "$left" = 0 ]
}

run_batch maildir trained
run_batch mbox trained
deliver_list=$(echo $deliver_list | tr ' ' '\n' | sed -n '1,8p')
run_batch maildir corrupt
run_batch maildir none
run_batch mbox corrupt

# A broken database and a message that already carries a spam flag (an
# upstream filter's, or forged): spamsift could not judge it, so the flag
# it came with must not file it as spam; it goes to the inbox.
fresh_home corrupt
mkrc maildir
{ printf 'X-Spam-Flag: YES\n'; cat "$C/ham/ham-003.eml"; } >"$T/flagged"
deliver "$T/flagged"
n=$(find "$HOME/Maildir/new" -type f | wc -l)
s=$(find "$HOME/Maildir/.Spam/new" -type f | wc -l)
check "mailfilter, broken database, incoming X-Spam-Flag: inbox ($n/$s)" \
    [ "$n.$s" = 1.0 ]

# Without "exception", a broken database makes maildrop give up with
# EX_TEMPFAIL: nothing is delivered, the mail server keeps the message.
fresh_home corrupt
mkrc maildir noexception
if grep -q '^exception' "$T/mailfilter" ||
    ! grep -q '^[[:blank:]]*xfilter ' "$T/mailfilter"; then
	fail "mailfilter: could not remove the exception block for the test"
else
	m=$C/ham/ham-002.eml
	status_is 75 "mailfilter without exception, broken database: exit 75" \
	    deliver "$m"
	n=$(find "$HOME/Maildir" "$HOME/Mail" -type f | wc -l)
	check "mailfilter without exception: nothing delivered" [ "$n" = 0 ]
fi

done_testing
