/* AVX2 GEMV kernels for the 32-value block types; same bits as
 * ref/qdot_legacy_ref.c. They read planar rows (kernels/planar.h; Q8_0
 * GGUF rows): a row's scales, qh words and codes each in a run of their
 * own, so eight blocks' scales are one load and two blocks' codes another.
 * (Built again for AVX-512 by qdot_legacy_ymm_avx512.c.) Each row turns 8
 * blocks at a time into 8 float terms, and keeps
 * the reference's 16 partial sums as two vectors (lanes 0..7: blocks 0..7
 * of each 16, lanes 8..15: blocks 8..15). A row's last 1..7 blocks give
 * terms of +0.0f in the lanes past them (nothing past the row is read,
 * those lanes are masked, and the activation chunk is copied with zero
 * blocks after it): the partial sums start at +0.0f and can never be -0.0f (x + y
 * is -0.0f only when both are), so adding +0.0f leaves them unchanged. Integer dots:
 * _mm256_maddubs_epi16 for the nibble types, two blocks per vector (pairs8:
 * no int16 sum can saturate, codes are at most 31, MXFP4's shifted by 12).
 * Q8_0 and IQ4_NL, whose weights are signed: maddubs of |w| with the
 * activations negated where w < 0, exact because activations are never
 * -128 (qdot.h) and |w| <= 128: a pair is at most 2 * 128 * 127 < 2^15;
 * IQ4_NL two blocks per vector as the nibble types. In the AVX-512 build
 * (LQ_DOT4_VNNI) MXFP4 and IQ4_NL take vpdpbusd (lq_dot4x2), IQ4_NL its
 * values + 128 (unsigned) with 128 times the block sum taken off after;
 * Q8_0 stays with vpmaddubsw: its vpdpbusd form (w + 128, 0.72x the
 * cycles) streamed 0.83-0.93x as fast from DRAM. */
#include "kernels/qdot.h"
#include "kernels/qdot_legacy_block.h"
#include "kernels/simd_avx2.h"

#include <immintrin.h>

#define CHUNK 256 /* blocks per column chunk (a multiple of 16) */
#define ROWS 8
#ifndef PF_AHEAD
#define PF_AHEAD 2048 /* bytes of the weight stream prefetched ahead (see below) */
#endif
#ifndef PF_HINT
#define PF_HINT _MM_HINT_T0
#endif

typedef struct {
    _Alignas(32) float dx[CHUNK];
    _Alignas(32) float sx[CHUNK];
    _Alignas(32) int32_t xsum[CHUNK];
    _Alignas(32) int8_t xp[CHUNK * 32];   /* nibble types, blocks b, b+1 (b even): [x_b 0-15 | x_b+1 0-15],
                                             then [x_b 16-31 | x_b+1 16-31] */
#ifndef LQ_DOT4_VNNI
    _Alignas(32) int8_t xpn[CHUNK * 32];  /* IQ4_NL: the same, negated */
#endif
    _Alignas(32) uint8_t xcopy[CHUNK * sizeof(block_q8_1)]; /* the chunk's blocks, zero blocks up to a multiple of 8 */
    const uint8_t *xqs0;                  /* qs of the chunk's first block */
    size_t xbs;                           /* bytes per activation block */
} xchunk;

static inline __m256i xqs_at(const xchunk *c, int b) {
    return _mm256_loadu_si256((const __m256i *)(c->xqs0 + (size_t)b * c->xbs));
}

/* blocks [nbc, npad) are zero: they meet a row's last 1..7 blocks' lanes
 * past the row, and give terms of +0.0f */
static void prep_chunk(xchunk *c, const uint8_t *xb0, int nbc, int npad, int q81, int pairs, int neg) {
    c->xbs = q81 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    memcpy(c->xcopy, xb0, (size_t)nbc * c->xbs);
    memset(c->xcopy + (size_t)nbc * c->xbs, 0, (size_t)(npad - nbc) * c->xbs);
    c->xqs0 = c->xcopy + (q81 ? 4 : 2);
    for (int b = 0; b < npad; b++) {
        uint16_t h[2];
        memcpy(h, c->xcopy + (size_t)b * c->xbs, 4);
        c->dx[b] = _cvtsh_ss(h[0]);
        c->sx[b] = _cvtsh_ss(h[1]); /* meaningful for Q8_1 only */
    }
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int b = 0; b < npad; b += 8) {
        __m256i v[8];
        for (int j = 0; j < 8; j++) v[j] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, xqs_at(c, b + j)), ones16);
        _mm256_store_si256((__m256i *)(c->xsum + b), reduce8(v));
    }
    if (pairs) /* the nibble types' pair layout */
        for (int b = 0; b < npad; b += 2) {
            const __m256i x0 = xqs_at(c, b), x1 = xqs_at(c, b + 1);
            _mm256_store_si256((__m256i *)(c->xp + b * 32), _mm256_permute2x128_si256(x0, x1, 0x20));
            _mm256_store_si256((__m256i *)(c->xp + b * 32 + 32), _mm256_permute2x128_si256(x0, x1, 0x31));
        }
#ifndef LQ_DOT4_VNNI
    if (neg) /* activations are never -128 (qdot.h): -x is exact */
        for (int i = 0; i < npad * 32; i += 32)
            _mm256_store_si256((__m256i *)(c->xpn + i),
                               _mm256_sub_epi8(_mm256_setzero_si256(), _mm256_load_si256((const __m256i *)(c->xp + i))));
#endif
}

/* sum of w * x in int16 pairs for signed w (|w| <= 128) and x (never -128) */
static inline __m256i signed_pairs(__m256i w, __m256i x) {
    return _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
}

enum { K_Q4_0, K_Q4_1, K_Q5_0, K_Q5_1, K_Q8_0, K_IQ4_NL, K_MXFP4 };

/* gathered fp16 scales, at p, p + stride, ...; blocks cnt..7 repeat block
 * cnt-1 (nothing past the row read; row8 clears their lanes) */
static inline __m128i halves8(const uint8_t *p, int stride, int cnt) {
#define H(k) lq_half_at(p + stride * ((k) < cnt ? (k) : cnt - 1))
    return _mm_setr_epi16(H(0), H(1), H(2), H(3), H(4), H(5), H(6), H(7));
#undef H
}

/* a row's odd last Q5 block: the 5th bits of the values of lo / hi (pair
 * layout), from h holding its qh at bytes 0-3 and zeros in the high lane
 * (a second block past the row: bits 0) */
static inline __m256i lone_qh_bits(__m256i h, int hi) {
    const char a = (char)(hi ? 2 : 0);
    const __m256i spread = _mm256_broadcastsi128_si256(
        _mm_setr_epi8(a, a, a, a, a, a, a, a, a + 1, a + 1, a + 1, a + 1, a + 1, a + 1, a + 1, a + 1));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    const __m256i t = _mm256_and_si256(_mm256_shuffle_epi8(h, spread), bit);
    return _mm256_and_si256(_mm256_cmpeq_epi8(t, bit), _mm256_set1_epi8(0x10));
}

/* The non-linear types' values shifted to unsigned bytes, a 16-entry table
 * in both lanes: MXFP4's + 12 (in [0, 24]), IQ4_NL's + 128 (vpdpbusd
 * only: vpmaddubsw pairs could saturate); row8 takes the shift times the
 * block sums off */
static inline __m256i shifted_values(int kind) {
    _Alignas(16) uint8_t t[16];
    for (int i = 0; i < 16; i++)
        t[i] = (uint8_t)(kind == K_MXFP4 ? lq_kvalues_mxfp4[i] + 12 : lq_kvalues_iq4nl[i] + 128);
    return _mm256_broadcastsi128_si256(_mm_load_si128((const __m128i *)t));
}

/* A row's runs at block b: headers (d; d and m; MXFP4's e), the Q5 types'
 * qh words and the codes, each with its stride. Planar rows (planar.h),
 * except Q8_0: it streams its GGUF rows faster (34-byte blocks, a fifteenth
 * of them scales: the second run cost 5-9 % of a memory-bound GEMV). */
typedef struct {
    const uint8_t *hdr, *qh, *qs;
} runs;
/* bytes per block in each run (Q8_0: its GGUF block, the stride of both) */
static const int hdr_bytes[] = {2, 4, 2, 4, 34, 2, 1}, qh_bytes[] = {0, 0, 4, 4, 0, 0, 0},
                 qs_bytes[] = {16, 16, 16, 16, 34, 16, 16};

static inline runs runs_at(const uint8_t *row, size_t nb, size_t b, int kind) {
    if (kind == K_Q8_0) return (runs){row + 34 * b, NULL, row + 34 * b + 2};
    const size_t h = (size_t)hdr_bytes[kind], q = (size_t)qh_bytes[kind];
    return (runs){row + h * b, row + h * nb + q * b, row + (h + q) * nb + (size_t)qs_bytes[kind] * b};
}

/* The nibble types' integer sums of 8 blocks, two blocks per vector: one
 * load gives [block j | block j+1] codes, split into the values 0-15 and
 * 16-31 of both; the two maddubs add as int16 (|sum| < 2 * 2 * 31 * 128)
 * before one madd (IQ4_NL: signed values, a madd each). Blocks cnt..7 are
 * not read and give 0. */
static inline __attribute__((always_inline)) __m256i pairs8(runs p, const xchunk *c, int bi, int kind, int cnt) {
    __m256i v[4];
    for (int m = 0; m < 4; m++) {
        if (2 * m >= cnt) {
            v[m] = _mm256_setzero_si256();
            continue;
        }
        const int two = 2 * m + 1 < cnt; /* else block 2m+1 is past the row: not read, codes 0 */
        const uint8_t *qs = p.qs + 32 * m;
        const __m256i q = two ? _mm256_loadu_si256((const __m256i *)qs)
                              : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)qs));
        __m256i lo = _mm256_and_si256(q, _mm256_set1_epi8(0x0F));
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), _mm256_set1_epi8(0x0F));
        if ((kind == K_Q5_0 || kind == K_Q5_1) && two) { /* the pair's lq_qh_pair word (planar.h) */
            uint64_t w;
            memcpy(&w, p.qh + 8 * m, 8);
            const __m256i h = _mm256_set1_epi64x((long long)w), bit4 = _mm256_set1_epi8(0x10);
            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_srlv_epi64(h, _mm256_setr_epi64x(0, 1, 2, 3)), bit4));
            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_sllv_epi64(h, _mm256_setr_epi64x(4, 3, 2, 1)), bit4));
        } else if (kind == K_Q5_0 || kind == K_Q5_1) { /* a row's odd last block: its qh as it is */
            uint32_t w;
            memcpy(&w, p.qh + 8 * m, 4);
            const __m256i h = _mm256_zextsi128_si256(_mm_cvtsi32_si128((int)w)); /* the second block's bits 0 */
            lo = _mm256_or_si256(lo, lone_qh_bits(h, 0));
            hi = _mm256_or_si256(hi, lone_qh_bits(h, 1));
        }
        const int8_t *x = c->xp + (bi + 2 * m) * 32;
        const __m256i xlo = _mm256_load_si256((const __m256i *)x), xhi = _mm256_load_si256((const __m256i *)(x + 32));
#ifdef LQ_DOT4_VNNI
        if (kind == K_IQ4_NL || kind == K_MXFP4) { /* values + 128 / + 12 (unsigned) by vpdpbusd */
            const __m256i tab = shifted_values(kind);
            v[m] = lq_dot4x2(_mm256_shuffle_epi8(tab, lo), xlo, _mm256_shuffle_epi8(tab, hi), xhi);
            continue;
        }
#else
        if (kind == K_IQ4_NL) {
            /* |value| from a table, the activation or its negation by the
             * value's sign, which is bit 3 of the code (codes 0-7 are the
             * negative values): bit 7 of q for the high nibbles, of q << 4
             * for the low ones. Two maddubs could overflow int16 together,
             * so two madds. */
            const __m128i kv = _mm_loadu_si128((const __m128i *)lq_kvalues_iq4nl);
            const __m256i tab = _mm256_abs_epi8(_mm256_broadcastsi128_si256(kv));
            const int8_t *xn = c->xpn + (bi + 2 * m) * 32;
            const __m256i slo = _mm256_blendv_epi8(_mm256_load_si256((const __m256i *)xn), xlo, _mm256_slli_epi16(q, 4));
            const __m256i shi = _mm256_blendv_epi8(_mm256_load_si256((const __m256i *)(xn + 32)), xhi, q);
            const __m256i ones16 = _mm256_set1_epi16(1);
            v[m] = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_shuffle_epi8(tab, lo), slo), ones16),
                                    _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_shuffle_epi8(tab, hi), shi), ones16));
            continue;
        }
        if (kind == K_MXFP4) {
            const __m256i tab = shifted_values(kind);
            lo = _mm256_shuffle_epi8(tab, lo), hi = _mm256_shuffle_epi8(tab, hi);
        }
#endif
        const __m256i s16 = _mm256_add_epi16(_mm256_maddubs_epi16(lo, xlo), _mm256_maddubs_epi16(hi, xhi));
        v[m] = _mm256_madd_epi16(s16, _mm256_set1_epi16(1)); /* [block 2m: 4 lanes | block 2m+1: 4 lanes] */
    }
    return lq_pairs_reduce8(v);
}

/* 8 blocks of one row from its runs p: their 8 terms. kind is a constant
 * at each call site. Blocks cnt..7 (past a row's end) are not read; their
 * lanes are +0.0f. */
static inline __attribute__((always_inline)) __m256 row8(runs p, const xchunk *c, int bi, int kind, int cnt) {
    __m256i isum;
    if (kind != K_Q8_0) {
        isum = pairs8(p, c, bi, kind, cnt);
    } else {
        __m256i v[8];
        for (int j = 0; j < 8; j++) {
            if (j >= cnt) {
                v[j] = _mm256_setzero_si256();
                continue;
            }
            const __m256i w = _mm256_loadu_si256((const __m256i *)(p.qs + qs_bytes[K_Q8_0] * j));
            v[j] = _mm256_madd_epi16(signed_pairs(w, xqs_at(c, bi + j)), _mm256_set1_epi16(1));
        }
        isum = reduce8(v);
    }
    /* the 8 blocks' scales: one load from the header run; a row's last
     * 1..7 (and Q8_0's) gathered (blocks cnt..7 repeat block cnt-1) */
    const uint8_t *h = p.hdr;
    __m256 dw, mw = _mm256_setzero_ps();
    if (kind == K_MXFP4) { /* ggml_e8m0_to_fp32_half: 2^(e-128), denormal for e < 2 */
#define E(k) h[(k) < cnt ? (k) : cnt - 1]
        const __m256i e = cnt == 8 ? _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)h))
                                   : _mm256_setr_epi32(E(0), E(1), E(2), E(3), E(4), E(5), E(6), E(7));
#undef E
        const __m256i normal = _mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(1)), 23);
        const __m256i denormal = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), e);
        dw = _mm256_castsi256_ps(_mm256_blendv_epi8(normal, denormal, _mm256_cmpgt_epi32(_mm256_set1_epi32(2), e)));
    } else if (kind == K_Q4_1 || kind == K_Q5_1) { /* d and m adjacent: one 32-bit word per block */
#define W(k) lq_word32_at(h + 4 * ((k) < cnt ? (k) : cnt - 1))
        if (cnt == 8)
            lq_half_pairs8(_mm_loadu_si128((const __m128i *)h), _mm_loadu_si128((const __m128i *)(h + 16)), &dw, &mw);
        else
            lq_half_pairs8(_mm_setr_epi32(W(0), W(1), W(2), W(3)), _mm_setr_epi32(W(4), W(5), W(6), W(7)), &dw, &mw);
#undef W
    } else {
        dw = _mm256_cvtph_ps(cnt == 8 && kind != K_Q8_0 ? _mm_loadu_si128((const __m128i *)h)
                                                         : halves8(h, hdr_bytes[kind], cnt));
    }
    const __m256i xs = _mm256_load_si256((const __m256i *)(c->xsum + bi));
#ifdef LQ_DOT4_VNNI
    if (kind == K_IQ4_NL) isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(xs, 7));
#endif
    if (kind == K_Q4_0) isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(xs, 3));
    if (kind == K_Q5_0) isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(xs, 4));
    if (kind == K_MXFP4) isum = _mm256_sub_epi32(isum, _mm256_mullo_epi32(xs, _mm256_set1_epi32(12)));
    __m256 t = _mm256_mul_ps(_mm256_mul_ps(dw, _mm256_load_ps(c->dx + bi)), _mm256_cvtepi32_ps(isum));
    if (kind == K_Q4_1 || kind == K_Q5_1) t = _mm256_add_ps(t, _mm256_mul_ps(mw, _mm256_load_ps(c->sx + bi)));
    if (cnt < 8) t = _mm256_and_ps(t, _mm256_castsi256_ps(lq_live8((size_t)cnt))); /* +0.0f past the row */
    return t;
}

static inline __attribute__((always_inline)) void drive(float *y, const void *W, size_t row_bytes, const void *xq,
                                                         int n, int r0, int r1, int kind) {
    static const int bsize[] = {18, 20, 22, 24, 34, 18, 17};
    const size_t wbs = (size_t)bsize[kind];
    const int q81 = kind == K_Q4_1 || kind == K_Q5_1;
    xchunk c;
    __m256 acc[ROWS][2];
    const int nb = n / 32;
    const size_t xbs = q81 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    for (int g0 = r0; g0 < r1; g0 += ROWS) {
        const int R = r1 - g0 < ROWS ? r1 - g0 : ROWS;
        for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
        for (int c0 = 0; c0 < nb; c0 += CHUNK) {
            const int nbc = nb - c0 < CHUNK ? nb - c0 : CHUNK, n16 = nbc & ~15, nfull = nbc & ~7;
            const uint8_t *xb0 = (const uint8_t *)xq + (size_t)c0 * xbs;
            if (nb > CHUNK || g0 == r0) prep_chunk(&c, xb0, nbc, (nbc + 7) & ~7, q81, kind != K_Q8_0, kind == K_IQ4_NL); /* one chunk: once per call */
            for (int r = 0; r < R; r++) {
                const uint8_t *row = (const uint8_t *)W + (size_t)(g0 + r) * row_bytes;
                __m256 lo = acc[r][0], hi = acc[r][1];
                for (int bi = 0; bi < n16; bi += 16) {
                    LQ_MCA_BEGIN();
                    /* with this much work per byte the hardware prefetcher alone
                     * leaves DRAM idle between requests: 1.1-1.3x at 2 threads.
                     * The row's bytes in address order, as far ahead as the
                     * blocks read: the runs of the next row come in time */
                    const size_t b = (size_t)(c0 + bi);
                    for (size_t o = 0; o < 16 * wbs; o += 64)
                        _mm_prefetch((const char *)row + b * wbs + PF_AHEAD + o, PF_HINT);
                    lo = _mm256_add_ps(lo, row8(runs_at(row, (size_t)nb, b, kind), &c, bi, kind, 8));
                    hi = _mm256_add_ps(hi, row8(runs_at(row, (size_t)nb, b + 8, kind), &c, bi + 8, kind, 8));
                    LQ_MCA_END();
                }
                if (nfull > n16) lo = _mm256_add_ps(lo, row8(runs_at(row, (size_t)nb, (size_t)(c0 + n16), kind), &c, n16,
                                                              kind, 8));
                if (nbc > nfull) { /* the row's last 1..7 blocks */
                    const runs tail = runs_at(row, (size_t)nb, (size_t)(c0 + nfull), kind);
                    const __m256 t = row8(tail, &c, nfull, kind, nbc - nfull);
                    if (nfull > n16) hi = _mm256_add_ps(hi, t);
                    else lo = _mm256_add_ps(lo, t);
                }
                acc[r][0] = lo, acc[r][1] = hi;
            }
        }
        for (int r = 0; r < R; r++) y[g0 + r] = lq_hsum8_ps(_mm256_add_ps(acc[r][0], acc[r][1]));
    }
}

/* qdot_legacy_ymm_avx512.c builds these kernels again with AVX-512's flags
 * as the AVX-512 table's */
#ifdef LQ_YMM_ON_AVX512
#define LEGACY_ISA avx512
#else
#define LEGACY_ISA avx2
#endif
#define LEGACY_PASTE(a, b, c) a##b##c
#define LEGACY_NAME(name, isa) LEGACY_PASTE(lq_qdot_, name, isa)
#define LEGACY_KERNEL(name, kind)                                                                          \
    void LEGACY_NAME(name##_, LEGACY_ISA)(float *y, const void *W, size_t row_bytes, const void *xq, int n, \
                                          int r0, int r1) {                                               \
        drive(y, W, row_bytes, xq, n, r0, r1, kind);                                                      \
    }

LEGACY_KERNEL(q4_0, K_Q4_0)
LEGACY_KERNEL(q4_1, K_Q4_1)
LEGACY_KERNEL(q5_0, K_Q5_0)
LEGACY_KERNEL(q5_1, K_Q5_1)
LEGACY_KERNEL(q8_0, K_Q8_0)
LEGACY_KERNEL(mxfp4, K_MXFP4)
LEGACY_KERNEL(iq4_nl, K_IQ4_NL)
