/* SPDX-License-Identifier: MIT */
/*
 * db.h - the per-user token store: tokens <-> (spam count, ham count), the
 * message totals, and the list of messages learned, in one SQLite file.
 *
 * The store knows nothing of mail: callers give it token strings and
 * 32-byte message digests.  Reads never take a write lock (WAL readers);
 * writes happen only between db_begin() and db_commit(), so a killed
 * process leaves exactly the committed batches.
 *
 * Return convention: 0 on success or a negative DB_E* code.  After an
 * error db_errmsg() gives a lower-case reason naming the file.  Any call
 * that reaches SQLite may also return DB_ENOMEM, DB_ECORRUPT or DB_EBUSY
 * as SQLite reports them.  The module never prints and never exits.
 */
#ifndef SPAMSIFT_DB_H
#define SPAMSIFT_DB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DB_SCHEMA_VERSION 4
#define DB_DIGEST_BYTES 32
#define DB_FILENAME "spamsift.db"
#define DB_TOKEN_BYTES_MAX 1024	/* longest token stored */

enum db_error {
	DB_OK = 0,
	DB_ENOMEM = -1,
	DB_EIO = -2,		/* SQLite or file-system error; see db_errmsg */
	DB_EBUSY = -3,		/* locked past the busy timeout */
	DB_ECORRUPT = -4,	/* not a database, or fails integrity */
	DB_EVERSION = -5,	/* schema newer than this program */
	DB_ETOKVER = -6,	/* trained by an incompatible tokenizer */
	DB_EPERM = -7,		/* unsafe permissions, or read-only */
	DB_ENOENT = -8,		/* missing and DB_CREATE not given */
	DB_EINVAL = -9,		/* bad argument, or bad import line */
	DB_EFULL = -10,		/* disk full */
};

/* db_open flags */
#define DB_CREATE	0x1	/* create the file (mode 0600) if missing */
#define DB_READONLY	0x2	/* never write; db_begin fails */
#define DB_ANY_TOKVER	0x4	/* open a store of another tokenizer
				 * version too (with DB_READONLY: to read
				 * out, never to score or train) */

/* Message classes */
enum db_class { DB_NONE = 0, DB_SPAM = 1, DB_HAM = 2 };

struct db;

/* A token as stored: its counts and its logistic weight, an integer in
 * the caller's fixed-point unit (kept within +-INT32_MAX). */
struct db_counts {
	uint32_t spam;
	uint32_t ham;
	int32_t w;
};

struct db_status {
	uint64_t spam_msgs, ham_msgs;	/* message totals */
	uint64_t tokens;		/* distinct tokens */
	uint64_t spam_tokens, ham_tokens; /* tokens with a non-zero count */
	uint64_t learned;		/* messages remembered */
	uint64_t file_bytes;		/* main file size */
	int schema_version;
	int tok_version;
	const char *journal;		/* "wal" or "delete"; static */
	int network_fs;			/* home is on NFS/SMB-like fs */
};

/* Open the store at path.  tok_version is the tokenizer's TOK_VERSION: a
 * new store is stamped with it, an existing one must match
 * (DB_ETOKVER).  Refuses a file or parent directory writable by group or
 * others (DB_EPERM).  busy_ms is how long to wait for another writer.
 * *out is owned by the caller: db_close().  On failure *out is still set
 * when a handle exists, so db_errmsg() can tell why; db_close() it.
 * Errors: all of enum db_error. */
int db_open(struct db **out, const char *path, int flags, int tok_version,
    int busy_ms);
void db_close(struct db *db);

/* With n > 0, a write that splits a store of 2048 buckets or more reads,
 * merges and splits half of it on a second thread, through a read-only
 * handle of its own; 0 (the default): all on the caller's thread.  The
 * store written is the same. */
void db_set_threads(struct db *db, int n);
/* How many writes through db had a second thread do their share (a
 * failed share is done again on the caller's thread, and not counted). */
unsigned long db_helper_runs(const struct db *db);
/* Inside a write transaction, with db_set_threads n > 0: put n tokens
 * (distinct) in the store's order on a second thread, for a
 * db_add_tokens that follows with the same toks and lens arrays, each
 * token to be added to (a first training's batch: the store's level
 * then depends on how many tokens).  Until the next db_add_tokens or
 * db_add_tokens_days call returns (whatever it returns), db_begin,
 * db_commit, db_rollback or db_close, the caller keeps the arrays and
 * the bytes they point at unchanged; other calls on db may come
 * between.  A write with other arrays, or into another level, orders
 * its batch itself; so does a batch of fewer than 16384 tokens (no
 * thread is started).  Errors: as db_add_tokens's reading of the
 * store. */
int db_order_ahead(struct db *db, size_t n, const char *const *toks,
    const size_t *lens);
/* How many writes through db took the order db_order_ahead made. */
unsigned long db_ahead_runs(const struct db *db);

/* The reason for the last error on db, or a generic text for rc when db is
 * NULL.  Borrowed: valid until the next call on db. */
const char *db_errmsg(const struct db *db, int rc);

/* Message totals.  Errors: DB_EIO, DB_EBUSY. */
int db_totals(struct db *db, uint64_t *spam_msgs, uint64_t *ham_msgs);

/* Look up n tokens (toks[i] of lens[i] bytes) in one pass; out[i] gets
 * their counts and weight (zero when unknown).  Callers that give toks
 * in bytewise order spare it a sort.  Errors: DB_EIO, DB_EBUSY,
 * DB_ECORRUPT (a damaged bucket). */
int db_lookup(struct db *db, size_t n, const char *const *toks,
    const size_t *lens, struct db_counts *out);

/* Read every token and the message totals into memory so that later
 * db_lookup() and db_totals() calls (outside a write transaction) are
 * served from there (batch classification).  A snapshot: writes through
 * this handle update it, other processes' writes are not seen.  Errors:
 * DB_ENOMEM, DB_EIO. */
int db_preload(struct db *db);

/* What the store remembers of a message: *cls is DB_NONE, DB_SPAM or
 * DB_HAM, db_msg_get's *g (may be NULL) the weight step it was learned
 * with (0 when not learned), and its *scaled (may be NULL) whether
 * db_scale has scaled its class's counts since (then its own counts are
 * no longer whole in the store, and it cannot be taken back).  Errors:
 * DB_EIO, DB_EBUSY. */
int db_msg_class(struct db *db, const unsigned char digest[DB_DIGEST_BYTES],
    enum db_class *cls);
int db_msg_get(struct db *db, const unsigned char digest[DB_DIGEST_BYTES],
    enum db_class *cls, int64_t *g, int *scaled);

/* One snapshot for several reads: from db_read_begin to db_read_end
 * every read sees the same committed store (other processes' commits
 * come after).  No write transaction or maintenance meanwhile.
 * db_read_end takes the error of the reads (0 if none) and returns it,
 * or its own.  Errors: DB_EIO, DB_EBUSY, DB_EINVAL (nested, or inside a
 * transaction or walk). */
int db_read_begin(struct db *db);
int db_read_end(struct db *db, int rc);

/* Write transactions.  db_begin takes the write lock (waiting busy_ms);
 * everything until db_commit is one atomic change.  db_rollback undoes it
 * and never fails.  Errors: DB_EBUSY, DB_EIO, DB_EPERM, DB_EFULL. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* Inside a transaction: add dspam and dham (may be negative; counts stop
 * at zero) and dw to the weight (it stops at +-INT32_MAX) of a token,
 * stamping it with day (days since the epoch).  A token whose counts
 * reach 0/0 is dropped, weight and all.
 * Errors: DB_EIO, DB_EFULL, DB_EINVAL (no transaction, a token outside 1
 * to DB_TOKEN_BYTES_MAX bytes, a count change beyond +-UINT32_MAX or a
 * weight change beyond +-INT32_MAX). */
int db_add_token(struct db *db, const char *tok, size_t len, int64_t dspam,
    int64_t dham, int64_t dw, int64_t day);

/* Inside a transaction: db_add_token() for each of n distinct tokens
 * (toks[i] of lens[i] bytes, deltas dspam[i] and dham[i]), all stamped
 * with day, and dw[i] added to each weight (dw may be NULL: none; a
 * weight stops at +-INT32_MAX).  Each bucket they fall in is read and
 * rewritten once, all of them in two statements; callers that give the
 * tokens in bytewise order spare it a sort.  The arrays are borrowed for
 * the call.  After an error the transaction is to be rolled back.
 * Errors: as db_add_token, and DB_ECORRUPT (a damaged bucket). */
int db_add_tokens(struct db *db, size_t n, const char *const *toks,
    const size_t *lens, const int64_t *dspam, const int64_t *dham,
    const int64_t *dw, int64_t day);

/* db_add_tokens with a day for each token (days[i]) instead of one for
 * all: an import of a dump.  The same token twice goes in turn. */
int db_add_tokens_days(struct db *db, size_t n, const char *const *toks,
    const size_t *lens, const int64_t *dspam, const int64_t *dham,
    const int64_t *dw, const int64_t *days);

/* Inside a transaction: add to the message totals (stop at zero). */
int db_add_totals(struct db *db, int64_t dspam, int64_t dham);

/* Inside a transaction: remember a message as cls (DB_NONE forgets it)
 * with the weight step g it was learned with (|g| <= INT32_MAX).  msgid
 * may be NULL.  Errors: DB_EIO, DB_EFULL, DB_EINVAL. */
int db_set_msg(struct db *db, const unsigned char digest[DB_DIGEST_BYTES],
    enum db_class cls, const char *msgid, int64_t g, int64_t day);
/* Inside a transaction: mark a learned message scaled, as db_scale does
 * (a dump's; nothing when it is not learned).  Errors: DB_EIO, DB_EFULL,
 * DB_EINVAL. */
int db_msg_scaled(struct db *db, const unsigned char digest[DB_DIGEST_BYTES]);

/* Store facts.  Errors: DB_EIO. */
int db_status(struct db *db, struct db_status *st);

/* Call fn for every token with a non-zero count, in token order, with
 * its counts and weight.  A non-zero return from fn stops the walk and is
 * returned.  tok is borrowed for the call only.  Errors: DB_EIO, or fn's
 * value. */
typedef int (*db_token_fn)(void *ctx, const char *tok, size_t len,
    const struct db_counts *c, int64_t day);
int db_foreach(struct db *db, db_token_fn fn, void *ctx);

/* db_foreach for whole-store statistics: the same tokens in no set
 * order, without their text, day and weight (w is 0), and only those
 * whose spam + ham is at least min_total (0 or 1: all).  Nothing is
 * copied or sorted: a fraction of db_foreach's cost. */
typedef int (*db_counts_fn)(void *ctx, const struct db_counts *c);
int db_foreach_counts(struct db *db, uint32_t min_total, db_counts_fn fn,
    void *ctx);
/* db_commit, and with db_set_threads n > 0 on a store in WAL mode,
 * db_foreach_counts of the store as the commit left it on a second
 * thread, through a read-only handle of its own, while this one copies
 * a big commit into the store (SQLite's checkpoint).  fn runs on that
 * thread, and the caller keeps off ctx meanwhile.  *walked is 1 when the
 * walk went through, else 0 (no thread, a failed commit, or fn's value
 * or an error stopped the walk: the caller walks itself if it wants
 * to; another writer may have come between).  Errors: db_commit's. */
int db_commit_walk(struct db *db, uint32_t min_total, db_counts_fn fn,
    void *ctx, int *walked);
/* How many db_commit_walk calls walked on a second thread. */
unsigned long db_walk_runs(const struct db *db);

/* Call fn for every learned message, in digest order: its class (DB_SPAM
 * or DB_HAM), whether it was scaled (db_msg_get), Message-ID (NULL when
 * none), weight step and day, as db_set_msg stored them.  digest and
 * msgid are borrowed for the call.  A non-zero return from fn stops the
 * walk and is returned.  Errors:
 * DB_EIO, DB_ECORRUPT (a row that db_set_msg cannot have written),
 * DB_EINVAL (no fn, or inside another walk), or fn's value. */
typedef int (*db_msg_fn)(void *ctx,
    const unsigned char digest[DB_DIGEST_BYTES], enum db_class cls,
    int scaled, const char *msgid, int64_t g, int64_t day);
int db_foreach_msg(struct db *db, db_msg_fn fn, void *ctx);

/* Maintenance, each one transaction of its own (call outside db_begin).
 * db_scale: when spam (ham) totals exceed limit, scale that class's
 * counts by target/total (bsfilter's --max-mail and --min-mail; 0 <
 * target <= limit), dropping tokens that reach zero and marking its
 * learned messages scaled (db_msg_get); a class within the limit is left
 * alone.  db_prune: drop tokens seen in at most max_count messages whose
 * last day is older than before_day.  *dropped may be NULL.
 * db_vacuum: VACUUM.  db_check: PRAGMA integrity_check; DB_ECORRUPT with
 * the first problem in db_errmsg.  Errors: DB_EIO, DB_EBUSY, DB_EFULL.
 * db_used: *share = the part of the store's pages (free ones included)
 * that rows fill, in [0, 1], from one snapshot (SQLite's dbstat;
 * DB_EINVAL if this SQLite cannot tell); works read-only too.  Until a
 * checkpoint the file itself may be larger.  db_compact: db_vacuum only
 * when that share is below below (always when it cannot be told);
 * *done (may be NULL) says whether it did; DB_EPERM read-only,
 * DB_EINVAL inside a transaction. */
int db_scale(struct db *db, uint64_t limit, uint64_t target,
    uint64_t *dropped);
int db_prune(struct db *db, int64_t before_day, uint32_t max_count,
    uint64_t *dropped);
int db_vacuum(struct db *db);
int db_used(struct db *db, double *share);
int db_compact(struct db *db, double below, int *done);
int db_check(struct db *db);

/* Named integers kept in the store (e.g. "robx_micro").  db_meta_get
 * gives DB_ENOENT when unset; db_meta_set only inside a transaction, and
 * never on the store's own keys (spam_msgs, ham_msgs, tok_version).
 * Keys are 1 to 64 bytes.  Errors: DB_EIO, DB_EINVAL. */
int db_meta_get(struct db *db, const char *key, int64_t *val);
int db_meta_set(struct db *db, const char *key, int64_t val);

/* Today as days since the epoch (UTC), the unit of every "day" above. */
int64_t db_today(void);

#endif
