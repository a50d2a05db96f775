#!/bin/sh
# SPDX-License-Identifier: MIT
# stress-faults.sh (make stress): faults and concurrency lose nothing.
# 1. Training killed with SIGKILL at random points, 30 times, over four
#    folders of 1,200 distinct messages each (copies of corpus/ with their
#    own Message-IDs), in batches and one message per transaction (--train-
#    mode tune): after every kill --check-db passes and the message
#    counts add up (spam + clean = learned, never falling); once training
#    is then let finish, the token counts equal, exactly, those of a
#    database trained once without kills, so every message was either
#    wholly in or wholly out.
# 2. 16 parallel pipe-mode deliveries with -a while one process trains a
#    big folder: every delivery exits 0 with the message intact plus our
#    headers, nothing is printed on stderr, and the learned count is the
#    sum of everything learned.
# 3. A read-only home and a full disk (small tmpfs mounts; skipped with a
#    reason when mount is not permitted): pipe mode still delivers the
#    message (unchanged with exit 75, or with our headers and exit 0 when
#    only -a learning failed), says why on stderr, training fails with
#    exit 3, and the database is intact afterwards.
# 4. Trainers started together on a fresh home (the first to turn the
#    new file to WAL met SQLite's busy error, which bypasses the busy
#    timeout: "database is locked", found by review in 3 of 150 rounds of
#    18): 100 rounds of 12, every one exits 0 and all are counted.
# STRESS_SEED=N repeats a run's kill points; STRESS_COPIES=N resizes it.
. "$(dirname "$0")/lib.sh"

SEED=${STRESS_SEED:-$$}
COPIES=${STRESS_COPIES:-25}	# copies of the corpus per folder
KILLS=30
WORKERS=16
PER_WORKER=15
LIMIT_S=300			# any one spamsift run
MOUNTS=
trap 'for m in $MOUNTS; do umount "$m" 2>/dev/null; done; rm -rf "$T"' EXIT
echo "# seed $SEED (STRESS_SEED=$SEED repeats it)"

# copies DIR TAG N FILE...: N copies of each FILE in DIR, each with its
# own first line "Message-ID: <TAG-copy-name@stress.test>".
copies() {
	_d=$1 _t=$2 _n=$3
	shift 3
	mkdir -p "$_d"
	awk -v d="$_d" -v t="$_t" -v n="$_n" '
	FNR == 1 { k++; name[k] = FILENAME }
	{ line[k, FNR] = $0; nl[k] = FNR }
	END {
		for (c = 1; c <= n; c++)
			for (i = 1; i <= k; i++) {
				b = name[i]
				sub(/.*\//, "", b)
				out = sprintf("%s/%04d-%s", d, c, b)
				printf "Message-ID: <%s-%d-%s@stress.test>\n",
				    t, c, b > out
				for (j = 1; j <= nl[i]; j++)
					print line[i, j] > out
				close(out)
			}
	}' "$@"
}

# status_counts: "SPAM CLEAN LEARNED" of the database in $HOME.
status_counts() {
	"$SPAMSIFT" --show-db-status 2>/dev/null | awk '
	$1 == "messages" { s = $3; c = $5 }
	$1 == "learned" { l = $2 }
	END { print s + 0, c + 0, l + 0 }'
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# Two folders per class, so that kills keep finding unlearned messages.
S=$T/spam1 H=$T/ham1
copies "$S" s1 "$COPIES" "$TOP"/corpus/spam/*.eml
copies "$T/spam2" s2 "$COPIES" "$TOP"/corpus/spam/*.eml
copies "$H" h1 "$COPIES" "$TOP"/corpus/ham/*.eml
copies "$T/ham2" h2 "$COPIES" "$TOP"/corpus/ham/*.eml
NS=$(ls "$S" | wc -l)
NH=$(ls "$H" | wc -l)
N1=$NS

# --- 1. SIGKILL during training --------------------------------------------
# The reference: trained once, no kills; its run times set the kill range.
export HOME="$T/ref"
mkdir -m 700 "$HOME"
t0=$(now_ms)
timeout "$LIMIT_S" "$SPAMSIFT" -s "$S" >/dev/null 2>&1
r1=$?
t1=$(now_ms)
timeout "$LIMIT_S" "$SPAMSIFT" -c "$H" >/dev/null 2>&1
r2=$?
t2=$(now_ms)
timeout "$LIMIT_S" "$SPAMSIFT" -s "$T/spam2" >/dev/null 2>&1
r3=$?
timeout "$LIMIT_S" "$SPAMSIFT" -c "$T/ham2" >/dev/null 2>&1
r4=$?
if [ "$r1 $r2 $r3 $r4" != "0 0 0 0" ]; then
	fail "reference training (status $r1 $r2 $r3 $r4)"
	done_testing
fi
TS=$((t1 - t0)) TH=$((t2 - t1))
echo "# reference: $NS spam in $TS ms, $NH clean in $TH ms (per folder)"
NS=$((NS * 2)) NH=$((NH * 2))
# dump_counts: the counts, robx and learned messages of --dump, without
# the days, the weights and the learner's count (which messages the
# learner sees depends on how the runs were cut).
dump_counts() {
	"$SPAMSIFT" --dump | awk -F '\t' '/^#learned$/ { m = 1 }
	    /^#meta lr_msgs / { next }
	    NR > 1 { print $1 "\t" $2 (m ? "" : "\t" $3) }'
}
dump_counts >"$T/ref.dump"
set -- $(status_counts)
if [ "$1 $2 $3" = "$NS $NH $((NS + NH))" ]; then
	ok "reference: counts $1 spam, $2 clean, $3 learned"
else
	fail "reference: counts $1 $2 $3, want $NS $NH $((NS + NH))"
fi

# rotated DIR K: the files of DIR, starting at the K-th (so that a run
# after a kill starts with messages not learned yet).
rotated() {
	ls "$1" | awk -v d="$1" -v k="$2" '{ f[NR] = $0 }
	    END { for (i = 0; i < NR; i++) print d "/" f[(i + k) % NR + 1] }'
}

# Kills alternate spam and clean runs, and batch training (one
# transaction per 2,000 messages) with --train-mode tune (a transaction
# per message learned).
export HOME="$T/killed"
mkdir -m 700 "$HOME"
prev=0 bad=0 early=0
k=1
while [ "$k" -le "$KILLS" ]; do
	case $((k % 4)) in
	0) cls=-s dir=$S range=$TS ;;
	1) cls=-c dir=$H range=$TH ;;
	2) cls=-s dir=$T/spam2 range=$TS ;;
	3) cls=-c dir=$T/ham2 range=$TH ;;
	esac
	# Batches: mostly late, around the one commit at the end.
	mode=all lo=0.5 hi=1.1
	[ $((k % 8)) -ge 4 ] && mode=tune lo=0 hi=1.2
	ms=$(awk -v s="$SEED" -v k="$k" -v r="$range" -v lo="$lo" \
	    -v hi="$hi" 'BEGIN { srand(s * 100 + k)
	    printf "%d", r * (lo + rand() * (hi - lo)) }')
	"$SPAMSIFT" "$cls" --train-mode "$mode" \
	    $(rotated "$dir" $((k * 97))) >/dev/null 2>&1 &
	pid=$!
	sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
	kill -9 "$pid" 2>/dev/null || early=$((early + 1))
	wait "$pid" 2>/dev/null
	if ! out=$("$SPAMSIFT" --check-db 2>&1) || [ "$out" != ok ]; then
		fail "kill $k at $ms ms: --check-db: $out"
		bad=1
	fi
	set -- $(status_counts)
	if [ "$(($1 + $2))" != "$3" ] || [ "$3" -lt "$prev" ] ||
	    [ "$1" -gt "$NS" ] || [ "$2" -gt "$NH" ]; then
		fail "kill $k at $ms ms: counts spam $1 clean $2 learned $3" \
		    "(before: learned $prev)"
		bad=1
	fi
	echo "# kill $k: $cls --train-mode $mode after $ms ms:" \
	    "spam $1 clean $2 learned $3"
	prev=$3
	k=$((k + 1))
done
[ "$bad" = 0 ] && ok "$KILLS kills: --check-db passes and counts add up" \
    "after each ($early runs ended before their kill)"

# Let training finish: now the database must be the reference, exactly.
bad=0
for d in "$S" "$T/spam2" "$H" "$T/ham2"; do
	case ${d##*/} in
	spam*) cls=-s ;;
	*) cls=-c ;;
	esac
	timeout "$LIMIT_S" "$SPAMSIFT" "$cls" "$d" >/dev/null 2>&1
	r=$?
	[ "$r" = 0 ] || [ "$r" = 4 ] || bad="$bad $d:$r"
done
if [ "$bad" = 0 ]; then
	ok "training after the kills finishes"
else
	fail "training after the kills: status$bad"
fi
set -- $(status_counts)
if [ "$1 $2 $3" = "$NS $NH $((NS + NH))" ]; then
	ok "after the kills: counts $1 spam, $2 clean, $3 learned"
else
	fail "after the kills: counts $1 $2 $3, want $NS $NH $((NS + NH))"
fi
dump_counts >"$T/killed.dump"
if cmp -s "$T/ref.dump" "$T/killed.dump"; then
	ok "after the kills: every token count equals the reference"
else
	fail "after the kills: token counts differ from the reference:" \
	    "$(diff "$T/ref.dump" "$T/killed.dump" | head -n 4 | tr '\n' ' ')"
fi

# --- 2. parallel deliveries while training ---------------------------------
export HOME="$T/par"
mkdir -m 700 "$HOME"
"$SPAMSIFT" -s "$TOP"/corpus/spam/*.eml >/dev/null 2>&1
"$SPAMSIFT" -c "$TOP"/corpus/ham/*.eml >/dev/null 2>&1
set -- $(status_counts)
base=$3
D=$T/deliver
w=1
while [ "$w" -le "$WORKERS" ]; do
	copies "$D/$w" "d$w" 1 $(ls "$TOP"/corpus/spam/*.eml \
	    "$TOP"/corpus/ham/*.eml | awk -v w="$w" -v n="$PER_WORKER" \
	    '(NR + w * 7) % 96 < n')
	w=$((w + 1))
done
timeout "$LIMIT_S" "$SPAMSIFT" -s "$S" >"$T/trainer.out" 2>&1 &
trainer=$!
w=1
while [ "$w" -le "$WORKERS" ]; do
	(
		for f in "$D/$w"/*; do
			timeout "$LIMIT_S" "$SPAMSIFT" -a --pipe --insert-flag \
			    --insert-probability --insert-revision <"$f" \
			    >"$f.out" 2>"$f.err"
			echo "$?" >"$f.rc"
		done
	) &
	w=$((w + 1))
done
wait
wait "$trainer" 2>/dev/null
tr=$(tail -n 1 "$T/trainer.out")
bad=0 n=0
for f in "$D"/*/*.eml; do
	n=$((n + 1))
	rc=$(cat "$f.rc")
	grep -a -v -E '^X-Spam-(Flag|Probability|Revision): ' "$f.out" \
	    >"$f.stripped"
	if [ "$rc" != 0 ] || [ -s "$f.err" ] ||
	    [ "$(grep -a -c -E '^X-Spam-(Flag|Probability|Revision): ' \
	    "$f.out")" != 3 ] || ! cmp -s "$f" "$f.stripped"; then
		[ "$bad" -lt 3 ] && echo "# delivery $f: status $rc:" \
		    "$(head -c 200 "$f.err")"
		bad=$((bad + 1))
	fi
done
if [ "$bad" = 0 ]; then
	ok "$n parallel deliveries with -a: all exit 0, intact, no errors"
else
	fail "$bad of $n parallel deliveries failed"
fi
set -- $(status_counts)
if [ "$3" = "$((base + N1 + n))" ] && [ "$(($1 + $2))" = "$3" ]; then
	ok "parallel: learned $3 = $base + $N1 trained + $n delivered"
else
	fail "parallel: counts spam $1 clean $2 learned $3, want learned" \
	    "$((base + N1 + n)) (trainer: $tr)"
fi
if out=$("$SPAMSIFT" --check-db 2>&1) && [ "$out" = ok ]; then
	ok "parallel: --check-db passes"
else
	fail "parallel: --check-db: $out"
fi

# --- 3. read-only home, full disk ------------------------------------------
MSG=$TOP/corpus/ham/ham-001.eml

# mount_tmpfs DIR SIZE: a private tmpfs at DIR, or fails.
mount_tmpfs() {
	[ "$(id -u)" = 0 ] || return 1
	mkdir -p "$1" &&
	    mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" 2>/dev/null ||
	    return 1
	MOUNTS="$1 $MOUNTS"
}

# delivered NAME IN OUT ERR RC: the pipe-mode contract on a fault.
delivered() {
	if [ "$5" = 75 ] && cmp -s "$2" "$3" && [ -s "$4" ]; then
		ok "$1: exit 75, message unchanged, says why:" \
		    "$(head -n 1 "$4")"
	elif [ "$5" = 0 ] && [ -s "$4" ] &&
	    grep -a -q '^X-Spam-Flag: ' "$3" &&
	    grep -a -v -E '^X-Spam-(Flag|Probability|Revision): ' "$3" |
	    cmp -s "$2" -; then
		ok "$1: exit 0, message with our headers, says why:" \
		    "$(head -n 1 "$4")"
	else
		fail "$1: status $5, stderr: $(head -c 200 "$4")"
	fi
}

# read_only on|off: the home read-only, by a read-only remount, or (not
# root) by its modes.
read_only() {
	if [ "$ro_how" = mount ]; then
		[ "$1" = on ] && mount -o remount,ro "$HOME"
		[ "$1" = off ] && mount -o remount,rw "$HOME"
	else
		[ "$1" = on ] && chmod 0500 "$HOME/.spamsift" &&
		    chmod 0400 "$HOME/.spamsift"/*
		[ "$1" = off ] && chmod 0700 "$HOME/.spamsift" &&
		    chmod 0600 "$HOME/.spamsift"/*
	fi
}

export HOME="$T/ro"
ro_how=
if mount_tmpfs "$HOME" 8m; then
	ro_how=mount
elif [ "$(id -u)" != 0 ]; then
	mkdir -m 700 "$HOME"
	ro_how=modes
fi
if [ -z "$ro_how" ]; then
	skip "read-only home: root cannot mount a tmpfs here, and modes" \
	    "do not stop root: nothing to test it on"
else
	echo "# read-only home by $ro_how"
	"$SPAMSIFT" -s "$TOP"/corpus/spam/*.eml >/dev/null 2>&1
	"$SPAMSIFT" -c "$TOP"/corpus/ham/*.eml >/dev/null 2>&1
	before=$(status_counts)
	read_only on
	"$SPAMSIFT" --pipe --insert-flag <"$MSG" >"$T/o" 2>"$T/e"
	rc=$?
	if [ "$rc" = 0 ] && grep -q '^X-Spam-Flag: ' "$T/o"; then
		ok "read-only home: pipe without -a classifies (exit 0)"
	else
		delivered "read-only home, pipe" "$MSG" "$T/o" "$T/e" "$rc"
	fi
	sed 's/^Message-ID: </Message-ID: <ro-/' "$MSG" >"$T/m"
	"$SPAMSIFT" -a --pipe --insert-flag <"$T/m" >"$T/o" 2>"$T/e"
	delivered "read-only home, pipe -a" "$T/m" "$T/o" "$T/e" "$?"
	"$SPAMSIFT" -s "$T/m" >/dev/null 2>"$T/e"
	rc=$?
	if [ "$rc" = 3 ] && [ -s "$T/e" ]; then
		ok "read-only home: training exits 3: $(head -n 1 "$T/e")"
	else
		fail "read-only home: training status $rc, want 3"
	fi
	# The reason names the cause: the file system, or the modes.
	case $ro_how in
	mount) want="read-only file system" ;;
	*) want="chmod u+w" ;;
	esac
	check "read-only home: the error says '$want'" grep -q "$want" "$T/e"
	read_only off
	if out=$("$SPAMSIFT" --check-db 2>&1) && [ "$out" = ok ] &&
	    [ "$(status_counts)" = "$before" ]; then
		ok "read-only home: database intact, counts unchanged"
	else
		fail "read-only home: after: $out, counts $(status_counts)" \
		    "(before $before)"
	fi
fi

export HOME="$T/full"
if ! mount_tmpfs "$HOME" 2m; then
	skip "full disk: cannot mount a tmpfs (not root, or no" \
	    "permission): nothing to fill"
else
	"$SPAMSIFT" -s "$TOP"/corpus/spam/*.eml >/dev/null 2>&1
	"$SPAMSIFT" -c "$TOP"/corpus/ham/*.eml >/dev/null 2>&1
	before=$(status_counts)
	# Full before spamsift starts: it cannot even open the database.
	dd if=/dev/zero of="$HOME/fill" bs=1k 2>/dev/null
	sed 's/^Message-ID: </Message-ID: <full1-/' "$MSG" >"$T/m"
	"$SPAMSIFT" -a --pipe --insert-flag <"$T/m" >"$T/o" 2>"$T/e"
	delivered "full disk at start, pipe -a" "$T/m" "$T/o" "$T/e" "$?"
	rm -f "$HOME/fill"
	# Full while the database is open elsewhere (its -wal and -shm
	# exist): opening works, learning cannot.
	mkfifo "$T/hold"
	"$SPAMSIFT" <"$T/hold" >/dev/null 2>&1 &
	holder=$!
	exec 7>"$T/hold"
	sleep 1
	dd if=/dev/zero of="$HOME/fill" bs=1k 2>/dev/null
	i=1
	while [ "$i" -le 3 ]; do
		sed "s/^Message-ID: </Message-ID: <full2-$i-/" "$MSG" >"$T/m"
		"$SPAMSIFT" -a --pipe --insert-flag <"$T/m" >"$T/o" 2>"$T/e"
		delivered "full disk in use, pipe -a ($i)" "$T/m" "$T/o" \
		    "$T/e" "$?"
		i=$((i + 1))
	done
	"$SPAMSIFT" -s "$T/m" >/dev/null 2>"$T/e"
	rc=$?
	if [ "$rc" = 3 ] && [ -s "$T/e" ]; then
		ok "full disk: training exits 3: $(head -n 1 "$T/e")"
	else
		fail "full disk: training status $rc, want 3"
	fi
	exec 7>&-
	wait "$holder"
	rm -f "$HOME/fill"
	if out=$("$SPAMSIFT" --check-db 2>&1) && [ "$out" = ok ] &&
	    [ "$(status_counts)" = "$before" ]; then
		ok "full disk: database intact, counts unchanged"
	else
		fail "full disk: after: $out, counts $(status_counts)" \
		    "(before $before)"
	fi
fi

# --- 4. trainers starting together on a fresh home --------------------------
RACE_ROUNDS=100
RACERS=12
bad=0
r=0
while [ $r -lt $RACE_ROUNDS ]; do
	rm -rf "$T/race"
	i=0
	while [ $i -lt $RACERS ]; do
		f=$(ls "$TOP"/corpus/spam/*.eml | sed -n "$((i + 1))p")
		( "$SPAMSIFT" --homedir "$T/race" -q -s "$f" 2>>"$T/race.err" ||
		    echo "round $r: status $?" >>"$T/race.err" ) &
		i=$((i + 1))
	done
	wait
	n=$("$SPAMSIFT" --homedir "$T/race" --show-db-status 2>/dev/null |
	    awk '$1 == "messages" { print $3 }')
	[ "$n" = "$RACERS" ] || bad=$((bad + 1))
	r=$((r + 1))
done
if [ $bad = 0 ] && [ ! -s "$T/race.err" ]; then
	ok "$RACE_ROUNDS rounds of $RACERS trainers on a fresh home: all learned"
else
	fail "trainers on a fresh home: $bad rounds short;" \
	    "$(head -n 2 "$T/race.err" | tr '\n' ' ')"
fi

done_testing
