/*
 * mse.h - Message Stream Encryption / Protocol Encryption, both sides.
 *
 * The handshake (spec: "Message Stream Encryption", Vuze wiki; transmission's
 * extras/encryption.txt), A the initiator, B the receiver:
 *
 *   1 A->B  Ya, PadA
 *   2 B->A  Yb, PadB
 *   3 A->B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   4 B->A  ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
 *   5 A->B  ENCRYPT2(payload)
 *
 * Y = 2^X mod P over the 768-bit prime P with a 160-bit X, S = Yother^X,
 * each a 96-byte big-endian number; HASH is SHA-1; SKEY is the info-hash;
 * VC is 8 zero bytes; pads are 0-512 bytes; ENCRYPT is RC4 keyed with
 * HASH('keyA', S, SKEY) when A sends and HASH('keyB', S, SKEY) when B sends,
 * the first 1,024 bytes of each key stream thrown away. ENCRYPT2 is the
 * method B selected: RC4 going on, or plaintext. The IA is RC4 whatever B
 * selects, so a receiver that picks plaintext still deciphers the IA's rest.
 *
 * Receiver states (one function, mse_feed, drives both sides):
 *
 *   R_KEY --96 bytes--> (S, send Yb PadB) --> R_SYNC --req1 found--> R_SKEY
 *     R_SYNC: no req1 starting within 608 bytes of the stream: NO_SYNC
 *   R_SKEY --20 bytes, known torrent--> R_VC     (else UNKNOWN_SKEY)
 *   R_VC   --14 bytes, VC zero, PadC <= 512--> R_PADC  (else BAD_VC / BAD_PAD)
 *   R_PADC --PadC, len(IA) <= ia_max, a method we allow--> DONE (send step 4)
 *
 * Initiator states:
 *
 *   (send Ya PadA) I_KEY --96 bytes--> (send step 3) I_SYNC
 *   I_SYNC --ENCRYPT(VC) within 520 bytes--> I_SEL --6 bytes--> I_PADD --> DONE
 *
 * Every state has a bound, so one connection costs at most two modular
 * exponentiations and a few hundred bytes of work. Time is the caller's:
 * mse_expired() names the error of a handshake whose deadline passed.
 *
 * Pure: no syscalls, no logging, no globals; libcrypto (BIGNUM, SHA-1) only.
 * Randomness comes from the caller (MSE_RAND_LEN bytes per connection).
 */
#ifndef RINGSEED_MSE_H
#define RINGSEED_MSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "proto/rc4.h"

#define MSE_KEY_LEN	96    /* a DH public key: 768 bits */
#define MSE_PRIV_LEN	20    /* a private key: 160 bits */
#define MSE_PAD_MAX	512   /* PadA..PadD are 0-512 bytes */
#define MSE_SYNC_MAX	608   /* req1 starts within Ya + PadA: 96 + 512 bytes */
#define MSE_VC_LEN	8     /* verification constant: 8 zero bytes */
#define MSE_IA_MAX	65535 /* len(IA) is two bytes */
#define MSE_RC4_DISCARD 1024  /* key-stream bytes thrown away per direction */
#define MSE_DEADLINE_S	30    /* a receiver gives up after this (the caller keeps time) */
#define MSE_INIT_IA_MAX 128   /* an initiator's IA: a BitTorrent handshake fits */
#define MSE_RAND_LEN	32    /* random bytes the caller gives each connection */
#define MSE_OUT_MAX	1400  /* the most one mse_feed leaves to send */

/* crypto_provide / crypto_select bits */
#define MSE_CRYPTO_PLAIN 0x01
#define MSE_CRYPTO_RC4	 0x02

/* Why a handshake failed: each is counted by the caller. */
enum mse_err {
	MSE_ERR_NONE = 0,
	MSE_ERR_SHORT,	      /* fewer than 96 bytes before the deadline */
	MSE_ERR_TIMEOUT,      /* 96 bytes came, the rest did not, before the deadline */
	MSE_ERR_BAD_KEY,      /* the peer's public key is 0, 1, P-1 or not below P */
	MSE_ERR_NO_SYNC,      /* no req1 (receiver) or VC (initiator) within the pad bound */
	MSE_ERR_UNKNOWN_SKEY, /* req2 xor req3 names no torrent served here */
	MSE_ERR_BAD_VC,	      /* VC not 8 zero bytes */
	MSE_ERR_BAD_PAD,      /* len(PadC) or len(PadD) over 512 */
	MSE_ERR_IA_TOO_LONG,  /* len(IA) over the caller's limit */
	MSE_ERR_NO_CRYPTO,    /* no method both sides allow, or a select not offered */
	MSE_ERR_INTERNAL,     /* libcrypto failed (out of memory) */
	MSE_ERR_MAX
};

enum mse_state {
	MSE_R_KEY,  /* receiver: collecting Ya */
	MSE_R_SYNC, /* receiver: PadA, looking for HASH('req1', S) */
	MSE_R_SKEY, /* receiver: HASH('req2', SKEY) xor HASH('req3', S) */
	MSE_R_VC,   /* receiver: VC, crypto_provide, len(PadC) */
	MSE_R_PADC, /* receiver: PadC and len(IA) */
	MSE_I_KEY,  /* initiator: collecting Yb */
	MSE_I_SYNC, /* initiator: PadB, looking for ENCRYPT(VC) */
	MSE_I_SEL,  /* initiator: crypto_select, len(PadD) */
	MSE_I_PADD, /* initiator: PadD */
	MSE_DONE,   /* the payload stream follows: use struct mse_stream */
	MSE_FAILED, /* sticky: err says why */
	MSE_STATE_MAX
};

/*
 * What is left after the handshake: enough to cipher the payload stream.
 * key_in/key_out with in.used/out.used also describe each cipher, for a
 * user that would rather run RC4 elsewhere (libcrypto's, say): the same
 * key, then that many key-stream bytes skipped.
 */
struct mse_stream {
	struct rc4 in, out;
	uint8_t key_in[20], key_out[20];
	uint32_t in_rc4_left; /* bytes of IA still to come: RC4 whatever was selected */
	uint8_t method;	      /* MSE_CRYPTO_PLAIN or MSE_CRYPTO_RC4 */
};

/* Finds the info-hash whose HASH('req2', info_hash) is req2; 0 or -ENOENT. */
typedef int (*mse_find_fn)(void *ctx, const uint8_t req2[20], uint8_t info_hash[20]);

struct mse_policy {
	uint8_t allow;	  /* MSE_CRYPTO_* bits this side accepts (receiver) or offers */
	bool prefer_rc4;  /* receiver: a peer offering both gets RC4 (else plaintext) */
	uint16_t pad_max; /* our pads are 0..pad_max bytes (at most 512) */
	uint32_t ia_max;  /* receiver: longest IA accepted (at most 65,535) */
	mse_find_fn find; /* receiver: the torrent table */
	void *find_ctx;
};

struct mse {
	enum mse_state state;
	enum mse_err err;
	struct mse_policy pol;
	uint8_t priv[MSE_PRIV_LEN];
	uint8_t secret[MSE_KEY_LEN]; /* S */
	uint8_t s_off;		     /* leading zero bytes of S the peer left out (see mse.c) */
	uint8_t skey[20];	     /* the info-hash */
	uint8_t sync[20];	     /* what R_SYNC / I_SYNC looks for */
	uint8_t sync_short[20];	     /* receiver, S starting with zeros: HASH('req1', S short) */
	struct rc4 pad_gen;	     /* makes pad bytes from the caller's randomness */
	uint16_t pad2_len;	     /* our next pad: PadB (receiver) or PadC (initiator) */
	uint32_t got;		     /* bytes of the peer's stream consumed so far */
	uint16_t need, have;	     /* the stage collecting into acc */
	uint16_t ia_len;	     /* receiver: len(IA) */
	uint8_t provide;	     /* receiver: the peer's crypto_provide bits */
	uint8_t ia[MSE_INIT_IA_MAX]; /* initiator: sent in step 3 */
	uint16_t ia_out;
	uint8_t acc[MSE_PAD_MAX + 20];
	struct mse_stream st;
	uint8_t out[MSE_OUT_MAX]; /* to send, in order; the caller empties it (out_len = 0) */
	size_t out_len;
};

/*
 * Start a receiver (the peer spoke first and its first bytes were not a
 * BitTorrent handshake). rnd: MSE_RAND_LEN fresh random bytes. 0 or -EINVAL.
 */
int mse_init_receiver(struct mse *m, const struct mse_policy *pol, const uint8_t *rnd);

/*
 * Start an initiator for the torrent skey; Ya and PadA are in m->out at
 * once. ia (at most MSE_INIT_IA_MAX bytes) goes in step 3, usually the
 * BitTorrent handshake. 0, -EINVAL, or -ENOMEM when libcrypto fails.
 */
int mse_init_initiator(struct mse *m, const struct mse_policy *pol, const uint8_t *rnd,
		       const uint8_t skey[20], const uint8_t *ia, size_t ia_len);

/*
 * Feed bytes the peer sent. *used says how many were taken: once the
 * handshake is done the rest (in + *used ...) is the payload stream, for
 * mse_recv. Returns 1 when done, 0 when it wants more, or -1 on failure
 * (m->err says why; it stays failed). Bytes to send may be in m->out.
 */
int mse_feed(struct mse *m, const uint8_t *in, size_t n, size_t *used);

/*
 * The most bytes mse_feed can take now without reading past the handshake
 * except in a sync stage (where at most the pad bound is read ahead).
 */
size_t mse_want(const struct mse *m);

/* The error of a handshake whose deadline passed: SHORT under 96 bytes, else TIMEOUT. */
enum mse_err mse_expired(const struct mse *m);

/* "short", "no_sync", ...: for counters and logs. */
const char *mse_err_name(enum mse_err e);

/* HASH('req2', info_hash): what the receiver's table is keyed by. */
void mse_req2(const uint8_t info_hash[20], uint8_t out[20]);

/*
 * libcrypto's RC4 (a cipher the caller fetched, e.g. from the legacy
 * provider) keyed with key and `used` key-stream bytes skipped: the same
 * cipher as a struct rc4 whose key and .used these are. NULL on failure.
 */
EVP_CIPHER_CTX *mse_evp_rc4(EVP_CIPHER *rc4, const uint8_t key[20], uint64_t used);

/* Decipher payload bytes in place (the IA's rest first, then ENCRYPT2). */
void mse_recv(struct mse_stream *s, uint8_t *buf, size_t n);
/* Cipher payload bytes in place for sending (nothing when plaintext). */
void mse_send(struct mse_stream *s, uint8_t *buf, size_t n);

#endif
