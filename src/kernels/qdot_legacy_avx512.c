/* AVX-512 (VNNI) GEMV kernels for the 32-value block types; same bits as
 * ref/qdot_legacy_ref.c.
 *
 * Layout of the work: rows go in groups of 16 and columns in chunks of up
 * to CHUNK blocks. Per chunk the activation is unpacked once for the group
 * (scales to float, exact block sums of x.qs, x.qs rearranged to match the
 * weight vectors). Each row then turns 16 blocks at a time into a vector of
 * 16 float terms (isums by _mm512_dpbusd_epi32, unsigned weight codes times
 * signed activations, signed codes shifted by a constant and corrected with
 * the block sum) and adds it into its 16 lane sums: lane k holds the
 * reference's partial sum k (blocks b with b % 16 == k). The last 1..15
 * blocks of a row go through the same code with masked loads (zeros past
 * the row's end) and a masked add. The lanes are folded by the reference's
 * tree at the end of the row. */
#include "kernels/qdot.h"
#include "kernels/qdot_legacy_block.h"
#include "kernels/simd_avx512.h"

#include <immintrin.h>
#include <pthread.h>

#define CHUNK 256 /* blocks per column chunk (a multiple of 16) */
#define ROWS 16

typedef struct {
    _Alignas(64) int8_t xqs[CHUNK * 32]; /* split (nibble types) or plain layout */
    _Alignas(64) float dx[CHUNK + 16]; /* + 16: a row's last partial group reads 16 lanes from any multiple of 4 */
    _Alignas(64) float sx[CHUNK + 16];
    _Alignas(64) int32_t xsum[CHUNK + 16];
} xchunk;

/* Split layout: per 4 blocks, 64 bytes of their values 0..15 (block k in
 * 128-bit lane k), then 64 bytes of their values 16..31. Plain: 32 bytes
 * per block. */
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
static void prep_chunk(xchunk *c, const uint8_t *xb0, int nbc, int npad, int q81, int split) {
    const size_t xbs = q81 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const int qoff = q81 ? 4 : 2;
    for (int b = nbc; b < npad; b++) {
        int8_t *dlo = split ? split_lo(c, b) : c->xqs + b * 32;
        memset(dlo, 0, 16);
        memset(dlo + (split ? 64 : 16), 0, 16);
    }
    for (int b = nbc; b < npad + 16; b++) c->dx[b] = c->sx[b] = 0.0f, c->xsum[b] = 0;
    for (int b = 0; b < nbc; b++) {
        const uint8_t *xb = xb0 + (size_t)b * xbs;
        uint16_t h[2];
        memcpy(h, xb, 4);
        c->dx[b] = _cvtsh_ss(h[0]);
        c->sx[b] = _cvtsh_ss(h[1]); /* meaningful for Q8_1 only */
        const __m128i lo = _mm_loadu_si128((const __m128i *)(xb + qoff));
        const __m128i hi = _mm_loadu_si128((const __m128i *)(xb + qoff + 16));
        int8_t *dlo = split ? split_lo(c, b) : c->xqs + b * 32;
        _mm_storeu_si128((__m128i *)dlo, lo);
        _mm_storeu_si128((__m128i *)(dlo + (split ? 64 : 16)), hi);
    }
    const __m512i ones = _mm512_set1_epi8(1), zero = _mm512_setzero_si512();
    for (int b = 0; b < npad; b += 16) {
        __m512i g[4];
        for (int k = 0; k < 4; k++) {
            const int8_t *p = c->xqs + (b + 4 * k) * 32; /* both layouts: 4 blocks in 128 bytes */
            const __m512i z0 = _mm512_dpbusd_epi32(zero, ones, _mm512_load_si512(p));
            const __m512i z1 = _mm512_dpbusd_epi32(zero, ones, _mm512_load_si512(p + 64));
            g[k] = split ? _mm512_add_epi32(z0, z1) : pairs_to_group(z0, z1);
        }
        _mm512_store_si512(c->xsum + b, isum16_groups(g[0], g[1], g[2], g[3]));
    }
}

/* Index for _mm512_permutex2var_epi16 over A = bytes [0,64) and B = bytes
 * [bofs, bofs+64) of a 4-block group: word w of the group. */
static inline uint16_t group_word(int w, int bofs) { return (uint16_t)(w < 32 ? w : 32 + w - bofs / 2); }

/* Word-aligned nibble formats (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL). */
typedef struct {
    __m512i qs_idx;     /* qs of the 4 blocks, block k in lane k */
    __m512i hdr_idx[4]; /* Q4_1, Q5_1: d of block 4g+k to word 4g+k, m to word 16+4g+k */
    __mmask32 hdr_mask[4];
    __m512i table;      /* nibble to code + 128 (IQ4_NL; MXFP4 uses only this) */
} nib_consts;

static void nib_consts_init(nib_consts *k, int bs, int qs_off, const int8_t *tab) {
    const int bofs = 4 * bs - 64;
    _Alignas(64) uint16_t q[32], hd[32];
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < 8; i++) q[8 * b + i] = group_word((b * bs + qs_off) / 2 + i, bofs);
    k->qs_idx = _mm512_load_si512(q);
    for (int g = 0; g < 4; g++) {
        memset(hd, 0, sizeof hd);
        for (int b = 0; b < 4; b++) {
            hd[4 * g + b] = group_word(b * bs / 2, bofs);
            hd[16 + 4 * g + b] = group_word(b * bs / 2 + 1, bofs);
        }
        k->hdr_idx[g] = _mm512_load_si512(hd);
        k->hdr_mask[g] = (0xFu << (4 * g)) | (0xFu << (16 + 4 * g));
    }
    _Alignas(16) int8_t t[16];
    for (int i = 0; i < 16; i++) t[i] = tab ? (int8_t)(tab[i] + 128) : 0;
    k->table = _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)t));
}

/* 16 blocks of one row: their 16 terms, of which the first 4*ng are
 * computed (ng = 1..4 groups of 4 blocks; the others give 0). bs, qh_off,
 * has_m, use_table, shift are constants at each call site, so each type
 * gets its own straight code. */
static inline __attribute__((always_inline)) __m512 nib16(const uint8_t *w, const xchunk *c, int bi,
                                                           const nib_consts *k, int ng, long tb, int bs,
                                                         int qh_off, int has_m, int use_table,
                                                         int shift) {
    const int bofs = 4 * bs - 64;
    const __m512i m0f = _mm512_set1_epi8(0x0F), c16 = _mm512_set1_epi8(0x10), zero = _mm512_setzero_si512();
    __m512i acc[4] = {zero, zero, zero, zero}, hdr = zero;
    for (int g = 0; g < ng; g++) {
        const uint8_t *p = w + (size_t)g * 4 * bs;
        /* tb > 0: only tb bytes exist from w on (a row's last 1..3 blocks): masked
         * loads read zeros past them and never touch memory there */
        const __m512i A = tb ? _mm512_maskz_loadu_epi8(first64(tb - g * 4 * bs), p) : _mm512_loadu_si512(p);
        const __m512i B = tb ? _mm512_maskz_loadu_epi8(first64(tb - g * 4 * bs - bofs), p + bofs)
                             : _mm512_loadu_si512(p + bofs);
        const __m512i q = _mm512_permutex2var_epi16(A, k->qs_idx, B);
        __m512i lo = _mm512_and_si512(q, m0f);
        __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m0f);
        if (qh_off >= 0) { /* bit j of block k's qh: 16 to byte 16k + j of lo (j < 16) or hi */
            const int live = tb ? (int)(tb / bs) - 4 * g : 4;
            lo = _mm512_mask_add_epi8(lo, _cvtu64_mask64(words4(p + qh_off, (size_t)bs, live)), lo, c16);
            hi = _mm512_mask_add_epi8(hi, _cvtu64_mask64(words4(p + qh_off + 2, (size_t)bs, live)), hi, c16);
        }
        if (use_table) {
            lo = _mm512_shuffle_epi8(k->table, lo);
            hi = _mm512_shuffle_epi8(k->table, hi);
        }
        const int8_t *xp = c->xqs + (bi + 4 * g) * 32;
        acc[g] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, lo, _mm512_load_si512(xp)), hi,
                                     _mm512_load_si512(xp + 64));
        /* d and m of the asymmetric types: from the loaded vectors (fewer
         * operations than 32 scalar loads) */
        if (has_m) hdr = _mm512_or_si512(hdr, _mm512_maskz_permutex2var_epi16(k->hdr_mask[g], A, k->hdr_idx[g], B));
    }
    __m512i isum = isum_groups(ng, acc[0], acc[1], acc[2], acc[3]);
    if (shift) isum = _mm512_sub_epi32(isum, _mm512_slli_epi32(_mm512_load_si512(c->xsum + bi), shift));
    const __m512 dw = _mm512_cvtph_ps(has_m ? _mm512_castsi512_si256(hdr)
                                            : scale_words(w, (size_t)bs, tb ? (int)(tb / bs) : 4 * ng));
    __m512 t = _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_load_ps(c->dx + bi)), _mm512_cvtepi32_ps(isum));
    if (has_m) {
        const __m512 mw = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(hdr, 1));
        t = _mm512_add_ps(t, _mm512_mul_ps(mw, _mm512_load_ps(c->sx + bi)));
    }
    return t;
}

static inline __attribute__((always_inline)) __m512 q8_0_16(const uint8_t *w, const xchunk *c, int bi, int ng,
                                                            long tb) {
    const __m512i flip = _mm512_set1_epi8((char)0x80), zero = _mm512_setzero_si512();
    __m512i z[8] = {zero, zero, zero, zero, zero, zero, zero, zero};
    for (int j = 0; j < 2 * ng; j++) {
        const uint8_t *p = w + (size_t)j * 2 * sizeof(block_q8_0);
        const long o = (long)(j * 2 * sizeof(block_q8_0)), b = (long)sizeof(block_q8_0);
        __m512i v = _mm512_castsi256_si512(tb ? _mm256_maskz_loadu_epi8(first32(tb - o - 2), p + 2)
                                              : _mm256_loadu_si256((const __m256i *)(p + 2)));
        v = _mm512_inserti64x4(v, tb ? _mm256_maskz_loadu_epi8(first32(tb - o - b - 2), p + 2 + b)
                                     : _mm256_loadu_si256((const __m256i *)(p + 2 + b)), 1);
        /* code + 128 as unsigned; isum = dot - 128 * sum(x) */
        z[j] = _mm512_dpbusd_epi32(zero, _mm512_xor_si512(v, flip), _mm512_load_si512(c->xqs + (bi + 2 * j) * 32));
    }
    __m512i isum = isum_groups(ng, pairs_to_group(z[0], z[1]), pairs_to_group(z[2], z[3]),
                                 pairs_to_group(z[4], z[5]), pairs_to_group(z[6], z[7]));
    isum = _mm512_sub_epi32(isum, _mm512_slli_epi32(_mm512_load_si512(c->xsum + bi), 7));
    const __m512 dw = _mm512_cvtph_ps(scale_words(w, sizeof(block_q8_0), tb ? (int)(tb / (long)sizeof(block_q8_0)) : 4 * ng));
    return _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_load_ps(c->dx + bi)), _mm512_cvtepi32_ps(isum));
}

static inline __attribute__((always_inline)) __m512 mxfp4_16(const uint8_t *w, const xchunk *c, int bi,
                                                             __m512i table, int ng, long tb) {
    const __m512i m0f = _mm512_set1_epi8(0x0F), zero = _mm512_setzero_si512();
    const size_t bs = sizeof(block_mxfp4);
    __m512i acc[4] = {zero, zero, zero, zero};
    for (int g = 0; g < ng; g++) {
        const uint8_t *p = w + (size_t)g * 4 * bs + 1;
        __m128i q4[4];
        for (int i = 0; i < 4; i++) {
            const long o = (long)((size_t)g * 4 * bs + 1 + i * bs);
            q4[i] = tb ? _mm_maskz_loadu_epi8(first16(tb - o), p + i * bs) : _mm_loadu_si128((const __m128i *)(p + i * bs));
        }
        __m512i q = _mm512_castsi128_si512(q4[0]);
        q = _mm512_inserti32x4(q, q4[1], 1);
        q = _mm512_inserti32x4(q, q4[2], 2);
        q = _mm512_inserti32x4(q, q4[3], 3);
        const __m512i lo = _mm512_shuffle_epi8(table, _mm512_and_si512(q, m0f));
        const __m512i hi = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(q, 4), m0f));
        const int8_t *xp = c->xqs + (bi + 4 * g) * 32;
        acc[g] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, lo, _mm512_load_si512(xp)), hi,
                                     _mm512_load_si512(xp + 64));
    }
    __m512i isum = isum_groups(ng, acc[0], acc[1], acc[2], acc[3]);
    isum = _mm512_sub_epi32(isum, _mm512_slli_epi32(_mm512_load_si512(c->xsum + bi), 7));
    /* E8M0 halved: 2^(e-128), i.e. bits (e-1) << 23, or 0x00200000 << e below 2.
     * Lanes past the row's end get +0.0f (the caller drops them): a denormal
     * there would cost a microcode assist in each multiply. */
    const int live = tb ? (int)(tb / (long)bs) : 4 * ng;
    const __m512i e = _mm512_and_si512(_mm512_cvtepu16_epi32(scale_words(w, bs, live)),
                                       _mm512_set1_epi32(0xFF)); /* e, and qs[0] above it */
    const __mmask16 small = _mm512_cmplt_epu32_mask(e, _mm512_set1_epi32(2));
    __m512i bits = _mm512_mask_blend_epi32(small, _mm512_slli_epi32(_mm512_sub_epi32(e, _mm512_set1_epi32(1)), 23),
                                           _mm512_sllv_epi32(_mm512_set1_epi32(0x00200000), e));
    if (live < 16) bits = _mm512_maskz_mov_epi32(first16(live), bits);
    const __m512 dw = _mm512_castsi512_ps(bits);
    return _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_load_ps(c->dx + bi)), _mm512_cvtepi32_ps(isum));
}

enum { K_Q4_0, K_Q4_1, K_Q5_0, K_Q5_1, K_Q8_0, K_IQ4_NL, K_MXFP4 };

/* The 16 terms of blocks bi.. of one row; kind is a constant at each call
 * site, so this folds to one type's code. */
static inline __attribute__((always_inline)) __m512 term16(int kind, const uint8_t *w, const xchunk *c, int bi,
                                                            const nib_consts *k, int ng, long tb) {
    switch (kind) {
    case K_Q4_0: return nib16(w, c, bi, k, ng, tb, (int)sizeof(block_q4_0), -1, 0, 0, 3);
    case K_Q4_1: return nib16(w, c, bi, k, ng, tb, (int)sizeof(block_q4_1), -1, 1, 0, 0);
    case K_Q5_0: return nib16(w, c, bi, k, ng, tb, (int)sizeof(block_q5_0), 2, 0, 0, 4);
    case K_Q5_1: return nib16(w, c, bi, k, ng, tb, (int)sizeof(block_q5_1), 4, 1, 0, 0);
    case K_IQ4_NL: return nib16(w, c, bi, k, ng, tb, (int)sizeof(block_iq4_nl), -1, 0, 1, 7);
    case K_Q8_0: return q8_0_16(w, c, bi, ng, tb);
    default: return mxfp4_16(w, c, bi, k->table, ng, tb);
    }
}

/* The terms of a row's last rem = 1..15 blocks (tb bytes), lanes past them
 * 0: one straight instance per group count. */
static inline __attribute__((always_inline)) __m512 tail16(int kind, const uint8_t *w, const xchunk *c, int bi,
                                                            const nib_consts *k, int rem, long tb) {
    switch ((rem + 3) / 4) {
    case 1: return term16(kind, w, c, bi, k, 1, tb);
    case 2: return term16(kind, w, c, bi, k, 2, tb);
    case 3: return term16(kind, w, c, bi, k, 3, tb);
    default: return term16(kind, w, c, bi, k, 4, tb);
    }
}

static inline __attribute__((always_inline)) void drive(float *y, const void *W, size_t row_bytes, const void *xq,
                                                         int n, int r0, int r1, int kind, const nib_consts *k) {
    static const int bsize[] = {18, 20, 22, 24, 34, 18, 17};
    const size_t wbs = (size_t)bsize[kind];
    const int q81 = kind == K_Q4_1 || kind == K_Q5_1, split = kind != K_Q8_0;
    xchunk c;
    __m512 acc[ROWS];
    const int nb = n / 32;
    const size_t xbs = q81 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    for (int g0 = r0; g0 < r1; g0 += ROWS) {
        const int R = r1 - g0 < ROWS ? r1 - g0 : ROWS;
        for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
        for (int c0 = 0; c0 < nb; c0 += CHUNK) {
            const int nbc = nb - c0 < CHUNK ? nb - c0 : CHUNK, n16 = nbc & ~15, npad = (nbc + 15) & ~15;
            const uint8_t *xb0 = (const uint8_t *)xq + (size_t)c0 * xbs;
            if (nb > CHUNK || g0 == r0) prep_chunk(&c, xb0, nbc, npad, q81, split); /* one chunk: once per call */
            const int rem = nbc - n16;
            const long tb = (long)rem * (long)wbs;
            for (int r = 0; r < R; r++) {
                const uint8_t *row = (const uint8_t *)W + (size_t)(g0 + r) * row_bytes + (size_t)c0 * wbs;
                __m512 a = acc[r];
                for (int bi = 0; bi < n16; bi += 16) {
                    LQ_MCA_BEGIN();
                    a = _mm512_add_ps(a, term16(kind, row + (size_t)bi * wbs, &c, bi, k, 4, 0));
                    LQ_MCA_END();
                }
                if (rem) a = _mm512_mask_add_ps(a, first16(rem), a, tail16(kind, row + (size_t)n16 * wbs, &c, n16, k, rem, tb));
                acc[r] = a;
            }
        }
        for (int r = 0; r < R; r++) y[g0 + r] = fold16(acc[r]);
    }
}

#define NIB_KERNEL(name, kind, wblock, qs_off, tab)                                                                                         \
    static nib_consts name##_k;                                                                        \
    static pthread_once_t name##_once = PTHREAD_ONCE_INIT;                                             \
    static void name##_init(void) {                                                                    \
        nib_consts_init(&name##_k, (int)sizeof(wblock), qs_off, tab);                                  \
    }                                                                                                  \
    void lq_qdot_##name##_avx512(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, \
                                 int r1) {                                                              \
        pthread_once(&name##_once, name##_init); /* the shuffle tables, built once */                  \
        drive(y, W, row_bytes, xq, n, r0, r1, kind, &name##_k);                                         \
    }

NIB_KERNEL(q4_0, K_Q4_0, block_q4_0, 2, NULL)
NIB_KERNEL(q4_1, K_Q4_1, block_q4_1, 4, NULL)
NIB_KERNEL(q5_0, K_Q5_0, block_q5_0, 6, NULL)
NIB_KERNEL(q5_1, K_Q5_1, block_q5_1, 8, NULL)
NIB_KERNEL(iq4_nl, K_IQ4_NL, block_iq4_nl, 2, lq_kvalues_iq4nl)
/* MXFP4 uses only the table (the layout arguments are those of an 18-byte block) */
NIB_KERNEL(mxfp4, K_MXFP4, block_iq4_nl, 2, lq_kvalues_mxfp4)

void lq_qdot_q8_0_avx512(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1) {
    drive(y, W, row_bytes, xq, n, r0, r1, K_Q8_0, NULL);
}
