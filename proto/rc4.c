/*
 * rc4.c - RC4 (key schedule and generator), see rc4.h for why it is here.
 */
#include "proto/rc4.h"

void rc4_init(struct rc4 *c, const uint8_t *key, size_t key_len)
{
	uint8_t j = 0;

	for (unsigned i = 0; i < 256; i++)
		c->s[i] = (uint8_t)i;
	for (unsigned i = 0; i < 256; i++) {
		uint8_t t = c->s[i];

		j = (uint8_t)(j + t + key[i % key_len]);
		c->s[i] = c->s[j];
		c->s[j] = t;
	}
	c->i = c->j = 0;
}

static inline uint8_t rc4_next(struct rc4 *c)
{
	uint8_t a, b;

	c->i = (uint8_t)(c->i + 1);
	a = c->s[c->i];
	c->j = (uint8_t)(c->j + a);
	b = c->s[c->j];
	c->s[c->i] = b;
	c->s[c->j] = a;
	return c->s[(uint8_t)(a + b)];
}

void rc4_skip(struct rc4 *c, size_t n)
{
	while (n--)
		(void)rc4_next(c);
}

void rc4_apply(struct rc4 *c, const uint8_t *in, uint8_t *out, size_t n)
{
	for (size_t k = 0; k < n; k++)
		out[k] = in[k] ^ rc4_next(c);
}
