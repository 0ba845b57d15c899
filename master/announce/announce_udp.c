/*
 * announce_udp.c - UDP trackers (BEP 15): connect, announce, scrape.
 *
 * One non-blocking socket per address family we listen on (bound to the
 * listen address when that is not the wildcard), in the master's epoll set.
 * Exchanges are found again by transaction id (a hash of the slots waiting),
 * and a reply must come from the address we sent to. A connection id is kept
 * per tracker and family for ANN_UDP_CONN_TTL_MS (BEP 15: one minute) and
 * used by every exchange in that time. Retransmits follow BEP 15's
 * 15 * 2^n seconds, with announce.timeout as the 15, up to n =
 * ANN_UDP_RETRANSMITS; after that the exchange has failed and the job's
 * backoff takes over, so a dead tracker costs a slot for 7 timeouts at most.
 *
 * Host names are resolved with getaddrinfo_a (glibc's resolver threads, no
 * notification: the tick polls gai_error), once per tracker and family,
 * kept ANN_DNS_TTL_MS; a numeric host never needs it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "iocore/log.h"
#include "master/announce/announce_int.h"
#include "proto/bytes.h"

/* A lookup in flight: the request and its hints live together until it is done. */
struct ann_gai {
	struct gaicb cb; /* first: ep->gai points here */
	struct addrinfo hints;
};

/*
 * RFC 6761: "localhost" and names below it are the loopback addresses of both
 * families, without a lookup (curl does the same for HTTP, so both agree).
 */
static bool ann_localhost(const char *h)
{
	size_t n = strlen(h);

	return strcasecmp(h, "localhost") == 0 ||
	       (n > 10 && strcasecmp(h + n - 10, ".localhost") == 0);
}

/* udp://host:port[/...]: the host (brackets off) and the port, which BEP 15 URLs always have. */
int ann_udp_tracker(struct ann_tracker *tr, char *why, size_t whylen)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	int rc = -EINVAL;

	if (!u || curl_url_set(u, CURLUPART_URL, tr->url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(why, whylen, "not a URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK) {
		snprintf(why, whylen, "a UDP tracker URL needs a port");
		goto out;
	}
	if (host[0] == '[') {
		host[strlen(host) - 1] = '\0';
		tr->udp_host = strdup(host + 1);
	} else {
		tr->udp_host = strdup(host);
	}
	snprintf(tr->udp_port, sizeof(tr->udp_port), "%s", port);
	if (!tr->udp_host) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (unsigned f = 0; f < ANN_FAM_MAX; f++) {
		struct ann_udp_ep *ep = &tr->ep[f];
		int af = f ? AF_INET6 : AF_INET;
		void *dst = f ? (void *)&ep->addr.in6.sin6_addr : (void *)&ep->addr.in4.sin_addr;
		const char *ip =
			ann_localhost(tr->udp_host) ? (f ? "::1" : "127.0.0.1") : tr->udp_host;
		uint16_t nport = htons((uint16_t)atoi(tr->udp_port));

		if (inet_pton(af, ip, dst) != 1)
			continue;
		ep->addr.sa.sa_family = (sa_family_t)af;
		if (f)
			ep->addr.in6.sin6_port = nport;
		else
			ep->addr.in4.sin_port = nport;
		ep->addr.len = f ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		ep->dns = ANN_DNS_OK;
		ep->dns_expires_ms = UINT64_MAX;
	}
	rc = 0;
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

static void ann_gai_free(struct ann_udp_ep *ep)
{
	struct ann_gai *g = (struct ann_gai *)ep->gai;

	if (g->cb.ar_result)
		freeaddrinfo(g->cb.ar_result);
	free(g);
	ep->gai = NULL;
}

void ann_udp_tracker_free(struct ann_tracker *tr)
{
	for (unsigned f = 0; f < ANN_FAM_MAX; f++) {
		struct ann_udp_ep *ep = &tr->ep[f];

		if (!ep->gai)
			continue;
		if (gai_cancel(ep->gai) == EAI_NOTCANCELED) {
			/* a resolver thread holds it: give it a second (shutdown only) */
			const struct gaicb *list[1] = { ep->gai };
			struct timespec ts = { 1, 0 };

			if (gai_suspend(list, 1, &ts) != 0 &&
			    gai_error(ep->gai) == EAI_INPROGRESS) {
				ep->gai = NULL; /* leaked rather than freed under the thread */
				continue;
			}
		}
		ann_gai_free(ep);
	}
	free(tr->udp_host);
}

static void ann_dns_start(struct announcer *a, struct ann_tracker *tr, unsigned f)
{
	struct ann_udp_ep *ep = &tr->ep[f];
	struct ann_gai *g = calloc(1, sizeof(*g));
	struct gaicb *list[1];
	int rc;

	if (!g) {
		ep->dns = ANN_DNS_FAIL;
		ep->dns_err = EAI_MEMORY;
		return;
	}
	g->hints.ai_family = a->fam[f].af;
	g->hints.ai_socktype = SOCK_DGRAM;
	g->hints.ai_protocol = IPPROTO_UDP;
	g->cb.ar_name = tr->udp_host;
	g->cb.ar_service = tr->udp_port;
	g->cb.ar_request = &g->hints;
	list[0] = &g->cb;
	rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (rc != 0) {
		free(g);
		ep->dns = ANN_DNS_FAIL;
		ep->dns_err = rc;
		return;
	}
	ep->gai = &g->cb;
	ep->dns = ANN_DNS_BUSY;
}

static void ann_dns_poll(struct announcer *a, struct ann_udp_ep *ep)
{
	struct addrinfo *ai;
	int rc;

	if (ep->dns != ANN_DNS_BUSY || (rc = gai_error(ep->gai)) == EAI_INPROGRESS)
		return;
	ai = ep->gai->ar_result;
	if (rc == 0 && ai && ai->ai_addrlen <= sizeof(ep->addr.in6)) {
		memcpy(&ep->addr.sa, ai->ai_addr, ai->ai_addrlen);
		ep->addr.len = ai->ai_addrlen;
		ep->dns = ANN_DNS_OK;
		ep->dns_expires_ms = a->now_ms + ANN_DNS_TTL_MS;
		ep->conn_expires_ms = 0; /* maybe another machine now */
	} else {
		ep->dns = ANN_DNS_FAIL;
		ep->dns_err = rc ? rc : EAI_NONAME;
	}
	ann_gai_free(ep);
}

/* --- exchanges --- */

static void ann_tx_unhash(struct announcer *a, struct ann_slot *s)
{
	struct ann_slot **pp = &a->udp_by_txid[s->txid & a->udp_tx_mask];

	if (!s->tx_on)
		return;
	while (*pp != s)
		pp = &(*pp)->tx_next;
	*pp = s->tx_next;
	s->tx_on = false;
}

void ann_udp_end(struct announcer *a, struct ann_slot *s)
{
	ann_tx_unhash(a, s);
	if (s->udp_on) {
		if (s->u_prev)
			s->u_prev->u_next = s->u_next;
		else
			a->udp_active = s->u_next;
		if (s->u_next)
			s->u_next->u_prev = s->u_prev;
		s->u_prev = s->u_next = NULL;
		s->udp_on = false;
	}
}

/* A failure of the exchange: the announce's, or the scrape's that followed it. */
static void ann_udp_failed(struct announcer *a, struct ann_slot *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void ann_udp_failed(struct announcer *a, struct ann_slot *s, const char *fmt, ...)
{
	char what[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (s->want == PH_UDP_SCRAPE)
		ann_scrape_result(a, s, NULL, what);
	else
		ann_exchange_fail(a, s, "%s", what);
}

static int ann_udp_transmit(struct announcer *a, struct ann_slot *s)
{
	const struct ann_udp_ep *ep = &s->tr->ep[s->job->fam];
	ssize_t n = sendto(a->fam[s->job->fam].udp_fd, s->pkt, s->pkt_len, 0, &ep->addr.sa,
			   ep->addr.len);

	if (n < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EINTR) {
		snprintf(s->errbuf, sizeof(s->errbuf), "sendto: %s", strerror(errno));
		return -1;
	}
	/* a datagram the kernel had no room for is one lost on the way: retransmitted */
	s->resend_ms = a->now_ms + ((uint64_t)a->timeout_ms << s->tries);
	return 0;
}

/* The request of a phase, with a fresh transaction id. */
static int ann_udp_request(struct announcer *a, struct ann_slot *s, uint8_t phase)
{
	const struct ann_udp_ep *ep = &s->tr->ep[s->job->fam];
	ssize_t len = 0;

	ann_tx_unhash(a, s);
	s->txid = ann_rand32(a);
	if (phase == PH_UDP_CONNECT)
		len = (ssize_t)trk_udp_connect_req(s->pkt, s->txid);
	else if (phase == PH_UDP_ANNOUNCE)
		len = (ssize_t)trk_udp_announce_req(s->pkt, ep->conn_id, s->txid, &s->ta);
	else
		len = trk_udp_scrape_req(s->pkt, sizeof(s->pkt), ep->conn_id, s->txid,
					 (const uint8_t(*)[TRK_HASH_LEN])s->ta.info_hash, 1);
	if (len <= 0 || len > (ssize_t)sizeof(s->pkt)) {
		snprintf(s->errbuf, sizeof(s->errbuf), "cannot build the UDP request");
		return -1;
	}
	s->pkt_len = (uint8_t)len;
	s->phase = phase;
	s->tries = 0;
	s->tx_next = a->udp_by_txid[s->txid & a->udp_tx_mask];
	a->udp_by_txid[s->txid & a->udp_tx_mask] = s;
	s->tx_on = true;
	return ann_udp_transmit(a, s);
}

/* Where the exchange stands: resolve, connect, or straight to what it wants. */
static int ann_udp_go(struct announcer *a, struct ann_slot *s)
{
	unsigned f = s->job->fam;
	struct ann_udp_ep *ep = &s->tr->ep[f];

	if (ep->dns == ANN_DNS_OK && a->now_ms >= ep->dns_expires_ms)
		ep->dns = ANN_DNS_NONE;
	if (ep->dns != ANN_DNS_OK) {
		if (ep->dns != ANN_DNS_BUSY)
			ann_dns_start(a, s->tr, f);
		if (ep->dns == ANN_DNS_FAIL) {
			snprintf(s->errbuf, sizeof(s->errbuf), "cannot resolve %s: %s",
				 s->tr->udp_host, gai_strerror(ep->dns_err));
			return -1;
		}
		s->phase = PH_UDP_RESOLVE;
		s->resend_ms = a->now_ms + a->timeout_ms;
		return 0;
	}
	if (ep->conn_expires_ms > a->now_ms)
		return ann_udp_request(a, s, s->want);
	return ann_udp_request(a, s, PH_UDP_CONNECT);
}

static int ann_udp_begin(struct announcer *a, struct ann_slot *s, uint8_t want)
{
	if (a->fam[s->job->fam].udp_fd < 0) {
		snprintf(s->errbuf, sizeof(s->errbuf), "no UDP socket");
		return -1;
	}
	s->want = want;
	if (!s->udp_on) {
		s->u_prev = NULL;
		s->u_next = a->udp_active;
		if (a->udp_active)
			a->udp_active->u_prev = s;
		a->udp_active = s;
		s->udp_on = true;
	}
	return ann_udp_go(a, s);
}

int ann_udp_announce(struct announcer *a, struct ann_slot *s)
{
	return ann_udp_begin(a, s, PH_UDP_ANNOUNCE);
}

int ann_udp_scrape(struct announcer *a, struct ann_slot *s)
{
	return ann_udp_begin(a, s, PH_UDP_SCRAPE);
}

/* Lookups done, retransmits due, exchanges out of time. */
void ann_udp_tick(struct announcer *a)
{
	for (struct ann_slot *s = a->udp_active, *next; s; s = next) {
		next = s->u_next; /* handling s never touches another slot */
		if (s->phase == PH_UDP_RESOLVE) {
			struct ann_udp_ep *ep = &s->tr->ep[s->job->fam];

			ann_dns_poll(a, ep);
			if (ep->dns == ANN_DNS_FAIL) {
				ann_udp_failed(a, s, "cannot resolve %s: %s", s->tr->udp_host,
					       gai_strerror(ep->dns_err));
			} else if (ep->dns == ANN_DNS_OK) {
				if (ann_udp_go(a, s) != 0)
					ann_udp_failed(a, s, "%s", s->errbuf);
			} else if (a->now_ms >= s->resend_ms) {
				ann_udp_failed(a, s, "looking up %s took over %u s",
					       s->tr->udp_host, a->timeout_ms / 1000);
			}
			continue;
		}
		if (a->now_ms < s->resend_ms)
			continue;
		if (s->tries < ANN_UDP_RETRANSMITS) {
			s->tries++;
			a->c[ANN_C_UDP_RETRANSMITS]++;
			if (ann_udp_transmit(a, s) != 0)
				ann_udp_failed(a, s, "%s", s->errbuf);
			continue;
		}
		if (s->phase == PH_UDP_CONNECT)
			s->tr->ep[s->job->fam].dns_expires_ms = 0; /* look it up again next time */
		ann_udp_failed(a, s, "no reply to %s after %u tries (%llu s)",
			       s->phase == PH_UDP_CONNECT    ? "connect"
			       : s->phase == PH_UDP_ANNOUNCE ? "announce"
							     : "scrape",
			       ANN_UDP_RETRANSMITS + 1,
			       (unsigned long long)(((uint64_t)a->timeout_ms
						     << (ANN_UDP_RETRANSMITS + 1)) -
						    a->timeout_ms) /
				       1000);
	}
}

static const char *ann_udp_action_name(uint32_t action)
{
	static const char *names[] = { "connect", "announce", "scrape", "error" };

	return action < 4 ? names[action] : "unknown";
}

/* A reply to the exchange in s (txid and sender already checked). */
static void ann_udp_reply(struct announcer *a, struct ann_slot *s, const uint8_t *buf, size_t n)
{
	static const uint32_t expect[] = { [PH_UDP_CONNECT] = TRK_UDP_CONNECT,
					   [PH_UDP_ANNOUNCE] = TRK_UDP_ANNOUNCE,
					   [PH_UDP_SCRAPE] = TRK_UDP_SCRAPE };
	struct ann_udp_ep *ep = &s->tr->ep[s->job->fam];
	struct trk_peer peers[8];
	struct trk_scrape sc[1];
	struct trk_udp_resp r = { .peers = peers, .max_peers = 8, .scrapes = sc, .max_scrapes = 1 };
	const char *why = "?";

	if (trk_udp_parse_resp(buf, n, a->fam[s->job->fam].af, s->txid, &r, &why) != 0) {
		ann_udp_failed(a, s, "malformed UDP reply (%zu bytes): %s", n, why);
		return;
	}
	if (r.action == TRK_UDP_ERROR) {
		if (s->phase != PH_UDP_CONNECT)
			ep->conn_expires_ms = 0; /* the id may be what it refuses */
		ann_udp_failed(a, s, "tracker error \"%.*s\"",
			       (int)(r.error_len > 200 ? 200 : r.error_len), r.error);
		return;
	}
	if (r.action != expect[s->phase]) {
		ann_udp_failed(a, s, "%s reply to a %s request", ann_udp_action_name(r.action),
			       ann_udp_action_name(expect[s->phase]));
		return;
	}
	if (s->phase == PH_UDP_CONNECT) {
		ep->conn_id = r.conn_id;
		ep->conn_expires_ms = a->now_ms + ANN_UDP_CONN_TTL_MS;
		if (ann_udp_request(a, s, s->want) != 0)
			ann_udp_failed(a, s, "%s", s->errbuf);
		return;
	}
	ann_tx_unhash(a, s);
	if (s->phase == PH_UDP_SCRAPE) {
		if (r.n_scrapes == 1)
			ann_scrape_result(a, s, &sc[0], NULL);
		else
			ann_scrape_result(a, s, NULL, "scrape reply without our torrent");
		return;
	}
	ann_exchange_ok(a, s,
			&(struct ann_reply){ .interval = r.interval,
					     .min_interval = -1,
					     .seeders = r.seeders,
					     .leechers = r.leechers,
					     .peers = r.total_peers });
}

static bool ann_same_addr(const struct sockaddr_storage *from, const struct conf_addr *to)
{
	const struct sockaddr_in *f4 = (const struct sockaddr_in *)from;
	const struct sockaddr_in6 *f6 = (const struct sockaddr_in6 *)from;

	if (from->ss_family != to->sa.sa_family)
		return false;
	if (from->ss_family == AF_INET)
		return f4->sin_port == to->in4.sin_port &&
		       f4->sin_addr.s_addr == to->in4.sin_addr.s_addr;
	return f6->sin6_port == to->in6.sin6_port &&
	       memcmp(&f6->sin6_addr, &to->in6.sin6_addr, sizeof(f6->sin6_addr)) == 0;
}

/* Datagrams on family f's socket; a bounded batch (level-triggered epoll brings the rest). */
void ann_udp_read(struct announcer *a, unsigned f)
{
	uint8_t buf[2048];

	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(a->fam[f].udp_fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &fl);
		struct ann_slot *s;

		if (n < 0) {
			if (errno == EINTR || errno == ECONNREFUSED)
				continue;
			break; /* EAGAIN: drained */
		}
		s = NULL;
		if (n >= 8)
			for (s = a->udp_by_txid[get_be32(buf + 4) & a->udp_tx_mask]; s;
			     s = s->tx_next)
				if (s->txid == get_be32(buf + 4) && s->job->fam == f)
					break;
		if (!s || !ann_same_addr(&from, &s->tr->ep[f].addr)) {
			a->c[ANN_C_UDP_STRAY]++;
			continue;
		}
		ann_udp_reply(a, s, buf, (size_t)n);
	}
}

int ann_udp_init(struct announcer *a, char *err, size_t errlen)
{
	int one = 1;

	for (unsigned f = 0; f < ANN_FAM_MAX; f++) {
		struct ann_family *fa = &a->fam[f];
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 =
						  ((uint64_t)a->kind << 32) | (ANN_IDX_UDP + f) };

		if (!fa->on)
			continue;
		fa->udp_fd = socket(fa->af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fa->udp_fd >= 0 && f)
			setsockopt(fa->udp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (fa->udp_fd < 0 ||
		    (fa->bind && bind(fa->udp_fd, &fa->src.sa, fa->src.len) != 0) ||
		    epoll_ctl(a->epfd, EPOLL_CTL_ADD, fa->udp_fd, &ev) != 0) {
			snprintf(err, errlen, "announce: UDP socket for %s: %s", fa->iface + 5,
				 strerror(errno));
			return -errno;
		}
	}
	return 0;
}

void ann_udp_close(struct announcer *a)
{
	for (unsigned f = 0; f < ANN_FAM_MAX; f++) {
		if (a->fam[f].udp_fd >= 0)
			close(a->fam[f].udp_fd);
		a->fam[f].udp_fd = -1;
	}
}
