/* SPDX-License-Identifier: MIT */
/*
 * score.h - combining token counts into a spam probability: Graham's "A
 * Plan for Spam", Robinson's geometric mean, and Robinson-Fisher
 * (inverse chi-square).  Pure functions; no I/O, no allocation.
 */
#ifndef SPAMSIFT_SCORE_H
#define SPAMSIFT_SCORE_H

#include <stddef.h>
#include <stdint.h>

enum score_method {
	SCORE_GRAHAM = 0,	/* -m g */
	SCORE_ROBINSON,		/* -m r */
	SCORE_FISHER,		/* -m rf (default) */
};

struct score_params {
	enum score_method method;
	double robs;		/* Robinson's s: strength of the prior */
	double robx;		/* Robinson's x: prior for unseen tokens */
	double min_dev;		/* tokens with |p - 0.5| < min_dev ignored */
	int max_tokens;		/* most interesting tokens used; 0 = all */
	double unknown;		/* Graham: p of a rare or unseen token */
	int min_count;		/* Graham: fewer sightings count as unknown */
	double lr_weight;	/* factor of the logistic log-odds; 0: off */
};

/* One token of a message, as the combiner sees it. */
struct score_token {
	uint32_t spam, ham;	/* counts from the store */
	double p;		/* set by score_combine */
	int used;		/* set: 1 when it entered the combination */
	int32_t w;		/* logistic weight, in 1/SCORE_W_ONE */
};

struct score_result {
	double score;		/* in [0, 1]; higher is spammier: comb's
				 * log-odds plus lr_weight * lr_z */
	double comb;		/* the combiner's own score */
	double lr_z, lr_p;	/* logistic: sum of weights, probability */
	double h, s;		/* Fisher's H and S; Robinson's Q and P */
	size_t used;		/* tokens that entered the combination */
};

/* Defaults for method (bsfilter's where it has them). */
void score_params_init(struct score_params *p, enum score_method m);

/* The default spam cutoff of a method: 0.9 g, 0.582 r, 0.95 rf. */
double score_default_cutoff(enum score_method m);

/* The spam cutoff of the warm-up (opts.h): until the store has learned
 * SCORE_WARMUP_HAM ham messages, spam needs a score above this; with the
 * logistic learner in the score (lr_weight > 0) 0.994766, what the
 * combiner's most confident score gives with a neutral learner. */
#define SCORE_WARMUP_HAM 100
double score_warmup_cutoff(enum score_method m, double lr_weight);

/* A token's spam probability given its counts and the message totals. */
double score_token_p(const struct score_params *p, uint32_t spam,
    uint32_t ham, uint64_t nspam, uint64_t nham);

/* Combine n tokens into r.  Sets each token's p and used.  Reorders
 * nothing.  n may be 0 (score 0.5).  The tokens' w give r's lr_z and
 * lr_p; with p's lr_weight above 0 r's score is 1 / (1 + e^-x), x the
 * log-odds of comb (kept within [1e-4, 1 - 1e-4]) plus lr_weight * lr_z,
 * less 3.963 (score.c); with 0 it is comb. */
void score_combine(const struct score_params *p, struct score_token *t,
    size_t n, uint64_t nspam, uint64_t nham, struct score_result *r);

/* The logistic learner: weights are integers in units of 1/SCORE_W_ONE;
 * learning a message whose logistic probability is lr_p adds the same
 * step, score_lr_step(lr_p, spam), to each of its distinct tokens' weights
 * (0: it is right by SCORE_LR_MARGIN, nothing to learn).  Rate and margin:
 * the middle of the range that measured best on the SpamAssassin index
 * (rate 0.02 to 0.05, margin 0.35 to 0.45). */
#define SCORE_W_ONE 65536.0
#define SCORE_LR_RATE 0.04
#define SCORE_LR_MARGIN 0.4
#define SCORE_LR_WEIGHT 1.0	/* default lr_weight of g and rf (r: 0) */
double score_lr_p(double z);
int64_t score_lr_step(double lr_p, int spam);
/* Whether g is a step score_lr_step can give for that class. */
int score_lr_step_ok(int64_t g, int spam);

/* Upper tail of the chi-square distribution with df (even) degrees of
 * freedom, computed in the log domain (no underflow for large df). */
double score_chi2q(double chi, int df);

/* "g", "r", "rf" and back; score_method_parse gives -1 when unknown. */
const char *score_method_name(enum score_method m);
int score_method_parse(const char *s);

#endif
