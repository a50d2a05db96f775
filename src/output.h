/* SPDX-License-Identifier: MIT */
/*
 * output.h - pipe mode: the message as it came, byte for byte, with only
 * our headers added (and an incoming copy of them removed), and the
 * Subject of spam marked when asked.
 */
#ifndef SPAMSIFT_OUTPUT_H
#define SPAMSIFT_OUTPUT_H

#include <stddef.h>

enum verdict { VERDICT_CLEAN = 0, VERDICT_SPAM, VERDICT_UNSURE };

struct out_headers {
	const char *prefix;	/* "Spam": X-Spam-Flag ... ; no ':' CR LF */
	int flag, prob, rev;	/* which headers to insert */
	enum verdict verdict;
	double p;		/* the score, printed %f */
	int mark_subject;	/* prefix the Subject of spam */
	const char *subject_prefix; /* "[SPAM] "; no CR LF */
};

/* A growable output buffer; ob_release frees. */
struct obuf {
	char *p;
	size_t len, cap;
};
void ob_release(struct obuf *b);

/* Build the output for msg into out (appended).  Our headers go at the
 * end of the header block, in the message's own line-end style; headers
 * of the same names already present are removed.  Returns 0 or -1 (out of
 * memory; out is then unchanged in length). */
int output_build(const char *msg, size_t len, const struct out_headers *h,
    struct obuf *out);

/* The same, without the body: out gets everything up to and including
 * our headers, and *rest is where the rest of msg (to be written as it
 * is) starts.  Pipe mode writes that straight from the input, so a 50 MB
 * message is not copied.  cut: msg is only the message's first len bytes
 * (the rest follows as it is); when its header does not end within them,
 * our headers go first (after a From line), and nothing of the message
 * is removed or marked: a field cut in two, or a line that goes on past
 * len, cannot be told.  Returns 0 or -1 as output_build. */
int output_build_head(const char *msg, size_t len, int cut,
    const struct out_headers *h, struct obuf *out, size_t *rest);

/* write(2) all of buf to fd, retrying on EINTR.  Returns 0 or -1 with
 * errno. */
int output_write_all(int fd, const char *buf, size_t len);

#endif
