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
		fprintf(x->f, "%.*s\t%" PRIu32 "\t%" PRIu32 "\t%" PRId64 "\n",
		    (int)len, tok, c->spam, c->ham, day);
		return ferror(x->f) ? DB_EIO : 0;
	}
	n = x->cls == DB_SPAM ? c->spam : c->ham;
	if (n > 0)
		fprintf(x->f, "%.*s\t%" PRIu32 "\n", (int)len, tok, n);
	return ferror(x->f) ? DB_EIO : 0;
}

/* Store values a dump carries along (robx, and when it was computed).
 * Not the learner's lr_msgs: a dump has no weights. */
static const char *const dump_meta[] = { "robx_micro", "robx_msgs" };

/* Whether --load takes a #meta line's key (others are left out). */
static int
dump_carries(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(dump_meta) / sizeof(dump_meta[0]); i++)
		if (strcmp(key, dump_meta[i]) == 0)
			return 1;
	return 0;
}

static int
do_export(const struct opts *o, struct db *db)
{
	struct exp x = { stdout, o->io_class };
	uint64_t ns, nh;
	int64_t v;
	size_t i;
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
	if (rc == 0) {
		if (x.cls == DB_NONE) {
			fprintf(x.f, "#spamsift-dump 1\n#messages %" PRIu64
			    " %" PRIu64 "\n", ns, nh);
			for (i = 0; i < sizeof(dump_meta) /
			    sizeof(dump_meta[0]); i++)
				if (db_meta_get(db, dump_meta[i], &v) == 0)
					fprintf(x.f, "#meta %s %" PRId64 "\n",
					    dump_meta[i], v);
		}
		else
			fprintf(x.f, "#spamsift-export 1 %s\n#messages %"
			    PRIu64 "\n", x.cls == DB_SPAM ? "spam" : "clean",
			    x.cls == DB_SPAM ? ns : nh);
		rc = db_foreach(db, export_tok, &x);
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

/* One import file into the open transaction. */
static int
import_file(const struct opts *o, struct db *db, const char *path, FILE *f,
    int64_t day)
{
	char line[IMPORT_MAX_LINE];
	unsigned long long a, b;
	long long d;
	size_t lineno = 0, tl;
	char *tab, *end;
	int rc = 0;

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
		if (line[0] == '#' && strchr(line, '\t') == NULL) {
			char key[65];

			if (strncmp(line, "#messages ", 10) == 0) {
				if (count(line + 10, &end, &a) != 0)
					goto bad;
				if (o->io_class == DB_NONE) {
					if (*end != ' ' ||
					    count(end + 1, &end, &b) != 0)
						goto bad;
				} else
					b = 0;
				if (*end != '\0')
					goto bad;
				if (o->io_class == DB_NONE)
					rc = db_add_totals(db, (int64_t)a,
					    (int64_t)b);
				else
					rc = db_add_totals(db,
					    o->io_class == DB_SPAM ?
					    (int64_t)a : 0, o->io_class ==
					    DB_HAM ? (int64_t)a : 0);
			} else if (o->io_class == DB_NONE && sscanf(line,
			    "#meta %64s %lld", key, &d) == 2 &&
			    dump_carries(key))
				rc = db_meta_set(db, key, (int64_t)d);
			continue;
		}
		if (tl == 0)
			continue;
		tab = strchr(line, '\t');
		if (tab == NULL || tab == line)
			goto bad;
		*tab = '\0';
		if (count(tab + 1, &end, &a) != 0)
			goto bad;
		if (o->io_class == DB_NONE) {
			if (*end != '\t' || count(end + 1, &end, &b) != 0)
				goto bad;
			if (*end != '\t')
				goto bad;
			d = strtoll(end + 1, &end, 10);
			if (*end != '\0')
				goto bad;
			rc = db_add_token(db, line, (size_t)(tab - line),
			    (int64_t)a, (int64_t)b, d);
		} else {
			if (*end != '\0')
				goto bad;
			rc = db_add_token(db, line, (size_t)(tab - line),
			    o->io_class == DB_SPAM ? (int64_t)a : 0,
			    o->io_class == DB_HAM ? (int64_t)a : 0, day);
		}
	}
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "spamsift: %s: read error\n", path);
		return DB_EIO;
	}
	return rc;
bad:
	fprintf(stderr, "spamsift: %s:%zu: not an import line\n", path, lineno);
	return DB_EINVAL;
}

static int
do_import(const struct opts *o, struct db *db)
{
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
		rc = import_file(o, db, path, f, db_today());
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
