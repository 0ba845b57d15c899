/*
 * conf_load.c - reading a configuration file into a key table; see conf.h.
 *
 * Why a reader of our own around inih: Debian's inih does not give the handler a
 * line number, and ini_parse_stream returns only the first syntax error. So the
 * reader counts lines, strips indentation (an indented key is an ordinary key
 * here, never a continuation of the previous value, which is the classic trap of
 * INI multiline values), reads [section] lines itself so an unknown or empty
 * section is reported with its line, and notices afterwards each key line for
 * which inih did not call the handler: that line was a syntax error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "conf/conf_int.h"

enum conf_line {
	CONF_LINE_NONE,	   /* blank, comment, or already dealt with */
	CONF_LINE_SECTION, /* [name] */
	CONF_LINE_KEY,	   /* must reach the handler, or it was a syntax error */
};

/* The state of one conf_load, shared by the reader and the handler. */
struct conf_parse {
	const struct conf_table *t;
	void *base;
	const char *path;
	FILE *f;
	struct conf_errors *errs; /* may be NULL */
	unsigned nerr;		  /* every error, kept or not */
	unsigned lineno;	  /* of the line inih is working on */
	unsigned handled;	  /* the last line the handler was called for */
	enum conf_line kind;	  /* of line lineno */
	bool bad_section;	  /* keys under a broken or unknown [section] are skipped */
	int read_errno;
	bool too_long, has_nul;
	unsigned set_on[CONF_KEYS_MAX]; /* line where each row was first given, or 0 */
	char line[CONF_LINE_MAX];
};

static void conf_err(struct conf_parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void conf_err(struct conf_parse *p, const char *fmt, ...)
{
	struct conf_errors *e = p->errs;
	va_list ap;

	p->nerr++;
	if (!e)
		return;
	if (e->n == CONF_ERRORS_MAX) {
		e->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(e->msg[e->n++], CONF_ERROR_LEN, fmt, ap);
	va_end(ap);
}

/* ---- loading: the line reader and the inih handler ---- */

/* One line into p->line, whatever its length: the rest of a long line is skipped, not split. */
static int conf_read_line(struct conf_parse *p)
{
	size_t len = 0;
	bool any = false;
	int ch;

	p->too_long = p->has_nul = false;
	while ((ch = getc_unlocked(p->f)) != EOF) {
		any = true;
		if (ch == '\n')
			break;
		if (ch == '\0')
			p->has_nul = true;
		if (len < sizeof(p->line) - 1)
			p->line[len++] = (char)ch;
		else
			p->too_long = true;
	}
	if (ch == EOF && ferror(p->f))
		p->read_errno = errno ? errno : EIO;
	if (!any)
		return -1;
	p->line[len] = '\0';
	p->lineno++;
	return 0;
}

/* The line just read, without a UTF-8 byte order mark, indentation or trailing space. */
static char *conf_trim(struct conf_parse *p)
{
	char *s = p->line, *e;

	if (p->lineno == 1 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * "[name]" opens a section; what follows ']' may only be a comment. A broken
 * or unknown header sets bad_section so the keys under it are not reported one
 * by one, or checked against the section above it.
 */
static void conf_section_line(struct conf_parse *p, const char *s)
{
	const char *end = strchr(s, ']'), *rest;

	p->bad_section = true;
	if (!end) {
		conf_err(p, "%s:%u: syntax error", p->path, p->lineno);
		return;
	}
	rest = end + 1 + strspn(end + 1, " \t");
	if (*rest && *rest != ';' && *rest != '#') {
		conf_err(p, "%s:%u: syntax error", p->path, p->lineno);
		return;
	}
	if (!conf_section_known(p->t, s + 1, (size_t)(end - s - 1))) {
		conf_err(p, "%s:%u: [%.*s]: unknown section", p->path, p->lineno,
			 (int)(end - s - 1), s + 1);
		return;
	}
	p->bad_section = false;
}

/* A key line inih did not hand to the handler had no '=' or ':' in it. */
static void conf_end_line(struct conf_parse *p)
{
	if (p->kind == CONF_LINE_KEY && p->handled != p->lineno)
		conf_err(p, "%s:%u: syntax error", p->path, p->lineno);
	p->kind = CONF_LINE_NONE;
}

/* inih's fgets: gives it one cleaned line at a time, and keeps the count. */
static char *conf_reader(char *str, int num, void *stream)
{
	struct conf_parse *p = stream;
	const char *s;
	size_t len;

	conf_end_line(p);
	if (p->read_errno || conf_read_line(p) < 0)
		return NULL;
	s = conf_trim(p);
	len = strlen(s);
	str[0] = '\0';
	if (len == 0 || s[0] == ';' || s[0] == '#')
		return str; /* a comment may be of any length */
	if (p->too_long || p->has_nul || len >= (size_t)num) {
		if (p->has_nul)
			conf_err(p, "%s:%u: line has a NUL byte", p->path, p->lineno);
		else
			conf_err(p, "%s:%u: line is longer than %d characters", p->path, p->lineno,
				 num - 1);
		p->bad_section |= s[0] == '[';
		return str;
	}
	if (s[0] == '[') {
		p->kind = CONF_LINE_SECTION;
		conf_section_line(p, s);
	} else {
		p->kind = CONF_LINE_KEY;
	}
	memcpy(str, s, len + 1);
	return str;
}

static void conf_unknown_key(struct conf_parse *p, const char *section, const char *name)
{
	for (size_t i = 0; i < p->t->n; i++) {
		if (strcmp(p->t->keys[i].key, name) == 0) {
			conf_err(p, "%s:%u: %s.%s: unknown key; %s belongs in [%s]", p->path,
				 p->lineno, section, name, name, p->t->keys[i].section);
			return;
		}
	}
	conf_err(p, "%s:%u: %s.%s: unknown key", p->path, p->lineno, section, name);
}

/* Always returns 1: every error is recorded here, and inih's own count is not used. */
static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_parse *p = user;
	const struct conf_key *k;
	enum conf_mode mode = CONF_MODE_SET;
	char why[CONF_WHY_LEN];
	unsigned *set_on;

	p->handled = p->lineno;
	if (p->bad_section)
		return 1;
	if (!*name) {
		conf_err(p, "%s:%u: syntax error", p->path, p->lineno);
		return 1;
	}
	if (!*section) {
		conf_err(p, "%s:%u: %s: key before any [section]", p->path, p->lineno, name);
		return 1;
	}
	k = conf_find(p->t, section, name);
	if (!k) {
		conf_unknown_key(p, section, name);
		return 1;
	}
	set_on = &p->set_on[k - p->t->keys];
	if (*set_on && k->type == CONF_ADDRS)
		mode = CONF_MODE_ADD;
	else if (*set_on)
		conf_err(p, "%s:%u: %s.%s: already set on line %u", p->path, p->lineno, section,
			 name, *set_on);
	else
		*set_on = p->lineno;
	if (conf_apply(k, p->base, value, mode, why, sizeof(why)) < 0)
		conf_err(p, "%s:%u: %s.%s: %s", p->path, p->lineno, section, name, why);
	return 1;
}

int conf_table_load(const struct conf_table *t, void *base, const char *path,
			   struct conf_errors *errs)
{
	struct conf_parse p = { .t = t, .base = base, .path = path, .errs = errs };
	int r;

	if (t->n > CONF_KEYS_MAX)
		abort(); /* a test table larger than set_on[]; the real one is checked statically */
	if (errs)
		errs->n = errs->dropped = 0;
	conf_table_defaults(t, base);
	p.f = fopen(path, "re");
	if (!p.f) {
		r = -errno;
		conf_err(&p, "%s: %s", path, strerror(-r));
		return r;
	}
	r = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	conf_end_line(&p);
	fclose(p.f);
	if (p.read_errno) {
		conf_err(&p, "%s: %s", path, strerror(p.read_errno));
		return -p.read_errno;
	}
	if (r == -2) {
		conf_err(&p, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	return p.nerr ? -EINVAL : 0;
}
