/* SPDX-License-Identifier: MIT */
/*
 * output.c - the pipe-mode writer.
 *
 * Walks the header block once (bounded by OUT_MAX_HEADER_BYTES), copying
 * every byte except whole header fields named like ours, then writes our
 * fields before the blank line.  The body is copied untouched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "src/output.h"

#define OUT_MAX_HEADER_BYTES (1024 * 1024)	/* header block examined */

void
ob_release(struct obuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static int
ob_add(struct obuf *b, const char *s, size_t n)
{
	size_t ncap;
	char *np;

	if (b->len + n > b->cap) {
		ncap = b->cap ? b->cap : 4096;
		while (ncap < b->len + n)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (np == NULL)
			return -1;
		b->p = np;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/* Is the field at s (n bytes, "Name: ...") one of ours? */
static int
ours(const char *s, size_t n, const struct out_headers *h)
{
	static const char *const names[] = { "Flag", "Probability",
		"Revision" };
	char want[96];
	size_t i, k;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		k = (size_t)snprintf(want, sizeof(want), "X-%s-%s:", h->prefix,
		    names[i]);
		if (k < sizeof(want) && n >= k && strncasecmp(s, want, k) == 0)
			return 1;
		/* "Name :" with blanks before the colon counts too. */
		if (k < sizeof(want) && n > k && strncasecmp(s, want,
		    k - 1) == 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
			return 1;
	}
	return 0;
}

/* Length of the header field starting at i: its line and continuation
 * lines.  Sets *eol to the length of its last line end. */
static size_t
field_len(const char *m, size_t len, size_t i)
{
	size_t j = i;
	const char *nl;

	for (;;) {
		nl = memchr(m + j, '\n', len - j);
		if (nl == NULL)
			return len - i;
		j = (size_t)(nl - m) + 1;
		if (j >= len || (m[j] != ' ' && m[j] != '\t'))
			return j - i;
	}
}

static int
add_field(struct obuf *o, const char *eol, const char *fmt1,
    const char *prefix, const char *value)
{
	char line[256];
	int k;

	k = snprintf(line, sizeof(line), fmt1, prefix, value);
	if (k < 0 || (size_t)k >= sizeof(line))
		return -1;
	if (ob_add(o, line, (size_t)k) != 0)
		return -1;
	return ob_add(o, eol, strlen(eol));
}

int
output_build(const char *m, size_t len, const struct out_headers *h,
    struct obuf *out)
{
	size_t i = 0, n, mark = out->len, hend;
	const char *eol = "\n", *nl;
	char prob[32];
	int subject_done = 0, rc = -1;
	int spam = h->verdict == VERDICT_SPAM;
	size_t plen = h->subject_prefix != NULL ? strlen(h->subject_prefix) :
	    0;

	nl = memchr(m, '\n', len);
	if (nl != NULL && nl > m && nl[-1] == '\r')
		eol = "\r\n";
	/* An mbox "From " line stays first, as it came. */
	if (len >= 5 && memcmp(m, "From ", 5) == 0) {
		n = nl == NULL ? len : (size_t)(nl - m) + 1;
		if (ob_add(out, m, n) != 0)
			goto out;
		i = n;
	}
	while (i < len && i < OUT_MAX_HEADER_BYTES) {
		/* The blank line (or a line that is no header) ends it. */
		if (m[i] == '\n' || (m[i] == '\r' && i + 1 < len &&
		    m[i + 1] == '\n'))
			break;
		n = field_len(m, len, i);
		if (ours(m + i, n, h)) {
			i += n;
			continue;
		}
		if (spam && h->mark_subject && !subject_done && n >= 8 &&
		    strncasecmp(m + i, "Subject:", 8) == 0) {
			size_t v = i + 8;

			subject_done = 1;
			while (v < i + n && (m[v] == ' ' || m[v] == '\t'))
				v++;
			if (ob_add(out, m + i, v - i) != 0)
				goto out;
			if (v == i + 8 && ob_add(out, " ", 1) != 0)
				goto out;
			if (!(i + n - v >= plen && memcmp(m + v,
			    h->subject_prefix, plen) == 0) &&
			    ob_add(out, h->subject_prefix, plen) != 0)
				goto out;
			if (ob_add(out, m + v, i + n - v) != 0)
				goto out;
			i += n;
			continue;
		}
		if (ob_add(out, m + i, n) != 0)
			goto out;
		i += n;
	}
	hend = i;
	/* A header block cut short (no final line end): end its line. */
	if (hend > 0 && hend == len && m[hend - 1] != '\n' &&
	    ob_add(out, eol, strlen(eol)) != 0)
		goto out;
	if (spam && h->mark_subject && !subject_done &&
	    add_field(out, eol, "Subject: %s%s", "", h->subject_prefix) != 0)
		goto out;
	if (h->rev && add_field(out, eol, "X-%s-Revision: %s", h->prefix,
	    "spamsift " SPAMSIFT_VERSION) != 0)
		goto out;
	if (h->flag && add_field(out, eol, "X-%s-Flag: %s", h->prefix,
	    spam ? "Yes" : (h->verdict == VERDICT_UNSURE ? "Unsure" :
	    "No")) != 0)
		goto out;
	snprintf(prob, sizeof(prob), "%f", h->p);
	if (h->prob && add_field(out, eol, "X-%s-Probability: %s", h->prefix,
	    prob) != 0)
		goto out;
	if (ob_add(out, m + hend, len - hend) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		out->len = mark;
	return rc;
}

int
output_write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}
