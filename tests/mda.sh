# SPDX-License-Identifier: MIT
# mda.sh - sourced by t-procmail.sh and t-maildrop.sh after lib.sh: how a
# delivery's result is put aside and, for mboxes, cut into one file per
# delivered message.  Uses $HOME (Maildir, Mail/), $T and $GOT.

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
