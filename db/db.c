/* SPDX-License-Identifier: MIT */
/*
 * db.c - the token store in one SQLite file (the contract is db.h).
 *
 * Schema (PRAGMA user_version = DB_SCHEMA_VERSION, 4):
 *	tokb(key INTEGER PRIMARY KEY, data BLOB): the tokens in buckets,
 *	    bucket.h's format; key = bk_key(bk_hash(token), level)
 *	msg(digest BLOB PRIMARY KEY, class, msgid, day, g) WITHOUT ROWID
 *	meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID:
 *	    spam_msgs, ham_msgs, tok_version, tok_level (the level L of
 *	    every bucket, BK_LEVEL_MIN up), tok_count (the tokens the
 *	    buckets hold), and db_meta_set's keys
 * A bucket never holds a token at 0/0, and is never empty: the writes
 * drop them.  The level rises (every bucket split in two, or more) when
 * a write leaves more than BK_AVG tokens a bucket on average.
 * Counts are kept in [0, COUNT_MAX] so they always fit struct
 * db_counts.  Schema 1 and 2 kept a row per token, token(tok TEXT
 * PRIMARY KEY, spam, ham, day, w): migrate_2 moves them into buckets, and
 * a store of either that cannot be written is read as it is (db->rows).
 * Schema 3 keyed the buckets with bk_key3, under which a split wrote
 * every bucket past the old ones (the file doubled, then needed a
 * VACUUM): migrate_3 rekeys them, and one that cannot be written is read
 * under its keys (db->key3).
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
 * Batches go through SQL in one statement, not one per bucket: the
 * eponymous virtual table spamsift_bk shows the keys to read (joined
 * with tokb) or the buckets to write (inserted from it).  A statement
 * per bucket spent more on its own set-up and tear-down than on the
 * B-tree.  spamsift_batch shows a lookup's tokens to join with the token
 * rows of a store read as it is.
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
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/db.h"
#include "db/bucket.h"

#define MSGID_BYTES_MAX	998		/* longer Message-IDs cut */
#define META_KEY_MAX	64		/* longest db_meta_set key */
#define COUNT_MAX	UINT32_MAX	/* per-token count ceiling */
#define DELTA_MAX	((int64_t)UINT32_MAX) /* largest |delta| per call */
#define WEIGHT_MAX	INT32_MAX	/* |weight| ceiling */
#define REASON_BYTES	(PATH_MAX + 512)
#define ERRMSG_BYTES	(2 * PATH_MAX + 512)
#define CACHE_KIB	32768		/* SQLite page cache, KiB */
#define HELPER_MIN_LEVEL 11		/* a split's second thread: from
					 * 2048 buckets (bk_apply_split) */
#define HELPER_BUSY_MS	100		/* its wait for a lock: its share is
					 * done here when it fails */
#define HELPER_FAIL_ENV	"SPAMSIFT_TEST_HELPER_FAIL" /* set: the second
					 * thread's share fails (tests) */
#define AHEAD_MIN_TOKENS 16384		/* db_order_ahead: a smaller batch
					 * is ordered faster than a thread
					 * starts and joins */
#define AHEAD_FIELDS	3		/* ... room for ds, dh, dw (a
					 * write with days makes its own) */
#define PL_MIN_SLOTS	1024		/* first hash table size */
#define PL_AHEAD	8		/* lookups between prefetch steps */
#define PL_LOAD_DIV	2		/* slots per entry at the fullest */
#define PL_MAX_ENTRIES	(UINT32_MAX - 1)	/* an index + 1 fits a slot */
#define PL_MIN_ARENA	(64 * 1024)	/* first key arena size */
#define BK_SCAN_SHARE	4		/* bk_read_runs scans a range it
					 * wants this share of, or more */
#define BK_SAMPLE_SHARE	16	/* bk_apply's sample of a write */
#define BK_SPLIT_MARGIN	8	/* ... that passes the room by 1/8:
				 * split while written */
#define BK_WRITE_RUNS	512		/* buckets a write that cannot split
					 * queues at a time (bk_apply) */
#define WAL_RETRY_MS	10		/* wal_on's pause between tries */
#define NETFS_ENV	"SPAMSIFT_FORCE_NETFS"
#define MSG_SCALED	2		/* msg.class of a message learned
					 * before its class was scaled:
					 * DB_SPAM or DB_HAM + this (the
					 * SQL says 3 and 4) */
_Static_assert(DB_SPAM + MSG_SCALED == 3 && DB_HAM + MSG_SCALED == 4,
    "msg classes 3 and 4");
#define DB_AS_ROWS	0x100		/* open_once: read schema 1, 2 or 3
					 * as is */

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
	S_TOTAL_ADD,
	S_META_GET,
	S_META_SET,
	S_MSG_GET,
	S_MSG_SET,
	S_MSG_DEL,
	S_BK_GET,
	S_BK_PUT,
	S_BK_DEL,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
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
	S_BK_ALL,
	S_BK_RANGE,
	S_VACUUM,
	S_CHECKPOINT,
	S_INTEGRITY,
	S_CHECK_ROWS,
	S_CHECK_META,
	S_CHECK_MSG,
	S_MSG_SCALE,
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
	/* The buckets of spamsift_bk's keys that exist, in its order
	 * (rowid: the index into it). */
	[S_BK_GET] = "SELECT b.rowid, t.data FROM spamsift_bk AS b "
	    "CROSS JOIN tokb AS t ON t.key = b.key",
	[S_BK_PUT] = "INSERT OR REPLACE INTO tokb(key, data) "
	    "SELECT key, data FROM spamsift_bk WHERE data IS NOT NULL",
	[S_BK_DEL] = "DELETE FROM tokb WHERE key IN "
	    "(SELECT key FROM spamsift_bk WHERE data IS NULL)",
	/* One call's writes, undone together when one of them fails. */
	[S_SAVEPOINT] = "SAVEPOINT spamsift_add",
	[S_RELEASE] = "RELEASE spamsift_add",
	[S_ROLLBACK_TO] = "ROLLBACK TO spamsift_add",
	[S_BK_ALL] = "SELECT key, data FROM tokb ORDER BY key",
	/* The buckets from ?1 to ?2, in key order: a scan, for reads that
	 * want most of them (see bk_read_runs). */
	[S_BK_RANGE] = "SELECT key, data FROM tokb "
	    "WHERE key BETWEEN ?1 AND ?2 ORDER BY key",
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
	[S_VACUUM] = "VACUUM",
	[S_CHECKPOINT] = "PRAGMA wal_checkpoint(TRUNCATE)",
	[S_INTEGRITY] = "PRAGMA integrity_check(1)",
	[S_CHECK_ROWS] = CHECK_ROWS_V1 " OR "
	    "typeof(w) != 'integer' OR abs(w) > 2147483647",
	[S_CHECK_META] = "SELECT count(*) FROM meta "
	    "WHERE key IN ('spam_msgs', 'ham_msgs', 'tok_version')",
	[S_MSG_SCALE] = "UPDATE msg SET class = class + 2 WHERE digest = ?1 "
	    "AND class IN (1, 2)",
	/* The learned messages as db_set_msg writes them (msg_row_ok). */
	[S_CHECK_MSG] = "SELECT count(*) FROM msg WHERE "
	    "typeof(digest) != 'blob' OR length(digest) != 32 OR "
	    "class NOT IN (1, 2, 3, 4) OR typeof(g) != 'integer' OR "
	    "abs(g) > 2147483647",
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
	[S_CHECK_MSG] = "SELECT count(*) FROM msg WHERE "
	    "typeof(digest) != 'blob' OR length(digest) != 32 OR "
	    "class NOT IN (1, 2)",
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

/* Schema version 2 -> 3: the tokens in buckets (migrate_2 moves them). */
static const char schema_v3[] =
	"CREATE TABLE tokb(key INTEGER PRIMARY KEY, data BLOB NOT NULL);";

/* Schema version 3 -> 4: the same buckets under bk_key's keys (schema 3
 * had bk_key3's); %d is the level, %d BK_KEY_BITS - level. */
static const char schema_v4[] =
	"CREATE TABLE tokb4(key INTEGER PRIMARY KEY, data BLOB NOT NULL);"
	"INSERT INTO tokb4(key, data) SELECT (key - (1 << %d)) << %d, data "
	"FROM tokb ORDER BY key;"
	"DROP TABLE tokb;"
	"ALTER TABLE tokb4 RENAME TO tokb;";

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

/* A call's tokens: db_lookup's (ds, dh, dw NULL), read by SQL through
 * the virtual table spamsift_batch(tok) when the store is read as rows;
 * db_add_tokens' with their changes (dw may be NULL). */
struct batch {
	size_t n;
	const char *const *toks;
	const size_t *lens;
	const int64_t *ds;
	const int64_t *dh;
	const int64_t *dw;	/* NULL: no weight changes */
	const int64_t *days;	/* NULL: the call's one day */
};

/* A growable byte buffer, owned by its user: buf_free(). */
struct bk_buf {
	unsigned char *p;
	size_t cap;
};

/* What the virtual table spamsift_bk(key, data) shows: n keys, and with
 * buf their buckets (buf + off[i], len[i] bytes; NULL data when len[i]
 * is 0).  One statement reads or writes many buckets through it. */
struct bk_view {
	size_t n;
	const int64_t *key;
	const size_t *off;
	const size_t *len;
	const unsigned char *buf;
};

/* Buckets encoded for writing, all in one statement (out_flush). */
struct bk_out {
	int64_t *key;
	size_t *off;
	size_t *len;		/* 0: delete the bucket */
	size_t n, cap;
	struct bk_buf buf;
	size_t used;
};

/* A batch in bucket order: its tokens' keys and tags, and idx, the
 * order that goes bucket by bucket and in each in bk_ord order. */
struct bk_order {
	int64_t *key;		/* per token */
	uint8_t *tag;		/* per token */
	uint32_t *idx;
};

/* A batch's rows copied out in bucket order (bk_sort_batch). */
struct sorted_batch {
	const char **toks;
	size_t *lens;
	int64_t *d;		/* ds, dh, then dw and days when given */
	size_t nd;		/* fields d has room for */
	int64_t *key;		/* the order's keys and tags in its order, */
	uint8_t *tag;		/* until bk_sort_batch gives them to it */
};

/* bk_order made on a second thread (db_order_ahead) for the write that
 * comes next, with the rows' fields that follow from it copied out
 * (sort_rows) and room for their changes.  The thread reads toks, lens
 * and the bytes they point at, the caller's; it writes only o, sb, dups
 * and rc. */
struct ahead {
	pthread_t th;
	int on;			/* th started and not joined */
	int level;		/* the level it orders for */
	size_t n;
	const char *const *toks;	/* borrowed */
	const size_t *lens;	/* borrowed */
	struct bk_order o;
	struct sorted_batch sb;
	int dups;		/* some token comes twice */
	int rc;			/* 0 or DB_ENOMEM, DB_EINVAL */
};

struct db {
	sqlite3 *sq;		/* NULL after a failed db_open */
	char *path;
	int flags;
	int netfs;
	int busy_ms;		/* how long to wait for another process */
	int in_txn;		/* between db_begin and commit/rollback */
	int in_read;		/* between db_read_begin and db_read_end */
	int in_foreach;
	int pl_dirty;		/* preload changed in this transaction */
	int old_schema;		/* read-only, and the schema needs an
				 * upgrade (db_open) */
	int schema1;		/* read as schema 1 (stmt_sql_v1) */
	int rows;		/* read token rows: schema 1 or 2 that
				 * could not be upgraded */
	int key3;		/* buckets keyed as schema 3 (bk_key3): a
				 * store that could not be upgraded */
	int wal;		/* the journal is WAL (set_journal) */
	dev_t dev;		/* the file's, when opened: a second */
	ino_t ino;		/* handle must find the same (reader_open) */
	int helper;		/* db_set_threads: a split may read and
				 * merge half the store on a second thread */
	int bk_written;		/* tokb written in the open transaction:
				 * another handle reads it otherwise */
	unsigned long helper_runs;	/* db_helper_runs */
	struct ahead ah;	/* db_order_ahead's */
	struct walk_share *ws;	/* db_commit_walk's, while it commits */
	unsigned long ahead_runs;	/* db_ahead_runs */
	unsigned long walk_runs;	/* db_walk_runs */
	struct bk_vec bv;	/* a bucket read */
	struct bk_vec mv;	/* a bucket to write */
	struct bk_vec sv;	/* split_bucket's */
	struct bk_view bkv;	/* what spamsift_bk shows now */
	struct bk_out out;	/* buckets waiting to be written */
	struct preload pl;
	struct batch bt;	/* what spamsift_batch shows now */
	sqlite3_stmt *st[S_COUNT];
	int err_rc;
	char errmsg[ERRMSG_BYTES];
};

/* Make room for want bytes in b. */
static int
buf_reserve(struct bk_buf *b, size_t want)
{
	unsigned char *np;
	size_t nc;

	if (want <= b->cap)
		return 0;
	nc = b->cap ? b->cap : 4096;
	while (nc < want)
		nc *= 2;
	np = realloc(b->p, nc);
	if (np == NULL)
		return DB_ENOMEM;
	b->p = np;
	b->cap = nc;
	return 0;
}

static void
buf_free(struct bk_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Free a write queue's memory (struct bk_out, at db->out). */
static void
out_free(struct bk_out *o)
{
	free(o->key);
	free(o->off);
	free(o->len);
	buf_free(&o->buf);
	memset(o, 0, sizeof(*o));
}

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

/* The stored buckets' hash (bucket.h): its low bits pick the slot, its
 * top half is the tag. */
static uint64_t
pl_hash(const char *tok, size_t len)
{
	return bk_hash(tok, len);
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
	return cls >= DB_SPAM && cls <= DB_HAM + MSG_SCALED && weight_ok(g);
}

/* The class a msg row's class (msg_row_ok) was learned as, and whether
 * it is marked scaled. */
static enum db_class
msg_row_class(int64_t cls, int *scaled)
{
	*scaled = cls > DB_HAM;
	return (enum db_class)(*scaled ? cls - MSG_SCALED : cls);
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
 * SELECT looks a whole batch up in a store read as rows: per row it
 * saves the statement's set-up and tear-down.
 */

struct bt_vtab {
	sqlite3_vtab base;
	struct db *db;
	const size_t *nrows;	/* db->bt.n or db->bkv.n */
};

struct bt_cursor {
	sqlite3_vtab_cursor base;
	size_t i;
};

/* Connect a batch table declared as decl: view, spamsift_bk. */
static int
vt_connect(sqlite3 *sq, void *aux, sqlite3_vtab **out, const char *decl,
    int view)
{
	struct bt_vtab *v;
	int src;

	src = sqlite3_declare_vtab(sq, decl);
	if (src != SQLITE_OK)
		return src;
	/* Never usable from the schema (views, triggers). */
	sqlite3_vtab_config(sq, SQLITE_VTAB_DIRECTONLY);
	v = sqlite3_malloc(sizeof(*v));
	if (v == NULL)
		return SQLITE_NOMEM;
	memset(v, 0, sizeof(*v));
	v->db = aux;
	v->nrows = view ? &v->db->bkv.n : &v->db->bt.n;
	*out = &v->base;
	return SQLITE_OK;
}

static int
bt_connect(sqlite3 *sq, void *aux, int argc, const char *const *argv,
    sqlite3_vtab **out, char **err)
{
	return vt_connect(sq, aux, out, "CREATE TABLE x(tok TEXT)", 0);
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
	info->estimatedCost = (double)*bv->nrows + 1.0;
	info->estimatedRows = (sqlite3_int64)*bv->nrows + 1;
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

static int
bt_filter(sqlite3_vtab_cursor *c, int idxnum, const char *idxstr, int argc,
    sqlite3_value **argv)
{
	((struct bt_cursor *)c)->i = 0;
	return SQLITE_OK;
}

static int
bt_next(sqlite3_vtab_cursor *c)
{
	((struct bt_cursor *)c)->i++;
	return SQLITE_OK;
}

static int
bt_eof(sqlite3_vtab_cursor *c)
{
	const struct bt_cursor *bc = (const struct bt_cursor *)c;

	return bc->i >= *((struct bt_vtab *)c->pVtab)->nrows;
}

static int
bt_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
	const struct bt_cursor *bc = (const struct bt_cursor *)c;
	const struct batch *bt = &((struct bt_vtab *)c->pVtab)->db->bt;

	if (col == 0)
		sqlite3_result_text(ctx, bt->toks[bc->i], (int)bt->lens[bc->i],
		    SQLITE_STATIC);
	else
		sqlite3_result_null(ctx);
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

/* spamsift_bk(key, data): db->bkv, in the same way (its cursor is a
 * struct bt_cursor too). */
static int
bv_connect(sqlite3 *sq, void *aux, int argc, const char *const *argv,
    sqlite3_vtab **out, char **err)
{
	return vt_connect(sq, aux, out, "CREATE TABLE x(key INTEGER, "
	    "data BLOB)", 1);
}

static int
bv_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
	const struct bt_cursor *bc = (const struct bt_cursor *)c;
	const struct bk_view *bv = &((struct bt_vtab *)c->pVtab)->db->bkv;

	if (col == 0)
		sqlite3_result_int64(ctx, bv->key[bc->i]);
	else if (bv->buf == NULL || bv->len[bc->i] == 0)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_blob(ctx, bv->buf + bv->off[bc->i],
		    (int)bv->len[bc->i], SQLITE_STATIC);
	return SQLITE_OK;
}

static const sqlite3_module bv_module = {
	.iVersion = 0,
	.xCreate = NULL,		/* eponymous only */
	.xConnect = bv_connect,
	.xBestIndex = bt_best_index,
	.xDisconnect = bt_disconnect,
	.xDestroy = bt_disconnect,
	.xOpen = bt_open,
	.xClose = bt_close,
	.xFilter = bt_filter,
	.xNext = bt_next,
	.xEof = bt_eof,
	.xColumn = bv_column,
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

/* The store's -wal and -shm files take its mode when SQLite makes them:
 * a read-only store classified (chmod 400) left them 0400, and once the
 * store was writable again every training failed with "attempt to write
 * a readonly database" (found by review).  Before a write open, ours
 * that we cannot write get the store's mode back; others are left for
 * SQLite to report. */
static void
sidecar_modes(const char *real, const struct stat *store)
{
	static const char *const ext[] = { "-wal", "-shm" };
	char side[PATH_MAX + 8];
	struct stat sb;
	size_t i;
	int n;

	if ((store->st_mode & S_IWUSR) == 0)
		return;
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		n = snprintf(side, sizeof(side), "%s%s", real, ext[i]);
		if (n < 0 || (size_t)n >= sizeof(side) ||
		    lstat(side, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		    sb.st_uid != geteuid() || (sb.st_mode & S_IWUSR) != 0)
			continue;
		(void)chmod(side, store->st_mode & 0777);
	}
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
	db->dev = sb.st_dev;
	db->ino = sb.st_ino;
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
	if ((db->flags & DB_READONLY) == 0)
		sidecar_modes(real, &sb);
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
	db->busy_ms = busy_ms;
	sqlite3_db_config(db->sq, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	src = sqlite3_create_module(db->sq, "spamsift_batch", &bt_module, db);
	if (src == SQLITE_OK)
		src = sqlite3_create_module(db->sq, "spamsift_bk", &bv_module,
		    db);
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

/* PRAGMA journal_mode = WAL, retried for db->busy_ms: turning a new
 * file to WAL takes it whole, and SQLite returns BUSY there without its
 * busy handler (trainers starting together on a fresh home failed at
 * once, found by review). */
static int
wal_on(struct db *db, char *mode, size_t size)
{
	struct timespec pause = { 0, WAL_RETRY_MS * 1000000L };
	int rc, waited = 0;

	/* Bounded by busy_ms: each pass waits WAL_RETRY_MS. */
	for (;;) {
		rc = pragma_text(db, "PRAGMA journal_mode = WAL", mode, size);
		if (rc != DB_EBUSY || waited >= db->busy_ms)
			return rc;
		nanosleep(&pause, NULL);
		waited += WAL_RETRY_MS;
	}
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
	rc = wal_on(db, mode, sizeof(mode));
	db->wal = rc == 0 && strcasecmp(mode, "wal") == 0;
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

/* The tables of the file, in *n. */
static int
count_tables(struct db *db, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int src;
	int rc = 0;

	*n = 0;
	src = sqlite3_prepare_v2(db->sq, "SELECT count(*) FROM sqlite_master",
	    -1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else if (src != SQLITE_DONE)
		rc = sql_err(db, src);
	sqlite3_finalize(st);
	return rc;
}

/* Version 0 -> 1: the file must be empty of tables. */
static int
migrate_0(struct db *db, int tok_version)
{
	int64_t n = 0;
	int rc;

	rc = count_tables(db, &n);
	if (rc == 0 && n != 0)
		rc = errf(db, DB_ECORRUPT, "not a spamsift database "
		    "(it has other tables)");
	if (rc == 0)
		rc = exec(db, schema_v1);
	if (rc == 0)
		rc = meta_set(db, "tok_version", tok_version);
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

static int migrate_2(struct db *db, int tok_version);
static int migrate_3(struct db *db, int tok_version);

/* migrations[v] takes the schema from version v to v + 1. */
static const migrate_fn migrations[DB_SCHEMA_VERSION] = {
	migrate_0,
	migrate_1,
	migrate_2,
	migrate_3,
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
	/* An empty file (a trainer killed as it made it) is made a store
	 * only by those that may create one: -a would learn everything as
	 * clean in it, --check-db call it "ok" (found by review). */
	if (v == 0 && !(db->flags & DB_CREATE)) {
		int64_t n = 0;

		rc = count_tables(db, &n);
		if (rc == 0 && n == 0)
			rc = errf(db, DB_ENOENT, "empty database, nothing "
			    "trained yet");
		if (rc != 0)
			goto out;
	}
	if (db->flags & DB_READONLY) {
		if (v == 0)
			rc = errf(db, DB_ENOENT, "empty database, nothing "
			    "trained yet");
		else if ((v == 1 || v == 2) && (db->flags & DB_AS_ROWS)) {
			db->rows = 1;
			db->schema1 = v == 1;
		} else if (v == 3 && (db->flags & DB_AS_ROWS)) {
			db->key3 = 1;
		} else {
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
	    DB_AS_ROWS)) != 0 ||
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
 * user happened to train.  A schema 1 or 2 store that cannot be written
 * is read as it is: its token rows (schema 1: no weights). */
int
db_open(struct db **out, const char *path, int flags, int tok_version,
    int busy_ms)
{
	struct db *rw = NULL;
	int rc;

	if (flags & DB_AS_ROWS) {
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
	rc = open_once(out, path, flags | (rc != 0 ? DB_AS_ROWS : 0),
	    tok_version, busy_ms);
	return rc;
}

void
db_set_threads(struct db *db, int n)
{
	if (db != NULL)
		db->helper = n > 0;
}

unsigned long
db_helper_runs(const struct db *db)
{
	return db != NULL ? db->helper_runs : 0;
}

static void ahead_drop(struct db *db);

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	ahead_drop(db);
	if (db->sq != NULL) {
		if (db->in_txn)
			rollback_quiet(db);
		close_sqlite(db);
	}
	pl_free(&db->pl);
	bk_vec_free(&db->bv);
	bk_vec_free(&db->mv);
	bk_vec_free(&db->sv);
	out_free(&db->out);
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

/*
 * Buckets (bucket.h): the tokens of a schema 4 store, many to a row of
 * tokb(key INTEGER PRIMARY KEY, data BLOB).  A write reads and rewrites
 * each bucket it touches once; a bulk flush rewrites the store in key
 * order, a few thousand rows instead of a B-tree insert per token.
 */

/* The key of hash h's bucket at level, as this store keys them. */
static int64_t
key_of(const struct db *db, uint64_t h, int level)
{
	return db->key3 ? bk_key3(h, level) : bk_key(h, level);
}

/* Whether key can be a bucket's at level, as this store keys them. */
static int
key_ok(const struct db *db, int64_t key, int level)
{
	if (db->key3)
		return key >= (int64_t)1 << level && key < (int64_t)2 << level;
	return bk_key_ok(key, level);
}

/* The store's level (its snapshot's, or its transaction's). */
static int
bk_level(struct db *db, int *level)
{
	int64_t v = 0;
	int found = 0;
	int rc;

	/* A store read under schema 3's keys (as it is: not migrate_2's
	 * write) may have been upgraded since it was opened: its keys are
	 * not those any more. */
	if (db->key3 && (db->flags & DB_AS_ROWS)) {
		rc = read_user_version(db, &v);
		if (rc == 0 && v != 3)
			rc = errf(db, DB_EVERSION, "the store was upgraded to "
			    "schema %lld meanwhile: open it again",
			    (long long)v);
		if (rc != 0)
			return rc;
	}
	rc = meta_get(db, "tok_level", &v, &found);
	if (rc == 0 && (!found || v < BK_LEVEL_MIN || v > BK_LEVEL_MAX))
		rc = errf(db, DB_ECORRUPT, "bucket level missing or out of "
		    "range");
	if (rc == 0)
		*level = (int)v;
	return rc;
}

/* How many tokens the store holds, as its writes counted them. */
static int
bk_count(struct db *db, int64_t *n)
{
	int found = 0;
	int rc;

	rc = meta_get(db, "tok_count", n, &found);
	if (rc == 0 && (!found || *n < 0 ||
	    *n > (int64_t)BK_AVG << BK_LEVEL_MAX))
		rc = errf(db, DB_ECORRUPT, "token count missing or out of "
		    "range");
	return rc;
}

/* A bucket's column as SQLite gave it: a row always holds bytes, so
 * none is damage, or SQLite out of memory. */
static int
bk_blob_ok(struct db *db, int64_t key, const void *blob, int n)
{
	if (blob != NULL && n > 0)
		return 0;
	if (sqlite3_errcode(db->sq) == SQLITE_NOMEM)
		return errf(db, DB_ENOMEM, "out of memory");
	return errf(db, DB_ECORRUPT, "token bucket %lld is empty",
	    (long long)key);
}

/* Decode bucket key's n bytes into v (its tokens point into them). */
static int
bk_decode_db(struct db *db, int64_t key, const unsigned char *p, size_t n,
    struct bk_vec *v)
{
	int r = bk_decode(p, n, v);

	if (r == -1)
		return errf(db, DB_ENOMEM, "out of memory");
	if (r != 0)
		return errf(db, DB_ECORRUPT, "token bucket %lld is damaged",
		    (long long)key);
	return 0;
}

/* Copy the bucket blob of n bytes (key names it in errors) into b and
 * decode it into v: v outlives the statement's row. */
static int
bk_take(struct db *db, int64_t key, const void *blob, int n,
    struct bk_vec *v, struct bk_buf *b)
{
	int rc;

	v->n = 0;
	rc = bk_blob_ok(db, key, blob, n);
	if (rc != 0)
		return rc;
	if (buf_reserve(b, (size_t)n) != 0)
		return errf(db, DB_ENOMEM, "out of memory");
	memcpy(b->p, blob, (size_t)n);
	return bk_decode_db(db, key, b->p, (size_t)n, v);
}

/* Queue bucket key as e[0..n) (in bk_ord order) for out_flush; none:
 * delete it.  The queue is empty between calls: its users empty it
 * (out_reset) on every way out. */
static int
out_put(struct db *db, int64_t key, const struct bk_ent *e, size_t n)
{
	struct bk_out *o = &db->out;
	size_t nc, need;
	void *p;

	if (o->n == o->cap) {
		nc = o->cap ? o->cap * 2 : 1024;
		p = realloc(o->key, nc * sizeof(*o->key));
		if (p == NULL)
			goto nomem;
		o->key = p;
		p = realloc(o->off, nc * sizeof(*o->off));
		if (p == NULL)
			goto nomem;
		o->off = p;
		p = realloc(o->len, nc * sizeof(*o->len));
		if (p == NULL)
			goto nomem;
		o->len = p;
		o->cap = nc;
	}
	o->key[o->n] = key;
	o->off[o->n] = o->used;
	o->len[o->n] = 0;
	if (n > 0) {
		need = bk_bound(e, n);
		if (need > INT_MAX)
			return errf(db, DB_EINVAL, "token bucket %lld would "
			    "pass 2 GiB", (long long)key);
		if (buf_reserve(&o->buf, o->used + need) != 0)
			goto nomem;
		o->len[o->n] = bk_encode(e, n, o->buf.p + o->used);
		o->used += o->len[o->n];
	}
	o->n++;
	return 0;
nomem:
	return errf(db, DB_ENOMEM, "out of memory");
}

static void
out_reset(struct db *db)
{
	db->out.n = 0;
	db->out.used = 0;
}

/* Write the queued buckets: the deletions, then the rest in one
 * statement (a statement per bucket cost more than its B-tree work). */
static int
out_flush(struct db *db)
{
	const struct bk_out *o = &db->out;
	size_t i, ndel = 0;
	int rc = 0;

	if (o->n == 0)
		return 0;
	for (i = 0; i < o->n; i++)
		ndel += o->len[i] == 0;
	db->bkv.n = o->n;
	db->bkv.key = o->key;
	db->bkv.off = o->off;
	db->bkv.len = o->len;
	db->bkv.buf = o->buf.p;
	db->bk_written = 1;
	if (ndel > 0)
		rc = run_id(db, S_BK_DEL);
	if (rc == 0 && ndel < o->n)
		rc = run_id(db, S_BK_PUT);
	memset(&db->bkv, 0, sizeof(db->bkv));
	out_reset(db);
	return rc;
}

/* An entry's place in a sort: its key, and its row. */
struct ord_ent {
	uint64_t sk;
	uint32_t i;
};

/* Sort a[0..n) stably by sk, below 2^bits: LSD radix, 8 bits a pass,
 * the entries moved whole so that every pass reads in turn; tmp holds
 * n. */
static void
radix_ord(struct ord_ent *a, struct ord_ent *tmp, size_t n, int bits)
{
	size_t cnt[256];
	struct ord_ent *from = a, *to = tmp, *sw;
	size_t i, sum, c;
	int shift;

	for (shift = 0; shift < bits; shift += 8) {
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < n; i++)
			cnt[from[i].sk >> shift & 0xff]++;
		for (i = 0, sum = 0; i < 256; i++) {
			c = cnt[i];
			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			to[cnt[from[i].sk >> shift & 0xff]++] = from[i];
		sw = from;
		from = to;
		to = sw;
	}
	if (from != a)
		memcpy(a, from, n * sizeof(*a));
}

static void
bk_order_free(struct bk_order *o)
{
	free(o->key);
	free(o->tag);
	free(o->idx);
	memset(o, 0, sizeof(*o));
}

/* For qsort: a group of one key and tag in bytewise order (sort_group
 * sets the tokens). */
struct tok_ref {
	const char *tok;
	size_t len;
	uint32_t i;
};

static int
tok_ref_cmp(const void *a, const void *b)
{
	const struct tok_ref *x = a, *y = b;
	int c = bk_cmp(x->tok, x->len, y->tok, y->len);

	return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

/* Put idx[0..n), tokens of one key and tag, in bytewise order: by
 * insertion when few (nearly always: a bucket's tokens share a tag in
 * 1 of 256), else by qsort (tokens made to share a hash prefix). */
static int
sort_group(uint32_t *idx, size_t n, const char *const *toks,
    const size_t *lens)
{
	struct tok_ref *refs;
	uint32_t t;
	size_t i, j;

	if (n <= 16) {
		for (i = 1; i < n; i++) {
			t = idx[i];
			for (j = i; j > 0 && bk_cmp(toks[idx[j - 1]],
			    lens[idx[j - 1]], toks[t], lens[t]) > 0; j--)
				idx[j] = idx[j - 1];
			idx[j] = t;
		}
		return 0;
	}
	refs = malloc(n * sizeof(*refs));
	if (refs == NULL)
		return DB_ENOMEM;
	for (i = 0; i < n; i++) {
		refs[i].tok = toks[idx[i]];
		refs[i].len = lens[idx[i]];
		refs[i].i = idx[i];
	}
	qsort(refs, n, sizeof(*refs), tok_ref_cmp);
	for (i = 0; i < n; i++)
		idx[i] = refs[i].i;
	free(refs);
	return 0;
}

/* Order n tokens (in any order) for level, under bk_key3 with key3: by
 * key, then tag, then bytewise, the order of a bucket (bk_ord): a stable
 * radix pass on key and tag, then each group of one key and tag sorted.
 * Touches nothing but its arguments (db_order_ahead runs it on a second
 * thread).  0, DB_EINVAL (more than UINT32_MAX tokens) or DB_ENOMEM. */
static int
order_tokens(int key3, size_t n, const char *const *toks,
    const size_t *lens, int level, struct bk_order *o)
{
	struct ord_ent *oe = NULL, *tmp = NULL;
	uint64_t h;
	size_t i, a, b;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	if (n > UINT32_MAX)
		return DB_EINVAL;
	o->key = malloc((n ? n : 1) * sizeof(*o->key));
	o->tag = malloc(n ? n : 1);
	o->idx = malloc((n ? n : 1) * sizeof(*o->idx));
	oe = malloc((n ? n : 1) * sizeof(*oe));
	tmp = malloc((n ? n : 1) * sizeof(*tmp));
	if (o->key == NULL || o->tag == NULL || o->idx == NULL ||
	    oe == NULL || tmp == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		h = bk_hash(toks[i], lens[i]);
		o->key[i] = key3 ? bk_key3(h, level) : bk_key(h, level);
		o->tag[i] = bk_tag(h);
		oe[i].sk = h >> (64 - level) << 8 | o->tag[i];
		oe[i].i = (uint32_t)i;
	}
	radix_ord(oe, tmp, n, level + 8);
	for (i = 0; i < n; i++)
		o->idx[i] = oe[i].i;
	for (a = 0; a < n; a = b) {	/* bounded by n */
		for (b = a + 1; b < n && oe[b].sk == oe[a].sk; b++)
			;
		if (b - a > 1 && sort_group(o->idx + a, b - a, toks, lens) != 0)
			goto nomem;
	}
	goto out;
nomem:
	rc = DB_ENOMEM;
	bk_order_free(o);
out:
	free(oe);
	free(tmp);
	return rc;
}

/* order_tokens for this store, its failure told on db. */
static int
bk_order(struct db *db, size_t n, const char *const *toks,
    const size_t *lens, int level, struct bk_order *o)
{
	int rc = order_tokens(db->key3, n, toks, lens, level, o);

	if (rc == DB_EINVAL)
		return errf(db, rc, "more than %u tokens in one call",
		    (unsigned)UINT32_MAX);
	if (rc != 0)
		return errf(db, rc, "out of memory");
	return 0;
}

static void
sorted_free(struct sorted_batch *sb)
{
	free(sb->toks);
	free(sb->lens);
	free(sb->d);
	free(sb->key);
	free(sb->tag);
	memset(sb, 0, sizeof(*sb));
}

/* dst[i] = src[idx[i]] for i < n. */
static void
gather64(int64_t *dst, const int64_t *src, const uint32_t *idx, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[idx[i]];
}

/* Into sb, what of n rows follows from their order o: tokens, lengths,
 * keys and tags in that order, and room in sb->d for nd fields of n
 * rows.  Touches nothing but its arguments (the ahead thread runs it).
 * 0 or DB_ENOMEM. */
static int
sort_rows(const struct bk_order *o, const char *const *toks,
    const size_t *lens, size_t n, size_t nd, struct sorted_batch *sb)
{
	size_t i;

	sb->toks = malloc((n ? n : 1) * sizeof(*sb->toks));
	sb->lens = malloc((n ? n : 1) * sizeof(*sb->lens));
	sb->d = malloc((n ? n : 1) * nd * sizeof(*sb->d));
	sb->key = malloc((n ? n : 1) * sizeof(*sb->key));
	sb->tag = malloc(n ? n : 1);
	if (sb->toks == NULL || sb->lens == NULL || sb->d == NULL ||
	    sb->key == NULL || sb->tag == NULL) {
		sorted_free(sb);
		return DB_ENOMEM;
	}
	sb->nd = nd;
	for (i = 0; i < n; i++)
		sb->toks[i] = toks[o->idx[i]];
	for (i = 0; i < n; i++)
		sb->lens[i] = lens[o->idx[i]];
	gather64(sb->key, o->key, o->idx, n);
	for (i = 0; i < n; i++)
		sb->tag[i] = o->tag[o->idx[i]];
	return 0;
}

/* Whether some token comes twice in the n rows of sb (sort_rows): the
 * same key and tag first, its bytes read only then. */
static int
sorted_dups(const struct sorted_batch *sb, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (sb->key[i] == sb->key[i - 1] &&
		    sb->tag[i] == sb->tag[i - 1] &&
		    bk_cmp(sb->toks[i], sb->lens[i], sb->toks[i - 1],
		    sb->lens[i - 1]) == 0)
			return 1;
	return 0;
}

/* The order, its rows copied out, and their changes' room written once
 * so that its pages are there when the write fills it. */
static void *
ahead_run(void *arg)
{
	struct ahead *ah = arg;

	/* Not for a schema 3 store (db_order_ahead). */
	ah->rc = order_tokens(0, ah->n, ah->toks, ah->lens, ah->level,
	    &ah->o);
	if (ah->rc == 0)
		ah->rc = sort_rows(&ah->o, ah->toks, ah->lens, ah->n,
		    AHEAD_FIELDS, &ah->sb);
	if (ah->rc != 0)
		return NULL;
	memset(ah->sb.d, 0, (ah->n ? ah->n : 1) * AHEAD_FIELDS *
	    sizeof(*ah->sb.d));
	ah->dups = sorted_dups(&ah->sb, ah->n);
	return NULL;
}

/* Wait for db_order_ahead's thread, if any, and forget what it made. */
static void
ahead_drop(struct db *db)
{
	struct ahead *ah = &db->ah;

	if (ah->on)
		pthread_join(ah->th, NULL);
	ah->on = 0;
	bk_order_free(&ah->o);
	sorted_free(&ah->sb);
}

/* Into *o and *sb, the order db_order_ahead made and the rows copied
 * out in it, when it is the one the write of db->bt at level wants (the
 * same arrays, the same level), and in *nodups whether no token comes
 * twice: 1, else 0 (and it is dropped). */
static int
ahead_take(struct db *db, int level, struct bk_order *o,
    struct sorted_batch *sb, int *nodups)
{
	struct ahead *ah = &db->ah;
	const struct batch *bt = &db->bt;

	if (!ah->on)
		return 0;
	pthread_join(ah->th, NULL);
	ah->on = 0;
	if (ah->rc != 0 || ah->n != bt->n || ah->toks != bt->toks ||
	    ah->lens != bt->lens || ah->level != level) {
		ahead_drop(db);
		return 0;
	}
	*o = ah->o;
	*sb = ah->sb;
	*nodups = !ah->dups;
	memset(&ah->o, 0, sizeof(ah->o));
	memset(&ah->sb, 0, sizeof(ah->sb));
	db->ahead_runs++;
	return 1;
}

static int check_write(struct db *db, const char *fn);
static int bk_level_for(int64_t n, int level);

int
db_order_ahead(struct db *db, size_t n, const char *const *toks,
    const size_t *lens)
{
	struct ahead *ah;
	int64_t count = 0;
	int level = 0, rc;

	if (db != NULL)
		ahead_drop(db);
	rc = check_write(db, "db_order_ahead");
	if (rc != 0)
		goto out;
	if (!db->helper || n < AHEAD_MIN_TOKENS || n > UINT32_MAX ||
	    db->rows || db->key3 || toks == NULL || lens == NULL)
		goto out;
	/* The level bk_apply will want, every row taken to add a token. */
	rc = bk_level(db, &level);
	if (rc == 0)
		rc = bk_count(db, &count);
	if (rc != 0)
		goto out;
	/* ahead_drop left o and sb empty. */
	ah = &db->ah;
	ah->level = count == 0 ? bk_level_for((int64_t)n, level) : level;
	ah->n = n;
	ah->toks = toks;
	ah->lens = lens;
	ah->rc = 0;
	/* No thread: the write orders the batch itself. */
	ah->on = pthread_create(&ah->th, NULL, ahead_run, ah) == 0;
out:
	return rc;
}

unsigned long
db_ahead_runs(const struct db *db)
{
	return db != NULL ? db->ahead_runs : 0;
}

/* A token's change, as the schema 2 SQL made it: counts stop at 0 and
 * COUNT_MAX, the weight at +-WEIGHT_MAX. */
static void
bk_change(struct bk_ent *e, int64_t ds, int64_t dh, int64_t dw, int64_t day)
{
	e->spam = clamp_count((int64_t)e->spam + ds);
	e->ham = clamp_count((int64_t)e->ham + dh);
	e->w = clamp_weight((int64_t)e->w + dw);
	/* The day a token was last counted up: taking a message back
	 * leaves it (it made stale tokens new, and --prune kept them;
	 * found by review), and an older day never replaces a newer one
	 * (a dump loaded into a store). */
	if ((ds > 0 || dh > 0) && day > e->day)
		e->day = day;
}

/* The changes of one run of a batch (o->idx[a..b), one bucket) merged
 * with that bucket's tokens (old) into db->mv: a token missing is added
 * only by a positive change, one reaching 0/0 is dropped; *delta counts
 * the tokens gained. */
static int
bk_merge(struct db *db, const struct bk_vec *old, const struct bk_order *o,
    size_t a, size_t b, const struct batch *bt, int64_t day, int64_t *delta)
{
	struct bk_vec *out = &db->mv;
	struct bk_ent *last;
	size_t i = 0, j = a, t;
	int c;

	out->n = 0;
	if (bk_vec_reserve(out, old->n + (b - a)) != 0)
		return errf(db, DB_ENOMEM, "out of memory");
	/* Each pass takes a token of old or of the run. */
	while (i < old->n || j < b) {
		t = j < b ? o->idx[j] : 0;
		c = j == b ? -1 : i < old->n ? bk_ord(old->e[i].tag,
		    old->e[i].tok, old->e[i].len, o->tag[t], bt->toks[t],
		    bt->lens[t]) : 1;
		if (c < 0) {
			out->e[out->n++] = old->e[i++];
			continue;
		}
		j++;
		last = out->n > 0 ? &out->e[out->n - 1] : NULL;
		if (c == 0) {
			out->e[out->n++] = old->e[i++];
		} else if (last != NULL && last->tag == o->tag[t] &&
		    bk_cmp(last->tok, last->len, bt->toks[t],
		    bt->lens[t]) == 0) {
			/* The same token twice in the batch: in turn. */
		} else if (bt->ds[t] > 0 || bt->dh[t] > 0) {
			memset(&out->e[out->n], 0, sizeof(out->e[0]));
			out->e[out->n].tok = bt->toks[t];
			out->e[out->n].len = (uint32_t)bt->lens[t];
			out->e[out->n].tag = o->tag[t];
			out->e[out->n].day = INT64_MIN;	/* bk_change sets */
			out->n++;
			(*delta)++;
		} else {
			continue;	/* lowering a token not stored */
		}
		last = &out->e[out->n - 1];
		bk_change(last, bt->ds[t], bt->dh[t],
		    bt->dw != NULL ? bt->dw[t] : 0,
		    bt->days != NULL ? bt->days[t] : day);
		if (last->spam == 0 && last->ham == 0) {
			out->n--;
			(*delta)--;
		}
	}
	return 0;
}

/* What a walk over every bucket calls: fn(db, ctx, key, tokens), with
 * tokens NULL for a bucket its skip function passed over. */
typedef int (*bk_scan_fn)(struct db *db, void *ctx, int64_t key,
    const struct bk_vec *v);
typedef int (*bk_skip_fn)(void *ctx, int64_t key);

static int bk_scan_skip(struct db *db, bk_skip_fn skip, bk_scan_fn fn,
    void *ctx);

/* Call fn for every bucket, in key order, from one statement (one
 * snapshot) until it returns non-zero. */
static int
bk_scan(struct db *db, bk_scan_fn fn, void *ctx)
{
	return bk_scan_skip(db, NULL, fn, ctx);
}

static int bk_scan_within(struct db *db, int64_t lo, int64_t hi,
    bk_skip_fn skip, bk_scan_fn fn, void *ctx);

/* bk_scan, but the buckets skip (when not NULL) says 1 for are neither
 * copied nor decoded. */
static int
bk_scan_skip(struct db *db, bk_skip_fn skip, bk_scan_fn fn, void *ctx)
{
	return bk_scan_within(db, INT64_MIN, INT64_MAX, skip, fn, ctx);
}

/* bk_scan_skip over the buckets of keys lo to hi only (all of them:
 * INT64_MIN, INT64_MAX). */
static int
bk_scan_within(struct db *db, int64_t lo, int64_t hi, bk_skip_fn skip,
    bk_scan_fn fn, void *ctx)
{
	struct bk_vec v = { 0 };
	struct bk_buf b = { 0 };
	sqlite3_stmt *st = NULL;
	enum stmt id = lo == INT64_MIN && hi == INT64_MAX ? S_BK_ALL :
	    S_BK_RANGE;
	int64_t key;
	int own = 0;
	int src = SQLITE_DONE;
	int rc;

	rc = get_stmt(db, id, &st);
	if (rc != 0)
		goto out;
	/* A scan inside another's callback (db_status in a counts walk)
	 * gets a statement of its own: stepping the shared one would
	 * restart the outer scan. */
	if (sqlite3_stmt_busy(st)) {
		st = NULL;
		src = sqlite3_prepare_v2(db->sq, stmt_sql[id], -1, &st, NULL);
		if (src != SQLITE_OK) {
			rc = sql_err(db, src);
			goto out;
		}
		own = 1;
	}
	if (id == S_BK_RANGE) {
		src = sqlite3_bind_int64(st, 1, lo);
		if (src == SQLITE_OK)
			src = sqlite3_bind_int64(st, 2, hi);
		if (src != SQLITE_OK) {
			rc = sql_err(db, src);
			goto done;
		}
	}
	/* Bounded by the rows of tokb. */
	for (;;) {
		src = sqlite3_step(st);
		if (src != SQLITE_ROW)
			break;
		key = sqlite3_column_int64(st, 0);
		if (skip != NULL && skip(ctx, key)) {
			rc = fn(db, ctx, key, NULL);
		} else {
			rc = bk_take(db, key, sqlite3_column_blob(st, 1),
			    sqlite3_column_bytes(st, 1), &v, &b);
			if (rc == 0)
				rc = fn(db, ctx, key, &v);
		}
		if (rc != 0)
			break;
	}
	if (rc == 0 && src != SQLITE_DONE)
		rc = sql_err(db, src);
done:
	if (own)
		sqlite3_finalize(st);
	else
		stmt_done(st);
out:
	bk_vec_free(&v);
	buf_free(&b);
	return rc;
}

/* Split bucket key (of level from, holding v) into its buckets of level
 * to (> from) and queue them: the first keeps key (and is deleted if it
 * gets no token), the others come right after it. */
static int
split_bucket(struct db *db, int64_t key, const struct bk_vec *v, int from,
    int to)
{
	int64_t nkey;
	int64_t low = ((int64_t)1 << (BK_KEY_BITS - from)) - 1;
	struct ord_ent *child = NULL, *tmp = NULL;
	size_t n = v->n ? v->n : 1, i, a, b;
	int shift = BK_KEY_BITS - to;
	int rc = 0;

	child = malloc(n * sizeof(*child));
	tmp = malloc(n * sizeof(*tmp));
	if (child == NULL || tmp == NULL ||
	    bk_vec_reserve(&db->sv, v->n) != 0) {
		rc = errf(db, DB_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < v->n; i++) {
		nkey = bk_key(bk_hash(v->e[i].tok, v->e[i].len), to);
		/* A token of another bucket would overwrite that one's
		 * child. */
		if ((nkey & ~low) != key) {
			rc = errf(db, DB_ECORRUPT, "token bucket %lld holds a "
			    "token of another", (long long)key);
			goto out;
		}
		child[i].sk = (uint64_t)((nkey - key) >> shift);
		child[i].i = (uint32_t)i;
	}
	radix_ord(child, tmp, v->n, to - from);
	for (i = 0; i < v->n; i++)
		db->sv.e[i] = v->e[child[i].i];
	if (v->n == 0 || child[0].sk != 0)
		rc = out_put(db, key, NULL, 0);
	for (a = 0; a < v->n && rc == 0; a = b) {
		for (b = a + 1; b < v->n && child[b].sk == child[a].sk; b++)
			;
		rc = out_put(db, key + ((int64_t)child[a].sk << shift),
		    db->sv.e + a, b - a);
	}
out:
	free(child);
	free(tmp);
	return rc;
}

/* bk_scan's ctx for a change of level made with a write's buckets still
 * queued: those, not the store's, are the buckets of their keys.  Going
 * down, the buckets that become one are gathered first (their bytes
 * copied: a scan's row lasts until the next). */
struct relevel {
	int from, to;
	struct bk_out q;	/* the write's buckets, in key order */
	size_t qi;		/* the first not taken yet */
	struct bk_vec v;	/* one of them decoded */
	/* going down: the group being gathered */
	int64_t parent;		/* its key at level to */
	struct bk_vec acc;	/* its tokens; tok: offsets into arena */
	struct bk_buf arena;
	size_t used;
	int64_t *kids;		/* the keys of its buckets */
	size_t nkids, kidcap;
};

/* For qsort: entries in a bucket's order (bk_ord). */
static int
ent_ord_cmp(const void *a, const void *b)
{
	const struct bk_ent *x = a, *y = b;

	return bk_ord(x->tag, x->tok, x->len, y->tag, y->tok, y->len);
}

/* Write the gathered group as one bucket under its key, and delete the
 * others of its buckets. */
static int
merge_group(struct db *db, struct relevel *rl)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < rl->acc.n; i++)
		rl->acc.e[i].tok = (const char *)rl->arena.p +
		    (uintptr_t)rl->acc.e[i].tok;
	if (rl->acc.n > 1)
		qsort(rl->acc.e, rl->acc.n, sizeof(*rl->acc.e), ent_ord_cmp);
	for (i = 0; i < rl->nkids && rc == 0; i++)
		if (rl->kids[i] != rl->parent)
			rc = out_put(db, rl->kids[i], NULL, 0);
	if (rc == 0)
		rc = out_put(db, rl->parent, rl->acc.e, rl->acc.n);
	rl->acc.n = 0;
	rl->used = 0;
	rl->nkids = 0;
	return rc;
}

/* Add bucket key (holding v) to the group of its key at level to, the
 * group before it written first. */
static int
gather_bucket(struct db *db, struct relevel *rl, int64_t key,
    const struct bk_vec *v)
{
	int64_t parent = key & ~(((int64_t)1 << (BK_KEY_BITS - rl->to)) - 1);
	struct bk_ent *e;
	size_t i;
	int rc;

	if (rl->nkids > 0 && parent != rl->parent) {
		rc = merge_group(db, rl);
		if (rc != 0)
			return rc;
	}
	rl->parent = parent;
	if (rl->nkids == rl->kidcap) {
		size_t nc = rl->kidcap ? rl->kidcap * 2 : 16;
		int64_t *nk = realloc(rl->kids, nc * sizeof(*nk));

		if (nk == NULL)
			return errf(db, DB_ENOMEM, "out of memory");
		rl->kids = nk;
		rl->kidcap = nc;
	}
	rl->kids[rl->nkids++] = key;
	if (bk_vec_reserve(&rl->acc, rl->acc.n + v->n) != 0)
		return errf(db, DB_ENOMEM, "out of memory");
	for (i = 0; i < v->n; i++) {
		/* A token of another bucket (of this group or not) could
		 * come twice into this one, or be lost in it. */
		if (bk_key(bk_hash(v->e[i].tok, v->e[i].len), rl->from) !=
		    key)
			return errf(db, DB_ECORRUPT, "token bucket %lld holds a "
			    "token of another", (long long)key);
		if (buf_reserve(&rl->arena, rl->used + v->e[i].len) != 0)
			return errf(db, DB_ENOMEM, "out of memory");
		memcpy(rl->arena.p + rl->used, v->e[i].tok, v->e[i].len);
		e = &rl->acc.e[rl->acc.n++];
		*e = v->e[i];
		e->tok = (const char *)(uintptr_t)rl->used;
		rl->used += v->e[i].len;
	}
	return 0;
}

/* Take bucket key (holding v; none: emptied) to the new level. */
static int
take_bucket(struct db *db, struct relevel *rl, int64_t key,
    const struct bk_vec *v)
{
	if (rl->to > rl->from)
		return split_bucket(db, key, v, rl->from, rl->to);
	return gather_bucket(db, rl, key, v);
}

/* Take queued bucket i (one the write emptied holds nothing). */
static int
take_queued(struct db *db, struct relevel *rl, size_t i)
{
	int64_t key = rl->q.key[i];
	int rc = 0;

	if (i > 0 && key <= rl->q.key[i - 1])
		return errf(db, DB_EINVAL, "token buckets queued out of "
		    "order");
	rl->v.n = 0;
	if (rl->q.len[i] > 0)
		rc = bk_decode_db(db, key, rl->q.buf.p + rl->q.off[i],
		    rl->q.len[i], &rl->v);
	if (rc == 0)
		rc = take_bucket(db, rl, key, &rl->v);
	return rc;
}

/* Take the queued buckets before key. */
static int
take_queued_before(struct db *db, struct relevel *rl, int64_t key)
{
	int rc = 0;

	while (rc == 0 && rl->qi < rl->q.n && rl->q.key[rl->qi] < key)
		rc = take_queued(db, rl, rl->qi++);
	return rc;
}

/* Whether key is queued: the ones before it, not yet taken, are taken
 * right after (relevel_bucket), so each is looked at twice at most. */
static int
relevel_skip(void *ctx, int64_t key)
{
	const struct relevel *rl = ctx;
	size_t j = rl->qi;

	while (j < rl->q.n && rl->q.key[j] < key)
		j++;
	return j < rl->q.n && rl->q.key[j] == key;
}

static int
relevel_bucket(struct db *db, void *ctx, int64_t key, const struct bk_vec *v)
{
	struct relevel *rl = ctx;
	int rc;

	if (!key_ok(db, key, rl->from))
		return errf(db, DB_ECORRUPT, "token bucket %lld is not of "
		    "level %d", (long long)key, rl->from);
	rc = take_queued_before(db, rl, key);
	if (rc != 0)
		return rc;
	if (v == NULL)		/* queued: skipped by relevel_skip */
		return take_queued(db, rl, rl->qi++);
	return take_bucket(db, rl, key, v);
}

static int reader_open(struct db *db, struct db **out);

/* The end of a pass that took the store to level to (bk_apply_split,
 * bk_relevel): this thread's queue written, then that of r, the handle
 * of a second thread that did its share (NULL: none), through db as its
 * own; then the level.  A write a second thread helped is counted. */
static int
level_done(struct db *db, struct db *r, int to)
{
	struct bk_out mine;
	int rc;

	rc = out_flush(db);
	if (rc == 0 && r != NULL) {
		mine = db->out;
		db->out = r->out;
		rc = out_flush(db);
		r->out = db->out;
		db->out = mine;
	}
	if (rc == 0)
		rc = meta_set(db, "tok_level", to);
	if (rc == 0 && r != NULL)
		db->helper_runs++;
	return rc;
}

/* Whether a second thread may read the store through a handle of its
 * own (reader_open): db_set_threads, and WAL, where readers go beside
 * the writer. */
static int
reader_ok(const struct db *db)
{
	return db->helper && db->wal && sqlite3_threadsafe() != 0;
}

/* Whether a pass over the store's buckets of level from (bk_apply_split,
 * bk_relevel) may give a second thread a share: reader_ok, a store of
 * HELPER_MIN_LEVEL or more, and tokb not written yet in this
 * transaction (the second handle sees the store as it began). */
static int
helper_ok(const struct db *db, int from)
{
	return reader_ok(db) && !db->bk_written && from >= HELPER_MIN_LEVEL;
}

/* bk_relevel's second thread going up: the keys from lo on, the
 * writer's queue read from rl.qi on (it is only read), split into the
 * queue of a handle of its own, as bk_apply_split's (split_share). */
struct relevel_share {
	struct db *r;
	struct relevel rl;
	int64_t lo;
	int rc;
};

/* A second thread's work failing on its handle r when HELPER_FAIL_ENV
 * is set (tests): DB_EIO, else 0. */
static int
share_fail(struct db *r)
{
	if (getenv(HELPER_FAIL_ENV) != NULL)
		return errf(r, DB_EIO, "%s is set", HELPER_FAIL_ENV);
	return 0;
}

/* A second thread's scan of the keys from lo on (share_fail first). */
static int
share_scan(struct db *r, int64_t lo, bk_skip_fn skip, bk_scan_fn fn,
    void *ctx)
{
	int rc = share_fail(r);

	return rc != 0 ? rc : bk_scan_within(r, lo, INT64_MAX, skip, fn, ctx);
}

static void *
relevel_share_run(void *arg)
{
	struct relevel_share *sh = arg;
	int rc;

	rc = share_scan(sh->r, sh->lo, relevel_skip, relevel_bucket, &sh->rl);
	if (rc == 0)
		rc = take_queued_before(sh->r, &sh->rl, INT64_MAX);
	sh->rc = rc;
	return NULL;
}

/* Take every bucket of level from to level to, with the buckets a write
 * queued (db->out) taking the place of the store's: the write and the
 * change go out as one, in key order.  Going up, each bucket's first
 * part replaces it and the rest go right after it; going down, the
 * buckets of one key at level to become the first of them.  Either way
 * the pages are rewritten where they are and the file does not grow.
 * Going up from HELPER_MIN_LEVEL with db_set_threads, the upper half of
 * the keys is split on a second thread, as in bk_apply_split. */
static int
bk_relevel(struct db *db, int from, int to)
{
	struct relevel rl;
	struct relevel_share sh;
	pthread_t th;
	const int64_t mid = (int64_t)1 << (BK_KEY_BITS - 1);
	int64_t hi = INT64_MAX;
	int shared = 0;
	int rc;

	memset(&rl, 0, sizeof(rl));
	memset(&sh, 0, sizeof(sh));
	rl.from = from;
	rl.to = to;
	rl.q = db->out;
	memset(&db->out, 0, sizeof(db->out));
	if (db->key3) {
		rc = errf(db, DB_EPERM, "a schema 3 store is read only");
		goto out;
	}
	/* The keys are a hash's top bits: half of them lie past mid. */
	if (to > from && helper_ok(db, from) && reader_open(db, &sh.r) == 0) {
		sh.rl.from = from;
		sh.rl.to = to;
		sh.rl.q = rl.q;
		while (sh.rl.qi < rl.q.n && rl.q.key[sh.rl.qi] < mid)
			sh.rl.qi++;	/* bounded by the queue */
		sh.lo = mid;
		if (pthread_create(&th, NULL, relevel_share_run, &sh) == 0) {
			shared = 1;
			hi = mid - 1;
		}
	}
	rc = bk_scan_within(db, INT64_MIN, hi, relevel_skip, relevel_bucket,
	    &rl);
	if (rc == 0)
		rc = take_queued_before(db, &rl, shared ? mid : INT64_MAX);
	if (shared) {
		pthread_join(th, NULL);
		/* Its share failed: this thread does it (bk_apply_split). */
		if (sh.rc != 0) {
			shared = 0;
			if (rc == 0)
				rc = bk_scan_within(db, mid, INT64_MAX,
				    relevel_skip, relevel_bucket, &rl);
			if (rc == 0)
				rc = take_queued_before(db, &rl, INT64_MAX);
		}
	}
	if (rc == 0 && rl.nkids > 0)
		rc = merge_group(db, &rl);
	if (rc == 0)
		rc = level_done(db, shared ? sh.r : NULL, to);
out:
	out_reset(db);
	db_close(sh.r);
	bk_vec_free(&sh.rl.v);
	out_free(&rl.q);
	bk_vec_free(&rl.v);
	bk_vec_free(&rl.acc);
	buf_free(&rl.arena);
	free(rl.kids);
	return rc;
}

/* The level a store of n tokens at level goes down to: none while it
 * fills a quarter of its room, else the lowest that leaves it half full
 * (room to grow before it splits again). */
static int
bk_level_down(int64_t n, int level)
{
	int to = BK_LEVEL_MIN;

	if (n > ((int64_t)BK_AVG << level) / 4)
		return level;
	while (to < level && n > ((int64_t)BK_AVG / 2) << to)
		to++;
	return to;
}

/* The level for n tokens: at most BK_AVG a bucket on average. */
static int
bk_level_for(int64_t n, int level)
{
	while (level < BK_LEVEL_MAX && n > (int64_t)BK_AVG << level)
		level++;
	return level;
}

/* The runs of an ordered batch: run r is o->idx[start[r]..start[r + 1])
 * and goes to bucket key[r]. */
struct bk_runs {
	int64_t *key;
	size_t *start;
	size_t n;
};

static void
runs_free(struct bk_runs *r)
{
	free(r->key);
	free(r->start);
	memset(r, 0, sizeof(*r));
}

static int
bk_runs(struct db *db, const struct bk_order *o, size_t n, struct bk_runs *r)
{
	size_t a, b;

	memset(r, 0, sizeof(*r));
	r->key = malloc((n + 1) * sizeof(*r->key));
	r->start = malloc((n + 1) * sizeof(*r->start));
	if (r->key == NULL || r->start == NULL) {
		runs_free(r);
		return errf(db, DB_ENOMEM, "out of memory");
	}
	for (a = 0; a < n; a = b) {	/* bounded by n */
		for (b = a + 1; b < n && o->key[o->idx[b]] ==
		    o->key[o->idx[a]]; b++)
			;
		r->key[r->n] = o->key[o->idx[a]];
		r->start[r->n++] = a;
	}
	r->start[r->n] = n;
	return 0;
}

/* What each bucket read through S_BK_GET is given to: run r of the
 * batch and its bucket's bytes (NULL: the bucket does not exist). */
typedef int (*bk_run_fn)(struct db *db, void *ctx, size_t r,
    const unsigned char *blob, size_t len);

/* bk_read_runs by one scan of the runs' key range, in key order (the
 * runs' order), stepping over the buckets no run wants. */
static int
bk_scan_runs(struct db *db, const struct bk_runs *runs, bk_run_fn fn,
    void *ctx)
{
	sqlite3_stmt *st = NULL;
	const void *blob;
	size_t next = 0;
	int64_t key;
	int src = SQLITE_DONE, n;
	int rc;

	rc = get_stmt(db, S_BK_RANGE, &st);
	if (rc == 0) {
		src = sqlite3_bind_int64(st, 1, runs->key[0]);
		if (src == SQLITE_OK)
			src = sqlite3_bind_int64(st, 2,
			    runs->key[runs->n - 1]);
		if (src != SQLITE_OK)
			rc = sql_err(db, src);
	}
	/* Bounded by the rows in the range. */
	while (rc == 0 && next < runs->n) {
		src = sqlite3_step(st);
		if (src != SQLITE_ROW)
			break;
		key = sqlite3_column_int64(st, 0);
		for (; next < runs->n && runs->key[next] < key && rc == 0;
		    next++)
			rc = fn(db, ctx, next, NULL, 0);
		if (rc != 0 || next == runs->n || runs->key[next] != key)
			continue;
		blob = sqlite3_column_blob(st, 1);
		n = sqlite3_column_bytes(st, 1);
		rc = bk_blob_ok(db, key, blob, n);
		if (rc == 0)
			rc = fn(db, ctx, next, blob, (size_t)n);
		next++;
	}
	if (rc == 0 && src != SQLITE_ROW && src != SQLITE_DONE)
		rc = sql_err(db, src);
	if (st != NULL)
		stmt_done(st);
	for (; next < runs->n && rc == 0; next++)
		rc = fn(db, ctx, next, NULL, 0);
	return rc;
}

/* Read the buckets of the runs (keys at level, ascending) in one
 * statement, and call fn for every run in order, with its bucket or
 * without.  Runs that want at least one bucket in BK_SCAN_SHARE of
 * their key range are read by a scan of that range: a seek per bucket
 * from the B-tree's root cost several times as much as stepping over a
 * bucket (a flush of 133 messages reads nearly every bucket). */
static int
bk_read_runs(struct db *db, const struct bk_runs *runs, int level,
    bk_run_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	const void *blob;
	size_t r, next = 0;
	uint64_t span;
	int src = SQLITE_DONE, n;
	int rc;

	if (runs->n == 0)
		return 0;
	span = (uint64_t)(runs->key[runs->n - 1] - runs->key[0]);
	if (!db->key3)
		span >>= BK_KEY_BITS - level;
	if (span / BK_SCAN_SHARE < runs->n)
		return bk_scan_runs(db, runs, fn, ctx);
	db->bkv.n = runs->n;
	db->bkv.key = runs->key;
	rc = get_stmt(db, S_BK_GET, &st);
	/* Bounded by the runs: a row per key at most. */
	while (rc == 0) {
		src = sqlite3_step(st);
		if (src != SQLITE_ROW)
			break;
		r = (size_t)sqlite3_column_int64(st, 0);
		blob = sqlite3_column_blob(st, 1);
		n = sqlite3_column_bytes(st, 1);
		if (r >= runs->n || r < next) {
			rc = errf(db, DB_ECORRUPT, "token buckets read out "
			    "of order");
			break;
		}
		rc = bk_blob_ok(db, runs->key[r], blob, n);
		if (rc != 0)
			break;
		for (; next < r && rc == 0; next++)
			rc = fn(db, ctx, next, NULL, 0);
		if (rc == 0)
			rc = fn(db, ctx, r, blob, (size_t)n);
		next = r + 1;
	}
	if (rc == 0 && src != SQLITE_DONE)
		rc = sql_err(db, src);
	if (st != NULL)
		stmt_done(st);
	memset(&db->bkv, 0, sizeof(db->bkv));
	for (; next < runs->n && rc == 0; next++)
		rc = fn(db, ctx, next, NULL, 0);
	return rc;
}

/* bk_apply's ctx. */
struct apply {
	const struct bk_order *o;
	const struct bk_runs *runs;
	int64_t day;
	int64_t delta;		/* tokens gained */
};

/* Merge run r into its bucket (blob, or none): the result in db->mv,
 * the tokens gained added to ap->delta. */
static int
merge_run(struct db *db, void *ctx, size_t r, const unsigned char *blob,
    size_t len)
{
	struct apply *ap = ctx;
	int rc = 0;

	db->bv.n = 0;
	if (blob != NULL)
		rc = bk_decode_db(db, ap->runs->key[r], blob, len, &db->bv);
	if (rc == 0)
		rc = bk_merge(db, &db->bv, ap->o, ap->runs->start[r],
		    ap->runs->start[r + 1], &db->bt, ap->day, &ap->delta);
	return rc;
}

/* Merge run r into its bucket and queue the result. */
static int
apply_run(struct db *db, void *ctx, size_t r, const unsigned char *blob,
    size_t len)
{
	struct apply *ap = ctx;
	int rc = merge_run(db, ctx, r, blob, len);

	if (rc != 0 || (blob == NULL && db->mv.n == 0))
		return rc;
	return out_put(db, ap->runs->key[r], db->mv.e, db->mv.n);
}

/* bk_apply_split's ctx: the runs (their keys at level from) and the
 * first not taken yet. */
struct apply_split {
	struct apply ap;
	size_t next;
	int from, to;
	struct bk_vec none;	/* a bucket not stored */
};

/* Merge run r of bucket key into old (NULL: not stored) and queue the
 * result split to level to. */
static int
split_run(struct db *db, struct apply_split *as, int64_t key, size_t r,
    const struct bk_vec *old)
{
	const struct bk_runs *runs = as->ap.runs;
	int rc;

	rc = bk_merge(db, old != NULL ? old : &as->none, as->ap.o,
	    runs->start[r], runs->start[r + 1], &db->bt, as->ap.day,
	    &as->ap.delta);
	if (rc != 0 || (old == NULL && db->mv.n == 0))
		return rc;
	return split_bucket(db, key, &db->mv, as->from, as->to);
}

/* Each stored bucket, in key order: the runs of the buckets not stored
 * before it, then it, merged with its run if it has one, split. */
static int
split_each(struct db *db, void *ctx, int64_t key, const struct bk_vec *v)
{
	struct apply_split *as = ctx;
	const struct bk_runs *runs = as->ap.runs;
	int rc = 0;

	if (!key_ok(db, key, as->from))
		return errf(db, DB_ECORRUPT, "token bucket %lld is not of "
		    "level %d", (long long)key, as->from);
	/* Bounded by the runs. */
	for (; rc == 0 && as->next < runs->n && runs->key[as->next] < key;
	    as->next++)
		rc = split_run(db, as, runs->key[as->next], as->next, NULL);
	if (rc != 0)
		return rc;
	if (as->next < runs->n && runs->key[as->next] == key)
		return split_run(db, as, key, as->next++, v);
	return split_bucket(db, key, v, as->from, as->to);
}

/* A read-only handle on db's file for another thread, with db's format
 * flags and its batch (borrowed: the handle must not outlive it).  The
 * caller db_close()s *out, also after a failure. */
static int
reader_open(struct db *db, struct db **out)
{
	struct stat st;
	struct db *r;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return DB_ENOMEM;
	r->path = strdup(db->path);
	if (r->path == NULL) {
		free(r);
		return DB_ENOMEM;
	}
	*out = r;
	r->flags = DB_READONLY;
	r->netfs = db->netfs;
	r->schema1 = db->schema1;
	r->rows = db->rows;
	r->key3 = db->key3;
	r->bt = db->bt;
	rc = open_sqlite(r, HELPER_BUSY_MS);
	/* The path may name another file by now (the store replaced while
	 * it was open): that one is not the store this handle writes. */
	if (rc == 0 && (stat(db->path, &st) != 0 || st.st_dev != db->dev ||
	    st.st_ino != db->ino))
		rc = errf(r, DB_EIO, "no longer the file opened");
	return rc;
}

/* bk_apply_split's second thread: the stored buckets from key lo on and
 * the runs from as.next on, read through a handle of its own, merged and
 * split into that handle's queue.  Its one statement reads one snapshot:
 * the store as the writer's transaction found it, for the writer has not
 * written tokb in it (db->bk_written), and no other writer can. */
struct split_share {
	struct db *r;
	struct apply_split as;
	int64_t lo;
	int rc;
};

static void *
split_share_run(void *arg)
{
	struct split_share *sh = arg;
	const struct bk_runs *runs = sh->as.ap.runs;
	int rc;

	rc = share_scan(sh->r, sh->lo, NULL, split_each, &sh->as);
	for (; rc == 0 && sh->as.next < runs->n; sh->as.next++) /* bounded */
		rc = split_run(sh->r, &sh->as, runs->key[sh->as.next],
		    sh->as.next, NULL);
	sh->rc = rc;
	return NULL;
}

/* Apply the ordered batch o (runs keyed at level from) and take the
 * store to level to in one pass over it: each bucket is read, merged and
 * split once, where a write then a change of level decoded and encoded
 * every merged bucket twice (a twelfth of the bench's second training
 * process).  With db_set_threads, a store of HELPER_MIN_LEVEL or more
 * has its upper half of keys read, merged and split on a second thread
 * while this one does the lower half: that pass was half the flush of
 * the bench's second training process, all on one CPU.  The writes stay
 * here, in key order.  *delta gets the tokens gained. */
static int
bk_apply_split(struct db *db, const struct bk_order *o,
    const struct bk_runs *runs, int from, int to, int64_t day,
    int64_t *delta)
{
	struct apply_split as;
	struct split_share sh;
	pthread_t th;
	size_t end = runs->n;
	int64_t hi = INT64_MAX;
	int shared = 0;
	int rc;

	memset(&as, 0, sizeof(as));
	memset(&sh, 0, sizeof(sh));
	as.ap.o = o;
	as.ap.runs = runs;
	as.ap.day = day;
	as.from = from;
	as.to = to;
	if (db->key3) {
		rc = errf(db, DB_EPERM, "a schema 3 store is read only");
		goto out;
	}
	/* WAL only: a reader beside the writer of a rollback journal could
	 * keep it from spilling its cache. */
	if (runs->n >= 2 && helper_ok(db, from) &&
	    reader_open(db, &sh.r) == 0) {
		/* The thread moves sh.as.next on: its start is read here
		 * before it runs (found by ThreadSanitizer). */
		sh.as = as;
		sh.as.next = runs->n / 2;
		sh.lo = runs->key[runs->n / 2];
		if (pthread_create(&th, NULL, split_share_run, &sh) == 0) {
			shared = 1;
			end = runs->n / 2;
			hi = runs->key[runs->n / 2] - 1;
		}
	}
	rc = bk_scan_within(db, INT64_MIN, hi, NULL, split_each, &as);
	for (; rc == 0 && as.next < end; as.next++)	/* bounded */
		rc = split_run(db, &as, runs->key[as.next], as.next, NULL);
	if (shared) {
		pthread_join(th, NULL);
		/* Its share failed (a busy or damaged file, memory): this
		 * thread does it, and says why if it fails too. */
		if (sh.rc != 0) {
			shared = 0;
			if (rc == 0)
				rc = bk_scan_within(db, sh.lo, INT64_MAX, NULL,
				    split_each, &as);
			for (; rc == 0 && as.next < runs->n; as.next++)
				rc = split_run(db, &as, runs->key[as.next],
				    as.next, NULL);	/* bounded */
		} else {
			as.ap.delta += sh.as.ap.delta;
		}
	}
	if (rc == 0)
		rc = level_done(db, shared ? sh.r : NULL, to);
out:
	out_reset(db);
	db_close(sh.r);
	*delta = as.ap.delta;
	return rc;
}

/* The distinct tokens of db->bt, in bk_order's order o, that some
 * positive change would create in an empty store. */
static int64_t
new_tokens(const struct batch *bt, const struct bk_order *o)
{
	int64_t n = 0;
	size_t a, b, i, t;
	int pos;

	for (a = 0; a < bt->n; a = b) {	/* bounded by n */
		t = o->idx[a];
		pos = bt->ds[t] > 0 || bt->dh[t] > 0;
		/* The same token again: the same key and tag first (a
		 * token's bytes are read only then, out of the cache). */
		for (b = a + 1; b < bt->n; b++) {
			i = o->idx[b];
			if (o->key[i] != o->key[t] || o->tag[i] != o->tag[t] ||
			    bk_cmp(bt->toks[i], bt->lens[i], bt->toks[t],
			    bt->lens[t]) != 0)
				break;
			pos |= bt->ds[i] > 0 || bt->dh[i] > 0;
		}
		n += pos;
	}
	return n;
}

/* Copy db->bt's rows into sb in o's order and point db->bt at the copy,
 * with o made the identity: the merge then goes through the rows in
 * turn, where each row's six fields, picked in o's order, were six
 * loads out of the cache.  A field at a time: one source array is read
 * at random at once, and a batch's array of 8-byte fields (1 MB for the
 * bench's first training) stays in the cache while it is (all of them
 * at once did not).  What follows from the order alone may be in sb
 * already (sort_rows on the ahead thread), else sb is empty.  The caller
 * keeps the first db->bt. */
static int
bk_sort_batch(struct db *db, struct bk_order *o, struct sorted_batch *sb)
{
	const struct batch *bt = &db->bt;
	size_t n = bt->n, i, nd;
	int64_t *ds, *dh, *dw, *days;

	nd = 2 + (bt->dw != NULL) + (bt->days != NULL);
	if (sb->toks != NULL && sb->nd < nd)
		sorted_free(sb);	/* made with room for fewer */
	if (sb->toks == NULL && sort_rows(o, bt->toks, bt->lens, n, nd,
	    sb) != 0)
		return errf(db, DB_ENOMEM, "out of memory");
	ds = sb->d;
	dh = ds + n;
	dw = bt->dw != NULL ? dh + n : NULL;
	days = bt->days != NULL ? (dw != NULL ? dw : dh) + n : NULL;
	gather64(ds, bt->ds, o->idx, n);
	gather64(dh, bt->dh, o->idx, n);
	if (dw != NULL)
		gather64(dw, bt->dw, o->idx, n);
	if (days != NULL)
		gather64(days, bt->days, o->idx, n);
	for (i = 0; i < n; i++)
		o->idx[i] = (uint32_t)i;
	free(o->key);
	free(o->tag);
	o->key = sb->key;
	o->tag = sb->tag;
	sb->key = NULL;
	sb->tag = NULL;
	db->bt.toks = sb->toks;
	db->bt.lens = sb->lens;
	db->bt.ds = ds;
	db->bt.dh = dh;
	db->bt.dw = dw;
	db->bt.days = days;
	return 0;
}

/* Apply the batch db->bt (every row, any deltas) stamped with day. */
static int
bk_apply(struct db *db, int64_t day)
{
	const struct batch *bt = &db->bt;
	const struct batch given = db->bt;
	struct sorted_batch sb = { 0 };
	struct bk_order o = { 0 };
	struct bk_runs runs = { 0 }, part;
	struct apply ap = { &o, &runs, day, 0 };
	int64_t count = 0, npos = 0, est;
	int level = 0, want, exact, up, nodups = 0;
	size_t i, a, m, chunk;
	int rc;

	rc = bk_level(db, &level);
	if (rc == 0)
		rc = bk_count(db, &count);
	if (rc != 0)
		goto out;
	/* The rows with a positive change: the most tokens the write can
	 * add (only such a row makes one). */
	for (i = 0; i < bt->n; i++)
		npos += bt->ds[i] > 0 || bt->dh[i] > 0;
	/* Into an empty store every token with a positive change is new:
	 * the level is known before anything is written, and no bucket is
	 * written twice (a first bulk training).  The rows with a positive
	 * change give it, unless some token comes twice: then the distinct
	 * ones, counted in the order made for the first guess, do. */
	want = count == 0 ? bk_level_for(npos, level) : level;
	if (!ahead_take(db, want, &o, &sb, &nodups))
		rc = bk_order(db, bt->n, bt->toks, bt->lens, want, &o);
	if (rc != 0)
		goto out;
	if (want > level) {
		/* Each token once: the rows with a positive change are the
		 * new tokens. */
		exact = bk_level_for(nodups ? npos : new_tokens(bt, &o),
		    level);
		if (exact != want) {
			bk_order_free(&o);
			sorted_free(&sb);
			rc = bk_order(db, bt->n, bt->toks, bt->lens, exact,
			    &o);
		}
		if (rc == 0 && exact > level)
			rc = meta_set(db, "tok_level", exact);
		if (rc != 0)
			goto out;
		level = exact;
	}
	rc = bk_sort_batch(db, &o, &sb);
	if (rc == 0)
		rc = bk_runs(db, &o, bt->n, &runs);
	/* A write into most of the buckets that may pass the level's room
	 * (were each row a new token): the tokens it adds to the first
	 * 1/BK_SAMPLE_SHARE of its buckets (a fair sample: keys are
	 * hashes) tell how many it will add.  Past the room by a margin,
	 * it is merged and split in one pass, the store taken up to the
	 * level the estimate needs; any nearer and the tokens are counted
	 * exactly, by the write, before a split.  Were the estimate ever
	 * wide, the store is a level higher than it needs, each bucket
	 * half as full: as if it had lost tokens, and as legal. */
	if (rc == 0 && count > 0 && !db->key3 &&
	    bk_level_for(count + npos, level) > level &&
	    runs.n >= ((size_t)1 << level) / 2) {
		struct apply sample = { &o, &part, day, 0 };

		part = runs;
		part.n = runs.n / BK_SAMPLE_SHARE;
		rc = bk_read_runs(db, &part, level, merge_run, &sample);
		est = sample.delta * (int64_t)bt->n /
		    (int64_t)runs.start[part.n];
		if (rc == 0 && count + est > ((int64_t)BK_AVG << level) +
		    ((int64_t)BK_AVG << level) / BK_SPLIT_MARGIN) {
			up = bk_level_for(count + est, level);
			rc = bk_apply_split(db, &o, &runs, level, up, day,
			    &ap.delta);
			want = bk_level_for(count + ap.delta, up);
			if (rc == 0 && want > up)
				rc = bk_relevel(db, up, want);
			goto counted;
		}
	}
	/* A write that cannot pass the level's room (not even were each row
	 * a new token) goes out BK_WRITE_RUNS buckets at a time: its queue
	 * stays small however big the store.  One that may pass it is queued
	 * whole, for the split to take in place of the stored buckets
	 * (bk_relevel). */
	chunk = bk_level_for(count + npos, level) == level ? BK_WRITE_RUNS :
	    runs.n;
	for (a = 0; rc == 0 && a < runs.n; a += m) {
		m = runs.n - a < chunk ? runs.n - a : chunk;
		part.key = runs.key + a;
		part.start = runs.start + a;
		part.n = m;
		ap.runs = &part;
		rc = bk_read_runs(db, &part, level, apply_run, &ap);
		if (rc == 0 && m < runs.n)
			rc = out_flush(db);
	}
	/* Past the level's room: split every bucket (once a doubling),
	 * the ones just merged still in the queue. */
	want = bk_level_for(count + ap.delta, level);
	if (rc == 0)
		rc = want > level ? bk_relevel(db, level, want) : out_flush(db);
counted:
	if (rc == 0 && ap.delta != 0)
		rc = meta_set(db, "tok_count", count + ap.delta);
out:
	db->bt = given;
	out_reset(db);
	bk_order_free(&o);
	runs_free(&runs);
	sorted_free(&sb);
	return rc;
}

/* bk_lookup's ctx. */
struct find {
	const struct bk_order *o;
	const struct bk_runs *runs;
	struct db_counts *out;
};

/* Look run r's tokens up in its bucket, read in place: both are in
 * bk_ord order, so one pass. */
static int
find_run(struct db *db, void *ctx, size_t r, const unsigned char *blob,
    size_t len)
{
	const struct find *f = ctx;
	const struct batch *bt = &db->bt;
	struct bk_cursor cur;
	struct bk_ent e;
	size_t j, t;
	int x = 0;

	if (blob == NULL)
		return 0;
	if (bk_cursor_init(&cur, blob, len) != 0)
		x = -2;
	for (j = f->runs->start[r]; j < f->runs->start[r + 1] && x >= 0;
	    j++) {
		t = f->o->idx[j];
		x = bk_seek(&cur, f->o->tag[t], bt->toks[t], bt->lens[t], &e);
		if (x == 1) {
			f->out[t].spam = e.spam;
			f->out[t].ham = e.ham;
			f->out[t].w = e.w;
		}
	}
	if (x < 0)
		return errf(db, DB_ECORRUPT, "token bucket %lld is damaged",
		    (long long)f->runs->key[r]);
	return 0;
}

/* Look the batch db->bt up, in one snapshot. */
static int
bk_lookup(struct db *db, struct db_counts *out)
{
	const struct batch *bt = &db->bt;
	struct bk_order o = { 0 };
	struct bk_runs runs = { 0 };
	struct find f = { &o, &runs, out };
	int level = 0, began = 0;
	int rc;

	rc = read_begin(db, &began);
	if (rc != 0)
		goto out;
	rc = bk_level(db, &level);
	if (rc == 0)
		rc = bk_order(db, bt->n, bt->toks, bt->lens, level, &o);
	if (rc == 0)
		rc = bk_runs(db, &o, bt->n, &runs);
	if (rc == 0)
		rc = bk_read_runs(db, &runs, level, find_run, &f);
	rc = read_end(db, began, rc);
out:
	bk_order_free(&o);
	runs_free(&runs);
	return rc;
}

/* Rewrite every bucket that fn changes: fn edits v in place (dropping a
 * token by moving the rest down) and says whether it changed anything;
 * *dropped counts the tokens dropped.  A store left with a quarter of
 * its room or less goes down to fewer buckets (bk_level_down) in the
 * same write. */
typedef int (*bk_edit_fn)(void *ctx, struct bk_vec *v);

/* bk_scan's ctx for a rewrite. */
struct rewrite {
	bk_edit_fn fn;
	void *ctx;
	uint64_t gone;
};

static int
rewrite_bucket(struct db *db, void *ctx, int64_t key, const struct bk_vec *v)
{
	struct rewrite *rw = ctx;

	if (bk_vec_reserve(&db->mv, v->n) != 0)
		return errf(db, DB_ENOMEM, "out of memory");
	memcpy(db->mv.e, v->e, v->n * sizeof(*v->e));
	db->mv.n = v->n;
	if (!rw->fn(rw->ctx, &db->mv))
		return 0;
	rw->gone += v->n - db->mv.n;
	return out_put(db, key, db->mv.e, db->mv.n);
}

static int
bk_rewrite(struct db *db, bk_edit_fn fn, void *ctx, uint64_t *dropped)
{
	struct rewrite rw = { fn, ctx, 0 };
	int64_t count = 0;
	int level = 0, want = 0;
	int rc;

	*dropped = 0;
	rc = bk_count(db, &count);
	if (rc == 0)
		rc = bk_level(db, &level);
	if (rc == 0)
		rc = bk_scan(db, rewrite_bucket, &rw);
	/* Most tokens gone: fewer buckets, the rewrite still queued. */
	if (rc == 0)
		want = bk_level_down(count > (int64_t)rw.gone ? count -
		    (int64_t)rw.gone : 0, level);
	if (rc == 0)
		rc = want < level ? bk_relevel(db, level, want) :
		    out_flush(db);
	if (rc == 0 && rw.gone > 0)
		rc = meta_set(db, "tok_count", count > (int64_t)rw.gone ?
		    count - (int64_t)rw.gone : 0);
	if (rc == 0)
		*dropped = rw.gone;
	out_reset(db);
	return rc;
}

/* For qsort: entries in bytewise order. */
static int
ent_cmp(const void *a, const void *b)
{
	const struct bk_ent *x = a, *y = b;

	return bk_cmp(x->tok, x->len, y->tok, y->len);
}

/* migrate_2's order: bytewise, the text key of the same bytes first. */
static int
text_first(const void *a, const void *b)
{
	const struct bk_ent *x = a, *y = b;
	int c = ent_cmp(a, b);

	return c != 0 ? c : (int)y->tag - (int)x->tag;
}

/* Version 2 -> 3: every token row into buckets, then the rows dropped.
 * Rows a bucket cannot hold (no key, 0/0 counts) are left behind, and
 * of a text and a blob key of the same bytes the text one is kept;
 * counts and weights are clamped as reads did. */
static int
migrate_2(struct db *db, int tok_version)
{
	sqlite3_stmt *st = NULL;
	struct bk_vec all = { 0 };
	struct bk_buf arena = { 0 };
	struct bk_ent *e;
	const unsigned char *tok;
	const char **toks = NULL;
	size_t *lens = NULL;
	int64_t *ds = NULL, *dh = NULL, *dw = NULL, *days = NULL;
	size_t used = 0, len, i, n;
	int src;
	int rc;

	(void)tok_version;
	rc = exec(db, schema_v3);
	if (rc != 0)
		goto out;
	src = sqlite3_prepare_v2(db->sq, "SELECT tok, spam, ham, day, w "
	    "FROM token", -1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = sql_err(db, src);
		goto out;
	}
	/* Bounded by the rows of token. */
	for (;;) {
		src = sqlite3_step(st);
		if (src != SQLITE_ROW)
			break;
		tok = sqlite3_column_text(st, 0);
		len = (size_t)sqlite3_column_bytes(st, 0);
		if (tok == NULL && sqlite3_errcode(db->sq) == SQLITE_NOMEM)
			goto nomem;
		if (tok == NULL || len == 0 || len > DB_TOKEN_BYTES_MAX)
			continue;
		if (bk_vec_reserve(&all, all.n + 1) != 0 ||
		    buf_reserve(&arena, used + len) != 0)
			goto nomem;
		e = &all.e[all.n];
		e->spam = clamp_count(sqlite3_column_int64(st, 1));
		e->ham = clamp_count(sqlite3_column_int64(st, 2));
		if (e->spam == 0 && e->ham == 0)
			continue;
		e->day = sqlite3_column_int64(st, 3);
		e->w = clamp_weight(sqlite3_column_int64(st, 4));
		e->len = (uint32_t)len;
		/* Until written (the write makes the tags): the row's key
		 * was text, the one schema 2 lookups found. */
		e->tag = sqlite3_column_type(st, 0) == SQLITE_TEXT;
		memcpy(arena.p + used, tok, len);
		e->tok = (const char *)(uintptr_t)used;
		used += len;
		all.n++;
	}
	if (src != SQLITE_DONE) {
		rc = sql_err(db, src);
		goto out;
	}
	sqlite3_finalize(st);	/* before the DROP */
	st = NULL;
	for (i = 0; i < all.n; i++)
		all.e[i].tok = (const char *)arena.p +
		    (uintptr_t)all.e[i].tok;
	if (all.n > 0)
		qsort(all.e, all.n, sizeof(*all.e), text_first);
	for (i = 0, n = 0; i < all.n; i++)
		if (n == 0 || ent_cmp(&all.e[n - 1], &all.e[i]) != 0)
			all.e[n++] = all.e[i];
	/* Then written as training writes them into an empty store. */
	toks = malloc((n ? n : 1) * sizeof(*toks));
	lens = malloc((n ? n : 1) * sizeof(*lens));
	ds = malloc((n ? n : 1) * sizeof(*ds));
	dh = malloc((n ? n : 1) * sizeof(*dh));
	dw = malloc((n ? n : 1) * sizeof(*dw));
	days = malloc((n ? n : 1) * sizeof(*days));
	if (toks == NULL || lens == NULL || ds == NULL || dh == NULL ||
	    dw == NULL || days == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		toks[i] = all.e[i].tok;
		lens[i] = all.e[i].len;
		ds[i] = all.e[i].spam;
		dh[i] = all.e[i].ham;
		dw[i] = all.e[i].w;
		days[i] = all.e[i].day;
	}
	rc = exec(db, "DROP TABLE token");
	if (rc == 0)
		rc = meta_set(db, "tok_level", BK_LEVEL_MIN);
	if (rc == 0)
		rc = meta_set(db, "tok_count", 0);
	if (rc == 0) {
		/* Keyed as schema 3 wanted, for migrate_3 to rekey: an
		 * empty store's level is set first, so nothing splits. */
		db->bt = (struct batch){ n, toks, lens, ds, dh, dw, days };
		db->key3 = 1;
		rc = bk_apply(db, 0);
		db->key3 = 0;
		memset(&db->bt, 0, sizeof(db->bt));
	}
	goto out;
nomem:
	rc = errf(db, DB_ENOMEM, "out of memory upgrading the store");
out:
	sqlite3_finalize(st);
	bk_vec_free(&all);
	buf_free(&arena);
	free(toks);
	free(lens);
	free(ds);
	free(dh);
	free(dw);
	free(days);
	return rc;
}

/* Version 3 -> 4: every key rewritten from bk_key3's to bk_key's, in one
 * pass in key order (the order is the same); a key not of the store's
 * level would be rewritten onto another's, so the store is refused. */
static int
migrate_3(struct db *db, int tok_version)
{
	char sql[sizeof(schema_v4) + 16];
	sqlite3_stmt *st = NULL;
	int64_t bad = 0;
	int level = 0, src;
	int rc;

	(void)tok_version;
	rc = bk_level(db, &level);
	if (rc != 0)
		goto out;
	src = sqlite3_prepare_v2(db->sq, "SELECT count(*) FROM tokb WHERE "
	    "key < ?1 OR key >= ?2", -1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_bind_int64(st, 1, (int64_t)1 << level);
	if (src == SQLITE_OK)
		src = sqlite3_bind_int64(st, 2, (int64_t)2 << level);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		bad = sqlite3_column_int64(st, 0);
	else {
		rc = sql_err(db, src);
		goto out;
	}
	if (bad != 0) {
		rc = errf(db, DB_ECORRUPT, "%lld token buckets are not of "
		    "level %d", (long long)bad, level);
		goto out;
	}
	sqlite3_finalize(st);	/* before the DROP */
	st = NULL;
	snprintf(sql, sizeof(sql), schema_v4, level, BK_KEY_BITS - level);
	rc = exec(db, sql);
out:
	sqlite3_finalize(st);
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
	if (!db->rows) {
		db->bt.n = n;
		db->bt.toks = toks;
		db->bt.lens = lens;
		rc = bk_lookup(db, out);
		memset(&db->bt, 0, sizeof(db->bt));
		goto out;
	}
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

/* A preload from buckets: bk_scan's ctx. */
struct pl_scan {
	struct preload *pl;
	struct pl_loading *ld;
};

static int
pl_load_bucket(struct db *db, void *ctx, int64_t key, const struct bk_vec *v)
{
	struct pl_scan *ps = ctx;
	size_t i;
	int rc = 0;

	(void)key;
	for (i = 0; i < v->n && rc == 0; i++)
		rc = pl_load_row(ps->pl, ps->ld, v->e[i].tok, v->e[i].len,
		    v->e[i].spam, v->e[i].ham, v->e[i].w);
	if (rc != 0)
		rc = errf(db, rc, "out of memory preloading tokens");
	return rc;
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
	if (rc == 0 && db->rows)
		rc = query_int(db, S_COUNT_ALL, 0, &rows);
	else if (rc == 0)
		rc = bk_count(db, &rows);
	if (rc != 0)
		goto end;
	/* Sized once: growing by doubling touched as much memory again
	 * (page faults were a sixth of a batch classification's CPU). */
	if (rows > 0 && (pl_grow(&pl, (uint64_t)rows) != 0 ||
	    pl_reserve(&pl, (uint64_t)rows) != 0)) {
		rc = errf(db, DB_ENOMEM, "out of memory preloading tokens");
		goto end;
	}
	if (!db->rows) {
		struct pl_scan ps = { &pl, &ld };

		rc = bk_scan(db, pl_load_bucket, &ps);
		pl_load_flush(&pl, &ld);
		goto end;
	}
	rc = get_stmt(db, S_PRELOAD, &st);
	if (rc != 0)
		goto end;
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
	return db_msg_get(db, digest, cls, NULL, NULL);
}

int
db_msg_get(struct db *db, const unsigned char digest[DB_DIGEST_BYTES],
    enum db_class *cls, int64_t *g, int *scaled)
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
	if (scaled != NULL)
		*scaled = 0;
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
			int sc;

			*cls = msg_row_class(v, &sc);
			if (g != NULL)
				*g = w;
			if (scaled != NULL)
				*scaled = sc;
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
	ahead_drop(db);
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
	db->bk_written = 0;
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
	ahead_drop(db);
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
	db->bk_written = 0;
out:
	return rc;
}

void
db_rollback(struct db *db)
{
	if (db == NULL)
		return;
	ahead_drop(db);
	if (db->sq == NULL || !db->in_txn)
		return;
	rollback_quiet(db);
	db->in_txn = 0;
	db->bk_written = 0;
	pl_drop_dirty(db);
}

/* db_commit_walk's walk of the committed store on a second thread, its
 * handle opened by the commit's WAL hook (commit_hook). */
struct walk_share {
	int ckpt;		/* the handle's wal_autocheckpoint */
	uint32_t min;
	db_counts_fn fn;
	void *ctx;
	struct db *r;		/* the second handle */
	pthread_t th;
	int started;
	int rc;
};

static void *
walk_share_run(void *arg)
{
	struct walk_share *ws = arg;

	ws->rc = share_fail(ws->r);
	if (ws->rc == 0)
		ws->rc = db_foreach_counts(ws->r, ws->min, ws->fn, ws->ctx);
	return NULL;
}

/* SQLite's WAL hook, run once a commit is made and its lock let go: the
 * walk starts on its second thread, and this one does what the default
 * hook does (the checkpoint of a big commit), meanwhile. */
static int
commit_hook(void *arg, sqlite3 *sq, const char *name, int frames)
{
	struct db *db = arg;
	struct walk_share *ws = db->ws;

	if (ws != NULL && !ws->started && reader_open(db, &ws->r) == 0)
		ws->started = pthread_create(&ws->th, NULL, walk_share_run,
		    ws) == 0;
	if (ws != NULL && ws->ckpt > 0 && frames >= ws->ckpt)
		(void)sqlite3_wal_checkpoint_v2(sq, name,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

int
db_commit_walk(struct db *db, uint32_t min_total, db_counts_fn fn,
    void *ctx, int *walked)
{
	struct walk_share ws = { 0, min_total, fn, ctx, NULL, 0, 0, 0 };
	char v[32];
	int rc, hook;

	*walked = 0;
	hook = db != NULL && db->sq != NULL && reader_ok(db) && !db->rows &&
	    fn != NULL &&
	    pragma_text(db, "PRAGMA wal_autocheckpoint", v, sizeof(v)) == 0;
	if (hook) {
		ws.ckpt = atoi(v);
		db->ws = &ws;
		sqlite3_wal_hook(db->sq, commit_hook, db);
	}
	rc = db_commit(db);
	if (hook) {
		sqlite3_wal_autocheckpoint(db->sq, ws.ckpt);
		db->ws = NULL;
	}
	if (ws.started) {
		pthread_join(ws.th, NULL);
		*walked = rc == 0 && ws.rc == 0;
		if (*walked)
			db->walk_runs++;
	}
	db_close(ws.r);
	return rc;
}

unsigned long
db_walk_runs(const struct db *db)
{
	return db != NULL ? db->walk_runs : 0;
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
	/* A failed read can make SQLite roll the transaction back: writing
	 * on would commit each write by itself. */
	if (rc == 0 && sqlite3_get_autocommit(db->sq)) {
		db->in_txn = 0;
		pl_drop_dirty(db);
		ahead_drop(db);
		rc = errf(db, DB_EIO, "%s: the transaction was rolled back "
		    "after an earlier error", fn);
	}
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

/* Undo the writes since S_SAVEPOINT, keeping the error that caused it.
 * SQLite may have rolled everything back already; if the savepoint
 * cannot be rolled back, the whole transaction is (write_failed then
 * sees it gone): a caller that commits anyway must not keep half. */
static void
undo_add(struct db *db)
{
	sqlite3_stmt *st = db->st[S_ROLLBACK_TO];
	int src = SQLITE_ERROR;

	if (sqlite3_get_autocommit(db->sq))
		return;
	if (st != NULL) {
		src = sqlite3_step(st);
		sqlite3_reset(st);
	}
	st = db->st[S_RELEASE];
	if (src == SQLITE_DONE && st != NULL) {
		src = sqlite3_step(st);
		sqlite3_reset(st);
	}
	if (src != SQLITE_DONE)
		rollback_quiet(db);
}

/* Apply db->bt, the checked changes of a call, to the buckets and to
 * the preloaded table when there is one.  All of it or, after an error,
 * none of it: a call writes several statements (a split of every bucket,
 * the buckets, the count). */
static int
add_batch(struct db *db, int64_t day)
{
	const struct batch *bt = &db->bt;
	sqlite3_stmt *st;
	size_t i;
	int rc;

	/* Prepared before anything is written, so undo_add has them. */
	rc = get_stmt(db, S_ROLLBACK_TO, &st);
	if (rc == 0)
		rc = get_stmt(db, S_RELEASE, &st);
	if (rc == 0)
		rc = run_id(db, S_SAVEPOINT);
	if (rc != 0) {
		rc = write_failed(db, rc);
		goto out;
	}
	rc = bk_apply(db, day);
	if (rc == 0)
		rc = run_id(db, S_RELEASE);
	if (rc != 0) {
		undo_add(db);
		rc = write_failed(db, rc);
		goto out;
	}
	if (db->pl.slot != NULL) {
		db->pl_dirty = 1;
		/* Out of memory: forget the table, SQL is still right. */
		for (i = 0; i < bt->n && db->pl.slot != NULL; i++)
			if (pl_apply(&db->pl, bt->toks[i], bt->lens[i],
			    bt->ds[i], bt->dh[i], bt->dw != NULL ?
			    bt->dw[i] : 0) != 0)
				pl_free(&db->pl);
	}
out:
	memset(&db->bt, 0, sizeof(db->bt));
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
	db->bt.n = 1;
	db->bt.toks = &tok;
	db->bt.lens = &len;
	db->bt.ds = &dspam;
	db->bt.dh = &dham;
	db->bt.dw = &dw;
	rc = add_batch(db, day);
out:
	return rc;
}

/* db_add_tokens and db_add_tokens_days (days NULL: day for all). */
static int
add_tokens(struct db *db, size_t n, const char *const *toks,
    const size_t *lens, const int64_t *dspam, const int64_t *dham,
    const int64_t *dw, const int64_t *days, int64_t day)
{
	size_t i;
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
	db->bt.days = days;
	rc = add_batch(db, day);
out:
	/* Taken by the write, or not to be: the caller's arrays are its
	 * own again. */
	ahead_drop(db);
	return rc;
}

int
db_add_tokens(struct db *db, size_t n, const char *const *toks,
    const size_t *lens, const int64_t *dspam, const int64_t *dham,
    const int64_t *dw, int64_t day)
{
	return add_tokens(db, n, toks, lens, dspam, dham, dw, NULL, day);
}

int
db_add_tokens_days(struct db *db, size_t n, const char *const *toks,
    const size_t *lens, const int64_t *dspam, const int64_t *dham,
    const int64_t *dw, const int64_t *days)
{
	if (days == NULL && n > 0 && db != NULL) {
		errf(db, DB_EINVAL, "db_add_tokens_days: null argument");
		return DB_EINVAL;
	}
	return add_tokens(db, n, toks, lens, dspam, dham, dw, days, 0);
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

int
db_msg_scaled(struct db *db, const unsigned char digest[DB_DIGEST_BYTES])
{
	sqlite3_stmt *st = NULL;
	int src;
	int rc;

	rc = check_write(db, "db_msg_scaled");
	if (rc != 0)
		goto out;
	if (digest == NULL) {
		rc = errf(db, DB_EINVAL, "db_msg_scaled: null digest");
		goto out;
	}
	rc = get_stmt(db, S_MSG_SCALE, &st);
	if (rc != 0)
		goto out;
	src = sqlite3_bind_blob(st, 1, digest, DB_DIGEST_BYTES,
	    SQLITE_STATIC);
	rc = run_bound(db, st, src);
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

/* db_status's token counts, bucket by bucket. */
static int
count_bucket(struct db *db, void *ctx, int64_t key, const struct bk_vec *v)
{
	struct db_status *st = ctx;
	size_t i;

	(void)db;
	(void)key;
	st->tokens += v->n;
	for (i = 0; i < v->n; i++) {
		st->spam_tokens += v->e[i].spam > 0;
		st->ham_tokens += v->e[i].ham > 0;
	}
	return 0;
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
	if (!db->rows) {
		rc = bk_scan(db, count_bucket, &st);
		goto counted;
	}
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
counted:
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

/* A walk over buckets: bk_scan's ctx. */
struct bk_walk {
	db_token_fn fn;
	db_counts_fn cfn;
	void *ctx;
	uint32_t min_total;
	struct bk_vec all;	/* db_foreach: every token, tok an offset
				 * into arena until the scan ends */
	struct bk_buf arena;
	size_t used;
};

/* db_foreach_counts' calls, bucket by bucket. */
static int
walk_counts(struct db *db, void *ctx, int64_t key, const struct bk_vec *v)
{
	struct bk_walk *w = ctx;
	struct db_counts c;
	size_t i;
	int rc = 0;

	(void)db;
	(void)key;
	for (i = 0; i < v->n && rc == 0; i++) {
		if ((uint64_t)v->e[i].spam + v->e[i].ham < w->min_total)
			continue;
		c.spam = v->e[i].spam;
		c.ham = v->e[i].ham;
		c.w = 0;
		rc = w->cfn(w->ctx, &c);
	}
	return rc;
}

/* db_foreach's tokens, copied: they are called in token order. */
static int
walk_collect(struct db *db, void *ctx, int64_t key, const struct bk_vec *v)
{
	struct bk_walk *w = ctx;
	struct bk_ent *e;
	size_t i;

	(void)key;
	if (bk_vec_reserve(&w->all, w->all.n + v->n) != 0)
		return errf(db, DB_ENOMEM, "out of memory");
	for (i = 0; i < v->n; i++) {
		if (buf_reserve(&w->arena, w->used + v->e[i].len) != 0)
			return errf(db, DB_ENOMEM, "out of memory");
		e = &w->all.e[w->all.n++];
		*e = v->e[i];
		memcpy(w->arena.p + w->used, e->tok, e->len);
		e->tok = (const char *)(uintptr_t)w->used;
		w->used += e->len;
	}
	return 0;
}

/* walk() for a store of buckets. */
static int
bk_walk(struct db *db, struct bk_walk *w, const char *what)
{
	struct db_counts c;
	const struct bk_ent *e;
	size_t i;
	int began = 0;
	int rc;

	rc = usable(db);
	if (rc == 0 && ((w->fn == NULL && w->cfn == NULL) || db->in_foreach))
		rc = errf(db, DB_EINVAL, "%s: no function, or nested", what);
	if (rc != 0)
		return rc;
	rc = read_begin(db, &began);
	if (rc != 0)
		return rc;
	db->in_foreach = 1;
	rc = bk_scan(db, w->cfn != NULL ? walk_counts : walk_collect, w);
	rc = read_end(db, began, rc);
	if (rc != 0 || w->fn == NULL)
		goto out;
	for (i = 0; i < w->all.n; i++)
		w->all.e[i].tok = (const char *)w->arena.p +
		    (uintptr_t)w->all.e[i].tok;
	if (w->all.n > 1)	/* an empty store: e is NULL */
		qsort(w->all.e, w->all.n, sizeof(*w->all.e), ent_cmp);
	for (i = 0; i < w->all.n && rc == 0; i++) {
		e = &w->all.e[i];
		c.spam = e->spam;
		c.ham = e->ham;
		c.w = e->w;
		rc = w->fn(w->ctx, e->tok, e->len, &c, e->day);
	}
out:
	db->in_foreach = 0;
	bk_vec_free(&w->all);
	buf_free(&w->arena);
	return rc;
}

int
db_foreach(struct db *db, db_token_fn fn, void *ctx)
{
	struct bk_walk w = { fn, NULL, ctx, 0, { 0 }, { 0 }, 0 };

	if (db != NULL && !db->rows)
		return bk_walk(db, &w, "db_foreach");
	return walk(db, fn, NULL, ctx, 0, "db_foreach");
}

int
db_foreach_counts(struct db *db, uint32_t min_total, db_counts_fn fn,
    void *ctx)
{
	struct bk_walk w = { NULL, fn, ctx, min_total, { 0 }, { 0 }, 0 };

	if (db != NULL && !db->rows)
		return bk_walk(db, &w, "db_foreach_counts");
	return walk(db, NULL, fn, ctx, min_total, "db_foreach_counts");
}

int
db_foreach_msg(struct db *db, db_msg_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *digest;
	const char *msgid;
	enum db_class c;
	int64_t cls, g;
	int src, scaled;
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
		c = msg_row_class(cls, &scaled);
		rc = fn(ctx, digest, c, scaled, msgid, g,
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

/* db_scale's change: each class over its limit times its factor. */
struct scale {
	int spam, ham;		/* scale this class */
	double fs, fh;
};

static int
scale_bucket(void *ctx, struct bk_vec *v)
{
	const struct scale *sc = ctx;
	struct bk_ent *e;
	size_t i, n = 0;

	for (i = 0; i < v->n; i++) {
		e = &v->e[i];
		if (sc->spam && e->spam > 0)
			e->spam = clamp_count((int64_t)((double)e->spam *
			    sc->fs + 0.5));
		if (sc->ham && e->ham > 0)
			e->ham = clamp_count((int64_t)((double)e->ham *
			    sc->fh + 0.5));
		if (e->spam > 0 || e->ham > 0)
			v->e[n++] = *e;
	}
	v->n = n;
	return 1;
}

int
db_scale(struct db *db, uint64_t limit, uint64_t target, uint64_t *dropped)
{
	struct scale sc = { 0, 0, 1.0, 1.0 };
	uint64_t spam = 0;
	uint64_t ham = 0;
	uint64_t gone = 0;
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
	sc.spam = spam > limit;
	sc.ham = ham > limit;
	if (sc.spam)
		sc.fs = (double)target / (double)spam;
	if (sc.ham)
		sc.fh = (double)target / (double)ham;
	if (rc == 0 && (sc.spam || sc.ham))
		rc = bk_rewrite(db, scale_bucket, &sc, &gone);
	/* Its messages' counts are a share of what they were: learning one
	 * again is still a duplicate, but taking it back is refused. */
	if (rc == 0 && sc.spam)
		rc = exec(db, "UPDATE msg SET class = 3 WHERE class = 1");
	if (rc == 0 && sc.ham)
		rc = exec(db, "UPDATE msg SET class = 4 WHERE class = 2");
	if (rc == 0 && sc.spam)
		rc = meta_set(db, "spam_msgs", (int64_t)target);
	if (rc == 0 && sc.ham)
		rc = meta_set(db, "ham_msgs", (int64_t)target);
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0) {
		db_rollback(db);
		goto out;
	}
	if (dropped != NULL)
		*dropped = gone;
	if (sc.spam || sc.ham)
		pl_refresh(db);
out:
	return rc;
}

/* db_prune's change: drop the rare tokens not seen since a day. */
struct prune {
	int64_t before_day;
	uint32_t max_count;
};

static int
prune_bucket(void *ctx, struct bk_vec *v)
{
	const struct prune *pr = ctx;
	const struct bk_ent *e;
	size_t i, n = 0;

	for (i = 0; i < v->n; i++) {
		e = &v->e[i];
		if ((uint64_t)e->spam + e->ham > pr->max_count ||
		    e->day >= pr->before_day)
			v->e[n++] = *e;
	}
	if (n == v->n)
		return 0;
	v->n = n;
	return 1;
}

int
db_prune(struct db *db, int64_t before_day, uint32_t max_count,
    uint64_t *dropped)
{
	struct prune pr = { before_day, max_count };
	uint64_t n = 0;
	int rc;

	if (dropped != NULL)
		*dropped = 0;
	rc = check_maint(db);
	if (rc != 0)
		goto out;
	rc = db_begin(db);
	if (rc != 0)
		goto out;
	rc = bk_rewrite(db, prune_bucket, &pr, &n);
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0) {
		db_rollback(db);
		goto out;
	}
	if (dropped != NULL)
		*dropped = n;
	if (n > 0)
		pl_refresh(db);
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

/* db_check of buckets: each well formed (bk_scan decodes it), of the
 * store's level, holding only its own tokens, and as many in all as the
 * store counted. */
struct check {
	int level;
	int64_t seen;
};

static int
check_bucket(struct db *db, void *ctx, int64_t key, const struct bk_vec *v)
{
	struct check *ck = ctx;
	uint64_t h;
	size_t i;

	if (!key_ok(db, key, ck->level))
		return errf(db, DB_ECORRUPT, "token bucket %lld is not of "
		    "level %d", (long long)key, ck->level);
	if (v->n == 0)
		return errf(db, DB_ECORRUPT, "token bucket %lld is empty",
		    (long long)key);
	for (i = 0; i < v->n; i++) {
		h = bk_hash(v->e[i].tok, v->e[i].len);
		if (key_of(db, h, ck->level) != key ||
		    bk_tag(h) != v->e[i].tag)
			return errf(db, DB_ECORRUPT, "token bucket %lld holds "
			    "a token of another, or a wrong tag",
			    (long long)key);
	}
	ck->seen += (int64_t)v->n;
	return 0;
}

static int
check_buckets(struct db *db)
{
	struct check ck = { 0, 0 };
	int64_t count = 0;
	int began = 0;
	int rc;

	rc = read_begin(db, &began);
	if (rc != 0)
		return rc;
	rc = bk_level(db, &ck.level);
	if (rc == 0)
		rc = bk_count(db, &count);
	if (rc == 0)
		rc = bk_scan(db, check_bucket, &ck);
	if (rc == 0 && ck.seen != count)
		rc = errf(db, DB_ECORRUPT, "the store counts %lld tokens, its "
		    "buckets hold %lld", (long long)count, (long long)ck.seen);
	return read_end(db, began, rc);
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
	if (!db->rows) {
		rc = check_buckets(db);
		if (rc != 0)
			goto out;
	} else {
		rc = query_int(db, S_CHECK_ROWS, 0, &n);
		if (rc != 0)
			goto out;
		if (n != 0) {
			rc = errf(db, DB_ECORRUPT, "%lld tokens with a bad "
			    "key or counts", (long long)n);
			goto out;
		}
	}
	rc = query_int(db, S_CHECK_META, 0, &n);
	if (rc == 0 && n != 3)
		rc = errf(db, DB_ECORRUPT, "message totals or tokenizer "
		    "version missing");
	/* The learned messages too: training and --dump read them (a
	 * missing table, or a bad class, passed here and failed there). */
	if (rc == 0)
		rc = query_int(db, S_CHECK_MSG, 0, &n);
	if (rc == 0 && n != 0)
		rc = errf(db, DB_ECORRUPT, "%lld learned messages with a bad "
		    "digest, class or weight step", (long long)n);
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
	    strcmp(key, "tok_version") == 0 ||
	    strcmp(key, "tok_level") == 0 || strcmp(key, "tok_count") == 0;
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
