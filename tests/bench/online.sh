#!/bin/sh
# SPDX-License-Identifier: MIT
# online.sh FILTER [INDEX]: the accuracy protocol of issue 4, TREC's
# immediate feedback with one process per step: for each line of a TREC
# index in order, FILTER classifies the message (one process), then
# learns it with its true label (another process), from an empty store.
# FILTER is spamsift (./spamsift), bogofilter, spamprobe or bsfilter,
# each with its own defaults.  Writes "label score" lines to
# bench-out/online-FILTER.txt (for spamsift a third column, its verdict
# by exit status: 1 spam, 0 not, which includes the warm-up) and prints
# (1-ROCA)%, FP and FN at the filter's default cutoff.  Slow by design (bsfilter: about an hour for
# the SpamAssassin index); not part of make check or make bench.
set -u
f=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
index=${2:-$top/../shared/corpus/spamassassin/index}
[ -f "$index" ] || { echo "online: $index: no such index"; exit 0; }
dir=$(dirname "$index")
out=$top/bench-out/online-$f.txt
mkdir -p "$top/bench-out"
d=$(mktemp -d "${TMPDIR:-/tmp}/spamsift-online.XXXXXX") || exit 1
trap 'rm -rf "$d"' EXIT
chmod 700 "$d"
ss=$d/spamsift
cp "$top/spamsift" "$ss" 2>/dev/null
: >"$out"
v=
while read -r lab path; do
	case $path in /*) m=$path ;; *) m=$dir/$path ;; esac
	case $f in
	spamsift)
		rep=$("$ss" --homedir "$d/h" "$m" 2>/dev/null)
		v=$(( $? == 0 ))
		s=$(echo "$rep" | awk '{ print $5 }')
		if [ "$lab" = spam ]; then "$ss" --homedir "$d/h" -q -s "$m"
		else "$ss" --homedir "$d/h" -q -c "$m"; fi 2>/dev/null ;;
	bogofilter)
		s=$(bogofilter -d "$d" -T <"$m" 2>/dev/null | awk '{ print $2 }')
		if [ "$lab" = spam ]; then bogofilter -d "$d" -s <"$m"
		else bogofilter -d "$d" -n <"$m"; fi ;;
	spamprobe)
		s=$(spamprobe -d "$d" score <"$m" 2>/dev/null | awk '{ print $2 }')
		if [ "$lab" = spam ]; then spamprobe -c -d "$d" spam <"$m"
		else spamprobe -c -d "$d" good <"$m"; fi ;;
	bsfilter)
		s=$(bsfilter --homedir "$d" --pipe --insert-probability <"$m" \
		    2>/dev/null | awk '/^X-Spam-Probability:/ { print $2; exit }')
		if [ "$lab" = spam ]; then bsfilter --homedir "$d" -s -u "$m"
		else bsfilter --homedir "$d" -c -u "$m"; fi >/dev/null 2>&1 ;;
	*) echo "online: $f: not spamsift, bogofilter, spamprobe or bsfilter"
		exit 2 ;;
	esac
	echo "$lab ${s:-0.5}${v:+ $v}" >>"$out"
	v=
done <"$index"
# Default cutoffs: spam when score > 0.95 (spamsift, bsfilter), >= 0.99
# (bogofilter's S), >= 0.6 (spamprobe's SPAM).
case $f in
bogofilter) cut=0.99 ge=1 ;;
spamprobe) cut=0.6 ge=1 ;;
*) cut=0.95 ge=0 ;;
esac
awk -v cut=$cut -v ge=$ge '{
	spam = $1 == "spam"; s = $2 + 0
	v = NF >= 3 ? $3 + 0 : (ge ? s >= cut : s > cut)
	if (spam) { ns++; fn += !v } else { nh++; fp += v }
} END { printf "%d messages: %d ham, %d spam; FP %d (%.3f%%), FN %d (%.3f%%)\n",
	nh + ns, nh, ns, fp, 100 * fp / nh, fn, 100 * fn / ns }' "$out"
awk '{ print $2, ($1 == "spam") }' "$out" | LC_ALL=C sort -g -k1,1 |
    LC_ALL=C awk '
    function flush() { sum += (r + (gn + 1) / 2) * gs; r += gn; ns += gs
	gn = 0; gs = 0 }
    NR > 1 && $1 + 0 != prev { flush() }
    { prev = $1 + 0; gn++; gs += $2 }
    END { flush(); nh = r - ns
	printf "(1-ROCA)%% %.4f\n", 100 * (1 - (sum - ns * (ns + 1) / 2) / (ns * nh)) }'
