/*
 * crypt.c - a peer that came through Message Stream Encryption.
 *
 * The master ran the handshake (proto/mse.c) and handed over the ciphers as
 * it left them. Incoming bytes are deciphered in the receive buffer before
 * the wire decoder sees them (for a plaintext peer only what is left of its
 * IA). Outgoing bytes of an RC4 peer are ciphered exactly once, in the order
 * they go on the wire: the intro when it is made (it is the first output),
 * control bytes when a send of them is issued (a short send's rest is
 * already ciphered), a batch of blocks once its bytes are there. The cipher
 * needs the bytes in the worker's memory, so an RC4 peer's batch is always
 * a buffer sent whole: ciphered from the mapped files into it (crypt_gather,
 * once cold.c made the pages resident), or with serve.send_strategy = copy
 * read into it and ciphered in place. Plaintext peers keep the zero-copy
 * paths.
 *
 * The cipher of an RC4 peer is libcrypto's when its legacy provider loads
 * (assembly: 640 MB/s against 350 for proto/rc4.c, measured with `openssl
 * speed -evp rc4` and `test_mse bench` on the project's machine), rebuilt
 * from the key and the key-stream bytes the handshake used; ringseed's own
 * otherwise.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/provider.h>

#include "iocore/bus_guard.h"
#include "iocore/log.h"
#include "worker/wk.h"

static bool crypt_guarded; /* the SIGBUS handler is in: crypt_gather may run */

struct wk_crypt {
	struct mse_stream st;
	EVP_CIPHER_CTX *in, *out; /* libcrypto's RC4 for an RC4 peer; NULL: st's */
	uint32_t ctl_sealed;	  /* bytes at the front of p->ctl already ciphered */
};

static EVP_CIPHER *crypt_evp(struct worker *w)
{
	if (w->rc4_probed)
		return w->rc4;
	w->rc4_probed = true;
	if (crypt_gather_init() != 0)
		log_warn("RC4 peers: no SIGBUS handler; their blocks are read, not mapped");
	/* Loading one provider by hand stops the default one loading by itself. */
	if (OSSL_PROVIDER_load(NULL, "default") && OSSL_PROVIDER_load(NULL, "legacy"))
		w->rc4 = EVP_CIPHER_fetch(NULL, "RC4", NULL);
	if (w->rc4)
		log_debug("RC4 peers: libcrypto's RC4 (legacy provider)");
	else
		log_notice("RC4 peers: libcrypto's legacy provider is not available; "
			   "using ringseed's own RC4 (slower)");
	return w->rc4;
}

int crypt_attach(struct worker *w, struct peer *p, const struct wmsg *msg)
{
	struct wk_crypt *c;
	EVP_CIPHER *evp;

	if (msg->crypt == WCRYPT_NONE)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	c->st = msg->st;
	p->crypt = c;
	if (c->st.method != MSE_CRYPTO_RC4 || !(evp = crypt_evp(w)))
		return 0;
	c->in = mse_evp_rc4(evp, c->st.key_in, c->st.in.used);
	c->out = mse_evp_rc4(evp, c->st.key_out, c->st.out.used);
	if (!c->in || !c->out) { /* out of memory: ours still works */
		EVP_CIPHER_CTX_free(c->in);
		EVP_CIPHER_CTX_free(c->out);
		c->in = c->out = NULL;
	}
	return 0;
}

void crypt_free(struct peer *p)
{
	if (!p->crypt)
		return;
	EVP_CIPHER_CTX_free(p->crypt->in);
	EVP_CIPHER_CTX_free(p->crypt->out);
	free(p->crypt);
	p->crypt = NULL;
}

bool crypt_rc4(const struct peer *p)
{
	return p->crypt && p->crypt->st.method == MSE_CRYPTO_RC4;
}

/* In place; a buffer is at most a batch or a receive buffer, far below INT_MAX. */
static void crypt_evp_apply(EVP_CIPHER_CTX *ctx, uint8_t *buf, size_t n)
{
	int out;

	if (n)
		EVP_EncryptUpdate(ctx, buf, &out, buf, (int)n);
}

void crypt_recv(struct peer *p, uint8_t *buf, size_t n)
{
	struct wk_crypt *c = p->crypt;
	size_t k;

	if (!c)
		return;
	if (!c->in) {
		mse_recv(&c->st, buf, n);
		return;
	}
	/* The IA's rest, then the stream: both RC4 for an RC4 peer. */
	k = n < c->st.in_rc4_left ? n : c->st.in_rc4_left;
	c->st.in_rc4_left -= (uint32_t)k;
	crypt_evp_apply(c->in, buf, n);
}

void crypt_seal(struct peer *p, uint8_t *buf, size_t n)
{
	if (!crypt_rc4(p))
		return;
	if (p->crypt->out)
		crypt_evp_apply(p->crypt->out, buf, n);
	else
		mse_send(&p->crypt->st, buf, n);
}

/*
 * A page of a mapped file that is gone (the file was cut short under us:
 * the master's lease makes a truncate wait until the torrent is out of
 * service, but not every file system grants leases) is a SIGBUS on the
 * read. iocore/bus_guard.c turns one inside crypt_gather into -EFAULT; any
 * other SIGBUS still ends the process as it would without it.
 */
int crypt_gather_init(void)
{
	int rc = bg_install();

	crypt_guarded = rc == 0;
	return rc;
}

/* An RC4 peer whose batches may be ciphered from the mapped files (crypt_gather). */
bool crypt_gathers(const struct peer *p)
{
	return crypt_guarded && crypt_rc4(p);
}

/*
 * An RC4 peer's batch, ciphered from where its bytes are (headers in the
 * header log, blocks in the mapped files, cold.c having made them resident)
 * straight into dst: one pass over the content in user space instead of a
 * READ into the buffer and a second pass to cipher it there. Returns 0, or
 * -EFAULT if a mapped page was gone; the cipher is then out of step with
 * the peer, which must be dropped.
 */
static void crypt_gather_run(struct wk_crypt *c, uint8_t *dst, const struct iovec *iov,
			     uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		int len = (int)iov[i].iov_len, out;

		if (c->out && len)
			EVP_EncryptUpdate(c->out, dst, &out, iov[i].iov_base, len);
		else
			rc4_apply(&c->st.out, iov[i].iov_base, dst, (size_t)len);
		dst += len;
	}
}

int crypt_gather(struct peer *p, uint8_t *dst, const struct iovec *iov, uint32_t n)
{
	sigjmp_buf env;

	if (sigsetjmp(env, 0)) {
		bg_leave();
		return -EFAULT;
	}
	bg_enter(&env);
	crypt_gather_run(p->crypt, dst, iov, n);
	bg_leave();
	return 0;
}

/* A send of p->ctl[0..ctl_len) is about to be issued. */
void crypt_seal_ctl(struct peer *p)
{
	if (!crypt_rc4(p))
		return;
	crypt_seal(p, p->ctl + p->crypt->ctl_sealed, p->ctl_len - p->crypt->ctl_sealed);
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
