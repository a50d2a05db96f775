/* SPDX-License-Identifier: MIT */
/*
 * fuzz_bucket.c - libFuzzer target for the store's bucket format
 * (db/bucket.c): the bytes of a BLOB as a damaged or hostile store may
 * hold them.
 *
 * Besides the sanitizers it checks: bk_decode accepts or refuses without
 * reading outside the input; what it accepts encodes (bk_bound bytes at
 * most) to a bucket that decodes to the same tokens, counts, weights and
 * days; the cursor finds every accepted token, in order, with the same
 * counts, and misses a token between two of them; on any input, seeks for
 * tokens taken from the input itself end in a verdict, never a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/bucket.h"
#include "db/db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz_bucket: %s:%d: %s\n", __FILE__, __LINE__, #c); \
	abort(); } } while (0)

static int
same(const struct bk_ent *a, const struct bk_ent *b)
{
	return a->len == b->len && memcmp(a->tok, b->tok, a->len) == 0 &&
	    a->tag == b->tag && a->spam == b->spam && a->ham == b->ham &&
	    a->w == b->w && a->day == b->day;
}

/* Seeks over any input, for tokens cut from it: a verdict each time. */
static void
seek_any(const uint8_t *data, size_t size)
{
	struct bk_cursor c;
	struct bk_ent e;
	size_t i, len;
	int r;

	if (bk_cursor_init(&c, data, size) != 0)
		return;
	for (i = 0; i + 1 < size && i < 64; i += 3) {	/* a few */
		len = 1 + data[i] % 8;
		if (i + 1 + len > size)
			break;
		r = bk_seek(&c, data[i], (const char *)data + i + 1, len, &e);
		CHECK(r == 0 || r == 1 || r == -2);
		if (r < 0)
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bk_vec v = { 0 }, w = { 0 };
	struct bk_cursor c;
	struct bk_ent e;
	unsigned char *buf, *copy;
	size_t n, i;
	char gap[DB_TOKEN_BYTES_MAX + 1];

	/* An exact copy: reading one byte past it is caught. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	seek_any(copy, size);
	if (bk_decode(copy, size, &v) != 0)
		goto out;
	buf = malloc(bk_bound(v.e, v.n));
	CHECK(buf != NULL);
	n = bk_encode(v.e, v.n, buf);
	CHECK(n <= bk_bound(v.e, v.n));
	CHECK(bk_decode(buf, n, &w) == 0);
	CHECK(w.n == v.n);
	for (i = 0; i < v.n; i++)
		CHECK(same(&v.e[i], &w.e[i]));
	CHECK(bk_cursor_init(&c, buf, n) == 0);
	for (i = 0; i < v.n; i++) {
		/* Just past the one before (its bytes and a 0 byte): not
		 * stored unless it is this one. */
		if (i > 0 && v.e[i - 1].len < DB_TOKEN_BYTES_MAX) {
			memcpy(gap, v.e[i - 1].tok, v.e[i - 1].len);
			gap[v.e[i - 1].len] = '\0';
			CHECK(bk_seek(&c, v.e[i - 1].tag, gap,
			    v.e[i - 1].len + 1, &e) == (v.e[i].tag ==
			    v.e[i - 1].tag && v.e[i].len == v.e[i - 1].len + 1 &&
			    memcmp(v.e[i].tok, gap, v.e[i].len) == 0));
		}
		CHECK(bk_seek(&c, v.e[i].tag, v.e[i].tok, v.e[i].len, &e) == 1);
		CHECK(same(&e, &v.e[i]));
	}
	CHECK(bk_seek(&c, 255, "\xff\xff\xff\xff", 4, &e) >= 0);
	free(buf);
out:
	bk_vec_free(&v);
	bk_vec_free(&w);
	free(copy);
	return 0;
}
