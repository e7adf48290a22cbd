/* AVX2 K-quant GEMV kernels, bit-exact with ref/qdot_kquants_ref.c.
 *
 * Integer part of one super-block: maddubs of the unsigned weight codes
 * with the int8 activations (pairs that never saturate: codes are at most
 * 63), then madd with int16 sub-block scales laid out by one vpshufb
 * (unsigned scales zero-extended; Q3_K's signed ones in the high byte, so
 * its sums carry a factor 256, undone exactly in float). Signed codes
 * (Q3_K's q + 4, Q6_K's q + 32) have their offset taken out with the
 * activation bsums, as do the mins. Q2_K .. Q5_K read blocks recoded when
 * weights are bound (planar.h) against activations transposed alike once
 * per call, so that every set of codes spans all sub-blocks with one
 * scale vector for all, and sets of one scale add in int16 before their
 * madd; Q6_K reads GGUF blocks, one scale shuffle per sub-block.
 *
 * Each super-block leaves one vector of int32 lanes ([4 isum parts | 4 imin
 * parts] with mins, else 8 isum parts). Eight of them are reduced together
 * by a transpose, the float part runs 8 super-blocks wide, and only the
 * running sum acc = acc + t[i] stays scalar, in the reference order. The
 * weight stream is prefetched PF_AHEAD bytes ahead: with this much work per
 * byte the hardware prefetcher alone leaves DRAM idle between requests.
 * Built again for AVX-512 by qdot_kquants_ymm_avx512.c. */
#include "kernels/planar.h"
#include "kernels/qdot.h"
#include "kernels/qdot_kquants_layout.h"
#include "kernels/simd_avx2.h"
#include "quant/blocks.h"

#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* batch_terms reads d and dmin as one 32-bit word */
_Static_assert(offsetof(block_q2_K, dmin) == offsetof(block_q2_K, d) + 2 &&
                   offsetof(block_q4_K, dmin) == offsetof(block_q4_K, d) + 2 &&
                   offsetof(block_q5_K, dmin) == offsetof(block_q5_K, d) + 2,
               "K-quant d and dmin adjacent");

#define GROUP 64      /* super-blocks whose activation scales are gathered per pass */
#ifndef PF_AHEAD
#define PF_AHEAD 2048 /* bytes */
#endif
#ifndef PF_HINT
#define PF_HINT _MM_HINT_T0
#endif

static inline __m256i m8(int v) { return _mm256_set1_epi8((char)v); }

static inline __m256i ld(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* int16 lanes of words a (0-7) and b (0-7) of the same 8-word source */
static inline __m256i word_idx(int a, int b) {
    const short ea = (short)((2 * a + 1) << 8 | 2 * a), eb = (short)((2 * b + 1) << 8 | 2 * b);
    return _mm256_setr_epi16(ea, ea, ea, ea, ea, ea, ea, ea, eb, eb, eb, eb, eb, eb, eb, eb);
}

static inline __m256i sum4(const __m256i *a) {
    return _mm256_add_epi32(_mm256_add_epi32(a[0], a[1]), _mm256_add_epi32(a[2], a[3]));
}

static inline __m256i sum8(const __m256i *a) {
    const __m256i s0 = _mm256_add_epi32(a[0], a[1]), s1 = _mm256_add_epi32(a[2], a[3]);
    const __m256i s2 = _mm256_add_epi32(a[4], a[5]), s3 = _mm256_add_epi32(a[6], a[7]);
    return _mm256_add_epi32(_mm256_add_epi32(s0, s1), _mm256_add_epi32(s2, s3));
}

/* bit b of every byte of h, moved to bit `to` and masked */
static inline __m256i bit_to(__m256i h, int b, int to) {
    if (b > to) h = _mm256_srli_epi16(h, b - to);
    if (b < to) h = _mm256_slli_epi16(h, to - b);
    return _mm256_and_si256(h, m8(1 << to));
}

/* An 8 x 8 transpose of int16 pairs within each 128-bit lane (words =
 * false), or of 32-bit words across the vector (words = true): three
 * unpack stages of widths 16, 32, 64 or 32, 64 and a lane permute.
 * - pairs, for the recoded Q2_K / Q3_K codes (planar.h): a super-block's 8
 *   activation vectors of 32 (sub-blocks 2i | 2i + 1 in the two lanes) as
 *   int16 pairs; out[k] word i of lane h = pair k of sub-block 2i + h;
 * - words, for Q4_K / Q5_K: out[k] word i = a[i] word k (set k takes word
 *   k, values 4k .. 4k + 3, of every sub-block). Both are their own
 *   inverse. */
static inline __attribute__((always_inline)) void transpose8(const __m256i a[8], __m256i out[8], bool words) {
    __m256i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = words ? _mm256_unpacklo_epi32(a[2 * i], a[2 * i + 1]) : _mm256_unpacklo_epi16(a[2 * i], a[2 * i + 1]);
        t[2 * i + 1] = words ? _mm256_unpackhi_epi32(a[2 * i], a[2 * i + 1]) : _mm256_unpackhi_epi16(a[2 * i], a[2 * i + 1]);
    }
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 2; i++) {
            const __m256i x = t[4 * j + i], y = t[4 * j + i + 2];
            u[4 * j + 2 * i] = words ? _mm256_unpacklo_epi64(x, y) : _mm256_unpacklo_epi32(x, y);
            u[4 * j + 2 * i + 1] = words ? _mm256_unpackhi_epi64(x, y) : _mm256_unpackhi_epi32(x, y);
        }
    for (int i = 0; i < 4; i++) {
        if (words) {
            out[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
            out[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
        } else {
            out[2 * i] = _mm256_unpacklo_epi64(u[i], u[i + 4]);
            out[2 * i + 1] = _mm256_unpackhi_epi64(u[i], u[i + 4]);
        }
    }
}

static inline void transpose_pairs(const __m256i a[8], __m256i out[8]) { transpose8(a, out, false); }
static inline void transpose_words(const __m256i a[8], __m256i out[8]) { transpose8(a, out, true); }

/* The codes of a Q2_K / Q3_K block's eight position sets (position order
 * k, l: planar.h) as bytes: the 2-bit fields, Q3_K's high bit (hm) as bit 2 */
static inline void codes8(const uint8_t *qs, const uint8_t *hm, __m256i u[8]) {
    const __m256i h = hm ? ld(hm) : _mm256_setzero_si256();
    for (int g = 0; g < 2; g++) {
        const __m256i q = ld(qs + 32 * g);
        for (int s = 0; s < 4; s++) {
            u[4 * g + s] = _mm256_and_si256(_mm256_srli_epi16(q, 2 * s), m8(3));
            if (hm) u[4 * g + s] = _mm256_or_si256(u[4 * g + s], bit_to(h, 4 * g + s, 2));
        }
    }
}

/* Q3_K's byte-packed codes (planar.h: A, B, C) as bytes u_k times 1, 8,
 * 1, 8, 1, 8, 16, 8 (k = 0..7): at most 112, so maddubs pairs never
 * saturate (2 x 112 x 128 < 2^15). 16-bit shifts: the neighbour byte's
 * bits they bring in are masked off. */
static inline void q3_codes_scaled(__m256i a, __m256i b, __m256i c, __m256i u[8]) {
    u[0] = _mm256_and_si256(a, m8(7)), u[1] = _mm256_and_si256(a, m8(0x38));
    u[2] = _mm256_and_si256(b, m8(7)), u[3] = _mm256_and_si256(b, m8(0x38));
    u[4] = _mm256_and_si256(c, m8(7)), u[5] = _mm256_and_si256(c, m8(0x38));
    u[6] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 2), m8(0x30)), _mm256_and_si256(c, m8(0x40)));
    u[7] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 3), m8(0x18)),
                           _mm256_and_si256(_mm256_srli_epi16(c, 2), m8(0x20)));
}

/* the codes u_k themselves */
static inline void q3_codes(const uint8_t *qs, const uint8_t *hm, __m256i u[8]) {
    static const int shift[8] = {0, 3, 0, 3, 0, 3, 4, 3};
    q3_codes_scaled(ld(qs), ld(qs + 32), ld(hm), u);
    for (int k = 0; k < 8; k++)
        if (shift[k]) u[k] = _mm256_srli_epi16(u[k], shift[k]); /* at most 7 << 4: nothing crosses a byte */
}

/* Q4_K's / Q5_K's codes, 32-byte vector g as sets 2g (low nibbles) and
 * 2g + 1 (high; Q5_K: qh bits 2g, 2g + 1 as bit 4): GGUF blocks' sub-blocks
 * in order, recoded blocks' sets (planar.h) */
static inline __attribute__((always_inline)) void k45_codes(const uint8_t *qs, const uint8_t *qh, __m256i u[8]) {
    const __m256i h = qh ? ld(qh) : _mm256_setzero_si256();
    for (int g = 0; g < 4; g++) {
        const __m256i q = ld(qs + 32 * g);
        u[2 * g] = _mm256_and_si256(q, m8(15)), u[2 * g + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m8(15));
        if (qh) {
            u[2 * g] = _mm256_or_si256(u[2 * g], bit_to(h, 2 * g, 4));
            u[2 * g + 1] = _mm256_or_si256(u[2 * g + 1], bit_to(h, 2 * g + 1, 4));
        }
    }
}

/* One super-block: 8 int32 lanes summing to isum, and for Q2_K/Q4_K/Q5_K 8
 * more in *imin summing to imin. Q2_K's lanes sum to 16 isum, Q3_K's to
 * 256 isum (|16 or 256 isum| < 2^31 and the lanes add modulo 2^32, so the
 * total is exact). */
static inline __attribute__((always_inline)) __m256i superblock(enum kq t, const uint8_t *blk, const block_q8_K *xb,
                                                                const __m256i *xt, __m256i *imin) {
    const int8_t *x = xb->qs;
    const __m256i bs = ld(xb->bsums);
    __m256i p[8];
    if (t == KQ2 || t == KQ3) { /* recoded blocks (planar.h) against the transposed activations xt */
        const uint8_t *qs = t == KQ2 ? ((const block_q2_K *)blk)->qs : ((const block_q3_K *)blk)->qs;
        const __m128i s8 = t == KQ2 ? _mm_setzero_si128() : q3_k_scales(((const block_q3_K *)blk)->scales);
        /* Q2_K: the scale bytes in both 128-bit lanes straight from memory
         * (a broadcast load takes no vector pipe; a broadcast of a register
         * and vpmovzxbw cross lanes) */
        const __m256i s2 = t == KQ2 ? _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)((const block_q2_K *)blk)->scales))
                                    : _mm256_setzero_si256();
        /* int16 lanes [scales 0, 2, .., 14 | 1, 3, .., 15]: every position set's sub-blocks */
        const __m256i S = _mm256_shuffle_epi8(
            t == KQ2 ? _mm256_and_si256(s2, m8(15)) : _mm256_broadcastsi128_si256(s8),
            t == KQ2 ? _mm256_setr_epi8(0, -128, 2, -128, 4, -128, 6, -128, 8, -128, 10, -128, 12, -128, 14, -128,
                                        1, -128, 3, -128, 5, -128, 7, -128, 9, -128, 11, -128, 13, -128, 15, -128)
                     : _mm256_setr_epi8(-128, 0, -128, 2, -128, 4, -128, 6, -128, 8, -128, 10, -128, 12, -128, 14,
                                        -128, 1, -128, 3, -128, 5, -128, 7, -128, 9, -128, 11, -128, 13, -128, 15));
        if (t == KQ2) {
            /* codes masked in place, (q & 3 << 2s) = 4^s u, shifted only for
             * s = 3 (64 u could saturate maddubs); scales 16, 4, 1, 1 times
             * theirs, so every sum carries 16 */
            const __m256i S4 = _mm256_slli_epi16(S, 2), S16 = _mm256_slli_epi16(S, 4);
            const __m256i q0 = ld(qs), q1 = ld(qs + 32);
            const __m256i u[2][4] = {{_mm256_and_si256(q0, m8(3)), _mm256_and_si256(q0, m8(0x0C)), _mm256_and_si256(q0, m8(0x30)),
                                      _mm256_and_si256(_mm256_srli_epi16(q0, 2), m8(0x30))},
                                     {_mm256_and_si256(q1, m8(3)), _mm256_and_si256(q1, m8(0x0C)), _mm256_and_si256(q1, m8(0x30)),
                                      _mm256_and_si256(_mm256_srli_epi16(q1, 2), m8(0x30))}};
            const __m256i *sc[4] = {&S16, &S4, &S, &S};
            /* every set shares the lanes' sub-blocks: the two halves' sets s
             * add in int16 (at most 2 * 2 * 48 * 128 < 2^15) before one madd */
            for (int s = 0; s < 4; s++)
                p[s] = _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(u[0][s], xt[s]),
                                                          _mm256_maddubs_epi16(u[1][s], xt[4 + s])), *sc[s]);
        } else { /* the byte-packed codes (planar.h), sets as 1, 8, 1, 8, 1, 8, 16, 8 times u */
            __m256i u[8];
            q3_codes_scaled(ld(qs), ld(qs + 32), ld(((const block_q3_K *)blk)->hmask), u);
            const __m256i S8 = _mm256_srai_epi16(S, 3), S16 = _mm256_srai_epi16(S, 4); /* exact: S = 256 s */
            __m256i d[8];
            for (int k = 0; k < 8; k++) d[k] = _mm256_maddubs_epi16(u[k], xt[k]);
            /* every set shares the lanes' sub-blocks: sets of one scale add
             * in int16 before one madd (times 1: 3 * 2 * 7 * 128, times 8:
             * 2 * 2 * 56 * 128 < 2^15) */
            p[0] = _mm256_madd_epi16(_mm256_add_epi16(_mm256_add_epi16(d[0], d[2]), d[4]), S);
            p[1] = _mm256_madd_epi16(_mm256_add_epi16(d[1], d[3]), S8);
            p[2] = _mm256_madd_epi16(_mm256_add_epi16(d[5], d[7]), S8);
            p[3] = _mm256_madd_epi16(d[6], S16);
        }
        if (t == KQ2) {
            /* the mins zero-extended in-lane: bytes 0-7 from lane 0, 8-15 from lane 1 */
            const __m256i mins = _mm256_shuffle_epi8(_mm256_and_si256(_mm256_srli_epi16(s2, 4), m8(15)),
                                                     _mm256_setr_epi8(0, -128, 1, -128, 2, -128, 3, -128, 4, -128, 5, -128, 6, -128, 7, -128,
                                                                      8, -128, 9, -128, 10, -128, 11, -128, 12, -128, 13, -128, 14, -128, 15, -128));
            *imin = _mm256_madd_epi16(mins, bs);
            return sum4(p);
        }
        /* codes are q + 4: take out 4 sum_j s_j bsum_j (times 256) */
        const __m256i off = _mm256_madd_epi16(_mm256_cvtepi8_epi16(s8), bs);
        return _mm256_sub_epi32(sum4(p), _mm256_slli_epi32(off, 10));
    }
    if (t == KQ4 || t == KQ5) { /* recoded (planar.h): set k against the transposed activations xt[k] */
        const uint8_t *qs = blk + (t == KQ4 ? 16 : 48); /* after d, dmin, scales[12] (, qh[32]) */
        uint64_t scales, mins;
        k4_scales_mins(blk + 4, &scales, &mins);
        /* every set's int16 lanes 2j, 2j + 1 belong to sub-block j: sets add
         * in int16 before a madd with the scales [s0 s0 s1 s1 .. s7 s7]: all
         * eight for Q4_K (8 * 2 * 15 * 128 < 2^15), four at a time for
         * Q5_K (4 * 2 * 31 * 128) */
        __m256i u[8], d[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        k45_codes(qs, t == KQ5 ? blk + 16 : NULL, u);
        for (int k = 0; k < 8; k++) d[t == KQ5 && k >= 4] = _mm256_add_epi16(d[t == KQ5 && k >= 4], _mm256_maddubs_epi16(u[k], xt[k]));
        /* byte j of a 64-bit word twice as int16: scale j for sub-block j's
         * lanes 2j, 2j + 1; min j against bsums 2j and 2j+1 */
        const __m256i dup = _mm256_setr_epi8(0, -128, 0, -128, 1, -128, 1, -128, 2, -128, 2, -128, 3, -128, 3, -128,
                                             4, -128, 4, -128, 5, -128, 5, -128, 6, -128, 6, -128, 7, -128, 7, -128);
        const __m256i S = _mm256_shuffle_epi8(_mm256_set1_epi64x((long long)scales), dup);
        const __m256i mdup = _mm256_shuffle_epi8(_mm256_set1_epi64x((long long)mins), dup);
        *imin = _mm256_madd_epi16(mdup, bs);
        const __m256i p0 = _mm256_madd_epi16(d[0], S);
        return t == KQ4 ? p0 : _mm256_add_epi32(p0, _mm256_madd_epi16(d[1], S));
    }
    /* Q6_K */
    const block_q6_K *b = (const block_q6_K *)blk;
    const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
    const __m256i S[2] = {_mm256_permute4x64_epi64(s16, 0x44), _mm256_permute4x64_epi64(s16, 0xEE)};
    const __m256i m4 = m8(15), m30 = m8(0x30);
    for (int h = 0; h < 2; h++) {
        const __m256i ql0 = ld(b->ql + 64 * h), ql1 = ld(b->ql + 64 * h + 32), qh = ld(b->qh + 32 * h);
        /* codes of values 128h + 0, 32, 64, 96 (+ 0..31), top bits from qh */
        const __m256i u[4] = {
            _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)),
            _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30)),
        };
        for (int c = 0; c < 4; c++) {
            const int k = 4 * h + c; /* sub-blocks 2k, 2k + 1 */
            const __m256i d = _mm256_maddubs_epi16(u[c], ld(x + 32 * k));
            p[k] = _mm256_madd_epi16(d, _mm256_shuffle_epi8(S[h], word_idx(2 * c, 2 * c + 1)));
        }
    }
    /* codes are q + 32: take out 32 sum_j s_j bsum_j */
    return _mm256_sub_epi32(sum8(p), _mm256_slli_epi32(_mm256_madd_epi16(s16, bs), 5));
}

/* The terms of super-blocks b0 .. b0 + cnt - 1 (cnt <= 8) of a row
 * (activations xb, their scales xd padded with zeros to a multiple of 8),
 * one lane each; lanes past cnt are not read. */
static inline __attribute__((always_inline)) __m256 batch_terms(enum kq t, const block_q8_K *xb, const __m256i *xt,
                                                                 const float *xd, int b0, int cnt, const uint8_t *row) {
    const int has_min = t == KQ2 || t == KQ4 || t == KQ5;
    const size_t bsize = BLOCK_BYTES[t];
    __m256i v[8], m[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) {
        if (k >= cnt) {
            v[k] = m[k] = _mm256_setzero_si256();
            continue;
        }
        const uint8_t *blk = row + (size_t)(b0 + k) * bsize;
        LQ_MCA_BEGIN();
        for (size_t o = 0; o < bsize; o += 64) _mm_prefetch((const char *)blk + PF_AHEAD + o, PF_HINT);
        v[k] = superblock(t, blk, xb + b0 + k, xt + 8 * (b0 + k), &m[k]);
        LQ_MCA_END();
    }
    /* the scales straight into registers (see simd_avx2.h); 0 past the row.
     * With a min, d and dmin are adjacent: one 32-bit word per block. */
#define H(k, off) ((k) < cnt ? lq_half_at(row + (size_t)(b0 + (k)) * bsize + (off)) : 0)
#define W(k) ((k) < cnt ? lq_word32_at(row + (size_t)(b0 + (k)) * bsize + D_OFFSET[t]) : 0)
    __m256 dwf, dmf = _mm256_setzero_ps();
    if (has_min)
        lq_half_pairs8(_mm_setr_epi32(W(0), W(1), W(2), W(3)), _mm_setr_epi32(W(4), W(5), W(6), W(7)), &dwf, &dmf);
    else
        dwf = _mm256_cvtph_ps(_mm_setr_epi16(H(0, D_OFFSET[t]), H(1, D_OFFSET[t]), H(2, D_OFFSET[t]),
                                             H(3, D_OFFSET[t]), H(4, D_OFFSET[t]), H(5, D_OFFSET[t]),
                                             H(6, D_OFFSET[t]), H(7, D_OFFSET[t])));
#undef H
#undef W
    const __m256 xdv = _mm256_loadu_ps(xd + b0);
    const __m256 dd = _mm256_mul_ps(dwf, xdv);
    __m256 tv;
    if (has_min) {
        const __m256i ia = reduce8(v), ib = reduce8(m);
        const __m256 dm = _mm256_mul_ps(dmf, xdv);
        __m256 fa = _mm256_cvtepi32_ps(ia);
        /* Q2_K sums carry 16 (superblock): exact, (float)(16 i) / 16 == (float)i */
        if (t == KQ2) fa = _mm256_mul_ps(fa, _mm256_set1_ps(1.0f / 16));
        tv = _mm256_sub_ps(_mm256_mul_ps(dd, fa), _mm256_mul_ps(dm, _mm256_cvtepi32_ps(ib)));
    } else {
        __m256 fi = _mm256_cvtepi32_ps(reduce8(v));
        /* Q3_K sums carry the scales times 256: undo exactly, (float)(256 i) / 256 == (float)i */
        if (t == KQ3) fi = _mm256_mul_ps(fi, _mm256_set1_ps(1.0f / 256));
        tv = _mm256_mul_ps(dd, fi);
    }
    return tv;
}

/* acc + t[0] + ... + t[cnt - 1], in that order (the reference's) */
static inline float chain(float acc, __m256 tv, int cnt) {
    float tb[8];
    _mm256_storeu_ps(tb, tv);
    for (int k = 0; k < cnt; k++) acc = acc + tb[k];
    return acc;
}

/* Rows r0..r1, their super-blocks in passes of GROUP (whose activation
 * scales are gathered once per pass), y[r] carried from pass to pass. The
 * scalar additions of a batch's terms (the reference
 * order, a chain of dependent adds) run after the next batch's vector work
 * has been issued, so that the chain's latency overlaps it. */
static inline __attribute__((always_inline)) void qdot_rows(enum kq t, float *y, const void *W, size_t row_bytes,
                                                            const block_q8_K *xb, int n, int r0, int r1) {
    const int nb = n / QK_K;
    const size_t bsize = BLOCK_BYTES[t];
    float xd[GROUP + 8];
    __m256i xt[t == KQ6 ? 1 : GROUP * 8]; /* recoded types: the pass's activations transposed */
    for (int g0 = 0; g0 < nb; g0 += GROUP) {
        const int gn = nb - g0 < GROUP ? nb - g0 : GROUP;
        for (int i = 0; i < gn; i++) xd[i] = xb[g0 + i].d;
        for (int i = 0; t != KQ6 && i < gn; i++) {
            __m256i a[8];
            for (int k = 0; k < 8; k++) a[k] = ld(xb[g0 + i].qs + 32 * k);
            if (t == KQ4 || t == KQ5)
                transpose_words(a, xt + 8 * i);
            else
                transpose_pairs(a, xt + 8 * i);
        }
        for (int i = gn; i < GROUP + 8; i++) xd[i] = 0.0f;
        int prow = -1, pcnt = 0; /* the pending batch: its row and size */
        float pacc = 0.0f;       /* row prow's sum so far */
        __m256 pt = _mm256_setzero_ps();
        for (int r = r0; r < r1; r++) {
            const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes + (size_t)g0 * bsize;
            for (int b0 = 0; b0 < gn; b0 += 8) {
                const int cnt = gn - b0 < 8 ? gn - b0 : 8;
                const __m256 tv = batch_terms(t, xb + g0, xt, xd, b0, cnt, row);
                if (pcnt) pacc = chain(pacc, pt, pcnt);
                if (r != prow) {
                    if (prow >= 0) y[prow] = pacc;
                    prow = r;
                    pacc = g0 ? y[r] : 0.0f;
                }
                pt = tv, pcnt = cnt;
            }
        }
        if (pcnt) y[prow] = chain(pacc, pt, pcnt);
    }
}

#ifdef LQ_YMM_ON_AVX512
/* qdot_kquants_ymm_avx512.c: these kernels, built with AVX-512's flags,
 * are the AVX-512 table's */
LQ_KQUANT_ENTRY_POINTS(avx512)
#else
LQ_KQUANT_ENTRY_POINTS(avx2)

/* Recoded Q2_K / Q3_K rows to floats: a block's eight position sets
 * decoded as the kernel does, then the same transpose as the activations'
 * turns them back into value order (set m of the result: values 32 m ..
 * 32 m + 31); y = dl * q - ml as the GGUF dequantizers (separate multiply
 * and subtract: the same floats). */
static inline void recoded_to_float(enum kq t, const void *src, float *y, int64_t n) {
    const size_t bsize = BLOCK_BYTES[t];
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const uint8_t *blk = (const uint8_t *)src + b * (int64_t)bsize;
        const uint8_t *qs = t == KQ2 ? ((const block_q2_K *)blk)->qs : ((const block_q3_K *)blk)->qs;
        _Alignas(32) int8_t codes[256];
        __m256i u[8], v[8];
        if (t == KQ3) { /* q + 4 h - 4 */
            q3_codes(qs, ((const block_q3_K *)blk)->hmask, u);
            for (int k = 0; k < 8; k++) u[k] = _mm256_sub_epi8(u[k], m8(4));
        } else {
            codes8(qs, NULL, u);
        }
        transpose_pairs(u, v);
        for (int k = 0; k < 8; k++) _mm256_store_si256((__m256i *)(codes + 32 * k), v[k]);
        float dl[16], ml[16];
        if (t == KQ2) {
            const block_q2_K *x = (const block_q2_K *)blk;
            const float d = _cvtsh_ss(x->d), min = _cvtsh_ss(x->dmin);
            for (int j = 0; j < 16; j++) dl[j] = d * (x->scales[j] & 0xF), ml[j] = min * (x->scales[j] >> 4);
        } else {
            const block_q3_K *x = (const block_q3_K *)blk;
            const float d_all = _cvtsh_ss(x->d);
            _Alignas(16) int8_t sc[16];
            _mm_store_si128((__m128i *)sc, q3_k_scales(x->scales));
            for (int j = 0; j < 16; j++) dl[j] = d_all * sc[j];
        }
        for (int j = 0; j < 16; j++)
            for (int h = 0; h < 2; h++) {
                const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(codes + 16 * j + 8 * h))));
                __m256 r = _mm256_mul_ps(_mm256_set1_ps(dl[j]), f);
                if (t == KQ2) r = _mm256_sub_ps(r, _mm256_set1_ps(ml[j]));
                _mm256_storeu_ps(y + 16 * j + 8 * h, r);
            }
    }
}

void lq_q2_k_recoded_to_float_avx2(const void *src, float *y, int64_t n) { recoded_to_float(KQ2, src, y, n); }
void lq_q3_k_recoded_to_float_avx2(const void *src, float *y, int64_t n) { recoded_to_float(KQ3, src, y, n); }

/* The recode (planar.h) swaps k and i of a code's position (k, l = 16 h +
 * 2 i + e): the codes of the eight position sets as bytes, the pair
 * transpose (its own inverse), and the bytes packed back, Q2_K's as
 * GGUF's fields (its own inverse), Q3_K's by bytes (q3_pack). */
static void gguf_pack(const __m256i v[8], uint8_t *qs, uint8_t *hm) {
    __m256i hn = _mm256_setzero_si256();
    for (int g = 0; g < 2; g++) {
        __m256i q = _mm256_setzero_si256();
        for (int s = 0; s < 4; s++) { /* fields of at most 3 << 6: no carry into the next byte */
            q = _mm256_or_si256(q, _mm256_slli_epi16(_mm256_and_si256(v[4 * g + s], m8(3)), 2 * s));
            hn = _mm256_or_si256(hn, bit_to(v[4 * g + s], 2, 4 * g + s));
        }
        _mm256_storeu_si256((__m256i *)(qs + 32 * g), q);
    }
    if (hm) _mm256_storeu_si256((__m256i *)hm, hn);
}

/* Q3_K's codes (bytes, 0..7) packed by bytes (planar.h: A, B, C); the
 * shifted fields stay within their byte */
static void q3_pack(const __m256i u[8], uint8_t *qs, uint8_t *hm) {
    const __m256i lo6 = _mm256_slli_epi16(_mm256_and_si256(u[6], m8(3)), 6);
    const __m256i lo7 = _mm256_slli_epi16(_mm256_and_si256(u[7], m8(3)), 6);
    const __m256i hi67 = _mm256_or_si256(_mm256_slli_epi16(_mm256_and_si256(u[6], m8(4)), 4),
                                         _mm256_slli_epi16(_mm256_and_si256(u[7], m8(4)), 5));
    _mm256_storeu_si256((__m256i *)qs, _mm256_or_si256(_mm256_or_si256(u[0], _mm256_slli_epi16(u[1], 3)), lo6));
    _mm256_storeu_si256((__m256i *)(qs + 32), _mm256_or_si256(_mm256_or_si256(u[2], _mm256_slli_epi16(u[3], 3)), lo7));
    _mm256_storeu_si256((__m256i *)hm, _mm256_or_si256(_mm256_or_si256(u[4], _mm256_slli_epi16(u[5], 3)), hi67));
}

/* a block's codes read in one layout, transposed, written in another */
static inline __attribute__((always_inline)) void recode(void (*read)(const uint8_t *, const uint8_t *, __m256i *),
                                                         void (*write)(const __m256i *, uint8_t *, uint8_t *),
                                                         uint8_t *qs, uint8_t *hm) {
    __m256i u[8], v[8];
    read(qs, hm, u);
    transpose_pairs(u, v);
    write(v, qs, hm);
}

void lq_q2_k_recode_avx2(uint8_t *blk) { recode(codes8, gguf_pack, ((block_q2_K *)blk)->qs, NULL); }
void lq_q3_k_recode_avx2(uint8_t *blk) { recode(codes8, q3_pack, ((block_q3_K *)blk)->qs, ((block_q3_K *)blk)->hmask); }
void lq_q3_k_unrecode_avx2(uint8_t *blk) { recode(q3_codes, gguf_pack, ((block_q3_K *)blk)->qs, ((block_q3_K *)blk)->hmask); }

/* Q4_K's and Q5_K's recode (planar.h): the codes (k45_codes), the words
 * transposed, packed back the same way; its own inverse */
static void k45_recode(uint8_t *qs, uint8_t *qh) {
    __m256i u[8], v[8];
    k45_codes(qs, qh, u);
    transpose_words(u, v);
    __m256i hn = _mm256_setzero_si256();
    for (int g = 0; g < 4; g++) { /* nibbles at most 15 << 4: nothing crosses a byte */
        const __m256i lo = _mm256_and_si256(v[2 * g], m8(15)), hi = _mm256_and_si256(v[2 * g + 1], m8(15));
        _mm256_storeu_si256((__m256i *)(qs + 32 * g), _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)));
        for (int k = 2 * g; qh && k < 2 * g + 2; k++) hn = _mm256_or_si256(hn, bit_to(v[k], 4, k));
    }
    if (qh) _mm256_storeu_si256((__m256i *)qh, hn);
}

void lq_q4_k_recode_avx2(uint8_t *blk) { k45_recode(((block_q4_K *)blk)->qs, NULL); }
void lq_q5_k_recode_avx2(uint8_t *blk) { k45_recode(((block_q5_K *)blk)->qs, ((block_q5_K *)blk)->qh); }

/* recoded Q4_K / Q5_K rows to floats: the sets decoded and transposed
 * back into sub-blocks, then y = d1 * q - m1 per sub-block with the GGUF
 * dequantizers' float operations (d1 = d * sc, m1 = dmin * m; a multiply
 * and a subtract, no FMA: the same floats) */
static inline void k45_recoded_to_float(enum kq t, const void *src, float *y, int64_t n) {
    const size_t bsize = BLOCK_BYTES[t];
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const uint8_t *blk = (const uint8_t *)src + b * (int64_t)bsize;
        _Alignas(32) uint8_t codes[256]; /* sub-block j: codes[32 j ..] in value order */
        __m256i u[8], v[8];
        k45_codes(blk + (t == KQ4 ? 16 : 48), t == KQ5 ? blk + 16 : NULL, u);
        transpose_words(u, v);
        for (int j = 0; j < 8; j++) _mm256_store_si256((__m256i *)(codes + 32 * j), v[j]);
        uint64_t scales, mins;
        k4_scales_mins(blk + 4, &scales, &mins);
        const float d = _cvtsh_ss(lq_half_at(blk)), dmin = _cvtsh_ss(lq_half_at(blk + 2));
        for (int j = 0; j < 8; j++) {
            const __m256 d1 = _mm256_set1_ps(d * (float)(uint8_t)(scales >> 8 * j));
            const __m256 m1 = _mm256_set1_ps(dmin * (float)(uint8_t)(mins >> 8 * j));
            for (int i = 0; i < 4; i++) {
                const __m256i q = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(codes + 32 * j + 8 * i)));
                _mm256_storeu_ps(y + 32 * j + 8 * i, _mm256_sub_ps(_mm256_mul_ps(d1, _mm256_cvtepi32_ps(q)), m1));
            }
        }
    }
}

void lq_q4_k_recoded_to_float_avx2(const void *src, float *y, int64_t n) { k45_recoded_to_float(KQ4, src, y, n); }
void lq_q5_k_recoded_to_float_avx2(const void *src, float *y, int64_t n) { k45_recoded_to_float(KQ5, src, y, n); }
#endif
