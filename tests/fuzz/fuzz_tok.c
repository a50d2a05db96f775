/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tok.c - libFuzzer target for the tokenizer on raw message bytes.
 *
 * The first byte chooses the options (Japanese mode, header set, word
 * pairs, line cut); the rest is the message, given to tok_message,
 * tok_text and tok_digest.  Besides the sanitizers, the target checks the
 * promises of tokenizer.h on every token (non-empty, at most
 * TOK_MAX_TOKEN_BYTES, valid UTF-8, no control byte or space, at most
 * TOK_MAX_TOKENS of them) and that tok_digest is a pure function that
 * NUL-terminates its Message-ID within the size given, and (for inputs
 * up to FUZZ_STATE_MAX_BYTES) that a message's tokens do not depend on
 * the message tokenized before it.  A broken promise aborts, so libFuzzer
 * saves the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

#define FUZZ_CONFIGS (3 * 3 * 2 * 2)	/* jmode x headers x pairs x cut */
#define FUZZ_MSGID_BYTES 160
#define FUZZ_STATE_MAX_BYTES 4096	/* inputs tokenized twice more */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tok *toks[FUZZ_CONFIGS];
static struct tok_set *set;

static void
die(const char *what, const char *tok, size_t len)
{
	size_t i;

	fprintf(stderr, "fuzz_tok: %s: \"", what);
	for (i = 0; i < len; i++)
		fprintf(stderr, (tok[i] >= 0x20 && tok[i] < 0x7f) ? "%c" :
		    "\\x%02x", (unsigned char)tok[i]);
	fprintf(stderr, "\" (%zu bytes)\n", len);
	abort();
}

/* Length of the valid UTF-8 sequence at s, 0 when invalid (RFC 3629). */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t k, i;
	unsigned c = s[0], min;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		k = 2;
		cp = c & 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		k = 3;
		cp = c & 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		k = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return k;
}

static void
check_set(const struct tok_set *s)
{
	size_t i, j, k, len, n = tok_set_count(s);
	const char *t;

	if (n > TOK_MAX_TOKENS)
		die("too many tokens", "", 0);
	for (i = 0; i < n; i++) {
		t = tok_set_token(s, i, &len);
		if (len == 0)
			die("empty token", t, len);
		if (len > TOK_MAX_TOKEN_BYTES)
			die("token too long", t, len);
		if (t[len] != '\0')
			die("token not NUL-terminated", t, len);
		if (tok_set_freq(s, i) == 0)
			die("token with count 0", t, len);
		for (j = 0; j < len; j += k) {
			if ((unsigned char)t[j] <= 0x20 || t[j] == 0x7F)
				die("control byte or space in token", t, len);
			k = utf8_len((const unsigned char *)t + j, len - j);
			if (k == 0)
				die("token is not UTF-8", t, len);
		}
	}
}

static struct tok *
get_tok(unsigned cfg)
{
	struct tok_opts o;

	cfg %= FUZZ_CONFIGS;
	if (toks[cfg] != NULL)
		return toks[cfg];
	tok_opts_init(&o);
	o.jmode = (enum tok_jmode)(cfg % 3);
	o.headers = (enum tok_headers)(cfg / 3 % 3);
	o.word_pairs = (int)(cfg / 9 % 2);
	o.max_line = cfg / 18 % 2 ? 78 : 0;
	if (tok_new(&toks[cfg], &o) != 0) {
		fprintf(stderr, "fuzz_tok: tok_new failed\n");
		abort();
	}
	return toks[cfg];
}

static void
check_digest(const char *buf, size_t len, size_t msgid_size)
{
	unsigned char d1[TOK_DIGEST_BYTES], d2[TOK_DIGEST_BYTES];
	char id1[FUZZ_MSGID_BYTES + 1], id2[FUZZ_MSGID_BYTES + 1];

	/* A canary past the size given must survive. */
	memset(id1, 'Z', sizeof(id1));
	memset(id2, 'Y', sizeof(id2));
	tok_digest(buf, len, d1, msgid_size > 0 ? id1 : NULL, msgid_size);
	tok_digest(buf, len, d2, msgid_size > 0 ? id2 : NULL, msgid_size);
	if (memcmp(d1, d2, sizeof(d1)) != 0)
		die("tok_digest differs between two calls", "", 0);
	if (msgid_size == 0)
		return;
	if (id1[msgid_size] != 'Z')
		die("tok_digest wrote past msgid_size", id1, msgid_size + 1);
	if (memchr(id1, '\0', msgid_size) == NULL)
		die("tok_digest msgid not NUL-terminated", id1, msgid_size);
	if (strcmp(id1, id2) != 0)
		die("tok_digest msgid differs between two calls", id1,
		    strlen(id1));
}

static int
same_sets(struct tok_set *a, struct tok_set *b)
{
	size_t i, n = tok_set_count(a), la, lb;
	const char *ta, *tb;

	if (n != tok_set_count(b))
		return 0;
	tok_set_sort(a);
	tok_set_sort(b);
	for (i = 0; i < n; i++) {
		ta = tok_set_token(a, i, &la);
		tb = tok_set_token(b, i, &lb);
		if (la != lb || memcmp(ta, tb, la) != 0 ||
		    tok_set_freq(a, i) != tok_set_freq(b, i))
			return 0;
	}
	return 1;
}

/* A message's tokens do not depend on the message before it: tokenized
 * after another message and after itself, it gives the same set. */
static void
check_state(struct tok *t, const char *msg, size_t len)
{
	static const char other[] = "Subject: other words\n\n"
	    "zzpreviousword from the message before\n";
	static struct tok_set *a, *b;

	if (a == NULL)
		a = tok_set_new();
	if (b == NULL)
		b = tok_set_new();
	if (a == NULL || b == NULL)
		abort();
	tok_set_reset(a);
	tok_set_reset(b);
	if (tok_message(t, other, sizeof(other) - 1, a) != 0)
		return;
	tok_set_reset(a);
	if (tok_message(t, msg, len, a) != 0 ||
	    tok_message(t, msg, len, b) != 0)
		return;
	if (!same_sets(a, b))
		die("tokens depend on the message before", msg, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t msgid_sizes[8] = { 0, 1, 2, 5, 16, 64, 128,
		FUZZ_MSGID_BYTES };
	struct tok *t;
	const char *msg;
	size_t len;
	int rc;

	if (size < 1)
		return 0;
	if (set == NULL) {
		set = tok_set_new();
		if (set == NULL)
			abort();
	}
	t = get_tok(data[0]);
	msg = (const char *)data + 1;
	len = size - 1;

	tok_set_reset(set);
	rc = tok_message(t, msg, len, set);
	if (rc != 0 && rc != TOK_ENOMEM)
		die("tok_message: unexpected error", tok_strerror(rc),
		    strlen(tok_strerror(rc)));
	check_set(set);

	tok_set_reset(set);
	rc = tok_text(t, msg, len, set);
	if (rc != 0 && rc != TOK_ENOMEM)
		die("tok_text: unexpected error", tok_strerror(rc),
		    strlen(tok_strerror(rc)));
	check_set(set);

	check_digest(msg, len, msgid_sizes[data[0] / FUZZ_CONFIGS % 8]);
	if (len <= FUZZ_STATE_MAX_BYTES)
		check_state(t, msg, len);
	return 0;
}
