/* SPDX-License-Identifier: MIT */
/*
 * tokset.c - the set of distinct tokens of one message, with counts, and
 * the growable buffer the tokenizer uses everywhere.
 *
 * Open addressing over a power-of-two table of indexes into an entry
 * array; token bytes live in one arena.  Reset keeps the memory.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_priv.h"

struct tok_ent {
	size_t off;		/* into arena */
	size_t len;
	uint64_t hash;
	unsigned freq;
	uint32_t slot;		/* where the table points at it */
};

struct tok_set {
	struct tok_ent *ent;
	size_t n, cap;
	uint32_t *slot;		/* index + 1; 0 = empty */
	size_t nslot;		/* power of two */
	char *arena;
	size_t alen, acap;
	int truncated;
	size_t max;		/* distinct tokens held at most */
};

static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
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
	free(s);
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

/* Rebuild the slots of the current table in place (after a sort). */
static void
reindex(struct tok_set *s)
{
	size_t i, j;

	memset(s->slot, 0, s->nslot * sizeof(*s->slot));
	for (i = 0; i < s->n; i++) {
		j = s->ent[i].hash & (s->nslot - 1);
		while (s->slot[j] != 0)
			j = (j + 1) & (s->nslot - 1);
		s->slot[j] = (uint32_t)(i + 1);
		s->ent[i].slot = (uint32_t)j;
	}
}

static int
rehash(struct tok_set *s, size_t nslot)
{
	uint32_t *slot;
	size_t i, j;

	slot = calloc(nslot, sizeof(*slot));
	if (slot == NULL)
		return TOK_ENOMEM;
	for (i = 0; i < s->n; i++) {
		j = s->ent[i].hash & (nslot - 1);
		while (slot[j] != 0)
			j = (j + 1) & (nslot - 1);
		slot[j] = (uint32_t)(i + 1);
		s->ent[i].slot = (uint32_t)j;
	}
	free(s->slot);
	s->slot = slot;
	s->nslot = nslot;
	return 0;
}

/* Add or count a token; 1 when dropped at the limit. */
static int
add(struct tok_set *s, const char *tok, size_t len, size_t *idx)
{
	uint64_t h;
	size_t j;
	struct tok_ent *e;

	if (s->nslot == 0 && rehash(s, 1024) != 0)
		return TOK_ENOMEM;
	h = hash_bytes(tok, len);
	j = h & (s->nslot - 1);
	while (s->slot[j] != 0) {
		e = &s->ent[s->slot[j] - 1];
		if (e->hash == h && e->len == len &&
		    memcmp(s->arena + e->off, tok, len) == 0) {
			e->freq++;
			*idx = s->slot[j] - 1;
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
	if (s->alen + len + 1 > s->acap) {
		size_t ncap = s->acap ? s->acap * 2 : 8192;
		char *na;

		while (ncap < s->alen + len + 1)
			ncap *= 2;
		na = realloc(s->arena, ncap);
		if (na == NULL)
			return TOK_ENOMEM;
		s->arena = na;
		s->acap = ncap;
	}
	memcpy(s->arena + s->alen, tok, len);
	s->arena[s->alen + len] = '\0';
	e = &s->ent[s->n];
	e->off = s->alen;
	e->len = len;
	e->hash = h;
	e->freq = 1;
	s->alen += len + 1;
	s->slot[j] = (uint32_t)(s->n + 1);
	e->slot = (uint32_t)j;
	*idx = s->n;
	s->n++;
	if (s->n * 2 > s->nslot)
		return rehash(s, s->nslot * 2);
	return 0;
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
	return s->ent[i].freq;
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

void
tok_set_sort(struct tok_set *s)
{
	if (s->n < 2)
		return;
	qsort_r(s->ent, s->n, sizeof(*s->ent), cmp_ent, s->arena);
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
