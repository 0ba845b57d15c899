/*
 * webseed.c - BEP 19 URLs for a torrent's files; see webseed.h.
 */
#include <errno.h>
#include <string.h>

#include "proto/webseed.h"

bool ws_url_usable(const char *url)
{
	size_t skip;

	if (strncmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return false;
	return url[skip] != '\0' && url[skip] != '/';
}

struct ws_out {
	char *p;
	size_t n, cap;
	bool full;
};

static void ws_put(struct ws_out *o, char c)
{
	if (o->n + 1 >= o->cap) {
		o->full = true;
		return;
	}
	o->p[o->n++] = c;
}

static bool ws_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* s percent-encoded; a '/' stays one when slash is set (between path components). */
static void ws_put_escaped(struct ws_out *o, const char *s, bool slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (ws_unreserved(c) || (slash && c == '/')) {
			ws_put(o, (char)c);
		} else {
			ws_put(o, '%');
			ws_put(o, hex[c >> 4]);
			ws_put(o, hex[c & 15]);
		}
	}
}

int ws_file_url(const char *base, const struct metainfo *mi, uint32_t file, char *out,
		size_t cap)
{
	struct ws_out o = { .p = out, .cap = cap };
	size_t blen = strlen(base);
	bool folder = blen > 0 && base[blen - 1] == '/';

	if (cap == 0)
		return -ENOSPC;
	out[0] = '\0';
	if (file >= mi->file_count || mi->files[file].pad)
		return -EINVAL;
	for (size_t i = 0; i < blen; i++)
		ws_put(&o, base[i]);
	if (mi->multi_file) {
		if (!folder)
			ws_put(&o, '/');
		ws_put_escaped(&o, mi->name, false);
		ws_put(&o, '/');
		/* Components were checked by mi_parse: none holds a '/' of its own. */
		ws_put_escaped(&o, mi->files[file].path, true);
	} else if (folder) {
		ws_put_escaped(&o, mi->name, false);
	}
	if (o.full) {
		out[0] = '\0';
		return -ENOSPC;
	}
	out[o.n] = '\0';
	return (int)o.n;
}
