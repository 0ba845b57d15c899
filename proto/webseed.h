/*
 * webseed.h - BEP 19 web seeds: which URL holds which file.
 *
 * A `url-list` entry ending in '/' is a folder: a single-file torrent's file
 * is <url><name>, a multi-file torrent's files are <url><name>/<path>. An
 * entry without the slash is the file itself for a single-file torrent, and
 * for a multi-file torrent the folder all the same (BEP 19 says the URL
 * "must be a root folder" there), as if it ended in '/'. Name and path
 * components are percent-encoded (RFC 3986: everything but the unreserved
 * characters), so a file called "a b#1" asks for "a%20b%231".
 *
 * Pure: no syscalls, no globals.
 */
#ifndef RINGSEED_WEBSEED_H
#define RINGSEED_WEBSEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/metainfo.h"

/* Whether the URL is one the fetcher can use (http:// or https://, a host). */
bool ws_url_usable(const char *url);

/*
 * Writes the URL of file `file` of mi at web seed base into out (NUL
 * terminated). Returns its length, -EINVAL for a pad file or a file index out
 * of range, -ENOSPC if it does not fit in cap.
 */
int ws_file_url(const char *base, const struct metainfo *mi, uint32_t file, char *out,
		size_t cap);

#endif
