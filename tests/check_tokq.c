/* SPDX-License-Identifier: MIT */
/*
 * check_tokq.c - unit tests of the worker threads' queue (src/tokq.h):
 * its limits, messages taken back in the order given with what came with
 * them, each one's tokens and digests those of the tokenizer on this
 * thread, a queue kept full through hundreds of messages of every kind
 * the repository has, and a queue freed with messages still in it.
 *
 * Run from the top of the source tree (make unit does): it reads
 * tests/data.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "src/tokq.h"
#include "tests/check_util.h"

#define DATA_DIR "tests/data"
#define MAX_FILES 64		/* tests/data's .eml files read */
#define ROUNDS 8		/* times each is given in the long test */

/* The .eml files of tests/data, read whole; *n of them. */
static char **
fixtures(size_t **lens, size_t *n)
{
	char path[512];
	char **bufs = calloc(MAX_FILES, sizeof(*bufs));
	struct dirent *d;
	DIR *dir = opendir(DATA_DIR);

	*lens = calloc(MAX_FILES, sizeof(**lens));
	ck_assert_ptr_nonnull(bufs);
	ck_assert_ptr_nonnull(*lens);
	ck_assert_msg(dir != NULL, "cannot read " DATA_DIR);
	*n = 0;
	while ((d = readdir(dir)) != NULL && *n < MAX_FILES) {
		size_t l = strlen(d->d_name);

		if (l < 5 || strcmp(d->d_name + l - 4, ".eml") != 0)
			continue;
		snprintf(path, sizeof(path), DATA_DIR "/%s", d->d_name);
		bufs[*n] = read_whole(path, &(*lens)[*n]);
		(*n)++;
	}
	closedir(dir);
	ck_assert_uint_ge(*n, 10);
	return bufs;
}

static void
free_fixtures(char **bufs, size_t *lens, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(lens);
}

/* m holds what buf tokenizes to on this thread (t, scratch set s). */
static void
same_as_here(struct tok *t, struct tok_set *s, const char *buf, size_t len,
    const struct tokq_msg *m)
{
	unsigned char digest[TOK_DIGEST_BYTES], older[TOK_DIGEST_BYTES];
	char msgid[TOKQ_MSGID_BYTES];
	size_t i, n, la, lb;
	const char *a, *b;
	int has_older;

	tok_set_reset(s);
	ck_assert_int_eq(tok_message(t, buf, len, s), 0);
	ck_assert_int_eq(m->rc, 0);
	n = tok_set_count(s);
	ck_assert_uint_eq(tok_set_count(m->set), n);
	for (i = 0; i < n; i++) {
		a = tok_set_token(s, i, &la);
		b = tok_set_token(m->set, i, &lb);
		ck_assert_msg(la == lb && memcmp(a, b, la) == 0,
		    "token %zu: %s here, %s from the worker", i, esc(a, la),
		    esc(b, lb));
		ck_assert_uint_eq(tok_set_freq(s, i), tok_set_freq(m->set, i));
	}
	has_older = tok_digests(buf, len, digest, older, msgid,
	    sizeof(msgid));
	ck_assert_int_eq(m->has_older, has_older);
	ck_assert(memcmp(m->digest, digest, sizeof(digest)) == 0);
	if (has_older)
		ck_assert(memcmp(m->older, older, sizeof(older)) == 0);
	ck_assert_str_eq(m->msgid, msgid);
}

/* The caller's tokenizer a queue borrows, made ready as tokq_new asks;
 * another than the one the tests compare with. */
static struct tok *
mine_new(const struct tok_opts *o)
{
	struct tok *t;

	ck_assert_int_eq(tok_new(&t, o), 0);
	ck_assert_int_eq(tok_prepare(t), 0);
	return t;
}

START_TEST(test_limits)
{
	struct tok_opts o;
	struct tokq *q = (struct tokq *)&o;	/* not NULL: must become */
	struct tok *mine;

	tok_opts_init(&o);
	mine = mine_new(&o);
	ck_assert_int_eq(tokq_new(&q, &o, 0, 8, mine), TOK_EINVAL);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(tokq_new(&q, &o, TOKQ_MAX_THREADS + 1, 128, mine),
	    TOK_EINVAL);
	ck_assert_int_eq(tokq_new(&q, &o, 4, 3, mine), TOK_EINVAL);
	ck_assert_int_eq(tokq_new(&q, &o, 2, 2, mine), 0);
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_null(tokq_take(q));
	ck_assert_uint_eq(tokq_pending(q), 0);
	tokq_free(q);
	tokq_free(NULL);
	tok_free(mine);
}
END_TEST

/* Given in order, taken in order, with their metadata, whatever thread
 * finished first; a full queue refuses another. */
START_TEST(test_order)
{
	static const char *const msgs[] = {
		"Subject: one\n\nalpha beta gamma\n",
		"Subject: two\n\n<html><body>delta <b>epsilon</b></body>\n",
		"",
		"Message-ID: <x@y>\nSubject: four\n\nzeta eta\n\n\n",
	};
	struct tok_opts o;
	struct tok *t;
	struct tok_set *s;
	struct tokq *q;
	struct tok *mine;
	const struct tokq_msg *m;
	struct tokq_meta meta;
	size_t i;

	tok_opts_init(&o);
	ck_assert_int_eq(tok_new(&t, &o), 0);
	s = tok_set_new();
	ck_assert_ptr_nonnull(s);
	mine = mine_new(&o);
	ck_assert_int_eq(tokq_new(&q, &o, 3, 4, mine), 0);
	for (i = 0; i < 4; i++) {
		meta.cls = (int)i % 2;
		meta.sub = (int)i / 2;
		meta.cookie = 100 + i;
		ck_assert_int_eq(tokq_full(q), 0);
		ck_assert_int_eq(tokq_put(q, msgs[i], strlen(msgs[i]), &meta),
		    0);
		ck_assert_uint_eq(tokq_pending(q), i + 1);
	}
	ck_assert_int_eq(tokq_full(q), 1);
	ck_assert_int_eq(tokq_put(q, msgs[0], strlen(msgs[0]), &meta),
	    TOK_EINVAL);
	for (i = 0; i < 4; i++) {
		m = tokq_take(q);
		ck_assert_ptr_nonnull(m);
		ck_assert_uint_eq(m->meta.cookie, 100 + i);
		ck_assert_int_eq(m->meta.cls, (int)i % 2);
		ck_assert_int_eq(m->meta.sub, (int)i / 2);
		same_as_here(t, s, msgs[i], strlen(msgs[i]), m);
		tokq_done(q);
		ck_assert_uint_eq(tokq_pending(q), 3 - i);
	}
	ck_assert_ptr_null(tokq_take(q));
	tokq_free(q);
	tok_free(mine);
	tok_set_free(s);
	tok_free(t);
}
END_TEST

/* Hundreds of messages of every charset and structure through a queue
 * kept full, as a training run keeps it: each taken message is the one
 * given at its turn, tokenized as here. */
START_TEST(test_stream)
{
	struct tok_opts o;
	struct tok *t;
	struct tok_set *s;
	struct tokq *q;
	struct tok *mine;
	const struct tokq_msg *m;
	struct tokq_meta meta = { 0, 0, 0 };
	size_t *lens, n, i, given = 0, taken = 0, total;
	char **bufs;

	bufs = fixtures(&lens, &n);
	total = n * ROUNDS;
	tok_opts_init(&o);
	ck_assert_int_eq(tok_new(&t, &o), 0);
	s = tok_set_new();
	ck_assert_ptr_nonnull(s);
	mine = mine_new(&o);
	ck_assert_int_eq(tokq_new(&q, &o, 3, 7, mine), 0);
	/* Bounded: each pass gives or takes one. */
	while (taken < total) {
		if (given < total && !tokq_full(q)) {
			i = given % n;
			meta.cookie = given++;
			ck_assert_int_eq(tokq_put(q, bufs[i], lens[i], &meta),
			    0);
			continue;
		}
		m = tokq_take(q);
		ck_assert_ptr_nonnull(m);
		ck_assert_uint_eq(m->meta.cookie, taken);
		i = taken % n;
		same_as_here(t, s, bufs[i], lens[i], m);
		tokq_done(q);
		taken++;
	}
	ck_assert_uint_eq(tokq_pending(q), 0);
	tokq_free(q);
	tok_free(mine);
	tok_set_free(s);
	tok_free(t);
	free_fixtures(bufs, lens, n);
}
END_TEST

/* Freed with messages given and not taken: the workers finish theirs
 * and stop (ASan and valgrind see nothing left). */
START_TEST(test_free_busy)
{
	struct tok_opts o;
	struct tokq *q;
	struct tok *mine;
	struct tokq_meta meta = { 1, 0, 7 };
	size_t *lens, n, i;
	char **bufs;

	bufs = fixtures(&lens, &n);
	tok_opts_init(&o);
	mine = mine_new(&o);
	ck_assert_int_eq(tokq_new(&q, &o, 2, 16, mine), 0);
	for (i = 0; i < 16 && i < n; i++)
		ck_assert_int_eq(tokq_put(q, bufs[i], lens[i], &meta), 0);
	/* One taken and not released, the rest in flight. */
	ck_assert_ptr_nonnull(tokq_take(q));
	tokq_free(q);
	tok_free(mine);
	free_fixtures(bufs, lens, n);
}
END_TEST

static Suite *
tokq_suite(void)
{
	Suite *s = suite_create("tokq");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_stream);
	tcase_add_test(tc, test_free_busy);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(tokq_suite());
}
