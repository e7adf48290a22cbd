/* AVX-512 VNNI single-query attention over a Q8 KV cache (any head size up
 * to 256).
 *
 * Scores: the query's int8 codes against each key's with vpdpbusd (|q| as
 * the unsigned operand, the key's codes negated where q < 0), 64 codes (two
 * blocks) per instruction. 16 keys at a time, a transpose-and-add tree of
 * integer adds turns their 16 lane sums into one vector per block (lane =
 * key); the float steps then run per block in the reference's order, so the
 * scores equal lq_attn_scores_q8_ref bit for bit. V: codes widened to float
 * and accumulated with p * d per block (FMA), which with the vector exp keeps
 * the output within float rounding of the reference, not bit-equal. */
#include "kernels/attention.h"
#include "kernels/attn_avx512.h"

#include <immintrin.h>
#include <math.h>

#define QB 32

/* a[t]: 16 int32 partial sums of key t over one 64-code chunk (lanes 0-7:
 * its first block, 8-15: its second); out: each block's totals, key t in
 * lane t (the float tree of lq_attn_reduce16 without its last add) */
static inline void reduce16_blocks(const __m512i a[16], __m512i *blk0, __m512i *blk1) {
    __m512i b[8], c[4], d[2];
    for (int i = 0; i < 8; i++)
        b[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(a[2 * i], a[2 * i + 1]),
                                _mm512_unpackhi_epi32(a[2 * i], a[2 * i + 1]));
    for (int i = 0; i < 4; i++)
        c[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(b[2 * i], b[2 * i + 1]),
                                _mm512_unpackhi_epi64(b[2 * i], b[2 * i + 1]));
    /* c[i], 128-bit lane L: keys 4i..4i+3 summed over codes 16L..16L+15 */
    for (int i = 0; i < 2; i++)
        d[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(c[2 * i], c[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                                _mm512_shuffle_i32x4(c[2 * i], c[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    /* d[i]: (keys 8i..8i+3 block 0, same keys block 1, keys 8i+4.. block 0, block 1) */
    *blk0 = _mm512_shuffle_i32x4(d[0], d[1], _MM_SHUFFLE(2, 0, 2, 0));
    *blk1 = _mm512_shuffle_i32x4(d[0], d[1], _MM_SHUFFLE(3, 1, 3, 1));
}

typedef struct qprep {
    int nb, nc;            /* blocks, 64-code chunks */
    __m512i qa[4];         /* |q| codes per chunk */
    __mmask64 qneg[4];     /* where q < 0 */
    __mmask64 live[4];     /* codes inside the head */
    const float *dq;
} qprep;

static inline __m512i chunk_dot(const qprep *p, const int8_t *kq, int c) {
    __m512i k = _mm512_maskz_loadu_epi8(p->live[c], kq + 64 * c);
    k = _mm512_mask_sub_epi8(k, p->qneg[c], _mm512_setzero_si512(), k);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), p->qa[c], k);
}

void lq_attn_scores_q8_avx512(float *scores, const void *qrow, const void *K, int P, int hd, size_t stride,
                              float scale) {
    if (hd > 256 || stride > (size_t)INT32_MAX / 16) {
        lq_attn_scores_q8_ref(scores, qrow, K, P, hd, stride, scale);
        return;
    }
    qprep p = {.nb = (hd + QB - 1) / QB, .nc = (hd + 63) / 64, .dq = qrow};
    const int8_t *qq = (const int8_t *)(p.dq + p.nb);
    for (int c = 0; c < p.nc; c++) {
        int n = hd - 64 * c;
        p.live[c] = n >= 64 ? ~0ull : (1ull << n) - 1;
        __m512i qv = _mm512_maskz_loadu_epi8(p.live[c], qq + 64 * c);
        p.qneg[c] = _mm512_movepi8_mask(qv);
        p.qa[c] = _mm512_abs_epi8(qv);
    }
    const char *Kb = K;
    size_t codes_off = (size_t)p.nb * sizeof(float);
    const __m512i vidx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32((int)stride));
    const __m512 vs = _mm512_set1_ps(scale);
    int j = 0;
    for (; j + 16 <= P; j += 16) {
        const char *base = Kb + (size_t)j * stride;
        __m512 s = _mm512_setzero_ps();
        for (int c = 0; c < p.nc; c++) {
            __m512i part[16], isum[2];
            for (int t = 0; t < 16; t++) part[t] = chunk_dot(&p, (const int8_t *)(base + (size_t)t * stride + codes_off), c);
            reduce16_blocks(part, &isum[0], &isum[1]);
            for (int h = 0; h < 2 && 2 * c + h < p.nb; h++) {
                int b = 2 * c + h;
                __m512 dk = _mm512_i32gather_ps(vidx, base + (size_t)b * sizeof(float), 1);
                __m512 d = _mm512_mul_ps(_mm512_set1_ps(p.dq[b]), dk);
                s = _mm512_add_ps(s, _mm512_mul_ps(_mm512_cvtepi32_ps(isum[h]), d));
            }
        }
        _mm512_storeu_ps(scores + j, _mm512_mul_ps(s, vs));
    }
    for (; j < P; j++) {
        const char *row = Kb + (size_t)j * stride;
        const float *dk = (const float *)row;
        float s = 0.0f;
        for (int c = 0; c < p.nc; c++) {
            __m512i dot = chunk_dot(&p, (const int8_t *)(row + codes_off), c);
            for (int h = 0; h < 2 && 2 * c + h < p.nb; h++) {
                int b = 2 * c + h;
                int32_t isum = _mm512_reduce_add_epi32(_mm512_maskz_mov_epi32(h ? 0xFF00 : 0x00FF, dot));
                s += (float)isum * (p.dq[b] * dk[b]);
            }
        }
        scores[j] = s * scale;
    }
}

void lq_attn_row_q8_avx512(float *out, const float *q, const void *K, const void *V, int P, int hd, size_t stride,
                           float scale, float *scores) {
    if (hd > 256) {
        lq_attn_row_q8_ref(out, q, K, V, P, hd, stride, scale, scores);
        return;
    }
    float qrow[256 / 4 + 256 / QB]; /* lq_kv_q8_bytes(256) as floats */
    lq_kv_q8_quantize(qrow, q, hd);
    lq_attn_scores_q8_avx512(scores, qrow, K, P, hd, stride, scale);
    __m512 vmx = _mm512_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 16 <= P; j += 16) vmx = _mm512_max_ps(vmx, _mm512_loadu_ps(scores + j));
    float mx = _mm512_reduce_max_ps(vmx);
    for (; j < P; j++) mx = scores[j] > mx ? scores[j] : mx;
    float inv = lq_attn_softmax_avx512(scores, P, mx);

    int nb = (hd + QB - 1) / QB, nv = (hd + 15) / 16;
    __mmask16 tail = hd % 16 ? (__mmask16)((1u << (hd % 16)) - 1) : 0xFFFF;
    __m512 acc[16];
    for (int c = 0; c < nv; c++) acc[c] = _mm512_setzero_ps();
    for (j = 0; j < P; j++) {
        const float *dv = (const float *)((const char *)V + (size_t)j * stride);
        const int8_t *vq = (const int8_t *)(dv + nb);
        float p = scores[j] * inv;
        for (int c = 0; c < nv; c++) {
            __m128i codes = _mm_maskz_loadu_epi8(c + 1 < nv ? 0xFFFF : tail, vq + 16 * c);
            __m512 x = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(codes));
            acc[c] = _mm512_fmadd_ps(_mm512_set1_ps(p * dv[c / 2]), x, acc[c]);
        }
    }
    for (int c = 0; c < nv; c++) _mm512_mask_storeu_ps(out + 16 * c, c + 1 < nv ? 0xFFFF : tail, acc[c]);
}
