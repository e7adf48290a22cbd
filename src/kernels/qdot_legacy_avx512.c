/* AVX-512 (VNNI) IQ4_NL GEMV kernel; same bits as ref/qdot_legacy_ref.c.
 * (The AVX-512 table's other 32-value block types are the AVX2 kernels
 * built for AVX-512: qdot_legacy_ymm_avx512.c. On the Zen 4 measured,
 * IQ4_NL's table lookup is the one where the zmm kernel streams faster:
 * docs/KERNELS.md, "AVX-512 on Zen 4".)
 *
 * Layout of the work: rows go in groups of 16 and columns in chunks of up
 * to CHUNK blocks. Per chunk the activation is unpacked once for the group
 * (scales to float, exact block sums of x.qs, x.qs split to match the
 * weight vectors). Each row then turns 16 blocks at a time into a vector
 * of 16 float terms (isums by _mm512_dpbusd_epi32 of the looked-up codes
 * + 128, unsigned, times the signed activations, corrected with 128 times
 * the block sum) and adds it into its 16 lane sums: lane k holds the
 * reference's partial sum k (blocks b with b % 16 == k). The last 1..15
 * blocks of a row go through the same code with masked loads (zeros past
 * the row's end) and a masked add. The lanes are folded by the reference's
 * tree at the end of the row. */
#include "kernels/qdot.h"
#include "kernels/qdot_legacy_block.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* a_g holds blocks 4g+k in 128-bit lane k as 4 int32 partial sums; returns
 * the 16 block sums in block order. */
static inline __m512i isum16_groups(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    const __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
    const __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
    const __m512i t = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
    /* t: dword 4k+j holds unit 4j+k */
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_epi32(order, t);
}

/* the references' fold of 16 lane sums: h = 8, 4, 2, 1 */
static inline float fold16(__m512 v) {
    const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

/* Byte masks of the first k bytes of a load (k may be <= 0 or past the width). */
static inline __mmask64 first64(long k) { return k >= 64 ? ~0ull : k <= 0 ? 0 : (1ull << k) - 1; }
static inline __mmask16 first16(long k) { return (__mmask16)first64(k < 16 ? k : 16); }

/* The 16-bit words at w + i * bs for i < 4 (0 for i >= live) in one
 * qword: scalar loads, on the integer ports that the vector code leaves
 * idle (cheaper than gathers or cross-lane permutes). live is a constant
 * on the main path. */
static inline __attribute__((always_inline)) uint64_t words4(const uint8_t *w, size_t bs, int live) {
    uint64_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint16_t h = 0;
        if (i < live) memcpy(&h, w + (size_t)i * bs, 2);
        v |= (uint64_t)h << (16 * i);
    }
    return v;
}

/* the same for 16 blocks: block scales as 16 fp16 words */
static inline __attribute__((always_inline)) __m256i scale_words(const uint8_t *w, size_t bs, int live) {
    return _mm256_setr_epi64x((long long)words4(w, bs, live), (long long)words4(w + 4 * bs, bs, live - 4),
                              (long long)words4(w + 8 * bs, bs, live - 8), (long long)words4(w + 12 * bs, bs, live - 12));
}

#define CHUNK 256 /* blocks per column chunk (a multiple of 16) */
#define ROWS 16
#define BS ((int)sizeof(block_iq4_nl)) /* 18 bytes: fp16 d, 16 bytes of nibbles */

typedef struct {
    _Alignas(64) int8_t xqs[CHUNK * 32]; /* split layout */
    _Alignas(64) float dx[CHUNK + 16]; /* + 16: a row's last partial group reads 16 lanes from any multiple of 4 */
    _Alignas(64) int32_t xsum[CHUNK + 16];
} xchunk;

/* Split layout: per 4 blocks, 64 bytes of their values 0..15 (block k in
 * 128-bit lane k), then 64 bytes of their values 16..31. */
static inline int8_t *split_lo(xchunk *c, int b) { return c->xqs + (b / 4) * 128 + (b % 4) * 16; }

/* The block sums of a row's last ng groups: with one group (a row's last
 * 1..4 blocks) only lanes 0..3 are meaningful (the caller masks the rest),
 * which takes fewer shuffles. */
static inline __m512i isum_groups(int ng, __m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    if (ng > 1) return isum16_groups(a0, a1, a2, a3);
    const __m512i s = _mm512_add_epi32(a0, _mm512_shuffle_epi32(a0, _MM_PERM_BADC));
    const __m512i t = _mm512_add_epi32(s, _mm512_shuffle_epi32(s, _MM_PERM_CDAB)); /* lane k: its sum, 4 times */
    return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), t);
}

/* Blocks [nbc, npad) are zero: they pair with the zero weight blocks that
 * pad a row's last partial group of 16, and give terms of exactly 0. */
static void prep_chunk(xchunk *c, const block_q8_0 *xb, int nbc, int npad) {
    for (int b = nbc; b < npad; b++) {
        memset(split_lo(c, b), 0, 16);
        memset(split_lo(c, b) + 64, 0, 16);
    }
    for (int b = nbc; b < npad + 16; b++) c->dx[b] = 0.0f, c->xsum[b] = 0;
    for (int b = 0; b < nbc; b++) {
        c->dx[b] = _cvtsh_ss(xb[b].d);
        memcpy(split_lo(c, b), xb[b].qs, 16);
        memcpy(split_lo(c, b) + 64, xb[b].qs + 16, 16);
    }
    const __m512i ones = _mm512_set1_epi8(1), zero = _mm512_setzero_si512();
    for (int b = 0; b < npad; b += 16) {
        __m512i g[4];
        for (int k = 0; k < 4; k++) {
            const int8_t *p = c->xqs + (b + 4 * k) * 32; /* 4 blocks in 128 bytes */
            g[k] = _mm512_add_epi32(_mm512_dpbusd_epi32(zero, ones, _mm512_load_si512(p)),
                                    _mm512_dpbusd_epi32(zero, ones, _mm512_load_si512(p + 64)));
        }
        _mm512_store_si512(c->xsum + b, isum16_groups(g[0], g[1], g[2], g[3]));
    }
}

/* _mm512_permutex2var_epi16 over A = bytes [0,64) and B = bytes [8,72) of
 * a 4-block group (72 bytes): block k's qs (words 1..8 of the block) in
 * 128-bit lane k */
static __m512i qs_index(void) {
    const int bofs = 4 * BS - 64;
    _Alignas(64) uint16_t q[32];
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < 8; i++) {
            const int w = (b * BS + 2) / 2 + i;
            q[8 * b + i] = (uint16_t)(w < 32 ? w : 32 + w - bofs / 2);
        }
    return _mm512_load_si512(q);
}

/* 16 blocks of one row: their 16 terms, of which the first 4*ng are
 * computed (ng = 1..4 groups of 4 blocks; the others give 0). tb > 0: only
 * tb bytes exist from w on (a row's last 1..15 blocks). */
static inline __attribute__((always_inline)) __m512 term16(const uint8_t *w, const xchunk *c, int bi, __m512i qs_idx,
                                                            __m512i table, int ng, long tb) {
    const int bofs = 4 * BS - 64;
    const __m512i m0f = _mm512_set1_epi8(0x0F), zero = _mm512_setzero_si512();
    __m512i acc[4] = {zero, zero, zero, zero};
    for (int g = 0; g < ng; g++) {
        const uint8_t *p = w + (size_t)g * 4 * BS;
        /* masked loads read zeros past the row and never touch memory there */
        const __m512i A = tb ? _mm512_maskz_loadu_epi8(first64(tb - g * 4 * BS), p) : _mm512_loadu_si512(p);
        const __m512i B = tb ? _mm512_maskz_loadu_epi8(first64(tb - g * 4 * BS - bofs), p + bofs)
                             : _mm512_loadu_si512(p + bofs);
        const __m512i q = _mm512_permutex2var_epi16(A, qs_idx, B);
        const __m512i lo = _mm512_shuffle_epi8(table, _mm512_and_si512(q, m0f));
        const __m512i hi = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(q, 4), m0f));
        const int8_t *xp = c->xqs + (bi + 4 * g) * 32;
        acc[g] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, lo, _mm512_load_si512(xp)), hi,
                                     _mm512_load_si512(xp + 64));
    }
    __m512i isum = isum_groups(ng, acc[0], acc[1], acc[2], acc[3]);
    isum = _mm512_sub_epi32(isum, _mm512_slli_epi32(_mm512_load_si512(c->xsum + bi), 7)); /* codes + 128 */
    const __m512 dw = _mm512_cvtph_ps(scale_words(w, (size_t)BS, tb ? (int)(tb / BS) : 4 * ng));
    return _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_load_ps(c->dx + bi)), _mm512_cvtepi32_ps(isum));
}

/* The terms of a row's last rem = 1..15 blocks (tb bytes), lanes past them
 * 0: one straight instance per group count. */
static inline __attribute__((always_inline)) __m512 tail16(const uint8_t *w, const xchunk *c, int bi, __m512i qs_idx,
                                                            __m512i table, int rem, long tb) {
    switch ((rem + 3) / 4) {
    case 1: return term16(w, c, bi, qs_idx, table, 1, tb);
    case 2: return term16(w, c, bi, qs_idx, table, 2, tb);
    case 3: return term16(w, c, bi, qs_idx, table, 3, tb);
    default: return term16(w, c, bi, qs_idx, table, 4, tb);
    }
}

void lq_qdot_iq4_nl_avx512(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1) {
    const __m512i qs_idx = qs_index();
    _Alignas(16) int8_t t[16]; /* nibble to code + 128 */
    for (int i = 0; i < 16; i++) t[i] = (int8_t)(lq_kvalues_iq4nl[i] + 128);
    const __m512i table = _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)t));
    xchunk c;
    __m512 acc[ROWS];
    const int nb = n / 32;
    for (int g0 = r0; g0 < r1; g0 += ROWS) {
        const int R = r1 - g0 < ROWS ? r1 - g0 : ROWS;
        for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
        for (int c0 = 0; c0 < nb; c0 += CHUNK) {
            const int nbc = nb - c0 < CHUNK ? nb - c0 : CHUNK, n16 = nbc & ~15, npad = (nbc + 15) & ~15;
            if (nb > CHUNK || g0 == r0) prep_chunk(&c, (const block_q8_0 *)xq + c0, nbc, npad); /* one chunk: once per call */
            const int rem = nbc - n16;
            const long tb = (long)rem * BS;
            for (int r = 0; r < R; r++) {
                const uint8_t *row = (const uint8_t *)W + (size_t)(g0 + r) * row_bytes + (size_t)c0 * BS;
                __m512 a = acc[r];
                for (int bi = 0; bi < n16; bi += 16) {
                    LQ_MCA_BEGIN();
                    a = _mm512_add_ps(a, term16(row + (size_t)bi * BS, &c, bi, qs_idx, table, 4, 0));
                    LQ_MCA_END();
                }
                if (rem) a = _mm512_mask_add_ps(a, first16(rem), a, tail16(row + (size_t)n16 * BS, &c, n16, qs_idx, table, rem, tb));
                acc[r] = a;
            }
        }
        for (int r = 0; r < R; r++) y[g0 + r] = fold16(acc[r]);
    }
}
