/* SPDX-License-Identifier: MIT */
/*
 * tokq.c - messages tokenized on worker threads, taken back in order.
 *
 * A ring of depth slots.  Three counters, each only growing: put (slots
 * given), next (slots a worker has claimed) and taken (slots released),
 * taken <= next <= put <= taken + depth.  A slot owns a copy of its
 * message, a token set and the results; a worker owns a tokenizer.  One
 * mutex guards the counters and the slots' done flags; a worker works on
 * its slot outside it, and the caller reads a slot only once done.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "src/tokq.h"

struct slot {
	char *buf;		/* the message's copy */
	size_t len, cap;
	int done;		/* 1: tokenized (under the mutex) */
	struct tokq_msg msg;
	struct tok_set *set;	/* msg.set */
};

struct worker {
	struct tokq *q;
	struct tok *tok;
	pthread_t th;
	int started;
};

struct tokq {
	pthread_mutex_t mu;
	pthread_cond_t work;	/* put > next, or stop */
	pthread_cond_t done;	/* a slot is done */
	struct slot *slot;
	size_t depth;
	size_t put, next, taken;
	size_t want;		/* the slot the caller sleeps on, + 1; 0:
				 * none (under mu) */
	int stop;
	struct worker *w;
	int nw;
	struct tok *mine;	/* the caller's (borrowed), for tokq_take */
	int sync_ok;		/* mu and the conds were made */
};

void
tokq_tokenize(struct tok *t, const char *buf, size_t len,
    struct tok_set *set, struct tokq_msg *m)
{
	tok_set_reset(set);
	m->set = set;
	m->rc = tok_message(t, buf, len, set);
	m->has_older = tok_digests(buf, len, m->digest, m->older, m->msgid,
	    sizeof(m->msgid));
}

static void
tokenize(struct tok *t, struct slot *s)
{
	tokq_tokenize(t, s->buf, s->len, s->set, &s->msg);
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct tokq *q = w->q;
	struct slot *s;

	pthread_mutex_lock(&q->mu);
	/* Bounded by the messages given: each pass takes one, or ends. */
	for (;;) {
		while (!q->stop && q->next == q->put)
			pthread_cond_wait(&q->work, &q->mu);
		if (q->stop)
			break;
		s = &q->slot[q->next++ % q->depth];
		pthread_mutex_unlock(&q->mu);
		tokenize(w->tok, s);
		pthread_mutex_lock(&q->mu);
		s->done = 1;
		if (q->want == (size_t)(s - q->slot) + 1)
			pthread_cond_signal(&q->done);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int
tokq_new(struct tokq **out, const struct tok_opts *o, int nthreads,
    size_t depth, struct tok *mine)
{
	struct tokq *q = NULL;
	size_t i;
	int rc = TOK_ENOMEM;

	*out = NULL;
	if (nthreads < 1 || nthreads > TOKQ_MAX_THREADS ||
	    depth < (size_t)nthreads)
		return TOK_EINVAL;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		goto out;
	q->depth = depth;
	q->mine = mine;
	q->slot = calloc(depth, sizeof(*q->slot));
	q->w = calloc((size_t)nthreads, sizeof(*q->w));
	if (q->slot == NULL || q->w == NULL)
		goto out;
	for (i = 0; i < depth; i++) {
		q->slot[i].set = tok_set_new();
		if (q->slot[i].set == NULL)
			goto out;
	}
	if (pthread_mutex_init(&q->mu, NULL) != 0)
		goto out;
	if (pthread_cond_init(&q->work, NULL) != 0) {
		pthread_mutex_destroy(&q->mu);
		goto out;
	}
	if (pthread_cond_init(&q->done, NULL) != 0) {
		pthread_cond_destroy(&q->work);
		pthread_mutex_destroy(&q->mu);
		goto out;
	}
	q->sync_ok = 1;
	/* The tokenizers are made, and made ready, here: what they set up
	 * for the whole process (GMime) is then set up once, before any
	 * worker runs. */
	for (q->nw = 0; q->nw < nthreads; q->nw++) {
		struct worker *w = &q->w[q->nw];

		w->q = q;
		rc = tok_new(&w->tok, o);
		if (rc == 0)
			rc = tok_prepare(w->tok);
		if (rc != 0) {
			q->nw++;	/* its tokenizer, if any, is freed */
			goto out;
		}
	}
	for (i = 0; i < (size_t)q->nw; i++) {
		if (pthread_create(&q->w[i].th, NULL, work, &q->w[i]) != 0) {
			rc = TOK_ENOMEM;
			goto out;
		}
		q->w[i].started = 1;
	}
	*out = q;
	q = NULL;
	rc = 0;
out:
	tokq_free(q);
	return rc;
}

void
tokq_free(struct tokq *q)
{
	size_t i;
	int k;

	if (q == NULL)
		return;
	if (q->sync_ok) {
		pthread_mutex_lock(&q->mu);
		q->stop = 1;
		pthread_cond_broadcast(&q->work);
		pthread_mutex_unlock(&q->mu);
	}
	for (k = 0; k < q->nw; k++) {
		if (q->w[k].started)
			pthread_join(q->w[k].th, NULL);
		tok_free(q->w[k].tok);
	}
	if (q->sync_ok) {
		pthread_cond_destroy(&q->done);
		pthread_cond_destroy(&q->work);
		pthread_mutex_destroy(&q->mu);
	}
	for (i = 0; q->slot != NULL && i < q->depth; i++) {
		free(q->slot[i].buf);
		tok_set_free(q->slot[i].set);
	}
	free(q->slot);
	free(q->w);
	free(q);
}

size_t
tokq_pending(const struct tokq *q)
{
	/* put and taken change only on the caller's thread. */
	return q->put - q->taken;
}

int
tokq_full(const struct tokq *q)
{
	return q->put - q->taken == q->depth;
}

int
tokq_put(struct tokq *q, const char *buf, size_t len,
    const struct tokq_meta *meta)
{
	struct slot *s;

	if (tokq_full(q))
		return TOK_EINVAL;
	/* Released, so no worker holds it: the caller's alone. */
	s = &q->slot[q->put % q->depth];
	if (len > s->cap) {
		char *nb = malloc(len);

		if (nb == NULL)
			return TOK_ENOMEM;
		free(s->buf);
		s->buf = nb;
		s->cap = len;
	}
	if (len > 0)
		memcpy(s->buf, buf, len);
	s->len = len;
	s->msg.meta = *meta;
	pthread_mutex_lock(&q->mu);
	s->done = 0;
	q->put++;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

/* Sleep until slot i is done (mu held). */
static void
wait_done(struct tokq *q, size_t i)
{
	struct slot *s = &q->slot[i % q->depth];

	while (!s->done) {
		q->want = i % q->depth + 1;
		pthread_cond_wait(&q->done, &q->mu);
	}
	q->want = 0;
}

const struct tokq_msg *
tokq_take(struct tokq *q)
{
	struct slot *s, *h;

	if (q->put == q->taken)
		return NULL;
	s = &q->slot[q->taken % q->depth];
	pthread_mutex_lock(&q->mu);
	/* While it is not done, the caller tokenizes the messages no
	 * worker has taken yet (newer ones: the order taken back is the
	 * order given all the same) rather than wait, and sleeps only
	 * when every one is taken: a sleep per message cost a fifth more
	 * CPU time.  Bounded by the messages given. */
	while (!s->done && q->next < q->put) {
		h = &q->slot[q->next++ % q->depth];
		pthread_mutex_unlock(&q->mu);
		tokenize(q->mine, h);
		pthread_mutex_lock(&q->mu);
		h->done = 1;
	}
	wait_done(q, q->taken);
	pthread_mutex_unlock(&q->mu);
	return &s->msg;
}

void
tokq_done(struct tokq *q)
{
	if (q->put > q->taken)
		q->taken++;
}
