/*
 * fuzz_pex.c - libFuzzer target for proto/pex: ut_pex messages (BEP 11).
 *
 * Input: the payload of an extended message after its id byte. What
 * pex_parse() accepts must be one bencoded dictionary whose lists it
 * reports exactly (pointers inside the input, whole contacts, flags one per
 * contact, within PEX_PARSE_MAX); written again with pex_put() it must read
 * back as the same contacts and flags.
 */
#include <errno.h>
#include <string.h>

#include "proto/bencode.h"
#include "proto/pex.h"
#include "proto/wire.h"
#include "tests/fuzz/fuzz.h"

static struct pex_contact add[PEX_PARSE_MAX], drop[PEX_PARSE_MAX];
static uint8_t out[PEX_PUT_CAP(PEX_PARSE_MAX, PEX_PARSE_MAX)];

/* The list under key is exactly what m reports: n contacts of size bytes at p. */
static void check_list(const struct bc_val *root, const char *key, const uint8_t *p, uint32_t n,
		       size_t size)
{
	struct bc_val v;

	if (!bc_dict_get_type(root, key, BC_STR, &v)) {
		ASSERT(p == NULL && n == 0);
		return;
	}
	ASSERT(p == v.str && v.str_len == n * size);
}

static size_t gather(const uint8_t *list, const uint8_t *flags, uint32_t n, uint8_t family,
		     struct pex_contact *c, size_t at)
{
	for (uint32_t i = 0; i < n; i++, at++) {
		pex_contact_at(list, i, family, &c[at]);
		ASSERT(c[at].port != 0);
		c[at].flags = flags ? flags[i] : 0;
	}
	return at;
}

static void check_roundtrip(const struct pex_msg *m)
{
	size_t na = gather(m->added, m->added_f, m->n_added, 4, add, 0);
	size_t nd = gather(m->dropped, NULL, m->n_dropped, 4, drop, 0);
	struct pex_msg back;
	struct ext_err err;
	ssize_t n;

	na = gather(m->added6, m->added6_f, m->n_added6, 6, add, na);
	nd = gather(m->dropped6, NULL, m->n_dropped6, 6, drop, nd);
	n = pex_put(out, sizeof(out), 1, add, na, drop, nd);
	if (!na && !nd) { /* lists present but empty: nothing to write */
		ASSERT(n == -EINVAL);
		return;
	}
	ASSERT(n > WIRE_EXTENDED_HDR_LEN && (size_t)n <= sizeof(out));
	ASSERT(pex_parse(out + WIRE_EXTENDED_HDR_LEN, (size_t)n - WIRE_EXTENDED_HDR_LEN, &back,
			 &err) == 0);
	ASSERT(back.n_added == m->n_added && back.n_added6 == m->n_added6);
	ASSERT(back.n_dropped == m->n_dropped && back.n_dropped6 == m->n_dropped6);
	ASSERT(!m->n_added || !memcmp(back.added, m->added, m->n_added * PEX_V4_LEN));
	ASSERT(!m->n_added6 || !memcmp(back.added6, m->added6, m->n_added6 * PEX_V6_LEN));
	ASSERT(!m->n_dropped || !memcmp(back.dropped, m->dropped, m->n_dropped * PEX_V4_LEN));
	ASSERT(!m->n_dropped6 || !memcmp(back.dropped6, m->dropped6, m->n_dropped6 * PEX_V6_LEN));
	for (uint32_t i = 0; i < m->n_added; i++)
		ASSERT(back.added_f[i] == (m->added_f ? m->added_f[i] : 0));
	for (uint32_t i = 0; i < m->n_added6; i++)
		ASSERT(back.added6_f[i] == (m->added6_f ? m->added6_f[i] : 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pex_msg m;
	struct ext_err err;
	struct bc_val root;
	struct bc_err be;
	int rc = pex_parse(data, size, &m, &err);

	if (rc != 0) {
		ASSERT(rc == -EINVAL && err.msg[0] && memchr(err.msg, '\0', sizeof(err.msg)));
		return 0;
	}
	ASSERT(bc_parse(data, size, BC_ALLOW_UNSORTED, &root, &be) == 0 && root.type == BC_DICT);
	ASSERT(m.added || m.added6 || m.dropped || m.dropped6);
	ASSERT((uint64_t)m.n_added + m.n_added6 + m.n_dropped + m.n_dropped6 <= PEX_PARSE_MAX);
	check_list(&root, "added", m.added, m.n_added, PEX_V4_LEN);
	check_list(&root, "added6", m.added6, m.n_added6, PEX_V6_LEN);
	check_list(&root, "dropped", m.dropped, m.n_dropped, PEX_V4_LEN);
	check_list(&root, "dropped6", m.dropped6, m.n_dropped6, PEX_V6_LEN);
	check_list(&root, "added.f", m.added_f, m.added_f ? m.n_added : 0, 1);
	check_list(&root, "added6.f", m.added6_f, m.added6_f ? m.n_added6 : 0, 1);
	check_roundtrip(&m);
	return 0;
}
