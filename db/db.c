/* SPDX-License-Identifier: MIT */
/*
 * db.c - the token store in one SQLite file (the contract is db.h).
 *
 * Schema (PRAGMA user_version = DB_SCHEMA_VERSION):
 *	token(tok TEXT PRIMARY KEY, spam, ham, day) WITHOUT ROWID
 *	msg(digest BLOB PRIMARY KEY, class, msgid, day) WITHOUT ROWID
 *	meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID:
 *	    spam_msgs, ham_msgs, tok_version, and db_meta_set's keys
 * A token row never holds 0/0: the writes delete it instead.  Counts are
 * kept in [0, COUNT_MAX] so they always fit struct db_counts.
 *
 * Journal: WAL with synchronous=NORMAL on a local file system; on a
 * network file system (or SPAMSIFT_FORCE_NETFS=1) journal_mode=DELETE
 * with SQLite's "unix-dotfile" locking, because WAL needs shared memory
 * and fcntl locks are not to be trusted there.
 *
 * Every SQL statement is prepared once per handle (the common ones by
 * db_open, the rest on first use) and reused.  db_preload() copies every
 * token and the message totals into an open-addressing hash table;
 * writes made through the same handle while it is loaded are applied to
 * it as well, and a transaction that does not commit drops it (lookups
 * then go back to SQL, which is always right).
 *
 * Batches go through SQL in one statement, not one per token: the
 * eponymous virtual table spamsift_batch shows the caller's arrays (see
 * struct batch), db_lookup joins it with token, db_add_tokens inserts
 * from it.  A statement per token spent more on its own set-up and
 * tear-down than on the B-tree, and a WAL read lock per token cost 3-4
 * times more than one per call.
 */
#include <sys/stat.h>
#include <sys/types.h>
#ifdef __linux__
#include <sys/statvfs.h>
#include <sys/vfs.h>
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/db.h"

#define MSGID_BYTES_MAX	998		/* longer Message-IDs cut */
#define META_KEY_MAX	64		/* longest db_meta_set key */
#define COUNT_MAX	UINT32_MAX	/* per-token count ceiling */
#define DELTA_MAX	((int64_t)UINT32_MAX) /* largest |delta| per call */
#define WEIGHT_MAX	INT32_MAX	/* |weight| ceiling */
#define REASON_BYTES	(PATH_MAX + 512)
#define ERRMSG_BYTES	(2 * PATH_MAX + 512)
#define CACHE_KIB	32768		/* SQLite page cache, KiB */
#define PL_MIN_SLOTS	1024		/* first hash table size */
#define PL_AHEAD	8		/* lookups between prefetch steps */
#define PL_LOAD_DIV	2		/* slots per entry at the fullest */
#define PL_MAX_ENTRIES	(UINT32_MAX - 1)	/* an index + 1 fits a slot */
#define PL_MIN_ARENA	(64 * 1024)	/* first key arena size */
#define NETFS_ENV	"SPAMSIFT_FORCE_NETFS"
#define DB_AS_SCHEMA1	0x100		/* open_once: read schema 1 as is */

/* statfs(2) f_type values of the network file systems. */
#define FS_NFS		0x6969
#define FS_SMB		0x517B
#define FS_CIFS		0xFF534D42
#define FS_SMB2		0xFE534D42
#define FS_AFS		0x5346414F

enum stmt {
	S_BEGIN_WRITE,
	S_BEGIN_READ,
	S_COMMIT,
	S_ROLLBACK,
	S_LOOKUP,
	S_UPSERT,
	S_DEL_ZERO,
	S_DECR,
	S_TOTAL_ADD,
	S_META_GET,
	S_META_SET,
	S_MSG_GET,
	S_MSG_SET,
	S_MSG_DEL,
	S_ADD_BATCH,
	S_LOOKUP_BATCH,
	S_CORE_END,		/* the end of the common ones */
	S_ALL = S_CORE_END,
	S_MSG_ALL,
	S_PRELOAD,
	S_ALL_COUNTS,
	S_COUNT_ALL,
	S_COUNT_TOK,
	S_COUNT_MSG,
	S_USER_VERSION,
	S_JOURNAL,
	S_SCALE_SPAM,
	S_SCALE_HAM,
	S_DEL_EMPTY,
	S_PRUNE,
	S_VACUUM,
	S_CHECKPOINT,
	S_INTEGRITY,
	S_CHECK_ROWS,
	S_CHECK_META,
	S_COUNT
};

/* db_check's rows: what every schema's token rows must be (S_CHECK_ROWS
 * adds the weight). */
#define CHECK_ROWS_V1 "SELECT count(*) FROM token WHERE " \
	"typeof(tok) != 'text' OR " \
	"length(CAST(tok AS BLOB)) NOT BETWEEN 1 AND 1024 OR " \
	"typeof(spam) != 'integer' OR typeof(ham) != 'integer' OR " \
	"spam < 0 OR ham < 0 OR " \
	"spam > 4294967295 OR ham > 4294967295 OR " \
	"(spam = 0 AND ham = 0)"

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[S_BEGIN_READ] = "BEGIN DEFERRED",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_LOOKUP] = "SELECT spam, ham, w FROM token WHERE tok = ?1",
	/* Used when a delta is positive, so the row cannot end at 0/0. */
	[S_UPSERT] = "INSERT INTO token(tok, spam, ham, day, w) VALUES(?1, "
	    "min(4294967295, max(0, ?2)), min(4294967295, max(0, ?3)), ?4, "
	    "min(2147483647, max(-2147483647, ?5))) "
	    "ON CONFLICT(tok) DO UPDATE SET "
	    "spam = min(4294967295, max(0, spam + ?2)), "
	    "ham = min(4294967295, max(0, ham + ?3)), day = ?4, "
	    "w = min(2147483647, max(-2147483647, w + ?5))",
	/* Used when no delta is positive: drop the row if it reaches 0/0,
	 * else lower it; a missing row stays missing. */
	[S_DEL_ZERO] = "DELETE FROM token "
	    "WHERE tok = ?1 AND spam + ?2 <= 0 AND ham + ?3 <= 0",
	[S_DECR] = "UPDATE token SET spam = max(0, spam + ?2), "
	    "ham = max(0, ham + ?3), day = ?4, "
	    "w = min(2147483647, max(-2147483647, w + ?5)) WHERE tok = ?1",
	[S_TOTAL_ADD] = "INSERT INTO meta(key, value) VALUES(?1, max(0, ?2)) "
	    "ON CONFLICT(key) DO UPDATE SET value = max(0, value + ?2)",
	[S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[S_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[S_MSG_GET] = "SELECT class, g FROM msg WHERE digest = ?1",
	[S_MSG_SET] = "INSERT INTO msg(digest, class, msgid, day, g) "
	    "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(digest) DO UPDATE SET "
	    "class = excluded.class, g = excluded.g, "
	    "msgid = coalesce(excluded.msgid, msgid), day = excluded.day",
	[S_MSG_DEL] = "DELETE FROM msg WHERE digest = ?1",
	/* S_UPSERT for every row of spamsift_batch, in one statement ("WHERE
	 * true" parts the SELECT from ON CONFLICT).  Its deltas are checked
	 * to lie in 0 to DELTA_MAX = COUNT_MAX already. */
	[S_ADD_BATCH] = "INSERT INTO token(tok, spam, ham, day, w) "
	    "SELECT tok, ds, dh, ?1, dw FROM spamsift_batch WHERE true "
	    "ON CONFLICT(tok) DO UPDATE SET "
	    "spam = min(4294967295, max(0, spam + excluded.spam)), "
	    "ham = min(4294967295, max(0, ham + excluded.ham)), "
	    "day = excluded.day, "
	    "w = min(2147483647, max(-2147483647, w + excluded.w))",
	/* Every token of spamsift_batch in one statement, the batch outside
	 * (CROSS JOIN keeps that order): rowid is the index into it. */
	[S_LOOKUP_BATCH] = "SELECT b.rowid, t.spam, t.ham, t.w "
	    "FROM spamsift_batch AS b CROSS JOIN token AS t ON t.tok = b.tok",
	[S_ALL] = "SELECT tok, spam, ham, day, w FROM token "
	    "WHERE spam > 0 OR ham > 0 ORDER BY tok",
	[S_MSG_ALL] = "SELECT digest, class, msgid, day, g FROM msg "
	    "ORDER BY digest",
	/* Rows never hold 0/0, and pl_apply skips one anyway: no WHERE (a
	 * fifth fewer instructions per row, callgrind). */
	[S_PRELOAD] = "SELECT tok, spam, ham, w FROM token",
	/* S_ALL without the key and day, in the same order, from a total
	 * of ?1 up (the rows below are skipped without leaving SQL). */
	[S_ALL_COUNTS] = "SELECT spam, ham FROM token "
	    "WHERE (spam > 0 OR ham > 0) AND spam + ham >= ?1 ORDER BY tok",
	[S_COUNT_ALL] = "SELECT count(*) FROM token",
	[S_COUNT_TOK] = "SELECT count(*), sum(spam > 0), sum(ham > 0) "
	    "FROM token WHERE spam > 0 OR ham > 0",
	[S_COUNT_MSG] = "SELECT count(*) FROM msg",
	[S_USER_VERSION] = "PRAGMA user_version",
	[S_JOURNAL] = "PRAGMA journal_mode",
	[S_SCALE_SPAM] = "UPDATE token "
	    "SET spam = CAST(spam * ?1 + 0.5 AS INTEGER) WHERE spam > 0",
	[S_SCALE_HAM] = "UPDATE token "
	    "SET ham = CAST(ham * ?1 + 0.5 AS INTEGER) WHERE ham > 0",
	[S_DEL_EMPTY] = "DELETE FROM token WHERE spam <= 0 AND ham <= 0",
	[S_PRUNE] = "DELETE FROM token "
	    "WHERE spam + ham <= ?1 AND day < ?2",
	[S_VACUUM] = "VACUUM",
	[S_CHECKPOINT] = "PRAGMA wal_checkpoint(TRUNCATE)",
	[S_INTEGRITY] = "PRAGMA integrity_check(1)",
	[S_CHECK_ROWS] = CHECK_ROWS_V1 " OR "
	    "typeof(w) != 'integer' OR abs(w) > 2147483647",
	[S_CHECK_META] = "SELECT count(*) FROM meta "
	    "WHERE key IN ('spam_msgs', 'ham_msgs', 'tok_version')",
};

/* The reading statements for a schema 1 store that could not be
 * upgraded (opened read-only, its file not writable): no weights, read
 * as 0. */
static const char *const stmt_sql_v1[S_COUNT] = {
	[S_LOOKUP] = "SELECT spam, ham, 0 FROM token WHERE tok = ?1",
	[S_MSG_GET] = "SELECT class, 0 FROM msg WHERE digest = ?1",
	[S_LOOKUP_BATCH] = "SELECT b.rowid, t.spam, t.ham, 0 "
	    "FROM spamsift_batch AS b CROSS JOIN token AS t ON t.tok = b.tok",
	[S_PRELOAD] = "SELECT tok, spam, ham, 0 FROM token",
	[S_ALL] = "SELECT tok, spam, ham, day, 0 FROM token "
	    "WHERE spam > 0 OR ham > 0 ORDER BY tok",
	[S_MSG_ALL] = "SELECT digest, class, msgid, day, 0 FROM msg "
	    "ORDER BY digest",
	[S_CHECK_ROWS] = CHECK_ROWS_V1,
};

/* Schema version 0 -> 1: a new, empty file. */
static const char schema_v1[] =
	"CREATE TABLE token(tok TEXT PRIMARY KEY, spam INTEGER NOT NULL, "
	"ham INTEGER NOT NULL, day INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE msg(digest BLOB PRIMARY KEY, class INTEGER NOT NULL, "
	"msgid TEXT, day INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) "
	"WITHOUT ROWID;"
	"INSERT INTO meta(key, value) VALUES('spam_msgs', 0), "
	"('ham_msgs', 0);";

/* Schema version 1 -> 2: each token's logistic weight, each learned
 * message's weight step (to take it back exactly). */
static const char schema_v2[] =
	"ALTER TABLE token ADD COLUMN w INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE msg ADD COLUMN g INTEGER NOT NULL DEFAULT 0;";

/* One preloaded token. */
struct pl_ent {
	size_t off;		/* key bytes in the arena */
	uint32_t len;
	uint32_t spam;
	uint32_t ham;
	int32_t w;
};

/* Open addressing over 8-byte slots, each the top half of the token's
 * hash and its entry's index + 1 (0: empty): a probe reads the slots
 * only, 8 to a cache line, and an entry and its key bytes are read only
 * when 32 bits of hash agree.  At most half full (PL_LOAD_DIV). */
struct preload {
	uint64_t *slot;		/* NULL: not loaded */
	struct pl_ent *ent;	/* entries, in the order added */
	size_t nent, entcap;
	uint64_t spam_msgs;	/* the message totals of the snapshot */
	uint64_t ham_msgs;
	size_t nslots;		/* a power of two */
	char *arena;		/* every key, back to back */
	size_t arena_len;
	size_t arena_cap;
};

/* The rows of a batch, read by SQL through the virtual table
 * spamsift_batch(tok, ds, dh): for db_lookup every i < n (ds, dh NULL),
 * for db_add_tokens the ones whose deltas only add (neither negative,
 * not both zero). */
struct batch {
	size_t n;
	const char *const *toks;
	const size_t *lens;
	const int64_t *ds;
	const int64_t *dh;
	const int64_t *dw;	/* NULL: no weight changes */
};

struct db {
	sqlite3 *sq;		/* NULL after a failed db_open */
	char *path;
	int flags;
	int netfs;
	int in_txn;		/* between db_begin and commit/rollback */
	int in_read;		/* between db_read_begin and db_read_end */
	int in_foreach;
	int pl_dirty;		/* preload changed in this transaction */
	int old_schema;		/* read-only, and the schema needs an
				 * upgrade (db_open) */
	int schema1;		/* read as schema 1 (stmt_sql_v1) */
	struct preload pl;
	struct batch bt;	/* what spamsift_batch shows now */
	sqlite3_stmt *st[S_COUNT];
	int err_rc;
	char errmsg[ERRMSG_BYTES];
};

/*
 * Errors
 */

static const char *
generic_text(int rc)
{
	switch (rc) {
	case DB_OK:
		return "no error";
	case DB_ENOMEM:
		return "out of memory";
	case DB_EIO:
		return "database input/output error";
	case DB_EBUSY:
		return "database is locked";
	case DB_ECORRUPT:
		return "file is not a database or is damaged";
	case DB_EVERSION:
		return "database was made by a newer spamsift";
	case DB_ETOKVER:
		return "database was trained by another tokenizer version";
	case DB_EPERM:
		return "unsafe permissions, or database is read-only";
	case DB_ENOENT:
		return "database does not exist";
	case DB_EINVAL:
		return "invalid argument";
	case DB_EFULL:
		return "disk is full";
	default:
		return "unknown database error";
	}
}

/* Record "path: reason" as the handle's message; returns rc. */
static int
errf(struct db *db, int rc, const char *fmt, ...)
{
	char reason[REASON_BYTES];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	/* "No such file" -> "no such file", but leave "SQL ..." alone. */
	if (isupper((unsigned char)reason[0]) &&
	    islower((unsigned char)reason[1]))
		reason[0] = (char)tolower((unsigned char)reason[0]);
	snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s", db->path, reason);
	db->err_rc = rc;
	return rc;
}

/* strerror() in the house style: "No such file" -> "no such file". */
static const char *
lc_strerror(int eno, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(eno));
	if (isupper((unsigned char)buf[0]) && islower((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static int
map_sqlite(int src, int sys_errno)
{
	switch (src & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return DB_OK;
	case SQLITE_NOMEM:
		return DB_ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DB_EBUSY;
	case SQLITE_FULL:
		return DB_EFULL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return DB_ECORRUPT;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return DB_EPERM;
	case SQLITE_CANTOPEN:
		if (sys_errno == EACCES || sys_errno == EPERM ||
		    sys_errno == EROFS)
			return DB_EPERM;
		return DB_EIO;
	case SQLITE_IOERR:
		if (sys_errno == ENOSPC || sys_errno == EDQUOT)
			return DB_EFULL;
		return DB_EIO;
	default:
		return DB_EIO;
	}
}

/* Map SQLite's result src to a DB_E* code and record why; returns it.
 * Call before resetting the statement that failed. */
static int
sql_err(struct db *db, int src)
{
	const char *msg;
	char buf[128];
	int eno = 0;
	int rc;

	if (db->sq != NULL) {
		msg = sqlite3_errmsg(db->sq);
		eno = sqlite3_system_errno(db->sq);
	} else {
		msg = sqlite3_errstr(src);
	}
	rc = map_sqlite(src, eno);
	if (((src & 0xff) == SQLITE_IOERR || (src & 0xff) == SQLITE_CANTOPEN)
	    && eno != 0)
		errf(db, rc, "%s (%s)", msg, lc_strerror(eno, buf,
		    sizeof(buf)));
	else if (rc == DB_EBUSY && db->netfs)
		errf(db, rc, "%s (if no spamsift is running, remove the stale "
		    "lock directory %s.lock)", msg, db->path);
	else
		errf(db, rc, "%s", msg);
	return rc;
}

static int
errno_err(struct db *db, int eno, const char *what)
{
	char buf[128];
	int rc = DB_EIO;

	if (eno == ENOENT)
		rc = DB_ENOENT;
	else if (eno == EACCES || eno == EPERM || eno == EROFS)
		rc = DB_EPERM;
	else if (eno == ENOMEM)
		rc = DB_ENOMEM;
	else if (eno == ENOSPC || eno == EDQUOT)
		rc = DB_EFULL;
	return errf(db, rc, "%s: %s", what, lc_strerror(eno, buf,
	    sizeof(buf)));
}

const char *
db_errmsg(const struct db *db, int rc)
{
	const char *msg = generic_text(rc);

	if (db != NULL && db->err_rc == rc && rc != DB_OK &&
	    db->errmsg[0] != '\0')
		msg = db->errmsg;
	return msg;
}

/*
 * Statements
 */

static int
get_stmt(struct db *db, enum stmt id, sqlite3_stmt **out)
{
	int src;
	int rc = 0;

	if (db->st[id] == NULL) {
		src = sqlite3_prepare_v3(db->sq, db->schema1 &&
		    stmt_sql_v1[id] != NULL ? stmt_sql_v1[id] : stmt_sql[id],
		    -1, SQLITE_PREPARE_PERSISTENT, &db->st[id], NULL);
		if (src == SQLITE_ERROR)
			rc = errf(db, DB_ECORRUPT, "not a spamsift database "
			    "(%s)", sqlite3_errmsg(db->sq));
		else if (src != SQLITE_OK)
			rc = sql_err(db, src);
	}
	*out = db->st[id];
	return rc;
}

static void
stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Step st to the end, ignoring rows; reset it.  Returns 0 or DB_E*. */
static int
run(struct db *db, sqlite3_stmt *st)
{
	int src = SQLITE_DONE;
	int rc = 0;
	int i;

	/* A statement here gives at most a few rows (pragmas). */
	for (i = 0; i < 100; i++) {
		src = sqlite3_step(st);
		if (src != SQLITE_ROW)
			break;
	}
	if (src != SQLITE_DONE && src != SQLITE_ROW)
		rc = sql_err(db, src);
	stmt_done(st);
	return rc;
}

/* run() a statement whose binding gave src: on a bind error, report it
 * and reset the statement instead. */
static int
run_bound(struct db *db, sqlite3_stmt *st, int src)
{
	int rc;

	if (src == SQLITE_OK)
		return run(db, st);
	rc = sql_err(db, src);
	stmt_done(st);
	return rc;
}

static int
run_id(struct db *db, enum stmt id)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = get_stmt(db, id, &st);
	if (rc == 0)
		rc = run(db, st);
	return rc;
}

/* Run one statement that gives a single integer (row 0, column col). */
static int
query_int(struct db *db, enum stmt id, int col, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int src;
	int rc;

	*v = 0;
	rc = get_stmt(db, id, &st);
	if (rc != 0)
		goto out;
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*v = sqlite3_column_int64(st, col);
	else if (src != SQLITE_DONE)
		rc = sql_err(db, src);
	stmt_done(st);
out:
	return rc;
}

static int
meta_get(struct db *db, const char *key, int64_t *v, int *found)
{
	sqlite3_stmt *st = NULL;
	int src;
	int rc;

	*v = 0;
	*found = 0;
	rc = get_stmt(db, S_META_GET, &st);
	if (rc != 0)
		goto out;
	src = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		*found = 1;
	} else if (src != SQLITE_DONE) {
		rc = sql_err(db, src);
	}
	stmt_done(st);
out:
	return rc;
}

static int
meta_set(struct db *db, const char *key, int64_t v)
{
	sqlite3_stmt *st = NULL;
	int src;
	int rc;

	rc = get_stmt(db, S_META_SET, &st);
	if (rc != 0)
		goto out;
	src = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (src == SQLITE_OK)
		src = sqlite3_bind_int64(st, 2, v);
	rc = run_bound(db, st, src);
out:
	return rc;
}

/* ROLLBACK that keeps the message of the error that caused it. */
static void
rollback_quiet(struct db *db)
{
	sqlite3_stmt *st = db->st[S_ROLLBACK];

	if (sqlite3_get_autocommit(db->sq))
		return;
	if (st != NULL) {
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	if (!sqlite3_get_autocommit(db->sq))
		sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
}

/* Clamp a stored count to what struct db_counts holds. */
static uint32_t
clamp_count(int64_t v)
{
	uint32_t c = (uint32_t)v;

	if (v < 0)
		c = 0;
	else if (v > (int64_t)COUNT_MAX)
		c = COUNT_MAX;
	return c;
}

/*
 * The preload hash table
 */

/* Eight bytes at a time (the table is in memory only, so byte order
 * does not matter), then Murmur3's finaliser, which spreads every byte
 * into the low bits the mask keeps and the top half the tag keeps. */
static uint64_t
pl_hash(const char *tok, size_t len)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)len, w;
	uint32_t lo, hi;
	size_t i = 0;

	for (; len - i >= 8; i += 8) {	/* len <= DB_TOKEN_BYTES_MAX */
		memcpy(&w, tok + i, 8);
		h = (h ^ w) * 0x87C37B91114253D5ULL;
		h ^= h >> 31;
	}
	if (len - i >= 4) {
		/* The last 4-7 bytes as two overlapping loads (the length
		 * went in at the start). */
		memcpy(&lo, tok + i, 4);
		memcpy(&hi, tok + len - 4, 4);
		w = (uint64_t)lo | (uint64_t)hi << 32;
		h = (h ^ w) * 0x87C37B91114253D5ULL;
	} else if (i < len) {
		w = (uint64_t)(unsigned char)tok[i] << 16 |
		    (uint64_t)(unsigned char)tok[i + (len - i) / 2] << 8 |
		    (unsigned char)tok[len - 1];
		h = (h ^ w) * 0x87C37B91114253D5ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static void
pl_free(struct preload *pl)
{
	free(pl->slot);
	free(pl->ent);
	free(pl->arena);
	memset(pl, 0, sizeof(*pl));
}

static uint64_t
pl_tag(uint64_t h)
{
	return h & ~(uint64_t)UINT32_MAX;
}

/* A slot's value: the tag of hash h and entry idx, + 1 (0 is empty). */
static uint64_t
pl_slot_value(uint64_t h, size_t idx)
{
	return pl_tag(h) | (uint64_t)(idx + 1);
}

/* The entry a full slot's value v names. */
static struct pl_ent *
pl_entry(const struct preload *pl, uint64_t v)
{
	return &pl->ent[(v & UINT32_MAX) - 1];
}

/* The slot holding tok, or the empty slot where it would go. */
static uint64_t *
pl_slot(const struct preload *pl, const char *tok, size_t len, uint64_t h)
{
	const struct pl_ent *e;
	uint64_t v, tag = pl_tag(h);
	size_t mask = pl->nslots - 1;
	size_t i = (size_t)h & mask;
	size_t probe;

	/* The table is at most half full, so an empty slot is found. */
	for (probe = 0; probe < pl->nslots; probe++) {
		v = pl->slot[i];
		if (v == 0)
			return &pl->slot[i];
		if (pl_tag(v) == tag) {
			e = pl_entry(pl, v);
			if (e->len == len &&
			    memcmp(pl->arena + e->off, tok, len) == 0)
				return &pl->slot[i];
		}
		i = (i + 1) & mask;
	}
	return NULL;
}

/* Put entry idx, hash h, in the first empty slot from its own. */
static void
pl_place(struct preload *pl, uint64_t h, size_t idx)
{
	size_t mask = pl->nslots - 1;
	size_t i = (size_t)h & mask;

	while (pl->slot[i] != 0)	/* at most half full */
		i = (i + 1) & mask;
	pl->slot[i] = pl_slot_value(h, idx);
}

/* Double the slots, or more until want entries fill at most half of
 * them.  The entries stay; only the slots are rebuilt, hashing each key
 * again (growth is rare: a preload sizes the table once). */
static int
pl_grow(struct preload *pl, uint64_t want)
{
	uint64_t *nslot = NULL;
	size_t oldn = pl->nslots;
	size_t n;
	size_t i;
	int rc = 0;

	n = oldn == 0 ? PL_MIN_SLOTS : oldn * 2;
	while (n >= oldn && n <= SIZE_MAX / sizeof(*nslot) &&
	    (uint64_t)n / PL_LOAD_DIV < want)	/* at most ~64 */
		n *= 2;
	if (n < oldn || n > SIZE_MAX / sizeof(*nslot)) {
		rc = DB_ENOMEM;
		goto out;
	}
	nslot = calloc(n, sizeof(*nslot));
	if (nslot == NULL) {
		rc = DB_ENOMEM;
		goto out;
	}
	free(pl->slot);
	pl->slot = nslot;
	pl->nslots = n;
	for (i = 0; i < pl->nent; i++)
		pl_place(pl, pl_hash(pl->arena + pl->ent[i].off,
		    pl->ent[i].len), i);
out:
	return rc;
}

static int
pl_arena_add(struct preload *pl, const char *tok, size_t len, size_t *off)
{
	char *na = NULL;
	size_t ncap;
	int rc = 0;

	if (pl->arena_cap - pl->arena_len < len) {
		ncap = pl->arena_cap == 0 ? PL_MIN_ARENA : pl->arena_cap;
		while (ncap - pl->arena_len < len) {	/* at most ~64 */
			if (ncap > SIZE_MAX / 2) {
				rc = DB_ENOMEM;
				goto out;
			}
			ncap *= 2;
		}
		na = realloc(pl->arena, ncap);
		if (na == NULL) {
			rc = DB_ENOMEM;
			goto out;
		}
		pl->arena = na;
		pl->arena_cap = ncap;
	}
	memcpy(pl->arena + pl->arena_len, tok, len);
	*off = pl->arena_len;
	pl->arena_len += len;
out:
	return rc;
}

/* Room for want entries in all. */
static int
pl_reserve(struct preload *pl, uint64_t want)
{
	struct pl_ent *ne;

	if (want <= pl->entcap)
		return 0;
	if (want > PL_MAX_ENTRIES || want > SIZE_MAX / sizeof(*ne))
		return DB_ENOMEM;
	ne = realloc(pl->ent, (size_t)want * sizeof(*ne));
	if (ne == NULL)
		return DB_ENOMEM;
	pl->ent = ne;
	pl->entcap = (size_t)want;
	return 0;
}

/* A new entry for tok, its index in *idx. */
static int
pl_ent_add(struct preload *pl, const char *tok, size_t len, size_t *idx)
{
	size_t off;
	int rc;

	if (pl->nent >= PL_MAX_ENTRIES)
		return DB_ENOMEM;
	if (pl->nent == pl->entcap) {
		rc = pl_reserve(pl, pl->entcap == 0 ?
		    PL_MIN_SLOTS / PL_LOAD_DIV : (uint64_t)pl->entcap * 2);
		if (rc != 0)
			return rc;
	}
	rc = pl_arena_add(pl, tok, len, &off);
	if (rc != 0)
		return rc;
	pl->ent[pl->nent].off = off;
	pl->ent[pl->nent].len = (uint32_t)len;
	pl->ent[pl->nent].spam = 0;
	pl->ent[pl->nent].ham = 0;
	pl->ent[pl->nent].w = 0;
	*idx = pl->nent++;
	return 0;
}

/* A weight after adding d, clamped as the SQL does. */
static int32_t
clamp_weight(int64_t v)
{
	if (v > WEIGHT_MAX)
		return WEIGHT_MAX;
	if (v < -WEIGHT_MAX)
		return -WEIGHT_MAX;
	return (int32_t)v;
}

/* Within the weight range (what clamp_weight leaves as it is)? */
static int
weight_ok(int64_t v)
{
	return v >= -WEIGHT_MAX && v <= WEIGHT_MAX;
}

/* A learned message's class and weight step as db_set_msg writes them. */
static int
msg_row_ok(int64_t cls, int64_t g)
{
	return (cls == DB_SPAM || cls == DB_HAM) && weight_ok(g);
}

/* Add dspam/dham/dw to tok with the SQL's clamping; a new token is only
 * created by a positive delta.  0/0 entries stay and read as unknown. */
static int
pl_apply(struct preload *pl, const char *tok, size_t len, int64_t dspam,
    int64_t dham, int64_t dw)
{
	struct pl_ent *e;
	uint64_t h, *sl;
	size_t idx;
	int rc = 0;

	if (pl->nslots == 0) {
		rc = pl_grow(pl, 1);
		if (rc != 0)
			goto out;
	}
	h = pl_hash(tok, len);
	sl = pl_slot(pl, tok, len, h);
	if (sl != NULL && *sl == 0) {
		if (dspam <= 0 && dham <= 0)
			goto out;
		/* Grown only for a new entry: an update needs no memory. */
		if ((pl->nent + 1) * PL_LOAD_DIV > pl->nslots) {
			rc = pl_grow(pl, pl->nent + 1);
			if (rc != 0)
				goto out;
			sl = pl_slot(pl, tok, len, h);
		}
	}
	if (sl == NULL) {
		rc = DB_ENOMEM;
		goto out;
	}
	if (*sl == 0) {
		rc = pl_ent_add(pl, tok, len, &idx);
		if (rc != 0)
			goto out;
		*sl = pl_slot_value(h, idx);
	}
	e = pl_entry(pl, *sl);
	e->spam = clamp_count((int64_t)e->spam + dspam);
	e->ham = clamp_count((int64_t)e->ham + dham);
	e->w = clamp_weight((int64_t)e->w + dw);
	if (e->spam == 0 && e->ham == 0)
		e->w = 0;	/* SQL dropped the row */
out:
	return rc;
}

/* Look n tokens up in a table far bigger than the cache: each lookup
 * would wait on memory three times (the slot, the entry, the key bytes),
 * so those are fetched PL_AHEAD tokens apart ahead of the lookup, each
 * once the one before has come in. */
static void
pl_lookup(const struct preload *pl, size_t n, const char *const *toks,
    const size_t *lens, struct db_counts *out)
{
	uint64_t h[4 * PL_AHEAD];	/* hashes of tokens i-3A .. i */
	const uint64_t *sl;
	const struct pl_ent *e;
	size_t i, k, mask = pl->nslots - 1;

	for (i = 0; i < n + 3 * PL_AHEAD; i++) {
		if (i < n) {
			h[i % (4 * PL_AHEAD)] = pl_hash(toks[i], lens[i]);
			__builtin_prefetch(&pl->slot[h[i % (4 * PL_AHEAD)] &
			    mask]);
		}
		k = i - PL_AHEAD;
		if (i >= PL_AHEAD && k < n) {
			sl = &pl->slot[h[k % (4 * PL_AHEAD)] & mask];
			if (*sl != 0)
				__builtin_prefetch(pl_entry(pl, *sl));
		}
		k = i - 2 * PL_AHEAD;
		if (i >= 2 * PL_AHEAD && k < n) {
			sl = &pl->slot[h[k % (4 * PL_AHEAD)] & mask];
			if (*sl != 0)
				__builtin_prefetch(pl->arena +
				    pl_entry(pl, *sl)->off);
		}
		if (i < 3 * PL_AHEAD)
			continue;
		k = i - 3 * PL_AHEAD;
		sl = pl_slot(pl, toks[k], lens[k], h[k % (4 * PL_AHEAD)]);
		if (sl != NULL && *sl != 0) {
			e = pl_entry(pl, *sl);
			out[k].spam = e->spam;
			out[k].ham = e->ham;
			out[k].w = e->w;
		} else {
			out[k].spam = 0;
			out[k].ham = 0;
			out[k].w = 0;
		}
	}
}

/* Forget the preloaded table if this transaction changed it. */
static void
pl_drop_dirty(struct db *db)
{
	if (db->pl_dirty)
		pl_free(&db->pl);
	db->pl_dirty = 0;
}

/*
 * The batch table: an eponymous virtual table over db->bt, so that one
 * INSERT ... SELECT writes a whole batch.  Per row it saves the
 * statement's set-up and tear-down, and rows in key order past the end
 * of the table are appended without a search from the root.
 */

struct bt_vtab {
	sqlite3_vtab base;
	struct db *db;
};

struct bt_cursor {
	sqlite3_vtab_cursor base;
	size_t i;
};

/* Whether row i is shown: every row to look up (no deltas), the rows
 * that only add to write. */
static int
bt_adds(const struct batch *bt, size_t i)
{
	if (bt->ds == NULL)
		return 1;
	return bt->ds[i] >= 0 && bt->dh[i] >= 0 &&
	    (bt->ds[i] > 0 || bt->dh[i] > 0);
}

/* Row i's weight change (0 when the batch has none). */
static int64_t
bt_dw(const struct batch *bt, size_t i)
{
	return bt->dw != NULL ? bt->dw[i] : 0;
}

static int
bt_connect(sqlite3 *sq, void *aux, int argc, const char *const *argv,
    sqlite3_vtab **out, char **err)
{
	struct bt_vtab *v;
	int src;

	src = sqlite3_declare_vtab(sq, "CREATE TABLE x(tok TEXT, "
	    "ds INTEGER, dh INTEGER, dw INTEGER)");
	if (src != SQLITE_OK)
		return src;
	/* Never usable from the schema (views, triggers). */
	sqlite3_vtab_config(sq, SQLITE_VTAB_DIRECTONLY);
	v = sqlite3_malloc(sizeof(*v));
	if (v == NULL)
		return SQLITE_NOMEM;
	memset(v, 0, sizeof(*v));
	v->db = aux;
	*out = &v->base;
	return SQLITE_OK;
}

static int
bt_disconnect(sqlite3_vtab *v)
{
	sqlite3_free(v);
	return SQLITE_OK;
}

static int
bt_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
	const struct bt_vtab *bv = (const struct bt_vtab *)v;

	/* A full scan, always: no constraint is used. */
	info->estimatedCost = (double)bv->db->bt.n + 1.0;
	info->estimatedRows = (sqlite3_int64)bv->db->bt.n + 1;
	return SQLITE_OK;
}

static int
bt_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
	struct bt_cursor *c;

	c = sqlite3_malloc(sizeof(*c));
	if (c == NULL)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	*out = &c->base;
	return SQLITE_OK;
}

static int
bt_close(sqlite3_vtab_cursor *c)
{
	sqlite3_free(c);
	return SQLITE_OK;
}

/* Move c to the first row at or after i that adds. */
static void
bt_seek(struct bt_cursor *c, size_t i)
{
	const struct batch *bt = &((struct bt_vtab *)c->base.pVtab)->db->bt;

	while (i < bt->n && !bt_adds(bt, i))	/* bounded by n */
		i++;
	c->i = i;
}

static int
bt_filter(sqlite3_vtab_cursor *c, int idxnum, const char *idxstr, int argc,
    sqlite3_value **argv)
{
	bt_seek((struct bt_cursor *)c, 0);
	return SQLITE_OK;
}

static int
bt_next(sqlite3_vtab_cursor *c)
{
	bt_seek((struct bt_cursor *)c, ((struct bt_cursor *)c)->i + 1);
	return SQLITE_OK;
}

static int
bt_eof(sqlite3_vtab_cursor *c)
{
	const struct bt_cursor *bc = (const struct bt_cursor *)c;

	return bc->i >= ((struct bt_vtab *)c->pVtab)->db->bt.n;
}

static int
bt_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
	const struct bt_cursor *bc = (const struct bt_cursor *)c;
	const struct batch *bt = &((struct bt_vtab *)c->pVtab)->db->bt;

	if (col == 0)
		sqlite3_result_text(ctx, bt->toks[bc->i], (int)bt->lens[bc->i],
		    SQLITE_STATIC);
	else if (bt->ds == NULL)
		sqlite3_result_null(ctx);
	else if (col == 3)
		sqlite3_result_int64(ctx, bt_dw(bt, bc->i));
	else
		sqlite3_result_int64(ctx, col == 1 ? bt->ds[bc->i] :
		    bt->dh[bc->i]);
	return SQLITE_OK;
}

static int
bt_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)((const struct bt_cursor *)c)->i;
	return SQLITE_OK;
}

static const sqlite3_module bt_module = {
	.iVersion = 0,
	.xCreate = NULL,		/* eponymous only */
	.xConnect = bt_connect,
	.xBestIndex = bt_best_index,
	.xDisconnect = bt_disconnect,
	.xDestroy = bt_disconnect,
	.xOpen = bt_open,
	.xClose = bt_close,
	.xFilter = bt_filter,
	.xNext = bt_next,
	.xEof = bt_eof,
	.xColumn = bt_column,
	.xRowid = bt_rowid,
};

/*
 * Opening
 */

/* The directory part of path, malloc'd. */
static char *
parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	return dir;
}

/* A directory the store lives in must be owned by us (or root) and not
 * writable by group or others: whoever can write it can swap the file. */
static int
check_dir(struct db *db, const char *dir)
{
	struct stat sb;
	int rc = 0;

	if (stat(dir, &sb) == -1) {
		rc = errno_err(db, errno, dir);
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		rc = errf(db, DB_EIO, "%s is not a directory", dir);
		goto out;
	}
	if (sb.st_uid != geteuid() && sb.st_uid != 0) {
		rc = errf(db, DB_EPERM, "directory %s is owned by uid %lu, "
		    "not by you", dir, (unsigned long)sb.st_uid);
		goto out;
	}
	if ((sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		rc = errf(db, DB_EPERM, "directory %s is writable by group "
		    "or others (mode %03o): chmod go-w it", dir,
		    (unsigned)(sb.st_mode & 0777));
		goto out;
	}
out:
	return rc;
}

static int
check_file(struct db *db, const struct stat *sb)
{
	int rc = 0;

	if (!S_ISREG(sb->st_mode)) {
		rc = errf(db, DB_EIO, "not a regular file");
		goto out;
	}
	if (sb->st_uid != geteuid()) {
		rc = errf(db, DB_EPERM, "owned by uid %lu, not by you "
		    "(uid %lu)", (unsigned long)sb->st_uid,
		    (unsigned long)geteuid());
		goto out;
	}
	if ((sb->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		rc = errf(db, DB_EPERM, "writable by group or others "
		    "(mode %03o): chmod 600 it",
		    (unsigned)(sb->st_mode & 0777));
		goto out;
	}
out:
	return rc;
}

/* Create path with mode 0600 whatever the umask; EEXIST is no error (a
 * racing process made it). */
static int
create_file(struct db *db)
{
	int fd;
	int rc = 0;

	fd = open(db->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1) {
		if (errno != EEXIST)
			rc = errno_err(db, errno, "cannot create");
		goto out;
	}
	if (fchmod(fd, 0600) == -1)
		rc = errno_err(db, errno, "chmod");
	if (close(fd) == -1 && rc == 0)
		rc = errno_err(db, errno, "close");
out:
	return rc;
}

static int
is_netfs(const char *dir)
{
	const char *env = getenv(NETFS_ENV);
	int net = 0;
#ifdef __linux__
	struct statfs fs;
	unsigned long t;
#endif

	if (env != NULL && strcmp(env, "1") == 0)
		net = 1;
#ifdef __linux__
	/* An unknown file system counts as local. */
	if (!net && statfs(dir, &fs) == 0) {
		t = (unsigned long)fs.f_type & 0xffffffffUL;
		net = t == FS_NFS || t == FS_SMB || t == FS_CIFS ||
		    t == FS_SMB2 || t == FS_AFS;
	}
#endif
	return net;
}

/* Whether the file's header says WAL (bytes 18 and 19 are 2). */
static int
file_is_wal(const char *path)
{
	unsigned char hdr[100];
	ssize_t got;
	int fd;
	int wal = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		goto out;
	got = pread(fd, hdr, sizeof(hdr), 0);
	if (got == (ssize_t)sizeof(hdr) &&
	    memcmp(hdr, "SQLite format 3", 16) == 0 &&
	    (hdr[18] == 2 || hdr[19] == 2))
		wal = 1;
	close(fd);
out:
	return wal;
}

/* Stat, check and if need be create the file and its directories. */
static int
check_path(struct db *db)
{
	struct stat sb;
	char *dir = NULL;
	char *real = NULL;
	char *realdir = NULL;
	int missing = 0;
	int rc = 0;

	if (stat(db->path, &sb) == -1) {
		if (errno != ENOENT) {
			rc = errno_err(db, errno, "cannot stat");
			goto out;
		}
		if ((db->flags & DB_CREATE) == 0) {
			rc = errf(db, DB_ENOENT, "no such database");
			goto out;
		}
		missing = 1;
	}
	dir = parent_dir(db->path);
	if (dir == NULL) {
		rc = DB_ENOMEM;
		goto out;
	}
	rc = check_dir(db, dir);
	if (rc != 0)
		goto out;
	if (missing) {
		rc = create_file(db);
		if (rc != 0)
			goto out;
		if (stat(db->path, &sb) == -1) {
			rc = errno_err(db, errno, "cannot stat");
			goto out;
		}
	}
	rc = check_file(db, &sb);
	if (rc != 0)
		goto out;
	/* Through a symbolic link the journal lives next to the target. */
	real = realpath(db->path, NULL);
	if (real == NULL) {
		rc = errno_err(db, errno, "cannot resolve");
		goto out;
	}
	realdir = parent_dir(real);
	if (realdir == NULL) {
		rc = DB_ENOMEM;
		goto out;
	}
	if (strcmp(realdir, dir) != 0) {
		rc = check_dir(db, realdir);
		if (rc != 0)
			goto out;
	}
	db->netfs = is_netfs(realdir);
out:
	free(dir);
	free(real);
	free(realdir);
	return rc;
}

/* Run a PRAGMA that returns one text row; copy it to buf. */
static int
pragma_text(struct db *db, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *s;
	int src;
	int rc = 0;

	buf[0] = '\0';
	src = sqlite3_prepare_v2(db->sq, sql, -1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = sql_err(db, src);
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		s = sqlite3_column_text(st, 0);
		if (s != NULL)
			snprintf(buf, size, "%s", (const char *)s);
	} else if (src != SQLITE_DONE) {
		rc = sql_err(db, src);
	}
out:
	sqlite3_finalize(st);
	return rc;
}

static int
exec(struct db *db, const char *sql)
{
	int src;
	int rc = 0;

	src = sqlite3_exec(db->sq, sql, NULL, NULL, NULL);
	if (src != SQLITE_OK)
		rc = sql_err(db, src);
	return rc;
}

static int
open_sqlite(struct db *db, int busy_ms)
{
	const char *vfs = NULL;
	int oflags;
	int src;
	int rc = 0;

	oflags = SQLITE_OPEN_NOMUTEX;
	if (db->flags & DB_READONLY)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE;
	if (db->netfs) {
		vfs = "unix-dotfile";
		if (sqlite3_vfs_find(vfs) == NULL) {
			rc = errf(db, DB_EIO, "on a network file system, and "
			    "this SQLite has no unix-dotfile locking");
			goto out;
		}
	}
	src = sqlite3_open_v2(db->path, &db->sq, oflags, vfs);
	if (src != SQLITE_OK) {
		rc = sql_err(db, src);
		goto out;
	}
	/* SQLite quietly opens a file it cannot write read-only. */
	if ((db->flags & DB_READONLY) == 0 &&
	    sqlite3_db_readonly(db->sq, "main") == 1) {
		struct statvfs vfs_st;

		if (statvfs(db->path, &vfs_st) == 0 &&
		    (vfs_st.f_flag & ST_RDONLY) != 0)
			rc = errf(db, DB_EPERM, "on a read-only file system: "
			    "it can only be read");
		else
			rc = errf(db, DB_EPERM, "not writable by you: chmod "
			    "u+w it, or open it read-only");
		goto out;
	}
	sqlite3_extended_result_codes(db->sq, 1);
	sqlite3_busy_timeout(db->sq, busy_ms);
	sqlite3_db_config(db->sq, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	src = sqlite3_create_module(db->sq, "spamsift_batch", &bt_module, db);
	if (src != SQLITE_OK) {
		rc = sql_err(db, src);
		goto out;
	}
	/* PRAGMA trusted_schema = OFF without parsing one. */
	src = sqlite3_db_config(db->sq, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
	    NULL);
	if (src != SQLITE_OK)
		rc = sql_err(db, src);
out:
	return rc;
}

static int
set_journal(struct db *db)
{
	char mode[32];
	int wal;
	int rc = 0;

	if (db->netfs) {
		wal = file_is_wal(db->path);
		if (db->flags & DB_READONLY) {
			if (wal)
				rc = errf(db, DB_EIO, "in wal mode on a "
				    "network file system: open it read-write "
				    "once to convert it");
			goto out;
		}
		/* Without shared memory a WAL file opens only in
		 * exclusive locking mode: take it to leave WAL. */
		if (wal) {
			rc = exec(db, "PRAGMA locking_mode = EXCLUSIVE");
			if (rc != 0)
				goto out;
		}
		rc = pragma_text(db, "PRAGMA journal_mode = DELETE", mode,
		    sizeof(mode));
		if (rc == 0 && wal)
			rc = exec(db, "PRAGMA locking_mode = NORMAL");
		goto out;
	}
	/* A reader writes nothing: it needs neither. */
	if (db->flags & DB_READONLY)
		goto out;
	rc = pragma_text(db, "PRAGMA journal_mode = WAL", mode, sizeof(mode));
	if (rc == 0)
		rc = exec(db, "PRAGMA synchronous = NORMAL");
	/* A multi-row write inside a transaction keeps a statement journal
	 * of the pages it changes, in a temporary file past 64 KiB (SQLite
	 * decides where when the transaction begins).  A batch's upsert
	 * changes most of the store: the bench's training made 19803 write
	 * calls with the file, 14457 without, and spent a sixth less system
	 * time.  In memory it is one more copy of those pages while the
	 * statement runs (peak RSS 43.7 -> 47.1 MB there).  db_vacuum sets
	 * FILE for its copy of the whole store. */
	if (rc == 0)
		rc = exec(db, "PRAGMA temp_store = MEMORY");
out:
	return rc;
}

/* A page cache big enough for a bulk flush of ~200k tokens to stay in
 * memory (measured on a 150k-token store: upserts 1.3 to 2 times and
 * lookups 1.5 times faster than with SQLite's 2 MiB default).  It fills
 * only as pages are read, so classifying one message costs no more. */
static int
set_cache(struct db *db)
{
	char sql[64];

	int rc;

	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", CACHE_KIB);
	rc = exec(db, sql);
	return rc;
}

/* Version 0 -> 1: the file must be empty of tables. */
static int
migrate_0(struct db *db, int tok_version)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int src;
	int rc = 0;

	src = sqlite3_prepare_v2(db->sq, "SELECT count(*) FROM sqlite_master",
	    -1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else if (src != SQLITE_DONE) {
		rc = sql_err(db, src);
		goto out;
	}
	if (n != 0) {
		rc = errf(db, DB_ECORRUPT, "not a spamsift database "
		    "(it has other tables)");
		goto out;
	}
	rc = exec(db, schema_v1);
	if (rc == 0)
		rc = meta_set(db, "tok_version", tok_version);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Version 1 -> 2: the logistic weights, all 0. */
static int
migrate_1(struct db *db, int tok_version)
{
	(void)tok_version;
	return exec(db, schema_v2);
}

typedef int (*migrate_fn)(struct db *db, int tok_version);

/* migrations[v] takes the schema from version v to v + 1. */
static const migrate_fn migrations[DB_SCHEMA_VERSION] = {
	migrate_0,
	migrate_1,
};

static int
read_user_version(struct db *db, int64_t *v)
{
	int rc;

	rc = query_int(db, S_USER_VERSION, 0, v);
	if (rc == 0 && *v < 0)
		rc = errf(db, DB_ECORRUPT, "bad schema version %lld",
		    (long long)*v);
	return rc;
}


static int
migrate(struct db *db, int tok_version)
{
	char sql[64];
	int64_t v = 0;
	int rc;

	rc = read_user_version(db, &v);
	if (rc != 0)
		goto out;
	if (v > DB_SCHEMA_VERSION) {
		rc = errf(db, DB_EVERSION, "schema version %lld is newer than "
		    "this program's %d: upgrade spamsift", (long long)v,
		    DB_SCHEMA_VERSION);
		goto out;
	}
	if (v == DB_SCHEMA_VERSION)
		goto out;
	if (db->flags & DB_READONLY) {
		if (v == 0)
			rc = errf(db, DB_ENOENT, "empty database, nothing "
			    "trained yet");
		else if (v == 1 && (db->flags & DB_AS_SCHEMA1))
			db->schema1 = 1;
		else {
			db->old_schema = 1;
			rc = errf(db, DB_EPERM, "schema version %lld needs "
			    "an upgrade: open it read-write once",
			    (long long)v);
		}
		goto out;
	}
	rc = run_id(db, S_BEGIN_WRITE);
	if (rc != 0)
		goto out;
	/* Another process may have migrated it meanwhile. */
	rc = read_user_version(db, &v);
	if (rc != 0)
		goto fail;
	if (v > DB_SCHEMA_VERSION) {
		rc = errf(db, DB_EVERSION, "schema version %lld is newer than "
		    "this program's %d: upgrade spamsift", (long long)v,
		    DB_SCHEMA_VERSION);
		goto fail;
	}
	for (; v < DB_SCHEMA_VERSION; v++) {
		rc = migrations[v](db, tok_version);
		if (rc != 0)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    DB_SCHEMA_VERSION);
	rc = exec(db, sql);
	if (rc != 0)
		goto fail;
	rc = run_id(db, S_COMMIT);
	if (rc != 0)
		goto fail;
	goto out;
fail:
	rollback_quiet(db);
out:
	return rc;
}

static int
check_tokver(struct db *db, int tok_version)
{
	int64_t v = 0;
	int found = 0;
	int rc;

	rc = meta_get(db, "tok_version", &v, &found);
	if (rc != 0)
		goto out;
	if (!found) {
		rc = errf(db, DB_ECORRUPT, "no tokenizer version recorded: "
		    "not a spamsift database");
		goto out;
	}
	if (v != tok_version)
		rc = errf(db, DB_ETOKVER, "trained by tokenizer version %lld, "
		    "this program has %d: its tokens are not this program's; "
		    "move it aside and train anew from your saved mail "
		    "(--show-db-status, --dump and --export-* still read it)",
		    (long long)v, tok_version);
out:
	return rc;
}

/* SQLite says only "attempt to write a readonly database" when the file
 * or its directory cannot be written; say what to do about it. */
static int
explain_open(struct db *db, int rc)
{
	char reason[ERRMSG_BYTES];
	size_t skip = strlen(db->path) + 2;
	int x;

	if (db->sq == NULL || (rc != DB_EPERM && rc != DB_EIO))
		goto out;
	x = sqlite3_extended_errcode(db->sq) & 0xff;
	if (x != SQLITE_READONLY && x != SQLITE_CANTOPEN)
		goto out;
	snprintf(reason, sizeof(reason), "%s",
	    strlen(db->errmsg) > skip ? db->errmsg + skip : "");
	if (db->flags & DB_READONLY)
		errf(db, rc, "%s: reading a wal database read-only needs its "
		    "-shm file or a writable directory", reason);
	else
		errf(db, rc, "%s: the file or its directory is not writable",
		    reason);
out:
	return rc;
}

static void
close_sqlite(struct db *db)
{
	int i;

	for (i = 0; i < S_COUNT; i++) {
		sqlite3_finalize(db->st[i]);
		db->st[i] = NULL;
	}
	sqlite3_close(db->sq);
	db->sq = NULL;
}

static int
open_once(struct db **out, const char *path, int flags, int tok_version,
    int busy_ms)
{
	sqlite3_stmt *st;
	struct db *db = NULL;
	int i;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || path == NULL || path[0] == '\0' ||
	    (flags & ~(DB_CREATE | DB_READONLY | DB_ANY_TOKVER |
	    DB_AS_SCHEMA1)) != 0 ||
	    ((flags & DB_CREATE) && (flags & DB_READONLY)) || busy_ms < 0) {
		rc = DB_EINVAL;
		goto out;
	}
	db = calloc(1, sizeof(*db));
	if (db == NULL) {
		rc = DB_ENOMEM;
		goto out;
	}
	db->path = strdup(path);
	if (db->path == NULL) {
		free(db);
		db = NULL;
		rc = DB_ENOMEM;
		goto out;
	}
	db->flags = flags;
	*out = db;
	rc = check_path(db);
	if (rc != 0)
		goto out;
	rc = open_sqlite(db, busy_ms);
	if (rc != 0)
		goto out;
	rc = set_journal(db);
	if (rc == 0)
		rc = set_cache(db);
	if (rc != 0)
		goto out;
	rc = migrate(db, tok_version);
	if (rc != 0)
		goto out;
	rc = check_tokver(db, tok_version);
	if (rc == DB_ETOKVER && (flags & DB_ANY_TOKVER))
		rc = 0;
	if (rc != 0)
		goto out;
	/* Only the transaction statements are prepared now (rollback must
	 * never fail for want of one); the rest when first used: a
	 * one-message classification needs three, and preparing all of
	 * them cost more than its lookups (callgrind). */
	for (i = 0; i <= S_ROLLBACK; i++) {
		rc = get_stmt(db, (enum stmt)i, &st);
		if (rc != 0)
			goto out;
	}
out:
	if (rc != 0 && db != NULL && db->sq != NULL) {
		rc = explain_open(db, rc);
		close_sqlite(db);
	}
	return rc;
}

/* A store of an older schema opened read-only (a delivery, after an
 * upgrade of spamsift) is upgraded through a read-write handle first when
 * its file can be written: refusing would fail every delivery until the
 * user happened to train.  A schema 1 store that cannot be written is
 * read as it is (no weights). */
int
db_open(struct db **out, const char *path, int flags, int tok_version,
    int busy_ms)
{
	struct db *rw = NULL;
	int rc;

	if (flags & DB_AS_SCHEMA1) {
		if (out != NULL)
			*out = NULL;
		return DB_EINVAL;
	}
	rc = open_once(out, path, flags, tok_version, busy_ms);
	if (rc != DB_EPERM || !(flags & DB_READONLY) || *out == NULL ||
	    !(*out)->old_schema)
		return rc;
	rc = open_once(&rw, path, flags & ~DB_READONLY, tok_version, busy_ms);
	db_close(rw);
	db_close(*out);
	rc = open_once(out, path, flags | (rc != 0 ? DB_AS_SCHEMA1 : 0),
	    tok_version, busy_ms);
	return rc;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->sq != NULL) {
		if (db->in_txn)
			rollback_quiet(db);
		close_sqlite(db);
	}
	pl_free(&db->pl);
	free(db->path);
	free(db);
}

/* The checks every call on an open handle starts with. */
static int
usable(struct db *db)
{
	int rc = 0;

	if (db == NULL)
		rc = DB_EINVAL;
	else if (db->sq == NULL)
		rc = errf(db, DB_EINVAL, "database is not open");
	return rc;
}

/*
 * Reading
 */

/* Run reads in one snapshot unless a transaction is open already. */
static int
read_begin(struct db *db, int *began)
{
	int rc = 0;

	*began = 0;
	if (!db->in_txn && !db->in_foreach &&
	    sqlite3_get_autocommit(db->sq)) {
		rc = run_id(db, S_BEGIN_READ);
		if (rc == 0)
			*began = 1;
	}
	return rc;
}

static int
read_end(struct db *db, int began, int rc)
{
	if (!began)
		goto out;
	if (rc == 0)
		rc = run_id(db, S_COMMIT);
	if (rc != 0)
		rollback_quiet(db);
out:
	return rc;
}

int
db_read_begin(struct db *db)
{
	int began = 0;
	int rc;

	rc = usable(db);
	if (rc != 0)
		goto out;
	if (db->in_txn || db->in_read || db->in_foreach) {
		rc = errf(db, DB_EINVAL, "db_read_begin: a transaction or "
		    "walk is already open");
		goto out;
	}
	rc = read_begin(db, &began);
	if (rc == 0)
		db->in_read = began;
out:
	return rc;
}

int
db_read_end(struct db *db, int rc)
{
	int began;

	if (db == NULL || db->sq == NULL)
		return rc != 0 ? rc : DB_EINVAL;
	began = db->in_read;
	db->in_read = 0;
	return read_end(db, began, rc);
}

/* The message totals as SQL has them now: two reads of the statement
 * the store's other keys use, prepared already (a statement of their
 * own cost a delivery ~70k instructions, ~35k of it to prepare), in
 * one snapshot.  No row, or a negative value, reads as 0. */
static int
totals_sql(struct db *db, uint64_t *spam_msgs, uint64_t *ham_msgs)
{
	int64_t s = 0;
	int64_t h = 0;
	int found;
	int began = 0;
	int rc;

	*spam_msgs = 0;
	*ham_msgs = 0;
	rc = read_begin(db, &began);
	if (rc != 0)
		goto out;
	rc = meta_get(db, "spam_msgs", &s, &found);
	if (rc == 0)
		rc = meta_get(db, "ham_msgs", &h, &found);
	rc = read_end(db, began, rc);
	if (rc != 0)
		goto out;
	*spam_msgs = s > 0 ? (uint64_t)s : 0;
	*ham_msgs = h > 0 ? (uint64_t)h : 0;
out:
	return rc;
}

int
db_totals(struct db *db, uint64_t *spam_msgs, uint64_t *ham_msgs)
{
	int rc;

	rc = usable(db);
	if (rc != 0)
		goto out;
	if (spam_msgs == NULL || ham_msgs == NULL) {
		rc = errf(db, DB_EINVAL, "db_totals: null argument");
		goto out;
	}
	/* Preloaded: the snapshot's, which agree with its tokens (and
	 * cost nothing per message).  In a write transaction SQL is the
	 * truth that writes are based on. */
	if (db->pl.slot != NULL && !db->in_txn) {
		*spam_msgs = db->pl.spam_msgs;
		*ham_msgs = db->pl.ham_msgs;
		goto out;
	}
	rc = totals_sql(db, spam_msgs, ham_msgs);
out:
	return rc;
}

static int
check_tok(struct db *db, const char *tok, size_t len)
{
	int rc = 0;

	if (tok == NULL || len == 0 || len > DB_TOKEN_BYTES_MAX)
		rc = errf(db, DB_EINVAL, "token of %zu bytes (1 to %d "
		    "allowed)", tok == NULL ? (size_t)0 : len,
		    DB_TOKEN_BYTES_MAX);
	return rc;
}

static int
lookup_one(struct db *db, const char *tok, size_t len, struct db_counts *out)
{
	sqlite3_stmt *st = NULL;
	int src;
	int rc;

	rc = get_stmt(db, S_LOOKUP, &st);
	if (rc != 0)
		goto out;
	src = sqlite3_bind_text(st, 1, tok, (int)len, SQLITE_STATIC);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		out->spam = clamp_count(sqlite3_column_int64(st, 0));
		out->ham = clamp_count(sqlite3_column_int64(st, 1));
		out->w = clamp_weight(sqlite3_column_int64(st, 2));
	} else if (src != SQLITE_DONE) {
		rc = sql_err(db, src);
	}
	stmt_done(st);
out:
	return rc;
}

int
db_lookup(struct db *db, size_t n, const char *const *toks,
    const size_t *lens, struct db_counts *out)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int src;
	int rc;

	rc = usable(db);
	if (rc != 0 || n == 0)
		goto out;
	if (toks == NULL || lens == NULL || out == NULL) {
		rc = errf(db, DB_EINVAL, "db_lookup: null argument");
		goto out;
	}
	for (i = 0; i < n; i++) {
		rc = check_tok(db, toks[i], lens[i]);
		if (rc != 0)
			goto out;
	}
	if (db->pl.slot != NULL) {
		pl_lookup(&db->pl, n, toks, lens, out);
		goto out;
	}
	memset(out, 0, n * sizeof(*out));
	if (n == 1) {
		rc = lookup_one(db, toks[0], lens[0], out);
		goto out;
	}
	/* One statement for all: one read transaction, and no set-up and
	 * tear-down per token. */
	rc = get_stmt(db, S_LOOKUP_BATCH, &st);
	if (rc != 0)
		goto out;
	db->bt.n = n;
	db->bt.toks = toks;
	db->bt.lens = lens;
	/* Bounded by n: a token is found at most once. */
	for (;;) {
		src = sqlite3_step(st);
		if (src != SQLITE_ROW)
			break;
		i = (size_t)sqlite3_column_int64(st, 0);
		if (i < n) {
			out[i].spam = clamp_count(sqlite3_column_int64(st, 1));
			out[i].ham = clamp_count(sqlite3_column_int64(st, 2));
			out[i].w = clamp_weight(sqlite3_column_int64(st, 3));
		}
	}
	if (src != SQLITE_DONE)
		rc = sql_err(db, src);
	stmt_done(st);
	memset(&db->bt, 0, sizeof(db->bt));
out:
	return rc;
}

/* A preload in progress: the store's keys are unique, so each row only
 * needs an empty slot, found without comparing keys; its slot is fetched
 * PL_AHEAD rows before it is filled (the slots are random accesses to
 * a table far bigger than the cache, the rest is written in order). */
struct pl_loading {
	uint64_t h[PL_AHEAD];
	size_t idx[PL_AHEAD];
	size_t n;		/* rows seen; the last PL_AHEAD not placed */
};

/* Place every row not placed yet. */
static void
pl_load_flush(struct preload *pl, struct pl_loading *ld)
{
	size_t k = ld->n > PL_AHEAD ? ld->n - PL_AHEAD : 0;

	for (; k < ld->n; k++)
		pl_place(pl, ld->h[k % PL_AHEAD], ld->idx[k % PL_AHEAD]);
	ld->n = 0;
}

/* Add one stored row (a key not added before) to a loading table. */
static int
pl_load_row(struct preload *pl, struct pl_loading *ld, const char *tok,
    size_t len, uint32_t spam, uint32_t ham, int32_t w)
{
	struct pl_ent *e;
	size_t idx, k;
	uint64_t h;
	int rc;

	if (spam == 0 && ham == 0)
		return 0;	/* as pl_apply: never a new 0/0 entry */
	if ((pl->nent + 1) * PL_LOAD_DIV > pl->nslots) {
		/* More rows than counted: growing places every entry, the
		 * pending ones too, which are then not pending. */
		ld->n = 0;
		rc = pl_grow(pl, pl->nent + 1);
		if (rc != 0)
			return rc;
	}
	rc = pl_ent_add(pl, tok, len, &idx);
	if (rc != 0)
		return rc;
	e = &pl->ent[idx];
	e->spam = spam;
	e->ham = ham;
	e->w = w;
	h = pl_hash(tok, len);
	__builtin_prefetch(&pl->slot[(size_t)h & (pl->nslots - 1)], 1);
	k = ld->n % PL_AHEAD;
	if (ld->n >= PL_AHEAD)
		pl_place(pl, ld->h[k], ld->idx[k]);
	ld->h[k] = h;
	ld->idx[k] = idx;
	ld->n++;
	return 0;
}

int
db_preload(struct db *db)
{
	struct preload pl = { 0 };
	struct pl_loading ld = { 0 };
	sqlite3_stmt *st = NULL;
	const char *tok;
	int64_t rows = 0;
	size_t len;
	int began = 0;
	int src;
	int rc;

	rc = usable(db);
	if (rc != 0)
		goto out;
	if (db->in_foreach) {
		rc = errf(db, DB_EINVAL, "db_preload inside db_foreach");
		goto out;
	}
	pl_free(&db->pl);
	/* Tokens and totals from one snapshot. */
	rc = read_begin(db, &began);
	if (rc != 0)
		goto out;
	rc = totals_sql(db, &pl.spam_msgs, &pl.ham_msgs);
	if (rc == 0)
		rc = query_int(db, S_COUNT_ALL, 0, &rows);
	if (rc == 0)
		rc = get_stmt(db, S_PRELOAD, &st);
	if (rc != 0)
		goto end;
	/* Sized once: growing by doubling touched as much memory again
	 * (page faults were a sixth of a batch classification's CPU). */
	if (rows > 0 && (pl_grow(&pl, (uint64_t)rows) != 0 ||
	    pl_reserve(&pl, (uint64_t)rows) != 0)) {
		rc = errf(db, DB_ENOMEM, "out of memory preloading tokens");
		stmt_done(st);
		goto end;
	}
	/* Bounded by the rows of the table. */
	for (;;) {
		src = sqlite3_step(st);
		if (src != SQLITE_ROW)
			break;
		tok = (const char *)sqlite3_column_text(st, 0);
		len = (size_t)sqlite3_column_bytes(st, 0);
		if (tok == NULL && sqlite3_errcode(db->sq) == SQLITE_NOMEM) {
			rc = errf(db, DB_ENOMEM, "out of memory");
			break;
		}
		if (tok == NULL || len == 0 || len > DB_TOKEN_BYTES_MAX)
			continue;	/* cannot be looked up anyway */
		rc = pl_load_row(&pl, &ld, tok, len,
		    clamp_count(sqlite3_column_int64(st, 1)),
		    clamp_count(sqlite3_column_int64(st, 2)),
		    clamp_weight(sqlite3_column_int64(st, 3)));
		if (rc != 0) {
			rc = errf(db, rc, "out of memory preloading tokens");
			break;
		}
	}
	pl_load_flush(&pl, &ld);
	if (rc == 0 && src != SQLITE_DONE)
		rc = sql_err(db, src);
	stmt_done(st);
end:
	rc = read_end(db, began, rc);
	if (rc != 0)
		goto out;
	if (pl.slot == NULL) {
		/* An empty store still gets a table: lookups then say 0. */
		rc = pl_grow(&pl, 0);
		if (rc != 0) {
			rc = errf(db, rc, "out of memory preloading tokens");
			goto out;
		}
	}
	db->pl = pl;
	memset(&pl, 0, sizeof(pl));
	/* Loaded inside a transaction: it holds uncommitted counts. */
	if (db->in_txn)
		db->pl_dirty = 1;
out:
	pl_free(&pl);
	return rc;
}

int
db_msg_class(struct db *db, const unsigned char digest[DB_DIGEST_BYTES],
    enum db_class *cls)
{
	return db_msg_get(db, digest, cls, NULL);
}

int
db_msg_get(struct db *db, const unsigned char digest[DB_DIGEST_BYTES],
    enum db_class *cls, int64_t *g)
{
	sqlite3_stmt *st = NULL;
	int64_t v, w;
	int src;
	int rc;

	rc = usable(db);
	if (rc != 0)
		goto out;
	if (digest == NULL || cls == NULL) {
		rc = errf(db, DB_EINVAL, "db_msg_class: null argument");
		goto out;
	}
	*cls = DB_NONE;
	if (g != NULL)
		*g = 0;
	rc = get_stmt(db, S_MSG_GET, &st);
	if (rc != 0)
		goto out;
	src = sqlite3_bind_blob(st, 1, digest, DB_DIGEST_BYTES,
	    SQLITE_STATIC);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
		w = sqlite3_column_int64(st, 1);
		if (!msg_row_ok(v, w)) {
			rc = errf(db, DB_EIO, "message stored with bad class "
			    "%lld or weight step %lld", (long long)v,
			    (long long)w);
		} else {
			*cls = (enum db_class)v;
			if (g != NULL)
				*g = w;
		}
	} else if (src != SQLITE_DONE) {
		rc = sql_err(db, src);
	}
	stmt_done(st);
out:
	return rc;
}

/*
 * Writing
 */

int
db_begin(struct db *db)
{
	int rc;

	rc = usable(db);
	if (rc != 0)
		goto out;
	if (db->flags & DB_READONLY) {
		rc = errf(db, DB_EPERM, "opened read-only");
		goto out;
	}
	if (db->in_txn || db->in_read || db->in_foreach) {
		rc = errf(db, DB_EINVAL, "db_begin: a transaction or walk "
		    "is already open");
		goto out;
	}
	rc = run_id(db, S_BEGIN_WRITE);
	if (rc != 0)
		goto out;
	db->in_txn = 1;
	db->pl_dirty = 0;
out:
	return rc;
}

int
db_commit(struct db *db)
{
	int rc;

	rc = usable(db);
	if (rc != 0)
		goto out;
	if (!db->in_txn) {
		rc = errf(db, DB_EINVAL, "db_commit: no transaction");
		goto out;
	}
	rc = run_id(db, S_COMMIT);
	if (rc != 0) {
		/* A failed COMMIT may or may not have rolled back; either
		 * way the preloaded counts are no longer known good. */
		db->in_txn = !sqlite3_get_autocommit(db->sq);
		pl_drop_dirty(db);
		goto out;
	}
	db->in_txn = 0;
	db->pl_dirty = 0;
out:
	return rc;
}

void
db_rollback(struct db *db)
{
	if (db == NULL || db->sq == NULL || !db->in_txn)
		return;
	rollback_quiet(db);
	db->in_txn = 0;
	pl_drop_dirty(db);
}

/* After a failed write: SQLite may have rolled the transaction back. */
static int
write_failed(struct db *db, int rc)
{
	if (sqlite3_get_autocommit(db->sq))
		db->in_txn = 0;
	pl_drop_dirty(db);
	return rc;
}

static int
check_write(struct db *db, const char *fn)
{
	int rc;

	rc = usable(db);
	if (rc == 0 && !db->in_txn)
		rc = errf(db, DB_EINVAL, "%s: no transaction", fn);
	return rc;
}

static int
check_delta(struct db *db, int64_t d)
{
	int rc = 0;

	if (d < -DELTA_MAX || d > DELTA_MAX)
		rc = errf(db, DB_EINVAL, "count change %lld out of range",
		    (long long)d);
	return rc;
}

static int
check_dw(struct db *db, int64_t dw)
{
	int rc = 0;

	if (!weight_ok(dw))
		rc = errf(db, DB_EINVAL, "weight change %lld out of range",
		    (long long)dw);
	return rc;
}

/* Bind a token statement's ?1 tok, ?2 dspam, ?3 dham (and ?4 day, ?5 dw
 * when it has them) and run it. */
static int
run_tok(struct db *db, enum stmt id, const char *tok, size_t len,
    int64_t dspam, int64_t dham, int64_t dw, int64_t day)
{
	sqlite3_stmt *st;
	int src;
	int rc;

	rc = get_stmt(db, id, &st);
	if (rc != 0)
		return rc;
	src = sqlite3_bind_text(st, 1, tok, (int)len, SQLITE_STATIC);
	if (src == SQLITE_OK)
		src = sqlite3_bind_int64(st, 2, dspam);
	if (src == SQLITE_OK)
		src = sqlite3_bind_int64(st, 3, dham);
	if (src == SQLITE_OK && sqlite3_bind_parameter_count(st) >= 4)
		src = sqlite3_bind_int64(st, 4, day);
	if (src == SQLITE_OK && sqlite3_bind_parameter_count(st) >= 5)
		src = sqlite3_bind_int64(st, 5, dw);
	if (src == SQLITE_OK) {
		rc = run(db, st);
	} else {
		rc = sql_err(db, src);
		stmt_done(st);
	}
	return rc;
}

/* One token's change in SQL, and in the preloaded table if there is one;
 * the caller checked the arguments and handles a failure. */
static int
add_one(struct db *db, const char *tok, size_t len, int64_t dspam,
    int64_t dham, int64_t dw, int64_t day)
{
	int rc;

	if (dspam > 0 || dham > 0) {
		/* The row cannot end at 0/0: one upsert. */
		rc = run_tok(db, S_UPSERT, tok, len, dspam, dham, dw, day);
	} else {
		/* Drop the row if it reaches 0/0 (its weight with it), else
		 * lower it. */
		rc = run_tok(db, S_DEL_ZERO, tok, len, dspam, dham, dw, day);
		if (rc == 0 && sqlite3_changes(db->sq) == 0)
			rc = run_tok(db, S_DECR, tok, len, dspam, dham, dw,
			    day);
	}
	if (rc == 0 && db->pl.slot != NULL) {
		db->pl_dirty = 1;
		/* Out of memory: forget the table, SQL is still right. */
		if (pl_apply(&db->pl, tok, len, dspam, dham, dw) != 0)
			pl_free(&db->pl);
	}
	return rc;
}

int
db_add_token(struct db *db, const char *tok, size_t len, int64_t dspam,
    int64_t dham, int64_t dw, int64_t day)
{
	int rc;

	rc = check_write(db, "db_add_token");
	if (rc == 0)
		rc = check_tok(db, tok, len);
	if (rc == 0)
		rc = check_delta(db, dspam);
	if (rc == 0)
		rc = check_delta(db, dham);
	if (rc == 0)
		rc = check_dw(db, dw);
	if (rc != 0)
		goto out;
	rc = add_one(db, tok, len, dspam, dham, dw, day);
	if (rc != 0)
		rc = write_failed(db, rc);
out:
	return rc;
}

int
db_add_tokens(struct db *db, size_t n, const char *const *toks,
    const size_t *lens, const int64_t *dspam, const int64_t *dham,
    const int64_t *dw, int64_t day)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	size_t nadd = 0;
	int src;
	int rc;

	rc = check_write(db, "db_add_tokens");
	if (rc != 0 || n == 0)
		goto out;
	if (toks == NULL || lens == NULL || dspam == NULL || dham == NULL) {
		rc = errf(db, DB_EINVAL, "db_add_tokens: null argument");
		goto out;
	}
	for (i = 0; i < n && rc == 0; i++) {
		rc = check_tok(db, toks[i], lens[i]);
		if (rc == 0)
			rc = check_delta(db, dspam[i]);
		if (rc == 0)
			rc = check_delta(db, dham[i]);
		if (rc == 0 && dw != NULL)
			rc = check_dw(db, dw[i]);
	}
	if (rc != 0)
		goto out;
	db->bt.n = n;
	db->bt.toks = toks;
	db->bt.lens = lens;
	db->bt.ds = dspam;
	db->bt.dh = dham;
	db->bt.dw = dw;
	for (i = 0; i < n; i++)
		if (bt_adds(&db->bt, i))
			nadd++;
	/* The rows that only add, in one statement. */
	if (nadd > 0) {
		rc = get_stmt(db, S_ADD_BATCH, &st);
		if (rc != 0)
			goto fail;
		src = sqlite3_bind_int64(st, 1, day);
		rc = run_bound(db, st, src);
		if (rc != 0)
			goto fail;
	}
	/* The others (unlearning, moving) one by one. */
	for (i = 0; i < n && nadd < n; i++) {
		if (bt_adds(&db->bt, i))
			continue;
		rc = add_one(db, toks[i], lens[i], dspam[i], dham[i],
		    bt_dw(&db->bt, i), day);
		if (rc != 0)
			goto fail;
	}
	if (db->pl.slot != NULL) {
		db->pl_dirty = 1;
		for (i = 0; i < n && db->pl.slot != NULL; i++)
			if (bt_adds(&db->bt, i) &&
			    pl_apply(&db->pl, toks[i], lens[i], dspam[i],
			    dham[i], bt_dw(&db->bt, i)) != 0)
				pl_free(&db->pl);
	}
	goto out;
fail:
	rc = write_failed(db, rc);
out:
	if (db != NULL)
		memset(&db->bt, 0, sizeof(db->bt));
	return rc;
}

/* A preloaded total after adding d, as S_TOTAL_ADD does (stops at 0). */
static uint64_t
add_total(uint64_t v, int64_t d)
{
	if (d < 0 && (uint64_t)-d >= v)
		return 0;
	return d < 0 ? v - (uint64_t)-d : v + (uint64_t)d;
}

int
db_add_totals(struct db *db, int64_t dspam, int64_t dham)
{
	static const char *const keys[2] = { "spam_msgs", "ham_msgs" };
	sqlite3_stmt *st;
	int64_t d[2];
	int src;
	int i;
	int rc;

	rc = check_write(db, "db_add_totals");
	if (rc == 0)
		rc = check_delta(db, dspam);
	if (rc == 0)
		rc = check_delta(db, dham);
	if (rc != 0)
		goto out;
	d[0] = dspam;
	d[1] = dham;
	rc = get_stmt(db, S_TOTAL_ADD, &st);
	if (rc != 0)
		goto fail;
	for (i = 0; i < 2; i++) {
		if (d[i] == 0)
			continue;
		src = sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
		if (src == SQLITE_OK)
			src = sqlite3_bind_int64(st, 2, d[i]);
		rc = run_bound(db, st, src);
		if (rc != 0)
			goto fail;
	}
	if (db->pl.slot != NULL) {
		db->pl_dirty = 1;
		db->pl.spam_msgs = add_total(db->pl.spam_msgs, dspam);
		db->pl.ham_msgs = add_total(db->pl.ham_msgs, dham);
	}
	goto out;
fail:
	rc = write_failed(db, rc);
out:
	return rc;
}

int
db_set_msg(struct db *db, const unsigned char digest[DB_DIGEST_BYTES],
    enum db_class cls, const char *msgid, int64_t g, int64_t day)
{
	sqlite3_stmt *st;
	size_t idlen;
	int src;
	int rc;

	rc = check_write(db, "db_set_msg");
	if (rc != 0)
		goto out;
	if (digest == NULL || (cls != DB_NONE && cls != DB_SPAM &&
	    cls != DB_HAM) || !weight_ok(g)) {
		rc = errf(db, DB_EINVAL, "db_set_msg: bad digest, class or "
		    "weight step");
		goto out;
	}
	rc = get_stmt(db, cls == DB_NONE ? S_MSG_DEL : S_MSG_SET, &st);
	if (rc != 0)
		goto out;
	if (cls == DB_NONE) {
		src = sqlite3_bind_blob(st, 1, digest, DB_DIGEST_BYTES,
		    SQLITE_STATIC);
	} else {
		src = sqlite3_bind_blob(st, 1, digest, DB_DIGEST_BYTES,
		    SQLITE_STATIC);
		if (src == SQLITE_OK)
			src = sqlite3_bind_int(st, 2, (int)cls);
		if (src == SQLITE_OK && msgid != NULL) {
			/* Past the limit the id is cut, not refused. */
			idlen = strnlen(msgid, MSGID_BYTES_MAX);
			src = sqlite3_bind_text(st, 3, msgid, (int)idlen,
			    SQLITE_STATIC);
		}
		if (src == SQLITE_OK)
			src = sqlite3_bind_int64(st, 4, day);
		if (src == SQLITE_OK)
			src = sqlite3_bind_int64(st, 5, g);
	}
	rc = run_bound(db, st, src);
	if (rc != 0)
		goto fail;
	goto out;
fail:
	rc = write_failed(db, rc);
out:
	return rc;
}

/*
 * Facts and walks
 */

static const char *
journal_name(const char *mode)
{
	static const char *const names[] = {
		"wal", "delete", "truncate", "persist", "memory", "off",
	};
	const char *name = "delete";
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(mode, names[i]) == 0)
			name = names[i];
	return name;
}

int
db_status(struct db *db, struct db_status *out)
{
	struct db_status st;
	sqlite3_stmt *q = NULL;
	struct stat sb;
	char mode[32];
	int64_t v = 0;
	int found = 0;
	int began = 0;
	int src;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = usable(db);
	if (rc != 0)
		goto out;
	if (out == NULL) {
		rc = errf(db, DB_EINVAL, "db_status: null argument");
		goto out;
	}
	rc = read_begin(db, &began);
	if (rc != 0)
		goto out;
	rc = totals_sql(db, &st.spam_msgs, &st.ham_msgs);
	if (rc != 0)
		goto end;
	rc = get_stmt(db, S_COUNT_TOK, &q);
	if (rc != 0)
		goto end;
	src = sqlite3_step(q);
	if (src == SQLITE_ROW) {
		st.tokens = (uint64_t)sqlite3_column_int64(q, 0);
		st.spam_tokens = (uint64_t)sqlite3_column_int64(q, 1);
		st.ham_tokens = (uint64_t)sqlite3_column_int64(q, 2);
	} else if (src != SQLITE_DONE) {
		rc = sql_err(db, src);
	}
	stmt_done(q);
	if (rc != 0)
		goto end;
	rc = query_int(db, S_COUNT_MSG, 0, &v);
	if (rc != 0)
		goto end;
	st.learned = (uint64_t)v;
	rc = read_user_version(db, &v);
	if (rc != 0)
		goto end;
	st.schema_version = (int)v;
	rc = meta_get(db, "tok_version", &v, &found);
	if (rc != 0)
		goto end;
	st.tok_version = (int)v;
	rc = pragma_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
	if (rc != 0)
		goto end;
	st.journal = journal_name(mode);
	st.network_fs = db->netfs;
end:
	rc = read_end(db, began, rc);
	if (rc != 0)
		goto out;
	if (stat(db->path, &sb) == 0)
		st.file_bytes = (uint64_t)sb.st_size;
	*out = st;
out:
	return rc;
}

/* Begin a walk over the rows of statement id (what names the caller):
 * the store usable, a function given, no walk open; then one is. */
static int
walk_begin(struct db *db, int fn_given, enum stmt id, const char *what,
    sqlite3_stmt **st)
{
	int rc;

	rc = usable(db);
	if (rc == 0 && (!fn_given || db->in_foreach))
		rc = errf(db, DB_EINVAL, "%s: no function, or nested", what);
	if (rc == 0)
		rc = get_stmt(db, id, st);
	if (rc == 0)
		db->in_foreach = 1;
	return rc;
}

/* End the walk: rc, or SQLite's error if the step that ended it (src)
 * was no end of rows. */
static int
walk_end(struct db *db, sqlite3_stmt *st, int src, int rc)
{
	if (rc == 0 && src != SQLITE_DONE)
		rc = sql_err(db, src);
	stmt_done(st);
	db->in_foreach = 0;
	return rc;
}

/* Call fn (every row: token, counts, day; statement S_ALL) or cfn (the
 * counts only; S_ALL_COUNTS, which reads less) for each token, until one
 * returns non-zero. */
static int
walk(struct db *db, db_token_fn fn, db_counts_fn cfn, void *ctx,
    uint32_t min_total, const char *what)
{
	struct db_counts c;
	sqlite3_stmt *st = NULL;
	const char *tok;
	size_t len;
	int col = cfn != NULL ? 0 : 1;
	int src = SQLITE_DONE;
	int rc;

	rc = walk_begin(db, fn != NULL || cfn != NULL, cfn != NULL ?
	    S_ALL_COUNTS : S_ALL, what, &st);
	if (rc != 0)
		goto out;
	if (cfn != NULL) {
		src = sqlite3_bind_int64(st, 1, (sqlite3_int64)min_total);
		if (src != SQLITE_OK) {
			rc = walk_end(db, st, src, 0);
			goto out;
		}
	}
	/* Bounded by the rows of the table. */
	for (;;) {
		src = sqlite3_step(st);
		if (src != SQLITE_ROW)
			break;
		c.spam = clamp_count(sqlite3_column_int64(st, col));
		c.ham = clamp_count(sqlite3_column_int64(st, col + 1));
		c.w = 0;
		if (cfn != NULL) {
			rc = cfn(ctx, &c);
		} else {
			c.w = clamp_weight(sqlite3_column_int64(st, 4));
			tok = (const char *)sqlite3_column_text(st, 0);
			len = (size_t)sqlite3_column_bytes(st, 0);
			if (tok == NULL)
				continue;
			rc = fn(ctx, tok, len, &c, sqlite3_column_int64(st, 3));
		}
		if (rc != 0)
			break;
	}
	rc = walk_end(db, st, src, rc);
out:
	return rc;
}

int
db_foreach(struct db *db, db_token_fn fn, void *ctx)
{
	return walk(db, fn, NULL, ctx, 0, "db_foreach");
}

int
db_foreach_counts(struct db *db, uint32_t min_total, db_counts_fn fn,
    void *ctx)
{
	return walk(db, NULL, fn, ctx, min_total, "db_foreach_counts");
}

int
db_foreach_msg(struct db *db, db_msg_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *digest;
	const char *msgid;
	int64_t cls, g;
	int src;
	int rc;

	rc = walk_begin(db, fn != NULL, S_MSG_ALL, "db_foreach_msg", &st);
	if (rc != 0)
		goto out;
	/* Bounded by the rows of the table. */
	for (;;) {
		src = sqlite3_step(st);
		if (src != SQLITE_ROW)
			break;
		digest = sqlite3_column_blob(st, 0);
		cls = sqlite3_column_int64(st, 1);
		g = sqlite3_column_int64(st, 4);
		if (digest == NULL ||
		    sqlite3_column_bytes(st, 0) != DB_DIGEST_BYTES ||
		    !msg_row_ok(cls, g)) {
			rc = errf(db, DB_ECORRUPT, "a learned message is "
			    "stored with a bad digest, class or weight step");
			break;
		}
		msgid = (const char *)sqlite3_column_text(st, 2);
		rc = fn(ctx, digest, (enum db_class)cls, msgid, g,
		    sqlite3_column_int64(st, 3));
		if (rc != 0)
			break;
	}
	rc = walk_end(db, st, src, rc);
out:
	return rc;
}

/*
 * Maintenance
 */

static int
check_maint(struct db *db)
{
	int rc;

	rc = usable(db);
	if (rc == 0 && (db->flags & DB_READONLY))
		rc = errf(db, DB_EPERM, "opened read-only");
	else if (rc == 0 && (db->in_txn || db->in_read || db->in_foreach))
		rc = errf(db, DB_EINVAL, "maintenance inside a transaction");
	return rc;
}

/* After a maintenance change the preloaded table is stale: reload it; if
 * that fails, lookups go back to SQL. */
static void
pl_refresh(struct db *db)
{
	char keep[ERRMSG_BYTES];
	int keep_rc;

	if (db->pl.slot == NULL)
		return;
	memcpy(keep, db->errmsg, sizeof(keep));
	keep_rc = db->err_rc;
	if (db_preload(db) != 0)
		pl_free(&db->pl);
	memcpy(db->errmsg, keep, sizeof(keep));
	db->err_rc = keep_rc;
}

static int
scale_class(struct db *db, enum stmt id, const char *key, uint64_t total,
    uint64_t max_msgs, int *scaled)
{
	sqlite3_stmt *st = NULL;
	int src;
	int rc = 0;

	if (total <= max_msgs)
		goto out;
	rc = get_stmt(db, id, &st);
	if (rc != 0)
		goto out;
	src = sqlite3_bind_double(st, 1, (double)max_msgs / (double)total);
	rc = run_bound(db, st, src);
	if (rc == 0)
		rc = meta_set(db, key, (int64_t)max_msgs);
	if (rc == 0)
		*scaled = 1;
out:
	return rc;
}

int
db_scale(struct db *db, uint64_t limit, uint64_t target, uint64_t *dropped)
{
	uint64_t spam = 0;
	uint64_t ham = 0;
	int scaled = 0;
	int rc;

	if (dropped != NULL)
		*dropped = 0;
	rc = check_maint(db);
	if (rc != 0)
		goto out;
	if (target == 0 || target > limit) {
		rc = errf(db, DB_EINVAL, "db_scale: target not in 1..limit");
		goto out;
	}
	rc = db_begin(db);
	if (rc != 0)
		goto out;
	rc = totals_sql(db, &spam, &ham);
	if (rc == 0 && spam > limit)
		rc = scale_class(db, S_SCALE_SPAM, "spam_msgs", spam, target,
		    &scaled);
	if (rc == 0 && ham > limit)
		rc = scale_class(db, S_SCALE_HAM, "ham_msgs", ham, target,
		    &scaled);
	if (rc == 0 && scaled) {
		rc = run_id(db, S_DEL_EMPTY);
		if (rc == 0 && dropped != NULL)
			*dropped = (uint64_t)sqlite3_changes(db->sq);
	}
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0) {
		db_rollback(db);
		if (dropped != NULL)
			*dropped = 0;
		goto out;
	}
	if (scaled)
		pl_refresh(db);
out:
	return rc;
}

int
db_prune(struct db *db, int64_t before_day, uint32_t max_count,
    uint64_t *dropped)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int src;
	int rc;

	if (dropped != NULL)
		*dropped = 0;
	rc = check_maint(db);
	if (rc != 0)
		goto out;
	rc = db_begin(db);
	if (rc != 0)
		goto out;
	rc = get_stmt(db, S_PRUNE, &st);
	if (rc != 0)
		goto fail;
	src = sqlite3_bind_int64(st, 1, (int64_t)max_count);
	if (src == SQLITE_OK)
		src = sqlite3_bind_int64(st, 2, before_day);
	rc = run_bound(db, st, src);
	if (rc != 0)
		goto fail;
	n = sqlite3_changes(db->sq);
	rc = db_commit(db);
	if (rc != 0)
		goto fail;
	if (dropped != NULL)
		*dropped = (uint64_t)n;
	if (n > 0)
		pl_refresh(db);
	goto out;
fail:
	db_rollback(db);
out:
	return rc;
}

int
db_vacuum(struct db *db)
{
	int rc;

	rc = check_maint(db);
	if (rc != 0)
		goto out;
	/* VACUUM builds the new file as a temporary database: on disk, not
	 * in memory the size of the store (see set_journal). */
	if (!db->netfs)
		rc = exec(db, "PRAGMA temp_store = FILE");
	if (rc == 0)
		rc = run_id(db, S_VACUUM);
	if (!db->netfs) {
		int back = exec(db, "PRAGMA temp_store = MEMORY");

		if (rc == 0)
			rc = back;
	}
	if (rc != 0)
		goto out;
	/* Give the space back from the WAL file too; a busy reader only
	 * means the WAL stays for now. */
	if (!db->netfs)
		rc = run_id(db, S_CHECKPOINT);
	if (rc == DB_EBUSY)
		rc = 0;
out:
	return rc;
}

/* The bytes of the store's pages that hold rows, and of all its pages,
 * from SQLite's dbstat table in one statement (one snapshot); DB_EINVAL
 * when this SQLite cannot give them. */
static int
bytes_used(struct db *db, int64_t *used, int64_t *all)
{
	sqlite3_stmt *st = NULL;
	int src;
	int rc = 0;

	*used = *all = 0;
	src = sqlite3_prepare_v2(db->sq, "SELECT sum(pgsize - unused), "
	    "(SELECT page_count * page_size FROM pragma_page_count, "
	    "pragma_page_size) FROM dbstat('main', 1)", -1, &st, NULL);
	if (src == SQLITE_ERROR) {
		rc = errf(db, DB_EINVAL, "this SQLite cannot tell how full "
		    "the store is (dbstat: %s)", sqlite3_errmsg(db->sq));
		goto out;
	}
	if (src != SQLITE_OK) {
		rc = sql_err(db, src);
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*used = sqlite3_column_int64(st, 0);
		*all = sqlite3_column_int64(st, 1);
	} else if (src != SQLITE_DONE) {
		rc = sql_err(db, src);
	}
out:
	sqlite3_finalize(st);
	return rc;
}

int
db_used(struct db *db, double *share)
{
	int64_t used = 0, all = 0;
	int rc;

	*share = 0;
	rc = usable(db);
	if (rc == 0)
		rc = bytes_used(db, &used, &all);
	if (rc == 0 && all > 0 && used <= all)
		*share = (double)used / (double)all;
	return rc;
}

int
db_compact(struct db *db, double below, int *done)
{
	double share = 0;
	int rc;

	if (done != NULL)
		*done = 0;
	rc = check_maint(db);
	if (rc != 0)
		goto out;
	rc = db_used(db, &share);
	if (rc == DB_EINVAL)
		rc = 0;		/* no dbstat: compact, as if loose */
	if (rc != 0 || share >= below)
		goto out;
	rc = db_vacuum(db);
	if (rc == 0 && done != NULL)
		*done = 1;
out:
	return rc;
}

int
db_check(struct db *db)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *line;
	int64_t n = 0;
	int src;
	int rc;

	rc = usable(db);
	if (rc != 0)
		goto out;
	rc = get_stmt(db, S_INTEGRITY, &st);
	if (rc != 0)
		goto out;
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		line = sqlite3_column_text(st, 0);
		if (line == NULL || strcmp((const char *)line, "ok") != 0)
			rc = errf(db, DB_ECORRUPT, "integrity check: %s",
			    line == NULL ? "no answer" : (const char *)line);
	} else if (src == SQLITE_DONE) {
		rc = errf(db, DB_ECORRUPT, "integrity check: no answer");
	} else {
		rc = sql_err(db, src);
	}
	stmt_done(st);
	if (rc != 0)
		goto out;
	rc = query_int(db, S_CHECK_ROWS, 0, &n);
	if (rc != 0)
		goto out;
	if (n != 0) {
		rc = errf(db, DB_ECORRUPT, "%lld tokens with a bad key or "
		    "counts", (long long)n);
		goto out;
	}
	rc = query_int(db, S_CHECK_META, 0, &n);
	if (rc == 0 && n != 3)
		rc = errf(db, DB_ECORRUPT, "message totals or tokenizer "
		    "version missing");
out:
	return rc;
}

/*
 * Named integers
 */

/* The keys the store itself keeps; db_meta_set may not change them. */
static int
meta_reserved(const char *key)
{
	return strcmp(key, "spam_msgs") == 0 || strcmp(key, "ham_msgs") == 0 ||
	    strcmp(key, "tok_version") == 0;
}

static int
check_key(struct db *db, const char *key)
{
	int rc = 0;

	if (key == NULL || key[0] == '\0' ||
	    strnlen(key, META_KEY_MAX + 1) > META_KEY_MAX)
		rc = errf(db, DB_EINVAL, "meta key must be 1 to %d bytes",
		    META_KEY_MAX);
	return rc;
}

int
db_meta_get(struct db *db, const char *key, int64_t *val)
{
	int found = 0;
	int rc;

	rc = usable(db);
	if (rc == 0)
		rc = check_key(db, key);
	if (rc == 0 && val == NULL)
		rc = errf(db, DB_EINVAL, "db_meta_get: null argument");
	if (rc != 0)
		goto out;
	rc = meta_get(db, key, val, &found);
	if (rc == 0 && !found)
		rc = errf(db, DB_ENOENT, "no value for %s", key);
out:
	return rc;
}

int
db_meta_set(struct db *db, const char *key, int64_t val)
{
	int rc;

	rc = check_write(db, "db_meta_set");
	if (rc == 0)
		rc = check_key(db, key);
	if (rc == 0 && meta_reserved(key))
		rc = errf(db, DB_EINVAL, "db_meta_set: %s is kept by the "
		    "store itself", key);
	if (rc != 0)
		goto out;
	rc = meta_set(db, key, val);
	if (rc != 0)
		rc = write_failed(db, rc);
out:
	return rc;
}

int64_t
db_today(void)
{
	time_t t = time(NULL);

	if (t < 0)
		t = 0;
	return (int64_t)(t / 86400);
}
