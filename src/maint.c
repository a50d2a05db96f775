/* SPDX-License-Identifier: MIT */
/*
 * maint.c - export, import, check and prune (see maint.h for formats).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/maint.h"
#include "src/score.h"
#include "tokenizer/tokenizer.h"

#define IMPORT_MAX_LINE 4096	/* bytes of one import line */
#define IMPORT_BATCH 65536	/* token lines written in one call */
#define DUMP_VERSION 3		/* 2: weights, the learned messages;
				 * 3: #tokenizer, and #end last */
#define META_MAX (INT64_MAX / 4) /* largest #meta count --load takes */

struct exp {
	FILE *f;
	enum db_class cls;
};

static int
export_tok(void *ctx, const char *tok, size_t len, const struct db_counts *c,
    int64_t day)
{
	struct exp *x = ctx;
	uint32_t n;

	if (x->cls == DB_NONE) {
		fprintf(x->f, "%.*s\t%" PRIu32 "\t%" PRIu32 "\t%" PRId64
		    "\t%" PRId32 "\n", (int)len, tok, c->spam, c->ham, day,
		    c->w);
		return ferror(x->f) ? DB_EIO : 0;
	}
	n = x->cls == DB_SPAM ? c->spam : c->ham;
	if (n > 0)
		fprintf(x->f, "%.*s\t%" PRIu32 "\n", (int)len, tok, n);
	return ferror(x->f) ? DB_EIO : 0;
}

/* Whether a Message-ID fits a dump's last field: no tab, no line end.
 * The tokenizer never keeps one that holds them; one that does is left
 * out rather than breaking the line. */
static int
msgid_fits(const char *id)
{
	return id != NULL && strpbrk(id, "\t\r\n") == NULL;
}

static int
export_msg(void *ctx, const unsigned char digest[DB_DIGEST_BYTES],
    enum db_class cls, int scaled, const char *msgid, int64_t g,
    int64_t day)
{
	struct exp *x = ctx;
	size_t i;

	for (i = 0; i < DB_DIGEST_BYTES; i++)
		fprintf(x->f, "%02x", digest[i]);
	fprintf(x->f, "\t%s%s\t%" PRId64 "\t%" PRId64 "\t%s\n",
	    cls == DB_SPAM ? "spam" : "clean", scaled ? "-scaled" : "", day,
	    g, msgid_fits(msgid) ? msgid : "");
	return ferror(x->f) ? DB_EIO : 0;
}

/* Store values a dump carries along: robx and when it was computed, the
 * fingerprint of the last training's tokenizer options (--load sets
 * them), and how many messages the logistic learner has
 * seen (its weights are in the token lines; --load adds it, as it adds
 * the weights; a version 1 dump has no weights, and its lr_msgs is left
 * out).  Each with the values --load accepts. */
static const struct dump_meta {
	const char *key;
	int64_t max;
	int adds;
} dump_meta[] = {
	{ "robx_micro", 1000000, 0 },
	{ "robx_msgs", META_MAX, 0 },
	{ "lr_msgs", META_MAX, 1 },
	{ "tok_opts", INT64_MAX, 0 },
};

static int
dump_header(FILE *f, struct db *db, uint64_t ns, uint64_t nh)
{
	int64_t v;
	size_t i;
	int rc;

	rc = db_meta_get(db, "tok_version", &v);
	if (rc != 0)
		return rc;
	fprintf(f, "#spamsift-dump %d\n#tokenizer %" PRId64 "\n#messages %"
	    PRIu64 " %" PRIu64 "\n", DUMP_VERSION, v, ns, nh);
	for (i = 0; i < sizeof(dump_meta) / sizeof(dump_meta[0]); i++) {
		rc = db_meta_get(db, dump_meta[i].key, &v);
		if (rc == 0)
			fprintf(f, "#meta %s %" PRId64 "\n", dump_meta[i].key,
			    v);
		else if (rc != DB_ENOENT)
			return rc;
	}
	return ferror(f) ? DB_EIO : 0;
}

/* Everything in one snapshot: a message learned meanwhile is in all of
 * it or in none. */
static int
export_all(struct exp *x, struct db *db)
{
	uint64_t ns, nh;
	int rc;

	rc = db_read_begin(db);
	if (rc != 0)
		return rc;
	rc = db_totals(db, &ns, &nh);
	if (rc == 0 && x->cls == DB_NONE)
		rc = dump_header(x->f, db, ns, nh);
	else if (rc == 0)
		fprintf(x->f, "#spamsift-export 1 %s\n#messages %" PRIu64 "\n",
		    x->cls == DB_SPAM ? "spam" : "clean",
		    x->cls == DB_SPAM ? ns : nh);
	if (rc == 0)
		rc = db_foreach(db, export_tok, x);
	if (rc == 0 && x->cls == DB_NONE) {
		fprintf(x->f, "#learned\n");
		rc = db_foreach_msg(db, export_msg, x);
	}
	/* A dump cut short (a copy that stopped) is told by its end. */
	if (rc == 0 && x->cls == DB_NONE)
		fprintf(x->f, "#end\n");
	return db_read_end(db, rc);
}

static int
do_export(const struct opts *o, struct db *db)
{
	struct exp x = { stdout, o->io_class };
	const char *path = o->nfiles > 0 ? o->files[0] : "-";
	int rc;

	if (strcmp(path, "-") != 0) {
		/* Private as the store: Message-IDs, addresses and words of
		 * the user's mail (it was 0644 under umask 022). */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);

		x.f = fd < 0 ? NULL : fdopen(fd, "w");
		if (x.f == NULL) {
			fprintf(stderr, "spamsift: %s: %s\n", path,
			    strerror(errno));
			if (fd >= 0)
				close(fd);
			return EXIT_ERROR;
		}
	}
	rc = export_all(&x, db);
	if (rc != 0)
		fprintf(stderr, "spamsift: %s\n", rc == DB_EIO && ferror(x.f) ?
		    "export: write error" : db_errmsg(db, rc));
	if (x.f != stdout && fclose(x.f) != 0 && rc == 0) {
		fprintf(stderr, "spamsift: %s: %s\n", path, strerror(errno));
		rc = DB_EIO;
	}
	return rc == 0 ? EXIT_SPAM : EXIT_ERROR;
}

/*
 * Import.  A line parser returns 0, or DB_EINVAL with im->why saying
 * what is wrong with the line, or the db's error.
 */

/* Where one import is: the dump's version, whether its learned messages
 * have begun, and why the last line was refused. */
struct imp {
	const struct opts *o;
	struct db *db;
	int64_t day;		/* for class imports: today */
	int version;		/* of a dump: 1 until a header says */
	int open;		/* a version 3 dump begun, no #end yet */
	int learned;		/* past the "#learned" line */
	uint64_t kept;		/* learned messages the store knew */
	char why[80];
	/* Token lines not written yet (imp_flush), IMPORT_BATCH at most:
	 * a store of buckets writes many at a time far faster.  tok[i] is
	 * an offset into text until imp_flush. */
	size_t n;
	char **tok;
	size_t *len;
	int64_t *ds, *dh, *dw, *days;
	char *text;
	size_t used, cap;
};

static int
bad(struct imp *im, const char *why)
{
	snprintf(im->why, sizeof(im->why), "%s", why);
	return DB_EINVAL;
}

static void
imp_free(struct imp *im)
{
	free(im->tok);
	free(im->len);
	free(im->ds);
	free(im->dh);
	free(im->dw);
	free(im->days);
	free(im->text);
}

/* Write the pending token lines in one call. */
static int
imp_flush(struct imp *im)
{
	size_t i;
	int rc;

	if (im->n == 0)
		return 0;
	for (i = 0; i < im->n; i++)
		im->tok[i] = im->text + (uintptr_t)im->tok[i];
	rc = db_add_tokens_days(im->db, im->n, (const char *const *)im->tok,
	    im->len, im->ds, im->dh, im->dw, im->days);
	im->n = 0;
	im->used = 0;
	return rc;
}

/* Queue a token line's change; written by imp_flush. */
static int
imp_add(struct imp *im, const char *tok, size_t len, int64_t ds, int64_t dh,
    int64_t dw, int64_t day)
{
	size_t nc;
	char *nt;
	int rc;

	if (im->n == IMPORT_BATCH) {
		rc = imp_flush(im);
		if (rc != 0)
			return rc;
	}
	if (im->tok == NULL) {
		im->tok = malloc(IMPORT_BATCH * sizeof(*im->tok));
		im->len = malloc(IMPORT_BATCH * sizeof(*im->len));
		im->ds = malloc(IMPORT_BATCH * sizeof(*im->ds));
		im->dh = malloc(IMPORT_BATCH * sizeof(*im->dh));
		im->dw = malloc(IMPORT_BATCH * sizeof(*im->dw));
		im->days = malloc(IMPORT_BATCH * sizeof(*im->days));
		if (im->tok == NULL || im->len == NULL || im->ds == NULL ||
		    im->dh == NULL || im->dw == NULL || im->days == NULL)
			return bad(im, "out of memory");
	}
	if (im->used + len > im->cap) {
		nc = im->cap ? im->cap : 1 << 20;
		while (nc < im->used + len)
			nc *= 2;
		nt = realloc(im->text, nc);
		if (nt == NULL)
			return bad(im, "out of memory");
		im->text = nt;
		im->cap = nc;
	}
	memcpy(im->text + im->used, tok, len);
	im->tok[im->n] = (char *)(uintptr_t)im->used;
	im->used += len;
	im->len[im->n] = len;
	im->ds[im->n] = ds;
	im->dh[im->n] = dh;
	im->dw[im->n] = dw;
	im->days[im->n] = day;
	im->n++;
	return 0;
}

/* A count of an import line: digits only (no sign, no blank), at most
 * what the store keeps per token. */
static int
count(const char *s, char **end, unsigned long long *v)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, end, 10);
	return errno != 0 || *v > UINT32_MAX ? -1 : 0;
}

/* A signed decimal of a dump line: an optional '-', then digits, and
 * within [lo, hi]. */
static int
number(const char *s, char **end, long long lo, long long hi, long long *v)
{
	if (*s != '-' && (*s < '0' || *s > '9'))
		return -1;
	errno = 0;
	*v = strtoll(s, end, 10);
	return errno != 0 || *end == s || *v < lo || *v > hi ? -1 : 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The number a header line ends with, v: 0, or bad(). */
static int
header_number(struct imp *im, const char *v, long long *n)
{
	char *end;

	if (number(v, &end, LLONG_MIN, LLONG_MAX, n) != 0 || *end != '\0')
		return bad(im, "not an import line");
	return 0;
}

/* "#spamsift-dump N": a dump starts (files may be concatenated). */
static int
version_line(struct imp *im, const char *v)
{
	long long n;

	if (header_number(im, v, &n) != 0)
		return DB_EINVAL;
	if (n < 1 || n > DUMP_VERSION) {
		snprintf(im->why, sizeof(im->why), "dump version %lld: this "
		    "program reads versions 1 to %d", n, DUMP_VERSION);
		return DB_EINVAL;
	}
	if (im->open)
		return bad(im, "a dump begins before the last one's #end");
	im->version = (int)n;
	im->open = n >= 3;
	im->learned = 0;
	return 0;
}

/* "#tokenizer N" of a dump: its store's tokens are of that version, which
 * this program must make too (--load stamped its own on them, and the
 * store then scored mail with tokens it never makes; found by review). */
static int
tokenizer_line(struct imp *im, const char *v)
{
	long long n;

	if (header_number(im, v, &n) != 0)
		return DB_EINVAL;
	if (n != TOK_VERSION) {
		snprintf(im->why, sizeof(im->why), "a dump of tokenizer "
		    "version %lld: this program's is %d", n, TOK_VERSION);
		return DB_EINVAL;
	}
	return 0;
}

/* "#meta KEY N" of a dump: the keys dump_meta names are set (robx) or
 * added (the learner's count); others are left out. */
static int
meta_line(struct imp *im, const char *line)
{
	const struct dump_meta *m = NULL;
	long long v;
	int64_t have = 0;
	char *end;
	size_t i, kl;
	int rc;

	for (i = 0; i < sizeof(dump_meta) / sizeof(dump_meta[0]); i++) {
		kl = strlen(dump_meta[i].key);
		if (strncmp(line, dump_meta[i].key, kl) == 0 &&
		    line[kl] == ' ')
			m = &dump_meta[i];
	}
	if (m == NULL || (m->adds && im->version < 2))
		return 0;
	if (number(line + strlen(m->key) + 1, &end, 0, m->max, &v) != 0 ||
	    *end != '\0')
		return bad(im, "#meta value not a number in range");
	if (m->adds) {
		rc = db_meta_get(im->db, m->key, &have);
		if (rc != 0 && rc != DB_ENOENT)
			return rc;
		if (have < 0 || have > META_MAX - v)
			return bad(im, "#meta sum out of range");
	}
	return db_meta_set(im->db, m->key, have + (int64_t)v);
}

/* A line starting with '#' and holding no tab: a header or a comment. */
static int
header_line(struct imp *im, const char *line)
{
	unsigned long long a, b = 0;
	char *end;

	if (strncmp(line, "#spamsift-dump ", 15) == 0)
		return version_line(im, line + 15);
	if (strncmp(line, "#tokenizer ", 11) == 0 && im->o->io_class == DB_NONE)
		return tokenizer_line(im, line + 11);
	if (strcmp(line, "#end") == 0 && im->open) {
		im->open = 0;
		return 0;
	}
	if (strcmp(line, "#learned") == 0 && im->o->io_class == DB_NONE) {
		im->learned = 1;
		return 0;
	}
	if (strncmp(line, "#meta ", 6) == 0 && im->o->io_class == DB_NONE)
		return meta_line(im, line + 6);
	if (strncmp(line, "#messages ", 10) != 0)
		return 0;
	if (count(line + 10, &end, &a) != 0)
		return bad(im, "not an import line");
	if (im->o->io_class == DB_NONE &&
	    (*end != ' ' || count(end + 1, &end, &b) != 0))
		return bad(im, "not an import line");
	if (*end != '\0')
		return bad(im, "not an import line");
	if (im->o->io_class == DB_HAM) {
		b = a;
		a = 0;
	}
	return db_add_totals(im->db, (int64_t)a, (int64_t)b);
}

/* "TOKEN<TAB>COUNT" of a class export, or a dump's "TOKEN<TAB>SPAM<TAB>
 * CLEAN<TAB>DAY", and from version 2 "<TAB>WEIGHT". */
static int
token_line(struct imp *im, char *line)
{
	unsigned long long a, b;
	long long d, w = 0;
	char *tab, *end;
	enum db_class c = im->o->io_class;

	tab = strchr(line, '\t');
	if (tab == NULL || tab == line || count(tab + 1, &end, &a) != 0)
		return bad(im, "not an import line");
	if (tab - line > DB_TOKEN_BYTES_MAX)
		return bad(im, "token longer than the store keeps");
	*tab = '\0';
	if (c != DB_NONE)
		return *end != '\0' ? bad(im, "not an import line") :
		    imp_add(im, line, (size_t)(tab - line),
		    c == DB_SPAM ? (int64_t)a : 0,
		    c == DB_HAM ? (int64_t)a : 0, 0, im->day);
	if (*end != '\t' || count(end + 1, &end, &b) != 0 || *end != '\t' ||
	    number(end + 1, &end, LLONG_MIN, LLONG_MAX, &d) != 0)
		return bad(im, "not an import line");
	if (im->version >= 2 && (*end != '\t' ||
	    number(end + 1, &end, -INT32_MAX, INT32_MAX, &w) != 0))
		return bad(im, "not an import line (or weight out of range)");
	if (*end != '\0')
		return bad(im, "not an import line");
	return imp_add(im, line, (size_t)(tab - line), (int64_t)a, (int64_t)b,
	    (int64_t)w, (int64_t)d);
}

/* "DIGEST<TAB>spam|clean[-scaled]<TAB>DAY<TAB>STEP<TAB>MESSAGE-ID" after
 * a dump's "#learned": a message the store has not learned is remembered
 * as the dump says; one it has keeps its own record. */
static int
learned_line(struct imp *im, const char *line)
{
	unsigned char digest[DB_DIGEST_BYTES];
	const char *p = line;
	enum db_class cls, have;
	long long day, g;
	char *end;
	size_t i;
	int hi, lo, rc, scaled = 0;

	for (i = 0; i < DB_DIGEST_BYTES; i++, p += 2) {
		hi = hexval(p[0]);
		lo = hi < 0 ? -1 : hexval(p[1]);
		if (lo < 0)
			return bad(im, "not an import line");
		digest[i] = (unsigned char)(hi << 4 | lo);
	}
	if (strncmp(p, "\tspam", 5) == 0) {
		cls = DB_SPAM;
		p += 5;
	} else if (strncmp(p, "\tclean", 6) == 0) {
		cls = DB_HAM;
		p += 6;
	} else
		return bad(im, "not an import line");
	if (strncmp(p, "-scaled", 7) == 0) {
		scaled = 1;
		p += 7;
	}
	if (*p++ != '\t')
		return bad(im, "not an import line");
	if (number(p, &end, LLONG_MIN, LLONG_MAX, &day) != 0 ||
	    *end != '\t' ||
	    number(end + 1, &end, LLONG_MIN, LLONG_MAX, &g) != 0 ||
	    *end != '\t' || strpbrk(end + 1, "\t\r") != NULL)
		return bad(im, "not an import line");
	if (!score_lr_step_ok(g, cls == DB_SPAM))
		return bad(im, "weight step not one the learner takes");
	rc = db_msg_class(im->db, digest, &have);
	if (rc == 0 && have != DB_NONE)
		im->kept++;
	else if (rc == 0)
		rc = db_set_msg(im->db, digest, cls,
		    end[1] != '\0' ? end + 1 : NULL, (int64_t)g,
		    (int64_t)day);
	if (rc == 0 && have == DB_NONE && scaled)
		rc = db_msg_scaled(im->db, digest);
	return rc;
}

/* One import file into the open transaction. */
static int
import_file(struct imp *im, const char *path, FILE *f)
{
	char line[IMPORT_MAX_LINE];
	size_t lineno = 0, tl;
	int rc = 0;

	im->version = 1;
	im->open = 0;
	im->learned = 0;
	im->why[0] = '\0';
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		tl = strlen(line);
		if (tl > 0 && line[tl - 1] == '\n') {
			line[--tl] = '\0';
		} else if (!feof(f)) {
			rc = bad(im, "line too long");
			break;
		} else if (im->version >= 2) {
			/* A dump's last line without its line end: the
			 * file was cut (its number may be short). */
			rc = bad(im, "cut short: no line end");
			break;
		}
		/* '#' starts a comment or a header line, which never holds a
		 * tab; a token line always does (its token may start '#'). */
		if (line[0] == '#' && strchr(line, '\t') == NULL)
			rc = header_line(im, line);
		else if (tl == 0)
			continue;
		else if (im->learned)
			rc = learned_line(im, line);
		else
			rc = token_line(im, line);
	}
	if (rc == DB_EINVAL && im->why[0] != '\0') {
		fprintf(stderr, "spamsift: %s:%zu: %s\n", path, lineno,
		    im->why);
		return rc;
	}
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "spamsift: %s: read error\n", path);
		return DB_EIO;
	}
	if (rc == 0 && im->open) {
		rc = bad(im, "cut short: the dump has no #end line");
		fprintf(stderr, "spamsift: %s: %s\n", path, im->why);
	}
	return rc;
}

static int
do_import(const struct opts *o, struct db *db)
{
	struct imp im = { o, db, db_today(), 1, 0, 0, 0, "", 0, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, 0, 0 };
	int i, n = o->nfiles > 0 ? o->nfiles : 1, rc;
	int ex = EXIT_ERROR;
	FILE *f;

	rc = db_begin(db);
	for (i = 0; i < n && rc == 0; i++) {
		const char *path = o->nfiles > 0 ? o->files[i] : "-";

		f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
		if (f == NULL) {
			fprintf(stderr, "spamsift: %s: %s\n", path,
			    strerror(errno));
			db_rollback(db);
			goto out;
		}
		rc = import_file(&im, path, f);
		if (f != stdin)
			fclose(f);
		if (rc == DB_EINVAL && im.why[0] != '\0') {
			db_rollback(db);
			goto out;
		}
	}
	if (rc == 0)
		rc = imp_flush(&im);
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0) {
		fprintf(stderr, "spamsift: %s\n", db_errmsg(db, rc));
		db_rollback(db);
		goto out;
	}
	if (im.kept > 0 && !o->quiet)
		fprintf(stderr, "spamsift: --load: %" PRIu64 " learned "
		    "message%s already known (here, or from an earlier dump "
		    "of this load): %s counts and weights are in twice\n",
		    im.kept, im.kept == 1 ? " was" : "s were",
		    im.kept == 1 ? "its" : "their");
	ex = EXIT_SPAM;
out:
	imp_free(&im);
	return ex;
}

int
maint_run(const struct opts *o, struct db *db)
{
	uint64_t dropped = 0;
	int rc;

	switch (o->cmd) {
	case CMD_EXPORT:
		return do_export(o, db);
	case CMD_IMPORT:
		return do_import(o, db);
	case CMD_CHECKDB:
		rc = db_check(db);
		if (rc != 0) {
			fprintf(stderr, "spamsift: %s\n", db_errmsg(db, rc));
			return EXIT_ERROR;
		}
		if (!o->quiet)
			printf("ok\n");
		return EXIT_SPAM;
	case CMD_PRUNE:
		/* Unseen for DAYS: last seen on or before today - DAYS. */
		rc = db_prune(db, db_today() - o->prune_days + 1, 1, &dropped);
		if (rc == 0)
			rc = db_vacuum(db);
		if (rc != 0) {
			fprintf(stderr, "spamsift: %s\n", db_errmsg(db, rc));
			return EXIT_ERROR;
		}
		if (!o->quiet)
			printf("pruned %" PRIu64 " tokens\n", dropped);
		return EXIT_SPAM;
	default:
		break;
	}
	return EXIT_USAGE;
}
