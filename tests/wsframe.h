/*
 * wsframe.h - the pure parts of RFC 6455 that a client needs: the opening
 * handshake key, frame headers and masking.  No sockets, no allocation,
 * no state: shared by the blocking test client (wsclient.c) and the
 * non-blocking load generator (bench/loadgen.c).
 */
#ifndef TESTS_WSFRAME_H
#define TESTS_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSFRAME_KEY_LEN	   25 /* base64 of 16 bytes, NUL included */
#define WSFRAME_ACCEPT_LEN 29 /* base64 of a SHA-1, NUL included */
#define WSFRAME_HEAD_MAX   14 /* 2 + 8 (length) + 4 (mask) */

/* One parsed frame header. */
struct wsframe {
	int opcode;	 /* 0..15 */
	bool fin;	 /* last frame of a message */
	unsigned rsv;	 /* the three reserved bits, 0 unless extended */
	bool masked;	 /* a server must never mask */
	uint64_t len;	 /* payload length */
	size_t head_len; /* header bytes, payload starts after them */
};

/* A 32-bit xorshift step, for masking keys; 'state' must not be 0. */
uint32_t wsframe_rand(uint32_t *state);

/* Encode 16 'nonce' bytes as a Sec-WebSocket-Key into 'key'. */
void wsframe_make_key(const unsigned char nonce[16], char key[WSFRAME_KEY_LEN]);

/* The Sec-WebSocket-Accept value a server must answer to 'key'. */
void wsframe_accept_key(const char *key, char out[WSFRAME_ACCEPT_LEN]);

/*
 * Write the header of a masked (client) frame carrying 'len' bytes into
 * 'hdr' (room for WSFRAME_HEAD_MAX) with masking key 'mask'.  Returns the
 * header length.
 */
size_t wsframe_head(unsigned char *hdr, int opcode, bool fin, size_t len,
		    uint32_t mask);

/*
 * XOR 'len' bytes of 'src' into 'dst' (may be the same) with the 4-byte
 * key 'mask' as written by wsframe_head().
 */
void wsframe_mask(unsigned char *dst, const unsigned char *src, size_t len,
		  uint32_t mask);

/*
 * Parse the header at 'p' ('avail' bytes).  Once two bytes are there,
 * 'f->opcode', 'fin', 'rsv' and 'masked' are filled.  Returns the header
 * length when it is complete (and 'f->len' with it), or 0 when more bytes
 * are needed.  The payload may still be incomplete: check 'avail'.
 */
size_t wsframe_parse(const unsigned char *p, size_t avail, struct wsframe *f);

#endif /* TESTS_WSFRAME_H */
