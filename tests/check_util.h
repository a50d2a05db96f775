/* SPDX-License-Identifier: MIT */
/*
 * check_util.h - what every Check suite needs: a private directory under
 * /tmp, a file's bytes, a string shown with C escapes, and the runner.
 * Failures go through Check's assertions, so a helper that fails ends
 * the test that called it.
 */
#ifndef SPAMSIFT_CHECK_UTIL_H
#define SPAMSIFT_CHECK_UTIL_H

#include <stddef.h>

#include <check.h>

#define CU_ESC_MAX 4096		/* bytes esc() shows of a string */

/* A directory made with mkdtemp (mode 0700) under /tmp. */
struct tmp {
	char dir[64];
	char path[128];		/* the suite's to use: a file in dir */
};

/* Make t->dir, named /tmp/TAG.XXXXXX (TAG: a few letters). */
void tmp_make(struct tmp *t, const char *tag);
/* Remove t->dir and everything below it (first making it writable
 * again, should a test have taken that away). */
void tmp_remove(const struct tmp *t);

/* The bytes of path, NUL-terminated (the NUL not counted in *len).  The
 * caller frees.  A missing file fails the test, saying what was read. */
char *read_whole(const char *path, size_t *len);

/* s (n bytes, at most CU_ESC_MAX shown) with \n, \r, \t, \\ and \xHH
 * escapes.  The result lives in one of three static buffers, so up to
 * three may be used in one assertion. */
const char *esc(const char *s, size_t n);

/* Run s (taking it) with CK_NORMAL output: EXIT_SUCCESS when no test
 * failed.  For main(). */
int run_suite(Suite *s);

#endif
