/* SPDX-License-Identifier: MIT */
/*
 * main.c - the spamsift command: what the user sees and the exit status.
 *
 * Modules below never print; everything user-visible is decided here:
 * report lines on stdout, "spamsift: subject: reason" on stderr, the
 * progress display on a terminal, and the exit status (opts.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "src/engine.h"
#include "src/input.h"
#include "src/opts.h"
#include "src/output.h"
#include "src/maint.h"
#include "src/rescue.h"
#include "src/tune.h"
#include "tokenizer/tokenizer.h"

#define ERRLEN 1024
#define VACUUM_AFTER 500	/* messages learned in one run */
#define COMPACT_BELOW 0.8	/* ... and the file's share rows fill */
/* Pipe mode judges a message by its first PIPE_MAX_BYTES (the tokenizer
 * reads no more anyway) and streams the rest through: a 50 MB message
 * costs tens of MB, not three copies of itself. */
#define PIPE_MAX_BYTES ((size_t)TOK_MAX_MESSAGE_BYTES)
#define TRAIN_MMAP_THRESHOLD (32 << 20)	/* see cmd_train */
#define TRAIN_TRIM_THRESHOLD (256 << 20)
#define TRAIN_TOP_PAD (16 << 20)

struct run {
	struct opts *o;
	struct engine *e;
	char dbpath[PATH_MAX];
	/* progress */
	int tty;
	size_t done;
	struct timespec start, last;
	/* the operand being read is a folder (Maildir, MH, directory) */
	int folder;
	int no_learn;		/* -a, but the store is read-only to us */
	int opts_warned;	/* warn_opts said it */
	/* filtering */
	int spam, unsure;
	/* training outcomes */
	size_t outcomes[LEARN_OUTCOMES];
	size_t skipped;		/* --train-mode error/tune: judged right */
};

static double
now_s(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

static void
progress(struct run *r, int final)
{
	struct timespec t;
	double el;

	if (!r->tty || r->o->quiet)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (!final && now_s(&t) - now_s(&r->last) < 0.2)
		return;
	r->last = t;
	el = now_s(&t) - now_s(&r->start);
	fprintf(stderr, "\rspamsift: %zu messages, %.0f msgs/s%s", r->done,
	    el > 0 ? (double)r->done / el : 0.0, final ? "\n" : "");
}

/* Make the home directory (0700) if it is missing. */
static int
make_home(struct run *r, int create)
{
	char home[PATH_MAX];
	struct stat st;

	if (opts_home(r->o, home, sizeof(home)) != 0) {
		fprintf(stderr, "spamsift: home: set HOME, SPAMSIFT_HOME or "
		    "--homedir\n");
		return -1;
	}
	if (snprintf(r->dbpath, sizeof(r->dbpath), "%s/%s", home,
	    DB_FILENAME) >= (int)sizeof(r->dbpath)) {
		fprintf(stderr, "spamsift: %s: path too long\n", home);
		return -1;
	}
	if (stat(home, &st) == 0)
		return 0;
	if (!create)
		return 0;	/* db_open says what is missing */
	if (mkdir(home, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "spamsift: %s: %s\n", home, strerror(errno));
		return -1;
	}
	return 0;
}

static int
open_engine(struct run *r, int flags)
{
	char err[ERRLEN];
	int rc;

	if (make_home(r, (flags & DB_CREATE) != 0) != 0)
		return -1;
	rc = engine_new(&r->e, r->o, r->dbpath, flags, err, sizeof(err));
	/* -a on a store this user may read but not write: the verdict
	 * still stands, as when learning fails (a store whose permissions
	 * are unsafe fails read-only too, and is refused). */
	if (rc == DB_EPERM && flags == 0 && r->o->auto_update &&
	    engine_new(&r->e, r->o, r->dbpath, DB_READONLY, err,
	    sizeof(err)) == 0) {
		fprintf(stderr, "spamsift: %s: not writable: classified, "
		    "not learned (-a)\n", r->dbpath);
		r->no_learn = 1;
		return 0;
	}
	if (rc != 0) {
		fprintf(stderr, "spamsift: %s\n", err);
		if (rc == DB_ENOENT)
			fprintf(stderr, "spamsift: train first: spamsift -s "
			    "SPAM... and spamsift -c CLEAN...\n");
		return -1;
	}
	/* -a learns mail as it comes: all of it teaches the learner. */
	if (r->o->auto_update)
		engine_set_stream(r->e);
	return 0;
}

/* Iterate every message of every operand (stdin when none).  A file or
 * folder entry that cannot be read is reported and passed over, and so
 * is the rest of an mbox after a read error in it: the other messages
 * still count.  Returns 0, 1 when some input was passed over, or -1
 * when fn failed (the run stops there). */
typedef int (*msg_fn)(struct run *r, const struct input_msg *m);

/* The most messages read from one folder (input_folder_limit), a bad
 * SPAMSIFT_MAX_FOLDER said. */
static size_t
folder_limit(void)
{
	const char *bad;
	size_t n = input_folder_limit(&bad);

	if (bad != NULL)
		fprintf(stderr, "spamsift: SPAMSIFT_MAX_FOLDER: not a number "
		    "of messages: %s (taking %zu)\n", bad, n);
	return n;
}

static int
each_message(struct run *r, msg_fn fn)
{
	struct input *in = NULL;
	struct input_msg m;
	const char *why;
	int i, n = r->o->nfiles > 0 ? r->o->nfiles : 1, rc = 0, k;
	int skipped = 0;
	size_t last, limit = r->o->max_folder;
	char text[128];

	for (i = 0; i < n && rc == 0; i++) {
		const char *path = r->o->nfiles > 0 ? r->o->files[i] : NULL;

		/* Standard input is one message unless --mbox, as in
		 * bsfilter: procmail's "* ? spamsift" gives one with its
		 * From line, and a body paragraph starting "From " is not
		 * quoted there (read as an mbox, it was cut in two: found
		 * by review). */
		if (input_open_limits(&in, path, r->o->mbox ?
		    INPUT_MBOX_FORCE : path == NULL || strcmp(path, "-") == 0 ?
		    INPUT_LONE : INPUT_AUTO, (size_t)INPUT_MAX_BYTES,
		    limit, &why) != 0) {
			fprintf(stderr, "spamsift: %s: %s: %s\n",
			    path ? path : "-", why, strerror(errno));
			skipped = 1;
			continue;
		}
		/* A folder past the limit: the rest is not read, and the
		 * run says so as for any message it could not read. */
		if (input_left_out(in) > 0) {
			fprintf(stderr, "spamsift: %s: %s\n", path,
			    input_left_out_text(in, limit, text,
			    sizeof(text)));
			skipped = 1;
		}
		last = 0;
		r->folder = input_kind(in) != INPUT_FILE &&
		    input_kind(in) != INPUT_MBOX;
		/* Bounded by the input: each call reads the next message or
		 * folder entry, or ends it. */
		for (;;) {
			k = input_next(in, &m);
			if (k == 1) {
				last = m.number;
				rc = fn(r, &m);
				r->done++;
				progress(r, 0);
				if (rc != 0)
					break;
				continue;
			}
			if (k == 0)
				break;
			skipped = 1;
			if (errno == EFBIG)
				fprintf(stderr, "spamsift: %s: message %zu is "
				    "over %ld MB\n", path ? path : "-",
				    last + 1, INPUT_MAX_BYTES / (1024 * 1024));
			else
				fprintf(stderr, "spamsift: %s: %s\n",
				    input_where(in), strerror(errno));
			if (!r->folder)
				break;	/* an mbox cannot go on */
		}
		input_close(in);
		in = NULL;
	}
	progress(r, 1);
	return rc != 0 ? -1 : skipped;
}

/* --show-tokens */
static int
show_tokens(struct run *r, const struct input_msg *m)
{
	size_t i, n;

	if (engine_tokenize(r->e, m->buf, m->len) != 0) {
		fprintf(stderr, "spamsift: %s: %s\n", m->name,
		    engine_errmsg(r->e));
		return -1;
	}
	n = engine_ntokens(r->e);
	/* Several messages: a "# FILE N" line (never a token) before each. */
	if (r->o->nfiles > 1 || m->in_mbox || r->folder)
		printf("# %s %zu\n", m->name, m->number);
	for (i = 0; i < n; i++) {
		fputs(engine_token(r->e, i, NULL), stdout);
		putchar('\n');
	}
	return 0;
}


/* Decimals for a probability: bsfilter's six, and more when the score is
 * so near 0 or 1 that six would show fewer than three significant
 * digits of p or of 1 - p (at most 15): printed as 0.000000 and
 * 1.000000, a tenth of the SpamAssassin corpus lost its order, and
 * scripts that sort by it (or --tune on another filter's output) with
 * it.  Still a plain decimal number, as bsfilter's parsers read it. */
static int
prob_decimals(double p)
{
	double d = p < 0.5 ? p : 1.0 - p;
	int k = 6;

	while (k < 15 && d > 0.0 && d < pow(10.0, -(k - 3)))
		k++;
	return k;
}

static void
report(struct run *r, const struct input_msg *m, const struct verdict_info *v)
{
	FILE *f = (r->o->list_spam || r->o->list_clean) ? stderr : stdout;

	if (!r->o->quiet)
		fprintf(f, "combined probability %s %zu %.*f\n", m->name,
		    m->number, prob_decimals(v->score), v->score);
	if ((r->o->list_spam && v->verdict == VERDICT_SPAM) ||
	    (r->o->list_clean && v->verdict != VERDICT_SPAM)) {
		if (m->in_mbox)
			printf("%s %zu\n", m->name, m->number);
		else
			printf("%s\n", m->name);
	}
}

static const char *const outcome_text[] = {
	"learned", "already learned as that class; not counted again",
	"moved from the other class", "unlearned",
	"not learned as that class; nothing to unlearn",
	"learned before --max-mail scaled the counts; not unlearned",
};
_Static_assert(sizeof(outcome_text) / sizeof(outcome_text[0]) ==
    LEARN_OUTCOMES, "one text per outcome");

static void
on_learn(void *ctx, size_t cookie, enum learn_outcome oc)
{
	struct run *r = ctx;

	(void)cookie;
	r->outcomes[oc]++;
}

/* Say once per run that the store was last trained with other tokenizer
 * options (engine_opts_changed). */
static void
warn_opts(struct run *r)
{
	if (r->opts_warned || r->e == NULL || !engine_opts_changed(r->e))
		return;
	r->opts_warned = 1;
	fprintf(stderr, "spamsift: %s: last trained with other tokenizer "
	    "options (-j, -H, -B, --refer-header, --refer-all-header, "
	    "--max-line, --no-word-pairs, --header-prefix), or by a "
	    "spamsift before its limit of word pairs: a message learned "
	    "then and unlearned now leaves counts behind\n", r->dbpath);
}

/* -a: learn the message as its verdict, now. */
static void
auto_learn(struct run *r, const struct input_msg *m,
    const struct verdict_info *v)
{
	int rc;

	/* An empty input is no message (see train_one). */
	if (v->verdict == VERDICT_UNSURE || v->warm || r->no_learn ||
	    input_blank(m->buf, m->len))
		return;
	rc = engine_learn(r->e, m->buf, m->len, v->verdict == VERDICT_SPAM ?
	    DB_SPAM : DB_HAM, 0, 0);
	if (rc == 0)
		rc = engine_flush(r->e, on_learn, r);
	warn_opts(r);
	if (rc != 0)
		fprintf(stderr, "spamsift: %s: not learned: %s\n", m->name,
		    engine_errmsg(r->e));
}

static int maintain(struct run *r, int force);

/* After -a has learned: what a training run does once it is over
 * (robx, --max-mail).  Once per run, after the messages are out. */
static void
auto_maintain(struct run *r)
{
	if (r->e != NULL && r->o->auto_update &&
	    r->outcomes[LEARN_NEW] + r->outcomes[LEARN_MOVED] > 0)
		(void)maintain(r, 0);	/* it says what failed */
}

static int
filter_one(struct run *r, const struct input_msg *m)
{
	struct verdict_info v;

	if (engine_classify(r->e, m->buf, m->len, &v) != 0) {
		fprintf(stderr, "spamsift: %s: %s\n", m->name,
		    engine_errmsg(r->e));
		return -1;
	}
	if (v.verdict == VERDICT_SPAM)
		r->spam = 1;
	else if (v.verdict == VERDICT_UNSURE)
		r->unsure = 1;
	report(r, m, &v);
	if (r->o->auto_update)
		auto_learn(r, m, &v);
	return 0;
}

static int
cmd_filter(struct run *r)
{
	int rc;

	if (open_engine(r, r->o->auto_update ? 0 : DB_READONLY) != 0)
		return EXIT_ERROR;
	engine_set_batch(r->e);
	rc = each_message(r, filter_one);
	auto_maintain(r);
	if (rc != 0)
		return EXIT_ERROR;
	if (r->spam)
		return EXIT_SPAM;
	return r->unsure ? EXIT_UNSURE : EXIT_CLEAN;
}

/* m as training reads it from a file: pipe mode has the bytes as they
 * came, which go out so, but learn as the same message (one digest). */
static struct input_msg
as_read(const struct input_msg *m)
{
	struct input_msg t = *m;

	t.len = input_lone_len(m->buf, m->len);
	return t;
}

/* Pipe mode: every message out, whatever happens. */
static int
pipe_one(struct run *r, const struct input_msg *m, int *failed)
{
	struct verdict_info v;
	struct out_headers h;
	struct obuf ob = { 0 };
	size_t rest = 0;
	int rc = 0;

	memset(&v, 0, sizeof(v));
	if (r->e == NULL ||
	    engine_classify(r->e, m->buf, m->len, &v) != 0) {
		if (r->e != NULL)
			fprintf(stderr, "spamsift: %s: %s\n", m->name,
			    engine_errmsg(r->e));
		*failed = 1;
		goto raw;
	}
	if (r->o->auto_update) {
		struct input_msg t = as_read(m);

		auto_learn(r, &t, &v);
	}
	memset(&h, 0, sizeof(h));
	h.prefix = r->o->header_prefix;
	h.flag = r->o->insert_flag;
	h.prob = r->o->insert_prob;
	h.rev = r->o->insert_rev;
	h.verdict = v.verdict;
	h.p = v.score;
	h.mark_subject = r->o->mark_subject;
	h.subject_prefix = r->o->subject_prefix;
	if (output_build_head(m->buf, m->len, m->cut, &h, &ob, &rest) != 0) {
		fprintf(stderr, "spamsift: %s: out of memory\n", m->name);
		*failed = 1;
		goto raw;
	}
	/* -q silences reports, never the message: bsfilter's -q --pipe
	 * wrote nothing, which in a :0fw recipe loses the mail.  The body
	 * goes out from the input buffer, not a copy. */
	rescue_disarm();
	if (output_write_all(1, ob.p, ob.len) != 0 ||
	    output_write_all(1, m->buf + rest, m->len - rest) != 0)
		rc = -1;
	ob_release(&ob);
	if (v.verdict == VERDICT_SPAM)
		r->spam = 1;
	return rc;
raw:
	ob_release(&ob);
	rescue_disarm();
	return output_write_all(1, m->buf, m->len);
}

#define COPY_EWRITE (-1)	/* copy_rest: writing stdout failed */
#define COPY_EREAD (-2)		/* ... reading fd failed */

/* Copy the rest of fd to stdout: a message past what was read of it.
 * 0, COPY_EWRITE or COPY_EREAD (errno set). */
static int
copy_rest(int fd)
{
	char buf[65536];
	ssize_t n;

	/* Bounded by the input: each read takes at least one byte. */
	for (;;) {
		n = input_read(fd, buf, sizeof(buf));
		if (n <= 0)
			return n < 0 ? COPY_EREAD : 0;
		if (output_write_all(1, buf, (size_t)n) != 0)
			return COPY_EWRITE;
	}
}

/* Pipe mode's loop: each file (or stdin) is one message, read up to max
 * bytes, which one() writes out whatever happens; the rest of a longer
 * one is copied on after it.  Filtering reads PIPE_MAX_BYTES (what the
 * tokenizer reads), training as much as from a file (INPUT_MAX_BYTES:
 * the digest covers it all).  Sets *failed when a message could not be
 * read or judged; returns EXIT_SPAM, or EXIT_TEMPFAIL when writing
 * failed. */
typedef int (*pipe_fn)(struct run *r, const struct input_msg *m,
    int *failed);

static int
pipe_each(struct run *r, pipe_fn one, size_t max, int *failed)
{
	struct input_msg m;
	char *buf = NULL;
	size_t len = 0;
	int trunc = 0, fd = 0, i, out, rc = EXIT_SPAM;
	int n = r->o->nfiles > 0 ? r->o->nfiles : 1;

	for (i = 0; i < n; i++) {
		const char *path = r->o->nfiles > 0 ? r->o->files[i] : "-";

		fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY |
		    O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "spamsift: %s: %s\n", path,
			    strerror(errno));
			/* Nothing of it can go out; the next ones still do,
			 * and the status says one failed. */
			*failed = 1;
			continue;
		}
		/* Owed from its first byte: a timeout's signal during a
		 * slow read lost the bytes read (found by review). */
		rescue_arm(NULL, 0, fd);
		if (input_slurp_progress(fd, max, &buf, &len, &trunc,
		    rescue_update) != 0) {
			/* Out of memory (or a read error) part way: what
			 * was read, and the rest, go out as they came. */
			fprintf(stderr, "spamsift: %s: %s\n", path,
			    strerror(errno));
			*failed = 1;
			rescue_disarm();
			out = output_write_all(1, buf, len) != 0 ?
			    COPY_EWRITE : copy_rest(fd);
			/* Unreadable still (a directory): said already. */
			if (out == COPY_EREAD)
				out = 0;
		} else {
			memset(&m, 0, sizeof(m));
			m.buf = buf;
			m.len = len;
			m.name = path;
			m.number = 1;
			m.cut = trunc;
			rescue_arm(buf, len, trunc ? fd : -1);
			out = one(r, &m, failed) != 0 ? COPY_EWRITE :
			    trunc ? copy_rest(fd) : 0;
			rescue_disarm();
		}
		if (out == COPY_EREAD) {
			/* The rest of a long message: what was read went
			 * out; the next files still do. */
			fprintf(stderr, "spamsift: %s: %s\n", path,
			    strerror(errno));
			*failed = 1;
		} else if (out != 0) {
			fprintf(stderr, "spamsift: stdout: %s\n",
			    strerror(errno));
			rc = EXIT_TEMPFAIL;
		}
		if (fd > 0)
			close(fd);
		free(buf);
		buf = NULL;
		if (rc != EXIT_SPAM)
			break;
	}
	return rc;
}

static int
cmd_pipe(struct run *r)
{
	int failed = 0, rc;

	/* A failure to open the store is reported, and the mail still
	 * goes through unchanged. */
	if (open_engine(r, r->o->auto_update ? 0 : DB_READONLY) != 0)
		failed = 1;
	rc = pipe_each(r, pipe_one, PIPE_MAX_BYTES, &failed);
	auto_maintain(r);
	if (rc != EXIT_SPAM)
		return rc;
	return failed ? EXIT_TEMPFAIL : EXIT_SPAM;
}

static int
train_one(struct run *r, const struct input_msg *m)
{
	struct verdict_info v;
	enum db_class have;
	int rc;

	/* An empty input is no message: counting it would skew the
	 * totals that every token's probability is measured against. */
	if (input_blank(m->buf, m->len)) {
		if (!r->o->quiet)
			fprintf(stderr, "spamsift: %s: empty, not learned\n",
			    m->name);
		return 0;
	}

	if (r->o->train_mode != TRAIN_ALL && !r->o->train_sub) {
		if (engine_classify(r->e, m->buf, m->len, &v) != 0 ||
		    engine_learned_class(r->e, m->buf, m->len, &have) != 0) {
			fprintf(stderr, "spamsift: %s: %s\n", m->name,
			    engine_errmsg(r->e));
			return -1;
		}
		if (!engine_should_learn(r->o->train_mode, r->o->train_class,
		    v.score, v.cutoff, r->o->thick, have)) {
			r->skipped++;
			return 0;
		}
	}
	rc = engine_learn(r->e, m->buf, m->len, r->o->train_class,
	    r->o->train_sub, r->done);
	if (rc == 0 && r->o->train_mode != TRAIN_ALL)
		rc = engine_flush(r->e, on_learn, r);
	if (rc != 0) {
		fprintf(stderr, "spamsift: %s: %s\n", m->name,
		    engine_errmsg(r->e));
		return -1;
	}
	return 0;
}

static int
maintain(struct run *r, int force)
{
	uint64_t ns, nh, dropped = 0;
	int rc;

	rc = engine_update_robx(r->e, force);
	if (rc == 0 && r->o->max_mail > 0 &&
	    db_totals(engine_db(r->e), &ns, &nh) == 0 &&
	    (ns > (uint64_t)r->o->max_mail || nh > (uint64_t)r->o->max_mail))
		rc = db_scale(engine_db(r->e), (uint64_t)r->o->max_mail,
		    (uint64_t)(r->o->min_mail > 0 && r->o->min_mail <
		    r->o->max_mail ? r->o->min_mail : r->o->max_mail),
		    &dropped);
	if (rc != 0)
		fprintf(stderr, "spamsift: %s\n", db_errmsg(engine_db(r->e),
		    rc));
	return rc;
}

/* --pipe with -c, -s, -C or -S: learn the message, and write it out as
 * it came, whatever happens. */
static int
train_pipe_one(struct run *r, const struct input_msg *m, int *failed)
{
	struct input_msg t = as_read(m);

	if (r->e == NULL || train_one(r, &t) != 0)
		*failed = 1;
	rescue_disarm();
	return output_write_all(1, m->buf, m->len);
}

/* Pipe mode's training: the messages go out first, then 0 when all were
 * read and learned (cmd_train writes them), else EXIT_TEMPFAIL. */
static int
train_piped(struct run *r)
{
	int failed = 0, rc;

	if (open_engine(r, DB_CREATE) != 0)
		failed = 1;
	else
		engine_on_learn(r->e, on_learn, r);
	rc = pipe_each(r, train_pipe_one, (size_t)INPUT_MAX_BYTES, &failed);
	return rc != EXIT_SPAM || failed ? EXIT_TEMPFAIL : 0;
}

/* --threads, or one fewer than the CPUs (the main thread tokenizes
 * too when it would wait; OPTS_AUTO_THREADS at most): none on a machine
 * of one. */
static int
train_threads(const struct opts *o)
{
	long n;

	if (o->threads >= 0)
		return o->threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 1)
		return 0;
	return n - 1 < OPTS_AUTO_THREADS ? (int)n - 1 : OPTS_AUTO_THREADS;
}

static int
cmd_train(struct run *r)
{
	size_t i, total = 0, kinds = 0, which = 0;
	unsigned long split2, ahead, walks;
	int rc, unread;

	if (r->o->pipe) {
		rc = train_piped(r);
		if (rc != 0)
			return rc;
	} else {
		if (open_engine(r, DB_CREATE) != 0)
			return EXIT_ERROR;
		engine_on_learn(r->e, on_learn, r);
		/* Other modes classify each message before learning it,
		 * one at a time. */
		if (r->o->train_mode == TRAIN_ALL)
			engine_set_threads(r->e, train_threads(r->o));
		/* A batch's big arrays, freed and made again each flush,
		 * were mapped afresh each time, and every page of them
		 * zeroed by the kernel again: kept in the heap instead,
		 * they are reused (the bench's training: 30.3K page faults
		 * down to 25.6K).  Memory goes back when the run ends. */
		(void)mallopt(M_MMAP_THRESHOLD, TRAIN_MMAP_THRESHOLD);
		(void)mallopt(M_TRIM_THRESHOLD, TRAIN_TRIM_THRESHOLD);
		(void)mallopt(M_TOP_PAD, TRAIN_TOP_PAD);
		rc = each_message(r, train_one);
	}
	/* Inputs passed over (each_message said which): what was read is
	 * learned all the same, and the status says something failed. */
	unread = rc == 1;
	if (unread)
		rc = 0;
	if (rc == 0 && engine_flush(r->e, on_learn, r) != 0) {
		fprintf(stderr, "spamsift: %s\n", engine_errmsg(r->e));
		rc = -1;
	}
	warn_opts(r);
	if (rc == 0)
		rc = maintain(r, 0);
	/* Inserts among stored keys split pages, which leaves them part
	 * empty: after a big run, compact the store if a fifth of it is
	 * slack.  Batched training leaves it 86-93% full (SpamAssassin
	 * corpus), and a packed store only splits again on the next
	 * inserts: compacting every big run cost 4% of training's
	 * instructions and a second write of the whole store, and left the
	 * bench's store larger (8.5 MB) than not (8.2 MB).  Holds the write
	 * lock for a moment; readers go on. */
	if (rc == 0 && r->outcomes[LEARN_NEW] + r->outcomes[LEARN_MOVED] >=
	    VACUUM_AFTER) {
		int crc = db_compact(engine_db(r->e), COMPACT_BELOW, NULL);

		if (crc != 0)
			fprintf(stderr, "spamsift: %s (not compacted)\n",
			    db_errmsg(engine_db(r->e), crc));
	}
	if (rc != 0 || unread)
		return r->o->pipe ? EXIT_TEMPFAIL : EXIT_ERROR;
	for (i = 0; i < LEARN_OUTCOMES; i++) {
		total += r->outcomes[i];
		/* Refused as learned before a scaling is not learned
		 * too: one status for both (found by review). */
		if (r->outcomes[i] > 0 && !(i == LEARN_SCALED &&
		    r->outcomes[LEARN_NOTLEARNED] > 0)) {
			kinds++;
			which = i;
		}
	}
	/* Messages left alone because already judged right are an outcome
	 * of their own: with any other, the status is no single one's. */
	if (r->skipped > 0) {
		total += r->skipped;
		kinds++;
	}
	/* An empty input is no message, and no outcome: the status is the
	 * messages'. */
	if (!r->o->quiet && (r->o->verbose || r->outcomes[LEARN_DUP] ||
	    r->outcomes[LEARN_NOTLEARNED] || r->outcomes[LEARN_MOVED] ||
	    r->outcomes[LEARN_SCALED])) {
		for (i = 0; i < LEARN_OUTCOMES; i++)
			if (r->outcomes[i] > 0)
				fprintf(stderr, "spamsift: %zu message%s %s\n",
				    r->outcomes[i], r->outcomes[i] == 1 ? "" :
				    "s", outcome_text[i]);
		if (r->skipped > 0)
			fprintf(stderr, "spamsift: %zu message%s judged right "
			    "already; not learned\n", r->skipped,
			    r->skipped == 1 ? "" : "s");
	}
	split2 = db_helper_runs(engine_db(r->e));
	if (!r->o->quiet && r->o->verbose && split2 > 0)
		fprintf(stderr, "spamsift: %lu write%s split the database on "
		    "two threads\n", split2, split2 == 1 ? "" : "s");
	walks = db_walk_runs(engine_db(r->e));
	if (!r->o->quiet && r->o->verbose && walks > 0)
		fprintf(stderr, "spamsift: robx computed %lu time%s on a "
		    "second thread while the database was written\n", walks,
		    walks == 1 ? "" : "s");
	ahead = db_ahead_runs(engine_db(r->e));
	if (!r->o->quiet && r->o->verbose && ahead > 0)
		fprintf(stderr, "spamsift: %lu batch%s put in the database's "
		    "order on a second thread\n", ahead, ahead == 1 ? "" :
		    "es");
	if (kinds != 1 || total == 0)
		return EXIT_SPAM;
	switch (which) {
	case LEARN_DUP:
		return EXIT_DUP;
	case LEARN_MOVED:
		return EXIT_MOVED;
	case LEARN_NOTLEARNED:
	case LEARN_SCALED:
		return EXIT_NOTLEARNED;
	}
	return EXIT_SPAM;
}

static int
cmd_update(struct run *r)
{
	if (open_engine(r, DB_CREATE) != 0)
		return EXIT_ERROR;
	return maintain(r, 1) == 0 ? EXIT_SPAM : EXIT_ERROR;
}

static int
cmd_status(struct run *r)
{
	struct db_status st;
	int rc;

	if (open_engine(r, DB_READONLY | DB_ANY_TOKVER) != 0)
		return EXIT_ERROR;
	rc = db_status(engine_db(r->e), &st);
	if (rc != 0) {
		fprintf(stderr, "spamsift: %s\n", db_errmsg(engine_db(r->e),
		    rc));
		return EXIT_ERROR;
	}
	printf("database %s\n", r->dbpath);
	printf("messages spam %llu clean %llu\n",
	    (unsigned long long)st.spam_msgs, (unsigned long long)st.ham_msgs);
	printf("tokens %llu spam %llu clean %llu\n",
	    (unsigned long long)st.tokens, (unsigned long long)st.spam_tokens,
	    (unsigned long long)st.ham_tokens);
	printf("learned %llu\n", (unsigned long long)st.learned);
	printf("size %llu bytes\n", (unsigned long long)st.file_bytes);
	printf("schema %d tokenizer %d\n", st.schema_version, st.tok_version);
	printf("journal %s%s\n", st.journal, st.network_fs ?
	    " (network file system: WAL is unsafe there)" : "");
	{
		int64_t micro;

		if (r->o->robx_given)
			printf("robx %f (given)\n", r->o->sp.robx);
		else if (db_meta_get(engine_db(r->e), "robx_micro",
		    &micro) == 0)
			printf("robx %f\n", (double)micro / 1e6);
		else
			printf("robx %f (default)\n", r->o->sp.robx);
	}
	printf("learner %lld messages (%s)\n",
	    (long long)engine_lr_shown(r->e),
	    engine_lr_ready(engine_lr_shown(r->e)) ? "in the score" :
	    "not yet in the score");
	return EXIT_SPAM;
}

static int
explain_one(struct run *r, const struct input_msg *m)
{
	struct verdict_info v;
	const struct score_token *st;
	const char *t;
	size_t i, n;

	if (engine_classify(r->e, m->buf, m->len, &v) != 0) {
		fprintf(stderr, "spamsift: %s: %s\n", m->name,
		    engine_errmsg(r->e));
		return -1;
	}
	printf("message %s %zu\n", m->name, m->number);
	printf("%-40s %8s %8s %9s %4s %9s\n", "token", "spam", "clean", "p",
	    "used", "weight");
	n = engine_ntokens(r->e);
	for (i = 0; i < n; i++) {
		t = engine_token(r->e, i, &st);
		if (!st->used && st->w == 0 && !r->o->verbose)
			continue;
		printf("%-40s %8u %8u %9.6f %4s %9.5f\n", t, st->spam,
		    st->ham, st->p, st->used ? "yes" : "no",
		    (double)st->w / SCORE_W_ONE);
	}
	printf("combiner %s score %.*f\n", score_method_name(r->o->sp.method),
	    prob_decimals(v.r.comb), v.r.comb);
	printf("logistic z %f p %f share %g%s\n", v.r.lr_z, v.r.lr_p,
	    v.lr_weight, v.lr_weight > 0.0 || r->o->sp.lr_weight == 0.0 ?
	    "" : " (not yet: the weights have not learned enough)");
	/* The score as the report line prints it (prob_decimals). */
	printf("method %s tokens %zu used %zu H %f S %f score %.*f %s\n",
	    score_method_name(r->o->sp.method), v.ntokens, v.r.used, v.r.h,
	    v.r.s, prob_decimals(v.score), v.score,
	    v.verdict == VERDICT_SPAM ? "spam" :
	    (v.verdict == VERDICT_UNSURE ? "unsure" : "clean"));
	if (v.cutoff > opts_spam_cutoff(r->o))
		printf("warm-up: the store has learned %llu ham, fewer than "
		    "%ld: spam needs a score above %g\n",
		    (unsigned long long)v.nham, r->o->warmup_ham, v.cutoff);
	if (v.verdict == VERDICT_SPAM)
		r->spam = 1;
	else if (v.verdict == VERDICT_UNSURE)
		r->unsure = 1;
	return 0;
}

static int
cmd_explain(struct run *r)
{
	if (open_engine(r, DB_READONLY) != 0)
		return EXIT_ERROR;
	if (each_message(r, explain_one) != 0)
		return EXIT_ERROR;
	if (r->spam)
		return EXIT_SPAM;
	return r->unsure ? EXIT_UNSURE : EXIT_CLEAN;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct run r;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	/* Past a file-size limit (postfix's mailbox_size_limit applies to
	 * the commands it runs) a write fails with EFBIG, which the store
	 * reports: the signal killed pipe mode's -a before the mail went
	 * out (found by review). */
	signal(SIGXFSZ, SIG_IGN);
	opts_init(&o);
	rc = opts_parse(&o, argc, argv);
	o.max_folder = folder_limit();
	/* Pipe mode asked for on the command line, or by the configuration
	 * file for a command line that asks for no other command. */
	if (rc > 0 && (o.pipe_asked || (o.pipe_conf && o.cmd == CMD_FILTER))) {
		/* A bad option or configuration file must not lose mail: the
		 * message goes through unchanged, and procmail or maildrop
		 * hear EX_TEMPFAIL. */
		opts_release(&o);
		(void)copy_rest(0);
		return EXIT_TEMPFAIL;
	}
	if (rc != 0) {
		opts_release(&o);
		return rc < 0 ? 0 : rc;
	}
	/* What only reads out (--show-tokens, --explain, --show-db-status,
	 * an export) ends as cat does when its reader goes: "| head" gave
	 * "spamsift: stdout: Broken pipe" after tokenizing every message
	 * left.  Everything else keeps SIGPIPE ignored: pipe mode must pass
	 * the message on or fail with EX_TEMPFAIL, and a training whose
	 * progress goes to a closed pipe still finishes. */
	if (!o.pipe && (o.cmd == CMD_TOKENS || o.cmd == CMD_EXPLAIN ||
	    o.cmd == CMD_STATUS || o.cmd == CMD_EXPORT))
		signal(SIGPIPE, SIG_DFL);
	/* Pipe mode owes standard input's message from here on (each
	 * message as it is read: pipe_each), even to a crash. */
	if (o.pipe) {
		if (rescue_install() != 0)
			fprintf(stderr, "spamsift: signals: %s\n",
			    strerror(errno));
		if (o.nfiles == 0)
			rescue_arm(NULL, 0, 0);
	}
	memset(&r, 0, sizeof(r));
	r.o = &o;
	r.tty = isatty(2);
	clock_gettime(CLOCK_MONOTONIC, &r.start);
	r.last = r.start;
	switch (o.cmd) {
	case CMD_FILTER:
		rc = o.pipe ? cmd_pipe(&r) : cmd_filter(&r);
		break;
	case CMD_TRAIN:
		rc = cmd_train(&r);
		break;
	case CMD_UPDATE:
		rc = cmd_update(&r);
		break;
	case CMD_STATUS:
		rc = cmd_status(&r);
		break;
	case CMD_TOKENS:
		{
			char err[ERRLEN];

			if (engine_new(&r.e, &o, NULL, 0, err,
			    sizeof(err)) != 0) {
				fprintf(stderr, "spamsift: %s\n", err);
				rc = EXIT_ERROR;
				break;
			}
			rc = each_message(&r, show_tokens) == 0 ? EXIT_SPAM :
			    EXIT_ERROR;
		}
		break;
	case CMD_EXPLAIN:
		rc = cmd_explain(&r);
		break;
	case CMD_EXPORT:
	case CMD_IMPORT:
	case CMD_CHECKDB:
	case CMD_PRUNE:
		/* Reading out works on a store of another tokenizer
		 * version, to see it or to move its counts elsewhere. */
		if (open_engine(&r, o.cmd == CMD_IMPORT ? DB_CREATE :
		    (o.cmd == CMD_EXPORT ? DB_READONLY | DB_ANY_TOKVER :
		    (o.cmd == CMD_CHECKDB ? DB_ANY_TOKVER : 0))) != 0) {
			rc = EXIT_ERROR;
			break;
		}
		rc = maint_run(&o, engine_db(r.e));
		break;
	case CMD_TUNE:
		rc = tune_run(&o);
		break;
	}
	engine_free(r.e);
	opts_release(&o);
	/* A write error not reported yet (one that was, made rc an error
	 * already). */
	if (fflush(stdout) != 0 && (rc == EXIT_SPAM || rc == EXIT_CLEAN ||
	    rc == EXIT_UNSURE)) {
		fprintf(stderr, "spamsift: stdout: %s\n", strerror(errno));
		rc = EXIT_ERROR;
	}
	return rc;
}
