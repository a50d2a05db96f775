/* SPDX-License-Identifier: MIT */
/*
 * check_db.c - unit tests of the token store (db/db.h).
 *
 * Each test makes its own directory under /tmp with mkdtemp and removes
 * it.  Tests that need root (file ownership) return early otherwise.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "db/bucket.h"
#include "db/db.h"
#include "tests/check_util.h"

#define TOKV		1	/* the tokenizer version the tests use */
#define BUSY_MS		2000
#define NRAND		3000	/* random tokens in the preload test */
#define RAND_TOK_MAX	40	/* longest random token, in pieces */

/* A private directory, and the store's path in it. */
static void
db_tmp(struct tmp *t)
{
	tmp_make(t, "check_db");
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, DB_FILENAME);
}

static struct db *
open_ok(const char *path, int flags, int tokv)
{
	struct db *db = NULL;
	int rc;

	rc = db_open(&db, path, flags, tokv, BUSY_MS);
	ck_assert_msg(rc == 0, "db_open %s: %d: %s", path, rc,
	    db_errmsg(db, rc));
	ck_assert_ptr_nonnull(db);
	return db;
}

/* Open path expecting failure want; returns the message. */
static void
open_fails(const char *path, int flags, int tokv, int want, const char *sub)
{
	struct db *db = NULL;
	const char *msg;
	int rc;

	rc = db_open(&db, path, flags, tokv, BUSY_MS);
	msg = db_errmsg(db, rc);
	ck_assert_msg(rc == want, "db_open %s: got %d (%s), want %d", path,
	    rc, msg, want);
	ck_assert_ptr_nonnull(db);
	ck_assert_msg(strstr(msg, path) != NULL, "message lacks path: %s",
	    msg);
	if (sub != NULL)
		ck_assert_msg(strstr(msg, sub) != NULL, "message lacks "
		    "\"%s\": %s", sub, msg);
	db_close(db);
}

static void
add(struct db *db, const char *tok, int64_t ds, int64_t dh, int64_t day)
{
	int rc;

	rc = db_add_token(db, tok, strlen(tok), ds, dh, 0, day);
	ck_assert_msg(rc == 0, "db_add_token %s: %s", tok, db_errmsg(db, rc));
}

static struct db_counts
get(struct db *db, const char *tok)
{
	struct db_counts c = { 7, 7, 7 };
	size_t len = strlen(tok);
	int rc;

	rc = db_lookup(db, 1, &tok, &len, &c);
	ck_assert_msg(rc == 0, "db_lookup %s: %s", tok, db_errmsg(db, rc));
	return c;
}

#define ck_counts(db, tok, s, h) do { \
	struct db_counts c_ = get((db), (tok)); \
	ck_assert_msg(c_.spam == (s) && c_.ham == (h), \
	    "%s: got %u/%u, want %u/%u", (tok), c_.spam, c_.ham, \
	    (unsigned)(s), (unsigned)(h)); \
} while (0)

static void
begin(struct db *db)
{
	int rc = db_begin(db);

	ck_assert_msg(rc == 0, "db_begin: %s", db_errmsg(db, rc));
}

static void
commit(struct db *db)
{
	int rc = db_commit(db);

	ck_assert_msg(rc == 0, "db_commit: %s", db_errmsg(db, rc));
}

static struct db_status
status(struct db *db)
{
	struct db_status st;
	int rc;

	memset(&st, 0xa5, sizeof(st));
	rc = db_status(db, &st);
	ck_assert_msg(rc == 0, "db_status: %s", db_errmsg(db, rc));
	return st;
}

/* Run one SQL statement on the file directly, behind the module. */
static void
raw_sql(const char *path, const char *sql)
{
	sqlite3 *sq = NULL;
	int src;

	src = sqlite3_open(path, &sq);
	ck_assert_int_eq(src, SQLITE_OK);
	src = sqlite3_exec(sq, sql, NULL, NULL, NULL);
	ck_assert_msg(src == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(sq));
	sqlite3_close(sq);
}

/* The first column of the first row of a query, as text. */
static void
raw_text(const char *path, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *sq = NULL;
	const unsigned char *v;
	int src;

	src = sqlite3_open_v2(path, &sq, SQLITE_OPEN_READONLY, NULL);
	ck_assert_int_eq(src, SQLITE_OK);
	src = sqlite3_prepare_v2(sq, sql, -1, &st, NULL);
	ck_assert_msg(src == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(sq));
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_text(st, 0);
	snprintf(buf, size, "%s", v == NULL ? "(null)" : (const char *)v);
	sqlite3_finalize(st);
	sqlite3_close(sq);
}

static void
write_file(const char *path, const char *text, int times)
{
	FILE *f;
	int i;

	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < times; i++)
		fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

/*
 * open
 */

START_TEST(test_create_open_close)
{
	struct db_status st;
	struct tmp t;
	struct stat sb;
	struct db *db;
	char wal[160];
	mode_t old;

	db_tmp(&t);
	/* The file is 0600 whatever the umask. */
	old = umask(0);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	add(db, "hello", 1, 0, 5);
	commit(db);
	ck_assert_int_eq(stat(t.path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", t.path);
	ck_assert_int_eq(stat(wal, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	st = status(db);
	ck_assert_int_eq(st.schema_version, DB_SCHEMA_VERSION);
	ck_assert_int_eq(st.tok_version, TOKV);
	ck_assert_str_eq(st.journal, "wal");
	ck_assert_int_eq(st.network_fs, 0);
	ck_assert_uint_eq(st.tokens, 1);
	ck_assert_uint_gt(st.file_bytes, 0);
	db_close(db);
	umask(old);

	/* Reopen without DB_CREATE: the data is there. */
	db = open_ok(t.path, 0, TOKV);
	ck_counts(db, "hello", 1, 0);
	db_close(db);
	db_close(NULL);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_create_strict_umask)
{
	struct tmp t;
	struct stat sb;
	struct db *db;
	mode_t old;

	db_tmp(&t);
	old = umask(0277);
	db = open_ok(t.path, DB_CREATE, TOKV);
	umask(old);
	ck_assert_int_eq(stat(t.path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	begin(db);
	add(db, "x", 1, 1, 1);
	commit(db);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_missing)
{
	struct tmp t;
	struct stat sb;

	db_tmp(&t);
	open_fails(t.path, 0, TOKV, DB_ENOENT, NULL);
	ck_assert_int_eq(stat(t.path, &sb), -1);
	open_fails(t.path, DB_READONLY, TOKV, DB_ENOENT, NULL);
	ck_assert_int_eq(stat(t.path, &sb), -1);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_bad_args)
{
	struct tmp t;
	struct db *db = (struct db *)&t;
	int rc;

	db_tmp(&t);
	rc = db_open(&db, t.path, DB_CREATE | DB_READONLY, TOKV, BUSY_MS);
	ck_assert_int_eq(rc, DB_EINVAL);
	ck_assert_ptr_null(db);
	rc = db_open(&db, t.path, 0x100, TOKV, BUSY_MS);
	ck_assert_int_eq(rc, DB_EINVAL);
	rc = db_open(&db, NULL, DB_CREATE, TOKV, BUSY_MS);
	ck_assert_int_eq(rc, DB_EINVAL);
	rc = db_open(NULL, t.path, DB_CREATE, TOKV, BUSY_MS);
	ck_assert_int_eq(rc, DB_EINVAL);
	rc = db_open(&db, t.path, DB_CREATE, TOKV, -1);
	ck_assert_int_eq(rc, DB_EINVAL);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_errmsg_generic)
{
	static const int codes[] = {
		DB_ENOMEM, DB_EIO, DB_EBUSY, DB_ECORRUPT, DB_EVERSION,
		DB_ETOKVER, DB_EPERM, DB_ENOENT, DB_EINVAL, DB_EFULL,
	};
	const char *a;
	const char *b;
	size_t i;
	size_t j;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		a = db_errmsg(NULL, codes[i]);
		ck_assert_ptr_nonnull(a);
		ck_assert_uint_gt(strlen(a), 0);
		ck_assert_msg(a[strlen(a) - 1] != '.', "final period: %s", a);
		for (j = 0; j < i; j++) {
			b = db_errmsg(NULL, codes[j]);
			ck_assert_str_ne(a, b);
		}
	}
	ck_assert_str_eq(db_errmsg(NULL, DB_EBUSY), "database is locked");
}
END_TEST

START_TEST(test_perm_file)
{
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	db_close(db);
	ck_assert_int_eq(chmod(t.path, 0666), 0);
	open_fails(t.path, 0, TOKV, DB_EPERM, "writable by group or others");
	open_fails(t.path, DB_READONLY, TOKV, DB_EPERM, NULL);
	ck_assert_int_eq(chmod(t.path, 0620), 0);
	open_fails(t.path, 0, TOKV, DB_EPERM, NULL);
	ck_assert_int_eq(chmod(t.path, 0602), 0);
	open_fails(t.path, 0, TOKV, DB_EPERM, NULL);
	/* Readable by others is the user's business. */
	ck_assert_int_eq(chmod(t.path, 0644), 0);
	db = open_ok(t.path, 0, TOKV);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_perm_dir)
{
	struct tmp t;
	struct stat sb;
	struct db *db;

	db_tmp(&t);
	ck_assert_int_eq(chmod(t.dir, 0777), 0);
	/* Not even created in an unsafe directory. */
	open_fails(t.path, DB_CREATE, TOKV, DB_EPERM, "directory");
	ck_assert_int_eq(stat(t.path, &sb), -1);
	ck_assert_int_eq(chmod(t.dir, 0700), 0);
	db = open_ok(t.path, DB_CREATE, TOKV);
	db_close(db);
	ck_assert_int_eq(chmod(t.dir, 0770), 0);
	open_fails(t.path, 0, TOKV, DB_EPERM, t.dir);
	ck_assert_int_eq(chmod(t.dir, 0755), 0);
	db = open_ok(t.path, 0, TOKV);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_perm_owner)
{
	struct tmp t;
	struct db *db;

	if (geteuid() != 0)
		return;		/* only root can give a file away */
	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	db_close(db);
	ck_assert_int_eq(chown(t.path, 65534, 65534), 0);
	open_fails(t.path, 0, TOKV, DB_EPERM, "owned by uid 65534");
	ck_assert_int_eq(chown(t.path, 0, 0), 0);
	ck_assert_int_eq(chown(t.dir, 65534, 65534), 0);
	open_fails(t.path, 0, TOKV, DB_EPERM, "directory");
	ck_assert_int_eq(chown(t.dir, 0, 0), 0);
	db = open_ok(t.path, 0, TOKV);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_garbage)
{
	struct tmp t;

	db_tmp(&t);
	write_file(t.path, "this is not a database at all\n", 300);
	open_fails(t.path, 0, TOKV, DB_ECORRUPT, "not a database");
	open_fails(t.path, DB_READONLY, TOKV, DB_ECORRUPT, "not a database");
	tmp_remove(&t);
}
END_TEST

START_TEST(test_not_ours)
{
	struct tmp t;

	db_tmp(&t);
	raw_sql(t.path, "CREATE TABLE foo(x)");
	ck_assert_int_eq(chmod(t.path, 0600), 0);
	open_fails(t.path, 0, TOKV, DB_ECORRUPT, "not a spamsift database");
	tmp_remove(&t);
}
END_TEST

START_TEST(test_empty_file)
{
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	write_file(t.path, "", 0);
	/* An empty file reads as nothing trained, read-only or not (a
	 * read-write open made it a store: -a then learned in it, found
	 * by review)... */
	open_fails(t.path, DB_READONLY, TOKV, DB_ENOENT, "empty");
	open_fails(t.path, 0, TOKV, DB_ENOENT, "empty");
	/* ...and becomes a store when one may be created (0 -> 1). */
	db = open_ok(t.path, DB_CREATE, TOKV);
	ck_assert_int_eq(status(db).schema_version, DB_SCHEMA_VERSION);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_tokver)
{
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, 2);
	db_close(db);
	open_fails(t.path, 0, 1, DB_ETOKVER,
	    "trained by tokenizer version 2, this program has 1");
	open_fails(t.path, DB_READONLY, 1, DB_ETOKVER, "train anew");
	db = open_ok(t.path, 0, 2);
	ck_assert_int_eq(status(db).tok_version, 2);
	db_close(db);
	/* DB_ANY_TOKVER: opened to read out. */
	db = open_ok(t.path, DB_READONLY | DB_ANY_TOKVER, 1);
	ck_assert_int_eq(status(db).tok_version, 2);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_schema_newer)
{
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	db_close(db);
	raw_sql(t.path, "PRAGMA user_version = 5");
	open_fails(t.path, 0, TOKV, DB_EVERSION, "schema version 5");
	open_fails(t.path, DB_READONLY, TOKV, DB_EVERSION, NULL);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_readonly)
{
	struct db_status st;
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	add(db, "ro", 2, 3, 1);
	commit(db);
	db_close(db);
	db = open_ok(t.path, DB_READONLY, TOKV);
	ck_counts(db, "ro", 2, 3);
	ck_assert_int_eq(db_begin(db), DB_EPERM);
	ck_assert_ptr_nonnull(strstr(db_errmsg(db, DB_EPERM), "read-only"));
	ck_assert_int_eq(db_add_token(db, "ro", 2, 1, 1, 0, 1), DB_EINVAL);
	ck_assert_int_eq(db_vacuum(db), DB_EPERM);
	ck_assert_int_eq(db_prune(db, 10, 10, NULL), DB_EPERM);
	st = status(db);
	ck_assert_str_eq(st.journal, "wal");
	ck_assert_uint_eq(st.tokens, 1);
	ck_assert_int_eq(db_check(db), 0);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/*
 * data
 */

START_TEST(test_roundtrip)
{
	char big[1025];
	char buf[32];
	const char *tk;
	size_t len;
	struct db_counts c;
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	ck_counts(db, "a", 0, 0);
	begin(db);
	add(db, "a", 3, 1, 10);
	add(db, "b", 1, 0, 10);
	add(db, "件名:テスト", 0, 4, 10);
	add(db, "over", 2, 1, 10);
	commit(db);
	ck_counts(db, "a", 3, 1);
	ck_counts(db, "b", 1, 0);
	ck_counts(db, "件名:テスト", 0, 4);
	ck_counts(db, "件名:テス", 0, 0);
	ck_assert_uint_eq(status(db).tokens, 4);

	begin(db);
	add(db, "a", -5, 0, 11);	/* spam clamps at 0 */
	commit(db);
	ck_counts(db, "a", 0, 1);
	begin(db);
	add(db, "a", 0, -1, 12);	/* 0/0: the row goes */
	add(db, "c", -1, -2, 12);	/* new and negative: never made */
	add(db, "b", -1, 5, 12);	/* mixed */
	add(db, "件名:テスト", 2, -9, 12);
	add(db, "over", -5, -3, 12);	/* past 0/0: the row goes */
	commit(db);
	ck_counts(db, "a", 0, 0);
	ck_counts(db, "c", 0, 0);
	ck_counts(db, "b", 0, 5);
	ck_counts(db, "件名:テスト", 2, 0);
	ck_counts(db, "over", 0, 0);
	ck_assert_uint_eq(status(db).tokens, 2);
	/* No 0/0 tokens are left behind, "c" was never stored. */
	raw_text(t.path, "SELECT value FROM meta WHERE key = 'tok_count'", buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "2");
	ck_assert_int_eq(db_check(db), 0);

	/* Counts saturate instead of overflowing. */
	begin(db);
	add(db, "sat", UINT32_MAX, 1, 1);
	add(db, "sat", UINT32_MAX, 1, 1);
	add(db, "sat2", 1, UINT32_MAX, 1);
	add(db, "sat2", 1, 5, 1);
	commit(db);
	ck_counts(db, "sat", UINT32_MAX, 2);
	ck_counts(db, "sat2", 2, UINT32_MAX);
	ck_assert_int_eq(db_check(db), 0);

	/* Argument checks. */
	ck_assert_int_eq(db_add_token(db, "x", 1, 1, 0, 0, 1), DB_EINVAL);
	ck_assert_ptr_nonnull(strstr(db_errmsg(db, DB_EINVAL),
	    "no transaction"));
	begin(db);
	ck_assert_int_eq(db_add_token(db, "x", 0, 1, 0, 0, 1), DB_EINVAL);
	ck_assert_int_eq(db_add_token(db, NULL, 1, 1, 0, 0, 1), DB_EINVAL);
	memset(big, 'z', sizeof(big));
	ck_assert_int_eq(db_add_token(db, big, 1025, 1, 0, 0, 1), DB_EINVAL);
	ck_assert_int_eq(db_add_token(db, big, 1024, 1, 0, 0, 1), 0);
	ck_assert_int_eq(db_add_token(db, "x", 1, INT64_MAX, 0, 0, 1),
	    DB_EINVAL);
	ck_assert_int_eq(db_begin(db), DB_EINVAL);
	commit(db);
	tk = big;
	len = 1024;
	ck_assert_int_eq(db_lookup(db, 1, &tk, &len, &c), 0);
	ck_assert_uint_eq(c.spam, 1);
	len = 1025;
	ck_assert_int_eq(db_lookup(db, 1, &tk, &len, &c), DB_EINVAL);
	len = 0;
	ck_assert_int_eq(db_lookup(db, 1, &tk, &len, &c), DB_EINVAL);
	ck_assert_int_eq(db_lookup(db, 0, NULL, NULL, NULL), 0);
	ck_assert_int_eq(db_commit(db), DB_EINVAL);
	db_rollback(db);	/* no transaction: harmless */
	db_close(db);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_totals)
{
	uint64_t s = 9;
	uint64_t h = 9;
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 0);
	ck_assert_uint_eq(h, 0);
	ck_assert_int_eq(db_add_totals(db, 1, 1), DB_EINVAL);
	begin(db);
	ck_assert_int_eq(db_add_totals(db, 3, 2), 0);
	commit(db);
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 3);
	ck_assert_uint_eq(h, 2);
	begin(db);
	ck_assert_int_eq(db_add_totals(db, -5, 1), 0);
	ck_assert_int_eq(db_add_totals(db, 0, 7), 0);
	commit(db);
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 0);
	ck_assert_uint_eq(h, 10);
	/* Stopped at zero, not below: one more makes one. */
	begin(db);
	ck_assert_int_eq(db_add_totals(db, 1, 0), 0);
	commit(db);
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 1);
	begin(db);
	ck_assert_int_eq(db_add_totals(db, -1, 0), 0);
	commit(db);
	ck_assert_uint_eq(status(db).spam_msgs, 0);
	ck_assert_uint_eq(status(db).ham_msgs, 10);
	db_close(db);
	/* Damaged totals read as 0: a negative one, a missing one. */
	{
		sqlite3 *sq = NULL;

		ck_assert_int_eq(sqlite3_open(t.path, &sq), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(sq, "UPDATE meta SET value = -4 "
		    "WHERE key = 'spam_msgs'; DELETE FROM meta "
		    "WHERE key = 'ham_msgs'", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(sq);
	}
	db = open_ok(t.path, 0, TOKV);
	s = h = 9;
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 0);
	ck_assert_uint_eq(h, 0);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_msg)
{
	unsigned char d1[DB_DIGEST_BYTES];
	unsigned char d2[DB_DIGEST_BYTES];
	unsigned char d3[DB_DIGEST_BYTES];
	char longid[2000];
	char buf[64];
	enum db_class cls;
	struct tmp t;
	struct db *db;

	memset(d1, 1, sizeof(d1));
	memset(d2, 2, sizeof(d2));
	memset(d3, 2, sizeof(d3));
	d3[31] = 3;	/* differs from d2 in the last byte only */
	memset(longid, 'm', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	ck_assert_int_eq(db_set_msg(db, d1, DB_SPAM, NULL, 0, 1), DB_EINVAL);
	begin(db);
	ck_assert_int_eq(db_set_msg(db, d1, DB_SPAM, "id1@x", 0, 1), 0);
	ck_assert_int_eq(db_set_msg(db, d2, DB_HAM, longid, 0, 1), 0);
	ck_assert_int_eq(db_set_msg(db, d3, (enum db_class)7, NULL, 0, 1),
	    DB_EINVAL);
	commit(db);
	ck_assert_int_eq(db_msg_class(db, d1, &cls), 0);
	ck_assert_int_eq(cls, DB_SPAM);
	ck_assert_int_eq(db_msg_class(db, d2, &cls), 0);
	ck_assert_int_eq(cls, DB_HAM);
	cls = DB_SPAM;
	ck_assert_int_eq(db_msg_class(db, d3, &cls), 0);
	ck_assert_int_eq(cls, DB_NONE);
	ck_assert_uint_eq(status(db).learned, 2);

	begin(db);
	ck_assert_int_eq(db_set_msg(db, d1, DB_HAM, NULL, 0, 2), 0);
	ck_assert_int_eq(db_set_msg(db, d2, DB_NONE, NULL, 0, 2), 0);
	ck_assert_int_eq(db_set_msg(db, d3, DB_NONE, NULL, 0, 2), 0);
	commit(db);
	ck_assert_int_eq(db_msg_class(db, d1, &cls), 0);
	ck_assert_int_eq(cls, DB_HAM);
	ck_assert_int_eq(db_msg_class(db, d2, &cls), 0);
	ck_assert_int_eq(cls, DB_NONE);
	ck_assert_uint_eq(status(db).learned, 1);
	db_close(db);
	/* A NULL msgid kept the old one. */
	raw_text(t.path, "SELECT msgid FROM msg", buf, sizeof(buf));
	ck_assert_str_eq(buf, "id1@x");
	tmp_remove(&t);
}
END_TEST

START_TEST(test_meta)
{
	char key[80];
	int64_t v = 5;
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	ck_assert_int_eq(db_meta_get(db, "robx_micro", &v), DB_ENOENT);
	ck_assert_ptr_nonnull(strstr(db_errmsg(db, DB_ENOENT), "robx_micro"));
	ck_assert_int_eq(db_meta_get(db, "tok_version", &v), 0);
	ck_assert_int_eq(v, TOKV);
	ck_assert_int_eq(db_meta_set(db, "robx_micro", 1), DB_EINVAL);
	begin(db);
	ck_assert_int_eq(db_meta_set(db, "robx_micro", 415000), 0);
	ck_assert_int_eq(db_meta_set(db, "neg", -3), 0);
	ck_assert_int_eq(db_meta_set(db, "tok_version", 9), DB_EINVAL);
	ck_assert_int_eq(db_meta_set(db, "spam_msgs", 9), DB_EINVAL);
	ck_assert_int_eq(db_meta_set(db, "", 9), DB_EINVAL);
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	ck_assert_int_eq(db_meta_set(db, key, 9), DB_EINVAL);
	ck_assert_int_eq(db_meta_set(db, key + 16, 9), 0);	/* 63 bytes */
	commit(db);
	ck_assert_int_eq(db_meta_get(db, "robx_micro", &v), 0);
	ck_assert_int_eq(v, 415000);
	ck_assert_int_eq(db_meta_get(db, "neg", &v), 0);
	ck_assert_int_eq(v, -3);
	ck_assert_int_eq(db_meta_get(db, key + 16, &v), 0);
	ck_assert_int_eq(v, 9);
	begin(db);
	ck_assert_int_eq(db_meta_set(db, "robx_micro", 1), 0);
	db_rollback(db);
	ck_assert_int_eq(db_meta_get(db, "robx_micro", &v), 0);
	ck_assert_int_eq(v, 415000);
	ck_assert_int_eq(db_check(db), 0);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_rollback)
{
	unsigned char d[DB_DIGEST_BYTES];
	enum db_class cls;
	uint64_t s;
	uint64_t h;
	struct tmp t;
	struct db *db;

	memset(d, 9, sizeof(d));
	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	add(db, "keep", 1, 1, 1);
	ck_assert_int_eq(db_add_totals(db, 1, 1), 0);
	commit(db);

	begin(db);
	add(db, "gone", 5, 0, 2);
	add(db, "keep", 4, -1, 2);
	ck_assert_int_eq(db_add_totals(db, 10, 10), 0);
	ck_assert_int_eq(db_set_msg(db, d, DB_SPAM, "x", 0, 2), 0);
	ck_counts(db, "gone", 5, 0);	/* visible inside */
	ck_counts(db, "keep", 5, 0);
	db_rollback(db);
	ck_counts(db, "gone", 0, 0);
	ck_counts(db, "keep", 1, 1);
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 1);
	ck_assert_uint_eq(h, 1);
	ck_assert_int_eq(db_msg_class(db, d, &cls), 0);
	ck_assert_int_eq(cls, DB_NONE);
	ck_assert_uint_eq(status(db).tokens, 1);

	/* The same with a preloaded table. */
	ck_assert_int_eq(db_preload(db), 0);
	begin(db);
	add(db, "gone", 5, 0, 2);
	add(db, "keep", -1, -1, 2);
	ck_counts(db, "gone", 5, 0);
	ck_counts(db, "keep", 0, 0);
	db_rollback(db);
	ck_counts(db, "gone", 0, 0);
	ck_counts(db, "keep", 1, 1);
	db_close(db);

	/* Closing with a transaction open rolls it back. */
	db = open_ok(t.path, 0, TOKV);
	begin(db);
	add(db, "gone", 5, 0, 2);
	db_close(db);
	db = open_ok(t.path, 0, TOKV);
	ck_counts(db, "gone", 0, 0);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* xorshift64: the same "random" data on every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A random token of 1 to RAND_TOK_MAX pieces, ASCII and UTF-8. */
static size_t
rand_tok(uint64_t *s, char *buf, size_t size)
{
	static const char *const piece[] = {
		"a", "b", "e", "z", "Q", "0", "7", ":", "-", ".", "_",
		"件", "名", "テ", "ス", "ト", "é", "ß", "ж", "😀",
	};
	size_t npieces = sizeof(piece) / sizeof(piece[0]);
	size_t n = 1 + rnd(s) % RAND_TOK_MAX;
	size_t len = 0;
	size_t i;
	size_t pl;
	const char *p;

	for (i = 0; i < n; i++) {
		p = piece[rnd(s) % npieces];
		pl = strlen(p);
		if (len + pl >= size)
			break;
		memcpy(buf + len, p, pl);
		len += pl;
	}
	buf[len] = '\0';
	return len;
}

struct toks {
	char **tok;
	size_t *len;
	size_t n;
};

static void
toks_make(struct toks *k, size_t n, uint64_t seed)
{
	char buf[RAND_TOK_MAX * 4 + 1];
	uint64_t s = seed;
	size_t i;

	k->tok = calloc(n, sizeof(*k->tok));
	k->len = calloc(n, sizeof(*k->len));
	ck_assert_ptr_nonnull(k->tok);
	ck_assert_ptr_nonnull(k->len);
	for (i = 0; i < n; i++) {
		k->len[i] = rand_tok(&s, buf, sizeof(buf));
		k->tok[i] = strdup(buf);
		ck_assert_ptr_nonnull(k->tok[i]);
	}
	k->n = n;
}

/* toks_make, each token made distinct by its index in front: "7:...".
 * The index can be read back with strtoul. */
static void
toks_make_distinct(struct toks *k, size_t n, uint64_t seed)
{
	size_t i;
	char *nt;

	toks_make(k, n, seed);
	for (i = 0; i < k->n; i++) {
		nt = malloc(k->len[i] + 16);
		ck_assert_ptr_nonnull(nt);
		k->len[i] = (size_t)snprintf(nt, k->len[i] + 16, "%zu:%s", i,
		    k->tok[i]);
		free(k->tok[i]);
		k->tok[i] = nt;
	}
}

static void
toks_free(struct toks *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->tok[i]);
	free(k->tok);
	free(k->len);
}

static void
lookup_all(struct db *db, const struct toks *k, struct db_counts *out)
{
	int rc;

	rc = db_lookup(db, k->n, (const char *const *)k->tok, k->len, out);
	ck_assert_msg(rc == 0, "db_lookup: %s", db_errmsg(db, rc));
}

static void
same_counts(const struct toks *k, const struct db_counts *a,
    const struct db_counts *b)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		ck_assert_msg(a[i].spam == b[i].spam && a[i].ham == b[i].ham,
		    "%s: %u/%u vs %u/%u", k->tok[i], a[i].spam, a[i].ham,
		    b[i].spam, b[i].ham);
}

START_TEST(test_preload_same)
{
	struct db_counts *sql = NULL;
	struct db_counts *mem = NULL;
	struct toks train;
	struct toks ask;
	uint64_t s = 42;
	size_t known = 0;
	size_t i;
	struct tmp t;
	struct db *db;
	struct db *db2;

	db_tmp(&t);
	toks_make(&train, NRAND, 1);
	/* The same generator: the first NRAND are trained, the rest new. */
	toks_make(&ask, 2 * NRAND, 1);
	sql = calloc(ask.n, sizeof(*sql));
	mem = calloc(ask.n, sizeof(*mem));
	ck_assert_ptr_nonnull(sql);
	ck_assert_ptr_nonnull(mem);

	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	for (i = 0; i < train.n; i++)
		ck_assert_int_eq(db_add_token(db, train.tok[i], train.len[i],
		    (int64_t)(rnd(&s) % 50) - 10,
		    (int64_t)(rnd(&s) % 50) - 10, 0, 1), 0);
	add(db, "件名:テスト", 3, 4, 1);
	commit(db);

	lookup_all(db, &ask, sql);
	for (i = 0; i < ask.n; i++)
		if (sql[i].spam != 0 || sql[i].ham != 0)
			known++;
	ck_assert_uint_gt(known, NRAND / 4);	/* the test tests */
	ck_assert_uint_lt(known, ask.n);
	ck_assert_int_eq(db_preload(db), 0);
	lookup_all(db, &ask, mem);
	same_counts(&ask, sql, mem);
	/* Every short batch (the lookup fetches a few tokens ahead: 0, 1,
	 * fewer than that distance, and across it), at both ends. */
	for (i = 0; i <= 40; i++) {
		size_t at = NRAND - i / 2, j;

		memset(mem, 0xff, (i + 1) * sizeof(*mem));
		ck_assert_int_eq(db_lookup(db, i,
		    (const char *const *)ask.tok + at, ask.len + at, mem), 0);
		for (j = 0; j < i; j++)
			ck_assert(mem[j].spam == sql[at + j].spam &&
			    mem[j].ham == sql[at + j].ham);
		ck_assert_uint_eq(mem[i].spam, 0xffffffffu);
	}
	lookup_all(db, &ask, mem);
	ck_counts(db, "件名:テスト", 3, 4);
	ck_counts(db, "件名:テスト:", 0, 0);

	/* Writes through the preloaded handle stay visible... */
	begin(db);
	for (i = 0; i < 500; i++)
		ck_assert_int_eq(db_add_token(db, ask.tok[i], ask.len[i],
		    (int64_t)(rnd(&s) % 7) - 3, (int64_t)(rnd(&s) % 7) - 3, 0,
		    2), 0);
	commit(db);
	lookup_all(db, &ask, mem);
	/* ...and agree with a fresh handle's SQL. */
	db2 = open_ok(t.path, 0, TOKV);
	lookup_all(db2, &ask, sql);
	same_counts(&ask, sql, mem);
	/* A preloaded second handle agrees as well. */
	ck_assert_int_eq(db_preload(db2), 0);
	lookup_all(db2, &ask, mem);
	same_counts(&ask, sql, mem);
	db_close(db2);
	db_close(db);
	free(sql);
	free(mem);
	toks_free(&train);
	toks_free(&ask);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_preload_empty)
{
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	ck_assert_int_eq(db_preload(db), 0);
	ck_counts(db, "nothing", 0, 0);
	begin(db);
	add(db, "new", 1, 2, 1);
	commit(db);
	ck_counts(db, "new", 1, 2);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* Preloaded, the totals are the snapshot's: own writes show, another
 * handle's do not, a rollback goes back to SQL; db_status reads SQL. */
START_TEST(test_preload_totals)
{
	uint64_t s;
	uint64_t h;
	struct tmp t;
	struct db *db;
	struct db *db2;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	add(db, "a", 1, 1, 1);
	ck_assert_int_eq(db_add_totals(db, 3, 4), 0);
	commit(db);
	ck_assert_int_eq(db_preload(db), 0);
	db2 = open_ok(t.path, 0, TOKV);
	begin(db2);
	ck_assert_int_eq(db_add_totals(db2, 1, 1), 0);
	commit(db2);
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 3);
	ck_assert_uint_eq(h, 4);
	ck_assert_uint_eq(status(db).spam_msgs, 4);
	ck_assert_uint_eq(status(db).ham_msgs, 5);
	/* In a write transaction SQL answers. */
	begin(db);
	ck_assert_int_eq(db_add_totals(db, 2, -10), 0);
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 6);
	ck_assert_uint_eq(h, 0);
	commit(db);
	/* The snapshot took the same change, stopping at zero. */
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 5);
	ck_assert_uint_eq(h, 0);
	begin(db);
	ck_assert_int_eq(db_add_totals(db, 1, 1), 0);
	db_rollback(db);
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 6);
	ck_assert_uint_eq(h, 0);
	db_close(db2);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* db_foreach into one string: "tok spam ham day" lines. */
struct dumpbuf {
	char *s;
	size_t len;
	size_t cap;
};

static int
dump_fn(void *ctx, const char *tok, size_t len, const struct db_counts *c,
    int64_t day)
{
	struct dumpbuf *d = ctx;
	char line[RAND_TOK_MAX * 4 + 64];
	int n;

	n = snprintf(line, sizeof(line), "%.*s %u %u %lld\n", (int)len, tok,
	    c->spam, c->ham, (long long)day);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_lt((size_t)n, sizeof(line));
	if (d->len + (size_t)n + 1 > d->cap) {
		d->cap = (d->len + (size_t)n + 1) * 2;
		d->s = realloc(d->s, d->cap);
		ck_assert_ptr_nonnull(d->s);
	}
	memcpy(d->s + d->len, line, (size_t)n + 1);
	d->len += (size_t)n;
	return 0;
}

static char *
dump_all(struct db *db)
{
	struct dumpbuf d = { NULL, 0, 0 };

	ck_assert_int_eq(db_foreach(db, dump_fn, &d), 0);
	if (d.s == NULL)
		d.s = strdup("");
	return d.s;
}

/* db_foreach_msg into one string: "class g day msgid" lines, the
 * digest's first byte first. */
static int
msg_fn(void *ctx, const unsigned char digest[DB_DIGEST_BYTES],
    enum db_class cls, int scaled, const char *msgid, int64_t g,
    int64_t day)
{
	struct dumpbuf *d = ctx;
	int n;

	n = snprintf(d->s + d->len, d->cap - d->len,
	    "%u %d%s %lld %lld %s\n", digest[0], (int)cls, scaled ? "s" : "",
	    (long long)g, (long long)day, msgid != NULL ? msgid : "-");
	ck_assert_int_gt(n, 0);
	ck_assert_uint_lt(d->len + (size_t)n, d->cap);
	d->len += (size_t)n;
	/* Stops at digest 2 unless it comes first. */
	return digest[0] == 2 && d->len > (size_t)n ? 99 : 0;
}

/* Every learned message, in digest order, as db_set_msg stored it; a
 * row it cannot have written is an error, not skipped. */
START_TEST(test_foreach_msg)
{
	unsigned char d[3][DB_DIGEST_BYTES];
	char buf[256];
	struct dumpbuf out = { buf, 0, sizeof(buf) };
	struct tmp t;
	struct db *db;
	int i;

	for (i = 0; i < 3; i++)
		memset(d[i], 3 - i, DB_DIGEST_BYTES);
	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	ck_assert_int_eq(db_foreach_msg(db, msg_fn, &out), 0);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_int_eq(db_foreach_msg(db, NULL, NULL), DB_EINVAL);
	begin(db);
	ck_assert_int_eq(db_set_msg(db, d[0], DB_SPAM, "a@x", -5, 7), 0);
	ck_assert_int_eq(db_set_msg(db, d[1], DB_HAM, NULL, 12, 8), 0);
	commit(db);
	ck_assert_int_eq(db_foreach_msg(db, msg_fn, &out), 0);
	buf[out.len] = '\0';
	ck_assert_str_eq(buf, "2 2 12 8 -\n3 1 -5 7 a@x\n");
	/* fn's value stops the walk. */
	begin(db);
	ck_assert_int_eq(db_set_msg(db, d[2], DB_HAM, "c@x", 0, 9), 0);
	commit(db);
	out.len = 0;
	ck_assert_int_eq(db_foreach_msg(db, msg_fn, &out), 99);
	buf[out.len] = '\0';
	ck_assert_str_eq(buf, "1 2 0 9 c@x\n2 2 12 8 -\n");
	/* Marked scaled: the class it was learned as, and the mark. */
	{
		enum db_class cls;
		int64_t g;
		int sc;

		begin(db);
		ck_assert_int_eq(db_msg_scaled(db, d[1]), 0);
		commit(db);
		out.len = 0;
		ck_assert_int_eq(db_foreach_msg(db, msg_fn, &out), 99);
		buf[out.len] = '\0';
		ck_assert_str_eq(buf, "1 2 0 9 c@x\n2 2s 12 8 -\n");
		ck_assert_int_eq(db_msg_get(db, d[1], &cls, &g, &sc), 0);
		ck_assert(cls == DB_HAM && g == 12 && sc == 1);
		ck_assert_int_eq(db_msg_get(db, d[0], &cls, &g, &sc), 0);
		ck_assert(cls == DB_SPAM && g == -5 && sc == 0);
		/* Learned again: whole again. */
		begin(db);
		ck_assert_int_eq(db_set_msg(db, d[1], DB_HAM, NULL, 12, 8),
		    0);
		commit(db);
		ck_assert_int_eq(db_msg_get(db, d[1], &cls, &g, &sc), 0);
		ck_assert(cls == DB_HAM && sc == 0);
		ck_assert_int_eq(db_check(db), 0);
	}
	db_close(db);
	raw_sql(t.path, "UPDATE msg SET class = 7 WHERE msgid = 'c@x'");
	db = open_ok(t.path, 0, TOKV);
	ck_assert_int_eq(db_foreach_msg(db, msg_fn, &out), DB_ECORRUPT);
	db_close(db);
	raw_sql(t.path, "UPDATE msg SET class = 2, digest = x'0102' "
	    "WHERE msgid = 'c@x'");
	db = open_ok(t.path, 0, TOKV);
	ck_assert_int_eq(db_foreach_msg(db, msg_fn, &out), DB_ECORRUPT);
	db_close(db);
	/* A weight step past INT32_MAX: refused, and read as corrupt. */
	raw_sql(t.path, "DELETE FROM msg WHERE msgid = 'c@x'; "
	    "UPDATE msg SET g = -2147483648 WHERE msgid = 'a@x'");
	db = open_ok(t.path, 0, TOKV);
	out.len = 0;
	ck_assert_int_eq(db_foreach_msg(db, msg_fn, &out), DB_ECORRUPT);
	{
		enum db_class cls;
		int64_t g;

		ck_assert_int_eq(db_msg_get(db, d[0], &cls, &g, NULL),
		    DB_EIO);
	}
	begin(db);
	ck_assert_int_eq(db_set_msg(db, d[2], DB_SPAM, NULL,
	    (int64_t)INT32_MAX + 1, 9), DB_EINVAL);
	ck_assert_int_eq(db_set_msg(db, d[2], DB_HAM, NULL, -INT32_MAX, 9),
	    0);
	commit(db);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* db_read_begin: the reads until db_read_end see one snapshot, while
 * another handle commits; no write or second snapshot meanwhile. */
START_TEST(test_read_snapshot)
{
	unsigned char d[DB_DIGEST_BYTES];
	uint64_t s, h;
	struct tmp t;
	struct db *a, *b;
	enum db_class cls;

	memset(d, 5, sizeof(d));
	db_tmp(&t);
	a = open_ok(t.path, DB_CREATE, TOKV);
	b = open_ok(t.path, 0, TOKV);
	ck_assert_int_eq(db_read_begin(a), 0);
	ck_assert_int_eq(db_read_begin(a), DB_EINVAL);
	ck_assert_int_eq(db_begin(a), DB_EINVAL);
	ck_assert_int_eq(db_vacuum(a), DB_EINVAL);
	ck_assert_int_eq(db_totals(a, &s, &h), 0);
	ck_assert_uint_eq(s, 0);
	begin(b);
	add(b, "new", 1, 0, 1);
	ck_assert_int_eq(db_add_totals(b, 1, 0), 0);
	ck_assert_int_eq(db_set_msg(b, d, DB_SPAM, NULL, 0, 1), 0);
	commit(b);
	ck_assert_int_eq(db_totals(a, &s, &h), 0);
	ck_assert_uint_eq(s, 0);
	ck_counts(a, "new", 0, 0);
	ck_assert_int_eq(db_msg_class(a, d, &cls), 0);
	ck_assert_int_eq(cls, DB_NONE);
	ck_assert_int_eq(db_read_end(a, 0), 0);
	ck_assert_int_eq(db_totals(a, &s, &h), 0);
	ck_assert_uint_eq(s, 1);
	ck_counts(a, "new", 1, 0);
	/* The reads' error comes back through db_read_end. */
	ck_assert_int_eq(db_read_begin(a), 0);
	ck_assert_int_eq(db_read_end(a, DB_EIO), DB_EIO);
	begin(a);
	ck_assert_int_eq(db_read_begin(a), DB_EINVAL);
	db_rollback(a);
	db_close(a);
	db_close(b);
	tmp_remove(&t);
}
END_TEST

/* db_foreach: the last token's counts and weight into *ctx. */
static int
w_fn(void *ctx, const char *tok, size_t len, const struct db_counts *c,
    int64_t day)
{
	*(struct db_counts *)ctx = *c;
	return 0;
}

/* db_add_tokens gives what db_add_token one by one gives: new, raised,
 * lowered, emptied, moved, 0/0 (day only) and clamped tokens, with and
 * without a preloaded table. */
START_TEST(test_add_tokens_same)
{
	struct db_counts *sql = NULL;
	struct db_counts *mem = NULL;
	struct toks train;
	struct toks ask;
	const char **bt = NULL;
	size_t *bl = NULL;
	int64_t *bs = NULL;
	int64_t *bh = NULL;
	const char *big = "big";
	size_t biglen = 3;
	int64_t d5 = 5;
	uint64_t s = 7;
	size_t nb = 0;
	size_t i;
	size_t j;
	int dup;
	int pre;
	char *da;
	char *db_;
	struct tmp ta;
	struct tmp tb;
	struct db *a;
	struct db *b;

	toks_make(&train, NRAND, 1);
	toks_make(&ask, 2 * NRAND, 1);
	bt = calloc(ask.n, sizeof(*bt));
	bl = calloc(ask.n, sizeof(*bl));
	bs = calloc(ask.n, sizeof(*bs));
	bh = calloc(ask.n, sizeof(*bh));
	sql = calloc(ask.n, sizeof(*sql));
	mem = calloc(ask.n, sizeof(*mem));
	ck_assert_ptr_nonnull(bt);
	ck_assert_ptr_nonnull(bl);
	ck_assert_ptr_nonnull(bs);
	ck_assert_ptr_nonnull(bh);
	ck_assert_ptr_nonnull(sql);
	ck_assert_ptr_nonnull(mem);
	for (pre = 0; pre < 2; pre++) {
		db_tmp(&ta);
		db_tmp(&tb);
		a = open_ok(ta.path, DB_CREATE, TOKV);
		b = open_ok(tb.path, DB_CREATE, TOKV);
		begin(a);
		begin(b);
		for (i = 0; i < train.n; i++) {
			int64_t ds = (int64_t)(rnd(&s) % 50) - 10;
			int64_t dh = (int64_t)(rnd(&s) % 50) - 10;

			ck_assert_int_eq(db_add_token(a, train.tok[i],
			    train.len[i], ds, dh, 0, 1), 0);
			ck_assert_int_eq(db_add_token(b, train.tok[i],
			    train.len[i], ds, dh, 0, 1), 0);
		}
		add(a, big, 4294967295LL, 1, 1);
		add(b, big, 4294967295LL, 1, 1);
		commit(a);
		commit(b);
		if (pre)
			ck_assert_int_eq(db_preload(b), 0);
		/* Distinct tokens, half of them stored, all kinds of
		 * change (0/0 included). */
		nb = 0;
		for (i = 0; i < ask.n; i++) {
			dup = 0;
			for (j = 0; j < i && !dup; j++)
				dup = ask.len[j] == ask.len[i] &&
				    memcmp(ask.tok[j], ask.tok[i],
				    ask.len[i]) == 0;
			if (dup || (ask.len[i] == biglen &&
			    memcmp(ask.tok[i], big, biglen) == 0))
				continue;
			bt[nb] = ask.tok[i];
			bl[nb] = ask.len[i];
			bs[nb] = (int64_t)(rnd(&s) % 9) - 3;
			bh[nb] = (int64_t)(rnd(&s) % 9) - 3;
			nb++;
		}
		ck_assert_uint_gt(nb, NRAND);
		bt[nb] = big;
		bl[nb] = biglen;
		bs[nb] = 5;
		bh[nb] = 0;
		nb++;
		begin(a);
		for (i = 0; i < nb; i++)
			ck_assert_int_eq(db_add_token(a, bt[i], bl[i], bs[i],
			    bh[i], 0, 5), 0);
		commit(a);
		begin(b);
		ck_assert_int_eq(db_add_tokens(b, nb, bt, bl, bs, bh, NULL, 5), 0);
		commit(b);
		da = dump_all(a);
		db_ = dump_all(b);
		ck_assert_str_eq(da, db_);
		ck_assert_ptr_nonnull(strstr(da, "big 4294967295 1 5\n"));
		free(da);
		free(db_);
		/* The preloaded table took the same changes. */
		lookup_all(a, &ask, sql);
		lookup_all(b, &ask, mem);
		same_counts(&ask, sql, mem);
		ck_counts(b, big, 4294967295U, 1);
		/* No 0/0 row left behind, nothing out of range. */
		ck_assert_int_eq(db_check(b), 0);

		/* Refused: outside a transaction, bad tokens and deltas. */
		ck_assert_int_eq(db_add_tokens(b, 1, &big, &biglen, &d5, &d5, NULL,
		    5), DB_EINVAL);
		begin(b);
		bl[0] = 0;
		ck_assert_int_eq(db_add_tokens(b, 2, bt, bl, bs, bh, NULL, 5),
		    DB_EINVAL);
		bl[0] = 1025;
		ck_assert_int_eq(db_add_tokens(b, 2, bt, bl, bs, bh, NULL, 5),
		    DB_EINVAL);
		bl[0] = ask.len[0];
		bs[1] = 4294967296LL;
		ck_assert_int_eq(db_add_tokens(b, 2, bt, bl, bs, bh, NULL, 5),
		    DB_EINVAL);
		ck_assert_int_eq(db_add_tokens(b, 0, NULL, NULL, NULL, NULL, NULL,
		    5), 0);
		ck_assert_int_eq(db_add_tokens(b, 1, NULL, bl, bs, bh, NULL, 5),
		    DB_EINVAL);
		db_rollback(b);
		db_close(a);
		db_close(b);
		tmp_remove(&ta);
		tmp_remove(&tb);
	}
	free(bt);
	free(bl);
	free(bs);
	free(bh);
	free(sql);
	free(mem);
	toks_free(&train);
	toks_free(&ask);
}
END_TEST

/* Rows in key order into an empty store, and more of them than fit one
 * page, in two batches: what SQL appends and what it merges. */
START_TEST(test_add_tokens_sorted)
{
	enum { N = 5000 };
	static char names[N][16];
	const char *t[N];
	size_t l[N];
	int64_t ds[N];
	int64_t dh[N];
	struct db_counts c;
	struct db_status st;
	size_t i;
	struct tmp tt;
	struct db *db;

	db_tmp(&tt);
	db = open_ok(tt.path, DB_CREATE, TOKV);
	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "tok%06zu", i);
		t[i] = names[i];
		l[i] = strlen(names[i]);
		ds[i] = (int64_t)(i % 3);
		dh[i] = (int64_t)(i % 2) + (i % 3 == 0);
	}
	/* The even ones first, then all. */
	for (i = 0; i < N / 2; i++) {
		t[i] = names[2 * i];
		l[i] = strlen(names[2 * i]);
	}
	begin(db);
	ck_assert_int_eq(db_add_tokens(db, N / 2, t, l, ds, dh, NULL, 1), 0);
	commit(db);
	for (i = 0; i < N; i++) {
		t[i] = names[i];
		l[i] = strlen(names[i]);
	}
	begin(db);
	ck_assert_int_eq(db_add_tokens(db, N, t, l, ds, dh, NULL, 2), 0);
	commit(db);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(db_lookup(db, 1, &t[i], &l[i], &c), 0);
		if (i % 2 == 0) {
			ck_assert_uint_eq(c.spam, ds[i] + ds[i / 2]);
			ck_assert_uint_eq(c.ham, dh[i] + dh[i / 2]);
		} else {
			ck_assert_uint_eq(c.spam, ds[i]);
			ck_assert_uint_eq(c.ham, dh[i]);
		}
	}
	st = status(db);
	ck_assert_uint_eq(st.tokens, N);
	ck_assert_int_eq(db_check(db), 0);
	db_close(db);
	tmp_remove(&tt);
}
END_TEST

/* Many tokens looked up at once (one statement): unknown ones and
 * repeats, inside a write transaction (uncommitted rows show) and
 * outside. */
START_TEST(test_lookup_many)
{
	const char *t[5] = { "b", "zz", "a", "b", "c" };
	size_t l[5] = { 1, 2, 1, 1, 1 };
	struct db_counts c[5];
	struct tmp tt;
	struct db *db;

	db_tmp(&tt);
	db = open_ok(tt.path, DB_CREATE, TOKV);
	begin(db);
	add(db, "a", 1, 2, 1);
	add(db, "b", 3, 0, 1);
	memset(c, 7, sizeof(c));
	ck_assert_int_eq(db_lookup(db, 5, t, l, c), 0);
	ck_assert_uint_eq(c[0].spam, 3);
	ck_assert_uint_eq(c[0].ham, 0);
	ck_assert_uint_eq(c[1].spam, 0);
	ck_assert_uint_eq(c[1].ham, 0);
	ck_assert_uint_eq(c[2].spam, 1);
	ck_assert_uint_eq(c[2].ham, 2);
	ck_assert_uint_eq(c[3].spam, 3);
	ck_assert_uint_eq(c[4].spam, 0);
	ck_assert_uint_eq(c[4].ham, 0);
	commit(db);
	memset(c, 7, sizeof(c));
	ck_assert_int_eq(db_lookup(db, 5, t, l, c), 0);
	ck_assert_uint_eq(c[2].ham, 2);
	ck_assert_uint_eq(c[3].spam, 3);
	ck_assert_uint_eq(c[4].ham, 0);
	db_close(db);
	tmp_remove(&tt);
}
END_TEST

START_TEST(test_scale)
{
	uint64_t dropped = 99;
	uint64_t s;
	uint64_t h;
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	add(db, "t1", 1, 0, 1);
	add(db, "t2", 2, 0, 1);
	add(db, "t3", 4, 0, 1);
	add(db, "t4", 6, 0, 1);
	add(db, "t5", 100, 3, 1);
	add(db, "t6", 0, 5, 1);
	add(db, "t7", 1, 1, 1);
	ck_assert_int_eq(db_add_totals(db, 100, 10), 0);
	commit(db);
	ck_assert_int_eq(db_preload(db), 0);
	ck_assert_int_eq(db_scale(db, 10, 0, NULL), DB_EINVAL);
	ck_assert_int_eq(db_scale(db, 10, 11, NULL), DB_EINVAL);
	/* Spam is scaled by 25/100, rounded; ham (10 <= 25) is not. */
	ck_assert_int_eq(db_scale(db, 25, 25, &dropped), 0);
	ck_assert_uint_eq(dropped, 1);
	ck_counts(db, "t1", 0, 0);
	ck_counts(db, "t2", 1, 0);
	ck_counts(db, "t3", 1, 0);
	ck_counts(db, "t4", 2, 0);
	ck_counts(db, "t5", 25, 3);
	ck_counts(db, "t6", 0, 5);
	ck_counts(db, "t7", 0, 1);
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 25);
	ck_assert_uint_eq(h, 10);
	ck_assert_uint_eq(status(db).tokens, 6);
	ck_assert_int_eq(db_scale(db, 25, 25, &dropped), 0);
	ck_assert_uint_eq(dropped, 0);
	ck_counts(db, "t5", 25, 3);
	/* Over the limit scales to the target; within it (ham: 10 <= 20)
	 * nothing, even above the target. */
	ck_assert_int_eq(db_scale(db, 20, 10, &dropped), 0);
	ck_counts(db, "t5", 10, 3);	/* 25*0.4 */
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 10);
	ck_assert_uint_eq(h, 10);
	ck_assert_int_eq(db_scale(db, 8, 5, &dropped), 0);
	/* Both classes at once. */
	ck_counts(db, "t5", 5, 2);	/* 10*0.5, 3*0.5+0.5 */
	ck_counts(db, "t6", 0, 3);	/* 5*0.5+0.5 = 3.0 */
	ck_assert_int_eq(db_scale(db, 5, 5, &dropped), 0);
	ck_counts(db, "t5", 5, 2);	/* 25*0.2, 3*0.5+0.5 */
	ck_counts(db, "t6", 0, 3);	/* 5*0.5+0.5 = 3.0 */
	ck_assert_int_eq(db_totals(db, &s, &h), 0);
	ck_assert_uint_eq(s, 5);
	ck_assert_uint_eq(h, 5);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_prune)
{
	uint64_t dropped = 99;
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	add(db, "a", 1, 0, 10);
	add(db, "b", 1, 1, 10);
	add(db, "c", 2, 1, 10);
	add(db, "d", 1, 0, 200);
	add(db, "e", 0, 2, 50);
	add(db, "f", 5, 5, 1);
	ck_assert_int_eq(db_prune(db, 100, 2, NULL), DB_EINVAL);
	commit(db);
	ck_assert_int_eq(db_preload(db), 0);
	ck_assert_int_eq(db_prune(db, 100, 2, &dropped), 0);
	ck_assert_uint_eq(dropped, 3);
	ck_counts(db, "a", 0, 0);
	ck_counts(db, "b", 0, 0);
	ck_counts(db, "c", 2, 1);
	ck_counts(db, "d", 1, 0);
	ck_counts(db, "e", 0, 0);
	ck_counts(db, "f", 5, 5);
	ck_assert_uint_eq(status(db).tokens, 3);
	ck_assert_int_eq(db_prune(db, 100, 2, &dropped), 0);
	ck_assert_uint_eq(dropped, 0);
	ck_assert_int_eq(db_vacuum(db), 0);
	ck_counts(db, "c", 2, 1);
	ck_assert_int_eq(db_check(db), 0);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* db_used and db_compact: a store that lost most of its rows is compacted
 * and shrinks, a packed one is left alone; read-only and in-transaction
 * handles are refused. */
START_TEST(test_compact)
{
	enum { N = 20000 };
	char tok[32];
	uint64_t dropped = 0;
	double full = 0, loose = 0, after = 0;
	struct stat before, now;
	struct tmp t;
	struct db *db, *ro;
	int done = 7;
	int i;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	for (i = 0; i < N; i++) {
		snprintf(tok, sizeof(tok), "token-%05d-%d", (i * 7919) % N,
		    i);
		add(db, tok, 1, 0, i % 4 == 0 ? 500 : 10);
	}
	ck_assert_int_eq(db_compact(db, 0.8, &done), DB_EINVAL);
	commit(db);
	if (db_used(db, &full) == DB_EINVAL) {
		/* This SQLite cannot tell: compacting is the safe side. */
		ck_assert_int_eq(db_compact(db, 0.8, &done), 0);
		ck_assert_int_eq(done, 1);
		db_close(db);
		tmp_remove(&t);
		return;
	}
	/* Buckets grown a token at a time leave pages about half full (a
	 * page holds a handful of buckets of a few hundred bytes). */
	ck_assert_msg(full > 0.4 && full <= 1.0, "used %f", full);
	/* Three rows in four go: the pages stay, mostly empty. */
	ck_assert_int_eq(db_prune(db, 100, 1, &dropped), 0);
	ck_assert_uint_eq(dropped, N - N / 4);
	ck_assert_int_eq(db_used(db, &loose), 0);
	ck_assert_msg(loose < 0.4 && loose < full, "used %f", loose);
	ro = open_ok(t.path, DB_READONLY, TOKV);
	ck_assert_int_eq(db_used(ro, &after), 0);
	ck_assert_msg(after == loose, "read-only %f, %f", after, loose);
	ck_assert_int_eq(db_compact(ro, 0.8, &done), DB_EPERM);
	db_close(ro);
	/* The last close checkpoints the WAL: the file holds it all. */
	db_close(db);
	ck_assert_int_eq(stat(t.path, &before), 0);
	db = open_ok(t.path, 0, TOKV);
	ck_assert_int_eq(db_compact(db, 0.8, &done), 0);
	ck_assert_int_eq(done, 1);
	ck_assert_int_eq(stat(t.path, &now), 0);
	ck_assert_msg(now.st_size * 2 < before.st_size, "%lld -> %lld",
	    (long long)before.st_size, (long long)now.st_size);
	ck_assert_int_eq(db_used(db, &after), 0);
	ck_assert_msg(after > 0.8 && after > 2 * loose,
	    "used %f after compacting", after);
	ck_assert_uint_eq(status(db).tokens, N / 4);
	/* Packed now: left alone. */
	ck_assert_int_eq(db_compact(db, 0.8, &done), 0);
	ck_assert_int_eq(done, 0);
	ck_assert_int_eq(db_check(db), 0);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

struct walk {
	char prev[RAND_TOK_MAX * 4 + 1];
	size_t prevlen;
	size_t calls;
	size_t stop_at;
	uint64_t spam;
	uint64_t ham;
	struct db *db;
};

static int
walk_fn(void *ctx, const char *tok, size_t len, const struct db_counts *c,
    int64_t day)
{
	struct walk *w = ctx;
	struct db_counts l;
	size_t m;
	int cmp;

	if (w->calls > 0) {
		m = len < w->prevlen ? len : w->prevlen;
		cmp = memcmp(w->prev, tok, m);
		ck_assert_msg(cmp < 0 || (cmp == 0 && w->prevlen < len),
		    "order: %s after %s", tok, w->prev);
	}
	ck_assert_uint_lt(len, sizeof(w->prev));
	memcpy(w->prev, tok, len);
	w->prevlen = len;
	ck_assert_msg(c->spam > 0 || c->ham > 0, "0/0 token %s", tok);
	ck_assert_int_eq(day, 3);
	/* Lookups from inside the walk work and agree. */
	ck_assert_int_eq(db_lookup(w->db, 1, &tok, &len, &l), 0);
	ck_assert_uint_eq(l.spam, c->spam);
	ck_assert_uint_eq(l.ham, c->ham);
	w->spam += c->spam;
	w->ham += c->ham;
	w->calls++;
	if (w->stop_at != 0 && w->calls == w->stop_at)
		return 42;
	return 0;
}

/* The count sums over the distinct tokens of k, by lookup. */
static void
sum_distinct(struct db *db, const struct toks *k, uint64_t *spam,
    uint64_t *ham)
{
	struct db_counts *c;
	size_t i;
	size_t j;
	int dup;

	*spam = 0;
	*ham = 0;
	c = calloc(k->n, sizeof(*c));
	ck_assert_ptr_nonnull(c);
	lookup_all(db, k, c);
	for (i = 0; i < k->n; i++) {
		dup = 0;
		for (j = 0; j < i && !dup; j++)
			dup = k->len[j] == k->len[i] &&
			    memcmp(k->tok[j], k->tok[i], k->len[i]) == 0;
		if (!dup) {
			*spam += c[i].spam;
			*ham += c[i].ham;
		}
	}
	free(c);
}

/* The counts db_foreach gives, in order; then checked against those
 * db_foreach_counts gives. */
struct seq {
	struct db *db;
	struct db_counts *c;
	size_t n;
	size_t cap;
	size_t i;
	size_t stop_at;
	size_t calls;
};

static int
seq_fn(void *ctx, const char *tok, size_t len, const struct db_counts *c,
    int64_t day)
{
	struct seq *q = ctx;

	if (q->n == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 64;
		q->c = realloc(q->c, q->cap * sizeof(*q->c));
		ck_assert_ptr_nonnull(q->c);
	}
	q->c[q->n++] = *c;
	return 0;
}

/* db_foreach_counts: every call's counts into q, 43 after stop_at. */
static int
seq_counts_fn(void *ctx, const struct db_counts *c)
{
	struct seq *q = ctx;

	q->calls++;
	seq_fn(q, NULL, 0, c, 0);
	if (q->stop_at != 0 && q->n == q->stop_at)
		return 43;
	return 0;
}

static int
counts_cmp(const void *a, const void *b)
{
	const struct db_counts *x = a, *y = b;

	if (x->spam != y->spam)
		return x->spam < y->spam ? -1 : 1;
	return (x->ham > y->ham) - (x->ham < y->ham);
}

/* got holds the counts of all whose total is min or more, in any
 * order. */
static void
walked_counts(const struct seq *all, struct seq *got, uint32_t min)
{
	struct db_counts *want;
	size_t i, n = 0;

	want = calloc(all->n + 1, sizeof(*want));
	ck_assert_ptr_nonnull(want);
	for (i = 0; i < all->n; i++)
		if ((uint64_t)all->c[i].spam + all->c[i].ham >= min)
			want[n++] = all->c[i];
	ck_assert_uint_eq(got->n, n);
	qsort(want, n, sizeof(*want), counts_cmp);
	qsort(got->c, n, sizeof(*got->c), counts_cmp);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(got->c[i].spam, want[i].spam);
		ck_assert_uint_eq(got->c[i].ham, want[i].ham);
		ck_assert_int_eq(got->c[i].w, 0);
	}
	free(want);
}

START_TEST(test_foreach)
{
	struct seq cw, cc;
	struct toks k;
	struct walk w;
	uint64_t want_spam = 0;
	uint64_t want_ham = 0;
	uint64_t s = 7;
	size_t distinct;
	size_t i;
	int64_t ds;
	int64_t dh;
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	toks_make(&k, 800, 99);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	for (i = 0; i < k.n; i++) {
		ds = (int64_t)(rnd(&s) % 3);
		dh = (int64_t)(rnd(&s) % 3);
		ck_assert_int_eq(db_add_token(db, k.tok[i], k.len[i], ds, dh, 0,
		    3), 0);
	}
	add(db, "zz-gone", 1, 0, 3);
	add(db, "zz-gone", -1, 0, 3);
	commit(db);
	distinct = (size_t)status(db).tokens;
	ck_assert_uint_gt(distinct, 100);
	memset(&w, 0, sizeof(w));
	w.db = db;
	ck_assert_int_eq(db_foreach(db, walk_fn, &w), 0);
	ck_assert_uint_eq(w.calls, distinct);
	sum_distinct(db, &k, &want_spam, &want_ham);
	ck_assert_uint_eq(w.spam, want_spam);
	ck_assert_uint_eq(w.ham, want_ham);

	/* A non-zero return stops the walk and is returned. */
	memset(&w, 0, sizeof(w));
	w.db = db;
	w.stop_at = 10;
	ck_assert_int_eq(db_foreach(db, walk_fn, &w), 42);
	ck_assert_uint_eq(w.calls, 10);
	ck_assert_int_eq(db_foreach(db, NULL, NULL), DB_EINVAL);

	/* The counts-only walk: the same counts, in its own order. */
	memset(&cw, 0, sizeof(cw));
	memset(&cc, 0, sizeof(cc));
	cw.db = db;
	ck_assert_int_eq(db_foreach(db, seq_fn, &cw), 0);
	ck_assert_uint_eq(cw.n, distinct);
	ck_assert_int_eq(db_foreach_counts(db, 0, seq_counts_fn, &cc), 0);
	walked_counts(&cw, &cc, 0);
	cc.n = 0;
	cc.stop_at = 5;
	ck_assert_int_eq(db_foreach_counts(db, 0, seq_counts_fn, &cc), 43);
	ck_assert_uint_eq(cc.n, 5);
	ck_assert_int_eq(db_foreach_counts(db, 0, NULL, NULL), DB_EINVAL);
	/* From a total of 3 up: the tokens db_foreach gives there. */
	cc.n = 0;
	cc.stop_at = 0;
	ck_assert_int_eq(db_foreach_counts(db, 3, seq_counts_fn, &cc), 0);
	ck_assert_uint_gt(cc.n, 0);
	ck_assert_uint_lt(cc.n, cw.n);
	walked_counts(&cw, &cc, 3);
	free(cw.c);
	free(cc.c);
	db_close(db);
	toks_free(&k);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_status)
{
	unsigned char d[DB_DIGEST_BYTES];
	struct db_status st;
	struct tmp t;
	struct db *db;

	memset(d, 5, sizeof(d));
	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	st = status(db);
	ck_assert_uint_eq(st.tokens, 0);
	ck_assert_uint_eq(st.spam_tokens, 0);
	ck_assert_uint_eq(st.learned, 0);
	begin(db);
	add(db, "s1", 1, 0, 1);
	add(db, "s2", 2, 0, 1);
	add(db, "b", 1, 1, 1);
	add(db, "h", 0, 4, 1);
	ck_assert_int_eq(db_add_totals(db, 3, 4), 0);
	ck_assert_int_eq(db_set_msg(db, d, DB_SPAM, NULL, 0, 1), 0);
	commit(db);
	st = status(db);
	ck_assert_uint_eq(st.spam_msgs, 3);
	ck_assert_uint_eq(st.ham_msgs, 4);
	ck_assert_uint_eq(st.tokens, 4);
	ck_assert_uint_eq(st.spam_tokens, 3);
	ck_assert_uint_eq(st.ham_tokens, 2);
	ck_assert_uint_eq(st.learned, 1);
	ck_assert_uint_ge(st.file_bytes, 4096);
	ck_assert_int_eq(st.schema_version, DB_SCHEMA_VERSION);
	ck_assert_int_eq(st.tok_version, TOKV);
	ck_assert_str_eq(st.journal, "wal");
	ck_assert_int_eq(st.network_fs, 0);
	db_close(db);
	tmp_remove(&t);
}
END_TEST


/* Write len bytes at off into the file, behind SQLite's back. */
static void
poke(const char *path, off_t off, const void *buf, size_t len)
{
	int fd;

	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, len, off), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

START_TEST(test_check)
{
	char tok[32];
	struct stat sb;
	struct tmp t;
	struct db *db = NULL;
	char junk[8192];
	int rc;
	int i;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	for (i = 0; i < 20000; i++) {
		snprintf(tok, sizeof(tok), "token-%d", i * 7919 % 20000);
		add(db, tok, i % 5 + 1, i % 3, 1);
	}
	commit(db);
	ck_assert_int_eq(db_check(db), 0);
	db_close(db);
	ck_assert_int_eq(stat(t.path, &sb), 0);
	ck_assert_int_gt(sb.st_size, 16 * 8192);

	/* Scribble over pages in the middle of the tree. */
	memset(junk, 0x5a, sizeof(junk));
	poke(t.path, sb.st_size / 2 / 4096 * 4096, junk, sizeof(junk));
	db = NULL;
	rc = db_open(&db, t.path, 0, TOKV, BUSY_MS);
	if (rc == 0)
		rc = db_check(db);
	ck_assert_msg(rc == DB_ECORRUPT, "got %d: %s", rc, db_errmsg(db, rc));
	ck_assert_ptr_nonnull(strstr(db_errmsg(db, rc), t.path));
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* db_check reads the learned messages as training and --dump do (found
 * by review: a bad class, or no msg table, passed the check). */
START_TEST(test_check_msg)
{
	static const char *const spoil[] = {
		"UPDATE msg SET class = 9",
		"UPDATE msg SET g = 3000000000",
		"UPDATE msg SET digest = x'00'",
		"DROP TABLE msg",
	};
	unsigned char d[DB_DIGEST_BYTES];
	struct tmp t;
	struct db *db;
	size_t i;
	int rc;

	memset(d, 7, sizeof(d));
	for (i = 0; i < sizeof(spoil) / sizeof(spoil[0]); i++) {
		db_tmp(&t);
		db = open_ok(t.path, DB_CREATE, TOKV);
		begin(db);
		add(db, "word", 1, 0, 1);
		ck_assert_int_eq(db_set_msg(db, d, DB_SPAM, "id@x", 5, 1), 0);
		commit(db);
		ck_assert_int_eq(db_check(db), 0);
		db_close(db);
		raw_sql(t.path, spoil[i]);
		db = NULL;
		rc = db_open(&db, t.path, 0, TOKV, BUSY_MS);
		if (rc == 0)
			rc = db_check(db);
		ck_assert_msg(rc != 0, "%s: check passed", spoil[i]);
		db_close(db);
		tmp_remove(&t);
	}
}
END_TEST

START_TEST(test_check_freelist)
{
	static const unsigned char zero[8];
	char tok[32];
	const char *msg;
	struct tmp t;
	struct db *db;
	int i;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	for (i = 0; i < 5000; i++) {
		snprintf(tok, sizeof(tok), "token-%d", i);
		add(db, tok, 1, 0, 1);
	}
	commit(db);
	begin(db);
	for (i = 0; i < 5000; i++) {
		snprintf(tok, sizeof(tok), "token-%d", i);
		add(db, tok, -1, 0, 1);
	}
	commit(db);
	ck_assert_int_eq(db_check(db), 0);
	db_close(db);
	/* Lose the freelist (header bytes 32-39): its pages are then
	 * used by nothing, which only an integrity check notices. */
	poke(t.path, 32, zero, sizeof(zero));
	db = open_ok(t.path, 0, TOKV);
	ck_counts(db, "token-1", 0, 0);
	ck_assert_int_eq(db_check(db), DB_ECORRUPT);
	msg = db_errmsg(db, DB_ECORRUPT);
	ck_assert_msg(strstr(msg, "never used") != NULL &&
	    strstr(msg, t.path) != NULL, "%s", msg);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* A store holding one token, "w1" at 1/0, its bucket replaced by blob
 * (hex), or moved to another key when blob is NULL; then db_check must
 * fail naming what. */
static void
check_bucket_fails(const char *blob, const char *meta_sql, const char *what)
{
	char sql[512];
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	add(db, "w1", 1, 0, 1);
	commit(db);
	ck_assert_int_eq(db_check(db), 0);
	db_close(db);
	if (blob != NULL)
		snprintf(sql, sizeof(sql), "UPDATE tokb SET data = x'%s'",
		    blob);
	else
		snprintf(sql, sizeof(sql), "UPDATE tokb SET key = key + 1");
	raw_sql(t.path, meta_sql != NULL ? meta_sql : sql);
	db = open_ok(t.path, 0, TOKV);
	ck_assert_int_eq(db_check(db), DB_ECORRUPT);
	ck_assert_msg(strstr(db_errmsg(db, DB_ECORRUPT), what) != NULL,
	    "%s: %s", what, db_errmsg(db, DB_ECORRUPT));
	db_close(db);
	tmp_remove(&t);
}

/* Damaged buckets fail the check: bad bytes, a token in the wrong
 * bucket, a count that disagrees; lookups of a damaged one fail too. */
START_TEST(test_check_rows)
{
	const char *tk = "w1";
	size_t tl = 2;
	struct db_counts c;
	struct tmp t;
	struct db *db;

	/* "w1" 1/0 day 1 w 0 (tag 19) is 01 01 02 | 19 02 77 31 01 00 00
	 * 00. */
	check_bucket_fails("01010219027731010000", NULL, "damaged");
	check_bucket_fails("010102190277310100000000", NULL, "damaged");
	check_bucket_fails("0101021902773100000000", NULL, "damaged");
	check_bucket_fails("0201021902773101000000", NULL, "damaged");
	check_bucket_fails("0101022002773101000000", NULL, "wrong tag");
	check_bucket_fails("", NULL, "empty");
	check_bucket_fails("010002", NULL, "empty");
	check_bucket_fails(NULL, NULL, "token bucket");
	check_bucket_fails(NULL, "UPDATE meta SET value = 2 WHERE key = "
	    "'tok_count'", "counts 2 tokens");
	check_bucket_fails(NULL, "UPDATE meta SET value = 99 WHERE key = "
	    "'tok_level'", "level");

	/* A lookup that reads a damaged bucket says so. */
	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	add(db, "w1", 1, 0, 1);
	commit(db);
	db_close(db);
	raw_sql(t.path, "UPDATE tokb SET data = x'01010219027731010000'");
	db = open_ok(t.path, 0, TOKV);
	ck_assert_int_eq(db_lookup(db, 1, &tk, &tl, &c), DB_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(db_errmsg(db, DB_ECORRUPT), "damaged"));
	begin(db);
	ck_assert_int_eq(db_add_token(db, "w1", 2, 1, 0, 0, 1), DB_ECORRUPT);
	db_rollback(db);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* A weight beyond +-INT32_MAX or a count beyond 32 bits is no bucket. */
START_TEST(test_check_weight)
{
	/* zigzag 2^32 - 1 (w = -2^31) and spam 2^32. */
	check_bucket_fails("01010219027731010000" "ffffffff0f", NULL,
	    "damaged");
	check_bucket_fails("0101021902773180808080100000" "00", NULL,
	    "damaged");
}
END_TEST

/* Weights: added with the counts (batch statement and one by one),
 * clamped at +-INT32_MAX, the same through SQL and the preloaded table,
 * and gone with a token that reaches 0/0; a message's step kept and
 * forgotten with it. */
START_TEST(test_weights)
{
	const char *tk[3] = { "wa", "wb", "wc" };
	size_t tl[3] = { 2, 2, 2 };
	int64_t ds[3] = { 1, 1, 0 }, dh[3] = { 0, 0, 1 };
	int64_t dw[3] = { 100, -200, 0 };
	int64_t up[3] = { 0, 0, 0 }, dn[3] = { 0, -1, 0 };
	int64_t wu[3] = { 50, 7, INT32_MAX }, big[3] = { 0, 0, INT32_MAX };
	unsigned char d[DB_DIGEST_BYTES];
	struct db_counts c[3];
	enum db_class cls;
	int64_t g;
	struct tmp t;
	struct db *db;
	int pass;

	memset(d, 9, sizeof(d));
	for (pass = 0; pass < 2; pass++) {
		db_tmp(&t);
		db = open_ok(t.path, DB_CREATE, TOKV);
		if (pass == 1)
			ck_assert_int_eq(db_preload(db), 0);
		begin(db);
		ck_assert_int_eq(db_add_tokens(db, 3, tk, tl, ds, dh, dw, 1),
		    0);
		ck_assert_int_eq(db_set_msg(db, d, DB_SPAM, NULL, -77, 1), 0);
		commit(db);
		ck_assert_int_eq(db_lookup(db, 3, tk, tl, c), 0);
		ck_assert_int_eq(c[0].w, 100);
		ck_assert_int_eq(c[1].w, -200);
		ck_assert_int_eq(c[2].w, 0);
		ck_assert_int_eq(db_msg_get(db, d, &cls, &g, NULL), 0);
		ck_assert_int_eq(cls, DB_SPAM);
		ck_assert_int_eq(g, -77);
		/* Weights alone (no count changes), one by one; clamped. */
		begin(db);
		ck_assert_int_eq(db_add_tokens(db, 3, tk, tl, up, up, wu, 2),
		    0);
		ck_assert_int_eq(db_add_tokens(db, 3, tk, tl, up, up, big, 2),
		    0);
		commit(db);
		ck_assert_int_eq(db_lookup(db, 3, tk, tl, c), 0);
		ck_assert_int_eq(c[0].w, 150);
		ck_assert_int_eq(c[1].w, -193);
		ck_assert_int_eq(c[2].w, INT32_MAX);
		ck_assert_uint_eq(c[0].spam, 1);
		/* wb reaches 0/0: dropped, weight and all. */
		begin(db);
		ck_assert_int_eq(db_add_tokens(db, 3, tk, tl, dn, up, NULL, 3),
		    0);
		ck_assert_int_eq(db_set_msg(db, d, DB_NONE, NULL, 0, 3), 0);
		commit(db);
		ck_assert_int_eq(db_lookup(db, 3, tk, tl, c), 0);
		ck_assert_int_eq(c[1].w, 0);
		ck_assert_uint_eq(c[1].spam, 0);
		ck_assert_int_eq(c[0].w, 150);
		ck_assert_int_eq(db_msg_get(db, d, &cls, &g, NULL), 0);
		ck_assert_int_eq(cls, DB_NONE);
		ck_assert_int_eq(g, 0);
		/* Out of range. */
		begin(db);
		big[0] = (int64_t)INT32_MAX + 1;
		ck_assert_int_eq(db_add_tokens(db, 3, tk, tl, ds, dh, big, 4),
		    DB_EINVAL);
		big[0] = 0;
		db_rollback(db);
		/* One token at a time (--load): the same, and clamped. */
		begin(db);
		ck_assert_int_eq(db_add_token(db, "wa", 2, 0, 1, -50, 4), 0);
		ck_assert_int_eq(db_add_token(db, "wc", 2, 1, 0,
		    (int64_t)INT32_MAX, 4), 0);
		ck_assert_int_eq(db_add_token(db, "wc", 2, 0, 0,
		    (int64_t)INT32_MAX + 1, 4), DB_EINVAL);
		commit(db);
		ck_assert_int_eq(db_lookup(db, 3, tk, tl, c), 0);
		ck_assert_int_eq(c[0].w, 100);
		ck_assert_uint_eq(c[0].ham, 1);
		ck_assert_int_eq(c[2].w, INT32_MAX);
		/* db_foreach gives the weights: wc comes last. */
		ck_assert_int_eq(db_foreach(db, w_fn, &c[1]), 0);
		ck_assert_int_eq(c[1].w, INT32_MAX);
		ck_assert_uint_eq(c[1].spam, 1);
		ck_assert_int_eq(db_check(db), 0);
		db_close(db);
		/* The same after reopening (SQL, no preload). */
		db = open_ok(t.path, 0, TOKV);
		ck_assert_int_eq(db_lookup(db, 1, tk, tl, c), 0);
		ck_assert_int_eq(c[0].w, 100);
		db_close(db);
		tmp_remove(&t);
	}
}
END_TEST

/* A schema 1 store (before the weights) at path: totals 3 and 4, the
 * token "old" at 2/1, one learned message (spam, digest all zeros, day
 * 5). */
static void
make_v1(const char *path)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
	    "CREATE TABLE token(tok TEXT PRIMARY KEY, spam INTEGER NOT NULL, "
	    "ham INTEGER NOT NULL, day INTEGER NOT NULL) WITHOUT ROWID;"
	    "CREATE TABLE msg(digest BLOB PRIMARY KEY, class INTEGER NOT "
	    "NULL, msgid TEXT, day INTEGER NOT NULL) WITHOUT ROWID;"
	    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) "
	    "WITHOUT ROWID;"
	    "INSERT INTO meta VALUES('spam_msgs', 3), ('ham_msgs', 4), "
	    "('tok_version', %d);"
	    "INSERT INTO token VALUES('old', 2, 1, 5);"
	    "INSERT INTO msg VALUES(zeroblob(32), 1, NULL, 5);"
	    "PRAGMA user_version = 1;", TOKV);
	raw_sql(path, sql);
}

/*
 * buckets
 */

/* Encoded and decoded, a bucket gives back what went in: extreme
 * counts, weights and days (one far below the rest: the base), and the
 * cursor finds each token and none between them. */
START_TEST(test_bucket_codec)
{
	static const struct bk_ent in[] = {
		{ .tok = "\xe4\xbb\xb6", .len = 3, .tag = 0, .spam = 300,
		    .ham = 200, .w = -1, .day = -5 },
		{ .tok = "a", .len = 1, .tag = 1, .spam = 1, .day = 20000 },
		{ .tok = "ab", .len = 2, .tag = 1, .spam = UINT32_MAX,
		    .ham = 7, .w = INT32_MAX, .day = INT64_MAX },
		{ .tok = "b", .len = 1, .tag = 2, .ham = UINT32_MAX,
		    .w = -INT32_MAX, .day = INT64_MIN },
	};
	const size_t n = sizeof(in) / sizeof(in[0]);
	unsigned char buf[256];
	struct bk_vec v = { 0 };
	struct bk_cursor cur;
	struct bk_ent e;
	size_t len, i;

	ck_assert_uint_le(bk_bound(in, n), sizeof(buf));
	len = bk_encode(in, n, buf);
	ck_assert_int_eq(bk_decode(buf, len, &v), 0);
	ck_assert_uint_eq(v.n, n);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(v.e[i].len, in[i].len);
		ck_assert_int_eq(memcmp(v.e[i].tok, in[i].tok, in[i].len), 0);
		ck_assert_uint_eq(v.e[i].spam, in[i].spam);
		ck_assert_uint_eq(v.e[i].ham, in[i].ham);
		ck_assert_int_eq(v.e[i].w, in[i].w);
		ck_assert_int_eq(v.e[i].day, in[i].day);
	}
	ck_assert_int_eq(bk_cursor_init(&cur, buf, len), 0);
	ck_assert_int_eq(bk_seek(&cur, 0, "", 0, &e), 0);
	ck_assert_int_eq(bk_seek(&cur, 0, "\xe4\xbb\xb6", 3, &e), 1);
	ck_assert_int_eq(e.w, -1);
	ck_assert_int_eq(bk_seek(&cur, 1, "a", 1, &e), 1);
	ck_assert_int_eq(bk_seek(&cur, 1, "a", 1, &e), 1);	/* again */
	ck_assert_int_eq(bk_seek(&cur, 1, "aa", 2, &e), 0);
	ck_assert_int_eq(bk_seek(&cur, 1, "ab", 2, &e), 1);
	ck_assert_uint_eq(e.spam, UINT32_MAX);
	ck_assert_int_eq(bk_seek(&cur, 2, "a", 1, &e), 0);	/* by tag */
	ck_assert_int_eq(bk_seek(&cur, 2, "b", 1, &e), 1);
	ck_assert_int_eq(e.day, INT64_MIN);
	ck_assert_int_eq(bk_seek(&cur, 3, "\xff", 1, &e), 0);

	/* Every cut short of the whole is refused, by both readers. */
	for (i = 0; i < len; i++) {
		ck_assert_int_eq(bk_decode(buf, i, &v), -2);
		if (bk_cursor_init(&cur, buf, i) == 0)
			ck_assert_int_eq(bk_seek(&cur, 3, "\xff", 1, &e),
			    -2);
	}
	/* Out of order (by bytes, by tag), or the same token twice. */
	{
		struct bk_ent two[2] = { in[2], in[1] };

		len = bk_encode(two, 2, buf);
		ck_assert_int_eq(bk_decode(buf, len, &v), -2);
		two[0] = in[3];
		two[1] = in[0];
		len = bk_encode(two, 2, buf);
		ck_assert_int_eq(bk_decode(buf, len, &v), -2);
		two[0] = in[1];
		two[1] = in[1];
		len = bk_encode(two, 2, buf);
		ck_assert_int_eq(bk_decode(buf, len, &v), -2);
	}
	bk_vec_free(&v);
}
END_TEST

/* The hash and the keys are fixed: they are on disk. */
START_TEST(test_bucket_hash)
{
	ck_assert_uint_eq(bk_hash("a", 1), bk_hash("a", 1));
	ck_assert_uint_ne(bk_hash("a", 1), bk_hash("b", 1));
	ck_assert_uint_ne(bk_hash("abcdefgh", 8), bk_hash("abcdefgi", 8));
	ck_assert_int_eq(bk_key(0, 6), 0);
	ck_assert_int_eq(bk_key(UINT64_MAX, 6), (int64_t)63 << 34);
	ck_assert_int_eq(bk_key((uint64_t)1 << 63, 7), (int64_t)1 << 39);
	ck_assert_int_eq(bk_key(UINT64_MAX, BK_LEVEL_MAX),
	    ((int64_t)1 << 40) - 1);
	/* A split's first half keeps the key, the second comes next. */
	ck_assert_int_eq(bk_key((uint64_t)5 << 58, 7), bk_key((uint64_t)5 <<
	    58, 6));
	ck_assert_int_eq(bk_key((uint64_t)11 << 57, 7), bk_key((uint64_t)5 <<
	    58, 6) + ((int64_t)1 << 33));
	ck_assert(bk_key_ok(0, 6));
	ck_assert(bk_key_ok((int64_t)63 << 34, 6));
	ck_assert(!bk_key_ok((int64_t)1 << 33, 6));
	ck_assert(bk_key_ok((int64_t)1 << 33, 7));
	ck_assert(!bk_key_ok(-((int64_t)1 << 34), 6));
	ck_assert(!bk_key_ok((int64_t)1 << 40, 6));
	ck_assert_int_eq(bk_key3(0, 6), 64);
	ck_assert_int_eq(bk_key3(UINT64_MAX, 6), 127);
	ck_assert_int_eq(bk_key3((uint64_t)1 << 63, 7), 192);
	/* Known values: a change of the hash would orphan every store. */
	ck_assert_uint_eq(bk_hash("spamsift", 8), 6833365295401006235ULL);
	ck_assert_uint_eq(bk_hash("x", 1), 16375004492475661551ULL);
}
END_TEST

/* The store's level, as its meta row says. */
static void
ck_level(const char *path, const char *want)
{
	char buf[32];

	raw_text(path, "SELECT value FROM meta WHERE key = 'tok_level'", buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, want);
}

/* A store that grows past its level splits its buckets, once per
 * batch, and keeps every count: checked by lookups, a preload and
 * db_check after each of several batches. */
/* A split rewrites the buckets where they are: the file does not double
 * and leave its old half free, as when the new level's keys went after
 * all the old ones. */
START_TEST(test_split_in_place)
{
	char buf[32], tok[32];
	long pages, freed;
	struct tmp t;
	struct db *db;
	int i;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	for (i = 0; i < 2000; i++) {	/* level 6 holds 2048 */
		snprintf(tok, sizeof(tok), "in-place-%d", i);
		add(db, tok, 1, 0, 1);
	}
	commit(db);
	raw_text(t.path, "PRAGMA page_count", buf, sizeof(buf));
	pages = atol(buf);
	begin(db);
	for (i = 2000; i < 2200; i++) {
		snprintf(tok, sizeof(tok), "in-place-%d", i);
		add(db, tok, 1, 0, 1);
	}
	commit(db);
	ck_level(t.path, "7");
	raw_text(t.path, "PRAGMA freelist_count", buf, sizeof(buf));
	freed = atol(buf);
	ck_assert_int_lt(freed * 4, pages);
	raw_text(t.path, "PRAGMA page_count", buf, sizeof(buf));
	ck_assert_int_lt(atol(buf), pages * 3 / 2);
	ck_assert_int_eq(db_check(db), 0);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* tok i of split_batch's store: "sw-<i>". */
static size_t
sw_tok(char *buf, size_t size, int i)
{
	return (size_t)snprintf(buf, size, "sw-%d", i);
}

/* One batch into a store of `have` tokens (sw-0.., each 1/0): the tokens
 * of the bucket of sw-0 lowered to nothing, and `more` new ones added,
 * enough to split.  The split is made with the batch's buckets in the
 * queue: the emptied one, ones that replace the store's, new ones, and
 * the store's untouched ones all come out right. */
static void
split_batch(int have, int more)
{
	char (*tok)[16];
	const char **tk;
	size_t *tl;
	int64_t *ds, *dh;
	struct db_counts *c;
	int64_t key0;
	struct tmp t;
	struct db *db;
	int i, n = have + more, gone = 0;

	tok = calloc((size_t)n, sizeof(*tok));
	tk = calloc((size_t)n, sizeof(*tk));
	tl = calloc((size_t)n, sizeof(*tl));
	ds = calloc((size_t)n, sizeof(*ds));
	dh = calloc((size_t)n, sizeof(*dh));
	c = calloc((size_t)n, sizeof(*c));
	ck_assert(tok && tk && tl && ds && dh && c);
	for (i = 0; i < n; i++) {
		tl[i] = sw_tok(tok[i], sizeof(tok[i]), i);
		tk[i] = tok[i];
		ds[i] = 1;
	}
	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	add(db, "seed", 1, 0, 1);	/* not empty: the level stays 6 */
	commit(db);
	begin(db);
	ck_assert_int_eq(db_add_tokens(db, (size_t)have, tk, tl, ds, dh, NULL,
	    2), 0);
	commit(db);
	ck_level(t.path, "6");
	/* The bucket of sw-0 (not seed's) loses all its tokens and gets
	 * none of the new ones. */
	key0 = bk_key(bk_hash(tk[0], tl[0]), 6);
	ck_assert_int_ne(key0, bk_key(bk_hash("seed", 4), 6));
	for (i = 0; i < n; i++) {
		if (bk_key(bk_hash(tk[i], tl[i]), 6) != key0)
			ds[i] = i < have ? 0 : 1;
		else
			ds[i] = i < have ? -1 : 0;
		gone += ds[i] == -1 || (ds[i] == 0 && i >= have);
	}
	begin(db);
	ck_assert_int_eq(db_add_tokens(db, (size_t)n, tk, tl, ds, dh, NULL, 3),
	    0);
	commit(db);
	ck_level(t.path, "7");
	ck_assert_int_eq(db_check(db), 0);
	ck_assert_uint_eq(status(db).tokens, (uint64_t)(1 + n - gone));
	ck_assert_int_eq(db_lookup(db, (size_t)n, tk, tl, c), 0);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(c[i].spam, ds[i] < 0 || (ds[i] == 0 &&
		    i >= have) ? 0 : 1);
	ck_counts(db, "seed", 1, 0);
	db_close(db);
	tmp_remove(&t);
	free(tok);
	free(tk);
	free(tl);
	free(ds);
	free(dh);
	free(c);
}

/* A store with most buckets, a few left untouched by the batch. */
START_TEST(test_split_with_write)
{
	split_batch(2000, 200);
}
END_TEST

/* A store with few buckets: the batch's are mostly new. */
START_TEST(test_split_with_write_new)
{
	split_batch(20, 2100);
}
END_TEST

/* bucket_no's, for a NUL-terminated token at level 6. */
static uint64_t
bucket6(const char *tok)
{
	return (uint64_t)bk_key(bk_hash(tok, strlen(tok)), 6) >>
	    (BK_KEY_BITS - 6);
}

/* A batch of at most n short tokens being made: tok[i] holds a token's
 * bytes, tk[i] and tl[i] point at it and give its length, ds[i] and dh[i]
 * its deltas (all 0 at first). */
struct short_batch {
	char (*tok)[16];
	const char **tk;
	size_t *tl;
	int64_t *ds, *dh;
};

static void
short_batch_make(struct short_batch *b, size_t n)
{
	b->tok = calloc(n, sizeof(*b->tok));
	b->tk = calloc(n, sizeof(*b->tk));
	b->tl = calloc(n, sizeof(*b->tl));
	b->ds = calloc(n, sizeof(*b->ds));
	b->dh = calloc(n, sizeof(*b->dh));
	ck_assert(b->tok && b->tk && b->tl && b->ds && b->dh);
}

static void
short_batch_free(struct short_batch *b)
{
	free(b->tok);
	free(b->tk);
	free(b->tl);
	free(b->ds);
	free(b->dh);
}

/* A write into nearly every bucket that adds far more than the level's
 * room holds is merged and split in one pass: the buckets it raises, the
 * ones it makes (between stored ones and past the last), the one it
 * leaves alone and seed's all come out at the new level, every count
 * right. */
START_TEST(test_split_one_pass)
{
	enum { CAND = 2600, MORE = 1000 };
	struct short_batch sb;
	size_t n = 0;
	uint64_t b1 = 64, have = 0, left = 0, made = 0, b;
	struct db_counts c;
	struct tmp t;
	struct db *db;
	int i, stored;

	short_batch_make(&sb, CAND + MORE);
	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	/* The store: candidates in 3 of every 4 buckets of level 6 (the
	 * 4th left empty, the last one among them), level 6 (2048). */
	begin(db);
	add(db, "seed", 1, 0, 1);
	for (i = 0; i < CAND; i++) {
		snprintf(sb.tok[0], sizeof(sb.tok[0]), "op-%d", i);
		b = bucket6(sb.tok[0]);
		if (b % 4 == 3)
			continue;
		if (b1 == 64 && b != bucket6("seed"))
			b1 = b;		/* the bucket the write leaves */
		add(db, sb.tok[0], 1, 0, 1);
		have++;
	}
	commit(db);
	ck_level(t.path, "6");
	/* The write: those again and MORE new ones, none of bucket b1. */
	for (i = 0; i < CAND + MORE; i++) {
		snprintf(sb.tok[n], sizeof(sb.tok[n]), i < CAND ? "op-%d" :
		    "opn-%d", i);
		b = bucket6(sb.tok[n]);
		stored = i < CAND && b % 4 != 3;
		if (i < CAND && !stored)
			continue;
		if (b == b1) {
			left += stored;
			continue;
		}
		made += !stored;
		sb.tl[n] = strlen(sb.tok[n]);
		sb.tk[n] = sb.tok[n];
		sb.ds[n++] = 1;
	}
	ck_assert_uint_gt(left, 0);
	begin(db);
	ck_assert_int_eq(db_add_tokens(db, n, sb.tk, sb.tl, sb.ds, sb.dh,
	    NULL, 2), 0);
	commit(db);
	ck_level(t.path, "7");
	ck_assert_int_eq(db_check(db), 0);
	ck_assert_uint_eq(status(db).tokens, 1 + have + made);
	ck_counts(db, "seed", 1, 0);
	for (i = 0; i < CAND + MORE; i++) {
		const char *p = sb.tok[0];
		size_t l = (size_t)snprintf(sb.tok[0], sizeof(sb.tok[0]),
		    i < CAND ? "op-%d" : "opn-%d", i);
		uint64_t want;

		b = bucket6(p);
		stored = i < CAND && b % 4 != 3;
		want = b == b1 ? (uint64_t)stored : i < CAND ?
		    (uint64_t)stored * 2 : 1;
		ck_assert_int_eq(db_lookup(db, 1, &p, &l, &c), 0);
		ck_assert_msg(c.spam == want, "%s: %llu, want %llu", p,
		    (unsigned long long)c.spam, (unsigned long long)want);
	}
	db_close(db);
	tmp_remove(&t);
	short_batch_free(&sb);
}
END_TEST

/* The estimate is a sample: new tokens all in the first sixteenth of
 * the buckets make it wide, and the write goes a level up in one pass
 * though the store would fit the level it had.  Legal (each bucket half
 * as full, as if tokens were lost), and every count right; the exact
 * path would stay at 6, so this also shows the one pass ran. */
START_TEST(test_split_estimate_wide)
{
	enum { HAVE = 1500, CAND = 20000, NEW = 300 };
	struct short_batch sb;
	size_t n = 0;
	struct tmp t;
	struct db *db;
	int i, made = 0;

	short_batch_make(&sb, HAVE + NEW);
	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	for (i = 0; i < HAVE; i++) {
		sb.tl[n] = (size_t)snprintf(sb.tok[n], sizeof(sb.tok[n]),
		    "ew-%d", i);
		add(db, sb.tok[n], 1, 0, 1);
		sb.tk[n] = sb.tok[n];
		sb.ds[n++] = 1;
	}
	commit(db);
	ck_level(t.path, "6");
	/* NEW more, every one in buckets 0-3 of 64: the sample's. */
	for (i = 0; i < CAND && made < NEW; i++) {
		snprintf(sb.tok[n], sizeof(sb.tok[n]), "ewn-%d", i);
		if (bucket6(sb.tok[n]) >= 4)
			continue;
		sb.tl[n] = strlen(sb.tok[n]);
		sb.tk[n] = sb.tok[n];
		sb.ds[n++] = 1;
		made++;
	}
	ck_assert_int_eq(made, NEW);
	begin(db);
	ck_assert_int_eq(db_add_tokens(db, n, sb.tk, sb.tl, sb.ds, sb.dh,
	    NULL, 2), 0);
	commit(db);
	ck_assert_uint_eq(status(db).tokens, HAVE + NEW);	/* fits 6 */
	ck_level(t.path, "7");
	ck_assert_int_eq(db_check(db), 0);
	ck_counts(db, "ew-0", 2, 0);
	ck_counts(db, "ew-1499", 2, 0);
	for (i = 0; i < (int)n; i++) {
		struct db_counts c;

		ck_assert_int_eq(db_lookup(db, 1, &sb.tk[i], &sb.tl[i], &c), 0);
		ck_assert_uint_eq(c.spam, i < HAVE ? 2 : 1);
	}
	db_close(db);
	tmp_remove(&t);
	short_batch_free(&sb);
}
END_TEST

/* Pruning most of a store takes it down to fewer buckets in the same
 * write: what is kept reads as before, what was pruned is gone, and the
 * store checks out; pruning a few keeps the level. */
START_TEST(test_level_down)
{
	const char *tk[3];
	size_t tl[3];
	struct db_counts c[3];
	char tok[3][32], buf[32];
	const char *ks[20600];
	size_t kl[20600];
	int64_t *ds, *dh, *days;
	uint64_t dropped = 0;
	struct db_counts *got;
	struct tmp t;
	struct db *db;
	int i, bad = 0;
	static char names[20600][16];

	ds = calloc(20600, sizeof(*ds));
	dh = calloc(20600, sizeof(*dh));
	days = calloc(20600, sizeof(*days));
	ck_assert(ds && dh && days);
	/* 20000 tokens of day 1, seen once; 600 of day 100, 2/1. */
	for (i = 0; i < 20600; i++) {
		kl[i] = (size_t)snprintf(names[i], sizeof(names[i]), "%s-%d",
		    i < 20000 ? "old" : "new", i);
		ks[i] = names[i];
		ds[i] = i < 20000 ? 1 : 2;
		dh[i] = i < 20000 ? 0 : 1;
		days[i] = i < 20000 ? 1 + i % 40 : 100;
	}
	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	ck_assert_int_eq(db_add_tokens_days(db, 20600, ks, kl, ds, dh, NULL,
	    days), 0);
	commit(db);
	ck_level(t.path, "10");
	/* A quarter gone (days 1-10 of 1-40): the level stays. */
	ck_assert_int_eq(db_prune(db, 11, 5, &dropped), 0);
	ck_assert_uint_eq(dropped, 5000);
	ck_level(t.path, "10");
	ck_assert_int_eq(db_check(db), 0);
	/* The rest of the old ones: 600 left, level 6. */
	ck_assert_int_eq(db_prune(db, 50, 5, &dropped), 0);
	ck_assert_uint_eq(dropped, 15000);
	ck_level(t.path, "6");
	raw_text(t.path, "SELECT count(*) FROM tokb", buf, sizeof(buf));
	ck_assert_int_le(atoi(buf), 64);
	ck_assert_int_eq(db_check(db), 0);
	ck_assert_uint_eq(status(db).tokens, 600);
	for (i = 0; i < 3; i++) {
		tl[i] = (size_t)snprintf(tok[i], sizeof(tok[i]), i == 0 ?
		    "old-%d" : "new-%d", i == 0 ? 7 : 20000 + 299 * i);
		tk[i] = tok[i];
	}
	ck_assert_int_eq(db_lookup(db, 3, tk, tl, c), 0);
	ck_assert_uint_eq(c[0].spam, 0);
	ck_assert_uint_eq(c[1].spam, 2);
	ck_assert_uint_eq(c[1].ham, 1);
	ck_assert_uint_eq(c[2].spam, 2);
	/* All 600 there; then grown again, it splits as any store. */
	got = calloc(600, sizeof(*got));
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(db_lookup(db, 600, ks + 20000, kl + 20000, got), 0);
	for (i = 0; i < 600; i++)
		bad |= got[i].spam != 2 || got[i].ham != 1;
	ck_assert_int_eq(bad, 0);
	begin(db);
	ck_assert_int_eq(db_add_tokens_days(db, 3000, ks, kl, ds, dh, NULL,
	    days), 0);
	commit(db);
	ck_level(t.path, "7");
	ck_assert_int_eq(db_check(db), 0);
	ck_assert_uint_eq(status(db).tokens, 3600);
	free(got);
	db_close(db);
	tmp_remove(&t);
	free(ds);
	free(dh);
	free(days);
}
END_TEST

/* Going down, a bucket holding a token of its sibling (a copy of the
 * sibling's bytes) is refused, as a split refuses it: merged, the token
 * would come twice into one bucket, which then could not be read. */
START_TEST(test_level_down_damaged)
{
	static char names[3000][16];
	const char *ks[3000];
	size_t kl[3000];
	int64_t ds[3000], dh[3000], days[3000];
	uint64_t dropped = 0;
	struct tmp t;
	struct db *db;
	int i;

	for (i = 0; i < 3000; i++) {
		kl[i] = (size_t)snprintf(names[i], sizeof(names[i]), "p%d", i);
		ks[i] = names[i];
		ds[i] = 1;
		dh[i] = 0;
		/* Bucket 0's tokens are kept (and so is their copy). */
		days[i] = i < 2900 && bk_key(bk_hash(ks[i], kl[i]), 7) != 0 ?
		    1 : 100;
	}
	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	ck_assert_int_eq(db_add_tokens_days(db, 3000, ks, kl, ds, dh, NULL,
	    days), 0);
	commit(db);
	ck_level(t.path, "7");
	db_close(db);
	/* Keys 0 and 2^33 are siblings at level 7. */
	raw_sql(t.path, "UPDATE tokb SET data = (SELECT data FROM tokb "
	    "WHERE key = 0) WHERE key = 1 << 33");
	db = open_ok(t.path, 0, TOKV);
	ck_assert_int_eq(db_prune(db, 50, 5, &dropped), DB_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(db_errmsg(db, DB_ECORRUPT),
	    "of another"));
	/* Rolled back: as it was, and still read. */
	ck_level(t.path, "7");
	ck_assert_int_eq(db_preload(db), 0);
	ck_counts(db, "p2999", 1, 0);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_levels)
{
	struct db_counts *got;
	struct toks k;
	int64_t *ds;
	int64_t *dh;
	size_t i, from, upto;
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	toks_make_distinct(&k, 30000, 5);
	ds = calloc(k.n, sizeof(*ds));
	dh = calloc(k.n, sizeof(*dh));
	got = calloc(k.n, sizeof(*got));
	ck_assert_ptr_nonnull(ds);
	ck_assert_ptr_nonnull(dh);
	ck_assert_ptr_nonnull(got);
	db = open_ok(t.path, DB_CREATE, TOKV);
	ck_level(t.path, "6");
	/* 300 tokens, then 3000, then all: level 6, then 7, then 10. */
	for (upto = 300, from = 0; from < k.n; from = upto, upto *= 10) {
		if (upto > k.n)
			upto = k.n;
		for (i = 0; i < k.n; i++) {
			ds[i] = i < upto ? 1 : 0;
			dh[i] = i < upto ? (int64_t)(i % 3) : 0;
		}
		begin(db);
		for (i = from; i < upto; i++)
			ck_assert_int_eq(db_add_tokens(db, 1,
			    (const char *const *)&k.tok[i], &k.len[i], &ds[i],
			    &dh[i], NULL, 7), 0);
		commit(db);
		ck_assert_int_eq(db_check(db), 0);
		lookup_all(db, &k, got);
		for (i = 0; i < k.n; i++)
			if (i >= upto)
				ck_assert_uint_eq(got[i].spam, 0);
			else
				ck_assert_uint_ge(got[i].spam, 1);
	}
	ck_level(t.path, "10");
	ck_assert_uint_eq(status(db).tokens, status(db).spam_tokens);
	/* One batch of all of them again: every count doubles. */
	begin(db);
	ck_assert_int_eq(db_add_tokens(db, k.n, (const char *const *)k.tok,
	    k.len, ds, dh, NULL, 8), 0);
	commit(db);
	ck_assert_int_eq(db_check(db), 0);
	ck_assert_int_eq(db_preload(db), 0);
	lookup_all(db, &k, got);
	db_close(db);
	db = open_ok(t.path, 0, TOKV);
	{
		struct db_counts *sql = calloc(k.n, sizeof(*sql));

		ck_assert_ptr_nonnull(sql);
		lookup_all(db, &k, sql);
		same_counts(&k, sql, got);
		free(sql);
	}
	db_close(db);
	free(ds);
	free(dh);
	free(got);
	toks_free(&k);
	tmp_remove(&t);
}
END_TEST

/* The number of tok's bucket at level: 0 to 2^level - 1. */
static uint64_t
bucket_no(const char *tok, size_t len, int level)
{
	return (uint64_t)bk_key(bk_hash(tok, len), level) >>
	    (BK_KEY_BITS - level);
}

#define STORED 5000	/* test_read_paths: tokens in the store */

/* Reads and writes of a batch that wants most buckets of its key range
 * step through the range (skipping the buckets it does not want, and
 * missing ones); a batch that wants few seeks each.  Both give every
 * token its own counts: checked against what each token was given. */
START_TEST(test_read_paths)
{
	struct db_counts *got;
	struct toks k;
	int64_t *ds, *dh;
	const char **sub;
	size_t *sublen, i, n;
	uint64_t b;
	struct tmp t;
	struct db *db;
	int pass;

	db_tmp(&t);
	toks_make_distinct(&k, STORED + 2000, 11);
	ds = calloc(k.n, sizeof(*ds));
	dh = calloc(k.n, sizeof(*dh));
	got = calloc(k.n, sizeof(*got));
	sub = calloc(k.n, sizeof(*sub));
	sublen = calloc(k.n, sizeof(*sublen));
	ck_assert(ds && dh && got && sub && sublen);
	db = open_ok(t.path, DB_CREATE, TOKV);
	/* The store: the first STORED tokens, in every bucket of level 8. */
	for (i = 0; i < STORED; i++) {
		ds[i] = (int64_t)(i % 5) + 1;
		dh[i] = (int64_t)(i % 3);
	}
	begin(db);
	ck_assert_int_eq(db_add_tokens(db, STORED, (const char *const *)k.tok,
	    k.len, ds, dh, NULL, 7), 0);
	commit(db);
	ck_level(t.path, "8");
	/* Pass 0: all tokens but those of every third bucket (stored or
	 * not): a scan.  Pass 1: the tokens of 2 buckets that pass 0 left
	 * out: seeks. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0, n = 0; i < k.n; i++) {
			b = bucket_no(k.tok[i], k.len[i], 8);
			if (pass == 0 ? b % 3 == 0 : b % 192 != 6)
				continue;
			sub[n] = k.tok[i];
			sublen[n++] = k.len[i];
		}
		ck_assert_uint_gt(n, 0);
		memset(got, 0xFF, n * sizeof(*got));
		ck_assert_int_eq(db_lookup(db, n, sub, sublen, got), 0);
		for (i = 0; i < n; i++) {
			size_t at = (size_t)strtoul(sub[i], NULL, 10);

			ck_assert_uint_eq(got[i].spam, at < STORED ?
			    at % 5 + 1 : 0);
			ck_assert_uint_eq(got[i].ham, at < STORED ?
			    at % 3 : 0);
		}
		/* The same tokens once more as spam, new ones included. */
		for (i = 0; i < n; i++) {
			ds[i] = 1;
			dh[i] = 0;
		}
		begin(db);
		ck_assert_int_eq(db_add_tokens(db, n, sub, sublen, ds, dh,
		    NULL, 8), 0);
		commit(db);
		ck_assert_int_eq(db_check(db), 0);
	}
	/* Every token's counts: what it was given, plus one per pass that
	 * wanted it. */
	lookup_all(db, &k, got);
	for (i = 0; i < k.n; i++) {
		unsigned want = i < STORED ? (unsigned)(i % 5) + 1 : 0;

		b = bucket_no(k.tok[i], k.len[i], 8);
		want += (b % 3 != 0) + (b % 192 == 6);
		ck_assert_msg(got[i].spam == want, "%s: spam %u, want %u",
		    k.tok[i], got[i].spam, want);
		ck_assert_uint_eq(got[i].ham, i < STORED ? i % 3 : 0);
	}
	db_close(db);
	free(ds);
	free(dh);
	free(got);
	free(sub);
	free(sublen);
	toks_free(&k);
	tmp_remove(&t);
}
END_TEST
#undef STORED

/* db_foreach: each token's day, by its first byte ('a' to 'd'). */
static int
day_fn(void *ctx, const char *tok, size_t len, const struct db_counts *c,
    int64_t day)
{
	int64_t *days = ctx;

	if (len == 1 && tok[0] >= 'a' && tok[0] <= 'd') {
		days[tok[0] - 'a'] = day;
		days[4 + tok[0] - 'a'] = c->spam;
	}
	return 0;
}

/* A day for each token (a dump's import), any order, the same token
 * twice in turn (its last day stays); a missing day array is refused. */
START_TEST(test_add_days)
{
	const char *tk[] = { "c", "a", "b", "a", "d" };
	size_t tl[] = { 1, 1, 1, 1, 1 };
	int64_t ds[] = { 1, 2, 1, 3, 1 };
	int64_t dh[] = { 0, 0, 0, 0, 0 };
	int64_t days[] = { 30, 10, 20, 11, -4 };
	int64_t got[8] = { 0 };
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	ck_assert_int_eq(db_add_tokens_days(db, 5, tk, tl, ds, dh, NULL,
	    days), 0);
	ck_assert_int_eq(db_add_tokens_days(db, 5, tk, tl, ds, dh, NULL,
	    NULL), DB_EINVAL);
	commit(db);
	ck_assert_int_eq(db_foreach(db, day_fn, got), 0);
	ck_assert_int_eq(got[0], 11);
	ck_assert_int_eq(got[1], 20);
	ck_assert_int_eq(got[2], 30);
	ck_assert_int_eq(got[3], -4);
	ck_assert_int_eq(got[4], 5);	/* a: 2 + 3 */
	ck_assert_int_eq(got[5], 1);
	ck_assert_int_eq(db_check(db), 0);
	/* Taking counts back keeps the day (unlearning made stale tokens
	 * new, and --prune kept them; found by review); an older day
	 * never replaces a newer one. */
	{
		const char *ta[] = { "a" };
		size_t la[] = { 1 };
		int64_t down[] = { -1 }, up[] = { 1 }, no[] = { 0 };
		int64_t late[] = { 99 }, early[] = { 3 };

		begin(db);
		ck_assert_int_eq(db_add_tokens_days(db, 1, ta, la, down, no,
		    NULL, late), 0);
		ck_assert_int_eq(db_add_tokens(db, 1, ta, la, down, no, NULL,
		    99), 0);
		ck_assert_int_eq(db_add_tokens_days(db, 1, ta, la, up, no,
		    NULL, early), 0);
		commit(db);
		ck_assert_int_eq(db_foreach(db, day_fn, got), 0);
		ck_assert_int_eq(got[0], 11);
		ck_assert_int_eq(got[4], 4);	/* 5 - 2 + 1 */
	}
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* The level a store ends at counts its tokens, not the changes that
 * made them: the same token twice in a call, or again later, is one
 * token. */
START_TEST(test_level_exact)
{
	enum { N = 2100 };
	char names[N][16];
	const char *tok[2 * N];
	size_t len[2 * N];
	int64_t one[2 * N];
	size_t i;
	struct tmp t;
	struct db *db;

	for (i = 0; i < 2 * N; i++) {
		if (i < N)
			snprintf(names[i], sizeof(names[i]), "lx-%zu", i);
		one[i] = 1;
	}
	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	/* Into an empty store, 2000 tokens each twice in one call, then
	 * again in another: level 6 holds 2048. */
	for (i = 0; i < 4000; i++) {
		tok[i] = names[i % 2000];
		len[i] = strlen(tok[i]);
	}
	begin(db);
	ck_assert_int_eq(db_add_tokens(db, 4000, tok, len, one, one, NULL, 1),
	    0);
	ck_assert_int_eq(db_add_tokens(db, 2000, tok, len, one, one, NULL, 1),
	    0);
	commit(db);
	ck_level(t.path, "6");
	/* Those again and 40 new: 2040. */
	for (i = 0; i < N; i++) {
		tok[i] = names[i];
		len[i] = strlen(tok[i]);
	}
	begin(db);
	ck_assert_int_eq(db_add_tokens(db, 2040, tok, len, one, one, NULL, 2),
	    0);
	commit(db);
	ck_level(t.path, "6");
	/* 60 more: 2100, past the room. */
	begin(db);
	ck_assert_int_eq(db_add_tokens(db, N, tok, len, one, one, NULL, 3), 0);
	commit(db);
	ck_level(t.path, "7");
	ck_assert_uint_eq(status(db).tokens, N);
	ck_assert_int_eq(db_check(db), 0);
	ck_counts(db, "lx-0", 5, 5);
	ck_counts(db, "lx-2099", 1, 1);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* A counts walk whose callback looks at the store: db_status and
 * db_check scan the buckets too. */
struct nest {
	struct db *db;
	size_t calls;
	uint64_t tokens;
	int check;
};

static int
nest_fn(void *ctx, const struct db_counts *c)
{
	struct nest *n = ctx;
	struct db_status st;

	if (n->calls++ == 3) {
		ck_assert_int_eq(db_status(n->db, &st), 0);
		n->tokens = st.tokens;
		n->check = db_check(n->db);
	}
	return 0;
}

/* A walk inside a walk's callback neither restarts nor ends the outer
 * one. */
START_TEST(test_nested_scan)
{
	struct nest n = { NULL, 0, 0, -1 };
	char tok[32];
	struct tmp t;
	struct db *db;
	int i;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	for (i = 0; i < 300; i++) {
		snprintf(tok, sizeof(tok), "nest-%d", i);
		add(db, tok, 1, 0, 1);
	}
	commit(db);
	n.db = db;
	ck_assert_int_eq(db_foreach_counts(db, 0, nest_fn, &n), 0);
	ck_assert_uint_eq(n.calls, 300);
	ck_assert_uint_eq(n.tokens, 300);
	ck_assert_int_eq(n.check, 0);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* db_foreach's tokens folded into one FNV-1a hash. */
static int
fold_tok(void *ctx, const char *tok, size_t len, const struct db_counts *c,
    int64_t day)
{
	uint64_t *h = ctx;
	char buf[64];
	size_t i, n;

	for (i = 0; i < len; i++)
		*h = (*h ^ (unsigned char)tok[i]) * 0x100000001B3ULL;
	n = (size_t)snprintf(buf, sizeof(buf), "|%u %u %d %lld|", c->spam,
	    c->ham, c->w, (long long)day);
	for (i = 0; i < n; i++)
		*h = (*h ^ (unsigned char)buf[i]) * 0x100000001B3ULL;
	return 0;
}

static uint64_t
store_hash(struct db *db)
{
	uint64_t h = 0xCBF29CE484222325ULL;

	ck_assert_int_eq(db_foreach(db, fold_tok, &h), 0);
	return h;
}

/* test_split_helper's stores: HAVE tokens at 1/0, level 11; the write
 * that splits one, in one call: the second half of them again at 0/1
 * and NEW more at 1/0 (one and zero are reversed past HAVE for it). */
enum { SH_HAVE = 60000, SH_NEW = 40000, SH_STORES = 6 };

static void
split_helper_store(const char *path, struct toks *k, int64_t *one,
    int64_t *zero)
{
	struct db *db = open_ok(path, DB_CREATE, TOKV);

	begin(db);
	ck_assert_int_eq(db_add_tokens(db, SH_HAVE,
	    (const char *const *)k->tok, k->len, one, zero, NULL, 2), 0);
	commit(db);
	db_close(db);
	ck_level(path, "11");
}

/* n distinct tokens (seed) in k, one[] all 1 and zero[] all 0. */
static void
split_helper_toks(struct toks *k, size_t n, uint64_t seed, int64_t **one,
    int64_t **zero)
{
	size_t i;

	toks_make_distinct(k, n, seed);
	*one = calloc(n, sizeof(**one));
	*zero = calloc(n, sizeof(**zero));
	ck_assert(*one != NULL && *zero != NULL);
	for (i = 0; i < n; i++)
		(*one)[i] = 1;
}

/* Close and remove n stores, free what split_helper_toks made. */
static void
split_helper_done(struct tmp *t, struct db **db, size_t n, struct toks *k,
    int64_t *one, int64_t *zero)
{
	size_t i;

	for (i = 0; i < n; i++) {
		db_close(db[i]);
		tmp_remove(&t[i]);
	}
	free(t);
	free(one);
	free(zero);
	toks_free(k);
}

/* The write, inside the caller's transaction. */
static int
split_helper_add(struct db *db, struct toks *k, int64_t *one, int64_t *zero)
{
	const size_t from = SH_HAVE / 2;

	return db_add_tokens(db, SH_HAVE / 2 + SH_NEW,
	    (const char *const *)k->tok + from, k->len + from, zero + from,
	    one + from, NULL, 3);
}

/* A write that splits 2048 buckets or more, with db_set_threads: the
 * upper half read, merged and split on a second thread makes the store
 * one thread makes (0: one thread, 1: two).  Not after a write of the
 * same transaction, whose changes the second handle would not see (3,
 * against 4 on one thread); a share that fails is done again here (5);
 * a damaged bucket in that half fails the write as on one thread, the
 * store left as it was (2). */
START_TEST(test_split_helper)
{
	struct tmp *t = calloc(SH_STORES, sizeof(*t));
	struct db *db[SH_STORES];
	struct toks k;
	int64_t *one, *zero, count = 0;
	uint64_t h[SH_STORES];
	size_t i;

	ck_assert_ptr_nonnull(t);
	split_helper_toks(&k, SH_HAVE + SH_NEW, 29, &one, &zero);
	for (i = 0; i < SH_STORES; i++) {
		db_tmp(&t[i]);
		split_helper_store(t[i].path, &k, one, zero);
	}
	for (i = SH_HAVE; i < k.n; i++) {
		zero[i] = 1;
		one[i] = 0;
	}
	for (i = 0; i < SH_STORES; i++) {
		if (i == 2)
			raw_sql(t[i].path, "UPDATE tokb SET data = x'07' WHERE "
			    "key = (SELECT max(key) FROM tokb)");
		db[i] = open_ok(t[i].path, 0, TOKV);
		db_set_threads(db[i], i != 0 && i != 4);
		begin(db[i]);
		/* 3 and 4: 500 tokens of the store first, their spam
		 * counts up by one, in the same transaction. */
		if (i == 3 || i == 4)
			ck_assert_int_eq(db_add_tokens(db[i], 500,
			    (const char *const *)k.tok, k.len, one, zero,
			    NULL, 3), 0);
		if (i == 5)
			ck_assert_int_eq(setenv("SPAMSIFT_TEST_HELPER_FAIL",
			    "1", 1), 0);
		if (i == 2) {
			ck_assert_int_eq(split_helper_add(db[i], &k, one,
			    zero), DB_ECORRUPT);
			continue;
		}
		ck_assert_int_eq(split_helper_add(db[i], &k, one, zero), 0);
		unsetenv("SPAMSIFT_TEST_HELPER_FAIL");
		commit(db[i]);
		ck_level(t[i].path, "12");
		ck_assert_int_eq(db_check(db[i]), 0);
		ck_assert_uint_eq(status(db[i]).tokens, SH_HAVE + SH_NEW);
		h[i] = store_hash(db[i]);
	}
	ck_assert_uint_eq(db_helper_runs(db[0]), 0);
	ck_assert_uint_eq(db_helper_runs(db[1]), 1);
	ck_assert(h[1] == h[0]);
	ck_counts(db[1], k.tok[SH_HAVE - 1], 1, 1);
	ck_counts(db[1], k.tok[SH_HAVE + SH_NEW - 1], 1, 0);
	ck_assert_uint_eq(db_helper_runs(db[3]), 0);
	ck_assert(h[3] == h[4] && h[3] != h[0]);
	ck_counts(db[3], k.tok[0], 2, 0);
	ck_assert_uint_eq(db_helper_runs(db[5]), 0);
	ck_assert(h[5] == h[0]);

	ck_assert_ptr_nonnull(strstr(db_errmsg(db[2], DB_ECORRUPT),
	    "damaged"));
	ck_assert_uint_eq(db_helper_runs(db[2]), 0);
	db_rollback(db[2]);
	ck_level(t[2].path, "11");
	ck_assert_int_eq(db_meta_get(db[2], "tok_count", &count), 0);
	ck_assert_int_eq(count, SH_HAVE);
	ck_assert_int_eq(db_check(db[2]), DB_ECORRUPT);
	split_helper_done(t, db, SH_STORES, &k, one, zero);
}
END_TEST

/* A write near the room of a store of level 11 (SH_HAVE tokens, 6000
 * more) is queued whole, then every bucket split (bk_relevel): with
 * db_set_threads the upper half on a second thread, to the store one
 * thread makes (0: one thread, 1: two); a share that fails is done
 * again here (2). */
START_TEST(test_relevel_helper)
{
	enum { MORE = 6000, STORES = 3 };
	struct tmp *t = calloc(STORES, sizeof(*t));
	struct db *db[STORES];
	struct toks k;
	int64_t *one, *zero;
	uint64_t h[STORES];
	size_t i;

	ck_assert_ptr_nonnull(t);
	split_helper_toks(&k, SH_HAVE + MORE, 31, &one, &zero);
	for (i = 0; i < STORES; i++) {
		db_tmp(&t[i]);
		split_helper_store(t[i].path, &k, one, zero);
		db[i] = open_ok(t[i].path, 0, TOKV);
		db_set_threads(db[i], i > 0);
		if (i == 2)
			ck_assert_int_eq(setenv("SPAMSIFT_TEST_HELPER_FAIL",
			    "1", 1), 0);
		begin(db[i]);
		ck_assert_int_eq(db_add_tokens(db[i], MORE,
		    (const char *const *)k.tok + SH_HAVE, k.len + SH_HAVE,
		    one, zero, NULL, 3), 0);
		unsetenv("SPAMSIFT_TEST_HELPER_FAIL");
		commit(db[i]);
		ck_level(t[i].path, "12");
		ck_assert_int_eq(db_check(db[i]), 0);
		ck_assert_uint_eq(status(db[i]).tokens, SH_HAVE + MORE);
		h[i] = store_hash(db[i]);
	}
	ck_assert_uint_eq(db_helper_runs(db[0]), 0);
	ck_assert_uint_eq(db_helper_runs(db[1]), 1);
	ck_assert_uint_eq(db_helper_runs(db[2]), 0);
	ck_assert(h[1] == h[0] && h[2] == h[0]);
	ck_counts(db[1], k.tok[0], 1, 0);
	ck_counts(db[1], k.tok[SH_HAVE + MORE - 1], 1, 0);
	split_helper_done(t, db, STORES, &k, one, zero);
}
END_TEST

/* test_order_ahead's write of n of k's tokens from the first, with
 * db_order_ahead of the same tokens first when ahead (the arrays of
 * other's tokens, of the same number, when other is not NULL). */
static void
ahead_add(struct db *db, int ahead, struct toks *k, struct toks *other,
    size_t n, int64_t *ds, int64_t *dh)
{
	struct toks *a = other != NULL ? other : k;

	begin(db);
	if (ahead)
		ck_assert_int_eq(db_order_ahead(db, n,
		    (const char *const *)a->tok, a->len), 0);
	ck_assert_int_eq(db_add_tokens(db, n, (const char *const *)k->tok,
	    k->len, ds, dh, NULL, 2), 0);
	commit(db);
	ck_assert_int_eq(db_check(db), 0);
}

/* db_order_ahead orders a batch on a second thread for the write that
 * follows with the same arrays: the store is the one the write makes
 * alone (0: one thread, no order made), into an empty store (its level
 * from the number of tokens) and into one with tokens (1).  A write of
 * other tokens (2), or one whose level is not the one the order was
 * made for (3: a fifth of its rows take nothing away and add nothing,
 * so that the store needs a level less; 4: the same on one thread),
 * orders its batch itself.  A batch under 16384 tokens starts no thread
 * (1's third write); a rollback and a close drop a thread's order (5).
 * A write with weights and days takes the order, its rows copied out
 * again for room for both (6, against 7 on one thread); a batch in which
 * a fifth of the tokens come twice takes it too, and is then ordered for
 * the level its distinct tokens need (8, against 9).  A write that fails
 * drops the order: the caller's arrays filled again with other tokens
 * are written as they are (10). */
START_TEST(test_order_ahead)
{
	enum { N = 20000, SMALL = 1000, STORES = 11 };
	struct tmp *t = calloc(STORES, sizeof(*t));
	struct db *db[STORES];
	struct toks k, o;
	int64_t *one, *zero, *part, *days;
	const char **dt;
	size_t *dl;
	uint64_t h[STORES];
	size_t i;

	ck_assert_ptr_nonnull(t);
	split_helper_toks(&k, N, 37, &one, &zero);
	toks_make_distinct(&o, N, 41);
	part = malloc(N * sizeof(*part));
	days = malloc(N * sizeof(*days));
	dt = malloc(N * sizeof(*dt));
	dl = malloc(N * sizeof(*dl));
	ck_assert(part != NULL && days != NULL && dt != NULL && dl != NULL);
	for (i = 0; i < N; i++) {
		part[i] = i % 5 != 0;
		days[i] = 100 + (int64_t)(i % 7);
		dt[i] = k.tok[i < N - N / 5 ? i : i - (N - N / 5)];
		dl[i] = k.len[i < N - N / 5 ? i : i - (N - N / 5)];
	}
	for (i = 0; i < STORES; i++) {
		db_tmp(&t[i]);
		db[i] = open_ok(t[i].path, DB_CREATE, TOKV);
		db_set_threads(db[i], i != 0 && i != 4 && i != 7 && i != 9);
	}
	ahead_add(db[0], 1, &k, NULL, N, one, zero);
	ahead_add(db[1], 1, &k, NULL, N, one, zero);
	ck_assert_uint_eq(db_ahead_runs(db[0]), 0);
	ck_assert_uint_eq(db_ahead_runs(db[1]), 1);
	ck_level(t[1].path, "10");
	ck_assert(store_hash(db[1]) == store_hash(db[0]));
	ahead_add(db[0], 1, &k, NULL, N, zero, one);
	ahead_add(db[1], 1, &k, NULL, N, zero, one);
	ck_assert_uint_eq(db_ahead_runs(db[1]), 2);
	ck_counts(db[1], k.tok[N - 1], 1, 1);
	ahead_add(db[0], 1, &k, NULL, SMALL, one, zero);
	ahead_add(db[1], 1, &k, NULL, SMALL, one, zero);
	ck_assert_uint_eq(db_ahead_runs(db[1]), 2);
	ck_assert(store_hash(db[1]) == store_hash(db[0]));

	ahead_add(db[2], 1, &k, &o, N, one, zero);
	ck_assert_uint_eq(db_ahead_runs(db[2]), 0);
	h[2] = store_hash(db[2]);
	ahead_add(db[3], 1, &k, NULL, N, part, zero);
	ahead_add(db[4], 1, &k, NULL, N, part, zero);
	ck_assert_uint_eq(db_ahead_runs(db[3]), 0);
	ck_level(t[3].path, "9");
	ck_assert(store_hash(db[3]) == store_hash(db[4]));
	ck_assert_uint_eq(status(db[3]).tokens, N - N / 5);

	begin(db[5]);
	ck_assert_int_eq(db_order_ahead(db[5], N,
	    (const char *const *)k.tok, k.len), 0);
	db_rollback(db[5]);
	ck_assert_int_eq(db_order_ahead(db[5], N,
	    (const char *const *)k.tok, k.len), DB_EINVAL);
	ahead_add(db[5], 0, &k, NULL, N, one, zero);
	ck_assert_uint_eq(db_ahead_runs(db[5]), 0);
	ck_assert(store_hash(db[5]) == h[2]);
	begin(db[5]);
	ck_assert_int_eq(db_order_ahead(db[5], N,
	    (const char *const *)o.tok, o.len), 0);
	db_close(db[5]);	/* before o goes */
	db[5] = NULL;

	for (i = 6; i <= 7; i++) {
		begin(db[i]);
		ck_assert_int_eq(db_order_ahead(db[i], N,
		    (const char *const *)k.tok, k.len), 0);
		ck_assert_int_eq(db_add_tokens_days(db[i], N,
		    (const char *const *)k.tok, k.len, one, zero, zero, days),
		    0);
		commit(db[i]);
		ck_assert_int_eq(db_check(db[i]), 0);
	}
	ck_assert_uint_eq(db_ahead_runs(db[6]), 1);
	ck_assert(store_hash(db[6]) == store_hash(db[7]));
	for (i = 8; i <= 9; i++) {
		begin(db[i]);
		ck_assert_int_eq(db_order_ahead(db[i], N, dt, dl), 0);
		ck_assert_int_eq(db_add_tokens(db[i], N, dt, dl, one, zero,
		    NULL, 2), 0);
		commit(db[i]);
		ck_assert_int_eq(db_check(db[i]), 0);
		ck_level(t[i].path, "9");
	}
	ck_assert_uint_eq(db_ahead_runs(db[8]), 1);
	ck_assert(store_hash(db[8]) == store_hash(db[9]));
	ck_counts(db[8], k.tok[0], 2, 0);

	for (i = 0; i < N; i++) {
		dt[i] = k.tok[i];
		dl[i] = k.len[i];
	}
	begin(db[10]);
	ck_assert_int_eq(db_order_ahead(db[10], N, dt, dl), 0);
	ck_assert_int_eq(db_add_tokens(db[10], N, dt, dl, NULL, zero, NULL,
	    2), DB_EINVAL);
	for (i = 0; i < N; i++) {
		dt[i] = o.tok[i];
		dl[i] = o.len[i];
	}
	ck_assert_int_eq(db_add_tokens(db[10], N, dt, dl, one, zero, NULL,
	    2), 0);
	commit(db[10]);
	ck_assert_int_eq(db_check(db[10]), 0);
	ck_assert_uint_eq(db_ahead_runs(db[10]), 0);
	ck_counts(db[10], o.tok[N - 1], 1, 0);
	ck_assert_uint_eq(status(db[10]).tokens, N);
	free(days);
	free(dt);
	free(dl);
	free(part);
	toks_free(&o);
	split_helper_done(t, db, STORES, &k, one, zero);
}
END_TEST

/* test_commit_walk's db_counts_fn: tokens and their counts summed; it
 * stops the walk with 7 after stop tokens (0: never). */
struct walk_sum {
	uint64_t n, spam, ham;
	uint64_t stop;
};

static int
walk_sum(void *ctx, const struct db_counts *c)
{
	struct walk_sum *w = ctx;

	w->n++;
	w->spam += c->spam;
	w->ham += c->ham;
	return w->stop != 0 && w->n >= w->stop ? 7 : 0;
}

/* Whether the WAL's frames are all copied into the store: the WAL
 * index's mxFrame (its header's bytes 16-19) against nBackfill (the
 * checkpoint info's first 4 bytes, after the header's two copies), in
 * the host's order as SQLite keeps them (sqlite.org/walformat.html). */
static int
wal_backfilled(const char *path)
{
	char shm[160];	/* struct tmp's path and "-shm" */
	unsigned char b[100];
	uint32_t mx, done;
	FILE *f;

	snprintf(shm, sizeof(shm), "%s-shm", path);
	f = fopen(shm, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(b, 1, sizeof(b), f), sizeof(b));
	fclose(f);
	memcpy(&mx, b + 16, 4);
	memcpy(&done, b + 96, 4);
	ck_assert_uint_gt(mx, 0);
	return done == mx;
}

/* db_commit_walk with db_set_threads walks the store as the commit left
 * it on a second thread, as db_foreach_counts does after it, while the
 * commit's frames go into the store (1: a second write of every bucket,
 * past SQLite's 1000 frames); on one thread, in DELETE mode, with the
 * second thread failing or stopped by fn, it commits and says it did not
 * walk (0, 2, 3, 4), and the store is the same.  Later commits copy
 * theirs as before. */
START_TEST(test_commit_walk)
{
	enum { STORES = 5 };
	struct tmp *t = calloc(STORES, sizeof(*t));
	struct db *db[STORES];
	struct walk_sum got, want;
	struct toks k;
	int64_t *one, *zero;
	uint64_t h[STORES];
	size_t i;
	int walked;

	ck_assert_ptr_nonnull(t);
	split_helper_toks(&k, SH_HAVE, 43, &one, &zero);
	for (i = 0; i < STORES; i++) {
		db_tmp(&t[i]);
		if (i == 2)
			ck_assert_int_eq(setenv("SPAMSIFT_FORCE_NETFS", "1",
			    1), 0);
		db[i] = open_ok(t[i].path, DB_CREATE, TOKV);
		unsetenv("SPAMSIFT_FORCE_NETFS");
		db_set_threads(db[i], i != 0);
		begin(db[i]);
		ck_assert_int_eq(db_add_tokens(db[i], SH_HAVE,
		    (const char *const *)k.tok, k.len, one, zero, NULL, 2), 0);
		commit(db[i]);
		begin(db[i]);
		ck_assert_int_eq(db_add_tokens(db[i], SH_HAVE,
		    (const char *const *)k.tok, k.len, zero, one, NULL, 2), 0);
		memset(&got, 0, sizeof(got));
		got.stop = i == 4 ? 100 : 0;
		if (i == 3)
			ck_assert_int_eq(setenv("SPAMSIFT_TEST_HELPER_FAIL",
			    "1", 1), 0);
		ck_assert_int_eq(db_commit_walk(db[i], 2, walk_sum, &got,
		    &walked), 0);
		unsetenv("SPAMSIFT_TEST_HELPER_FAIL");
		ck_assert_int_eq(walked, i == 1);
		ck_assert_uint_eq(db_walk_runs(db[i]), i == 1);
		if (i == 1) {
			memset(&want, 0, sizeof(want));
			ck_assert_int_eq(db_foreach_counts(db[i], 2, walk_sum,
			    &want), 0);
			ck_assert_uint_eq(got.n, SH_HAVE);
			ck_assert(got.n == want.n && got.spam == want.spam &&
			    got.ham == want.ham);
			ck_assert(wal_backfilled(t[i].path));
		}
		ck_assert_int_eq(db_check(db[i]), 0);
		h[i] = store_hash(db[i]);
		ck_assert(h[i] == h[0]);
	}
	for (i = 0; i < 2; i++) {
		begin(db[1]);
		ck_assert_int_eq(db_add_tokens(db[1], SH_HAVE,
		    (const char *const *)k.tok, k.len, one, zero, NULL, 2),
		    0);
		commit(db[1]);
	}
	ck_assert_uint_eq(db_walk_runs(db[1]), 1);
	ck_assert(wal_backfilled(t[1].path));
	split_helper_done(t, db, STORES, &k, one, zero);
}
END_TEST

/* A bucket holding another's tokens stops a split (it would overwrite
 * that bucket's child) and the call changes nothing; a token count
 * beyond any store is damage too. */
START_TEST(test_split_damaged)
{
	struct db_counts before, after;
	const char *tk = "dmg-10";
	size_t tl = 6;
	char tok[32];
	struct toks k;
	int64_t *ds;
	size_t i;
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	for (i = 0; i < 2000; i++) {	/* level 6 holds 2048 */
		snprintf(tok, sizeof(tok), "dmg-%zu", i);
		add(db, tok, 1, 0, 1);
	}
	commit(db);
	ck_assert_int_eq(db_lookup(db, 1, &tk, &tl, &before), 0);
	db_close(db);
	raw_sql(t.path, "UPDATE tokb SET data = (SELECT data FROM tokb "
	    "WHERE key = 0) WHERE key = 1 << 34");	/* level 6 */
	db = open_ok(t.path, 0, TOKV);
	toks_make(&k, 200, 17);
	ds = calloc(k.n, sizeof(*ds));
	ck_assert_ptr_nonnull(ds);
	for (i = 0; i < k.n; i++)
		ds[i] = 1;
	begin(db);
	ck_assert_int_eq(db_add_tokens(db, k.n, (const char *const *)k.tok,
	    k.len, ds, ds, NULL, 2), DB_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(db_errmsg(db, DB_ECORRUPT),
	    "of another"));
	db_rollback(db);
	ck_level(t.path, "6");
	ck_assert_int_eq(db_lookup(db, 1, &tk, &tl, &after), 0);
	ck_assert_uint_eq(after.spam, before.spam);
	ck_assert_int_eq(db_check(db), DB_ECORRUPT);
	db_close(db);

	raw_sql(t.path, "UPDATE meta SET value = 9223372036854775807 "
	    "WHERE key = 'tok_count'");
	db = open_ok(t.path, 0, TOKV);
	begin(db);
	ck_assert_int_eq(db_add_token(db, "x", 1, 1, 0, 0, 2), DB_ECORRUPT);
	db_rollback(db);
	db_close(db);
	free(ds);
	toks_free(&k);
	tmp_remove(&t);
}
END_TEST

/* A schema 2 store (tokens one to a row, with weights): "old" 2/1 day 5
 * weight -7, "new" 0/4 day 9 weight 3; n more tokens "t<i>" at i/1;
 * with bad, rows no bucket takes (0/0, an empty key) and a blob key,
 * which reads as its bytes. */
static void
make_v2(const char *path, int n, int bad)
{
	char sql[1024];
	int i;

	make_v1(path);
	raw_sql(path, "ALTER TABLE token ADD COLUMN w INTEGER NOT NULL "
	    "DEFAULT 0; ALTER TABLE msg ADD COLUMN g INTEGER NOT NULL "
	    "DEFAULT 0; UPDATE token SET w = -7; "
	    "INSERT INTO token VALUES('new', 0, 4, 9, 3); "
	    "PRAGMA user_version = 2");
	if (bad)
		raw_sql(path, "INSERT INTO token VALUES('zero', 0, 0, 9, 0), "
		    "('', 1, 1, 9, 0), (x'ff41', 1, 1, 9, 0)");
	for (i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO token VALUES('t%d', %d, "
		    "1, 1, 0)", i, i);
		raw_sql(path, sql);
	}
}

/* A schema 3 store: make_v2's tokens in buckets under schema 3's keys
 * (bk_key3): upgraded by this version, then keyed back. */
static void
make_v3(const char *path, int n)
{
	struct db *db;

	make_v2(path, n, 0);
	chmod(path, 0600);
	db = open_ok(path, 0, TOKV);
	db_close(db);
	raw_sql(path, "CREATE TABLE tokb3(key INTEGER PRIMARY KEY, data BLOB "
	    "NOT NULL); INSERT INTO tokb3 SELECT (1 << l) | (key >> (40 - l)), "
	    "data FROM tokb, (SELECT value AS l FROM meta WHERE key = "
	    "'tok_level'); DROP TABLE tokb; ALTER TABLE tokb3 RENAME TO tokb; "
	    "PRAGMA user_version = 3; PRAGMA journal_mode = DELETE");
}

/* db_foreach: the token "old"'s counts, weight and day into ctx. */
struct old_tok {
	struct db_counts c;
	int64_t day;
	size_t n;
};

static int
old_fn(void *ctx, const char *tok, size_t len, const struct db_counts *c,
    int64_t day)
{
	struct old_tok *o = ctx;

	o->n++;
	if (len == 3 && memcmp(tok, "old", 3) == 0) {
		o->c = *c;
		o->day = day;
	}
	return 0;
}

/* A schema 2 store is upgraded to buckets: every token with its counts,
 * weight and day, the rows no bucket takes left behind, the count and
 * the level right for its size. */
START_TEST(test_migrate_v2)
{
	const char *tk[] = { "old", "new", "t0", "t1", "t4999" };
	size_t tl[] = { 3, 3, 2, 2, 5 };
	struct db_counts c[5];
	struct old_tok o = { { 0, 0, 0 }, 0, 0 };
	char buf[32];
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	make_v2(t.path, 5000, 1);
	chmod(t.path, 0600);
	db = open_ok(t.path, 0, TOKV);
	ck_assert_int_eq(status(db).schema_version, 4);
	ck_assert_int_eq(db_lookup(db, 5, tk, tl, c), 0);
	ck_assert_uint_eq(c[0].spam, 2);
	ck_assert_uint_eq(c[0].ham, 1);
	ck_assert_int_eq(c[0].w, -7);
	ck_assert_uint_eq(c[1].ham, 4);
	ck_assert_int_eq(c[1].w, 3);
	ck_assert_uint_eq(c[2].spam, 0);	/* t0 was 0/1 */
	ck_assert_uint_eq(c[2].ham, 1);
	ck_assert_uint_eq(c[3].spam, 1);
	ck_assert_uint_eq(c[4].spam, 4999);
	ck_assert_int_eq(db_foreach(db, old_fn, &o), 0);
	ck_assert_uint_eq(o.n, 5003);
	ck_assert_int_eq(o.day, 5);
	ck_assert_uint_eq(status(db).tokens, 5003);
	ck_assert_int_eq(db_check(db), 0);
	ck_level(t.path, "8");
	raw_text(t.path, "SELECT count(*) FROM sqlite_master WHERE name = "
	    "'token'", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0");
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* A schema 3 store is rekeyed: every token found where it was, the level
 * and count kept, the keys bk_key's; then it splits like any other. */
START_TEST(test_migrate_v3)
{
	const char *tk[] = { "old", "new", "t0", "t1", "t4999" };
	size_t tl[] = { 3, 3, 2, 2, 5 };
	struct db_counts c[5];
	struct old_tok o = { { 0, 0, 0 }, 0, 0 };
	char buf[32], tok[32];
	struct tmp t;
	struct db *db;
	int i;

	db_tmp(&t);
	make_v3(t.path, 5000);
	raw_text(t.path, "SELECT min(key) FROM tokb", buf, sizeof(buf));
	ck_assert_str_eq(buf, "256");
	db = open_ok(t.path, 0, TOKV);
	ck_assert_int_eq(status(db).schema_version, 4);
	ck_assert_int_eq(db_lookup(db, 5, tk, tl, c), 0);
	ck_assert_uint_eq(c[0].spam, 2);
	ck_assert_int_eq(c[0].w, -7);
	ck_assert_uint_eq(c[1].ham, 4);
	ck_assert_uint_eq(c[2].ham, 1);
	ck_assert_uint_eq(c[4].spam, 4999);
	ck_assert_int_eq(db_foreach(db, old_fn, &o), 0);
	ck_assert_uint_eq(o.n, 5002);
	ck_assert_uint_eq(status(db).tokens, 5002);
	ck_assert_int_eq(db_check(db), 0);
	raw_text(t.path, "SELECT count(*) FROM tokb WHERE key % (1 << 32) "
	    "!= 0 OR key < 0 OR key >= 1 << 40", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0");
	ck_level(t.path, "8");
	begin(db);
	for (i = 0; i < 5000; i++) {
		snprintf(tok, sizeof(tok), "more%d", i);
		add(db, tok, 1, 0, 9);
	}
	commit(db);
	ck_level(t.path, "9");
	ck_assert_int_eq(db_check(db), 0);
	ck_assert_int_eq(db_lookup(db, 5, tk, tl, c), 0);
	ck_assert_uint_eq(c[4].spam, 4999);
	db_close(db);
	tmp_remove(&t);
	/* A key not of the level would be rekeyed onto another's. */
	db_tmp(&t);
	make_v3(t.path, 0);
	raw_sql(t.path, "UPDATE tokb SET key = 1 WHERE key = (SELECT min(key) "
	    "FROM tokb)");
	open_fails(t.path, 0, TOKV, DB_ECORRUPT, "not of level");
	tmp_remove(&t);
}
END_TEST

/* A schema 1 store (before the weights) is upgraded in place: its tokens
 * and totals kept, weights 0. */
START_TEST(test_migrate_v1)
{
	const char *tk = "old";
	size_t tl = 3;
	struct db_counts c;
	struct db_status st;
	int64_t base = 0;
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	make_v1(t.path);
	chmod(t.path, 0600);
	/* Opened read-only (a delivery), it is upgraded all the same. */
	db = open_ok(t.path, DB_READONLY, TOKV);
	ck_assert_int_eq(db_lookup(db, 1, &tk, &tl, &c), 0);
	ck_assert_uint_eq(c.spam, 2);
	ck_assert_int_eq(db_begin(db), DB_EPERM);
	db_close(db);
	db = open_ok(t.path, 0, TOKV);
	st = status(db);
	ck_assert_int_eq(st.schema_version, 4);
	ck_assert_uint_eq(st.spam_msgs, 3);
	ck_assert_int_eq(db_meta_get(db, "lr_msgs", &base), DB_ENOENT);
	ck_assert_int_eq(db_lookup(db, 1, &tk, &tl, &c), 0);
	ck_assert_uint_eq(c.spam, 2);
	ck_assert_int_eq(c.w, 0);
	ck_assert_int_eq(db_check(db), 0);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

/* db_foreach_msg over make_v1's one message: its day into ctx's spam
 * when it reads as made, and g is 0. */
static int
one_msg_fn(void *ctx, const unsigned char digest[DB_DIGEST_BYTES],
    enum db_class cls, int scaled, const char *msgid, int64_t g,
    int64_t day)
{
	static const unsigned char zero[DB_DIGEST_BYTES];

	if (memcmp(digest, zero, sizeof(zero)) == 0 && cls == DB_SPAM &&
	    !scaled && msgid == NULL && g == 0)
		((struct db_counts *)ctx)->spam = (uint32_t)day;
	return 0;
}

/* Read a schema 1 or 2 store (make_v1, make_v2) that cannot be
 * written, in a child that is not root (root writes anything): 0 when
 * it reads as expected. */
static int
read_old(const char *path, int version)
{
	const int32_t w = version == 1 ? 0 : -7;
	struct old_tok o = { { 0, 0, 0 }, 0, 0 };
	const char *tk = "old";
	size_t tl = 3;
	struct db_counts c;
	struct db_status st;
	struct db *db = NULL;

	if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
		return 10;
	if (db_open(&db, path, DB_READONLY, TOKV, BUSY_MS) != 0)
		return 11;
	if (db_lookup(db, 1, &tk, &tl, &c) != 0 || c.spam != 2 || c.w != w)
		return 12;
	if (db_status(db, &st) != 0 || st.schema_version != version)
		return 13;
	if (db_check(db) != 0)
		return 14;
	if (db_preload(db) != 0 || db_lookup(db, 1, &tk, &tl, &c) != 0 ||
	    c.ham != 1)
		return 15;
	if (db_foreach(db, old_fn, &o) != 0 || o.c.spam != 2 ||
	    o.c.w != w || o.day != 5)
		return 16;
	if (db_foreach_msg(db, one_msg_fn, &c) != 0 || c.spam != 5)
		return 17;
	db_close(db);
	return 0;
}

/* Make a store of schema version (1 or 2) that the reader cannot write
 * and read it in a child: 0 when it reads as made. */
static int
run_read_old(int version)
{
	struct tmp t;
	pid_t pid;
	int status = -1;

	db_tmp(&t);
	if (version == 1)
		make_v1(t.path);
	else if (version == 2)
		make_v2(t.path, 0, 0);
	else
		make_v3(t.path, 0);
	ck_assert_int_eq(chmod(t.path, 0444), 0);
	ck_assert_int_eq(chmod(t.dir, 0555), 0);
	/* The store belongs to whoever reads it (spamsift checks). */
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(t.path, 65534, 65534), 0);
		ck_assert_int_eq(chown(t.dir, 65534, 65534), 0);
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(read_old(t.path, version));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	chmod(t.dir, 0700);
	tmp_remove(&t);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A schema 1 store whose file cannot be written is read as it is, with
 * no weights: a shared or read-only store stays usable. */
START_TEST(test_read_schema1)
{
	ck_assert_int_eq(run_read_old(1), 0);
}
END_TEST

/* So is a schema 2 store (token rows, weights) after the buckets came. */
START_TEST(test_read_schema2)
{
	ck_assert_int_eq(run_read_old(2), 0);
}
END_TEST

/* And a schema 3 store (buckets under bk_key3's keys). */
START_TEST(test_read_schema3)
{
	ck_assert_int_eq(run_read_old(3), 0);
}
END_TEST

/* A schema 3 store read as it is (it could not be written) and then
 * upgraded by its owner: the open reader's next lookup fails, rather
 * than look for its tokens under keys that are no longer theirs. */
START_TEST(test_read_schema3_upgraded)
{
	const char *tk = "old";
	size_t tl = 3;
	struct db_counts c;
	struct tmp t;
	struct db *db = NULL;
	int p1[2], p2[2], rc, wst = -1;
	char x = 0;
	pid_t pid;

	db_tmp(&t);
	make_v3(t.path, 0);
	ck_assert_int_eq(chmod(t.path, 0444), 0);
	/* The store and its directory belong to the reader. */
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(t.path, 65534, 65534), 0);
		ck_assert_int_eq(chown(t.dir, 65534, 65534), 0);
	}
	ck_assert_int_eq(pipe(p1), 0);
	ck_assert_int_eq(pipe(p2), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) != 0 ||
		    setuid(65534) != 0))
			_exit(10);
		if (db_open(&db, t.path, DB_READONLY, TOKV, BUSY_MS) != 0)
			_exit(11);
		if (db_lookup(db, 1, &tk, &tl, &c) != 0 || c.spam != 2)
			_exit(12);
		if (write(p1[1], &x, 1) != 1 || read(p2[0], &x, 1) != 1)
			_exit(13);
		rc = db_lookup(db, 1, &tk, &tl, &c);
		if (rc != DB_EVERSION ||
		    strstr(db_errmsg(db, rc), "upgraded") == NULL) {
			fprintf(stderr, "reader: %d %s\n", rc,
			    db_errmsg(db, rc));
			_exit(14);
		}
		_exit(0);
	}
	close(p1[1]);
	close(p2[0]);
	/* The child's first lookup is done (or it failed: no byte). */
	if (read(p1[0], &x, 1) != 1) {
		waitpid(pid, &wst, 0);
		ck_abort_msg("reader failed: status %d", WEXITSTATUS(wst));
	}
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(t.path, 0, 0), 0);
		ck_assert_int_eq(chown(t.dir, 0, 0), 0);
	}
	ck_assert_int_eq(chmod(t.path, 0600), 0);
	/* Upgraded in a rollback journal, as on a network file system:
	 * WAL would shut the reader out (no -shm it may make). */
	setenv("SPAMSIFT_FORCE_NETFS", "1", 1);
	db = open_ok(t.path, 0, TOKV);
	unsetenv("SPAMSIFT_FORCE_NETFS");
	ck_assert_int_eq(status(db).schema_version, 4);
	ck_counts(db, "old", 2, 1);
	db_close(db);
	ck_assert_int_eq(write(p2[1], &x, 1), 1);
	ck_assert_int_eq(waitpid(pid, &wst, 0), pid);
	close(p1[0]);
	close(p2[1]);
	tmp_remove(&t);
	ck_assert(WIFEXITED(wst));
	ck_assert_int_eq(WEXITSTATUS(wst), 0);
}
END_TEST

START_TEST(test_today)
{
	int64_t now = (int64_t)time(NULL) / 86400;
	int64_t d = db_today();

	ck_assert_int_ge(d, now - 1);
	ck_assert_int_le(d, now + 1);
	ck_assert_int_gt(d, 19000);	/* after 2022 */
}
END_TEST

/*
 * concurrency and journal
 */

START_TEST(test_two_handles)
{
	uint64_t s;
	uint64_t h;
	struct tmp t;
	struct db *a;
	struct db *b;

	db_tmp(&t);
	a = open_ok(t.path, DB_CREATE, TOKV);
	b = open_ok(t.path, 0, TOKV);
	ck_counts(b, "shared", 0, 0);
	begin(a);
	add(a, "shared", 2, 1, 1);
	ck_assert_int_eq(db_add_totals(a, 1, 0), 0);
	/* Uncommitted writes are not seen by the other handle. */
	ck_counts(b, "shared", 0, 0);
	commit(a);
	ck_counts(b, "shared", 2, 1);
	ck_assert_int_eq(db_totals(b, &s, &h), 0);
	ck_assert_uint_eq(s, 1);
	begin(b);
	add(b, "shared", 1, 0, 2);
	commit(b);
	ck_counts(a, "shared", 3, 1);
	db_close(a);
	db_close(b);
	tmp_remove(&t);
}
END_TEST

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)((t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

static void
busy_case(const char *path, const char *hint)
{
	struct timespec t0;
	struct db *a;
	struct db *b = NULL;
	const char *msg;
	long ms;
	int rc;

	a = open_ok(path, 0, TOKV);
	rc = db_open(&b, path, 0, TOKV, 100);
	ck_assert_msg(rc == 0, "%s", db_errmsg(b, rc));
	begin(a);
	add(a, "w", 1, 0, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = db_begin(b);
	ms = elapsed_ms(&t0);
	msg = db_errmsg(b, rc);
	ck_assert_msg(rc == DB_EBUSY, "db_begin: %d %s", rc, msg);
	ck_assert_int_ge(ms, 80);
	ck_assert_int_lt(ms, 3000);
	ck_assert_msg(strstr(msg, "database is locked") != NULL &&
	    strstr(msg, path) != NULL, "%s", msg);
	if (hint != NULL)
		ck_assert_msg(strstr(msg, hint) != NULL, "%s", msg);
	commit(a);
	begin(b);
	add(b, "w", 1, 0, 1);
	commit(b);
	ck_counts(a, "w", 2, 0);
	db_close(a);
	db_close(b);
}

START_TEST(test_busy)
{
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	db = open_ok(t.path, DB_CREATE, TOKV);
	db_close(db);
	busy_case(t.path, NULL);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_netfs)
{
	struct db_status st;
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	ck_assert_int_eq(setenv("SPAMSIFT_FORCE_NETFS", "1", 1), 0);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	add(db, "nfs", 1, 2, 1);
	commit(db);
	ck_counts(db, "nfs", 1, 2);
	st = status(db);
	ck_assert_str_eq(st.journal, "delete");
	ck_assert_int_eq(st.network_fs, 1);
	db_close(db);
	busy_case(t.path, ".lock");
	ck_assert_int_eq(unsetenv("SPAMSIFT_FORCE_NETFS"), 0);
	/* Back on a local file system it turns into WAL. */
	db = open_ok(t.path, 0, TOKV);
	st = status(db);
	ck_assert_str_eq(st.journal, "wal");
	ck_assert_int_eq(st.network_fs, 0);
	ck_counts(db, "nfs", 1, 2);
	ck_counts(db, "w", 2, 0);
	db_close(db);
	tmp_remove(&t);
}
END_TEST

START_TEST(test_netfs_from_wal)
{
	struct db_status st;
	struct tmp t;
	struct db *db;

	db_tmp(&t);
	ck_assert_int_eq(unsetenv("SPAMSIFT_FORCE_NETFS"), 0);
	db = open_ok(t.path, DB_CREATE, TOKV);
	begin(db);
	add(db, "moved", 3, 0, 1);
	commit(db);
	ck_assert_str_eq(status(db).journal, "wal");
	db_close(db);
	ck_assert_int_eq(setenv("SPAMSIFT_FORCE_NETFS", "1", 1), 0);
	/* A WAL file cannot be read read-only without shared memory. */
	open_fails(t.path, DB_READONLY, TOKV, DB_EIO, "wal");
	db = open_ok(t.path, 0, TOKV);
	st = status(db);
	ck_assert_str_eq(st.journal, "delete");
	ck_counts(db, "moved", 3, 0);
	begin(db);
	add(db, "moved", 1, 0, 1);
	commit(db);
	db_close(db);
	db = open_ok(t.path, DB_READONLY, TOKV);
	ck_counts(db, "moved", 4, 0);
	db_close(db);
	ck_assert_int_eq(unsetenv("SPAMSIFT_FORCE_NETFS"), 0);
	tmp_remove(&t);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_test(tc, test_create_open_close);
	tcase_add_test(tc, test_create_strict_umask);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_errmsg_generic);
	tcase_add_test(tc, test_perm_file);
	tcase_add_test(tc, test_perm_dir);
	tcase_add_test(tc, test_perm_owner);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_not_ours);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_tokver);
	tcase_add_test(tc, test_schema_newer);
	tcase_add_test(tc, test_readonly);
	suite_add_tcase(s, tc);

	tc = tcase_create("data");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_totals);
	tcase_add_test(tc, test_msg);
	tcase_add_test(tc, test_foreach_msg);
	tcase_add_test(tc, test_read_snapshot);
	tcase_add_test(tc, test_meta);
	tcase_add_test(tc, test_rollback);
	tcase_add_test(tc, test_preload_same);
	tcase_add_test(tc, test_preload_empty);
	tcase_add_test(tc, test_preload_totals);
	tcase_add_test(tc, test_add_tokens_same);
	tcase_add_test(tc, test_add_tokens_sorted);
	tcase_add_test(tc, test_lookup_many);
	tcase_add_test(tc, test_scale);
	tcase_add_test(tc, test_prune);
	tcase_add_test(tc, test_compact);
	tcase_add_test(tc, test_foreach);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_check_freelist);
	tcase_add_test(tc, test_check_msg);
	tcase_add_test(tc, test_check_rows);
	tcase_add_test(tc, test_check_weight);
	tcase_add_test(tc, test_weights);
	tcase_add_test(tc, test_migrate_v1);
	tcase_add_test(tc, test_migrate_v2);
	tcase_add_test(tc, test_read_schema1);
	tcase_add_test(tc, test_read_schema2);
	tcase_add_test(tc, test_migrate_v3);
	tcase_add_test(tc, test_read_schema3);
	tcase_add_test(tc, test_read_schema3_upgraded);
	tcase_add_test(tc, test_bucket_codec);
	tcase_add_test(tc, test_bucket_hash);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_read_paths);
	tcase_add_test(tc, test_split_in_place);
	tcase_add_test(tc, test_level_down);
	tcase_add_test(tc, test_level_down_damaged);
	tcase_add_test(tc, test_split_with_write);
	tcase_add_test(tc, test_split_with_write_new);
	tcase_add_test(tc, test_split_one_pass);
	tcase_add_test(tc, test_split_estimate_wide);
	tcase_add_test(tc, test_nested_scan);
	tcase_add_test(tc, test_add_days);
	tcase_add_test(tc, test_level_exact);
	tcase_add_test(tc, test_split_damaged);
	tcase_add_test(tc, test_split_helper);
	tcase_add_test(tc, test_relevel_helper);
	tcase_add_test(tc, test_order_ahead);
	tcase_add_test(tc, test_commit_walk);
	tcase_add_test(tc, test_today);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_two_handles);
	tcase_add_test(tc, test_busy);
	tcase_add_test(tc, test_netfs);
	tcase_add_test(tc, test_netfs_from_wal);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(db_suite());
}
