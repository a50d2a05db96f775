/* SPDX-License-Identifier: MIT */
/*
 * tune.h - --tune: evaluate spamsift on the user's labelled mail and help
 * pick a cutoff, never touching the user's database.
 *
 * Every message is tokenized once and kept in memory as a list of token
 * ids; each configuration (combiner g, r, rf x training mode all, error,
 * tune) is then a pass over those lists against in-memory counts that
 * give exactly the scores engine_classify() would give with a database
 * trained the same way.  Online mode (TREC immediate feedback): each
 * message is scored with the counts as they are, then trained with its
 * true label as the training mode says.  Split mode (--tune-split F): the
 * first F of the messages train, the rest are scored without training.
 *
 * Return convention: 0 or -1; tune_errmsg() gives the reason.  Only
 * tune_run() writes to stdout and stderr.
 */
#ifndef SPAMSIFT_TUNE_H
#define SPAMSIFT_TUNE_H

#include <stddef.h>
#include <stdio.h>

#include "src/opts.h"
#include "src/score.h"

#define TUNE_NMETHODS 3		/* enum score_method: g, r, rf */
#define TUNE_NMODES 3		/* enum train_mode: all, error, tune */
#define TUNE_CHECK_MSGS 200	/* messages checked against a database */

/* One scored message. */
struct tune_point {
	double score;
	int spam;		/* 1 spam, 0 ham */
	double wcut;		/* the warm-up cutoff in force when it was
				 * scored (0: none): spam only above both
				 * it and the cutoff */
};

/* The outcome of one configuration. */
struct tune_row {
	enum score_method method;
	int mode;		/* enum train_mode */
	int current;		/* 1: the user's own method and mode */
	struct tune_point *pt;	/* the scored messages, sorted by score
				 * (ascending) once evaluated */
	size_t npt, nham, nspam;
	double auc;		/* area under the ROC curve; -1: one class
				 * was not scored */
	double cut;		/* the cutoff in force for the method */
	size_t fp, fn;		/* false positives / negatives at cut */
	double tcut;		/* lowest cutoff meeting the FP target */
	size_t tfp, tfn;	/* at tcut */
	size_t trained;		/* messages learned (new, or moved) */
};

struct tune;

/* Progress: stage is "reading" (total 0: unknown) or "evaluating"
 * (done and total count configurations). */
typedef void (*tune_progress_fn)(void *ctx, const char *stage, size_t done,
    size_t total);

/* The whole command.  Input: one TREC index operand ("spam PATH" and
 * "ham PATH" lines in order, PATH one message file relative to the
 * index's directory; blank and '#' lines skipped), or --ham P --spam P
 * (each a file, mbox, Maildir, MH folder or directory), taken in turn one
 * message each, ham first, the rest of the longer one at the end.
 * Evaluates, checks the first messages against a scratch database in a
 * private directory under $TMPDIR (or /tmp) that is removed after, prints
 * the report on stdout, writes --roc-svg; progress on stderr only when it
 * is a terminal.  Returns an exit status: EXIT_SPAM (0) on success,
 * EXIT_USAGE when the inputs are not given right, EXIT_ERROR otherwise,
 * with "spamsift: subject: reason" on stderr. */
int tune_run(const struct opts *o);

/* A new, empty evaluation with o's tokenizer options, combiner
 * parameters, cutoff, training mode, --thick, --target-fp and
 * --tune-split.  o is borrowed for the life of *out.  On failure writes
 * the reason into err and returns -1.  Free with tune_free(). */
int tune_new(struct tune **out, const struct opts *o, char *err,
    size_t errsz);
void tune_free(struct tune *t);
const char *tune_errmsg(const struct tune *t);

/* Tokenize one message of len bytes (borrowed for the call) and append
 * it with its label.  Errors: out of memory, too many messages or
 * distinct tokens. */
int tune_add(struct tune *t, const char *buf, size_t len, int spam);

/* Messages added so far; nham and nspam may be NULL. */
size_t tune_count(const struct tune *t, size_t *nham, size_t *nspam);

/* Run all TUNE_NMETHODS x TUNE_NMODES configurations; fn (may be NULL)
 * is told after each.  Needs at least one message of each class.
 * Errors: out of memory, no ham or no spam. */
int tune_evaluate(struct tune *t, tune_progress_fn fn, void *ctx);

/* After tune_evaluate: one configuration's result, borrowed until
 * tune_free(). */
const struct tune_row *tune_row(const struct tune *t, enum score_method m,
    int mode);

/* Replay the first TUNE_CHECK_MSGS messages (or fewer) of the user's
 * own configuration through the engine and a new database in directory
 * dir (which must exist and be private), and compare every score with the
 * in-memory one.  *checked gets the number compared.  Errors: engine or
 * database failures, and any score that differs (the message's number
 * is in the reason). */
int tune_check_db(struct tune *t, const char *dir, size_t *checked);

/* Write the report to f.  source names the input for the heading. */
void tune_report(const struct tune *t, FILE *f, const char *source);

/* Write the ROC curves of the three combiners (training mode all) to f
 * as a standalone SVG document. */
void tune_svg(const struct tune *t, FILE *f);

/* Area under the ROC curve of n points: the chance that a random spam
 * scores above a random ham, ties counting one half (rank sum with
 * mid-ranks).  Sorts p by score, ascending.  Returns -1 when p holds no
 * ham or no spam. */
double tune_auc(struct tune_point *p, size_t n);

/* With "spam when score > cut" (and above each point's wcut): *fp gets
 * the number of ham scoring above it, *fn the number of spam at or below
 * it. */
void tune_rates(const struct tune_point *p, size_t n, double cut,
    size_t *fp, size_t *fn);

/* The lowest cutoff at which at most target_pct percent of the ham
 * (rounded down to whole messages) score above it (a ham held back by its
 * wcut counting as below any cutoff), rounded up to a
 * multiple of 1e-6 so that the printed value ("%.6f") gives exactly the
 * rates measured at it.  p must be sorted by score, ascending (as
 * tune_auc leaves it).  With no ham, 0. */
double tune_cutoff_for_fp(const struct tune_point *p, size_t n,
    double target_pct);

#endif
