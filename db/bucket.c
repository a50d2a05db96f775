/* SPDX-License-Identifier: MIT */
/*
 * bucket.c - the token store's bucket format (the contract is bucket.h).
 */
#include <stdlib.h>
#include <string.h>

#include "db/bucket.h"
#include "db/db.h"

#define VARINT_MAX	10	/* bytes of a 64-bit varint */

/* Little-endian loads, so that the hash is the same on any machine. */
static uint64_t
le64(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint64_t)u[0] | (uint64_t)u[1] << 8 | (uint64_t)u[2] << 16 |
	    (uint64_t)u[3] << 24 | (uint64_t)u[4] << 32 |
	    (uint64_t)u[5] << 40 | (uint64_t)u[6] << 48 |
	    (uint64_t)u[7] << 56;
}

static uint32_t
le32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
	    (uint32_t)u[3] << 24;
}

/* Eight bytes at a time, then Murmur3's finaliser, which spreads every
 * byte into the top bits bk_key keeps. */
uint64_t
bk_hash(const char *tok, size_t len)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)len, w;
	size_t i = 0;

	for (; len - i >= 8; i += 8) {	/* len <= DB_TOKEN_BYTES_MAX */
		h = (h ^ le64(tok + i)) * 0x87C37B91114253D5ULL;
		h ^= h >> 31;
	}
	if (len - i >= 4) {
		/* The last 4-7 bytes as two overlapping loads (the length
		 * went in at the start). */
		w = (uint64_t)le32(tok + i) |
		    (uint64_t)le32(tok + len - 4) << 32;
		h = (h ^ w) * 0x87C37B91114253D5ULL;
	} else if (i < len) {
		w = (uint64_t)(unsigned char)tok[i] << 16 |
		    (uint64_t)(unsigned char)tok[i + (len - i) / 2] << 8 |
		    (unsigned char)tok[len - 1];
		h = (h ^ w) * 0x87C37B91114253D5ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

int64_t
bk_key(uint64_t h, int level)
{
	return (int64_t)(h >> (64 - level) << (BK_KEY_BITS - level));
}

int
bk_key_ok(int64_t key, int level)
{
	return key >= 0 && key < (int64_t)1 << BK_KEY_BITS &&
	    (key & (((int64_t)1 << (BK_KEY_BITS - level)) - 1)) == 0;
}

int64_t
bk_key3(uint64_t h, int level)
{
	return (int64_t)((1ULL << level) | (h >> (64 - level)));
}

int
bk_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int
bk_ord(uint8_t atag, const char *a, size_t alen, uint8_t btag,
    const char *b, size_t blen)
{
	if (atag != btag)
		return atag < btag ? -1 : 1;
	return bk_cmp(a, alen, b, blen);
}

static size_t
put_varint(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {		/* at most VARINT_MAX bytes */
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

/* get_varint past its first byte. */
static int
get_varint_long(const unsigned char **p, const unsigned char *end,
    uint64_t *v)
{
	const unsigned char *q = *p;
	uint64_t r = 0;
	int shift;

	for (shift = 0; shift < 7 * VARINT_MAX; shift += 7) {
		if (q == end)
			return -1;
		r |= (uint64_t)(*q & 0x7f) << shift;
		if ((*q++ & 0x80) == 0) {
			*p = q;
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* Read a varint from *p (before end) into *v: 0, or -1 when it runs past
 * end or VARINT_MAX bytes.  Most values take one byte: that is inline. */
static inline int
get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	if (*p < end && **p < 0x80) {
		*v = **p;
		(*p)++;
		return 0;
	}
	return get_varint_long(p, end, v);
}

static uint64_t
zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

static int64_t
unzigzag(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

int
bk_vec_reserve(struct bk_vec *v, size_t want)
{
	struct bk_ent *ne;
	size_t nc;

	if (want <= v->cap)
		return 0;
	nc = v->cap ? v->cap : 64;
	while (nc < want)
		nc *= 2;
	ne = realloc(v->e, nc * sizeof(*ne));
	if (ne == NULL)
		return -1;
	v->e = ne;
	v->cap = nc;
	return 0;
}

void
bk_vec_free(struct bk_vec *v)
{
	free(v->e);
	memset(v, 0, sizeof(*v));
}

/* Read the entry at *p (before end) into e: 0, or -2. */
static int
get_entry(const unsigned char **p, const unsigned char *end, uint64_t base,
    struct bk_ent *e)
{
	uint64_t len, spam, ham, dday, w;

	if (*p == end)
		return -2;
	e->tag = *(*p)++;
	if (get_varint(p, end, &len) != 0 || len == 0 ||
	    len > DB_TOKEN_BYTES_MAX || len > (uint64_t)(end - *p))
		return -2;
	e->tok = (const char *)*p;
	e->len = (uint32_t)len;
	*p += len;
	if (get_varint(p, end, &spam) != 0 ||
	    get_varint(p, end, &ham) != 0 ||
	    get_varint(p, end, &dday) != 0 ||
	    get_varint(p, end, &w) != 0)
		return -2;
	if (spam > UINT32_MAX || ham > UINT32_MAX ||
	    (spam == 0 && ham == 0) || w > 2 * (uint64_t)INT32_MAX)
		return -2;
	e->spam = (uint32_t)spam;
	e->ham = (uint32_t)ham;
	e->w = (int32_t)unzigzag(w);
	/* Modulo 2^64, as bk_encode wrote it. */
	e->day = (int64_t)((uint64_t)unzigzag(base) + dday);
	return 0;
}

int
bk_decode(const unsigned char *blob, size_t n, struct bk_vec *v)
{
	const unsigned char *p = blob, *end = blob + n;
	struct bk_ent *e;
	uint64_t count, base;
	size_t i;

	v->n = 0;
	if (n < 1 || *p++ != BK_FORMAT || get_varint(&p, end, &count) != 0 ||
	    get_varint(&p, end, &base) != 0)
		return -2;
	/* No more entries than the blob has room for. */
	if (count > (uint64_t)(end - p) / BK_ENT_MIN)
		return -2;
	if (bk_vec_reserve(v, (size_t)count) != 0)
		return -1;
	for (i = 0; i < count; i++) {	/* count <= n / BK_ENT_MIN */
		e = &v->e[i];
		if (get_entry(&p, end, base, e) != 0)
			return -2;
		if (i > 0 && bk_ord(e[-1].tag, e[-1].tok, e[-1].len, e->tag,
		    e->tok, e->len) >= 0)
			return -2;
	}
	if (p != end)
		return -2;
	v->n = (size_t)count;
	return 0;
}

int
bk_cursor_init(struct bk_cursor *c, const unsigned char *blob, size_t n)
{
	memset(c, 0, sizeof(*c));
	c->p = blob;
	c->end = blob + n;
	if (n < 1 || *c->p++ != BK_FORMAT ||
	    get_varint(&c->p, c->end, &c->left) != 0 ||
	    get_varint(&c->p, c->end, &c->base) != 0 ||
	    c->left > (uint64_t)(c->end - c->p) / BK_ENT_MIN)
		return -2;
	return 0;
}

/* Step *p over n varints without reading them: 0, or -2. */
static int
skip_varints(const unsigned char **p, const unsigned char *end, int n)
{
	const unsigned char *q = *p;
	int k, b;

	for (k = 0; k < n; k++) {
		for (b = 0; q < end && (*q & 0x80) && b < VARINT_MAX; b++)
			q++;
		if (q == end || (*q & 0x80))
			return -2;
		q++;
	}
	*p = q;
	return 0;
}

int
bk_seek(struct bk_cursor *c, uint8_t tag, const char *tok, size_t len,
    struct bk_ent *e)
{
	const unsigned char *q;
	uint64_t n;
	int cmp;

	/* Bounded by the tokens left.  Only the token found has its
	 * counts read; the others are stepped over. */
	for (;;) {
		if (!c->have) {
			if (c->left == 0)
				return c->p == c->end ? 0 : -2;
			c->at = c->p;
			if (c->p == c->end)
				return -2;
			c->cur.tag = *c->p++;
			if (c->cur.tag < tag) {
				/* Passed on the tag alone. */
				if (get_varint(&c->p, c->end, &n) != 0 ||
				    n > (uint64_t)(c->end - c->p))
					return -2;
				c->p += n;
				if (skip_varints(&c->p, c->end, 4) != 0)
					return -2;
				c->left--;
				continue;
			}
			if (get_varint(&c->p, c->end, &n) != 0 || n == 0 ||
			    n > DB_TOKEN_BYTES_MAX ||
			    n > (uint64_t)(c->end - c->p))
				return -2;
			c->cur.tok = (const char *)c->p;
			c->cur.len = (uint32_t)n;
			c->p += n;
			c->left--;
			c->have = 1;
		}
		cmp = bk_ord(c->cur.tag, c->cur.tok, c->cur.len, tag, tok,
		    len);
		if (cmp < 0) {
			if (skip_varints(&c->p, c->end, 4) != 0)
				return -2;
			c->have = 0;
			continue;
		}
		if (cmp > 0)
			return 0;
		/* Read from its start, leaving c where it is: the same
		 * token may be asked for again. */
		q = c->at;
		if (get_entry(&q, c->end, c->base, e) != 0)
			return -2;
		return 1;
	}
}

size_t
bk_bound(const struct bk_ent *e, size_t n)
{
	size_t i, b = BK_HEAD_MAX;

	for (i = 0; i < n; i++)
		b += BK_ENT_MAX(e[i].len);
	return b;
}

size_t
bk_encode(const struct bk_ent *e, size_t n, unsigned char *out)
{
	unsigned char *p = out;
	int64_t base = n > 0 ? e[0].day : 0;
	size_t i;

	for (i = 1; i < n; i++)
		if (e[i].day < base)
			base = e[i].day;
	*p++ = BK_FORMAT;
	p += put_varint(p, (uint64_t)n);
	p += put_varint(p, zigzag(base));
	for (i = 0; i < n; i++) {
		*p++ = e[i].tag;
		p += put_varint(p, e[i].len);
		memcpy(p, e[i].tok, e[i].len);
		p += e[i].len;
		p += put_varint(p, e[i].spam);
		p += put_varint(p, e[i].ham);
		p += put_varint(p, (uint64_t)e[i].day - (uint64_t)base);
		p += put_varint(p, zigzag(e[i].w));
	}
	return (size_t)(p - out);
}
