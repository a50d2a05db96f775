#!/bin/sh
# SPDX-License-Identifier: MIT
# smoke.sh (make fuzz-smoke, run by CI): replays the committed regression
# inputs of each fuzz target, then fuzzes each target for FUZZ_SECONDS
# (default 60) from its seed corpus, with its dictionary (NAME.dict).  Fails when any input crashes, leaks,
# hangs past 25 s or breaks a target's own checks; the offending input is
# printed in base64 and kept in tests/tmp/fuzz/.  New corpus entries go to
# a scratch directory, so the seed corpora stay as generated.
set -u
cd "$(dirname "$0")" || exit 1
SECONDS_EACH=${FUZZ_SECONDS:-60}
KEEP=../tmp/fuzz
[ -d corpus-tok ] && [ -d corpus-mbox ] && [ -d corpus-output ] &&
    [ -d corpus-bucket ] ||
    sh ./seeds.sh || exit 1
W=$(mktemp -d "${TMPDIR:-/tmp}/spamsift-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
# fuzz_mbox writes a file per input: memory is faster than disk.
SCRATCH=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && SCRATCH=/dev/shm

rc=0
for t in tok mbox output bucket; do
	f=./fuzz_$t
	if [ ! -x "$f" ]; then
		echo "fuzz-smoke: $f is not built (make fuzz)"
		rc=1
		continue
	fi
	mkdir "$W/$t"
	if [ -d "regress/$t" ] && [ -n "$(ls "regress/$t")" ]; then
		if TMPDIR=$SCRATCH "$f" -timeout=25 regress/"$t"/* \
		    >"$W/$t.regress.log" 2>&1; then
			echo "fuzz-smoke: $t: $(ls "regress/$t" | wc -l)" \
			    "regression inputs pass"
		else
			echo "fuzz-smoke: $t: a regression input fails:"
			grep -a -v '^    #' "$W/$t.regress.log" | tail -n 25
			rc=1
		fi
	fi
	# fuzz_mbox: big inputs find nothing more, only run slower.
	extra=
	[ "$t" = mbox ] && extra=-max_len=32768
	[ -f "$t.dict" ] && extra="$extra -dict=$t.dict"
	TMPDIR=$SCRATCH "$f" -max_total_time="$SECONDS_EACH" -timeout=25 \
	    -rss_limit_mb=2048 -print_final_stats=1 $extra \
	    -artifact_prefix="$W/$t-" "$W/$t" "corpus-$t" \
	    >"$W/$t.log" 2>&1
	s=$?
	runs=$(grep -a '^stat::number_of_executed_units:' "$W/$t.log" |
	    awk '{ print $2 }')
	if [ "$s" = 0 ]; then
		echo "fuzz-smoke: $t: ${runs:-?} runs in $SECONDS_EACH s," \
		    "no finding"
		continue
	fi
	rc=1
	echo "fuzz-smoke: $t: FAILED (status $s); the end of its log:"
	grep -a -v '^    #' "$W/$t.log" | tail -n 30
	mkdir -p "$KEEP"
	for a in "$W/$t"-*; do
		[ -f "$a" ] || continue
		cp "$a" "$KEEP/"
		echo "fuzz-smoke: input kept as tests/tmp/fuzz/$(basename "$a")"
		echo "fuzz-smoke: replay: tests/fuzz/fuzz_$t" \
		    "tests/tmp/fuzz/$(basename "$a")"
		echo "fuzz-smoke: base64:"
		base64 "$a" | head -n 200
	done
done
exit $rc
