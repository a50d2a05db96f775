/* SPDX-License-Identifier: MIT */
/*
 * tune.c - --tune: every combiner and training mode on labelled mail, the
 * ROC area, the rates at the cutoffs, and the cutoff for a target
 * false-positive rate.
 *
 * Each message is tokenized once, as engine_classify() does it (one
 * tok_set, in the order the tokenizer gives), and kept as a list of ids
 * into one interning set of the whole corpus, with the id of its digest
 * (tok_digest).  A
 * configuration is one pass over the lists against an array of
 * (spam, ham) counts indexed by token id and the two message totals:
 * score with score_combine() over the message's distinct tokens, in the
 * same order and with the same totals engine_classify() would use; then
 * learn as engine_flush() would (digest already learned as that class: no
 * change; as the other class: moved, the message's tokens taken off the
 * other class with counts stopping at zero).  Training mode all scores the
 * three combiners in one pass, since their counts are the same.
 *
 * Robinson's x: the engine takes the value stored in a database when it
 * has one; here it is the parameters' (--robx, or the method's default),
 * fixed for the whole run.  --max-mail scaling is not simulated.
 *
 * The user's database is never opened.  tune_check_db() replays the
 * first messages through the engine and a scratch database in a private
 * temporary directory, which is removed at the end.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "src/engine.h"
#include "src/input.h"
#include "src/tune.h"
#include "tokenizer/tokenizer.h"

#define TUNE_MAX_MESSAGES (10u * 1000 * 1000)	/* messages in one run */
#define TUNE_MAX_DISTINCT (16u << 20)	/* distinct tokens in the corpus */
#define TUNE_MAX_REFS ((size_t)1 << 31)	/* token references kept */
#define TUNE_CHECK_BYTES (64u << 20)	/* bytes kept for the check */
#define TUNE_INDEX_LINE 8192		/* bytes in one index line */
#define TUNE_INDEX_LINES (20u * 1000 * 1000)	/* lines in an index */
#define CUT_GRID 1e6			/* cutoffs: multiples of 1/this */

struct tmsg {
	size_t first;		/* into refs */
	uint32_t n;		/* distinct tokens */
	uint32_t uniq;		/* digest id, shared by copies */
	int spam;
};

struct tune {
	const struct opts *o;
	struct tok *tok;
	struct tok_set *one;	/* the message being added */
	struct tok_set *all;	/* every token of the corpus, interned */
	struct tok_set *digests;
	uint32_t *refs;
	size_t nrefs, refcap;
	struct tmsg *msg;
	size_t nmsg, msgcap, nham, nspam;
	/* the first messages' bytes, for tune_check_db */
	char *keep[TUNE_CHECK_MSGS];
	size_t keeplen[TUNE_CHECK_MSGS];
	size_t nkeep, keepbytes;
	/* results */
	int split;		/* --tune-split given */
	size_t ntrain, first;	/* train [0, ntrain); score [first, n) */
	struct tune_row row[TUNE_NMETHODS * TUNE_NMODES];
	char err[512];
};

/* The state of one simulated database. */
struct sim {
	struct db_counts *cnt;	/* by token id: counts and weight */
	unsigned char *have;	/* by digest id: DB_NONE, DB_SPAM, DB_HAM */
	int64_t *g;		/* by digest id: its weight step */
	int64_t lr_msgs;	/* messages shown to the learner */
	uint64_t ns, nh;
	struct score_token *st;	/* scratch: one message */
};

static const char *const mode_name[TUNE_NMODES] = { "all", "error", "tune" };

int
tune_new(struct tune **out, const struct opts *o, char *err, size_t errsz)
{
	struct tune *t = NULL;
	int rc;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto nomem;
	t->o = o;
	rc = tok_new(&t->tok, &o->to);
	if (rc != 0) {
		snprintf(err, errsz, "tokenizer: %s", tok_strerror(rc));
		tune_free(t);
		return -1;
	}
	t->one = tok_set_new();
	t->all = tok_set_new_limit(TUNE_MAX_DISTINCT);
	t->digests = tok_set_new_limit(TUNE_MAX_MESSAGES);
	if (t->one == NULL || t->all == NULL || t->digests == NULL)
		goto nomem;
	*out = t;
	return 0;
nomem:
	snprintf(err, errsz, "tune: out of memory");
	tune_free(t);
	return -1;
}

void
tune_free(struct tune *t)
{
	size_t i;

	if (t == NULL)
		return;
	tok_free(t->tok);
	tok_set_free(t->one);
	tok_set_free(t->all);
	tok_set_free(t->digests);
	free(t->refs);
	free(t->msg);
	for (i = 0; i < t->nkeep; i++)
		free(t->keep[i]);
	for (i = 0; i < TUNE_NMETHODS * TUNE_NMODES; i++)
		free(t->row[i].pt);
	free(t);
}

const char *
tune_errmsg(const struct tune *t)
{
	return t->err;
}

size_t
tune_count(const struct tune *t, size_t *nham, size_t *nspam)
{
	if (nham != NULL)
		*nham = t->nham;
	if (nspam != NULL)
		*nspam = t->nspam;
	return t->nmsg;
}

static int
nomem(struct tune *t)
{
	snprintf(t->err, sizeof(t->err), "tune: out of memory");
	return -1;
}

int
tune_add(struct tune *t, const char *buf, size_t len, int spam)
{
	unsigned char dg[TOK_DIGEST_BYTES];
	struct tmsg *m;
	size_t i, n, idx, tl;
	const char *tk;
	int rc;

	if (t->nmsg >= TUNE_MAX_MESSAGES) {
		snprintf(t->err, sizeof(t->err), "tune: more than %u messages",
		    TUNE_MAX_MESSAGES);
		return -1;
	}
	/* As engine_classify: one fresh set, in the tokenizer's order (the
	 * order score_combine sums in, and Graham's tie-break). */
	tok_set_reset(t->one);
	rc = tok_message(t->tok, buf, len, t->one);
	if (rc != 0) {
		snprintf(t->err, sizeof(t->err), "tokenizer: %s",
		    tok_strerror(rc));
		return -1;
	}
	n = tok_set_count(t->one);
	if (t->nmsg == t->msgcap) {
		size_t nc = t->msgcap ? t->msgcap * 2 : 1024;
		struct tmsg *nm = realloc(t->msg, nc * sizeof(*nm));

		if (nm == NULL)
			return nomem(t);
		t->msg = nm;
		t->msgcap = nc;
	}
	if (t->nrefs + n > TUNE_MAX_REFS) {
		snprintf(t->err, sizeof(t->err), "tune: more than %zu tokens "
		    "in all", TUNE_MAX_REFS);
		return -1;
	}
	if (t->nrefs + n > t->refcap) {
		size_t nc = t->refcap ? t->refcap : 1u << 20;
		uint32_t *nr;

		while (nc < t->nrefs + n)
			nc *= 2;
		nr = realloc(t->refs, nc * sizeof(*nr));
		if (nr == NULL)
			return nomem(t);
		t->refs = nr;
		t->refcap = nc;
	}
	for (i = 0; i < n; i++) {
		tk = tok_set_token(t->one, i, &tl);
		if (tok_set_count(t->all) >= TUNE_MAX_DISTINCT) {
			snprintf(t->err, sizeof(t->err), "tune: more than %u "
			    "distinct tokens", TUNE_MAX_DISTINCT);
			return -1;
		}
		if (tok_set_add_idx(t->all, tk, tl, &idx) != 0)
			return nomem(t);
		t->refs[t->nrefs + i] = (uint32_t)idx;
	}
	tok_digest(buf, len, dg, NULL, 0);
	if (tok_set_add_idx(t->digests, (const char *)dg, sizeof(dg),
	    &idx) != 0)
		return nomem(t);
	if (t->nkeep < TUNE_CHECK_MSGS && t->keepbytes + len <=
	    TUNE_CHECK_BYTES) {
		t->keep[t->nkeep] = malloc(len ? len : 1);
		if (t->keep[t->nkeep] == NULL)
			return nomem(t);
		memcpy(t->keep[t->nkeep], buf, len);
		t->keeplen[t->nkeep++] = len;
		t->keepbytes += len;
	} else {
		/* keep a prefix of the messages only */
		t->keepbytes = TUNE_CHECK_BYTES + 1;
	}
	m = &t->msg[t->nmsg++];
	m->first = t->nrefs;
	m->n = (uint32_t)n;
	m->uniq = (uint32_t)idx;
	m->spam = spam != 0;
	t->nrefs += n;
	if (m->spam)
		t->nspam++;
	else
		t->nham++;
	return 0;
}

/* The parameters and cutoff a method is evaluated with: the user's for
 * the user's method; the defaults (with --robx when given) for others. */
static void
method_params(const struct opts *o, enum score_method m,
    struct score_params *sp, double *cut)
{
	if (m == o->sp.method) {
		*sp = o->sp;
		*cut = opts_spam_cutoff(o);
		return;
	}
	score_params_init(sp, m);
	if (o->robx_given)
		sp->robx = o->sp.robx;
	if (o->sp_given & SP_GIVEN_LR_WEIGHT)
		sp->lr_weight = o->sp.lr_weight;
	*cut = score_default_cutoff(m);
}

/* The warm-up cutoff for a message of method m scored against a store of
 * nh ham in training mode mode: 0 when there is no warm-up (or it is
 * over).  Kept even when under the method's cutoff: the rates are also
 * taken at other cutoffs (the target's), where it may be the higher one.
 * As opts_cutoff_at. */
static double
warm_cut(const struct opts *o, enum score_method m, double lr_weight,
    int mode, uint64_t nh)
{
	if (mode != TRAIN_ALL || nh >= (uint64_t)o->warmup_ham)
		return 0.0;
	return m == o->sp.method && o->warmup_cutoff >= 0.0 ?
	    o->warmup_cutoff : score_warmup_cutoff(m, lr_weight);
}

static int
sim_init(struct tune *t, struct sim *s)
{
	size_t nt = tok_set_count(t->all), nd = tok_set_count(t->digests);

	memset(s, 0, sizeof(*s));
	s->cnt = calloc(nt ? nt : 1, sizeof(*s->cnt));
	s->have = calloc(nd ? nd : 1, 1);
	s->g = calloc(nd ? nd : 1, sizeof(*s->g));
	s->st = calloc(TOK_MAX_TOKENS, sizeof(*s->st));
	if (s->cnt == NULL || s->have == NULL || s->g == NULL ||
	    s->st == NULL)
		return nomem(t);
	return 0;
}

static void
sim_reset(struct tune *t, struct sim *s)
{
	memset(s->cnt, 0, tok_set_count(t->all) * sizeof(*s->cnt));
	memset(s->have, 0, tok_set_count(t->digests));
	memset(s->g, 0, tok_set_count(t->digests) * sizeof(*s->g));
	s->ns = s->nh = 0;
	s->lr_msgs = 0;
}

static void
sim_release(struct sim *s)
{
	free(s->cnt);
	free(s->have);
	free(s->g);
	free(s->st);
	memset(s, 0, sizeof(*s));
}

/* Add g to the weight of m's tokens, clamped as the store does. */
static void
sim_weigh(const struct tune *t, struct sim *s, const struct tmsg *m,
    int64_t g)
{
	const uint32_t *id = t->refs + m->first;
	int64_t w;
	uint32_t j;

	for (j = 0; g != 0 && j < m->n; j++) {
		w = (int64_t)s->cnt[id[j]].w + g;
		s->cnt[id[j]].w = (int32_t)(w > INT32_MAX ? INT32_MAX :
		    w < -INT32_MAX ? -INT32_MAX : w);
	}
}

/* Learn m with its label as engine_flush would; 1 when the store
 * changed (a new or moved message), 0 for a duplicate. */
static int
sim_learn(const struct tune *t, struct sim *s, const struct tmsg *m)
{
	const uint32_t *id = t->refs + m->first;
	unsigned char want = m->spam ? DB_SPAM : DB_HAM;
	unsigned char had = s->have[m->uniq];
	struct db_counts *c;
	double z = 0.0;
	uint32_t j;

	if (had == want)
		return 0;
	if (had != DB_NONE)
		sim_weigh(t, s, m, -s->g[m->uniq]);
	for (j = 0; j < m->n; j++)
		z += (double)s->cnt[id[j]].w;
	s->g[m->uniq] = score_lr_step(score_lr_p(z / SCORE_W_ONE), m->spam);
	sim_weigh(t, s, m, s->g[m->uniq]);
	s->lr_msgs++;
	for (j = 0; j < m->n; j++) {
		c = &s->cnt[id[j]];
		if (had == DB_SPAM && c->spam > 0)
			c->spam--;
		else if (had == DB_HAM && c->ham > 0)
			c->ham--;
		if (want == DB_SPAM)
			c->spam++;
		else
			c->ham++;
	}
	if (had == DB_SPAM && s->ns > 0)
		s->ns--;
	else if (had == DB_HAM && s->nh > 0)
		s->nh--;
	if (want == DB_SPAM)
		s->ns++;
	else
		s->nh++;
	s->have[m->uniq] = want;
	return 1;
}

/* Score m against the simulated store with sp (the learner's weight as
 * in force: engine_lr_ready): as engine_classify. */
static double
sim_score(const struct tune *t, struct sim *s, const struct tmsg *m,
    const struct score_params *sp, int fill)
{
	const uint32_t *id = t->refs + m->first;
	struct score_result r;
	uint32_t j;

	if (fill)
		for (j = 0; j < m->n; j++) {
			s->st[j].spam = s->cnt[id[j]].spam;
			s->st[j].ham = s->cnt[id[j]].ham;
			s->st[j].w = s->cnt[id[j]].w;
			s->st[j].p = 0.0;
			s->st[j].used = 0;
		}
	score_combine(sp, s->st, m->n, s->ns, s->nh, &r);
	return r.score;
}

/* One pass over messages [0, nmsg): training mode mode, the nrows
 * rows' methods scored (more than one only in mode all).  Scores of
 * messages from first on are appended to the rows' points. */
static void
sim_pass(struct tune *t, struct sim *s, int mode, struct tune_row **rows,
    size_t nrows, size_t nmsg, size_t ntrain, size_t first)
{
	struct score_params sp[TUNE_NMETHODS];
	double cut[TUNE_NMETHODS], sc = 0.0;
	size_t i, k;

	for (k = 0; k < nrows; k++)
		method_params(t->o, rows[k]->method, &sp[k], &cut[k]);
	sim_reset(t, s);
	for (i = 0; i < nmsg; i++) {
		const struct tmsg *m = &t->msg[i];
		int scored = i >= first;

		if (scored || (i < ntrain && mode != TRAIN_ALL))
			for (k = 0; k < nrows; k++) {
				/* As the engine: the learner counts once
				 * it is ready. */
				struct score_params eff = sp[k];

				if (!engine_lr_ready(s->lr_msgs))
					eff.lr_weight = 0.0;
				sc = sim_score(t, s, m, &eff, k == 0);
				if (scored) {
					struct tune_row *rw = rows[k];

					rw->pt[rw->npt].score = sc;
					rw->pt[rw->npt].spam = m->spam;
					rw->pt[rw->npt].wcut = warm_cut(t->o,
					    rw->method, eff.lr_weight, mode,
					    s->nh);
					rw->npt++;
				}
			}
		/* Row 0's method decides what is learned.  The warm-up
		 * never enters: it applies in mode all only, which learns
		 * everything. */
		if (i < ntrain && engine_should_learn(mode, m->spam ?
		    DB_SPAM : DB_HAM, sc, cut[0], t->o->thick,
		    (enum db_class)s->have[m->uniq]) && sim_learn(t, s, m))
			for (k = 0; k < nrows; k++)
				rows[k]->trained++;
	}
}

static int
cmp_point(const void *a, const void *b)
{
	const struct tune_point *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	return x->spam - y->spam;
}

double
tune_auc(struct tune_point *p, size_t n)
{
	size_t i, j, k, nham = 0, nspam = 0, gs;
	double ranks = 0.0;

	if (n == 0)
		return -1.0;
	qsort(p, n, sizeof(*p), cmp_point);
	for (i = 0; i < n; i = j) {
		gs = 0;
		for (j = i; j < n && p[j].score == p[i].score; j++)
			gs += (size_t)p[j].spam;
		/* ranks i+1 .. j share their mean */
		ranks += (double)gs * ((double)(i + 1) + (double)j) / 2.0;
		nspam += gs;
		k = j - i - gs;
		nham += k;
	}
	if (nham == 0 || nspam == 0)
		return -1.0;
	return (ranks - (double)nspam * ((double)nspam + 1.0) / 2.0) /
	    ((double)nspam * (double)nham);
}

void
tune_rates(const struct tune_point *p, size_t n, double cut, size_t *fp,
    size_t *fn)
{
	size_t i;

	*fp = *fn = 0;
	for (i = 0; i < n; i++) {
		int spam = p[i].score > cut && p[i].score > p[i].wcut;

		if (p[i].spam && !spam)
			(*fn)++;
		else if (!p[i].spam && spam)
			(*fp)++;
	}
}

double
tune_cutoff_for_fp(const struct tune_point *p, size_t n, double target_pct)
{
	size_t i, nham = 0, allowed, seen = 0;
	double h = 0.0, g, c;

	for (i = 0; i < n; i++)
		nham += (size_t)!p[i].spam;
	allowed = (size_t)floor(target_pct / 100.0 * (double)nham + 1e-9);
	if (allowed >= nham)
		return 0.0;
	/* The (allowed + 1)-th highest ham score: at it, only the allowed
	 * ham above it are false positives. */
	for (i = n; i-- > 0;)
		if (!p[i].spam && p[i].score > p[i].wcut &&
		    ++seen == allowed + 1) {
			h = p[i].score;
			break;
		}
	g = floor(h * CUT_GRID);
	c = g / CUT_GRID;
	while (c < h) {
		g += 1.0;
		c = g / CUT_GRID;
	}
	return c > 1.0 ? 1.0 : c;
}

static struct tune_row *
row_at(struct tune *t, enum score_method m, int mode)
{
	return &t->row[mode * TUNE_NMETHODS + (int)m];
}

const struct tune_row *
tune_row(const struct tune *t, enum score_method m, int mode)
{
	return &t->row[mode * TUNE_NMETHODS + (int)m];
}

static void
finish_row(const struct tune *t, struct tune_row *rw)
{
	size_t i;

	rw->nham = rw->nspam = 0;
	for (i = 0; i < rw->npt; i++) {
		if (rw->pt[i].spam)
			rw->nspam++;
		else
			rw->nham++;
	}
	rw->auc = tune_auc(rw->pt, rw->npt);
	tune_rates(rw->pt, rw->npt, rw->cut, &rw->fp, &rw->fn);
	rw->tcut = tune_cutoff_for_fp(rw->pt, rw->npt, t->o->target_fp);
	tune_rates(rw->pt, rw->npt, rw->tcut, &rw->tfp, &rw->tfn);
}

int
tune_evaluate(struct tune *t, tune_progress_fn fn, void *ctx)
{
	struct sim s;
	struct tune_row *rows[TUNE_NMETHODS];
	struct score_params sp;
	size_t i, n = t->nmsg, nscored, done = 0, total;
	int mode, m, rc = -1;
	double split = 0.0;

	memset(&s, 0, sizeof(s));
	if (t->nham == 0 || t->nspam == 0) {
		snprintf(t->err, sizeof(t->err), "tune: need both ham and "
		    "spam messages (ham %zu, spam %zu)", t->nham, t->nspam);
		return -1;
	}
	if (t->o->tune_split != NULL)
		split = strtod(t->o->tune_split, NULL);
	t->split = split > 0.0 && split < 1.0;
	if (t->split) {
		t->ntrain = (size_t)floor(split * (double)n);
		t->first = t->ntrain;
	} else {
		t->ntrain = n;
		t->first = 0;
	}
	nscored = n - t->first;
	if (nscored == 0) {
		snprintf(t->err, sizeof(t->err), "tune: no message left to "
		    "score after the training split");
		return -1;
	}
	for (mode = 0; mode < TUNE_NMODES; mode++)
		for (m = 0; m < TUNE_NMETHODS; m++) {
			struct tune_row *rw = row_at(t, (enum score_method)m,
			    mode);

			free(rw->pt);
			memset(rw, 0, sizeof(*rw));
			rw->method = (enum score_method)m;
			rw->mode = mode;
			rw->current = m == (int)t->o->sp.method &&
			    mode == t->o->train_mode;
			method_params(t->o, rw->method, &sp, &rw->cut);
			rw->pt = calloc(nscored, sizeof(*rw->pt));
			if (rw->pt == NULL) {
				nomem(t);
				goto out;
			}
		}
	if (sim_init(t, &s) != 0)
		goto out;
	total = 1 + (TUNE_NMODES - 1) * TUNE_NMETHODS;
	/* Training mode all: the counts do not depend on the scores. */
	for (m = 0; m < TUNE_NMETHODS; m++)
		rows[m] = row_at(t, (enum score_method)m, TRAIN_ALL);
	sim_pass(t, &s, TRAIN_ALL, rows, TUNE_NMETHODS, n, t->ntrain,
	    t->first);
	if (fn != NULL)
		fn(ctx, "evaluating", ++done, total);
	for (mode = 0; mode < TUNE_NMODES; mode++) {
		if (mode == TRAIN_ALL)
			continue;
		for (m = 0; m < TUNE_NMETHODS; m++) {
			rows[0] = row_at(t, (enum score_method)m, mode);
			sim_pass(t, &s, mode, rows, 1, n, t->ntrain, t->first);
			if (fn != NULL)
				fn(ctx, "evaluating", ++done, total);
		}
	}
	for (i = 0; i < TUNE_NMETHODS * TUNE_NMODES; i++)
		finish_row(t, &t->row[i]);
	rc = 0;
out:
	sim_release(&s);
	return rc;
}

int
tune_check_db(struct tune *t, const char *dir, size_t *checked)
{
	struct opts o = *t->o;
	struct engine *e = NULL;
	struct sim s;
	struct tune_row row, *rows[1];
	struct verdict_info v;
	enum db_class have;
	char path[PATH_MAX], err[512];
	size_t i, k = t->nkeep;
	int rc = -1;

	*checked = 0;
	memset(&s, 0, sizeof(s));
	memset(&row, 0, sizeof(row));
	if (k == 0)
		return 0;
	row.method = o.sp.method;
	row.mode = o.train_mode;
	row.pt = calloc(k, sizeof(*row.pt));
	if (row.pt == NULL) {
		nomem(t);
		goto out;
	}
	rows[0] = &row;
	if (sim_init(t, &s) != 0)
		goto out;
	sim_pass(t, &s, o.train_mode, rows, 1, k, k, 0);
	if (snprintf(path, sizeof(path), "%s/%s", dir, DB_FILENAME) >=
	    (int)sizeof(path)) {
		snprintf(t->err, sizeof(t->err), "%s: path too long", dir);
		goto out;
	}
	if (engine_new(&e, &o, path, DB_CREATE, err, sizeof(err)) != 0) {
		snprintf(t->err, sizeof(t->err), "%s", err);
		goto out;
	}
	engine_set_stream(e);	/* as the simulation: every message */
	for (i = 0; i < k; i++) {
		int spam = t->msg[i].spam;

		if (engine_classify(e, t->keep[i], t->keeplen[i], &v) != 0)
			goto engerr;
		if (v.score != row.pt[i].score) {
			snprintf(t->err, sizeof(t->err), "tune: message %zu: "
			    "score %.17g in memory but %.17g with a database",
			    i + 1, row.pt[i].score, v.score);
			goto out;
		}
		if (engine_learned_class(e, t->keep[i], t->keeplen[i],
		    &have) != 0)
			goto engerr;
		if (engine_should_learn(o.train_mode, spam ? DB_SPAM : DB_HAM,
		    v.score, v.cutoff, o.thick, have) &&
		    (engine_learn(e, t->keep[i], t->keeplen[i], spam ?
		    DB_SPAM : DB_HAM, 0, i) != 0 ||
		    engine_flush(e, NULL, NULL) != 0))
			goto engerr;
	}
	*checked = k;
	rc = 0;
	goto out;
engerr:
	snprintf(t->err, sizeof(t->err), "%s", engine_errmsg(e));
out:
	engine_free(e);
	sim_release(&s);
	free(row.pt);
	return rc;
}

static double
pct(size_t k, size_t n)
{
	return n ? 100.0 * (double)k / (double)n : 0.0;
}

/* Ham scoring above the highest cutoff below 1 that "%.6f" can show. */
static size_t
ham_near_one(const struct tune_row *rw)
{
	double top = (CUT_GRID - 1.0) / CUT_GRID;
	size_t i, n = 0;

	for (i = 0; i < rw->npt; i++)
		n += (size_t)(!rw->pt[i].spam && rw->pt[i].score > top);
	return n;
}

void
tune_report(const struct tune *t, FILE *f, const char *source)
{
	const struct tune_row *rw, *cur = NULL;
	const struct tune_row *first = &t->row[0];
	size_t mode, m;

	fprintf(f, "spamsift tune: %s\n", source);
	if (!t->split)
		fprintf(f, "protocol: online (each message scored, then "
		    "trained with its label)\n");
	else
		fprintf(f, "protocol: split (the first %zu messages trained, "
		    "the other %zu scored without training)\n", t->ntrain,
		    t->nmsg - t->ntrain);
	fprintf(f, "messages %zu: ham %zu, spam %zu\n", t->nmsg, t->nham,
	    t->nspam);
	if (t->split)
		fprintf(f, "scored %zu: ham %zu, spam %zu\n", first->npt,
		    first->nham, first->nspam);
	fprintf(f, "tokens %zu distinct, %zu in all\n",
	    tok_set_count(t->all), t->nrefs);
	fprintf(f, "robx %.6f (%s; a database's stored value is not used)\n",
	    t->o->sp.robx, t->o->robx_given ? "--robx" : "default");
	if (t->o->sp.lr_weight > 0.0)
		fprintf(f, "logistic learner: its log-odds times %g added to "
		    "the score once it has learned %d messages\n",
		    t->o->sp.lr_weight, ENGINE_LR_READY_MSGS);
	else
		fprintf(f, "logistic learner: off\n");
	if (t->o->warmup_ham > 0)
		fprintf(f, "warm-up: until %ld ham are learned, spam needs a "
		    "score above %g (%s %s, for --train-mode all; %g once "
		    "the learner counts)\n",
		    t->o->warmup_ham,
		    t->o->warmup_cutoff >= 0.0 ? t->o->warmup_cutoff :
		    score_warmup_cutoff(t->o->sp.method, 0.0),
		    score_method_name(t->o->sp.method),
		    t->o->warmup_cutoff >= 0.0 ? "--warm-up-cutoff" :
		    "default", t->o->warmup_cutoff >= 0.0 ?
		    t->o->warmup_cutoff : score_warmup_cutoff(
		    t->o->sp.method, t->o->sp.lr_weight));
	fprintf(f, "target: false positives at most %g%% of ham (%zu of "
	    "%zu)\n", t->o->target_fp, (size_t)floor(t->o->target_fp /
	    100.0 * (double)first->nham + 1e-9), first->nham);
	fprintf(f, "\n%-6s %-5s %9s %9s %7s %7s %8s %9s %7s %7s\n", "method",
	    "train", "1-ROCA%", "cutoff", "FP%", "FN%", "trained", "fp-cutoff",
	    "FP%", "FN%");
	for (mode = 0; mode < TUNE_NMODES; mode++)
		for (m = 0; m < TUNE_NMETHODS; m++) {
			rw = &t->row[mode * TUNE_NMETHODS + m];
			if (rw->current)
				cur = rw;
			fprintf(f, "%-6s %-5s ", score_method_name(rw->method),
			    mode_name[mode]);
			if (rw->auc < 0)
				fprintf(f, "%9s ", "-");
			else
				fprintf(f, "%9.4f ", 100.0 * (1.0 - rw->auc));
			fprintf(f, "%9.6f %7.3f %7.3f %8zu %9.6f %7.3f "
			    "%7.3f%s\n", rw->cut, pct(rw->fp, rw->nham),
			    pct(rw->fn, rw->nspam), rw->trained, rw->tcut,
			    pct(rw->tfp, rw->nham), pct(rw->tfn, rw->nspam),
			    rw->current ? " *" : "");
		}
	fprintf(f, "\nFP%%: ham scored above the cutoff (spam when score > "
	    "cutoff); FN%%: spam at or below it.\n");
	fprintf(f, "fp-cutoff: the lowest cutoff with FP%% at most %g; the "
	    "FP%% and FN%% after it are there.\n", t->o->target_fp);
	fprintf(f, "trained: messages learned (new, or moved from the other "
	    "class).\n");
	for (mode = 0; mode < TUNE_NMODES; mode++)
		for (m = 0; m < TUNE_NMETHODS; m++) {
			rw = &t->row[mode * TUNE_NMETHODS + m];
			if (rw->tcut >= 1.0 && rw->tfn > 0)
				fprintf(f, "%s %s: %zu ham score over "
				    "0.999999: only cutoff 1 reaches the "
				    "target.\n",
				    score_method_name(rw->method),
				    mode_name[mode], ham_near_one(rw));
		}
	if (cur != NULL)
		fprintf(f, "*: your settings (-m %s --train-mode %s%s)\n",
		    score_method_name(cur->method), mode_name[cur->mode],
		    t->o->spam_cutoff >= 0 ? ", --spam-cutoff" : "");
}

/* The ROC plot: log axes from 10^lo percent to 100 percent. */
#define SVG_W 640
#define SVG_H 520
#define SVG_L 80	/* plot area margins */
#define SVG_R 170
#define SVG_T 50
#define SVG_B 70

struct axes {
	int lo;		/* lowest decade, as a power of ten (percent) */
	double pw, ph;
};

static double
ax_frac(const struct axes *a, double rate_pct)
{
	double lg;

	if (rate_pct <= pow(10.0, a->lo))
		return 0.0;
	lg = log10(rate_pct);
	return (lg - a->lo) / (2.0 - a->lo);
}

static double
ax_x(const struct axes *a, double fp_pct)
{
	return SVG_L + ax_frac(a, fp_pct) * a->pw;
}

static double
ax_y(const struct axes *a, double fn_pct)
{
	return SVG_T + (1.0 - ax_frac(a, fn_pct)) * a->ph;
}

static const char *const svg_color[TUNE_NMETHODS] = {
	"#1f77b4", "#2ca02c", "#d62728",
};

/* One combiner's curve: thresholds from above the highest score down
 * to the lowest, ties taken together. */
static void
svg_curve(FILE *f, const struct axes *a, const struct tune_row *rw,
    const char *color)
{
	size_t i, j, fp = 0, fn = rw->nspam, col = 0;
	double x, y, px = -1, py = -1;

	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
	    "points=\"", color);
	for (i = rw->npt;;) {
		x = ax_x(a, pct(fp, rw->nham));
		y = ax_y(a, pct(fn, rw->nspam));
		if (fabs(x - px) >= 0.1 || fabs(y - py) >= 0.1) {
			fprintf(f, "%s%.1f,%.1f", col++ % 8 == 0 ? "\n" : " ",
			    x, y);
			px = x;
			py = y;
		}
		if (i == 0)
			break;
		for (j = i; j > 0 && rw->pt[j - 1].score == rw->pt[i - 1].score;
		    j--) {
			if (rw->pt[j - 1].spam)
				fn--;
			else
				fp++;
		}
		i = j;
	}
	fprintf(f, "\"/>\n");
}

void
tune_svg(const struct tune *t, FILE *f)
{
	struct axes a;
	const struct tune_row *rw;
	size_t most, m;
	int d;
	double v, y;

	rw = &t->row[TRAIN_ALL * TUNE_NMETHODS];
	most = rw->nham > rw->nspam ? rw->nham : rw->nspam;
	a.lo = most > 0 ? (int)floor(log10(100.0 / (double)most)) : -2;
	if (a.lo > 0)
		a.lo = 0;
	if (a.lo < -4)
		a.lo = -4;
	a.pw = SVG_W - SVG_L - SVG_R;
	a.ph = SVG_H - SVG_T - SVG_B;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
	    "font-size=\"12\">\n", SVG_W, SVG_H, SVG_W, SVG_H);
	fprintf(f, "<title>spamsift --tune: ROC curves, training mode all"
	    "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>"
	    "\n");
	fprintf(f, "<text x=\"%d\" y=\"28\" font-size=\"15\">ROC: false "
	    "negatives against false positives (%s, training mode all)"
	    "</text>\n", SVG_L, t->split ? "split" : "online");
	/* grid and ticks, one per decade */
	for (d = a.lo; d <= 2; d++) {
		v = pow(10.0, d);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		    "stroke=\"#ddd\"/>\n", ax_x(&a, v), SVG_T, ax_x(&a, v),
		    SVG_H - SVG_B);
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
		    "stroke=\"#ddd\"/>\n", SVG_L, ax_y(&a, v), SVG_W - SVG_R,
		    ax_y(&a, v));
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">"
		    "%s%g</text>\n", ax_x(&a, v), SVG_H - SVG_B + 18,
		    d == a.lo ? "&#8804;" : "", v);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">"
		    "%s%g</text>\n", SVG_L - 6, ax_y(&a, v) + 4,
		    d == a.lo ? "&#8804;" : "", v);
	}
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" "
	    "fill=\"none\" stroke=\"black\"/>\n", SVG_L, SVG_T, a.pw, a.ph);
	fprintf(f, "<text x=\"%.0f\" y=\"%d\" text-anchor=\"middle\">false "
	    "positives: %% of ham marked spam (log scale)</text>\n",
	    SVG_L + a.pw / 2, SVG_H - 22);
	fprintf(f, "<text transform=\"translate(22 %.0f) rotate(-90)\" "
	    "text-anchor=\"middle\">false negatives: %% of spam missed "
	    "(log scale)</text>\n", SVG_T + a.ph / 2);
	for (m = 0; m < TUNE_NMETHODS; m++) {
		rw = &t->row[TRAIN_ALL * TUNE_NMETHODS + m];
		svg_curve(f, &a, rw, svg_color[m]);
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" "
		    "fill=\"%s\"><title>%s at cutoff %.6f</title></circle>\n",
		    ax_x(&a, pct(rw->fp, rw->nham)),
		    ax_y(&a, pct(rw->fn, rw->nspam)), svg_color[m],
		    score_method_name(rw->method), rw->cut);
		y = SVG_T + 14 + 36.0 * (double)m;
		fprintf(f, "<line x1=\"%d\" y1=\"%.0f\" x2=\"%d\" y2=\"%.0f\" "
		    "stroke=\"%s\" stroke-width=\"3\"/>\n", SVG_W - SVG_R + 12,
		    y - 4, SVG_W - SVG_R + 32, y - 4, svg_color[m]);
		fprintf(f, "<text x=\"%d\" y=\"%.0f\">-m %s</text>\n",
		    SVG_W - SVG_R + 38, y, score_method_name(rw->method));
		if (rw->auc >= 0)
			fprintf(f, "<text x=\"%d\" y=\"%.0f\" font-size=\"11\">"
			    "(1-ROCA)%% %.4f</text>\n", SVG_W - SVG_R + 38,
			    y + 14, 100.0 * (1.0 - rw->auc));
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">dot: the "
	    "cutoff</text>\n<text x=\"%d\" y=\"%d\" font-size=\"11\">in "
	    "force</text>\n", SVG_W - SVG_R + 12, SVG_T + 130,
	    SVG_W - SVG_R + 12, SVG_T + 144);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">rates of 0 lie "
	    "on the axes</text>\n", SVG_W - SVG_R + 12, SVG_T + 164);
	fprintf(f, "</svg>\n");
}

/* Command-line glue: inputs, progress, scratch directory, report. */

struct runctx {
	const struct opts *o;
	int tty;
	struct timespec last;
};

static double
secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
on_progress(void *ctx, const char *stage, size_t done, size_t total)
{
	struct runctx *r = ctx;
	struct timespec now;

	if (!r->tty)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (done != total && secs(&r->last, &now) < 0.2)
		return;
	r->last = now;
	if (total == 0)
		fprintf(stderr, "\rspamsift: tune: %s %zu messages", stage,
		    done);
	else
		fprintf(stderr, "\rspamsift: tune: %s %zu of %zu%s", stage,
		    done, total, done == total ? "\n" : "");
}

static int
add_msg(struct tune *t, struct runctx *r, const struct input_msg *m,
    int spam)
{
	/* As training: an empty input is no message. */
	if (input_blank(m->buf, m->len)) {
		fprintf(stderr, "spamsift: %s: empty, not used\n", m->name);
		return 0;
	}
	if (tune_add(t, m->buf, m->len, spam) != 0) {
		fprintf(stderr, "spamsift: %s: %s\n", m->name, tune_errmsg(t));
		return -1;
	}
	on_progress(r, "reading", tune_count(t, NULL, NULL), 0);
	return 0;
}

/* One message file named by an index line. */
static int
read_one(struct tune *t, struct runctx *r, const char *path, int spam)
{
	struct input *in = NULL;
	struct input_msg m;
	const char *why;
	int k;

	if (input_open(&in, path, INPUT_SINGLE, &why) != 0) {
		fprintf(stderr, "spamsift: %s: %s: %s\n", path, why,
		    strerror(errno));
		return -1;
	}
	if (input_kind(in) != INPUT_FILE) {
		fprintf(stderr, "spamsift: %s: not a message file\n", path);
		input_close(in);
		return -1;
	}
	k = input_next(in, &m);
	if (k < 0)
		fprintf(stderr, "spamsift: %s: %s\n", path, strerror(errno));
	else if (k == 1)
		k = add_msg(t, r, &m, spam) == 0 ? 1 : -1;
	input_close(in);
	return k < 0 ? -1 : 0;
}

/* A TREC index: "spam PATH" / "ham PATH" lines, PATH relative to the
 * index's directory.  Blank lines and lines starting with '#' are
 * skipped. */
static int
read_index(struct tune *t, struct runctx *r, const char *index)
{
	FILE *f = NULL;
	char *line = NULL, *path = NULL, *p, *q;
	char dir[PATH_MAX];
	const char *slash;
	size_t lineno = 0, dl, pl;
	int rc = -1, spam;

	slash = strrchr(index, '/');
	dl = slash == NULL ? 1 : (size_t)(slash - index);
	if (slash == index)
		dl = 1;
	if (dl >= sizeof(dir)) {
		fprintf(stderr, "spamsift: %s: path too long\n", index);
		return -1;
	}
	memcpy(dir, slash == NULL ? "." : index, dl);
	dir[dl] = '\0';
	line = malloc(TUNE_INDEX_LINE + 2);
	path = malloc(PATH_MAX);
	if (line == NULL || path == NULL) {
		fprintf(stderr, "spamsift: %s: out of memory\n", index);
		goto out;
	}
	f = fopen(index, "r");
	if (f == NULL) {
		fprintf(stderr, "spamsift: %s: %s\n", index, strerror(errno));
		goto out;
	}
	while (fgets(line, TUNE_INDEX_LINE + 2, f) != NULL) {
		if (++lineno > TUNE_INDEX_LINES) {
			fprintf(stderr, "spamsift: %s: more than %u lines\n",
			    index, TUNE_INDEX_LINES);
			goto out;
		}
		pl = strlen(line);
		if (pl > TUNE_INDEX_LINE) {
			fprintf(stderr, "spamsift: %s:%zu: line longer than %d "
			    "bytes\n", index, lineno, TUNE_INDEX_LINE);
			goto out;
		}
		while (pl > 0 && (line[pl - 1] == '\n' ||
		    line[pl - 1] == '\r' || line[pl - 1] == ' ' ||
		    line[pl - 1] == '\t'))
			line[--pl] = '\0';
		p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		q = p + strcspn(p, " \t");
		if (*q != '\0')
			*q++ = '\0';
		q += strspn(q, " \t");
		if (strcasecmp(p, "spam") == 0)
			spam = 1;
		else if (strcasecmp(p, "ham") == 0)
			spam = 0;
		else
			q = "";
		if (*q == '\0') {
			fprintf(stderr, "spamsift: %s:%zu: not \"spam PATH\" "
			    "or \"ham PATH\"\n", index, lineno);
			goto out;
		}
		if (snprintf(path, PATH_MAX, "%s%s%s", q[0] == '/' ? "" : dir,
		    q[0] == '/' ? "" : "/", q) >= PATH_MAX) {
			fprintf(stderr, "spamsift: %s:%zu: path too long\n",
			    index, lineno);
			goto out;
		}
		if (read_one(t, r, path, spam) != 0)
			goto out;
	}
	if (ferror(f)) {
		fprintf(stderr, "spamsift: %s: %s\n", index, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(line);
	free(path);
	return rc;
}

/* --ham P --spam P: the two sources taken in turn, one message each,
 * ham first; when one runs out, the rest of the other. */
static int
read_pair(struct tune *t, struct runctx *r, const char *ham,
    const char *spam)
{
	struct input *in[2] = { NULL, NULL };
	const char *path[2] = { ham, spam };
	struct input_msg m;
	const char *why;
	int live[2] = { 1, 1 }, i, k, rc = -1, turn = 0;
	enum input_mode mode = r->o->mbox ? INPUT_MBOX_FORCE : INPUT_AUTO;
	char text[128];

	for (i = 0; i < 2; i++) {
		if (input_open_limits(&in[i], path[i], mode,
		    (size_t)INPUT_MAX_BYTES, r->o->max_folder, &why) != 0) {
			fprintf(stderr, "spamsift: %s: %s: %s\n", path[i], why,
			    strerror(errno));
			goto out;
		}
		/* Tuning on an arbitrary part of a folder would mislead. */
		if (input_left_out(in[i]) > 0) {
			fprintf(stderr, "spamsift: %s: %s\n", path[i],
			    input_left_out_text(in[i], r->o->max_folder, text,
			    sizeof(text)));
			goto out;
		}
	}
	while (live[0] || live[1]) {
		if (!live[turn]) {
			turn = !turn;
			continue;
		}
		k = input_next(in[turn], &m);
		if (k < 0) {
			fprintf(stderr, "spamsift: %s: %s\n",
			    input_where(in[turn]), strerror(errno));
			goto out;
		}
		if (k == 0)
			live[turn] = 0;
		else if (add_msg(t, r, &m, turn) != 0)
			goto out;
		turn = !turn;
	}
	rc = 0;
out:
	input_close(in[0]);
	input_close(in[1]);
	return rc;
}

static int
rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	remove(p);
	return 0;
}

/* The scratch directory's files, for on_stop: what SQLite makes there. */
static const char *const scratch_files[] = {
	"spamsift.db", "spamsift.db-wal", "spamsift.db-shm",
	"spamsift.db-journal",
};
static char scratch_path[sizeof(scratch_files) / sizeof(scratch_files[0]) +
    1][PATH_MAX + 32];
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };

/* Ctrl-C or a kill while the scratch store is in use: remove it, then
 * die of the signal (found by review: the directory stayed in TMPDIR).
 * unlink, rmdir and raise only. */
static void
on_stop(int sig)
{
	size_t i, n = sizeof(scratch_files) / sizeof(scratch_files[0]);

	for (i = 0; i < n; i++)
		(void)unlink(scratch_path[i]);
	(void)rmdir(scratch_path[n]);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Install (on) or drop on_stop for dir's files. */
static void
stop_cleanup(const char *dir, int on)
{
	size_t i, n = sizeof(scratch_files) / sizeof(scratch_files[0]);
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if (on) {
		for (i = 0; i < n; i++)
			snprintf(scratch_path[i], sizeof(scratch_path[i]),
			    "%s/%s", dir, scratch_files[i]);
		snprintf(scratch_path[n], sizeof(scratch_path[n]), "%s", dir);
		sa.sa_handler = on_stop;
	} else {
		sa.sa_handler = SIG_DFL;
	}
	for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
		struct sigaction was;

		/* One ignored (a background job's SIGINT) stays so. */
		if (sigaction(stop_signals[i], NULL, &was) == 0 &&
		    was.sa_handler == SIG_IGN)
			continue;
		(void)sigaction(stop_signals[i], &sa, NULL);
	}
}

/* The cross-check in a private scratch directory, removed after. */
static int
check_scratch(struct tune *t, size_t *checked)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX];
	int rc;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if (snprintf(dir, sizeof(dir), "%s/spamsift-tune.XXXXXX", tmp) >=
	    (int)sizeof(dir)) {
		fprintf(stderr, "spamsift: %s: path too long\n", tmp);
		return -1;
	}
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "spamsift: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	stop_cleanup(dir, 1);
	rc = chmod(dir, 0700);
	if (rc != 0)
		fprintf(stderr, "spamsift: %s: %s\n", dir, strerror(errno));
	else {
		rc = tune_check_db(t, dir, checked);
		if (rc != 0)
			fprintf(stderr, "spamsift: %s\n", tune_errmsg(t));
	}
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	stop_cleanup(dir, 0);
	return rc;
}

static int
write_svg(const struct tune *t, const char *file)
{
	FILE *f;
	int bad;

	f = fopen(file, "w");
	if (f == NULL) {
		fprintf(stderr, "spamsift: %s: %s\n", file, strerror(errno));
		return -1;
	}
	tune_svg(t, f);
	bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		fprintf(stderr, "spamsift: %s: %s\n", file, strerror(errno));
		return -1;
	}
	return 0;
}

int
tune_run(const struct opts *o)
{
	struct tune *t = NULL;
	struct runctx r;
	struct timespec t0, t1, t2, t3, c0, c1, c2, c3;
	char err[512], *source = NULL;
	const char *index = NULL;
	size_t checked = 0;
	int rc = EXIT_ERROR;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.tty = isatty(2) && !o->quiet;
	if (o->nfiles == 1)
		index = o->files[0];
	if (o->nfiles > 1 || (index != NULL && (o->ham_path != NULL ||
	    o->spam_path != NULL)) || (index == NULL && (o->ham_path == NULL ||
	    o->spam_path == NULL))) {
		fprintf(stderr, "spamsift: tune: give one index file, or "
		    "--ham P and --spam P\n");
		return EXIT_USAGE;
	}
	if (o->max_mail > 0)
		fprintf(stderr, "spamsift: tune: max-mail: not simulated; "
		    "counts are never scaled\n");
	if (tune_new(&t, o, err, sizeof(err)) != 0) {
		fprintf(stderr, "spamsift: %s\n", err);
		return EXIT_ERROR;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	r.last = t0;
	if (index != NULL) {
		if (read_index(t, &r, index) != 0)
			goto out;
		if (asprintf(&source, "index %s", index) < 0)
			source = NULL;
	} else {
		if (read_pair(t, &r, o->ham_path, o->spam_path) != 0)
			goto out;
		if (asprintf(&source, "ham %s, spam %s (taken in turn, ham "
		    "first)", o->ham_path, o->spam_path) < 0)
			source = NULL;
	}
	if (source == NULL) {
		fprintf(stderr, "spamsift: tune: out of memory\n");
		goto out;
	}
	if (r.tty)
		fprintf(stderr, "\rspamsift: tune: reading %zu messages\n",
		    tune_count(t, NULL, NULL));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	if (tune_evaluate(t, on_progress, &r) != 0) {
		fprintf(stderr, "spamsift: %s\n", tune_errmsg(t));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c2);
	if (check_scratch(t, &checked) != 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t3);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c3);
	tune_report(t, stdout, source);
	printf("checked: the first %zu messages score the same through a "
	    "scratch database (%s, %s)\n", checked,
	    score_method_name(o->sp.method), mode_name[o->train_mode]);
	if (o->verbose)
		fprintf(stderr, "spamsift: tune: seconds (wall/cpu): reading "
		    "%.2f/%.2f, evaluating %.2f/%.2f, checking %.2f/%.2f\n",
		    secs(&t0, &t1), secs(&c0, &c1), secs(&t1, &t2),
		    secs(&c1, &c2), secs(&t2, &t3), secs(&c2, &c3));
	if (o->svg != NULL && write_svg(t, o->svg) != 0)
		goto out;
	rc = EXIT_SPAM;
out:
	free(source);
	tune_free(t);
	return rc;
}
