/*
 * pex.c - BEP 11 ut_pex messages; see pex.h for the contract.
 *
 * The parser leans on bc_parse(), which bounds the work by the input's
 * length and nesting, then checks each list it finds. The duplicate checks
 * are quadratic, which PEX_PARSE_MAX bounds (about half a million 18-byte
 * comparisons at worst); the caller bounds how often it parses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/bencode.h"
#include "proto/bytes.h"
#include "proto/pex.h"
#include "proto/wire.h"

static int pex_fail(struct ext_err *err, const char *what, const char *key)
{
	if (key)
		snprintf(err->msg, sizeof(err->msg), "ut_pex: %s: %s", key, what);
	else
		snprintf(err->msg, sizeof(err->msg), "ut_pex: %s", what);
	return -EINVAL;
}

/* A list of contacts of `size` bytes each: a string of whole ones with no port 0. */
static int pex_list(const struct bc_val *d, const char *key, size_t size, const uint8_t **out,
		    uint32_t *n, struct ext_err *err)
{
	struct bc_val v;

	*out = NULL;
	*n = 0;
	if (!bc_dict_get(d, key, &v))
		return 0;
	if (v.type != BC_STR)
		return pex_fail(err, "not a string", key);
	if (v.str_len % size)
		return pex_fail(err, "not a whole number of contacts", key);
	if (v.str_len / size > PEX_PARSE_MAX)
		return pex_fail(err, "too many contacts", key);
	for (size_t i = 0; i < v.str_len; i += size)
		if (v.str[i + size - 2] == 0 && v.str[i + size - 1] == 0)
			return pex_fail(err, "a contact with port 0", key);
	*out = v.str;
	*n = (uint32_t)(v.str_len / size);
	return 0;
}

/* The flags of a list: absent, or exactly one byte per contact. */
static int pex_flags(const struct bc_val *d, const char *key, uint32_t count, const uint8_t **out,
		     struct ext_err *err)
{
	struct bc_val v;

	*out = NULL;
	if (!bc_dict_get(d, key, &v))
		return 0;
	if (v.type != BC_STR)
		return pex_fail(err, "not a string", key);
	if (v.str_len != count)
		return pex_fail(err, "not one byte per contact", key);
	*out = v.str;
	return 0;
}

/* True when a contact of list a (na of them) is in b, or twice in a when a == b. */
static bool pex_overlap(const uint8_t *a, uint32_t na, const uint8_t *b, uint32_t nb, size_t size)
{
	for (uint32_t i = 0; i < na; i++)
		for (uint32_t k = a == b ? i + 1 : 0; k < nb; k++)
			if (!memcmp(a + i * size, b + k * size, size))
				return true;
	return false;
}

static int pex_check(const struct pex_msg *m, struct ext_err *err)
{
	if (!m->added && !m->added6 && !m->dropped && !m->dropped6)
		return pex_fail(err, "none of added, added6, dropped, dropped6", NULL);
	if ((uint64_t)m->n_added + m->n_added6 + m->n_dropped + m->n_dropped6 > PEX_PARSE_MAX)
		return pex_fail(err, "too many contacts", NULL);
	if (pex_overlap(m->added, m->n_added, m->added, m->n_added, PEX_V4_LEN) ||
	    pex_overlap(m->added6, m->n_added6, m->added6, m->n_added6, PEX_V6_LEN))
		return pex_fail(err, "a contact added twice", NULL);
	if (pex_overlap(m->dropped, m->n_dropped, m->dropped, m->n_dropped, PEX_V4_LEN) ||
	    pex_overlap(m->dropped6, m->n_dropped6, m->dropped6, m->n_dropped6, PEX_V6_LEN))
		return pex_fail(err, "a contact dropped twice", NULL);
	if (pex_overlap(m->added, m->n_added, m->dropped, m->n_dropped, PEX_V4_LEN) ||
	    pex_overlap(m->added6, m->n_added6, m->dropped6, m->n_dropped6, PEX_V6_LEN))
		return pex_fail(err, "a contact both added and dropped", NULL);
	return 0;
}

int pex_parse(const uint8_t *p, size_t n, struct pex_msg *m, struct ext_err *err)
{
	struct bc_val root;
	struct bc_err be;

	memset(m, 0, sizeof(*m));
	if (bc_parse(p, n, BC_ALLOW_UNSORTED, &root, &be) != 0) {
		snprintf(err->msg, sizeof(err->msg), "ut_pex: %s at byte %zu", be.what, be.offset);
		return -EINVAL;
	}
	if (root.type != BC_DICT)
		return pex_fail(err, "not a dictionary", NULL);
	if (pex_list(&root, "added", PEX_V4_LEN, &m->added, &m->n_added, err) ||
	    pex_list(&root, "added6", PEX_V6_LEN, &m->added6, &m->n_added6, err) ||
	    pex_list(&root, "dropped", PEX_V4_LEN, &m->dropped, &m->n_dropped, err) ||
	    pex_list(&root, "dropped6", PEX_V6_LEN, &m->dropped6, &m->n_dropped6, err) ||
	    pex_flags(&root, "added.f", m->n_added, &m->added_f, err) ||
	    pex_flags(&root, "added6.f", m->n_added6, &m->added6_f, err))
		return -EINVAL;
	return pex_check(m, err);
}

void pex_contact_at(const uint8_t *list, uint32_t i, uint8_t family, struct pex_contact *c)
{
	size_t alen = family == 6 ? 16 : 4;
	const uint8_t *e = list + i * (alen + 2);

	memset(c, 0, sizeof(*c));
	c->family = family == 6 ? 6 : 4;
	memcpy(c->addr, e, alen);
	c->port = get_be16(e + alen);
}

/* Appends n bytes at *at if they fit in cap; a miss is remembered in *at = cap + 1. */
static void pex_out(uint8_t *out, size_t cap, size_t *at, const void *b, size_t n)
{
	if (*at > cap || n > cap - *at) {
		*at = cap + 1;
		return;
	}
	memcpy(out + *at, b, n);
	*at += n;
}

/*
 * One key of the dictionary and its string: the contacts of `family`, or
 * their flags. Written by hand, since the string is assembled contact by
 * contact; nothing when no contact is of that family.
 */
static void pex_put_list(uint8_t *out, size_t cap, size_t *at, const char *key,
			 const struct pex_contact *c, size_t n, uint8_t family, bool flags)
{
	uint8_t buf[PEX_V6_LEN];
	size_t count = 0, alen = family == 6 ? 16 : 4;
	char hdr[48];
	int k;

	for (size_t i = 0; i < n; i++)
		count += c[i].family == family;
	if (!count)
		return;
	k = snprintf(hdr, sizeof(hdr), "%zu:%s%zu:", strlen(key), key,
		     count * (flags ? 1 : alen + 2));
	pex_out(out, cap, at, hdr, (size_t)k);
	for (size_t i = 0; i < n; i++) {
		if (c[i].family != family)
			continue;
		if (flags) {
			pex_out(out, cap, at, &c[i].flags, 1);
			continue;
		}
		memcpy(buf, c[i].addr, alen);
		put_be16(buf + alen, c[i].port);
		pex_out(out, cap, at, buf, alen + 2);
	}
}

ssize_t pex_put(uint8_t *out, size_t cap, uint8_t ext_id, const struct pex_contact *added,
		size_t n_added, const struct pex_contact *dropped, size_t n_dropped)
{
	size_t at = WIRE_EXTENDED_HDR_LEN;

	if (!n_added && !n_dropped)
		return -EINVAL;
	for (size_t i = 0; i < n_added + n_dropped; i++) {
		const struct pex_contact *c = i < n_added ? &added[i] : &dropped[i - n_added];

		if (c->family != 4 && c->family != 6)
			return -EINVAL;
	}
	if (cap < WIRE_EXTENDED_HDR_LEN)
		return -ENOSPC;
	/* Keys in byte order, as bencoding wants: added, added.f, added6, added6.f, dropped,
	 * dropped6. */
	pex_out(out, cap, &at, "d", 1);
	pex_put_list(out, cap, &at, "added", added, n_added, 4, false);
	pex_put_list(out, cap, &at, "added.f", added, n_added, 4, true);
	pex_put_list(out, cap, &at, "added6", added, n_added, 6, false);
	pex_put_list(out, cap, &at, "added6.f", added, n_added, 6, true);
	pex_put_list(out, cap, &at, "dropped", dropped, n_dropped, 4, false);
	pex_put_list(out, cap, &at, "dropped6", dropped, n_dropped, 6, false);
	pex_out(out, cap, &at, "e", 1);
	if (at > cap)
		return -ENOSPC;
	wire_put_extended_header(out, ext_id, (uint32_t)(at - WIRE_EXTENDED_HDR_LEN));
	return (ssize_t)at;
}
