/*
 * tracker_text.c - the text forms tracker packets use; see tracker_int.h.
 *
 * A bounded writer for URLs and query values (percent-encoding them), and
 * IP addresses as text both ways without inet_pton/inet_ntop (proto/ is
 * pure): dictionary peers in announce replies carry them.
 */
#include <errno.h>
#include <string.h>

#include "proto/tracker_int.h"

void trk_text_mem(struct trk_text *t, const void *s, size_t n)
{
	if (t->full || n > t->cap - t->len) {
		t->full = true;
		return;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
}

void trk_text_str(struct trk_text *t, const char *s)
{
	trk_text_mem(t, s, strlen(s));
}

void trk_text_u64(struct trk_text *t, uint64_t v)
{
	char d[20];
	size_t n = sizeof(d);

	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	trk_text_mem(t, d + n, sizeof(d) - n);
}

void trk_text_pct(struct trk_text *t, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char e[3];

		trk_text_mem(t, e, pct_encode_byte(e, s[i]));
	}
}

ssize_t trk_text_finish(struct trk_text *t)
{
	trk_text_mem(t, "", 1);
	if (t->full)
		return -ENOSPC;
	return (ssize_t)(t->len - 1);
}

/* --- IP addresses as text, without inet_pton/inet_ntop (proto/ is pure) --- */

/* A dotted quad, exactly: four decimal octets, no leading zeros, nothing else. */
static bool ip4_parse(const char *s, size_t n, uint8_t out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, nd = 0;

		if (part && (i == n || s[i++] != '.'))
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9' && nd < 4) {
			if (nd == 1 && v == 0)
				return false; /* a leading zero */
			v = v * 10 + (unsigned)(s[i++] - '0');
			nd++;
		}
		if (nd == 0 || v > 255)
			return false;
		out[part] = (uint8_t)v;
	}
	return i == n;
}

/* Moves the groups written after "::" to the end and zeroes the gap. */
static bool ip6_expand(uint8_t tmp[16], size_t tp, long gap, uint8_t out[16])
{
	if (gap < 0) {
		if (tp != 16)
			return false;
		memcpy(out, tmp, 16);
		return true;
	}
	if (tp == 16)
		return false; /* "::" must stand for at least one group */
	memset(out, 0, 16);
	memcpy(out, tmp, (size_t)gap);
	memcpy(out + 16 - (tp - (size_t)gap), tmp + gap, tp - (size_t)gap);
	return true;
}

/* RFC 4291 section 2.2 text: hex groups, one "::", an optional dotted quad at the end. */
static bool ip6_parse(const char *s, size_t n, uint8_t out[16])
{
	uint8_t tmp[16];
	size_t i = 0, tp = 0;
	long gap = -1;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	} else if (n == 0 || s[0] == ':') {
		return false;
	}
	while (i < n) {
		size_t start = i, nd = 0;
		unsigned v = 0;

		while (i < n && nd < 5 && hex_val(s[i]) >= 0) {
			v = v << 4 | (unsigned)hex_val(s[i++]);
			nd++;
		}
		if (i < n && s[i] == '.') {
			if (tp + 4 > 16 || !ip4_parse(s + start, n - start, tmp + tp))
				return false;
			tp += 4;
			break;
		}
		if (nd == 0 || nd > 4 || tp + 2 > 16)
			return false;
		tmp[tp++] = (uint8_t)(v >> 8);
		tmp[tp++] = (uint8_t)v;
		if (i == n)
			break;
		if (s[i++] != ':' || i == n)
			return false;
		if (s[i] == ':') {
			if (gap >= 0)
				return false;
			gap = (long)tp;
			i++;
		}
	}
	return ip6_expand(tmp, tp, gap, out);
}

bool trk_text_parse_ip(const uint8_t *s, size_t n, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (n >= TRK_IP_TEXT_MAX)
		return false;
	if (ip4_parse((const char *)s, n, addr)) {
		*family = TRK_AF_INET;
		return true;
	}
	if (ip6_parse((const char *)s, n, addr)) {
		*family = TRK_AF_INET6;
		return true;
	}
	return false;
}

void trk_text_ip4(struct trk_text *t, const uint8_t a[4])
{
	for (int i = 0; i < 4; i++) {
		if (i)
			trk_text_mem(t, ".", 1);
		trk_text_u64(t, a[i]);
	}
}

void trk_text_ip6(struct trk_text *t, const uint8_t a[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	int best = -1, best_len = 1, run = 0;

	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		trk_text_str(t, "::ffff:");
		trk_text_ip4(t, a + 12);
		return;
	}
	for (int g = 0; g < 8; g++) {
		run = (a[2 * g] | a[2 * g + 1]) ? 0 : run + 1;
		if (run > best_len) {
			best_len = run;
			best = g - run + 1;
		}
	}
	for (int g = 0; g < 8; g++) {
		unsigned v = (unsigned)(a[2 * g] << 8 | a[2 * g + 1]);
		char d[4];
		int nd = 0;

		if (g == best) {
			trk_text_str(t, "::");
			g += best_len - 1;
			continue;
		}
		if (g && g != best + best_len)
			trk_text_mem(t, ":", 1);
		do {
			d[nd++] = "0123456789abcdef"[v & 15];
			v >>= 4;
		} while (v);
		while (nd)
			trk_text_mem(t, &d[--nd], 1);
	}
}
