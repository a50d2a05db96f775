/* SPDX-License-Identifier: MIT */
/*
 * opts.c - command line and configuration file.
 *
 * bsfilter's options, long and short, with the same meanings, plus
 * spamsift's own.  The configuration file (spamsift.conf in the home
 * directory, or --config-file) holds one option per line, without the
 * leading "--": "method rf", "insert-flag".  Its options are applied
 * first; the command line overrides them.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "src/input.h"
#include "src/opts.h"

#define CONF_MAX_BYTES (64 * 1024)	/* configuration file size */
#define CONF_MAX_ARGS 256		/* words in it */

enum {
	O_HOMEDIR = 256, O_CONFIG, O_MBOX, O_SPAM_CUTOFF, O_HAM_CUTOFF,
	O_PIPE, O_INSERT_FLAG, O_INSERT_PROB, O_INSERT_REV, O_HEADER_PREFIX,
	O_MARK_SUBJECT, O_SUBJECT_PREFIX, O_LIST_SPAM, O_LIST_CLEAN,
	O_VERSION, O_STATUS, O_SHOW_TOKENS, O_EXPLAIN, O_ROBS, O_ROBX,
	O_MIN_DEV, O_MAX_TOKENS, O_REFER, O_REFER_ALL, O_MAX_LINE,
	O_EXPORT_CLEAN, O_EXPORT_SPAM, O_IMPORT_CLEAN, O_IMPORT_SPAM,
	O_DUMP, O_LOAD, O_CHECK_DB, O_PRUNE, O_MAX_MAIL, O_MIN_MAIL,
	O_TRAIN_MODE, O_THICK, O_LOCK_TIMEOUT, O_TUNE, O_TARGET_FP,
	O_TUNE_SPLIT, O_ROC_SVG, O_HAM, O_SPAM, O_WORD_PAIRS, O_NO_WORD_PAIRS,
	O_WARMUP, O_WARMUP_CUTOFF, O_LR_WEIGHT, O_THREADS, O_IGNORED,
	O_IGNORED_ARG,
};

static const struct option longopts[] = {
	{ "add-clean", no_argument, NULL, 'c' },
	{ "add-spam", no_argument, NULL, 's' },
	{ "sub-clean", no_argument, NULL, 'C' },
	{ "sub-spam", no_argument, NULL, 'S' },
	{ "update", no_argument, NULL, 'u' },
	{ "auto-update", no_argument, NULL, 'a' },
	{ "method", required_argument, NULL, 'm' },
	{ "jtokenizer", required_argument, NULL, 'j' },
	{ "ignore-header", no_argument, NULL, 'H' },
	{ "ignore-body", no_argument, NULL, 'B' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "homedir", required_argument, NULL, O_HOMEDIR },
	{ "config-file", required_argument, NULL, O_CONFIG },
	{ "mbox", no_argument, NULL, O_MBOX },
	{ "spam-cutoff", required_argument, NULL, O_SPAM_CUTOFF },
	{ "ham-cutoff", required_argument, NULL, O_HAM_CUTOFF },
	{ "warm-up", required_argument, NULL, O_WARMUP },
	{ "warm-up-cutoff", required_argument, NULL, O_WARMUP_CUTOFF },
	{ "pipe", no_argument, NULL, O_PIPE },
	{ "insert-flag", no_argument, NULL, O_INSERT_FLAG },
	{ "insert-probability", no_argument, NULL, O_INSERT_PROB },
	{ "insert-revision", no_argument, NULL, O_INSERT_REV },
	{ "header-prefix", required_argument, NULL, O_HEADER_PREFIX },
	{ "mark-spam-subject", no_argument, NULL, O_MARK_SUBJECT },
	{ "mark-subject-prefix", required_argument, NULL, O_SUBJECT_PREFIX },
	{ "spam-subject-prefix", required_argument, NULL, O_SUBJECT_PREFIX },
	{ "list-spam", no_argument, NULL, O_LIST_SPAM },
	{ "list-clean", no_argument, NULL, O_LIST_CLEAN },
	{ "version", no_argument, NULL, O_VERSION },
	{ "revision", no_argument, NULL, O_VERSION },
	/* bsfilter's, accepted and without effect here (spamsift(1)):
	 * a recipe that has them must still filter. */
	{ "debug", no_argument, NULL, 'd' },
	{ "disable-degeneration", no_argument, NULL, 'D' },
	{ "disable-utf-8", no_argument, NULL, O_IGNORED },
	{ "show-process", no_argument, NULL, O_IGNORED },
	{ "show-new-token", no_argument, NULL, O_IGNORED },
	{ "ignore-plain-text-part", no_argument, NULL, O_IGNORED },
	{ "ignore-after-last-atag", no_argument, NULL, O_IGNORED },
	{ "db", required_argument, NULL, O_IGNORED_ARG },
	{ "mark-in-token", required_argument, NULL, O_IGNORED_ARG },
	{ "pid-file", required_argument, NULL, O_IGNORED_ARG },
	{ "show-db-status", no_argument, NULL, O_STATUS },
	{ "show-tokens", no_argument, NULL, O_SHOW_TOKENS },
	{ "explain", no_argument, NULL, O_EXPLAIN },
	{ "robs", required_argument, NULL, O_ROBS },
	{ "robx", required_argument, NULL, O_ROBX },
	{ "min-dev", required_argument, NULL, O_MIN_DEV },
	{ "max-tokens", required_argument, NULL, O_MAX_TOKENS },
	{ "lr-weight", required_argument, NULL, O_LR_WEIGHT },
	{ "refer-header", required_argument, NULL, O_REFER },
	{ "refer-all-header", no_argument, NULL, O_REFER_ALL },
	{ "max-line", required_argument, NULL, O_MAX_LINE },
	{ "word-pairs", no_argument, NULL, O_WORD_PAIRS },
	{ "no-word-pairs", no_argument, NULL, O_NO_WORD_PAIRS },
	{ "export-clean", no_argument, NULL, O_EXPORT_CLEAN },
	{ "export-spam", no_argument, NULL, O_EXPORT_SPAM },
	{ "import-clean", no_argument, NULL, O_IMPORT_CLEAN },
	{ "import-spam", no_argument, NULL, O_IMPORT_SPAM },
	{ "dump", no_argument, NULL, O_DUMP },
	{ "load", no_argument, NULL, O_LOAD },
	{ "check-db", no_argument, NULL, O_CHECK_DB },
	{ "prune", required_argument, NULL, O_PRUNE },
	{ "max-mail", required_argument, NULL, O_MAX_MAIL },
	{ "min-mail", required_argument, NULL, O_MIN_MAIL },
	{ "train-mode", required_argument, NULL, O_TRAIN_MODE },
	{ "thick", required_argument, NULL, O_THICK },
	{ "lock-timeout", required_argument, NULL, O_LOCK_TIMEOUT },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "tune", no_argument, NULL, O_TUNE },
	{ "target-fp", required_argument, NULL, O_TARGET_FP },
	{ "tune-split", required_argument, NULL, O_TUNE_SPLIT },
	{ "roc-svg", required_argument, NULL, O_ROC_SVG },
	{ "ham", required_argument, NULL, O_HAM },
	{ "spam", required_argument, NULL, O_SPAM },
	{ NULL, 0, NULL, 0 },
};

static const char shortopts[] = "+:csCSuam:j:HBqvhdD";

static const char usage_text[] =
"usage: spamsift [options] [commands] [MAIL ...]\n"
"       spamsift [options] [commands] < MAIL\n"
"commands:\n"
"  -c, --add-clean        learn the messages as clean (ham)\n"
"  -s, --add-spam         learn the messages as spam\n"
"  -C, --sub-clean        unlearn messages learned as clean\n"
"  -S, --sub-spam         unlearn messages learned as spam\n"
"  -u, --update           keep the probability data current (implied)\n"
"      --show-db-status   print the database's counts and state\n"
"      --show-tokens      print each message's tokens\n"
"      --explain          show how each message's score came about\n"
"      --export-clean, --export-spam, --dump   write counts as text\n"
"      --import-clean, --import-spam, --load   read counts as text\n"
"      --check-db         run the database integrity check\n"
"      --prune DAYS       drop rare tokens unseen for DAYS, then vacuum\n"
"      --tune             evaluate and tune on labelled mail\n"
"options:\n"
"      --homedir DIR      database directory (default ~/.spamsift)\n"
"      --config-file FILE options file (default HOMEDIR/spamsift.conf)\n"
"      --mbox             the files are mboxes\n"
"  -a, --auto-update      learn each classified message as its verdict\n"
"  -m, --method g|r|rf    Graham, Robinson or Robinson-Fisher (rf)\n"
"      --spam-cutoff N    spam above N (0.9 g, 0.582 r, 0.95 rf)\n"
"      --ham-cutoff N     unsure between N and the spam cutoff\n"
"      --warm-up N        until N ham are learned (100), spam needs a\n"
"      --warm-up-cutoff N score above N (0.99999 g, 0.65 r, 0.99999 rf;\n"
"                         0.994766 once the logistic learner counts)\n"
"      --robs N, --robx N, --min-dev N, --max-tokens N\n"
"                         combining parameters\n"
"      --lr-weight K      add K times the logistic learner's log-odds\n"
"                         to the score (1 g and rf, 0 r; 0: off)\n"
"  -j, --jtokenizer icu|bigram|block  Japanese word cutting (icu)\n"
"      --refer-header H[,H...]  headers to read instead of the default\n"
"      --refer-all-header read every header\n"
"  -H, --ignore-header    read no header\n"
"  -B, --ignore-body      read no body\n"
"      --max-line N       read at most N bytes of each line (0: all)\n"
"      --no-word-pairs    do not use pairs of adjacent words\n"
"      --word-pairs       use them (the default)\n"
"      --pipe             write the message to stdout with our headers\n"
"      --insert-flag      add X-Spam-Flag: Yes|No|Unsure\n"
"      --insert-probability  add X-Spam-Probability: 0.xxxxxx\n"
"      --insert-revision  add X-Spam-Revision\n"
"      --header-prefix STR   X-STR-Flag instead of X-Spam-Flag\n"
"      --mark-spam-subject   prefix the Subject of spam\n"
"      --mark-subject-prefix STR, --spam-subject-prefix STR\n"
"                         the prefix (\"[SPAM] \")\n"
"      --list-spam, --list-clean  print the names of such messages\n"
"      --train-mode all|error|tune  what -c/-s learn (all)\n"
"      --thick N          margin for --train-mode tune (0.1)\n"
"      --max-mail N, --min-mail N  scale counts down past N messages\n"
"      --lock-timeout SEC wait this long for the database (30)\n"
"      --threads N        tokenize on N more threads when learning many\n"
"                         messages (CPUs less one, at most 4; 0: none),\n"
"                         and order a big batch, split a big\n"
"                         database or compute robx on a second thread\n"
"      --ham P, --spam P, --target-fp PCT, --tune-split F,\n"
"      --roc-svg FILE     --tune inputs and report\n"
"  -q, --quiet            no report lines\n"
"  -v, --verbose          more detail on stderr\n"
"  -h, --help             this text\n"
"      --version, --revision  the version\n"
"bsfilter's -d/--debug, -D/--disable-degeneration, --db, --disable-utf-8,\n"
"--show-process, --show-new-token, --ignore-plain-text-part,\n"
"--ignore-after-last-atag, --mark-in-token and --pid-file are accepted and\n"
"do nothing; -C -s and -S -c move a message.\n"
"exit: 0 spam (or done), 1 clean, 2 unsure, 3 error, 4 already learned,\n"
"      5 moved to the other class, 6 not learned, 64 usage,\n"
"      75 pipe-mode failure (the message is still written)\n";

void
opts_usage(void *f)
{
	fputs(usage_text, f);
}

void
opts_init(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->cmd = CMD_FILTER;
	o->header_prefix = "Spam";
	o->subject_prefix = "[SPAM] ";
	score_params_init(&o->sp, SCORE_FISHER);
	o->spam_cutoff = -1.0;
	o->ham_cutoff = -1.0;
	o->warmup_ham = SCORE_WARMUP_HAM;
	o->warmup_cutoff = -1.0;
	tok_opts_init(&o->to);
	o->thick = 0.1;
	o->max_folder = INPUT_MAX_DIR_ENTRIES;
	o->busy_ms = 30000;
	o->threads = -1;
	o->target_fp = 0.1;
}

void
opts_release(struct opts *o)
{
	int i;

	for (i = 1; o->conf_argv != NULL && o->conf_argv[i] != NULL; i++)
		free(o->conf_argv[i]);
	free(o->conf_text);
	free(o->conf_argv);
	o->conf_text = NULL;
	o->conf_argv = NULL;
}

double
opts_spam_cutoff(const struct opts *o)
{
	return o->spam_cutoff >= 0.0 ? o->spam_cutoff :
	    score_default_cutoff(o->sp.method);
}

double
opts_cutoff_at(const struct opts *o, uint64_t nham, double lr_weight)
{
	double cut = opts_spam_cutoff(o), w;

	if (o->train_mode != TRAIN_ALL || nham >= (uint64_t)o->warmup_ham)
		return cut;
	w = o->warmup_cutoff >= 0.0 ? o->warmup_cutoff :
	    score_warmup_cutoff(o->sp.method, lr_weight);
	return w > cut ? w : cut;
}

static int
num(const char *opt, const char *arg, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	/* Written so that NaN ("nan", which strtod takes) fails it too. */
	if (errno != 0 || end == arg || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "spamsift: %s: not a number from %g to %g: "
		    "%s\n", opt, lo, hi, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int
set_cmd(struct opts *o, enum command c)
{
	if (o->cmd != CMD_FILTER && o->cmd != c && !(o->cmd == CMD_UPDATE &&
	    c == CMD_TRAIN) && !(o->cmd == CMD_TRAIN && c == CMD_UPDATE)) {
		fprintf(stderr, "spamsift: options: more than one command "
		    "given\n");
		return -1;
	}
	if (!(o->cmd == CMD_TRAIN && c == CMD_UPDATE))
		o->cmd = c;
	return 0;
}

/* Apply one parsed option.  Returns 0, -1 (usage error), 1 (--help), 2
 * (--version). */
static int
apply(struct opts *o, int c, const char *arg)
{
	double v;
	int m;

	switch (c) {
	case 'c':
	case 's':
	case 'C':
	case 'S':
		if (o->cmd == CMD_TRAIN && o->train_class != DB_NONE) {
			/* bsfilter's correction, -C -s (--sub-clean
			 * --add-spam) or -S -c: a message learned as the one
			 * class moves to the other, which -s or -c alone does
			 * here. */
			enum db_class add = (c == 's' || c == 'S') ? DB_SPAM :
			    DB_HAM;
			int sub = c == 'C' || c == 'S';

			if (sub != o->train_sub && add != o->train_class) {
				if (!sub)
					o->train_class = add;
				o->train_sub = 0;
				return 0;
			}
			fprintf(stderr, "spamsift: options: -c, -s, -C and -S "
			    "are one at a time (but -C -s, -S -c)\n");
			return -1;
		}
		if (set_cmd(o, CMD_TRAIN) != 0)
			return -1;
		o->train_class = (c == 's' || c == 'S') ? DB_SPAM : DB_HAM;
		o->train_sub = (c == 'C' || c == 'S');
		return 0;
	case 'u':
		return set_cmd(o, CMD_UPDATE);
	case 'a':
		o->auto_update = 1;
		return 0;
	case 'm':
		m = score_method_parse(arg);
		if (m < 0) {
			fprintf(stderr, "spamsift: method: not g, r or rf: %s\n",
			    arg);
			return -1;
		}
		{
			/* The method's defaults, except for what was given
			 * (before -m, or in the configuration file). */
			struct score_params keep = o->sp;

			score_params_init(&o->sp, (enum score_method)m);
			if (o->robx_given)
				o->sp.robx = keep.robx;
			if (o->sp_given & SP_GIVEN_ROBS)
				o->sp.robs = keep.robs;
			if (o->sp_given & SP_GIVEN_MIN_DEV)
				o->sp.min_dev = keep.min_dev;
			if (o->sp_given & SP_GIVEN_MAX_TOKENS)
				o->sp.max_tokens = keep.max_tokens;
			if (o->sp_given & SP_GIVEN_LR_WEIGHT)
				o->sp.lr_weight = keep.lr_weight;
		}
		return 0;
	case 'j':
		m = tok_jmode_parse(arg);
		if (m < 0) {
			fprintf(stderr, "spamsift: jtokenizer: not icu, bigram "
			    "or block: %s\n", arg);
			return -1;
		}
		o->to.jmode = (enum tok_jmode)m;
		return 0;
	case 'H':
		o->to.headers = TOK_HDR_NONE;
		return 0;
	case 'B':
		o->to.ignore_body = 1;
		return 0;
	case 'q':
		o->quiet = 1;
		return 0;
	case 'd':
	case 'D':
	case O_IGNORED:
	case O_IGNORED_ARG:
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	case 'h':
		return 1;
	case O_VERSION:
		return 2;
	case O_HOMEDIR:
		o->homedir = arg;
		return 0;
	case O_CONFIG:
		o->config = arg;
		return 0;
	case O_MBOX:
		o->mbox = 1;
		return 0;
	case O_SPAM_CUTOFF:
		return num("spam-cutoff", arg, 0, 1, &o->spam_cutoff);
	case O_HAM_CUTOFF:
		return num("ham-cutoff", arg, 0, 1, &o->ham_cutoff);
	case O_WARMUP:
		if (num("warm-up", arg, 0, 1e12, &v) != 0)
			return -1;
		o->warmup_ham = (long)v;
		return 0;
	case O_WARMUP_CUTOFF:
		return num("warm-up-cutoff", arg, 0, 1, &o->warmup_cutoff);
	case O_PIPE:
		o->pipe = 1;
		return 0;
	case O_INSERT_FLAG:
		o->insert_flag = 1;
		return 0;
	case O_INSERT_PROB:
		o->insert_prob = 1;
		return 0;
	case O_INSERT_REV:
		o->insert_rev = 1;
		return 0;
	case O_HEADER_PREFIX:
		if (arg[0] == '\0' || strpbrk(arg, ": \t\r\n") != NULL ||
		    strlen(arg) > TOK_VERDICT_PREFIX_MAX) {
			fprintf(stderr, "spamsift: header-prefix: not a header "
			    "name part: %s\n", arg);
			return -1;
		}
		o->header_prefix = arg;
		return 0;
	case O_MARK_SUBJECT:
		o->mark_subject = 1;
		return 0;
	case O_SUBJECT_PREFIX:
		if (strpbrk(arg, "\r\n") != NULL || strlen(arg) > 80) {
			fprintf(stderr, "spamsift: mark-subject-prefix: no line "
			    "breaks, at most 80 bytes\n");
			return -1;
		}
		o->subject_prefix = arg;
		return 0;
	case O_LIST_SPAM:
		o->list_spam = 1;
		return 0;
	case O_LIST_CLEAN:
		o->list_clean = 1;
		return 0;
	case O_STATUS:
		return set_cmd(o, CMD_STATUS);
	case O_SHOW_TOKENS:
		return set_cmd(o, CMD_TOKENS);
	case O_EXPLAIN:
		return set_cmd(o, CMD_EXPLAIN);
	case O_ROBS:
		o->sp_given |= SP_GIVEN_ROBS;
		if (num("robs", arg, 0, 1000, &o->sp.robs) != 0)
			return -1;
		if (o->sp.robs <= 0) {
			/* An unseen token's probability is robx by robs/robs:
			 * 0/0 (found by review: NaN, the tokens dropped). */
			fprintf(stderr, "spamsift: robs: not above 0: %s\n",
			    arg);
			return -1;
		}
		return 0;
	case O_ROBX:
		o->robx_given = 1;
		return num("robx", arg, 0, 1, &o->sp.robx);
	case O_LR_WEIGHT:
		o->sp_given |= SP_GIVEN_LR_WEIGHT;
		return num("lr-weight", arg, 0, 100, &o->sp.lr_weight);
	case O_MIN_DEV:
		o->sp_given |= SP_GIVEN_MIN_DEV;
		return num("min-dev", arg, 0, 0.5, &o->sp.min_dev);
	case O_MAX_TOKENS:
		if (num("max-tokens", arg, 0, TOK_MAX_TOKENS, &v) != 0)
			return -1;
		o->sp_given |= SP_GIVEN_MAX_TOKENS;
		o->sp.max_tokens = (int)v;
		return 0;
	case O_REFER:
		o->refer = arg;
		o->to.headers = arg[0] == '\0' ? TOK_HDR_NONE : TOK_HDR_DEFAULT;
		return 0;
	case O_REFER_ALL:
		o->to.headers = TOK_HDR_ALL;
		return 0;
	case O_MAX_LINE:
		if (num("max-line", arg, 0, 1e9, &v) != 0)
			return -1;
		o->to.max_line = (size_t)v;
		return 0;
	case O_WORD_PAIRS:
	case O_NO_WORD_PAIRS:
		o->to.word_pairs = c == O_WORD_PAIRS;
		return 0;
	case O_EXPORT_CLEAN:
	case O_EXPORT_SPAM:
	case O_DUMP:
	case O_IMPORT_CLEAN:
	case O_IMPORT_SPAM:
	case O_LOAD:
		/* Two of them did the last alone, silently (found by
		 * review): one at a time. */
		if (o->cmd == CMD_EXPORT || o->cmd == CMD_IMPORT) {
			fprintf(stderr, "spamsift: options: --export-*, "
			    "--import-*, --dump and --load are one at a "
			    "time\n");
			return -1;
		}
		o->io_class = c == O_EXPORT_CLEAN || c == O_IMPORT_CLEAN ?
		    DB_HAM : (c == O_EXPORT_SPAM || c == O_IMPORT_SPAM ?
		    DB_SPAM : DB_NONE);
		return set_cmd(o, c == O_EXPORT_CLEAN || c == O_EXPORT_SPAM ||
		    c == O_DUMP ? CMD_EXPORT : CMD_IMPORT);
	case O_CHECK_DB:
		return set_cmd(o, CMD_CHECKDB);
	case O_PRUNE:
		if (num("prune", arg, 0, 1e6, &v) != 0)
			return -1;
		o->prune_days = (long)v;
		return set_cmd(o, CMD_PRUNE);
	case O_MAX_MAIL:
		if (num("max-mail", arg, 1, 1e12, &v) != 0)
			return -1;
		o->max_mail = (long)v;
		return 0;
	case O_MIN_MAIL:
		if (num("min-mail", arg, 1, 1e12, &v) != 0)
			return -1;
		o->min_mail = (long)v;
		return 0;
	case O_TRAIN_MODE:
		if (strcmp(arg, "all") == 0)
			o->train_mode = TRAIN_ALL;
		else if (strcmp(arg, "error") == 0)
			o->train_mode = TRAIN_ERROR;
		else if (strcmp(arg, "tune") == 0)
			o->train_mode = TRAIN_TUNE;
		else {
			fprintf(stderr, "spamsift: train-mode: not all, error "
			    "or tune: %s\n", arg);
			return -1;
		}
		return 0;
	case O_THICK:
		return num("thick", arg, 0, 0.5, &o->thick);
	case O_LOCK_TIMEOUT:
		if (num("lock-timeout", arg, 0, 3600, &v) != 0)
			return -1;
		o->busy_ms = (int)(v * 1000);
		return 0;
	case O_THREADS:
		if (num("threads", arg, 0, OPTS_MAX_THREADS, &v) != 0)
			return -1;
		o->threads = (int)v;
		return 0;
	case O_TUNE:
		return set_cmd(o, CMD_TUNE);
	case O_TARGET_FP:
		return num("target-fp", arg, 0, 100, &o->target_fp);
	case O_TUNE_SPLIT:
		if (num("tune-split", arg, 0.01, 0.99, &v) != 0)
			return -1;
		o->tune_split = arg;
		return 0;
	case O_ROC_SVG:
		o->svg = arg;
		return 0;
	case O_HAM:
		o->ham_path = arg;
		return 0;
	case O_SPAM:
		o->spam_path = arg;
		return 0;
	}
	return -1;
}

/* Run getopt_long over argv, applying each option. */
static int
parse_argv(struct opts *o, int argc, char **argv, int *operands)
{
	const char *w;
	int c, r, first = 0;

	optind = 0;	/* glibc: full re-initialisation */
	opterr = 0;	/* our own messages, as "spamsift: ..." */
	/* Past an error the rest is still read (and *o is of no further
	 * use but one: o->cmd then says which command was asked for,
	 * which decides whether a pipe's message is passed through). */
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			if (first != 0)
				continue;
			/* A long option's optopt is its code, no letter:
			 * name the word ("--insert-flag=yes"). */
			w = argv[optind - 1];
			if (optopt > 0 && optopt < 128 && isalnum(optopt) &&
			    strncmp(w, "--", 2) != 0)
				fprintf(stderr, "spamsift: options: %s: -%c\n",
				    c == ':' ? "missing argument" :
				    "unknown option", optopt);
			else
				fprintf(stderr, "spamsift: options: %s: %s\n",
				    c == ':' ? "missing argument" :
				    strchr(w, '=') != NULL ? "unknown option, "
				    "or a value it does not take" :
				    "unknown or ambiguous option", w);
			first = -1;
			continue;
		}
		if (first != 0 && (c == 'h' || c == O_VERSION))
			continue;
		r = apply(o, c, optarg);
		if (r != 0 && first == 0) {
			first = r;
			if (r > 0)
				break;	/* --help, --version: nothing else */
		}
	}
	*operands = optind;
	return first;
}

/* A word getopt_long would take for --pipe: it or an abbreviation of
 * it that no other option shares ("--pi" up), with a value or not
 * ("--pipe=x" is a usage error, and pipe mode's mail goes through). */
static int
pipe_word(const char *a)
{
	size_t n = strcspn(a, "=");

	return n >= 4 && strncmp(a, "--pipe", n) == 0;
}

/* Whether a config file's option name is the subject prefix (or an
 * abbreviation getopt_long takes for it, "mark-subject"), whose value
 * keeps the blanks it ends with ("[JUNK] "). */
static int
prefix_word(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && (strncmp(name, "mark-subject-prefix", n) == 0 ||
	    strncmp(name, "spam-subject-prefix", n) == 0);
}

/* Drop the blanks s ends with, as bsfilter does to each line of its file
 * ("spam-cutoff 0.9 " is 0.9, not a bad number). */
static void
trim_blanks(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* Read the configuration file into an argv of "--name" "value" words. */
static int
read_config(struct opts *o, const char *path, int must_exist, int *cargc)
{
	FILE *f = NULL;
	char *line, *save = NULL, *w, *p;
	size_t n;
	int rc = -1, k = 1, refused = 0;
	struct stat st;

	*cargc = 0;
	f = fopen(path, "r");
	if (f == NULL) {
		if (!must_exist && (errno == ENOENT || errno == ENOTDIR))
			return 0;
		fprintf(stderr, "spamsift: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 022) != 0) {
		fprintf(stderr, "spamsift: %s: writable by others: refused "
		    "(chmod go-w it)\n", path);
		/* Read all the same, its words unused, to see whether it
		 * asks for pipe mode: then the mail goes through (main). */
		refused = 1;
	}
	o->conf_text = calloc(1, CONF_MAX_BYTES + 1);
	o->conf_argv = calloc(CONF_MAX_ARGS + 2, sizeof(char *));
	if (o->conf_text == NULL || o->conf_argv == NULL) {
		fprintf(stderr, "spamsift: %s: out of memory\n", path);
		goto out;
	}
	n = fread(o->conf_text, 1, CONF_MAX_BYTES, f);
	o->conf_text[n] = '\0';
	o->conf_argv[0] = "spamsift";
	for (line = strtok_r(o->conf_text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '#' || *line == '\0')
			continue;
		/* "name value" -> "--name" "value". */
		w = line;
		p = w + strcspn(w, " \t");
		if (*p != '\0') {
			*p++ = '\0';
			while (*p == ' ' || *p == '\t')
				p++;
			if (!prefix_word(w))
				trim_blanks(p);
		}
		/* conf_argv: "spamsift", the words, NULL. */
		if (k - 1 + 1 + (*p != '\0') > CONF_MAX_ARGS) {
			fprintf(stderr, "spamsift: %s: more than %d words\n",
			    path, CONF_MAX_ARGS);
			goto out;
		}
		/* Every word owned (opts_release frees them): values stay
		 * pointed at by the options after this returns. */
		if (asprintf(&o->conf_argv[k], "--%s", w) < 0) {
			o->conf_argv[k] = NULL;
			goto out;
		}
		if (pipe_word(o->conf_argv[k]))
			o->pipe_conf = 1;
		k++;
		if (*p != '\0') {
			o->conf_argv[k] = strdup(p);
			if (o->conf_argv[k] == NULL)
				goto out;
			k++;
		}
	}
	*cargc = refused ? 0 : k;
	rc = refused ? -1 : 0;
out:
	fclose(f);
	return rc;
}

int
opts_home(const struct opts *o, char *buf, size_t size)
{
	const char *h;
	int n;

	if (o->homedir != NULL)
		n = snprintf(buf, size, "%s", o->homedir);
	else if ((h = getenv("SPAMSIFT_HOME")) != NULL && h[0] != '\0')
		n = snprintf(buf, size, "%s", h);
	else if ((h = getenv("HOME")) != NULL && h[0] != '\0')
		n = snprintf(buf, size, "%s/.spamsift", h);
	else
		return -1;
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static void
pipe_in_config(struct opts *o)
{
	char home[PATH_MAX], conf[PATH_MAX + 32];
	int cargc;

	if (o->config != NULL)
		snprintf(conf, sizeof(conf), "%s", o->config);
	else if (opts_home(o, home, sizeof(home)) == 0)
		snprintf(conf, sizeof(conf), "%s/spamsift.conf", home);
	else
		return;
	(void)read_config(o, conf, 0, &cargc);	/* sets pipe_conf */
}

int
opts_parse(struct opts *o, int argc, char **argv)
{
	char home[PATH_MAX], conf[PATH_MAX + 32];
	const char *cpath = NULL;
	int r, operands = 0, cargc = 0;

	/* Pipe mode must be known even when the options are bad, so that
	 * the caller can pass the message through. */
	for (r = 1; r < argc && strcmp(argv[r], "--") != 0; r++)
		if (pipe_word(argv[r]))
			o->pipe_asked = 1;
	/* First pass: find --homedir / --config-file, --help, errors. */
	r = parse_argv(o, argc, argv, &operands);
	if ((r == 1 || r == 2) && o->pipe_asked) {
		/* Its text would take the mail's place in a filter
		 * recipe: refused, as other commands are. */
		fprintf(stderr, "spamsift: options: --pipe goes with "
		    "filtering or -c, -s, -C, -S only\n");
		goto usage;
	}
	if (r == 1) {
		opts_usage(stdout);
		return -1;
	}
	if (r == 2) {
		printf("spamsift %s\n", SPAMSIFT_VERSION);
		return -1;
	}
	if (r != 0) {
		/* Does the configuration file ask for pipe mode?  Read it
		 * for that alone (getopt stopped at the error; --homedir
		 * and --config-file before it count). */
		if (!o->pipe_asked && o->cmd == CMD_FILTER)
			pipe_in_config(o);
		goto usage;
	}
	if (o->config != NULL)
		cpath = o->config;
	else if (opts_home(o, home, sizeof(home)) == 0) {
		snprintf(conf, sizeof(conf), "%s/spamsift.conf", home);
		cpath = conf;
	}
	if (cpath != NULL) {
		if (read_config(o, cpath, o->config != NULL, &cargc) != 0)
			return EXIT_USAGE;
		if (cargc > 1) {
			struct opts keep = *o;
			int cops = 0;

			opts_init(o);
			o->conf_text = keep.conf_text;
			o->conf_argv = keep.conf_argv;
			o->pipe_asked = keep.pipe_asked;
			o->pipe_conf = keep.pipe_conf;
			r = parse_argv(o, cargc, o->conf_argv, &cops);
			if (r == 0 && cops < cargc) {
				fprintf(stderr, "spamsift: %s: not an option: "
				    "%s\n", cpath, o->conf_argv[cops]);
				r = -1;
			}
			if (r != 0) {
				fprintf(stderr, "spamsift: %s: bad option\n",
				    cpath);
				o->cmd = keep.cmd;	/* the command line's */
				return EXIT_USAGE;
			}
			/* The command line again, over the file's values. */
			if (o->cmd == CMD_TRAIN || o->cmd == CMD_UPDATE)
				o->cmd = CMD_FILTER;
			o->train_class = DB_NONE;
			r = parse_argv(o, argc, argv, &operands);
			if (r != 0)
				goto usage;
		}
	}
	o->to.refer_headers = o->refer;
	o->to.verdict_prefix = o->header_prefix;
	o->files = argv + operands;
	o->nfiles = argc - operands;
	if (o->nfiles > OPT_MAX_FILES) {
		fprintf(stderr, "spamsift: operands: more than %d files\n",
		    OPT_MAX_FILES);
		return EXIT_USAGE;
	}
	if (o->cmd == CMD_UPDATE && o->train_class != DB_NONE)
		o->cmd = CMD_TRAIN;
	/* Pipe mode must write the mail out whatever else is asked.  The
	 * file's "pipe" is for filtering: another command leaves it out.
	 * --pipe with -u (bsfilter's update, implied here) filters; with
	 * -c, -s, -C or -S it learns the message and writes it out.  A
	 * command that writes its own output would put that in place of
	 * the mail in a filter recipe: refused (the caller passes the
	 * message through). */
	if (o->pipe && !o->pipe_asked && o->cmd != CMD_FILTER)
		o->pipe = 0;
	if (o->pipe && o->cmd == CMD_UPDATE)
		o->cmd = CMD_FILTER;
	if (o->pipe && o->cmd != CMD_FILTER && o->cmd != CMD_TRAIN) {
		fprintf(stderr, "spamsift: options: --pipe goes with "
		    "filtering or -c, -s, -C, -S only\n");
		goto usage;
	}
	if (o->cmd != CMD_TUNE && (o->ham_path != NULL ||
	    o->spam_path != NULL || o->svg != NULL || o->tune_split != NULL)) {
		fprintf(stderr, "spamsift: options: --ham, --spam, --roc-svg "
		    "and --tune-split go with --tune\n");
		return EXIT_USAGE;
	}
	if (o->ham_cutoff >= 0 && o->ham_cutoff > opts_spam_cutoff(o)) {
		fprintf(stderr, "spamsift: ham-cutoff: above the spam cutoff\n");
		return EXIT_USAGE;
	}
	return 0;
usage:
	fprintf(stderr, "Try 'spamsift --help' for more information.\n");
	return EXIT_USAGE;
}
