/* SPDX-License-Identifier: MIT */
/*
 * check_util.c - the helpers shared by the Check suites (check_util.h).
 */
#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check_util.h"

void
tmp_make(struct tmp *t, const char *tag)
{
	int n = snprintf(t->dir, sizeof(t->dir), "/tmp/%s.XXXXXX", tag);

	ck_assert(n > 0 && (size_t)n < sizeof(t->dir));
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	t->path[0] = '\0';
}

static int
rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	remove(p);
	return 0;
}

void
tmp_remove(const struct tmp *t)
{
	chmod(t->dir, 0700);
	nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s (run from the source "
	    "tree's top)", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

const char *
esc(const char *s, size_t n)
{
	static char bufs[3][CU_ESC_MAX * 4 + 8];
	static int which;
	char *b = bufs[which = (which + 1) % 3];
	size_t i, k = 0;

	for (i = 0; i < n && i < CU_ESC_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			k += (size_t)sprintf(b + k, "\\n");
		else if (c == '\r')
			k += (size_t)sprintf(b + k, "\\r");
		else if (c == '\t')
			k += (size_t)sprintf(b + k, "\\t");
		else if (c < 0x20 || c >= 0x7f || c == '\\')
			k += (size_t)sprintf(b + k, "\\x%02x", c);
		else
			b[k++] = (char)c;
	}
	b[k] = '\0';
	return b;
}

int
run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
