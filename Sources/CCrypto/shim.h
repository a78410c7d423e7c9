#ifndef PB_CCRYPTO_SHIM_H
#define PB_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/* libcrypto's SHA-256 and AES-256-GCM for state encryption, as plain functions Swift can call. */

/* SHA-256 of `length` bytes into `out` (32 bytes). */
static inline void pb_sha256(const unsigned char *data, size_t length, unsigned char *out) { SHA256(data, length, out); }

/* `count` cryptographically random bytes; 1 on success. */
static inline int pb_random_bytes(unsigned char *out, int count) { return RAND_bytes(out, count); }

/* AES-256-GCM: encrypts `length` bytes with a 32-byte key and 12-byte nonce into `out` (same length) and a
   16-byte tag. 1 on success. */
static inline int pb_aes256gcm_seal(const unsigned char *key, const unsigned char *nonce, const unsigned char *in,
                                    int length, unsigned char *out, unsigned char *tag) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return 0;
    int ok = 0, written = 0, final = 0;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
        EVP_EncryptUpdate(ctx, out, &written, in, length) == 1 &&
        EVP_EncryptFinal_ex(ctx, out + written, &final) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1) ok = 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/* AES-256-GCM decryption; 1 only when the tag verifies (wrong key or tampered data gives 0). */
static inline int pb_aes256gcm_open(const unsigned char *key, const unsigned char *nonce, const unsigned char *in,
                                    int length, const unsigned char *tag, unsigned char *out) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return 0;
    int ok = 0, written = 0, final = 0;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
        EVP_DecryptUpdate(ctx, out, &written, in, length) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) == 1 &&
        EVP_DecryptFinal_ex(ctx, out + written, &final) == 1) ok = 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

#endif
