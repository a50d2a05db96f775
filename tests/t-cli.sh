#!/bin/sh
# SPDX-License-Identifier: MIT
# t-cli.sh - the command line contract: --help and --version, usage errors
# (64), every exit status of the EXIT STATUS section (0 spam, 1 clean,
# 2 unsure, 3 error, 4 duplicate, 5 moved, 6 not learned), the report line
# format "combined probability FILE N P", -q, the --show-db-status fields,
# export/import and dump/load round trips, --check-db; and that --help and
# man/spamsift.1 both cover every option of the longopts table in
# src/opts.c (the man page also mandoc -Tlint clean).
. "$(dirname "$0")/lib.sh"

C=$TOP/corpus
# A private copy of the binary: one build for the whole run, even if the
# tree is rebuilt meanwhile.
mkdir "$T/bin"
cp "$SPAMSIFT" "$T/bin/spamsift" || exit 1
SPAMSIFT=$T/bin/spamsift
HAM=$C/ham/ham-001.eml SPAM=$C/spam/spam-001.eml

# The long options, as src/opts.c's longopts table has them.
sed -n '/^static const struct option longopts/,/^};/p' "$TOP/src/opts.c" |
    sed -n 's/^[[:blank:]]*{ "\([a-z0-9-]*\)",.*/\1/p' >"$T/longopts"
n=$(wc -l <"$T/longopts")
check "src/opts.c: the longopts table read ($n options)" [ "$n" -gt 40 ]

# --help, --version, usage errors.
"$SPAMSIFT" --help >"$T/help" 2>"$T/err"
rc=$?
check "--help: status 0 (got $rc)" [ "$rc" = 0 ]
check "--help: starts with the usage line" \
    [ "$(head -n 1 "$T/help" | cut -c1-16)" = "usage: spamsift " ]
check "--help: on stdout only" [ ! -s "$T/err" ]
"$SPAMSIFT" -h >"$T/help2"
check "-h: the same text" cmp -s "$T/help" "$T/help2"
missing=
while read -r o; do
	grep -q -e "--$o\([^a-z-]\|\$\)" "$T/help" || missing="$missing $o"
done <"$T/longopts"
check "--help names every long option (missing:${missing:- none})" \
    [ -z "$missing" ]
v=$("$SPAMSIFT" --version)
rc=$?
check "--version: status 0, 'spamsift X.Y.Z' ($v)" \
    sh -c '[ "$1" = 0 ] && echo "$2" | grep -q "^spamsift [0-9][0-9.]*$"' \
    sh "$rc" "$v"
check "--revision is --version" [ "$("$SPAMSIFT" --revision)" = "$v" ]
# bsfilter's options without effect here: a recipe that has them still
# filters (found by review: 75, the message passed through unjudged).
"$SPAMSIFT" --homedir "$T/bsf" -q -s "$TOP/corpus/spam/spam-001.eml"
"$SPAMSIFT" --homedir "$T/bsf" --pipe --insert-flag --show-process -d -D \
    --db sdbm \
    --disable-utf-8 --show-new-token --ignore-plain-text-part \
    --ignore-after-last-atag --mark-in-token '|!' --pid-file /dev/null \
    <"$TOP/corpus/spam/spam-001.eml" >"$T/out" 2>"$T/err"
rc=$?
check "bsfilter's no-effect options in pipe mode: filtered, 0 ($rc)" \
    sh -c '[ "$1" = 0 ] && grep -q "^X-Spam-Flag: " "$2"' sh "$rc" "$T/out"
"$SPAMSIFT" --homedir </dev/null >"$T/out" 2>"$T/err"
rc=$?
check "usage error '--homedir' without its value: status 64 (got $rc)" \
    [ "$rc" = 64 ]
for bad in --no-such-option -Z "--method xyz" "--spam-cutoff 2" \
    "--ham-cutoff -1" "--jtokenizer none" "-c -s" \
    "--spam-cutoff 0.5 --ham-cutoff 0.9" "--train-mode sometimes" \
    "--robs nan" "--spam-cutoff nan" "--tune --target-fp nan" \
    "--tune --tune-split nan"; do
	# shellcheck disable=SC2086
	"$SPAMSIFT" $bad "$HAM" >"$T/out" 2>"$T/err"
	rc=$?
	check "usage error '$bad': status 64 (got $rc)" [ "$rc" = 64 ]
	said=no
	[ -s "$T/err" ] && said=yes
	check "usage error '$bad': a reason on stderr, nothing on stdout" \
	    [ "$(wc -c <"$T/out").$said" = 0.yes ]
done
check "usage errors name the program as 'spamsift:'" \
    sh -c '"$1" --no-such-option 2>&1 | grep -q "^spamsift: "' sh \
    "$SPAMSIFT"

# No database yet: filtering is an error (3), not "clean".
"$SPAMSIFT" "$HAM" >/dev/null 2>"$T/err"
rc=$?
check "no database: status 3 (got $rc)" [ "$rc" = 3 ]
check "no database: says to train first" grep -q 'train' "$T/err"

# Train (half of corpus/ as each class), then the statuses.
"$SPAMSIFT" -s "$C"/spam/spam-0[0-2]*.eml 2>"$T/err"
rc=$?
check "-s: new messages learned, status 0 (got $rc)" [ "$rc" = 0 ]
check "-s: quiet when all went as asked" [ ! -s "$T/err" ]
"$SPAMSIFT" -c "$C"/ham/ham-0[0-2]*.eml
check "-c: status 0" [ $? = 0 ]
"$SPAMSIFT" "$SPAM" >"$T/out"
rc=$?
check "filter a spam: status 0 (got $rc)" [ "$rc" = 0 ]
check "report line: 'combined probability FILE 1 P' with P as %f" \
    grep -q "^combined probability $SPAM 1 [01]\.[0-9]\{6,15\}\$" "$T/out"
"$SPAMSIFT" "$HAM" >/dev/null
rc=$?
check "filter a clean message: status 1 (got $rc)" [ "$rc" = 1 ]
"$SPAMSIFT" "$HAM" "$SPAM" "$C/ham/ham-002.eml" >"$T/out"
rc=$?
check "several files, one spam: status 0 (got $rc)" [ "$rc" = 0 ]
check "several files: one report line each, in order" \
    [ "$(awk '{ print $3 }' "$T/out" | tr '\n' ' ')" = \
    "$HAM $SPAM $C/ham/ham-002.eml " ]
"$SPAMSIFT" <"$SPAM" >"$T/out"
rc=$?
check "stdin: status 0 (got $rc)" [ "$rc" = 0 ]
check "stdin: reported as '-'" grep -q "^combined probability - 1 " "$T/out"
"$SPAMSIFT" -q "$SPAM" >"$T/out" 2>&1
rc=$?
check "-q: no output (spam)" [ ! -s "$T/out" ]
check "-q: the status stays 0 (got $rc)" [ "$rc" = 0 ]
"$SPAMSIFT" -q "$HAM" >/dev/null 2>&1
check "-q: the status stays 1 for clean" [ $? = 1 ]
"$SPAMSIFT" --spam-cutoff 1 --ham-cutoff 0 "$SPAM" >/dev/null
rc=$?
check "unsure (--ham-cutoff 0 --spam-cutoff 1): status 2 (got $rc)" \
    [ "$rc" = 2 ]
"$SPAMSIFT" --explain --spam-cutoff 1 --ham-cutoff 0 "$SPAM" >"$T/out"
rc=$?
check "--explain, unsure: status 2 as without it (got $rc)" [ "$rc" = 2 ]
check "--explain, unsure: says so" grep -q ' unsure$' "$T/out"
"$SPAMSIFT" --ham-cutoff 0 "$SPAM" "$HAM" >/dev/null
rc=$?
check "--ham-cutoff, a spam among unsure: status 0 (got $rc)" [ "$rc" = 0 ]
"$SPAMSIFT" "$T/no-such-file" >/dev/null 2>&1
rc=$?
check "a file that does not exist: status 3 (got $rc)" [ "$rc" = 3 ]

# Training outcomes.
"$SPAMSIFT" -s "$C/spam/spam-001.eml" 2>"$T/err"
rc=$?
check "-s again: duplicate, status 4 (got $rc)" [ "$rc" = 4 ]
check "-s again: said on stderr" grep -q 'already learned' "$T/err"
"$SPAMSIFT" -q -s "$C/spam/spam-001.eml" 2>"$T/err"
rc=$?
check "-q -s again: status 4, nothing said" \
    [ "$rc.$(wc -c <"$T/err")" = 4.0 ]
"$SPAMSIFT" -c "$C/spam/spam-002.eml" 2>/dev/null
rc=$?
check "-c on a message learned as spam: moved, status 5 (got $rc)" \
    [ "$rc" = 5 ]
"$SPAMSIFT" -S "$C/spam/spam-040.eml" 2>/dev/null
rc=$?
check "-S on a message never learned: status 6 (got $rc)" [ "$rc" = 6 ]
"$SPAMSIFT" -C "$C/spam/spam-002.eml"
rc=$?
check "-C on a message learned as clean: unlearned, status 0 (got $rc)" \
    [ "$rc" = 0 ]
"$SPAMSIFT" -s "$C/spam/spam-002.eml"
check "-s: learned again, status 0" [ $? = 0 ]
"$SPAMSIFT" -s "$C/spam/spam-001.eml" "$C/spam/spam-041.eml" 2>/dev/null
rc=$?
check "-s, one duplicate and one new: status 0 (got $rc)" [ "$rc" = 0 ]
"$SPAMSIFT" -u
check "-u alone: status 0" [ $? = 0 ]

# --show-db-status.
"$SPAMSIFT" --show-db-status >"$T/st"
rc=$?
check "--show-db-status: status 0 (got $rc)" [ "$rc" = 0 ]
check "--show-db-status: database path" \
    grep -qx "database $HOME/.spamsift/spamsift.db" "$T/st"
check "--show-db-status: message counts (30 spam, 29 clean)" \
    grep -qx "messages spam 30 clean 29" "$T/st"
check "--show-db-status: token counts" \
    grep -q "^tokens [1-9][0-9]* spam [1-9][0-9]* clean [1-9][0-9]*\$" "$T/st"
check "--show-db-status: messages remembered (59)" grep -qx "learned 59" "$T/st"
check "--show-db-status: file size" grep -q "^size [1-9][0-9]* bytes\$" "$T/st"
check "--show-db-status: schema and tokenizer versions" \
    grep -q "^schema [1-9][0-9]* tokenizer [1-9][0-9]*\$" "$T/st"
check "--show-db-status: journal mode (wal on a local disk)" \
    grep -q "^journal wal\$" "$T/st"
robx=$(sed -n 's/^robx //p' "$T/st")
check "--show-db-status: robx of the database, in (0, 1) ($robx)" \
    awk -v x="$robx" 'BEGIN { exit !(x > 0 && x < 1) }'

# Round trips: --dump / --load, and --export-* / --import-*.
"$SPAMSIFT" --dump >"$T/dump"
check "--dump: status 0" [ $? = 0 ]
check "--dump: header line" [ "$(head -n 1 "$T/dump")" = "#spamsift-dump 3" ]
check "--dump: the tokenizer's version next" \
    [ "$(sed -n 2p "$T/dump")" = "#tokenizer 1" ]
check "--dump: #end last" [ "$(tail -n 1 "$T/dump")" = "#end" ]
"$SPAMSIFT" --homedir "$T/h1" --load "$T/dump"
check "--load into a new home: status 0" [ $? = 0 ]
"$SPAMSIFT" --homedir "$T/h1" --dump >"$T/dump2"
check "--dump | --load | --dump: identical" cmp -s "$T/dump" "$T/dump2"
"$SPAMSIFT" --homedir "$T/h1" --load <"$T/dump" 2>/dev/null
"$SPAMSIFT" --homedir "$T/h2" --load <"$T/dump"
"$SPAMSIFT" --homedir "$T/h2" --dump >"$T/dump3"
check "--load from stdin: identical" cmp -s "$T/dump" "$T/dump3"
"$SPAMSIFT" --export-spam >"$T/es" && "$SPAMSIFT" --export-clean >"$T/ec"
check "--export-spam, --export-clean: status 0" [ $? = 0 ]
"$SPAMSIFT" --homedir "$T/h4" --import-spam "$T/es" &&
    "$SPAMSIFT" --homedir "$T/h4" --import-clean "$T/ec"
check "--import-spam, --import-clean: status 0" [ $? = 0 ]
# Class exports carry counts only (not robx, the #meta lines of a dump,
# nor the learned messages.
"$SPAMSIFT" --homedir "$T/h4" --dump | grep -v '^#meta ' | cut -f 1-3 |
    sed '/^#learned$/,$d' >"$T/d4"
grep -v '^#meta ' "$T/dump" | cut -f 1-3 | sed '/^#learned$/,$d' >"$T/d0"
check "export -> import: the same counts (--dump, day column aside)" \
    cmp -s "$T/d0" "$T/d4"
"$SPAMSIFT" "$SPAM" | awk '{ print $5 }' >"$T/p0"
"$SPAMSIFT" --homedir "$T/h1" "$SPAM" | awk '{ print $5 }' >"$T/p1"
check "a loaded database scores as the original" cmp -s "$T/p0" "$T/p1"
"$SPAMSIFT" --export-spam "$T/es" 2>/dev/null
check "--export-spam FILE does not overwrite an existing file" [ $? = 3 ]
printf 'not\tan import line\n' >"$T/bad"
"$SPAMSIFT" --homedir "$T/h5" --import-spam "$T/bad" 2>/dev/null
check "--import-spam of a bad line: status 3" [ $? = 3 ]
# Counts are digits, at most 2^32 - 1: a sign or more is a bad line, and
# nothing of the file is imported.
for bad in 'foo\t-2' 'foo\t 2' 'foo\t4294967296' '#messages -3'; do
	printf '#spamsift-export 1 spam\nok\t5\n%b\n' "$bad" >"$T/bad"
	"$SPAMSIFT" --homedir "$T/h6" --import-spam "$T/bad" 2>"$T/err"
	rc=$?
	check "--import-spam '$bad': status 3 ($rc), saying where" \
	    sh -c "[ $rc = 3 ] && grep -q 'bad:3: not an import line' '$T/err'"
done
check "... and nothing imported" \
    sh -c "! '$SPAMSIFT' --homedir '$T/h6' --dump 2>/dev/null |
    grep -q '^ok'"
# A token that starts with '#' (a header name of --refer-all-header)
# survives the round trip: only lines without a tab are comments.
printf '#spamsift-dump 1\n#messages 1 0\n#weird:hi\t1\t0\t20000\n' \
    >"$T/hash"
"$SPAMSIFT" --homedir "$T/h7" --load "$T/hash"
check "--load: a token starting with '#' is kept" \
    sh -c "'$SPAMSIFT' --homedir '$T/h7' --dump | grep -q '^#weird:hi	1	0'"
# A dump's learned messages: "#learned", then DIGEST, class, day, weight
# step (one the learner can take: 0 to 2621 for spam, -2621 to 0 for
# clean), Message-ID.  A bad line loads nothing, saying why.
D64=$(printf '%064d' 7)
CR=$(printf '\r')
load_bad() {	# load_bad WHAT LINE REASON: a dump whose 5th line is LINE
	printf '#spamsift-dump 2\n#messages 1 0\nok\t1\t0\t5\t-3\n#learned\n%b\n' \
	    "$2" >"$T/bad"
	"$SPAMSIFT" --homedir "$T/h8" --load "$T/bad" 2>"$T/err"
	rc=$?
	check "--load of $1: status 3 ($rc), saying where and why" \
	    sh -c "[ $rc = 3 ] && grep -q 'bad:5: $3' '$T/err'"
}
load_bad "a learned line of 4 fields" "$D64\tspam\t1\t2" "not an import"
load_bad "a learned line of 6 fields" "$D64\tspam\t1\t2\tid\tmore" "not an"
load_bad "class junk" "$D64\tjunk\t1\t2\tid" "not an import line"
load_bad "a digest that is not hex" "${D64%?}x\tspam\t1\t2\tid" "not an"
load_bad "a day that is not a number" "$D64\tspam\tday\t2\tid" "not an"
load_bad "a CR in the Message-ID" "$D64\tspam\t1\t2\tid$CR" "not an"
for g in 'spam\t1\t-1' 'clean\t1\t1' 'spam\t1\t2622' 'clean\t1\t-2622' \
    'spam\t1\t5000000000' 'clean\t1\t-9223372036854775808' \
    'spam\t1\t99999999999999999999'; do
	case $g in *99999999999*) why="not an import line" ;;
	*) why="weight step not one the learner takes" ;; esac
	load_bad "step '$g'" "$D64\t$g\tid" "$why"
done
# #meta: a carried key's value is checked; other keys are left out.
for m in 'lr_msgs 99999999999999999999999' 'lr_msgs 5x' 'lr_msgs -1' \
    'robx_micro 1000001'; do
	printf '#spamsift-dump 2\n#meta %s\n' "$m" >"$T/bad"
	"$SPAMSIFT" --homedir "$T/h8" --load "$T/bad" 2>"$T/err"
	rc=$?
	check "--load of '#meta $m': status 3 ($rc), saying where" \
	    sh -c "[ $rc = 3 ] && grep -q 'bad:2: #meta value' '$T/err'"
done
printf '#spamsift-dump 2\n#meta other 5x\n#messages 1 0\nx\t1\t0\t5\t0\n' \
    >"$T/meta"
check "--load: an unknown #meta key is left out" \
    "$SPAMSIFT" --homedir "$T/h9" --load "$T/meta"
printf '#spamsift-dump 2\n#messages 1 0\nok\t1\t0\t5\n' >"$T/bad"
"$SPAMSIFT" --homedir "$T/h8" --load "$T/bad" 2>"$T/err"
check "--load: a version 2 token line needs its weight ($?)" \
    grep -q 'bad:3: not an import line' "$T/err"
for v in 4 0 4294967298 2junk; do
	printf '#spamsift-dump %s\n#messages 1 0\n' "$v" >"$T/bad"
	"$SPAMSIFT" --homedir "$T/h8" --load "$T/bad" 2>"$T/err"
	rc=$?
	case $v in 2junk) why="not an import line" ;;
	*) why="dump version $v: this program reads versions 1 to 3" ;; esac
	check "--load: a dump of version '$v' is refused ($rc)" \
	    sh -c "[ $rc = 3 ] && grep -q 'bad:1: $why' '$T/err'"
done
check "... and nothing was loaded" \
    sh -c "! '$SPAMSIFT' --homedir '$T/h8' --dump 2>/dev/null | grep -q '^ok'"
printf '#spamsift-dump 2\n#messages 1 1\nok\t1\t0\t5\t-3\n#learned\n' \
    >"$T/good"
printf '%s\tspam\t5\t9\t\n%s\tclean\t6\t-2621\tb@x\n' "$D64" \
    "$(printf '%064d' 8)" >>"$T/good"
"$SPAMSIFT" --homedir "$T/h8" --load "$T/good"
"$SPAMSIFT" --homedir "$T/h8" --dump >"$T/out"
check "--load: a negative weight, a message with no Message-ID" \
    sh -c "grep -q '^ok	1	0	5	-3\$' '$T/out' &&
    grep -q '^$D64	spam	5	9	\$' '$T/out' &&
    grep -q '	clean	6	-2621	b@x\$' '$T/out'"
# A dump cut short (an interrupted copy: no #end, or a last line
# without its line end, its number maybe short) loads nothing; it loaded
# 3% of the tokens and a wrong weight, with status 0 (found by review).
# So does a dump of another tokenizer version, whose tokens this program
# never makes (--load stamped its own version on them).
"$SPAMSIFT" --homedir "$T/h8" --dump >"$T/full"
mkdir -m 700 "$T/hcut"
head -n 5 "$T/full" >"$T/cut1"
head -c $(($(wc -c <"$T/full") - 7)) "$T/full" >"$T/cut2"
sed 's/^#tokenizer 1$/#tokenizer 2/' "$T/full" >"$T/tok2"
for f in cut1:'no #end line' cut2:'no line end' \
    tok2:'tokenizer version 2: this program.s is 1'; do
	"$SPAMSIFT" --homedir "$T/hcut" --load "$T/${f%%:*}" 2>"$T/err"
	rc=$?
	check "--load ${f%%:*}: refused, status 3 ($rc)" [ "$rc" = 3 ]
	check "... saying why" grep -q "${f#*:}" "$T/err"
	check "... and nothing loaded" sh -c "! '$SPAMSIFT' --homedir \
	    '$T/hcut' --dump 2>/dev/null | grep -q '	'"
done
"$SPAMSIFT" --homedir "$T/hcut" --load "$T/full"
check "--load of the whole dump: the same dump back" \
    sh -c "'$SPAMSIFT' --homedir '$T/hcut' --dump | cmp -s - '$T/full'"
# A dump file is as private as the store (it was 0644 under umask 022).
(umask 022; "$SPAMSIFT" --dump "$T/priv.dump")
check "--dump FILE: mode 600 ($(stat -c %a "$T/priv.dump"))" \
    [ "$(stat -c %a "$T/priv.dump")" = 600 ]
# Dumps one after another on standard input: each header starts one.
cat "$T/dump" "$T/dump" | "$SPAMSIFT" --homedir "$T/h10" --load 2>"$T/err"
check "--load of two dumps in one stream: status 0 ($?)" [ $? = 0 ]
nl=$(grep -c '	spam	\|	clean	' "$T/dump")
check "... each of its $nl learned messages counted twice, and it says so" \
    grep -q "^spamsift: --load: $nl learned messages were already known" \
    "$T/err"

# --check-db.
"$SPAMSIFT" --check-db >"$T/out"
rc=$?
check "--check-db: status 0, prints ok (got $rc)" \
    [ "$rc.$(cat "$T/out")" = 0.ok ]
garbage_store "$T/garbage"
"$SPAMSIFT" --homedir "$T/garbage" --check-db >/dev/null 2>"$T/err"
rc=$?
check "--check-db on garbage: status 3 (got $rc)" [ "$rc" = 3 ]
"$SPAMSIFT" --homedir "$T/garbage" "$HAM" >/dev/null 2>&1
rc=$?
check "filtering with a garbage database: status 3 (got $rc)" [ "$rc" = 3 ]

# The man page: every option, and lint clean.
# A reader that goes early ends a read-out quietly, as it ends cat: more
# tokens than a pipe holds, read one line of.
awk 'BEGIN { print "Subject: many words\n"; for (i = 0; i < 30000; i++)
    printf "word%dx tok%dy\n", i, i }' >"$T/many.eml"
{ "$SPAMSIFT" --show-tokens <"$T/many.eml" 2>"$T/err"; echo $? >"$T/rc"; } |
    head -n 1 >/dev/null
check "--show-tokens | head: no error message ($(head -c 80 "$T/err"))" \
    [ ! -s "$T/err" ]
check "--show-tokens | head: ended by SIGPIPE (status $(cat "$T/rc"))" \
    [ "$(cat "$T/rc")" -gt 128 ]

MAN=$TOP/man/spamsift.1
if [ ! -f "$MAN" ]; then
	fail "man/spamsift.1 is missing"
else
	missing=
	while read -r o; do
		grep -q -E "Fl -$o([^a-z-]|\$)" "$MAN" ||
		    missing="$missing $o"
	done <"$T/longopts"
	d="man/spamsift.1 documents every long option"
	check "$d (missing:${missing:- none})" [ -z "$missing" ]
	for s in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" ENVIRONMENT FILES \
	    EXAMPLES "SEE ALSO"; do
		check "man/spamsift.1: section $s" grep -q "^\.Sh $s\$" "$MAN"
	done
	for st in 0 1 2 3 4 5 6 64 75; do
		check "man/spamsift.1: exit status $st documented" \
		    grep -q "^\.It $st\$" "$MAN"
	done
	if command -v mandoc >/dev/null 2>&1; then
		mandoc -Tlint -Wwarning "$MAN" "$TOP/man/spamsift.conf.5" \
		    >"$T/lint" 2>&1
		check "mandoc -Tlint -Wwarning: clean" [ ! -s "$T/lint" ]
		[ -s "$T/lint" ] && sed 's/^/# /' "$T/lint"
	else
		skip "mandoc not installed: man pages not linted"
	fi
fi

done_testing
