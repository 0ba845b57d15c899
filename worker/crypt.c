/*
 * crypt.c - a peer that came through Message Stream Encryption.
 *
 * The master ran the handshake (proto/mse.c) and handed over the ciphers as
 * it left them. Incoming bytes are deciphered in the receive buffer before
 * the wire decoder sees them (for a plaintext peer only what is left of its
 * IA). Outgoing bytes of an RC4 peer are ciphered exactly once, in the order
 * they go on the wire: the intro when it is made (it is the first output),
 * control bytes when a send of them is issued (a short send's rest is
 * already ciphered), a batch of blocks once its reads are in. RC4 peers take
 * the copy path whatever serve.send_strategy says: the cipher needs the
 * bytes in the worker's memory. Plaintext peers keep the zero-copy paths.
 */
#include <stdlib.h>
#include <string.h>

#include "worker/wk.h"

struct wk_crypt {
	struct mse_stream st;
	uint32_t ctl_sealed; /* bytes at the front of p->ctl already ciphered */
};

int crypt_attach(struct peer *p, const struct wmsg *msg)
{
	if (msg->crypt == WCRYPT_NONE)
		return 0;
	p->crypt = malloc(sizeof(*p->crypt));
	if (!p->crypt)
		return -1;
	p->crypt->st = msg->st;
	p->crypt->ctl_sealed = 0;
	return 0;
}

void crypt_free(struct peer *p)
{
	free(p->crypt);
	p->crypt = NULL;
}

bool crypt_rc4(const struct peer *p)
{
	return p->crypt && p->crypt->st.method == MSE_CRYPTO_RC4;
}

void crypt_recv(struct peer *p, uint8_t *buf, size_t n)
{
	if (p->crypt)
		mse_recv(&p->crypt->st, buf, n);
}

void crypt_seal(struct peer *p, uint8_t *buf, size_t n)
{
	if (crypt_rc4(p))
		mse_send(&p->crypt->st, buf, n);
}

/* A send of p->ctl[0..ctl_len) is about to be issued. */
void crypt_seal_ctl(struct peer *p)
{
	if (!crypt_rc4(p))
		return;
	mse_send(&p->crypt->st, p->ctl + p->crypt->ctl_sealed, p->ctl_len - p->crypt->ctl_sealed);
	p->crypt->ctl_sealed = p->ctl_len;
}

/* n bytes of p->ctl left: the ciphered rest moves to the front with the bytes. */
void crypt_ctl_sent(struct peer *p, uint32_t n)
{
	if (crypt_rc4(p))
		p->crypt->ctl_sealed -= n;
}

/* Which per-path byte counter a peer's payload adds to, besides WSTAT_UP_BYTES. */
int crypt_up_stat(const struct peer *p)
{
	if (!p->crypt)
		return -1;
	return crypt_rc4(p) ? WSTAT_UP_BYTES_RC4 : WSTAT_UP_BYTES_MSE_PLAIN;
}
