/*
 * test_addrcap.c - an address charges one per-IP and one per-subnet slot:
 * IPv4-mapped IPv6 charges what the IPv4 address does, a /24 (IPv6 /48)
 * shares its subnet slot and not its IP slot, other families charge
 * nothing, and the slots spread over the table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "master/proc/addrcap.h"
#include "tests/unit/test.h"

#define KEY 0x0123456789abcdefull

static void slots_of(const char *text, uint32_t s[2])
{
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons(6881) };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons(1) };

	if (inet_pton(AF_INET, text, &v4.sin_addr) == 1) {
		CHECK_EQ_INT(addrcap_slots((struct sockaddr *)&v4, sizeof(v4), KEY, s), 0);
		return;
	}
	REQUIRE(inet_pton(AF_INET6, text, &v6.sin6_addr) == 1);
	CHECK_EQ_INT(addrcap_slots((struct sockaddr *)&v6, sizeof(v6), KEY, s), 0);
}

static void test_families(void)
{
	uint32_t a[2], b[2], c[2], d[2];
	struct sockaddr_un_like {
		sa_family_t family;
		char path[20];
	} un = { .family = AF_UNIX };

	slots_of("10.1.2.3", a);
	slots_of("::ffff:10.1.2.3", b);
	CHECK(a[0] == b[0] && a[1] == b[1]);
	CHECK(a[0] < ADDRCAP_BUCKETS);
	CHECK(a[1] >= ADDRCAP_BUCKETS && a[1] < ADDRCAP_SLOTS);

	slots_of("10.1.2.200", c); /* same /24 */
	CHECK(c[1] == a[1]);
	CHECK(c[0] != a[0]);
	slots_of("10.1.3.3", d); /* next /24 */
	CHECK(d[1] != a[1]);

	slots_of("2001:db8:1::1", a);
	slots_of("2001:db8:1:ffff::2", b); /* same /48 */
	slots_of("2001:db8:2::1", c);
	CHECK(a[1] == b[1]);
	CHECK(a[0] != b[0]);
	CHECK(a[1] != c[1]);
	CHECK(a[0] < ADDRCAP_BUCKETS && a[1] >= ADDRCAP_BUCKETS && a[1] < ADDRCAP_SLOTS);

	/* A compatible-looking but unmapped IPv6 address is not IPv4. */
	slots_of("::10.1.2.3", b);
	slots_of("10.1.2.3", d);
	CHECK(b[0] != d[0]);

	CHECK_EQ_INT(addrcap_slots((struct sockaddr *)&un, sizeof(un), KEY, a), -EAFNOSUPPORT);
	CHECK(a[0] == ADDRCAP_NONE && a[1] == ADDRCAP_NONE);
	/* A short length is refused, not read past. */
	CHECK_EQ_INT(addrcap_slots((struct sockaddr *)&un, 2, KEY, a), -EAFNOSUPPORT);
}

/* 4096 addresses of 127.0.0.0/8 land in nearly as many IP slots; the key moves them. */
static void test_spread(void)
{
	static uint8_t seen[ADDRCAP_BUCKETS];
	unsigned collisions = 0, moved = 0;

	for (unsigned i = 0; i < 4096; i++) {
		struct sockaddr_in v4 = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(0x7f000000u | i) };
		uint32_t s[2], t[2];

		addrcap_slots((struct sockaddr *)&v4, sizeof(v4), KEY, s);
		addrcap_slots((struct sockaddr *)&v4, sizeof(v4), KEY + 1, t);
		collisions += seen[s[0]]++ != 0;
		moved += s[0] != t[0];
	}
	/* Expected about 4096^2 / (2 * 65536) = 128. */
	CHECK(collisions < 300);
	CHECK(moved > 4000);
}

int main(void)
{
	test_families();
	test_spread();
	return test_done("addrcap");
}
