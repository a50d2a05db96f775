/* SPDX-License-Identifier: MIT */
/*
 * check_output.c - unit tests of the pipe-mode writer (src/output.h):
 * where and how our X-Spam-* headers are inserted, removal of forged
 * copies, Subject marking, odd messages (no final newline, empty, NUL
 * bytes in the body) and output_write_all on a pipe.
 *
 * Every test compares the whole output with the expected bytes.
 */
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "src/output.h"
#include "tests/check_util.h"

#define BIG_WRITE	(1024 * 1024)	/* bytes written to a pipe */
#define BIG_HEADER	(1100 * 1024)	/* a header block over 1 MB */
#define READ_CHUNK	4096		/* slow reader's read size */
#define MAX_ALARMS	200		/* timer signals sent to a writer */

#define REV	"X-Spam-Revision: spamsift " SPAMSIFT_VERSION
#define YES	"X-Spam-Flag: Yes"
#define PROB	"X-Spam-Probability: 0.987654"
#define OURS	REV "\n" YES "\n" PROB "\n"
#define OURS_CRLF REV "\r\n" YES "\r\n" PROB "\r\n"

/* Spam at 0.987654 with all three headers, prefix "Spam", no marking. */
static struct out_headers
hdrs(void)
{
	struct out_headers h;

	memset(&h, 0, sizeof(h));
	h.prefix = "Spam";
	h.flag = h.prob = h.rev = 1;
	h.verdict = VERDICT_SPAM;
	h.p = 0.987654;
	h.mark_subject = 0;
	h.subject_prefix = "[SPAM] ";
	return h;
}

/* output_build of msg (n bytes) must give want (wn bytes). */
static void
build_is_n(const char *msg, size_t n, const struct out_headers *h,
    const char *want, size_t wn)
{
	struct obuf ob = { NULL, 0, 0 };

	ck_assert_int_eq(output_build(msg, n, h, &ob), 0);
	ck_assert_msg(ob.len == wn && (wn == 0 || memcmp(ob.p, want, wn) == 0),
	    "input \"%s\"\n got \"%s\"\nwant \"%s\"", esc(msg, n),
	    esc(ob.p, ob.len), esc(want, wn));
	ob_release(&ob);
	ck_assert_ptr_null(ob.p);
	ck_assert_uint_eq(ob.len, 0);
	ck_assert_uint_eq(ob.cap, 0);
}

static void
build_is(const char *msg, const struct out_headers *h, const char *want)
{
	build_is_n(msg, strlen(msg), h, want, strlen(want));
}

/* ---- where and what we insert ---- */

START_TEST(test_insert_basic)
{
	struct out_headers h = hdrs();

	build_is("From: a@example.org\nSubject: hi\n\nbody\n", &h,
	    "From: a@example.org\nSubject: hi\n" OURS "\nbody\n");
	/* Folded last header: ours go after its continuation lines. */
	build_is("Subject: hi\nReceived: from x\n\tby y\n  id z\n\nbody\n\n",
	    &h, "Subject: hi\nReceived: from x\n\tby y\n  id z\n" OURS
	    "\nbody\n\n");
}
END_TEST

START_TEST(test_insert_verdicts)
{
	struct out_headers h = hdrs();

	h.verdict = VERDICT_CLEAN;
	h.p = 0;
	build_is("S: x\n\nb\n", &h, "S: x\n" REV "\nX-Spam-Flag: No\n"
	    "X-Spam-Probability: 0.000000\n\nb\n");
	h.verdict = VERDICT_UNSURE;
	h.p = 0.5;
	build_is("S: x\n\nb\n", &h, "S: x\n" REV "\nX-Spam-Flag: Unsure\n"
	    "X-Spam-Probability: 0.500000\n\nb\n");
	h.verdict = VERDICT_SPAM;
	h.p = 1;
	build_is("S: x\n\nb\n", &h, "S: x\n" REV "\nX-Spam-Flag: Yes\n"
	    "X-Spam-Probability: 1.000000\n\nb\n");
	/* %f: six decimals, rounded. */
	h.p = 0.1234567;
	build_is("S: x\n\nb\n", &h, "S: x\n" REV "\nX-Spam-Flag: Yes\n"
	    "X-Spam-Probability: 0.123457\n\nb\n");
	h.p = 0.0000004;
	build_is("S: x\n\nb\n", &h, "S: x\n" REV "\nX-Spam-Flag: Yes\n"
	    "X-Spam-Probability: 0.000000\n\nb\n");
}
END_TEST

START_TEST(test_insert_subsets)
{
	struct out_headers h = hdrs();

	h.rev = h.prob = 0;
	build_is("S: x\n\nb\n", &h, "S: x\n" YES "\n\nb\n");
	h.flag = 0;
	h.prob = 1;
	build_is("S: x\n\nb\n", &h, "S: x\n" PROB "\n\nb\n");
	h.prob = 0;
	h.rev = 1;
	build_is("S: x\n\nb\n", &h, "S: x\n" REV "\n\nb\n");
	/* Nothing asked: the message exactly as it came. */
	h.rev = 0;
	build_is("S: x\n\nb\n", &h, "S: x\n\nb\n");
	/* ... but forged copies of our headers still go. */
	build_is("S: x\nX-Spam-Flag: No\n\nb\n", &h, "S: x\n\nb\n");
}
END_TEST

START_TEST(test_insert_crlf)
{
	struct out_headers h = hdrs();

	build_is("From: a\r\nSubject: hi\r\n\r\nbody\r\nline 2\r\n", &h,
	    "From: a\r\nSubject: hi\r\n" OURS_CRLF "\r\nbody\r\nline 2\r\n");
	build_is("Received: x\r\n\ty\r\n\r\nb\n", &h,
	    "Received: x\r\n\ty\r\n" OURS_CRLF "\r\nb\n");
}
END_TEST

START_TEST(test_insert_mbox_from)
{
	struct out_headers h = hdrs();

	build_is("From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nb\n", &h,
	    "From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n" OURS "\nb\n");
	build_is("From a@b Mon Jan  1 00:00:00 2024\r\nSubject: x\r\n\r\nb\r\n",
	    &h, "From a@b Mon Jan  1 00:00:00 2024\r\nSubject: x\r\n"
	    OURS_CRLF "\r\nb\r\n");
	/* "From:" is an ordinary header, not an mbox line. */
	build_is("From: a@b\nSubject: x\n\nb\n", &h,
	    "From: a@b\nSubject: x\n" OURS "\nb\n");
	/* The From line alone, without a line end. */
	build_is("From a@b Mon Jan  1 00:00:00 2024", &h,
	    "From a@b Mon Jan  1 00:00:00 2024\n" OURS);
}
END_TEST

START_TEST(test_insert_prefix)
{
	struct out_headers h = hdrs();

	h.prefix = "Bsf";
	build_is("Subject: x\nX-Bsf-Flag: No\nX-Spam-Flag: No\n\nb\n", &h,
	    "Subject: x\nX-Spam-Flag: No\n"
	    "X-Bsf-Revision: spamsift " SPAMSIFT_VERSION "\n"
	    "X-Bsf-Flag: Yes\nX-Bsf-Probability: 0.987654\n\nb\n");
}
END_TEST

START_TEST(test_insert_appends)
{
	struct out_headers h = hdrs();
	struct obuf ob = { NULL, 0, 0 };
	static const char want[] = "S: 1\n" OURS "\nb\nS: 2\n" OURS "\nc\n";

	/* output_build appends to what the buffer holds. */
	ck_assert_int_eq(output_build("S: 1\n\nb\n", 8, &h, &ob), 0);
	ck_assert_int_eq(output_build("S: 2\n\nc\n", 8, &h, &ob), 0);
	ck_assert_msg(ob.len == sizeof(want) - 1 &&
	    memcmp(ob.p, want, ob.len) == 0, "got \"%s\"",
	    esc(ob.p, ob.len));
	ob_release(&ob);
	ob_release(&ob);	/* twice is harmless */
}
END_TEST

/* ---- forged copies of our headers ---- */

START_TEST(test_forged_removed)
{
	struct out_headers h = hdrs();

	build_is("X-Spam-Flag: No\nSubject: x\n\nb\n", &h,
	    "Subject: x\n" OURS "\nb\n");
	build_is("Subject: x\nx-spam-flag: NO\nX-SPAM-PROBABILITY: 0.01\n"
	    "X-Spam-revision: forged 1.0\nTo: y\n\nb\n", &h,
	    "Subject: x\nTo: y\n" OURS "\nb\n");
	/* Blanks before the colon. */
	build_is("Subject: x\nX-Spam-Flag : No\nX-Spam-Flag\t: No\n\nb\n", &h,
	    "Subject: x\n" OURS "\nb\n");
	/* Several copies, first and last. */
	build_is("X-Spam-Flag: No\nA: 1\nX-Spam-Flag: No\nB: 2\n"
	    "X-Spam-Flag: No\n\nb\n", &h, "A: 1\nB: 2\n" OURS "\nb\n");
}
END_TEST

START_TEST(test_forged_folded)
{
	struct out_headers h = hdrs();

	/* The whole field goes, continuation lines included. */
	build_is("Subject: x\nX-Spam-Flag: No\n\tstill the flag\n  and this\n"
	    "To: y\n\nb\n", &h, "Subject: x\nTo: y\n" OURS "\nb\n");
	build_is("Subject: x\r\nX-Spam-Flag:\r\n No\r\n\r\nb\r\n", &h,
	    "Subject: x\r\n" OURS_CRLF "\r\nb\r\n");
	build_is("Subject: x\nX-Spam-Probability: 0.0\n \n\t\nTo: y\n\nb\n", &h,
	    "Subject: x\nTo: y\n" OURS "\nb\n");
}
END_TEST

START_TEST(test_forged_lookalikes_kept)
{
	struct out_headers h = hdrs();

	/* Other names, or ours only in a value, stay. */
	build_is("X-Spam-Flagged: x\nX-Spam-Status: No\nX-Spam: Flag\n"
	    "X-Spam-Level: **\nSubject: X-Spam-Flag: No\n"
	    "Received: x\n X-Spam-Flag: No\n\nb\n", &h,
	    "X-Spam-Flagged: x\nX-Spam-Status: No\nX-Spam: Flag\n"
	    "X-Spam-Level: **\nSubject: X-Spam-Flag: No\n"
	    "Received: x\n X-Spam-Flag: No\n" OURS "\nb\n");
	/* The name and blanks but no colon: no such field. */
	build_is("X-Spam-Flag yes\nX-Spam-Flag \n\nb\n", &h,
	    "X-Spam-Flag yes\nX-Spam-Flag \n" OURS "\nb\n");
}
END_TEST

START_TEST(test_forged_last_unterminated)
{
	struct out_headers h = hdrs();

	/* A forged last header with no line end: gone, and no blank line
	 * may appear before ours (they would land in the body). */
	build_is("Subject: x\nX-Spam-Flag: No", &h, "Subject: x\n" OURS);
	build_is("Subject: x\r\nX-Spam-Flag: No\r\n more", &h,
	    "Subject: x\r\n" OURS_CRLF);
	build_is("X-Spam-Flag: No", &h, OURS);
}
END_TEST

START_TEST(test_forged_body_kept)
{
	struct out_headers h = hdrs();

	build_is("Subject: x\n\nX-Spam-Flag: Yes\nX-Spam-Flag: No\n", &h,
	    "Subject: x\n" OURS "\nX-Spam-Flag: Yes\nX-Spam-Flag: No\n");
	build_is("Subject: x\r\n\r\nX-Spam-Flag: Yes\r\n", &h,
	    "Subject: x\r\n" OURS_CRLF "\r\nX-Spam-Flag: Yes\r\n");
}
END_TEST

/* ---- Subject marking ---- */

START_TEST(test_subject_plain)
{
	struct out_headers h = hdrs();

	h.mark_subject = 1;
	build_is("From: a\nSubject: hello\n\nb\n", &h,
	    "From: a\nSubject: [SPAM] hello\n" OURS "\nb\n");
	build_is("subject: hello\n\nb\n", &h,
	    "subject: [SPAM] hello\n" OURS "\nb\n");
	build_is("Subject:hello\n\nb\n", &h,
	    "Subject: [SPAM] hello\n" OURS "\nb\n");
	build_is("Subject: \thello\n\nb\n", &h,
	    "Subject: \t[SPAM] hello\n" OURS "\nb\n");
	/* An empty value: the prefix without its trailing blank. */
	build_is("Subject:\n\nb\n", &h, "Subject: [SPAM]\n" OURS "\nb\n");
	build_is("Subject: \n\nb\n", &h, "Subject: [SPAM]\n" OURS "\nb\n");
	build_is("Subject: hello\r\n\r\nb\r\n", &h,
	    "Subject: [SPAM] hello\r\n" OURS_CRLF "\r\nb\r\n");
	/* Only the first Subject. */
	build_is("Subject: one\nSubject: two\n\nb\n", &h,
	    "Subject: [SPAM] one\nSubject: two\n" OURS "\nb\n");
	/* Another prefix. */
	h.subject_prefix = "***SPAM*** ";
	build_is("Subject: hello\n\nb\n", &h,
	    "Subject: ***SPAM*** hello\n" OURS "\nb\n");
}
END_TEST

START_TEST(test_subject_only_spam)
{
	struct out_headers h = hdrs();

	h.mark_subject = 1;
	h.verdict = VERDICT_CLEAN;
	h.flag = h.prob = h.rev = 0;
	build_is("Subject: hello\n\nb\n", &h, "Subject: hello\n\nb\n");
	build_is("To: x\n\nb\n", &h, "To: x\n\nb\n");
	h.verdict = VERDICT_UNSURE;
	build_is("Subject: hello\n\nb\n", &h, "Subject: hello\n\nb\n");
	h.verdict = VERDICT_SPAM;
	h.mark_subject = 0;
	build_is("Subject: hello\n\nb\n", &h, "Subject: hello\n\nb\n");
}
END_TEST

START_TEST(test_subject_encoded_folded)
{
	struct out_headers h = hdrs();

	h.mark_subject = 1;
	build_is("Subject: =?UTF-8?B?5pel5pys6Kqe?=\n\nb\n", &h,
	    "Subject: [SPAM] =?UTF-8?B?5pel5pys6Kqe?=\n" OURS "\nb\n");
	build_is("Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\n"
	    " =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\n\nb\n", &h,
	    "Subject: [SPAM] =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\n"
	    " =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\n" OURS "\nb\n");
	build_is("Subject: part one\n\tpart two\nTo: y\n\nb\n", &h,
	    "Subject: [SPAM] part one\n\tpart two\nTo: y\n" OURS "\nb\n");
	/* Folded right after the colon: no blank before the fold, so that
	 * unfolding gives "[SPAM] folded". */
	build_is("Subject:\n folded\n\nb\n", &h,
	    "Subject: [SPAM]\n folded\n" OURS "\nb\n");
	build_is("Subject: \r\n folded\r\n\r\nb\r\n", &h,
	    "Subject: [SPAM]\r\n folded\r\n" OURS_CRLF "\r\nb\r\n");
	/* A prefix that ends in no blank: an encoded word still stands
	 * apart (RFC 2047 5); plain text follows it straight. */
	h.subject_prefix = "[SPAM]";
	build_is("Subject: =?UTF-8?B?5pel5pys6Kqe?=\n\nb\n", &h,
	    "Subject: [SPAM] =?UTF-8?B?5pel5pys6Kqe?=\n" OURS "\nb\n");
	build_is("Subject: hello\n\nb\n", &h,
	    "Subject: [SPAM]hello\n" OURS "\nb\n");
	/* ... and it is seen as marked the next time. */
	build_is("Subject: [SPAM] =?UTF-8?B?5pel5pys6Kqe?=\n\nb\n", &h,
	    "Subject: [SPAM] =?UTF-8?B?5pel5pys6Kqe?=\n" OURS "\nb\n");
}
END_TEST

/* "Subject :" (blanks before the colon) is the Subject: marked, not
 * added a second time. */
START_TEST(test_subject_blank_before_colon)
{
	struct out_headers h = hdrs();

	h.mark_subject = 1;
	build_is("SUBJECT : hello\n\nb\n", &h,
	    "SUBJECT : [SPAM] hello\n" OURS "\nb\n");
	build_is("Subject\t:\n\nb\n", &h, "Subject\t: [SPAM]\n" OURS "\nb\n");
	/* A line with no colon is no Subject field. */
	build_is("Subjectless: x\n\nb\n", &h,
	    "Subjectless: x\nSubject: [SPAM] \n" OURS "\nb\n");
}
END_TEST

START_TEST(test_subject_already_marked)
{
	struct out_headers h = hdrs();

	h.mark_subject = 1;
	build_is("Subject: [SPAM] hello\n\nb\n", &h,
	    "Subject: [SPAM] hello\n" OURS "\nb\n");
	build_is("Subject:   [SPAM] hello\n\nb\n", &h,
	    "Subject:   [SPAM] hello\n" OURS "\nb\n");
	build_is("Subject: [SPAM] \n\nb\n", &h,
	    "Subject: [SPAM] \n" OURS "\nb\n");
	/* Marked by us before, on a folded or empty Subject. */
	build_is("Subject: [SPAM]\n folded\n\nb\n", &h,
	    "Subject: [SPAM]\n folded\n" OURS "\nb\n");
	build_is("Subject: [SPAM]\r\n folded\r\n\r\nb\r\n", &h,
	    "Subject: [SPAM]\r\n folded\r\n" OURS_CRLF "\r\nb\r\n");
	build_is("Subject: [SPAM]\n\nb\n", &h,
	    "Subject: [SPAM]\n" OURS "\nb\n");
	build_is("Subject:\n [SPAM] folded\n\nb\n", &h,
	    "Subject:\n [SPAM] folded\n" OURS "\nb\n");
	/* Already marked: the field stays exactly as it came. */
	build_is("Subject:[SPAM] x\n\nb\n", &h,
	    "Subject:[SPAM] x\n" OURS "\nb\n");
	build_is("Subject: [SPAM]", &h, OURS "Subject: [SPAM]");
	/* Only the prefix itself counts. */
	build_is("Subject: [SPAM]x\n\nb\n", &h,
	    "Subject: [SPAM] [SPAM]x\n" OURS "\nb\n");
	build_is("Subject: [spam] x\n\nb\n", &h,
	    "Subject: [SPAM] [spam] x\n" OURS "\nb\n");
}
END_TEST

START_TEST(test_subject_missing)
{
	struct out_headers h = hdrs();

	h.mark_subject = 1;
	build_is("From: a\n\nSubject: in the body\n", &h,
	    "From: a\nSubject: [SPAM] \n" OURS "\nSubject: in the body\n");
	build_is("From: a\r\n\r\nb\r\n", &h,
	    "From: a\r\nSubject: [SPAM] \r\n" OURS_CRLF "\r\nb\r\n");
	/* "Subject" in another header's name is no Subject. */
	build_is("X-Subject: a\nSubjects: b\n\nb\n", &h,
	    "X-Subject: a\nSubjects: b\nSubject: [SPAM] \n" OURS "\nb\n");
}
END_TEST

/* ---- filtering our own output again changes nothing ---- */

START_TEST(test_refilter_same)
{
	static const char *const msgs[] = {
		"From: a\nSubject: hello\n\nbody\n",
		"Subject: hello\r\nTo: b\r\n\r\nbody\r\n",
		"Subject:\n folded\n\nb\n",
		"Subject: \r\n folded\r\n\r\nb\r\n",
		"Subject:\n\nb\n",
		"To: nobody\n\nb\n",
		"From a@b Mon Jan  1 00:00:00 2024\nSubject: =?UTF-8?B?5pel?=\n"
		    "\nb\n",
		"X-Spam-Flag: Yes\n\tforged\nSubject: x\n\nX-Spam-Flag: No\n",
		"Subject: x\nTo: y",
		"Subject: x",
		"",
		NULL
	};
	struct out_headers h = hdrs();
	struct obuf a = { NULL, 0, 0 }, b = { NULL, 0, 0 };
	size_t i;

	h.mark_subject = 1;
	for (i = 0; msgs[i] != NULL; i++) {
		a.len = b.len = 0;
		ck_assert_int_eq(output_build(msgs[i], strlen(msgs[i]), &h,
		    &a), 0);
		ck_assert_int_eq(output_build(a.p, a.len, &h, &b), 0);
		ck_assert_msg(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
		    "input \"%s\"\nonce  \"%s\"\ntwice \"%s\"",
		    esc(msgs[i], strlen(msgs[i])), esc(a.p, a.len),
		    esc(b.p, b.len));
	}
	ob_release(&a);
	ob_release(&b);
}
END_TEST

/* ---- odd messages ---- */

START_TEST(test_header_only)
{
	struct out_headers h = hdrs();

	/* All header, no final line end: ours go before the last field,
	 * so that the message still ends with the same bytes. */
	build_is("Subject: x", &h, OURS "Subject: x");
	build_is("Subject: x\nTo: y", &h, "Subject: x\n" OURS "To: y");
	build_is("Subject: x\r\nTo: y", &h, "Subject: x\r\n" OURS_CRLF
	    "To: y");
	build_is("Subject: x\n folded", &h, OURS "Subject: x\n folded");
	build_is("From a\nSubject: x", &h, "From a\n" OURS "Subject: x");
	/* With its line end: ours at the end. */
	build_is("Subject: x\n", &h, "Subject: x\n" OURS);
	build_is("Subject: x\r\n", &h, "Subject: x\r\n" OURS_CRLF);
	h.mark_subject = 1;
	build_is("Subject: x", &h, OURS "Subject: [SPAM] x");
	build_is("To: y", &h, "Subject: [SPAM] \n" OURS "To: y");
	h.mark_subject = 0;
	h.flag = h.prob = h.rev = 0;
	build_is("Subject: x\nTo: y", &h, "Subject: x\nTo: y");
}
END_TEST

START_TEST(test_empty_input)
{
	struct out_headers h = hdrs();

	build_is("", &h, OURS);
	h.flag = h.prob = h.rev = 0;
	build_is_n("", 0, &h, "", 0);
	/* No header block at all: ours, then the body as it came. */
	h = hdrs();
	build_is("\nbody\n", &h, OURS "\nbody\n");
	build_is("\r\nbody\r\n", &h, OURS_CRLF "\r\nbody\r\n");
}
END_TEST

START_TEST(test_body_untouched)
{
	struct out_headers h = hdrs();
	static const char msg[] = "Subject: x\n\n\0a\0\r\nX-Spam-Flag: Yes\n"
	    "Subject: y\n\n\nFrom z\n\xff\xfe\0";
	static const char want[] = "Subject: [SPAM] x\n" OURS "\n\0a\0\r\n"
	    "X-Spam-Flag: Yes\nSubject: y\n\n\nFrom z\n\xff\xfe\0";

	h.mark_subject = 1;
	build_is_n(msg, sizeof(msg) - 1, &h, want, sizeof(want) - 1);
}
END_TEST

START_TEST(test_big_header_block)
{
	struct out_headers h = hdrs();
	struct obuf ob = { NULL, 0, 0 };
	char *msg, *ins;
	size_t n = 0, at;

	/* A header block of over a megabyte: a forged field at its end is
	 * removed all the same, and ours go before the blank line. */
	msg = malloc(BIG_HEADER + 64);
	ck_assert_ptr_nonnull(msg);
	while (n + 20 < BIG_HEADER)
		n += (size_t)sprintf(msg + n, "X-Pad: %011zu\n", n);
	at = n;
	n += (size_t)sprintf(msg + n, "X-Spam-Flag: No\n\nbody\n");
	ck_assert_int_eq(output_build(msg, n, &h, &ob), 0);
	ck_assert_uint_eq(ob.len, n - strlen("X-Spam-Flag: No\n") +
	    strlen(OURS));
	ins = memmem(ob.p, ob.len, OURS, strlen(OURS));
	ck_assert_ptr_nonnull(ins);
	ck_assert_uint_eq((size_t)(ins - ob.p), at);
	ck_assert_int_eq(memcmp(ob.p, msg, at), 0);
	ck_assert_uint_eq(ob.len - at - strlen(OURS), 6);
	ck_assert_int_eq(memcmp(ins + strlen(OURS), "\nbody\n", 6), 0);
	ob_release(&ob);
	free(msg);
}
END_TEST

/* head_is: output_build_head of the first n bytes of msg, cut or not,
 * gives want (wn bytes) and *rest = wrest. */
static void
head_is(const char *msg, size_t n, int cut, const char *want, size_t wrest)
{
	struct out_headers h = hdrs();
	struct obuf ob = { NULL, 0, 0 };
	size_t rest = 7777;

	ck_assert_int_eq(output_build_head(msg, n, cut, &h, &ob, &rest), 0);
	ck_assert_msg(ob.len == strlen(want) && memcmp(ob.p, want,
	    ob.len) == 0, "input \"%s\" cut %d\n got \"%s\"\nwant \"%s\"",
	    esc(msg, n), cut, esc(ob.p, ob.len), esc(want, strlen(want)));
	ck_assert_uint_eq(rest, wrest);
	ob_release(&ob);
}

/* Only the start of a message (pipe mode's read, the rest streamed):
 * a header that ends inside it is handled as a whole one; one that goes
 * on past it gets ours first (after a From line), and nothing of it is
 * removed, however it ends: a folded field goes on past the cut, a
 * forged field may be cut in two (found by review: ours went in the
 * middle of a folded field, and half a forged field was removed). */
START_TEST(test_cut_header)
{
	const char *fold = "Received: from x\n\tby y\n";
	const char *forged = "Subject: s\nX-Spam-Flag: No\n";
	const char *from = "From a@b Sat Jan  3 01:05:34 1996\nSubject: s\n";

	/* Cut after "from x\n": the fold is past it. */
	head_is(fold, 17, 1, OURS, 0);
	head_is(fold, 17, 0, "Received: from x\n" OURS, 17);
	/* Cut inside the forged field: kept whole. */
	head_is(forged, 25, 1, OURS, 0);
	head_is(forged, strlen(forged), 1, OURS, 0);
	/* After a From line (kept first); and one cut in its own line. */
	head_is(from, strlen(from), 1,
	    "From a@b Sat Jan  3 01:05:34 1996\n" OURS, 34);
	head_is(from, 20, 1, "From a@b Sat Jan  3 ", 20);
	/* CRLF: ours in its style. */
	head_is("Subject: s\r\nX-A: 1\r\n", 20, 1, OURS_CRLF, 0);
	/* The header's end within the read: as a whole message, the forged
	 * field removed and ours before the blank line. */
	head_is("Subject: s\nX-Spam-Flag: No\n\nbo", 30, 1,
	    "Subject: s\n" OURS, 27);
	head_is("Subject: s\r\n\r\nbo", 16, 1, "Subject: s\r\n" OURS_CRLF,
	    12);
	head_is("\nbody", 5, 1, OURS, 0);
}
END_TEST

/* ---- output_write_all ---- */

START_TEST(test_write_pipe)
{
	static const char data[] = "Subject: x\r\n\r\n\0body";
	char got[64];
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(output_write_all(p[1], data, sizeof(data) - 1), 0);
	ck_assert_int_eq(output_write_all(p[1], data, 0), 0);
	close(p[1]);
	ck_assert_int_eq(read(p[0], got, sizeof(got)),
	    (ssize_t)sizeof(data) - 1);
	ck_assert_int_eq(memcmp(got, data, sizeof(data) - 1), 0);
	ck_assert_int_eq(read(p[0], got, sizeof(got)), 0);
	close(p[0]);
}
END_TEST

/* A non-blocking output that is full is waited on, not a failure: 1 MB
 * into a pipe (64 KB) a child drains after a pause. */
START_TEST(test_write_nonblocking)
{
	enum { N = 1024 * 1024 };
	char *data, got[65536];
	size_t total = 0;
	ssize_t r;
	int p[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[1]);
		usleep(200 * 1000);
		while ((r = read(p[0], got, sizeof(got))) > 0)
			total += (size_t)r;
		_exit(total == N ? 0 : 1);
	}
	/* Made after the fork: the reader holds none of it. */
	data = malloc(N);
	ck_assert_ptr_nonnull(data);
	memset(data, 'x', N);
	close(p[0]);
	ck_assert_int_eq(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(output_write_all(p[1], data, N), 0);
	close(p[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(data);
}
END_TEST

static volatile sig_atomic_t alarms;

/* Count the interruptions; past MAX_ALARMS ignore the timer, so that a
 * slow writer (valgrind) cannot be kept from ever finishing a write. */
static void
on_alarm(int sig)
{
	struct sigaction sa;

	if (++alarms < MAX_ALARMS)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGALRM, &sa, NULL);
}

/* Fork a child that writes data to fd with output_write_all while a
 * timer interrupts it every millisecond (no SA_RESTART, at most
 * MAX_ALARMS times), so that write(2) comes back short or with EINTR. */
static pid_t
interrupted_writer(int fd, int other, const char *data, size_t len)
{
	struct sigaction sa;
	struct itimerval it;
	pid_t pid;
	int rc;

	pid = fork();
	if (pid != 0)
		return pid;
	close(other);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGALRM, &sa, NULL);
	memset(&it, 0, sizeof(it));
	it.it_interval.tv_usec = 1000;
	it.it_value.tv_usec = 1000;
	setitimer(ITIMER_REAL, &it, NULL);
	rc = output_write_all(fd, data, len);
	_exit(rc == 0 ? 0 : 1);
}

START_TEST(test_write_pipe_big)
{
	char *data, *got;
	size_t i, n = 0, reads = 0;
	ssize_t r;
	int p[2], status;
	pid_t pid;

	/* More than a pipe holds, read slowly while signals interrupt the
	 * writer: it must go on after short writes and EINTR. */
	data = malloc(BIG_WRITE);
	got = malloc(BIG_WRITE + 1);
	ck_assert(data != NULL && got != NULL);
	for (i = 0; i < BIG_WRITE; i++)
		data[i] = (char)(i * 13 % 253);
	ck_assert_int_eq(pipe(p), 0);
	pid = interrupted_writer(p[1], p[0], data, BIG_WRITE);
	ck_assert_int_ge(pid, 0);
	close(p[1]);
	for (;;) {
		if (reads++ % 16 == 0)
			usleep(2000);
		r = read(p[0], got + n, BIG_WRITE + 1 - n < READ_CHUNK ?
		    BIG_WRITE + 1 - n : READ_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(r, 0);
		if (r == 0 || n + (size_t)r > BIG_WRITE)
			break;
		n += (size_t)r;
	}
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_eq(n, BIG_WRITE);
	ck_assert_int_eq(memcmp(got, data, BIG_WRITE), 0);
	free(data);
	free(got);
}
END_TEST

START_TEST(test_write_errors)
{
	int p[2];

	errno = 0;
	ck_assert_int_eq(output_write_all(-1, "x", 1), -1);
	ck_assert_int_eq(errno, EBADF);
	/* A reader that went away: EPIPE (SIGPIPE ignored here). */
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	errno = 0;
	ck_assert_int_eq(output_write_all(p[1], "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
	signal(SIGPIPE, SIG_DFL);
}
END_TEST

static Suite *
output_suite(void)
{
	Suite *s = suite_create("output");
	TCase *tc;

	tc = tcase_create("insert");
	tcase_add_test(tc, test_insert_basic);
	tcase_add_test(tc, test_insert_verdicts);
	tcase_add_test(tc, test_insert_subsets);
	tcase_add_test(tc, test_insert_crlf);
	tcase_add_test(tc, test_insert_mbox_from);
	tcase_add_test(tc, test_insert_prefix);
	tcase_add_test(tc, test_insert_appends);
	suite_add_tcase(s, tc);

	tc = tcase_create("forged");
	tcase_add_test(tc, test_forged_removed);
	tcase_add_test(tc, test_forged_folded);
	tcase_add_test(tc, test_forged_lookalikes_kept);
	tcase_add_test(tc, test_forged_last_unterminated);
	tcase_add_test(tc, test_forged_body_kept);
	suite_add_tcase(s, tc);

	tc = tcase_create("subject");
	tcase_add_test(tc, test_subject_plain);
	tcase_add_test(tc, test_subject_only_spam);
	tcase_add_test(tc, test_subject_encoded_folded);
	tcase_add_test(tc, test_subject_blank_before_colon);
	tcase_add_test(tc, test_subject_already_marked);
	tcase_add_test(tc, test_subject_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("refilter");
	tcase_add_test(tc, test_refilter_same);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tcase_set_timeout(tc, 60);	/* big buffers under valgrind */
	tcase_add_test(tc, test_header_only);
	tcase_add_test(tc, test_empty_input);
	tcase_add_test(tc, test_body_untouched);
	tcase_add_test(tc, test_big_header_block);
	tcase_add_test(tc, test_cut_header);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_set_timeout(tc, 60);	/* big buffers under valgrind */
	tcase_add_test(tc, test_write_pipe);
	tcase_add_test(tc, test_write_nonblocking);
	tcase_add_test(tc, test_write_pipe_big);
	tcase_add_test(tc, test_write_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(output_suite());
}
