/* SPDX-License-Identifier: MIT */
/*
 * charset.c - any declared (or undeclared, or wrongly declared) charset to
 * valid UTF-8.
 *
 * glibc's iconv does the converting.  ISO-2022-JP goes through our own
 * JIS-to-CP932 step first, because real mail in "ISO-2022-JP" carries
 * CP932 extensions (circled digits, NEC specials) that strict converters
 * reject.  When the declared charset is missing, unknown or fails, ICU's
 * detector proposes candidates, and the first that converts cleanly wins.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/ucsdet.h>

#include "tokenizer/tok_priv.h"

#define CHARSET_NAME_MAX 31
#define WIDE_SNIFF_BYTES 4096	/* of UTF-16/32 text wide_order reads */
#define HINT_SCAN_BYTES	(256 * 1024)	/* of a message cjk_hint reads */
#define HINT_LABELS	32		/* charset labels it reads at most */
#define HINT_BOUNDARIES	8		/* multipart boundaries it follows */
#define UTF8_BAD	0x110000u	/* utf8_next: no character */
#define DETECT_CONTEXT 256	/* bytes kept either side of a line's 8-bit
				 * bytes in the detector's sample */
#define JA_LENIENT_KANA 4	/* kana letters ja_guess wants of a
				 * decode that let bad bytes through */
#define UTF8_MB_PER_BAD 2	/* utf8_lenient: valid characters a bad
				 * byte at least */

/* Charset labels seen in mail, to the iconv name that decodes them best.
 * "JIS" is our own ISO-2022-JP decoder. */
static const struct {
	const char *label;
	const char *iconv;
} aliases[] = {
	{ "iso-2022-jp", "JIS" }, { "iso-2202-jp", "JIS" },
	{ "iso2022jp", "JIS" }, { "iso-2022-jp-1", "JIS" },
	{ "iso-2022-jp-2", "JIS" }, { "iso-2022-jp-3", "JIS" },
	{ "csiso2022jp", "JIS" }, { "jis", "JIS" }, { "x-jis", "JIS" },
	{ "shift_jis", "CP932" }, { "shift-jis", "CP932" },
	{ "sjis", "CP932" }, { "x-sjis", "CP932" }, { "s-jis", "CP932" },
	{ "windows-31j", "CP932" }, { "cp932", "CP932" },
	{ "ms932", "CP932" }, { "ms_kanji", "CP932" },
	{ "csshiftjis", "CP932" }, { "x-ms-cp932", "CP932" },
	{ "shift_jis-2004", "CP932" }, { "x-sjis-docomo", "CP932" },
	{ "x-sjis-kddi", "CP932" }, { "x-sjis-softbank", "CP932" },
	{ "euc-jp", "EUC-JP-MS" }, { "x-euc-jp", "EUC-JP-MS" },
	{ "eucjp", "EUC-JP-MS" }, { "ujis", "EUC-JP-MS" },
	{ "cseucpkdfmtjapanese", "EUC-JP-MS" },
	{ "gb2312", "GB18030" }, { "gbk", "GB18030" }, { "x-gbk", "GB18030" },
	{ "gb18030", "GB18030" }, { "euc-cn", "GB18030" },
	{ "cp936", "GB18030" }, { "x-euc-cn", "GB18030" },
	{ "big5", "BIG5-HKSCS" }, { "x-big5", "BIG5-HKSCS" },
	{ "big5-hkscs", "BIG5-HKSCS" }, { "cn-big5", "BIG5-HKSCS" },
	{ "euc-kr", "CP949" }, { "ks_c_5601-1987", "CP949" },
	{ "ks_c_5601", "CP949" }, { "cp949", "CP949" }, { "korean", "CP949" },
	{ "x-windows-949", "CP949" }, { "uhc", "CP949" },
	{ "utf-8", "UTF-8" }, { "utf8", "UTF-8" }, { "x-utf8", "UTF-8" },
	{ "utf-7", "UTF-7" }, { "unicode-1-1-utf-7", "UTF-7" },
	/* UCS-2 is UTF-16 without surrogates (wide_order: byte order). */
	{ "ucs-2", "UTF-16" }, { "iso-10646-ucs-2", "UTF-16" },
	{ "csunicode", "UTF-16" },
	{ "us-ascii", "WINDOWS-1252" }, { "ascii", "WINDOWS-1252" },
	{ "iso-8859-1", "WINDOWS-1252" }, { "latin1", "WINDOWS-1252" },
	{ "iso8859-1", "WINDOWS-1252" }, { "iso_8859-1", "WINDOWS-1252" },
	{ "x-user-defined", "WINDOWS-1252" }, { "default", "WINDOWS-1252" },
	{ "windows-1252", "WINDOWS-1252" }, { "cp1252", "WINDOWS-1252" },
	{ "x-cp1252", "WINDOWS-1252" },
	{ "unknown-8bit", "" }, { "x-unknown", "" }, { "unknown", "" },
};

/* ICU detector names we accept, to iconv names. */
static const struct {
	const char *icu;
	const char *iconv;
} detected[] = {
	{ "UTF-8", "UTF-8" }, { "ISO-2022-JP", "JIS" },
	{ "Shift_JIS", "CP932" }, { "EUC-JP", "EUC-JP-MS" },
	{ "GB18030", "GB18030" }, { "Big5", "BIG5-HKSCS" },
	{ "EUC-KR", "CP949" }, { "KOI8-R", "KOI8-R" },
	{ "windows-1251", "WINDOWS-1251" }, { "ISO-8859-5", "ISO-8859-5" },
	{ "windows-1250", "WINDOWS-1250" }, { "ISO-8859-2", "ISO-8859-2" },
	{ "windows-1253", "WINDOWS-1253" }, { "ISO-8859-7", "ISO-8859-7" },
	{ "windows-1254", "WINDOWS-1254" }, { "ISO-8859-9", "ISO-8859-9" },
	{ "windows-1255", "WINDOWS-1255" }, { "ISO-8859-8", "ISO-8859-8" },
	{ "windows-1256", "WINDOWS-1256" }, { "ISO-8859-6", "ISO-8859-6" },
	{ "windows-1252", "WINDOWS-1252" }, { "ISO-8859-1", "WINDOWS-1252" },
};

static const char replacement[] = "\xEF\xBF\xBD";	/* U+FFFD */

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF), or 0 when invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;
		if (c == 0xED && s[1] >= 0xA0)
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;
		if (c == 0xF4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

/* The code point at u[*i] (of n bytes), *i moved past it: past a byte
 * that starts no valid sequence, UTF8_BAD. */
static unsigned
utf8_next(const unsigned char *u, size_t n, size_t *i)
{
	size_t k = utf8_seq(u + *i, n - *i), at = *i;

	if (u[at] < 0x80 || k < 2) {
		*i += 1;
		return u[at] < 0x80 ? u[at] : UTF8_BAD;
	}
	*i += k;
	if (k == 2)
		return ((u[at] & 0x1Fu) << 6) | (u[at + 1] & 0x3Fu);
	if (k == 3)
		return ((u[at] & 0x0Fu) << 12) | ((u[at + 1] & 0x3Fu) << 6) |
		    (u[at + 2] & 0x3Fu);
	return ((u[at] & 0x07u) << 18) | ((u[at + 1] & 0x3Fu) << 12) |
	    ((u[at + 2] & 0x3Fu) << 6) | (u[at + 3] & 0x3Fu);
}

/* Copy in to out as UTF-8, invalid bytes as U+FFFD; *bad counts them. */
static int
utf8_copy(const char *in, size_t len, struct tbuf *out, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, start = 0, k;
	int rc;

	*bad = 0;
	while (i < len) {
		k = utf8_seq(s + i, len - i);
		if (k != 0) {
			i += k;
			continue;
		}
		rc = tbuf_add(out, in + start, i - start);
		if (rc == 0)
			rc = tbuf_add(out, replacement, 3);
		if (rc != 0)
			return rc;
		(*bad)++;
		i++;
		start = i;
	}
	return tbuf_add(out, in + start, i - start);
}

/* Take out back to its first mark bytes (NUL-terminated as before):
 * what a decoder that gave up had added.  Returns 1, its give-up. */
static int
cut_back(struct tbuf *out, size_t mark)
{
	out->len = mark;
	if (out->p != NULL)
		out->p[mark] = '\0';
	return 1;
}

static int
utf8_valid(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, k;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(s + i, len - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

/* Fill c's table if its charset reads each byte on its own: every byte
 * converts alone, at once (nothing held back for the next, nothing
 * waiting for more), to at most 4 bytes, and ASCII to itself.  Anything
 * else (multi-byte, stateful, composing) keeps to iconv. */
static void
sb_probe(struct tok_iconv *c)
{
	char in, out[16], *ip, *op;
	size_t il, ol, r, n;
	unsigned b;

	c->sb = 0;
	for (b = 0; b < 256; b++) {
		iconv(c->cd, NULL, NULL, NULL, NULL);
		in = (char)b;
		ip = &in;
		il = 1;
		op = out;
		ol = sizeof(out);
		r = iconv(c->cd, &ip, &il, &op, &ol);
		n = sizeof(out) - ol;
		/* A byte it lacks, but never an ASCII one: sb_conv copies
		 * ASCII without a look (INIS lacks "!" and a dozen more). */
		if (r == (size_t)-1 && errno == EILSEQ && n == 0 && b >= 0x80) {
			c->sb_len[b] = TOK_SB_BAD;
			continue;
		}
		if (r == (size_t)-1 || il != 0 || n == 0 || n > 4 ||
		    (b < 0x80 && (n != 1 || out[0] != (char)b)))
			goto out;
		/* Nothing more at the end: none was held back. */
		op = out + n;
		ol = sizeof(out) - n;
		if (iconv(c->cd, NULL, NULL, &op, &ol) == (size_t)-1 ||
		    sizeof(out) - ol != n)
			goto out;
		c->sb_len[b] = (unsigned char)n;
		memcpy(c->sb_utf8[b], out, n);
	}
	c->sb = 1;
out:
	iconv(c->cd, NULL, NULL, NULL, NULL);
}

static struct tok_iconv *
cd_get(struct tok *t, const char *name)
{
	size_t i;
	iconv_t cd;

	for (i = 0; i < t->ncv; i++)
		if (strcmp(t->cv[i].name, name) == 0)
			return &t->cv[i];
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return NULL;
	if (t->ncv == TOK_ICONV_CACHE) {
		/* Full: the oldest entry makes room. */
		iconv_close(t->cv[0].cd);
		memmove(&t->cv[0], &t->cv[1], sizeof(t->cv[0]) * (t->ncv - 1));
		t->ncv--;
	}
	snprintf(t->cv[t->ncv].name, sizeof(t->cv[0].name), "%s", name);
	t->cv[t->ncv].cd = cd;
	sb_probe(&t->cv[t->ncv]);
	return &t->cv[t->ncv++];
}

/* conv by c's table: the same output, bad count and give-up. */
static int
sb_conv(const struct tok_iconv *c, const char *in, size_t len,
    struct tbuf *out, size_t *bad, size_t max_bad)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, run, mark = out->len;
	unsigned char b;
	int rc;

	while (i < len) {
		for (run = i; run < len && s[run] < 0x80; run++)
			;
		rc = tbuf_add(out, in + i, run - i);
		if (rc != 0)
			return rc;
		/* Bounded by len: each pass takes a byte or more. */
		for (i = run; i < len && s[i] >= 0x80; i++) {
			b = s[i];
			if (c->sb_len[b] != TOK_SB_BAD) {
				rc = tbuf_add(out, (const char *)c->sb_utf8[b],
				    c->sb_len[b]);
			} else if (++*bad > max_bad) {
				return cut_back(out, mark);
			} else {
				rc = tbuf_add(out, replacement, 3);
			}
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

void
tok_charset_release(struct tok *t)
{
	size_t i;

	for (i = 0; i < t->ncv; i++)
		iconv_close(t->cv[i].cd);
	t->ncv = 0;
	if (t->csd != NULL)
		ucsdet_close(t->csd);
	t->csd = NULL;
}

/* Whether name is a wide charset, whose converter keeps what a
 * byte-order mark said for good: glibc's UTF-16 and UTF-32 read it on
 * first use only, and a reset does not forget it (a cached one read the
 * next part, or message, in the first one's byte order). */
static int
bom_bound(const char *name)
{
	return strncasecmp(name, "UTF-16", 6) == 0 ||
	    strncasecmp(name, "UTF-32", 6) == 0 ||
	    strncasecmp(name, "UCS-2", 5) == 0 ||
	    strncasecmp(name, "UCS-4", 5) == 0 ||
	    strncasecmp(name, "UNICODE", 7) == 0;
}

static int conv_cd(iconv_t cd, const char *in, size_t len, struct tbuf *out,
    size_t *bad, size_t max_bad);

/* Convert with iconv; undecodable bytes become U+FFFD and count in *bad.
 * Gives up (returning 1) once *bad passes max_bad, leaving out as it was.
 * Returns 2 when iconv does not know name, TOK_ENOMEM, or 0. */
static int
conv(struct tok *t, const char *name, const char *in, size_t len,
    struct tbuf *out, size_t *bad, size_t max_bad)
{
	struct tok_iconv *c;
	iconv_t cd;
	int rc;

	*bad = 0;
	if (bom_bound(name)) {
		/* One of its own each time, not cached. */
		cd = iconv_open("UTF-8", name);
		if (cd == (iconv_t)-1)
			return 2;
		rc = conv_cd(cd, in, len, out, bad, max_bad);
		iconv_close(cd);
		return rc;
	}
	c = cd_get(t, name);
	if (c == NULL)
		return 2;
	if (c->sb)
		return sb_conv(c, in, len, out, bad, max_bad);
	return conv_cd(c->cd, in, len, out, bad, max_bad);
}

/* conv's work with the converter cd. */
static int
conv_cd(iconv_t cd, const char *in, size_t len, struct tbuf *out,
    size_t *bad, size_t max_bad)
{
	char chunk[4096];
	char *ip = (char *)in, *op;
	size_t il = len, ol, r, mark = out->len;
	int rc;

	iconv(cd, NULL, NULL, NULL, NULL);
	while (il > 0) {
		op = chunk;
		ol = sizeof(chunk);
		r = iconv(cd, &ip, &il, &op, &ol);
		rc = tbuf_add(out, chunk, sizeof(chunk) - ol);
		if (rc != 0)
			return rc;
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		/* EILSEQ or EINVAL (truncated at the end): skip one byte. */
		if (++*bad > max_bad)
			return cut_back(out, mark);
		rc = tbuf_add(out, replacement, 3);
		if (rc != 0)
			return rc;
		ip++;
		il--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	op = chunk;
	ol = sizeof(chunk);
	iconv(cd, NULL, NULL, &op, &ol);
	return tbuf_add(out, chunk, sizeof(chunk) - ol);
}

/* ISO-2022-JP (any flavour) to CP932 bytes in sj.  Unknown escapes and
 * 8-bit bytes count in *bad. */
static int
jis_to_sjis(const char *in, size_t len, struct tbuf *sj, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)in;
	enum { ASCII, KANJI, KANA, SKIP } mode = ASCII;
	size_t i = 0;
	unsigned char j1, j2, o[2];
	int rc = 0;

	*bad = 0;
	while (i < len && rc == 0) {
		if (s[i] == 0x1B) {
			if (i + 2 < len && s[i + 1] == '$' &&
			    (s[i + 2] == 'B' || s[i + 2] == '@')) {
				mode = KANJI;
				i += 3;
			} else if (i + 3 < len && s[i + 1] == '$' &&
			    s[i + 2] == '(' && (s[i + 3] == 'O' ||
			    s[i + 3] == 'Q')) {
				mode = KANJI;	/* JIS X 0213 plane 1 */
				i += 4;
			} else if (i + 3 < len && s[i + 1] == '$' &&
			    s[i + 2] == '(') {
				mode = SKIP;	/* JIS X 0212, plane 2 */
				i += 4;
			} else if (i + 2 < len && s[i + 1] == '(' &&
			    (s[i + 2] == 'B' || s[i + 2] == 'J' ||
			    s[i + 2] == 'H')) {
				mode = ASCII;
				i += 3;
			} else if (i + 2 < len && s[i + 1] == '(' &&
			    s[i + 2] == 'I') {
				mode = KANA;
				i += 3;
			} else if (i + 1 < len && s[i + 1] == '&') {
				i += 2;	/* announcer before ESC $ B */
			} else {
				(*bad)++;
				i++;
			}
			continue;
		}
		if (s[i] == 0x0E) {	/* SO: kana */
			mode = KANA;
			i++;
			continue;
		}
		if (s[i] == 0x0F) {	/* SI */
			mode = ASCII;
			i++;
			continue;
		}
		if (s[i] >= 0x80) {
			(*bad)++;
			rc = tbuf_addc(sj, '?');
			i++;
			continue;
		}
		if (s[i] == '\n' || s[i] == '\r' || mode == ASCII) {
			if (s[i] == '\n' && mode != ASCII && mode != KANA)
				mode = ASCII;	/* lines reset, in practice */
			rc = tbuf_addc(sj, (char)s[i]);
			i++;
			continue;
		}
		if (mode == KANA) {
			if (s[i] >= 0x21 && s[i] <= 0x5F)
				rc = tbuf_addc(sj, (char)(s[i] + 0x80));
			else
				rc = tbuf_addc(sj, (char)s[i]);
			i++;
			continue;
		}
		if (i + 1 >= len || s[i] < 0x21 || s[i] > 0x7E ||
		    s[i + 1] < 0x21 || s[i + 1] > 0x7E) {
			(*bad)++;
			i++;
			continue;
		}
		j1 = s[i];
		j2 = s[i + 1];
		i += 2;
		if (mode == SKIP) {
			rc = tbuf_add(sj, "\x81\x9f", 2);	/* a geta mark */
			continue;
		}
		o[0] = (unsigned char)(((j1 + 1) >> 1) + (j1 <= 0x5E ? 0x70 :
		    0xB0));
		if (j1 & 1)
			o[1] = (unsigned char)(j2 + (j2 >= 0x60 ? 0x20 : 0x1F));
		else
			o[1] = (unsigned char)(j2 + 0x7E);
		rc = tbuf_add(sj, (char *)o, 2);
	}
	return rc;
}

/* UTF-8 with its invalid bytes as U+FFFD, when they are at most max_bad
 * and its valid multi-byte characters at least UTF8_MB_PER_BAD times as
 * many: text in UTF-8 with a byte lost or cut, not Latin-1 under a UTF-8
 * label (whose accents are all invalid, and none valid).  Else 1, out as
 * it was. */
static int
utf8_lenient(const char *in, size_t len, struct tbuf *out, size_t *bad,
    size_t max_bad)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, k, mb = 0, nbad = 0, mark = out->len;
	int rc;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(s + i, len - i);
		if (k == 0) {
			nbad++;
			i++;
			continue;
		}
		mb++;
		i += k;
	}
	*bad = nbad;
	if (nbad > max_bad || mb < nbad * UTF8_MB_PER_BAD)
		return 1;
	rc = utf8_copy(in, len, out, bad);
	if (rc != 0)
		out->len = mark;
	return rc;
}

/* The byte order of UTF-16 or UTF-32 text without a byte-order mark:
 * the one its NULs show (ASCII characters have them on the high side),
 * else big-endian, as RFC 2781 has it (glibc takes the machine's).  Any
 * other name, or text with a mark, keeps name. */
static const char *
wide_order(const char *name, const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i, hi = 0, lo = 0, n = len < WIDE_SNIFF_BYTES ? len :
	    WIDE_SNIFF_BYTES;
	int w;

	if (strcasecmp(name, "UTF-16") == 0 ||
	    strcasecmp(name, "UNICODE") == 0)
		w = 2;
	else if (strcasecmp(name, "UTF-32") == 0 ||
	    strcasecmp(name, "UCS-4") == 0)
		w = 4;
	else
		return name;
	if (w == 2 && len >= 2 && ((s[0] == 0xFE && s[1] == 0xFF) ||
	    (s[0] == 0xFF && s[1] == 0xFE)))
		return "UTF-16";
	if (w == 4 && len >= 4 && ((s[0] == 0 && s[1] == 0 && s[2] == 0xFE &&
	    s[3] == 0xFF) || (s[0] == 0xFF && s[1] == 0xFE && s[2] == 0 &&
	    s[3] == 0)))
		return "UTF-32";
	for (i = 0; i + (size_t)w <= n; i += (size_t)w) {
		hi += s[i] == 0 && s[i + (size_t)w - 1] != 0;
		lo += s[i] != 0 && s[i + (size_t)w - 1] == 0;
	}
	if (w == 2)
		return lo > hi ? "UTF-16LE" : "UTF-16BE";
	return lo > hi ? "UTF-32LE" : "UTF-32BE";
}

/* Decode with the named converter ("JIS" is ours).  Return as conv(). */
static int
decode(struct tok *t, const char *name, const char *in, size_t len,
    struct tbuf *out, size_t *bad, size_t max_bad)
{
	struct tbuf sj = { 0 };
	size_t jbad = 0;
	int rc;

	if (strcmp(name, "UTF-8") == 0) {
		if (!utf8_valid(in, len))
			return utf8_lenient(in, len, out, bad, max_bad);
		*bad = 0;
		return tbuf_add(out, in, len);
	}
	if (strcmp(name, "JIS") != 0)
		return conv(t, wide_order(name, in, len), in, len, out, bad,
		    max_bad);
	rc = jis_to_sjis(in, len, &sj, &jbad);
	if (rc == 0 && jbad > max_bad)
		rc = 1;
	if (rc == 0)
		rc = conv(t, "CP932", sj.p != NULL ? sj.p : "", sj.len, out,
		    bad, max_bad);
	*bad += jbad;
	tbuf_release(&sj);
	return rc;
}

static const char *
alias_lookup(const char *label, char *buf, size_t bufsz)
{
	size_t i, n;

	n = strlen(label);
	if (n == 0 || n > CHARSET_NAME_MAX)
		return NULL;
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(label, aliases[i].label) == 0)
			return aliases[i].iconv[0] != '\0' ?
			    aliases[i].iconv : NULL;
	/* Anything else iconv knows (iso-8859-*, koi8-*, windows-125x), in
	 * capitals: the checks below and the converter cache compare
	 * names as they are ("windows-1252" passed them by). */
	for (i = 0; i <= n && i < bufsz; i++)
		buf[i] = (char)toupper((unsigned char)label[i]);
	buf[bufsz - 1] = '\0';
	return buf;
}

/* Does UTF-8 text read as Japanese?  Real Japanese prose carries kana
 * (particles, loanwords): at least min_kana letters; Latin or EUC bytes
 * misread as Shift_JIS give half-width katakana or kana-less kanji salad
 * instead. */
static int
reads_japanese(const char *s, size_t n, size_t min_kana)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, kana = 0, han = 0, half = 0, other = 0;
	unsigned cp;

	while (i < n) {
		if ((cp = utf8_next(u, n, &i)) < 0x80)
			continue;
		/* Kana letters only: the iteration marks, the long vowel
		 * and the middle dot come as well from Chinese punctuation
		 * read as EUC-JP (GB2312 shares its row 1). */
		if ((cp >= 0x3041 && cp <= 0x3096) ||
		    (cp >= 0x30A1 && cp <= 0x30FA))
			kana++;
		else if (cp >= 0x3040 && cp <= 0x30FF)
			han++;
		else if ((cp >= 0x4E00 && cp <= 0x9FFF) ||
		    (cp >= 0x3000 && cp <= 0x303F) ||
		    (cp >= 0xFF01 && cp <= 0xFF5E))
			han++;
		else if (cp >= 0xFF61 && cp <= 0xFF9F)
			half++;
		else
			other++;
	}
	return kana >= min_kana &&
	    (kana + han) * 10 >= (kana + han + half + other) * 7
	    && half * 10 <= (kana + han + half + other) * 3;
}

/* Try the Japanese multi-byte charsets (first the preferred one, when
 * given) and keep the first that reads as Japanese: strictly, then with
 * up to max_bad bytes that do not decode (a byte lost, a line cut: they
 * gave Cyrillic or half-width kana from the detector).  Returns 0 when
 * out was filled, 1 when none fitted, or TOK_ENOMEM. */
static int
ja_guess(struct tok *t, const char *prefer, const char *in, size_t len,
    struct tbuf *out, size_t max_bad)
{
	static const char *const cands[] = { "CP932", "EUC-JP-MS" };
	size_t bad, mark = out->len;
	int rc, pass;

	for (pass = 0; pass < 6; pass++) {
		const char *name = pass % 3 == 0 ? prefer :
		    cands[pass % 3 - 1];

		if (name == NULL || (pass % 3 > 0 && prefer != NULL &&
		    strcmp(name, prefer) == 0))
			continue;
		rc = decode(t, name, in, len, out, &bad, pass < 3 ? 0 :
		    max_bad);
		if (rc < 0)
			return rc;
		/* Let through bytes that do not decode, it takes more
		 * kana: a few garbled bytes read as one by chance. */
		if (rc == 0 && reads_japanese(out->p + mark, out->len - mark,
		    pass < 3 ? 1 : JA_LENIENT_KANA))
			return 0;
		(void)cut_back(out, mark);
	}
	return 1;
}

static int
is_japanese_iconv(const char *name)
{
	return strcmp(name, "JIS") == 0 || strcmp(name, "CP932") == 0 ||
	    strcmp(name, "EUC-JP-MS") == 0;
}

/* The label at v (up to end) in lbl (CHARSET_NAME_MAX + 1 bytes). */
static size_t
label_at(const char *v, const char *end, char *lbl)
{
	size_t k;

	for (k = 0; v + k < end && k < CHARSET_NAME_MAX &&
	    (isalnum((unsigned char)v[k]) || v[k] == '-' || v[k] == '_' ||
	    v[k] == '.' || v[k] == ':'); k++)
		lbl[k] = v[k];
	lbl[k] = '\0';
	return k;
}

/* Whether the '=' at eq, in a line from s, ends the parameter name
 * name ("charset=", "boundary="; any case). */
static int
param_is(const char *s, const char *eq, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(eq - s) >= n && strncasecmp(eq - n, name, n) == 0;
}

/* The first charset label of the line [p, e) that tells what 8-bit
 * bytes are (not UTF-8, whose bytes say so themselves, nor US-ASCII):
 * an encoded word's if hdr, a charset= parameter's.  Its iconv name, or
 * NULL; *seen counts the labels read. */
static const char *
line_label(const char *p, const char *e, int hdr, char *buf,
    size_t *seen)
{
	char lbl[CHARSET_NAME_MAX + 1];
	const char *s = p, *v, *name;

	/* Each '=' looked at once: bounded by the line. */
	for (; *seen < HINT_LABELS &&
	    (p = memchr(p, '=', (size_t)(e - p))) != NULL; p++) {
		if (hdr && p + 1 < e && p[1] == '?')
			v = p + 2;
		else if (param_is(s, p, "charset")) {
			v = p + 1;
			while (v < e && (*v == '"' || *v == '\'' || *v == ' '))
				v++;
		} else
			continue;
		if (label_at(v, e, lbl) == 0)
			continue;
		(*seen)++;
		name = alias_lookup(lbl, buf, CHARSET_NAME_MAX + 1);
		if (name != NULL && strcmp(name, "UTF-8") != 0 &&
		    strcasecmp(lbl, "us-ascii") != 0 &&
		    strcasecmp(lbl, "ascii") != 0)
			return name;
	}
	return NULL;
}

/* name (an alias_lookup answer, maybe in a caller's buffer) as a
 * static string if it is one of the CJK charsets cjk_hint keeps, else
 * NULL. */
static const char *
hint_name(const char *name)
{
	static const char *const kept[] = { "CP932", "JIS", "EUC-JP-MS",
	    "GB18030", "BIG5-HKSCS", "CP949" };
	size_t i;

	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (strcmp(name, kept[i]) == 0)
			return kept[i];
	return NULL;
}

/* A multipart's boundary, as its header's parameter gives it. */
struct bound {
	const char *p;
	size_t n;
};

/* The boundary= parameter of a header line [p, e), if any: 1 with *b
 * set. */
static int
boundary_param(const char *p, const char *e, struct bound *b)
{
	const char *v;
	size_t n;

	/* Each '=' looked at once: bounded by the line. */
	for (v = p; (v = memchr(v, '=', (size_t)(e - v))) != NULL; v++) {
		if (!param_is(p, v, "boundary"))
			continue;
		v++;
		if (v < e && *v == '"') {
			v++;
			for (n = 0; v + n < e && v[n] != '"'; n++)
				;
		} else {
			for (n = 0; v + n < e && v[n] != ';' && v[n] != ' ' &&
			    v[n] != '\t' && v[n] != '\r'; n++)
				;
		}
		if (n == 0)
			return 0;
		b->p = v;
		b->n = n;
		return 1;
	}
	return 0;
}

/* Whether the line [p, e) is "--" and one of the nb boundaries b: a
 * body's "-- " signature line is none (its lines were read as a part's
 * header, and a label in them counted; found by review). */
static int
is_boundary(const char *p, const char *e, const struct bound *b,
    size_t nb)
{
	size_t i;

	if (e - p < 2 || p[0] != '-' || p[1] != '-')
		return 0;
	for (i = 0; i < nb; i++)
		if ((size_t)(e - p) >= b[i].n + 2 &&
		    memcmp(p + 2, b[i].p, b[i].n) == 0)
			return 1;
	return 0;
}

/* Whether the line [p, e) has an HTML "<meta" (any case). */
static int
has_meta(const char *p, const char *e)
{
	/* Each '<' looked at once: bounded by the line. */
	for (; (p = memchr(p, '<', (size_t)(e - p))) != NULL; p++)
		if (e - p >= 5 && strncasecmp(p + 1, "meta", 4) == 0)
			return 1;
	return 0;
}

/* The CJK charset the message's own labels name, if any: the first
 * label in a header (the message's, or a part's after a boundary line)
 * or an HTML <meta> line, among its first HINT_SCAN_BYTES, that tells
 * what 8-bit bytes are, when it is Japanese, Chinese or Korean.  Words
 * of a body do not count (a spammer's "charset=shift_jis" in a URL
 * turned Chinese into kanji salad; found by review), nor a later label:
 * the first of a Korean part then an ISO-2022-JP one is Korean.  Looked
 * for once a message, and only when unlabelled 8-bit text needs it
 * (t->raw holds the message). */
static const char *
cjk_hint(struct tok *t)
{
	const char *s = t->raw.p, *p, *e, *end, *name = NULL;
	char buf[CHARSET_NAME_MAX + 1];
	struct bound b[HINT_BOUNDARIES];
	size_t seen = 0, nb = 0;
	int hdr = 1;

	if (t->hint_done)
		return t->hint;
	t->hint_done = 1;
	t->hint = NULL;
	if (s == NULL)
		return NULL;
	end = s + (t->raw.len < HINT_SCAN_BYTES ? t->raw.len : HINT_SCAN_BYTES);
	/* Line by line: bounded by HINT_SCAN_BYTES. */
	for (p = s; p < end && name == NULL && seen < HINT_LABELS;
	    p = e < end ? e + 1 : end) {
		e = memchr(p, '\n', (size_t)(end - p));
		if (e == NULL)
			e = end;
		if (e == p || (e == p + 1 && *p == '\r'))
			hdr = 0;	/* a header ends */
		else if (is_boundary(p, e, b, nb))
			hdr = 1;	/* a part's header next */
		else if (hdr || has_meta(p, e)) {
			if (hdr && nb < HINT_BOUNDARIES &&
			    boundary_param(p, e, &b[nb]))
				nb++;
			name = line_label(p, e, hdr, buf, &seen);
		}
	}
	if (name != NULL)
		t->hint = hint_name(name);
	return t->hint;
}

/* Does UTF-8 text read as Chinese or Korean: ideographs or Hangul
 * syllables (with CJK punctuation and full-width forms) seven tenths of
 * its non-ASCII characters at least, and one at least? */
static int
reads_cjk(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, cjk = 0, other = 0;
	unsigned cp;

	while (i < n) {
		if ((cp = utf8_next(u, n, &i)) < 0x80)
			continue;
		if ((cp >= 0x4E00 && cp <= 0x9FFF) ||
		    (cp >= 0xAC00 && cp <= 0xD7A3) ||
		    (cp >= 0x3000 && cp <= 0x303F) ||
		    (cp >= 0xFF01 && cp <= 0xFF5E))
			cjk++;
		else
			other++;
	}
	return cjk > 0 && cjk * 10 >= (cjk + other) * 7;
}

/* Unlabelled 8-bit text of a message labelled Chinese, Japanese or
 * Korean elsewhere: the multi-byte charset the label names, strictly,
 * if it reads as such text (Japanese even without kana; for Japanese
 * labels the other Japanese charset next, and for ISO-2022-JP, whose
 * text is 7-bit, either).  Kanji alone, a raw EUC-JP subject "会議室予約",
 * read as Chinese or Cyrillic by the detector; three Hangul syllables
 * as Greek.  0 with out filled, 1 when none fits, or TOK_ENOMEM. */
static int
cjk_hinted(struct tok *t, const char *hint, const char *in, size_t len,
    struct tbuf *out)
{
	const char *cands[2] = { "CP932", "EUC-JP-MS" };
	size_t bad, mark = out->len, i, nc = 2;
	int rc, ja = is_japanese_iconv(hint), ok;

	if (strcmp(hint, "EUC-JP-MS") == 0) {
		cands[0] = "EUC-JP-MS";
		cands[1] = "CP932";
	} else if (!ja) {
		cands[0] = hint;
		nc = 1;
	}
	for (i = 0; i < nc; i++) {
		rc = decode(t, cands[i], in, len, out, &bad, 0);
		if (rc < 0)
			return rc;
		ok = rc == 0 && (ja ? reads_japanese(out->p + mark,
		    out->len - mark, 0) : reads_cjk(out->p + mark,
		    out->len - mark));
		if (ok)
			return 0;
		(void)cut_back(out, mark);
	}
	return 1;
}

/* Whether UTF-8 text has a non-ASCII character next to an ASCII letter,
 * as Latin text does ("café", "Müller"). */
static int
latin_like(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	for (i = 0; i + 1 < n; i++)
		if ((u[i] >= 0x80 && isalpha(u[i + 1]) && u[i + 1] < 0x80) ||
		    (isalpha(u[i]) && u[i] < 0x80 && u[i + 1] >= 0xC0))
			return 1;
	return 0;
}

/* Text labelled Shift_JIS or EUC-JP whose bytes are valid UTF-8 too:
 * the label's reading when it is Japanese and the UTF-8 one is neither
 * Japanese nor Latin-like.  Some 930 EUC-JP kanji pairs are UTF-8 by
 * chance: "発表" read as "ȯɽ".  Japanese UTF-8 under a Japanese label (a
 * mailer's lie) reads as Japanese and stays UTF-8; so does "café".  0
 * with out filled, 1 for UTF-8, TOK_ENOMEM. */
static int
ja_over_utf8(struct tok *t, const char *name, const char *in, size_t len,
    struct tbuf *out)
{
	size_t bad, mark = out->len;
	int rc;

	if (reads_japanese(in, len, 0) || latin_like(in, len))
		return 1;
	rc = decode(t, name, in, len, out, &bad, 0);
	if (rc < 0)
		return rc;
	if (rc == 0 && reads_japanese(out->p + mark, out->len - mark, 0))
		return 0;
	(void)cut_back(out, mark);
	return 1;
}

/* The detector's answer for one input: asked once per tok_to_utf8, which
 * may look at it twice (ICU keeps the matches until the next setText). */
struct det_answer {
	const UCharsetMatch **m;
	int32_t nm;
	int asked;		/* 1 answered, -1 failed, 0 not yet */
};

/* The lines of in that hold an 8-bit byte, up to TOK_DETECT_BYTES: all
 * the detector can learn from.  Every recogniser reads every byte it is
 * shown, so a page of English with one accented name cost as much as a
 * page of Chinese; the lines keep the words around the 8-bit bytes,
 * which the single-byte recognisers' n-grams use.  Of a line, only
 * DETECT_CONTEXT bytes either side of its 8-bit bytes are kept: an HTML
 * part can be one line of 60 KB (tokens over the SpamAssassin corpus and
 * the Japanese fixtures are the same as with whole lines; such a message
 * took 9.6 ms, nearly all in the detector).  Returns 0 with the
 * sample in *b, 1 (take in itself) when nothing is to be gained, or
 * TOK_ENOMEM (the caller takes in itself then too). */
static int
detect_sample(const char *in, size_t len, struct tbuf *b)
{
	size_t i = 0, e, k, last, from, to, room, n;
	const char *nl;

	b->len = 0;
	while (i < len && b->len < TOK_DETECT_BYTES) {
		nl = memchr(in + i, '\n', len - i);
		e = nl == NULL ? len : (size_t)(nl - in) + 1;
		k = i;
		while (k < e && (unsigned char)in[k] < 0x80)
			k++;
		if (k < e) {
			/* From a little before the line's first 8-bit byte
			 * to a little after its last. */
			last = e;
			while ((unsigned char)in[last - 1] < 0x80)
				last--;
			from = k - i > DETECT_CONTEXT ? k - DETECT_CONTEXT : i;
			to = e - last > DETECT_CONTEXT ? last + DETECT_CONTEXT :
			    e;
			room = TOK_DETECT_BYTES - b->len;
			n = to - from < room ? to - from : room;
			if (tbuf_add(b, in + from, n) != 0)
				return TOK_ENOMEM;
		}
		i = e;
	}
	return b->len == 0 || b->len * 4 > len * 3;
}

/* Let the detector choose among charsets that decode cleanly.  When
 * latin_ok is false, single-byte answers are not trusted.  Returns 0 and
 * fills out on success, 1 when nothing fitted. */
static int
detect(struct tok *t, const char *in, size_t len, int latin_ok,
    int min_conf, struct det_answer *da, struct tbuf *out)
{
	UErrorCode err = U_ZERO_ERROR;
	int32_t i;
	size_t k, bad;
	const char *name;
	int rc;

	if (t->csd == NULL) {
		t->csd = ucsdet_open(&err);
		if (U_FAILURE(err)) {
			t->csd = NULL;
			return 1;
		}
	}
	if (da->asked == 0) {
		const char *s = in;
		size_t n = len;

		if (detect_sample(in, len, &t->det) == 0) {
			s = t->det.p;
			n = t->det.len;
		}
		ucsdet_setText(t->csd, s, (int32_t)(n < TOK_DETECT_BYTES ?
		    n : TOK_DETECT_BYTES), &err);
		da->nm = 0;
		da->m = ucsdet_detectAll(t->csd, &da->nm, &err);
		da->asked = U_FAILURE(err) ? -1 : 1;
	}
	if (da->asked < 0)
		return 1;
	for (i = 0; i < da->nm; i++) {
		name = ucsdet_getName(da->m[i], &err);
		if (U_FAILURE(err) || name == NULL)
			break;
		if (ucsdet_getConfidence(da->m[i], &err) < min_conf)
			break;
		for (k = 0; k < sizeof(detected) / sizeof(detected[0]); k++)
			if (strcmp(name, detected[k].icu) == 0)
				break;
		if (k == sizeof(detected) / sizeof(detected[0]))
			continue;
		if (!latin_ok && strncmp(detected[k].iconv, "WINDOWS", 7) == 0)
			continue;
		if (!latin_ok && strncmp(detected[k].iconv, "ISO-8859", 8) == 0)
			continue;
		rc = decode(t, detected[k].iconv, in, len, out, &bad, 0);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

int
tok_to_utf8(struct tok *t, const char *charset, const char *in, size_t len,
    struct tbuf *out)
{
	char namebuf[CHARSET_NAME_MAX + 1];
	const char *name = NULL;
	const unsigned char *s = (const unsigned char *)in;
	size_t i, bad, max_bad, nhigh = 0, run, hruns = 0;
	struct det_answer da = { NULL, 0, 0 };
	uint64_t w;
	int high = 0, esc = 0, kana = 0, rc;
	static const char *const japanese[] = { "CP932", "EUC-JP-MS" };

	for (i = 0, run = 0; i < len; i++) {
		/* Eight ASCII bytes without an ESC change nothing but run:
		 * skip them as one. */
		if (len - i >= 8) {
			memcpy(&w, s + i, 8);
			if ((w & 0x8080808080808080ULL) == 0 &&
			    !tok_has_byte(w, 0x1B)) {
				run = 0;
				i += 7;
				continue;
			}
		}
		if (s[i] >= 0x80) {
			nhigh++;
			kana |= s[i] <= 0x83 || s[i] == 0xA1 || s[i] == 0xA4 ||
			    s[i] == 0xA5;
			if (++run == 4)
				hruns++;
			continue;
		}
		run = 0;
		if (s[i] == 0x1B)
			esc = 1;
	}
	high = nhigh > 0;
	if (charset != NULL)
		name = alias_lookup(charset, namebuf, sizeof(namebuf));
	/* Pure ASCII is the same in every charset we decode but UTF-7 and
	 * the wide ones (UCS-2 text of ASCII letters has no 8-bit byte,
	 * only NULs: it gave no word at all). */
	if (!high && !esc && (name == NULL || (strcmp(name, "UTF-7") != 0 &&
	    !bom_bound(name))))
		return tbuf_add(out, in, len);
	/* 7-bit with escapes is ISO-2022-JP whatever the label says. */
	if (!high && esc && (name == NULL || strcmp(name, "UTF-7") != 0))
		name = "JIS";
	/* Valid UTF-8 with 8-bit bytes is UTF-8: labels lie, bytes don't;
	 * but a Japanese label may be right about bytes that are both. */
	if (high && utf8_valid(in, len)) {
		if (name != NULL && (strcmp(name, "CP932") == 0 ||
		    strcmp(name, "EUC-JP-MS") == 0)) {
			rc = ja_over_utf8(t, name, in, len, out);
			if (rc <= 0)
				return rc;
		}
		return tbuf_add(out, in, len);
	}
	max_bad = len / 200 + 2;
	/* Japanese, declared or not: the declared multi-byte charset if it
	 * reads as Japanese, else the other one if that does.  Reading as
	 * Japanese takes kana, which CP932 makes only from lead bytes
	 * 0x81-0x83 and EUC-JP-MS only from 0xA1, 0xA4 and 0xA5 (checked
	 * against glibc's tables): without those bytes both fail, and are
	 * not tried (Western 8-bit text was decoded three times over). */
	if (kana && (name == NULL || strncmp(name, "WINDOWS-1252", 12) == 0 ||
	    strcmp(name, "CP932") == 0 || strcmp(name, "EUC-JP-MS") == 0 ||
	    strcmp(name, "JIS") == 0)) {
		rc = ja_guess(t, name != NULL && (strcmp(name, "CP932") == 0 ||
		    strcmp(name, "EUC-JP-MS") == 0) ? name : NULL, in, len,
		    out, max_bad);
		if (rc <= 0)
			return rc;
	}
	if (name == NULL && cjk_hint(t) != NULL) {
		rc = cjk_hinted(t, t->hint, in, len, out);
		if (rc <= 0)
			return rc;
	}
	if (name != NULL && strncmp(name, "WINDOWS-1252", 12) != 0) {
		rc = decode(t, name, in, len, out, &bad, max_bad);
		if (rc <= 0)
			return rc;
	}
	/* Declared Latin whose 8-bit bytes stand alone or in pairs is Latin
	 * (accents); CJK text comes in long 8-bit runs.  Only the latter
	 * needs the detector. */
	if (name != NULL && strncmp(name, "WINDOWS-1252", 12) == 0 &&
	    hruns < 2) {
		rc = decode(t, name, in, len, out, &bad, max_bad);
		if (rc <= 0)
			return rc;
	}
	/* Undeclared, Latin-1-ish, unknown or failing: ask the detector,
	 * trusting a CJK answer first, then any answer. */
	rc = detect(t, in, len, 0, 30, &da, out);
	if (rc <= 0)
		return rc;
	if (name != NULL && strncmp(name, "WINDOWS-1252", 12) == 0) {
		rc = decode(t, name, in, len, out, &bad, max_bad);
		if (rc <= 0)
			return rc;
	}
	rc = detect(t, in, len, 1, 10, &da, out);
	if (rc <= 0)
		return rc;
	/* Last resorts: a lenient Japanese decode, if the declared or the
	 * most likely Japanese charset gets most of it, then Latin-1, which
	 * decodes anything. */
	if (name != NULL && is_japanese_iconv(name)) {
		rc = decode(t, name, in, len, out, &bad, len / 20 + 2);
		if (rc <= 0)
			return rc;
	}
	for (i = 0; i < sizeof(japanese) / sizeof(japanese[0]); i++) {
		rc = decode(t, japanese[i], in, len, out, &bad, len / 50 + 2);
		if (rc <= 0)
			return rc;
	}
	rc = conv(t, "ISO-8859-1", in, len, out, &bad, len);
	if (rc > 0)
		return utf8_copy(in, len, out, &bad);
	return rc;
}
