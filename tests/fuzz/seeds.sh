#!/bin/sh
# SPDX-License-Identifier: MIT
# seeds.sh: builds the seed corpora tests/fuzz/corpus-{tok,mbox,output}/,
# and corpus-bucket/ (store buckets written here byte by byte),
# from the repository's corpus/ (every .eml and sample.mbox), the shared
# Japanese fixtures (../shared/corpus/ja-fixtures, when present), a few
# inputs written here (CRLF, mboxrd quoting, our own headers, Subject
# marking), and the committed regression inputs in regress/.  Each target
# reads its first byte(s) as options, so every seed gets a prefix; the
# prefixes vary so the seeds cover every mode.  Generated, never committed.
set -eu
cd "$(dirname "$0")"
TOP=$(cd ../.. && pwd)
JA=$TOP/../shared/corpus/ja-fixtures

rm -rf corpus-tok corpus-mbox corpus-output corpus-bucket
mkdir corpus-tok corpus-mbox corpus-output corpus-bucket

# byte N: one raw byte of value N (0-255).
byte() {
	printf "\\$(printf %03o "$1")"
}

# seed DIR NAME FILE PREFIX-BYTE...: DIR/NAME = prefix bytes + FILE.
seed() {
	_d=$1 _n=$2 _f=$3
	shift 3
	{
		for _b in "$@"; do
			byte "$_b"
		done
		cat "$_f"
	} >"$_d/$_n"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/spamsift-seeds.XXXXXX")
trap 'rm -rf "$T"' EXIT

i=0
for f in "$TOP"/corpus/ham/*.eml "$TOP"/corpus/spam/*.eml; do
	[ -f "$f" ] || continue
	n=$(basename "$f" .eml)
	# fuzz_tok: cycle through the 36 tokenizer configurations.
	seed corpus-tok "$n" "$f" $((i % 36 + 36 * (i % 7)))
	# fuzz_output: options byte and prefix byte vary together.
	seed corpus-output "$n" "$f" $((i * 37 % 256)) $((i * 11 % 256))
	# fuzz_mbox: every fourth message, read as a folder entry.
	if [ $((i % 4)) = 0 ]; then
		seed corpus-mbox "$n" "$f" $((5 + i % 3))
	fi
	i=$((i + 1))
done

if [ -f "$TOP/corpus/sample.mbox" ]; then
	for b in 0 2 4; do
		seed corpus-mbox "sample-$b" "$TOP/corpus/sample.mbox" "$b"
	done
	seed corpus-tok sample-mbox "$TOP/corpus/sample.mbox" 0
fi

if [ -d "$JA/msgs" ]; then
	i=0
	find "$JA/msgs" -type f | sort | while read -r f; do
		n=ja-$(echo "$f" | sed 's|.*/msgs/||; s|/|-|g')
		# Every Japanese mode, both header sets that read Subject.
		for j in 0 1 2; do
			seed corpus-tok "$n-$j" "$f" $((j + 3 * (i % 2)))
		done
		seed corpus-output "$n" "$f" $((i * 53 % 256)) $((i % 256))
		i=$((i + 1))
	done
	for m in ham spam; do
		if [ -f "$JA/$m.mbox" ]; then
			seed corpus-mbox "ja-$m-mbox" "$JA/$m.mbox" 0
		fi
	done
fi

# Written here: the shapes the sample corpus lacks.
F='From a@b Thu Jan  1 00:00:00 1970'
{
	printf '%s\nSubject: one\n\n>From quoted\n>>From twice\n' "$F"
	printf '>not from\n\n%s\nSubject: two\n\nbody\n' "$F"
} >"$T/rd.mbox"
{
	printf '%s\r\nSubject: crlf\r\n\r\nbody\r\n\r\n' "$F"
	printf '%s\r\n\r\n' "$F"
} >"$T/crlf.mbox"
printf 'junk\n\nFrom a@b\nX: 1\n\nFrom b@c\nFrom not-a-separator\n' \
    >"$T/junk.mbox"
seed corpus-mbox rd-auto "$T/rd.mbox" 0
seed corpus-mbox rd-force "$T/rd.mbox" 2
seed corpus-mbox crlf "$T/crlf.mbox" 1
seed corpus-mbox junk "$T/junk.mbox" 3

{
	printf 'Subject: hello\r\nX-Spam-Flag: Yes\r\n'
	printf 'X-Spam-Probability : 1.0\r\n\tfolded\r\nx-spam-revision:old\r\n'
	printf '\r\nX-Spam-Flag: body stays\r\n'
} >"$T/ours.eml"
printf 'From a@b\nSubject:no-blank\nX-Spam-Flag: Yes' >"$T/cut.eml"
printf 'Subject: [SPAM] already\nMessage-ID: <a@b>\n\nbody\n' >"$T/marked.eml"
printf '\nbody only, empty header\n' >"$T/nohdr.eml"
for b in 0 7 15 31 255; do
	seed corpus-output "ours-$b" "$T/ours.eml" "$b" 0
	seed corpus-output "cut-$b" "$T/cut.eml" "$b" 8
	seed corpus-output "marked-$b" "$T/marked.eml" "$b" 1
	seed corpus-output "nohdr-$b" "$T/nohdr.eml" "$b" 2
done

{
	printf 'Content-Type: multipart/mixed; boundary=a\n\n--a\n'
	printf 'Content-Type: multipart/alternative; boundary=b\n\n--b\n'
	printf 'Content-Type: text/html; charset=iso-2022-jp\n'
	printf 'Content-Transfer-Encoding: base64\n\nGyRCJCIbKEI=\n--b--\n'
	printf -- '--a\nContent-Type: message/rfc822\n\n'
	printf 'Subject: =?utf-8?q?inner?=\n\ninner body\n--a--\n'
} >"$T/nest.eml"
{
	printf 'Subject: =?iso-2022-jp?B?GyRCJUYlOSVIGyhC?= '
	printf '=?x-absurd-charset?Q?=FF?=\n'
	printf 'Content-Type: text/plain; charset=utf-7\n\n+ZeVnLIqe-\n'
} >"$T/cs.eml"
for j in 0 1 2 9 18; do
	seed corpus-tok "nest-$j" "$T/nest.eml" "$j"
	seed corpus-tok "cs-$j" "$T/cs.eml" "$j"
done

# fuzz_bucket: buckets as db/bucket.h lays them out (hex).
hexseed() {
	_h=$2
	while [ -n "$_h" ]; do
		byte $((0x$(printf %.2s "$_h")))
		_h=${_h#??}
	done >"corpus-bucket/$1"
}
# "w1" 1/0 (tag 19); none; three tokens, one tag shared, big counts and
# days, negative weights; a token of 200 bytes (two-byte length).
hexseed one 0101021902773101000000
hexseed none 010000
hexseed three 0103060001610100000005026162800180010a0305026163ff010001ff0f
long=0101021ac801
k=0
while [ $k -lt 200 ]; do
	long=${long}61
	k=$((k + 1))
done
hexseed long ${long}01010000

# Committed regression inputs (already carrying their prefix bytes).
for t in tok mbox output bucket; do
	[ -d "regress/$t" ] || continue
	for f in regress/"$t"/*; do
		if [ -f "$f" ]; then
			cp "$f" "corpus-$t/regress-$(basename "$f")"
		fi
	done
done
echo "seeds: tok $(ls corpus-tok | wc -l), mbox $(ls corpus-mbox | wc -l)," \
    "output $(ls corpus-output | wc -l), bucket $(ls corpus-bucket | wc -l)"
