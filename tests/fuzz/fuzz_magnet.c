/*
 * fuzz_magnet.c - libFuzzer target for proto/magnet: magnet links.
 *
 * Input: a link's bytes. Whatever magnet_parse() accepts has an info-hash,
 * every string NUL-terminated inside its field, free of control bytes (tr,
 * x.pe) or with them replaced (dn), within the bounds; x.pe values end in a
 * port. Parsing the same bytes twice gives the same result.
 */
#include <string.h>

#include "proto/magnet.h"
#include "tests/fuzz/fuzz.h"

static struct magnet m, again;

static void check_str(const char *s, size_t cap, bool controls)
{
	size_t n = strnlen(s, cap);

	ASSERT(n < cap);
	for (size_t i = 0; !controls && i < n; i++)
		ASSERT((unsigned char)s[i] >= 0x20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct magnet_err err;

	if (magnet_parse((const char *)data, size, &m, &err) != 0) {
		ASSERT(err.msg[0] != '\0');
		return 0;
	}
	ASSERT(m.has_v1 || m.has_v2);
	ASSERT(m.n_tr <= MAGNET_TR_MAX && m.n_pe <= MAGNET_PE_MAX);
	check_str(m.dn, sizeof(m.dn), false);
	for (unsigned i = 0; i < m.n_tr; i++) {
		check_str(m.tr[i], sizeof(m.tr[i]), false);
		ASSERT(m.tr[i][0] != '\0');
	}
	for (unsigned i = 0; i < m.n_pe; i++) {
		const char *colon = strrchr(m.pe[i], ':');

		check_str(m.pe[i], sizeof(m.pe[i]), false);
		ASSERT(colon && colon[1] >= '0' && colon[1] <= '9');
	}
	ASSERT(magnet_parse((const char *)data, size, &again, &err) == 0);
	ASSERT(memcmp(&m, &again, sizeof(m)) == 0);
	return 0;
}
