/* SPDX-License-Identifier: MIT */
/*
 * engine.h - one message through tokenizer, store and combiner: classify,
 * and learn in batches.  Holds everything set up once per process (the
 * tokenizer, the open store, scratch arrays), so batch runs pay for set-up
 * once.
 */
#ifndef SPAMSIFT_ENGINE_H
#define SPAMSIFT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "src/opts.h"
#include "src/output.h"
#include "src/score.h"

struct engine;

/* The logistic learner counts in the score once it has been shown this
 * many messages (engine_lr_ready). */
#define ENGINE_LR_READY_MSGS 100

/* What learning one message did. */
enum learn_outcome {
	LEARN_NEW = 0,		/* counted as the class asked */
	LEARN_DUP,		/* already counted as that class: no change */
	LEARN_MOVED,		/* was the other class: moved over */
	LEARN_REMOVED,		/* -C/-S: uncounted */
	LEARN_NOTLEARNED,	/* -C/-S: was not that class: no change */
	LEARN_SCALED,		/* -C/-S: learned before its class's counts
				 * were scaled (--max-mail): no change */
	LEARN_OUTCOMES
};

struct verdict_info {
	double score;
	double cutoff;		/* the spam cutoff it was judged by
				 * (opts_cutoff_at: the warm-up's, or the
				 * spam cutoff) */
	uint64_t nham;		/* ham messages the store had learned */
	double lr_weight;	/* the logistic share the score had (0 while
				 * the weights know too little, engine.c) */
	int warm;		/* 1: spam by the spam cutoff, but not by
				 * the warm-up's (-a learns neither way) */
	enum verdict verdict;
	struct score_result r;
	size_t ntokens;
};

/* Called once per learned message at flush time, in order; cookie is the
 * one given to engine_learn. */
typedef void (*engine_learn_fn)(void *ctx, size_t cookie,
    enum learn_outcome outcome);

/* Open the tokenizer and the store at dbpath with db flags.  On failure
 * returns a negative db or tok code and writes a one-line reason into err
 * ("path: reason").  *out is owned by the caller: engine_free(). */
int engine_new(struct engine **out, const struct opts *o, const char *dbpath,
    int dbflags, char *err, size_t errsz);
void engine_free(struct engine *e);

/* The store, borrowed for the engine's life. */
struct db *engine_db(struct engine *e);

/* Classify one message.  Returns 0, or a negative code with the reason in
 * engine_errmsg(). */
int engine_classify(struct engine *e, const char *buf, size_t len,
    struct verdict_info *v);

/* Many messages will be classified: the engine may read the whole store
 * into memory once that is cheaper than looking tokens up one by one. */
void engine_set_batch(struct engine *e);

/* The messages this engine learns are mail as it comes (-a, a replay of
 * a labelled stream): each one is shown to the logistic learner, however
 * many of one class come in a row.  Otherwise a run shows the learner
 * its first 20 messages of one class only (engine.c, teaches). */
void engine_set_stream(struct engine *e);

/* After engine_classify: the i-th token (message order; after
 * engine_tokenize: sorted order) with its counts,
 * probability and whether it was used.  Borrowed until the next call. */
size_t engine_ntokens(const struct engine *e);
const char *engine_token(const struct engine *e, size_t i,
    const struct score_token **st);

/* Tokenize a message only, sorted bytewise; the tokens are then read as
 * above (counts 0). */
int engine_tokenize(struct engine *e, const char *buf, size_t len);

/* Queue a message to learn (sub: unlearn) as cls.  Flushes by itself
 * when the batch is full.  cookie comes back through fn.  Returns 0 or a
 * negative code (engine_errmsg). */
int engine_learn(struct engine *e, const char *buf, size_t len,
    enum db_class cls, int sub, size_t cookie);

/* Write the queued batch in one transaction, calling fn per message.
 * Returns 0 or a negative db code. */
int engine_flush(struct engine *e, engine_learn_fn fn, void *ctx);

/* Whether a flush of this engine found that the store was last trained
 * with other tokenizer options (tok_opts_fingerprint): a message learned
 * then and unlearned now leaves counts behind.  The store keeps the
 * options of its latest training. */
int engine_opts_changed(const struct engine *e);

/* Set the callback used by automatic flushes inside engine_learn. */
void engine_on_learn(struct engine *e, engine_learn_fn fn, void *ctx);

/* Messages queued and not yet flushed. */
size_t engine_pending(const struct engine *e);

/* Tokenize the messages engine_learn is given on n worker threads (at
 * most TOKQ_MAX_THREADS; 0: on this one), from the second message of the
 * run on: the batch, the store and the callbacks stay on this thread, and
 * the store learned is the same.  Workers that cannot start leave the
 * work here.  engine_learn then reports a failure that comes with an
 * earlier message (its tokenizing, or a flush the batch made before it)
 * at a later call, up to the queue's depth later, or at engine_flush:
 * the message given with the call that fails is not the one it failed
 * on. */
void engine_set_threads(struct engine *e, int n);

/* Does training in mode (TRAIN_*) learn a message given as cls that
 * scored score against cutoff, learned so far as have (DB_NONE: not)?
 * Mode all learns everything; error what is judged wrong; tune also what
 * scores within thick of the cutoff; and both a message learned as the
 * other class, whatever its score.  The one rule of training and of
 * --tune's simulation of it. */
int engine_should_learn(int mode, enum db_class cls, double score,
    double cutoff, double thick, enum db_class have);

/* The class the store has learned this message as (DB_NONE: not
 * learned).  Returns 0 or a db code. */
int engine_learned_class(struct engine *e, const char *buf, size_t len,
    enum db_class *cls);

/* Whether a learner shown that many messages counts in the score.  Until
 * then the score is the combiner's alone, with its own cutoffs: a store
 * trained on folders only, or one from before the weights, or loaded from
 * a version 1 dump (which had no weights), scores as without the learner.
 * The one rule of scoring and of --tune's simulation of it. */
int engine_lr_ready(int64_t shown);

/* The messages the store's learner has been shown, as read at open and
 * counted by this engine's flushes. */
int64_t engine_lr_shown(const struct engine *e);

/* Recompute Robinson's x from the store (mean token probability of
 * tokens seen at least ROBX_MIN_COUNT times, kept within [0.4, 0.6]) and
 * keep it in the store,
 * unless (without force) the message totals grew by less than a tenth
 * since it was last computed.  Inside no transaction.  Returns 0 or a
 * negative db code. */
int engine_update_robx(struct engine *e, int force);

/* The last error's text. */
const char *engine_errmsg(const struct engine *e);

#endif
