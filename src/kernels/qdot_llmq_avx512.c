/* AVX-512 (VNNI) GEMV kernels of llmq's formats, bit-exact with
 * kernels/ref/qdot_llmq_ref.c.
 *
 * Integer formats: sixteen 32-value units at a time, which are the ref's
 * 16 accumulators: lane k of the row's one zmm sum holds acc[k]. Each
 * unit's integer sum comes from vpdpbusd (unsigned fields times signed
 * activations, exact in int32): 2-, 3-, 4-bit fields and NF4 four units
 * per vector (unit k in 128-bit lane k: its values 0-15 in one vector,
 * 16-31 in another, against activations prepared in that split layout),
 * 8-bit two units per vector. Symmetric fields hold q + 2^(bits-1) (8-bit
 * ones are made so by flipping the top bit), which the unit's activation
 * sum S takes off again. NF4 looks up its int16 book as two byte tables:
 * book = 256 * hi + lo with lo unsigned, hi + 128 unsigned, so
 * isum = 256 * (dot(hi + 128) - 128 * S) + dot(lo). Then the float terms
 * of the 16 units at once, as the ref orders them; a row's last nb % 16
 * units go through the same code with absent units as zeros and a masked
 * add.
 *
 * FP8 (E4M3): the ref's 32 lanes as two zmm, codes sign-extended to int16
 * and shifted into fp16 words (the ref's value times 2^-8), converted and
 * FMA'd; rows holding a NaN code go to the reference. */
#include <immintrin.h>
#include <math.h>

#include "core/lq.h"
#define LQ_LLMQ_F16 _cvtsh_ss
#include "kernels/qdot_llmq.h"
#include "kernels/simd_avx512.h"
#include "quant/blocks.h"

#define INLINE static inline __attribute__((always_inline))
#define PF_AHEAD 2048 /* bytes of the weight stream prefetched ahead, as the AVX2 kernels */

/* The activations' part of the units, prepared once per call and shared by
 * all rows, padded with zero units to a multiple of 16: per unit 32 bytes
 * of values (split layout for fields under 8 bits: per 4 units u = 4g + k,
 * 64 bytes of their values 0-15, unit k at byte 16k, then 64 bytes of
 * their values 16-31; 8-bit: each unit's 32 values in order), the sum S of
 * its values as int and float, and its scale. */
typedef struct acts {
    int8_t *xs;
    int32_t *si;
    float *sf, *da;
} acts;

static void prepare_acts(bool split, const block_q8_0 *xb, int nb, int nbp, const acts *a) {
    memset(a->xs, 0, (size_t)nbp * 32);
    for (int b = 0; b < nbp; b++) a->si[b] = 0, a->sf[b] = a->da[b] = 0.0f;
    for (int b = 0; b < nb; b++) {
        int8_t *lo = split ? a->xs + (b / 4) * 128 + (b % 4) * 16 : a->xs + b * 32;
        memcpy(lo, xb[b].qs, 16);
        memcpy(lo + (split ? 64 : 16), xb[b].qs + 16, 16);
        int32_t s = 0;
        for (int i = 0; i < 32; i++) s += xb[b].qs[i];
        a->si[b] = s;
        a->sf[b] = (float)s;
        a->da[b] = _cvtsh_ss(xb[b].d);
    }
}

/* Fields of four units (unit k in 128-bit lane k): lo = values 0-15, hi =
 * values 16-31 of each unit, one byte each. The layouts are in
 * quant_llmq_int.c (and the AVX2 kernels' int3_pair). 4-bit: q holds each
 * unit's 16 bytes, values 0-15 in the low nibbles. */
INLINE void fields4(__m512i q, __m512i *lo, __m512i *hi) {
    *lo = _mm512_and_si512(q, _mm512_set1_epi8(0x0F));
    *hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), _mm512_set1_epi8(0x0F));
}

/* 3-bit: nib holds each unit's bytes 0-7 twice, low2 its bytes 8-11 four
 * times. Bytes 0-7 hold values j and j + 8 in their nibbles' low 3 bits
 * and bit 2 of values 16 + j and 24 + j in bits 3 and 7; bytes 8-11 the
 * low 2 bits of value 16 + 4d + i in bits 2d, 2d + 1 of byte 8 + i. */
INLINE void fields3(__m512i nib, __m512i low2, __m512i *lo, __m512i *hi) {
    const __m512i n = _mm512_srlv_epi64(nib, _mm512_setr_epi64(0, 4, 0, 4, 0, 4, 0, 4));
    const __m512i c = _mm512_srlv_epi32(low2, _mm512_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6));
    *lo = _mm512_and_si512(n, _mm512_set1_epi8(7));
    *hi = _mm512_or_si512(_mm512_and_si512(c, _mm512_set1_epi8(3)),
                          _mm512_and_si512(_mm512_srli_epi16(n, 1), _mm512_set1_epi8(4)));
}

/* 2-bit: q holds each unit's 8 bytes twice; value 8j + i is in bits 2j,
 * 2j + 1 of byte i */
INLINE void fields2(__m512i q, __m512i *lo, __m512i *hi) {
    *lo = _mm512_and_si512(_mm512_srlv_epi64(q, _mm512_setr_epi64(0, 2, 0, 2, 0, 2, 0, 2)), _mm512_set1_epi8(3));
    *hi = _mm512_and_si512(_mm512_srlv_epi64(q, _mm512_setr_epi64(4, 6, 4, 6, 4, 6, 4, 6)), _mm512_set1_epi8(3));
}

/* Shapes of an integer format's row: a group's bytes are its header
 * (scale, and min when asymmetric) and then its units. */
typedef struct shape {
    int bits, upg, hdr, ub; /* upg units per group (I8_CH: 1); ub bytes per unit */
    bool grouped, asym, nf4; /* grouped: fp16 scales per group (I8_CH: one fp32 scale before the row) */
    size_t gbytes;
} shape;

/* 2- and 3-bit: four units with their headers span at most 64 bytes,
 * read by one load; word permutes put each unit's bytes in its lane
 * (fields: bytes 0-7 twice; low2: 3-bit bytes 8-11 four times) and, with
 * groups of 32, the headers in the scale lanes (word 4j + i: unit 4j + i's
 * scale, 16 + 4j + i its min, written under hmask[j]). Made once per call. */
typedef struct spans {
    __m512i fields, low2, hdr_idx;
    __mmask32 hmask[4];
} spans;

/* bytes of four units from the start of the first one's group */
static inline int span_bytes(const shape *s) { return 4 * (int)s->gbytes / s->upg; }

INLINE void make_spans(const shape *s, spans *sp) {
    _Alignas(64) uint16_t f[32], l2[32], h[32];
    for (int i = 0; i < 4; i++) {
        const int wo = ((i / s->upg) * (int)s->gbytes + s->hdr + (i % s->upg) * s->ub) / 2; /* all even */
        for (int t = 0; t < 8; t++) f[8 * i + t] = (uint16_t)(wo + t % 4), l2[8 * i + t] = (uint16_t)(wo + 4 + t % 2);
    }
    for (int p = 0; p < 16; p++) h[p] = (uint16_t)((p % 4) * (int)s->gbytes / 2), h[16 + p] = (uint16_t)(h[p] + 1);
    sp->fields = _mm512_load_si512(f);
    sp->low2 = _mm512_load_si512(l2);
    sp->hdr_idx = _mm512_load_si512(h);
    for (int j = 0; j < 4; j++) sp->hmask[j] = (0xFu << (4 * j)) | (s->asym ? 0xFu << (16 + 4 * j) : 0);
}

/* unit k of the 16 from first (the start of unit b's group, b % 16 == 0) */
INLINE const uint8_t *unit_at(const shape *s, const uint8_t *first, int k) {
    return first + (size_t)(k / s->upg) * s->gbytes + s->hdr + (size_t)(k % s->upg) * s->ub;
}

/* The ref's isum of units b .. b + 15 (b = the 16-unit batch of xs / si),
 * of which the first cnt exist (16 on the main path, a constant there);
 * the others give 0. tlo, thi: NF4's book as low bytes and high bytes +
 * 128. */
INLINE __m512i isum16(const shape *s, const spans *sp, const uint8_t *first, const int8_t *xs, const int32_t *si,
                      int cnt, __m512i tlo, __m512i thi, __m512i *hdr) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i g[4] = {zero, zero, zero, zero};
    if (s->bits == 8) {
        for (int j = 0; j < 4; j++) {
            __m512i z[2];
            for (int h = 0; h < 2; h++) {
                const int k = 4 * j + 2 * h;
                __m512i v;
                if (k + 1 < cnt && !s->grouped) { /* I8_CH: units back to back */
                    v = _mm512_loadu_si512(unit_at(s, first, k));
                } else {
                    const __m256i u0 = k < cnt ? _mm256_loadu_si256((const __m256i *)unit_at(s, first, k))
                                               : _mm256_setzero_si256();
                    const __m256i u1 = k + 1 < cnt ? _mm256_loadu_si256((const __m256i *)unit_at(s, first, k + 1))
                                                   : _mm256_setzero_si256();
                    v = _mm512_inserti64x4(_mm512_castsi256_si512(u0), u1, 1);
                }
                if (!s->asym) v = _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80)); /* int8 code + 128 */
                z[h] = _mm512_dpbusd_epi32(zero, v, _mm512_load_si512(xs + 32 * k));
            }
            g[j] = pairs_to_group(z[0], z[1]);
        }
        const __m512i isum = isum16_groups(g[0], g[1], g[2], g[3]);
        return s->asym ? isum : _mm512_sub_epi32(isum, _mm512_slli_epi32(_mm512_load_si512(si), 7));
    }
    for (int j = 0; j < 4 && 4 * j < cnt; j++) {
        __m512i lo, hi;
        if (s->bits <= 3) {
            /* absent units (a row's tail): their bytes are not read, and zeros
             * give zero fields and headers */
            const long have = 4 * j + 4 <= cnt ? span_bytes(s) : (long)((cnt - 4 * j) / s->upg) * (long)s->gbytes;
            const __m512i a = _mm512_maskz_loadu_epi8(first64(have), first + (size_t)(4 * j / s->upg) * s->gbytes);
            const __m512i f = _mm512_permutexvar_epi16(sp->fields, a);
            if (s->bits == 3) fields3(f, _mm512_permutexvar_epi16(sp->low2, a), &lo, &hi);
            else fields2(f, &lo, &hi);
            if (s->upg == 1) *hdr = _mm512_mask_permutexvar_epi16(*hdr, sp->hmask[j], sp->hdr_idx, a);
        } else {
            __m128i u[4];
            for (int i = 0; i < 4; i++)
                u[i] = 4 * j + i < cnt ? _mm_loadu_si128((const __m128i *)unit_at(s, first, 4 * j + i))
                                       : _mm_setzero_si128();
            __m512i q = _mm512_castsi128_si512(u[0]);
            q = _mm512_inserti32x4(q, u[1], 1);
            q = _mm512_inserti32x4(q, u[2], 2);
            q = _mm512_inserti32x4(q, u[3], 3);
            fields4(q, &lo, &hi);
        }
        const __m512i xl = _mm512_load_si512(xs + 128 * j), xh = _mm512_load_si512(xs + 128 * j + 64);
        if (s->nf4) {
            const __m512i gl = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, _mm512_shuffle_epi8(tlo, lo), xl),
                                                   _mm512_shuffle_epi8(tlo, hi), xh);
            const __m512i gh = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, _mm512_shuffle_epi8(thi, lo), xl),
                                                   _mm512_shuffle_epi8(thi, hi), xh);
            g[j] = _mm512_add_epi32(gl, _mm512_slli_epi32(gh, 8));
        } else {
            g[j] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, lo, xl), hi, xh);
        }
    }
    const __m512i isum = isum16_groups(g[0], g[1], g[2], g[3]);
    if (s->nf4) return _mm512_sub_epi32(isum, _mm512_slli_epi32(_mm512_load_si512(si), 15));
    return s->asym ? isum : _mm512_sub_epi32(isum, _mm512_slli_epi32(_mm512_load_si512(si), s->bits - 1));
}

/* The 32-bit words at w + i * bs for i < 2 (0 for i >= live) in one qword:
 * an asymmetric header's scale and min */
INLINE uint64_t dwords2(const uint8_t *w, size_t bs, int live) {
    uint32_t a = 0, b = 0;
    if (live > 0) memcpy(&a, w, 4);
    if (live > 1) memcpy(&b, w + bs, 4);
    return a | (uint64_t)b << 32;
}

/* The scales (and mins) of 16 units from first, one lane per unit: the
 * 16 / upg distinct headers (those of the first live groups; 0 past them)
 * read once, converted and spread. */
INLINE void scales16(const shape *s, const uint8_t *first, int live, __m512 *dw, __m512 *m) {
    const int upg = s->upg, nd = 16 / upg;
    const size_t gb = s->gbytes;
    /* lane k: header k / upg */
    const __m512i spread = _mm512_srli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             upg == 1 ? 0 : upg == 2 ? 1 : 2);
    if (!s->asym) {
        if (nd == 16) {
            *dw = _mm512_cvtph_ps(scale_words(first, gb, live));
            return;
        }
        const __m128i h = _mm_set_epi64x(nd == 8 ? (long long)words4(first + 4 * gb, gb, live - 4) : 0,
                                         (long long)words4(first, gb, live));
        *dw = _mm512_permutexvar_ps(spread, _mm512_castps256_ps512(_mm256_cvtph_ps(h)));
        return;
    }
    long long q[8] = {0};
    for (int i = 0; i < nd / 2; i++) q[i] = (long long)dwords2(first + (size_t)(2 * i) * gb, gb, live - 2 * i);
    const __m512i w = _mm512_setr_epi64(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]);
    /* [d0 m0 d1 m1 ... d7 m7] and [d8 m8 ... d15 m15] */
    const __m512 a = _mm512_cvtph_ps(_mm512_castsi512_si256(w)), b = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(w, 1));
    const __m512i even = _mm512_add_epi32(spread, spread);
    *dw = _mm512_permutex2var_ps(a, even, b);
    *m = _mm512_permutex2var_ps(a, _mm512_add_epi32(even, _mm512_set1_epi32(1)), b);
}

/* the float terms of the 16 units of batch b, first cnt of them (the
 * others' lanes are dropped by the caller) */
INLINE __m512 terms16(const shape *s, const spans *sp, const uint8_t *first, float dw_row, const acts *A, int b, int cnt,
                      __m512i tlo, __m512i thi) {
    __m512i hdr = _mm512_setzero_si512();
    const __m512i isum = isum16(s, sp, first, A->xs + (size_t)b * 32, A->si + b, cnt, tlo, thi, &hdr);
    const __m512 da = _mm512_load_ps(A->da + b);
    __m512 dw = _mm512_set1_ps(dw_row), mw = _mm512_setzero_ps();
    if (s->grouped && s->upg == 1 && s->bits <= 3) { /* headers from the units' loads */
        dw = _mm512_cvtph_ps(_mm512_castsi512_si256(hdr));
        mw = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(hdr, 1));
    } else if (s->grouped) {
        scales16(s, first, cnt / s->upg, &dw, &mw);
    }
    if (s->nf4) dw = _mm512_mul_ps(dw, _mm512_set1_ps(LQ_LLMQ_NF4_UNIT));
    __m512 t = _mm512_mul_ps(_mm512_mul_ps(dw, da), _mm512_cvtepi32_ps(isum));
    if (s->asym) t = _mm512_fmadd_ps(_mm512_mul_ps(mw, da), _mm512_load_ps(A->sf + b), t);
    return t;
}

INLINE void int_rows(int bits, int group, bool asym, bool nf4, lq_qdot_rows_fn ref, float *y, const void *W,
                     size_t row_bytes, const void *xq, int n, int r0, int r1) {
    const block_q8_0 *xb = xq;
    const int nb = n / 32, nbp = (nb + 15) & ~15;
    const size_t per_unit = 32 + 3 * sizeof(float);
    _Alignas(64) uint8_t stack[256 * (32 + 3 * sizeof(float))]; /* 11 KiB: rows up to 8192 values */
    uint8_t *buf = stack;
    if (nbp > 256 && !(buf = lq_alloc_aligned((size_t)nbp * per_unit))) {
        ref(y, W, row_bytes, xq, n, r0, r1); /* same bits, without the prepared activations */
        return;
    }
    acts A;
    A.xs = (int8_t *)buf;
    A.si = (int32_t *)(A.xs + (size_t)nbp * 32);
    A.sf = (float *)(A.si + nbp);
    A.da = A.sf + nbp;
    prepare_acts(bits < 8, xb, nb, nbp, &A);
    __m512i tlo = _mm512_setzero_si512(), thi = tlo; /* NF4: the book's low bytes, high bytes + 128 */
    if (nf4) {
        _Alignas(16) uint8_t lo[16], hi[16];
        for (int k = 0; k < 16; k++) lo[k] = (uint8_t)lq_nf4_book_i16[k], hi[k] = (uint8_t)((lq_nf4_book_i16[k] >> 8) + 128);
        tlo = _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)lo));
        thi = _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)hi));
    }
    const int upg = group ? group / 32 : 1, hdr = group ? (asym ? 4 : 2) : 0, nb16 = nb & ~15;
    const shape s = {.bits = bits, .upg = upg, .hdr = hdr, .ub = bits * 4, .grouped = group != 0, .asym = asym,
                     .nf4 = nf4, .gbytes = (size_t)(hdr + upg * bits * 4)};
    spans sp;
    if (bits <= 3) make_spans(&s, &sp);
    const size_t batch_bytes = 16 * s.gbytes / (size_t)upg;
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        const uint8_t *units = group ? row : row + 4; /* I8_CH: an fp32 scale before the row */
        float dw_row = 0.0f;
        if (!group) memcpy(&dw_row, row, 4);
        __m512 acc = _mm512_setzero_ps(); /* lane k: the ref's acc[k] */
        const uint8_t *first = units; /* a running pointer, as the AVX2 kernel */
        for (int b = 0; b < nb16; b += 16, first += batch_bytes) {
            LQ_MCA_BEGIN();
            for (size_t o = 0; o < batch_bytes; o += 64) _mm_prefetch((const char *)first + PF_AHEAD + o, _MM_HINT_T0);
            acc = _mm512_add_ps(acc, terms16(&s, &sp, first, dw_row, &A, b, 16, tlo, thi));
            LQ_MCA_END();
        }
        if (nb16 < nb) {
            const int cnt = nb - nb16;
            const __m512 t = terms16(&s, &sp, first, dw_row, &A, nb16, cnt, tlo, thi);
            acc = _mm512_mask_add_ps(acc, first16(cnt), acc, t);
        }
        y[r] = fold16(acc);
    }
    if (buf != stack) lq_free_aligned(buf);
}

/* 32 E4M3 codes c (values 0-31 in order) as floats of value * 2^-8, v0
 * values 0-15, v1 16-31: the code sign-extended to int16 and shifted left
 * by 7 has sign, 4 exponent and 3 mantissa bits where fp16 has them
 * (exponent bias 15 = 7 + 8); clearing bit 14 drops the copy of the sign.
 * NaN codes come out finite: the caller checks for them. */
INLINE void e4m3_values(__m256i c, __m512 *v0, __m512 *v1) {
    const __m512i w = _mm512_and_si512(_mm512_slli_epi16(_mm512_cvtepi8_epi16(c), 7), _mm512_set1_epi16((short)0xBFFF));
    *v0 = _mm512_cvtph_ps(_mm512_castsi512_si256(w));
    *v1 = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(w, 1));
}

/* 16 E4M3 codes without a conversion (as the AVX2 kernel): sign-extended
 * to 32 bits, shifted left by 20, bits 27-30 (sign copies) cleared, they
 * are the values times 2^-120 (subnormal codes as fp32 subnormals), whose
 * FMAs against activations times 2^112 form the ref's products exactly */
INLINE __m512 e4m3_raw16(const uint8_t *c) {
    const __m512i d = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)c));
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_slli_epi32(d, 20), _mm512_set1_epi32((int)0x87F00000)));
}

/* the ref's p[0..15], p[16..31] for the 32 codes c (cv: the same as a
 * vector), decoded raw (x: activations times 2^112) or through fp16 */
INLINE void e4m3_fma32(bool raw, __m512 *p0, __m512 *p1, const uint8_t *c, __m256i cv, const float *x) {
    __m512 v0, v1;
    if (raw) {
        v0 = e4m3_raw16(c);
        v1 = e4m3_raw16(c + 16);
    } else {
        e4m3_values(cv, &v0, &v1);
    }
    *p0 = _mm512_fmadd_ps(v0, _mm512_loadu_ps(x), *p0);
    *p1 = _mm512_fmadd_ps(v1, _mm512_loadu_ps(x + 16), *p1);
}

/* xs = x * 2^112 (all n) for the raw decode; false where some |x| >= 2^16
 * or is NaN (the scaled value would overflow) */
static bool e4m3_scaled_acts(const float *x, float *xs, int n) {
    const __m512 lim = _mm512_set1_ps(0x1p16f), sc = _mm512_set1_ps(0x1p112f);
    __mmask16 bad = 0;
    for (int i = 0; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        bad |= _mm512_cmp_ps_mask(_mm512_abs_ps(v), lim, _CMP_NLT_UQ); /* (masked-off lanes: zeros) */
        _mm512_mask_storeu_ps(xs + i, k, _mm512_mul_ps(v, sc));
    }
    return bad == 0;
}

/* x: the activations (raw: times 2^112, x1 unscaled for the row's tail) */
INLINE void f32_rows_in(bool raw, int kind, int group, float *y, const void *W, size_t row_bytes, const float *x,
                        const float *x1, int n, int r0, int r1) {
    const size_t gbytes = (size_t)(2 + group);
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W + (size_t)r * row_bytes;
        __m512 p0 = _mm512_setzero_ps(), p1 = p0; /* the ref's p[0..15], p[16..31] */
        __m256i nan = _mm256_setzero_si256();
        if (kind == 1) { /* per channel: one run of lane sums over the row */
            const uint8_t *c = row + 4;
            int i = 0;
            for (; i + 32 <= n; i += 32) {
                LQ_MCA_BEGIN();
                _mm_prefetch((const char *)c + i + PF_AHEAD, _MM_HINT_T0);
                const __m256i cv = _mm256_loadu_si256((const __m256i *)(c + i));
                nan = lq_e4m3_nan_acc(nan, cv);
                e4m3_fma32(raw, &p0, &p1, c + i, cv, x + i);
                LQ_MCA_END();
            }
            if (i < n) { /* the last n % 32 values in the ref's lanes */
                _Alignas(64) float a[32];
                _mm512_store_ps(a, p0);
                _mm512_store_ps(a + 16, p1);
                lq_llmq_e4m3_lanes(a, c, x1, i, n);
                p0 = _mm512_load_ps(a);
                p1 = _mm512_load_ps(a + 16);
            }
            float s;
            memcpy(&s, row, 4);
            y[r] = (256.0f * s) * fold16(_mm512_add_ps(p0, p1));
        } else {
            __m512 a0 = _mm512_setzero_ps(), a1 = a0; /* the ref's acc[0..15], acc[16..31] */
            for (int g = 0; g < n / group; g++) {
                const uint8_t *blk = row + (size_t)g * gbytes;
                const float *xg = x + (size_t)g * group;
                _mm_prefetch((const char *)blk + PF_AHEAD, _MM_HINT_T0);
                p0 = p1 = _mm512_setzero_ps();
                for (int i = 0; i < group; i += 32) {
                    const __m256i cv = _mm256_loadu_si256((const __m256i *)(blk + 2 + i));
                    nan = lq_e4m3_nan_acc(nan, cv);
                    e4m3_fma32(raw, &p0, &p1, blk + 2 + i, cv, xg + i);
                    if (i % 64 == 32) _mm_prefetch((const char *)blk + i + PF_AHEAD, _MM_HINT_T0);
                }
                const __m512 d = _mm512_set1_ps(256.0f * lq_llmq_rd_f16(blk));
                a0 = _mm512_fmadd_ps(d, p0, a0);
                a1 = _mm512_fmadd_ps(d, p1, a1);
            }
            y[r] = fold16(_mm512_add_ps(a0, a1));
        }
        if (lq_e4m3_has_nan(nan)) y[r] = lq_qdot_llmq_f32_row_ref(kind, group, row, x1, n);
    }
}

LQ_LLMQ_F32_ROWS()

#define LQ_LLMQ_ISA avx512
LQ_LLMQ_KERNELS()
