/*
 * addrcap.c - an address to its per-IP and per-subnet counter slots.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "master/proc/addrcap.h"

/* A 64-bit finalizer (splitmix64) over the key and the address words. */
static uint64_t addrcap_mix(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

/* Hashes len bytes (at most 16) of a, tagged with what they are (family, prefix). */
static uint32_t addrcap_hash(const uint8_t *a, size_t len, uint32_t tag, uint64_t key)
{
	uint8_t b[16] = { 0 };
	uint64_t w0, w1, h;

	memcpy(b, a, len);
	memcpy(&w0, b, 8);
	memcpy(&w1, b + 8, 8);
	h = addrcap_mix(key ^ tag);
	h = addrcap_mix(h ^ w0);
	h = addrcap_mix(h ^ w1);
	return (uint32_t)(h % ADDRCAP_BUCKETS);
}

int addrcap_slots(const struct sockaddr *sa, socklen_t len, uint64_t key, uint32_t slot[2])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a;

	slot[0] = slot[1] = ADDRCAP_NONE;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(a, mapped, sizeof(mapped)) != 0) {
			slot[0] = addrcap_hash(a, 16, 6u << 8 | 128, key);
			slot[1] = ADDRCAP_BUCKETS + addrcap_hash(a, 6, 6u << 8 | 48, key);
			return 0;
		}
		a += sizeof(mapped);
	} else {
		return -EAFNOSUPPORT;
	}
	slot[0] = addrcap_hash(a, 4, 4u << 8 | 32, key);
	slot[1] = ADDRCAP_BUCKETS + addrcap_hash(a, 3, 4u << 8 | 24, key);
	return 0;
}
