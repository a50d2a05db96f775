/* SPDX-License-Identifier: MIT */
/*
 * html.c - HTML to the text a reader sees.
 *
 * Not a conforming HTML parser: a single forward pass that drops tags,
 * comments, <script> and <style>, decodes entities, keeps href/src URLs,
 * and sends text styled invisible (display:none, visibility:hidden, tiny
 * fonts, text coloured like its background) to a separate buffer, so that
 * hidden words become their own tokens instead of diluting the visible
 * ones.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tokenizer/tok_priv.h"

#define ENTITY_DIGITS_MAX 32	/* digits of a numeric entity read */

struct elem {
	char name[12];
	int hidden;
	int sets;		/* gave its text a colour or a background:
				 * fg and bg below are put back at its end */
	long fg, bg;		/* the text's colours before it */
};

struct html {
	struct tbuf *vis, *hid, *urls;
	struct elem stack[TOK_MAX_HTML_STACK];
	int depth;
	int hidden;		/* elements on the stack that hide */
	long fg;		/* text's colour now (colour()), COLOUR_NONE
				 * until an element gives one */
	long bg;		/* text's background now */
	int unreadable;		/* colour_hides(fg, bg), kept with them */
};

/* A named entity and its code point. */
struct named {
	const char *name;
	unsigned cp;
};

/* Entities HTML reads with or without their ';': Latin-1's, its legacy
 * set ("&copy" in "&copy 2002"). */
static const struct named entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "nbsp", ' ' }, { "copy", 0xA9 }, { "reg", 0xAE },
	{ "pound", 0xA3 }, { "yen", 0xA5 }, { "cent", 0xA2 },
	{ "laquo", 0xAB }, { "raquo", 0xBB },
	{ "middot", 0xB7 }, { "eacute", 0xE9 }, { "egrave", 0xE8 },
	{ "aacute", 0xE1 }, { "agrave", 0xE0 }, { "ouml", 0xF6 },
	{ "uuml", 0xFC }, { "auml", 0xE4 }, { "szlig", 0xDF },
	{ "ccedil", 0xE7 }, { "ntilde", 0xF1 }, { "iexcl", 0xA1 },
	{ "iquest", 0xBF }, { "times", 0xD7 }, { "deg", 0xB0 },
	{ "shy", 0xAD },
	/* HTML's legacy capitals, and the rest of Latin-1's letters. */
	{ "AMP", '&' }, { "LT", '<' }, { "GT", '>' }, { "QUOT", '"' },
	{ "Agrave", 0xC0 }, { "Aacute", 0xC1 }, { "Acirc", 0xC2 },
	{ "Atilde", 0xC3 }, { "Auml", 0xC4 }, { "Aring", 0xC5 },
	{ "AElig", 0xC6 }, { "Ccedil", 0xC7 }, { "Egrave", 0xC8 },
	{ "Eacute", 0xC9 }, { "Ecirc", 0xCA }, { "Euml", 0xCB },
	{ "Igrave", 0xCC }, { "Iacute", 0xCD }, { "Icirc", 0xCE },
	{ "Iuml", 0xCF }, { "ETH", 0xD0 }, { "Ntilde", 0xD1 },
	{ "Ograve", 0xD2 }, { "Oacute", 0xD3 }, { "Ocirc", 0xD4 },
	{ "Otilde", 0xD5 }, { "Ouml", 0xD6 }, { "Oslash", 0xD8 },
	{ "Ugrave", 0xD9 }, { "Uacute", 0xDA }, { "Ucirc", 0xDB },
	{ "Uuml", 0xDC }, { "Yacute", 0xDD }, { "THORN", 0xDE },
	{ "acirc", 0xE2 }, { "atilde", 0xE3 }, { "aring", 0xE5 },
	{ "aelig", 0xE6 }, { "ecirc", 0xEA }, { "euml", 0xEB },
	{ "igrave", 0xEC }, { "iacute", 0xED }, { "icirc", 0xEE },
	{ "iuml", 0xEF }, { "eth", 0xF0 }, { "ograve", 0xF2 },
	{ "oacute", 0xF3 }, { "ocirc", 0xF4 }, { "otilde", 0xF5 },
	{ "oslash", 0xF8 }, { "ugrave", 0xF9 }, { "uacute", 0xFA },
	{ "ucirc", 0xFB }, { "yacute", 0xFD }, { "thorn", 0xFE },
	{ "yuml", 0xFF }, { "ordf", 0xAA }, { "ordm", 0xBA },
	{ "sect", 0xA7 }, { "para", 0xB6 }, { "plusmn", 0xB1 },
	{ "frac12", 0xBD }, { "frac14", 0xBC }, { "frac34", 0xBE },
	{ "sup1", 0xB9 }, { "sup2", 0xB2 }, { "sup3", 0xB3 },
	{ "micro", 0xB5 }, { "divide", 0xF7 }, { "not", 0xAC },
	{ "curren", 0xA4 }, { "macr", 0xAF }, { "uml", 0xA8 },
	{ "acute", 0xB4 }, { "cedil", 0xB8 }, { "brvbar", 0xA6 },
	{ "COPY", 0xA9 }, { "REG", 0xAE },
};

/* Entities HTML reads only with their ';' ("&hearts;", not "&heartsick";
 * "&trade;", not "&trademark"): typographic marks, arrows, card suits,
 * spaces and the like, which spam decorates with. */
static const struct named entities_semi[] = {
	{ "apos", '\'' }, { "trade", 0x2122 }, { "euro", 0x20AC },
	{ "mdash", 0x2014 }, { "ndash", 0x2013 }, { "hellip", 0x2026 },
	{ "ldquo", 0x201C }, { "rdquo", 0x201D }, { "lsquo", 0x2018 },
	{ "rsquo", 0x2019 }, { "bull", 0x2022 }, { "zwnj", 0x200C },
	{ "zwj", 0x200D }, { "oelig", 0x153 }, { "OElig", 0x152 },
	{ "scaron", 0x161 }, { "Scaron", 0x160 },
	{ "hearts", 0x2665 }, { "spades", 0x2660 }, { "clubs", 0x2663 },
	{ "diams", 0x2666 }, { "rarr", 0x2192 }, { "larr", 0x2190 },
	{ "uarr", 0x2191 }, { "darr", 0x2193 }, { "harr", 0x2194 },
	{ "rArr", 0x21D2 }, { "lArr", 0x21D0 }, { "star", 0x2606 },
	{ "starf", 0x2605 }, { "check", 0x2713 }, { "cross", 0x2717 },
	{ "phone", 0x260E }, { "female", 0x2640 }, { "male", 0x2642 },
	{ "sung", 0x266A }, { "loz", 0x25CA }, { "squ", 0x25A1 },
	{ "ensp", 0x2002 }, { "emsp", 0x2003 }, { "thinsp", 0x2009 },
	{ "hairsp", 0x200A }, { "numsp", 0x2007 }, { "puncsp", 0x2008 },
	{ "NoBreak", 0x2060 }, { "ZeroWidthSpace", 0x200B },
	{ "lrm", 0x200E }, { "rlm", 0x200F },
	{ "lsaquo", 0x2039 }, { "rsaquo", 0x203A }, { "sbquo", 0x201A },
	{ "bdquo", 0x201E }, { "dagger", 0x2020 }, { "Dagger", 0x2021 },
	{ "permil", 0x2030 }, { "prime", 0x2032 }, { "Prime", 0x2033 },
	{ "oline", 0x203E }, { "frasl", 0x2044 }, { "minus", 0x2212 },
	{ "infin", 0x221E }, { "ne", 0x2260 }, { "le", 0x2264 },
	{ "ge", 0x2265 }, { "asymp", 0x2248 }, { "fnof", 0x192 },
	{ "circ", 0x2C6 }, { "tilde", 0x2DC }, { "Yuml", 0x178 },
	{ "quest", '?' }, { "excl", '!' },
	{ "dollar", '$' }, { "percnt", '%' }, { "commat", '@' },
	{ "period", '.' }, { "comma", ',' }, { "colon", ':' },
	{ "semi", ';' }, { "lowbar", '_' }, { "hyphen", 0x2010 },
	{ "dash", 0x2010 }, { "lpar", '(' }, { "rpar", ')' },
	{ "sol", '/' }, { "num", '#' }, { "plus", '+' }, { "equals", '=' },
	{ "ast", '*' }, { "Hat", '^' }, { "grave", '`' },
	{ "lsqb", '[' }, { "rsqb", ']' }, { "lcub", '{' }, { "rcub", '}' },
	{ "verbar", '|' }, { "bsol", '\\' }, { "Tab", '\t' },
	{ "NewLine", '\n' },
};

/* HTML's reading of numeric references 0x80-0x9F: Windows-1252's
 * characters there ("don&#146;t" is "don’t"), 0 where it has none. */
static const unsigned short c1_cp1252[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

static int
put_cp(struct tbuf *b, unsigned cp)
{
	char o[4];

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (tok_invisible(cp))
		return 0;	/* must not split a word */
	if (cp < 0x80) {
		o[0] = (char)cp;
		return tbuf_add(b, o, 1);
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return tbuf_add(b, o, 2);
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return tbuf_add(b, o, 3);
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return tbuf_add(b, o, 4);
}

/* The first entity of table t[0, nt) named at s + 1 (s[0] == '&', n
 * bytes), followed by a ';' (taken too) if semi, or by one if any: its
 * code point, *used its bytes; *used 0 when none is. */
static unsigned
named_entity(const struct named *t, size_t nt, int semi, const char *s,
    size_t n, size_t *used)
{
	size_t k, l;

	*used = 0;
	for (k = 0; k < nt; k++) {
		if (t[k].name[0] != s[1])
			continue;
		l = strlen(t[k].name);
		if (l + 1 + (size_t)semi > n ||
		    strncmp(s + 1, t[k].name, l) != 0 ||
		    (semi && s[l + 1] != ';'))
			continue;
		*used = l + 1 + (l + 1 < n && s[l + 1] == ';');
		return t[k].cp;
	}
	return 0;
}

/* Decode the entity at s[0] == '&'; *used gets the bytes consumed (0 when
 * it is no entity).  Returns the code point. */
static unsigned
entity(const char *s, size_t n, size_t *used)
{
	size_t i;
	unsigned long cp = 0;
	int digits = 0;

	*used = 0;
	if (n < 3)
		return 0;
	if (s[1] == '#') {
		i = 2;
		/* All the digits go (up to ENTITY_DIGITS_MAX), whatever the
		 * value: past U+10FFFF it is U+FFFD, not a number left in the
		 * text. */
		if (i < n && (s[i] == 'x' || s[i] == 'X')) {
			for (i++; i < n && digits < ENTITY_DIGITS_MAX &&
			    isxdigit((unsigned char)s[i]); i++, digits++)
				if (cp <= 0x10FFFF)
					cp = cp * 16 + (unsigned long)(isdigit(
					    (unsigned char)s[i]) ? s[i] - '0' :
					    (tolower((unsigned char)s[i]) -
					    'a' + 10));
		} else {
			for (; i < n && digits < ENTITY_DIGITS_MAX &&
			    isdigit((unsigned char)s[i]); i++, digits++)
				if (cp <= 0x10FFFF)
					cp = cp * 10 +
					    (unsigned long)(s[i] - '0');
		}
		if (digits == 0)
			return 0;
		if (i < n && s[i] == ';')
			i++;
		*used = i;
		if (cp >= 0x80 && cp <= 0x9F && c1_cp1252[cp - 0x80] != 0)
			return c1_cp1252[cp - 0x80];
		return cp > 0x10FFFF ? 0xFFFD : (unsigned)cp;
	}
	cp = named_entity(entities_semi, sizeof(entities_semi) /
	    sizeof(entities_semi[0]), 1, s, n, used);
	if (*used == 0)
		cp = named_entity(entities, sizeof(entities) /
		    sizeof(entities[0]), 0, s, n, used);
	return (unsigned)cp;
}

/* The attributes handle_tag and tag_hides read. */
enum attr_id {
	A_HREF, A_SRC, A_ACTION, A_ALT, A_BGCOLOR, A_STYLE, A_HIDDEN,
	A_COLOR, A_SIZE, A_TEXT, A_COUNT
};

static const struct {
	const char *name;
	size_t len;
} attr_names[A_COUNT] = {
	[A_HREF] = { "href", 4 }, [A_SRC] = { "src", 3 },
	[A_ACTION] = { "action", 6 }, [A_ALT] = { "alt", 3 },
	[A_BGCOLOR] = { "bgcolor", 7 }, [A_STYLE] = { "style", 5 },
	[A_HIDDEN] = { "hidden", 6 }, [A_COLOR] = { "color", 5 },
	[A_SIZE] = { "size", 4 }, [A_TEXT] = { "text", 4 },
};

/* Where each attribute's value starts in a tag's text (after the '='
 * and any spaces), or 0 when absent (a value never starts at 0), or
 * AT_EMPTY when it has no value. */
#define AT_EMPTY	((size_t)-1)
struct attrs {
	const char *tag;
	size_t n;
	size_t at[A_COUNT];
};

static int
tag_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* One attribute of a tag as HTML's tokenizer reads it: its name
 * [nb, ne) and where its value starts, v (0 when it has none: a value
 * never starts at 0, the tag's name being first); open when its quoted
 * value never closes. */
struct tag_attr {
	size_t nb, ne, v;
	int open;
};

/* Where a tag's name ends in its text s[0, n). */
static size_t
tag_name_end(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && !tag_space(s[i]) && s[i] != '/' && s[i] != '>')
		i++;
	return i;
}

/* The next attribute of a tag's text s[0, n) from *i on, past the
 * blanks and '/' before it: a name ends at a blank, '/', '=' or '>'
 * (an '=' first is part of it), and a value after '=' is quoted (a '>'
 * inside does not end the tag) or runs to a blank or '>'.  1 with *ta
 * filled and *i past it, 0 at the end of the text or at a '>' that
 * ends the tag (*i at it).  A quoted value that never closes runs to
 * the end (ta->open).  Every step moves *i on: bounded by n. */
static int
tag_attr(const char *s, size_t n, size_t *i, struct tag_attr *ta)
{
	const char *q;
	size_t k = *i;

	while (k < n && (tag_space(s[k]) || s[k] == '/'))
		k++;
	if (k >= n || s[k] == '>') {
		*i = k;
		return 0;
	}
	ta->nb = k++;
	while (k < n && !tag_space(s[k]) && s[k] != '/' && s[k] != '=' &&
	    s[k] != '>')
		k++;
	ta->ne = k;
	while (k < n && tag_space(s[k]))
		k++;
	ta->v = 0;
	ta->open = 0;
	if (k < n && s[k] == '=') {
		for (k++; k < n && tag_space(s[k]); k++)
			;
		ta->v = k;
		if (k < n && (s[k] == '"' || s[k] == '\'')) {
			q = memchr(s + k + 1, s[k], n - k - 1);
			ta->open = q == NULL;
			k = q == NULL ? n : (size_t)(q - s) + 1;
		} else {
			while (k < n && !tag_space(s[k]) && s[k] != '>')
				k++;
		}
	}
	*i = k;
	return 1;
}

/* The attributes of attr_names in a tag's text (its name first, no
 * '<' or '>'), read by tag_attr as HTML's tokenizer reads them.  A
 * name inside another attribute's value names nothing: a title of
 * "hidden" hid its element's text, and title="... href=..." gave a
 * decoy link (found by review).  The first of a name counts, as in a
 * browser, with or without a value (<div hidden>: AT_EMPTY). */
static void
attrs_scan(struct attrs *a, const char *tag, size_t n)
{
	struct tag_attr ta;
	size_t i = tag_name_end(tag, n);
	int id;

	memset(a, 0, sizeof(*a));
	a->tag = tag;
	a->n = n;
	while (tag_attr(tag, n, &i, &ta)) {
		for (id = 0; id < A_COUNT; id++) {
			if (a->at[id] != 0 ||
			    ta.ne - ta.nb != attr_names[id].len ||
			    strncasecmp(tag + ta.nb, attr_names[id].name,
			    ta.ne - ta.nb) != 0)
				continue;
			/* Without a value it is there, empty: a later one of
			 * the same name counts no more than in a browser
			 * (<span style style="display:none"> shows). */
			a->at[id] = ta.v != 0 ? ta.v : AT_EMPTY;
			break;
		}
	}
}

/* Copy attribute id's value into val (case kept as is); 1 when the tag
 * has it. */
static int
attr(const struct attrs *a, enum attr_id id, char *val, size_t valsz)
{
	size_t j = a->at[id], k;
	char q;

	if (j == 0)
		return 0;
	if (j == AT_EMPTY) {
		val[0] = '\0';
		return 1;
	}
	q = (j < a->n && (a->tag[j] == '"' || a->tag[j] == '\'')) ?
	    a->tag[j] : 0;
	if (q)
		j++;
	for (k = 0; j < a->n && k + 1 < valsz; j++) {
		if (q ? a->tag[j] == q : (isspace((unsigned char)a->tag[j]) ||
		    a->tag[j] == '>'))
			break;
		val[k++] = a->tag[j];
	}
	val[k] = '\0';
	return 1;
}

#define COLOUR_NONE	(-1L)	/* no colour, or none we read */
#define COLOUR_CLEAR	(-2L)	/* transparent: what is under it shows */
#define COLOUR_NEAR	24	/* |dr| + |dg| + |db| that reads as same */
#define COLOUR_WORD_MAX	32	/* bytes of a colour name compared */
#define LEGACY_MAX	128	/* characters of an old colour attribute */
#define CLEAR_ALPHA	0.1	/* an alpha at most this is transparent */
#define CSS_NUM_MAX	1e9	/* a CSS number's value kept at most */
#define CSS_EXP_MAX	100	/* and the exponent read */


/* CSS's named colours, sorted for bsearch. */
static const struct colour_name {
	const char *name;
	long rgb;
} colours[] = {
	{ "aliceblue", 0xF0F8FF }, { "antiquewhite", 0xFAEBD7 },
	{ "aqua", 0x00FFFF }, { "aquamarine", 0x7FFFD4 },
	{ "azure", 0xF0FFFF }, { "beige", 0xF5F5DC }, { "bisque", 0xFFE4C4 },
	{ "black", 0x000000 }, { "blanchedalmond", 0xFFEBCD },
	{ "blue", 0x0000FF }, { "blueviolet", 0x8A2BE2 },
	{ "brown", 0xA52A2A }, { "burlywood", 0xDEB887 },
	{ "cadetblue", 0x5F9EA0 }, { "chartreuse", 0x7FFF00 },
	{ "chocolate", 0xD2691E }, { "coral", 0xFF7F50 },
	{ "cornflowerblue", 0x6495ED }, { "cornsilk", 0xFFF8DC },
	{ "crimson", 0xDC143C }, { "cyan", 0x00FFFF },
	{ "darkblue", 0x00008B }, { "darkcyan", 0x008B8B },
	{ "darkgoldenrod", 0xB8860B }, { "darkgray", 0xA9A9A9 },
	{ "darkgreen", 0x006400 }, { "darkgrey", 0xA9A9A9 },
	{ "darkkhaki", 0xBDB76B }, { "darkmagenta", 0x8B008B },
	{ "darkolivegreen", 0x556B2F }, { "darkorange", 0xFF8C00 },
	{ "darkorchid", 0x9932CC }, { "darkred", 0x8B0000 },
	{ "darksalmon", 0xE9967A }, { "darkseagreen", 0x8FBC8F },
	{ "darkslateblue", 0x483D8B }, { "darkslategray", 0x2F4F4F },
	{ "darkslategrey", 0x2F4F4F }, { "darkturquoise", 0x00CED1 },
	{ "darkviolet", 0x9400D3 }, { "deeppink", 0xFF1493 },
	{ "deepskyblue", 0x00BFFF }, { "dimgray", 0x696969 },
	{ "dimgrey", 0x696969 }, { "dodgerblue", 0x1E90FF },
	{ "firebrick", 0xB22222 }, { "floralwhite", 0xFFFAF0 },
	{ "forestgreen", 0x228B22 }, { "fuchsia", 0xFF00FF },
	{ "gainsboro", 0xDCDCDC }, { "ghostwhite", 0xF8F8FF },
	{ "gold", 0xFFD700 }, { "goldenrod", 0xDAA520 }, { "gray", 0x808080 },
	{ "green", 0x008000 }, { "greenyellow", 0xADFF2F },
	{ "grey", 0x808080 }, { "honeydew", 0xF0FFF0 },
	{ "hotpink", 0xFF69B4 }, { "indianred", 0xCD5C5C },
	{ "indigo", 0x4B0082 }, { "ivory", 0xFFFFF0 }, { "khaki", 0xF0E68C },
	{ "lavender", 0xE6E6FA }, { "lavenderblush", 0xFFF0F5 },
	{ "lawngreen", 0x7CFC00 }, { "lemonchiffon", 0xFFFACD },
	{ "lightblue", 0xADD8E6 }, { "lightcoral", 0xF08080 },
	{ "lightcyan", 0xE0FFFF }, { "lightgoldenrodyellow", 0xFAFAD2 },
	{ "lightgray", 0xD3D3D3 }, { "lightgreen", 0x90EE90 },
	{ "lightgrey", 0xD3D3D3 }, { "lightpink", 0xFFB6C1 },
	{ "lightsalmon", 0xFFA07A }, { "lightseagreen", 0x20B2AA },
	{ "lightskyblue", 0x87CEFA }, { "lightslategray", 0x778899 },
	{ "lightslategrey", 0x778899 }, { "lightsteelblue", 0xB0C4DE },
	{ "lightyellow", 0xFFFFE0 }, { "lime", 0x00FF00 },
	{ "limegreen", 0x32CD32 }, { "linen", 0xFAF0E6 },
	{ "magenta", 0xFF00FF }, { "maroon", 0x800000 },
	{ "mediumaquamarine", 0x66CDAA }, { "mediumblue", 0x0000CD },
	{ "mediumorchid", 0xBA55D3 }, { "mediumpurple", 0x9370DB },
	{ "mediumseagreen", 0x3CB371 }, { "mediumslateblue", 0x7B68EE },
	{ "mediumspringgreen", 0x00FA9A }, { "mediumturquoise", 0x48D1CC },
	{ "mediumvioletred", 0xC71585 }, { "midnightblue", 0x191970 },
	{ "mintcream", 0xF5FFFA }, { "mistyrose", 0xFFE4E1 },
	{ "moccasin", 0xFFE4B5 }, { "navajowhite", 0xFFDEAD },
	{ "navy", 0x000080 }, { "oldlace", 0xFDF5E6 }, { "olive", 0x808000 },
	{ "olivedrab", 0x6B8E23 }, { "orange", 0xFFA500 },
	{ "orangered", 0xFF4500 }, { "orchid", 0xDA70D6 },
	{ "palegoldenrod", 0xEEE8AA }, { "palegreen", 0x98FB98 },
	{ "paleturquoise", 0xAFEEEE }, { "palevioletred", 0xDB7093 },
	{ "papayawhip", 0xFFEFD5 }, { "peachpuff", 0xFFDAB9 },
	{ "peru", 0xCD853F }, { "pink", 0xFFC0CB }, { "plum", 0xDDA0DD },
	{ "powderblue", 0xB0E0E6 }, { "purple", 0x800080 },
	{ "red", 0xFF0000 }, { "rosybrown", 0xBC8F8F },
	{ "royalblue", 0x4169E1 }, { "saddlebrown", 0x8B4513 },
	{ "salmon", 0xFA8072 }, { "sandybrown", 0xF4A460 },
	{ "seagreen", 0x2E8B57 }, { "seashell", 0xFFF5EE },
	{ "sienna", 0xA0522D }, { "silver", 0xC0C0C0 },
	{ "skyblue", 0x87CEEB }, { "slateblue", 0x6A5ACD },
	{ "slategray", 0x708090 }, { "slategrey", 0x708090 },
	{ "snow", 0xFFFAFA }, { "springgreen", 0x00FF7F },
	{ "steelblue", 0x4682B4 }, { "tan", 0xD2B48C }, { "teal", 0x008080 },
	{ "thistle", 0xD8BFD8 }, { "tomato", 0xFF6347 },
	{ "turquoise", 0x40E0D0 }, { "violet", 0xEE82EE },
	{ "wheat", 0xF5DEB3 }, { "white", 0xFFFFFF },
	{ "whitesmoke", 0xF5F5F5 }, { "yellow", 0xFFFF00 },
	{ "yellowgreen", 0x9ACD32 },
};

static int
colour_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct colour_name *)e)->name);
}

/* The named colour w[0, n) (any case), else COLOUR_NONE. */
static long
colour_named(const char *w, size_t n)
{
	char k[COLOUR_WORD_MAX + 1];
	const struct colour_name *c;
	size_t i;

	if (n == 0 || n > COLOUR_WORD_MAX)
		return COLOUR_NONE;
	for (i = 0; i < n; i++)
		k[i] = (char)tolower((unsigned char)w[i]);
	k[n] = '\0';
	c = bsearch(k, colours, sizeof(colours) / sizeof(colours[0]),
	    sizeof(colours[0]), colour_cmp);
	return c != NULL ? c->rgb : COLOUR_NONE;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "#rgb", "#rgba", "#rrggbb" or "#rrggbbaa" (the '#' may be left out of
 * the first and third, as browsers allow in mail's quirks mode) as
 * 0xRRGGBB, COLOUR_CLEAR for an alpha of about 0, else COLOUR_NONE. */
static long
colour_hex(const char *w, size_t n)
{
	long v = 0, alpha = 0xFF;
	size_t i, digits;
	int d, hash = n > 0 && w[0] == '#';

	w += hash;
	n -= (size_t)hash;
	if (n != 3 && n != 6 && (!hash || (n != 4 && n != 8)))
		return COLOUR_NONE;
	digits = n == 3 || n == 6 ? n : n - n / 4;	/* the rest: alpha */
	if (digits < n)
		alpha = 0;
	for (i = 0; i < n; i++) {
		if ((d = hexval((unsigned char)w[i])) < 0)
			return COLOUR_NONE;
		if (i < digits)
			v = n <= 4 ? v << 8 | d << 4 | d : v << 4 | d;
		else
			alpha = n == 4 ? d * 17 : alpha << 4 | d;
	}
	return alpha <= 0xFF * CLEAR_ALPHA ? COLOUR_CLEAR : v;
}

/* A CSS number at *p ([+-]digits[.digits][e[+-]digits], no hex, "nan"
 * or "inf"), its '%' if any (then *pct = 1): 0 with *p past it, -1.
 * Its value is kept within +-CSS_NUM_MAX (past it, any colour channel
 * is full). */
static int
css_num(const char **p, double *x, int *pct)
{
	const char *s = *p;
	double v = 0, f = 0.1;
	int neg = 0, digits = 0, ex = 0, eneg = 0;

	while (*s == ' ')
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	for (; *s >= '0' && *s <= '9'; s++, digits++)
		if (v < CSS_NUM_MAX)
			v = v * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++, f /= 10)
			v += f * (*s - '0');
	if (digits == 0)
		return -1;
	if ((*s == 'e' || *s == 'E') && (isdigit((unsigned char)s[1]) ||
	    ((s[1] == '+' || s[1] == '-') && isdigit((unsigned char)s[2])))) {
		s++;
		if (*s == '+' || *s == '-')
			eneg = *s++ == '-';
		for (; *s >= '0' && *s <= '9'; s++)
			if (ex < CSS_EXP_MAX)
				ex = ex * 10 + (*s - '0');
		for (; ex > 0 && v < CSS_NUM_MAX && v > 0; ex--)
			v = eneg ? v / 10 : v * 10;
	}
	if (v > CSS_NUM_MAX)
		v = CSS_NUM_MAX;
	*pct = *s == '%';
	s += *pct;
	*x = neg ? -v : v;
	*p = s;
	return 0;
}

static long
clamp_byte(double x)
{
	return x < 0 ? 0 : x > 255 ? 255 : (long)(x + 0.5);
}

/* One channel (n: 0 red, 8 green, 4 blue) of HSL (h in degrees, s
 * and l from 0 to 1), from 0 to 1: CSS Color 4's hslToRgb. */
static double
hsl_channel(double h, double s, double l, int n)
{
	double k = fmod(n + h / 30, 12), a = s * (l < 1 - l ? l : 1 - l);
	double m = k - 3 < 9 - k ? k - 3 : 9 - k;

	m = m < 1 ? m : 1;
	return l - a * (m > -1 ? m : -1);
}

/* HSL as 0xRRGGBB. */
static long
hsl_rgb(double h, double s, double l)
{
	h = fmod(h, 360);
	if (h < 0)
		h += 360;
	return clamp_byte(hsl_channel(h, s, l, 0) * 255) << 16 |
	    clamp_byte(hsl_channel(h, s, l, 8) * 255) << 8 |
	    clamp_byte(hsl_channel(h, s, l, 4) * 255);
}

/* rgb(), rgba(), hsl() or hsla() at w (NUL-ended): three components
 * (numbers or percentages, commas or spaces between), then an alpha
 * after ',' or '/' if any.  0xRRGGBB, COLOUR_CLEAR for an alpha of about
 * 0, else COLOUR_NONE. */
static long
colour_fn(const char *w)
{
	double x[4] = { 0, 0, 0, 1 };
	const char *p;
	int k, pct, hsl = tolower((unsigned char)w[0]) == 'h';

	p = strchr(w, '(') + 1;		/* colour() found it */
	for (k = 0; k < 4; k++) {
		while (*p == ' ' || *p == ',' || (k == 3 && *p == '/'))
			p++;
		if (k == 3 && (*p == ')' || *p == '\0'))
			break;		/* no alpha (the style may end first) */
		if (css_num(&p, &x[k], &pct) != 0)
			return COLOUR_NONE;
		if (hsl && k == 0 && strncasecmp(p, "deg", 3) == 0)
			p += 3;
		if (pct)
			x[k] = k == 3 || hsl ? x[k] / 100 : x[k] * 255 / 100;
	}
	if (x[3] <= CLEAR_ALPHA)
		return COLOUR_CLEAR;
	if (hsl)
		return hsl_rgb(x[0], x[1] < 0 ? 0 : x[1] > 1 ? 1 : x[1],
		    x[2] < 0 ? 0 : x[2] > 1 ? 1 : x[2]);
	return clamp_byte(x[0]) << 16 | clamp_byte(x[1]) << 8 |
	    clamp_byte(x[2]);
}

/* A CSS colour value (of color, background-color, or the first colour
 * among the words of a "background" shorthand, "#fff url(x.png)
 * no-repeat"): 0xRRGGBB, COLOUR_CLEAR for transparent, or COLOUR_NONE
 * (none given: "none", "inherit", an unknown word). */
static long
colour(const char *in)
{
	const char *p = in, *fn;
	size_t n;
	long v;

	/* The first "rgb(" or "hsl(" (with or without an 'a'), not inside
	 * a "url(...)". */
	for (fn = in; (fn = strpbrk(fn, "rRhHuU")) != NULL; fn++) {
		if (strncasecmp(fn, "url(", 4) == 0) {
			fn = strchr(fn, ')');
			if (fn == NULL)
				break;
			continue;
		}
		if ((strncasecmp(fn, "rgb", 3) == 0 ||
		    strncasecmp(fn, "hsl", 3) == 0) && (fn[3] == '(' ||
		    (tolower((unsigned char)fn[3]) == 'a' && fn[4] == '(')))
			return colour_fn(fn);
	}
	/* Bounded by in's NUL: each word moves p on. */
	for (;;) {
		while (*p != '\0' && (isspace((unsigned char)*p) || *p == ';'))
			p++;
		if (*p == '\0')
			return COLOUR_NONE;
		for (n = 0; p[n] != '\0' && !isspace((unsigned char)p[n]) &&
		    p[n] != ';'; n++)
			;
		if (n == 11 && strncasecmp(p, "transparent", 11) == 0)
			return COLOUR_CLEAR;
		if ((v = colour_hex(p, n)) != COLOUR_NONE ||
		    (v = colour_named(p, n)) != COLOUR_NONE)
			return v;
		p += n;
	}
}

/* An old HTML colour attribute (font color, bgcolor) as a browser reads
 * it: a name, "#rgb", else each character not a hex digit taken as '0',
 * the rest cut in three and each third to its last two significant
 * digits ("ffffffff" and "fffffg" are white enough to hide).  0xRRGGBB,
 * or COLOUR_NONE (empty, "transparent"). */
static long
colour_legacy(const char *in)
{
	char d[LEGACY_MAX + 3];
	const unsigned char *u;
	size_t n, k = 0, third, i, skip, hash;
	long v = 0, c;
	int part;

	while (isspace((unsigned char)*in))
		in++;
	n = strlen(in);
	while (n > 0 && isspace((unsigned char)in[n - 1]))
		n--;
	if (n == 0 || (n == 11 && strncasecmp(in, "transparent", 11) == 0))
		return COLOUR_NONE;
	if ((c = colour_named(in, n)) != COLOUR_NONE)
		return c;
	if (n == 4 && in[0] == '#' && (c = colour_hex(in, 4)) >= 0)
		return c;
	/* One digit a character (a character past U+FFFF: two), cut to
	 * LEGACY_MAX characters the '#' included, as HTML cuts first. */
	hash = in[0] == '#';
	u = (const unsigned char *)in + hash;
	n -= hash;
	for (i = 0; i < n && k < LEGACY_MAX - hash; i++) {
		if (u[i] >= 0xF0) {
			d[k++] = '0';
			d[k++] = '0';
		} else if (u[i] >= 0x80) {
			if ((u[i] & 0xC0) == 0xC0)
				d[k++] = '0';	/* a character's lead byte */
		} else
			d[k++] = hexval(u[i]) >= 0 ? (char)u[i] : '0';
	}
	if (k > LEGACY_MAX - hash)
		k = LEGACY_MAX - hash;
	while (k == 0 || k % 3 != 0)
		d[k++] = '0';
	third = k / 3;
	skip = third > 8 ? third - 8 : 0;
	/* Leading zeros common to all three go, down to two digits. */
	while (third - skip > 2 && d[skip] == '0' && d[third + skip] == '0' &&
	    d[2 * third + skip] == '0')
		skip++;
	for (part = 0; part < 3; part++) {
		c = 0;
		for (i = skip; i < third && i < skip + 2; i++)
			c = c << 4 | hexval((unsigned char)d[part * third + i]);
		v = v << 8 | c;
	}
	return v;
}

/* Whether text in colour fg cannot be read on bg: colours COLOUR_NEAR
 * apart at most (#fefefe on white). */
static int
same_colour(long fg, long bg)
{
	long d = 0;
	int k;

	if (fg < 0 || bg < 0)
		return 0;
	for (k = 0; k < 24; k += 8)
		d += labs((fg >> k & 0xFF) - (bg >> k & 0xFF));
	return d <= COLOUR_NEAR;
}

/* Whether text in colour fg (a colour() or colour_legacy() value) hides
 * on bg: near it, or transparent. */
static int
colour_hides(long fg, long bg)
{
	return fg == COLOUR_CLEAR || same_colour(fg, bg);
}

/* One declaration of a style attribute: its property's name and its
 * value (blanks around them left out), and whether it is !important. */
struct decl {
	const char *name, *val;
	size_t nlen, vlen;
	int imp;
};

/* The next declaration at *pp in a style's text (NUL-ended): 1 with d
 * filled and *pp past it, 0 at the end.  A declaration ends at a ';'
 * outside parentheses and quotes ("url(a?color:red;x)" is one value);
 * one without a ':' is skipped. */
static int
css_decl(const char **pp, struct decl *d)
{
	const char *p = *pp, *e, *c, *x;
	int depth = 0;
	char q = 0;

	/* Each declaration moves p on: bounded by the text's length. */
	for (;;) {
		while (*p == ';' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			return 0;
		for (e = p; *e != '\0'; e++) {
			if (q != 0) {
				q = *e == q ? 0 : q;
				continue;
			}
			if (*e == '"' || *e == '\'')
				q = *e;
			else if (*e == '(')
				depth++;
			else if (*e == ')' && depth > 0)
				depth--;
			else if (*e == ';' && depth == 0)
				break;
		}
		c = memchr(p, ':', (size_t)(e - p));
		if (c == NULL) {
			p = e;
			continue;
		}
		*pp = e;
		d->name = p;
		for (x = c; x > p && isspace((unsigned char)x[-1]); x--)
			;
		d->nlen = (size_t)(x - p);
		for (p = c + 1; p < e && isspace((unsigned char)*p); p++)
			;
		while (e > p && isspace((unsigned char)e[-1]))
			e--;
		/* "!important", '!' and the word maybe apart. */
		d->imp = 0;
		if (e - p >= 9 && strncasecmp(e - 9, "important", 9) == 0) {
			for (x = e - 9; x > p && isspace((unsigned char)x[-1]);
			    x--)
				;
			if (x > p && x[-1] == '!') {
				d->imp = 1;
				for (e = x - 1; e > p &&
				    isspace((unsigned char)e[-1]); e--)
					;
			}
		}
		d->val = p;
		d->vlen = (size_t)(e - p);
		return 1;
	}
}

/* CSS-wide keywords, valid for any property. */
static int
css_global(const char *v)
{
	return strcmp(v, "inherit") == 0 || strcmp(v, "initial") == 0 ||
	    strcmp(v, "unset") == 0 || strcmp(v, "revert") == 0;
}

/* Whether a colour property's value v, which colour() reads as c, is
 * one a browser keeps: a colour, a keyword, and for a background (bg)
 * an image or none. */
static int
valid_colour(const char *v, long c, int bg)
{
	return c != COLOUR_NONE || css_global(v) ||
	    strcmp(v, "currentcolor") == 0 || (bg && (strstr(v, "url(") !=
	    NULL || strstr(v, "gradient(") != NULL || strcmp(v, "none") == 0));
}

static int
valid_display(const char *v)
{
	static const char *const ok[] = { "none", "block", "inline",
	    "inline-block", "flex", "inline-flex", "grid", "inline-grid",
	    "table", "inline-table", "table-row", "table-cell",
	    "table-row-group", "table-header-group", "table-footer-group",
	    "table-column", "table-column-group", "table-caption",
	    "list-item", "contents", "flow-root", "run-in" };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(v, ok[i]) == 0)
			return 1;
	return css_global(v);
}

static int
valid_visibility(const char *v)
{
	return strcmp(v, "visible") == 0 || strcmp(v, "hidden") == 0 ||
	    strcmp(v, "collapse") == 0 || css_global(v);
}

/* A font size: a keyword, or a length or percentage. */
static int
valid_font_size(const char *v)
{
	static const char *const kw[] = { "xx-small", "x-small", "small",
	    "medium", "large", "x-large", "xx-large", "xxx-large", "smaller",
	    "larger" };
	static const char *const units[] = { "px", "pt", "em", "rem", "ex",
	    "ch", "vw", "vh", "vmin", "vmax", "cm", "mm", "in", "pc", "q" };
	double x;
	int pct;
	size_t i;

	for (i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strcmp(v, kw[i]) == 0)
			return 1;
	if (css_global(v))
		return 1;
	if (css_num(&v, &x, &pct) != 0 || x < 0)
		return 0;
	while (*v == ' ')
		v++;
	if (pct || *v == '\0')
		return pct ? *v == '\0' : x == 0;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(v, units[i]) == 0)
			return 1;
	return 0;
}

/* A CSS font size no one reads: 0 of anything, up to 2 px or pt, a
 * fifth of an em, 20 %.  ("0.9em" is small print, not hidden: the
 * first digit alone made it so.) */
static int
tiny_font(const char *v)
{
	double x;
	int pct;

	if (v[0] == '\0' || css_num(&v, &x, &pct) != 0 || x < 0)
		return 0;
	while (*v == ' ')
		v++;
	if (x == 0)
		return 1;
	if (pct)
		return x <= 20;
	if (*v == '\0' || strcmp(v, "px") == 0 || strcmp(v, "pt") == 0)
		return x <= 2;
	if (strcmp(v, "em") == 0 || strcmp(v, "rem") == 0)
		return x <= 0.2;
	return 0;
}

/* What an element's style attribute says of the properties we read:
 * the words in lower case ("" when not given), the colours as colour()
 * reads them (COLOUR_NONE when not given). */
struct style {
	char display[32], visibility[32], font_size[32];
	long color, background;
};

/* The properties css_read reads, where it puts them, and (for words)
 * what value each takes; background-color and background (a shorthand
 * and its longhand, read in turn) share a place.  The colours come
 * last. */
enum { P_DISPLAY, P_VISIBILITY, P_FONT_SIZE, P_COLOR, P_BACKGROUND,
	P_COUNT };
static const struct {
	const char *name;
	int place;
	int (*valid)(const char *);
} css_props[] = {
	{ "display", P_DISPLAY, valid_display },
	{ "visibility", P_VISIBILITY, valid_visibility },
	{ "font-size", P_FONT_SIZE, valid_font_size },
	{ "color", P_COLOR, NULL },
	{ "background-color", P_BACKGROUND, NULL },
	{ "background", P_BACKGROUND, NULL },
};

/* Read a style attribute's declarations once into st (set as for no
 * style by the caller): for each property, the last declaration a
 * browser keeps (one it can read), or the last !important one, as CSS
 * has it ("color:#000;color:#fff" is white, "color:#fff;color:bogus"
 * too; found by review; "background-color:#000;background:url(x)"
 * leaves no colour). */
static void
css_read(const char *text, struct style *st)
{
	char v[TOK_MAX_HTML_ATTR];
	char *out[P_COLOR] = { st->display, st->visibility, st->font_size };
	const size_t outsz[P_COLOR] = { sizeof(st->display),
	    sizeof(st->visibility), sizeof(st->font_size) };
	long *col[P_COUNT - P_COLOR] = { &st->color, &st->background }, c;
	int had_imp[P_COUNT] = { 0 }, pl;
	struct decl d;
	size_t i, k, n;

	while (css_decl(&text, &d)) {
		for (i = 0; i < sizeof(css_props) / sizeof(css_props[0]); i++)
			if (d.nlen == strlen(css_props[i].name) &&
			    strncasecmp(d.name, css_props[i].name, d.nlen) == 0)
				break;
		if (i == sizeof(css_props) / sizeof(css_props[0]))
			continue;
		pl = css_props[i].place;
		if (had_imp[pl] && !d.imp)
			continue;
		n = d.vlen < sizeof(v) - 1 ? d.vlen : sizeof(v) - 1;
		for (k = 0; k < n; k++)
			v[k] = (char)tolower((unsigned char)d.val[k]);
		v[n] = '\0';
		if (pl >= P_COLOR) {
			/* Read once: it decides and is kept. */
			c = colour(v);
			if (!valid_colour(v, c, pl == P_BACKGROUND))
				continue;
			*col[pl - P_COLOR] = c;
		} else {
			if (!css_props[i].valid(v) || n >= outsz[pl])
				continue;
			memcpy(out[pl], v, n + 1);
		}
		had_imp[pl] |= d.imp;
	}
}

/* Whether an element hides its text whatever its colours: the hidden
 * attribute, display:none, visibility:hidden, a tiny font. */
static int
tag_hides(const struct attrs *a, const struct style *st)
{
	char v[64];

	if (a->at[A_HIDDEN] != 0 || strcmp(st->display, "none") == 0 ||
	    strcmp(st->visibility, "hidden") == 0 ||
	    tiny_font(st->font_size))
		return 1;
	if (a->n >= 4 && strncasecmp(a->tag, "font", 4) == 0 &&
	    attr(a, A_SIZE, v, sizeof(v)) && (strcmp(v, "0") == 0 ||
	    strcmp(v, "-10") == 0))
		return 1;
	return 0;
}

/* The text colour an element gives (its style's color, else a font's
 * color attribute, else body's text attribute), or COLOUR_NONE: it
 * inherits the one around it.  (A div's color attribute is nothing to a
 * browser.) */
static long
elem_fg(const struct attrs *a, const char *name, const struct style *st)
{
	char v[TOK_MAX_HTML_ATTR];
	long fg = st->color;

	if (fg == COLOUR_NONE && a->at[A_COLOR] != 0 &&
	    (strcmp(name, "font") == 0 || strcmp(name, "basefont") == 0) &&
	    attr(a, A_COLOR, v, sizeof(v)))
		fg = colour_legacy(v);
	if (fg == COLOUR_NONE && a->at[A_TEXT] != 0 &&
	    strcmp(name, "body") == 0 && attr(a, A_TEXT, v, sizeof(v)))
		fg = colour_legacy(v);
	return fg;
}

/* The background an element gives its text (its style's, else the
 * bgcolor of the elements HTML reads it on; a button's white text on
 * blue was read as white on the page's white, hidden; found by review),
 * or COLOUR_NONE: transparent, or no colour at all ("none",
 * "url(x.png)"), leaves the one under it. */
static long
elem_bg(const struct attrs *a, const char *name, const struct style *st)
{
	static const char *const with_bgcolor[] = { "body", "table",
	    "thead", "tbody", "tfoot", "tr", "td", "th" };
	char v[TOK_MAX_HTML_ATTR];
	long bg = st->background;
	size_t i;

	for (i = 0; bg == COLOUR_NONE && a->at[A_BGCOLOR] != 0 &&
	    i < sizeof(with_bgcolor) / sizeof(with_bgcolor[0]); i++)
		if (strcmp(name, with_bgcolor[i]) == 0 &&
		    attr(a, A_BGCOLOR, v, sizeof(v)))
			bg = colour_legacy(v);
	return bg < 0 ? COLOUR_NONE : bg;
}

/* Whether text written now is hidden: inside an element that hides it,
 * or in a colour (its own or inherited) that cannot be read on its
 * background. */
static int
hid_now(const struct html *h)
{
	return h->hidden > 0 || h->unreadable;
}

static struct tbuf *
text_out(const struct html *h)
{
	return hid_now(h) ? h->hid : h->vis;
}

/* Whether the tag name (lower case, len bytes) ends a line of text.
 * The names are grouped by length, so that a tag is compared with the
 * few of its own length only. */
static int
is_block(const char *name, size_t len)
{
	static const char *const blocks[] = {
		/* 1 */ "p",
		/* 2 */ "br td th tr li ul ol h1 h2 h3 h4 h5 h6 hr dd dt dl",
		/* 3 */ "div pre nav dir",
		/* 4 */ "form main menu",
		/* 5 */ "table title aside",
		/* 6 */ "center header footer option figure legend",
		/* 7 */ "section article address caption details summary",
		/* 8 */ "fieldset",
		/* 9 */ "",
		/* 10 */ "blockquote",
	};
	const char *b;

	if (len == 0 || len > sizeof(blocks) / sizeof(blocks[0]))
		return 0;
	/* Names of one length, one space apart: bounded by the list. */
	for (b = blocks[len - 1]; b[0] != '\0'; b += len + (b[len] == ' '))
		if (memcmp(b, name, len) == 0)
			return 1;
	return 0;
}

/* Where the text from i up to the next '<' or '&' ends (len if none):
 * eight bytes at a time past those that hold neither. */
static size_t
text_end(const char *in, size_t len, size_t i)
{
	uint64_t w;

	while (len - i >= 8) {	/* bounded by len */
		memcpy(&w, in + i, 8);
		if (tok_has_byte(w, '<') || tok_has_byte(w, '&'))
			break;
		i += 8;
	}
	while (i < len && in[i] != '<' && in[i] != '&')
		i++;
	return i;
}

/* The entity at s (n bytes, s[0] == '&') decoded into out, *used its
 * bytes; *used 0 when it is no entity (nothing written). */
static int
put_entity(struct tbuf *out, const char *s, size_t n, size_t *used)
{
	unsigned cp = entity(s, n, used);

	return *used > 0 ? put_cp(out, cp) : 0;
}

/* A link's address as a browser reads it, entities decoded: written
 * "http://&#119;&#119;&#119;.host/", its host gave no url: token (found
 * by review).  Bounded by the value (TOK_MAX_HTML_ATTR). */
static int
add_url(struct html *h, const char *val)
{
	struct tbuf *u = h->urls;
	size_t i = 0, n = strlen(val), used, start = u->len, k, b;
	int rc = 0;

	while (i < n && rc == 0) {
		if (val[i] == '&') {
			rc = put_entity(u, val + i, n - i, &used);
			if (used > 0) {
				i += used;
				continue;
			}
		}
		rc = tbuf_addc(u, val[i++]);
	}
	if (rc != 0)
		return rc;
	/* As a browser reads a link: tabs and line ends anywhere go, and
	 * controls and spaces at either end ("http://x&NewLine;paypal.com/"
	 * is xpaypal.com; the line end made paypal.com its own link). */
	for (i = k = start; i < u->len; i++)
		if (u->p[i] != '\t' && u->p[i] != '\n' && u->p[i] != '\r')
			u->p[k++] = u->p[i];
	for (b = start; b < k && (unsigned char)u->p[b] <= 0x20; b++)
		;
	while (k > b && (unsigned char)u->p[k - 1] <= 0x20)
		k--;
	memmove(u->p + start, u->p + b, k - b);
	u->len = start + (k - b);
	return tbuf_addc(u, '\n');
}

/* HTML's void elements, which never close.  Another element written
 * "<font .../>" is open all the same, as in a browser (its colour hid
 * nothing here; found by review). */
static int
is_void(const char *name)
{
	static const char *const v[] = { "area", "base", "br", "col",
	    "embed", "hr", "img", "input", "keygen", "link", "meta",
	    "param", "source", "track", "wbr" };
	size_t i;

	/* Most names start with no letter of these: no compare. */
	if (strchr("abcehiklmpstw", name[0]) == NULL)
		return 0;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i][0] == name[0] && strcmp(name, v[i]) == 0)
			return 1;
	return 0;
}

/* Close the elements from the top of the stack down to d, d included. */
static int
pop_to(struct html *h, int d)
{
	int was = hid_now(h);

	while (h->depth > d) {
		h->depth--;
		h->hidden -= h->stack[h->depth].hidden;
		/* A table's colours end with it (its background stayed for
		 * the rest of the page: text after a black table, black on
		 * white, was hidden; found by review). */
		if (h->stack[h->depth].sets) {
			h->fg = h->stack[h->depth].fg;
			h->bg = h->stack[h->depth].bg;
			h->unreadable = colour_hides(h->fg, h->bg);
		}
	}
	/* Hidden text ends here: the next hidden words are others, however
	 * close their elements are. */
	return was && !hid_now(h) ? tbuf_addc(h->hid, ' ') : 0;
}

/* What bounds the search for an open p (a table cell or table) and for
 * an open li (its list): implied_end. */
static const char *const p_bounds[] = { "td", "th", "table", "caption",
	"button", NULL };
static const char *const li_bounds[] = { "ul", "ol", NULL };

/* An open element called name that a new one ends: searched from the
 * top of the stack down to the first of bounds, and closed with what is
 * above it. */
static int
implied_end(struct html *h, const char *name, const char *const *bounds)
{
	const char *const *b;
	int d;

	for (d = h->depth - 1; d >= 0; d--) {
		if (strcmp(h->stack[d].name, name) == 0)
			return pop_to(h, d);
		for (b = bounds; *b != NULL; b++)
			if (strcmp(h->stack[d].name, *b) == 0)
				return 0;
	}
	return 0;
}

static int
handle_tag(struct html *h, const char *tag, size_t n)
{
	char name[12], val[TOK_MAX_HTML_ATTR];
	struct attrs a;
	size_t k = 0, i = 0;
	struct style st;
	int closing = 0, rc = 0, hides, was, link, sets;
	long fg, bg;

	if (n > 0 && tag[0] == '/') {
		closing = 1;
		i = 1;
	}
	for (; i < n && k + 1 < sizeof(name) && (isalnum((unsigned char)tag[i]));
	    i++)
		name[k++] = (char)tolower((unsigned char)tag[i]);
	name[k] = '\0';
	if (k == 0)
		return 0;
	if (is_block(name, k))
		rc = tbuf_addc(text_out(h), '\n');
	if (closing) {
		int d;

		for (d = h->depth - 1; d >= 0; d--)
			if (strcmp(h->stack[d].name, name) == 0)
				break;
		return rc == 0 && d >= 0 ? pop_to(h, d) : rc;
	}
	/* End tags HTML lets a page leave out: a block closes an open p,
	 * an li an open li of its list (a hidden <p> or <li> left open hid
	 * the rest of the page; found by review). */
	if (rc == 0 && is_block(name, k))
		rc = implied_end(h, "p", p_bounds);
	if (rc == 0 && strcmp(name, "li") == 0)
		rc = implied_end(h, "li", li_bounds);
	attrs_scan(&a, tag, n);
	/* The first of them with a value (an empty href hid the src of
	 * <img href src=...>; found by review). */
	if (rc == 0 && ((attr(&a, A_HREF, val, sizeof(val)) && val[0]) ||
	    (attr(&a, A_SRC, val, sizeof(val)) && val[0]) ||
	    (attr(&a, A_ACTION, val, sizeof(val)) && val[0])))
		rc = add_url(h, val);
	if (rc == 0 && strcmp(name, "img") == 0 &&
	    attr(&a, A_ALT, val, sizeof(val))) {
		/* An image shows whatever the text's colours. */
		struct tbuf *out = h->hidden > 0 ? h->hid : h->vis;

		rc = tbuf_add(out, val, strlen(val));
		if (rc == 0)
			rc = tbuf_addc(out, ' ');
	}
	/* Void elements never close; everything else may hide its text. */
	if (is_void(name))
		return rc;
	/* script and style: their text is skipped, their end tag with it
	 * (skip_raw), so they would stay on the stack for good. */
	if (strcmp(name, "script") == 0 || strcmp(name, "style") == 0)
		return rc;
	st.display[0] = st.visibility[0] = st.font_size[0] = '\0';
	st.color = st.background = COLOUR_NONE;
	if (a.at[A_STYLE] != 0 && attr(&a, A_STYLE, val, sizeof(val)))
		css_read(val, &st);
	hides = tag_hides(&a, &st);
	fg = elem_fg(&a, name, &st);
	bg = elem_bg(&a, name, &st);
	/* A link is drawn in the link colour, which we do not know, not in
	 * the text's (<body text=#fff><a href=...> shows; found by
	 * review). */
	link = fg == COLOUR_NONE && a.at[A_HREF] != 0 &&
	    strcmp(name, "a") == 0;
	sets = (fg != COLOUR_NONE || bg != COLOUR_NONE || link) &&
	    strcmp(name, "body") != 0;
	if (h->depth == TOK_MAX_HTML_STACK) {
		/* Full (elements left open: p, li, td): one that changes
		 * nothing is not kept; else the oldest that changes nothing
		 * makes room, so that hiding and colours still count (it was
		 * dropped: hidden text came out visible; and a colour whose
		 * element went could not end with it, found by review). */
		int d;

		if (!hides && !sets)
			return rc;
		for (d = 0; d < h->depth && (h->stack[d].hidden ||
		    h->stack[d].sets); d++)
			;
		if (d == h->depth)
			return rc;
		memmove(&h->stack[d], &h->stack[d + 1],
		    sizeof(h->stack[0]) * (size_t)(h->depth - d - 1));
		h->depth--;
	}
	/* Its colours last while it is open; body's are the page's for
	 * good. */
	was = hid_now(h);
	memcpy(h->stack[h->depth].name, name, k + 1);
	h->stack[h->depth].hidden = hides;
	h->stack[h->depth].sets = sets;
	h->stack[h->depth].fg = h->fg;
	h->stack[h->depth].bg = h->bg;
	if (fg != COLOUR_NONE || link)
		h->fg = fg;
	if (bg != COLOUR_NONE)
		h->bg = bg;
	h->unreadable = colour_hides(h->fg, h->bg);
	h->hidden += hides;
	h->depth++;
	if (rc == 0 && was && !hid_now(h))
		rc = tbuf_addc(h->hid, ' ');
	return rc;
}

/* Skip to the end of a raw-text element (script, style): returns the
 * index after "</name". */
static size_t
skip_raw(const char *in, size_t len, size_t i, const char *name)
{
	size_t nl = strlen(name);

	for (; i + nl + 2 <= len; i++)
		if (in[i] == '<' && in[i + 1] == '/' &&
		    strncasecmp(in + i + 2, name, nl) == 0)
			return i + 2 + nl;
	return len;
}

/* The '>' that ends a tag of at most n bytes at s, or NULL, read as
 * attrs_scan reads a tag (tag_attr).  One inside a quoted value does
 * not end it (title=">" style="display:none" ended the tag early, found
 * by review); one in an unquoted value or a name does (<b =">text<i ">
 * shows its text: the quote there is part of a name, and swallowed it;
 * found by review).  A quote that never closes within n bytes counts
 * for nothing (the first '>'). */
static const char *
tag_end(const char *s, size_t n)
{
	struct tag_attr ta;
	size_t i = tag_name_end(s, n);

	while (tag_attr(s, n, &i, &ta))
		if (ta.open)
			return memchr(s, '>', n);
	return i < n ? s + i : NULL;
}

int
tok_html(const char *in, size_t len, struct tbuf *vis, struct tbuf *hid,
    struct tbuf *urls)
{
	struct html h;
	size_t i = 0, j, used, start, lim;
	int rc = 0;
	const char *end;

	memset(&h, 0, sizeof(h));
	h.vis = vis;
	h.hid = hid;
	h.urls = urls;
	h.fg = COLOUR_NONE;
	h.bg = 0xFFFFFF;
	while (i < len && rc == 0) {
		struct tbuf *out = text_out(&h);

		if (in[i] == '<') {
			if (i + 3 < len && in[i + 1] == '!' &&
			    strncmp(in + i, "<!--", 4) == 0) {
				/* From its second '-': "<!-->" and "<!--->"
				 * are whole (empty) comments, as browsers
				 * read them. */
				end = memmem(in + i + 2, len - i - 2, "-->", 3);
				i = end == NULL ? len : (size_t)(end - in) + 3;
				continue;
			}
			if (i + 1 < len && !isalpha((unsigned char)in[i + 1]) &&
			    in[i + 1] != '/' && in[i + 1] != '!' &&
			    in[i + 1] != '?') {
				rc = tbuf_addc(out, '<');	/* a stray '<' */
				i++;
				continue;
			}
			/* "<?...>", "<!x...>", "</ ...>", "</3...>": a bogus
			 * comment to HTML, ended by the first '>' whatever
			 * the quotes (read as a tag, <?x a=">text swallowed
			 * the text; found by review). */
			if (i + 1 < len && (in[i + 1] == '?' ||
			    in[i + 1] == '!' || (in[i + 1] == '/' &&
			    (i + 2 >= len || !isalpha((unsigned char)
			    in[i + 2]))))) {
				end = memchr(in + i, '>', len - i);
				i = end == NULL ? len : (size_t)(end - in) + 1;
				continue;
			}
			start = i + 1;
			lim = len - start < TOK_MAX_HTML_TAG ? len - start :
			    TOK_MAX_HTML_TAG;
			end = tag_end(in + start, lim);
			j = end != NULL ? (size_t)(end - in) : start + lim;
			rc = handle_tag(&h, in + start, j - start);
			i = j < len ? j + 1 : len;
			/* A tag longer than the limit (a data: image, a long
			 * style) is examined that far and skipped to its '>':
			 * read on from inside it, its base64 and CSS became
			 * words (found by review). */
			if (end == NULL && j < len) {
				end = memchr(in + j, '>', len - j);
				i = end != NULL ? (size_t)(end - in) + 1 : len;
			}
			/* Most tags start with no 's': no call for them. */
			if (j - start < 5 || (in[start] | 0x20) != 's')
				continue;
			if (j - start >= 6 &&
			    strncasecmp(in + start, "script", 6) == 0)
				i = skip_raw(in, len, i, "script");
			else if (strncasecmp(in + start, "style", 5) == 0)
				i = skip_raw(in, len, i, "style");
			continue;
		}
		if (in[i] == '&') {
			rc = put_entity(out, in + i, len - i, &used);
			if (used > 0) {
				i += used;
				continue;
			}
		}
		j = text_end(in, len, i);
		if (j == i)
			j++;
		rc = tbuf_add(out, in + i, j - i);
		i = j;
	}
	return rc;
}
