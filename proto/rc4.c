/*
 * rc4.c - RC4 (key schedule and generator), see rc4.h for why it is here.
 */
#include "proto/rc4.h"

void rc4_init(struct rc4 *c, const uint8_t *key, size_t key_len)
{
	uint32_t j = 0;

	for (unsigned i = 0; i < 256; i++)
		c->s[i] = i;
	for (unsigned i = 0; i < 256; i++) {
		uint32_t t = c->s[i];

		j = (j + t + key[i % key_len]) & 0xff;
		c->s[i] = c->s[j];
		c->s[j] = t;
	}
	c->i = c->j = 0;
	c->used = 0;
}

/*
 * The state lives in locals and s is restrict: every byte written through
 * out could otherwise alias s, i and j, and the compiler would reload them
 * per byte (a fifth slower, in CPU time, when measured).
 */
static void rc4_run(struct rc4 *c, const uint8_t *in, uint8_t *out, size_t n)
{
	uint32_t *restrict s = c->s;
	uint32_t i = c->i, j = c->j;

	for (size_t k = 0; k < n; k++) {
		uint32_t a, b;

		i = (i + 1) & 0xff;
		a = s[i];
		j = (j + a) & 0xff;
		b = s[j];
		s[i] = b;
		s[j] = a;
		if (out)
			out[k] = (uint8_t)(in[k] ^ s[(a + b) & 0xff]);
	}
	c->i = i;
	c->j = j;
	c->used += n;
}

void rc4_skip(struct rc4 *c, size_t n)
{
	rc4_run(c, NULL, NULL, n);
}

void rc4_apply(struct rc4 *c, const uint8_t *in, uint8_t *out, size_t n)
{
	rc4_run(c, in, out, n);
}
