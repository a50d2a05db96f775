/* SPDX-License-Identifier: MIT */
/*
 * tokenizer.h - message bytes to UTF-8 tokens.
 *
 * One struct tok holds everything that is costly to set up (GMime, the ICU
 * normaliser and word-break iterator, iconv descriptors), so a batch run
 * creates it once and feeds it many messages.  A struct tok_set receives the
 * distinct tokens of one message with their counts; it is reused with
 * tok_set_reset().
 *
 * Tokens are UTF-8, NFKC-normalised, never contain a control byte or a
 * space, and are at most TOK_MAX_TOKEN_BYTES long.  Header words carry
 * the header name as a tag ("subject:free"); other features carry their
 * own tag ("url:", "ip:", "ct:", "file:").  Body words carry no tag.
 *
 * Return convention: 0 on success or a negative TOK_E* code; tok_strerror()
 * gives the text.  The module never prints and never exits.
 */
#ifndef SPAMSIFT_TOKENIZER_H
#define SPAMSIFT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

/* Bump whenever a change makes the same message give different tokens:
 * the database stamps it and refuses an incompatible one. */
#define TOK_VERSION 1

/* Limits on every loop over mail bytes.  Past a limit the tokenizer stops
 * reading more of that thing; it never fails the message for it. */
#define TOK_MAX_HEADER_BYTES	(256 * 1024)	/* header block read */
#define TOK_MAX_PART_BYTES	(1024 * 1024)	/* decoded bytes per part */
#define TOK_MAX_MESSAGE_BYTES	(8 * 1024 * 1024) /* bytes parsed at all */
#define TOK_MAX_PARTS		256	/* MIME leaves visited */
#define TOK_MAX_DEPTH		32	/* multipart / message nesting */
#define TOK_MAX_TOKENS		20000	/* distinct tokens per message */
#define TOK_MAX_TOKEN_BYTES	64	/* longer words are summarised */
/* Word pairs per message: the first ones.  Pairs were two thirds of a
 * store's tokens, most of them from long messages and seen once.  With
 * 256 the SpamAssassin bench's store is 24% smaller and its training
 * faster, and (1-ROCA)% as good or better: 0.616 -> 0.621 trained on
 * the index's first half, 0.751 -> 0.687 on its second; keeping a
 * hashed three quarters of all pairs instead gave 0.743 on the first. */
#define TOK_MAX_PAIRS		256
#define TOK_MIN_TOKEN_CHARS	1	/* shorter words are dropped */
#define TOK_MAX_LINE_BYTES	0	/* 0: no per-line cut (--max-line) */
#define TOK_MAX_TEXT_BYTES	(4 * 1024 * 1024) /* text tokenized */
#define TOK_MAX_BOUNDARY_LINES	(TOK_MAX_PARTS * 4) /* "--" lines parsed */
#define TOK_MAX_MULTIPARTS	(TOK_MAX_DEPTH * 2) /* multipart headers */
#define TOK_MAX_HEADERS		512	/* header fields read */
#define TOK_MAX_HEADER_VALUE	(16 * 1024)	/* bytes of one value */
#define TOK_MAX_RECEIVED	3	/* Received lines read */
#define TOK_VERDICT_PREFIX_MAX	40	/* --header-prefix's limit */
#define TOK_MAX_HTML_STACK	64	/* open hidden elements tracked */
#define TOK_MAX_HTML_TAG	4096	/* bytes of one tag examined */
#define TOK_MAX_HTML_ATTR	2048	/* bytes of one attribute kept */
#define TOK_MAX_URL_BYTES	2048	/* of one URL examined */
#define TOK_MAX_HOST_BYTES	255	/* of a URL's host (DNS allows 253) */
#define TOK_MAX_URL_WORDS	8	/* path words per URL */
#define TOK_MAX_JA_RUN		256	/* UTF-16 units of a Japanese run */
#define TOK_DETECT_BYTES	(4 * 1024) /* shown to the detector */
#define TOK_META_SCAN_BYTES	4096	/* of HTML searched for <meta charset> */
#define TOK_ICU_CHUNK_BYTES	(32 * 1024) /* text given to ICU at once */

enum tok_error {
	TOK_OK = 0,
	TOK_ENOMEM = -1,	/* allocation failed */
	TOK_EINIT = -2,		/* ICU or GMime could not be set up */
	TOK_EINVAL = -3,	/* bad argument or option */
	TOK_EPARSE = -4,	/* nothing at all could be parsed */
};

/* How Japanese (Han, Hiragana, Katakana) text is cut into words. */
enum tok_jmode {
	TOK_JA_ICU = 0,		/* ICU dictionary word break (default) */
	TOK_JA_BIGRAM,		/* bsfilter: kanji pairs, katakana runs */
	TOK_JA_BLOCK,		/* bsfilter: whole runs of one script */
};

/* Which headers give tagged tokens. */
enum tok_headers {
	TOK_HDR_DEFAULT = 0,	/* a fixed useful set, see tokenizer.c */
	TOK_HDR_ALL,		/* every header (--refer-all-header) */
	TOK_HDR_NONE,		/* none (--ignore-header) */
};

struct tok_opts {
	enum tok_jmode jmode;
	enum tok_headers headers;
	const char *refer_headers; /* extra header names, comma or '|'
				    * separated; borrowed for tok_new only */
	int ignore_body;	/* -B: headers only */
	int word_pairs;		/* also emit adjacent body word pairs
				 * ("a_b"; default on) */
	size_t max_line;	/* bytes per body line read; 0 = no cut */
	const char *verdict_prefix; /* X-<it>-Flag, -Probability and
				 * -Revision are our own verdicts: never read
				 * (NULL: "Spam"; at most
				 * TOK_VERDICT_PREFIX_MAX bytes, copied) */
};

struct tok;
struct tok_set;

/* Fill *o with the defaults.  Never fails. */
void tok_opts_init(struct tok_opts *o);

/* A fingerprint (>= 0) of everything in *o, all of which shapes tokens:
 * tokenizers whose options have the same one make the same tokens of a
 * message.  Never fails. */
int64_t tok_opts_fingerprint(const struct tok_opts *o);

/* Create a tokenizer.  *out is owned by the caller: tok_free().
 * Errors: TOK_ENOMEM, TOK_EINIT, TOK_EINVAL. */
int tok_new(struct tok **out, const struct tok_opts *o);
void tok_free(struct tok *t);

/* Set up now, on the calling thread, what t would otherwise set up when
 * its first message needs it, some of it for the whole process (GMime):
 * tokenizers made ready so, one per thread, share nothing unguarded.  A
 * tokenizer used on one thread only does not need it.  Errors:
 * TOK_ENOMEM. */
int tok_prepare(struct tok *t);

/* Tokenize one message of len bytes (need not be NUL-terminated; may hold
 * NULs; may start with an mbox "From " line).  Tokens are added to set,
 * which is not reset first, so several calls accumulate.  Malformed mail is
 * never an error: what can be read is read.  Errors: TOK_ENOMEM. */
int tok_message(struct tok *t, const char *buf, size_t len,
    struct tok_set *set);

/* Tokenize plain UTF-8 text as body words (used by tests and by callers
 * that already have text).  Errors: TOK_ENOMEM. */
int tok_text(struct tok *t, const char *utf8, size_t len,
    struct tok_set *set);

/* A set of distinct tokens with per-message counts.  tok_set_new holds
 * at most TOK_MAX_TOKENS; tok_set_new_limit(max) holds max (aggregating
 * many messages).  NULL when out of memory. */
struct tok_set *tok_set_new(void);
struct tok_set *tok_set_new_limit(size_t max);
void tok_set_free(struct tok_set *s);
void tok_set_reset(struct tok_set *s);

/* Add len bytes of token (copied) with count 1; a token already present
 * gets its count raised.  Errors: TOK_ENOMEM.  Past TOK_MAX_TOKENS distinct
 * tokens new ones are dropped and tok_set_truncated() turns true. */
int tok_set_add(struct tok_set *s, const char *tok, size_t len);

/* As tok_set_add, and *idx gets the token's index (new or not).  Past the
 * limit returns TOK_ENOMEM. */
int tok_set_add_idx(struct tok_set *s, const char *tok, size_t len,
    size_t *idx);

/* Add every token of src to dst, as tok_set_add_idx would one by one;
 * idx[i] (room for tok_set_count(src)) gets the index in dst of src's
 * i-th token.  src and dst are different sets.  Errors: TOK_ENOMEM, for
 * memory or for dst at its limit; dst then holds the tokens added before
 * (their counts raised) and idx is partly filled. */
int tok_set_merge(struct tok_set *dst, const struct tok_set *src,
    uint32_t *idx);

size_t tok_set_count(const struct tok_set *s);
int tok_set_truncated(const struct tok_set *s);

/* The i-th token (0 <= i < count) in insertion order.  The pointer is
 * borrowed: valid until the set is reset or freed.  NUL-terminated. */
const char *tok_set_token(const struct tok_set *s, size_t i, size_t *len);
unsigned tok_set_freq(const struct tok_set *s, size_t i);

/* Sort the set's tokens bytewise (memcmp order, shorter first on a tie);
 * indexes change.  Used for ordered database passes and stable output. */
void tok_set_sort(struct tok_set *s);

/* The identity of a message for "learned already?" questions: SHA-256 over
 * its Message-ID (when it has one) and its body bytes (each CRLF read as
 * LF, the white space it ends with not read), so headers added on
 * delivery (Received, our own X-Spam-*), line ends and an mbox's blank
 * lines do not change it.  msgid receives
 * the Message-ID without angle brackets, truncated to msgid_size - 1 bytes
 * ("" when absent); msgid may be NULL.  Never fails. */
#define TOK_DIGEST_BYTES 32
void tok_digest(const char *buf, size_t len,
    unsigned char digest[TOK_DIGEST_BYTES], char *msgid, size_t msgid_size);
/* The same, white space at the body's end not counted (blank lines, a
 * last line end or not), and *older, when it is another: the digest
 * stores learned under before (the whole body), for them to be found
 * there.  Returns 1 when older was written (the body ends in white
 * space), else 0.  older may be NULL. */
int tok_digests(const char *buf, size_t len,
    unsigned char digest[TOK_DIGEST_BYTES],
    unsigned char older[TOK_DIGEST_BYTES], char *msgid, size_t msgid_size);

const char *tok_strerror(int rc);

/* The name of a jmode ("icu", "bigram", "block") and its reverse;
 * tok_jmode_parse returns -1 for an unknown name. */
const char *tok_jmode_name(enum tok_jmode m);
int tok_jmode_parse(const char *name);

#endif
