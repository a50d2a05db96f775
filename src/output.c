/* SPDX-License-Identifier: MIT */
/*
 * output.c - the pipe-mode writer.
 *
 * Walks the header block once, however long (bounded by the message,
 * of which pipe mode reads at most PIPE_MAX_BYTES), copying every byte
 * except whole header fields named like ours, then writes our fields
 * before the blank line.  A header cut short would let a forged field
 * after the cut through, and put ours in the middle.  The body is copied
 * untouched.  A message that is all header and lacks its final line end
 * gets our fields before its last field, so that no byte of it changes.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "src/output.h"

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

/* Is the field at s (n bytes) named name (any case)?  Where its value
 * starts (past the colon), or 0.  "Name :" with blanks before the colon
 * counts too; a line without the colon is no such field. */
static size_t
field_is(const char *s, size_t n, const char *name)
{
	size_t k = strlen(name), j;

	if (n <= k || strncasecmp(s, name, k) != 0)
		return 0;
	for (j = k; j < n && (s[j] == ' ' || s[j] == '\t'); j++)
		;
	return j < n && s[j] == ':' ? j + 1 : 0;
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
		k = (size_t)snprintf(want, sizeof(want), "X-%s-%s", h->prefix,
		    names[i]);
		if (k < sizeof(want) && field_is(s, n, want) > 0)
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

/* Our fields, in order, into o. */
static int
our_fields(struct obuf *o, const char *eol, const struct out_headers *h,
    int add_subject)
{
	char prob[32];
	int spam = h->verdict == VERDICT_SPAM;

	if (add_subject && add_field(o, eol, "Subject: %s%s", "",
	    h->subject_prefix) != 0)
		return -1;
	if (h->rev && add_field(o, eol, "X-%s-Revision: %s", h->prefix,
	    "spamsift " SPAMSIFT_VERSION) != 0)
		return -1;
	if (h->flag && add_field(o, eol, "X-%s-Flag: %s", h->prefix,
	    spam ? "Yes" : (h->verdict == VERDICT_UNSURE ? "Unsure" :
	    "No")) != 0)
		return -1;
	snprintf(prob, sizeof(prob), "%f", h->p);
	if (h->prob && add_field(o, eol, "X-%s-Probability: %s", h->prefix,
	    prob) != 0)
		return -1;
	return 0;
}

/* Does the Subject value at m + v (field of n bytes) start with pfx
 * already?  Blanks and line ends before it (a fold) are skipped, and pfx
 * without its trailing blanks counts when a line end or the end of the
 * field follows: our own mark on an empty or folded value. */
static int
marked(const char *m, size_t n, size_t v, const char *pfx, size_t plen)
{
	size_t t = plen;

	while (v < n && (m[v] == ' ' || m[v] == '\t' || m[v] == '\r' ||
	    m[v] == '\n'))
		v++;
	if (n - v >= plen && memcmp(m + v, pfx, plen) == 0)
		return 1;
	while (t > 0 && (pfx[t - 1] == ' ' || pfx[t - 1] == '\t'))
		t--;
	return t < plen && n - v >= t && memcmp(m + v, pfx, t) == 0 &&
	    (v + t == n || m[v + t] == '\r' || m[v + t] == '\n');
}

/* Copy the Subject field at m (n bytes; its value starts at colon, past
 * the colon) with the prefix put before its value, unless the value
 * already starts with it.  A value that starts on a continuation line
 * gets the prefix without its trailing blanks, so that unfolding gives
 * one blank; an RFC 2047 encoded word right after a prefix that ends in
 * none gets one (RFC 2047 5: an encoded word stands apart). */
static int
mark_subject(struct obuf *out, const char *m, size_t n, size_t colon,
    const char *pfx, size_t plen)
{
	size_t v = colon;

	while (v < n && (m[v] == ' ' || m[v] == '\t'))
		v++;
	if (marked(m, n, v, pfx, plen))
		return ob_add(out, m, n);	/* as it came */
	if (ob_add(out, m, v) != 0)
		return -1;
	if (v == colon && ob_add(out, " ", 1) != 0)
		return -1;
	if (v < n && (m[v] == '\r' || m[v] == '\n'))
		while (plen > 0 && (pfx[plen - 1] == ' ' ||
		    pfx[plen - 1] == '\t'))
			plen--;
	if (ob_add(out, pfx, plen) != 0)
		return -1;
	if (plen > 0 && pfx[plen - 1] != ' ' && pfx[plen - 1] != '\t' &&
	    n - v >= 2 && m[v] == '=' && m[v + 1] == '?' &&
	    ob_add(out, " ", 1) != 0)
		return -1;
	return ob_add(out, m + v, n - v);
}

/* Whether the header starting at line start i of m ends (a blank line)
 * within len bytes. */
static int
header_ends(const char *m, size_t len, size_t i)
{
	if (i < len && (m[i] == '\n' || (m[i] == '\r' && i + 1 < len &&
	    m[i + 1] == '\n')))
		return 1;
	return memmem(m + i, len - i, "\n\n", 2) != NULL ||
	    memmem(m + i, len - i, "\n\r\n", 3) != NULL;
}

int
output_build_head(const char *m, size_t len, int cut,
    const struct out_headers *h, struct obuf *out, size_t *rest)
{
	size_t i = 0, n, mark = out->len, hend, last = (size_t)-1, tail;
	size_t colon;
	const char *eol = "\n", *nl, *hl;
	struct obuf add = { 0 };
	int subject_done = 0, rc = -1;
	int spam = h->verdict == VERDICT_SPAM;
	int marking = spam && h->mark_subject && h->subject_prefix != NULL;

	nl = memchr(m, '\n', len);
	/* An mbox "From " line stays first, as it came. */
	if (len >= 5 && memcmp(m, "From ", 5) == 0) {
		n = nl == NULL ? len : (size_t)(nl - m) + 1;
		if (ob_add(out, m, n) != 0)
			goto out;
		i = n;
	}
	/* Our lines end like the first header line (procmail writes its
	 * "From " line with LF before a CRLF message). */
	hl = i < len ? memchr(m + i, '\n', len - i) : NULL;
	if (hl == NULL)
		hl = nl;
	if (hl != NULL && hl > m && hl[-1] == '\r')
		eol = "\r\n";
	if (cut && !header_ends(m, len, i)) {
		/* Only the start of a header longer than the read: ours
		 * first, the message after them untouched (a From line
		 * without its end goes on past len: nothing then). */
		if ((i == 0 || m[i - 1] == '\n') &&
		    our_fields(out, eol, h, 0) != 0)
			goto out;
		*rest = i;
		rc = 0;
		goto out;
	}
	while (i < len) {
		/* The blank line (or a line that is no header) ends it. */
		if (m[i] == '\n' || (m[i] == '\r' && i + 1 < len &&
		    m[i + 1] == '\n'))
			break;
		n = field_len(m, len, i);
		if (ours(m + i, n, h)) {
			i += n;
			continue;
		}
		last = out->len;
		colon = marking && !subject_done ?
		    field_is(m + i, n, "Subject") : 0;
		if (colon > 0) {
			subject_done = 1;
			if (mark_subject(out, m + i, n, colon,
			    h->subject_prefix, strlen(h->subject_prefix)) != 0)
				goto out;
		} else if (ob_add(out, m + i, n) != 0)
			goto out;
		i += n;
	}
	hend = i;
	if (our_fields(&add, eol, h, marking && !subject_done) != 0)
		goto out;
	if (out->len > mark && out->p[out->len - 1] != '\n' &&
	    last != (size_t)-1 && out->p[last] != ' ' &&
	    out->p[last] != '\t') {
		/* Headers only, the last field without a line end: ours go
		 * before that field, so the message still ends as it did.
		 * Not before a field that starts with a blank: it would
		 * fold into our last field. */
		tail = out->len - last;
		if (ob_add(out, add.p, add.len) != 0)
			goto out;
		memmove(out->p + last + add.len, out->p + last, tail);
		if (add.len > 0)
			memcpy(out->p + last, add.p, add.len);
	} else {
		/* A "From " line (or a blank-led field) without a line
		 * end: end it. */
		if (out->len > mark && out->p[out->len - 1] != '\n' &&
		    add.len > 0 && ob_add(out, eol, strlen(eol)) != 0)
			goto out;
		if (add.len > 0 && ob_add(out, add.p, add.len) != 0)
			goto out;
	}
	*rest = hend;
	rc = 0;
out:
	ob_release(&add);
	if (rc != 0)
		out->len = mark;
	return rc;
}

int
output_build(const char *m, size_t len, const struct out_headers *h,
    struct obuf *out)
{
	size_t mark = out->len, rest = 0;

	if (output_build_head(m, len, 0, h, out, &rest) != 0)
		return -1;
	if (ob_add(out, m + rest, len - rest) != 0) {
		out->len = mark;
		return -1;
	}
	return 0;
}

int
output_write_all(int fd, const char *buf, size_t len)
{
	struct pollfd pf;
	ssize_t w;

	/* Bounded by len: each pass writes, or waits until it can (a
	 * non-blocking descriptor's EAGAIN is no failure). */
	while (len > 0) {
		w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			pf.fd = fd;
			pf.events = POLLOUT;
			pf.revents = 0;
			if (poll(&pf, 1, -1) < 0 && errno != EINTR)
				return -1;
			continue;
		}
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}
