/* AVX-512 (VNNI) K-quant GEMV kernels, bit-exact with ref/qdot_kquants_ref.c.
 *
 * Integer part of one super-block: vpdpbusd of the unsigned weight codes
 * (0..63) with the int8 activations gives int32 lanes of 4 products that
 * fit int16, so two such vectors pack to int16 without saturation and one
 * vpmaddwd / vpdpwssd applies the sub-block scales. Signed codes (Q3_K's
 * q + 4, Q6_K's q + 32) have their offset taken out with the bsums, as do
 * the mins. The activations are copied once per call into the order the
 * weight codes come out of their bytes, so every load is one full vector.
 *
 * Each super-block leaves one vector of int32 lanes ([isum parts | imin
 * parts] with mins, else all isum parts). Sixteen of them are reduced together
 * by a transpose, the float part runs 16 super-blocks wide, and only the
 * running sum acc = acc + t[i] stays scalar, in the reference order. */
#include "kernels/qdot.h"
#include "kernels/qdot_kquants_layout.h"
#include "quant/blocks.h"

#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#define GROUP 64 /* super-blocks of activations prepared per pass */

/* Activations of up to GROUP super-blocks in kernel order, with their d. */
typedef struct {
    int8_t qs[GROUP * QK_K];
    float d[GROUP];
} prepared_x;

/* 32-value chunk order of the prepared activations per format */
static const uint8_t CHUNKS_2BIT[8] = {0, 4, 1, 5, 2, 6, 3, 7}; /* Q2_K, Q3_K */
static const uint8_t CHUNKS_NIBBLE[8] = {0, 2, 1, 3, 4, 6, 5, 7}; /* Q4_K, Q5_K */
static const uint8_t CHUNKS_SAME[8] = {0, 1, 2, 3, 4, 5, 6, 7};   /* Q6_K */

static void prepare_x(prepared_x *p, const block_q8_K *xb, int count, const uint8_t chunks[8]) {
    for (int i = 0; i < count; i++) {
        for (int c = 0; c < 8; c++) memcpy(p->qs + i * QK_K + 32 * c, xb[i].qs + 32 * chunks[c], 32);
        p->d[i] = xb[i].d;
    }
}

/* How a vpshufb / vpermw index turns scale bytes into int16 scales */
enum layout { WORD_INDEX, BYTE_ZEXT, BYTE_HIGH };

static uint16_t layout_entry(int j, enum layout how) {
    return (uint16_t)(how == WORD_INDEX ? j : how == BYTE_ZEXT ? 0x8000 | j : j << 8 | 0x80);
}

/* Scale layout for packs(a, b): int16 i comes from the 128-bit lane
 * k = i / 8 of a (i % 8 < 4) or b; sa[k] / sb[k] are the sub-blocks of
 * those lanes. As vpshufb bytes over a vector with all scale bytes in every
 * 128-bit lane (the scale zero-extended, or times 256 in the high byte to
 * keep a signed byte's sign), or as vpermw int16 indices. */
static __m512i pack_scale_layout(const int sa[4], const int sb[4], enum layout how) {
    uint16_t idx[32];
    for (int i = 0; i < 32; i++) idx[i] = layout_entry(i % 8 < 4 ? sa[i / 8] : sb[i / 8], how);
    return _mm512_loadu_si512(idx);
}

typedef struct {
    __m512i lay0, lay1;  /* scale layouts of the two packed vectors */
    __m256i min_shuf;    /* vpshufb: min (Q4_K/Q5_K: each twice) as int16 against the 16 bsums */
    __m512i qh_bits[4];  /* Q3_K/Q5_K: high-bit masks per code vector */
    __m512i q6_shift[2]; /* Q6_K: per-half shifts bringing qh bits to 4-5 */
} consts;

static consts make_consts(enum kq t) {
    consts c;
    memset(&c, 0, sizeof c);
    uint16_t ms[16];
    if (t == KQ2 || t == KQ3) {
        static const int a0[4] = {0, 1, 8, 9}, b0[4] = {2, 3, 10, 11}, a1[4] = {4, 5, 12, 13}, b1[4] = {6, 7, 14, 15};
        const enum layout how = t == KQ3 ? BYTE_HIGH : BYTE_ZEXT;
        c.lay0 = pack_scale_layout(a0, b0, how), c.lay1 = pack_scale_layout(a1, b1, how);
        for (int j = 0; j < 16; j++) ms[j] = layout_entry(j, how);
        /* code vector s: bytes 0-31 are values 32 s + l (hmask bit s),
         * bytes 32-63 are 128 + 32 s + l (bit 4 + s) */
        for (int s = 0; s < 4; s++)
            c.qh_bits[s] = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << s)), _mm256_set1_epi8((char)(16 << s)), 1);
    } else if (t == KQ4 || t == KQ5) {
        static const int a0[4] = {0, 0, 2, 2}, b0[4] = {1, 1, 3, 3}, a1[4] = {4, 4, 6, 6}, b1[4] = {5, 5, 7, 7};
        c.lay0 = pack_scale_layout(a0, b0, BYTE_ZEXT), c.lay1 = pack_scale_layout(a1, b1, BYTE_ZEXT);
        for (int j = 0; j < 16; j++) ms[j] = layout_entry(j / 2, BYTE_ZEXT);
        /* code vectors lo0, hi0, lo1, hi1 hold values of 32-chunks
         * (0,2), (1,3), (4,6), (5,7); chunk c takes qh bit c */
        static const int bit_lo[4] = {0, 1, 4, 5};
        for (int v = 0; v < 4; v++)
            c.qh_bits[v] = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << bit_lo[v])),
                                              _mm256_set1_epi8((char)(4 << bit_lo[v])), 1);
    } else {
        static const int a0[4] = {0, 1, 2, 3}, b0[4] = {4, 5, 6, 7}, a1[4] = {8, 9, 10, 11}, b1[4] = {12, 13, 14, 15};
        c.lay0 = pack_scale_layout(a0, b0, WORD_INDEX), c.lay1 = pack_scale_layout(a1, b1, WORD_INDEX);
        for (int j = 0; j < 16; j++) ms[j] = 0;
        /* low nibbles: qh bits 0-1 (values l), 2-3 (32 + l) go up by 4, 2;
         * high nibbles: bits 4-5 stay, 6-7 go down by 2 */
        c.q6_shift[0] = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
        c.q6_shift[1] = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
    }
    c.min_shuf = _mm256_loadu_si256((const __m256i *)ms);
    return c;
}

static inline __m512i dot4(__m512i u, __m512i x) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, x);
}

/* 16 lanes summing to sum_j scale_j * dot_j: p0..p3 are the dpbusd results,
 * s0 / s1 the int16 scales laid out for packs(p0, p1) / packs(p2, p3) */
static inline __m512i scaled_sum(__m512i p0, __m512i p1, __m512i p2, __m512i p3, __m512i s0, __m512i s1) {
    const __m512i a = _mm512_madd_epi16(_mm512_packs_epi32(p0, p1), s0);
    return _mm512_dpwssd_epi32(a, _mm512_packs_epi32(p2, p3), s1);
}

static inline __m256i fold(__m512i v) {
    return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

static inline __m512i join(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }

/* Q3_K scales (6 bits minus 32, int8) in every 128-bit lane */
static inline __m512i q3_scales(const uint8_t *packed) { return _mm512_broadcast_i32x4(q3_k_scales(packed)); }

/* One super-block as 16 int32 lanes. Q2_K/Q4_K/Q5_K: [8 lanes summing to
 * isum | 8 lanes summing to imin]; Q6_K: all 16 lanes sum to isum; Q3_K:
 * all 16 lanes sum to 256 isum (its signed scales sit in the high byte of
 * the int16 scales; |256 isum| < 2^31 and the lanes add modulo 2^32, so
 * the total is exact). */
static inline __attribute__((always_inline)) __m512i superblock(enum kq t, const consts *c, const uint8_t *blk,
                                                                const __m512i x[4], __m256i bs) {
    const __m512i m2 = _mm512_set1_epi8(3), m4 = _mm512_set1_epi8(0xF);
    if (t == KQ2 || t == KQ3) {
        const uint8_t *qs = t == KQ2 ? ((const block_q2_K *)blk)->qs : ((const block_q3_K *)blk)->qs;
        const __m512i z = _mm512_loadu_si512(qs);
        __m512i u[4] = {_mm512_and_si512(z, m2), _mm512_and_si512(_mm512_srli_epi16(z, 2), m2),
                        _mm512_and_si512(_mm512_srli_epi16(z, 4), m2), _mm512_and_si512(_mm512_srli_epi16(z, 6), m2)};
        __m512i sc; /* the 16 scale bytes in every 128-bit lane */
        if (t == KQ3) {
            const block_q3_K *b = (const block_q3_K *)blk;
            const __m512i hm = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)b->hmask));
            for (int s = 0; s < 4; s++)
                u[s] = _mm512_mask_add_epi8(u[s], _mm512_test_epi8_mask(hm, c->qh_bits[s]), u[s], _mm512_set1_epi8(4));
            sc = q3_scales(b->scales);
        } else {
            sc = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)((const block_q2_K *)blk)->scales));
        }
        const __m512i lo = t == KQ2 ? _mm512_and_si512(sc, m4) : sc;
        __m512i s0 = _mm512_shuffle_epi8(lo, c->lay0), s1 = _mm512_shuffle_epi8(lo, c->lay1);
        __m256i s16 = _mm256_shuffle_epi8(_mm512_castsi512_si256(t == KQ2 ? _mm512_srli_epi16(sc, 4) : sc), c->min_shuf);
        if (t == KQ2) s16 = _mm256_and_si256(s16, _mm256_set1_epi16(0xF));
        const __m512i first = scaled_sum(dot4(u[0], x[0]), dot4(u[1], x[1]), dot4(u[2], x[2]),
                                         dot4(u[3], x[3]), s0, s1);
        const __m256i second = _mm256_madd_epi16(s16, bs);
        if (t == KQ2) return join(fold(first), second);
        /* codes are q + 4: take out 4 sum_j s_j bsum_j */
        return _mm512_sub_epi32(first, _mm512_zextsi256_si512(_mm256_slli_epi32(second, 2)));
    }
    if (t == KQ4 || t == KQ5) {
        const uint8_t *qs = blk + (t == KQ4 ? 16 : 48); /* after d, dmin, scales[12] (, qh[32]) */
        const __m512i z0 = _mm512_loadu_si512(qs), z1 = _mm512_loadu_si512(qs + 64);
        __m512i u[4] = {_mm512_and_si512(z0, m4), _mm512_and_si512(_mm512_srli_epi16(z0, 4), m4),
                        _mm512_and_si512(z1, m4), _mm512_and_si512(_mm512_srli_epi16(z1, 4), m4)};
        if (t == KQ5) {
            const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 16)));
            for (int v = 0; v < 4; v++)
                u[v] = _mm512_mask_add_epi8(u[v], _mm512_test_epi8_mask(qh, c->qh_bits[v]), u[v], _mm512_set1_epi8(16));
        }
        uint64_t scales, mins;
        k4_scales_mins(blk + 4, &scales, &mins);
        const __m512i sc = _mm512_set1_epi64((long long)scales);
        const __m512i first = scaled_sum(dot4(u[0], x[0]), dot4(u[1], x[1]), dot4(u[2], x[2]), dot4(u[3], x[3]),
                                         _mm512_shuffle_epi8(sc, c->lay0), _mm512_shuffle_epi8(sc, c->lay1));
        const __m256i mn = _mm256_shuffle_epi8(_mm256_set1_epi64x((long long)mins), c->min_shuf);
        return join(fold(first), _mm256_madd_epi16(mn, bs));
    }
    /* Q6_K */
    const block_q6_K *b = (const block_q6_K *)blk;
    const __m512i m30 = _mm512_set1_epi8(0x30);
    __m512i p[4];
    for (int h = 0; h < 2; h++) {
        const __m512i z = _mm512_loadu_si512(b->ql + 64 * h);
        const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b->qh + 32 * h)));
        const __m512i hl = _mm512_and_si512(_mm512_sllv_epi16(qh, c->q6_shift[0]), m30);
        const __m512i hh = _mm512_and_si512(_mm512_srlv_epi16(qh, c->q6_shift[1]), m30);
        /* (a & 0x0F) | b, b holding only bits 4-5: ternary-logic 0xEC = (a & c) | b */
        const __m512i lo = _mm512_ternarylogic_epi32(z, hl, m4, 0xEC);
        const __m512i hi = _mm512_ternarylogic_epi32(_mm512_srli_epi16(z, 4), hh, m4, 0xEC);
        p[2 * h] = dot4(lo, x[2 * h]);
        p[2 * h + 1] = dot4(hi, x[2 * h + 1]);
    }
    const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
    const __m512i s = _mm512_castsi256_si512(s16);
    const __m512i first = scaled_sum(p[0], p[1], p[2], p[3], _mm512_permutexvar_epi16(c->lay0, s),
                                     _mm512_permutexvar_epi16(c->lay1, s));
    /* codes are q + 32: take out 32 sum_j s_j bsum_j */
    return _mm512_sub_epi32(first, _mm512_zextsi256_si512(_mm256_slli_epi32(_mm256_madd_epi16(s16, bs), 5)));
}

/* v[0..15] -> *a, *b: lane k = sum of the low / high 8 lanes of v[k] */
static inline void reduce16(const __m512i v[16], __m512i *a, __m512i *b) {
    __m512i s1[8], s2[4];
    for (int p = 0; p < 8; p++)
        s1[p] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * p], v[2 * p + 1]),
                                 _mm512_unpackhi_epi32(v[2 * p], v[2 * p + 1]));
    /* s2[p], 128-bit lane L: the lane-L sums of v[4p .. 4p+3] */
    for (int p = 0; p < 4; p++)
        s2[p] = _mm512_add_epi32(_mm512_unpacklo_epi64(s1[2 * p], s1[2 * p + 1]),
                                 _mm512_unpackhi_epi64(s1[2 * p], s1[2 * p + 1]));
    __m512i z[2];
    for (int p = 0; p < 2; p++) /* [A 4 of them, B, A next 4, B] */
        z[p] = _mm512_add_epi32(_mm512_shuffle_i32x4(s2[2 * p], s2[2 * p + 1], 0x88),
                                _mm512_shuffle_i32x4(s2[2 * p], s2[2 * p + 1], 0xDD));
    *a = _mm512_shuffle_i32x4(z[0], z[1], 0x88);
    *b = _mm512_shuffle_i32x4(z[0], z[1], 0xDD);
}

/* One row over the gn prepared super-blocks, continuing its sum acc.
 * (Two rows interleaved run faster from cache but stream worse from DRAM.) */
static inline __attribute__((always_inline)) float row_sum(enum kq t, const consts *c, const prepared_x *px,
                                                           const block_q8_K *xb, int gn, const uint8_t *row,
                                                           float acc) {
    const int has_min = t == KQ2 || t == KQ4 || t == KQ5;
    const size_t bsize = BLOCK_BYTES[t];
    for (int b0 = 0; b0 < gn; b0 += 16) {
        const int cnt = gn - b0 < 16 ? gn - b0 : 16;
        __m512i v[16];
        uint16_t dw[16], dmw[16];
        for (int k = 0; k < cnt; k++) {
            const int8_t *xq = px->qs + (size_t)(b0 + k) * QK_K;
            const __m512i x[4] = {_mm512_load_si512(xq), _mm512_load_si512(xq + 64), _mm512_load_si512(xq + 128),
                                  _mm512_load_si512(xq + 192)};
            const __m256i bs = _mm256_loadu_si256((const __m256i *)xb[b0 + k].bsums);
            const uint8_t *blk = row + (size_t)(b0 + k) * bsize;
            LQ_MCA_BEGIN();
            v[k] = superblock(t, c, blk, x, bs);
            LQ_MCA_END();
            memcpy(&dw[k], blk + D_OFFSET[t], 2);
            if (has_min) memcpy(&dmw[k], blk + DMIN_OFFSET[t], 2);
        }
        for (int k = cnt; k < 16; k++) v[k] = _mm512_setzero_si512(), dw[k] = dmw[k] = 0;
        __m512i ia, ib;
        reduce16(v, &ia, &ib);
        const __m512 xd = _mm512_maskz_loadu_ps((__mmask16)((1u << cnt) - 1), px->d + b0);
        const __m512 dd = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)dw)), xd);
        __m512 tv;
        if (has_min) {
            const __m512 dm = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)dmw)), xd);
            tv = _mm512_sub_ps(_mm512_mul_ps(dd, _mm512_cvtepi32_ps(ia)), _mm512_mul_ps(dm, _mm512_cvtepi32_ps(ib)));
        } else {
            __m512 fi = _mm512_cvtepi32_ps(_mm512_add_epi32(ia, ib));
            /* Q3_K sums carry the scales times 256: undo exactly, (float)(256 i) / 256 == (float)i */
            if (t == KQ3) fi = _mm512_mul_ps(fi, _mm512_set1_ps(1.0f / 256));
            tv = _mm512_mul_ps(dd, fi);
        }
        float tb[16];
        _mm512_storeu_ps(tb, tv);
        for (int k = 0; k < cnt; k++) acc = acc + tb[k]; /* reference order */
    }
    return acc;
}

static inline __attribute__((always_inline)) void qdot_rows(enum kq t, float *y, const void *W, size_t row_bytes,
                                                            const block_q8_K *xb, int n, int r0, int r1) {
    const int nb = n / QK_K;
    const size_t bsize = BLOCK_BYTES[t];
    const consts c = make_consts(t);
    _Alignas(64) prepared_x px;
    for (int g0 = 0; g0 < nb; g0 += GROUP) {
        const int gn = nb - g0 < GROUP ? nb - g0 : GROUP;
        prepare_x(&px, xb + g0, gn, t == KQ6 ? CHUNKS_SAME : t == KQ4 || t == KQ5 ? CHUNKS_NIBBLE : CHUNKS_2BIT);
        for (int r = r0; r < r1; r++) {
            const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes + (size_t)g0 * bsize;
            y[r] = row_sum(t, &c, &px, xb + g0, gn, row, g0 ? y[r] : 0.0f);
        }
    }
}

LQ_KQUANT_ENTRY_POINTS(avx512)
