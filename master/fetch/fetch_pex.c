/*
 * fetch_pex.c - peer exchange (BEP 11) while fetching: the contacts a peer's
 * ut_pex messages add become sources (deduplicated, up to FETCH_SOURCES_MAX;
 * the tick connects to at most FETCH_CONNS_MAX at once). Dropped contacts
 * are left alone: a connection we have tells us itself when it goes. A
 * message pex_parse() refuses is counted and costs nothing else.
 */
#include <arpa/inet.h>
#include <string.h>

#include "iocore/log.h"
#include "master/fetch/fetch_int.h"
#include "proto/pex.h"

static void fetch_pex_add(struct fetch *f, const struct pex_contact *c)
{
	if (fetch_add_peer(f, c->family != 4, c->addr, c->port) == 0)
		f->res->c[FC_PEX_ADDED]++;
}

void fetch_pex_input(struct fetch *f, struct fpeer *p, const uint8_t *b, size_t n)
{
	struct pex_msg m;
	struct ext_err err;
	struct pex_contact c;
	char name[64];

	if (pex_parse(b, n, &m, &err) != 0) {
		f->res->c[FC_BAD_MESSAGES]++;
		log_info("fetch: %s: ut_pex: %s", fetch_src_name(f, p->src, name, sizeof(name)),
			 err.msg);
		return;
	}
	for (uint32_t i = 0; i < m.n_added; i++) {
		pex_contact_at(m.added, i, 4, &c);
		fetch_pex_add(f, &c);
	}
	for (uint32_t i = 0; i < m.n_added6; i++) {
		pex_contact_at(m.added6, i, 6, &c);
		fetch_pex_add(f, &c);
	}
}
