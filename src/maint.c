/* SPDX-License-Identifier: MIT */
/*
 * maint.c - export, import, check and prune (see maint.h for formats).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/maint.h"

#define IMPORT_MAX_LINE 4096	/* bytes of one import line */
#define DUMP_VERSION 2		/* 2: weights, the learned messages */
#define BAD_LINE 1		/* an import line that does not parse */

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
    enum db_class cls, const char *msgid, int64_t g, int64_t day)
{
	struct exp *x = ctx;
	size_t i;

	for (i = 0; i < DB_DIGEST_BYTES; i++)
		fprintf(x->f, "%02x", digest[i]);
	fprintf(x->f, "\t%s\t%" PRId64 "\t%" PRId64 "\t%s\n",
	    cls == DB_SPAM ? "spam" : "clean", day, g,
	    msgid_fits(msgid) ? msgid : "");
	return ferror(x->f) ? DB_EIO : 0;
}

/* Store values a dump carries along: robx and when it was computed, and
 * how many messages the logistic learner has seen (its weights are in
 * the token lines; a version 1 dump has none, and its lr_msgs is left
 * out). */
static const char *const dump_meta[] = { "robx_micro", "robx_msgs",
	"lr_msgs" };

/* Whether --load takes a #meta line's key from a dump of that version
 * (others are left out). */
static int
dump_carries(const char *key, int version)
{
	size_t i;

	if (strcmp(key, "lr_msgs") == 0 && version < DUMP_VERSION)
		return 0;
	for (i = 0; i < sizeof(dump_meta) / sizeof(dump_meta[0]); i++)
		if (strcmp(key, dump_meta[i]) == 0)
			return 1;
	return 0;
}

static int
dump_header(FILE *f, struct db *db, uint64_t ns, uint64_t nh)
{
	int64_t v;
	size_t i;
	int rc;

	fprintf(f, "#spamsift-dump %d\n#messages %" PRIu64 " %" PRIu64 "\n",
	    DUMP_VERSION, ns, nh);
	for (i = 0; i < sizeof(dump_meta) / sizeof(dump_meta[0]); i++) {
		rc = db_meta_get(db, dump_meta[i], &v);
		if (rc == 0)
			fprintf(f, "#meta %s %" PRId64 "\n", dump_meta[i], v);
		else if (rc != DB_ENOENT)
			return rc;
	}
	return ferror(f) ? DB_EIO : 0;
}

static int
do_export(const struct opts *o, struct db *db)
{
	struct exp x = { stdout, o->io_class };
	uint64_t ns, nh;
	const char *path = o->nfiles > 0 ? o->files[0] : "-";
	int rc;

	if (strcmp(path, "-") != 0) {
		x.f = fopen(path, "wx");
		if (x.f == NULL) {
			fprintf(stderr, "spamsift: %s: %s\n", path,
			    strerror(errno));
			return EXIT_ERROR;
		}
	}
	rc = db_totals(db, &ns, &nh);
	if (rc == 0 && x.cls == DB_NONE)
		rc = dump_header(x.f, db, ns, nh);
	else if (rc == 0)
		fprintf(x.f, "#spamsift-export 1 %s\n#messages %" PRIu64 "\n",
		    x.cls == DB_SPAM ? "spam" : "clean",
		    x.cls == DB_SPAM ? ns : nh);
	if (rc == 0)
		rc = db_foreach(db, export_tok, &x);
	if (rc == 0 && x.cls == DB_NONE) {
		fprintf(x.f, "#learned\n");
		rc = db_foreach_msg(db, export_msg, &x);
	}
	if (rc != 0)
		fprintf(stderr, "spamsift: %s\n", rc == DB_EIO && ferror(x.f) ?
		    "export: write error" : db_errmsg(db, rc));
	if (x.f != stdout && fclose(x.f) != 0 && rc == 0) {
		fprintf(stderr, "spamsift: %s: %s\n", path, strerror(errno));
		rc = DB_EIO;
	}
	return rc == 0 ? EXIT_SPAM : EXIT_ERROR;
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

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A signed decimal of a dump line: an optional '-', then digits. */
static int
number(const char *s, char **end, long long *v)
{
	if (*s != '-' && (*s < '0' || *s > '9'))
		return -1;
	errno = 0;
	*v = strtoll(s, end, 10);
	return errno != 0 || *end == s ? -1 : 0;
}

/* Where one import file is: the dump's version, and whether its learned
 * messages have begun. */
struct imp {
	const struct opts *o;
	struct db *db;
	int64_t day;		/* for class imports: today */
	int version;		/* of a dump: 1 until a header says */
	int learned;		/* past the "#learned" line */
	uint64_t kept;		/* learned messages the store knew */
};

/* A line starting with '#' and holding no tab: a header or a comment. */
static int
header_line(struct imp *im, const char *line)
{
	unsigned long long a, b = 0;
	long long d;
	char key[65], *end;
	int v;

	if (sscanf(line, "#spamsift-dump %d", &v) == 1) {
		if (v < 1 || v > DUMP_VERSION)
			return DB_EVERSION;
		im->version = v;
		return 0;
	}
	if (strcmp(line, "#learned") == 0 && im->o->io_class == DB_NONE) {
		im->learned = 1;
		return 0;
	}
	if (strncmp(line, "#messages ", 10) == 0) {
		if (count(line + 10, &end, &a) != 0)
			return BAD_LINE;
		if (im->o->io_class == DB_NONE &&
		    (*end != ' ' || count(end + 1, &end, &b) != 0))
			return BAD_LINE;
		if (*end != '\0')
			return BAD_LINE;
		if (im->o->io_class == DB_SPAM)
			b = 0;
		else if (im->o->io_class == DB_HAM) {
			b = a;
			a = 0;
		}
		return db_add_totals(im->db, (int64_t)a, (int64_t)b);
	}
	if (im->o->io_class == DB_NONE &&
	    sscanf(line, "#meta %64s %lld", key, &d) == 2 &&
	    dump_carries(key, im->version))
		return db_meta_set(im->db, key, (int64_t)d);
	return 0;
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
	if (tab == NULL || tab == line)
		return BAD_LINE;
	*tab = '\0';
	if (count(tab + 1, &end, &a) != 0)
		return BAD_LINE;
	if (c != DB_NONE)
		return *end != '\0' ? BAD_LINE :
		    db_add_token(im->db, line, (size_t)(tab - line),
		    c == DB_SPAM ? (int64_t)a : 0,
		    c == DB_HAM ? (int64_t)a : 0, 0, im->day);
	if (*end != '\t' || count(end + 1, &end, &b) != 0 || *end != '\t' ||
	    number(end + 1, &end, &d) != 0)
		return BAD_LINE;
	if (im->version >= 2 && (*end != '\t' ||
	    number(end + 1, &end, &w) != 0))
		return BAD_LINE;
	if (*end != '\0')
		return BAD_LINE;
	return db_add_token(im->db, line, (size_t)(tab - line), (int64_t)a,
	    (int64_t)b, (int64_t)w, (int64_t)d);
}

/* "DIGEST<TAB>spam|clean<TAB>DAY<TAB>STEP<TAB>MESSAGE-ID" after a dump's
 * "#learned": a message the store has not learned is remembered as the
 * dump says; one it has keeps its own record. */
static int
learned_line(struct imp *im, const char *line)
{
	unsigned char digest[DB_DIGEST_BYTES];
	const char *p = line;
	enum db_class cls, have;
	long long day, g;
	char *end;
	size_t i;
	int hi, lo, rc;

	for (i = 0; i < DB_DIGEST_BYTES; i++, p += 2) {
		hi = hexval(p[0]);
		lo = hi < 0 ? -1 : hexval(p[1]);
		if (lo < 0)
			return BAD_LINE;
		digest[i] = (unsigned char)(hi << 4 | lo);
	}
	if (strncmp(p, "\tspam\t", 6) == 0) {
		cls = DB_SPAM;
		p += 6;
	} else if (strncmp(p, "\tclean\t", 7) == 0) {
		cls = DB_HAM;
		p += 7;
	} else
		return BAD_LINE;
	if (number(p, &end, &day) != 0 || *end != '\t' ||
	    number(end + 1, &end, &g) != 0 || *end != '\t' ||
	    strchr(end + 1, '\t') != NULL)
		return BAD_LINE;
	rc = db_msg_class(im->db, digest, &have);
	if (rc == 0 && have != DB_NONE)
		im->kept++;
	else if (rc == 0)
		rc = db_set_msg(im->db, digest, cls,
		    end[1] != '\0' ? end + 1 : NULL, (int64_t)g,
		    (int64_t)day);
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
	im->learned = 0;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		tl = strlen(line);
		if (tl > 0 && line[tl - 1] == '\n')
			line[--tl] = '\0';
		else if (!feof(f)) {
			fprintf(stderr, "spamsift: %s:%zu: line too long\n",
			    path, lineno);
			return DB_EINVAL;
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
	if (rc == DB_EVERSION) {
		fprintf(stderr, "spamsift: %s:%zu: a dump of a newer version "
		    "than %d\n", path, lineno, DUMP_VERSION);
		return DB_EINVAL;
	}
	if (rc == BAD_LINE || rc == DB_EINVAL) {
		fprintf(stderr, "spamsift: %s:%zu: %s\n", path, lineno,
		    rc == BAD_LINE ? "not an import line" :
		    db_errmsg(im->db, rc));
		return DB_EINVAL;
	}
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "spamsift: %s: read error\n", path);
		return DB_EIO;
	}
	return rc;
}

static int
do_import(const struct opts *o, struct db *db)
{
	struct imp im = { o, db, db_today(), 1, 0, 0 };
	int i, n = o->nfiles > 0 ? o->nfiles : 1, rc;
	FILE *f;

	rc = db_begin(db);
	for (i = 0; i < n && rc == 0; i++) {
		const char *path = o->nfiles > 0 ? o->files[i] : "-";

		f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
		if (f == NULL) {
			fprintf(stderr, "spamsift: %s: %s\n", path,
			    strerror(errno));
			db_rollback(db);
			return EXIT_ERROR;
		}
		rc = import_file(&im, path, f);
		if (f != stdin)
			fclose(f);
		if (rc == DB_EINVAL) {
			db_rollback(db);
			return EXIT_ERROR;
		}
	}
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0) {
		fprintf(stderr, "spamsift: %s\n", db_errmsg(db, rc));
		db_rollback(db);
		return EXIT_ERROR;
	}
	if (im.kept > 0 && !o->quiet)
		fprintf(stderr, "spamsift: %" PRIu64 " learned messages of the "
		    "dump were learned here already: their counts are in "
		    "twice\n", im.kept);
	return EXIT_SPAM;
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
