#!/bin/sh
# SPDX-License-Identifier: MIT
# t-pipe.sh - pipe mode (--pipe) is byte-exact: the output is the input
# with only our X-Spam-* lines inserted at the end of the header block, in
# the message's own line ends.  Checked by deleting exactly the inserted
# lines and comparing with cmp: on every message of corpus/ (LF and CRLF),
# on every message of the shared SpamAssassin corpus (when present), and
# on odd messages (a leading "From " line, no final newline, header only,
# empty input, international domain names).  Also: forged incoming copies of our headers are removed,
# --header-prefix, --mark-spam-subject on plain, encoded, folded and
# missing Subjects, and every failure (missing, corrupt database, unusable
# home, lock held past --lock-timeout, broken configuration file, write
# error) passes the message unchanged with exit status 75.
. "$(dirname "$0")/lib.sh"

C=$TOP/corpus
# A private copy of the binary: one build for the whole run, even if the
# tree is rebuilt meanwhile.
mkdir "$T/bin"
cp "$SPAMSIFT" "$T/bin/spamsift" || exit 1
SPAMSIFT=$T/bin/spamsift
CR=$(printf '\r')
PIPE="--pipe --insert-revision --insert-flag --insert-probability"

"$SPAMSIFT" -q -s "$C"/spam/*.eml && "$SPAMSIFT" -q -c "$C"/ham/*.eml
check "train on corpus/" [ $? = 0 ]

# strip: delete exactly the lines spamsift inserts (GNU sed keeps a
# missing final newline missing).
strip() {
	sed -e "/^X-Spam-Revision: spamsift /d" -e "/^X-Spam-Flag: /d" \
	    -e "/^X-Spam-Probability: /d"
}

# The checker for one output: our three lines right before the first
# empty line, in order; prints "FLAG PROBABILITY CR" (CR 1 when they end
# in CR LF) or "bad ...".
cat >"$T/where.awk" <<'EOF'
{ l[NR] = $0 }
!end && /^\r?$/ { end = NR }
END {
	if (!end || end < 4) { print "bad: no header end"; exit }
	r = l[end - 3]; f = l[end - 2]; p = l[end - 1]
	cr = (r ~ /\r$/) + (f ~ /\r$/) + (p ~ /\r$/)
	if (cr != 0 && cr != 3) { print "bad: mixed line ends"; exit }
	sub(/\r$/, "", r); sub(/\r$/, "", f); sub(/\r$/, "", p)
	if (r !~ /^X-Spam-Revision: spamsift [0-9.]+$/) {
		print "bad: no revision line before the flag: " r; exit
	}
	if (f !~ /^X-Spam-Flag: (Yes|No)$/) {
		print "bad: no flag line: " f; exit
	}
	if (p !~ /^X-Spam-Probability: [01]\.[0-9][0-9][0-9][0-9][0-9][0-9]$/) {
		print "bad: no probability line: " p; exit
	}
	sub(/.*: /, "", f); sub(/.*: /, "", p)
	print f, p, cr ? 1 : 0
}
EOF

# check_corpus DIR NAME: every *.eml in DIR through --pipe on stdin,
# compared with what spamsift says of them directly.  Our lines must end
# in CR LF exactly when the message's first line does.
check_corpus() {
	dir=$1 what=$2
	"$SPAMSIFT" "$dir"/*.eml >"$T/direct" 2>/dev/null
	"$SPAMSIFT" -q --list-spam "$dir"/*.eml >"$T/direct-spam" 2>/dev/null
	n=0 bad=0
	for m in "$dir"/*.eml; do
		n=$((n + 1))
		# shellcheck disable=SC2086
		"$SPAMSIFT" $PIPE <"$m" >"$T/out"
		rc=$?
		if [ "$rc" != 0 ]; then
			echo "# $m: status $rc"
			bad=$((bad + 1))
			continue
		fi
		if ! strip <"$T/out" | cmp -s - "$m"; then
			echo "# $m: output minus our lines differs from input"
			bad=$((bad + 1))
			continue
		fi
		# shellcheck disable=SC2046
		set -- $(awk -f "$T/where.awk" "$T/out")
		if [ "$1" = bad: ]; then
			echo "# $m: $*"
			bad=$((bad + 1))
			continue
		fi
		want=No
		grep -qxF "$m" "$T/direct-spam" && want=Yes
		crwant=0
		head -n 1 "$m" | grep -q "$CR\$" && crwant=1
		# The header has bsfilter's six decimals; the report line may
		# have more (near 0 and 1): the same score, rounded.
		p=$(awk -v f="$m" '$3 == f { printf "%f", $5 }' "$T/direct")
		if [ "$1 $2 $3" != "$want $p $crwant" ]; then
			echo "# $m: got '$1 $2 cr=$3'," \
			    "want '$want $p cr=$crwant'"
			bad=$((bad + 1))
		fi
	done
	d="pipe, $n messages of $(basename "$dir") ($what): byte-exact,"
	d="$d our lines end the header, verdict as run directly"
	check "$d" [ "$bad" = 0 ]
}

if grep -l -i -e '^X-Spam-Flag' -e '^X-Spam-Probability' \
    -e '^X-Spam-Revision' "$C"/ham/*.eml "$C"/spam/*.eml >/dev/null; then
	fail "corpus/ already carries X-Spam-* lines: strip would be unfair"
fi
check_corpus "$C/ham" "as they are"
check_corpus "$C/spam" "as they are"

# The same messages with CRLF line ends (ham-038 already has them).
mkdir "$T/crlf"
for m in "$C"/ham/*.eml "$C"/spam/*.eml; do
	if grep -q "$CR\$" "$m"; then
		cp "$m" "$T/crlf/"
	else
		sed "s/\$/$CR/" "$m" >"$T/crlf/$(basename "$m")"
	fi
done
check_corpus "$T/crlf" CRLF

# sample.mbox as one message: it starts with a "From " line.
# shellcheck disable=SC2086
"$SPAMSIFT" $PIPE <"$C/sample.mbox" >"$T/out"
check "pipe, leading From line: status 0" [ $? = 0 ]
strip <"$T/out" >"$T/s"
check "pipe, leading From line: byte-exact" cmp -s "$C/sample.mbox" "$T/s"
check "pipe, leading From line: it stays the first line" \
    [ "$(head -n 1 "$T/out")" = "$(head -n 1 "$C/sample.mbox")" ]
r=$(awk -f "$T/where.awk" "$T/out")
check "pipe, leading From line: our lines end the header ($r)" \
    [ "${r%% *}" != bad: ]

# One message, checked byte for byte: msg NAME CRWANT, input in $T/in.
one() {
	# shellcheck disable=SC2086
	"$SPAMSIFT" $PIPE <"$T/in" >"$T/out"
	rc=$?
	check "$1: status 0" [ "$rc" = 0 ]
	check "$1: output minus our lines is the input" \
	    sh -c 'sed -e "/^X-Spam-Revision: spamsift /d" \
	    -e "/^X-Spam-Flag: /d" -e "/^X-Spam-Probability: /d" "$1" |
	    cmp -s - "$2"' sh "$T/out" "$T/in"
	n=$(grep -c '^X-Spam-' "$T/out")
	check "$1: three lines inserted ($n)" [ "$n" = 3 ]
	n=$(grep -c "^X-Spam-.*$CR\$" "$T/out")
	check "$1: their line ends are the message's ($n CRLF)" \
	    [ "$n" = "$2" ]
}

# A leading "From " line with LF before a CRLF message (as procmail
# passes it): our lines still end in CR LF.
{ echo "From sender@example.org  Thu Jan  1 00:00:00 2026"
    sed "s/\$/$CR/" "$C/ham/ham-001.eml"; } >"$T/in"
one "pipe, LF From line + CRLF message" 3
# No final newline.
head -c -1 "$C/ham/ham-001.eml" >"$T/in"
one "pipe, no final newline" 0
check "pipe, no final newline: still none" \
    [ "$(tail -c 1 "$T/out" | wc -l)" = 0 ]
head -c -2 "$T/crlf/ham-001.eml" >"$T/in"
one "pipe, CRLF, no final line end" 3
# Header only, with and without the last line end.
printf 'Subject: only a header\nFrom: a@example.org\n' >"$T/in"
one "pipe, header only" 0
check "pipe, header only: our lines at the end" \
    [ "$(tail -n 1 "$T/out" | cut -c1-20)" = "X-Spam-Probability: " ]
printf 'Subject: only a header\nFrom: a@example.org' >"$T/in"
one "pipe, header only, no final newline" 0
check "pipe, header only, no final newline: ends as it did" \
    [ "$(tail -c 20 "$T/out" | od -An -c | tr -d ' \n')" = \
    "\nFrom:a@example.org" ]
printf 'Subject: only a header\r\nFrom: a@example.org\r\n' >"$T/in"
one "pipe, CRLF header only" 3
# International domain names, as Punycode and as UTF-8, in the address
# headers GMime parses (without libidn2 when linked statically, see
# tokenizer/gmime_unused.c): the message passes whole, and the tokens
# come from the header as written.
printf 'From: B\303\274cher <info@xn--bcher-kva.example>\nTo: k@b\303\274cher.example\nCc: "x" <a@xn--80ak6aa92e.com>, b@\351.example\nSubject: idn\n\nplain words here\n' >"$T/in"
one "pipe, international domain names" 0
"$SPAMSIFT" --show-tokens "$T/in" >"$T/ex" 2>&1
to=$(printf 'to:k@b\303\274cher.example')
check "show-tokens, international domain names: as written" \
    sh -c "grep -qx 'from:kva.example' '$T/ex' && grep -qx '$to' '$T/ex'"

# Empty input: only our lines come out.
: >"$T/in"
# shellcheck disable=SC2086
"$SPAMSIFT" $PIPE <"$T/in" >"$T/out"
check "pipe, empty input: status 0" [ $? = 0 ]
check "pipe, empty input: nothing but our lines" \
    [ "$(strip <"$T/out" | wc -c)" = 0 ]

# Forged copies of our headers are removed, whatever their case, blanks
# or folding; the real verdict replaces them.
HAM=$C/ham/ham-001.eml SPAM=$C/spam/spam-001.eml
"$SPAMSIFT" -q "$HAM"
check "precondition: $HAM is clean" [ $? = 1 ]
"$SPAMSIFT" -q "$SPAM"
check "precondition: $SPAM is spam" [ $? = 0 ]
# forge MSG VALUE CR: MSG with forged headers first, in the middle (before
# the first field after line 2) and last, in all spellings.
forge() {
	awk -v v="$2" -v cr="$3" '
	NR == 1 { print "X-Spam-Flag: " v cr }
	!mid && NR >= 3 && !/^[ \t]/ { print "X-SPAM-FLAG:" v cr; mid = 1 }
	!done && /^\r?$/ {
		print "x-spam-probability: 0.000001" cr
		print "X-Spam-Flag : " v cr
		print "X-Spam-Revision: forged 9.9" cr
		print "\tfolded part of the forgery" cr
		done = 1
	}
	{ print }' "$1"
}
forge "$HAM" Yes "" >"$T/in"
# shellcheck disable=SC2086
"$SPAMSIFT" $PIPE <"$T/in" >"$T/out"
check "forged 'X-Spam-Flag: Yes' on clean mail: one flag, and it is No" \
    [ "$(grep -ic '^x-spam-flag' "$T/out").$(grep -c '^X-Spam-Flag: No$' \
    "$T/out")" = 1.1 ]
check "forged headers: all removed, the rest byte-exact" \
    sh -c 'sed -e "/^X-Spam-Revision: spamsift /d" -e "/^X-Spam-Flag: /d" \
    -e "/^X-Spam-Probability: /d" "$1" | cmp -s - "$2"' sh "$T/out" "$HAM"
n=$(grep -ic '^x-spam-' "$T/out")
check "forged headers: only our three X-Spam lines remain ($n)" [ "$n" = 3 ]
forge "$SPAM" No "" >"$T/in"
# shellcheck disable=SC2086
"$SPAMSIFT" $PIPE <"$T/in" >"$T/out"
check "forged 'X-Spam-Flag: No' on spam: one flag, and it is Yes" \
    [ "$(grep -ic '^x-spam-flag' "$T/out").$(grep -c '^X-Spam-Flag: Yes$' \
    "$T/out")" = 1.1 ]
forge "$T/crlf/spam-001.eml" No "$CR" >"$T/in"
# shellcheck disable=SC2086
"$SPAMSIFT" $PIPE <"$T/in" >"$T/out"
check "forged headers, CRLF: removed, the rest byte-exact" \
    sh -c 'sed -e "/^X-Spam-Revision: spamsift /d" -e "/^X-Spam-Flag: /d" \
    -e "/^X-Spam-Probability: /d" "$1" | cmp -s - "$2"' sh "$T/out" \
    "$T/crlf/spam-001.eml"

# --header-prefix: our names change; X-Spam-* is then someone else's and
# stays, a forged X-Bsf-Flag goes.
forge "$HAM" Yes "" | sed '1a\
X-Bsf-Flag: Yes' >"$T/in"
"$SPAMSIFT" --pipe --insert-flag --insert-probability --header-prefix Bsf \
    <"$T/in" >"$T/out"
check "--header-prefix Bsf: X-Bsf-Flag: No, once" \
    [ "$(grep -c '^X-Bsf-Flag: ' "$T/out").$(grep -c '^X-Bsf-Flag: No$' \
    "$T/out")" = 1.1 ]
check "--header-prefix Bsf: X-Bsf-Probability inserted" \
    grep -q '^X-Bsf-Probability: 0\.[0-9]*$' "$T/out"
sed '/^X-Bsf-Flag: Yes$/d' "$T/in" >"$T/want"
check "--header-prefix Bsf: the rest (X-Spam-* included) byte-exact" \
    sh -c 'sed -e "/^X-Bsf-Flag: /d" -e "/^X-Bsf-Probability: /d" "$1" |
    cmp -s - "$2"' sh "$T/out" "$T/want"

# --mark-spam-subject.  subj MSG 'NEW SUBJECT LINES': MSG with its
# Subject field replaced (removed when empty).
subj() {
	S=$2 awk '
	BEGIN { s = ENVIRON["S"] }
	!end && /^\r?$/ { end = 1 }
	!end && /^Subject:/ { if (s != "") print s; skip = 1; next }
	skip && /^[ \t]/ { next }
	{ skip = 0; print }' "$1"
}
# mark NAME 'SUBJECT IN' 'SUBJECT OUT' [OPTIONS...]
mark() {
	_n=$1
	subj "$SPAM" "$2" >"$T/in"
	subj "$SPAM" "$3" >"$T/want"
	shift 3
	"$SPAMSIFT" -q "$T/in"
	if [ $? != 0 ]; then
		fail "--mark-spam-subject, $_n: the test message is not spam"
		return
	fi
	"$SPAMSIFT" --pipe --insert-flag --mark-spam-subject "$@" \
	    <"$T/in" >"$T/out"
	check "--mark-spam-subject, $_n" sh -c 'sed "/^X-Spam-Flag: /d" "$1" |
	    cmp -s - "$2"' sh "$T/out" "$T/want"
}
mark "plain" "Subject: Cheap pills today" "Subject: [SPAM] Cheap pills today"
mark "RFC 2047" "Subject: =?UTF-8?B?5pyq5om/6KqN5bqD5ZGK?=" \
    "Subject: [SPAM] =?UTF-8?B?5pyq5om/6KqN5bqD5ZGK?="
mark "RFC 2047, folded" "Subject: =?ISO-2022-JP?B?GyRCTCQ+NUJ6OS05cBsoQg==?=
 =?ISO-2022-JP?B?GyRCJTklOiU5GyhC?=" \
    "Subject: [SPAM] =?ISO-2022-JP?B?GyRCTCQ+NUJ6OS05cBsoQg==?=
 =?ISO-2022-JP?B?GyRCJTklOiU5GyhC?="
mark "folded, value on the next line" "Subject:
 Cheap pills
	today" "Subject: [SPAM]
 Cheap pills
	today"
mark "already marked" "Subject: [SPAM] Cheap" "Subject: [SPAM] Cheap"
mark "another prefix" "Subject: Cheap" "Subject: ***SPAM*** Cheap" \
    --mark-subject-prefix "***SPAM*** "
# Missing: a Subject is added with our lines.
subj "$SPAM" "" >"$T/in"
"$SPAMSIFT" --pipe --insert-flag --mark-spam-subject <"$T/in" >"$T/out"
check "--mark-spam-subject, missing: 'Subject: [SPAM] ' added" \
    grep -q '^Subject: \[SPAM\] $' "$T/out"
check "--mark-spam-subject, missing: the rest byte-exact" \
    sh -c 'sed -e "/^X-Spam-Flag: /d" -e "/^Subject: \[SPAM\] $/d" "$1" |
    cmp -s - "$2"' sh "$T/out" "$T/in"
# Clean mail keeps its Subject.
"$SPAMSIFT" --pipe --insert-flag --mark-spam-subject <"$HAM" >"$T/out"
check "--mark-spam-subject, clean mail: Subject untouched" \
    sh -c 'sed "/^X-Spam-Flag: /d" "$1" | cmp -s - "$2"' sh "$T/out" "$HAM"

# Failures: the message goes out unchanged, status 75.
# fails NAME [OPTIONS...]: stdin is $HAM with a forged flag.
forge "$HAM" No "" >"$T/in"
fails() {
	_n=$1
	shift
	# shellcheck disable=SC2086
	"$SPAMSIFT" "$@" $PIPE <"$T/in" >"$T/out" 2>"$T/err"
	_rc=$?
	check "failure, $_n: status 75 (got $_rc)" [ "$_rc" = 75 ]
	check "failure, $_n: message unchanged" cmp -s "$T/out" "$T/in"
	check "failure, $_n: a reason on stderr" [ -s "$T/err" ]
}
fails "no home directory" --homedir "$T/nowhere"
mkdir -m 700 "$T/empty"
fails "home without a database" --homedir "$T/empty"
garbage_store "$T/garbage"
fails "corrupt database (garbage)" --homedir "$T/garbage"
fails "corrupt database, with -a" --homedir "$T/garbage" -a
mkdir -m 700 "$T/cut"
head -c 8192 "$HOME/.spamsift/spamsift.db" >"$T/cut/spamsift.db"
chmod 600 "$T/cut/spamsift.db"
fails "truncated database" --homedir "$T/cut"
: >"$T/afile"
fails "home is a file" --homedir "$T/afile"
SPAMSIFT_HOME=$T/nowhere
export SPAMSIFT_HOME
fails "SPAMSIFT_HOME missing"
unset SPAMSIFT_HOME
# An unreadable home: as a user, mode 000; as root (who reads anything)
# through setpriv as nobody.
mkdir -m 700 "$T/locked"
cp "$HOME/.spamsift/spamsift.db" "$T/locked/"
chmod 000 "$T/locked"
if [ "$(id -u)" != 0 ]; then
	fails "unreadable home" --homedir "$T/locked"
elif command -v setpriv >/dev/null 2>&1 &&
    nobody=$(id -u nobody 2>/dev/null); then
	chmod 711 "$T"
	mkdir -m 711 "$T/nb"
	cp "$SPAMSIFT" "$T/nb/spamsift"
	chmod 755 "$T/nb/spamsift"
	cp -R "$T/locked" "$T/nb/home"
	chmod 000 "$T/nb/home"
	SPAMSIFT_SAVED=$SPAMSIFT
	SPAMSIFT="setpriv --reuid=$nobody --regid=$nobody --clear-groups"
	SPAMSIFT="$SPAMSIFT $T/nb/spamsift"
	# shellcheck disable=SC2086
	fails_nobody() {
		$SPAMSIFT --homedir "$T/nb/home" $PIPE <"$T/in" >"$T/out" \
		    2>"$T/err"
		_rc=$?
		d="failure, unreadable home (as nobody)"
		check "$d: status 75 (got $_rc)" [ "$_rc" = 75 ]
		check "$d: message unchanged" cmp -s "$T/out" "$T/in"
	}
	fails_nobody
	SPAMSIFT=$SPAMSIFT_SAVED
	chmod 700 "$T"
else
	skip "unreadable home: running as root without setpriv"
fi
chmod 700 "$T/locked"
# held SIG WHEN OPTIONS...: spamsift $PIPE OPTIONS... < $T/in, waiting
# for a lock, gets SIG once it has the store open (WHEN db) or has read
# all of its input (WHEN read): the message must still go out unchanged.
held() {
	_sig=$1 _when=$2
	shift 2
	# shellcheck disable=SC2086
	"$SPAMSIFT" $PIPE --lock-timeout 30 "$@" <"$T/in" >"$T/out" \
	    2>"$T/err" &
	_pid=$!
	_size=$(wc -c <"$T/in")
	_i=0
	while [ $_i -lt 300 ]; do
		if [ "$_when" = db ]; then
			ls -l "/proc/$_pid/fd" 2>/dev/null |
			    grep -q 'spamsift\.db$' && break
		else
			awk -v s="$_size" '$1 == "pos:" && $2 == s { f = 1 }
			    END { exit !f }' "/proc/$_pid/fdinfo/0" \
			    2>/dev/null && break
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	sleep 0.5	# into the wait
	kill -s "$_sig" "$_pid"
	wait "$_pid"
	_rc=$?
	check "SIG$_sig while the message is owed ($_when): status 75 (got \
$_rc)" [ "$_rc" = 75 ]
	check "SIG$_sig ($_when): message unchanged" cmp -s "$T/out" "$T/in"
	check "SIG$_sig ($_when): said" \
	    grep -q '^spamsift: killed by a signal' "$T/err"
}
# Locked by another process past --lock-timeout.
if command -v sqlite3 >/dev/null 2>&1; then
	mkdir -m 700 "$T/lock"
	cp "$HOME/.spamsift/spamsift.db" "$T/lock/"
	mkfifo "$T/lock.fifo"
	sqlite3 "$T/lock/spamsift.db" <"$T/lock.fifo" >"$T/lock.out" 2>&1 &
	holder=$!
	exec 3>"$T/lock.fifo"
	echo "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;" \
	    "SELECT 'locked';" >&3
	i=0
	while ! grep -q '^locked$' "$T/lock.out" && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if grep -q '^locked$' "$T/lock.out"; then
		fails "database locked past --lock-timeout" --homedir \
		    "$T/lock" --lock-timeout 0
		# A fatal signal (GLib aborts on a failed allocation; a
		# library may crash) while the message is owed, here while
		# waiting for the store before reading it: it still goes out
		# unchanged, with 75.
		held SEGV db --homedir "$T/lock"
	else
		fail "database locked: sqlite3 did not take the lock"
	fi
	echo "COMMIT;" >&3
	exec 3>&-
	wait "$holder"
	# A writer's lock (readers go on): -a judges the message, holds
	# it, and waits to learn it.  An output file of its own: the first
	# holder's "locked" must not be taken for this one's.
	sqlite3 "$T/lock/spamsift.db" <"$T/lock.fifo" >"$T/lock2.out" 2>&1 &
	holder=$!
	exec 3>"$T/lock.fifo"
	echo "BEGIN IMMEDIATE; SELECT 'locked';" >&3
	i=0
	while ! grep -q '^locked$' "$T/lock2.out" 2>/dev/null &&
	    [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	held ABRT read --homedir "$T/lock" -a
	# A timeout's SIGTERM (procmail's TIMEOUT) while it waits: the
	# message went nowhere, status 143 (found by review).
	held TERM read --homedir "$T/lock" -a
	echo "COMMIT;" >&3
	exec 3>&-
	wait "$holder"
else
	skip "database locked: no sqlite3 program to hold the lock"
fi
# A timeout's SIGTERM while standard input is still being read: the
# bytes read so far go out too, then the rest (the start was lost; found
# by review).  A second SIGTERM while the rescue waits on a stalled input
# still ends the process.
printf 'From: a@example.org\nSubject: slow\n\nfirst line\n' >"$T/slow1"
printf 'late line\n' >"$T/slow2"
cat "$T/slow1" "$T/slow2" >"$T/slow"
# shellcheck disable=SC2086
{ cat "$T/slow1"; sleep 2; cat "$T/slow2"; } |
    "$SPAMSIFT" $PIPE >"$T/out" 2>"$T/err" &
pid=$!
sleep 1
kill -TERM "$pid"
wait "$pid"
rc=$?
check "SIGTERM while stdin is read: status 75 ($rc)" [ "$rc" = 75 ]
check "... the whole message out" cmp -s "$T/out" "$T/slow"
# shellcheck disable=SC2086
{ cat "$T/slow1"; sleep 6; cat "$T/slow2"; } |
    "$SPAMSIFT" $PIPE >"$T/out" 2>"$T/err" &
pid=$!
sleep 1
kill -TERM "$pid"
sleep 1
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
check "... a second SIGTERM ends it while the input stalls ($rc)" \
    [ "$rc" = 143 ]
# Past a file-size limit (postfix applies mailbox_size_limit to the
# commands it runs) -a cannot write the store: SIGXFSZ killed the process
# before the mail went out (found by review).  Now the write fails, the
# learning is said to fail, and the message goes out judged.  64 blocks
# of 512 bytes: room for the store's shared-memory file (32 KB), not for
# the learning's log.
mkdir -m 700 "$T/fsz"
cp "$HOME/.spamsift/spamsift.db" "$T/fsz/"
{ cat "$C/spam/spam-007.eml"; echo "a line of its own"; } >"$T/in"
# shellcheck disable=SC2086
(ulimit -f 64; exec "$SPAMSIFT" $PIPE --homedir "$T/fsz" --warm-up 0 -a) \
    <"$T/in" >"$T/out" 2>"$T/err"
rc=$?
check "-a past a file-size limit: the verdict's status ($rc)" \
    [ "$rc" = 0 ] || [ "$rc" = 1 ]
check "... the message out, judged" sh -c 'grep -q "^X-Spam-Flag: " "$1" &&
    sed -e "/^X-Spam-Revision: spamsift /d" -e "/^X-Spam-Flag: /d" \
    -e "/^X-Spam-Probability: /d" "$1" | cmp -s - "$2"' sh "$T/out" "$T/in"
check "... the learning said to fail" grep -q 'not learned' "$T/err"
# A broken configuration file.
mkdir -m 700 "$T/conf"
cp "$HOME/.spamsift/spamsift.db" "$T/conf/"
printf 'no-such-option 1\n' >"$T/conf/spamsift.conf"
chmod 600 "$T/conf/spamsift.conf"
fails "configuration file with an unknown option" --homedir "$T/conf"
printf 'insert-flag\n' >"$T/conf/spamsift.conf"
chmod 666 "$T/conf/spamsift.conf"
fails "configuration file writable by others" --homedir "$T/conf"
# Several file operands, one of them missing: the others still go out,
# in order, and the status says something failed.
# shellcheck disable=SC2086
"$SPAMSIFT" $PIPE "$C/ham/ham-001.eml" "$T/no-such-file" \
    "$C/ham/ham-002.eml" >"$T/out" 2>"$T/err"
check "pipe, a missing operand among three: status 75 ($?)" [ $? = 75 ]
cat "$C/ham/ham-001.eml" "$C/ham/ham-002.eml" >"$T/want"
check "pipe, a missing operand among three: the other two written" \
    sh -c 'sed -e "/^X-Spam-Revision: spamsift /d" -e "/^X-Spam-Flag: /d" \
    -e "/^X-Spam-Probability: /d" "$1" | cmp -s - "$2"' sh "$T/out" \
    "$T/want"
check "... and the missing one named" grep -q 'no-such-file' "$T/err"
# ... one of them a directory (opened, but no read): the same (found by
# review: taken for a write error, it stopped the files after it).
mkdir "$T/a-dir"
# shellcheck disable=SC2086
"$SPAMSIFT" $PIPE "$C/ham/ham-001.eml" "$T/a-dir" "$C/ham/ham-002.eml" \
    >"$T/out" 2>"$T/err"
check "pipe, a directory among three: status 75 ($?)" [ $? = 75 ]
check "pipe, a directory among three: the other two written" \
    sh -c 'sed -e "/^X-Spam-Revision: spamsift /d" -e "/^X-Spam-Flag: /d" \
    -e "/^X-Spam-Probability: /d" "$1" | cmp -s - "$2"' sh "$T/out" \
    "$T/want"
check "... and the directory named, once" \
    sh -c "grep -c 'a-dir: Is a directory' '$T/err' | grep -qx 1"
# Pipe mode asked for by an abbreviation, or by the configuration file
# alone, is still pipe mode when the options are bad: the message goes
# through.
through() {
	_n=$1
	shift
	"$SPAMSIFT" "$@" <"$T/in" >"$T/out" 2>"$T/err"
	_rc=$?
	check "failure, $_n: status 75 (got $_rc)" [ "$_rc" = 75 ]
	check "failure, $_n: message unchanged" cmp -s "$T/out" "$T/in"
}
through "--pip with a bad option" --pip --no-such-option
through "--pi with a bad value" --pi --robs many
# "--pipe=x" is a usage error too, but pipe mode's (it was 64 with nothing
# out; found by review); the message names the word, not a control byte.
through "--pipe=x" --pipe=x --insert-flag
check "... the message names --pipe=x" \
    grep -q 'a value it does not take: --pipe=x$' "$T/err"
through "--insert-flag=yes" --pipe --insert-flag=yes
check "... the message names --insert-flag=yes" \
    grep -q 'a value it does not take: --insert-flag=yes$' "$T/err"
printf 'pipe\ninsert-flag\nno-such-option 1\n' >"$T/conf/spamsift.conf"
chmod 600 "$T/conf/spamsift.conf"
through "pipe in the configuration file, a bad line after it" \
    --homedir "$T/conf"
printf 'pipe\ninsert-flag\n' >"$T/conf/spamsift.conf"
chmod 600 "$T/conf/spamsift.conf"
through "pipe in the configuration file, a bad command line" \
    --homedir "$T/conf" --robs many
# --help and --version would put their text in the mail's place, as
# other commands would (found by review: exit 0, the mail replaced).
through "--pipe --help" --pipe --insert-flag --help
through "--pipe --version" --pipe --version
# A configuration file refused (writable by others) that asks for pipe
# mode: the mail still goes through (it was 64 with nothing out).
chmod 620 "$T/conf/spamsift.conf"
through "pipe in a configuration file writable by others" \
    --homedir "$T/conf"
chmod 600 "$T/conf/spamsift.conf"
# ... but not for a command line that asks for another command: a typo
# in a training run must not echo its standard input.
"$SPAMSIFT" --homedir "$T/conf" -s --no-such-option "$HAM" <"$T/in" \
    >"$T/out" 2>/dev/null
check "pipe in the configuration file, -s with a bad option: 64 ($?)" \
    [ $? = 64 ]
check "... and nothing on standard output" [ ! -s "$T/out" ]
printf 'pipe\nno-such-option 1\n' >"$T/conf/spamsift.conf"
"$SPAMSIFT" --homedir "$T/conf" --show-db-status <"$T/in" >"$T/out" \
    2>/dev/null
check "pipe and a bad line in the file, --show-db-status: 64 ($?)" \
    [ $? = 64 ]
check "... and nothing on standard output" [ ! -s "$T/out" ]
# A header block longer than pipe mode reads (8 MB): ours go first and
# the message follows byte for byte; a field folded across the read's
# end stays whole (found by review: ours went in its middle, and half a
# forged flag was removed), and the forged one past it stays.
awk 'BEGIN {
	for (i = 0; i < 200000; i++)
		printf "Received: from relay%06d.example.org\n\tby mx\n", i
	print "X-Spam-Flag: No"
	print "Subject: long"
	print ""
	print "body"
}' >"$T/bighead"
# shellcheck disable=SC2086
"$SPAMSIFT" $PIPE <"$T/bighead" >"$T/out" 2>"$T/err"
_rc=$?
check "header over 8 MB: status 0 or 1 (got $_rc)" \
    sh -c "[ $_rc = 0 ] || [ $_rc = 1 ]"
check "... ours first, in order" sh -c "
    sed -n 1p '$T/out' | grep -q '^X-Spam-Revision: spamsift ' &&
    sed -n 2p '$T/out' | grep -Eqx 'X-Spam-Flag: (Yes|No)' &&
    sed -n 3p '$T/out' | grep -Eqx 'X-Spam-Probability: [01][.][0-9]{6}'"
check "... then the message byte for byte" sh -c \
    "tail -n +4 '$T/out' | cmp -s - '$T/bighead'"
# A write error on stdout.
if [ -w /dev/full ]; then
	# shellcheck disable=SC2086
	"$SPAMSIFT" $PIPE <"$HAM" >/dev/full 2>"$T/err"
	_rc=$?
	check "failure, stdout write error: status 75 (got $_rc)" \
	    [ "$_rc" = 75 ]
else
	skip "stdout write error: no /dev/full"
fi

# Every message of the shared SpamAssassin corpus, byte-exact.  Measured
# on 2 cores: one process per message takes about 75 s for the 6046
# messages; a process per 500 files (each file one message, as on stdin)
# about 5 s.  A made-up prefix keeps any X-Spam-* lines of the corpus
# apart from ours.
if [ -z "$SHARED" ] || [ ! -d "$SHARED/spamassassin/msgs" ]; then
	skip "SpamAssassin corpus not found (\$SHARED/spamassassin/msgs):" \
	    "byte-exact run on it skipped"
else
	find "$SHARED/spamassassin/msgs" -type f | sort >"$T/sa-list"
	total=$(wc -l <"$T/sa-list")
	split -l 500 "$T/sa-list" "$T/sa-part."
	bad=0 seen=0
	# sa_part PART: pipe one batch, compare, count; writes PART.res.
	sa_part() {
		xargs "$SPAMSIFT" --pipe --insert-revision --insert-flag \
		    --insert-probability --header-prefix Sift7q <"$1" \
		    >"$1.out" 2>"$1.err"
		rc=$?
		n=$(wc -l <"$1")
		xargs cat <"$1" >"$1.in"
		sed -e '/^X-Sift7q-Revision: spamsift /d' \
		    -e '/^X-Sift7q-Flag: /d' -e '/^X-Sift7q-Probability: /d' \
		    "$1.out" | cmp -s - "$1.in"
		same=$?
		# Our lines come in order, right before each header's end.
		order=$(awk '
		/^X-Sift7q-Revision: / { r = NR }
		/^X-Sift7q-Flag: (Yes|No)\r?$/ && r == NR - 1 { f = NR }
		/^X-Sift7q-Probability: [01]\.[0-9]+\r?$/ && f == NR - 1 {
			p = NR
		}
		/^\r?$/ && p == NR - 1 && p > 0 { ok++ }
		END { print ok + 0 }' "$1.out")
		echo "$rc $same $n $order" >"$1.res"
		rm -f "$1.out" "$1.in"
	}
	set --
	for part in "$T"/sa-part.??; do
		sa_part "$part" &
		set -- "$@" $!
		if [ $# -ge 2 ]; then
			wait "$1"
			shift
		fi
	done
	wait
	for part in "$T"/sa-part.??; do
		read -r rc same n order <"$part.res"
		seen=$((seen + n))
		if [ "$rc.$same.$order" != "0.0.$n" ]; then
			echo "# $part: status $rc, cmp $same," \
			    "$order of $n in place"
			head -n 3 "$part.err"
			bad=$((bad + 1))
		fi
	done
	d="SpamAssassin corpus: $seen of $total messages byte-exact"
	d="$d through --pipe, our lines in order at each header's end"
	check "$d" [ "$bad.$seen" = "0.$total" ]
fi

# -q silences reports, never the message (bsfilter's -q --pipe wrote
# nothing, which in a :0fw recipe loses the mail).
"$SPAMSIFT" -q --pipe --insert-flag < "$C/spam/spam-001.eml" > "$T/quiet.out"
rc=$?
check "-q --pipe: status 0 (got $rc)" [ "$rc" = 0 ]
grep -v '^X-Spam-Flag: ' "$T/quiet.out" > "$T/quiet.stripped"
check "-q --pipe: the message is written" \
    cmp -s "$T/quiet.stripped" "$C/spam/spam-001.eml"

# --pipe with another command never loses the mail: -c, -s, -C and -S
# learn the message and write it out as it came (bsfilter's recipes);
# -u (implied) filters; a command with output of its own is refused and
# the message passed through with status 75.
P=$T/pipetrain
mkdir -m 700 "$P"
M=$C/ham/ham-001.eml
"$SPAMSIFT" --homedir "$P" --pipe -c <"$M" >"$T/pt.out"
rc=$?
check "--pipe -c: status 0 ($rc), the message out as it came" \
    sh -c "[ $rc = 0 ] && cmp -s '$T/pt.out' '$M'"
n=$("$SPAMSIFT" --homedir "$P" --show-db-status | awk '$1 == "learned" { print $2 }')
check "--pipe -c: ... and learned ($n)" [ "$n" = 1 ]
"$SPAMSIFT" --homedir "$P" --pipe -c <"$M" >"$T/pt.out" 2>/dev/null
rc=$?
check "--pipe -c again: status 4 ($rc), the message out" \
    sh -c "[ $rc = 4 ] && cmp -s '$T/pt.out' '$M'"
"$SPAMSIFT" --homedir "$P" --pipe -S -u <"$M" >"$T/pt.out" 2>/dev/null
rc=$?
check "--pipe -S -u: status 6 ($rc), the message out" \
    sh -c "[ $rc = 6 ] && cmp -s '$T/pt.out' '$M'"
"$SPAMSIFT" --homedir "$T/nohome/x" --pipe -s <"$M" >"$T/pt.out" 2>"$T/pt.err"
rc=$?
check "--pipe -s with no usable home: status 75 ($rc), the message out" \
    sh -c "[ $rc = 75 ] && cmp -s '$T/pt.out' '$M' && [ -s '$T/pt.err' ]"
"$SPAMSIFT" --pipe -a -u --insert-flag <"$M" >"$T/pt.out"
rc=$?
check "--pipe -a -u: filters (status $rc), the message out with the flag" \
    sh -c "[ $rc = 0 ] && grep -q '^X-Spam-Flag: No' '$T/pt.out' &&
    grep -v '^X-Spam-Flag: ' '$T/pt.out' | cmp -s - '$M'"
for c in --show-db-status --explain --show-tokens --dump --check-db; do
	"$SPAMSIFT" --pipe "$c" <"$M" >"$T/pt.out" 2>"$T/pt.err"
	rc=$?
	check "--pipe $c: refused with 75 ($rc), the message out instead" \
	    sh -c "[ $rc = 75 ] && cmp -s '$T/pt.out' '$M' &&
	    grep -q 'pipe goes with filtering' '$T/pt.err'"
done
# What pipe mode learns is the message training reads from the file: a
# file after a From line, with mbox's empty line at its end, goes out as
# it came but learns as the same message.
{ echo "From someone@example.org Mon Jan  1 00:00:00 2024"
  cat "$C/spam/spam-002.eml"; echo; } >"$T/fromfile"
"$SPAMSIFT" --homedir "$P" --pipe -s <"$T/fromfile" >"$T/pt.out"
check "--pipe -s of a From-line file: the bytes out as they came ($?)" \
    cmp -s "$T/pt.out" "$T/fromfile"
status_is 5 "... and -c of the file moves it (5)" \
    "$SPAMSIFT" --homedir "$P" -q -c "$T/fromfile"
"$SPAMSIFT" --homedir "$P" -q -C "$T/fromfile"
# "pipe" in the configuration file is for filtering: training from the
# command line is not piped.
printf 'pipe\n' >"$P/spamsift.conf"
"$SPAMSIFT" --homedir "$P" -s "$C/spam/spam-001.eml" >"$T/pt.out"
rc=$?
check "pipe in the file, -s FILE: trains ($rc), writes nothing" \
    sh -c "[ $rc = 0 ] && [ ! -s '$T/pt.out' ]"
rm "$P/spamsift.conf"
# -a never learns an empty input (nothing but blank lines).
before=$("$SPAMSIFT" --homedir "$P" --show-db-status | sed -n 2p)
printf '\n\n' | "$SPAMSIFT" --homedir "$P" --pipe -a --warm-up 0 >/dev/null
: | "$SPAMSIFT" --homedir "$P" -a --warm-up 0 >/dev/null
after=$("$SPAMSIFT" --homedir "$P" --show-db-status | sed -n 2p)
check "-a: an empty input is not learned ($after)" [ "$before" = "$after" ]

done_testing
