/* SPDX-License-Identifier: MIT */
/*
 * check_tune.c - unit tests of --tune (src/tune.h): the ROC area with
 * ties, the rates at a cutoff, the cutoff for a target false-positive
 * rate, the report and the SVG on a tiny labelled set, and that the
 * in-memory evaluation gives exactly the scores and training the engine
 * gives with a real database (every combiner and training mode, with a
 * duplicate and a moved message).
 *
 * Run from the top of the source tree (make unit does): the agreement
 * tests read corpus/index.  Each test that needs a database makes its own
 * private directory under /tmp and removes it.
 */
#include <sys/stat.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "db/db.h"
#include "src/engine.h"
#include "src/opts.h"
#include "src/score.h"
#include "src/tune.h"
#include "tests/check_util.h"

#define CORPUS_INDEX "corpus/index"
#define MAX_MSGS 256		/* messages read from the corpus */
#define LINE_MAX_BYTES 1024	/* one index line */

/* --- ROC area ----------------------------------------------------- */

static double
auc_of(const double *ham, size_t nh, const double *spam, size_t ns)
{
	struct tune_point p[64];
	size_t i, n = 0;

	memset(p, 0, sizeof(p));
	ck_assert_uint_le(nh + ns, 64);
	/* interleave, so input order is not sorted by class */
	for (i = 0; i < nh || i < ns; i++) {
		if (i < ns) {
			p[n].score = spam[i];
			p[n++].spam = 1;
		}
		if (i < nh) {
			p[n].score = ham[i];
			p[n++].spam = 0;
		}
	}
	return tune_auc(p, n);
}

START_TEST(test_auc_separated)
{
	const double h[] = { 0.1, 0.2, 0.3 }, s[] = { 0.8, 0.9 };

	ck_assert_double_eq_tol(auc_of(h, 3, s, 2), 1.0, 1e-12);
	/* reversed: every spam below every ham */
	ck_assert_double_eq_tol(auc_of(s, 2, h, 3), 0.0, 1e-12);
}
END_TEST

START_TEST(test_auc_all_tied)
{
	const double h[] = { 0.5, 0.5 }, s[] = { 0.5, 0.5, 0.5 };

	/* every pair tied: one half each */
	ck_assert_double_eq_tol(auc_of(h, 2, s, 3), 0.5, 1e-12);
}
END_TEST

START_TEST(test_auc_ties_by_hand)
{
	/* Pairs (spam, ham), 1 when spam is higher, 1/2 when tied:
	 * spam 0.5: 1 + 1/2 + 0; spam 0.9: 1 + 1 + 1/2; spam 0.95: 3.
	 * 7 of 9.  Rank sum: ranks 1 (h .1), 2.5 (h .5, s .5), 4.5 (h .9,
	 * s .9), 6 (s .95): R = 2.5 + 4.5 + 6 = 13, 13 - 3*4/2 = 7. */
	const double h[] = { 0.1, 0.5, 0.9 }, s[] = { 0.5, 0.9, 0.95 };

	ck_assert_double_eq_tol(auc_of(h, 3, s, 3), 7.0 / 9.0, 1e-12);
}
END_TEST

START_TEST(test_auc_ties_saturated)
{
	/* Two ham and three spam at exactly 1, one ham at 0:
	 * spam vs ham at 0: 3 wins; spam vs the two ham at 1: 6 halves. */
	const double h[] = { 1.0, 0.0, 1.0 }, s[] = { 1.0, 1.0, 1.0 };

	ck_assert_double_eq_tol(auc_of(h, 3, s, 3), (3.0 + 3.0) / 9.0,
	    1e-12);
}
END_TEST

START_TEST(test_auc_one_class)
{
	const double h[] = { 0.1, 0.7 };

	ck_assert_double_eq(auc_of(h, 2, NULL, 0), -1.0);
	ck_assert_double_eq(auc_of(NULL, 0, h, 2), -1.0);
	ck_assert_double_eq(tune_auc(NULL, 0), -1.0);
}
END_TEST

START_TEST(test_auc_sorts)
{
	struct tune_point p[] = {
		{ 0.9, 1, 0 }, { 0.2, 0, 0 }, { 0.6, 0, 0 }, { 0.4, 1, 0 },
		{ 0.1, 0, 0 },
	};
	size_t i;

	/* spam .9 beats 3 ham, spam .4 beats 2: 5 of 6 */
	ck_assert_double_eq_tol(tune_auc(p, 5), 5.0 / 6.0, 1e-12);
	for (i = 1; i < 5; i++)
		ck_assert(p[i - 1].score <= p[i].score);
}
END_TEST

/* --- rates and the cutoff for a target FP rate ---------------------- */

START_TEST(test_rates_boundary)
{
	struct tune_point p[] = {
		{ 0.5, 0, 0 }, { 0.5, 1, 0 }, { 0.6, 0, 0 }, { 0.4, 1, 0 },
		{ 0.7, 1, 0 },
	};
	size_t fp, fn;

	/* spam when score > cut: at 0.5 the ham at 0.5 is no FP, the spam
	 * at 0.5 is a FN */
	tune_rates(p, 5, 0.5, &fp, &fn);
	ck_assert_uint_eq(fp, 1);
	ck_assert_uint_eq(fn, 2);
	tune_rates(p, 5, 0.0, &fp, &fn);
	ck_assert_uint_eq(fp, 2);
	ck_assert_uint_eq(fn, 0);
	tune_rates(p, 5, 1.0, &fp, &fn);
	ck_assert_uint_eq(fp, 0);
	ck_assert_uint_eq(fn, 3);
}
END_TEST

/* Ten ham at .05 .15 ... .95 and spam at .5 .9 .99 (no warm-up).  p
 * holds at least 13. */
static size_t
ten_ham(struct tune_point *p)
{
	size_t i, n = 0;

	memset(p, 0, 13 * sizeof(*p));
	for (i = 0; i < 10; i++) {
		p[n].score = (double)(2 * i + 1) / 20.0;	/* as 0.85 is */
		p[n++].spam = 0;
	}
	p[n].score = 0.5;
	p[n++].spam = 1;
	p[n].score = 0.9;
	p[n++].spam = 1;
	p[n].score = 0.99;
	p[n++].spam = 1;
	(void)tune_auc(p, n);	/* sorts */
	return n;
}

START_TEST(test_cutoff_target)
{
	struct tune_point p[16];
	size_t n = ten_ham(p), fp, fn;
	double c;

	/* 10% of 10 ham: one FP allowed: the second highest ham, .85 */
	c = tune_cutoff_for_fp(p, n, 10.0);
	ck_assert_double_eq_tol(c, 0.85, 1e-9);
	tune_rates(p, n, c, &fp, &fn);
	ck_assert_uint_eq(fp, 1);
	ck_assert_uint_eq(fn, 1);	/* the spam at .5 */
	/* 0%: above the highest ham, .95; both spam under it missed */
	c = tune_cutoff_for_fp(p, n, 0.0);
	ck_assert_double_eq_tol(c, 0.95, 1e-9);
	tune_rates(p, n, c, &fp, &fn);
	ck_assert_uint_eq(fp, 0);
	ck_assert_uint_eq(fn, 2);
	/* 19.9% of 10 is 1.99: still one allowed */
	ck_assert_double_eq_tol(tune_cutoff_for_fp(p, n, 19.9), 0.85, 1e-9);
	/* 25%: two allowed, the third highest, .75 */
	ck_assert_double_eq_tol(tune_cutoff_for_fp(p, n, 25.0), 0.75, 1e-9);
	/* everything allowed */
	ck_assert_double_eq(tune_cutoff_for_fp(p, n, 100.0), 0.0);
}
END_TEST

/* The warm-up: a point's wcut holds a ham back from being a false
 * positive (and a spam counts missed) unless it scores above both; a ham
 * held back is no candidate for the target cutoff. */
START_TEST(test_warmup_points)
{
	struct tune_point p[] = {
		{ 0.99, 0, 0.99999 },		/* held back: not an FP */
		{ 0.999999, 0, 0.99999 },	/* above both: FP */
		{ 0.97, 0, 0 },			/* no warm-up: FP at .95 */
		{ 0.999, 1, 0.99999 },		/* held back: missed */
		{ 0.9999999, 1, 0.99999 },	/* caught */
		{ 0.1, 0, 0 },
	};
	size_t fp, fn;
	double c;

	tune_rates(p, 6, 0.95, &fp, &fn);
	ck_assert_uint_eq(fp, 2);
	ck_assert_uint_eq(fn, 1);
	/* Over every wcut, the warm-up changes nothing. */
	tune_rates(p, 6, 0.999995, &fp, &fn);
	ck_assert_uint_eq(fp, 1);
	ck_assert_uint_eq(fn, 1);
	(void)tune_auc(p, 6);
	/* One FP of four ham allowed (25%): of the ham that can be FPs
	 * (.999999 and .97), the second highest, .97, is the cutoff; the ham
	 * at .99 would be the second highest without its wcut. */
	c = tune_cutoff_for_fp(p, 6, 25.0);
	ck_assert_double_eq_tol(c, 0.97, 1e-9);
	tune_rates(p, 6, c, &fp, &fn);
	ck_assert_uint_eq(fp, 1);
}
END_TEST

/* opts_cutoff_at: the warm-up's cutoff while the store has fewer than
 * --warm-up ham, in training mode all only, never below the cutoff. */
START_TEST(test_warmup_cutoff)
{
	struct opts o;

	opts_init(&o);
	ck_assert_int_eq(o.warmup_ham, SCORE_WARMUP_HAM);
	/* With the logistic learner counting: the combiner's most
	 * confident score with a neutral learner. */
	ck_assert_double_eq_tol(opts_cutoff_at(&o, 0, 1.0),
	    1.0 / (1.0 + exp(-(log(9999.0) - 3.963))), 1e-12);
	ck_assert_double_eq(opts_cutoff_at(&o, SCORE_WARMUP_HAM, 1.0), 0.95);
	ck_assert_double_eq(opts_cutoff_at(&o, 0, 0.0), 0.99999);
	ck_assert_double_eq(opts_cutoff_at(&o, SCORE_WARMUP_HAM - 1, 0.0),
	    0.99999);
	ck_assert_double_eq(opts_cutoff_at(&o, SCORE_WARMUP_HAM, 0.0), 0.95);
	o.warmup_ham = 0;
	ck_assert_double_eq(opts_cutoff_at(&o, 0, 0.0), 0.95);
	o.warmup_ham = 10;
	o.train_mode = TRAIN_ERROR;
	ck_assert_double_eq(opts_cutoff_at(&o, 3, 0.0), 0.95);
	o.train_mode = TRAIN_ALL;
	o.warmup_cutoff = 0.5;		/* under the cutoff: no effect */
	ck_assert_double_eq(opts_cutoff_at(&o, 3, 0.0), 0.95);
	o.warmup_cutoff = -1.0;
	o.spam_cutoff = 0.9999999;	/* over the warm-up's: it wins */
	ck_assert_double_eq(opts_cutoff_at(&o, 3, 0.0), 0.9999999);
	o.spam_cutoff = -1.0;
	score_params_init(&o.sp, SCORE_ROBINSON);
	o.sp.lr_weight = 0.0;
	ck_assert_double_eq(opts_cutoff_at(&o, 3, 0.0), 0.65);
	ck_assert_double_eq(opts_cutoff_at(&o, 10, 0.0), 0.582);
	score_params_init(&o.sp, SCORE_GRAHAM);
	o.sp.lr_weight = 0.0;
	ck_assert_double_eq(opts_cutoff_at(&o, 3, 0.0), 0.99999);
}
END_TEST

START_TEST(test_cutoff_grid)
{
	struct tune_point p[] = {
		{ 0.1, 0, 0 }, { 0.1234567, 0, 0 }, { 0.1234569, 1, 0 },
		{ 0.2, 1, 0 },
	};
	struct tune_point q[] = { { 0.95, 0, 0 }, { 0.97, 1, 0 } };
	struct tune_point sat[] = {
		{ 1.0, 0, 0 }, { 1.0, 1, 0 }, { 0.2, 0, 0 },
	};
	size_t fp, fn;
	double c;
	char buf[32];

	(void)tune_auc(p, 4);
	c = tune_cutoff_for_fp(p, 4, 0.0);
	/* rounded up to the 1e-6 grid: printed, it means what we measured */
	ck_assert_double_eq_tol(c, 0.123457, 1e-12);
	snprintf(buf, sizeof(buf), "%.6f", c);
	ck_assert_double_eq(strtod(buf, NULL), c);
	tune_rates(p, 4, c, &fp, &fn);
	ck_assert_uint_eq(fp, 0);
	ck_assert_uint_eq(fn, 1);	/* .1234569 is not above .123457 */
	/* a score on the grid stays there (not .950001) */
	(void)tune_auc(q, 2);
	c = tune_cutoff_for_fp(q, 2, 0.0);
	snprintf(buf, sizeof(buf), "%.6f", c);
	ck_assert_str_eq(buf, "0.950000");
	/* ham at exactly 1: only cutoff 1 keeps it out, and no spam is
	 * above 1 */
	(void)tune_auc(sat, 3);
	c = tune_cutoff_for_fp(sat, 3, 0.0);
	ck_assert_double_eq(c, 1.0);
	tune_rates(sat, 3, c, &fp, &fn);
	ck_assert_uint_eq(fp, 0);
	ck_assert_uint_eq(fn, 1);
}
END_TEST

/* --- a tiny labelled set -------------------------------------------- */

static const char *const ham_body[] = {
	"seminar agenda lunch notes thesis draft review",
	"thesis draft review seminar room schedule",
	"lab meeting agenda notes schedule room",
	"review comments thesis chapter seminar",
	"schedule lunch room lab meeting notes",
	"agenda thesis review chapter comments",
};
static const char *const spam_body[] = {
	"cheap pills winner claim prize now",
	"winner prize lottery claim cheap offer",
	"cheap offer pills discount now click",
	"lottery winner click claim prize discount",
	"discount pills cheap click offer now",
	"prize claim lottery winner offer click",
};

static char *
tiny_msg(int spam, int i)
{
	char *m = NULL;

	ck_assert_int_ge(asprintf(&m, "From: %s%d@example.org\n"
	    "Subject: %s\nMessage-ID: <%s%d@example.org>\n\n%s\n",
	    spam ? "promo" : "colleague", i, spam ? "special offer" :
	    "lab business", spam ? "s" : "h", i, spam ? spam_body[i] :
	    ham_body[i]), 0);
	return m;
}

static struct tune *
tiny_set(const struct opts *o)
{
	struct tune *t = NULL;
	char err[256], *m;
	int i, c;

	ck_assert_msg(tune_new(&t, o, err, sizeof(err)) == 0, "%s", err);
	for (i = 0; i < 6; i++)
		for (c = 0; c < 2; c++) {
			m = tiny_msg(c, i);
			ck_assert_msg(tune_add(t, m, strlen(m), c) == 0, "%s",
			    tune_errmsg(t));
			free(m);
		}
	return t;
}

static char *
report_text(const struct tune *t, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	ck_assert_ptr_nonnull(f);
	tune_report(t, f, "tiny");
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

static int
count_lines_with(const char *text, const char *needle)
{
	const char *p = text, *nl;
	int n = 0;
	size_t k = strlen(needle);

	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (memmem(p, (size_t)(nl - p), needle, k) != NULL)
			n++;
		p = *nl ? nl + 1 : nl;
	}
	return n;
}

START_TEST(test_report_tiny)
{
	struct opts o;
	struct tune *t;
	const struct tune_row *rw;
	char *text, line[128];
	size_t len, nh, ns, fp, fn;
	int m, mode, marked = 0;

	opts_init(&o);
	t = tiny_set(&o);
	ck_assert_uint_eq(tune_count(t, &nh, &ns), 12);
	ck_assert_uint_eq(nh, 6);
	ck_assert_uint_eq(ns, 6);
	ck_assert_int_eq(tune_evaluate(t, NULL, NULL), 0);
	for (mode = 0; mode < TUNE_NMODES; mode++)
		for (m = 0; m < TUNE_NMETHODS; m++) {
			rw = tune_row(t, (enum score_method)m, mode);
			ck_assert_int_eq(rw->method, m);
			ck_assert_int_eq(rw->mode, mode);
			ck_assert_uint_eq(rw->npt, 12);
			ck_assert_uint_eq(rw->nham, 6);
			ck_assert_uint_eq(rw->nspam, 6);
			ck_assert(rw->auc >= 0.0 && rw->auc <= 1.0);
			ck_assert_double_eq(rw->cut,
			    score_default_cutoff((enum score_method)m));
			tune_rates(rw->pt, rw->npt, rw->cut, &fp, &fn);
			ck_assert_uint_eq(rw->fp, fp);
			ck_assert_uint_eq(rw->fn, fn);
			/* 0.1% of 6 ham: no false positive allowed */
			ck_assert_uint_eq(rw->tfp, 0);
			ck_assert_uint_le(rw->trained, 12);
			marked += rw->current;
			if (mode == TRAIN_ALL)
				ck_assert_uint_eq(rw->trained, 12);
		}
	ck_assert_int_eq(marked, 1);
	ck_assert(tune_row(t, SCORE_FISHER, TRAIN_ALL)->current);
	/* Error mode: the first ham scores 0.5, under every cutoff: right,
	 * not learned; the first spam is wrong and learned.  So fewer than
	 * all, at least one. */
	rw = tune_row(t, SCORE_FISHER, TRAIN_ERROR);
	ck_assert_uint_lt(rw->trained, 12);
	ck_assert_uint_ge(rw->trained, 1);
	/* These two vocabularies never meet: once trained, the Robinson
	 * combiners separate them completely. */
	ck_assert_double_eq_tol(tune_row(t, SCORE_ROBINSON, TRAIN_ALL)->auc,
	    1.0, 0.05);

	text = report_text(t, &len);
	ck_assert_ptr_nonnull(strstr(text, "spamsift tune: tiny\n"));
	ck_assert_ptr_nonnull(strstr(text, "protocol: online"));
	ck_assert_ptr_nonnull(strstr(text, "messages 12: ham 6, spam 6\n"));
	ck_assert_ptr_nonnull(strstr(text, "method train   1-ROCA%"));
	ck_assert_int_eq(count_lines_with(text, " all "), 3);
	ck_assert_int_eq(count_lines_with(text, " error "), 3);
	ck_assert_int_eq(count_lines_with(text, " tune "), 3);
	ck_assert_int_eq(count_lines_with(text, " *"), 1);	/* the row */
	rw = tune_row(t, SCORE_FISHER, TRAIN_ALL);
	snprintf(line, sizeof(line), "rf     all   %9.4f  0.950000 %7.3f "
	    "%7.3f %8zu", 100.0 * (1.0 - rw->auc), 100.0 * (double)rw->fp / 6,
	    100.0 * (double)rw->fn / 6, rw->trained);
	ck_assert_msg(strstr(text, line) != NULL, "no \"%s\" in:\n%s", line,
	    text);
	ck_assert_ptr_nonnull(strstr(text, "*: your settings (-m rf "
	    "--train-mode all)"));
	free(text);
	tune_free(t);
}
END_TEST

START_TEST(test_report_settings)
{
	struct opts o;
	struct tune *t;
	const struct tune_row *rw;
	char *text;
	size_t len;

	opts_init(&o);
	score_params_init(&o.sp, SCORE_ROBINSON);
	o.spam_cutoff = 0.7;
	o.train_mode = TRAIN_ERROR;
	t = tiny_set(&o);
	ck_assert_int_eq(tune_evaluate(t, NULL, NULL), 0);
	rw = tune_row(t, SCORE_ROBINSON, TRAIN_ERROR);
	ck_assert(rw->current);
	ck_assert_double_eq(rw->cut, 0.7);	/* the user's cutoff */
	ck_assert_double_eq(tune_row(t, SCORE_ROBINSON, TRAIN_ALL)->cut, 0.7);
	ck_assert_double_eq(tune_row(t, SCORE_FISHER, TRAIN_ALL)->cut, 0.95);
	ck_assert_double_eq(tune_row(t, SCORE_GRAHAM, TRAIN_ALL)->cut, 0.9);
	text = report_text(t, &len);
	ck_assert_ptr_nonnull(strstr(text, "r      error "));
	ck_assert_ptr_nonnull(strstr(text, "*: your settings (-m r "
	    "--train-mode error, --spam-cutoff)"));
	free(text);
	tune_free(t);
}
END_TEST

START_TEST(test_split)
{
	struct opts o;
	struct tune *t;
	const struct tune_row *rw;
	char *text;
	size_t len;
	int m;

	opts_init(&o);
	o.tune_split = "0.5";
	t = tiny_set(&o);
	ck_assert_int_eq(tune_evaluate(t, NULL, NULL), 0);
	for (m = 0; m < TUNE_NMETHODS; m++) {
		rw = tune_row(t, (enum score_method)m, TRAIN_ALL);
		ck_assert_uint_eq(rw->npt, 6);
		ck_assert_uint_eq(rw->nham, 3);
		ck_assert_uint_eq(rw->nspam, 3);
		ck_assert_uint_eq(rw->trained, 6);
		ck_assert_uint_le(tune_row(t, (enum score_method)m,
		    TRAIN_TUNE)->trained, 6);
	}
	text = report_text(t, &len);
	ck_assert_ptr_nonnull(strstr(text, "protocol: split (the first 6 "
	    "messages trained, the other 6 scored"));
	ck_assert_ptr_nonnull(strstr(text, "scored 6: ham 3, spam 3\n"));
	free(text);
	tune_free(t);
}
END_TEST

START_TEST(test_one_class)
{
	struct opts o;
	struct tune *t = NULL;
	char err[256], *m;

	opts_init(&o);
	ck_assert_int_eq(tune_new(&t, &o, err, sizeof(err)), 0);
	m = tiny_msg(0, 0);
	ck_assert_int_eq(tune_add(t, m, strlen(m), 0), 0);
	free(m);
	ck_assert_int_eq(tune_evaluate(t, NULL, NULL), -1);
	ck_assert_ptr_nonnull(strstr(tune_errmsg(t), "need both ham and "
	    "spam"));
	tune_free(t);
}
END_TEST

START_TEST(test_svg_shape)
{
	struct opts o;
	struct tune *t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	opts_init(&o);
	t = tiny_set(&o);
	ck_assert_int_eq(tune_evaluate(t, NULL, NULL), 0);
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	tune_svg(t, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert(strncmp(buf, "<?xml ", 6) == 0);
	ck_assert_ptr_nonnull(strstr(buf, "<svg xmlns=\"http://www.w3.org/"
	    "2000/svg\""));
	ck_assert_int_eq(count_lines_with(buf, "<polyline"), 3);
	ck_assert_ptr_nonnull(strstr(buf, "false positives"));
	ck_assert_ptr_nonnull(strstr(buf, "false negatives"));
	ck_assert(len > 7 && strcmp(buf + len - 7, "</svg>\n") == 0);
	free(buf);
	tune_free(t);
}
END_TEST

/* --- agreement with the engine and a real database ------------------- */

struct corpus {
	char *buf[MAX_MSGS];
	size_t len[MAX_MSGS];
	int spam[MAX_MSGS];
	size_t n;
};

static void
corpus_push(struct corpus *c, const char *buf, size_t len, int spam)
{
	ck_assert_uint_lt(c->n, MAX_MSGS);
	c->buf[c->n] = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(c->buf[c->n]);
	memcpy(c->buf[c->n], buf, len);
	c->len[c->n] = len;
	c->spam[c->n] = spam;
	c->n++;
}

/* corpus/index with, after its 30th message, a copy of message 1 with
 * its own label (a duplicate: not learned again) and, after the 60th, a
 * copy of message 2 with the other label (moved to the other class), so
 * that the messages after them are scored with what they did. */
static void
corpus_load(struct corpus *c)
{
	FILE *f = fopen(CORPUS_INDEX, "r");
	char line[LINE_MAX_BYTES], path[LINE_MAX_BYTES + 16], *b;
	size_t len;

	memset(c, 0, sizeof(*c));
	ck_assert_msg(f != NULL, "%s: cannot open (run from the source "
	    "tree's top)", CORPUS_INDEX);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = strchr(line, ' ');

		if (p == NULL)
			continue;
		*p++ = '\0';
		p[strcspn(p, "\r\n")] = '\0';
		snprintf(path, sizeof(path), "corpus/%s", p);
		b = read_whole(path, &len);
		corpus_push(c, b, len, strcmp(line, "spam") == 0);
		free(b);
		if (c->n == 30)
			corpus_push(c, c->buf[0], c->len[0], c->spam[0]);
		if (c->n == 61)
			corpus_push(c, c->buf[1], c->len[1], !c->spam[1]);
	}
	fclose(f);
	ck_assert_uint_ge(c->n, 80);
}

static void
corpus_free(struct corpus *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->buf[i]);
}

static int
cmp_pt(const void *a, const void *b)
{
	const struct tune_point *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	return x->spam - y->spam;
}

static void
count_changes(void *ctx, size_t cookie, enum learn_outcome oc)
{
	size_t *n = ctx;

	(void)cookie;
	if (oc == LEARN_NEW || oc == LEARN_MOVED)
		(*n)++;
}

/* Online through the engine: classify, then learn as main.c's
 * train_one decides, one flush per message.  Fills pt in order; returns
 * the messages that changed the store (new or moved). */
static size_t
engine_online(const struct opts *o, const struct corpus *c,
    struct tune_point *pt)
{
	struct tmp t;
	char path[128], err[256];
	struct engine *e = NULL;
	struct verdict_info v;
	double cut;
	size_t i, learned = 0;
	int wrong;

	tmp_make(&t, "check_tune");
	snprintf(path, sizeof(path), "%s/%s", t.dir, DB_FILENAME);
	ck_assert_msg(engine_new(&e, o, path, DB_CREATE, err,
	    sizeof(err)) == 0, "%s", err);
	for (i = 0; i < c->n; i++) {
		ck_assert_int_eq(engine_classify(e, c->buf[i], c->len[i], &v),
		    0);
		/* The cutoff the engine judged by: the warm-up's while the
		 * store has few ham. */
		cut = v.cutoff;
		pt[i].score = v.score;
		pt[i].spam = c->spam[i];
		pt[i].wcut = cut > opts_spam_cutoff(o) ? cut : 0.0;
		wrong = c->spam[i] != (v.score > cut);
		if (o->train_mode == TRAIN_TUNE)
			wrong = wrong || fabs(v.score - cut) < o->thick;
		if (o->train_mode != TRAIN_ALL && !wrong)
			continue;
		ck_assert_int_eq(engine_learn(e, c->buf[i], c->len[i],
		    c->spam[i] ? DB_SPAM : DB_HAM, 0, i), 0);
		ck_assert_int_eq(engine_flush(e, count_changes, &learned), 0);
	}
	engine_free(e);
	tmp_remove(&t);
	return learned;
}

static const int agree_modes[] = { TRAIN_ALL, TRAIN_ERROR, TRAIN_TUNE };

START_TEST(test_agrees_with_engine)
{
	static struct corpus c;
	struct tune_point *pt;
	struct opts o;
	struct tune *t = NULL;
	const struct tune_row *rw;
	char err[256];
	size_t i, learned, fp, fn;
	int m, mode = agree_modes[_i];

	corpus_load(&c);
	pt = calloc(c.n, sizeof(*pt));
	ck_assert_ptr_nonnull(pt);
	opts_init(&o);
	o.train_mode = mode;
	ck_assert_int_eq(tune_new(&t, &o, err, sizeof(err)), 0);
	for (i = 0; i < c.n; i++)
		ck_assert_int_eq(tune_add(t, c.buf[i], c.len[i], c.spam[i]),
		    0);
	ck_assert_int_eq(tune_evaluate(t, NULL, NULL), 0);
	for (m = 0; m < TUNE_NMETHODS; m++) {
		score_params_init(&o.sp, (enum score_method)m);
		learned = engine_online(&o, &c, pt);
		/* mode all: every message but the duplicate */
		if (mode == TRAIN_ALL)
			ck_assert_uint_eq(learned, c.n - 1);
		qsort(pt, c.n, sizeof(*pt), cmp_pt);
		rw = tune_row(t, (enum score_method)m, mode);
		ck_assert_uint_eq(rw->npt, c.n);
		for (i = 0; i < c.n; i++) {
			ck_assert_msg(rw->pt[i].score == pt[i].score &&
			    rw->pt[i].spam == pt[i].spam, "method %s mode %d: "
			    "sorted score %zu: %.17g (%d) in memory, %.17g "
			    "(%d) via the engine", score_method_name(
			    (enum score_method)m), mode, i, rw->pt[i].score,
			    rw->pt[i].spam, pt[i].score, pt[i].spam);
		}
		ck_assert_double_eq(rw->auc, tune_auc(pt, c.n));
		tune_rates(pt, c.n, score_default_cutoff(
		    (enum score_method)m), &fp, &fn);
		ck_assert_uint_eq(rw->fp, fp);
		ck_assert_uint_eq(rw->fn, fn);
		ck_assert_uint_eq(rw->trained, learned);
	}
	tune_free(t);
	free(pt);
	corpus_free(&c);
}
END_TEST

/* The in-order check tune_run makes, for every configuration. */
START_TEST(test_check_db_each)
{
	static struct corpus c;
	struct opts o;
	struct tune *t = NULL;
	struct tmp tmp;
	char err[256];
	size_t i, checked;
	int m, mode;

	corpus_load(&c);
	opts_init(&o);
	ck_assert_int_eq(tune_new(&t, &o, err, sizeof(err)), 0);
	for (i = 0; i < c.n; i++)
		ck_assert_int_eq(tune_add(t, c.buf[i], c.len[i], c.spam[i]),
		    0);
	for (mode = 0; mode < TUNE_NMODES; mode++)
		for (m = 0; m < TUNE_NMETHODS; m++) {
			/* tune_check_db reads o through t: change it */
			score_params_init(&o.sp, (enum score_method)m);
			o.train_mode = mode;
			tmp_make(&tmp, "check_tune");
			ck_assert_msg(tune_check_db(t, tmp.dir, &checked) == 0,
			    "%s", tune_errmsg(t));
			ck_assert_uint_eq(checked, c.n);
			tmp_remove(&tmp);
		}
	tune_free(t);
	corpus_free(&c);
}
END_TEST

static Suite *
tune_suite(void)
{
	Suite *s = suite_create("tune");
	TCase *tc;

	tc = tcase_create("roc");
	tcase_add_test(tc, test_auc_separated);
	tcase_add_test(tc, test_auc_all_tied);
	tcase_add_test(tc, test_auc_ties_by_hand);
	tcase_add_test(tc, test_auc_ties_saturated);
	tcase_add_test(tc, test_auc_one_class);
	tcase_add_test(tc, test_auc_sorts);
	tcase_add_test(tc, test_rates_boundary);
	tcase_add_test(tc, test_cutoff_target);
	tcase_add_test(tc, test_cutoff_grid);
	tcase_add_test(tc, test_warmup_points);
	tcase_add_test(tc, test_warmup_cutoff);
	suite_add_tcase(s, tc);

	tc = tcase_create("report");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_report_tiny);
	tcase_add_test(tc, test_report_settings);
	tcase_add_test(tc, test_split);
	tcase_add_test(tc, test_one_class);
	tcase_add_test(tc, test_svg_shape);
	suite_add_tcase(s, tc);

	tc = tcase_create("engine");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_agrees_with_engine, 0,
	    (int)(sizeof(agree_modes) / sizeof(agree_modes[0])));
	tcase_add_test(tc, test_check_db_each);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(tune_suite());
}
