/*
 * magnet.c - magnet links read into struct magnet; see magnet.h.
 *
 * The query is split at '&', each pair at its first '='; the key is
 * compared as written (no escapes in keys that matter), the value is
 * percent-decoded into its field. "xt.1", "xt.2" (numbered duplicates, as
 * some clients write a hybrid's two hashes) are read as xt.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto/bytes.h"
#include "proto/magnet.h"

#define MAGNET_PREFIX "magnet:?"

static int magnet_fail(struct magnet_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int magnet_fail(struct magnet_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* RFC 4648 base32: A-Z then 2-7; lower case accepted. */
static int magnet_b32val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/*
 * Percent-decodes v (n bytes) into out (cap bytes, NUL-terminated); plus
 * is a space when plus_space. Returns the decoded length, -EINVAL for a bad
 * escape, -ENOSPC when it does not fit.
 */
static long magnet_unescape(const char *v, size_t n, char *out, size_t cap, bool plus_space)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = v[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = hex_val(v[i + 1]);
			lo = hex_val(v[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (o + 1 >= cap)
			return -ENOSPC;
		out[o++] = c;
	}
	out[o] = '\0';
	return (long)o;
}

static int magnet_hex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i += 2) {
		int hi = hex_val(s[i]), lo = hex_val(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int magnet_base32(const char *s, uint8_t out[20])
{
	uint32_t acc = 0, bits = 0, o = 0;

	for (int i = 0; i < 32; i++) {
		int v = magnet_b32val(s[i]);

		if (v < 0)
			return -EINVAL;
		acc = acc << 5 | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return 0;
}

static int magnet_xt(struct magnet *m, const char *v, size_t n, struct magnet_err *err)
{
	static const char btih[] = "urn:btih:", btmh[] = "urn:btmh:1220";

	if (n > sizeof(btih) - 1 && strncasecmp(v, btih, sizeof(btih) - 1) == 0) {
		const char *h = v + sizeof(btih) - 1;
		size_t hn = n - (sizeof(btih) - 1);

		if (hn == 40 ? magnet_hex(h, 40, m->info_hash)
		    : hn == 32 ? magnet_base32(h, m->info_hash)
			       : -ERANGE)
			return magnet_fail(err, "xt: urn:btih: with %zu characters%s; an info-hash "
					   "is 40 hex digits or 32 base32 letters",
					   hn, hn == 40 || hn == 32 ? " that are not all digits" : "");
		m->has_v1 = true;
		return 0;
	}
	if (n >= sizeof(btmh) - 1 && strncasecmp(v, btmh, sizeof(btmh) - 1) == 0) {
		size_t hn = n - (sizeof(btmh) - 1);

		if (hn != 64 || magnet_hex(v + sizeof(btmh) - 1, 64, m->info_hash2))
			return magnet_fail(err, "xt: urn:btmh:1220 then %zu characters; a v2 "
					   "info-hash is 64 hex digits", hn);
		m->has_v2 = true;
		return 0;
	}
	if (n >= 9 && strncasecmp(v, "urn:btmh:", 9) == 0)
		return magnet_fail(err, "xt: urn:btmh: is not a sha2-256 multihash (1220...)");
	return 0; /* another kind of URN (ed2k, sha1 of a file): not ours */
}

/* "host:port" or "[v6]:port", port 1..65535; the host is resolved by the caller. */
static bool magnet_hostport(const char *s)
{
	const char *colon = strrchr(s, ':');
	unsigned long port = 0;

	if (!colon || colon == s || colon[1] == '\0')
		return false;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9' || port > 65535)
			return false;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port == 0 || port > 65535)
		return false;
	for (const char *p = s; p < colon; p++)
		if ((unsigned char)*p <= 0x20 || *p == '/')
			return false;
	return s[0] != '[' || colon[-1] == ']';
}

static bool magnet_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* tr or x.pe: decoded, checked, kept unless a copy is there or the table is full. */
static int magnet_list(char *list, size_t cap, unsigned *n, unsigned max, const char *v,
		       size_t vn, const char *key, struct magnet *m, struct magnet_err *err)
{
	char buf[MAGNET_URL_MAX];
	long len = magnet_unescape(v, vn, buf, cap, false);

	if (len == -ENOSPC)
		return magnet_fail(err, "%s: longer than %zu bytes", key, cap - 1);
	if (len < 0)
		return magnet_fail(err, "%s: a bad percent escape", key);
	if (len == 0 || !magnet_printable(buf, (size_t)len))
		return magnet_fail(err, "%s: %s", key, len ? "a control character" : "empty");
	if (cap == MAGNET_HOST_MAX && !magnet_hostport(buf))
		return magnet_fail(err, "%s: \"%s\" is not HOST:PORT with a port 1-65535", key, buf);
	for (unsigned i = 0; i < *n; i++) {
		if (strcmp(list + i * cap, buf) == 0) {
			m->skipped++;
			return 0;
		}
	}
	if (*n == max) {
		m->skipped++;
		return 0;
	}
	memcpy(list + *n * cap, buf, (size_t)len + 1);
	(*n)++;
	return 0;
}

static bool magnet_key(const char *k, size_t kn, const char *want)
{
	size_t wn = strlen(want);

	if (kn < wn || memcmp(k, want, wn) != 0)
		return false;
	if (kn == wn)
		return true;
	/* "xt.1", "tr.2": numbered repeats of a key */
	if (k[wn] != '.' || kn == wn + 1)
		return false;
	for (size_t i = wn + 1; i < kn; i++)
		if (k[i] < '0' || k[i] > '9')
			return false;
	return true;
}

static int magnet_pair(struct magnet *m, const char *k, size_t kn, const char *v, size_t vn,
		       struct magnet_err *err)
{
	if (magnet_key(k, kn, "xt"))
		return magnet_xt(m, v, vn, err);
	if (magnet_key(k, kn, "tr"))
		return magnet_list(m->tr[0], MAGNET_URL_MAX, &m->n_tr, MAGNET_TR_MAX, v, vn, "tr",
				   m, err);
	if (kn == 4 && memcmp(k, "x.pe", 4) == 0)
		return magnet_list(m->pe[0], MAGNET_HOST_MAX, &m->n_pe, MAGNET_PE_MAX, v, vn,
				   "x.pe", m, err);
	if (magnet_key(k, kn, "dn")) {
		long len = magnet_unescape(v, vn, m->dn, sizeof(m->dn), true);

		if (len == -ENOSPC)
			return magnet_fail(err, "dn: longer than %zu bytes", sizeof(m->dn) - 1);
		if (len < 0)
			return magnet_fail(err, "dn: a bad percent escape");
		for (long i = 0; i < len; i++)
			if ((unsigned char)m->dn[i] < 0x20)
				m->dn[i] = '?';
	}
	return 0;
}

bool magnet_is_link(const char *s)
{
	return strncasecmp(s, "magnet:", 7) == 0;
}

int magnet_parse(const char *s, size_t len, struct magnet *m, struct magnet_err *err)
{
	size_t pl = sizeof(MAGNET_PREFIX) - 1, i;

	memset(m, 0, sizeof(*m));
	err->msg[0] = '\0';
	if (len > MAGNET_LEN_MAX)
		return magnet_fail(err, "a magnet link of %zu bytes (at most %u)", len,
				   MAGNET_LEN_MAX);
	if (len < pl || strncasecmp(s, MAGNET_PREFIX, pl) != 0)
		return magnet_fail(err, "not a magnet link (no \"magnet:?\" at the start)");
	for (i = pl; i < len;) {
		const char *pair = s + i, *end = memchr(pair, '&', len - i), *eq;
		size_t pn = end ? (size_t)(end - pair) : len - i;
		int rc;

		i += pn + 1;
		if (pn == 0)
			continue;
		eq = memchr(pair, '=', pn);
		if (!eq)
			continue; /* a key without a value says nothing */
		rc = magnet_pair(m, pair, (size_t)(eq - pair), eq + 1, pn - (size_t)(eq - pair) - 1,
				 err);
		if (rc)
			return rc;
	}
	if (!m->has_v1 && !m->has_v2)
		return magnet_fail(err, "xt: no urn:btih: or urn:btmh: info-hash in the link");
	return 0;
}
