/*
 * wsframe.c - see wsframe.h.
 */
#include "wsframe.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#define WSFRAME_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

uint32_t
wsframe_rand(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

void
wsframe_make_key(const unsigned char nonce[16], char key[WSFRAME_KEY_LEN])
{
	EVP_EncodeBlock((unsigned char *)key, nonce, 16);
}

void
wsframe_accept_key(const char *key, char out[WSFRAME_ACCEPT_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[128];

	snprintf(buf, sizeof(buf), "%s%s", key, WSFRAME_GUID);
	EVP_Digest(buf, strlen(buf), md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

size_t
wsframe_head(unsigned char *hdr, int opcode, bool fin, size_t len,
	     uint32_t mask)
{
	size_t hlen = 2, i;

	hdr[0] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
	if (len < 126) {
		hdr[1] = (unsigned char)(0x80 | len);
	} else if (len <= 0xffff) {
		hdr[1] = 0x80 | 126;
		hdr[2] = (unsigned char)(len >> 8);
		hdr[3] = (unsigned char)(len & 0xff);
		hlen = 4;
	} else {
		hdr[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			hdr[2 + i] =
				(unsigned char)((uint64_t)len >> (56 - 8 * i));
		hlen = 10;
	}
	memcpy(hdr + hlen, &mask, 4);
	return hlen + 4;
}

void
wsframe_mask(unsigned char *dst, const unsigned char *src, size_t len,
	     uint32_t mask)
{
	unsigned char m[4];
	size_t i;

	memcpy(m, &mask, 4);
	for (i = 0; i < len; i++)
		dst[i] = src[i] ^ m[i & 3];
}

size_t
wsframe_parse(const unsigned char *p, size_t avail, struct wsframe *f)
{
	size_t hlen = 2, i;
	uint64_t len;

	if (avail < 2)
		return 0;
	f->fin = p[0] & 0x80;
	f->rsv = (p[0] >> 4) & 0x07;
	f->opcode = p[0] & 0x0f;
	f->masked = p[1] & 0x80;
	len = p[1] & 0x7f;
	if (len == 126)
		hlen = 4;
	else if (len == 127)
		hlen = 10;
	if (f->masked)
		hlen += 4;
	if (avail < hlen)
		return 0;
	if (len >= 126) {
		size_t end = len == 126 ? 4 : 10;

		len = 0;
		for (i = 2; i < end; i++)
			len = (len << 8) | p[i];
	}
	f->len = len;
	f->head_len = hlen;
	return hlen;
}
