/* SPDX-License-Identifier: MIT */
/*
 * fuzz_output.c - libFuzzer target for the pipe-mode header writer.
 *
 * The first two bytes choose the out_headers options (which headers, the
 * verdict, Subject marking, the prefixes, the score); the rest is the
 * message.  Input and output are both cut into their parts (an mbox
 * "From " line, the header fields up to the blank line, the rest) by a
 * walk written here, and the output must be the input with only what
 * output.h allows changed:
 *   - the "From " line and everything from the blank line on are the same
 *     bytes;
 *   - the header fields are the input's, in order, less those named
 *     X-PREFIX-Flag, -Probability or -Revision (any case, blanks allowed
 *     before the colon), plus our fields: exactly the expected lines
 *     (the score at any precision, within 1e-6), in the line-end style
 *     of the message's first header line (procmail may write its "From "
 *     line with LF before a CRLF message), one block at the end of the
 *     header block (or just before a last field that has no line end,
 *     unless that field starts with a blank: it is ended instead); no
 *     byte of the message joins them, not even by folding;
 *   - when marking spam, the first Subject field gets the prefix (or the
 *     prefix without trailing blanks) before its value, or a new Subject
 *     field comes first in our block when there was none;
 *   - bytes already in the output buffer stay.
 * So the output minus the inserted lines is the input minus incoming
 * copies of our fields.  Also: tok_digest, the message identity used for
 * duplicate training, is the same before and after.  Any difference
 * aborts, so libFuzzer saves the input.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "src/output.h"
#include "tokenizer/tokenizer.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const prefixes[] = { "Spam", "spam", "X", "Spam-Flag",
	"a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t", "S" };
static const char *const subject_prefixes[] = { "[SPAM] ", "", "***SPAM***",
	"[S]", "Subject: " };
static const char *const names[] = { "Flag", "Probability", "Revision" };

#define FUZZ_MAX_MSG (512 * 1024)	/* below OUT_MAX_HEADER_BYTES */

struct span {
	size_t off, len;
};

/* A message cut in parts: from line, header fields, rest. */
struct parts {
	size_t from;		/* bytes of the "From " line */
	struct span *f;		/* header fields */
	size_t nf;
	size_t rest;		/* offset of the blank line or the end */
};

/* One line from i: its end (after the LF, or len). */
static size_t
line_end(const char *s, size_t len, size_t i)
{
	const char *nl = memchr(s + i, '\n', len - i);

	return nl == NULL ? len : (size_t)(nl - s) + 1;
}

/* from: may the first line be an mbox "From " line?  (The output's
 * first line is one only when the input's was: removing a forged field
 * of ours may bring a "From " header line to the top.) */
static void
cut(const char *s, size_t len, int from, struct parts *p)
{
	size_t i = 0, e, f;

	p->from = 0;
	p->nf = 0;
	p->f = malloc(sizeof(*p->f) * (len + 1));
	if (p->f == NULL)
		abort();
	if (from && len >= 5 && memcmp(s, "From ", 5) == 0)
		i = p->from = line_end(s, len, 0);
	while (i < len) {
		e = line_end(s, len, i);
		if (s[i] == '\n' || (e - i == 2 && s[i] == '\r' &&
		    s[i + 1] == '\n'))
			break;	/* the blank line */
		for (f = e; f < len && (s[f] == ' ' || s[f] == '\t');)
			f = line_end(s, len, f);
		p->f[p->nf].off = i;
		p->f[p->nf].len = f - i;
		p->nf++;
		i = f;
	}
	p->rest = i;
}

/* Is the field (n bytes at s) named X-prefix-Flag etc.: the name, any
 * blanks, then a colon? */
static int
is_ours(const char *s, size_t n, const char *prefix)
{
	char want[128];
	size_t i, k, j;

	for (i = 0; i < 3; i++) {
		k = (size_t)snprintf(want, sizeof(want), "X-%s-%s", prefix,
		    names[i]);
		if (n < k || strncasecmp(s, want, k) != 0)
			continue;
		for (j = k; j < n && (s[j] == ' ' || s[j] == '\t'); j++)
			;
		if (j < n && s[j] == ':')
			return 1;
	}
	return 0;
}

/* Where a Subject field's value starts (past its colon; blanks may
 * come before the colon), or 0 when s (n bytes) is no Subject field. */
static size_t
subject_at(const char *s, size_t n)
{
	size_t j;

	if (n <= 7 || strncasecmp(s, "Subject", 7) != 0)
		return 0;
	for (j = 7; j < n && (s[j] == ' ' || s[j] == '\t'); j++)
		;
	return j < n && s[j] == ':' ? j + 1 : 0;
}

static int
is_subject(const char *s, size_t n)
{
	return subject_at(s, n) > 0;
}

static int
same(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Is out (on) the input Subject field in (n bytes) marked as allowed? */
static int
subject_ok(const char *in, size_t n, const char *out, size_t on,
    const char *pfx)
{
	size_t c = subject_at(in, n), v = c, plen = strlen(pfx), t = plen;
	size_t add, sp;

	while (v < n && (in[v] == ' ' || in[v] == '\t'))
		v++;
	if (n - v >= plen && memcmp(in + v, pfx, plen) == 0)
		return same(in, n, out, on);	/* marked already */
	if (same(in, n, out, on))
		return 1;	/* marked already, after a fold */
	while (t > 0 && (pfx[t - 1] == ' ' || pfx[t - 1] == '\t'))
		t--;
	add = v == c ? 1 : 0;
	/* An encoded word after a prefix that ends in no blank gets one. */
	sp = plen > 0 && pfx[plen - 1] != ' ' && pfx[plen - 1] != '\t' &&
	    n - v >= 2 && in[v] == '=' && in[v + 1] == '?';
	if (on < n || memcmp(out, in, v) != 0 || (add && out[v] != ' '))
		return 0;
	if (on == n + add + plen + sp &&
	    memcmp(out + v + add, pfx, plen) == 0 &&
	    (!sp || out[v + add + plen] == ' ') &&
	    memcmp(out + v + add + plen + sp, in + v, n - v) == 0)
		return 1;
	return on == n + add + t && memcmp(out + v + add, pfx, t) == 0 &&
	    memcmp(out + v + add + t, in + v, n - v) == 0;
}

static void
fail(const char *why, const struct out_headers *h, const char *msg,
    size_t len, const char *out, size_t olen);

/* Is got (n bytes, one line with its end) our line want?  The score of
 * the Probability line may be printed at any precision: "0.", digits,
 * within 1e-6 of h->p, then the line end. */
static int
our_line(const char *want, const char *got, size_t n,
    const struct out_headers *h, const char *eol)
{
	char head[128], num[64];
	size_t k, d, el = strlen(eol);

	if (same(want, strlen(want), got, n))
		return 1;
	k = (size_t)snprintf(head, sizeof(head), "X-%s-Probability: ",
	    h->prefix);
	if (!h->prob || strncmp(want, head, k) != 0 || n < k + el ||
	    memcmp(got, head, k) != 0 || memcmp(got + n - el, eol, el) != 0)
		return 0;
	d = n - k - el;
	if (d == 0 || d >= sizeof(num) || strspn(got + k, "0123456789.") != d)
		return 0;
	memcpy(num, got + k, d);
	num[d] = '\0';
	return fabs(strtod(num, NULL) - h->p) <= 1e-6;
}

/* The check itself: output o (olen) for message msg (len). */
static void
check(const char *msg, size_t len, const struct out_headers *h,
    const char *o, size_t olen)
{
	struct parts in, ou;
	char ins[4][256];
	size_t nins = 0, k, j, nk = 0, p, q, *keep;
	const char *eol = "\n";
	int spam = h->verdict == VERDICT_SPAM;
	int mark = spam && h->mark_subject, has_subject = 0, sdone = 0;
	int ended = 0;
	const char *nl = memchr(msg, '\n', len), *nl2;

	cut(msg, len, 1, &in);
	cut(o, olen, in.from > 0, &ou);
	/* Our lines end like the first line after any "From " line. */
	if (in.from < len) {
		nl2 = memchr(msg + in.from, '\n', len - in.from);
		if (nl2 != NULL)
			nl = nl2;
	}
	if (nl != NULL && nl > msg && nl[-1] == '\r')
		eol = "\r\n";
	keep = malloc(sizeof(*keep) * (in.nf + 1));
	if (keep == NULL)
		abort();
	for (k = 0; k < in.nf; k++) {
		if (is_ours(msg + in.f[k].off, in.f[k].len, h->prefix))
			continue;
		if (is_subject(msg + in.f[k].off, in.f[k].len))
			has_subject = 1;
		keep[nk++] = k;
	}
	/* The lines we add, in order. */
	if (mark && !has_subject)
		snprintf(ins[nins++], sizeof(ins[0]), "Subject: %s%s",
		    h->subject_prefix, eol);
	if (h->rev)
		snprintf(ins[nins++], sizeof(ins[0]),
		    "X-%s-Revision: spamsift %s%s", h->prefix,
		    SPAMSIFT_VERSION, eol);
	if (h->flag)
		snprintf(ins[nins++], sizeof(ins[0]), "X-%s-Flag: %s%s",
		    h->prefix, spam ? "Yes" : h->verdict == VERDICT_UNSURE ?
		    "Unsure" : "No", eol);
	if (h->prob)
		snprintf(ins[nins++], sizeof(ins[0]),
		    "X-%s-Probability: %f%s", h->prefix, h->p, eol);
	/* Only a "From " line without a line end: it gets one. */
	if (in.from == len && len > 0 && msg[len - 1] != '\n') {
		if (nins == 0) {
			if (!same(msg, len, o, olen))
				fail("From line changed", h, msg, len, o, olen);
			goto done;
		}
		if (olen < len + strlen(eol) || memcmp(o, msg, len) != 0 ||
		    memcmp(o + len, eol, strlen(eol)) != 0)
			fail("From line not ended", h, msg, len, o, olen);
		for (k = 0, p = len + strlen(eol); k < nins; k++) {
			q = p < olen ? line_end(o, olen, p) : p;
			if (!our_line(ins[k], o + p, q - p, h, eol))
				fail("our field after a From line", h, msg, len,
				    o, olen);
			p = q;
		}
		if (p != olen)
			fail("bytes after our fields", h, msg, len, o, olen);
		goto done;
	}
	if (!same(msg, in.from, o, ou.from))
		fail("From line changed", h, msg, len, o, olen);
	if (!same(msg + in.rest, len - in.rest, o + ou.rest, olen - ou.rest))
		fail("body changed", h, msg, len, o, olen);
	if (ou.nf != nk + nins)
		fail("wrong number of header fields", h, msg, len, o, olen);
	/* Where our block is: after the kept fields, or before the last one
	 * when that one has no line end. */
	p = nk;
	if (nins > 0 && nk > 0 && msg[in.f[keep[nk - 1]].off +
	    in.f[keep[nk - 1]].len - 1] != '\n') {
		j = in.f[keep[nk - 1]].off;
		if (msg[j] == ' ' || msg[j] == '\t')
			ended = 1;	/* it would fold into ours */
		else
			p = nk - 1;
	}
	for (k = 0; k < nins; k++)
		if (!our_line(ins[k], o + ou.f[p + k].off, ou.f[p + k].len, h,
		    eol))
			fail("our field differs", h, msg, len, o, olen);
	for (k = 0, q = 0; k < nk; k++, q++) {
		if (q == p)
			q += nins;
		j = keep[k];
		if (mark && !sdone && is_subject(msg + in.f[j].off,
		    in.f[j].len)) {
			sdone = 1;
			if (!subject_ok(msg + in.f[j].off, in.f[j].len,
			    o + ou.f[q].off, ou.f[q].len, h->subject_prefix))
				fail("Subject marked wrongly", h, msg, len, o,
				    olen);
			continue;
		}
		if (ended && k == nk - 1) {
			if (ou.f[q].len != in.f[j].len + strlen(eol) ||
			    memcmp(o + ou.f[q].off, msg + in.f[j].off,
			    in.f[j].len) != 0 || memcmp(o + ou.f[q].off +
			    in.f[j].len, eol, strlen(eol)) != 0)
				fail("last field not ended", h, msg, len, o,
				    olen);
			continue;
		}
		if (!same(msg + in.f[j].off, in.f[j].len, o + ou.f[q].off,
		    ou.f[q].len))
			fail("header field changed", h, msg, len, o, olen);
	}
done:
	free(keep);
	free(in.f);
	free(ou.f);
}

static void
show(const char *what, const char *s, size_t n)
{
	size_t i;

	fprintf(stderr, "%s (%zu bytes): \"", what, n);
	for (i = 0; i < n && i < 4096; i++)
		fprintf(stderr, (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' &&
		    s[i] != '\\') ? "%c" : "\\x%02x", (unsigned char)s[i]);
	fprintf(stderr, "\"\n");
}

static void
fail(const char *why, const struct out_headers *h, const char *msg,
    size_t len, const char *out, size_t olen)
{
	fprintf(stderr, "fuzz_output: %s (flag %d prob %d rev %d mark %d "
	    "verdict %d prefix \"%s\" subject \"%s\")\n", why, h->flag,
	    h->prob, h->rev, h->mark_subject, (int)h->verdict, h->prefix,
	    h->subject_prefix);
	show("input", msg, len);
	show("output", out, olen);
	abort();
}

/* Whether a blank line starts at a line start from i, within c bytes. */
static int
ends_within(const char *s, size_t c, size_t i)
{
	while (i < c) {
		if (s[i] == '\n' || (s[i] == '\r' && i + 1 < c &&
		    s[i + 1] == '\n'))
			return 1;
		i = line_end(s, c, i);
	}
	return 0;
}

/* Pipe mode reads a message's start only (cut): when its header ends
 * there, the head is what the whole of that start gives; else it is the
 * From line, if whole, then our fields alone (no Subject marked), and the
 * message goes on from there untouched.  Checked at every tenth of len. */
static void
cut_head(const char *msg, size_t len, const struct out_headers *h)
{
	struct obuf a = { 0 }, b = { 0 }, ours = { 0 };
	struct out_headers plain = *h;	/* a cut header is not marked */
	size_t c, k, ra = 0, rb = 0, from, step = len / 10 + 1;
	const char *nl;

	plain.mark_subject = 0;

	for (c = 0; c <= len; c += step) {
		if (output_build_head(msg, c, 1, h, &a, &ra) != 0 ||
		    output_build_head(msg, c, 0, h, &b, &rb) != 0)
			goto next;	/* out of memory */
		from = 0;
		if (c >= 5 && memcmp(msg, "From ", 5) == 0) {
			nl = memchr(msg, '\n', c);
			from = nl == NULL ? c : (size_t)(nl - msg) + 1;
		}
		if (ends_within(msg, c, from)) {
			if (ra != rb || a.len != b.len || (a.len > 0 &&
			    memcmp(a.p, b.p, a.len) != 0))
				fail("cut: a header that ends differs", h, msg,
				    c, a.p, a.len);
			goto next;
		}
		if (ra != from || a.len < from || (from > 0 &&
		    memcmp(a.p, msg, from) != 0))
			fail("cut: not the From line, then ours", h, msg, c,
			    a.p, a.len);
		/* Ours: what a header of nothing gets after that line. */
		if (from > 0 && msg[from - 1] != '\n') {
			if (a.len != from)
				fail("cut: fields after an unended From line",
				    h, msg, c, a.p, a.len);
		} else if (output_build_head("\n", 1, 0, &plain, &ours,
		    &k) == 0) {
			/* Only the line-end style may differ: compare
			 * without CRs. */
			size_t i, j;

			for (i = from, j = 0; i < a.len || j < ours.len;) {
				if (i < a.len && a.p[i] == '\r') {
					i++;
					continue;
				}
				if (i >= a.len || j >= ours.len ||
				    a.p[i] != ours.p[j])
					fail("cut: our fields differ", h, msg, c,
					    a.p, a.len);
				i++;
				j++;
			}
		}
next:
		ob_release(&a);
		ob_release(&b);
		ob_release(&ours);
		a.len = b.len = ours.len = 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char keep[] = "bytes already in the buffer\n";
	struct out_headers h;
	struct obuf out = { 0 };
	unsigned char d1[TOK_DIGEST_BYTES], d2[TOK_DIGEST_BYTES];
	const char *msg, *o;
	size_t len, pre;

	if (size < 2 || size - 2 > FUZZ_MAX_MSG)
		return 0;
	msg = (const char *)data + 2;
	len = size - 2;
	memset(&h, 0, sizeof(h));
	h.flag = data[0] & 1;
	h.prob = (data[0] >> 1) & 1;
	h.rev = (data[0] >> 2) & 1;
	h.mark_subject = (data[0] >> 3) & 1;
	h.verdict = (enum verdict)((data[0] >> 4) % 3);
	h.prefix = prefixes[(data[1] & 7) % 6];
	h.subject_prefix = subject_prefixes[(data[1] >> 3 & 7) % 5];
	h.p = (double)(data[0] >> 6 | (data[1] >> 6) << 2) / 15.0;
	pre = data[1] & 0x40 ? sizeof(keep) - 1 : 0;

	if (pre > 0)
		out.p = malloc(pre);
	if (out.p != NULL) {
		memcpy(out.p, keep, pre);
		out.len = out.cap = pre;
	} else {
		pre = 0;
	}
	if (output_build(msg, len, &h, &out) != 0) {
		/* Out of memory: nothing may be left appended. */
		if (out.len != pre)
			abort();
		ob_release(&out);
		return 0;
	}
	if (out.len < pre || (pre > 0 && memcmp(out.p, keep, pre) != 0))
		fail("bytes before the output changed", &h, msg, len, out.p,
		    out.len);
	o = out.p != NULL ? out.p + pre : "";
	check(msg, len, &h, o, out.len - pre);
	/* The identity of a message survives pipe mode. */
	tok_digest(msg, len, d1, NULL, 0);
	tok_digest(o, out.len - pre, d2, NULL, 0);
	if (memcmp(d1, d2, sizeof(d1)) != 0)
		fail("tok_digest changed by our headers", &h, msg, len, o,
		    out.len - pre);
	ob_release(&out);
	cut_head(msg, len, &h);
	return 0;
}
