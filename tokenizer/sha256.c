/* SPDX-License-Identifier: MIT */
/*
 * sha256.c - SHA-256 (FIPS 180-4) for tok_digest, in place of GLib's
 * GChecksum, whose C compression function was an eighth of all the
 * instructions spent training on spam.
 *
 * Two compression functions behind one streaming API: portable C with
 * the rounds unrolled by macro, and on x86 one using the SHA extensions
 * (SHA-NI), compiled for that target alone and taken only when CPUID
 * says the processor has them.  Both give the same digest; the tests
 * check each against known vectors and against GLib.
 */
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#include <stdatomic.h>
#define SHA256_X86 1
#endif

#include "tokenizer/tok_priv.h"

#define SHA256_BLOCK 64		/* bytes per compression */
#define SHA256_LENPOS 56	/* where the final block's bit count goes */

/* The round constants: the first 32 bits of the fractional parts of
 * the cube roots of the first 64 primes. */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* The initial hash value: the first 32 bits of the fractional parts of
 * the square roots of the first 8 primes. */
static const uint32_t H0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* Big-endian loads and stores by shifts: the compiler makes one load and
 * a byte swap of them where the machine wants that. */
static inline uint32_t
load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void
store_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * The portable compression function.  The eight working variables are
 * never moved: each round names them rotated by one instead, so eight
 * rounds bring the names back where they started.  The message schedule
 * is a ring of 16 words: from round 16 on, round t computes W[t] over
 * W[t-16], the one word no later round needs.  Maj(a,b,c) is
 * b ^ ((a ^ b) & (b ^ c)), and this round's a ^ b is the next round's
 * b ^ c, so it is carried in bc.
 */
#define ROTR(x, n)	((x) >> (n) | (x) << (32 - (n)))
/* The sigmas nest their rotations, e.g. ROTR(ROTR(x, 9) ^ x, 11) is
 * ROTR(x, 20) ^ ROTR(x, 11): fewer copies of x on a two-operand machine,
 * the same value. */
#define BSIG0(x)	ROTR(ROTR(ROTR(x, 9) ^ (x), 11) ^ (x), 2)
#define BSIG1(x)	ROTR(ROTR(ROTR(x, 14) ^ (x), 5) ^ (x), 6)
#define SSIG0(x)	(ROTR(ROTR(x, 11) ^ (x), 7) ^ (x) >> 3)
#define SSIG1(x)	(ROTR(ROTR(x, 2) ^ (x), 17) ^ (x) >> 10)
#define CH(e, f, g)	((g) ^ ((e) & ((f) ^ (g))))

/* W[j] for rounds 16 on, computed in place in the ring. */
#define SCHED(j)	(w[(j) & 15] += SSIG1(w[((j) + 14) & 15]) + \
			    w[((j) + 9) & 15] + SSIG0(w[((j) + 1) & 15]))

#define ROUND(a, b, c, d, e, f, g, h, k, wj) do {			\
	uint32_t t1_, ab_;						\
									\
	t1_ = (h) + BSIG1(e) + CH(e, f, g) + (k) + (wj);		\
	ab_ = (a) ^ (b);						\
	(d) += t1_;							\
	(h) = t1_ + BSIG0(a) + ((b) ^ (ab_ & bc));			\
	bc = ab_;							\
} while (0)

/* Sixteen rounds starting at round i, W[j] given by expression W. */
#define ROUNDS16(i, W) do {						\
	ROUND(a, b, c, d, e, f, g, h, K[(i) + 0], W(0));		\
	ROUND(h, a, b, c, d, e, f, g, K[(i) + 1], W(1));		\
	ROUND(g, h, a, b, c, d, e, f, K[(i) + 2], W(2));		\
	ROUND(f, g, h, a, b, c, d, e, K[(i) + 3], W(3));		\
	ROUND(e, f, g, h, a, b, c, d, K[(i) + 4], W(4));		\
	ROUND(d, e, f, g, h, a, b, c, K[(i) + 5], W(5));		\
	ROUND(c, d, e, f, g, h, a, b, K[(i) + 6], W(6));		\
	ROUND(b, c, d, e, f, g, h, a, K[(i) + 7], W(7));		\
	ROUND(a, b, c, d, e, f, g, h, K[(i) + 8], W(8));		\
	ROUND(h, a, b, c, d, e, f, g, K[(i) + 9], W(9));		\
	ROUND(g, h, a, b, c, d, e, f, K[(i) + 10], W(10));		\
	ROUND(f, g, h, a, b, c, d, e, K[(i) + 11], W(11));		\
	ROUND(e, f, g, h, a, b, c, d, K[(i) + 12], W(12));		\
	ROUND(d, e, f, g, h, a, b, c, K[(i) + 13], W(13));		\
	ROUND(c, d, e, f, g, h, a, b, K[(i) + 14], W(14));		\
	ROUND(b, c, d, e, f, g, h, a, K[(i) + 15], W(15));		\
} while (0)

#define WLOAD(j)	(w[j] = load_be32(p + 4 * (j)))

/* Compress n blocks of 64 bytes at p into the hash value st. */
static void
blocks_c(uint32_t st[8], const unsigned char *p, size_t n)
{
	uint32_t a, b, c, d, e, f, g, h, bc, w[16];
	size_t i;

	for (; n > 0; n--, p += SHA256_BLOCK) {
		a = st[0];
		b = st[1];
		c = st[2];
		d = st[3];
		e = st[4];
		f = st[5];
		g = st[6];
		h = st[7];
		bc = b ^ c;
		ROUNDS16(0, WLOAD);
		for (i = 16; i < 64; i += 16)
			ROUNDS16(i, SCHED);
		st[0] += a;
		st[1] += b;
		st[2] += c;
		st[3] += d;
		st[4] += e;
		st[5] += f;
		st[6] += g;
		st[7] += h;
	}
}

#ifdef SHA256_X86
/*
 * The SHA-NI compression function.  sha256rnds2 does two rounds on the
 * state held as two vectors, ABEF and CDGH (A in the top lane), taking
 * W[t] + K[t] for both rounds in the low two lanes of its third operand;
 * the state vectors swap roles every call.  sha256msg1 and sha256msg2
 * between them give the next four schedule words from the last sixteen,
 * kept in m[0..3], four each, message order within a vector.
 */
#define NI_TARGET __attribute__((target("sha,sse4.1")))

/* Two rounds, then two more with the upper half of wk. */
#define NI_ROUNDS4(wk) do {						\
	__m128i wk_ = (wk);						\
									\
	cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk_);			\
	abef = _mm_sha256rnds2_epu32(abef, cdgh,			\
	    _mm_shuffle_epi32(wk_, 0x0e));				\
} while (0)

/* Rounds 4q .. 4q+3; from q = 4 on, first replace m[q % 4] (which held
 * W[4q-16 ..]) with W[4q ..]: W[t-16] + s0(W[t-15]) from msg1, plus
 * W[t-7] (the vector straddling m[q-2] and m[q-1]), plus s1(W[t-2])
 * from msg2. */
#define NI_QUAD(q) do {							\
	if ((q) >= 4) {							\
		__m128i s_ = _mm_sha256msg1_epu32(m[(q) & 3],		\
		    m[((q) + 1) & 3]);					\
									\
		s_ = _mm_add_epi32(s_, _mm_alignr_epi8(m[((q) + 3) & 3],\
		    m[((q) + 2) & 3], 4));				\
		m[(q) & 3] = _mm_sha256msg2_epu32(s_, m[((q) + 3) & 3]);\
	}								\
	NI_ROUNDS4(_mm_add_epi32(m[(q) & 3],				\
	    _mm_loadu_si128((const __m128i *)&K[4 * (q)])));		\
} while (0)

NI_TARGET static void
blocks_ni(uint32_t h[8], const unsigned char *p, size_t n)
{
	/* Reverses the bytes of each 32-bit lane: big-endian words. */
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL,
	    0x0405060700010203LL);
	__m128i abef, cdgh, t, abef0, cdgh0, m[4];
	int i;

	/* h[0..3] is A B C D from the bottom lane up, h[4..7] E F G H. */
	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]),
	    0xb1);			/* B A D C */
	cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]),
	    0x1b);			/* H G F E */
	abef = _mm_alignr_epi8(t, cdgh, 8);	/* F E B A */
	cdgh = _mm_blend_epi16(cdgh, t, 0xf0);	/* H G D C */

	for (; n > 0; n--, p += SHA256_BLOCK) {
		abef0 = abef;
		cdgh0 = cdgh;
		for (i = 0; i < 4; i++)
			m[i] = _mm_shuffle_epi8(_mm_loadu_si128(
			    (const __m128i *)(p + 16 * i)), bswap);
		NI_QUAD(0);
		NI_QUAD(1);
		NI_QUAD(2);
		NI_QUAD(3);
		NI_QUAD(4);
		NI_QUAD(5);
		NI_QUAD(6);
		NI_QUAD(7);
		NI_QUAD(8);
		NI_QUAD(9);
		NI_QUAD(10);
		NI_QUAD(11);
		NI_QUAD(12);
		NI_QUAD(13);
		NI_QUAD(14);
		NI_QUAD(15);
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}

	t = _mm_shuffle_epi32(abef, 0x1b);	/* A B E F */
	cdgh = _mm_shuffle_epi32(cdgh, 0xb1);	/* G H C D */
	_mm_storeu_si128((__m128i *)&h[0],
	    _mm_blend_epi16(t, cdgh, 0xf0));	/* A B C D */
	_mm_storeu_si128((__m128i *)&h[4],
	    _mm_alignr_epi8(cdgh, t, 8));	/* E F G H */
}

/* CPUID: SHA (leaf 7 EBX), and the SSSE3 and SSE4.1 shuffles and
 * blends the SHA-NI path uses besides (leaf 1 ECX).  The SHA
 * instructions touch only XMM registers, which every x86 OS with SSE
 * saves, so no XGETBV check is needed. */
static int
cpu_has_sha(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) ||
	    (c & bit_SSSE3) == 0 || (c & bit_SSE4_1) == 0)
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & bit_SHA) != 0;
}

/*
 * Which compression function tok_sha256_init gives: 0 not asked yet,
 * 1 portable, 2 SHA-NI.  A mutable static in a module, against the house
 * rule and on purpose: a fact about the processor, asked once per
 * process because CPUID traps to the hypervisor on a virtual machine.
 * Every writer stores the same value, so concurrent first callers agree;
 * relaxed atomics keep that free of data races at no cost.
 */
static atomic_int ni_choice;

int
tok_sha256_have_ni(void)
{
	int v = atomic_load_explicit(&ni_choice, memory_order_relaxed);

	if (v == 0) {
		v = cpu_has_sha() ? 2 : 1;
		atomic_store_explicit(&ni_choice, v, memory_order_relaxed);
	}
	return v == 2;
}
#else
int
tok_sha256_have_ni(void)
{
	return 0;
}
#endif

void
tok_sha256_init_portable(struct tok_sha256 *s)
{
	memcpy(s->h, H0, sizeof(s->h));
	s->nbytes = 0;
	s->nbuf = 0;
	s->blocks = blocks_c;
}

void
tok_sha256_init(struct tok_sha256 *s)
{
	tok_sha256_init_portable(s);
#ifdef SHA256_X86
	if (tok_sha256_have_ni())
		s->blocks = blocks_ni;
#endif
}

void
tok_sha256_update(struct tok_sha256 *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n;

	if (len == 0)
		return;
	s->nbytes += len;
	if (s->nbuf > 0) {
		n = SHA256_BLOCK - s->nbuf;
		if (n > len)
			n = len;
		memcpy(s->buf + s->nbuf, p, n);
		s->nbuf += n;
		p += n;
		len -= n;
		if (s->nbuf < SHA256_BLOCK)
			return;
		s->blocks(s->h, s->buf, 1);
		s->nbuf = 0;
	}
	n = len / SHA256_BLOCK;
	if (n > 0) {
		s->blocks(s->h, p, n);
		p += n * SHA256_BLOCK;
		len -= n * SHA256_BLOCK;
	}
	if (len > 0)
		memcpy(s->buf, p, len);
	s->nbuf = len;
}

void
tok_sha256_final(struct tok_sha256 *s, unsigned char out[TOK_SHA256_BYTES])
{
	uint64_t bits = s->nbytes * 8;
	int i;

	/* A 1 bit, zeros, and the length in bits: a block more when the
	 * length does not fit after the 1 bit. */
	s->buf[s->nbuf++] = 0x80;
	if (s->nbuf > SHA256_LENPOS) {
		memset(s->buf + s->nbuf, 0, SHA256_BLOCK - s->nbuf);
		s->blocks(s->h, s->buf, 1);
		s->nbuf = 0;
	}
	memset(s->buf + s->nbuf, 0, SHA256_LENPOS - s->nbuf);
	store_be32(s->buf + SHA256_LENPOS, (uint32_t)(bits >> 32));
	store_be32(s->buf + SHA256_LENPOS + 4, (uint32_t)bits);
	s->blocks(s->h, s->buf, 1);
	for (i = 0; i < 8; i++)
		store_be32(out + 4 * i, s->h[i]);
}
