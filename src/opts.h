/* SPDX-License-Identifier: MIT */
/*
 * opts.h - everything the user chose, in one struct passed down (no
 * option globals), the command line and configuration file parsers, and
 * the exit statuses of the program.
 */
#ifndef SPAMSIFT_OPTS_H
#define SPAMSIFT_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "src/score.h"
#include "tokenizer/tokenizer.h"

/* Exit statuses: the contract with procmail, maildrop and scripts. */
enum exit_status {
	EXIT_SPAM = 0,		/* a spam was found; or a command succeeded */
	EXIT_CLEAN = 1,		/* every message clean */
	EXIT_UNSURE = 2,	/* with --ham-cutoff: none spam, one unsure */
	EXIT_ERROR = 3,		/* the filter could not judge (not pipe) */
	EXIT_DUP = 4,		/* training: already learned as that class */
	EXIT_MOVED = 5,		/* training: moved from the other class */
	EXIT_NOTLEARNED = 6,	/* -C/-S: never learned as that class */
	EXIT_USAGE = 64,	/* EX_USAGE: bad option or argument */
	EXIT_TEMPFAIL = 75,	/* EX_TEMPFAIL: pipe mode failed; mail out */
};

enum command {
	CMD_FILTER = 0,		/* classify (default) */
	CMD_TRAIN,		/* -c -s -C -S, with -u */
	CMD_UPDATE,		/* -u alone */
	CMD_STATUS,		/* --show-db-status */
	CMD_TOKENS,		/* --show-tokens */
	CMD_EXPLAIN,		/* --explain */
	CMD_EXPORT,		/* --export-clean / --export-spam / --dump */
	CMD_IMPORT,		/* --import-clean / --import-spam / --load */
	CMD_CHECKDB,		/* --check-db */
	CMD_PRUNE,		/* --prune */
	CMD_TUNE,		/* --tune */
};

#define OPT_MAX_FILES 4096	/* files named on one command line */
#define OPTS_MAX_THREADS 64	/* --threads at most (tokq.h's limit) */
#define OPTS_AUTO_THREADS 4	/* --threads not given: CPUs less one, this
				 * many at most */

/* Scoring parameters given by option or configuration file, which a
 * later -m keeps instead of its method's defaults. */
#define SP_GIVEN_ROBS		1
#define SP_GIVEN_MIN_DEV	2
#define SP_GIVEN_MAX_TOKENS	4
#define SP_GIVEN_LR_WEIGHT	8

struct opts {
	enum command cmd;
	enum db_class train_class;	/* CMD_TRAIN: DB_SPAM or DB_HAM */
	int train_sub;			/* -C / -S */
	enum db_class io_class;		/* export/import: DB_SPAM, DB_HAM,
					 * DB_NONE = whole database */
	const char *homedir;		/* --homedir, else env, else ~ */
	const char *config;		/* --config-file */
	int mbox;			/* --mbox */
	int auto_update;		/* -a */
	int pipe;			/* --pipe */
	int pipe_asked;			/* a --pipe word on the command line,
					 * even if the options failed */
	int pipe_conf;			/* "pipe" in the configuration file */
	int insert_flag, insert_prob, insert_rev;
	const char *header_prefix;	/* "Spam" */
	int mark_subject;		/* --mark-spam-subject */
	const char *subject_prefix;	/* "[SPAM] " */
	int list_spam, list_clean;
	int quiet, verbose;
	struct score_params sp;
	double spam_cutoff;		/* < 0: the method's default */
	double ham_cutoff;		/* < 0: off (no unsure verdict) */
	long warmup_ham;		/* --warm-up N ham messages (0: off) */
	double warmup_cutoff;		/* < 0: the method's default */
	int robx_given;
	int sp_given;			/* SP_GIVEN_* bits: kept across -m */
	struct tok_opts to;
	const char *refer;		/* --refer-header list */
	int train_mode;			/* TRAIN_ALL, TRAIN_ERROR, TRAIN_TUNE */
	double thick;			/* --thick margin for TRAIN_TUNE */
	long max_mail, min_mail;	/* --max-mail / --min-mail */
	long prune_days;		/* --prune DAYS */
	int busy_ms;			/* --lock-timeout, in ms */
	int threads;			/* --threads; -1: not given */
	double target_fp;		/* --tune: target FP rate, percent */
	const char *tune_split;		/* --tune-split F (fraction) */
	const char *svg;		/* --roc-svg FILE */
	const char *ham_path, *spam_path; /* --tune --ham P --spam P */
	size_t max_folder;		/* SPAMSIFT_MAX_FOLDER (main reads) */
	char **files;			/* operands; borrowed from argv */
	int nfiles;
	char *conf_text;		/* owned: the config file's bytes */
	char **conf_argv;		/* owned, and each word in it */
};

enum train_mode { TRAIN_ALL = 0, TRAIN_ERROR, TRAIN_TUNE };

/* Defaults for everything.  Never fails. */
void opts_init(struct opts *o);

/* Parse argv (and the configuration file it names or implies, whose
 * options come first so the command line wins).  On a usage error writes
 * "spamsift: ..." to stderr and returns EXIT_USAGE; for --help and
 * --version prints and returns -1 (exit 0); otherwise 0. */
int opts_parse(struct opts *o, int argc, char **argv);

/* Free what opts_parse allocated (the configuration file's text). */
void opts_release(struct opts *o);

/* Where the user's files live: --homedir, else $SPAMSIFT_HOME, else
 * $HOME/.spamsift.  Writes into buf; returns 0, or -1 when no home can be
 * found or it does not fit. */
int opts_home(const struct opts *o, char *buf, size_t size);

/* The spam cutoff in force (the method's default unless given). */
double opts_spam_cutoff(const struct opts *o);

/* The cutoff for a message scored against a store that has learned nham
 * ham messages, the logistic learner counting lr_weight in its score
 * (0 while it is not ready, engine.h): during the warm-up (fewer than
 * --warm-up ham, with --train-mode all: in the other modes the store's
 * ham count measures corrections, not experience) the higher of the spam
 * cutoff and the warm-up cutoff (score_warmup_cutoff's unless given),
 * else the spam cutoff. */
double opts_cutoff_at(const struct opts *o, uint64_t nham, double lr_weight);

#endif
