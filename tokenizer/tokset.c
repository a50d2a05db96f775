/* SPDX-License-Identifier: MIT */
/*
 * tokset.c - the set of distinct tokens of one message, with counts, and
 * the growable buffer the tokenizer uses everywhere.
 *
 * Open addressing over a power-of-two table; each slot holds the top half
 * of a token's hash and where its record is in one arena: the token's
 * index, count and length, then its bytes.  A lookup reads a slot and a
 * record, and nothing else when the token is there (a batch's set
 * outgrows the cache, and each read waits on memory).  The entry array
 * keeps what the rest needs: hash, place, length, slot.  Reset keeps the
 * memory.  Sorting
 * is a radix sort on the tokens' first 8 bytes, then on the next 8 within
 * each run that ties, and so on: a batch's header tokens share long
 * prefixes ("received:"), which a comparison sort settled with a memcmp
 * each, out of the cache.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_priv.h"

#define MERGE_RUN 64	/* tokens fetched ahead together, tok_set_merge */
#define REC_HEAD 12	/* a record's index, count, length: 4 bytes each */
#define ARENA_MAX ((size_t)UINT32_MAX - 1)	/* a record's place + 1 fits */

struct tok_ent {
	uint64_t hash;
	uint32_t off;		/* of the token's bytes, in arena */
	uint32_t len;
	uint32_t slot;		/* where the table points at it */
};

struct tok_set {
	struct tok_ent *ent;
	size_t n, cap;
	uint64_t *slot;		/* 0 = empty, else slot_value() */
	size_t nslot;		/* power of two */
	char *arena;
	size_t alen, acap;
	int truncated;
	size_t max;		/* distinct tokens held at most */
	void *scratch;		/* for tok_set_sort */
	size_t scap;		/* its bytes */
};

/* A token's place in the sort: its first 8 bytes, big-endian, zero
 * padded (the same order as memcmp, shorter first, up to ties), and its
 * index. */
struct skey {
	uint64_t key;
	size_t idx;
};

/* Eight bytes at a time, then a final mix so that the low bits (the
 * table index) depend on every byte.  Only placement depends on it: the
 * order of the tokens is their insertion order. */
static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h, w;
	uint32_t lo, hi;

	h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)n * 0xFF51AFD7ED558CCDULL);
	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x87C37B91114253D5ULL;
		h ^= h >> 31;
	}
	if (n >= 4) {
		/* The last 1-7 bytes as two overlapping 4-byte loads (the
		 * length went in at the start). */
		memcpy(&lo, s, 4);
		memcpy(&hi, s + n - 4, 4);
		w = (uint64_t)lo | (uint64_t)hi << 32;
		h = (h ^ w) * 0x87C37B91114253D5ULL;
	} else if (n > 0) {
		w = (uint64_t)(unsigned char)s[0] << 16 |
		    (uint64_t)(unsigned char)s[n >> 1] << 8 |
		    (unsigned char)s[n - 1];
		h = (h ^ w) * 0x87C37B91114253D5ULL;
	}
	h ^= h >> 33;
	h *= 0xC4CEB9FE1A85EC53ULL;
	h ^= h >> 29;
	return h;
}

struct tok_set *
tok_set_new_limit(size_t max)
{
	struct tok_set *s;

	s = calloc(1, sizeof(*s));
	if (s != NULL)
		s->max = max;
	return s;
}

struct tok_set *
tok_set_new(void)
{
	return tok_set_new_limit(TOK_MAX_TOKENS);
}

void
tok_set_free(struct tok_set *s)
{
	if (s == NULL)
		return;
	free(s->ent);
	free(s->slot);
	free(s->arena);
	free(s->scratch);
	free(s);
}

/* A slot's value for a token of hash h whose record starts at rec. */
static uint64_t
slot_value(uint64_t h, size_t rec)
{
	return (h >> 32) << 32 | (uint64_t)(rec + 1);
}

/* The record a slot value names. */
static unsigned char *
slot_rec(const struct tok_set *s, uint64_t v)
{
	return (unsigned char *)s->arena + (uint32_t)v - 1;
}

static uint32_t
get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Put entry i in table slot of nslot (a power of two). */
static void
place(struct tok_set *s, uint64_t *slot, size_t nslot, size_t i)
{
	struct tok_ent *e = &s->ent[i];
	size_t j = e->hash & (nslot - 1);

	while (slot[j] != 0)
		j = (j + 1) & (nslot - 1);
	slot[j] = slot_value(e->hash, e->off - REC_HEAD);
	e->slot = (uint32_t)j;
}

void
tok_set_reset(struct tok_set *s)
{
	size_t i;

	/* Clear only the slots in use: the table may be large and the next
	 * message small. */
	for (i = 0; i < s->n; i++)
		s->slot[s->ent[i].slot] = 0;
	s->n = 0;
	s->alen = 0;
	s->truncated = 0;
}

/* Rebuild the slots of the current table in place (after a sort): only
 * the slots in use are cleared, as in tok_set_reset. */
static void
reindex(struct tok_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		s->slot[s->ent[i].slot] = 0;
	for (i = 0; i < s->n; i++) {
		place(s, s->slot, s->nslot, i);
		/* The sort moved the entry: its record follows. */
		put32((unsigned char *)s->arena + s->ent[i].off - REC_HEAD,
		    (uint32_t)i);
	}
}

static int
rehash(struct tok_set *s, size_t nslot)
{
	uint64_t *slot;
	size_t i;

	slot = calloc(nslot, sizeof(*slot));
	if (slot == NULL)
		return TOK_ENOMEM;
	for (i = 0; i < s->n; i++)
		place(s, slot, nslot, i);
	free(s->slot);
	s->slot = slot;
	s->nslot = nslot;
	return 0;
}

/* Add or count a token whose hash_bytes is h; 1 when dropped at the
 * limit. */
static int
add_hashed(struct tok_set *s, const char *tok, size_t len, uint64_t h,
    size_t *idx)
{
	size_t j, rec;
	struct tok_ent *e;
	unsigned char *r;
	uint64_t v;

	if (s->nslot == 0 && rehash(s, 1024) != 0)
		return TOK_ENOMEM;
	j = h & (s->nslot - 1);
	while ((v = s->slot[j]) != 0) {
		r = slot_rec(s, v);
		if (v >> 32 == h >> 32 && get32(r + 8) == len &&
		    memcmp(r + REC_HEAD, tok, len) == 0) {
			put32(r + 4, get32(r + 4) + 1);
			*idx = get32(r);
			return 0;
		}
		j = (j + 1) & (s->nslot - 1);
	}
	if (s->n >= s->max) {
		s->truncated = 1;
		return 1;
	}
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 512;
		struct tok_ent *ne = realloc(s->ent, ncap * sizeof(*ne));

		if (ne == NULL)
			return TOK_ENOMEM;
		s->ent = ne;
		s->cap = ncap;
	}
	if (len > ARENA_MAX - REC_HEAD - 1 ||
	    s->alen > ARENA_MAX - REC_HEAD - 1 - len)
		return TOK_ENOMEM;	/* a record's place must fit a slot */
	if (s->alen + REC_HEAD + len + 1 > s->acap) {
		size_t ncap = s->acap ? s->acap * 2 : 8192;
		char *na;

		while (ncap < s->alen + REC_HEAD + len + 1)
			ncap *= 2;
		na = realloc(s->arena, ncap);
		if (na == NULL)
			return TOK_ENOMEM;
		s->arena = na;
		s->acap = ncap;
	}
	rec = s->alen;
	r = (unsigned char *)s->arena + rec;
	put32(r, (uint32_t)s->n);
	put32(r + 4, 1);
	put32(r + 8, (uint32_t)len);
	memcpy(r + REC_HEAD, tok, len);
	r[REC_HEAD + len] = '\0';
	e = &s->ent[s->n];
	e->off = (uint32_t)(rec + REC_HEAD);
	e->len = (uint32_t)len;
	e->hash = h;
	s->alen += REC_HEAD + len + 1;
	s->slot[j] = slot_value(h, rec);
	e->slot = (uint32_t)j;
	*idx = s->n;
	s->n++;
	if (s->n * 2 > s->nslot)
		return rehash(s, s->nslot * 2);
	return 0;
}

static int
add(struct tok_set *s, const char *tok, size_t len, size_t *idx)
{
	return add_hashed(s, tok, len, hash_bytes(tok, len), idx);
}

int
tok_set_add(struct tok_set *s, const char *tok, size_t len)
{
	size_t idx;
	int rc;

	if (len == 0)
		return 0;
	rc = add(s, tok, len, &idx);
	return rc == 1 ? 0 : rc;
}

int
tok_set_add_idx(struct tok_set *s, const char *tok, size_t len, size_t *idx)
{
	int rc;

	if (len == 0)
		return TOK_EINVAL;
	rc = add(s, tok, len, idx);
	return rc == 1 ? TOK_ENOMEM : rc;
}

/* The record dst's table names first for hash h, if any: most often the
 * one add_hashed will compare. */
static const unsigned char *
first_rec(const struct tok_set *dst, uint64_t h)
{
	uint64_t v = dst->slot[h & (dst->nslot - 1)];

	return v != 0 ? slot_rec(dst, v) : NULL;
}

int
tok_set_merge(struct tok_set *dst, const struct tok_set *src, uint32_t *idx)
{
	size_t i, i0, n, at;
	const struct tok_ent *e;
	const unsigned char *r;
	int rc;

	/* A batch's set outgrows the cache, and a lookup there waits on
	 * memory twice: slot, record.  For each run of MERGE_RUN tokens,
	 * all the slots are asked for first, then the records they name,
	 * so that the waits overlap. */
	for (i0 = 0; i0 < src->n; i0 += n) {
		n = src->n - i0 < MERGE_RUN ? src->n - i0 : MERGE_RUN;
		for (i = i0; dst->nslot != 0 && i < i0 + n; i++)
			__builtin_prefetch(&dst->slot[src->ent[i].hash &
			    (dst->nslot - 1)]);
		for (i = i0; dst->nslot != 0 && i < i0 + n; i++)
			if ((r = first_rec(dst, src->ent[i].hash)) != NULL)
				__builtin_prefetch(r);
		for (i = i0; i < i0 + n; i++) {
			e = &src->ent[i];
			rc = add_hashed(dst, src->arena + e->off, e->len,
			    e->hash, &at);
			if (rc != 0)
				return rc == 1 ? TOK_ENOMEM : rc;
			idx[i] = (uint32_t)at;
		}
	}
	return 0;
}

size_t
tok_set_count(const struct tok_set *s)
{
	return s->n;
}

int
tok_set_truncated(const struct tok_set *s)
{
	return s->truncated;
}

const char *
tok_set_token(const struct tok_set *s, size_t i, size_t *len)
{
	if (len != NULL)
		*len = s->ent[i].len;
	return s->arena + s->ent[i].off;
}

unsigned
tok_set_freq(const struct tok_set *s, size_t i)
{
	return get32((const unsigned char *)s->arena + s->ent[i].off - 8);
}

static int
cmp_ent(const void *a, const void *b, void *arena)
{
	const struct tok_ent *x = a, *y = b;
	const char *ar = arena;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(ar + x->off, ar + y->off, n);

	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* Bytes [at, at + 8) of a token, big-endian, zero padded: tokens hold
 * no NUL, so comparing these in turn compares as memcmp, shorter first. */
static uint64_t
chunk_key(const char *p, size_t len, size_t at)
{
	unsigned char b[8] = { 0 };

	if (at < len)
		memcpy(b, p + at, len - at < 8 ? len - at : 8);
	return (uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 |
	    (uint64_t)b[2] << 40 | (uint64_t)b[3] << 32 |
	    (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 |
	    (uint64_t)b[6] << 8 | (uint64_t)b[7];
}

static int
key_less(const struct tok_set *s, const struct skey *a, const struct skey *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	return cmp_ent(&s->ent[a->idx], &s->ent[b->idx], s->arena) < 0;
}

#define SORT_SMALL 24	/* tie runs up to this many: insertion sort */
#define SORT_DEPTH_MAX 160 /* chunks of 8 bytes: past any token's length */

static void
insertion_sort(const struct tok_set *s, struct skey *a, size_t n)
{
	struct skey x;
	size_t i, j;

	for (i = 1; i < n; i++) {
		x = a[i];
		for (j = i; j > 0 && key_less(s, &x, &a[j - 1]); j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

/* Sort a[0..n) by key with a least-significant-byte-first radix sort
 * through tmp, skipping the bytes all keys share; the result is in a. */
static void
radix_keys(struct skey *a, struct skey *tmp, size_t n)
{
	size_t count[8][256], i, pos, c;
	struct skey *from = a, *to = tmp, *t;
	int d;

	memset(count, 0, sizeof(count));
	for (i = 0; i < n; i++)
		for (d = 0; d < 8; d++)
			count[d][(a[i].key >> (8 * d)) & 0xFF]++;
	for (d = 0; d < 8; d++) {
		if (count[d][(a[0].key >> (8 * d)) & 0xFF] == n)
			continue;	/* one value: the pass changes nothing */
		for (c = 0, pos = 0; c < 256; c++) {
			size_t k = count[d][c];

			count[d][c] = pos;
			pos += k;
		}
		for (i = 0; i < n; i++)
			to[count[d][(from[i].key >> (8 * d)) & 0xFF]++] =
			    from[i];
		t = from;
		from = to;
		to = t;
	}
	if (from != a)
		memcpy(a, from, n * sizeof(*a));
}

/* Sort a[0..n) (each key = chunk 'depth' of its token) into token order:
 * radix on the chunk, then each run of equal chunks by the next chunk.
 * tmp has room for n. */
static void
sort_depth(const struct tok_set *s, struct skey *a, struct skey *tmp,
    size_t n, size_t depth)
{
	size_t lo, hi, i;
	const struct tok_ent *e;

	if (n < 2)
		return;
	if (n <= SORT_SMALL || depth >= SORT_DEPTH_MAX) {
		insertion_sort(s, a, n);
		return;
	}
	radix_keys(a, tmp, n);
	for (lo = 0; lo < n; lo = hi) {
		for (hi = lo + 1; hi < n && a[hi].key == a[lo].key; hi++)
			;
		if (hi - lo < 2)
			continue;
		/* A tie: the tokens agree so far; order them by what
		 * follows (tokens that ended sort first, with key 0). */
		for (i = lo; i < hi; i++) {
			e = &s->ent[a[i].idx];
			a[i].key = chunk_key(s->arena + e->off, e->len,
			    8 * (depth + 1));
		}
		sort_depth(s, a + lo, tmp, hi - lo, depth + 1);
	}
}

void
tok_set_sort(struct tok_set *s)
{
	struct skey *a, *b;
	struct tok_ent *e;
	size_t i, need;
	void *ns;

	if (s->n < 2)
		return;
	need = s->n * (2 * sizeof(struct skey) + sizeof(struct tok_ent));
	if (need > s->scap) {
		ns = malloc(need);
		if (ns == NULL) {
			/* No room to spare: the library sort, in place. */
			qsort_r(s->ent, s->n, sizeof(*s->ent), cmp_ent,
			    s->arena);
			reindex(s);
			return;
		}
		free(s->scratch);
		s->scratch = ns;
		s->scap = need;
	}
	a = s->scratch;
	b = a + s->n;
	e = (struct tok_ent *)(void *)(b + s->n);
	for (i = 0; i < s->n; i++) {
		a[i].key = chunk_key(s->arena + s->ent[i].off, s->ent[i].len,
		    0);
		a[i].idx = i;
	}
	sort_depth(s, a, b, s->n, 0);
	for (i = 0; i < s->n; i++)
		e[i] = s->ent[a[i].idx];
	memcpy(s->ent, e, s->n * sizeof(*e));
	reindex(s);
}

int
tbuf_add(struct tbuf *b, const char *s, size_t n)
{
	size_t ncap;
	char *np;

	if (b->len + n + 1 > TBUF_MAX)
		return 0;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 4096;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (np == NULL)
			return TOK_ENOMEM;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
tbuf_addc(struct tbuf *b, char c)
{
	return tbuf_add(b, &c, 1);
}

void
tbuf_release(struct tbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
