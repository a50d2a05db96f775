/* SPDX-License-Identifier: MIT */
/*
 * tokenizer.c - one message's bytes to its tokens.
 *
 * The bytes are first copied into a bounded, normalised form (no mbox
 * "From " line, LF line ends, no NULs, at most so many bytes, MIME
 * boundaries and nested multiparts cut off past their limits), so GMime
 * never sees more than the limits allow.  GMime parses that; headers of
 * interest become tagged tokens, every text part at any depth is decoded,
 * converted to UTF-8 and cut into words, HTML is reduced to its visible
 * text, and other parts contribute their type and file name.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "tokenizer/tok_priv.h"


/* The headers read by default: bsfilter's list, and a few that measure
 * well.  Received is handled on its own (IP addresses). */
static const char *const default_headers[] = {
	"from", "to", "cc", "subject", "reply-to", "return-path",
	"content-type", "content-transfer-encoding", "content-disposition",
	"x-mailer", "user-agent", "message-id", "sender", "list-id",
	"organization", "x-priority", "x-msmail-priority", "importance",
	"precedence", "mime-version", "errors-to", "x-originating-ip",
};

void
tok_opts_init(struct tok_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->jmode = TOK_JA_ICU;
	o->headers = TOK_HDR_DEFAULT;
	o->word_pairs = 1;	/* measured: FN 13.7% -> 8.4% online */
}

static void
free_refer(struct tok *t)
{
	size_t i;

	for (i = 0; i < t->nrefer; i++)
		free(t->refer[i]);
	free(t->refer);
	t->refer = NULL;
	t->nrefer = 0;
}

/* Split "a,b|c" into lower-case names. */
static int
parse_refer(struct tok *t, const char *list)
{
	const char *p = list, *e;
	size_t n, i;
	char **nr;

	while (*p != '\0') {
		e = p + strcspn(p, ",| \t");
		n = (size_t)(e - p);
		if (n > 0 && n < 128) {
			nr = realloc(t->refer, sizeof(*nr) * (t->nrefer + 1));
			if (nr == NULL)
				return TOK_ENOMEM;
			t->refer = nr;
			t->refer[t->nrefer] = strndup(p, n);
			if (t->refer[t->nrefer] == NULL)
				return TOK_ENOMEM;
			for (i = 0; i < n; i++)
				t->refer[t->nrefer][i] = (char)tolower(
				    (unsigned char)t->refer[t->nrefer][i]);
			t->nrefer++;
		}
		p = *e != '\0' ? e + 1 : e;
	}
	return 0;
}

int
tok_new(struct tok **out, const struct tok_opts *o)
{
	struct tok *t = NULL;
	GMimeParserOptions *po;
	int rc = TOK_ENOMEM;

	*out = NULL;
	if (o->jmode > TOK_JA_BLOCK || o->headers > TOK_HDR_NONE)
		return TOK_EINVAL;
	g_mime_init();	/* process-wide; later calls only count */
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto out;
	t->o = *o;
	t->o.refer_headers = NULL;
	if (o->refer_headers != NULL) {
		rc = parse_refer(t, o->refer_headers);
		if (rc != 0)
			goto out;
	}
	rc = tok_icu_new(&t->icu);
	if (rc != 0)
		goto out;
	po = g_mime_parser_options_new();
	if (po == NULL) {
		rc = TOK_EINIT;
		goto out;
	}
	g_mime_parser_options_set_rfc2047_compliance_mode(po,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(po,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(po,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	t->popts = po;
	*out = t;
	t = NULL;
	rc = 0;
out:
	tok_free(t);
	return rc;
}

void
tok_free(struct tok *t)
{
	if (t == NULL)
		return;
	free_refer(t);
	tok_icu_free(t->icu);
	tok_charset_release(t);
	if (t->popts != NULL)
		g_mime_parser_options_free(t->popts);
	tbuf_release(&t->raw);
	tbuf_release(&t->text);
	tbuf_release(&t->dec);
	tbuf_release(&t->hid);
	tbuf_release(&t->urls);
	tbuf_release(&t->hdr);
	free(t);
}

const char *
tok_strerror(int rc)
{
	switch (rc) {
	case TOK_OK:
		return "success";
	case TOK_ENOMEM:
		return "out of memory";
	case TOK_EINIT:
		return "cannot set up ICU or GMime";
	case TOK_EINVAL:
		return "invalid argument";
	case TOK_EPARSE:
		return "cannot parse message";
	}
	return "unknown error";
}

const char *
tok_jmode_name(enum tok_jmode m)
{
	switch (m) {
	case TOK_JA_ICU:
		return "icu";
	case TOK_JA_BIGRAM:
		return "bigram";
	case TOK_JA_BLOCK:
		return "block";
	}
	return "?";
}

int
tok_jmode_parse(const char *name)
{
	if (strcasecmp(name, "icu") == 0)
		return TOK_JA_ICU;
	if (strcasecmp(name, "bigram") == 0)
		return TOK_JA_BIGRAM;
	if (strcasecmp(name, "block") == 0)
		return TOK_JA_BLOCK;
	return -1;
}

/* Offset just past the mbox "From " line, if the message starts with one. */
static size_t
skip_from_line(const char *buf, size_t len)
{
	const char *nl;

	if (len < 5 || memcmp(buf, "From ", 5) != 0)
		return 0;
	nl = memchr(buf, '\n', len);
	return nl == NULL ? len : (size_t)(nl - buf) + 1;
}

/* The bounded, normalised copy GMime parses: LF line ends, no NULs, lines
 * cut at max_line, and the input cut before the boundary line or the
 * multipart header past its limit. */
static int
normalise(struct tok *t, const char *buf, size_t len)
{
	struct tbuf *r = &t->raw;
	size_t i, line = 0, dashes = 0, multis = 0;
	int rc = 0, in_hdr = 1;
	char c;

	r->len = 0;
	i = skip_from_line(buf, len);
	if (len > TOK_MAX_MESSAGE_BYTES)
		len = TOK_MAX_MESSAGE_BYTES;
	for (; i < len && rc == 0; i++) {
		c = buf[i];
		if (c == '\r') {
			if (i + 1 < len && buf[i + 1] == '\n')
				continue;
			c = '\n';
		}
		if (line == 0) {
			if (c == '-' && i + 1 < len && buf[i + 1] == '-' &&
			    ++dashes > TOK_MAX_BOUNDARY_LINES)
				break;
			if ((c == 'c' || c == 'C') && len - i > 23 &&
			    strncasecmp(buf + i, "content-type:", 13) == 0) {
				size_t k = i + 13;

				while (k < len && k < i + 64 &&
				    (buf[k] == ' ' || buf[k] == '\t'))
					k++;
				if (len - k > 9 &&
				    strncasecmp(buf + k, "multipart", 9) == 0 &&
				    ++multis > TOK_MAX_MULTIPARTS)
					break;
			}
			if (in_hdr && c == '\n')
				in_hdr = 0;
		}
		if (c == '\n') {
			line = 0;
		} else {
			if (t->o.max_line > 0 && line >= t->o.max_line)
				continue;
			line++;
		}
		if (in_hdr && r->len >= TOK_MAX_HEADER_BYTES) {
			/* Headers past the limit: keep whole lines so far and
			 * end the header block there. */
			while (r->len > 0 && r->p[r->len - 1] != '\n')
				r->len--;
			rc = tbuf_add(r, "\n", 1);
			in_hdr = 0;
			while (i < len && buf[i] != '\n')
				i++;
			line = 0;
			continue;
		}
		if (c == '\n' || c == '\0' || line != 1) {
			rc = tbuf_addc(r, c == '\0' ? ' ' : c);
			continue;
		}
		/* Inside a line: copy up to the next CR, LF or NUL (or the
		 * line cut, or the header limit) in one go. */
		{
			size_t k = i + 1, lim = len;

			if (t->o.max_line > 0 && lim - i > t->o.max_line)
				lim = i + t->o.max_line;
			if (in_hdr && lim - i > TOK_MAX_HEADER_BYTES - r->len)
				lim = i + (TOK_MAX_HEADER_BYTES - r->len);
			while (k < lim && buf[k] != '\n' && buf[k] != '\r' &&
			    buf[k] != '\0')
				k++;
			rc = tbuf_add(r, buf + i, k - i);
			line += k - i - 1;
			i = k - 1;
		}
	}
	return rc;
}

static int
wanted_header(struct tok *t, const char *name)
{
	size_t i;

	if (t->o.headers == TOK_HDR_NONE)
		return 0;
	if (t->o.headers == TOK_HDR_ALL)
		return 1;
	for (i = 0; i < t->nrefer; i++)
		if (strcasecmp(name, t->refer[i]) == 0)
			return 1;
	if (t->nrefer > 0)
		return 0;	/* --refer-header replaces the default */
	for (i = 0; i < sizeof(default_headers) / sizeof(default_headers[0]);
	    i++)
		if (strcasecmp(name, default_headers[i]) == 0)
			return 1;
	return 0;
}

/* RFC 2047: decode one encoded word's payload into out; 0 or -1 when it
 * is not a well-formed word. */
static int
ew_decode(char enc, const char *p, size_t n, struct tbuf *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned acc = 0, bits = 0, v;
	const char *q;
	size_t i;
	char c;
	int rc = 0;

	if (enc == 'B' || enc == 'b') {
		for (i = 0; i < n && rc == 0; i++) {
			if (p[i] == '=')
				break;
			q = memchr(b64, p[i], 64);
			if (q == NULL)
				continue;	/* lenient: skip junk */
			acc = (acc << 6) | (unsigned)(q - b64);
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				c = (char)((acc >> bits) & 0xFF);
				rc = tbuf_addc(out, c);
			}
		}
		return rc;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (p[i] == '_')
			rc = tbuf_addc(out, ' ');
		else if (p[i] == '=' && i + 2 < n && isxdigit((unsigned char)
		    p[i + 1]) && isxdigit((unsigned char)p[i + 2])) {
			sscanf(p + i + 1, "%2x", &v);
			rc = tbuf_addc(out, (char)v);
			i += 2;
		} else
			rc = tbuf_addc(out, p[i]);
	}
	return rc;
}

/* Flush the bytes gathered under one charset as UTF-8 into out. */
static int
ew_flush(struct tok *t, struct tbuf *pend, const char *cs, struct tbuf *out)
{
	int rc = 0;

	if (pend->len > 0)
		rc = tok_to_utf8(t, cs[0] != '\0' ? cs : NULL, pend->p,
		    pend->len, out);
	pend->len = 0;
	return rc;
}

/* A header value as UTF-8.  Encoded words are decoded by us: adjacent
 * words of one charset are joined before conversion (ISO-2022-JP and
 * UTF-8 words split mid-character), a charset that fails is detected,
 * and raw 8-bit text is detected too. */
static int
header_utf8(struct tok *t, const char *raw, struct tbuf *out)
{
	size_t n = strlen(raw), i = 0, k;
	const char *q1, *end;
	char cs[40] = "", wcs[40];
	struct tbuf *pend = &t->dec;
	int rc = 0, last_ew = 0;

	out->len = 0;
	pend->len = 0;
	if (n > TOK_MAX_HEADER_VALUE)
		n = TOK_MAX_HEADER_VALUE;
	while (i < n && rc == 0) {
		if (raw[i] == '\r' || raw[i] == '\n') {
			i++;
			continue;
		}
		if (raw[i] == '=' && i + 1 < n && raw[i + 1] == '?' &&
		    (q1 = memchr(raw + i + 2, '?', n - i - 2)) != NULL &&
		    q1 + 2 < raw + n && q1[2] == '?' &&
		    (end = memmem(q1 + 3, (size_t)(raw + n - q1 - 3), "?=",
		    2)) != NULL && (size_t)(q1 - raw - i - 2) < sizeof(wcs)) {
			k = (size_t)(q1 - raw - i - 2);
			memcpy(wcs, raw + i + 2, k);
			wcs[k] = '\0';
			wcs[strcspn(wcs, "*")] = '\0';	/* RFC 2231 language */
			if (strcasecmp(wcs, cs) != 0 || !last_ew) {
				rc = ew_flush(t, pend, cs, out);
				snprintf(cs, sizeof(cs), "%s", wcs);
			}
			if (rc == 0)
				rc = ew_decode(q1[1], q1 + 3,
				    (size_t)(end - q1 - 3), pend);
			i = (size_t)(end - raw) + 2;
			last_ew = 1;
			continue;
		}
		if (last_ew && (raw[i] == ' ' || raw[i] == '\t')) {
			/* Blanks between encoded words vanish. */
			for (k = i; k < n && (raw[k] == ' ' || raw[k] == '\t' ||
			    raw[k] == '\r' || raw[k] == '\n'); k++)
				;
			if (k + 1 < n && raw[k] == '=' && raw[k + 1] == '?') {
				i = k;
				continue;
			}
		}
		if (last_ew || cs[0] != '\0') {
			rc = ew_flush(t, pend, cs, out);
			cs[0] = '\0';
			last_ew = 0;
		}
		if (rc == 0)
			rc = tbuf_addc(pend, raw[i]);
		i++;
	}
	if (rc == 0)
		rc = ew_flush(t, pend, cs, out);
	return rc;
}

/* ip:a.b.c.d, ip:a.b.c, ip:a.b for each bracketed IPv4 in a Received. */
static int
received_ips(const char *v, struct tok_set *set)
{
	const char *p = v;
	unsigned a, b, c, d;
	char buf[64];
	int rc = 0, k, n = 0;

	while (rc == 0 && n < 4 && (p = strchr(p, '[')) != NULL) {
		p++;
		if (sscanf(p, "%3u.%3u.%3u.%3u", &a, &b, &c, &d) != 4 ||
		    a > 255 || b > 255 || c > 255 || d > 255)
			continue;
		n++;
		k = snprintf(buf, sizeof(buf), "ip:%u.%u.%u.%u", a, b, c, d);
		rc = tok_set_add(set, buf, (size_t)k);
		k = snprintf(buf, sizeof(buf), "ip:%u.%u.%u", a, b, c);
		if (rc == 0)
			rc = tok_set_add(set, buf, (size_t)k);
		k = snprintf(buf, sizeof(buf), "ip:%u.%u", a, b);
		if (rc == 0)
			rc = tok_set_add(set, buf, (size_t)k);
	}
	return rc;
}

static int
header_tokens(struct tok *t, GMimeObject *obj, struct tok_set *set)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	GMimeHeader *h;
	const char *name, *raw;
	char prefix[80];
	size_t i, j, k;
	int n, rc = 0, received = 0;

	if (hl == NULL)
		return 0;
	n = g_mime_header_list_get_count(hl);
	for (i = 0; i < (size_t)n && i < TOK_MAX_HEADERS && rc == 0; i++) {
		h = g_mime_header_list_get_header_at(hl, (int)i);
		name = g_mime_header_get_name(h);
		raw = g_mime_header_get_raw_value(h);
		if (name == NULL || raw == NULL)
			continue;
		if (strcasecmp(name, "received") == 0) {
			if (t->o.headers == TOK_HDR_NONE ||
			    received++ >= TOK_MAX_RECEIVED)
				continue;
			rc = received_ips(raw, set);
			if (rc != 0)
				break;
		} else if (!wanted_header(t, name)) {
			continue;
		}
		/* Field names are printable ASCII (RFC 5322); another name
		 * would make tags that are not UTF-8. */
		for (j = 0; (name[j] > 0x20 && name[j] < 0x7f) ||
		    name[j] == ' ' || name[j] == '\t'; j++)
			;
		if (name[j] != '\0')
			continue;
		for (j = 0, k = 0; name[j] != '\0' && k + 2 < sizeof(prefix);
		    j++)
			if (!isspace((unsigned char)name[j]))
				prefix[k++] = (char)tolower(
				    (unsigned char)name[j]);
		prefix[k++] = ':';
		prefix[k] = '\0';
		if (strcasecmp(name, "message-id") == 0) {
			const char *at = strrchr(raw, '@');

			k = at == NULL ? 0 : strcspn(at + 1, "> \t\r\n");
			/* Printable ASCII only: a token is UTF-8. */
			for (j = 0; j < k && at[1 + j] > 0x20 &&
			    at[1 + j] < 0x7f; j++)
				;
			if (k > 0 && j == k)
				rc = tok_emit(set, "message-id:", at + 1, k);
			continue;
		}
		rc = header_utf8(t, raw, &t->hdr);
		if (rc == 0 && t->hdr.len > 0)
			rc = tok_words(t, t->hdr.p, t->hdr.len, prefix, set);
	}
	return rc;
}

/* Read a part's decoded content (at most TOK_MAX_PART_BYTES) into dec. */
static int
part_bytes(struct tok *t, GMimePart *part)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *src, *fs = NULL;
	GMimeFilter *f = NULL;
	GMimeContentEncoding enc;
	char chunk[8192];
	ssize_t r;
	int rc = 0;

	t->dec.len = 0;
	if (dw == NULL)
		return 0;
	src = g_mime_data_wrapper_get_stream(dw);
	if (src == NULL)
		return 0;
	enc = g_mime_data_wrapper_get_encoding(dw);
	g_mime_stream_reset(src);
	fs = g_mime_stream_filter_new(src);
	if (enc != GMIME_CONTENT_ENCODING_DEFAULT &&
	    enc != GMIME_CONTENT_ENCODING_7BIT &&
	    enc != GMIME_CONTENT_ENCODING_8BIT &&
	    enc != GMIME_CONTENT_ENCODING_BINARY) {
		f = g_mime_filter_basic_new(enc, FALSE);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
	}
	while (rc == 0 && t->dec.len < TOK_MAX_PART_BYTES) {
		r = g_mime_stream_read(fs, chunk, sizeof(chunk));
		if (r <= 0)
			break;
		rc = tbuf_add(&t->dec, chunk, (size_t)r);
	}
	if (f != NULL)
		g_object_unref(f);
	g_object_unref(fs);
	return rc;
}

/* Inline uuencoded files in text: their name counts, their bytes go. */
static void
strip_uuencode(struct tbuf *b, struct tok *t, struct tok_set *set)
{
	char *p = b->p, *end = b->p + b->len, *line, *nl, *stop;
	unsigned mode;
	char name[128];

	if (b->len == 0 || memmem(b->p, b->len, "begin ", 6) == NULL)
		return;
	for (line = p; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			break;
		if (strncmp(line, "begin ", 6) != 0 || sscanf(line,
		    "begin %o %127[^\n]", &mode, name) != 2)
			continue;
		(void)tok_words(t, name, strlen(name), "file:", set);
		stop = memmem(nl, (size_t)(end - nl), "\nend", 4);
		stop = stop == NULL ? end : stop + 4;
		memset(line, ' ', (size_t)(stop - line));
		nl = stop - 1;
		if (nl < line)
			break;
	}
}

static int
text_part(struct tok *t, GMimeObject *obj, int html, struct tok_set *set)
{
	const char *cs = g_mime_object_get_content_type_parameter(obj,
	    "charset");
	size_t i, s;
	int rc;

	rc = part_bytes(t, GMIME_PART(obj));
	if (rc != 0 || t->dec.len == 0)
		return rc;
	t->text.len = 0;
	rc = tok_to_utf8(t, cs, t->dec.p, t->dec.len, &t->text);
	if (rc != 0)
		return rc;
	if (t->text.len > TOK_MAX_TEXT_BYTES)
		t->text.len = TOK_MAX_TEXT_BYTES;
	if (!html) {
		strip_uuencode(&t->text, t, set);
		return tok_words(t, t->text.p, t->text.len, "", set);
	}
	/* Re-use dec for the visible text: the raw bytes are done with. */
	t->dec.len = t->hid.len = t->urls.len = 0;
	rc = tok_html(t->text.p, t->text.len, &t->dec, &t->hid, &t->urls);
	if (rc == 0 && t->dec.len > 0)
		rc = tok_words(t, t->dec.p, t->dec.len, "", set);
	if (rc == 0 && t->hid.len > 0)
		rc = tok_words(t, t->hid.p, t->hid.len, "hidden:", set);
	for (i = 0, s = 0; rc == 0 && i < t->urls.len; i++) {
		if (t->urls.p[i] != '\n')
			continue;
		rc = tok_url(t, t->urls.p + s, i - s, set);
		s = i + 1;
	}
	return rc;
}

/* Lower-case tag + value as one token, if it fits and has no blanks. */
static int
tag_token(struct tok_set *set, const char *tag, const char *a,
    const char *b)
{
	char buf[TOK_MAX_TOKEN_BYTES + 1];
	int i, k;

	k = snprintf(buf, sizeof(buf), "%s%s%s%s", tag, a, b ? "/" : "",
	    b ? b : "");
	if (k <= 0 || (size_t)k >= sizeof(buf))
		return 0;
	for (i = 0; i < k; i++) {
		if (isspace((unsigned char)buf[i]) || buf[i] == '\0')
			return 0;
		buf[i] = (char)tolower((unsigned char)buf[i]);
	}
	return tok_set_add(set, buf, (size_t)k);
}

/* Every MIME entity's type, charset and transfer encoding. */
static int
type_tokens(GMimeObject *obj, struct tok_set *set)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *type, *sub, *cs, *cte;
	int rc = 0;

	if (ct != NULL) {
		type = g_mime_content_type_get_media_type(ct);
		sub = g_mime_content_type_get_media_subtype(ct);
		if (type != NULL && sub != NULL)
			rc = tag_token(set, "ct:", type, sub);
	}
	cs = g_mime_object_get_content_type_parameter(obj, "charset");
	if (rc == 0 && cs != NULL)
		rc = tag_token(set, "charset:", cs, NULL);
	cte = g_mime_object_get_header(obj, "Content-Transfer-Encoding");
	if (rc == 0 && cte != NULL) {
		while (isspace((unsigned char)*cte))
			cte++;
		rc = tag_token(set, "cte:", cte, NULL);
	}
	return rc;
}

static int
walk(struct tok *t, GMimeObject *obj, int depth, size_t *textbytes,
    struct tok_set *set)
{
	GMimeContentType *ct;
	const char *type, *sub, *fn;
	int n, i, rc = 0;

	if (obj == NULL || depth > TOK_MAX_DEPTH)
		return 0;
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));

		rc = type_tokens(obj, set);
		if (m == NULL || rc != 0)
			return rc;
		rc = header_tokens(t, GMIME_OBJECT(m), set);
		if (rc == 0 && !t->o.ignore_body)
			rc = walk(t, g_mime_message_get_mime_part(m), depth + 1,
			    textbytes, set);
		return rc;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		rc = type_tokens(obj, set);
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		if (rc == 0 && n == 0) {
			/* No parts found (say, no boundary): its text still
			 * counts. */
			const char *pro = g_mime_multipart_get_prologue(
			    GMIME_MULTIPART(obj));

			if (pro != NULL)
				rc = tok_words(t, pro, strnlen(pro,
				    TOK_MAX_PART_BYTES), "", set);
		}
		for (i = 0; i < n && rc == 0 && t->parts < TOK_MAX_PARTS; i++)
			rc = walk(t, g_mime_multipart_get_part(
			    GMIME_MULTIPART(obj), i), depth + 1, textbytes,
			    set);
		return rc;
	}
	if (!GMIME_IS_PART(obj) || t->parts++ >= TOK_MAX_PARTS)
		return 0;
	ct = g_mime_object_get_content_type(obj);
	type = ct != NULL ? g_mime_content_type_get_media_type(ct) : "text";
	sub = ct != NULL ? g_mime_content_type_get_media_subtype(ct) : "plain";
	if (type == NULL)
		type = "text";
	if (sub == NULL)
		sub = "plain";
	rc = type_tokens(obj, set);
	fn = g_mime_part_get_filename(GMIME_PART(obj));
	if (rc == 0 && fn != NULL)
		rc = tok_words(t, fn, strlen(fn), "file:", set);
	if (rc == 0 && strcasecmp(type, "text") == 0 &&
	    *textbytes < TOK_MAX_TEXT_BYTES) {
		rc = text_part(t, obj, strcasecmp(sub, "html") == 0, set);
		*textbytes += t->text.len;
	}
	return rc;
}

int
tok_message(struct tok *t, const char *buf, size_t len, struct tok_set *set)
{
	GMimeStream *st = NULL;
	GMimeParser *parser = NULL;
	GMimeMessage *msg = NULL;
	size_t textbytes = 0;
	int rc;

	t->parts = 0;
	rc = normalise(t, buf, len);
	if (rc != 0 || t->raw.len == 0)
		goto out;
	st = g_mime_stream_mem_new_with_buffer(t->raw.p, t->raw.len);
	parser = g_mime_parser_new_with_stream(st);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, t->popts);
	if (msg == NULL) {
		/* Not even headers: read it all as text (not after the
		 * previous message's text). */
		t->text.len = 0;
		rc = tok_to_utf8(t, NULL, t->raw.p, t->raw.len, &t->text);
		if (rc == 0)
			rc = tok_words(t, t->text.p, t->text.len, "", set);
		goto out;
	}
	rc = header_tokens(t, GMIME_OBJECT(msg), set);
	if (rc == 0 && !t->o.ignore_body)
		rc = walk(t, g_mime_message_get_mime_part(msg), 0, &textbytes,
		    set);
out:
	if (msg != NULL)
		g_object_unref(msg);
	if (parser != NULL)
		g_object_unref(parser);
	if (st != NULL)
		g_object_unref(st);
	/* Keep big buffers from one huge message from staying around. */
	if (t->raw.cap > 4 * 1024 * 1024)
		tbuf_release(&t->raw);
	if (t->text.cap > 4 * 1024 * 1024)
		tbuf_release(&t->text);
	if (t->dec.cap > 4 * 1024 * 1024)
		tbuf_release(&t->dec);
	return rc;
}

int
tok_text(struct tok *t, const char *utf8, size_t len, struct tok_set *set)
{
	int rc;

	t->text.len = 0;
	rc = tok_to_utf8(t, "UTF-8", utf8, len, &t->text);
	if (rc == 0 && t->text.len > 0)
		rc = tok_words(t, t->text.p, t->text.len, "", set);
	return rc;
}

void
tok_digest(const char *buf, size_t len,
    unsigned char digest[TOK_DIGEST_BYTES], char *msgid, size_t msgid_size)
{
	GChecksum *ck;
	size_t i, hend = len, idlen = 0, digest_len = TOK_DIGEST_BYTES;
	const char *id = NULL, *p;

	if (msgid != NULL && msgid_size > 0)
		msgid[0] = '\0';
	i = skip_from_line(buf, len);
	/* Find the end of the header block and the Message-ID in it. */
	while (i < len && i < TOK_MAX_HEADER_BYTES) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t e = nl == NULL ? len : (size_t)(nl - buf);

		if (e == i || (e == i + 1 && buf[i] == '\r')) {
			hend = e + 1;
			break;
		}
		if (id == NULL && e - i > 11 &&
		    strncasecmp(buf + i, "message-id:", 11) == 0) {
			p = buf + i + 11;
			while (p < buf + e && (*p == ' ' || *p == '\t' ||
			    *p == '<'))
				p++;
			id = p;
			while (p < buf + e && *p != '>' && *p != ' ' &&
			    *p != '\r')
				p++;
			idlen = (size_t)(p - id);
		}
		i = e + 1;
	}
	if (hend > len)
		hend = len;
	ck = g_checksum_new(G_CHECKSUM_SHA256);
	if (id != NULL)
		g_checksum_update(ck, (const guchar *)id, (gssize)idlen);
	g_checksum_update(ck, (const guchar *)"\n", 1);
	g_checksum_update(ck, (const guchar *)buf + hend,
	    (gssize)(len - hend));
	g_checksum_get_digest(ck, digest, &digest_len);
	g_checksum_free(ck);
	if (id != NULL && msgid != NULL && msgid_size > 0)
		snprintf(msgid, msgid_size, "%.*s", (int)idlen, id);
}
