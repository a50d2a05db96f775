#!/bin/sh
# SPDX-License-Identifier: MIT
# demo.sh (make demo): trains a throw-away database on the bundled sample
# corpus and classifies the sample mailbox, showing each verdict.
set -eu
cd "$(dirname "$0")/.."
home=$(mktemp -d "${TMPDIR:-/tmp}/spamsift-demo.XXXXXX")
trap 'rm -rf "$home"' EXIT
chmod 700 "$home"
echo "== training on corpus/: $(ls corpus/spam | wc -l) spam, $(ls corpus/ham | wc -l) clean"
./spamsift --homedir "$home" -s corpus/spam
./spamsift --homedir "$home" -c corpus/ham
./spamsift --homedir "$home" --show-db-status
echo "== classifying corpus/sample.mbox"
status=0
# --list-spam: the spam's "FILE N" on stdout, every report line on stderr.
./spamsift --homedir "$home" --mbox --list-spam corpus/sample.mbox \
    > "$home/spam" 2> "$home/out" || status=$?
# The Subject of each message, as written (encoded words left as they are).
awk '/^From / { n++; s = 0 } /^Subject:/ && !s { s = 1; print n "\t" substr($0, 10, 50) }' \
    corpus/sample.mbox > "$home/subjects"
held=0
while read -r _ _ file n p; do
	verdict=clean
	if grep -qxF "$file $n" "$home/spam"; then
		verdict=SPAM
	elif awk -v p="$p" 'BEGIN { exit !(p > 0.95) }'; then
		verdict=clean*
		held=1
	fi
	subj=$(awk -F '\t' -v n="$n" '$1 == n { print $2 }' "$home/subjects")
	printf '%-6s %s  %-48s  %s\n' "$verdict" "$p" "$subj" "$file $n"
done < "$home/out"
[ $held = 0 ] || echo "clean*: above the spam cutoff (0.95), but a database" \
    "that has learned fewer than 100 clean messages is in its warm-up and" \
    "calls spam only above 0.99999 (see --warm-up in spamsift(1))"
echo "== exit status $status (0: a spam was found, 1: all clean)"
