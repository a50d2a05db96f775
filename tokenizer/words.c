/* SPDX-License-Identifier: MIT */
/*
 * words.c - UTF-8 text to word tokens: NFKC, case folding and ICU word
 * boundaries (dictionary-based for Japanese), or bsfilter's bigram and
 * block cutting of Japanese runs; URLs found in the text become host
 * tokens.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/ubrk.h>
#include <unicode/uidna.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>

#include "tokenizer/tok_priv.h"

#define ICU_SPLIT_MIN	16	/* bytes of ASCII text worth an ICU call */
#define CJK_FIRST	0x3040	/* hiragana up to CJK ideographs: text */
#define CJK_LAST	0x9FFF	/* that loads ICU's CJK engine */

struct tok_icu {
	UBreakIterator *brk;
	const UNormalizer2 *nfkc;
	UChar *u, *n, *f;
	int32_t ucap, ncap, fcap;
	UChar run[TOK_MAX_JA_RUN];
	int32_t runlen;
	int primed;		/* the CJK engine loaded: icu_words */
	/* The last body word, pair[0, prevlen), for pairs: a word is put
	 * right after it and a '_', so that the pair needs no copy. */
	char pair[2 * TOK_MAX_TOKEN_BYTES + 2];
	size_t prevlen;
	unsigned char acls[256];	/* aclass_of() of every byte */
	UIDNA *idna;		/* UTS #46, opened for the first IDN host */
};

static void aclass_table(unsigned char *tab);

int
tok_icu_new(struct tok_icu **out)
{
	struct tok_icu *u = NULL;
	UErrorCode err = U_ZERO_ERROR;
	int rc = TOK_ENOMEM;

	*out = NULL;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		goto out;
	/* ICU itself is opened when the first non-ASCII text comes
	 * (icu_ready): ASCII mail never touches its data, which saved a
	 * delivery a third of its page faults.  Checked here once so that
	 * a broken ICU still fails at set-up. */
	rc = TOK_EINIT;
	(void)unorm2_getNFKCInstance(&err);
	if (U_FAILURE(err))
		goto out;
	aclass_table(u->acls);
	*out = u;
	u = NULL;
	rc = 0;
out:
	tok_icu_free(u);
	return rc;
}

/* Open ICU's normaliser and word-break iterator and the UTF-16 buffers,
 * once.  Errors: TOK_ENOMEM, TOK_EINIT. */
static int
icu_ready(struct tok_icu *u)
{
	UErrorCode err = U_ZERO_ERROR;

	if (u->brk != NULL)
		return 0;
	if (u->u == NULL) {
		u->ucap = u->ncap = u->fcap = TOK_ICU_CHUNK_BYTES + 16;
		u->u = malloc(sizeof(UChar) * (size_t)u->ucap);
		u->n = malloc(sizeof(UChar) * (size_t)u->ncap);
		u->f = malloc(sizeof(UChar) * (size_t)u->fcap);
	}
	if (u->u == NULL || u->n == NULL || u->f == NULL)
		return TOK_ENOMEM;
	u->nfkc = unorm2_getNFKCInstance(&err);
	if (U_FAILURE(err))
		return TOK_EINIT;
	u->brk = ubrk_open(UBRK_WORD, "ja", NULL, 0, &err);
	if (U_FAILURE(err)) {
		u->brk = NULL;
		return TOK_EINIT;
	}
	return 0;
}

void
tok_icu_free(struct tok_icu *u)
{
	if (u == NULL)
		return;
	if (u->brk != NULL)
		ubrk_close(u->brk);
	if (u->idna != NULL)
		uidna_close(u->idna);
	free(u->u);
	free(u->n);
	free(u->f);
	free(u);
}

/* Grow a UTF-16 buffer to hold need units. */
static int
ugrow(UChar **p, int32_t *cap, int32_t need)
{
	UChar *np;
	int32_t ncap = *cap;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, sizeof(UChar) * (size_t)ncap);
	if (np == NULL)
		return TOK_ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

int
tok_emit(struct tok_set *set, const char *prefix, const char *s, size_t n)
{
	char buf[TOK_MAX_TOKEN_BYTES + 32];
	size_t pl;

	if (n == 0)
		return 0;
	if (prefix[0] == '\0' && n <= TOK_MAX_TOKEN_BYTES)
		return tok_set_add(set, s, n);	/* body words: no copy */
	pl = strlen(prefix);
	if (pl + n > TOK_MAX_TOKEN_BYTES) {
		/* A summary keeps the fact of a long word, not its bytes (which
		 * callers may not even pass in full). */
		int k = snprintf(buf, sizeof(buf), "%slong:%zu", prefix,
		    n / 10 * 10);

		if (k < 0 || (size_t)k > TOK_MAX_TOKEN_BYTES)
			return 0;	/* the tag alone is too long */
		return tok_set_add(set, buf, (size_t)k);
	}
	memcpy(buf, prefix, pl);
	memcpy(buf + pl, s, n);
	return tok_set_add(set, buf, pl + n);
}

/* A word that may take part in a pair: three or more letters and
 * nothing else (ASCII letters, or any non-ASCII character: this runs on
 * folded words whose non-ASCII characters are letters in practice). */
static int
pairable(const char *w, size_t n)
{
	size_t i, chars = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)w[i];
		if (c >= 0x80) {
			chars += (c & 0xC0) != 0x80;
			continue;
		}
		if (c < 'a' || c > 'z')
			return 0;
		chars++;
	}
	return chars >= 3;
}

/* The word of n bytes at u->pair + u->prevlen + 1 follows the previous
 * one: emit "previous_this" when it fits (no printf on this hot path)
 * and the message has given fewer than TOK_MAX_PAIRS, and make it the
 * previous word. */
static int
pair_next(struct tok *t, struct tok_set *set, size_t n)
{
	struct tok_icu *u = t->icu;
	size_t pl = u->prevlen;
	int rc = 0;

	if (pl > 0 && pl + 1 + n <= TOK_MAX_TOKEN_BYTES &&
	    t->npairs < TOK_MAX_PAIRS) {
		u->pair[pl] = '_';
		rc = tok_set_add(set, u->pair, pl + 1 + n);
		t->npairs++;
	}
	memmove(u->pair, u->pair + pl + 1, n);
	u->prevlen = n;
	return rc;
}

/* Emit one word of n UTF-8 bytes (folded already), and the pair it
 * makes with the previous body word.  When n > TOK_MAX_TOKEN_BYTES the
 * bytes are not read (buf may hold fewer): the word is summarised. */
static int
emit_word(struct tok *t, struct tok_set *set, const char *prefix,
    const char *buf, size_t n)
{
	int rc;

	if (n > TOK_MAX_TOKEN_BYTES)
		return tok_emit(set, prefix, buf, n);
	rc = tok_emit(set, prefix, buf, n);
	if (rc != 0 || !t->o.word_pairs || prefix[0] != '\0')
		return rc;
	/* Pairs only of words: numbers and short bits in pairs grew the
	 * store by 70% and measured worse ((1-ROCA)% 0.162 -> 0.150 without
	 * them, online on the SpamAssassin index).  A word that cannot pair
	 * breaks the chain. */
	if (!pairable(buf, n)) {
		t->icu->prevlen = 0;
		return 0;
	}
	/* n <= TOK_MAX_TOKEN_BYTES: it fits after the previous word. */
	memcpy(t->icu->pair + t->icu->prevlen + 1, buf, n);
	return pair_next(t, set, n);
}

/* Emit one UTF-16 word as UTF-8. */
static int
emit_u(struct tok *t, struct tok_set *set, const char *prefix,
    const UChar *w, int32_t wl)
{
	char buf[TOK_MAX_TOKEN_BYTES * 2 + 8];
	int32_t ol = 0;
	UErrorCode err = U_ZERO_ERROR;

	if (wl <= 0)
		return 0;
	/* ASCII words (most of them) need no real conversion. */
	for (ol = 0; ol < wl && ol < (int32_t)sizeof(buf) && w[ol] < 0x80; ol++)
		buf[ol] = (char)w[ol];
	if (ol < wl)
		u_strToUTF8WithSub(buf, (int32_t)sizeof(buf), &ol, w, wl,
		    0xFFFD, NULL, &err);
	/* Too long: ol is the length it needs. */
	if (err == U_BUFFER_OVERFLOW_ERROR || ol > TOK_MAX_TOKEN_BYTES)
		return emit_word(t, set, prefix, buf, (size_t)ol +
		    (ol <= TOK_MAX_TOKEN_BYTES ? TOK_MAX_TOKEN_BYTES : 0));
	if (U_FAILURE(err))
		return 0;
	return emit_word(t, set, prefix, buf, (size_t)ol);
}

enum jclass { J_OTHER, J_HIRA, J_KATA, J_HAN };

static enum jclass
jclass_of(UChar32 c)
{
	UErrorCode err = U_ZERO_ERROR;
	UScriptCode sc;

	if (c == 0x30FC || c == 0xFF70)	/* prolonged sound mark */
		return J_KATA;
	sc = uscript_getScript(c, &err);
	if (sc == USCRIPT_HIRAGANA)
		return J_HIRA;
	if (sc == USCRIPT_KATAKANA)
		return J_KATA;
	if (sc == USCRIPT_HAN)
		return J_HAN;
	return J_OTHER;
}

/* bsfilter's cutting of a Japanese run: katakana runs (with the prolonged
 * sound mark) stay whole; kanji runs stay whole in block mode and give
 * overlapping pairs in bigram mode; hiragana gives nothing in either. */
static int
flush_run(struct tok *t, struct tok_set *set, const char *prefix)
{
	struct tok_icu *u = t->icu;
	int32_t i = 0, s, k, nxt;
	UChar32 c;
	enum jclass cl, cl2;
	int rc = 0;

	while (i < u->runlen && rc == 0) {
		s = i;
		U16_NEXT(u->run, i, u->runlen, c);
		cl = jclass_of(c);
		while (i < u->runlen) {
			k = i;
			U16_NEXT(u->run, k, u->runlen, c);
			cl2 = jclass_of(c);
			if (cl2 != cl)
				break;
			i = k;
		}
		if (cl == J_HIRA)
			continue;
		if (t->o.jmode == TOK_JA_BLOCK || cl == J_KATA ||
		    cl == J_OTHER) {
			rc = emit_u(t, set, prefix, u->run + s, i - s);
			continue;
		}
		/* Pairs of code points over [s, i); one alone stays. */
		k = s;
		U16_FWD_1(u->run, k, i);
		if (k >= i) {
			rc = emit_u(t, set, prefix, u->run + s, i - s);
			continue;
		}
		while (k < i && rc == 0) {
			nxt = k;
			U16_FWD_1(u->run, nxt, i);
			rc = emit_u(t, set, prefix, u->run + s, nxt - s);
			s = k;
			k = nxt;
		}
	}
	u->runlen = 0;
	return rc;
}

int
tok_all_ascii(const char *s, size_t n)
{
	size_t i;
	uint64_t w;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		if ((w & 0x8080808080808080ULL) != 0)
			return 0;
	}
	for (; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

/* ASCII classes of ICU's word-break rules (UAX #29 as ICU 72 tailors
 * it: '@' counts as a letter, ':' is no mid-letter). */
enum aclass { A_OTHER, A_LETTER, A_NUM, A_EXT, A_MIDNUMLET, A_MIDNUM };

static enum aclass
aclass_of(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '@')
		return A_LETTER;
	if (c >= '0' && c <= '9')
		return A_NUM;
	if (c == '_')
		return A_EXT;
	if (c == '.' || c == '\'')
		return A_MIDNUMLET;
	if (c == ',' || c == ';')
		return A_MIDNUM;
	return A_OTHER;
}

static void
aclass_table(unsigned char *tab)
{
	unsigned i;

	for (i = 0; i < 256; i++)
		tab[i] = (unsigned char)aclass_of((unsigned char)i);
}

/* emit_word for a body word of n ASCII bytes (n <= TOK_MAX_TOKEN_BYTES),
 * folded on the way straight into its place after the previous word:
 * the same tokens, one copy instead of three, and pairable() on the
 * way. */
static int
ascii_pair_word(struct tok *t, const char *s, size_t n, struct tok_set *set)
{
	struct tok_icu *u = t->icu;
	size_t k;
	char *w = u->pair + u->prevlen + 1;
	unsigned char ch;
	int letters = 1, rc;

	for (k = 0; k < n; k++) {
		ch = (unsigned char)s[k];
		ch = (unsigned char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
		letters &= ch >= 'a' && ch <= 'z';
		w[k] = (char)ch;
	}
	rc = tok_set_add(set, w, n);
	if (rc != 0)
		return rc;
	/* Past the message's last pair the previous word no longer
	 * matters. */
	if (!letters || n < 3 || t->npairs >= TOK_MAX_PAIRS) {
		u->prevlen = 0;
		return 0;
	}
	return pair_next(t, set, n);
}

/* The ASCII fast path: the same words ICU's word break gives on ASCII
 * text (checked token for token on the SpamAssassin corpus), folded to
 * lower case, without the UTF-16 round trip. */
static int
ascii_words(struct tok *t, const char *s, size_t n, const char *prefix,
    struct tok_set *set)
{
	char w[TOK_MAX_TOKEN_BYTES + 1];
	size_t i = 0, b, k;
	const unsigned char *cl = t->icu->acls;
	enum aclass c, prev, nx;
	int rc = 0, pairs = t->o.word_pairs && prefix[0] == '\0';

	while (i < n && rc == 0) {
		c = (enum aclass)cl[(unsigned char)s[i]];
		if (c == A_OTHER || c == A_MIDNUMLET || c == A_MIDNUM) {
			i++;
			continue;
		}
		b = i;
		for (;;) {
			prev = (enum aclass)cl[(unsigned char)s[i]];
			i++;
			if (i >= n)
				break;
			c = (enum aclass)cl[(unsigned char)s[i]];
			if (c == A_LETTER || c == A_NUM || c == A_EXT)
				continue;
			if (i + 1 >= n || (c != A_MIDNUMLET && c != A_MIDNUM))
				break;
			nx = (enum aclass)cl[(unsigned char)s[i + 1]];
			if (prev == A_LETTER && nx == A_LETTER &&
			    c == A_MIDNUMLET) {
				i++;
				continue;
			}
			if (prev == A_NUM && nx == A_NUM) {
				i++;
				continue;
			}
			break;
		}
		/* A lone '_' is no word; a lone letter carries nothing (a
		 * lone digit is kept). */
		if (i - b == 1 && cl[(unsigned char)s[b]] != A_NUM)
			continue;
		if (pairs && i - b <= TOK_MAX_TOKEN_BYTES) {
			rc = ascii_pair_word(t, s + b, i - b, set);
			continue;
		}
		for (k = 0; k < i - b && k < TOK_MAX_TOKEN_BYTES; k++) {
			unsigned char ch = (unsigned char)s[b + k];

			w[k] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
		}
		rc = emit_word(t, set, prefix, w, i - b);
	}
	return rc;
}

/* Before the first text with kana or CJK ideographs: let ICU load its
 * CJK engine on two kanji of its own.  Loaded while it broke a text, the
 * engine split that text otherwise than once loaded ("ー" then a kanji:
 * one word, else two): a message alone, as procmail gives it, had other
 * tokens than in a training batch after Japanese mail.  0, TOK_EINIT. */
static int
cjk_prime(struct tok_icu *u, const UChar *f, int32_t n)
{
	static const UChar kanji[] = { 0x6F22, 0x5B57 };	/* 漢字 */
	UErrorCode err = U_ZERO_ERROR;
	int32_t k, e;

	if (u->primed)
		return 0;
	for (k = 0; k < n && (f[k] < CJK_FIRST || f[k] > CJK_LAST); k++)
		;
	if (k == n)
		return 0;
	ubrk_setText(u->brk, kanji, 2, &err);
	if (U_FAILURE(err))
		return TOK_EINIT;
	/* Bounded: two characters, at most two breaks. */
	for (e = ubrk_next(u->brk); e != UBRK_DONE; e = ubrk_next(u->brk))
		;
	u->primed = 1;
	return 0;
}

/* Words of valid UTF-8 text by ICU: NFKC, case folding, word break. */
static int
icu_words(struct tok *t, const char *s, size_t n, const char *prefix,
    struct tok_set *set)
{
	struct tok_icu *u = t->icu;
	UErrorCode err = U_ZERO_ERROR;
	int32_t ul = 0, nl, fl, b, e, st, runend = -1;
	const UChar *text;
	int rc;

	rc = icu_ready(u);
	if (rc == 0)
		rc = ugrow(&u->u, &u->ucap, (int32_t)n + 1);
	if (rc != 0)
		return rc;
	u_strFromUTF8WithSub(u->u, u->ucap, &ul, s, (int32_t)n, 0xFFFD, NULL,
	    &err);
	if (U_FAILURE(err))
		return 0;
	/* Invisible characters out, as an HTML entity's are (html.c): raw,
	 * a soft hyphen stayed inside the word and a zero-width space split
	 * it (found by review).  Bounded by ul. */
	for (b = e = 0; b < ul; b++)
		if (!tok_invisible(u->u[b]))
			u->u[e++] = u->u[b];
	ul = e;
	text = u->u;
	nl = ul;
	if (!tok_all_ascii(s, n)) {
		err = U_ZERO_ERROR;
		nl = unorm2_normalize(u->nfkc, u->u, ul, u->n, u->ncap, &err);
		if (err == U_BUFFER_OVERFLOW_ERROR) {
			rc = ugrow(&u->n, &u->ncap, nl + 1);
			if (rc != 0)
				return rc;
			err = U_ZERO_ERROR;
			nl = unorm2_normalize(u->nfkc, u->u, ul, u->n, u->ncap,
			    &err);
		}
		if (U_FAILURE(err))
			return 0;
		text = u->n;
	}
	err = U_ZERO_ERROR;
	fl = u_strFoldCase(u->f, u->fcap, text, nl, U_FOLD_CASE_DEFAULT, &err);
	if (err == U_BUFFER_OVERFLOW_ERROR) {
		rc = ugrow(&u->f, &u->fcap, fl + 1);
		if (rc != 0)
			return rc;
		err = U_ZERO_ERROR;
		fl = u_strFoldCase(u->f, u->fcap, text, nl,
		    U_FOLD_CASE_DEFAULT, &err);
	}
	if (U_FAILURE(err))
		return 0;
	rc = cjk_prime(u, u->f, fl);
	if (rc != 0)
		return rc;
	err = U_ZERO_ERROR;
	ubrk_setText(u->brk, u->f, fl, &err);
	if (U_FAILURE(err))
		return 0;
	u->runlen = 0;
	b = ubrk_first(u->brk);
	for (e = ubrk_next(u->brk); e != UBRK_DONE && rc == 0;
	    b = e, e = ubrk_next(u->brk)) {
		st = ubrk_getRuleStatus(u->brk);
		if (st < UBRK_WORD_NONE_LIMIT)
			continue;
		if (t->o.jmode != TOK_JA_ICU && st >= UBRK_WORD_KANA &&
		    st < UBRK_WORD_IDEO_LIMIT) {
			if (b != runend || u->runlen + (e - b) > TOK_MAX_JA_RUN)
				rc = flush_run(t, set, prefix);
			if (rc == 0 && e - b <= TOK_MAX_JA_RUN) {
				memcpy(u->run + u->runlen, u->f + b,
				    sizeof(UChar) * (size_t)(e - b));
				u->runlen += e - b;
			}
			runend = e;
			continue;
		}
		if (u->runlen > 0)
			rc = flush_run(t, set, prefix);
		if (rc != 0)
			break;
		/* Single ASCII letters carry nothing. */
		if (e - b == 1 && u->f[b] < 0x80 && st >= UBRK_WORD_LETTER &&
		    st < UBRK_WORD_LETTER_LIMIT)
			continue;
		rc = emit_u(t, set, prefix, u->f + b, e - b);
	}
	if (rc == 0 && u->runlen > 0)
		rc = flush_run(t, set, prefix);
	return rc;
}

/* chunk_words' units of text: a line without 8-bit bytes, or of a line
 * with some, each stretch up to and including a space.  A word never
 * spans a line end (UAX #29 breaks before and after every LF) nor an
 * ASCII space (it breaks around spaces; NFKC composes nothing with a
 * space, and what it turns into spaces stays in its own unit). */
struct units {
	const char *s;
	size_t n;
	size_t eol;		/* the end of the line being cut */
	int ascii;		/* whether that line is ASCII */
};

/* The end of the unit that starts at i (< u->n), and in *ascii whether
 * it is ASCII. */
static size_t
unit_end(struct units *u, size_t i, int *ascii)
{
	const char *p;
	size_t e;

	if (i >= u->eol) {
		p = memchr(u->s + i, '\n', u->n - i);
		u->eol = p == NULL ? u->n : (size_t)(p - u->s) + 1;
		u->ascii = tok_all_ascii(u->s + i, u->eol - i);
	}
	if (u->ascii) {
		*ascii = 1;
		return u->eol;
	}
	p = memchr(u->s + i, ' ', u->eol - i);
	e = p != NULL ? (size_t)(p - u->s) + 1 : u->eol;
	*ascii = tok_all_ascii(u->s + i, e - i);
	return e;
}

/* Words of one chunk of valid UTF-8.  Runs of ASCII units take the
 * ASCII path and only the others go to ICU, which costs ten times as
 * much a byte: a line of English with one accented name, or one
 * no-break space, went to ICU whole.  An ASCII run of fewer than
 * ICU_SPLIT_MIN bytes between ICU text goes to ICU with it (each ICU
 * call has its own set-up). */
static int
chunk_words(struct tok *t, const char *s, size_t n, const char *prefix,
    struct tok_set *set)
{
	struct units u = { s, n, 0, 0 };
	size_t i, e, start = 0, run = 0;
	int rc = 0, ua, in_run = 0;

	if (tok_all_ascii(s, n))
		return ascii_words(t, s, n, prefix, set);
	/* [start, run) is ICU text not yet given to ICU, and while in_run,
	 * [run, i) the ASCII units after it; the end of the text ends a run
	 * as a unit with 8-bit bytes would.  Bounded by n: a unit is at
	 * least one byte. */
	for (i = 0; rc == 0; i = e) {
		e = n;
		ua = 0;
		if (i < n)
			e = unit_end(&u, i, &ua);
		if (ua) {
			if (!in_run)
				run = i;
			in_run = 1;
			continue;
		}
		if (in_run && (start == run || i == n ||
		    i - run >= ICU_SPLIT_MIN)) {
			if (start < run)
				rc = icu_words(t, s + start, run - start, prefix,
				    set);
			if (rc == 0)
				rc = ascii_words(t, s + run, i - run, prefix,
				    set);
			start = i;
		}
		in_run = 0;
		if (i == n)
			break;
	}
	if (rc == 0 && start < n)
		rc = icu_words(t, s + start, n - start, prefix, set);
	return rc;
}

static int
url_char(unsigned char c)
{
	return c > 0x20 && c < 0x7F && c != '<' && c != '>' && c != '"' &&
	    c != '\'' && c != '`' && c != '{' && c != '}' && c != '|' &&
	    c != '\\' && c != '^';
}

/* An internationalised host (UTF-8, or "xn--" labels), host[0, *h), in
 * the one form UTS #46 gives its Unicode spelling (case-folded, NFKC,
 * ideographic full stops as dots), in place: "例え.jp" and
 * "xn--r8jz45g.jp" are one host, "pаypal.com" with a Cyrillic 'а' stays
 * apart from paypal.com.  0 with the host rewritten, 1 when UTS #46
 * finds it no host (a bad punycode, a stray symbol), TOK_ENOMEM. */
static int
idn_host(struct tok *t, char *host, size_t *h, size_t cap)
{
	struct tok_icu *u = t->icu;
	char out[TOK_MAX_HOST_BYTES + 1];
	UIDNAInfo info = UIDNA_INFO_INITIALIZER;
	UErrorCode err = U_ZERO_ERROR;
	int32_t n, k;

	if (u->idna == NULL) {
		u->idna = uidna_openUTS46(UIDNA_NONTRANSITIONAL_TO_UNICODE,
		    &err);
		if (U_FAILURE(err)) {
			u->idna = NULL;
			return err == U_MEMORY_ALLOCATION_ERROR ? TOK_ENOMEM :
			    1;
		}
	}
	n = uidna_nameToUnicodeUTF8(u->idna, host, (int32_t)*h, out,
	    (int32_t)sizeof(out) - 1, &info, &err);
	/* Hyphens where DNS labels may not have them, and lengths, are
	 * no error to a browser (WHATWG URL: CheckHyphens off): a host
	 * such as -x.例え.jp still goes to 例え.jp. */
	if (U_FAILURE(err) || (info.errors & ~(UIDNA_ERROR_LEADING_HYPHEN |
	    UIDNA_ERROR_TRAILING_HYPHEN | UIDNA_ERROR_HYPHEN_3_4 |
	    UIDNA_ERROR_EMPTY_LABEL | UIDNA_ERROR_LABEL_TOO_LONG |
	    UIDNA_ERROR_DOMAIN_NAME_TOO_LONG)) != 0 || n <= 0 ||
	    (size_t)n >= cap)
		return 1;
	/* UTS #46 without STD3 rules maps U+3000 to a space, U+FF0F to
	 * '/': a host with such a character goes nowhere. */
	for (k = 0; k < n; k++)
		if ((unsigned char)out[k] < 0x80 &&
		    !isalnum((unsigned char)out[k]) && out[k] != '.' &&
		    out[k] != '-' && out[k] != '_')
			return 1;
	memcpy(host, out, (size_t)n);
	*h = (size_t)n;
	return 0;
}

/* The host of an IPv6 literal, "[2001:db8::1]" (the brackets kept), at
 * url[i] == '[': its length, or 0 when it is none. */
static size_t
ipv6_host(const char *url, size_t i, size_t len, char *host, size_t cap)
{
	size_t k, h = 0;

	for (k = i; k < len && h + 1 < cap; k++) {
		unsigned char c = (unsigned char)tolower((unsigned char)url[k]);

		host[h++] = (char)c;
		if (c == ']')
			return h > 3 ? h : 0;
		if (k > i && !isxdigit(c) && c != ':' && c != '.')
			return 0;
	}
	return 0;
}

int
tok_url(struct tok *t, const char *url, size_t len, struct tok_set *set)
{
	char host[TOK_MAX_HOST_BYTES + 1], w[TOK_MAX_TOKEN_BYTES + 1];
	size_t i = 0, h = 0, k, nw = 0;
	const char *p;
	int rc = 0, dots = 0, digits = 1, intl = 0;

	if (len > TOK_MAX_URL_BYTES)
		len = TOK_MAX_URL_BYTES;
	/* The scheme's "://" before any path, query or fragment: one in a
	 * query (www.x.example/go?to=https://y.example/) names no host. */
	for (k = 0; k < len && url[k] != '/' && url[k] != '?' &&
	    url[k] != '#'; k++)
		;
	p = k + 2 < len ? memmem(url, k + 3, "://", 3) : NULL;
	if (p != NULL)
		i = (size_t)(p - url) + 3;
	else if (len > 2 && url[0] == '/' && url[1] == '/')
		i = 2;	/* protocol-relative: "//cdn.example/x" */
	else if (len > 7 && strncasecmp(url, "mailto:", 7) == 0) {
		p = memchr(url, '@', len);
		if (p == NULL)
			return 0;
		i = (size_t)(p - url) + 1;
	}
	/* Host: up to / ? # : and after any userinfo.  A browser ends the
	 * host at a backslash too (http://evil.example\\@paypal.com/ goes
	 * to evil.example). */
	for (k = i; k < len && url[k] != '/' && url[k] != '?' &&
	    url[k] != '#' && url[k] != '\\'; k++)
		if (url[k] == '@')
			i = k + 1;
	if (i < len && url[i] == '[') {
		/* An IPv6 literal: a host by number, as an IPv4 one. */
		h = ipv6_host(url, i, len, host, sizeof(host));
		if (h == 0)
			return 0;
		rc = tok_emit(set, "url:", host, h);
		return rc == 0 ? tok_set_add(set, "url:ip", 6) : rc;
	}
	/* Bytes of 128 and up are an IDN host's UTF-8 (a link's: URLs in
	 * text end before them). */
	for (; i < len && h + 1 < sizeof(host) && url[i] != '/' &&
	    url[i] != '?' && url[i] != '#' && url[i] != ':'; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)url[i]);

		if (!isalnum(c) && c != '.' && c != '-' && c != '_' &&
		    c < 0x80)
			break;
		if (c == '.')
			dots++;
		else if (!isdigit(c))
			digits = 0;
		intl |= c >= 0x80 || (c == '-' && h >= 3 &&
		    (h == 3 || host[h - 4] == '.') &&
		    memcmp(host + h - 3, "xn-", 3) == 0);
		host[h++] = (char)c;
	}
	while (h > 0 && host[h - 1] == '.')
		h--;
	if (intl && h > 0) {
		rc = idn_host(t, host, &h, sizeof(host));
		if (rc < 0)
			return rc;
		/* Not a host UTS #46 reads: kept as written if ASCII ("xn--"
		 * with a bad punycode), else (maybe cut inside a character)
		 * dropped. */
		if (rc == 1 && !tok_all_ascii(host, h))
			return 0;
		for (k = 0, dots = 0; k < h; k++)
			dots += host[k] == '.';
	}
	host[h] = '\0';
	/* A host of digits alone is an IPv4 address as one number
	 * ("http://3232235777/"), which browsers take. */
	if (h > 0 && dots == 0 && digits && h <= 10 && p != NULL)
		return tok_set_add(set, "url:ip", 6);
	if (h == 0 || dots == 0)
		return 0;
	rc = tok_emit(set, "url:", host, h);
	if (digits && dots == 3)
		return rc == 0 ? tok_set_add(set, "url:ip", 6) : rc;
	/* Parent domains down to two labels. */
	for (k = 0; k < h && rc == 0; k++) {
		if (host[k] != '.')
			continue;
		if (memchr(host + k + 1, '.', h - k - 1) == NULL)
			break;
		rc = tok_emit(set, "url:", host + k + 1, h - k - 1);
	}
	/* A few path words. */
	while (i < len && rc == 0 && nw < TOK_MAX_URL_WORDS) {
		while (i < len && !isalnum((unsigned char)url[i]))
			i++;
		for (k = 0; i < len && isalnum((unsigned char)url[i]); i++)
			if (k < TOK_MAX_TOKEN_BYTES)
				w[k++] = (char)tolower((unsigned char)url[i]);
		if (k >= 2 && k <= 20) {
			rc = tok_emit(set, "urlw:", w, k);
			nw++;
		}
	}
	return rc;
}

/* Whether the n (>= 5) bytes at s begin "http://", "https://" (any
 * case) or, after no letter or digit (before), "www.".  Four bytes are
 * compared at once, folded with 0x20: no byte but 'H' folds to 'h', and
 * so on for the letters; the dot is compared as it is.  An 'h' or 'w'
 * inside a word costs one compare, not a strncasecmp. */
static int
url_start(const char *s, size_t n, char before)
{
	uint32_t w, http, www;

	memcpy(&w, s, 4);
	memcpy(&http, "http", 4);
	memcpy(&www, "www.", 4);
	if ((w | 0x20202020u) == http)
		return (n >= 7 && memcmp(s + 4, "://", 3) == 0) ||
		    (n >= 8 && (s[4] | 0x20) == 's' &&
		    memcmp(s + 5, "://", 3) == 0);
	if ((w | 0x20202020u) == (www | 0x20202020u) && s[3] == '.')
		return !isalnum((unsigned char)before);
	return 0;
}

/* URLs written in text: http(s)://..., www.... */
static int
text_urls(struct tok *t, const char *s, size_t n, struct tok_set *set)
{
	size_t i, j;
	uint64_t w;
	int rc = 0;

	for (i = 0; i + 4 < n && rc == 0; i++) {
		/* No h, H, w or W in the next eight bytes: no URL starts
		 * there. */
		if (n - i >= 8) {
			memcpy(&w, s + i, 8);
			w |= 0x2020202020202020ULL;
			if (!tok_has_byte(w, 'h') && !tok_has_byte(w, 'w')) {
				i += 7;
				continue;
			}
		}
		if (!url_start(s + i, n - i, i > 0 ? s[i - 1] : ' '))
			continue;
		for (j = i; j < n && url_char((unsigned char)s[j]); j++)
			;
		rc = tok_url(t, s + i, j - i, set);
		i = j;
	}
	return rc;
}

int
tok_words(struct tok *t, const char *utf8, size_t len, const char *prefix,
    struct tok_set *set)
{
	size_t off = 0, n;
	int rc;

	t->icu->prevlen = 0;
	rc = text_urls(t, utf8, len, set);
	while (rc == 0 && off < len) {
		n = len - off;
		if (n > TOK_ICU_CHUNK_BYTES) {
			/* Cut at a line end, else at a space, else at a
			 * character boundary. */
			size_t c = TOK_ICU_CHUNK_BYTES;

			while (c > TOK_ICU_CHUNK_BYTES / 2 &&
			    utf8[off + c] != '\n')
				c--;
			if (c == TOK_ICU_CHUNK_BYTES / 2) {
				c = TOK_ICU_CHUNK_BYTES;
				while (c > 0 &&
				    ((unsigned char)utf8[off + c] & 0xC0) == 0x80)
					c--;
			}
			n = c;
		}
		rc = chunk_words(t, utf8 + off, n, prefix, set);
		off += n;
	}
	return rc;
}
