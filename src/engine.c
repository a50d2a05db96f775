/* SPDX-License-Identifier: MIT */
/*
 * engine.c - classify and learn.
 *
 * Classifying: tokenize, one db_lookup call (served from the preloaded
 * store once a batch makes that cheaper, see preload_pays), combine.
 * Learning: messages are tokenized as they come and kept as lists of
 * indexes into one interning set; a flush decides, inside one write
 * transaction, what each message does (new, duplicate, move, remove)
 * from what the store remembers, takes the logistic learner through the
 * batch's messages in order (score.h: each step needs the weights the
 * steps before it left), adds up the per-token changes, and
 * writes each touched token once, in one db_add_tokens
 * call.  The write lock is held only for the flush, never while
 * tokenizing.  With worker threads (engine_set_threads), a bulk run's
 * messages are tokenized on them (tokq.h) and taken back in order here:
 * the batch, the flushes and the store stay on this thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "src/engine.h"
#include "src/tokq.h"
#include "tokenizer/tokenizer.h"

#define BATCH_MIN_MSGS 2000		/* messages per transaction, and */
#define BATCH_MAX_MSGS 20000		/* ... past it (see batch_full) */
#define BATCH_STORE_SHARE 2		/* ... until a batch's tokens are
					 * this share of the store's */
#define BATCH_GROW_TOKENS (1u << 20)	/* ... or this many */
#define BATCH_MAX_TOKENS (4u << 20)	/* distinct tokens per batch */
#define BATCH_MAX_REFS (32u << 20)	/* token references per batch */
#define ROBX_MIN_COUNT 2		/* tokens that shape robx */
#define PRELOAD_FACTOR 27		/* bytes a stored token; see classify */
#define PRELOAD_AHEAD 60		/* store bytes one lookup outweighs */
#define ROBX_MIN_MICRO 400000		/* robx kept in [0.4, 0.6] */
#define ROBX_MAX_MICRO 600000
#define LR_RUN_MSGS 20			/* see teaches */
#define LR_AHEAD_MSGS 32		/* messages one lr_step looks up */
#define TOKQ_DEPTH_PER_THREAD 8		/* messages in flight a worker */
#define TOKQ_MSG_MAX_BYTES (1 << 20)	/* bigger: tokenized on this thread
					 * (the copies in flight, and the
					 * workers' memory, stay bounded) */

struct pending {
	unsigned char digest[TOK_DIGEST_BYTES];
	unsigned char older[TOK_DIGEST_BYTES];	/* tok_digests' */
	int has_older;
	char msgid[TOKQ_MSGID_BYTES];
	enum db_class cls;
	int sub;
	size_t cookie;
	size_t first, n;	/* into refs */
};

/* robx's sum over the store's tokens (robx_tok), with totals ns, nh. */
struct robx_acc {
	const struct score_params *sp;
	uint64_t ns, nh;
	double sum;
	uint64_t n;
};

struct engine {
	const struct opts *o;
	struct score_params sp;
	struct tok *tok;
	struct tok_set *set;
	struct db *db;
	char err[512];
	/* classify scratch */
	const char **toks;
	size_t *lens;
	struct db_counts *counts;
	struct score_token *st;
	size_t cap;
	/* learning batch */
	struct tok_set *agg;
	uint32_t *refs;
	size_t nrefs, refcap;
	struct pending *pend;
	size_t npend, pendcap;
	int64_t *dspam, *dham, *dw;
	int32_t *w0;		/* the batch's tokens' stored weights */
	unsigned char *w0got;	/* 1: w0 read (lr_step) */
	uint32_t *w0want;	/* lr_step's tokens to look up */
	engine_learn_fn fn;
	void *fnctx;
	/* batch classification: preload once lookups would cost more */
	int batch, preloaded;
	uint64_t looked;	/* tokens looked up through SQL so far */
	uint64_t nclass;	/* messages classified so far */
	uint64_t db_bytes;	/* store size at open */
	int64_t lr_msgs;	/* messages shown to the learner */
	/* tokenizing on workers: from the second message learned */
	int threads;		/* engine_set_threads; 0: none */
	struct tokq *q;
	uint64_t nlearn;	/* engine_learn calls */
	int64_t store_tokens;	/* the store's tokens after the last flush
				 * (-1: not read yet; batch_full) */
	int opts_changed;	/* see engine_opts_changed */
	struct robx_acc rx;	/* robx counted during a flush's commit */
	int rx_ready;		/* rx is the store as that commit left it */
	/* what this run has shown the learner (teaches) */
	int stream;		/* mail as it comes: no limit */
	enum db_class run_cls;	/* the class learned so far, DB_NONE */
	int run_mixed;		/* both classes learned */
	uint64_t run_taught;
};

static int
grow(struct engine *e, size_t n)
{
	size_t ncap = e->cap ? e->cap : 1024;
	void *p;

	if (n <= e->cap)
		return 0;
	while (ncap < n)
		ncap *= 2;
	p = realloc(e->toks, ncap * sizeof(*e->toks));
	if (p == NULL)
		return -1;
	e->toks = p;
	p = realloc(e->lens, ncap * sizeof(*e->lens));
	if (p == NULL)
		return -1;
	e->lens = p;
	p = realloc(e->counts, ncap * sizeof(*e->counts));
	if (p == NULL)
		return -1;
	e->counts = p;
	p = realloc(e->st, ncap * sizeof(*e->st));
	if (p == NULL)
		return -1;
	e->st = p;
	e->cap = ncap;
	return 0;
}

int
engine_new(struct engine **out, const struct opts *o, const char *dbpath,
    int dbflags, char *err, size_t errsz)
{
	struct engine *e = NULL;
	int rc = DB_ENOMEM;
	int64_t robx;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		snprintf(err, errsz, "%s: out of memory", dbpath);
		goto out;
	}
	e->o = o;
	e->sp = o->sp;
	e->store_tokens = -1;
	rc = tok_new(&e->tok, &o->to);
	if (rc != 0) {
		snprintf(err, errsz, "tokenizer: %s", tok_strerror(rc));
		goto out;
	}
	e->set = tok_set_new();
	if (e->set == NULL) {
		rc = DB_ENOMEM;
		snprintf(err, errsz, "tokenizer: out of memory");
		goto out;
	}
	if (dbpath != NULL) {
		struct stat st;

		if (stat(dbpath, &st) == 0)
			e->db_bytes = (uint64_t)st.st_size;
		rc = db_open(&e->db, dbpath, dbflags, TOK_VERSION, o->busy_ms);
		if (rc != 0) {
			snprintf(err, errsz, "%s", db_errmsg(e->db, rc));
			goto out;
		}
		if (!o->robx_given && db_meta_get(e->db, "robx_micro",
		    &robx) == 0 && robx > 0 && robx < 1000000)
			e->sp.robx = (double)robx / 1e6;
		if (db_meta_get(e->db, "lr_msgs", &e->lr_msgs) != 0)
			e->lr_msgs = 0;
	}
	*out = e;
	e = NULL;
	rc = 0;
out:
	engine_free(e);
	return rc;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	tokq_free(e->q);
	tok_free(e->tok);
	tok_set_free(e->set);
	tok_set_free(e->agg);
	db_close(e->db);
	free(e->toks);
	free(e->lens);
	free(e->counts);
	free(e->st);
	free(e->refs);
	free(e->pend);
	free(e->dspam);
	free(e->dham);
	free(e->dw);
	free(e->w0);
	free(e->w0got);
	free(e->w0want);
	free(e);
}

struct db *
engine_db(struct engine *e)
{
	return e->db;
}

const char *
engine_errmsg(const struct engine *e)
{
	return e->err;
}

/* Tokenize into e->set and the lookup arrays; sorted when asked (for
 * display: classifying does not need the order). */
static int
tokenize(struct engine *e, const char *buf, size_t len, int sort)
{
	size_t i, n;
	int rc;

	tok_set_reset(e->set);
	rc = tok_message(e->tok, buf, len, e->set);
	if (rc != 0) {
		snprintf(e->err, sizeof(e->err), "tokenizer: %s",
		    tok_strerror(rc));
		return DB_ENOMEM;
	}
	if (sort)
		tok_set_sort(e->set);
	n = tok_set_count(e->set);
	if (grow(e, n) != 0) {
		snprintf(e->err, sizeof(e->err), "tokenizer: out of memory");
		return DB_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		e->toks[i] = tok_set_token(e->set, i, &e->lens[i]);
		memset(&e->st[i], 0, sizeof(e->st[i]));
	}
	return 0;
}

int
engine_tokenize(struct engine *e, const char *buf, size_t len)
{
	return tokenize(e, buf, len, 1);
}

/* Whether reading the whole store now costs less than looking up the rest
 * of the batch token by token (callgrind on the SpamAssassin store: ~4k
 * instructions per SQL lookup, ~1.3k per preloaded token, ~24 bytes of
 * file per token).  Two rules, before looking up the next message's n
 * tokens:
 * - ahead: the messages still to come (one per file operand; at least
 *   this one) times the tokens per message seen so far would cost more
 *   than the preload: preload now, and the whole batch is cheap;
 * - behind (when the count is unknown, e.g. an mbox): once as many tokens
 *   were looked up one by one as the store holds (about PRELOAD_FACTOR
 *   bytes each), what was spent equals the preload, so the batch never
 *   costs more than twice the best choice. */
static int
preload_pays(const struct engine *e, size_t n)
{
	uint64_t left = 1, ahead;

	if (e->o->nfiles > 0 && (uint64_t)e->o->nfiles > e->nclass)
		left = (uint64_t)e->o->nfiles - e->nclass;
	ahead = (e->looked + n) / (e->nclass + 1) * left;
	return e->looked * PRELOAD_FACTOR > e->db_bytes ||
	    ahead * PRELOAD_AHEAD > e->db_bytes;
}

int
engine_lr_ready(int64_t shown)
{
	return shown >= ENGINE_LR_READY_MSGS;
}

int64_t
engine_lr_shown(const struct engine *e)
{
	return e->lr_msgs;
}

int
engine_classify(struct engine *e, const char *buf, size_t len,
    struct verdict_info *v)
{
	struct score_params sp = e->sp;
	uint64_t ns = 0, nh = 0;
	size_t i, n;
	double cut;
	int rc;

	memset(v, 0, sizeof(*v));
	rc = tokenize(e, buf, len, 0);
	if (rc != 0)
		return rc;
	n = tok_set_count(e->set);
	if (e->batch && !e->preloaded && preload_pays(e, n)) {
		/* Failing to preload only keeps the SQL path. */
		e->preloaded = 1;
		(void)db_preload(e->db);
	}
	e->looked += n;
	e->nclass++;
	rc = db_totals(e->db, &ns, &nh);
	if (rc == 0)
		rc = db_lookup(e->db, n, e->toks, e->lens, e->counts);
	if (rc != 0) {
		snprintf(e->err, sizeof(e->err), "%s", db_errmsg(e->db, rc));
		return rc;
	}
	for (i = 0; i < n; i++) {
		e->st[i].spam = e->counts[i].spam;
		e->st[i].ham = e->counts[i].ham;
		e->st[i].w = e->counts[i].w;
	}
	if (!engine_lr_ready(e->lr_msgs))
		sp.lr_weight = 0.0;
	score_combine(&sp, e->st, n, ns, nh, &v->r);
	v->score = v->r.score;
	v->ntokens = n;
	v->nham = nh;
	v->lr_weight = sp.lr_weight;
	v->cutoff = cut = opts_cutoff_at(e->o, nh, sp.lr_weight);
	v->warm = v->score > opts_spam_cutoff(e->o) && !(v->score > cut);
	if (v->score > cut)
		v->verdict = VERDICT_SPAM;
	else if (e->o->ham_cutoff >= 0 && v->score > e->o->ham_cutoff)
		v->verdict = VERDICT_UNSURE;
	else
		v->verdict = VERDICT_CLEAN;
	return 0;
}

void
engine_set_batch(struct engine *e)
{
	e->batch = 1;
}

size_t
engine_ntokens(const struct engine *e)
{
	return tok_set_count(e->set);
}

const char *
engine_token(const struct engine *e, size_t i, const struct score_token **st)
{
	if (st != NULL)
		*st = &e->st[i];
	return e->toks[i];
}

void
engine_on_learn(struct engine *e, engine_learn_fn fn, void *ctx)
{
	e->fn = fn;
	e->fnctx = ctx;
}

int
engine_should_learn(int mode, enum db_class cls, double score, double cutoff,
    double thick, enum db_class have)
{
	int wrong;

	if (mode == TRAIN_ALL)
		return 1;
	wrong = (cls == DB_SPAM) != (score > cutoff);
	if (mode == TRAIN_TUNE)
		wrong = wrong || fabs(score - cutoff) < thick;
	return wrong || (have != DB_NONE && have != cls);
}

/* What the store remembers of a message, by its digest, else by its
 * digest of before (tok_digests; has_older), the whole body: then
 * *found_older is set, for set_msg to move the row to the digest of now.
 * hg and scaled as db_msg_get's. */
static int
digests_get(struct engine *e, const unsigned char *digest,
    const unsigned char *older, int has_older, enum db_class *have,
    int64_t *hg, int *scaled, int *found_older)
{
	int rc;

	*found_older = 0;
	rc = db_msg_get(e->db, digest, have, hg, scaled);
	if (rc != 0 || *have != DB_NONE || !has_older)
		return rc;
	rc = db_msg_get(e->db, older, have, hg, scaled);
	*found_older = rc == 0 && *have != DB_NONE;
	return rc;
}

int
engine_learned_class(struct engine *e, const char *buf, size_t len,
    enum db_class *cls)
{
	unsigned char digest[TOK_DIGEST_BYTES], older[TOK_DIGEST_BYTES];
	int rc, has_older, found_older;

	has_older = tok_digests(buf, len, digest, older, NULL, 0);
	rc = digests_get(e, digest, older, has_older, cls, NULL, NULL,
	    &found_older);
	if (rc != 0)
		snprintf(e->err, sizeof(e->err), "%s", db_errmsg(e->db, rc));
	return rc;
}

size_t
engine_pending(const struct engine *e)
{
	return e->npend + (e->q != NULL ? tokq_pending(e->q) : 0);
}

void
engine_set_threads(struct engine *e, int n)
{
	e->threads = n > TOKQ_MAX_THREADS ? TOKQ_MAX_THREADS : n;
	db_set_threads(e->db, e->threads);
}

/* Whether the batch is to be written before it takes another message.
 * A flush reads and rewrites most of the store's buckets whatever the
 * batch's size (a bucket holds many tokens, and a batch of BATCH_MIN_MSGS
 * touches most of them): with batches of a fixed size a big training
 * would cost as the square of its size.  So past BATCH_MIN_MSGS a batch
 * goes on until its tokens are a share of the store's, within
 * BATCH_GROW_TOKENS (its memory: about 200 bytes a token at the flush).
 * Training 30230 messages in one run (the SpamAssassin corpus five
 * times, a third of the copies' words changed; a store of 1.35M tokens):
 * batches of 2000 made 16 flushes, 4.0-4.9 s of 8.3-10.2 s of CPU, peak
 * RSS 180 MB; these made 10, 2.8-2.9 s of 6.8-7.6 s, 217 MB (three
 * interleaved runs; a share of 1 made 6 flushes and 6.1 s, 292 MB). */
static int
batch_full(struct engine *e)
{
	size_t nt = tok_set_count(e->agg);

	if (nt + TOK_MAX_TOKENS > BATCH_MAX_TOKENS ||
	    e->nrefs + TOK_MAX_TOKENS > BATCH_MAX_REFS)
		return 1;
	if (e->npend < BATCH_MIN_MSGS)
		return 0;
	if (e->npend >= BATCH_MAX_MSGS || nt >= BATCH_GROW_TOKENS)
		return 1;
	if (e->store_tokens < 0 &&
	    db_meta_get(e->db, "tok_count", &e->store_tokens) != 0)
		e->store_tokens = 0;	/* none yet, or unreadable: flush */
	return (int64_t)nt * BATCH_STORE_SHARE >= e->store_tokens;
}

static int flush_batch(struct engine *e, engine_learn_fn fn, void *ctx,
    int last);

/* Add one tokenized message to the batch, the batch written first when
 * it is full. */
static int
learn_set(struct engine *e, const struct tokq_msg *m)
{
	struct pending *p;
	size_t n;
	int rc;

	if (m->rc != 0) {
		snprintf(e->err, sizeof(e->err), "learning: %s",
		    tok_strerror(m->rc));
		return DB_ENOMEM;
	}
	if (e->agg == NULL) {
		e->agg = tok_set_new_limit(BATCH_MAX_TOKENS);
		if (e->agg == NULL)
			goto nomem;
	}
	if (batch_full(e)) {
		rc = flush_batch(e, e->fn, e->fnctx, 0);
		if (rc != 0)
			return rc;
	}
	n = tok_set_count(m->set);
	if (e->npend == e->pendcap) {
		size_t nc = e->pendcap ? e->pendcap * 2 : 64;
		struct pending *np = realloc(e->pend, nc * sizeof(*np));

		if (np == NULL)
			goto nomem;
		e->pend = np;
		e->pendcap = nc;
	}
	if (e->nrefs + n > e->refcap) {
		size_t nc = e->refcap ? e->refcap : 65536;
		uint32_t *nr;

		while (nc < e->nrefs + n)
			nc *= 2;
		nr = realloc(e->refs, nc * sizeof(*nr));
		if (nr == NULL)
			goto nomem;
		e->refs = nr;
		e->refcap = nc;
	}
	p = &e->pend[e->npend];
	memcpy(p->digest, m->digest, sizeof(p->digest));
	memcpy(p->older, m->older, sizeof(p->older));
	p->has_older = m->has_older;
	memcpy(p->msgid, m->msgid, sizeof(p->msgid));
	p->cls = (enum db_class)m->meta.cls;
	p->sub = m->meta.sub;
	p->cookie = m->meta.cookie;
	p->first = e->nrefs;
	p->n = n;
	if (tok_set_merge(e->agg, m->set, e->refs + e->nrefs) != 0)
		goto nomem;
	e->nrefs += n;
	e->npend++;
	return 0;
nomem:
	snprintf(e->err, sizeof(e->err), "learning: out of memory");
	return DB_ENOMEM;
}

/* Take the oldest message the workers hold into the batch. */
static int
take_one(struct engine *e)
{
	const struct tokq_msg *m = tokq_take(e->q);
	int rc = learn_set(e, m);

	tokq_done(e->q);
	return rc;
}

/* Take every message the workers hold, in order. */
static int
drain(struct engine *e)
{
	int rc = 0;

	/* Bounded by the queue's depth. */
	while (rc == 0 && e->q != NULL && tokq_pending(e->q) > 0)
		rc = take_one(e);
	return rc;
}

int
engine_learn(struct engine *e, const char *buf, size_t len,
    enum db_class cls, int sub, size_t cookie)
{
	struct tokq_meta meta = { (int)cls, sub, cookie };
	struct tokq_msg m;
	int rc;

	/* A second message makes a bulk run, which pays for the workers'
	 * start (a delivery's one message does not).  Workers that cannot
	 * start leave the work on this thread. */
	e->nlearn++;
	if (e->q == NULL && e->threads > 0 && e->nlearn == 2 &&
	    (tok_prepare(e->tok) != 0 || tokq_new(&e->q, &e->o->to,
	    e->threads, (size_t)e->threads * TOKQ_DEPTH_PER_THREAD,
	    e->tok) != 0))
		e->q = NULL;
	if (e->q != NULL && len > TOKQ_MSG_MAX_BYTES) {
		rc = drain(e);	/* it comes after them */
		if (rc != 0)
			return rc;
	} else if (e->q != NULL) {
		/* Bounded by the queue's depth. */
		while (tokq_full(e->q))
			if ((rc = take_one(e)) != 0)
				return rc;
		if (tokq_put(e->q, buf, len, &meta) != 0) {
			snprintf(e->err, sizeof(e->err),
			    "learning: out of memory");
			return DB_ENOMEM;
		}
		return 0;
	}
	m.meta = meta;
	tokq_tokenize(e->tok, buf, len, e->set, &m);
	return learn_set(e, &m);
}

static enum db_class
other(enum db_class c)
{
	return c == DB_SPAM ? DB_HAM : DB_SPAM;
}

/* Apply sign * one message of class c to the deltas. */
static void
delta(struct engine *e, const struct pending *p, enum db_class c, int sign,
    int64_t *ts, int64_t *th)
{
	size_t i;
	int64_t *d = c == DB_SPAM ? e->dspam : e->dham;

	for (i = 0; i < p->n; i++)
		d[e->refs[p->first + i]] += sign;
	if (c == DB_SPAM)
		*ts += sign;
	else
		*th += sign;
}

/* Add g to the weight of each of p's tokens. */
static void
weigh(struct engine *e, const struct pending *p, int64_t g)
{
	size_t i;

	for (i = 0; g != 0 && i < p->n; i++)
		e->dw[e->refs[p->first + i]] += g;
}

/* Look up the stored weights of the tokens not read yet of pending
 * messages from, from + 1, ... (LR_AHEAD_MSGS of them, or as many as a
 * run of one class still shows to the learner, see teaches): one pass
 * over the store for the messages lr_step will most likely want next,
 * not one each (a lookup reads a bucket per token; some of these
 * messages may turn out not to be shown to the learner, which costs
 * only their share of the pass; one shown past them is looked up when
 * its step comes).  A folder's run shows its first LR_RUN_MSGS: the
 * lookup of 20 messages' tokens took 3.5-4.0 ms where 32's took 4.2-5.9
 * (the bench's second training), 5.4-5.7 ms where 32's took 5.8-8.6
 * (its third).  wt, wl and got are scratch for every token of the
 * batch.  Returns 0 or a db code. */
static int
lr_fetch(struct engine *e, size_t from, const char **wt, size_t *wl,
    struct db_counts *got)
{
	const struct pending *q;
	size_t i, j, k, n = 0, ahead = LR_AHEAD_MSGS;
	int rc;

	/* The step for message from is counted in run_taught already. */
	if (!e->stream && !e->run_mixed && e->run_taught <= LR_RUN_MSGS &&
	    LR_RUN_MSGS - e->run_taught + 1 < ahead)
		ahead = (size_t)(LR_RUN_MSGS - e->run_taught + 1);
	for (j = from; j < e->npend && j < from + ahead; j++) {
		q = &e->pend[j];
		for (i = 0; i < q->n; i++) {
			k = e->refs[q->first + i];
			if (e->w0got[k])
				continue;
			e->w0got[k] = 2;	/* asked for */
			e->w0want[n] = (uint32_t)k;
			wt[n] = tok_set_token(e->agg, k, &wl[n]);
			n++;
		}
	}
	rc = db_lookup(e->db, n, wt, wl, got);
	for (i = 0; i < n; i++) {
		k = e->w0want[i];
		e->w0[k] = rc == 0 ? got[i].w : 0;
		e->w0got[k] = rc == 0;
	}
	return rc;
}

/* The logistic step *g for learning pending message ip as cls, from the
 * weights as the messages before it in the batch left them.  The stored
 * weights of its tokens are looked up on first need, only for the
 * messages shown to the learner (the rest of a folder costs no lookup);
 * the batch writes nothing before its end, so a later lookup reads what
 * an earlier one would have.  wt, wl and got are scratch for every token
 * of the batch.  Returns 0 or a db code. */
static int
lr_step(struct engine *e, size_t ip, enum db_class cls, const char **wt,
    size_t *wl, struct db_counts *got, int64_t *g)
{
	const struct pending *p = &e->pend[ip];
	double z = 0.0;
	size_t i, k;
	int rc;

	for (i = 0; i < p->n; i++) {
		if (!e->w0got[e->refs[p->first + i]]) {
			rc = lr_fetch(e, ip, wt, wl, got);
			if (rc != 0)
				return rc;
			break;
		}
	}
	for (i = 0; i < p->n; i++) {
		k = e->refs[p->first + i];
		z += (double)e->w0[k] + (double)e->dw[k];
	}
	*g = score_lr_step(score_lr_p(z / SCORE_W_ONE), cls == DB_SPAM);
	return 0;
}

/* Whether learning a message of class cls also shows it to the learner.
 * The learner learns in order, and a folder of spam then one of ham
 * leaves it leaning to ham (the SpamAssassin index's first half so
 * learned, its second half scored: (1-ROCA)% 0.60 with the counts alone,
 * 1.84 with the learner).  So it learns from mail as it comes: a stream
 * (-a, engine_set_stream), a run that learns both classes, and the first
 * LR_RUN_MSGS messages of a run of one class (a message or a few learned
 * by hand), not the rest of a folder. */
static int
teaches(struct engine *e, enum db_class cls)
{
	if (e->run_cls == DB_NONE)
		e->run_cls = cls;
	else if (cls != e->run_cls)
		e->run_mixed = 1;
	if (!e->stream && !e->run_mixed && e->run_taught >= LR_RUN_MSGS)
		return 0;
	e->run_taught++;
	return 1;
}

void
engine_set_stream(struct engine *e)
{
	e->stream = 1;
}

/* Inside the flush's transaction: keep the fingerprint of the tokenizer
 * options this training uses, and see whether the last training's was
 * another (a store without one, from before, takes this one). */
static int
note_opts(struct engine *e)
{
	int64_t fp = tok_opts_fingerprint(&e->o->to), was = 0;
	int rc;

	rc = db_meta_get(e->db, "tok_opts", &was);
	if (rc == DB_ENOENT)
		return db_meta_set(e->db, "tok_opts", fp);
	if (rc != 0 || was == fp)
		return rc;
	e->opts_changed = 1;
	return db_meta_set(e->db, "tok_opts", fp);
}

int
engine_opts_changed(const struct engine *e)
{
	return e->opts_changed;
}

/* db_set_msg of p under its digest, and its row under the digest of
 * before gone when it was found so (digests_get). */
static int
set_msg(struct engine *e, const struct pending *p, int older,
    enum db_class cls, int64_t g, int64_t day)
{
	int rc = 0;

	if (older)
		rc = db_set_msg(e->db, p->older, DB_NONE, NULL, 0, day);
	if (rc == 0)
		rc = db_set_msg(e->db, p->digest, cls, cls != DB_NONE &&
		    p->msgid[0] != '\0' ? p->msgid : NULL, g, day);
	return rc;
}

int
engine_flush(struct engine *e, engine_learn_fn fn, void *ctx)
{
	int rc = drain(e);	/* the messages the workers hold first */

	return rc != 0 ? rc : flush_batch(e, fn, ctx, 1);
}

static int
robx_tok(void *ctx, const struct db_counts *c)
{
	struct robx_acc *a = ctx;
	double b, g;

	if ((uint64_t)c->spam + c->ham < ROBX_MIN_COUNT)
		return 0;
	b = a->ns ? (double)c->spam / (double)a->ns : 0.0;
	g = a->nh ? (double)c->ham / (double)a->nh : 0.0;
	if (b + g <= 0.0)
		return 0;
	a->sum += b / (b + g);
	a->n++;
	return 0;
}

/* Whether robx is to be counted again with ns and nh messages learned:
 * a full scan per learned message would cost more than the learning, so
 * once the totals grew by a tenth (or 10) since the last count. */
static int
robx_due(struct engine *e, uint64_t ns, uint64_t nh)
{
	int64_t at = 0;

	if (ns == 0 || nh == 0)
		return 0;
	return db_meta_get(e->db, "robx_msgs", &at) != 0 ||
	    (int64_t)(ns + nh) >= at + (at / 10 > 10 ? at / 10 : 10) ||
	    (int64_t)(ns + nh) < at;
}

/* Write the batch (engine_flush, the workers' messages taken; last: the
 * caller's flush, not one of a full batch). */
static int
flush_batch(struct engine *e, engine_learn_fn fn, void *ctx, int last)
{
	enum learn_outcome *outc = NULL;
	const char **wt = NULL, **at = NULL;
	size_t *wl = NULL, *al = NULL;
	struct db_counts *got = NULL;
	size_t i, nt, nw;
	enum db_class have;
	int older, scaled;
	int64_t ts = 0, th = 0, g, hg, nlr = 0, lrm = 0, day = db_today();
	int rc = 0, began = 0;

	if (e->npend == 0)
		return 0;
	nt = tok_set_count(e->agg);
	/* The per-batch arrays are NULL here: every flush frees them. */
	e->dspam = calloc(nt ? nt : 1, sizeof(*e->dspam));
	e->dham = calloc(nt ? nt : 1, sizeof(*e->dham));
	e->dw = calloc(nt ? nt : 1, sizeof(*e->dw));
	e->w0 = calloc(nt ? nt : 1, sizeof(*e->w0));
	e->w0got = calloc(nt ? nt : 1, 1);
	e->w0want = malloc((nt ? nt : 1) * sizeof(*e->w0want));
	got = malloc((nt ? nt : 1) * sizeof(*got));
	outc = calloc(e->npend, sizeof(*outc));
	wt = malloc((nt ? nt : 1) * sizeof(*wt));
	wl = malloc((nt ? nt : 1) * sizeof(*wl));
	at = malloc((nt ? nt : 1) * sizeof(*at));
	al = malloc((nt ? nt : 1) * sizeof(*al));
	if (e->dspam == NULL || e->dham == NULL || e->dw == NULL ||
	    e->w0 == NULL || e->w0got == NULL || e->w0want == NULL ||
	    got == NULL || outc == NULL || wt == NULL || wl == NULL ||
	    at == NULL || al == NULL) {
		rc = DB_ENOMEM;
		snprintf(e->err, sizeof(e->err), "learning: out of memory");
		goto out;
	}
	rc = db_begin(e->db);
	if (rc != 0)
		goto dberr;
	began = 1;
	/* Every token of the batch: with threads, the store puts them in
	 * its order on a second thread while this one reads and writes the
	 * messages' rows, for the write below when every token changes
	 * (every message new, as in a first training).  The bench's first
	 * two trainings ordered theirs in 7-8 and 9-13 ms. */
	for (i = 0; i < nt; i++)
		at[i] = tok_set_token(e->agg, i, &al[i]);
	if (e->threads > 0)
		rc = db_order_ahead(e->db, nt, at, al);
	if (rc != 0)
		goto dberr;
	for (i = 0; i < e->npend && rc == 0; i++) {
		struct pending *p = &e->pend[i];

		rc = digests_get(e, p->digest, p->older, p->has_older, &have,
		    &hg, &scaled, &older);
		if (rc != 0)
			break;
		if (p->sub) {
			if (have != p->cls) {
				outc[i] = LEARN_NOTLEARNED;
				continue;
			}
			/* Its counts are a share of what they were: taking
			 * them whole emptied the class (found by review). */
			if (scaled) {
				outc[i] = LEARN_SCALED;
				continue;
			}
			delta(e, p, p->cls, -1, &ts, &th);
			weigh(e, p, -hg);
			/* Shown to the learner, and taken back: the count of
			 * messages it has seen goes down too (learning then
			 * unlearning switched it on; found by review). */
			nlr -= hg != 0;
			outc[i] = LEARN_REMOVED;
			rc = set_msg(e, p, older, DB_NONE, 0, day);
			continue;
		}
		if (have == p->cls) {
			outc[i] = LEARN_DUP;
			continue;
		}
		if (have == other(p->cls)) {
			/* Scaled since: its share stays in the other class,
			 * and it counts in this one from now. */
			if (!scaled) {
				delta(e, p, have, -1, &ts, &th);
				weigh(e, p, -hg);
				nlr -= hg != 0;
			}
			outc[i] = LEARN_MOVED;
		} else {
			outc[i] = LEARN_NEW;
		}
		delta(e, p, p->cls, +1, &ts, &th);
		g = 0;
		if (teaches(e, p->cls)) {
			rc = lr_step(e, i, p->cls, wt, wl, got, &g);
			if (rc != 0)
				break;
			weigh(e, p, g);
			nlr++;
		}
		rc = set_msg(e, p, older, p->cls, g, day);
	}
	/* Write the touched tokens in one call (the store puts them in its
	 * own order). */
	nw = 0;
	for (i = 0; i < nt; i++) {
		if (e->dspam[i] == 0 && e->dham[i] == 0 && e->dw[i] == 0)
			continue;
		wt[nw] = at[i];
		wl[nw] = al[i];
		/* The changes close up in place (nw <= i). */
		e->dspam[nw] = e->dspam[i];
		e->dham[nw] = e->dham[i];
		e->dw[nw] = e->dw[i];
		nw++;
	}
	if (rc == 0)
		rc = db_add_tokens(e->db, nw, nw == nt ? at : wt,
		    nw == nt ? al : wl, e->dspam, e->dham, e->dw, day);
	if (rc == 0 && (ts != 0 || th != 0))
		rc = db_add_totals(e->db, ts, th);
	if (rc == 0 && nlr != 0) {
		/* Read inside the transaction: another writer may have
		 * counted some since this engine opened the store. */
		rc = db_meta_get(e->db, "lr_msgs", &lrm);
		if (rc == DB_ENOENT) {
			lrm = 0;
			rc = 0;
		}
		lrm = lrm + nlr > 0 ? lrm + nlr : 0;
		if (rc == 0)
			rc = db_meta_set(e->db, "lr_msgs", lrm);
	}
	if (rc == 0)
		rc = note_opts(e);
	/* With threads, robx's count when it is due (engine_update_robx,
	 * after the run) is made on a second thread during the last
	 * flush's commit, the store as it leaves it, while this one copies
	 * the commit into the store: 8-9 ms of the bench's second training
	 * came off.  (A full batch's flush would count for nothing: the
	 * run's later flushes change the store again.) */
	e->rx_ready = 0;
	e->rx = (struct robx_acc){ &e->sp, 0, 0, 0.0, 0 };
	if (rc == 0 && last && e->threads > 0 &&
	    db_totals(e->db, &e->rx.ns, &e->rx.nh) == 0 &&
	    robx_due(e, e->rx.ns, e->rx.nh))
		rc = db_commit_walk(e->db, ROBX_MIN_COUNT, robx_tok, &e->rx,
		    &e->rx_ready);
	else if (rc == 0)
		rc = db_commit(e->db);
	if (rc == 0 && nlr != 0)
		e->lr_msgs = lrm;
	if (rc != 0)
		goto dberr;
	began = 0;
	if (fn != NULL)
		for (i = 0; i < e->npend; i++)
			fn(ctx, e->pend[i].cookie, outc[i]);
	goto out;
dberr:
	snprintf(e->err, sizeof(e->err), "%s", db_errmsg(e->db, rc));
out:
	if (began)
		db_rollback(e->db);
	free(outc);
	free(wt);
	free(wl);
	free(at);
	free(al);
	free(got);
	free(e->dspam);
	free(e->dham);
	free(e->dw);
	free(e->w0);
	free(e->w0got);
	free(e->w0want);
	e->dspam = e->dham = e->dw = NULL;
	e->w0 = NULL;
	e->w0got = NULL;
	e->w0want = NULL;
	/* The batch is done with either way: a failed one is not retried
	 * behind the caller's back. */
	e->npend = 0;
	e->nrefs = 0;
	e->store_tokens = -1;
	if (e->agg != NULL)
		tok_set_reset(e->agg);
	return rc;
}

int
engine_update_robx(struct engine *e, int force)
{
	struct robx_acc a = { &e->sp, 0, 0, 0.0, 0 };
	int rc;
	int64_t micro;

	rc = db_totals(e->db, &a.ns, &a.nh);
	if (rc == 0 && (a.ns == 0 || a.nh == 0))
		return 0;
	if (rc == 0 && !force && !robx_due(e, a.ns, a.nh))
		return 0;
	/* Counted during the last flush's commit, and the totals as they
	 * were then: that count. */
	if (rc == 0 && e->rx_ready && e->rx.ns == a.ns && e->rx.nh == a.nh)
		a = e->rx;
	else if (rc == 0)
		rc = db_foreach_counts(e->db, ROBX_MIN_COUNT, robx_tok, &a);
	e->rx_ready = 0;
	if (rc != 0 || a.n == 0)
		goto out;
	/* The mean leans to the class trained more (678 spam to 22 ham
	 * early in the SpamAssassin index gave 0.91, and every unseen word
	 * then counted as spam evidence: 26 false positives where a fixed
	 * 0.5 gave 13).  Unseen words say little: keep x near neutral. */
	micro = (int64_t)(a.sum / (double)a.n * 1e6);
	if (micro < ROBX_MIN_MICRO)
		micro = ROBX_MIN_MICRO;
	if (micro > ROBX_MAX_MICRO)
		micro = ROBX_MAX_MICRO;
	rc = db_begin(e->db);
	if (rc == 0)
		rc = db_meta_set(e->db, "robx_micro", micro);
	if (rc == 0)
		rc = db_meta_set(e->db, "robx_msgs", (int64_t)(a.ns + a.nh));
	if (rc == 0)
		rc = db_commit(e->db);
	else
		db_rollback(e->db);
	if (rc == 0 && !e->o->robx_given)
		e->sp.robx = (double)micro / 1e6;
out:
	if (rc != 0)
		snprintf(e->err, sizeof(e->err), "%s", db_errmsg(e->db, rc));
	return rc;
}
