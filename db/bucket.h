/* SPDX-License-Identifier: MIT */
/*
 * bucket.h - the token store's on-disk bucket format, private to db/.
 *
 * Tokens are kept many to a row: a token's 64-bit hash (bk_hash) names
 * its bucket at the store's level L (bk_key), and a bucket is one BLOB
 * holding its tokens in the order of their tags (the hash's low byte,
 * bk_tag), then bytewise (bk_cmp), so that a lookup passes most of the
 * others on the tag alone:
 *
 *	byte 0		BK_FORMAT
 *	varint		number of entries
 *	zigzag varint	day base (the smallest day of the entries)
 *	then per entry:	the tag byte, varint length, the token's bytes,
 *			varint spam, varint ham, varint day - base, zigzag
 *			varint w
 *
 * Varints are little-endian base 128 (7 bits a byte, high bit: more), at
 * most 10 bytes.  The functions here never touch SQLite, never print and
 * never allocate except where they say so.
 */
#ifndef SPAMSIFT_BUCKET_H
#define SPAMSIFT_BUCKET_H

#include <stddef.h>
#include <stdint.h>

#define BK_FORMAT	1
#define BK_LEVEL_MIN	6	/* a new store's level: 64 buckets */
#define BK_LEVEL_MAX	40	/* 2^40 buckets: far beyond any store */
#define BK_KEY_BITS	BK_LEVEL_MAX	/* bits of a key (bk_key) */
#define BK_AVG		32	/* tokens a bucket at most on average */
#define BK_HEAD_MAX	(1 + 10 + 10)	/* format, count, day base */
#define BK_ENT_MIN	7	/* one entry's bytes at least */
#define BK_ENT_MAX(len)	((len) + 1 + 5 * 10) /* ... and at most */

/* One token of a bucket.  tok is borrowed (from the decoded blob, or the
 * caller's batch); len is 1 to DB_TOKEN_BYTES_MAX. */
struct bk_ent {
	const char *tok;
	uint32_t len;
	uint8_t tag;		/* bk_tag of the token's hash */
	uint32_t spam;
	uint32_t ham;
	int32_t w;
	int64_t day;
};

/* A growable array of entries, owned by its user: bk_vec_free(). */
struct bk_vec {
	struct bk_ent *e;
	size_t n, cap;
};

/* The hash that places a token: the same on every machine (it is on
 * disk). */
uint64_t bk_hash(const char *tok, size_t len);

/* The bucket of hash h at level (BK_LEVEL_MIN..BK_LEVEL_MAX): the top
 * level bits of h, left-aligned in BK_KEY_BITS bits.  A bucket's first
 * half at the next level keeps its key, and the second half's key comes
 * right after it, so that a split rewrites the store's pages in place
 * (schema 4). */
int64_t bk_key(uint64_t h, int level);

/* Whether key can be a bucket's at level: below 2^BK_KEY_BITS, with
 * nothing in the bits the level leaves out. */
int bk_key_ok(int64_t key, int level);

/* Schema 3's key: the top level bits of h with a 1 above them (so that
 * no two levels share a key).  A split wrote every bucket anew. */
int64_t bk_key3(uint64_t h, int level);

/* The tag of hash h. */
static inline uint8_t
bk_tag(uint64_t h)
{
	return (uint8_t)h;
}

/* Bytewise order, a prefix before what it begins: <0, 0, >0. */
int bk_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* A bucket's order: by tag, then bk_cmp. */
int bk_ord(uint8_t atag, const char *a, size_t alen, uint8_t btag,
    const char *b, size_t blen);

/* Decode a bucket of n bytes into v (emptied first; grown with realloc;
 * its tok pointers point into blob).  0, -1 when out of memory, or -2
 * when the blob is not a well-formed bucket (bad varints, a token of 0
 * or too many bytes, counts beyond 32 bits or both 0, a weight beyond
 * +-INT32_MAX, entries out of bk_ord order, bytes left over).  Tags are
 * not checked against the tokens' hashes (db_check does). */
int bk_decode(const unsigned char *blob, size_t n, struct bk_vec *v);

/* A reader going once through a bucket's tokens, for lookups that need
 * a few of them: nothing is copied or kept. */
struct bk_cursor {
	const unsigned char *p, *end;
	const unsigned char *at;	/* where cur begins */
	uint64_t left;		/* tokens not read yet */
	uint64_t base;		/* the day base, as stored */
	int have;		/* cur's token read, not passed yet */
	struct bk_ent cur;	/* its tok and len only */
};

/* Start c on a bucket of n bytes (borrowed for c's life): 0, or -2 when
 * its head is not a bucket's. */
int bk_cursor_init(struct bk_cursor *c, const unsigned char *blob, size_t n);

/* Move c to the first token not before (tag, tok) (calls go in bk_ord
 * order; the same token again is fine): 1 and *e when that is tok, 0
 * when tok is not in the bucket, -2 when the bucket is not well formed
 * as far as it was read (order is not checked: bk_decode does that). */
int bk_seek(struct bk_cursor *c, uint8_t tag, const char *tok, size_t len,
    struct bk_ent *e);

/* The bytes bk_encode needs at most for e[0..n). */
size_t bk_bound(const struct bk_ent *e, size_t n);

/* Write e[0..n) (in bk_ord order, the caller's duty) as a bucket into
 * out, which holds bk_bound(e, n) bytes; returns the bytes written. */
size_t bk_encode(const struct bk_ent *e, size_t n, unsigned char *out);

/* Make room for want entries in v: 0 or -1 (out of memory). */
int bk_vec_reserve(struct bk_vec *v, size_t want);
void bk_vec_free(struct bk_vec *v);

#endif
