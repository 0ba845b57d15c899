/*
 * conf_man.c - ringseed.conf(5), written from the key table at build time,
 * so the manual page lists exactly the keys the program reads, with their
 * values, defaults and help.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"

/* Text for roff: a leading '.' or '\'' would be a request, '\\' an escape, '-' a hyphen. */
static void man_text(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

int conf_print_man(FILE *f)
{
	struct conf_key_doc d;
	const char *section = NULL;

	fputs(".TH RINGSEED.CONF 5 \"\" \"ringseed " RINGSEED_VERSION "\" \"File Formats\"\n"
	      ".SH NAME\nringseed.conf \\- configuration of the ringseed BitTorrent seeder\n"
	      ".SH SYNOPSIS\n/etc/ringseed/ringseed.conf\n"
	      ".SH DESCRIPTION\n"
	      "An INI file read by \\fBringseed serve \\-c\\fR FILE: \\fB[section]\\fR headers, then\n"
	      "\\fBkey = value\\fR lines. A line starting with \\fB#\\fR or \\fB;\\fR is a comment;\n"
	      "after a value, only a space followed by \\fB;\\fR starts one. A key given twice is\n"
	      "an error, except\n"
	      "list keys (the listen addresses), repeated once per entry.\n"
	      ".PP\n\\fBringseed check\\-config\\fR FILE reports every error as\n"
	      "FILE:LINE: SECTION.KEY: REASON; \\fBringseed print\\-config\\fR prints every key.\n"
	      "SIGHUP re-reads the file; one with errors is logged and the running\n"
	      "configuration stays.\n"
	      ".SH KEYS\n",
	      f);
	for (size_t i = 0; conf_key_doc(i, &d) == 0; i++) {
		if (!section || strcmp(section, d.section)) {
			section = d.section;
			fprintf(f, ".SS [%s]\n", section);
		}
		fprintf(f, ".TP\n.B %s\n", d.key);
		man_text(f, d.help);
		fputs("\n.br\n", f);
		man_text(f, d.values);
		fputs("; default: ", f);
		man_text(f, d.def[0] ? d.def : "(empty)");
		fputc('\n', f);
	}
	fputs(".SH FILES\n/etc/ringseed/ringseed.conf, the annotated sample with every key at its\n"
	      "default.\n.SH SEE ALSO\n\\fBringseed\\fR(8)\n",
	      f);
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
