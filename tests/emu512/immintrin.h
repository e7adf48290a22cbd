/* Stand-in <immintrin.h> for the AVX-512 emulation build (cmake
 * -DLLMQ_EMU512=ON; scripts/test_emu512.sh): the AVX-512 kernel files,
 * compiled for AVX2, get SIMDe's portable AVX-512 (Debian's libsimde-dev)
 * plus the intrinsics SIMDe 0.7.4 lacks, written below from Intel's
 * definitions. It lets a CPU without AVX-512 run the AVX-512 code paths
 * against the references; it says nothing about their speed. */
#ifndef LQ_EMU512_IMMINTRIN_H
#define LQ_EMU512_IMMINTRIN_H

/* GCC's own AVX-512 headers stay out: their functions need -mavx512* */
#define _AVX5124FMAPSINTRIN_H_INCLUDED
#define _AVX5124VNNIWINTRIN_H_INCLUDED
#define _AVX512BF16INTRIN_H_INCLUDED
#define _AVX512BF16VLINTRIN_H_INCLUDED
#define _AVX512BITALGINTRIN_H_INCLUDED
#define _AVX512BWINTRIN_H_INCLUDED
#define _AVX512CDINTRIN_H_INCLUDED
#define _AVX512DQINTRIN_H_INCLUDED
#define _AVX512ERINTRIN_H_INCLUDED
#define _AVX512FINTRIN_H_INCLUDED
#define _AVX512IFMAINTRIN_H_INCLUDED
#define _AVX512IFMAVLINTRIN_H_INCLUDED
#define _AVX512PFINTRIN_H_INCLUDED
#define _AVX512VBMI2VLINTRIN_H_INCLUDED
#define _AVX512VBMIINTRIN_H_INCLUDED
#define _AVX512VBMIVLINTRIN_H_INCLUDED
#define _AVX512VLBWINTRIN_H_INCLUDED
#define _AVX512VLDQINTRIN_H_INCLUDED
#define _AVX512VLINTRIN_H_INCLUDED
#define _AVX512VNNIVLINTRIN_H_INCLUDED
#define _AVX512VP2INTERSECTINTRIN_H_INCLUDED
#define _AVX512VP2INTERSECTVLINTRIN_H_INCLUDED
#define _AVX512VPOPCNTDQINTRIN_H_INCLUDED
#define _AVX512VPOPCNTDQVLINTRIN_H_INCLUDED
#define _GFNIINTRIN_H_INCLUDED
#define _VPCLMULQDQINTRIN_H_INCLUDED
#define __AVX512FP16INTRIN_H_INCLUDED
#define __AVX512FP16VLINTRIN_H_INCLUDED
#define __AVX512VBMI2INTRIN_H_INCLUDED
#define __AVX512VNNIINTRIN_H_INCLUDED
#define __VAESINTRIN_H_INCLUDED
#include_next <immintrin.h>
/* SIMDe takes these two as "GCC's bf16 types exist" */
#undef _AVX512BF16INTRIN_H_INCLUDED
#undef _AVX512BF16VLINTRIN_H_INCLUDED

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include <stdint.h>
#include <string.h>

typedef simde__mmask16 __mmask16;
typedef uint32_t __mmask32;
typedef uint64_t __mmask64;

/* SIMDe 0.7.4's alias takes the masked form's four arguments */
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)

/* _MM_PERM_ENUM values used by the kernels: letters name the source
 * element of positions 3, 2, 1, 0 (A = 0) */
#define _MM_PERM_BADC 0x4E
#define _MM_PERM_CDAB 0xB1

#define LQ_E512 static inline __attribute__((unused))

/* the 64 bytes of a vector, and back */
LQ_E512 void lq_e512_get(void *dst, const void *v) { memcpy(dst, v, 64); }
#define LQ_GETF(f, a) do { const __m512 lq_v_ = (a); lq_e512_get(f, &lq_v_); } while (0)
#define LQ_GETI(r, a) do { const __m512i lq_v_ = (a); lq_e512_get(r, &lq_v_); } while (0)

LQ_E512 __m512 lq_e512_ps(const float f[16]) {
    __m512 r;
    memcpy(&r, f, 64);
    return r;
}

LQ_E512 __m512i lq_e512_i32(const int32_t v[16]) {
    __m512i r;
    memcpy(&r, v, 64);
    return r;
}

/* masked loads and stores touch only the selected elements: element i
 * (of `size` bytes) is copied from src to dst where bit i of k is set */
LQ_E512 void lq_e512_masked_copy(void *dst, const void *src, uint64_t k, int n, int size) {
    for (int i = 0; i < n; i++)
        if (k >> i & 1) memcpy((char *)dst + (size_t)i * size, (const char *)src + (size_t)i * size, (size_t)size);
}

LQ_E512 __m512 _mm512_mask_loadu_ps(__m512 src, __mmask16 k, const void *p) {
    lq_e512_masked_copy(&src, p, k, 16, 4);
    return src;
}

LQ_E512 __m512 _mm512_maskz_loadu_ps(__mmask16 k, const void *p) { return _mm512_mask_loadu_ps(_mm512_setzero_ps(), k, p); }

LQ_E512 void _mm512_mask_storeu_ps(void *p, __mmask16 k, __m512 a) { lq_e512_masked_copy(p, &a, k, 16, 4); }

LQ_E512 void _mm512_mask_storeu_epi32(void *p, __mmask16 k, __m512i a) { lq_e512_masked_copy(p, &a, k, 16, 4); }

LQ_E512 __m512i _mm512_maskz_loadu_epi8(__mmask64 k, const void *p) {
    __m512i r = _mm512_setzero_si512();
    lq_e512_masked_copy(&r, p, k, 64, 1);
    return r;
}

LQ_E512 __m256i _mm256_maskz_loadu_epi16(__mmask16 k, const void *p) {
    __m256i r = _mm256_setzero_si256();
    lq_e512_masked_copy(&r, p, k, 16, 2);
    return r;
}

LQ_E512 __m256i _mm256_maskz_loadu_epi8(__mmask32 k, const void *p) {
    __m256i r = _mm256_setzero_si256();
    lq_e512_masked_copy(&r, p, k, 32, 1);
    return r;
}

LQ_E512 __m128i _mm_maskz_loadu_epi8(__mmask16 k, const void *p) {
    __m128i r = _mm_setzero_si128();
    lq_e512_masked_copy(&r, p, k, 16, 1);
    return r;
}

/* GCC's reduction tree (avx512fintrin.h): 256-bit halves, 128-bit
 * halves, then elements {0,1} op {2,3}, then element 0 op element 1 */
#define LQ_E512_REDUCE(name, OP)                                                                 \
    LQ_E512 float name(__m512 a) {                                                               \
        float f[16], t[8], u[4];                                                                 \
        LQ_GETF(f, a);                                                                           \
        for (int i = 0; i < 8; i++) t[i] = OP(f[i + 8], f[i]);                                   \
        for (int i = 0; i < 4; i++) u[i] = OP(t[i + 4], t[i]);                                   \
        const float v0 = OP(u[0], u[2]), v1 = OP(u[1], u[3]);                                    \
        return OP(v0, v1);                                                                       \
    }
#define LQ_E512_ADD(x, y) ((x) + (y))
#define LQ_E512_MAX(x, y) ((x) > (y) ? (x) : (y)) /* maxps: the second operand unless x > y */
LQ_E512_REDUCE(_mm512_reduce_add_ps, LQ_E512_ADD)
LQ_E512_REDUCE(_mm512_reduce_max_ps, LQ_E512_MAX)

LQ_E512 int _mm512_reduce_add_epi32(__m512i a) {
    int32_t v[16];
    uint32_t s = 0;
    LQ_GETI(v, a);
    for (int i = 0; i < 16; i++) s += (uint32_t)v[i];
    return (int)s;
}

LQ_E512 __m512 _mm512_cvtepi32_ps(__m512i a) {
    int32_t v[16];
    float f[16];
    LQ_GETI(v, a);
    for (int i = 0; i < 16; i++) f[i] = (float)v[i];
    return lq_e512_ps(f);
}

/* truncation; NaN and out-of-range give INT32_MIN, as cvttps2dq */
LQ_E512 __m512i _mm512_cvttps_epi32(__m512 a) {
    float f[16];
    int32_t r[16];
    LQ_GETF(f, a);
    for (int i = 0; i < 16; i++) r[i] = f[i] >= -2147483648.0f && f[i] < 2147483648.0f ? (int32_t)f[i] : INT32_MIN;
    return lq_e512_i32(r);
}

/* c where k is clear, else fma(a, b, c) (SIMDe's fmadd is fused: FMA on ymm halves) */
LQ_E512 __m512 _mm512_mask3_fmadd_ps(__m512 a, __m512 b, __m512 c, __mmask16 k) {
    return _mm512_mask_mov_ps(c, k, _mm512_fmadd_ps(a, b, c));
}

LQ_E512 __m512 _mm512_cvtph_ps(__m256i h) {
    float f[16];
    _mm256_storeu_ps(f, _mm256_cvtph_ps(_mm256_castsi256_si128(h)));
    _mm256_storeu_ps(f + 8, _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)));
    return lq_e512_ps(f);
}

LQ_E512 __m512i _mm512_cvtepi8_epi32(__m128i a) {
    int8_t b[16];
    int32_t r[16];
    _mm_storeu_si128((__m128i *)b, a);
    for (int i = 0; i < 16; i++) r[i] = b[i];
    return lq_e512_i32(r);
}

LQ_E512 __m512i _mm512_cvtepu16_epi32(__m256i a) {
    uint16_t h[16];
    int32_t r[16];
    _mm256_storeu_si256((__m256i *)h, a);
    for (int i = 0; i < 16; i++) r[i] = h[i];
    return lq_e512_i32(r);
}

LQ_E512 __m128i _mm512_cvtepi32_epi8(__m512i a) { /* truncation to the low byte */
    int32_t v[16];
    int8_t b[16];
    LQ_GETI(v, a);
    for (int i = 0; i < 16; i++) b[i] = (int8_t)(uint8_t)v[i];
    return _mm_loadu_si128((const __m128i *)b);
}

LQ_E512 __m512 _mm512_shuffle_f32x4(__m512 a, __m512 b, int imm) {
    float fa[16], fb[16], r[16];
    LQ_GETF(fa, a);
    LQ_GETF(fb, b);
    for (int l = 0; l < 4; l++) memcpy(r + 4 * l, (l < 2 ? fa : fb) + 4 * (imm >> (2 * l) & 3), 16);
    return lq_e512_ps(r);
}

LQ_E512 __m512i _mm512_shuffle_epi32(__m512i a, int imm) {
    int32_t v[16], r[16];
    LQ_GETI(v, a);
    for (int i = 0; i < 16; i++) r[i] = v[(i & ~3) + (imm >> (2 * (i & 3)) & 3)];
    return lq_e512_i32(r);
}

LQ_E512 __m256 _mm512_extractf32x8_ps(__m512 a, int imm) {
    float f[16];
    LQ_GETF(f, a);
    return _mm256_loadu_ps(f + 8 * (imm & 1));
}

LQ_E512 __m512i _mm512_zextsi256_si512(__m256i a) {
    int32_t r[16] = {0};
    _mm256_storeu_si256((__m256i *)r, a);
    return lq_e512_i32(r);
}

LQ_E512 __m512 _mm512_i32gather_ps(__m512i idx, const void *base, int scale) {
    int32_t v[16];
    float f[16];
    LQ_GETI(v, idx);
    for (int i = 0; i < 16; i++) memcpy(f + i, (const char *)base + (ptrdiff_t)v[i] * scale, 4);
    return lq_e512_ps(f);
}

LQ_E512 __mmask16 _mm512_cmplt_epu32_mask(__m512i a, __m512i b) {
    int32_t x[16], y[16];
    __mmask16 k = 0;
    LQ_GETI(x, a);
    LQ_GETI(y, b);
    for (int i = 0; i < 16; i++) k |= (__mmask16)((uint32_t)x[i] < (uint32_t)y[i]) << i;
    return k;
}

LQ_E512 __mmask64 _cvtu64_mask64(uint64_t x) { return x; }

/* SIMDe 0.7.4's roundscale keeps fraction bits it should drop (0.3 ->
 * 0.25 with _MM_FROUND_TO_ZERO); Intel's: round x * 2^M (M = imm >> 4) by
 * the mode in imm & 3 (imm & 4: the current mode, here nearest), then
 * divide by 2^M */
#undef _mm512_roundscale_ps
LQ_E512 __m512 _mm512_roundscale_ps(__m512 a, int imm) {
    float f[16];
    const float m = (float)(1 << (imm >> 4 & 15));
    LQ_GETF(f, a);
    for (int i = 0; i < 16; i++) {
        const float v = f[i] * m;
        float r;
        switch (imm & 4 ? 0 : imm & 3) {
        case 1: r = __builtin_floorf(v); break;
        case 2: r = __builtin_ceilf(v); break;
        case 3: r = __builtin_truncf(v); break;
        default: r = __builtin_nearbyintf(v); break;
        }
        f[i] = r / m;
    }
    return lq_e512_ps(f);
}

/* rcp14ps promises a relative error below 2^-14, its exact bits are the
 * hardware's; the emulation gives the correctly rounded reciprocal */
LQ_E512 __m512 _mm512_rcp14_ps(__m512 a) {
    float f[16];
    LQ_GETF(f, a);
    for (int i = 0; i < 16; i++) f[i] = 1.0f / f[i];
    return lq_e512_ps(f);
}

/* round to nearest even (the default MXCSR mode); NaN and out-of-range
 * give INT32_MIN, as cvtps2dq */
LQ_E512 __m512i _mm512_cvtps_epi32(__m512 a) {
    float f[16];
    int32_t r[16];
    LQ_GETF(f, a);
    for (int i = 0; i < 16; i++) {
        const float v = __builtin_nearbyintf(f[i]);
        r[i] = v >= -2147483648.0f && v < 2147483648.0f ? (int32_t)v : INT32_MIN;
    }
    return lq_e512_i32(r);
}

LQ_E512 void _mm512_mask_cvtepi32_storeu_epi8(void *p, __mmask16 k, __m512i a) {
    const __m128i b = _mm512_cvtepi32_epi8(a);
    lq_e512_masked_copy(p, &b, k, 16, 1);
}

#endif
