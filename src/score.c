/* SPDX-License-Identifier: MIT */
/*
 * score.c - the three combiners.
 *
 * Robinson's token probability: f(w) = (s*x + n*p(w)) / (s + n), where
 * p(w) = b / (b + g), b = spam(w)/nspam, g = ham(w)/nham, n = the token's
 * sightings.  Fisher: S = 1 - C^-1(-2 sum ln(1-f), 2N), H = 1 -
 * C^-1(-2 sum ln f, 2N), score = (1 + S - H) / 2.  Robinson: P = 1 -
 * prod(1-f)^(1/N), Q = 1 - prod(f)^(1/N), score = (1 + (P-Q)/(P+Q)) / 2.
 * Graham: ham counts doubled, p clamped to [0.01, 0.99], rare tokens 0.4,
 * combined as prod p / (prod p + prod (1-p)).  Every method combines the
 * tokens at least min_dev from 0.5, or with max_tokens > 0 only that many
 * of them, the farthest first (Graham: 15; Robinson and Fisher: all, the
 * default, measured best: on the SpamAssassin index online, rf's
 * (1-ROCA)% 0.152 with all, 0.230 with 300, 0.306 with 150).
 *
 * A second opinion: online logistic regression over the same distinct
 * tokens (Goodman and Yih, CEAS 2006), p = 1 / (1 + e^-z), z the sum of
 * the tokens' weights, trained on or near error (a message is learned
 * unless p is already right by SCORE_LR_MARGIN) by w += rate (y - p).
 * It is discriminative where the counts are generative, so the two err
 * on different messages.  The score adds their log-odds: the combiner's
 * (its score kept within [LR_COMB_FLOOR, 1 - LR_COMB_FLOOR], so that no
 * amount of token evidence outweighs a confident learner) and lr_weight
 * times z.  A learner that knows little has z near 0 and leaves the
 * combiner's verdict alone: a mean of the probabilities would have
 * halved the combiner's confidence while the learner was unsure (after
 * training a folder of spam, then one of ham, spam scored 0.6 to 0.8).
 * On the SpamAssassin index online (simulated): rf alone 0.150 (1-ROCA)%;
 * log-odds sum 0.098; mean of probabilities 0.095 but 314 false
 * negatives instead of 157 at 0.95.  The sum's scores spread further
 * than the combiner's: it had 11 false positives above 0.95, 6 above
 * 0.999 (false negatives 8.1% and 13.2%; rf alone 8 at 0.95).  So the
 * sum is moved down by LR_SHIFT, which puts its 0.999 at 0.95: one
 * cutoff serves the score with and without the learner.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "src/score.h"

#define P_FLOOR 1e-9	/* keeps logs finite */
#define LR_Z_MAX 700.0	/* exp() stays finite */
#define LR_COMB_FLOOR 1e-4	/* the combiner's evidence: +-9.2 in log-odds */
#define LR_SHIFT 3.963		/* logit(0.999) - logit(0.95) */

void
score_params_init(struct score_params *p, enum score_method m)
{
	memset(p, 0, sizeof(*p));
	p->method = m;
	p->lr_weight = m == SCORE_ROBINSON ? 0.0 : SCORE_LR_WEIGHT;
	switch (m) {
	case SCORE_GRAHAM:
		p->max_tokens = 15;
		p->unknown = 0.4;
		p->min_count = 5;
		p->min_dev = 0.0;
		break;
	case SCORE_ROBINSON:
	case SCORE_FISHER:
		/* Robinson's scores stay near 0.5, where the learner's
		 * log-odds move them furthest: with it, r's false negatives
		 * at 0.582 went from 10.6% to 38.5% on the SpamAssassin
		 * index, for no better ROC area (0.172 and 0.174). */
		p->robs = 0.1;
		p->robx = 0.5;
		p->min_dev = 0.1;
		p->max_tokens = 0;
		break;
	}
}

double
score_default_cutoff(enum score_method m)
{
	switch (m) {
	case SCORE_GRAHAM:
		return 0.9;
	case SCORE_ROBINSON:
		return 0.582;
	case SCORE_FISHER:
		break;
	}
	return 0.95;
}

/* Measured online on the SpamAssassin index (spamsift --tune): 9 of
 * rf's 13 false positives at 0.95 came before the store had learned a
 * hundred ham (newsletters scoring like spam while it knew little
 * legitimate mail); with spam above 0.99999 until then, 8 false
 * positives in all and 179 false negatives instead of 173.  Robinson's
 * scores are less extreme: 0.65 takes its 15 to 11. */
double
score_warmup_cutoff(enum score_method m, double lr_weight)
{
	/* With the learner: what the combiner's most confident score
	 * (1 - LR_COMB_FLOOR) gives with a neutral learner, so that spam
	 * needs the learner to lean to spam.  On the SpamAssassin index rf
	 * then had 9 false positives and 10.2% false negatives; with no
	 * warm-up 10 and 10.1%; with the learner's p above 2/3, 8 and
	 * 10.4%. */
	if (lr_weight > 0.0) {
		/* The very sum score_combine makes of that score (c / (1 -
		 * c), not (1 - F) / F: one rounding apart, and a neutral
		 * learner's spam passed the cutoff by it). */
		double c = 1.0 - LR_COMB_FLOOR;

		return score_lr_p(log(c / (1.0 - c)) - LR_SHIFT);
	}
	switch (m) {
	case SCORE_GRAHAM:
		return 0.99999;
	case SCORE_ROBINSON:
		return 0.65;
	case SCORE_FISHER:
		break;
	}
	return 0.99999;
}

const char *
score_method_name(enum score_method m)
{
	switch (m) {
	case SCORE_GRAHAM:
		return "g";
	case SCORE_ROBINSON:
		return "r";
	case SCORE_FISHER:
		break;
	}
	return "rf";
}

int
score_method_parse(const char *s)
{
	if (strcmp(s, "g") == 0 || strcmp(s, "graham") == 0)
		return SCORE_GRAHAM;
	if (strcmp(s, "r") == 0 || strcmp(s, "robinson") == 0)
		return SCORE_ROBINSON;
	if (strcmp(s, "rf") == 0 || strcmp(s, "fisher") == 0 ||
	    strcmp(s, "robinson-fisher") == 0)
		return SCORE_FISHER;
	return -1;
}

static double
clamp(double x, double lo, double hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

double
score_token_p(const struct score_params *p, uint32_t spam, uint32_t ham,
    uint64_t nspam, uint64_t nham)
{
	double b, g, pw, n;

	if (p->method == SCORE_GRAHAM) {
		double gg = 2.0 * ham, bb = spam;

		if (gg + bb < p->min_count)
			return p->unknown;
		b = nspam ? fmin(1.0, bb / (double)nspam) : 0.0;
		g = nham ? fmin(1.0, gg / (double)nham) : 0.0;
		if (b + g == 0.0)
			return p->unknown;
		return clamp(b / (b + g), 0.01, 0.99);
	}
	n = (double)spam + (double)ham;
	b = nspam ? (double)spam / (double)nspam : 0.0;
	g = nham ? (double)ham / (double)nham : 0.0;
	pw = (b + g) > 0.0 ? b / (b + g) : p->robx;
	return (p->robs * p->robx + n * pw) / (p->robs + n);
}

double
score_chi2q(double chi, int df)
{
	double m = chi / 2.0, logterm, logsum;
	int i, k = df / 2;

	if (chi <= 0.0 || k <= 0)
		return 1.0;
	logterm = -m;
	logsum = logterm;
	for (i = 1; i < k; i++) {
		double hi, lo;

		logterm += log(m / i);
		hi = logsum > logterm ? logsum : logterm;
		lo = logsum > logterm ? logterm : logsum;
		logsum = hi + log1p(exp(lo - hi));
	}
	return fmin(1.0, exp(logsum));
}

static int
cmp_dev(const void *a, const void *b)
{
	const struct score_token *x = *(const struct score_token *const *)a;
	const struct score_token *y = *(const struct score_token *const *)b;
	double dx = fabs(x->p - 0.5), dy = fabs(y->p - 0.5);

	if (dx != dy)
		return (dx < dy) - (dx > dy);
	/* Ties in the order given (the pointers are into one array): qsort
	 * itself promises no order for them. */
	return (x > y) - (x < y);
}

/* Of the 'used' tokens marked used, keep marked only the k farthest from
 * 0.5 (ties: the order given); the count kept.  Without memory for the
 * sort, all stay: still a verdict. */
static size_t
keep_extreme(struct score_token *t, size_t n, size_t used, size_t k)
{
	struct score_token **v;
	size_t i, m = 0;

	v = malloc(sizeof(*v) * used);
	if (v == NULL)
		return used;
	for (i = 0; i < n; i++)
		if (t[i].used)
			v[m++] = &t[i];
	qsort(v, m, sizeof(*v), cmp_dev);
	for (i = k; i < m; i++)
		v[i]->used = 0;
	free(v);
	return k;
}

/* Graham: the product of the used tokens' p against that of their
 * 1 - p. */
static void
graham(const struct score_token *t, size_t n, struct score_result *r)
{
	size_t i;
	double lp = 0.0, lq = 0.0, d;

	for (i = 0; i < n; i++) {
		if (!t[i].used)
			continue;
		lp += log(clamp(t[i].p, P_FLOOR, 1 - P_FLOOR));
		lq += log(clamp(1 - t[i].p, P_FLOOR, 1 - P_FLOOR));
	}
	r->s = lp;
	r->h = lq;
	/* prod p / (prod p + prod q) = 1 / (1 + exp(lq - lp)) */
	d = lq - lp;
	r->score = d > 700 ? 0.0 : 1.0 / (1.0 + exp(d));
}

static void
combine(const struct score_params *p, struct score_token *t, size_t n,
    uint64_t nspam, uint64_t nham, struct score_result *r)
{
	size_t i, used = 0;
	double sl = 0.0, hl = 0.0, f, P, Q;

	memset(r, 0, sizeof(*r));
	r->score = 0.5;
	for (i = 0; i < n; i++) {
		t[i].p = score_token_p(p, t[i].spam, t[i].ham, nspam, nham);
		t[i].used = 0;
	}
	/* Every method: the tokens at least min_dev from 0.5, at most
	 * max_tokens of them (the farthest). */
	for (i = 0; i < n; i++)
		if (fabs(t[i].p - 0.5) >= p->min_dev) {
			t[i].used = 1;
			used++;
		}
	if (p->max_tokens > 0 && used > (size_t)p->max_tokens)
		used = keep_extreme(t, n, used, (size_t)p->max_tokens);
	if (p->method == SCORE_GRAHAM) {
		r->used = used;
		if (n > 0)
			graham(t, n, r);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!t[i].used)
			continue;
		f = clamp(t[i].p, P_FLOOR, 1 - P_FLOOR);
		sl += log(1.0 - f);
		hl += log(f);
	}
	r->used = used;
	if (used == 0)
		return;
	if (p->method == SCORE_FISHER) {
		r->s = 1.0 - score_chi2q(-2.0 * sl, 2 * (int)used);
		r->h = 1.0 - score_chi2q(-2.0 * hl, 2 * (int)used);
		r->score = (1.0 + r->s - r->h) / 2.0;
		return;
	}
	P = 1.0 - exp(sl / (double)used);
	Q = 1.0 - exp(hl / (double)used);
	r->s = P;
	r->h = Q;
	r->score = (P + Q) > 0.0 ? (1.0 + (P - Q) / (P + Q)) / 2.0 : 0.5;
}

double
score_lr_p(double z)
{
	z = clamp(z, -LR_Z_MAX, LR_Z_MAX);
	return 1.0 / (1.0 + exp(-z));
}

int64_t
score_lr_step(double lr_p, int spam)
{
	double y = spam ? 1.0 : 0.0;

	/* Right by a margin: nothing to learn (Sculley's TONE). */
	if (spam ? lr_p >= 0.5 + SCORE_LR_MARGIN :
	    lr_p <= 0.5 - SCORE_LR_MARGIN)
		return 0;
	return llround(SCORE_LR_RATE * (y - lr_p) * SCORE_W_ONE);
}

int
score_lr_step_ok(int64_t g, int spam)
{
	int64_t max = llround(SCORE_LR_RATE * SCORE_W_ONE);

	return spam ? g >= 0 && g <= max : g <= 0 && g >= -max;
}

void
score_combine(const struct score_params *p, struct score_token *t, size_t n,
    uint64_t nspam, uint64_t nham, struct score_result *r)
{
	double z = 0.0, c;
	size_t i;

	combine(p, t, n, nspam, nham, r);
	r->comb = r->score;
	for (i = 0; i < n; i++)
		z += (double)t[i].w;
	r->lr_z = z / SCORE_W_ONE;
	r->lr_p = score_lr_p(r->lr_z);
	if (p->lr_weight > 0.0) {
		c = clamp(r->comb, LR_COMB_FLOOR, 1.0 - LR_COMB_FLOOR);
		r->score = score_lr_p(log(c / (1.0 - c)) +
		    p->lr_weight * r->lr_z - LR_SHIFT);
	}
}
