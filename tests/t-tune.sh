#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tune.sh: proves that "spamsift --tune" evaluates labelled mail from a
# TREC index and from --ham/--spam folders with a report of the right
# shape and sane values (nine rows, rates within 0..100, your settings
# marked, split mode), writes a well-formed ROC SVG, leaves the user's
# database and home untouched, cleans its scratch directory, keeps stderr
# quiet off a terminal, and fails with the documented statuses.
. "$(dirname "$0")/lib.sh"

C=$TOP/corpus

# exits WANT DESCRIPTION STATUS: ok when the status is WANT.
exits() {
	if [ "$3" = "$1" ]; then
		ok "$2"
	else
		fail "$2 (status $3, want $1)"
	fi
}

# rows FILE: the nine table rows (method, training mode, ...).
rows() {
	grep -E '^(g|r|rf) +(all|error|tune) ' "$1"
}

# sane FILE: every number in the rows is a rate or cutoff within range.
sane() {
	rows "$1" | awk '
	{
		n++
		if (NF < 10 || NF > 11) bad = 1
		if ($3 < 0 || $3 > 100) bad = 1		# (1-ROCA)%
		if ($4 < 0 || $4 > 1) bad = 1		# cutoff
		if ($5 < 0 || $5 > 100 || $6 < 0 || $6 > 100) bad = 1
		if ($8 < 0 || $8 > 1) bad = 1		# fp-cutoff
		if ($9 < 0 || $9 > 100 || $10 < 0 || $10 > 100) bad = 1
		if (NF == 11 && $11 != "*") bad = 1
	}
	END { exit (n == 9 && !bad) ? 0 : 1 }'
}

# --- a TREC index
mkdir -m 700 "$T/tmp"
TMPDIR=$T/tmp "$SPAMSIFT" --tune "$C/index" >"$T/out" 2>"$T/err"
exits 0 "index: exit status 0" $?
check "index: messages line" grep -qx 'messages 96: ham 48, spam 48' \
    "$T/out"
check "index: online protocol" grep -q '^protocol: online' "$T/out"
check "index: header line" grep -qE \
    '^method +train +1-ROCA% +cutoff +FP% +FN% +trained +fp-cutoff' \
    "$T/out"
check "index: nine sane rows" sane "$T/out"
check "index: three rows per training mode" test "$(rows "$T/out" |
    awk '{ c[$2]++ } END { print c["all"], c["error"], c["tune"] }')" = \
    "3 3 3"
check "index: training mode all learns every message" test \
    "$(rows "$T/out" | awk '$2 == "all" && $7 == 96' | wc -l)" = 3
check "index: the default settings (rf, all) are marked, once" test \
    "$(rows "$T/out" | grep -c ' \*$')" = 1
check "index: marked row is rf all" grep -qE '^rf +all .* \*$' "$T/out"
check "index: default cutoffs" test \
    "$(rows "$T/out" | awk '$2 == "all" { printf "%s=%s ", $1, $4 }')" = \
    "g=0.900000 r=0.582000 rf=0.950000 "
check "index: database cross-check line" grep -q \
    '^checked: the first 96 messages score the same' "$T/out"
check "index: nothing on stderr off a terminal" test ! -s "$T/err"
check "index: scratch directory removed" test -z "$(ls -A "$T/tmp")"
check "index: no home created" test ! -e "$HOME/.spamsift"

# --- user settings and split
"$SPAMSIFT" --tune -m r --train-mode error --spam-cutoff 0.6 "$C/index" \
    >"$T/out2" 2>&1
exits 0 "settings: exit status 0" $?
check "settings: r error marked" grep -qE '^r +error .* \*$' "$T/out2"
check "settings: user's cutoff on r rows" test \
    "$(rows "$T/out2" | awk '$1 == "r" { print $4 }' | sort -u)" = 0.600000
check "settings: other methods keep their defaults" test \
    "$(rows "$T/out2" | awk '$1 == "rf" { print $4 }' | sort -u)" = 0.950000

"$SPAMSIFT" --tune --tune-split 0.5 "$C/index" >"$T/out3" 2>&1
exits 0 "split: exit status 0" $?
check "split: protocol line" grep -q \
    '^protocol: split (the first 48 messages trained, the other 48' \
    "$T/out3"
check "split: nine sane rows" sane "$T/out3"
check "split: mode all trains only the first half" test \
    "$(rows "$T/out3" | awk '$2 == "all" && $7 == 48' | wc -l)" = 3

# --- folders, and the SVG
"$SPAMSIFT" --tune --ham "$C/ham" --spam "$C/spam" --roc-svg "$T/roc.svg" \
    >"$T/out4" 2>"$T/err4"
exits 0 "folders: exit status 0" $?
check "folders: messages line" grep -qx 'messages 96: ham 48, spam 48' \
    "$T/out4"
check "folders: source names both, in turn" grep -q \
    "^spamsift tune: ham $C/ham, spam $C/spam (taken in turn, ham first)" \
    "$T/out4"
check "folders: nine sane rows" sane "$T/out4"
check "svg: written" test -s "$T/roc.svg"
check "svg: three curves" test "$(grep -c '<polyline' "$T/roc.svg")" = 3
check "svg: labelled axes" grep -q 'false positives' "$T/roc.svg"
if command -v xmllint >/dev/null 2>&1; then
	check "svg: well-formed XML" xmllint --noout "$T/roc.svg"
else
	skip "svg: xmllint not installed"
fi

# An mbox each (first line "From "), mixed with a folder.
grep -l . "$C"/spam/*.eml | head -5 | while read -r f; do
	printf 'From spammer@example.com Thu Jan  1 00:00:00 2025\n'
	sed 's/^From />From /' "$f"
	printf '\n'
done >"$T/spam.mbox"
"$SPAMSIFT" --tune --ham "$C/ham" --spam "$T/spam.mbox" >"$T/out5" 2>&1
exits 0 "mbox: exit status 0" $?
check "mbox: five spam from the mbox" grep -qx \
    'messages 53: ham 48, spam 5' "$T/out5"

# --- a folder past SPAMSIFT_MAX_FOLDER: no tuning on part of it
SPAMSIFT_MAX_FOLDER=10 "$SPAMSIFT" --tune --ham "$C/ham" \
    --spam "$T/spam.mbox" >/dev/null 2>"$T/e6"
exits 3 "folder past the limit: exit status 3" $?
check "folder past the limit: said" grep -q \
    "ham: 38 messages past the first 10 not read (SPAMSIFT_MAX_FOLDER)" \
    "$T/e6"

# --- a folder entry that cannot be read: the error names it, not the
# folder (it named the folder, found by review)
mkdir "$T/hamd"
cp "$C"/ham/ham-00[1-4].eml "$T/hamd/"
ln -s "$T/nowhere" "$T/hamd/ham-002x.eml"
"$SPAMSIFT" --tune --ham "$T/hamd" --spam "$T/spam.mbox" >/dev/null \
    2>"$T/e7"
exits 3 "unreadable entry: exit status 3" $?
check "unreadable entry: the error names it" grep -qx \
    "spamsift: $T/hamd/ham-002x.eml: No such file or directory" "$T/e7"

# --- the user's database is untouched
"$SPAMSIFT" -c "$C"/ham/ham-00[1-9].eml >/dev/null 2>&1
"$SPAMSIFT" -s "$C"/spam/spam-00[1-9].eml >/dev/null 2>&1
"$SPAMSIFT" --dump >"$T/dump1" 2>/dev/null
ls -l --time-style=full-iso "$HOME/.spamsift" >"$T/ls1"
"$SPAMSIFT" --tune "$C/index" >/dev/null 2>&1
exits 0 "user db: tune with a trained home" $?
ls -l --time-style=full-iso "$HOME/.spamsift" >"$T/ls2"
"$SPAMSIFT" --dump >"$T/dump2" 2>/dev/null
check "user db: dump non-empty" test -s "$T/dump1"
check "user db: --dump unchanged" cmp -s "$T/dump1" "$T/dump2"
check "user db: files unchanged" cmp -s "$T/ls1" "$T/ls2"

# --- errors
"$SPAMSIFT" --tune >/dev/null 2>"$T/e1"
exits 64 "error: no input is a usage error" $?
check "error: says what to give" grep -q '^spamsift: tune: give' "$T/e1"
"$SPAMSIFT" --tune --ham "$C/ham" >/dev/null 2>&1
exits 64 "error: --ham without --spam" $?
"$SPAMSIFT" --tune --ham "$C/ham" --spam "$C/spam" "$C/index" \
    >/dev/null 2>&1
exits 64 "error: index and folders both" $?
"$SPAMSIFT" --tune "$T/nonexistent" >"$T/o6" 2>"$T/e6"
exits 3 "error: missing index" $?
check "error: missing index named" grep -q "^spamsift: $T/nonexistent: " \
    "$T/e6"
check "error: no report on failure" test ! -s "$T/o6"
printf 'spam spam/spam-001.eml\nmaybe ham/ham-001.eml\n' >"$T/bad.idx"
cp -R "$C/spam" "$C/ham" "$T/"
"$SPAMSIFT" --tune "$T/bad.idx" >/dev/null 2>"$T/e7"
exits 3 "error: bad index line" $?
check "error: bad line numbered" grep -q "^spamsift: $T/bad.idx:2: " \
    "$T/e7"
printf 'spam spam/spam-001.eml\nham ham/none.eml\n' >"$T/gone.idx"
"$SPAMSIFT" --tune "$T/gone.idx" >/dev/null 2>"$T/e8"
exits 3 "error: missing message file" $?
check "error: missing file named" grep -q "ham/none.eml" "$T/e8"
mkdir "$T/empty"
"$SPAMSIFT" --tune --ham "$C/ham" --spam "$T/empty" >/dev/null 2>"$T/e9"
exits 3 "error: no spam" $?
check "error: says both classes are needed" grep -q 'need both ham and spam' \
    "$T/e9"
"$SPAMSIFT" --tune --roc-svg "$T/no/such/dir/roc.svg" "$C/index" \
    >/dev/null 2>"$T/e10"
exits 3 "error: unwritable svg" $?

# As training does: in mode error a message learned as the other class
# is moved (the same mail labelled ham, then spam, is learned both
# times), and an empty file is no message.
printf 'ham %s\nspam %s\nspam %s\nham %s\nham %s\nspam %s\n' \
    "$C/spam/spam-001.eml" "$C/spam/spam-001.eml" "$C/spam/spam-002.eml" \
    "$C/ham/ham-001.eml" "$C/ham/ham-002.eml" "$C/spam/spam-003.eml" \
    >"$T/relabel.idx"
"$SPAMSIFT" --tune --robx 0.5 -m r --train-mode error --spam-cutoff 0.01 \
    "$T/relabel.idx" >"$T/rl.out" 2>&1
check "error mode: the relabelled message is moved (4 learned)" test \
    "$(rows "$T/rl.out" | awk '$1 == "r" && $2 == "error" { print $7 }')" = 4
: >"$T/blank.eml"
{ echo "ham $T/blank.eml"; cat "$C/index"; } >"$T/blank.idx"
"$SPAMSIFT" --tune "$T/blank.idx" >"$T/bl.out" 2>"$T/bl.err"
check "an empty file: not counted (96 messages)" \
    grep -qx 'messages 96: ham 48, spam 48' "$T/bl.out"
check "an empty file: said so" grep -q 'blank.eml: empty, not used' "$T/bl.err"

# --- the shared corpus, every 15th message (its index starts with spam)
if [ -z "$SHARED" ] || [ ! -f "$SHARED/spamassassin/index" ]; then
	skip "shared: no ../shared/corpus/spamassassin (not in this checkout)"
else
	awk 'NR % 15 == 1' "$SHARED/spamassassin/index" |
	    sed "s|^\([a-z]*\) |\1 $SHARED/spamassassin/|" >"$T/sa.idx"
	"$SPAMSIFT" --tune "$T/sa.idx" >"$T/sa.out" 2>&1
	exits 0 "shared: exit status 0" $?
	check "shared: 404 messages" grep -q '^messages 404: ' "$T/sa.out"
	check "shared: nine sane rows" sane "$T/sa.out"
	check "shared: rf learns (1-ROCA)% under 10" test "$(rows "$T/sa.out" |
	    awk '$1 == "rf" && $2 == "all" { print ($3 < 10) }')" = 1
	# A kill while the scratch store is in use removes it (found by
	# review: it stayed in TMPDIR).  On the whole index, whose scratch
	# phase lasts long enough to be caught in it.  SIGTERM: a background
	# job ignores SIGINT.
	mkdir "$T/stop"
	sed "s|^\([a-z]*\) |\1 $SHARED/spamassassin/|" \
	    "$SHARED/spamassassin/index" >"$T/all.idx"
	TMPDIR=$T/stop "$SPAMSIFT" --tune "$T/all.idx" >/dev/null 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 600 ] && ! ls "$T/stop"/spamsift-tune.*/spamsift.db \
	    >/dev/null 2>&1; do
		sleep 0.05
		i=$((i + 1))
	done
	if ls "$T/stop"/spamsift-tune.*/spamsift.db >/dev/null 2>&1; then
		kill -TERM "$pid"
		wait "$pid"
		rc=$?
		if [ "$rc" = 0 ]; then
			skip "SIGTERM in the scratch phase: it ended first"
		else
			check "SIGTERM in the scratch phase: killed ($rc)" \
			    [ "$rc" = 143 ]
			check "SIGTERM in the scratch phase: directory gone" \
			    [ -z "$(ls -A "$T/stop")" ]
		fi
	else
		kill "$pid" 2>/dev/null
		wait "$pid"
		skip "SIGTERM in the scratch phase: the phase was not caught"
	fi
fi

done_testing
