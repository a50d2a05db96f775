/* SPDX-License-Identifier: MIT */
/*
 * tok_priv.h - what the tokenizer's files share and nobody else sees.
 */
#ifndef SPAMSIFT_TOK_PRIV_H
#define SPAMSIFT_TOK_PRIV_H

#include <stddef.h>
#include <iconv.h>

#include "tokenizer/tokenizer.h"

/* A growable byte buffer.  Owned by whoever embeds it; tbuf_release()
 * frees.  Grows in place, never past TBUF_MAX bytes (adds beyond that are
 * silently dropped: a limit, not an error). */
#define TBUF_MAX (64u * 1024 * 1024)
struct tbuf {
	char *p;
	size_t len;
	size_t cap;
};
int tbuf_add(struct tbuf *b, const char *s, size_t n);	/* 0 | TOK_ENOMEM */
int tbuf_addc(struct tbuf *b, char c);
void tbuf_release(struct tbuf *b);

/* Does the 8-byte word w (read with memcpy) hold the byte c?  Exact:
 * the classic zero-byte test on w ^ (c in every byte). */
static inline int
tok_has_byte(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (0x0101010101010101ULL * c);

	return ((x - 0x0101010101010101ULL) & ~x &
	    0x8080808080808080ULL) != 0;
}

/* sha256.c: streaming SHA-256, for tok_digest.  Embedded by its user:
 * tok_sha256_init, any number of tok_sha256_update, one tok_sha256_final
 * (after which only init again).  Nothing is allocated; nothing fails.
 * The data given to update is only read during the call. */
#define TOK_SHA256_BYTES 32
struct tok_sha256 {
	uint32_t h[8];		/* hash value so far */
	uint64_t nbytes;	/* bytes given to update */
	unsigned char buf[64];	/* a partial block */
	size_t nbuf;		/* its bytes */
	/* The compression function chosen by init. */
	void (*blocks)(uint32_t *h, const unsigned char *p, size_t n);
};
/* Start a digest: with SHA-NI where the processor has it (decided once
 * per process), else portable C. */
void tok_sha256_init(struct tok_sha256 *s);
/* Start a digest that always uses the portable C code (tests). */
void tok_sha256_init_portable(struct tok_sha256 *s);
void tok_sha256_update(struct tok_sha256 *s, const void *data, size_t len);
void tok_sha256_final(struct tok_sha256 *s,
    unsigned char out[TOK_SHA256_BYTES]);
/* Does tok_sha256_init take the SHA-NI path?  Always 0 off x86. */
int tok_sha256_have_ni(void);

/* Opaque ICU state kept by words.c. */
struct tok_icu;
int tok_icu_new(struct tok_icu **out);
void tok_icu_free(struct tok_icu *u);

/* Cached iconv descriptors kept by charset.c.  A charset of one byte a
 * character, each byte read on its own and ASCII as itself (ISO-8859-*,
 * WINDOWS-125*, KOI8-*...), also gets a table of each byte's UTF-8: it
 * decodes without iconv, which spent about 40 instructions a byte. */
#define TOK_ICONV_CACHE 8
#define TOK_SB_BAD 0xFF		/* sb_len of a byte the charset lacks */
struct tok_iconv {
	char name[32];
	iconv_t cd;
	int sb;			/* 1: sb_len/sb_utf8 hold the table */
	unsigned char sb_len[256];	/* UTF-8 bytes, or TOK_SB_BAD */
	unsigned char sb_utf8[256][4];
};

/* One header field of the simple path (tokenizer.c): offsets into raw
 * of the name and of the raw value (after the colon, through the LF that
 * ends its last line). */
struct tok_field {
	size_t name, nlen;
	size_t val, vlen;
};

struct tok {
	struct tok_opts o;
	char vprefix[TOK_VERDICT_PREFIX_MAX + 1]; /* tok_opts.verdict_prefix */
	char **refer;		/* extra header names, lower case */
	size_t nrefer;
	struct tok_icu *icu;
	struct tok_iconv cv[TOK_ICONV_CACHE];
	size_t ncv;
	void *csd;		/* ICU UCharsetDetector, lazily opened */
	struct tbuf det;	/* the lines shown to the detector */
	void *popts;		/* GMimeParserOptions, made on first use */
	struct tbuf raw;	/* normalised copy of the message */
	struct tbuf text;	/* one part's UTF-8 text */
	struct tbuf dec;	/* one part's decoded bytes */
	struct tbuf hid;	/* HTML text hidden from the reader */
	struct tbuf urls;	/* URLs found in HTML attributes */
	struct tbuf hdr;	/* one header value as UTF-8 */
	size_t parts;		/* leaves visited in this message */
	int hint_done;		/* cjk_hint looked at raw: hint is set */
	const char *hint;	/* the CJK charset raw's labels name, for
				 * unlabelled text (charset.c); static */
	size_t npairs;		/* word pairs it gave (TOK_MAX_PAIRS) */
	struct tok_field fld[TOK_MAX_HEADERS]; /* simple path's fields */
	size_t nfld;
	int no_simple;		/* tests: always take the GMime path */
	size_t nsimple;		/* messages the simple path took */
};

/* charset.c: convert len bytes declared as charset (NULL when undeclared)
 * to valid UTF-8, appended to out.  Detects the charset when it is missing,
 * unknown, or plainly wrong.  Errors: TOK_ENOMEM. */
int tok_to_utf8(struct tok *t, const char *charset, const char *in,
    size_t len, struct tbuf *out);
void tok_charset_release(struct tok *t);

/* html.c: HTML to text.  Visible text goes to vis, text a reader would not
 * see to hid, href/src URLs to urls (one per line).  Errors: TOK_ENOMEM. */
int tok_html(const char *in, size_t len, struct tbuf *vis, struct tbuf *hid,
    struct tbuf *urls);

/* words.c: cut UTF-8 text into words and add them to set, each prefixed
 * with prefix (may be "").  Also finds URLs in plain text.  Errors:
 * TOK_ENOMEM. */
int tok_words(struct tok *t, const char *utf8, size_t len,
    const char *prefix, struct tok_set *set);

/* words.c: whether the n bytes at s are all ASCII (eight at a time). */
int tok_all_ascii(const char *s, size_t n);

/* Characters that show nothing and must not split a word or stay in one
 * ("v<soft hyphen>iagra" is viagra): soft hyphen, zero-width space,
 * non-joiner and joiner, word joiner, zero-width no-break space. */
static inline int
tok_invisible(unsigned cp)
{
	return cp == 0xAD || (cp >= 0x200B && cp <= 0x200D) ||
	    cp == 0x2060 || cp == 0xFEFF;
}

/* words.c: add tokens for one URL (host, parent domains, path words). */
int tok_url(struct tok *t, const char *url, size_t len, struct tok_set *set);

/* Append prefix + s to set, enforcing token limits. */
int tok_emit(struct tok_set *set, const char *prefix, const char *s,
    size_t n);

#endif
