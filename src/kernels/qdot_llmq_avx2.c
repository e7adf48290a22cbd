/* AVX2 GEMV kernels of llmq's formats, bit-exact with
 * kernels/ref/qdot_llmq_ref.c. Integer formats: eight 32-value units at a
 * time; each unit's integer sum in 8 lanes (2-, 3- and 4-bit: two units per
 * vector; INT2 and INT3 from planar chunks packed for masks in place:
 * lq_int2_quads, lq_int3_octet),
 * the eight reduced to one vector of unit sums, then the float terms of the
 * eight units at once. Lane sums come from vpmaddubsw + vpmaddwd, exact as
 * |code * activation| pairs stay below 2^15 (codes < 16 unsigned, or int8
 * codes through the abs/sign trick, activations |a| <= 127 as
 * lq_quant_q8_0_ref makes them); NF4 splits its book into two byte tables
 * (nf4_tables) looked up by byte shuffles, each taken by vpmaddubsw. FP8
 * (E4M3): the ref's 32 lanes as four ymm, codes decoded by integer
 * operations (or F16C) and FMA. Built again for AVX-512 by
 * qdot_llmq_ymm_avx512.c, where the unit sums are vpdpbusd (lq_dot4). */
#include <immintrin.h>
#include <math.h>

#include "core/lq.h"
#define LQ_LLMQ_F16 _cvtsh_ss
#include "kernels/qdot_llmq.h"
#include "kernels/simd_avx2.h"
#include "quant/blocks.h"

#define INLINE static inline __attribute__((always_inline))
#ifndef PF_AHEAD
#define PF_AHEAD 2048 /* bytes of the weight stream prefetched ahead, as the GGML-format kernels */
#endif
#ifndef PF_HINT
#define PF_HINT _MM_HINT_T0
#endif

/* INT3 units a and b (quant_llmq_int.c's layout) in the 4-bit pair
 * layout: v1 = [a values 0-15 | b 0-15], v2 = [a 16-31 | b 16-31]. The
 * nibbles of bytes 0-7 (each unit's 8 bytes in both 64-bit halves of its
 * 128-bit lane, shifted by 0 and 4) hold values 0-15 in bits 0-2 and bit 2
 * of values 16-31 in bit 3; bytes 8-11 (each unit's word in its lane's
 * four 32-bit lanes, shifted by 0, 2, 4, 6) the low 2 bits of 16-31. */
INLINE void int3_pair(const uint8_t *a, const uint8_t *b, __m256i *v1, __m256i *v2) {
    /* memcpy, not _mm_loaddup_pd / _mm_broadcast_ss: those dereference a
     * double / float pointer, undefined at these odd addresses; GCC emits
     * the same broadcast loads */
    int64_t na, nb;
    float ca, cb; /* as float: GCC broadcasts it from memory (an int: vmovd + vpshufd) */
    memcpy(&na, a, 8);
    memcpy(&nb, b, 8);
    memcpy(&ca, a + 8, 4);
    memcpy(&cb, b + 8, 4);
    const __m256i nib = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi64x(na)), _mm_set1_epi64x(nb), 1);
    const __m256i lo2 = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_castps_si128(_mm_set1_ps(ca))),
                                                _mm_castps_si128(_mm_set1_ps(cb)), 1);
    const __m256i n = _mm256_srlv_epi64(nib, _mm256_setr_epi64x(0, 4, 0, 4));
    const __m256i c = _mm256_srlv_epi32(lo2, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6));
    *v1 = _mm256_and_si256(n, _mm256_set1_epi8(7));
    *v2 = _mm256_or_si256(_mm256_and_si256(c, _mm256_set1_epi8(3)),
                          _mm256_and_si256(_mm256_srli_epi16(n, 1), _mm256_set1_epi8(4)));
}

/* INT3 units a and b from their planar pair (lq_int3_pair) in the same
 * pair layout as int3_pair: no inserts, one 16- and one 8-byte broadcast */
INLINE void int3_planar_pair(const uint8_t *p, __m256i *v1, __m256i *v2) {
    int64_t lo;
    memcpy(&lo, p + 16, 8);
    const __m256i n = _mm256_srlv_epi64(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p)),
                                        _mm256_setr_epi64x(0, 0, 4, 4));
    const __m256i c = _mm256_srlv_epi64(_mm256_set1_epi64x(lo), _mm256_setr_epi64x(0, 2, 4, 6));
    *v1 = _mm256_and_si256(n, _mm256_set1_epi8(7));
    *v2 = _mm256_or_si256(_mm256_and_si256(c, _mm256_set1_epi8(3)),
                          _mm256_and_si256(_mm256_srli_epi16(n, 1), _mm256_set1_epi8(4)));
}

/* The eight code sets of an INT3 octet (lq_int3_octet), scaled: s0, s1,
 * s6, s7 as they are, s2 .. s5 times 8 (one AND for s0 .. s4 and s6; at
 * most 56, so two sets' vpmaddubsw add in int16: 2 * 2 * 56 * 128 < 2^15).
 * 16-bit shifts: the neighbour byte's bits they bring in are masked off. */
INLINE void int3_octet_sets(const uint8_t *o, __m256i s[8]) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)o), b = _mm256_loadu_si256((const __m256i *)(o + 32));
    const __m256i c = _mm256_loadu_si256((const __m256i *)(o + 64));
    const __m256i m7 = _mm256_set1_epi8(7), m38 = _mm256_set1_epi8(0x38);
    s[0] = _mm256_and_si256(a, m7), s[1] = _mm256_and_si256(b, m7);
    s[2] = _mm256_and_si256(a, m38), s[3] = _mm256_and_si256(b, m38);
    s[4] = _mm256_and_si256(c, m38);
    s[5] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 3), _mm256_set1_epi8(0x18)),
                           _mm256_and_si256(_mm256_srli_epi16(c, 2), _mm256_set1_epi8(0x20)));
    s[6] = _mm256_and_si256(c, m7);
    s[7] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 6), _mm256_set1_epi8(3)),
                           _mm256_and_si256(_mm256_srli_epi16(c, 4), _mm256_set1_epi8(4)));
}

/* 32 unsigned code fields of a unit in value order (8 bit: the raw bytes) */
INLINE __m256i unit_codes(int bits, const uint8_t *u) {
    if (bits == 8) return _mm256_loadu_si256((const __m256i *)u);
    if (bits == 4) {
        const __m128i v = _mm_loadu_si128((const __m128i *)u), m = _mm_set1_epi8(0x0F);
        return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
    }
    if (bits == 3) {
        __m256i v1, v2;
        int3_pair(u, u, &v1, &v2);
        return _mm256_permute2x128_si256(v1, v2, 0x20);
    }
    int64_t q;
    memcpy(&q, u, 8);
    return _mm256_and_si256(_mm256_srlv_epi64(_mm256_set1_epi64x(q), _mm256_set_epi64x(6, 4, 2, 0)),
                            _mm256_set1_epi8(3));
}

/* 2-, 3- and 4-bit formats (NF4 too) take two units per vector (the pair
 * layout) and keep a batch's lanes in the pairs' order */
#define PAIRS_LAYOUT(bits) ((bits) <= 4)

/* The activations' part of the units, prepared once per call and shared by
 * all rows: per unit the correction that turns a field sum into the ref's
 * isum (isum_fix: 2^(bits-1) S for symmetric fields, -128 S for 8-bit
 * asymmetric ones, 4096 S for NF4, 0 where none), the sum S of its values
 * as float and its scale da (NF4: da 2^-12, which stands for the ref's
 * dw 2^-14 times an isum in units of 2^-14, the same bits as products of
 * normal numbers scaled by powers of 2); 2-, 3- and 4-bit and NF4: the values
 * of units u, u + 1 (u even) in the pair layout, px[u] = [x_u 0-15 |
 * x_u+1 0-15], px[u+1] = [x_u 16-31 | x_u+1 16-31]; a row's last odd unit
 * goes without. Folding these in here saves a batch's shift and NF4's
 * multiply. */
typedef struct acts {
    __m256i *px;
    int32_t *si;
    float *sf, *da;
} acts;

INLINE void prepare_acts(int bits, bool asym, bool nf4, const block_q8_0 *xb, int nb, const acts *a) {
    for (int b = 0; b < nb; b++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)xb[b].qs);
        const int32_t S = lq_hsum8_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), v), _mm256_set1_epi16(1)));
        a->si[b] = nf4 ? S * 4096 : bits == 8 ? (asym ? -128 * S : 0) : asym ? 0 : S * (1 << (bits - 1));
        a->sf[b] = (float)S;
        a->da[b] = nf4 ? _cvtsh_ss(xb[b].d) * 0x1p-12f : _cvtsh_ss(xb[b].d);
    }
    if (!PAIRS_LAYOUT(bits)) return;
    for (int b = 0; b + 8 <= nb; b += 8) { /* full batches' lanes in the pairs' order (lq_pairs_reduce8_p) */
        static const int order[8] = {LQ_PAIRS_ORDER};
        int32_t si[8];
        float sf[8], da[8];
        memcpy(si, a->si + b, sizeof si), memcpy(sf, a->sf + b, sizeof sf), memcpy(da, a->da + b, sizeof da);
        for (int i = 0; i < 8; i++) a->si[b + i] = si[order[i]], a->sf[b + i] = sf[order[i]], a->da[b + i] = da[order[i]];
    }
    for (int u = 0; u + 1 < nb; u += 2) {
        const __m256i a0 = _mm256_loadu_si256((const __m256i *)xb[u].qs);
        const __m256i a1 = _mm256_loadu_si256((const __m256i *)xb[u + 1].qs);
        a->px[u] = _mm256_permute2x128_si256(a0, a1, 0x20);
        a->px[u + 1] = _mm256_permute2x128_si256(a0, a1, 0x31);
    }
}

/* 8 int32 lanes summing to a unit's sum of field * activation; 8-bit
 * fields as signed codes (asymmetric ones as q - 128) via |q| * sign(a, q) */
INLINE __m256i unit_lanes(int bits, bool asym, const uint8_t *u, const block_q8_0 *xb) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)xb->qs);
    __m256i c = unit_codes(bits, u);
    if (bits < 8) return lq_dot4(c, a);
    if (asym) c = _mm256_xor_si256(c, _mm256_set1_epi8((char)0x80));
    return lq_dot4(_mm256_abs_epi8(c), _mm256_sign_epi8(a, c));
}

/* NF4's book in units of 2^-12 (its int16 entries are multiples of 4), B
 * in [-4096, 4096], as B + 4096 = 64 h + l: th holds h (0..128), tl l
 * (0..63). vpmaddubsw of either with activations (|a| <= 127) stays exact
 * in int16 (2 * 128 * 127 < 2^15), and two of tl's add (4 * 63 * 127);
 * the field sum 64 H + L is the book's sum plus 4096 S (isum_fix). */
INLINE void nf4_tables(__m256i *th, __m256i *tl) {
    uint8_t h[16], l[16];
    for (int k = 0; k < 16; k++) {
        const int b = lq_nf4_book_i16[k] / 4 + 4096;
        h[k] = (uint8_t)(b >> 6), l[k] = (uint8_t)(b & 63);
    }
    *th = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)h));
    *tl = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)l));
}

/* NF4 field sum lanes of the codes c against activations a (byte for byte) */
INLINE __m256i nf4_fields(__m256i c0, __m256i a0, __m256i c1, __m256i a1, __m256i th, __m256i tl) {
#ifdef LQ_DOT4_VNNI /* (see lq_dot4) */
    const __m256i L = lq_dot4x2(_mm256_shuffle_epi8(tl, c0), a0, _mm256_shuffle_epi8(tl, c1), a1);
    const __m256i H = lq_dot4x2(_mm256_shuffle_epi8(th, c0), a0, _mm256_shuffle_epi8(th, c1), a1);
    return _mm256_add_epi32(L, _mm256_slli_epi32(H, 6));
#else
    const __m256i l = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_shuffle_epi8(tl, c0), a0),
                                       _mm256_maddubs_epi16(_mm256_shuffle_epi8(tl, c1), a1));
    const __m256i h0 = _mm256_maddubs_epi16(_mm256_shuffle_epi8(th, c0), a0);
    const __m256i h1 = _mm256_maddubs_epi16(_mm256_shuffle_epi8(th, c1), a1);
    const __m256i s64 = _mm256_set1_epi16(64);
    return _mm256_add_epi32(_mm256_madd_epi16(l, _mm256_set1_epi16(1)),
                            _mm256_add_epi32(_mm256_madd_epi16(h0, s64), _mm256_madd_epi16(h1, s64)));
#endif
}

/* NF4, one unit (a row's last units): 8 int32 lanes summing to its field
 * sum. The 32 fields (16 bytes: values 0-15 in the low nibbles, 16-31 in
 * the high) as [0-15 | 16-31], the activations as they are; the second
 * half of nf4_fields gets zeros. */
INLINE __m256i nf4_lanes(const uint8_t *u, __m256i th, __m256i tl, const block_q8_0 *xb) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)xb->qs), z = _mm256_setzero_si256();
    const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)u));
    const __m256i c = _mm256_and_si256(_mm256_srlv_epi32(both, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)),
                                       _mm256_set1_epi8(0x0F));
    return nf4_fields(c, a, c, z, th, tl);
}

/* the ref's isum from the field sums of 8 units and their prepared
 * corrections (acts): symmetric fields hold q + 2^(bits-1), 8-bit
 * asymmetric ones went in as q - 128, NF4's book entries (units of 2^-12)
 * + 4096 (NF4's isum stays in units of 2^-12: its da carries the 4) */
INLINE bool no_corr(int bits, bool asym) { return bits == 8 ? !asym : asym; }

INLINE __m256i isum_fix(int bits, bool asym, __m256i fsum, __m256i corr) {
    return no_corr(bits, asym) ? fsum : _mm256_sub_epi32(fsum, corr);
}

/* The scales (and mins) of the eight units of a batch, one lane per unit,
 * in natural order or (pairs) in the pairs' order. Groups of 64 and 128
 * hold 4 and 2 distinct ones: gather those (an asymmetric header's scale
 * and min as one 32-bit word) and spread them, instead of inserting eight
 * halves per vector. */
INLINE void group_scales8(const uint8_t *first, int upg, size_t gbytes, bool asym, bool pairs, __m256 *dw, __m256 *m) {
#define W32(g) lq_word32_at(first + (size_t)(g) * gbytes)
#define H(g) lq_half_at(first + (size_t)(g) * gbytes)
    /* planar rows (gbytes: the header alone): the batch's headers, 32 / upg
     * bytes (asym) or 16 / upg, as one load */
    const bool run = gbytes == (asym ? 4u : 2u);
#define HV(bytes) ((bytes) == 16 ? _mm_loadu_si128((const __m128i *)first) \
                   : (bytes) == 8 ? _mm_loadl_epi64((const __m128i *)first) : _mm_cvtsi32_si128(lq_word32_at(first)))
    if (pairs && (run || upg == 1)) {
        /* lane i holds unit o[i] = 0, 2, 4, 6, 1, 3, 5, 7: groups of 32:
         * headers in that order; of 64: groups [0 1 2 3 | 0 1 2 3]; of
         * 128: [0 0 1 1 | 0 0 1 1]. The loads lay the halves (words) out
         * so that no lane-crossing permute is left. */
        if (upg == 1 && !asym) {
            const __m128i h = run ? _mm_shuffle_epi8(HV(16), _mm_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15))
                                  : _mm_setr_epi16(H(0), H(2), H(4), H(6), H(1), H(3), H(5), H(7));
            *dw = _mm256_cvtph_ps(h);
        } else if (upg == 1) { /* words [w0 w2 w1 w3], [w4 w6 w5 w7]: even halves then odd ones, per lane */
            const __m128i a = run ? _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)first), 0xD8)
                                  : _mm_setr_epi32(W32(0), W32(2), W32(1), W32(3));
            const __m128i b = run ? _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(first + 16)), 0xD8)
                                  : _mm_setr_epi32(W32(4), W32(6), W32(5), W32(7));
            const __m256 fa = _mm256_cvtph_ps(a), fb = _mm256_cvtph_ps(b);
            *dw = _mm256_shuffle_ps(fa, fb, 0x88);
            *m = _mm256_shuffle_ps(fa, fb, 0xDD);
        } else if (!asym) { /* [h0 h1 h2 h3] twice; groups of 128: [h0 h0 h1 h1] twice */
            int64_t q = 0;
            memcpy(&q, first, upg == 2 ? 8 : 4);
            __m128i h = _mm_set1_epi64x(q);
            if (upg == 4) h = _mm_shuffle_epi8(h, _mm_setr_epi8(0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3));
            *dw = _mm256_cvtph_ps(h);
        } else if (upg == 4) { /* words [w0 w1 w0 w1] */
            int64_t q;
            memcpy(&q, first, 8);
            const __m256 dm = _mm256_cvtph_ps(_mm_set1_epi64x(q));
            *dw = _mm256_shuffle_ps(dm, dm, 0xA0);
            *m = _mm256_shuffle_ps(dm, dm, 0xF5);
        } else { /* groups of 64, asymmetric: [d0 m0 d1 m1 | d2 m2 d3 m3] */
            const __m256 dm = _mm256_cvtph_ps(HV(16));
            *dw = _mm256_permutevar8x32_ps(dm, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6));
            *m = _mm256_permutevar8x32_ps(dm, _mm256_setr_epi32(1, 3, 5, 7, 1, 3, 5, 7));
        }
        return;
    }
    if (upg == 1) {
        if (!asym) {
            *dw = _mm256_cvtph_ps(run ? HV(16) : _mm_setr_epi16(H(0), H(1), H(2), H(3), H(4), H(5), H(6), H(7)));
        } else if (run) {
            lq_half_pairs8(_mm_loadu_si128((const __m128i *)first), _mm_loadu_si128((const __m128i *)(first + 16)), dw, m);
        } else {
            lq_half_pairs8(_mm_setr_epi32(W32(0), W32(1), W32(2), W32(3)), _mm_setr_epi32(W32(4), W32(5), W32(6), W32(7)), dw, m);
        }
    } else if (!asym) {
        const __m256i spread = upg == 2 ? _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3) : _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
        const __m128i h = run ? HV(16 / upg) : upg == 2 ? _mm_setr_epi16(H(0), H(1), H(2), H(3), 0, 0, 0, 0) : _mm_setr_epi16(H(0), H(1), 0, 0, 0, 0, 0, 0);
        *dw = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_cvtph_ps(h)), spread);
    } else {
        /* the words [d m] of the batch's groups, each in the 128-bit lane of
         * its units ([w0 w1 | w2 w3], groups of 128: [w0 w0 | w1 w1]), so
         * that in-lane shuffles spread them (two lane-crossing permutes took
         * twice their cycles) */
        __m128i w = run ? HV(32 / upg) : upg == 2 ? _mm_setr_epi32(W32(0), W32(1), W32(2), W32(3)) : _mm_setr_epi32(W32(0), W32(1), 0, 0);
        if (upg == 4) w = _mm_unpacklo_epi32(w, w);
        const __m256 dm = _mm256_cvtph_ps(w);
        *dw = _mm256_shuffle_ps(dm, dm, 0xA0); /* [d d d' d'] per lane */
        *m = _mm256_shuffle_ps(dm, dm, 0xF5);
    }
    if (pairs) { /* (GGUF rows of 64 / 128: no format reads them here) */
        const __m256i o = _mm256_setr_epi32(LQ_PAIRS_ORDER);
        *dw = _mm256_permutevar8x32_ps(*dw, o);
        if (asym) *m = _mm256_permutevar8x32_ps(*m, o);
    }
#undef W32
#undef H
#undef HV
}

/* field sums of the 8 units of a batch, one lane per unit (2-, 3- and 4-bit
 * formats in the pairs' order, LQ_PAIRS_ORDER). Unit k's codes are at
 * first + (k / upg) * gbytes + hdr + (k % upg) * ub, constant offsets (upg
 * divides 8). */
INLINE __m256i batch_fsums(int bits, bool asym, bool nf4, const uint8_t *first, int upg, size_t gbytes, int hdr,
                           int ub, const block_q8_0 *xb, const __m256i *px, __m256i th, __m256i tl) {
    /* planar rows (gbytes: the header alone): first is the units' run */
    const bool run = gbytes == (size_t)hdr;
#define CODE(k) (run ? first + (size_t)(k) * ub : first + (size_t)((k) / upg) * gbytes + hdr + (size_t)((k) % upg) * ub)
#define PAIR(m) (run ? _mm256_loadu_si256((const __m256i *)CODE(2 * (m))) \
                     : _mm256_loadu2_m128i((const __m128i *)CODE(2 * (m) + 1), (const __m128i *)CODE(2 * (m))))
    __m256i v[8];
    if (nf4) { /* the 4-bit pair layout, fields looked up in the two tables */
#pragma GCC unroll 4
        for (int m = 0; m < 4; m++) {
            const __m256i q = PAIR(m);
            v[m] = nf4_fields(_mm256_and_si256(q, _mm256_set1_epi8(0x0F)), px[2 * m],
                              _mm256_and_si256(_mm256_srli_epi16(q, 4), _mm256_set1_epi8(0x0F)), px[2 * m + 1], th, tl);
        }
        return lq_pairs_reduce8_p(v);
    }
    if (bits == 3) { /* (INT3: always planar, a batch's units as one octet) */
        __m256i s[8];
        int3_octet_sets(first, s);
        /* pair m: sets 2m, 2m + 1 in int16, one vpmaddwd; sets 2-5 carry 8
         * already, pairs 0 and 3 take it there, the sums lose it exactly */
        const __m256i w1 = _mm256_set1_epi16(1), w8 = _mm256_set1_epi16(8);
#pragma GCC unroll 4
        for (int m = 0; m < 4; m++)
            v[m] = _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(s[2 * m], px[2 * m]),
                                                      _mm256_maddubs_epi16(s[2 * m + 1], px[2 * m + 1])),
                                     m == 0 || m == 3 ? w8 : w1);
        return _mm256_srai_epi32(lq_pairs_reduce8_p(v), 3);
    }
    if (bits == 2) { /* (INT2: always planar, a batch's units as quads, lq_int2_quads) */
        /* vector g: pair 2g's v1, v2 in fields 0, 1, pair 2g + 1's in 2, 3,
         * masked in place (times 1, 4, 16; field 3 shifted down to times 16
         * too, as 64 u could saturate vpmaddubsw); the sums carry 16 */
        const __m256i w4 = _mm256_set1_epi16(4), w16 = _mm256_set1_epi16(16), m30 = _mm256_set1_epi8(0x30);
#pragma GCC unroll 2
        for (int g = 0; g < 2; g++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(first + 32 * g));
            const __m256i *x = px + 4 * g;
            v[2 * g] = _mm256_add_epi32(
                _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(q, _mm256_set1_epi8(3)), x[0]), w16),
                _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(q, _mm256_set1_epi8(0x0C)), x[1]), w4));
            /* fields of 16 u (at most 48): two add in int16 (2 * 2 * 48 * 128 < 2^15) */
            v[2 * g + 1] = lq_dot4x2(_mm256_and_si256(q, m30), x[2], _mm256_and_si256(_mm256_srli_epi16(q, 2), m30), x[3]);
        }
        return _mm256_srai_epi32(lq_pairs_reduce8_p(v), 4);
    }
    if (bits == 4) {
        /* units 2m, 2m+1 in one vector: [u0 values 0-15 | u1 0-15] and [u0
         * 16-31 | u1 16-31]; two maddubs add as int16 (|sum| < 2 * 2 * 15 *
         * 127) before one madd: [unit 2m: 4 lanes | unit 2m+1: 4 lanes] */
#pragma GCC unroll 4
        for (int m = 0; m < 4; m++) {
            const __m256i q = PAIR(m);
            const __m256i lo = _mm256_and_si256(q, _mm256_set1_epi8(0x0F));
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), _mm256_set1_epi8(0x0F));
            v[m] = lq_dot4x2(lo, px[2 * m], hi, px[2 * m + 1]);
        }
        return lq_pairs_reduce8_p(v);
    }
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) v[k] = unit_lanes(bits, asym, CODE(k), xb + k);
    return reduce8(v);
#undef CODE
#undef PAIR
}

/* a row's last units, one at a time: a planar header's scale and min */
INLINE void tail_header(const uint8_t *h, bool asym, float *dw, float *m) {
    *dw = lq_llmq_rd_f16(h);
    *m = asym ? lq_llmq_rd_f16(h + 2) : 0.0f;
}

/* ... and unit b's float term (field sum fsum) into the ref's lane a[b % 16] */
INLINE void tail_term(int bits, bool asym, const acts *A, int b, int32_t fsum, float dw, float m, float a[16]) {
    const int32_t isum = no_corr(bits, asym) ? fsum : fsum - A->si[b]; /* isum_fix */
    float t = (dw * A->da[b]) * (float)isum;
    if (asym) t = fmaf(m * A->da[b], A->sf[b], t);
    a[b % 16] = a[b % 16] + t;
}

INLINE void int_rows(int bits, int group, bool asym, bool nf4, lq_qdot_rows_fn ref, float *y, const void *W, size_t row_bytes,
                     const void *xq, int n, int r0, int r1) {
    const block_q8_0 *xb = xq;
    const int nb = n / 32;
    /* per unit: the pair layout (one vector), S as int and float, da */
    const size_t per_unit = sizeof(__m256i) + 3 * sizeof(float);
    _Alignas(32) uint8_t stack[128 * (sizeof(__m256i) + 3 * sizeof(float))]; /* 5.5 KiB: rows up to 4096 values */
    uint8_t *buf = stack;
    if (nb > 128 && !(buf = lq_alloc_aligned((size_t)nb * per_unit))) {
        ref(y, W, row_bytes, xq, n, r0, r1); /* same bits, without the prepared activations */
        return;
    }
    acts A;
    A.px = (__m256i *)buf;
    A.si = (int32_t *)(A.px + nb);
    A.sf = (float *)(A.si + nb);
    A.da = A.sf + nb;
    prepare_acts(bits, asym, nf4, xb, nb, &A);
    __m256i th = _mm256_setzero_si256(), tl = th;
    if (nf4) nf4_tables(&th, &tl);
    /* a group's bytes: scale (and min) halves, then its units; the group
     * formats are read as planar rows (their plans in qdot_llmq_ref.c) in
     * chunks of 8 units (a batch): the chunk's groups' headers, then its
     * units (INT3's as one octet, INT2's as quads: planar.h) */
    const int upg = group ? group / 32 : 1, ub = bits * 4, hdr = group ? (asym ? 4 : 2) : 0;
    const size_t gbytes = (size_t)(hdr + upg * ub);
    const bool planar = LQ_LLMQ_AVX2_PLANAR(bits, group, asym);
    const size_t hstride = planar ? (size_t)hdr : gbytes; /* from one group's header to the next */
    const size_t chunk_hdrs = (size_t)(8 / upg) * hdr; /* a chunk's header bytes, then 8 units */
    const int nb8 = nb & ~7;
    /* 2-, 3- and 4-bit formats keep a batch's lanes in the pairs' order
     * (LQ_PAIRS_ORDER: the prepared activations too) and restore the ref's
     * once per row: the permute per batch is gone */
    const bool pairs = PAIRS_LAYOUT(bits);
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        const uint8_t *units = group ? row : row + 4; /* I8_CH: an fp32 scale before the row */
        float dw_row = 0.0f;
        if (!group) memcpy(&dw_row, row, 4);
        __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()}; /* the ref's lanes 0-7, 8-15 */
        /* a batch's bytes are 8 * gbytes / upg in both layouts; a running
         * pointer, since units + (b / upg) * gbytes cost I3_G64S / G128S 8 %
         * (a signed division and a multiply ahead of every batch's loads) */
        const uint8_t *first = units;
        for (int b = 0; b < nb8; b += 8, first += 8 * gbytes / upg) {
            LQ_MCA_BEGIN();
            const uint8_t *ufirst = planar ? first + chunk_hdrs : first;
            for (size_t o = 0; o < 8 * gbytes / upg; o += 64) _mm_prefetch((const char *)first + PF_AHEAD + o, PF_HINT);
            const __m256i corr = _mm256_loadu_si256((const __m256i *)(A.si + b));
            const __m256i fsum = batch_fsums(bits, asym, nf4, ufirst, upg, planar ? (size_t)hdr : gbytes, hdr, ub, xb + b,
                                             A.px + b, th, tl);
            const __m256i isum = isum_fix(bits, asym, fsum, corr);
            const __m256 da8 = _mm256_loadu_ps(A.da + b);
            __m256 dw = _mm256_set1_ps(dw_row), mw = _mm256_setzero_ps();
            if (group) group_scales8(first, upg, hstride, asym, pairs, &dw, &mw);
            const __m256 sw = _mm256_mul_ps(dw, da8);
            __m256 t = _mm256_mul_ps(sw, _mm256_cvtepi32_ps(isum));
            if (asym) t = _mm256_fmadd_ps(_mm256_mul_ps(mw, da8), _mm256_loadu_ps(A.sf + b), t);
            /* even batches into acc[0], odd into acc[1]: add into acc[0] and
             * swap, which keeps both in registers (an indexed acc[] did not) */
            const __m256 next = _mm256_add_ps(acc[0], t);
            acc[0] = acc[1];
            acc[1] = next;
            LQ_MCA_END();
        }
        if ((nb8 / 8) % 2) { /* an odd count of batches: the last went to acc[0] */
            const __m256 last = acc[1];
            acc[1] = acc[0];
            acc[0] = last;
        }
        if (pairs) { /* the ref's lanes from the pairs' order */
            const __m256i unorder = _mm256_setr_epi32(LQ_PAIRS_UNORDER);
            acc[0] = _mm256_permutevar8x32_ps(acc[0], unorder);
            acc[1] = _mm256_permutevar8x32_ps(acc[1], unorder);
        }
        if (nb8 < nb) { /* the last nb % 8 units, one at a time into the ref's lanes */
            _Alignas(32) float a[16];
            _mm256_store_ps(a, acc[0]);
            _mm256_store_ps(a + 8, acc[1]);
            /* planar rows: the last chunk's headers, then its units (INT3's
             * whole pairs decoded as in a batch, an odd last one from its
             * own bytes) */
            const uint8_t *thdr = units + (size_t)(nb8 / upg) * gbytes, *tunits = thdr + (size_t)((nb - nb8) / upg) * hdr;
            for (int b = nb8; b < nb; b++) {
                const int t = b - nb8;
                float dw, m;
                const uint8_t *code;
                if (planar) {
                    tail_header(thdr + (size_t)(t / upg) * hdr, asym, &dw, &m);
                    code = tunits + (size_t)t * ub;
                } else {
                    code = lq_llmq_int_unit(row, bits, group, asym, b, &dw, &m);
                }
                if (bits == 3 && t % 2 == 0 && b + 1 < nb) { /* (INT3: always planar) */
                    __m256i lo, hi;
                    int3_planar_pair(code, &lo, &hi);
                    const __m256i s32 = lq_dot4x2(lo, A.px[b], hi, A.px[b + 1]);
                    tail_term(bits, asym, &A, b, lq_hsum4_epi32(_mm256_castsi256_si128(s32)), dw, m, a);
                    tail_header(thdr + (size_t)((t + 1) / upg) * hdr, asym, &dw, &m);
                    tail_term(bits, asym, &A, b + 1, lq_hsum4_epi32(_mm256_extracti128_si256(s32, 1)), dw, m, a);
                    b++;
                    continue;
                }
                const int32_t fsum = lq_hsum8_epi32(nf4 ? nf4_lanes(code, th, tl, xb + b) : unit_lanes(bits, asym, code, xb + b));
                tail_term(bits, asym, &A, b, fsum, dw, m, a);
            }
            acc[0] = _mm256_load_ps(a);
            acc[1] = _mm256_load_ps(a + 8);
        }
        y[r] = lq_hsum8_ps(_mm256_add_ps(acc[0], acc[1]));
    }
    if (buf != stack) lq_free_aligned(buf);
}

/* Float formats: 32 codes at a time become fp16 words, then floats. The
 * words come as two vectors w[0] (values 0-7 | 16-23) and w[1] (values 8-15
 * | 24-31), the order of the byte unpacks; v[j] holds values 8j .. 8j+7. */
INLINE void fp16_words_to_f32(const __m256i w[2], __m256 v[4]) {
    v[0] = _mm256_cvtph_ps(_mm256_castsi256_si128(w[0]));
    v[1] = _mm256_cvtph_ps(_mm256_castsi256_si128(w[1]));
    v[2] = _mm256_cvtph_ps(_mm256_extracti128_si256(w[0], 1));
    v[3] = _mm256_cvtph_ps(_mm256_extracti128_si256(w[1], 1));
}

/* 32 E4M3 codes c (values 0-31 in order) as fp16 of value * 2^-8: the code
 * in a word's high byte, shifted right by one with its sign kept, has
 * sign, 4 exponent and 3 mantissa bits where fp16 has them (exponent bias
 * 15 = 7 + 8); clearing bit 14 drops the copy of the sign. NaN codes come
 * out finite: the caller checks for them (lq_e4m3_nan_acc). */
INLINE void e4m3_values(__m256i c, __m256 v[4]) {
    const __m256i z = _mm256_setzero_si256(), keep = _mm256_set1_epi16((short)0xBFFF);
    const __m256i w[2] = {_mm256_and_si256(_mm256_srai_epi16(_mm256_unpacklo_epi8(z, c), 1), keep),
                          _mm256_and_si256(_mm256_srai_epi16(_mm256_unpackhi_epi8(z, c), 1), keep)};
    fp16_words_to_f32(w, v);
}

/* p[j] = fma(v[j], x[8j ..], p[j]): the ref's p[i % 32] for 32 values */
INLINE void fma32(__m256 p[4], const __m256 v[4], const float *x) {
    for (int j = 0; j < 4; j++) p[j] = _mm256_fmadd_ps(v[j], _mm256_loadu_ps(x + 8 * j), p[j]);
}

/* E4M3 codes without a conversion: a code in the top byte of a 32-bit
 * word, shifted right by 4 with its sign, has its sign in bit 31 and its
 * exponent and mantissa where fp32 has theirs; clearing bits 27-30 (sign
 * copies) and 0-19 (other codes' bits) leaves the value times 2^-120
 * (bias 127 for 7), subnormal codes included (as fp32 subnormals). Against
 * activations times 2^112 each FMA forms the ref's product (value 2^-8) x
 * exactly. v[j] takes byte j of every word: lane d holds code 4d + j of
 * the 32 (raw_order: the activations in that order, raw_unorder: lane sums
 * back in the ref's). Five shifts for the four: a 16-bit arithmetic shift
 * by 4 puts byte 3 (of the word's high half) in place and byte 1 (of its
 * low half) where a 32-bit shift by 16 then lifts it; bytes 2 and 0 the
 * same after a 16-bit shift left by 8 (the shifts and shuffles share two
 * pipes on Zen 3: four shuffles and four shifts took 8, seven shifts 7).
 * NaN codes as in e4m3_values. */
INLINE void e4m3_raw32(__m256i cv, __m256 v[4]) {
    const __m256i mask = _mm256_set1_epi32((int)0x87F00000);
    const __m256i odd = _mm256_srai_epi16(cv, 4), even = _mm256_srai_epi16(_mm256_slli_epi16(cv, 8), 4);
    v[3] = _mm256_castsi256_ps(_mm256_and_si256(odd, mask));
    v[1] = _mm256_castsi256_ps(_mm256_and_si256(_mm256_slli_epi32(odd, 16), mask));
    v[2] = _mm256_castsi256_ps(_mm256_and_si256(even, mask));
    v[0] = _mm256_castsi256_ps(_mm256_and_si256(_mm256_slli_epi32(even, 16), mask));
}

/* per 128-bit lane, the 4 x 4 transpose of rows r[0..3] (its own inverse) */
INLINE void transpose4_lanes(__m256 r[4]) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    r[0] = _mm256_shuffle_ps(t0, t2, 0x44), r[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
    r[2] = _mm256_shuffle_ps(t1, t3, 0x44), r[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
}

/* v[k] = values 8k..8k+7 -> v[j] lane d = value 4d + j: the 32 values as
 * 8 rows of 4 ([row 2k | row 2k+1] per vector), transposed */
INLINE void raw_order(__m256 v[4]) {
    __m256 r[4] = {_mm256_permute2f128_ps(v[0], v[2], 0x20), _mm256_permute2f128_ps(v[0], v[2], 0x31),
                   _mm256_permute2f128_ps(v[1], v[3], 0x20), _mm256_permute2f128_ps(v[1], v[3], 0x31)};
    transpose4_lanes(r); /* rows [0|4], [1|5], [2|6], [3|7] -> columns */
    for (int j = 0; j < 4; j++) v[j] = r[j];
}

/* the inverse of raw_order */
INLINE void raw_unorder(__m256 v[4]) {
    transpose4_lanes(v); /* columns -> rows [0|4], [1|5], [2|6], [3|7] */
    const __m256 r0 = v[0], r1 = v[1], r2 = v[2], r3 = v[3];
    v[0] = _mm256_permute2f128_ps(r0, r1, 0x20), v[1] = _mm256_permute2f128_ps(r2, r3, 0x20);
    v[2] = _mm256_permute2f128_ps(r0, r1, 0x31), v[3] = _mm256_permute2f128_ps(r2, r3, 0x31);
}

/* the ref's p[i % 32] for the 32 codes cv, decoded raw (x: activations
 * times 2^112 in raw_order, lane sums in that order) or through fp16 */
INLINE void e4m3_fma32(bool raw, __m256 p[4], __m256i cv, const float *x) {
    if (raw) {
        __m256 v[4];
        e4m3_raw32(cv, v);
        for (int k = 0; k < 4; k++) p[k] = _mm256_fmadd_ps(v[k], _mm256_load_ps(x + 8 * k), p[k]);
    } else {
        __m256 v[4];
        e4m3_values(cv, v);
        fma32(p, v, x);
    }
}

/* xs = x * 2^112 in raw_order per 32 values (n / 32 * 32 of them) for the
 * raw decode; false where that cannot give the ref's bits: some |x| >=
 * 2^16 or NaN (the scaled value would overflow) */
static bool e4m3_scaled_acts(const float *x, float *xs, int n) {
    const __m256 lim = _mm256_set1_ps(0x1p16f), sc = _mm256_set1_ps(0x1p112f);
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 ok = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (int i = 0; i + 32 <= n; i += 32) {
        __m256 v[4];
        for (int j = 0; j < 4; j++) {
            v[j] = _mm256_loadu_ps(x + i + 8 * j);
            ok = _mm256_and_ps(ok, _mm256_cmp_ps(_mm256_and_ps(v[j], absm), lim, _CMP_LT_OQ));
            v[j] = _mm256_mul_ps(v[j], sc);
        }
        raw_order(v);
        for (int j = 0; j < 4; j++) _mm256_store_ps(xs + i + 8 * j, v[j]);
    }
    return _mm256_movemask_ps(ok) == 0xFF;
}

/* reduce32 of the ref over four vectors of lanes 0-7, 8-15, 16-23, 24-31 */
INLINE float reduce32(const __m256 a[4]) {
    return lq_hsum8_ps(_mm256_add_ps(_mm256_add_ps(a[0], a[2]), _mm256_add_ps(a[1], a[3])));
}

INLINE void zero4(__m256 p[4]) {
    for (int j = 0; j < 4; j++) p[j] = _mm256_setzero_ps();
}

/* x: the activations (raw: times 2^112, x1 unscaled for the row's tail) */
INLINE void f32_rows_in(bool raw, int kind, int group, float *y, const void *W, size_t row_bytes, const float *x,
                        const float *x1, int n, int r0, int r1) {
    const size_t gbytes = (size_t)(2 + group);
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        __m256 acc[4], p[4];
        __m256i nan = _mm256_setzero_si256();
        zero4(acc);
        zero4(p);
        if (kind == 1) { /* per channel: one run of lane sums over the row */
            const uint8_t *c = row + 4;
            int i = 0;
            for (; i + 32 <= n; i += 32) {
                LQ_MCA_BEGIN();
                _mm_prefetch((const char *)c + i + PF_AHEAD, PF_HINT);
                const __m256i cv = _mm256_loadu_si256((const __m256i *)(c + i));
                nan = lq_e4m3_nan_acc(nan, cv);
                e4m3_fma32(raw, p, cv, x + i);
                LQ_MCA_END();
            }
            if (raw) raw_unorder(p);
            if (i < n) { /* the last n % 32 values in the ref's lanes */
                _Alignas(32) float a[32];
                for (int j = 0; j < 4; j++) _mm256_store_ps(a + 8 * j, p[j]);
                lq_llmq_e4m3_lanes(a, c, x1, i, n);
                for (int j = 0; j < 4; j++) p[j] = _mm256_load_ps(a + 8 * j);
            }
            float s;
            memcpy(&s, row, 4);
            y[r] = (256.0f * s) * reduce32(p);
        } else {
            for (int g = 0; g < n / group; g++) {
                const uint8_t *blk = row + (size_t)g * gbytes;
                const float *xg = x + (size_t)g * group;
                _mm_prefetch((const char *)blk + PF_AHEAD, PF_HINT);
                zero4(p);
                for (int i = 0; i < group; i += 32) {
                    const __m256i cv = _mm256_loadu_si256((const __m256i *)(blk + 2 + i));
                    nan = lq_e4m3_nan_acc(nan, cv);
                    e4m3_fma32(raw, p, cv, xg + i);
                    if (i % 64 == 32) _mm_prefetch((const char *)blk + i + PF_AHEAD, PF_HINT);
                }
                /* the scale converted as a vector: the scalar insert,
                 * convert and broadcast took the decode's pipes */
                const __m256 dv = _mm256_mul_ps(_mm256_cvtph_ps(_mm_set1_epi16(lq_half_at(blk))), _mm256_set1_ps(256.0f));
                for (int j = 0; j < 4; j++) acc[j] = _mm256_fmadd_ps(dv, p[j], acc[j]);
            }
            if (raw) raw_unorder(acc);
            y[r] = reduce32(acc);
        }
        if (lq_e4m3_has_nan(nan)) y[r] = lq_qdot_llmq_f32_row_ref(kind, group, row, x1, n);
    }
}

LQ_LLMQ_F32_ROWS()

/* Planar INT2 / INT3 rows (lq_int2_quads; lq_int3_octet, lq_int3_pair)
 * dequantized with the GGUF dequantizer's float operations
 * (quant_llmq_int.c: d * (q - 2^(bits-1)), or d * q + m, no FMA): the row
 * lookup and the prompt path's tiles read them without unpacking */
INLINE void small_planar_to_float(int bits, int group, bool asym, const uint8_t *src, float *y, int64_t n) {
    const int upg = group / 32, hdr = asym ? 4 : 2, ub = 4 * bits;
    const int64_t nu = n / 32;
    const size_t chunk = (size_t)(8 / upg) * hdr + 8 * (size_t)ub; /* planar chunks of 8 units */
    for (int64_t c0 = 0; c0 < nu; c0 += 8) {
        /* a chunk: its headers, then its units (whole: an octet or quads;
         * else INT3's pairs and odd last unit, INT2's units as they are) */
        const uint8_t *head0 = src + (size_t)(c0 / 8) * chunk;
        const int in_chunk = nu - c0 < 8 ? (int)(nu - c0) : 8;
        const uint8_t *units = head0 + (size_t)(in_chunk / upg) * hdr;
        __m256i s[8]; /* pair m's v1, v2 (the pair layout) */
        if (in_chunk == 8 && bits == 3) {
            int3_octet_sets(units, s);
            for (int k = 2; k < 6; k++) s[k] = _mm256_srli_epi16(s[k], 3); /* unscaled: at most 7, nothing crosses a byte */
        } else if (in_chunk == 8) {
            for (int g = 0; g < 2; g++) {
                const __m256i q = _mm256_loadu_si256((const __m256i *)(units + 32 * g));
                for (int f = 0; f < 4; f++) s[4 * g + f] = _mm256_and_si256(_mm256_srli_epi16(q, 2 * f), _mm256_set1_epi8(3));
            }
        }
        for (int u = 0; u < in_chunk; u += 2) {
            _Alignas(32) uint8_t c[64]; /* unit u's codes in value order, then u + 1's */
            if (in_chunk == 8 || (bits == 3 && u + 1 < in_chunk)) {
                __m256i v1, v2;
                if (in_chunk == 8)
                    v1 = s[u], v2 = s[u + 1];
                else
                    int3_planar_pair(units + (size_t)ub * u, &v1, &v2);
                _mm256_store_si256((__m256i *)c, _mm256_permute2x128_si256(v1, v2, 0x20));
                _mm256_store_si256((__m256i *)(c + 32), _mm256_permute2x128_si256(v1, v2, 0x31));
            } else { /* GGUF units */
                _mm256_store_si256((__m256i *)c, unit_codes(bits, units + (size_t)ub * u));
                if (u + 1 < in_chunk) _mm256_store_si256((__m256i *)(c + 32), unit_codes(bits, units + (size_t)ub * (u + 1)));
            }
            for (int h = 0; h < 2 && u + h < in_chunk; h++) {
                const uint8_t *head = head0 + (size_t)((u + h) / upg) * hdr;
                const __m256 d = _mm256_set1_ps(lq_llmq_rd_f16(head));
                const __m256 m = _mm256_set1_ps(asym ? lq_llmq_rd_f16(head + 2) : 0.0f);
                for (int j = 0; j < 4; j++) {
                    __m256i q = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(c + 32 * h + 8 * j)));
                    if (!asym) q = _mm256_sub_epi32(q, _mm256_set1_epi32(1 << (bits - 1)));
                    __m256 v = _mm256_mul_ps(d, _mm256_cvtepi32_ps(q));
                    if (asym) v = _mm256_add_ps(v, m);
                    _mm256_storeu_ps(y + 32 * (c0 + u + h) + 8 * j, v);
                }
            }
        }
    }
}

#ifdef LQ_YMM_ON_AVX512
/* qdot_llmq_ymm_avx512.c: these kernels, built with AVX-512's flags, are
 * the AVX-512 table's */
#define LQ_LLMQ_ISA avx512
LQ_LLMQ_KERNELS()
#else
#define SMALL_TO_FLOAT(name, bits, group, asym) \
    void lq_##name##_planar_to_float_avx2(const void *src, float *y, int64_t n) { small_planar_to_float(bits, group, asym, src, y, n); }
SMALL_TO_FLOAT(i2_g32s, 2, 32, false)
SMALL_TO_FLOAT(i2_g32a, 2, 32, true)
SMALL_TO_FLOAT(i2_g64s, 2, 64, false)
SMALL_TO_FLOAT(i2_g64a, 2, 64, true)
SMALL_TO_FLOAT(i2_g128s, 2, 128, false)
SMALL_TO_FLOAT(i2_g128a, 2, 128, true)
SMALL_TO_FLOAT(i3_g32s, 3, 32, false)
SMALL_TO_FLOAT(i3_g32a, 3, 32, true)
SMALL_TO_FLOAT(i3_g64s, 3, 64, false)
SMALL_TO_FLOAT(i3_g64a, 3, 64, true)
SMALL_TO_FLOAT(i3_g128s, 3, 128, false)
SMALL_TO_FLOAT(i3_g128a, 3, 128, true)

#define LQ_LLMQ_ISA avx2
LQ_LLMQ_KERNELS()
#endif
