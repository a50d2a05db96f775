/* SPDX-License-Identifier: MIT */
/*
 * check_tok.c - unit tests of tokenizer/: the same Japanese text in every
 * encoding and under wrong labels gives the same words; MIME structure,
 * HTML, normalisation, Japanese modes, limits, digests; and, when
 * ../shared/corpus/ja-fixtures is present, every real-world fixture gives
 * valid UTF-8 and Japanese words.  The simple (GMime-free) path gives
 * exactly the GMime path's tokens, and hands GMime what it must.
 */
#include <check.h>
#include <ctype.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>		/* GChecksum: the reference for our SHA-256 */

#include "tests/check_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tok_priv.h"	/* the simple path's switch and count,
					 * tok_sha256 */

#define DATA "tests/data/"
#define JA_FIXTURES "../shared/corpus/ja-fixtures"

/* Tokenize a file with jmode into a fresh set. */
static struct tok_set *
tokens_of(const char *path, enum tok_jmode jm)
{
	struct tok_opts o;
	struct tok *t = NULL;
	struct tok_set *s = tok_set_new();
	size_t len;
	char *buf = read_whole(path, &len);

	tok_opts_init(&o);
	o.jmode = jm;
	ck_assert_int_eq(tok_new(&t, &o), 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(tok_message(t, buf, len, s), 0);
	tok_set_sort(s);
	tok_free(t);
	free(buf);
	return s;
}

static int
has(const struct tok_set *s, const char *tok)
{
	size_t i, n = tok_set_count(s), l;

	for (i = 0; i < n; i++)
		if (strcmp(tok_set_token(s, i, &l), tok) == 0)
			return 1;
	return 0;
}

/* Untagged (body) tokens joined by spaces, sorted. */
static char *
body_words(const struct tok_set *s)
{
	size_t i, n = tok_set_count(s), l, cap = 1, k = 0;
	char *out;

	for (i = 0; i < n; i++)
		cap += strlen(tok_set_token(s, i, &l)) + 1;
	out = calloc(1, cap);
	ck_assert_ptr_nonnull(out);
	for (i = 0; i < n; i++) {
		const char *t = tok_set_token(s, i, &l);

		if (strchr(t, ':') != NULL)
			continue;
		memcpy(out + k, t, l);
		k += l;
		out[k++] = ' ';
	}
	out[k] = '\0';
	return out;
}

static int
valid_utf8(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, j;

	while (i < n) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if (u[i] >= 0xC2 && u[i] <= 0xDF)
			k = 2;
		else if (u[i] >= 0xE0 && u[i] <= 0xEF)
			k = 3;
		else if (u[i] >= 0xF0 && u[i] <= 0xF4)
			k = 4;
		else
			return 0;
		if (i + k > n)
			return 0;
		for (j = 1; j < k; j++)
			if ((u[i + j] & 0xC0) != 0x80)
				return 0;
		if (u[i] == 0xE0 && u[i + 1] < 0xA0)
			return 0;
		if (u[i] == 0xED && u[i + 1] >= 0xA0)
			return 0;
		if (u[i] == 0xF0 && u[i + 1] < 0x90)
			return 0;
		if (u[i] == 0xF4 && u[i + 1] >= 0x90)
			return 0;
		i += k;
	}
	return 1;
}

static void
assert_clean_tokens(const struct tok_set *s, const char *what)
{
	size_t i, k, n = tok_set_count(s), l;

	for (i = 0; i < n; i++) {
		const char *t = tok_set_token(s, i, &l);

		ck_assert_msg(l > 0 && l <= TOK_MAX_TOKEN_BYTES,
		    "%s: token length %zu", what, l);
		ck_assert_msg(valid_utf8(t, l), "%s: invalid UTF-8 token", what);
		ck_assert_msg(strpbrk(t, " \t\r\n") == NULL,
		    "%s: blank in token '%s'", what, t);
		ck_assert_msg(strlen(t) == l, "%s: NUL in token", what);
		for (k = 0; k < l; k++)
			ck_assert_msg((unsigned char)t[k] >= 0x20 &&
			    t[k] != 0x7F, "%s: control byte in token '%s'",
			    what, t);
	}
}

/* Japanese words containing kana or kanji. */
static size_t
japanese_tokens(const struct tok_set *s)
{
	size_t i, n = tok_set_count(s), l, k = 0;

	for (i = 0; i < n; i++) {
		const unsigned char *t = (const unsigned char *)
		    tok_set_token(s, i, &l);
		size_t j;

		for (j = 0; j + 2 < l; j++)
			if ((t[j] == 0xE3 && t[j + 1] >= 0x81 &&
			    t[j + 1] <= 0x83) || (t[j] >= 0xE4 && t[j] <= 0xE9)) {
				k++;
				break;
			}
	}
	return k;
}

static const char *const same_text[] = {
	"ja-iso2022jp.eml", "ja-sjis-b64.eml", "ja-eucjp-8bit.eml",
	"ja-utf8-qp.eml", "ja-sjis-as-jis.eml", "ja-euc-as-sjis.eml",
	"ja-utf8-as-latin1.eml", "ja-sjis-as-ascii.eml",
	"ja-sjis-raw-subject.eml",
};

START_TEST(test_same_text_every_encoding)
{
	struct tok_set *ref = tokens_of(DATA "ja-utf8-qp.eml", TOK_JA_ICU);
	char *want = body_words(ref), path[256];
	struct tok_set *s;
	char *got;

	ck_assert(has(ref, "東京"));
	ck_assert(has(ref, "セミナー"));
	ck_assert(has(ref, "subject:会議"));
	snprintf(path, sizeof(path), DATA "%s", same_text[_i]);
	s = tokens_of(path, TOK_JA_ICU);
	got = body_words(s);
	ck_assert_msg(strcmp(got, want) == 0, "%s:\n got  %s\n want %s",
	    same_text[_i], got, want);
	ck_assert_msg(has(s, "subject:会議") && has(s, "subject:お知らせ"),
	    "%s: subject words", same_text[_i]);
	assert_clean_tokens(s, same_text[_i]);
	free(got);
	free(want);
	tok_set_free(s);
	tok_set_free(ref);
}
END_TEST

/* Each charset's text in a declared part gives the words of the same
 * text given as UTF-8 (tests/data/charsets.txt: file TAB text). */
/* msg through t (which keeps its state from message to message) into a
 * fresh sorted set; the caller frees it. */
static struct tok_set *
msg_set(struct tok *t, const char *msg)
{
	struct tok_set *s = tok_set_new();

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(tok_message(t, msg, strlen(msg), s), 0);
	tok_set_sort(s);
	return s;
}

/* A raw 8-bit header of kanji alone (no kana to tell Japanese from
 * Chinese) in a message labelled Japanese elsewhere reads in the label's
 * charset: the body's, an encoded word's, ISO-2022-JP's (either
 * multi-byte charset then), on both parsing paths; Chinese and Korean
 * likewise, and only the first label of a header or <meta> counts.  A Latin-1 subject
 * under a Japanese body label stays Latin-1.  Labelled EUC-JP kanji that
 * happen to be valid UTF-8 read as EUC-JP. */
START_TEST(test_ja_hint)
{
	/* "東京都庁" in EUC-JP and in Shift_JIS */
#define EUC_TOKYO "\xc5\xec\xb5\xfe\xc5\xd4\xc4\xa3"
#define SJIS_TOKYO "\x93\x8c\x8b\x9e\x93\x73\x92\xa1"
	/* "免费发票代开增值税专用发票" in GB2312, "회의실" in EUC-KR */
#define GB_INVOICE "\xc3\xe2\xb7\xd1\xb7\xa2\xc6\xb1\xb4\xfa\xbf\xaa" \
    "\xd4\xf6\xd6\xb5\xcb\xb0\xd7\xa8\xd3\xc3\xb7\xa2\xc6\xb1"
#define KR_ROOM "\xc8\xb8\xc0\xc7\xbd\xc7"
	/* "会议室预约通知" in GB18030 */
#define GB_MEETING "\xbb\xe1\xd2\xe9\xca\xd2\xd4\xa4\xd4\xbc\xcd\xa8" \
    "\xd6\xaa"
	static const char *const cases[][3] = {
		/* message, a token that must be there, one that must not */
		{ "Subject: " EUC_TOKYO "\nMIME-Version: 1.0\n"
		  "Content-Type: text/plain; charset=EUC-JP\n\nx\n",
		  "subject:東京", "subject:模" },
		{ "Subject: " EUC_TOKYO "\nTo: =?euc-jp?B?xsy1/g==?= "
		  "<b@example.com>\nMIME-Version: 1.0\n\nx\n",
		  "subject:都庁", "subject:模" },
		{ "Subject: " EUC_TOKYO "\nMIME-Version: 1.0\n"
		  "Content-Type: text/plain; charset=\"iso-2022-jp\"\n\nx\n",
		  "subject:東京", "subject:模" },
		{ "Subject: " SJIS_TOKYO "\nMIME-Version: 1.0\n"
		  "Content-Type: text/plain; charset=EUC-JP\n\nx\n",
		  "subject:都庁", "subject:東京都庁" },
		{ "Subject: caf\xe9 cr\xe8me\nMIME-Version: 1.0\n"
		  "Content-Type: text/plain; charset=EUC-JP\n\nx\n",
		  "subject:caf\xc3\xa9", "subject:東京" },
		/* EUC-JP that is valid UTF-8 too ("発表" is "ȯɽ") reads as
		 * its label says; Latin or Japanese UTF-8 under that label
		 * stays UTF-8 */
		{ "Subject: =?EUC-JP?B?yK/JvQ==?=\n\nx\n", "subject:発表",
		  "subject:\xc8\xaf\xc9\xbd" },
		{ "MIME-Version: 1.0\nContent-Type: text/plain; "
		  "charset=euc-jp\n\n\xc8\xaf\xc9\xbd\n", "発表",
		  "\xc8\xaf\xc9\xbd" },
		{ "MIME-Version: 1.0\nContent-Type: text/plain; "
		  "charset=euc-jp\n\ncaf\xc3\xa9 cr\xc3\xa8me\n",
		  "caf\xc3\xa9", "cr" },
		{ "MIME-Version: 1.0\nContent-Type: text/plain; "
		  "charset=shift_jis\n\n日本語のテキスト\n", "テキスト",
		  "cr" },
		/* only labels in headers and <meta> lines count, and only
		 * the first (found by review): a "charset=shift_jis" in a
		 * body, or a Japanese part after a Korean one, is none;
		 * Chinese and Korean labels count as Japanese ones do */
		{ "Subject: " GB_INVOICE "\nMIME-Version: 1.0\nContent-Type: "
		  "text/plain; charset=us-ascii\n\nhttp://x.example/?a=?"
		  "shift_jis charset=shift_jis\n", "subject:免费",
		  "subject:喘" },
		{ "Subject: " KR_ROOM "\nMIME-Version: 1.0\nContent-Type: "
		  "multipart/mixed; boundary=BB\n\n--BB\nContent-Type: "
		  "text/plain; charset=euc-kr\n\nx\n--BB\nContent-Type: "
		  "text/plain; charset=iso-2022-jp\n\ny\n--BB--\n",
		  "subject:회의실", "subject:θέΐη" },
		{ "Subject: \xc3\xe2\xb7\xd1\nMIME-Version: 1.0\n"
		  "Content-Type: text/plain; charset=gb2312\n\nx\n",
		  "subject:免费", "subject:цБ" },
		/* a "--" line that is no boundary starts no header (found
		 * by the second review) */
		{ "Subject: " GB_MEETING "\nMIME-Version: 1.0\n\n--\nsee "
		  "charset=euc-jp\n\nbody\n", "see", "subject:咏" },
	};
#undef EUC_TOKYO
#undef SJIS_TOKYO
#undef GB_INVOICE
#undef KR_ROOM
#undef GB_MEETING
	struct tok_opts o;
	struct tok *t = NULL;
	struct tok_set *s;
	size_t i;
	int path;

	tok_opts_init(&o);
	ck_assert_int_eq(tok_new(&t, &o), 0);
	for (path = 0; path < 2; path++) {
		t->no_simple = path;
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			s = msg_set(t, cases[i][0]);
			ck_assert_msg(has(s, cases[i][1]), "path %d case %zu: "
			    "no \"%s\"", path, i, cases[i][1]);
			ck_assert_msg(!has(s, cases[i][2]), "path %d case %zu: "
			    "\"%s\"", path, i, cases[i][2]);
			tok_set_free(s);
		}
	}
	tok_free(t);
}
END_TEST

/* Text with a byte lost or cut, and labels as mail writes them (found by
 * review; each case was decoded as another script, or split): a QP soft
 * break after blanks joins its word; declared UTF-8 with
 * one bad byte stays UTF-8 (Latin-1 under a UTF-8 label still reads as
 * Latin-1); undeclared Shift_JIS cut in a character and EUC-JP with a bad
 * byte stay Japanese; "windows-1252" in lower case is checked as the
 * capitals are; a UTF-16 byte-order mark counts for its own part only;
 * a multipart without a boundary has its text decoded; a Q-encoded word
 * and a uuencode line read by hand read as they did; UTF-16, UCS-2 and
 * UTF-32 without a byte-order mark read in the order their NULs show. */
START_TEST(test_charset_glitches)
{
	static const char *const cases[][2] = {
		{ "Content-Type: text/plain; charset=utf-8\n\n"
		  "Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen caf\xe9\n",
		  "m\xc3\xbcnchen" },
		{ "Content-Type: text/plain; charset=utf-8\n\n"
		  "Gr\xfc\xdf" "e aus M\xfcnchen und K\xf6ln\n",
		  "m\xc3\xbcnchen" },
		{ "Subject: x\n\n\x89\xef\x8b" "c\x82\xcc\x82\xa8\x92m"
		  "\x82\xe7\x82\xb9\x82", "会議" },
		{ "Subject: x\n\n\xb2\xf1\xb5\xc4\xa4\xce\xff\xa4\xaa\xc3"
		  "\xce\xa4\xe9\xa4\xbb\n", "会議" },
		{ "Content-Type: text/plain; charset=windows-1252\n\n"
		  "\xb2\xf1\xb5\xc4\xa4\xce\xa4\xaa\xc3\xce\xa4\xe9\xa4\xbb\n",
		  "会議" },
		{ "Content-Type: text/plain; charset=utf-16\n"
		  "Content-Transfer-Encoding: base64\n\n"
		  "/v8AYwBoAGUAYQBwACAAdwBhAHQAYwBoAGUAcw==\n", "watches" },
		{ "Content-Type: text/plain; charset=utf-16\n"
		  "Content-Transfer-Encoding: base64\n\n"
		  "//5vAGYAZgBlAHIAIABwAGgAYQByAG0AYQBjAHkA\n", "pharmacy" },
		{ "MIME-Version: 1.0\nContent-Type: multipart/alternative\n\n"
		  "\x89\xef\x8b" "c\x82\xcc\x82\xa8\x92m\x82\xe7\x82\xb9\n",
		  "会議" },
		{ "Subject: =?iso-8859-1?q?M=FCnchen?=\n\nx\n",
		  "subject:m\xc3\xbcnchen" },
		{ "Subject: u\n\nhello\nbegin 644 report.doc\nM1234\nend\n"
		  "after\n", "file:report.doc" },
		{ "Content-Transfer-Encoding: quoted-printable\n\n"
		  "an unbeliev=  \nable deal, incred=\r\nible\n",
		  "unbelievable" },
		/* wide charsets without a byte-order mark: the order their
		 * NULs show (glibc took the machine's, and UCS-2 text of
		 * ASCII letters was taken for ASCII) */
		{ "Content-Type: text/plain; charset=ucs-2\n"
		  "Content-Transfer-Encoding: base64\n\n"
		  "AGMAaABlAGEAcAAgAHAAaABhAHIAbQBhAGMAeQ==\n", "pharmacy" },
		{ "Content-Type: text/plain; charset=UTF-16\n"
		  "Content-Transfer-Encoding: base64\n\n"
		  "AGMAaABlAGEAcAAgAHAAaABhAHIAbQBhAGMAeQ==\n", "pharmacy" },
		{ "Content-Type: text/plain; charset=utf-16\n"
		  "Content-Transfer-Encoding: base64\n\n"
		  "YwBoAGUAYQBwACAAcABoAGEAcgBtAGEAYwB5AA==\n", "pharmacy" },
		{ "Content-Type: text/plain; charset=utf-32\n"
		  "Content-Transfer-Encoding: base64\n\n"
		  "YwAAAGgAAABlAAAAYQAAAHAAAAAgAAAAcAAAAGgAAABhAAAAcgAAAG0AAABhAAAA"
		  "YwAAAHkAAAA=\n", "pharmacy" },
		/* control and 8-bit bytes in MIME names make no token */
		{ "MIME-Version: 1.0\nContent-Type: text/plain; "
		  "charset=\"ut\x01" "f-8\"\nContent-Transfer-Encoding: "
		  "8\x02" "bit\n\nplainword\n", "plainword" },
		{ "MIME-Version: 1.0\nContent-Type: text/plain; "
		  "charset=\"\xe9t\xe9\"\n\nplainword\n", "plainword" },
	};
	struct tok_opts o;
	struct tok *t = NULL;
	struct tok_set *s;
	size_t i;

	tok_opts_init(&o);
	ck_assert_int_eq(tok_new(&t, &o), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = msg_set(t, cases[i][0]);
		ck_assert_msg(has(s, cases[i][1]), "case %zu: no \"%s\"", i,
		    cases[i][1]);
		assert_clean_tokens(s, cases[i][0]);
		tok_set_free(s);
	}
	/* The second UTF-16 part in the other byte order, in one message
	 * after the first. */
	s = msg_set(t, "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: text/plain; charset=utf-16\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "/v8AYwBoAGUAYQBwACAAdwBhAHQAYwBoAGUAcw==\n--b\n"
	    "Content-Type: text/plain; charset=utf-16\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "//5vAGYAZgBlAHIAIABwAGgAYQByAG0AYQBjAHkA\n--b--\n");
	ck_assert(has(s, "watches") && has(s, "pharmacy"));
	tok_set_free(s);
	tok_free(t);
}
END_TEST

/* A message's words do not depend on the messages before it: ICU's CJK
 * engine, loaded on the first CJK text it meets, split "ー" and a kanji
 * after it one way when it loaded for that text and another way once
 * loaded (found by review: a message alone, as procmail gives it, and
 * the same in a training batch gave other tokens). */
START_TEST(test_words_history)
{
	const char *msg = "Content-Type: text/plain; charset=utf-8\n\n"
	    "ー噎\n";
	const char *before = "Subject: x\n\n会議のお知らせ\n";
	struct tok_opts o;
	struct tok *t1 = NULL, *t2 = NULL;
	struct tok_set *a, *b;
	size_t k, la, lb;

	/* Alone first: the engine is loaded for ICU's whole process, and
	 * this test's process (check forks one a test) has seen no CJK. */
	tok_opts_init(&o);
	ck_assert_int_eq(tok_new(&t1, &o), 0);
	a = msg_set(t1, msg);
	ck_assert_int_eq(tok_new(&t2, &o), 0);
	tok_set_free(msg_set(t2, before));
	b = msg_set(t2, msg);
	ck_assert_uint_eq(tok_set_count(a), tok_set_count(b));
	for (k = 0; k < tok_set_count(a); k++) {
		const char *ta = tok_set_token(a, k, &la);
		const char *tb = tok_set_token(b, k, &lb);

		ck_assert_msg(la == lb && memcmp(ta, tb, la) == 0,
		    "%s alone, %s after another message", ta, tb);
	}
	tok_set_free(a);
	tok_set_free(b);
	tok_free(t1);
	tok_free(t2);
}
END_TEST

/* File names GMime decodes strictly are decoded here (found by review:
 * an ISO-2022-JP name with a circled digit, and a raw Shift_JIS one,
 * came out as Latin garble); the others stay GMime's. */
START_TEST(test_file_names)
{
	static const char *const cases[][2] = {
		{ "Content-Type: application/pdf;\n"
		  " name=\"=?ISO-2022-JP?B?GyRCLSE4K0BRPXEbKEIucGRm?=\"\n"
		  "Content-Transfer-Encoding: base64\n\nAAAA\n",
		  "file:見積" },
		{ "Content-Type: application/pdf\n"
		  "Content-Disposition: attachment; filename=\"\x8c\xa9"
		  "\x90\xcf\x8f\x91_\x93\xc1\x95\xca\x89\xbf\x8a" "i.pdf\"\n"
		  "\nAAAA\n", "file:価格" },
		{ "Content-Type: application/pdf; name=other.pdf\n"
		  "Content-Disposition: attachment; filename=\"report 7.pdf\"\n"
		  "\nAAAA\n", "file:report" },
		{ "Content-Type: application/pdf\n"
		  "Content-Disposition: attachment;\n filename*=ISO-2022-JP''"
		  "%1B%24B8%2B%40Q%3Dq%1B%28B.pdf\n\nAAAA\n", "file:見積" },
		{ "Content-Type: application/pdf; name=\"\\\"=?UTF-8?B?"
		  "6KaL56mN?=\\\" x.pdf\"\n\nAAAA\n", "file:見積" },
	};
	struct tok_opts o;
	struct tok *t = NULL;
	struct tok_set *s;
	size_t i;

	tok_opts_init(&o);
	ck_assert_int_eq(tok_new(&t, &o), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = msg_set(t, cases[i][0]);
		ck_assert_msg(has(s, cases[i][1]), "case %zu: no \"%s\"", i,
		    cases[i][1]);
		ck_assert_msg(!has(s, "file:other.pdf") && !has(s, "file:other"),
		    "case %zu: the Content-Type name taken first", i);
		assert_clean_tokens(s, cases[i][0]);
		tok_set_free(s);
	}
	tok_free(t);
}
END_TEST

START_TEST(test_declared_charsets)
{
	FILE *idx = fopen(DATA "charsets.txt", "r");
	char line[512], path[600], *tab;
	struct tok_opts o;
	struct tok *t = NULL;
	struct tok_set *want;
	struct tok_set *got;
	char *w, *g;
	int n = 0;

	ck_assert_ptr_nonnull(idx);
	tok_opts_init(&o);
	ck_assert_int_eq(tok_new(&t, &o), 0);
	while (fgets(line, sizeof(line), idx) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		tab = strchr(line, '\t');
		ck_assert_ptr_nonnull(tab);
		*tab = '\0';
		want = tok_set_new();
		ck_assert_int_eq(tok_text(t, tab + 1, strlen(tab + 1), want), 0);
		tok_set_sort(want);
		snprintf(path, sizeof(path), DATA "%s", line);
		got = tokens_of(path, TOK_JA_ICU);
		w = body_words(want);
		g = body_words(got);
		ck_assert_msg(strlen(w) > 0 && strcmp(w, g) == 0,
		    "%s:\n got  %s\n want %s", line, g, w);
		free(w);
		free(g);
		tok_set_free(want);
		tok_set_free(got);
		n++;
	}
	fclose(idx);
	tok_free(t);
	ck_assert_int_ge(n, 12);
}
END_TEST

START_TEST(test_split_encoded_words)
{
	struct tok_set *a = tokens_of(DATA "ja-split-jis.eml", TOK_JA_ICU);
	struct tok_set *b = tokens_of(DATA "ja-split-utf8.eml", TOK_JA_ICU);

	ck_assert(has(a, "subject:会議"));
	ck_assert(has(a, "subject:お知らせ"));
	ck_assert(has(b, "subject:会議"));
	ck_assert(has(b, "subject:お知らせ"));
	assert_clean_tokens(a, "split jis");
	assert_clean_tokens(b, "split utf8");
	tok_set_free(a);
	tok_set_free(b);
}
END_TEST

START_TEST(test_html_only)
{
	struct tok_set *s = tokens_of(DATA "html-only.eml", TOK_JA_ICU);

	ck_assert(has(s, "cheap"));
	ck_assert(has(s, "meds"));
	ck_assert(has(s, "café"));		/* entity decoded */
	ck_assert(has(s, "altword"));
	ck_assert(has(s, "hidden:hiddenword"));	/* display:none */
	ck_assert(has(s, "hidden:whiteword"));	/* white on white */
	ck_assert(!has(s, "hiddenword"));
	ck_assert(!has(s, "commentword"));
	ck_assert(!has(s, "scriptword"));
	ck_assert(!has(s, "href"));		/* no tag innards */
	ck_assert(has(s, "url:www.pharma.example.com"));
	ck_assert(has(s, "url:pharma.example.com"));
	ck_assert(has(s, "url:example.com"));
	ck_assert(has(s, "url:img.example.net"));
	ck_assert(has(s, "ct:text/html"));
	tok_set_free(s);
}
END_TEST

/* An HTML part without a charset parameter takes the one its <meta> tag
 * names; a declared parameter wins over the tag.  "Здесь деньги" in
 * KOI8-R, as a single part (the simple path) and inside a nested
 * multipart (the GMime path). */
static struct tok_set *
msg_tokens(const char *msg)
{
	struct tok_opts o;
	struct tok *t = NULL;
	struct tok_set *s = tok_set_new();

	ck_assert_ptr_nonnull(s);
	tok_opts_init(&o);
	ck_assert_int_eq(tok_new(&t, &o), 0);
	ck_assert_int_eq(tok_message(t, msg, strlen(msg), s), 0);
	tok_free(t);
	return s;
}

/* URLs written in plain text: "http://", "https://" in any case, and
 * "www." not inside a word; not a scheme without its "://", nor at the
 * very end of the text. */
START_TEST(test_text_urls)
{
	struct tok_set *s = msg_tokens("Subject: u\n\n"
	    "see HTTPS://Shop.Example.org/x and hTtP://low.example.com,\n"
	    "(WwW.paren.example.net) xwww.inword.example.com\n"
	    "http:/broken.example.com https:noslash.example.com "
	    "httpx://other.example.com wwwxnodot.example.com\n"
	    "last www.end.example.com");

	ck_assert(has(s, "url:shop.example.org"));
	ck_assert(has(s, "url:low.example.com"));
	ck_assert(has(s, "url:www.paren.example.net"));
	ck_assert(has(s, "url:www.end.example.com"));
	ck_assert(!has(s, "url:www.inword.example.com"));
	ck_assert(!has(s, "url:inword.example.com"));
	ck_assert(!has(s, "url:broken.example.com"));
	ck_assert(!has(s, "url:noslash.example.com"));
	ck_assert(!has(s, "url:other.example.com"));
	ck_assert(!has(s, "url:wwwxnodot.example.com"));
	tok_set_free(s);
}
END_TEST

/* A block tag (opening or closing, any case, with attributes) ends a
 * line of text, so the words on either side stay apart; an inline tag,
 * and a name that only begins like a block's, joins them. */
START_TEST(test_html_blocks)
{
	static const char *const blocks[] = {
		"p", "br", "td", "th", "tr", "li", "ul", "ol", "h1", "h2", "h3",
		"h4", "h5", "h6", "hr", "dd", "dt", "div", "pre", "form",
		"table", "title", "center", "header", "footer", "option",
		"section", "article", "blockquote",
		/* missing, found by review */
		"dl", "nav", "dir", "main", "menu", "aside", "figure",
		"legend", "address", "caption", "details", "summary",
		"fieldset",
	};
	static const char *const inline_tags[] = {
		"b", "span", "font", "a", "i", "pr", "h7", "divx", "tables",
		"blockquotes", "articles", "d",
	};
	char msg[512], tag[32];
	struct tok_set *s;
	size_t i, k;

	for (i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		for (k = 0; blocks[i][k] != '\0'; k++)
			tag[k] = (char)(k % 2 ? toupper(blocks[i][k]) :
			    blocks[i][k]);
		tag[k] = '\0';
		snprintf(msg, sizeof(msg), "Subject: x\nContent-Type: "
		    "text/html\n\nfooword<%s class=x>barword"
		    "</%s>bazword\n", tag, blocks[i]);
		s = msg_tokens(msg);
		ck_assert_msg(has(s, "fooword") && has(s, "barword") &&
		    has(s, "bazword"), "<%s> joined words", tag);
		tok_set_free(s);
	}
	for (i = 0; i < sizeof(inline_tags) / sizeof(inline_tags[0]); i++) {
		snprintf(msg, sizeof(msg), "Subject: x\nContent-Type: "
		    "text/html\n\nfooword<%s>barword\n", inline_tags[i]);
		s = msg_tokens(msg);
		ck_assert_msg(has(s, "foowordbarword"), "<%s> split words",
		    inline_tags[i]);
		tok_set_free(s);
	}
}
END_TEST

/* HTML and URL cases found by review: an empty comment "<!-->" ends
 * where browsers end it; "!important" still hides; small print is not
 * hidden, tiny print is; sixty-odd unclosed elements or <style>s do not
 * make hidden text visible; a numeric entity past U+10FFFF leaves no
 * digits and a named one ends the text; Latin-1 named entities; a
 * backslash ends a URL's host; "://" in a www. URL's query names no
 * host; a protocol-relative URL has its host, a number for a host is an
 * IPv4 address; a quoted '>' does not end a tag; <div hidden> hides; a
 * table's background colour ends with the table; an attribute's name
 * inside another's value names nothing; colours are read as colours;
 * numeric references 128-159 are Windows-1252's; more named entities;
 * international and IPv6 hosts; text colours are inherited. */
START_TEST(test_html_review)
{
	static const char *const cases[][3] = {
		/* html, a token that must be there, one that must not */
		{ "visible <!-->ghostword<!-- c --> after", "ghostword",
		  "hidden:ghostword" },
		{ "a <span style=\"display:none !important\">impword</span>",
		  "hidden:impword", "impword" },
		{ "a <span style=\"color:#fff !important\">whiteword</span>",
		  "hidden:whiteword", "whiteword" },
		{ "<span style=\"font-size:0.9em\">smallword</span>",
		  "smallword", "hidden:smallword" },
		{ "<span style=\"font-size:0.1em\">tinyword</span>",
		  "hidden:tinyword", "tinyword" },
		{ "<span style=\"font-size:1.5px\">tinyword</span>",
		  "hidden:tinyword", "tinyword" },
		{ "big&#99999999999999;num tail&amp", "big", "9999" },
		{ "informaci&oacute;n &Eacute;cole &AMP; caf&eacute",
		  "informaci\xc3\xb3n", "oacute" },
		{ "x &Eacute;cole", "\xc3\xa9" "cole", "eacute" },
		{ "<a href=\"http://evil.example\\@paypal.com/x\">y</a>",
		  "url:evil.example", "url:paypal.com" },
		{ "<img src=\"//cdn.example.com/i.png\">", "url:example.com",
		  "url:ip" },
		{ "<a href=\"http://3232235777/\">y</a>", "url:ip",
		  "url:3232235777" },
		{ "<a href=\"/local/3232235777\">yword</a>", "yword",
		  "url:ip" },
		/* a '>' in a quoted value; <div hidden>; a table's colour
		 * ending with the table */
		{ "a <span title=\">\" style=\"display:none\">gtword</span>",
		  "hidden:gtword", "gtword" },
		{ "a <div hidden>boolword</div> b", "hidden:boolword",
		  "boolword" },
		{ "<table bgcolor=\"#000000\"><tr><td>dark</td></tr></table>"
		  "<p>x <font color=\"black\">blackword</font></p>",
		  "blackword", "hidden:blackword" },
		{ "<table bgcolor=\"#000000\"><tr><td>x <font color=\"black\">"
		  "inkword</font></td></tr></table>", "hidden:inkword",
		  "inkword" },
		/* a link's host written with entities (found by review) */
		{ "<a href=\"http://&#119;&#119;&#119;.entity.example/x\">y</a>",
		  "url:www.entity.example", "url:&" },
		{ "<a href=\"h&#116;tp://spelled.example/?a=1&amp;b=2\">y</a>",
		  "url:spelled.example", "url:www.entity.example" },
		/* an element's own style background: white on blue shows,
		 * black on black hides, and ends with the element */
		{ "<a style=\"background-color:#0066cc;color:#ffffff\">"
		  "buttonword</a>", "buttonword", "hidden:buttonword" },
		{ "<div style=\"background:black\"><font color=\"black\">"
		  "darkword</font></div>", "hidden:darkword", "darkword" },
		{ "<div style=\"background:black\">x</div><font color="
		  "\"black\">afterword</font>", "afterword",
		  "hidden:afterword" },
		/* end tags left out: a block ends an open p, an li an li */
		{ "<p style=\"display:none\">secretword<p>shownword</p>",
		  "shownword", "hidden:shownword" },
		{ "<p style=\"display:none\">secretword<div>divword</div>",
		  "divword", "hidden:divword" },
		{ "<ul><li style=\"display:none\">a<li>itemword</ul>",
		  "itemword", "hidden:itemword" },
		{ "<p style=\"display:none\">a <span>spanword</span> b",
		  "hidden:spanword", "spanword" },
		{ "<div style=\"display:none\"><p>a<p>innerword</div>",
		  "hidden:innerword", "innerword" },
		/* attribute names inside another's value name nothing; an
		 * element named like one is no attribute */
		{ "<a title=\"go href=http://decoy.example/\" "
		  "href=\"http://real.example/\">y</a>", "url:real.example",
		  "url:decoy.example" },
		{ "<span title=\"hidden text\">seenword</span>", "seenword",
		  "hidden:seenword" },
		{ "<span title=\"x style=display:none y\">plainword</span>",
		  "plainword", "hidden:plainword" },
		{ "<hidden>tagword</hidden>", "tagword", "hidden:tagword" },
		{ "<SPAN data-x=\"1\" STYLE = \"display:none\">capsword"
		  "</SPAN>", "hidden:capsword", "capsword" },
		{ "<a href = http://spaced.example/x title=t>y</a>",
		  "url:spaced.example", "url:t" },
		/* colours read as colours: rgb(), near the background,
		 * transparent, old hex without '#', a background shorthand;
		 * light grey still shows */
		{ "<span style=\"color:rgb(255, 255,255)\">rgbword</span>",
		  "hidden:rgbword", "rgbword" },
		{ "<span style=\"color: rgba(100%,100%,100%,1)\">pctword"
		  "</span>", "hidden:pctword", "pctword" },
		{ "<font color=\"#FEFEFE\">nearword</font>", "hidden:nearword",
		  "nearword" },
		{ "<font color=\"Snow\">snowword</font>", "hidden:snowword",
		  "snowword" },
		{ "<span style=\"color:transparent\">clearword</span>",
		  "hidden:clearword", "clearword" },
		{ "<body bgcolor=\"000000\"><font color=\"#010101\">"
		  "hexword</font>", "hidden:hexword", "hexword" },
		{ "<div style=\"background:#000 url(x.png) no-repeat\">"
		  "<font color=black>shortword</font></div>",
		  "hidden:shortword", "shortword" },
		{ "<font color=\"#eeeeee\">greyword</font>", "greyword",
		  "hidden:greyword" },
		{ "<body bgcolor=\"papayawhip\"><font color=\"PapayaWhip\">"
		  "papword</font>", "hidden:papword", "papword" },
		{ "<body bgcolor=\"papayawhip\"><font color=\"peachpuff\">"
		  "peachword</font>", "peachword", "hidden:peachword" },
		/* alpha, hsl(), CSS's 4- and 8-digit hex, old attributes'
		 * own parsing; a background of no colour leaves the one
		 * under it (found by review) */
		{ "<span style=\"color:rgba(0,0,0,0)\">alphaword</span>",
		  "hidden:alphaword", "alphaword" },
		{ "<span style=\"color:rgb(0 0 0 / 0)\">slashword</span>",
		  "hidden:slashword", "slashword" },
		{ "<span style=\"color:#ffffff00\">hexaword</span>",
		  "hidden:hexaword", "hexaword" },
		{ "<span style=\"color:#FFFF\">shortaword</span>",
		  "hidden:shortaword", "shortaword" },
		{ "<span style=\"color:hsl(0deg, 0%, 100%)\">hslword</span>",
		  "hidden:hslword", "hslword" },
		{ "<div style=\"background:transparent\"><font color=white>"
		  "clearbgword</font></div>", "hidden:clearbgword",
		  "clearbgword" },
		{ "<div style=\"background:url(x.png) no-repeat\"><font "
		  "color=white>urlbgword</font></div>", "hidden:urlbgword",
		  "urlbgword" },
		{ "<table bgcolor=transparent><tr><td><font color=white>"
		  "tablebgword</font></td></tr></table>", "hidden:tablebgword",
		  "tablebgword" },
		{ "<font color=\"ffffffff\">legacyword</font>",
		  "hidden:legacyword", "legacyword" },
		{ "<font color=fffffg>gword</font>", "hidden:gword", "gword" },
		{ "<font color=\"#fff0\">yellowword</font>", "yellowword",
		  "hidden:yellowword" },
		{ "<span style=\"color:rgb(nan,nan,nan)\">nanword</span>",
		  "nanword", "hidden:nanword" },
		/* CSS's last declaration counts (an !important one before
		 * a plain one); a first attribute without a value counts;
		 * only Latin-1's entities go without ';' */
		{ "<span style=\"color:#000;color:#fff\">lastword</span>",
		  "hidden:lastword", "lastword" },
		{ "<span style=\"color:#fff !important;color:#000\">impword2"
		  "</span>", "hidden:impword2", "impword2" },
		{ "<span style=\"display:none;display:inline\">shownagain"
		  "</span>", "shownagain", "hidden:shownagain" },
		{ "<span style style=\"display:none\">emptyfirst</span>",
		  "emptyfirst", "hidden:emptyfirst" },
		{ "a &trademark; b", "trademark", "tmark" },
		/* a quote in a name or an unquoted value opens nothing: the
		 * tag ends at its '>' as in a browser (found by review) */
		{ "<b =\">shownone text<i \">after</i>", "shownone",
		  "after" },
		{ "<span title=x=\">showntwo<i \">", "showntwo", "title" },
		/* a text colour is inherited and may be changed again
		 * inside; body's text attribute gives one; no colour known,
		 * nothing hidden; a void element's colours are none */
		{ "<div style=\"background:#000;color:#fff\"><div style=\""
		  "background:#fff\">inheritword</div></div>",
		  "hidden:inheritword", "inheritword" },
		{ "<body text=\"#ffffff\">bodytextword</body>",
		  "hidden:bodytextword", "bodytextword" },
		{ "<font color=white>hidepart <font color=black>showpart"
		  "</font></font>", "showpart", "hidden:showpart" },
		{ "<font color=white>hidepart <font color=black>x</font>"
		  "</font>", "hidden:hidepart", "hidepart" },
		{ "<table><tr><td bgcolor=#000>darkcell</td></tr></table>",
		  "darkcell", "hidden:darkcell" },
		{ "<body bgcolor=black text=white>whiteonblack</body>",
		  "whiteonblack", "hidden:whiteonblack" },
		{ "<br style=\"background:black\"><font color=black>afterbr"
		  "</font>", "afterbr", "hidden:afterbr" },
		/* second review: a declaration a browser drops counts for
		 * nothing; a value's parentheses hold a ';' or a ':'; a
		 * shorthand after its longhand wins; numbers with leading
		 * zeros or an exponent; a link keeps its own colour; an
		 * empty href hides no src; a full stack keeps colours; a
		 * font written "/>" is open; bogus comments end at '>' */
		{ "<span style=\"color:#fff;color:bogus\">dropword</span>",
		  "hidden:dropword", "dropword" },
		{ "<span style=\"display:none;display:bogus\">dropword2"
		  "</span>", "hidden:dropword2", "dropword2" },
		{ "<span style=\"background:url(a?color:red;x);color:#fff\">"
		  "parenword</span>", "hidden:parenword", "parenword" },
		{ "<span style=\"color:#fff ! important;color:#000\">"
		  "spaceimp</span>", "hidden:spaceimp", "spaceimp" },
		{ "<span style=\"color:#fff;background-color:#000;"
		  "background:#fff\">shortword</span>", "hidden:shortword",
		  "shortword" },
		{ "<span style=\"color:rgb(000000000000000000255,"
		  "000000000000000000255,000000000000000000255)\">zeroword"
		  "</span>", "hidden:zeroword", "zeroword" },
		{ "<span style=\"color:rgb(2.55e2,2.55e2,2.55e2)\">expword"
		  "</span>", "hidden:expword", "expword" },
		{ "<span style=\"color:rgb(255,255,255\">openword</span>",
		  "hidden:openword", "openword" },
		{ "<body text=\"#ffffff\"><a href=\"http://x.example/\">"
		  "linkcolour</a>", "linkcolour", "hidden:linkcolour" },
		{ "<img href src=\"http://spam.example/x.gif\">",
		  "url:spam.example", "url:x" },
		{ "<font color=\"#ffffff\"/>selfword", "hidden:selfword",
		  "selfword" },
		{ "<wbr style=\"display:none\">voidword", "voidword",
		  "hidden:voidword" },
		{ "<?x a=\">bogusword<i \">", "bogusword", "hidden:bogusword" },
		{ "<!x a=\">bangword", "bangword", "hidden:bangword" },
		{ "<div style=\"background:url(rgb(255,255,255).png) #000\">"
		  "<font color=black>urlrgbword</font></div>",
		  "hidden:urlrgbword", "urlrgbword" },
		/* numeric references 128-159 as Windows-1252, as HTML has
		 * them; entities that need their ';' */
		{ "don&#146;t worry", "don\xe2\x80\x99t", "don" },
		{ "&#147;quoted&#148; &#x96; end", "quoted", "\xc2\x93" },
		{ "&hearts;loveword&hearts; &rarr;clickword", "loveword",
		  "hearts" },
		{ "&rarr;clickword", "clickword", "rarr" },
		{ "a &heartsick; b", "heartsick", "\xe2\x99\xa5" },
		/* hosts: an IDN in Unicode or punycode is one host, a
		 * Cyrillic look-alike is another; an IPv6 literal is an IP */
		{ "<a href=\"http://www.\xe4\xbe\x8b\xe3\x81\x88.jp/x\">y</a>",
		  "url:\xe4\xbe\x8b\xe3\x81\x88.jp", "url:www" },
		{ "<a href=\"http://xn--r8jz45g.JP/x\">y</a>",
		  "url:\xe4\xbe\x8b\xe3\x81\x88.jp", "url:xn--r8jz45g.jp" },
		{ "<a href=\"http://p&#x430;ypal.com/\">y</a>",
		  "url:p\xd0\xb0ypal.com", "url:paypal.com" },
		{ "<a href=\"http://[2001:DB8::1]:8080/x\">y</a>",
		  "url:[2001:db8::1]", "url:[2001" },
		{ "<a href=\"http://[2001:DB8::1]:8080/x\">y</a>", "url:ip",
		  "url:8080" },
		/* a host UTS #46 maps to one with a space or '/' goes
		 * nowhere; hyphens a browser allows; tabs and line ends
		 * dropped from a link as a browser drops them */
		{ "<a href=\"http://free\xe3\x80\x80money.example/\">"
		  "linkword</a>", "linkword", "url:free money.example" },
		{ "<a href=\"http://evil.example\xef\xbc\x8fpaypal.com/\">"
		  "linkword</a>", "linkword", "url:evil.example/paypal.com" },
		{ "<a href=\"http://ab--cd.\xe4\xbe\x8b\xe3\x81\x88.jp/\">"
		  "y</a>", "url:\xe4\xbe\x8b\xe3\x81\x88.jp", "url:ab" },
		{ "<a href=\"http://x&NewLine;paypal.com/login\">y</a>",
		  "url:xpaypal.com", "url:paypal.com" },
		{ "<a href=\"http://ex&Tab;ample.com/\">y</a>",
		  "url:example.com", "url:ex" },
	};
	char msg[1024];
	struct tok_set *s;
	size_t i;
	int k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(msg, sizeof(msg), "Subject: x\nContent-Type: "
		    "text/html\n\n%s\n", cases[i][0]);
		s = msg_tokens(msg);
		ck_assert_msg(has(s, cases[i][1]), "case %zu: no %s", i,
		    cases[i][1]);
		ck_assert_msg(!has(s, cases[i][2]), "case %zu: %s", i,
		    cases[i][2]);
		tok_set_free(s);
	}
	/* Hidden after 64 unclosed <p> and 64 <style> blocks. */
	for (k = 0; k < 2; k++) {
		struct tbuf m = { 0 };
		int j;

		const char *head = "Subject: x\nContent-Type: text/html\n\n";
		const char *late = "<span style=\"display:none\">lateword"
		    "</span>\n";
		const char *el = k == 0 ? "<p>x" : "<style>a{}</style>";

		ck_assert_int_eq(tbuf_add(&m, head, strlen(head)), 0);
		for (j = 0; j < 70; j++)
			ck_assert_int_eq(tbuf_add(&m, el, strlen(el)), 0);
		ck_assert_int_eq(tbuf_add(&m, late, strlen(late)), 0);
		ck_assert_int_eq(tbuf_addc(&m, '\0'), 0);
		s = msg_tokens(m.p);
		ck_assert_msg(has(s, "hidden:lateword") && !has(s, "lateword"),
		    "after 70 %s: hidden text visible", k ? "styles" : "<p>");
		tok_set_free(s);
		tbuf_release(&m);
	}
	/* An old colour attribute is cut to 128 characters, its '#'
	 * counted: '#', 127 zeros and an 'f' is black. */
	{
		char m[512];
		int j, k = snprintf(m, sizeof(m), "Subject: x\nContent-Type: "
		    "text/html\n\n<body bgcolor=black><font color=\"#");

		for (j = 0; j < 127; j++)
			m[k++] = '0';
		snprintf(m + k, sizeof(m) - (size_t)k, "f\">cutword</font>\n");
		s = msg_tokens(m);
		ck_assert_msg(has(s, "hidden:cutword"), "a cut colour");
		tok_set_free(s);
	}
	/* White on black, 70 spans deep: the colours end with their div,
	 * and the white cell after it shows its text (they stayed for the
	 * rest of the page; found by review). */
	{
		struct tbuf m = { 0 };
		int j;
		const char *head = "Subject: x\nContent-Type: text/html\n\n"
		    "<div style=\"color:white;background:black\">";
		const char *tail = "in</div><table><tr><td bgcolor=white>"
		    "cellword</td></tr></table>\n";

		ck_assert_int_eq(tbuf_add(&m, head, strlen(head)), 0);
		for (j = 0; j < 70; j++)
			ck_assert_int_eq(tbuf_add(&m, "<span>", 6), 0);
		ck_assert_int_eq(tbuf_add(&m, tail, strlen(tail)), 0);
		ck_assert_int_eq(tbuf_addc(&m, '\0'), 0);
		s = msg_tokens(m.p);
		ck_assert_msg(has(s, "cellword") && !has(s, "hidden:cellword"),
		    "a full stack: colours outlived their element");
		tok_set_free(s);
		tbuf_release(&m);
	}
	/* Invisible characters written raw, not as entities, neither stay
	 * in a word nor split it (found by review). */
	s = msg_tokens("Subject: x\nContent-Type: text/plain; charset=utf-8"
	    "\n\nbuy v\xc2\xadiagra and c\xe2\x81\xa0heap fr\xe2\x80\x8b" "ee"
	    " stuff\n");
	ck_assert(has(s, "viagra") && has(s, "cheap") && has(s, "free"));
	ck_assert(!has(s, "fr") && !has(s, "ee"));
	tok_set_free(s);
	/* A tag longer than TOK_MAX_HTML_TAG is skipped to its end: its
	 * bytes past the limit became words (found by review). */
	{
		struct tbuf m = { 0 };
		const char *head = "Subject: x\nContent-Type: text/html\n\n"
		    "before <div style=\"font-family:";
		int j;

		ck_assert_int_eq(tbuf_add(&m, head, strlen(head)), 0);
		for (j = 0; j < 2 * TOK_MAX_HTML_TAG / 16; j++)
			ck_assert_int_eq(tbuf_add(&m, " fontname fontna,", 16),
			    0);
		ck_assert_int_eq(tbuf_add(&m, "\"> afterword\n\0", 14), 0);
		s = msg_tokens(m.p);
		ck_assert(has(s, "before") && has(s, "afterword"));
		ck_assert(!has(s, "fontname") && !has(s, "fontna"));
		tok_set_free(s);
		tbuf_release(&m);
	}
	/* A text URL with a scheme in its query. */
	s = msg_tokens("Subject: x\n\nsee www.good.example/go?to=https://"
	    "evil.example/ now\n");
	ck_assert(has(s, "url:www.good.example") && has(s, "url:good.example"));
	tok_set_free(s);
}
END_TEST

/* Bracketed IPv4 addresses in Received fields give ip: tokens, with
 * their /24 and /16 prefixes, four a field at most; a bracket that
 * opens anything but four numbers of 0-255 with dots between (spaces,
 * signs, three numbers, an empty one) gives none. */
START_TEST(test_received_ips)
{
	struct tok_set *s = msg_tokens("Received: from a ([192.168.7.65]) "
	    "by b [1.2.3] [256.1.1.1] [ 9.9.9.9] [+8.8.8.8] [1..2.3]\n"
	    "  [3-3-3-3] [ipv6:1::2] [10.0.0.1]\n"
	    "Received: from c ([4.3.2.1]) [5.5.5.5] [6.6.6.6] [7.7.7.7] "
	    "[8.9.8.9]\n"
	    "Received: from d [11.22.33.44.55]\n"
	    "Subject: s\n\nbody\n");

	ck_assert(has(s, "ip:192.168.7.65"));
	ck_assert(has(s, "ip:192.168.7"));
	ck_assert(has(s, "ip:192.168"));
	ck_assert(has(s, "ip:10.0.0.1"));
	ck_assert(!has(s, "ip:1.2.3"));
	ck_assert(!has(s, "ip:1.2"));
	ck_assert(!has(s, "ip:256.1.1.1"));
	ck_assert(!has(s, "ip:1.0.2.3"));
	ck_assert(!has(s, "ip:3.3.3.3"));
	ck_assert(!has(s, "ip:9.9.9.9"));
	ck_assert(!has(s, "ip:8.8.8.8"));
	ck_assert(has(s, "ip:7.7.7.7"));
	ck_assert(!has(s, "ip:8.9.8.9"));	/* a fifth */
	ck_assert(has(s, "ip:11.22.33.44"));	/* the first four of five */
	tok_set_free(s);
}
END_TEST

/* A line with 8-bit bytes is cut at its spaces: the ASCII stretches
 * take the ASCII path, the rest goes to ICU, and the words are the same
 * as ICU gives for the whole line: a fullwidth letter joins the ASCII
 * letters around it (NFKC), a no-break space parts words, pairs run
 * across the cuts, and the words before, between and after the ICU
 * stretches are all there. */
START_TEST(test_mixed_line)
{
	struct tok_set *s = msg_tokens("Subject: x\n"
	    "Content-Type: text/plain; charset=utf-8\n\n"
	    "plenty of english words before caf\xc3\xa9 and then fooo"
	    "\xef\xbc\xa1" "barr with more english words before"
	    "\xc2\xa0" "after and trailing english words at the end "
	    "\xc3\xa9t\xc3\xa9\n");

	ck_assert(has(s, "plenty"));
	ck_assert(has(s, "before_café"));
	ck_assert(has(s, "café_and"));
	ck_assert(has(s, "fooo" "a" "barr"));	/* one word */
	ck_assert(!has(s, "fooo"));
	ck_assert(has(s, "before_after"));
	ck_assert(has(s, "the_end"));
	ck_assert(has(s, "end_été"));
	ck_assert(has(s, "été"));
	tok_set_free(s);
}
END_TEST

/* Attributes are found in any case, after a space, a quote or '/', each
 * by its first place with an '=', with one pass over the tag: a
 * "srcset" is no "src", a "bgcolor" no "color", and an attribute that
 * comes after others is still found. */
START_TEST(test_html_attributes)
{
	static const struct {
		const char *html, *want, *not;
	} cases[] = {
		{ "<A class=x title='t' HREF = 'http://up.example.org/'>u</A>",
		    "url:up.example.org", NULL },
		{ "<img srcset=\"http://set.example.net/a\" "
		    "src=\"http://src.example.net/b\" ALT=\"Altword\">",
		    "url:src.example.net", "url:set.example.net" },
		{ "<img srcset=\"http://set.example.net/a\" ALT=\"Altword\">",
		    "altword", "url:set.example.net" },
		{ "<body bgcolor=\"#000\" class=a><font color=black>inkword"
		    "</font></body>", "hidden:inkword", "inkword" },
		{ "<font size=0>tinyword</font>", "hidden:tinyword",
		    "tinyword" },
		{ "<p id=q style='display : none'>noneword</p>",
		    "hidden:noneword", "noneword" },
		{ "<span data-x=1 hidden=\"\">flagword</span>",
		    "hidden:flagword", "flagword" },
		{ "<td bgcolor=#fff><font/color=white>cellword</font></td>",
		    "hidden:cellword", "cellword" },
		/* a color attribute is a font's only, as in a browser */
		{ "<td bgcolor=#fff><span/color=white>spanword</span></td>",
		    "spanword", "hidden:spanword" },
		{ "<body bgcolor=#fff><font bgcolor=red color=blue>"
		    "blueword</font></body>", "blueword", "hidden:blueword" },
		{ "<a href=\"http://one.example.org/\" "
		    "HREF=\"http://two.example.org/\">x</a>",
		    "url:one.example.org", "url:two.example.org" },
		{ "<span hidden=''>oneword</span><i hidden=''>twoword</i>",
		    "hidden:twoword", "hidden:onewordtwoword" },
		{ "<form method=post action=\"http://act.example.com/go\">"
		    "x</form>", "url:act.example.com", NULL },
	};
	char msg[1024];
	struct tok_set *s;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(msg, sizeof(msg), "Subject: x\n"
		    "Content-Type: text/html\n\n<html>%s</html>\n",
		    cases[i].html);
		s = msg_tokens(msg);
		ck_assert_msg(has(s, cases[i].want), "%zu: no %s", i,
		    cases[i].want);
		ck_assert_msg(cases[i].not == NULL || !has(s, cases[i].not),
		    "%zu: %s", i, cases[i].not);
		tok_set_free(s);
	}
}
END_TEST

#define KOI8_TEXT "\xfa\xc4\xc5\xd3\xd8 \xc4\xc5\xce\xd8\xc7\xc9"

START_TEST(test_html_meta_charset)
{
	static const char *const metas[] = {
		"<meta http-equiv=\"Content-Type\" content=\"text/html; "
		    "charset=koi8-r\">",
		"<META CHARSET = 'KOI8-R'>",
	};
	char msg[2048];
	struct tok_set *s;
	size_t i;

	for (i = 0; i < 2 * (sizeof(metas) / sizeof(metas[0])); i++) {
		const char *m = metas[i / 2];

		if (i % 2 == 0)
			snprintf(msg, sizeof(msg), "Subject: x\n"
			    "Content-Type: text/html\n\n"
			    "<html><head>%s</head><body>" KOI8_TEXT
			    "</body></html>\n", m);
		else
			snprintf(msg, sizeof(msg), "Subject: x\n"
			    "Content-Type: multipart/mixed; boundary=o\n\n"
			    "--o\nContent-Type: multipart/alternative; "
			    "boundary=i\n\n--i\nContent-Type: text/html\n\n"
			    "<html><head>%s</head><body>" KOI8_TEXT
			    "</body></html>\n--i--\n--o--\n", m);
		s = msg_tokens(msg);
		ck_assert_msg(has(s, "здесь") && has(s, "деньги"),
		    "meta %zu, %s", i / 2, i % 2 ? "nested" : "single");
		assert_clean_tokens(s, "meta charset");
		tok_set_free(s);
	}
	/* Declared windows-1251: the same bytes read as Cyrillic of that
	 * charset, not as KOI8-R. */
	snprintf(msg, sizeof(msg), "Subject: x\nContent-Type: text/html; "
	    "charset=windows-1251\n\n<html><head>%s</head><body>" KOI8_TEXT
	    "</body></html>\n", metas[0]);
	s = msg_tokens(msg);
	ck_assert(!has(s, "здесь"));
	tok_set_free(s);
	/* A meta tag past the first TOK_META_SCAN_BYTES is not looked at. */
	{
		size_t n = TOK_META_SCAN_BYTES + 64, k;
		char *big = malloc(n + 512);

		ck_assert_ptr_nonnull(big);
		k = (size_t)sprintf(big, "Subject: x\n"
		    "Content-Type: text/html\n\n<html><body>");
		memset(big + k, ' ', n);
		sprintf(big + k + n, "%s" KOI8_TEXT "</body></html>\n",
		    metas[0]);
		s = msg_tokens(big);
		ck_assert(!has(s, "здесь"));
		tok_set_free(s);
		free(big);
	}
}
END_TEST

START_TEST(test_nested_and_crlf)
{
	struct tok_set *a = tokens_of(DATA "nested.eml", TOK_JA_ICU);
	struct tok_set *b = tokens_of(DATA "nested-crlf.eml", TOK_JA_ICU);
	size_t i, l;

	ck_assert(has(a, "outerbody"));
	ck_assert(has(a, "innerbody"));
	ck_assert(has(a, "subject:innersubject"));
	ck_assert(has(a, "from:inner"));
	ck_assert(has(a, "ct:message/rfc822"));
	ck_assert_uint_eq(tok_set_count(a), tok_set_count(b));
	for (i = 0; i < tok_set_count(a); i++)
		ck_assert_str_eq(tok_set_token(a, i, &l),
		    tok_set_token(b, i, &l));
	tok_set_free(a);
	tok_set_free(b);
}
END_TEST

START_TEST(test_broken_boundaries)
{
	struct tok_set *a = tokens_of(DATA "missing-boundary.eml", TOK_JA_ICU);
	struct tok_set *b = tokens_of(DATA "no-boundary-param.eml", TOK_JA_ICU);

	ck_assert(has(a, "firstpart"));
	ck_assert(has(a, "secondpart"));
	ck_assert(has(b, "orphan"));
	tok_set_free(a);
	tok_set_free(b);
}
END_TEST

START_TEST(test_attachments)
{
	struct tok_set *a = tokens_of(DATA "attachment.eml", TOK_JA_ICU);
	struct tok_set *u = tokens_of(DATA "uuencode.eml", TOK_JA_ICU);

	ck_assert(has(a, "ct:application/pdf"));
	ck_assert(has(a, "file:invoice"));
	ck_assert(has(a, "cte:base64"));
	ck_assert(!has(a, "binarybytesword"));	/* bytes not read */
	ck_assert(has(u, "file:setup.exe"));
	tok_set_free(a);
	/* RFC 2231: a continued, percent-encoded UTF-8 file name */
	a = tokens_of(DATA "rfc2231.eml", TOK_JA_ICU);
	ck_assert(has(a, "file:請求"));
	ck_assert(has(a, "file:invoice.pdf"));
	ck_assert(has(u, "after"));
	ck_assert(has(u, "look"));
	tok_set_free(a);
	tok_set_free(u);
}
END_TEST

START_TEST(test_nfkc)
{
	struct tok_set *s = tokens_of(DATA "nfkc.eml", TOK_JA_ICU);

	ck_assert(has(s, "free"));	/* full-width Latin, folded */
	ck_assert(has(s, "カタカナ"));	/* half-width katakana */
	ck_assert(has(s, "money123"));
	tok_set_free(s);
}
END_TEST

static struct tok_set *
text_tokens(const char *text, enum tok_jmode jm)
{
	struct tok_opts o;
	struct tok *t = NULL;
	struct tok_set *s = tok_set_new();

	tok_opts_init(&o);
	o.jmode = jm;
	ck_assert_int_eq(tok_new(&t, &o), 0);
	ck_assert_int_eq(tok_text(t, text, strlen(text), s), 0);
	tok_free(t);
	return s;
}

START_TEST(test_japanese_modes)
{
	const char *text = "東京都千代田区のコンピューターです";
	struct tok_set *bi = text_tokens(text, TOK_JA_BIGRAM);
	struct tok_set *bl = text_tokens(text, TOK_JA_BLOCK);
	struct tok_set *icu = text_tokens(text, TOK_JA_ICU);

	/* bsfilter's bigram: overlapping kanji pairs, katakana whole,
	 * hiragana dropped. */
	ck_assert(has(bi, "東京"));
	ck_assert(has(bi, "京都"));
	ck_assert(has(bi, "代田"));
	ck_assert(has(bi, "コンピューター"));
	ck_assert(!has(bi, "の"));
	ck_assert(!has(bi, "です"));
	/* block: whole runs */
	ck_assert(has(bl, "東京都千代田区"));
	ck_assert(has(bl, "コンピューター"));
	ck_assert(!has(bl, "東京"));
	/* ICU: dictionary words */
	ck_assert(has(icu, "コンピューター"));
	ck_assert(has(icu, "東京"));
	ck_assert_int_eq(tok_jmode_parse("bigram"), TOK_JA_BIGRAM);
	ck_assert_int_eq(tok_jmode_parse("nope"), -1);
	ck_assert_str_eq(tok_jmode_name(TOK_JA_BLOCK), "block");
	tok_set_free(bi);
	tok_set_free(bl);
	tok_set_free(icu);
}
END_TEST

/* Undeclared 8-bit text is decoded by the detector, which is shown the
 * lines holding 8-bit bytes: found alone, after 70 KB of ASCII lines
 * (beyond the detector's TOK_DETECT_BYTES), at the end of one 70 KB
 * line, and at the start of one (the detector is shown only the bytes
 * around the 8-bit ones). */
static const struct {
	const char *charset, *utf8, *word;
} undeclared[] = {
	{ "KOI8-R", "Привет мир, это письмо о встрече завтра утром. "
	    "Пожалуйста, приходите вовремя.", "вовремя" },
	{ "GB2312", "中文邮件测试，这是一封关于会议安排的通知。请各位同事准时"
	    "参加明天上午的会议，讨论下一季度的工作计划。", "上午" },
	{ "EUC-KR", "한국어 메일 테스트입니다. 내일 아침 회의에 참석해 주시기 "
	    "바랍니다. 감사합니다.", "감사합니다" },
};

START_TEST(test_undeclared_after_ascii)
{
	static const char head[] = "From: a@example.org\nSubject: t\n"
	    "Content-Type: text/plain\n\n";
	struct tbuf msg = { NULL, 0, 0 };
	struct tok_opts o;
	struct tok *t = NULL;
	struct tok_set *s = tok_set_new();
	char line[64], enc[512], *ip, *op;
	size_t il, ol, i;
	iconv_t cd = iconv_open(undeclared[_i / 4].charset, "UTF-8");
	int pad = _i % 4;	/* none, lines, one line, one line after */

	ck_assert(cd != (iconv_t)-1);
	ip = (char *)undeclared[_i / 4].utf8;
	il = strlen(ip);
	op = enc;
	ol = sizeof(enc);
	ck_assert(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
	iconv_close(cd);
	ck_assert_int_eq(tbuf_add(&msg, head, strlen(head)), 0);
	for (i = 0; pad == 3 && i < 3; i++) {
		ck_assert_int_eq(tbuf_add(&msg, enc, (size_t)(op - enc)), 0);
		ck_assert_int_eq(tbuf_addc(&msg, ' '), 0);
	}
	for (i = 0; pad && msg.len < 70 * 1024; i++) {
		snprintf(line, sizeof(line), "plain ascii %s %zu%s",
		    pad == 1 ? "line" : "words", i, pad == 1 ? "\n" : " ");
		ck_assert_int_eq(tbuf_add(&msg, line, strlen(line)), 0);
	}
	for (i = 0; pad != 3 && i < 3; i++) {
		ck_assert_int_eq(tbuf_add(&msg, enc, (size_t)(op - enc)), 0);
		ck_assert_int_eq(tbuf_addc(&msg, pad == 2 ? ' ' : '\n'), 0);
	}
	tok_opts_init(&o);
	ck_assert_int_eq(tok_new(&t, &o), 0);
	ck_assert_int_eq(tok_message(t, msg.p, msg.len, s), 0);
	ck_assert_msg(has(s, undeclared[_i / 4].word), "%s%s: no %s",
	    undeclared[_i / 4].charset, pad == 1 ? " after 70 KB of lines" :
	    pad == 2 ? " after 70 KB on its line" :
	    pad == 3 ? " before 70 KB on its line" : "",
	    undeclared[_i / 4].word);
	assert_clean_tokens(s, undeclared[_i / 4].charset);
	tok_free(t);
	tok_set_free(s);
	tbuf_release(&msg);
}
END_TEST

/* What conv gives by iconv: each byte iconv cannot take as U+FFFD. */
static void
iconv_ref(const char *cs, const char *in, size_t len, struct tbuf *out)
{
	iconv_t cd = iconv_open("UTF-8", cs);
	char chunk[64], *ip = (char *)in, *op;
	size_t il = len, ol, r;

	ck_assert(cd != (iconv_t)-1);
	while (il > 0) {
		op = chunk;
		ol = sizeof(chunk);
		r = iconv(cd, &ip, &il, &op, &ol);
		ck_assert_int_eq(tbuf_add(out, chunk, sizeof(chunk) - ol), 0);
		if (r == (size_t)-1 && errno != E2BIG) {
			ck_assert_int_eq(tbuf_add(out, "\xEF\xBF\xBD", 3), 0);
			ip++;
			il--;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	op = chunk;
	ol = sizeof(chunk);
	iconv(cd, NULL, NULL, &op, &ol);
	ck_assert_int_eq(tbuf_add(out, chunk, sizeof(chunk) - ol), 0);
	iconv_close(cd);
}

/* A declared single-byte charset decodes by its table (no iconv per
 * message) to exactly what iconv gives, unmapped bytes included; a
 * multi-byte or composing one keeps to iconv. */
START_TEST(test_single_byte_table)
{
	static const struct {
		const char *cs;
		int sb;
	} cases[] = {
		{ "ISO-8859-2", 1 }, { "ISO-8859-5", 1 },
		{ "ISO-8859-7", 1 },	/* 0xAE, 0xD2, 0xFF unmapped */
		{ "KOI8-R", 1 }, { "WINDOWS-1251", 1 },
		{ "WINDOWS-1253", 1 },	/* 17 unmapped */
		{ "TCVN5712-1", 0 },	/* composes: holds a byte back */
		{ "ISO-IR-49", 0 },	/* INIS: lacks "!" and other ASCII */
		{ "GB18030", 0 }, { "CP949", 0 },
	};
	struct tok_opts o;
	struct tok *t;
	struct tbuf in = { 0 }, got = { 0 }, want = { 0 };
	size_t i, k;

	tok_opts_init(&o);
	ck_assert_int_eq(tok_new(&t, &o), 0);
	/* Enough ASCII that the unmapped bytes stay under the limit of
	 * bad bytes a declared charset is allowed. */
	for (i = 0; i < 4000; i++)
		ck_assert_int_eq(tbuf_addc(&in, (char)('a' + i % 26)), 0);
	for (i = 0x80; i < 0x100; i++) {
		ck_assert_int_eq(tbuf_addc(&in, (char)i), 0);
		ck_assert_int_eq(tbuf_addc(&in, 'a'), 0);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got.len = want.len = 0;
		ck_assert_int_eq(tok_to_utf8(t, cases[i].cs, in.p, in.len,
		    &got), 0);
		for (k = 0; k < t->ncv; k++)
			if (strcmp(t->cv[k].name, cases[i].cs) == 0)
				break;
		ck_assert_msg(k < t->ncv, "%s: no converter", cases[i].cs);
		ck_assert_msg(t->cv[k].sb == cases[i].sb, "%s: table %d",
		    cases[i].cs, t->cv[k].sb);
		if (!cases[i].sb)
			continue;
		iconv_ref(cases[i].cs, in.p, in.len, &want);
		ck_assert_msg(got.len == want.len &&
		    memcmp(got.p, want.p, got.len) == 0, "%s differs",
		    cases[i].cs);
	}
	tok_free(t);
	tbuf_release(&in);
	tbuf_release(&got);
	tbuf_release(&want);
}
END_TEST

/* tok_to_utf8 tries the Japanese charsets on undeclared 8-bit text only
 * when it holds a byte that can start kana: 0x81-0x83 in CP932, 0xA1,
 * 0xA4 or 0xA5 in EUC-JP-MS.  That rests on glibc's tables; check it on
 * every two-byte sequence (and EUC's three-byte 0x8F ones). */
START_TEST(test_kana_lead_bytes)
{
	static const char *const cs[] = { "CP932", "EUC-JP-MS" };
	unsigned char in[3];
	uint32_t outc[4];
	char *ip, *op;
	size_t il, ol;
	int c, a, b, third, kana_leads;
	iconv_t cd;

	for (c = 0; c < 2; c++) {
		cd = iconv_open("UTF-32LE", cs[c]);
		ck_assert(cd != (iconv_t)-1);
		kana_leads = 0;
		for (a = 0x80; a < 0x100; a++)
			for (b = 0; b < 0x100; b++)
				for (third = 0; third < (a == 0x8F ? 0x100 :
				    1); third++) {
					in[0] = (unsigned char)a;
					in[1] = (unsigned char)b;
					in[2] = (unsigned char)third;
					ip = (char *)in;
					il = a == 0x8F ? 3 : 2;
					op = (char *)outc;
					ol = sizeof(outc);
					iconv(cd, NULL, NULL, NULL, NULL);
					(void)iconv(cd, &ip, &il, &op, &ol);
					if (ol == sizeof(outc) ||
					    outc[0] < 0x3040 || outc[0] > 0x30FF)
						continue;
					kana_leads++;
					ck_assert_msg(c == 0 ? a <= 0x83 :
					    a == 0xA1 || a == 0xA4 || a == 0xA5,
					    "%s: %02X %02X gives kana U+%04X",
					    cs[c], a, b, (unsigned)outc[0]);
				}
		ck_assert_int_gt(kana_leads, 80);	/* the test tests */
		iconv_close(cd);
	}
}
END_TEST

/* tok_set_merge maps each token of a message's set to its index in a
 * batch set, old and new alike, across the batch table's growth (3000
 * tokens: the table rehashes from 1024 slots twice), and reports a full
 * batch set as TOK_ENOMEM. */
START_TEST(test_set_merge)
{
	struct tok_set *agg = tok_set_new_limit(3000), *m = tok_set_new();
	static uint32_t idx[3000];
	char buf[32];
	size_t i, n, la, lb;
	int round;

	ck_assert_ptr_nonnull(agg);
	ck_assert_ptr_nonnull(m);
	for (round = 0; round < 2; round++) {
		tok_set_reset(m);
		/* Round 0: w0000..w1999; round 1: w1000..w2999, half old. */
		for (i = 0; i < 2000; i++) {
			snprintf(buf, sizeof(buf), "w%04zu", i + 1000 * round);
			ck_assert_int_eq(tok_set_add(m, buf, strlen(buf)), 0);
		}
		n = tok_set_count(m);
		ck_assert_int_eq(tok_set_merge(agg, m, idx), 0);
		for (i = 0; i < n; i++) {
			const char *a = tok_set_token(m, i, &la);
			const char *b = tok_set_token(agg, idx[i], &lb);

			ck_assert_msg(la == lb && memcmp(a, b, la) == 0,
			    "round %d token %zu: %s went to %s", round, i, a,
			    b);
		}
	}
	ck_assert_uint_eq(tok_set_count(agg), 3000);
	/* Old tokens keep their index and count up; new ones follow. */
	ck_assert_uint_eq(idx[0], 1000);
	ck_assert_uint_eq(idx[1000], 2000);
	ck_assert_uint_eq(tok_set_freq(agg, 999), 1);
	ck_assert_uint_eq(tok_set_freq(agg, 1000), 2);
	ck_assert_uint_eq(tok_set_freq(agg, 2999), 1);
	/* Full: one more distinct token does not fit. */
	tok_set_reset(m);
	ck_assert_int_eq(tok_set_add(m, "w0001", 5), 0);
	ck_assert_int_eq(tok_set_add(m, "new", 3), 0);
	ck_assert_int_eq(tok_set_merge(agg, m, idx), TOK_ENOMEM);
	ck_assert_uint_eq(idx[0], 1);
	ck_assert_uint_eq(tok_set_count(agg), 3000);
	/* An empty set merges to nothing. */
	tok_set_reset(m);
	ck_assert_int_eq(tok_set_merge(agg, m, idx), 0);
	tok_set_free(agg);
	tok_set_free(m);
}
END_TEST

/* A sorted set still finds its tokens, at their new places, with their
 * counts: the table and the records follow the sort. */
START_TEST(test_set_sort_then_add)
{
	struct tok_set *s = tok_set_new();
	size_t idx = 99, len;
	int i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(tok_set_add(s, "pear", 4), 0);
	ck_assert_int_eq(tok_set_add(s, "fig", 3), 0);
	ck_assert_int_eq(tok_set_add(s, "apple", 5), 0);
	ck_assert_int_eq(tok_set_add(s, "figs", 4), 0);
	tok_set_sort(s);
	ck_assert_str_eq(tok_set_token(s, 0, &len), "apple");
	ck_assert_str_eq(tok_set_token(s, 3, &len), "pear");
	ck_assert_uint_eq(tok_set_freq(s, 3), 3);
	ck_assert_int_eq(tok_set_add_idx(s, "pear", 4, &idx), 0);
	ck_assert_uint_eq(idx, 3);
	ck_assert_uint_eq(tok_set_freq(s, 3), 4);
	ck_assert_int_eq(tok_set_add_idx(s, "fig", 3, &idx), 0);
	ck_assert_uint_eq(idx, 1);
	ck_assert_uint_eq(tok_set_freq(s, 1), 2);
	ck_assert_int_eq(tok_set_add_idx(s, "figs", 4, &idx), 0);
	ck_assert_uint_eq(idx, 2);
	ck_assert_int_eq(tok_set_add_idx(s, "kiwi", 4, &idx), 0);
	ck_assert_uint_eq(idx, 4);
	ck_assert_uint_eq(tok_set_count(s), 5);
	tok_set_free(s);
}
END_TEST

static int
cmp_tok(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;
	size_t lx = strlen(*x), ly = strlen(*y);
	int c = memcmp(*x, *y, lx < ly ? lx : ly);

	return c != 0 ? c : (lx > ly) - (lx < ly);
}

/* Sorting thousands of tokens (the radix passes, not only the small-run
 * sort) that tie over 8, 16 and 100+ bytes, are prefixes of each other,
 * and hold bytes above 0x7f: the order of memcmp, shorter first. */
START_TEST(test_set_sort_many)
{
	enum { N = 6000 };
	static const char *const stem[] = {
		"received:", "received:mail.example.org_", "subject:",
		"url:www.example.com/a/very/long/path/that/many/urls/share/"
		"before/they/differ/somewhere/after/more/than/a/hundred/bytes/",
		"", "\xc3\xa9", "x",
	};
	struct tok_set *s = tok_set_new();
	char **want = calloc(N, sizeof(*want));
	char buf[256];
	size_t i, n = 0, len;
	unsigned r = 12345;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(want);
	for (i = 0; n < N && i < 4 * N; i++) {
		size_t k, tail;

		r = r * 1103515245u + 12345u;
		k = (r >> 16) % (sizeof(stem) / sizeof(stem[0]));
		r = r * 1103515245u + 12345u;
		tail = (r >> 16) % 5;
		snprintf(buf, sizeof(buf), "%s%.*s", stem[k], (int)tail + 1,
		    "zzzzz");
		if (tail % 2 == 0) {
			r = r * 1103515245u + 12345u;
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "%u", (r >> 8) % 100000);
		}
		len = strlen(buf);
		ck_assert_int_eq(tok_set_add(s, buf, len), 0);
		if (tok_set_count(s) > n) {	/* new, not a repeat */
			want[n] = strdup(buf);
			ck_assert_ptr_nonnull(want[n]);
			n++;
		}
	}
	ck_assert_uint_gt(n, 1000);
	qsort(want, n, sizeof(*want), cmp_tok);
	tok_set_sort(s);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(tok_set_token(s, i, &len), want[i]);
	for (i = 0; i < n; i++)
		free(want[i]);
	free(want);
	tok_set_free(s);
}
END_TEST

START_TEST(test_limits)
{
	struct tok_set *s = tok_set_new();
	char buf[32], *big;
	size_t i, n = (size_t)TOK_MAX_TOKENS + 500, k = 0;
	struct tok_set *l;

	for (i = 0; i < n; i++) {
		int w = snprintf(buf, sizeof(buf), "w%zu", i);

		ck_assert_int_eq(tok_set_add(s, buf, (size_t)w), 0);
	}
	ck_assert_uint_eq(tok_set_count(s), TOK_MAX_TOKENS);
	ck_assert(tok_set_truncated(s));
	tok_set_reset(s);
	ck_assert_uint_eq(tok_set_count(s), 0);
	ck_assert(!tok_set_truncated(s));
	/* counts */
	ck_assert_int_eq(tok_set_add(s, "a", 1), 0);
	ck_assert_int_eq(tok_set_add(s, "a", 1), 0);
	ck_assert_uint_eq(tok_set_freq(s, 0), 2);
	tok_set_free(s);
	/* a long word becomes a summary token */
	big = malloc(301);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < 300; i++)
		big[i] = (char)('a' + (i % 26));
	big[300] = '\0';
	l = text_tokens(big, TOK_JA_ICU);
	for (i = 0; i < tok_set_count(l); i++) {
		size_t tl;

		ck_assert_uint_le(strlen(tok_set_token(l, i, &tl)),
		    TOK_MAX_TOKEN_BYTES);
		k++;
	}
	ck_assert_uint_eq(k, 1);
	ck_assert(has(l, "long:300"));
	tok_set_free(l);
	free(big);
}
END_TEST

START_TEST(test_digest)
{
	const char *a = "Received: from x\nMessage-ID: <id1@example.org>\n"
	    "Subject: hi\n\nbody\n";
	const char *b = "X-Spam-Flag: Yes\nReceived: from y\n"
	    "Message-ID: <id1@example.org>\nSubject: hi\n\nbody\n";
	const char *c = "Message-ID: <id1@example.org>\n\nother body\n";
	const char *d = "Message-ID: <id2@example.org>\n\nbody\n";
	unsigned char da[TOK_DIGEST_BYTES], db[TOK_DIGEST_BYTES];
	unsigned char dc[TOK_DIGEST_BYTES], dd[TOK_DIGEST_BYTES];
	char id[64];

	tok_digest(a, strlen(a), da, id, sizeof(id));
	ck_assert_str_eq(id, "id1@example.org");
	tok_digest(b, strlen(b), db, NULL, 0);
	tok_digest(c, strlen(c), dc, NULL, 0);
	tok_digest(d, strlen(d), dd, NULL, 0);
	ck_assert(memcmp(da, db, sizeof(da)) == 0);
	ck_assert(memcmp(da, dc, sizeof(da)) != 0);
	ck_assert(memcmp(da, dd, sizeof(da)) != 0);
}
END_TEST

/* A Message-ID folded onto the next line (CRLF or LF) is the same ID:
 * two messages with the same body and other IDs stay two. */
START_TEST(test_digest_folded_id)
{
	const char *flat = "Message-ID: <id1@example.org>\nSubject: hi\n\n"
	    "body\n";
	const char *fold = "Message-ID:\n <id1@example.org>\nSubject: hi\n\n"
	    "body\n";
	const char *crlf = "Message-ID:\r\n\t<id1@example.org>\r\n"
	    "Subject: hi\r\n\r\nbody\n";
	const char *other = "Message-ID:\n <id2@example.org>\nSubject: hi\n\n"
	    "body\n";
	unsigned char d1[TOK_DIGEST_BYTES], d2[TOK_DIGEST_BYTES];
	unsigned char d3[TOK_DIGEST_BYTES], d4[TOK_DIGEST_BYTES];
	char id[64];

	tok_digest(flat, strlen(flat), d1, NULL, 0);
	tok_digest(fold, strlen(fold), d2, id, sizeof(id));
	ck_assert_str_eq(id, "id1@example.org");
	tok_digest(crlf, strlen(crlf), d3, id, sizeof(id));
	ck_assert_str_eq(id, "id1@example.org");
	tok_digest(other, strlen(other), d4, NULL, 0);
	ck_assert(memcmp(d1, d2, sizeof(d1)) == 0);
	ck_assert(memcmp(d2, d4, sizeof(d2)) != 0);
}
END_TEST

/* The options' fingerprint: the same for the same options (the default
 * verdict prefix is "Spam"), another when any one of them changes. */
START_TEST(test_opts_fingerprint)
{
	struct tok_opts a, b;
	int64_t fa;
	int i;

	tok_opts_init(&a);
	fa = tok_opts_fingerprint(&a);
	ck_assert_int_ge(fa, 0);
	b = a;
	b.verdict_prefix = "Spam";
	ck_assert_int_eq(tok_opts_fingerprint(&b), fa);
	for (i = 0; i < 7; i++) {
		b = a;
		b.jmode = i == 0 ? TOK_JA_BIGRAM : a.jmode;
		b.headers = i == 1 ? TOK_HDR_ALL : a.headers;
		b.refer_headers = i == 2 ? "x-mailer" : a.refer_headers;
		b.ignore_body = i == 3 ? 1 : a.ignore_body;
		b.word_pairs = i == 4 ? 0 : a.word_pairs;
		b.max_line = i == 5 ? 80 : a.max_line;
		b.verdict_prefix = i == 6 ? "Junk" : a.verdict_prefix;
		ck_assert_msg(tok_opts_fingerprint(&b) != fa,
		    "option %d left the fingerprint as it was", i);
	}
}
END_TEST

/* A body's line ends do not make another message: CRLF reads as LF.  A
 * CR alone is a byte like any other. */
START_TEST(test_digest_line_ends)
{
	const char *lf = "Message-ID: <x@y>\nSubject: a\n\none\ntwo\n";
	const char *crlf = "Message-ID: <x@y>\r\nSubject: a\r\n\r\n"
	    "one\r\ntwo\r\n";
	const char *mixed = "Message-ID: <x@y>\nSubject: a\n\none\r\ntwo\n";
	const char *bare = "Message-ID: <x@y>\nSubject: a\n\none\rtwo\n";
	const char *endcr = "Message-ID: <x@y>\nSubject: a\n\none\ntwo\r";
	const char *endlf = "Message-ID: <x@y>\nSubject: a\n\none\ntwo";
	unsigned char d1[TOK_DIGEST_BYTES], d2[TOK_DIGEST_BYTES];
	unsigned char d3[TOK_DIGEST_BYTES], d4[TOK_DIGEST_BYTES];
	unsigned char d5[TOK_DIGEST_BYTES], d6[TOK_DIGEST_BYTES];

	tok_digest(lf, strlen(lf), d1, NULL, 0);
	tok_digest(crlf, strlen(crlf), d2, NULL, 0);
	tok_digest(mixed, strlen(mixed), d3, NULL, 0);
	tok_digest(bare, strlen(bare), d4, NULL, 0);
	tok_digest(endcr, strlen(endcr), d5, NULL, 0);
	tok_digest(endlf, strlen(endlf), d6, NULL, 0);
	ck_assert(memcmp(d1, d2, sizeof(d1)) == 0);
	ck_assert(memcmp(d1, d3, sizeof(d1)) == 0);
	ck_assert(memcmp(d1, d4, sizeof(d1)) != 0);
	/* The white space the body ends with does not count: a last line
	 * end or not, a lone CR, blank lines (an mbox writer's). */
	ck_assert(memcmp(d5, d6, sizeof(d5)) == 0);
	ck_assert(memcmp(d1, d6, sizeof(d1)) == 0);
}
END_TEST

/* tok_digests: the digest of before (the whole body) too, when the body
 * ends in white space, and only then; it is what tok_digest gave. */
START_TEST(test_digest_older)
{
	const char *ends = "Subject: a\n\none\ntwo\n\n \n";
	const char *bare = "Subject: a\n\none\ntwo";
	const char *body_ws = "Subject: a\n\n \n\n";
	const char *none = "Subject: a\n\n";
	unsigned char d1[TOK_DIGEST_BYTES], o1[TOK_DIGEST_BYTES];
	unsigned char d2[TOK_DIGEST_BYTES], o2[TOK_DIGEST_BYTES];
	unsigned char d3[TOK_DIGEST_BYTES], d4[TOK_DIGEST_BYTES];
	/* SHA-256 of "\none\ntwo\n\n \n": what the store keeps for
	 * that body from before. */
	static const unsigned char was[TOK_DIGEST_BYTES] = {
		0xf5, 0x31, 0xaf, 0x85, 0xb4, 0x8b, 0xc6, 0xed,
		0xdc, 0xe9, 0x5a, 0xbc, 0x80, 0x55, 0xb0, 0x26,
		0x02, 0x92, 0xca, 0xf3, 0x34, 0xeb, 0x52, 0x57,
		0x8e, 0x22, 0x31, 0xec, 0x37, 0x68, 0x7b, 0x19,
	};

	memset(o2, 0x55, sizeof(o2));
	ck_assert_int_eq(tok_digests(ends, strlen(ends), d1, o1, NULL, 0), 1);
	ck_assert_int_eq(tok_digests(bare, strlen(bare), d2, o2, NULL, 0), 0);
	ck_assert(memcmp(d1, d2, sizeof(d1)) == 0);
	ck_assert(memcmp(d1, o1, sizeof(d1)) != 0);
	ck_assert(memcmp(o1, was, sizeof(o1)) == 0);
	ck_assert_int_eq(o2[0], 0x55);	/* untouched */
	/* A body of white space alone is an empty one. */
	ck_assert_int_eq(tok_digests(body_ws, strlen(body_ws), d3, NULL,
	    NULL, 0), 1);
	tok_digest(none, strlen(none), d4, NULL, 0);
	ck_assert(memcmp(d3, d4, sizeof(d3)) == 0);
}
END_TEST

/* The hex of a SHA-256 digest, in one of two static buffers. */
static const char *
hex32(const unsigned char d[TOK_SHA256_BYTES])
{
	static char out[2][2 * TOK_SHA256_BYTES + 1];
	static int k;
	char *o = out[k++ & 1];
	int i;

	for (i = 0; i < TOK_SHA256_BYTES; i++)
		snprintf(o + 2 * i, 3, "%02x", d[i]);
	return o;
}

/* GLib's SHA-256 of n bytes at p: what tok_digest used to compute. */
static void
glib_sha256(const void *p, size_t n, unsigned char d[TOK_SHA256_BYTES])
{
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
	gsize dl = TOK_SHA256_BYTES;

	ck_assert_ptr_nonnull(ck);
	g_checksum_update(ck, p, (gssize)n);
	g_checksum_get_digest(ck, d, &dl);
	ck_assert_uint_eq(dl, TOK_SHA256_BYTES);
	g_checksum_free(ck);
}

/* FIPS 180-4's examples; NULL stands for one million 'a'. */
#define SHA_MILLION 1000000
static const struct {
	const char *in;
	const char *hex;
} sha_vectors[] = {
	{ "",
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ NULL,
	  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
};

/* Vector i through the portable code or through whatever
 * tok_sha256_init picks.  The million 'a' go in chunks of odd sizes, so
 * that updates start and end everywhere in a block. */
static void
check_sha_vector(size_t i, int portable)
{
	static const size_t chunk[] = { 1, 3, 63, 64, 65, 1000 };
	struct tok_sha256 sh;
	unsigned char d[TOK_SHA256_BYTES];
	char *a;
	size_t done = 0, k = 0, n;

	if (portable)
		tok_sha256_init_portable(&sh);
	else
		tok_sha256_init(&sh);
	if (sha_vectors[i].in != NULL) {
		tok_sha256_update(&sh, sha_vectors[i].in,
		    strlen(sha_vectors[i].in));
	} else {
		a = malloc(1000);
		ck_assert_ptr_nonnull(a);
		memset(a, 'a', 1000);
		while (done < SHA_MILLION) {
			n = chunk[k++ % (sizeof(chunk) / sizeof(chunk[0]))];
			if (n > SHA_MILLION - done)
				n = SHA_MILLION - done;
			tok_sha256_update(&sh, a, n);
			done += n;
		}
		free(a);
	}
	tok_sha256_final(&sh, d);
	ck_assert_str_eq(hex32(d), sha_vectors[i].hex);
}

START_TEST(test_sha256_portable)
{
	check_sha_vector((size_t)_i, 1);
}
END_TEST

/* The SHA-NI code where the processor has it (natively here; valgrind
 * hides the CPUID bit); elsewhere this is the portable code again. */
START_TEST(test_sha256_best)
{
	check_sha_vector((size_t)_i, 0);
}
END_TEST

/* Every length up to past three blocks, given whole and in two pieces,
 * through both paths: the same digest as GLib's. */
#define SHA_LENGTHS 200
START_TEST(test_sha256_lengths)
{
	unsigned char p[SHA_LENGTHS], want[TOK_SHA256_BYTES];
	unsigned char dp[TOK_SHA256_BYTES], db[TOK_SHA256_BYTES];
	unsigned char ds[TOK_SHA256_BYTES];
	struct tok_sha256 sp, sb, ss;
	size_t n;

	for (n = 0; n < SHA_LENGTHS; n++)
		p[n] = (unsigned char)(n * 151 + 7);
	for (n = 0; n <= SHA_LENGTHS; n++) {
		glib_sha256(p, n, want);
		tok_sha256_init_portable(&sp);
		tok_sha256_update(&sp, p, n);
		tok_sha256_final(&sp, dp);
		tok_sha256_init(&sb);
		tok_sha256_update(&sb, p, n);
		tok_sha256_final(&sb, db);
		tok_sha256_init(&ss);
		tok_sha256_update(&ss, p, n / 3);
		tok_sha256_update(&ss, p + n / 3, n - n / 3);
		tok_sha256_final(&ss, ds);
		ck_assert_msg(memcmp(dp, want, sizeof(want)) == 0,
		    "portable, %zu bytes: %s, want %s", n, hex32(dp),
		    hex32(want));
		ck_assert_msg(memcmp(db, want, sizeof(want)) == 0,
		    "best (ni %d), %zu bytes: %s, want %s",
		    tok_sha256_have_ni(), n, hex32(db), hex32(want));
		ck_assert_msg(memcmp(ds, want, sizeof(want)) == 0,
		    "in two, %zu bytes: %s, want %s", n, hex32(ds),
		    hex32(want));
	}
}
END_TEST

/* tok_digest is the SHA-256 of Message-ID, "\n", body, exactly as GLib
 * computed it before: stores hold these digests.  The literal hex pins
 * them independently of either implementation. */
START_TEST(test_digest_bytes)
{
	static const struct {
		const char *msg;
		const char *hashed;	/* what goes into the digest */
		const char *hex;
		const char *older;	/* the digest of before (the whole
					 * body, its last line end too) */
	} cases[] = {
		{ "Received: from x\nMessage-ID: <id1@example.org>\n"
		  "Subject: hi\n\nbody\n", "id1@example.org\nbody",
		  "028c387a00deac98d33a69a23ad9549afe06d785ea54eabbd5d3735c"
		  "2bd40230",
		  "6d0026da097e783b87c061a1b58875b981b424a202e0599b84d7f5bd"
		  "aab9d27c" },
		{ "Subject: no id\n\nbody text\n", "\nbody text",
		  "170323896f6b8df631a3978aa051ad167c957d31fef21366de342e6f"
		  "340ffdb5",
		  "b0d0d0585b2f9bb87ec6d8d7318102d34b1c6b516c64c6280923175b"
		  "1b8ce573" },
	};
	unsigned char d[TOK_DIGEST_BYTES], want[TOK_DIGEST_BYTES];
	unsigned char o[TOK_DIGEST_BYTES];
	char *msg = NULL, *hashed = NULL;
	size_t i, k, mlen, hlen;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(tok_digests(cases[i].msg,
		    strlen(cases[i].msg), d, o, NULL, 0), 1);
		glib_sha256(cases[i].hashed, strlen(cases[i].hashed), want);
		ck_assert_str_eq(hex32(d), hex32(want));
		ck_assert_str_eq(hex32(d), cases[i].hex);
		ck_assert_str_eq(hex32(o), cases[i].older);
	}
	/* A body of many blocks, and not a whole number of them. */
	for (i = 0; i < 2; i++) {
		/* The body's last line end is inside now: hashed. */
		mlen = strlen(cases[i].msg) + 5000;
		hlen = strlen(cases[i].hashed) + 1 + 5000;
		msg = malloc(mlen);
		hashed = malloc(hlen);
		ck_assert_ptr_nonnull(msg);
		ck_assert_ptr_nonnull(hashed);
		memcpy(msg, cases[i].msg, strlen(cases[i].msg));
		memcpy(hashed, cases[i].hashed, strlen(cases[i].hashed));
		hashed[strlen(cases[i].hashed)] = '\n';
		for (k = 0; k < 5000; k++) {
			msg[mlen - 5000 + k] = (char)('a' + k % 23);
			hashed[hlen - 5000 + k] = (char)('a' + k % 23);
		}
		tok_digest(msg, mlen, d, NULL, 0);
		glib_sha256(hashed, hlen, want);
		ck_assert_str_eq(hex32(d), hex32(want));
		free(msg);
		free(hashed);
	}
}
END_TEST

START_TEST(test_hostile_small)
{
#define IN(s) { s, sizeof(s) - 1 }
	static const struct {
		const char *p;
		size_t n;
	} inputs[] = {
		IN(""), IN("\n"), IN("Subject"),
		IN("Subject: \x1b$B\x1b$B\x1b"), IN("\0\0\0\n\n\0"),
		IN("Content-Type: text/plain; charset=\"\xff\xfe\"\n\n"
		    "\xc0\xaf\xe0\x80\xaf"),
		IN("Subject: =?x?B?////?= =?utf-8?Q?=ZZ=?=\n\n"),
		IN("Content-Type: multipart/mixed; boundary=\n\n--\n--\n"),
	};
#undef IN
	struct tok_opts o;
	struct tok *t = NULL;
	struct tok_set *s = tok_set_new();
	size_t i;

	tok_opts_init(&o);
	ck_assert_int_eq(tok_new(&t, &o), 0);
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		tok_set_reset(s);
		ck_assert_int_eq(tok_message(t, inputs[i].p, inputs[i].n, s),
		    0);
		assert_clean_tokens(s, "hostile");
	}
	tok_free(t);
	tok_set_free(s);
}
END_TEST

/* Every ja-fixture: valid UTF-8 tokens; every message listed as Japanese
 * gives Japanese words. */
START_TEST(test_ja_fixtures)
{
	FILE *idx;
	char line[1024], path[1200], label[16], rel[1000];
	size_t nmsg = 0, nja = 0;
	struct tok_set *s;

	idx = fopen(JA_FIXTURES "/index", "r");
	if (idx == NULL) {
		fprintf(stderr, "skip: %s absent\n", JA_FIXTURES);
		return;
	}
	while (fgets(line, sizeof(line), idx) != NULL) {
		if (sscanf(line, "%15s %999s", label, rel) != 2)
			continue;
		snprintf(path, sizeof(path), JA_FIXTURES "/%s", rel);
		s = tokens_of(path, TOK_JA_ICU);
		assert_clean_tokens(s, path);
		tok_set_free(s);
		nmsg++;
	}
	fclose(idx);
	ck_assert_uint_ge(nmsg, 40);
	idx = fopen(JA_FIXTURES "/index.japanese", "r");
	ck_assert_ptr_nonnull(idx);
	while (fgets(line, sizeof(line), idx) != NULL) {
		if (sscanf(line, "%15s %999s", label, rel) != 2)
			continue;
		snprintf(path, sizeof(path), JA_FIXTURES "/%s", rel);
		s = tokens_of(path, TOK_JA_ICU);
		ck_assert_msg(japanese_tokens(s) >= 1, "%s: no Japanese words",
		    path);
		tok_set_free(s);
		nja++;
	}
	fclose(idx);
	ck_assert_uint_ge(nja, 1);
}
END_TEST

/* One message for the simple path: whether it may take it (1), or not
 * (0), or only when the body is not read (2: -B), and a token it must
 * give (NULL: none asked). */
static const struct simple_case {
	const char *msg;
	int simple;
	const char *want;
} simple_cases[] = {
	{ "Subject: hello there\nFrom: a@b.example\n\nbodyword here\n", 1,
	    "bodyword" },
	{ "From x@y Mon Jan  1 00:00:00 2024\nReceived: from h "
	    "([10.1.2.3])\nSubject: s\n\nmboxbody\n", 1, "ip:10.1.2.3" },
	{ "Subject: crlf\r\nContent-Type: text/plain;\r\n charset=\"us-ascii\""
	    "\r\n\r\ncrlfbody\r\n", 1, "charset:us-ascii" },
	{ "Subject: q\nContent-Type: Text/Plain; charset=ISO-8859-1; "
	    "format=flowed\nContent-Transfer-Encoding: Quoted-Printable\n\n"
	    "caf=E9 a=3Db soft=\nbreak lower=e9x\n", 1, "softbreak" },
	{ "Subject: b\nContent-Transfer-Encoding: base64\n\n"
	    "YmFzZTY0d29yZCBp\ncyBoZXJl\n", 1, "base64word" },
	{ "Subject: b\nContent-Transfer-Encoding: base64\n\nYWJjZGVmZ2g=\n",
	    1, "abcdefgh" },
	{ "Subject: h\nContent-Type: text/html; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\n<p>visibleword <a href="
	    "\"http://www.example.com/x\">l</a><span style=\"display:none\">"
	    "hiddenword</span>\n", 1, "hidden:hiddenword" },
	{ "Subject: =?utf-8?Q?caf=C3=A9?= =?utf-8?B?w6ljb2xl?=\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\n\xc3\xa9t\xc3\xa9\n", 1,
	    "subject:caféécole" },
	{ "Subject: caf\xe9 cr\xe8me\nX-Mailer: mailprog\n\nbody\n", 1,
	    "x-mailer:mailprog" },
	{ "Subject: ids\nContent-ID: <p@x>\nContent-Description: partdesc\n"
	    "Content-Length: 3\nMIME-Version: 1.0\n\nbody\n", 1,
	    "mime-version:1.0" },
	{ "Subject: empty body\n\n", 1, "ct:text/plain" },
	{ "\nno header block\n", 1, "block" },
	{ "Subject: folded\n  \n\tsecondline\n\nbody\n", 1,
	    "subject:secondline" },
	{ "Subject: cte\nContent-Transfer-Encoding:  7BIT \n\nbody\n", 1,
	    "cte:7bit" },
	/* Flat multiparts of text parts. */
	{ "Subject: m\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\n"
	    "partword\n--b--\n", 1, "partword" },
	{ "Subject: alt\nContent-Type: multipart/alternative;\n\tboundary="
	    "\"==_b_==\"\nContent-Transfer-Encoding: 7bit\n\npreface text\n"
	    "--==_b_==\nContent-Type: text/plain; charset=iso-8859-1\n"
	    "Content-Transfer-Encoding: quoted-printable\n\nplainpart caf=E9\n"
	    "\n--==_b_==\n\nnoheaderpart\n--==_b_==\nContent-Type: text/html\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "PGI+aHRtbHBhcnQ8L2I+\n--==_b_==--\nepilogue text\n", 1,
	    "htmlpart" },
	{ "Content-Type: multipart/related; boundary=r\n\n--r\n"
	    "Content-Type: text/plain\n\n--r\nContent-Type: text/plain\n\n"
	    "second\n--r--", 1, "second" },
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b \n\nx\n--b--\n",
	    2, NULL },
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--bx\ny\n"
	    "--b--\n", 2, NULL },
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nnoend\n", 2,
	    "noend" },
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n"
	    "--b--\n", 2, NULL },
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b--\n--b\n\nx\n"
	    "--b--\n", 2, NULL },
	{ "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: "
	    "multipart/alternative; boundary=i\n\n--i\n\ninner\n--i--\n--o--\n",
	    2, "inner" },
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
	    "text/plain\n--b\n\nx\n--b--\n", 2, NULL },
	/* Parts that are not text: their type tokens only, never decoded. */
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
	    "application/octet-stream\n\nx\n--b--\n", 1,
	    "ct:application/octet-stream" },
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n\ntextword\n"
	    "--b\nContent-Type: image/gif\nContent-Transfer-Encoding: base64"
	    "\n\nnot base64!\n--b--\n", 1, "cte:base64" },
	{ "Content-Type: multipart/signed; micalg=pgp-sha1;\n"
	    "    protocol=\"application/pgp-signature\"; boundary=\"s/+1\"\n\n"
	    "--s/+1\nContent-Type: text/plain; charset=us-ascii\n"
	    "Content-Disposition: inline\n\nsignedword\n\n--s/+1\n"
	    "Content-Type: application/pgp-signature\n"
	    "Content-Disposition: inline\n\n-----BEGIN PGP SIGNATURE-----\n"
	    "iD8DBQE9\n-----END PGP SIGNATURE-----\n\n--s/+1--\n", 1,
	    "ct:application/pgp-signature" },
	{ "Subject: d\nContent-Disposition:  inline \n\ninlineword\n", 1,
	    "inlineword" },
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
	    "message/rfc822\n\nSubject: inner\n\nx\n--b--\n", 2,
	    "subject:inner" },
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Disposition: attachment; filename=c.txt\n\nx\n--b--\n", 2,
	    "file:c.txt" },
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Transfer-Encoding: base64\n\nnot base64!\n--b--\n", 2,
	    NULL },
	{ "Content-Type: multipart/digest; boundary=b\n\n--b\n\nx\n--b--\n",
	    2, NULL },
	{ "Content-Type: multipart/mixed; boundary=\"=?b?=\"\n\n--=?b?=\n\nx\n"
	    "--=?b?=--\n", 2, NULL },
	{ "Content-Type: multipart/mixed\n\npreface only\n", 2, NULL },
	/* For GMime, and for the simple path with -B (2) or not even then
	 * (0: the header block itself is odd). */

	{ "Subject: no blank line, no body", 0, NULL },
	{ "Subject: c\nContent-Transfer-Encoding: x-uuencode\n\nbody\n", 2,
	    NULL },
	{ "Subject: c\nContent-Transfer-Encoding: 7-bit\n\nbody\n", 2, NULL },
	{ "Subject: c\nContent-Transfer-Encoding: 7bit (plain)\n\nbody\n", 2,
	    NULL },
	{ "Subject: c\nContent-Transfer-Encoding:\n\nbody\n", 2, NULL },
	{ "Subject: q\nContent-Transfer-Encoding: quoted-printable\n\n"
	    "a=ZZ b\n", 2, NULL },
	{ "Subject: q\nContent-Transfer-Encoding: quoted-printable\n\n"
	    "trailing= \nx=4", 2, NULL },
	{ "Subject: b\nContent-Transfer-Encoding: base64\n\naGVsbG8\n", 2,
	    NULL },
	{ "Subject: b\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n"
	    "aGVsbG8=\n", 2, NULL },
	{ "Subject: b\nContent-Transfer-Encoding: base64\n\naGVs*bG8=\n", 2,
	    NULL },
	{ "Subject: a\nnot a field line\nX: y\n\nbody\n", 0, NULL },
	{ "Subject : spaced name\n\nbody\n", 0, NULL },
	{ " leading fold\nSubject: s\n\nbody\n", 0, NULL },
	{ "Subject: d\nContent-Disposition: inline; filename=a.txt\n\nx\n", 2,
	    "file:a.txt" },
	{ "Subject: d\nContent-Disposition: inline\nContent-Disposition: "
	    "attachment\n\nx\n", 2, NULL },
	{ "Subject: t\nContent-Type: text/plain; charset=\"utf-8/x\"\n\nx\n",
	    2, NULL },
	{ "Subject: t\nContent-Type: text/plain; format=\"=?utf-8?q?x?=\"\n\n"
	    "x\n", 2, NULL },
	{ "Subject: n\nContent-Type: text/plain; name=\"b.txt\"\n\nx\n", 2,
	    "file:b.txt" },
	{ "Subject: t\nContent-Type: text/plain; charset=utf-8; "
	    "charset=us-ascii\n\nx\n", 2, NULL },
	{ "Subject: t\nContent-Type: text/plain; charset*=utf-8''x\n\nx\n",
	    2, NULL },
	{ "Subject: t\nContent-Type: text/plain (comment)\n\nx\n", 2, NULL },
	{ "Subject: t\nContent-Type: text/plain; charset = utf-8\n\nx\n", 2,
	    NULL },
	{ "Subject: t\nContent-Type: text/plain\nContent-Type: text/html\n\n"
	    "<b>x</b>\n", 2, NULL },
	{ "Subject: t\nContent-Type: application/octet-stream\n\nx\n", 2,
	    "ct:application/octet-stream" },
	{ "Subject: t\nContent-Type: message/rfc822\n\nSubject: inner\n\n"
	    "innerword\n", 2, "subject:inner" },
	/* A field named just "Content-" is the body's too (GMime moves
	 * every "Content-" field; found by a fuzzer comparing the paths). */
	{ "Subject: hi\nContent-: promo\n\nbodyword\n", 1, "bodyword" },
	/* A soft break after blanks, and CRLF ones: the same words by
	 * either path (the simple one first joined them alone: found by
	 * review). */
	{ "Subject: q\nContent-Transfer-Encoding: quoted-printable\n\n"
	    "an unbeliev=  \nable deal\n", 1, "unbelievable" },
	{ "Subject: q\r\nContent-Transfer-Encoding: quoted-printable\r\n"
	    "\r\nincred=\r\nible caf=E9 =\t\r\nx\r\n", 1, "incredible" },
};

/* Tokenize with the simple path allowed (into a) and forbidden (into
 * b); *took says whether the first took it. */
static void
both_paths(const char *msg, const struct tok_opts *o, struct tok_set *a,
    struct tok_set *b, int *took)
{
	struct tok *t = NULL, *g = NULL;

	ck_assert_int_eq(tok_new(&t, o), 0);
	ck_assert_int_eq(tok_new(&g, o), 0);
	g->no_simple = 1;
	tok_set_reset(a);
	tok_set_reset(b);
	ck_assert_int_eq(tok_message(t, msg, strlen(msg), a), 0);
	ck_assert_int_eq(tok_message(g, msg, strlen(msg), b), 0);
	*took = t->nsimple == 1;
	ck_assert_uint_eq(g->nsimple, 0);
	tok_free(t);
	tok_free(g);
}

/* Pair word i of test_pair_cap: "w" then i in base 26 as letters, so
 * every word is distinct and pairable. */
static void
pair_word(char *w, size_t i)
{
	size_t k = 0;

	w[k++] = 'w';
	do {
		w[k++] = (char)('a' + i % 26);
		i /= 26;
	} while (i > 0);
	w[k++] = 'x';
	w[k] = '\0';
}

/* A message gives its first TOK_MAX_PAIRS word pairs and no more, over
 * its parts together (a text part, then an HTML one), on both paths;
 * every word still counts, and the next message through the same
 * tokenizer starts again (as does tok_text).  The limit counts the pairs
 * given, not distinct ones: these words are all distinct. */
START_TEST(test_pair_cap)
{
	enum { NW = 2 * TOK_MAX_PAIRS };
	static const char head[] = "Subject: x\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
	    "Content-Type: text/plain\n\n";
	static const char mid[] = "\n--b\nContent-Type: text/html\n\n<p>";
	struct tok_set *a = tok_set_new(), *b = tok_set_new(), *s;
	struct tok_opts o;
	struct tok *t = NULL;
	char *msg = malloc(sizeof(head) + sizeof(mid) + NW * 16 + 16);
	char *text = malloc(NW * 16 + 1);
	char w[16], prev[16], pair[40];
	size_t i, len = 0, npa, npb;
	int took, pass;

	ck_assert_ptr_nonnull(msg);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	len += (size_t)sprintf(msg + len, "%s", head);
	for (i = 0; i < NW; i++) {
		if (i == NW / 4)	/* the HTML part: pairs go on there */
			len += (size_t)sprintf(msg + len, "%s", mid);
		pair_word(w, i);
		sprintf(text + i * 16, "%-15s ", w);
		len += (size_t)sprintf(msg + len, "%s ", w);
	}
	sprintf(msg + len, "\n--b--\n");
	tok_opts_init(&o);
	both_paths(msg, &o, a, b, &took);
	for (pass = 0; pass < 2; pass++) {
		s = pass == 0 ? a : b;
		tok_set_sort(s);
		npa = 0;
		for (i = 1; i < NW; i++) {
			pair_word(prev, i - 1);
			pair_word(w, i);
			snprintf(pair, sizeof(pair), "%s_%s", prev, w);
			ck_assert_msg(has(s, w), "word %s", w);
			if (i == NW / 4)	/* no pair across parts */
				continue;
			/* The first ones, each where it comes. */
			ck_assert_msg(has(s, pair) == (npa < TOK_MAX_PAIRS),
			    "pair %s", pair);
			npa += npa < TOK_MAX_PAIRS;
		}
		ck_assert_uint_eq(npa, TOK_MAX_PAIRS);
	}
	/* The same message again through one tokenizer, and as text. */
	ck_assert_int_eq(tok_new(&t, &o), 0);
	for (pass = 0; pass < 3; pass++) {
		tok_set_reset(a);
		if (pass < 2)
			ck_assert_int_eq(tok_message(t, msg, strlen(msg), a),
			    0);
		else
			ck_assert_int_eq(tok_text(t, text, strlen(text), a),
			    0);
		npb = 0;
		for (i = 0; i < tok_set_count(a); i++) {
			const char *k = tok_set_token(a, i, &len);

			npb += k[0] == 'w' && memchr(k, '_', len) != NULL;
		}
		ck_assert_uint_eq(npb, TOK_MAX_PAIRS);
	}
	tok_free(t);
	tok_set_free(a);
	tok_set_free(b);
	free(msg);
	free(text);
}
END_TEST

/* Each case under each header policy and with -B: the same tokens, with
 * the same counts, in the same order, on both paths. */
START_TEST(test_simple_path)
{
	const struct simple_case *c = &simple_cases[_i];
	struct tok_set *a = tok_set_new(), *b = tok_set_new();
	struct tok_opts o;
	size_t i, la, lb;
	int v, took;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	for (v = 0; v < 4; v++) {
		tok_opts_init(&o);
		if (v == 1)
			o.headers = TOK_HDR_ALL;
		else if (v == 2)
			o.ignore_body = 1;
		else if (v == 3)
			o.refer_headers = "subject,content-id,received";
		both_paths(c->msg, &o, a, b, &took);
		ck_assert_msg(took == (c->simple == 1 || (c->simple == 2 &&
		    v == 2)), "case %d/%d: simple path %s", _i, v,
		    took ? "taken" : "not taken");
		ck_assert_uint_eq(tok_set_count(a), tok_set_count(b));
		for (i = 0; i < tok_set_count(a); i++) {
			const char *ta = tok_set_token(a, i, &la);
			const char *tb = tok_set_token(b, i, &lb);

			ck_assert_msg(la == lb && memcmp(ta, tb, la) == 0,
			    "case %d/%d: %s vs %s", _i, v, ta, tb);
			ck_assert_uint_eq(tok_set_freq(a, i),
			    tok_set_freq(b, i));
		}
		if (v == 0 && c->want != NULL)
			ck_assert_msg(has(a, c->want), "case %d: no %s", _i,
			    c->want);
		/* Content- fields belong to the part, never the message. */
		ck_assert(!has(a, "content-:promo"));
		ck_assert(!has(a, "content-id:p@x"));
		ck_assert(!has(a, "content-description:partdesc"));
	}
	tok_set_free(a);
	tok_set_free(b);
}
END_TEST

/* The decoders' bytes, checked directly (both paths wrong the same way
 * would pass the test above). */
START_TEST(test_simple_decoding)
{
	struct tok_set *a = tok_set_new(), *b = tok_set_new();
	struct tok_opts o;
	int took;

	tok_opts_init(&o);
	both_paths(simple_cases[3].msg, &o, a, b, &took);
	ck_assert(took);
	ck_assert(has(a, "café"));
	ck_assert(has(a, "softbreak"));
	ck_assert(has(a, "loweréx"));
	ck_assert(has(a, "cte:quoted-printable"));
	ck_assert(has(a, "ct:text/plain"));
	ck_assert(has(a, "charset:iso-8859-1"));
	ck_assert(!has(a, "soft"));
	both_paths(simple_cases[4].msg, &o, a, b, &took);
	ck_assert(took);
	ck_assert(has(a, "here"));
	ck_assert(has(a, "base64word_here") || has(a, "base64word"));
	ck_assert(!has(a, "ymfzzty0d29yzcbp"));
	both_paths(simple_cases[6].msg, &o, a, b, &took);
	ck_assert(took);
	ck_assert(has(a, "visibleword"));
	ck_assert(!has(a, "hiddenword"));
	ck_assert(has(a, "url:www.example.com"));
	both_paths(simple_cases[2].msg, &o, a, b, &took);
	ck_assert(took);
	ck_assert(has(a, "crlfbody"));
	ck_assert(has(a, "subject:crlf"));
	/* The multipart: every part, nothing from preface or epilogue. */
	ck_assert(strstr(simple_cases[15].msg, "==_b_==") != NULL);
	both_paths(simple_cases[15].msg, &o, a, b, &took);
	ck_assert(took);
	ck_assert(has(a, "ct:multipart/alternative"));
	ck_assert(has(a, "cte:7bit"));
	ck_assert(has(a, "plainpart"));
	ck_assert(has(a, "café"));
	ck_assert(has(a, "noheaderpart"));
	ck_assert(has(a, "htmlpart"));
	ck_assert(has(a, "ct:text/html"));
	ck_assert(has(a, "cte:base64"));
	ck_assert(!has(a, "preface"));
	ck_assert(!has(a, "epilogue"));
	tok_set_free(a);
	tok_set_free(b);
}
END_TEST

static Suite *
tok_suite(void)
{
	Suite *s = suite_create("tokenizer");
	TCase *tc;

	tc = tcase_create("charsets");
	tcase_add_loop_test(tc, test_same_text_every_encoding, 0,
	    sizeof(same_text) / sizeof(same_text[0]));
	tcase_add_test(tc, test_split_encoded_words);
	tcase_add_test(tc, test_declared_charsets);
	tcase_add_test(tc, test_charset_glitches);
	tcase_add_test(tc, test_ja_hint);
	tcase_add_test(tc, test_words_history);
	tcase_add_test(tc, test_file_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("mime");
	tcase_add_test(tc, test_html_only);
	tcase_add_test(tc, test_text_urls);
	tcase_add_test(tc, test_html_blocks);
	tcase_add_test(tc, test_html_review);
	tcase_add_test(tc, test_received_ips);
	tcase_add_test(tc, test_mixed_line);
	tcase_add_test(tc, test_pair_cap);
	tcase_add_test(tc, test_html_attributes);
	tcase_add_test(tc, test_html_meta_charset);
	tcase_add_test(tc, test_nested_and_crlf);
	tcase_add_test(tc, test_broken_boundaries);
	tcase_add_test(tc, test_attachments);
	tcase_add_loop_test(tc, test_simple_path, 0,
	    sizeof(simple_cases) / sizeof(simple_cases[0]));
	tcase_add_test(tc, test_simple_decoding);
	suite_add_tcase(s, tc);
	tc = tcase_create("words");
	tcase_add_test(tc, test_nfkc);
	tcase_add_test(tc, test_japanese_modes);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_set_sort_many);
	tcase_add_test(tc, test_set_merge);
	tcase_add_test(tc, test_set_sort_then_add);
	tcase_add_test(tc, test_kana_lead_bytes);
	tcase_add_test(tc, test_single_byte_table);
	tcase_add_loop_test(tc, test_undeclared_after_ascii, 0,
	    4 * (int)(sizeof(undeclared) / sizeof(undeclared[0])));
	tcase_add_test(tc, test_digest);
	tcase_add_test(tc, test_digest_folded_id);
	tcase_add_test(tc, test_digest_line_ends);
	tcase_add_test(tc, test_digest_older);
	tcase_add_test(tc, test_opts_fingerprint);
	tcase_add_test(tc, test_digest_bytes);
	tcase_add_test(tc, test_hostile_small);
	suite_add_tcase(s, tc);
	tc = tcase_create("sha256");
	tcase_add_loop_test(tc, test_sha256_portable, 0,
	    sizeof(sha_vectors) / sizeof(sha_vectors[0]));
	tcase_add_loop_test(tc, test_sha256_best, 0,
	    sizeof(sha_vectors) / sizeof(sha_vectors[0]));
	tcase_add_test(tc, test_sha256_lengths);
	suite_add_tcase(s, tc);
	tc = tcase_create("fixtures");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ja_fixtures);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(tok_suite());
}
