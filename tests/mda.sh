# SPDX-License-Identifier: MIT
# mda.sh - sourced by t-procmail.sh and t-maildrop.sh after lib.sh: how a
# delivery's result is put aside and, for mboxes, cut into one file per
# delivered message; the store a test HOME gets; and the training half of
# corpus/ both start from.
# Uses $HOME (Maildir, Mail/), $T, $GOT, $C, $PRISTINE and $SPAMSIFT.

# collect KIND K: put what delivery K wrote aside, as $GOT/inbox.K or
# $GOT/spam.K (several files if it went wrong).  An mbox is not read
# between deliveries (procmail pauses a second when it finds the file
# read since its last change): its size is noted in $T/chunks, and
# split_mboxes cuts the pieces out at the end.
collect() {
	if [ "$1" = mbox ]; then
		for b in inbox spam; do
			[ -f "$HOME/Mail/$b" ] &&
			    echo "$b $2 $(stat -c %s "$HOME/Mail/$b")"
		done >>"$T/chunks"
		return
	fi
	for d in "inbox:$HOME/Maildir" "spam:$HOME/Maildir/.Spam"; do
		for f in "${d#*:}"/new/* "${d#*:}"/cur/*; do
			[ -f "$f" ] || continue
			if [ -e "$GOT/${d%%:*}.$2" ]; then
				mv "$f" "$GOT/${d%%:*}.$2.extra.$$"
			else
				mv "$f" "$GOT/${d%%:*}.$2"
			fi
		done
	done
}

# install_store DB: $HOME/.spamsift for a delivery: nothing (none), a
# file that is not a database (corrupt), or a copy of the trained
# $PRISTINE store and its configuration (trained).
install_store() {
	case $1 in
	none)
		;;
	corrupt)
		garbage_store "$HOME/.spamsift"
		;;
	*)
		mkdir -m 700 "$HOME/.spamsift"
		cp "$PRISTINE/spamsift.db" "$PRISTINE/spamsift.conf" \
		    "$HOME/.spamsift/"
		chmod 600 "$HOME/.spamsift/spamsift.db" \
		    "$HOME/.spamsift/spamsift.conf"
		;;
	esac
}

split_mboxes() {
	off_inbox=0 off_spam=0
	[ -f "$T/chunks" ] || return
	while read -r b k size; do
		case $b in
		inbox) off=$off_inbox ;;
		*) off=$off_spam ;;
		esac
		[ "$size" -gt "$off" ] || continue
		tail -c +"$((off + 1))" "$HOME/Mail/$b" |
		    head -c "$((size - off))" >"$GOT/$b.$k"
		case $b in
		inbox) off_inbox=$size ;;
		*) off_spam=$size ;;
		esac
	done <"$T/chunks"
	rm -f "$T/chunks"
}

# train_half: train $PRISTINE on the odd-numbered messages of corpus/ and
# list the even-numbered ones, ham and spam alternating, in $deliver_list.
train_half() {
	train_s='' train_c='' deliver_list=''
	for n in 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 \
	    21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 \
	    43 44 45 46 47 48; do
		case $n in
		*[13579])
			train_s="$train_s $C/spam/spam-0$n.eml"
			train_c="$train_c $C/ham/ham-0$n.eml"
			;;
		*)
			deliver_list="$deliver_list $C/ham/ham-0$n.eml"
			deliver_list="$deliver_list $C/spam/spam-0$n.eml"
			;;
		esac
	done
	# shellcheck disable=SC2086
	"$SPAMSIFT" --homedir "$PRISTINE" -q -s $train_s &&
	    "$SPAMSIFT" --homedir "$PRISTINE" -q -c $train_c
	check "train a database on half of corpus/" [ $? = 0 ]
	# 24 ham is deep in the warm-up (spam only above 0.99999), where
	# most of these spam would pass as clean; the recipes are tested
	# with the verdicts of a database past it.
	echo "warm-up 0" >"$PRISTINE/spamsift.conf"
	chmod 600 "$PRISTINE/spamsift.conf"
}
