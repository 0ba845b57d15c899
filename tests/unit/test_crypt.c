/*
 * test_crypt.c - an RC4 peer's batch ciphered from where its bytes are
 * (worker/crypt.c, included so its state is reachable): the output is the
 * RC4 stream of the bytes back to back, with libcrypto's cipher and with
 * ringseed's own, across batches; and a mapped page that is gone (a file
 * cut short under the worker) fails the batch with -EFAULT instead of
 * ending the process, again and again.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "worker/crypt.c"
#include "tests/unit/test.h"

static const uint8_t key[20] = "0123456789abcdefghij";

/* A peer as the master hands it over: RC4, both ciphers past the discard. */
static void rc4_peer(struct worker *w, struct peer *p)
{
	struct wmsg msg = { .type = WMSG_PEER, .crypt = WCRYPT_RC4 };

	msg.st.method = MSE_CRYPTO_RC4;
	memcpy(msg.st.key_in, key, 20);
	memcpy(msg.st.key_out, key, 20);
	rc4_init(&msg.st.in, key, 20);
	rc4_skip(&msg.st.in, MSE_RC4_DISCARD);
	msg.st.out = msg.st.in;
	memset(p, 0, sizeof(*p));
	REQUIRE(crypt_attach(w, p, &msg) == 0 && crypt_rc4(p));
}

/* Three batches of a header, a mapped block and a short tail, against proto/rc4.c. */
static void check_gather(struct worker *w, bool evp, const uint8_t *map, size_t map_len)
{
	struct peer p;
	struct rc4 ref;
	static uint8_t want[3 * 20000], got[3 * 20000];
	uint8_t hdr[13] = { 0, 0, 0x40, 9, 7 }, tail[5] = { 1, 2, 3, 4, 5 };
	size_t at = 0;

	rc4_peer(w, &p);
	if (!evp) { /* what a worker without the legacy provider runs */
		EVP_CIPHER_CTX_free(p.crypt->out);
		p.crypt->out = NULL;
	}
	CHECK(evp == (p.crypt->out != NULL));
	rc4_init(&ref, key, 20);
	rc4_skip(&ref, MSE_RC4_DISCARD);
	for (int k = 0; k < 3; k++) {
		struct iovec iov[3] = { { hdr, sizeof(hdr) },
					{ (void *)(map + 4096 * k), map_len - 4096 * k - 1 },
					{ tail, sizeof(tail) } };
		size_t n = iov[0].iov_len + iov[1].iov_len + iov[2].iov_len;

		for (int i = 0, o = 0; i < 3; o += (int)iov[i].iov_len, i++)
			memcpy(want + at + o, iov[i].iov_base, iov[i].iov_len);
		rc4_apply(&ref, want + at, want + at, n);
		CHECK_EQ_INT(crypt_gather(&p, got + at, iov, 3), 0);
		at += n;
	}
	CHECK(memcmp(want, got, at) == 0);
	crypt_free(&p);
}

int main(void)
{
	static struct worker w;
	char path[] = "/tmp/test_crypt.XXXXXX";
	int fd = mkstemp(path);
	uint8_t block[16384], *map;
	struct peer p;

	REQUIRE(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (uint8_t)(i * 7 + 3);
	REQUIRE(write(fd, block, sizeof(block)) == (ssize_t)sizeof(block));
	map = mmap(NULL, sizeof(block), PROT_READ, MAP_SHARED, fd, 0);
	REQUIRE(map != MAP_FAILED);

	if (crypt_evp(&w)) {
		check_gather(&w, true, map, sizeof(block));
		check_gather(&w, false, map, sizeof(block));
	} else {
		check_gather(&w, false, map, sizeof(block));
		fprintf(stderr, "note: no RC4 in libcrypto (legacy provider): its path unchecked\n");
	}
	REQUIRE(w.rc4_probed && crypt_guarded);

	/* The file loses its last three pages while mapped: reading them is a SIGBUS. */
	REQUIRE(ftruncate(fd, 4096) == 0);
	rc4_peer(&w, &p);
	for (int k = 0; k < 3; k++) {
		struct iovec ok = { map, 4096 }, gone = { map + 8192, 100 };
		uint8_t out[4096];

		CHECK_EQ_INT(crypt_gather(&p, out, &ok, 1), 0);
		CHECK_EQ_INT(crypt_gather(&p, out, &gone, 1), -EFAULT);
	}
	crypt_free(&p);
	munmap(map, sizeof(block));
	close(fd);
	EVP_CIPHER_free(w.rc4);
	/* crypt_evp loads the providers for the worker's lifetime: one more load, two unloads */
	if (w.rc4) {
		OSSL_PROVIDER *l = OSSL_PROVIDER_load(NULL, "legacy");
		OSSL_PROVIDER *d = OSSL_PROVIDER_load(NULL, "default");

		for (int i = 0; i < 2; i++) {
			OSSL_PROVIDER_unload(l);
			OSSL_PROVIDER_unload(d);
		}
	}
	return test_done("crypt");
}
