/* AVX2 single-query attention over an F32 or F16 cache (head size a
 * multiple of 8, up to 256), whole rows or position chunks (attention.h),
 * the plan of attention_avx512.c eight lanes wide: scores 8 keys at a time,
 * each key's 8 partial sums folded with the other keys' by a transpose-and-add
 * tree; the softmax through the vector exp of vexp_avx2.h. Within the tests'
 * limit of a double reference, not bit-equal to the scalar reference. At the
 * end of the file, the Q8 cache's chunks, whose scores are the reference's
 * bit for bit. */
#include "kernels/attention.h"
#include "kernels/simd_avx2.h"
#include "kernels/vexp_avx2.h"

#include <immintrin.h>
#include <math.h>
#include <stdbool.h>

/* 8 values of a K or V row, F16 (converted) or F32 */
static inline __attribute__((always_inline)) __m256 load8(const char *row, int b, bool half) {
    if (half) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 16 * b)));
    return _mm256_loadu_ps((const float *)row + 8 * b);
}

/* The cache's rows of one head are short and `stride` apart (the other
 * heads between them), a pattern the hardware prefetchers follow late.
 * A prefetch past the end of the cache is harmless. */
static inline __attribute__((always_inline)) void prefetch_bytes(const char *row, int bytes) {
    for (int at = 0; at < bytes; at += 64) _mm_prefetch(row + at, _MM_HINT_T0);
}

static inline __attribute__((always_inline)) void prefetch_row(const char *row, int hd, bool half) {
    prefetch_bytes(row, hd * (half ? 2 : 4));
}

/* a[j] holds 8 partial sums of key j; returns the 8 totals, key j in lane j */
static inline __m256 reduce8_ps(const __m256 *a) {
    const __m256 b0 = _mm256_add_ps(_mm256_unpacklo_ps(a[0], a[1]), _mm256_unpackhi_ps(a[0], a[1]));
    const __m256 b1 = _mm256_add_ps(_mm256_unpacklo_ps(a[2], a[3]), _mm256_unpackhi_ps(a[2], a[3]));
    const __m256 b2 = _mm256_add_ps(_mm256_unpacklo_ps(a[4], a[5]), _mm256_unpackhi_ps(a[4], a[5]));
    const __m256 b3 = _mm256_add_ps(_mm256_unpacklo_ps(a[6], a[7]), _mm256_unpackhi_ps(a[6], a[7]));
    /* per 128-bit lane: keys 0..3 (c0) and 4..7 (c1), one partial each */
    const __m256 c0 = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(b0), _mm256_castps_pd(b1))),
                                    _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(b0), _mm256_castps_pd(b1))));
    const __m256 c1 = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(b2), _mm256_castps_pd(b3))),
                                    _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(b2), _mm256_castps_pd(b3))));
    return _mm256_add_ps(_mm256_permute2f128_ps(c0, c1, 0x20), _mm256_permute2f128_ps(c0, c1, 0x31));
}

static inline __attribute__((always_inline)) __m256 key_partials(const char *k, const __m256 *qv, int nv, bool half) {
    __m256 s = _mm256_mul_ps(load8(k, 0, half), qv[0]);
    for (int b = 1; b < nv; b++) s = _mm256_fmadd_ps(load8(k, b, half), qv[b], s);
    return s;
}

/* Scaled scores of keys 0..P-1 into scores; returns their maximum. */
static inline __attribute__((always_inline)) float scores_max(float *scores, const float *q, const char *K, int P,
                                                              int hd, size_t stride, float scale, bool half) {
    const int nv = hd / 8;
    __m256 qv[32];
    for (int b = 0; b < nv; b++) qv[b] = _mm256_loadu_ps(q + 8 * b);
    __m256 vmx = _mm256_set1_ps(-INFINITY);
    const __m256 vs = _mm256_set1_ps(scale);
    int j = 0;
    for (; j + 8 <= P; j += 8) {
        /* the 8 keys' chains interleaved (each in the order of key_partials) */
        const char *k = K + (size_t)j * stride;
        __m256 part[8];
        for (int t = 0; t < 8; t++) {
            prefetch_row(k + (size_t)(t + 16) * stride, hd, half);
            part[t] = _mm256_mul_ps(load8(k + t * stride, 0, half), qv[0]);
        }
        for (int b = 1; b < nv; b++)
            for (int t = 0; t < 8; t++) part[t] = _mm256_fmadd_ps(load8(k + t * stride, b, half), qv[b], part[t]);
        const __m256 sc = _mm256_mul_ps(reduce8_ps(part), vs);
        _mm256_storeu_ps(scores + j, sc);
        vmx = _mm256_max_ps(vmx, sc);
    }
    float mx = lq_hmax8_ps(vmx);
    for (; j < P; j++) {
        scores[j] = lq_hsum8_ps(key_partials(K + (size_t)j * stride, qv, nv, half)) * scale;
        mx = scores[j] > mx ? scores[j] : mx;
    }
    return mx;
}

/* vectors b0..b0+w-1 of the weighted sum of V rows; w is 8 but in a
 * head size's last slab, so that the accumulators stay in registers */
static inline __attribute__((always_inline)) void weigh_slab(float *out, const float *scores, float inv,
                                                             const char *V, int P, int hd, size_t stride, int b0,
                                                             int w, bool half, bool normalize) {
    __m256 acc[8];
    for (int b = 0; b < w; b++) acc[b] = _mm256_setzero_ps();
    for (int j = 0; j < P; j++) {
        const char *v = V + (size_t)j * stride;
        if (b0 == 0) prefetch_row(v + 8 * stride, hd, half);
        const __m256 p = _mm256_set1_ps(normalize ? scores[j] * inv : scores[j]);
        for (int b = 0; b < w; b++) acc[b] = _mm256_fmadd_ps(p, load8(v, b0 + b, half), acc[b]);
    }
    for (int b = 0; b < w; b++) _mm256_storeu_ps(out + 8 * (b0 + b), acc[b]);
}

/* out (hd) = sum over keys of weight * V row; weight = scores[j] * inv, or
 * scores[j] itself where !normalize */
static inline __attribute__((always_inline)) void weigh_values(float *out, const float *scores, float inv,
                                                               const char *V, int P, int hd, size_t stride,
                                                               bool half, bool normalize) {
    const int nv = hd / 8;
    int b0 = 0;
    for (; b0 + 8 <= nv; b0 += 8) weigh_slab(out, scores, inv, V, P, hd, stride, b0, 8, half, normalize);
    if (b0 < nv) weigh_slab(out, scores, inv, V, P, hd, stride, b0, nv - b0, half, normalize);
}

/* One body for both caches: `half` is a constant in each caller. stride in bytes. */
static inline __attribute__((always_inline)) void attn_row(float *out, const float *q, const char *K,
                                                           const char *V, int P, int hd, size_t stride,
                                                           float scale, float *scores, bool half) {
    const float mx = scores_max(scores, q, K, P, hd, stride, scale, half);
    const float inv = 1.0f / lq_exp_sum_avx2(scores, P, mx);
    weigh_values(out, scores, inv, V, P, hd, stride, half, true);
}

static inline __attribute__((always_inline)) void attn_part(float *o, float *ml, const float *q, const char *K,
                                                            const char *V, int n, int hd, size_t stride,
                                                            float scale, float *scores, bool half) {
    ml[0] = scores_max(scores, q, K, n, hd, stride, scale, half);
    ml[1] = lq_exp_sum_avx2(scores, n, ml[0]);
    weigh_values(o, scores, 1.0f, V, n, hd, stride, half, false);
}

/* G heads over one chunk; the chunk is in cache after the first head
 * (converting an F16 chunk once for all heads measured slower: the
 * conversions are not the cost). The common head size as a constant: its
 * loops unrolled, q in registers. */
static inline __attribute__((always_inline)) void part_heads(float *o, float *ml, const float *q, int G,
                                                             const void *K, const void *V, int n, int hd,
                                                             size_t stride, float scale, float *scratch, bool half) {
    if (hd % 8 || hd > 256) {
        (half ? lq_attn_part_f16_ref : lq_attn_part_f32_ref)(o, ml, q, G, K, V, n, hd, stride, scale, scratch);
        return;
    }
    for (int g = 0; g < G; g++) {
        float *og = o + (size_t)g * hd, *mlg = ml + 2 * g;
        const float *qg = q + (size_t)g * hd;
        if (hd == 64) attn_part(og, mlg, qg, K, V, n, 64, stride, scale, scratch, half);
        else attn_part(og, mlg, qg, K, V, n, hd, stride, scale, scratch, half);
    }
}

void lq_attn_row_f32_avx2(float *out, const float *q, const float *K, const float *V, int P, int hd, int stride,
                          float scale, float *scores) {
    if (hd % 8 || hd > 256) {
        lq_attn_row_f32_ref(out, q, K, V, P, hd, stride, scale, scores);
        return;
    }
    attn_row(out, q, (const char *)K, (const char *)V, P, hd, (size_t)stride * sizeof(float), scale, scores, false);
}

void lq_attn_row_f16_avx2(float *out, const float *q, const void *K, const void *V, int P, int hd, size_t stride,
                          float scale, float *scores) {
    if (hd % 8 || hd > 256) {
        lq_attn_row_f16_ref(out, q, K, V, P, hd, stride, scale, scores);
        return;
    }
    attn_row(out, q, K, V, P, hd, stride, scale, scores, true);
}

void lq_attn_part_f32_avx2(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n, int hd,
                           size_t stride, float scale, float *scratch) {
    part_heads(o, ml, q, G, K, V, n, hd, stride, scale, scratch, false);
}

void lq_attn_part_f16_avx2(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n, int hd,
                           size_t stride, float scale, float *scratch) {
    part_heads(o, ml, q, G, K, V, n, hd, stride, scale, scratch, true);
}

/* ------------------------------------------------------------ Q8 cache
 * (the row format in attention.h; head sizes a multiple of 32 up to 256,
 * else the reference). Scores equal lq_attn_scores_q8_ref bit for bit: per
 * block, eight keys' integer dots (maddubs of |q| with the key codes
 * negated where q < 0; neither is ever -128, lq_kv_q8_quantize rounds
 * within 127) folded by reduce8, then the float steps of the reference per
 * key, in block order, eight keys wide. */

/* scores of n keys; returns their maximum */
static float q8_scores_max(float *scores, const void *qrow, const char *K, int n, int hd, size_t stride,
                           float scale) {
    const int nb = hd / 32;
    const float *dq = qrow;
    const int8_t *qq = (const int8_t *)(dq + nb);
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256 vmx = _mm256_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        const char *k = K + (size_t)j * stride;
        for (int t = 0; t < 8; t++) prefetch_bytes(k + (size_t)(t + 16) * stride, 4 * nb + hd);
        __m256 s = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(qq + 32 * b)), aq = _mm256_abs_epi8(q);
            __m256i v[8];
            for (int t = 0; t < 8; t++) {
                const int8_t *kq = (const int8_t *)((const float *)(k + (size_t)t * stride) + nb) + 32 * b;
                v[t] = _mm256_madd_epi16(
                    _mm256_maddubs_epi16(aq, _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)kq), q)), ones16);
            }
#define DK(t) ((const float *)(k + (size_t)(t) * stride))[b]
            const __m256 dk = _mm256_setr_ps(DK(0), DK(1), DK(2), DK(3), DK(4), DK(5), DK(6), DK(7));
#undef DK
            s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_cvtepi32_ps(reduce8(v)), _mm256_mul_ps(_mm256_set1_ps(dq[b]), dk)));
        }
        const __m256 sc = _mm256_mul_ps(s, _mm256_set1_ps(scale));
        _mm256_storeu_ps(scores + j, sc);
        vmx = _mm256_max_ps(vmx, sc);
    }
    float mx = lq_hmax8_ps(vmx);
    if (j < n) lq_attn_scores_q8_ref(scores + j, qrow, K + (size_t)j * stride, n - j, hd, stride, scale);
    for (; j < n; j++) mx = scores[j] > mx ? scores[j] : mx;
    return mx;
}

/* o (hd) = sum over keys of scores[j] * V row, each block's scale folded
 * into the weight as the reference does (p * d, then times the code);
 * slabs of two blocks, their eight accumulators in registers */
static void q8_weigh_values(float *o, const float *scores, const char *V, int n, int hd, size_t stride) {
    const int nb = hd / 32;
    for (int b0 = 0; b0 < nb; b0 += 2) {
        const int w = nb - b0 < 2 ? 1 : 2;
        __m256 acc[8];
        for (int c = 0; c < 4 * w; c++) acc[c] = _mm256_setzero_ps();
        for (int j = 0; j < n; j++) {
            const float *dv = (const float *)(V + (size_t)j * stride);
            const int8_t *vq = (const int8_t *)(dv + nb) + 32 * b0;
            if (b0 == 0) prefetch_bytes(V + (size_t)(j + 8) * stride, 4 * nb + hd);
            for (int bb = 0; bb < w; bb++) {
                const __m256 p = _mm256_set1_ps(scores[j] * dv[b0 + bb]);
                for (int c = 0; c < 4; c++) {
                    int64_t codes;
                    memcpy(&codes, vq + 32 * bb + 8 * c, 8);
                    const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(codes)));
                    acc[4 * bb + c] = _mm256_fmadd_ps(p, v, acc[4 * bb + c]);
                }
            }
        }
        for (int c = 0; c < 4 * w; c++) _mm256_storeu_ps(o + 32 * b0 + 8 * c, acc[c]);
    }
}

void lq_attn_part_q8_avx2(float *o, float *ml, const void *q, int G, const void *K, const void *V, int n, int hd,
                          size_t stride, float scale, float *scratch) {
    if (hd % 32 || hd > 256) {
        lq_attn_part_q8_ref(o, ml, q, G, K, V, n, hd, stride, scale, scratch);
        return;
    }
    for (int g = 0; g < G; g++) {
        const void *qrow = (const char *)q + (size_t)g * lq_kv_q8_bytes(hd);
        float *mlg = ml + 2 * g;
        mlg[0] = q8_scores_max(scratch, qrow, K, n, hd, stride, scale);
        mlg[1] = lq_exp_sum_avx2(scratch, n, mlg[0]);
        q8_weigh_values(o + (size_t)g * hd, scratch, V, n, hd, stride);
    }
}
