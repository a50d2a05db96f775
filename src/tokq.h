/* SPDX-License-Identifier: MIT */
/*
 * tokq.h - messages tokenized on worker threads and handed back in the
 * order they were given.  Tokenizing is most of a bulk training's CPU
 * time (three fifths on the SpamAssassin corpus); on a machine with more
 * than one core it runs beside the store's work, which stays on the
 * caller's thread: no other thread touches the store.  A message's
 * tokens and digests do not depend on the thread that made them, so a
 * training learns the same store with or without workers.
 */
#ifndef SPAMSIFT_TOKQ_H
#define SPAMSIFT_TOKQ_H

#include <stddef.h>

#include "tokenizer/tokenizer.h"

#define TOKQ_MAX_THREADS 64	/* workers at most */
#define TOKQ_MSGID_BYTES 128	/* msgid's room, NUL included */

struct tokq;

/* What the caller gives with a message, given back with it untouched. */
struct tokq_meta {
	int cls;
	int sub;
	size_t cookie;
};

/* One message as a worker left it. */
struct tokq_msg {
	struct tokq_meta meta;
	int rc;			/* tok_message's: 0 or a TOK_E* code */
	const struct tok_set *set;	/* its tokens (rc == 0) */
	unsigned char digest[TOK_DIGEST_BYTES];	/* tok_digests' */
	unsigned char older[TOK_DIGEST_BYTES];
	int has_older;
	char msgid[TOKQ_MSGID_BYTES];
};

/* Tokenize buf[0..len) with t into set (reset first) and fill m's
 * results: set, rc and the digests (m->meta is left alone).  What a
 * worker does with each message; a caller that tokenizes a message
 * itself does the same through this.  Never fails: m->rc says. */
void tokq_tokenize(struct tok *t, const char *buf, size_t len,
    struct tok_set *set, struct tokq_msg *m);

/* Start nthreads workers (1 to TOKQ_MAX_THREADS), each with a tokenizer
 * made from o (copied), with room for depth messages in flight (at least
 * nthreads).  mine is the caller's tokenizer, borrowed for the queue's
 * life: tokq_take tokenizes with it on the caller's thread; it must have
 * been made ready (tok_prepare).  Returns 0, TOK_EINVAL for counts out
 * of range, or tok_new's TOK_ENOMEM or TOK_EINIT.  *out: tokq_free(). */
int tokq_new(struct tokq **out, const struct tok_opts *o, int nthreads,
    size_t depth, struct tok *mine);

/* Stop and join the workers (each finishes the message it holds), and
 * free everything.  NULL is a no-op. */
void tokq_free(struct tokq *q);

/* Messages given and not yet released (tokq_done). */
size_t tokq_pending(const struct tokq *q);
/* 1 when no message can be given before the oldest is released. */
int tokq_full(const struct tokq *q);

/* Give a copy of buf[0..len) to the workers.  Returns 0, TOK_EINVAL when
 * the queue is full, or TOK_ENOMEM (nothing given then). */
int tokq_put(struct tokq *q, const char *buf, size_t len,
    const struct tokq_meta *meta);

/* The oldest message given, once tokenized; NULL when none is pending.
 * Until it is, the caller tokenizes the messages no worker has taken
 * yet, and sleeps only when none is left.  Borrowed: valid until
 * tokq_done. */
const struct tokq_msg *tokq_take(struct tokq *q);

/* Release the message tokq_take returned, for its room to be reused. */
void tokq_done(struct tokq *q);

#endif
