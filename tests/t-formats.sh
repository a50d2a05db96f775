#!/bin/sh
# SPDX-License-Identifier: MIT
# t-formats.sh - training and classification read every mailbox format:
# mbox (mboxo and mboxrd ">From " quoting, found without --mbox when
# unambiguous), Maildir (cur/ and new/), MH folders and directories of
# files.  Proves each message comes out byte for byte (learning it again
# from its own file is a duplicate, and the database equals one trained
# from the files), --list-spam / --list-clean name files or mbox message
# numbers, the progress display appears only on a terminal, and the
# configuration file's options take effect with the command line winning.
. "$(dirname "$0")/lib.sh"

C=$TOP/corpus
# A private copy of the binary: one build for the whole run, even if the
# tree is rebuilt meanwhile.
mkdir "$T/bin"
cp "$SPAMSIFT" "$T/bin/spamsift" || exit 1
SPAMSIFT=$T/bin/spamsift
CR=$(printf '\r')

# dump_of HOME: the database as text, without the day columns (a run
# that crosses midnight must not differ), the weights and the learned
# messages' weight steps (the learner sees the messages in each format's
# order).
dump_of() {
	"$SPAMSIFT" --homedir "$1" --dump | cut -f 1-3 |
	    sed '/^#learned$/,$ s/\t[^\t]*$//'
}

# Test messages whose bodies have "From " lines, in two sets.
mkdir "$T/msg"
i=0
for m in "$C"/ham/ham-00[1-6].eml; do
	i=$((i + 1))
	{
		cat "$m"
		echo
		echo "From the desk of the seminar organiser, item $i."
		echo "From here on the body says From at line starts."
	} >"$T/msg/o$i.eml"
	{
		cat "$m"
		echo
		echo "From the desk of the seminar organiser, item $i."
		echo ">From a line that was quoted already"
		echo ">>From one quoted twice"
		echo "> From not a From line"
	} >"$T/msg/rd$i.eml"
done

# mbox_of QUOTING FILES...: an mbox as mail programs write it: a "From "
# line, the message (mboxrd: every /^>*From / line gets one more ">";
# mboxo: only /^From / lines), a blank line.
mbox_of() {
	q=$1
	shift
	for m; do
		echo "From sender@example.org Thu Jan  1 00:00:00 2026"
		if [ "$q" = rd ]; then
			sed 's/^\(>*From \)/>\1/' "$m"
		else
			sed 's/^From />From /' "$m"
		fi
		echo
	done
}
mbox_of o "$T"/msg/o*.eml >"$T/o.mbox"
mbox_of rd "$T"/msg/rd*.eml >"$T/rd.mbox"

# learned_exactly NAME SOURCE FILES...: a database trained (as clean) from
# SOURCE equals one trained from FILES, and learning FILES again is a
# duplicate for each (exit 4): the same bytes came out.
learned_exactly() {
	_n=$1 _src=$2
	shift 2
	rm -rf "$T/h1" "$T/h2"
	"$SPAMSIFT" --homedir "$T/h1" -q -c "$_src"
	_rc=$?
	check "$_n: trained from it (status $_rc)" [ "$_rc" = 0 ]
	"$SPAMSIFT" --homedir "$T/h2" -q -c "$@"
	dump_of "$T/h1" >"$T/d1"
	dump_of "$T/h2" >"$T/d2"
	check "$_n: same database as from the $# files" cmp -s "$T/d1" "$T/d2"
	"$SPAMSIFT" --homedir "$T/h1" -q -c "$@" 2>/dev/null
	_rc=$?
	_d="$_n: each message byte for byte (the files again: all"
	check "$_d duplicates, status $_rc)" [ "$_rc" = 4 ]
}

learned_exactly "mboxrd" "$T/rd.mbox" "$T"/msg/rd*.eml
learned_exactly "mboxo" "$T/o.mbox" "$T"/msg/o*.eml
learned_exactly "mboxrd, --mbox" "$T/rd.mbox" "$T"/msg/rd*.eml
n=$("$SPAMSIFT" --homedir "$T/h1" "$C/sample.mbox" | wc -l)
check "corpus/sample.mbox (mboxrd): 10 messages ($n)" [ "$n" = 10 ]

# CRLF mbox.
mkdir "$T/crlf"
for m in "$T"/msg/rd*.eml; do
	sed "s/\$/$CR/" "$m" >"$T/crlf/$(basename "$m")"
done
mbox_of rd "$T"/crlf/*.eml | sed -e "s/^\(From sender.*\)\$/\1$CR/" \
    -e "s/^\$/$CR/" >"$T/crlf.mbox"
learned_exactly "mboxrd, CRLF" "$T/crlf.mbox" "$T"/crlf/*.eml

# Classification from an mbox: one line per message, numbered, the same
# probability as for the message's own file.
"$SPAMSIFT" -q -s "$C"/spam/*.eml && "$SPAMSIFT" -q -c "$C"/ham/*.eml
check "train the default database on corpus/" [ $? = 0 ]
mbox_of rd "$C/ham/ham-001.eml" "$C/spam/spam-001.eml" \
    "$C/ham/ham-002.eml" "$C/spam/spam-002.eml" >"$T/mix.mbox"
"$SPAMSIFT" "$T/mix.mbox" >"$T/out"
rc=$?
check "mbox without --mbox: status 0 (a spam among them, got $rc)" \
    [ "$rc" = 0 ]
awk '{ print $1, $2, $3, $4 }' "$T/out" >"$T/got"
printf 'combined probability %s %s\n' "$T/mix.mbox" 1 "$T/mix.mbox" 2 \
    "$T/mix.mbox" 3 "$T/mix.mbox" 4 >"$T/want"
check "mbox without --mbox: found as an mbox, messages 1 to 4" \
    cmp -s "$T/got" "$T/want"
"$SPAMSIFT" "$C/ham/ham-001.eml" "$C/spam/spam-001.eml" \
    "$C/ham/ham-002.eml" "$C/spam/spam-002.eml" | awk '{ print $5 }' \
    >"$T/want"
awk '{ print $5 }' "$T/out" >"$T/got"
check "mbox: each probability as for the message's own file" \
    cmp -s "$T/got" "$T/want"
"$SPAMSIFT" --list-spam "$T/mix.mbox" >"$T/got" 2>"$T/err"
printf '%s %s\n' "$T/mix.mbox" 2 "$T/mix.mbox" 4 >"$T/want"
check "--list-spam on an mbox: file and message numbers 2 and 4" \
    cmp -s "$T/got" "$T/want"
check "--list-spam: the report lines go to stderr" \
    [ "$(grep -c '^combined probability ' "$T/err")" = 4 ]
"$SPAMSIFT" -q --list-clean "$T/mix.mbox" >"$T/got" 2>"$T/err"
printf '%s %s\n' "$T/mix.mbox" 1 "$T/mix.mbox" 3 >"$T/want"
check "--list-clean -q on an mbox: numbers 1 and 3, nothing else" \
    cmp -s "$T/got" "$T/want"
check "--list-clean -q: stderr empty" [ ! -s "$T/err" ]
"$SPAMSIFT" --list-spam "$C/ham/ham-001.eml" "$C/spam/spam-001.eml" \
    "$C/spam/spam-002.eml" >"$T/got" 2>/dev/null
printf '%s\n' "$C/spam/spam-001.eml" "$C/spam/spam-002.eml" >"$T/want"
check "--list-spam on files: their names" cmp -s "$T/got" "$T/want"
"$SPAMSIFT" --list-clean "$C/ham/ham-001.eml" "$C/spam/spam-001.eml" \
    >"$T/got" 2>/dev/null
check "--list-clean on files: their names" \
    [ "$(cat "$T/got")" = "$C/ham/ham-001.eml" ]

# One message with a "From " line is one message, with or without --mbox;
# --mbox on a file without one reads it whole.
mbox_of rd "$C/spam/spam-003.eml" >"$T/one.mbox"
n=$("$SPAMSIFT" "$T/one.mbox" | wc -l)
check "a single message with a From line: one message ($n)" [ "$n" = 1 ]
n=$("$SPAMSIFT" --mbox "$T/one.mbox" | wc -l)
check "the same with --mbox: one message ($n)" [ "$n" = 1 ]
n=$("$SPAMSIFT" --mbox "$C/ham/ham-003.eml" | wc -l)
check "--mbox on a plain message file: one message ($n)" [ "$n" = 1 ]
# From stdin: one message unless --mbox, as in bsfilter (procmail's
# "* ? spamsift" gives one message with its From line, where a body
# paragraph starting "From " is not quoted: read as an mbox it was cut
# in two, and -a learned the pieces; found by review).
n=$("$SPAMSIFT" --mbox <"$T/mix.mbox" | wc -l)
check "an mbox on stdin with --mbox: four messages ($n)" [ "$n" = 4 ]
n=$("$SPAMSIFT" --mbox <"$T/mix.mbox" | awk '$3 == "-"' | wc -l)
check "an mbox on stdin: named - ($n)" [ "$n" = 4 ]
n=$("$SPAMSIFT" <"$T/mix.mbox" | wc -l)
check "the same on stdin without --mbox: one message ($n)" [ "$n" = 1 ]
{
	echo "From sender@example.org Sat Jan  3 01:05:34 2026"
	sed '/^$/q' "$C/ham/ham-025.eml"
	echo "From the desk of the editor, a short note."
	echo
	sed '1,/^$/d' "$C/ham/ham-025.eml"
} >"$T/from-para.eml"
n=$("$SPAMSIFT" <"$T/from-para.eml" | wc -l)
check "procmail's message with a 'From ' paragraph on stdin: one ($n)" \
    [ "$n" = 1 ]
# The same file named, and with --mbox: a separator's From line has a
# time and a year (as every mbox writer's); "From the desk of ..." has
# not, and is body (it cut the message in two; found by review).
n=$("$SPAMSIFT" "$T/from-para.eml" | wc -l)
check "a file with a 'From ' paragraph: one message ($n)" [ "$n" = 1 ]
n=$("$SPAMSIFT" --mbox "$T/from-para.eml" | wc -l)
check "... with --mbox too ($n)" [ "$n" = 1 ]
{ cat "$T/from-para.eml"; echo
  echo "From MAILER-DAEMON Fri Jul  8 12:08:34 2011"
  cat "$C/spam/spam-003.eml"; } >"$T/from-para2.mbox"
"$SPAMSIFT" "$T/from-para2.mbox" >"$T/out"
check "... and a dated From line after it still starts the next" \
    [ "$(awk '{ print $4 }' "$T/out" | tr '\n' ' ')" = "1 2 " ]
# An mbox longer than the first read (1 MB) streams through a window:
# 240 copies of mix.mbox, from a file and from a pipe, give 960 messages
# with the probabilities of the four, in order.
i=0
while [ $i -lt 240 ]; do cat "$T/mix.mbox"; echo; i=$((i + 1)); done \
    >"$T/long.mbox"
"$SPAMSIFT" "$T/mix.mbox" | awk '{ print $5 }' >"$T/four"
i=0
while [ $i -lt 240 ]; do cat "$T/four"; i=$((i + 1)); done >"$T/want"
sz=$(wc -c <"$T/long.mbox")
"$SPAMSIFT" "$T/long.mbox" | awk '{ print $5 }' >"$T/got"
check "a $sz-byte mbox file: 960 messages as the four, in order" \
    cmp -s "$T/got" "$T/want"
cat "$T/long.mbox" | "$SPAMSIFT" --mbox | awk '{ print $5 }' >"$T/got"
check "the same mbox through a pipe: the same 960" cmp -s "$T/got" "$T/want"

# Maildir: cur/ and new/, not tmp/ or dot files.
MD=$T/Maildir
mkdir -p "$MD/cur" "$MD/new" "$MD/tmp"
cp "$T/msg/rd1.eml" "$MD/cur/1700000001.1.host:2,S"
cp "$T/msg/rd2.eml" "$MD/cur/1700000002.1.host:2,RS"
cp "$T/msg/rd3.eml" "$MD/new/1700000003.1.host"
cp "$T/msg/rd4.eml" "$MD/tmp/1700000004.1.host"
cp "$T/msg/rd5.eml" "$MD/cur/.hidden"
learned_exactly "Maildir" "$MD" "$T/msg/rd1.eml" "$T/msg/rd2.eml" \
    "$T/msg/rd3.eml"
# What the directory says an entry is decides, and a link is followed:
# a link to a message is one; a folder, a link to one and a FIFO (which
# would block a read) are not.
cp "$T/msg/rd5.eml" "$T/rd5-target.eml"
ln -s "$T/rd5-target.eml" "$MD/new/1700000005.1.host"
ln -s "$MD/cur" "$MD/new/1700000006.1.host"
mkdir "$MD/cur/1700000007.1.host"
mkfifo "$MD/new/1700000008.1.host"
learned_exactly "Maildir with a link, a folder and a FIFO" "$MD" \
    "$T/msg/rd1.eml" "$T/msg/rd2.eml" "$T/msg/rd3.eml" "$T/msg/rd5.eml"
# A folder past SPAMSIFT_MAX_FOLDER: as many as that are learned, the
# rest reported as not read, and the status (3) says some input was not.
ML=$T/Maildir-big
mkdir -p "$ML/cur" "$ML/new"
for i in 1 2 3 4 5; do
	cp "$T/msg/rd$i.eml" "$ML/cur/170000000$i.1.host:2,S"
done
status_is 3 "a Maildir of 5 past SPAMSIFT_MAX_FOLDER=3: status 3" \
    env SPAMSIFT_MAX_FOLDER=3 "$SPAMSIFT" --homedir "$T/hcap" -c "$ML" \
    2>"$T/err"
check "... stderr says 2 past the first 3 were not read" \
    grep -q "Maildir-big: 2 messages past the first 3 not read" "$T/err"
"$SPAMSIFT" --homedir "$T/hcap" --show-db-status >"$T/got"
check "... and 3 were learned" grep -q "^messages spam 0 clean 3$" "$T/got"
env SPAMSIFT_MAX_FOLDER=none "$SPAMSIFT" --homedir "$T/hcap2" -c "$ML" \
    2>"$T/err"
check "SPAMSIFT_MAX_FOLDER=none: said, and the default taken" \
    grep -q "SPAMSIFT_MAX_FOLDER: not a number of messages: none" "$T/err"
"$SPAMSIFT" --homedir "$T/hcap2" --show-db-status >"$T/got"
check "... all 5 learned" grep -q "^messages spam 0 clean 5$" "$T/got"
for v in " 3" "+3" " -18446744073709551615" "3x" 0; do
	env SPAMSIFT_MAX_FOLDER="$v" "$SPAMSIFT" --homedir "$T/hcap3" -c \
	    "$ML" 2>"$T/err"
	check "SPAMSIFT_MAX_FOLDER='$v': not taken" \
	    grep -q "SPAMSIFT_MAX_FOLDER: not a number" "$T/err"
done
env SPAMSIFT_MAX_FOLDER=4 "$SPAMSIFT" --homedir "$T/hcap4" -c "$ML" \
    2>"$T/err"
check "one past the limit: '1 message past'" grep -q \
    "Maildir-big: 1 message past the first 4 not read" "$T/err"
# MH: numbered files in number order; .mh_sequences and others skipped.
MH=$T/mh
mkdir "$MH"
cp "$T/msg/rd1.eml" "$MH/1"
cp "$T/msg/rd2.eml" "$MH/2"
cp "$T/msg/rd3.eml" "$MH/10"
cp "$T/msg/rd4.eml" "$MH/,5"
echo "unseen: 10" >"$MH/.mh_sequences"
learned_exactly "MH folder" "$MH" "$T/msg/rd1.eml" "$T/msg/rd2.eml" \
    "$T/msg/rd3.eml"
"$SPAMSIFT" "$MH" | awk '{ print $3 }' >"$T/got"
printf '%s\n' "$MH/1" "$MH/2" "$MH/10" >"$T/want"
check "MH folder: messages 1, 2, 10 in number order" \
    cmp -s "$T/got" "$T/want"
# A plain directory of files.
D=$T/dir
mkdir "$D"
cp "$T/msg/rd1.eml" "$D/a.eml"
cp "$T/msg/rd2.eml" "$D/b.eml"
cp "$T/msg/rd3.eml" "$D/c.txt"
cp "$T/msg/rd4.eml" "$D/.d.eml"
mkdir "$D/sub"
learned_exactly "directory of files" "$D" "$T/msg/rd1.eml" \
    "$T/msg/rd2.eml" "$T/msg/rd3.eml"
# Classification lists names inside folders.
rm -rf "$MD"/cur/* "$MD"/new/* "$MD"/tmp/*
cp "$C/spam/spam-004.eml" "$MD/new/1.spam"
cp "$C/ham/ham-004.eml" "$MD/cur/2.ham:2,S"
"$SPAMSIFT" --list-spam "$MD" >"$T/got" 2>/dev/null
check "--list-spam on a Maildir: the spam's file name" \
    [ "$(cat "$T/got")" = "$MD/new/1.spam" ]
"$SPAMSIFT" --list-clean "$MD" >"$T/got" 2>/dev/null
check "--list-clean on a Maildir: the clean file's name" \
    [ "$(cat "$T/got")" = "$MD/cur/2.ham:2,S" ]

# Progress: nothing on stderr when it is not a terminal...
"$SPAMSIFT" --homedir "$T/h3" -c "$C/ham" 2>"$T/err"
check "training a folder, stderr not a terminal: no progress output" \
    [ ! -s "$T/err" ]
"$SPAMSIFT" "$C/ham" "$C/spam" >/dev/null 2>"$T/err"
check "classifying folders, stderr not a terminal: no progress output" \
    [ ! -s "$T/err" ]
# ... and counts and a rate on one (script(1) gives a terminal).
if command -v script >/dev/null 2>&1; then
	script -qec "\"$SPAMSIFT\" \"$C/ham\" \"$C/spam\" >/dev/null" \
	    /dev/null >"$T/tty" 2>&1
	check "on a terminal: progress with the count and a rate" \
	    grep -q '96 messages, [0-9]* msgs/s' "$T/tty"
else
	skip "progress on a terminal: no script(1)"
fi

# Configuration file: HOMEDIR/spamsift.conf, one option a line.
CONF=$HOME/.spamsift/spamsift.conf
cat >"$CONF" <<'EOF'
# spamsift options, one a line
header-prefix Conf
insert-flag

	insert-probability
method g
EOF
chmod 600 "$CONF"
"$SPAMSIFT" --pipe <"$C/ham/ham-005.eml" >"$T/out"
check "config: header-prefix, insert-flag, insert-probability applied" \
    [ "$(grep -c '^X-Conf-Flag: No$' "$T/out").$(grep -c \
    '^X-Conf-Probability: ' "$T/out")" = 1.1 ]
"$SPAMSIFT" --pipe --header-prefix Cli <"$C/ham/ham-005.eml" >"$T/out"
check "config: the command line's --header-prefix wins" \
    [ "$(grep -c '^X-Cli-Flag: No$' "$T/out").$(grep -c '^X-Conf-' \
    "$T/out")" = 1.0 ]
p_conf=$("$SPAMSIFT" "$C/spam/spam-005.eml" | awk '{ print $5 }')
p_g=$("$SPAMSIFT" -m g "$C/spam/spam-005.eml" | awk '{ print $5 }')
p_rf=$("$SPAMSIFT" -m rf "$C/spam/spam-005.eml" | awk '{ print $5 }')
check "config: method g applied ($p_conf = $p_g)" [ "$p_conf" = "$p_g" ]
mv "$CONF" "$T/conf.saved"
p_plain=$("$SPAMSIFT" "$C/spam/spam-005.eml" | awk '{ print $5 }')
mv "$T/conf.saved" "$CONF"
check "config: -m rf on the command line wins ($p_rf = $p_plain)" \
    [ "$p_rf" = "$p_plain" ]
# --config-file names another file; SPAMSIFT_HOME moves the default one.
printf 'header-prefix Other\ninsert-flag\n' >"$T/other.conf"
chmod 600 "$T/other.conf"
"$SPAMSIFT" --config-file "$T/other.conf" --pipe <"$C/ham/ham-005.eml" \
    >"$T/out"
check "--config-file: its options, not the default file's" \
    [ "$(grep -c '^X-Other-Flag: ' "$T/out").$(grep -c '^X-Conf-' \
    "$T/out")" = 1.0 ]
"$SPAMSIFT" --config-file "$T/missing.conf" "$C/ham/ham-005.eml" \
    >/dev/null 2>&1
check "--config-file missing: usage error 64" [ $? = 64 ]
# Header options: --refer-header reads the names given, --refer-all-header
# every header but our own verdict lines (X-<prefix>-Flag, -Probability,
# -Revision, whatever their case), which a store must never learn from.
printf 'From: a@example.org\nSubject: hi\nX-Spam-Flag: No\nx-spam-probability: 0.01\nX-Spam-Revision: spamsift 1\nX-Other: kept\n\nbody words\n' >"$T/own.eml"
# (This home's spamsift.conf sets another prefix: give the default.)
"$SPAMSIFT" --refer-all-header --header-prefix Spam --show-tokens \
    "$T/own.eml" >"$T/out"
check "--refer-all-header: other headers read" grep -qx 'x-other:kept' "$T/out"
check "--refer-all-header: our X-Spam- verdict lines not read" \
    sh -c "! grep -q '^x-spam-' '$T/out'"
"$SPAMSIFT" --refer-header X-Spam-Flag,Subject --header-prefix Spam \
    --show-tokens "$T/own.eml" >"$T/out"
check "--refer-header X-Spam-Flag: not read either" \
    sh -c "grep -qx 'subject:hi' '$T/out' && ! grep -q '^x-spam-' '$T/out'"
"$SPAMSIFT" --refer-all-header --header-prefix Ours --show-tokens \
    "$T/own.eml" >"$T/out"
check "--header-prefix Ours: X-Spam- lines are another filter's, read" \
    grep -qx 'x-spam-flag:no' "$T/out"
# MH's deleted messages (",3") are not read, with or without
# .mh_sequences: the folder below is MH by its numeric names.
mkdir "$T/mhdel"
cp "$C/ham/ham-001.eml" "$T/mhdel/1"
cp "$C/ham/ham-002.eml" "$T/mhdel/2"
cp "$C/spam/spam-001.eml" "$T/mhdel/,3"
n=$("$SPAMSIFT" "$T/mhdel" | grep -c '^combined probability ')
check "MH folder with a deleted ,3: two messages read ($n)" [ "$n" = 2 ]
# --show-tokens on a folder: a "# FILE N" line before each message's
# tokens, as for several operands or an mbox.
mkdir -p "$T/stmd/cur" "$T/stmd/new"
cp "$C/ham/ham-001.eml" "$T/stmd/cur/1"
cp "$C/ham/ham-002.eml" "$T/stmd/new/2"
"$SPAMSIFT" --show-tokens "$T/stmd" >"$T/out"
check "--show-tokens on a Maildir: a line before each message" \
    [ "$(grep -c '^# ' "$T/out")" = 2 ]
check "... naming the file" grep -qx "# $T/stmd/new/2 1" "$T/out"
# One message, whether a file of its own, an mbox of one (From line and
# the writer's final empty line) or inside a longer mbox, is learnt once.
D=$T/dedup
{ echo "From a@example.org Thu Jan  1 00:00:00 2026"
    cat "$C/spam/spam-007.eml"; echo; } >"$T/solo.mbox"
{ cat "$T/solo.mbox"; echo "From b@example.org Thu Jan  1 00:00:00 2026"
    cat "$C/spam/spam-008.eml"; echo; } >"$T/two.mbox"
"$SPAMSIFT" --homedir "$D" -q -s "$C/spam/spam-007.eml"
"$SPAMSIFT" --homedir "$D" -q -s "$T/solo.mbox"
check "an mbox of one after its file: already learned (4, got $?)" [ $? = 4 ]
"$SPAMSIFT" --homedir "$D" -q -s "$T/two.mbox"
n=$("$SPAMSIFT" --homedir "$D" --show-db-status |
    awk '$1 == "messages" { print $3 }')
check "then an mbox holding it and another: 2 spam in all ($n)" [ "$n" = 2 ]
# An unreadable file inside a folder: the error names that file, not the
# folder.  As root (who reads anything) through setpriv as nobody.
U=$T/unread
mkdir -p -m 755 "$U/dir" "$U/home"
cp "$C/ham/ham-001.eml" "$U/dir/a"
cp "$C/ham/ham-002.eml" "$U/dir/b"
chmod 000 "$U/dir/b"
"$SPAMSIFT" --homedir "$U/home" -q -c "$C/ham/ham-00"*.eml
"$SPAMSIFT" --homedir "$U/home" -q -s "$C/spam/spam-00"*.eml
run_as=
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null 2>&1 &&
	    nobody=$(id -u nobody 2>/dev/null); then
		chmod 711 "$T" "$U"
		chown -R "$nobody" "$U/home"
		cp "$SPAMSIFT" "$U/spamsift"
		chmod 755 "$U/spamsift"
		run_as="setpriv --reuid=$nobody --regid=$nobody --clear-groups"
		BIN=$U/spamsift
	else
		BIN=
	fi
else
	BIN=$SPAMSIFT
fi
if [ -n "$BIN" ]; then
	$run_as "$BIN" --homedir "$U/home" "$U/dir" >"$T/out" 2>"$T/err"
	rc=$?
	check "unreadable file in a folder: status 3 ($rc)" [ "$rc" = 3 ]
	check "unreadable file in a folder: the error names it" \
	    grep -q "^spamsift: $U/dir/b: Permission denied" "$T/err"
	check "unreadable file in a folder: the others are judged" \
	    grep -q "^combined probability $U/dir/a 1 " "$T/out"
	$run_as "$BIN" --homedir "$U/home" -s "$U/dir" 2>"$T/err"
	rc=$?
	n=$($run_as "$BIN" --homedir "$U/home" --show-db-status |
	    awk '$1 == "messages" { print $3 }')
	check "... training a folder with it: status 3 ($rc), the rest learned ($n)" \
	    sh -c "[ $rc = 3 ] && [ '$n' = $(ls "$C"/spam/spam-00*.eml | wc -l | awk '{ print $1 + 1 }') ]"
	chmod 700 "$T"
else
	skip "unreadable file in a folder: root without setpriv"
fi
chmod 600 "$U/dir/b"

# A link to nothing in a folder is said, not passed over in silence (it
# was, found by review): status 3, the others judged.
mkdir -p "$T/dangle/new"
cp "$C/ham/ham-001.eml" "$T/dangle/new/a"
cp "$C/ham/ham-002.eml" "$T/dangle/new/c"
ln -s "$T/nowhere" "$T/dangle/new/b"
"$SPAMSIFT" --homedir "$T/dangle.home" -q -c "$C/ham/ham-00"*.eml
"$SPAMSIFT" --homedir "$T/dangle.home" -q -s "$C/spam/spam-00"*.eml
"$SPAMSIFT" --homedir "$T/dangle.home" "$T/dangle" >"$T/out" 2>"$T/err"
rc=$?
check "a link to nothing in a Maildir: status 3 ($rc)" [ "$rc" = 3 ]
check "... the error names it" \
    grep -q "^spamsift: $T/dangle/new/b: No such file or directory" "$T/err"
check "... the others are judged" \
    sh -c "grep -c '^combined probability $T/dangle/new/[ac] 1 ' '$T/out' |
    grep -qx 2"

# At most 256 words (spamsift.conf(5)): 256 read, 257 refused.
yes insert-flag | head -n 256 >"$T/w256.conf"
chmod 600 "$T/w256.conf"
"$SPAMSIFT" --config-file "$T/w256.conf" "$C/ham/ham-005.eml" >/dev/null
check "config: 256 words accepted" [ $? = 1 ]
{ cat "$T/w256.conf"; echo insert-probability; } >"$T/w257.conf"
chmod 600 "$T/w257.conf"
"$SPAMSIFT" --config-file "$T/w257.conf" "$C/ham/ham-005.eml" \
    >/dev/null 2>"$T/err"
check "config: 257 words refused with 64" [ $? = 64 ]
check "config: ... saying so" grep -q 'more than 256 words' "$T/err"
mkdir -m 700 "$T/sh"
cp "$HOME/.spamsift/spamsift.db" "$T/sh/"
printf 'header-prefix Env\ninsert-flag\n' >"$T/sh/spamsift.conf"
chmod 600 "$T/sh/spamsift.conf"
SPAMSIFT_HOME=$T/sh "$SPAMSIFT" --pipe <"$C/ham/ham-005.eml" >"$T/out"
check "SPAMSIFT_HOME: its spamsift.conf is read" \
    grep -q '^X-Env-Flag: ' "$T/out"
# A value may start with "--" (it is a value, not an option).
printf 'mark-subject-prefix --SPAM-- \nmark-spam-subject\n' >"$CONF"
"$SPAMSIFT" "$C/ham/ham-005.eml" >/dev/null 2>&1
rc=$?
check "config value starting with --: classifying works (status $rc)" \
    [ "$rc" = 1 ]
"$SPAMSIFT" --pipe --spam-cutoff 0.5 <"$C/spam/spam-005.eml" >"$T/out" \
    2>/dev/null
rc=$?
check "config value starting with --: pipe mode uses it (status $rc)" \
    grep -q '^Subject: --SPAM-- ' "$T/out"
rm -f "$CONF"
# Blanks at a line's end and CRLF line ends, as bsfilter reads its file:
# "spam-cutoff 0.9 " is 0.9 and a line of only a CR is blank (each made
# the whole file refused, and in pipe mode every message went through
# unjudged; found by review); a subject prefix keeps its final blank.
printf 'header-prefix Trim \nspam-cutoff 0.5\t\r\n\r\ninsert-flag \r\nmark-spam-subject\nmark-subject-prefix [JUNK] \r\n' \
    >"$T/blanks.conf"
chmod 600 "$T/blanks.conf"
"$SPAMSIFT" --config-file "$T/blanks.conf" --pipe <"$C/spam/spam-005.eml" \
    >"$T/out" 2>"$T/err"
rc=$?
check "config with trailing blanks and CRLF: read (status $rc)" \
    [ "$rc" = 0 ] && [ ! -s "$T/err" ]
check "... its values without the blanks" grep -q '^X-Trim-Flag: Yes$' "$T/out"
check "... but the subject prefix with its own" \
    grep -q '^Subject: \[JUNK\] [^ ]' "$T/out"
sed 's/^mark-subject-prefix /mark-subject /' "$T/blanks.conf" >"$T/abbr.conf"
chmod 600 "$T/abbr.conf"
"$SPAMSIFT" --config-file "$T/abbr.conf" --pipe <"$C/spam/spam-005.eml" \
    >"$T/out" 2>"$T/err"
check "... under an abbreviation of its name too" \
    grep -q '^Subject: \[JUNK\] [^ ]' "$T/out"
# A bad line names the file; a file others may write is refused.
printf 'no-such-option 1\n' >"$T/bad.conf"
chmod 600 "$T/bad.conf"
"$SPAMSIFT" --config-file "$T/bad.conf" "$C/ham/ham-005.eml" \
    >/dev/null 2>"$T/err"
rc=$?
check "config with an unknown option: status 64 ($rc)" [ "$rc" = 64 ]
check "config with an unknown option: the message names the file" \
    grep -q "bad.conf" "$T/err"
chmod 666 "$T/other.conf"
"$SPAMSIFT" --config-file "$T/other.conf" "$C/ham/ham-005.eml" \
    >/dev/null 2>&1
rc=$?
check "config writable by others: refused, status 64 ($rc)" [ "$rc" = 64 ]
rm -f "$CONF"

done_testing
