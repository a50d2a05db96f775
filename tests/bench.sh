#!/bin/sh
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2046,SC2317
# (set -- $(...) splits on purpose; the per-filter functions are called by
# name.)
# bench.sh [INDEX] (make bench): the side-by-side benchmark of issue 6.
# Trains spamsift and each installed peer (bogofilter-sqlite, spamprobe,
# bsfilter) from an empty database on the first half of a TREC-format index,
# classifies the second half in bulk, runs one procmail-style process per
# message from stdin, measures the database, and prints one table with each
# figure's ratio to bogofilter's.  Raw figures: bench-out/results.tsv, each
# filter's scores: bench-out/scores-FILTER.tsv.  It proves nothing pass/fail,
# it measures; with no corpus it says so and exits 0.  It installs nothing,
# needs no network and is never part of make check.
#
# INDEX: lines "spam PATH" / "ham PATH", PATH relative to the index's folder;
#   default ../shared/corpus/spamassassin/index from the repo root.
# BENCH_REPS: procmail-style runs per filter and round (50), over different
#   messages spread evenly through the second half; medians are reported.
# BENCH_ROUNDS: rounds (3), each training every filter from an empty
#   database, classifying and running the procmail-style processes, the
#   filters in turn; the table takes each filter's fastest bulk round and
#   the median of all its procmail-style runs, and a line under it gives
#   spamsift's bulk rates over bogofilter's round by round.
# BENCH_BSF_MAX: most messages of each half given to bsfilter (15000);
#   past that it gets every k-th message, and the table says so.  It costs
#   about 13 ms of CPU per message to train and 9 to classify, so 15000 of
#   each stay under 10 minutes on an idle core.
# BENCH_CLOCK: wall (default) gives the table's msg/s per wall-clock
#   second, the time a user waits (spamsift's bulk training tokenizes
#   on every CPU, --threads); cpu gives them per CPU second
#   (user + sys of the processes, children included), which other load on
#   the machine barely moves.  A line under the table gives the bulk rates
#   by the other clock, each filter's fastest round by it; results.tsv has
#   both, and a phase whose wall time is far above its CPU time (busy
#   machine, or waiting on disk) is noted under the table.
# SPAMSIFT: the binary (./spamsift).  CC: builds tests/bench/runstat.c.
#
# Each filter is driven through its own command line with its defaults:
#   spamsift   train: xargs spamsift -s FILES / -c FILES
#              classify: xargs spamsift --list-spam FILES (rf, spam > 0.95)
#              one: spamsift --pipe --insert-flag --insert-probability < MSG
#   bogofilter train: xargs bogofilter -s -B FILES / -n -B FILES
#              classify: xargs bogofilter -B -v FILES (spam = label Spam,
#              i.e. >= 0.99; Unsure counts as not spam); only the printed
#              header's format is changed, to get 16 digits
#              one: bogofilter -p -e < MSG
#   spamprobe  train: xargs spamprobe -c -M spam FILES / good FILES
#              classify: xargs spamprobe -M score FILES (spam = SPAM, >= 0.6)
#              one: spamprobe score < MSG (it has no pipe mode)
#   bsfilter   train: xargs bsfilter -s FILES / -c FILES, then bsfilter -u
#              classify: xargs bsfilter --list-spam FILES (rf, spam > 0.95)
#              one: bsfilter --pipe --insert-flag --insert-probability < MSG
# Spam is trained before ham, each in index order (the counts, and so the
# scores, do not depend on the order).  Times come from tests/bench/runstat.c
# (wait4: microsecond CPU times including every child; /usr/bin/time only
# prints hundredths of a second), or /usr/bin/time when no compiler works.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)

if [ $# -gt 0 ] && [ -n "$1" ]; then
	INDEX=$1
else
	INDEX=$TOP/../shared/corpus/spamassassin/index
fi
if [ ! -f "$INDEX" ] || [ ! -r "$INDEX" ]; then
	echo "bench: no corpus index at $INDEX: nothing measured"
	echo "bench: give one as 'make bench BENCH_INDEX=path/to/index'" \
	    "(lines \"spam|ham PATH\", PATH relative to the index's folder)"
	exit 0
fi
IDXDIR=$(cd "$(dirname "$INDEX")" && pwd) || exit 1
INDEX=$IDXDIR/$(basename "$INDEX")

REPS=${BENCH_REPS:-50}
ROUNDS=${BENCH_ROUNDS:-3}
BSF_MAX=${BENCH_BSF_MAX:-15000}
CLOCK=${BENCH_CLOCK:-wall}
case $CLOCK in
cpu) OTHER=wall ;;
wall) OTHER=cpu ;;
*)
	echo "bench: BENCH_CLOCK must be cpu or wall" >&2
	exit 64
	;;
esac
for _v in "$REPS" "$ROUNDS" "$BSF_MAX"; do
	case $_v in
	'' | *[!0-9]* | 0)
		echo "bench: BENCH_REPS, BENCH_ROUNDS and BENCH_BSF_MAX must" \
		    "be positive integers" >&2
		exit 64
		;;
	esac
done

SPAMSIFT=${SPAMSIFT:-$TOP/spamsift}
case $SPAMSIFT in /*) ;; *) SPAMSIFT=$PWD/$SPAMSIFT ;; esac
if [ ! -x "$SPAMSIFT" ]; then
	echo "bench: $SPAMSIFT: not built (make spamsift)" >&2
	exit 1
fi

OUT=$TOP/bench-out
mkdir -p "$OUT" || exit 1
W=$(mktemp -d "${TMPDIR:-/tmp}/spamsift-bench.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
trap 'exit 130' HUP INT TERM
chmod 700 "$W"
# A snapshot, so that a rebuild of ./spamsift during the run changes nothing.
if ! cp "$SPAMSIFT" "$W/spamsift"; then
	echo "bench: $SPAMSIFT: cannot copy" >&2
	exit 1
fi
SPAMSIFT=$W/spamsift
# No user configuration of any filter may leak in.
export HOME="$W/home"
mkdir -m 700 "$HOME"
unset SPAMSIFT_HOME BOGOFILTER_DIR BSFILTERHOME
: > "$W/notes"

# note TEXT: a line printed under the table.
note() {
	printf '%s\n' "$*" >> "$W/notes"
}

# say TEXT: progress on stderr.
say() {
	printf 'bench: %s\n' "$*" >&2
}

MEAS=
RUNSTAT=
if ${CC:-cc} -O2 -o "$W/runstat" "$TOP/tests/bench/runstat.c" \
    2> "$W/cc.err"; then
	RUNSTAT=$W/runstat
elif [ -x /usr/bin/time ]; then
	note "tests/bench/runstat.c did not build; times from /usr/bin/time" \
	    "(CPU in 10 ms steps: per-message CPU is coarse)"
else
	echo "bench: need a C compiler (for tests/bench/runstat.c) or" \
	    "/usr/bin/time" >&2
	cat "$W/cc.err" >&2
	exit 1
fi

# measure TAG COMMAND...: runs COMMAND with the caller's redirections and
# appends "wall user sys maxrss_kb status" to $W/TAG.t; returns its status.
measure() {
	_tag=$1
	shift
	: > "$W/stat"
	if [ -n "$RUNSTAT" ]; then
		"$RUNSTAT" "$W/stat" "$@"
	else
		/usr/bin/time -o "$W/stat" -f '%e %U %S %M %x' "$@"
	fi
	_st=$?
	if [ -s "$W/stat" ]; then
		tail -n 1 "$W/stat" >> "$W/$_tag.t"
	else
		echo "- - - - $_st" >> "$W/$_tag.t"
	fi
	return "$_st"
}

# tsum TAG: "wall_s cpu_s maxrss_kb" summed (RSS: the largest) over TAG.t.
tsum() {
	LC_ALL=C awk '$1 == "-" { bad = 1 }
	    { w += $1; c += $2 + $3; if ($4 > m) m = $4 }
	    END { if (bad || NR == 0) print "- - -"; else print w, c, m }' \
	    "$W/$1.t"
}

# median: the median of the numbers on stdin, "-" when none.
median() {
	LC_ALL=C sort -g | LC_ALL=C awk '$1 != "-" { a[++n] = $1 }
	    END { if (n == 0) print "-"; else if (n % 2) print a[(n + 1) / 2];
	    else print (a[n / 2] + a[n / 2 + 1]) / 2 }'
}

# best FILE [CLOCK]: of the "wall cpu maxrss" lines in FILE (one per
# round), the fastest by CLOCK (the table's); "- - -" when a round failed.
best() {
	LC_ALL=C awk -v col="$([ "${2:-$CLOCK}" = wall ] && echo 1 || echo 2)" '
	    $1 == "-" { bad = 1 }
	    NR == 1 || $col < b { b = $col; line = $0 }
	    END { print (bad || NR == 0) ? "- - -" : line }' "$1"
}

# busy NAME PHASE WALL CPU: notes a phase that waited far longer than it
# computed.
busy() {
	LC_ALL=C awk -v w="$3" -v c="$4" 'BEGIN { exit !(w != "-" &&
	    c != "-" && w > 1.5 * c && w > 0.2) }' || return 0
	note "$1 $2: wall $(printf %.2f "$3") s for $(printf %.2f "$4") s of" \
	    "CPU (machine busy, or waiting on disk)"
}

# errlines NAME PHASE FILE: notes how much a phase wrote on stderr.
errlines() {
	[ -s "$3" ] || return 0
	note "$1 $2: $(wc -l < "$3") line(s) on stderr, first:" \
	    "$(head -n 1 "$3" | cut -c 1-100)"
}

# The corpus: labelled paths whose file exists, first half / second half.
cd "$IDXDIR" || exit 1
nmiss=0
nbad=0
while read -r _l _p _rest; do
	case $_l in
	[Ss][Pp][Aa][Mm]) _l=spam ;;
	[Hh][Aa][Mm]) _l=ham ;;
	'' | '#'*) continue ;;
	*) nbad=$((nbad + 1)); continue ;;
	esac
	if [ -n "$_rest" ] || [ ! -f "$_p" ]; then
		nmiss=$((nmiss + 1))
		continue
	fi
	printf '%s %s\n' "$_l" "$_p"
done < "$INDEX" > "$W/all"
[ "$nbad" = 0 ] || note "index: $nbad line(s) not labelled spam/ham, ignored"
[ "$nmiss" = 0 ] || note "index: $nmiss path(s) missing or with blanks, ignored"
N=$(wc -l < "$W/all")
N=$((N + 0))
if [ "$N" -lt 4 ]; then
	echo "bench: $INDEX: $N usable message(s): nothing measured"
	exit 0
fi
NTRAIN=$((N / 2))
NTEST=$((N - NTRAIN))
head -n "$NTRAIN" "$W/all" > "$W/train"
tail -n "$NTEST" "$W/all" > "$W/test"

# mkset DIR K: every K-th message of each half, as NUL-separated lists.
mkset() {
	mkdir -p "$1"
	awk -v k="$2" '(NR - 1) % k == 0' "$W/train" > "$1/train"
	awk -v k="$2" '(NR - 1) % k == 0' "$W/test" > "$1/test"
	awk '$1 == "spam" { print $2 }' "$1/train" | tr '\n' '\0' \
	    > "$1/train.spam.0"
	awk '$1 == "ham" { print $2 }' "$1/train" | tr '\n' '\0' \
	    > "$1/train.ham.0"
	awk '{ print $2 }' "$1/test" > "$1/test.paths"
	tr '\n' '\0' < "$1/test.paths" > "$1/test.0"
}
mkset "$W/set-all" 1
BSF_K=1
_big=$NTEST
[ "$NTRAIN" -gt "$_big" ] && _big=$NTRAIN
if [ "$_big" -gt "$BSF_MAX" ]; then
	BSF_K=$(((_big + BSF_MAX - 1) / BSF_MAX))
	mkset "$W/set-bsf" "$BSF_K"
fi

# counts FILE: "N (S spam, H ham)" of a labelled list.
counts() {
	awk '{ n++; c[$1]++ } END { printf "%d (%d spam, %d ham)\n", n,
	    c["spam"], c["ham"] }' "$1"
}

# The procmail-style messages: REPS spread evenly over the second half.
awk -v n="$NTEST" -v r="$REPS" 'BEGIN { if (r > n) r = n; step = n / r }
    NR == int(i * step) + 1 && i < r { print $2; i++ }' "$W/test" \
    > "$W/proc.list"
NPROC=$(wc -l < "$W/proc.list")
NPROC=$((NPROC + 0))

# Per filter: train_F DB SET, classify_F DB SET (writes $W/F.scores as
# "path score verdict", verdict 1 = spam), one_F DB (one message on stdin;
# timed when $MEAS is "measure TAG", run as is when it is empty),
# oneerr_F STATUS (true when that status means an error), learned_F DB
# ("spam ham" as the database counts them), version_F.

# parse_cp NAME: "combined probability FILE N P" lines on $W/NAME.err plus
# the --list-spam names on $W/NAME.list give $W/NAME.scores.
parse_cp() {
	awk -v L="$W/$1.list" 'FILENAME == L { spam[$0] = 1; next }
	    /^combined probability / { print $3, $5, ($3 in spam) ? 1 : 0 }' \
	    "$W/$1.list" "$W/$1.err" > "$W/$1.scores"
	grep -v '^combined probability ' "$W/$1.err" > "$W/$1.err2"
	errlines "$1" classify "$W/$1.err2"
}

# xtrain NAME LIST COMMAND...: one bulk training pass, timed.
xtrain() {
	_n=$1 _list=$2
	shift 2
	[ -s "$_list" ] || return 0
	measure "$_n.train" xargs -0 "$@" < "$_list" >> "$W/$_n.tlog" 2>&1
}

train_spamsift() {
	xtrain spamsift "$2/train.spam.0" "$SPAMSIFT" --homedir "$1" -s
	xtrain spamsift "$2/train.ham.0" "$SPAMSIFT" --homedir "$1" -c
}
classify_spamsift() {
	measure spamsift.class xargs -0 "$SPAMSIFT" --homedir "$1" --list-spam \
	    < "$2/test.0" > "$W/spamsift.list" 2> "$W/spamsift.err"
	parse_cp spamsift
}
one_spamsift() {
	$MEAS "$SPAMSIFT" --homedir "$1" --pipe --insert-flag \
	    --insert-probability
}
oneerr_spamsift() {
	[ "$1" -ge 3 ]
}
learned_spamsift() {
	"$SPAMSIFT" --homedir "$1" --show-db-status 2> /dev/null |
	    awk '$1 == "messages" { print $3, $5 }'
}
version_spamsift() {
	"$SPAMSIFT" --version 2>&1 | head -n 1
}

train_bogofilter() {
	xtrain bogofilter "$2/train.spam.0" bogofilter -d "$1" -s -B
	xtrain bogofilter "$2/train.ham.0" bogofilter -d "$1" -n -B
}
classify_bogofilter() {
	measure bogofilter.class xargs -0 bogofilter -d "$1" -B -v \
	    --header-format='%c %p' \
	    --spamicity-formats='%0.16f,%0.16f,%0.16f' \
	    < "$2/test.0" > "$W/bogofilter.out" 2> "$W/bogofilter.err"
	awk 'NF == 3 { print $1, $3, ($2 == "Spam") ? 1 : 0 }' \
	    "$W/bogofilter.out" > "$W/bogofilter.scores"
	errlines bogofilter classify "$W/bogofilter.err"
}
one_bogofilter() {
	$MEAS bogofilter -d "$1" -p -e
}
oneerr_bogofilter() {
	[ "$1" -ge 3 ]
}
learned_bogofilter() {
	command -v bogoutil > /dev/null 2>&1 || return 0
	bogoutil -w "$1/wordlist.db" .MSG_COUNT 2> /dev/null |
	    awk '$1 == ".MSG_COUNT" { print $2, $3 }'
}
version_bogofilter() {
	bogofilter --version 2>&1 | awk 'NR == 1 { v = $0 }
	    /Database:/ { sub(/^[ \t]*Database: */, ""); d = $0 }
	    END { print v (d != "" ? " (" d ")" : "") }'
}

train_spamprobe() {
	xtrain spamprobe "$2/train.spam.0" spamprobe -c -M -d "$1" spam
	xtrain spamprobe "$2/train.ham.0" spamprobe -c -M -d "$1" good
}
classify_spamprobe() {
	measure spamprobe.class xargs -0 spamprobe -M -d "$1" score \
	    < "$2/test.0" > "$W/spamprobe.out" 2> "$W/spamprobe.err"
	errlines spamprobe classify "$W/spamprobe.err"
	# One line per file, in order, with no file name: pair them up.
	_a=$(wc -l < "$2/test.paths")
	_b=$(grep -c -E '^(SPAM|GOOD) ' "$W/spamprobe.out")
	if [ "$_a" -ne "$_b" ] ||
	    [ "$_b" -ne "$(wc -l < "$W/spamprobe.out")" ]; then
		note "spamprobe classify: $_b verdict lines for $((_a + 0))" \
		    "files: cannot pair them, no accuracy"
		: > "$W/spamprobe.scores"
		return 0
	fi
	paste -d ' ' "$2/test.paths" "$W/spamprobe.out" |
	    awk '{ print $1, $3, ($2 == "SPAM") ? 1 : 0 }' \
	    > "$W/spamprobe.scores"
}
one_spamprobe() {
	$MEAS spamprobe -d "$1" score
}
oneerr_spamprobe() {
	[ "$1" -ne 0 ]
}
learned_spamprobe() {
	spamprobe -d "$1" counts 2> /dev/null |
	    awk '$1 == "GOOD" && $3 == "SPAM" { print $4, $2 }'
}
version_spamprobe() {
	spamprobe -V 2>&1 | awk 'NR == 1 { sub(/ using.*/, ""); print }'
}

train_bsfilter() {
	xtrain bsfilter "$2/train.spam.0" bsfilter --homedir "$1" -s
	xtrain bsfilter "$2/train.ham.0" bsfilter --homedir "$1" -c
	measure bsfilter.train bsfilter --homedir "$1" -u \
	    >> "$W/bsfilter.tlog" 2>&1
}
classify_bsfilter() {
	measure bsfilter.class xargs -0 bsfilter --homedir "$1" --list-spam \
	    < "$2/test.0" > "$W/bsfilter.list" 2> "$W/bsfilter.err"
	parse_cp bsfilter
}
one_bsfilter() {
	$MEAS bsfilter --homedir "$1" --pipe --insert-flag --insert-probability
}
oneerr_bsfilter() {
	[ "$1" -ne 0 ]
}
learned_bsfilter() {
	# One line per language (C, ja): clean tokens, clean mails, spam
	# tokens, spam mails, probability tokens.
	bsfilter --homedir "$1" --show-db-status 2> /dev/null |
	    awk '$1 == "db" { c += $4; s += $6; n++ } END { if (n) print s, c }'
}
version_bsfilter() {
	bsfilter --revision 2>&1 | head -n 1
}

# accuracy NAME SET: joins $W/NAME.scores with the labels; prints
# "nham nspam scored fp fn auc" and writes bench-out/scores-NAME.tsv.
accuracy() {
	awk -v S="$W/$1.scores" '
	    FILENAME != S { lab[$2] = ($1 == "spam"); next }
	    ($1 in lab) && !($1 in seen) {
		seen[$1] = 1
		print $1, lab[$1], $2, $3
	    }' \
	    "$2/test" "$W/$1.scores" > "$W/$1.joined"
	{
		printf 'path\tspam\tscore\tverdict\n'
		tr ' ' '\t' < "$W/$1.joined"
	} > "$OUT/scores-$1.tsv"
	_auc=$(awk '{ print $3, $2 }' "$W/$1.joined" | LC_ALL=C sort -g -k1,1 |
	    LC_ALL=C awk '
	    function flush() {
		sum += (r + (gn + 1) / 2) * gs
		r += gn
		ns += gs
		gn = 0
		gs = 0
	    }
	    NR > 1 && $1 + 0 != prev { flush() }
	    { prev = $1 + 0; gn++; gs += $2 }
	    END {
		flush()
		nh = r - ns
		if (ns > 0 && nh > 0)
			printf "%.9f\n", (sum - ns * (ns + 1) / 2) / (ns * nh)
		else
			print "-"
	    }')
	awk '{ lab[$1]++ } END { printf "%d %d ", lab["ham"], lab["spam"] }' \
	    "$2/test"
	awk -v auc="$_auc" '{ n++; if ($2 && !$4) fn++; if (!$2 && $4) fp++ }
	    END { printf "%d %d %d %s\n", n, fp, fn, auc }' "$W/$1.joined"
}

{
	printf 'filter\tversion\tsubset\ttrain_msgs\ttrain_spam_learned'
	printf '\ttrain_ham_learned\ttrain_wall_s\ttrain_cpu_s\ttrain_rss_kb'
	printf '\ttrain_msgs_per_s\ttrain_msgs_per_cpu_s\tclassify_msgs'
	printf '\tclassify_wall_s\tclassify_cpu_s\tclassify_rss_kb'
	printf '\tclassify_msgs_per_s\tclassify_msgs_per_cpu_s'
	printf '\tone_runs\tone_errors\tone_cpu_ms_median\tone_wall_ms_median'
	printf '\tone_rss_kb_median\tdb_bytes\tdb_alloc_kb\ttest_ham\ttest_spam'
	printf '\tscored\tfp\tfn\tauc\tone_minus_roca_pct\tfp_pct\tfn_pct\n'
} > "$OUT/results.tsv"
: > "$W/rows"
: > "$W/rows2"
: > "$W/versions"

# bench_one NAME ROUND: one round of the measurements for one filter, each
# from an empty database; the last round also writes its row, with the
# fastest round's bulk figures and the per-message runs of all rounds.
bench_one() {
	_f=$1 _r=$2
	_db=$W/db-$_f-$_r
	mkdir -m 700 "$_db"
	_set=$W/set-all
	_sub=all
	if [ "$_f" = bsfilter ] && [ "$BSF_K" -gt 1 ]; then
		_set=$W/set-bsf
		_sub="1/$BSF_K"
	fi
	_ntr=$(wc -l < "$_set/train")
	_nte=$(wc -l < "$_set/test")
	if [ "$_r" = 1 ]; then
		: > "$W/$_f.trains"
		: > "$W/$_f.classes"
		: > "$W/$_f.one.t"
	fi

	say "$_f: round $_r of $ROUNDS: training on $((_ntr + 0)) messages"
	: > "$W/$_f.train.t"
	: > "$W/$_f.tlog"
	train_"$_f" "$_db" "$_set"
	tsum "$_f.train" >> "$W/$_f.trains"

	say "$_f: round $_r of $ROUNDS: classifying $((_nte + 0)) messages"
	: > "$W/$_f.class.t"
	classify_"$_f" "$_db" "$_set"
	tsum "$_f.class" >> "$W/$_f.classes"

	say "$_f: round $_r of $ROUNDS: $NPROC procmail-style runs"
	_first=$(head -n 1 "$W/proc.list")
	MEAS=
	one_"$_f" "$_db" < "$_first" > /dev/null 2>&1	# warm the caches
	MEAS="measure $_f.one1"
	[ "$_r" = 1 ] && echo 0 > "$W/$_f.nerr"
	_nerr=$(cat "$W/$_f.nerr")
	while read -r _m; do
		: > "$W/$_f.one1.t"
		one_"$_f" "$_db" < "$_m" > /dev/null 2> "$W/one.err"
		_st=$?
		if ! oneerr_"$_f" "$_st"; then
			cat "$W/$_f.one1.t" >> "$W/$_f.one.t"
		else
			_nerr=$((_nerr + 1))
			[ "$_nerr" = 1 ] && note "$_f one message: status" \
			    "$_st on $_m: $(head -n 1 "$W/one.err" |
			    cut -c 1-80)"
		fi
	done < "$W/proc.list"
	echo "$_nerr" > "$W/$_f.nerr"
	if [ "$_r" -lt "$ROUNDS" ]; then
		rm -rf "$_db"
		return 0
	fi

	# The last round: the row.
	_ver=$(version_"$_f")
	printf '%s\n' "$_ver" >> "$W/versions"
	errlines "$_f" train "$W/$_f.tlog"
	set -- $(best "$W/$_f.trains")
	_trw=$1 _trc=$2 _trm=$3
	busy "$_f" train "$_trw" "$_trc"
	set -- $(learned_"$_f" "$_db") - -
	_ls=$1 _lh=$2
	_trok=1
	if [ "$_ls" = 0 ] && [ "$_lh" = 0 ]; then
		note "$_f train: the database holds no message"
		_trok=0
	fi
	_dbb=$(du -sb "$_db" | cut -f 1)
	_dbk=$(du -sk "$_db" | cut -f 1)
	set -- $(best "$W/$_f.classes")
	_clw=$1 _clc=$2 _clm=$3
	busy "$_f" classify "$_clw" "$_clc"
	# The bulk rates by the other clock, each its fastest round by it.
	set -- $(best "$W/$_f.trains" "$OTHER")
	_tro=$1 _tro2=$2
	set -- $(best "$W/$_f.classes" "$OTHER")
	LC_ALL=C awk -v f="$_f" -v sub_="$_sub" -v ntr="$_ntr" -v nte="$_nte" \
	    -v tr="$([ "$OTHER" = wall ] && echo "$_tro" || echo "$_tro2")" \
	    -v cl="$([ "$OTHER" = wall ] && echo "$1" || echo "$2")" \
	    -v trok="$_trok" 'BEGIN {
		printf "%s %s %s\n", (sub_ == "all" ? f : f "*"),
		    (trok && tr != "-" && tr > 0) ? ntr / tr : "-",
		    (cl != "-" && cl > 0) ? nte / cl : "-"
	    }' >> "$W/rows2"
	set -- $(accuracy "$_f" "$_set")
	_th=$1 _ts=$2 _sc=$3 _fp=$4 _fn=$5 _auc=$6
	[ "$_sc" = "$((_nte + 0))" ] ||
	    note "$_f classify: $_sc of $((_nte + 0)) messages scored"
	[ "$_nerr" = 0 ] ||
	    note "$_f one message: $_nerr of $((NPROC * ROUNDS)) runs failed" \
	    "(medians over the others)"
	_ocpu=$(awk '$1 != "-" { print ($2 + $3) * 1000 }' "$W/$_f.one.t" |
	    median)
	_owall=$(awk '$1 != "-" { print $1 * 1000 }' "$W/$_f.one.t" | median)
	_orss=$(awk '$1 != "-" { print $4 }' "$W/$_f.one.t" | median)

	LC_ALL=C awk -v f="$_f" -v ver="$_ver" -v sub_="$_sub" -v ntr="$_ntr" \
	    -v ls="$_ls" -v lh="$_lh" -v trw="$_trw" -v trc="$_trc" \
	    -v trm="$_trm" -v nte="$_nte" -v clw="$_clw" -v clc="$_clc" \
	    -v clm="$_clm" -v nproc="$((NPROC * ROUNDS))" -v nerr="$_nerr" \
	    -v ocpu="$_ocpu" \
	    -v owall="$_owall" -v orss="$_orss" -v dbb="$_dbb" -v dbk="$_dbk" \
	    -v th="$_th" -v ts="$_ts" -v sc="$_sc" -v fp="$_fp" -v fn="$_fn" \
	    -v auc="$_auc" -v rows="$W/rows" -v clock="$CLOCK" \
	    -v trok="$_trok" '
	function rate(n, t) { return (t == "-" || t <= 0) ? "-" : n / t }
	function pct(a, b) { return (b > 0 && sc > 0) ? 100 * a / b : "-" }
	BEGIN {
		trr = trok ? rate(ntr, trw) : "-"
		trcr = trok ? rate(ntr, trc) : "-"
		clr = sc > 0 ? rate(nte, clw) : "-"
		clcr = sc > 0 ? rate(nte, clc) : "-"
		roca = (auc == "-") ? "-" : 100 * (1 - auc)
		fpp = pct(fp, th)
		fnp = pct(fn, ts)
		OFS = "\t"
		print f, ver, sub_, ntr + 0, ls, lh, trw, trc, trm, trr, trcr, \
		    nte + 0, clw, clc, clm, clr, clcr, nproc, nerr, ocpu, \
		    owall, orss, dbb, dbk, th, ts, sc, fp, fn, auc, roca, \
		    fpp, fnp
		print (sub_ == "all" ? f : f "*"), \
		    (clock == "wall" ? trr : trcr), \
		    (clock == "wall" ? clr : clcr), ocpu, \
		    (orss == "-" ? "-" : orss / 1024), dbb / 1048576, roca, \
		    fpp, fnp >> rows
	}' >> "$OUT/results.tsv"
}

LOAD0=$(cut -d ' ' -f 1-3 /proc/loadavg 2> /dev/null)
say "corpus $INDEX: $N messages; bench-out/ gets the raw figures"
FILTERS=
for _f in spamsift bogofilter spamprobe bsfilter; do
	if [ "$_f" != spamsift ] && ! command -v "$_f" > /dev/null 2>&1; then
		note "$_f: not installed, skipped"
		continue
	fi
	FILTERS="$FILTERS $_f"
done
# Rounds interleave the filters, so that a machine whose speed drifts
# (a virtual one: a fifth between runs here) slows them alike.
_round=1
while [ "$_round" -le "$ROUNDS" ]; do
	for _f in $FILTERS; do
		bench_one "$_f" "$_round"
	done
	_round=$((_round + 1))
done

# The table: each figure with its ratio to bogofilter's.
{
	echo "Corpus: $INDEX"
	echo "  train: first $(counts "$W/train"); classify: the other" \
	    "$(counts "$W/test")"
	echo "  $ROUNDS round(s), the filters in turn; bulk rates: the" \
	    "fastest round; per message: $((NPROC * ROUNDS)) runs, each one" \
	    "process reading one message from stdin (medians)"
	[ -z "$LOAD0" ] || echo "  load average at start: $LOAD0 on" \
	    "$(getconf _NPROCESSORS_ONLN 2> /dev/null || echo "?") CPU(s);" \
	    "at end: $(cut -d ' ' -f 1-3 /proc/loadavg)"
	echo "Versions: $(paste -s -d ';' "$W/versions" | sed 's/;/; /g')"
	echo
	LC_ALL=C awk -F '\t' '
	function fmt(v, c) {
		if (v == "-")
			return "n/a"
		if (c <= 2)
			return sprintf("%.0f", v)
		if (c <= 5)
			return sprintf("%.1f", v)
		return sprintf(c == 6 ? "%.3f" : "%.2f", v)
	}
	function ratio(v, b, r) {
		if (v == "-" || b == "-" || b + 0 == 0)
			return ""
		r = v / b
		if (r >= 9.95)
			return sprintf("(%.0fx)", r)
		return sprintf(r >= 0.995 ? "(%.1fx)" : "(%.2fx)", r)
	}
	{
		n++
		for (c = 1; c <= 9; c++)
			v[n, c] = $c
		if ($1 == "bogofilter")
			b = n
	}
	END {
		h[1] = "filter"; h[2] = "train msg/s"; h[3] = "classify msg/s"
		h[4] = "per-msg CPU ms"; h[5] = "per-msg RSS MB"; h[6] = "DB MB"
		h[7] = "(1-ROCA)%"; h[8] = "FP%"; h[9] = "FN%"
		for (c = 1; c <= 9; c++)
			w[c] = length(h[c])
		for (i = 1; i <= n; i++)
			for (c = 1; c <= 9; c++) {
				if (c == 1)
					s = v[i, 1]
				else {
					s = fmt(v[i, c], c - 1)
					r = b ? ratio(v[i, c], v[b, c]) : ""
					if (r != "")
						s = s " " r
				}
				cell[i, c] = s
				if (length(s) > w[c])
					w[c] = length(s)
			}
		line = sprintf("%-" w[1] "s", h[1])
		for (c = 2; c <= 9; c++)
			line = line sprintf("  %" w[c] "s", h[c])
		print line
		for (i = 1; i <= n; i++) {
			line = sprintf("%-" w[1] "s", cell[i, 1])
			for (c = 2; c <= 9; c++)
				line = line sprintf("  %" w[c] "s", cell[i, c])
			print line
		}
		if (!b)
			print "(bogofilter not run: no ratios)"
	}' "$W/rows"
	# The bulk rates by the other clock, with their ratios.
	LC_ALL=C awk -v clock="$OTHER" '
	function ratio(v, b) {
		if (v == "-" || b == "-" || b + 0 == 0)
			return ""
		return sprintf(v / b >= 0.995 ? " (%.1fx)" : " (%.2fx)", v / b)
	}
	{ f[++n] = $1; t[n] = $2; c[n] = $3; if ($1 == "bogofilter") b = n }
	END {
		printf "Bulk rates per %s second (each filter at its fastest" \
		    " round by it):\n", clock == "cpu" ? "CPU" : "wall-clock"
		for (i = 1; i <= n; i++)
			printf "  %-11s train %s%s, classify %s%s\n", f[i],
			    t[i] == "-" ? "n/a" : sprintf("%.0f", t[i]),
			    b ? ratio(t[i], t[b]) : "",
			    c[i] == "-" ? "n/a" : sprintf("%.0f", c[i]),
			    b ? ratio(c[i], c[b]) : ""
	}' "$W/rows2"
	# The spread: the fastest rounds may come from different moments of
	# a machine whose speed drifts, the rounds' own ratios do not.
	if grep -q '^bogofilter' "$W/rows" && [ "$ROUNDS" -gt 1 ]; then
		for _c in "$CLOCK" "$OTHER"; do
			printf 'spamsift / bogofilter, round by round, per %s' \
			    "$([ "$_c" = cpu ] && echo "CPU second:" ||
			    echo "wall-clock second:")"
			for _k in trains classes; do
				LC_ALL=C awk -v k="$_k" -v col="$([ "$_c" = \
				    wall ] && echo 1 || echo 2)" '
				    FNR == 1 { f++ }
				    f == 1 { s[FNR] = $col; next }
				    { b[FNR] = $col; n = FNR }
				    END {
					printf " %s", k == "trains" ? \
					    "train" : "classify"
					for (i = 1; i <= n; i++)
						if (s[i] == "-" || \
						    b[i] == "-" || s[i] <= 0)
							printf " -"
						else
							printf " %.2f", \
							    b[i] / s[i]
					printf "x;"
				    }' "$W/spamsift.$_k" "$W/bogofilter.$_k"
			done
			echo
		done
	fi
	echo
	if [ "$CLOCK" = cpu ]; then
		echo "msg/s: messages per CPU second (user+sys, children" \
		    "included); the wall-clock rates above, and in" \
		    "bench-out/results.tsv."
	else
		echo "msg/s: messages per wall-clock second (spamsift's bulk" \
		    "training tokenizes on every CPU); the rates per" \
		    "CPU second above, and in bench-out/results.tsv."
	fi
	echo "Ratios are figure / bogofilter's: higher is better for msg/s," \
	    "lower for the rest."
	echo "Verdicts at each filter's default cutoff: spamsift and bsfilter" \
	    "rf > 0.95; bogofilter Spam (>= 0.99, Unsure = not spam);" \
	    "spamprobe SPAM (>= 0.6)."
	echo "Per message: spamsift/bsfilter --pipe --insert-flag" \
	    "--insert-probability, bogofilter -p -e, spamprobe score." \
	    "MB = 2^20 bytes; DB = du -sb after training."
	if [ "$BSF_K" -gt 1 ] && grep -q '^bsfilter' "$W/rows"; then
		echo "* bsfilter ran on every ${BSF_K}th message of each half" \
		    "($(counts "$W/set-bsf/train") trained," \
		    "$(counts "$W/set-bsf/test") classified)" \
		    "to stay near 10 minutes (BENCH_BSF_MAX=$BSF_MAX)."
	fi
	if [ -s "$W/notes" ]; then
		echo "Notes:"
		awk '!seen[$0]++ { print "  " $0 }' "$W/notes"
	fi
} > "$OUT/table.txt"
cat "$OUT/table.txt"
exit 0
