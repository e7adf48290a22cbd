/* Shared between the llmq-format GEMV kernels (ref, AVX2, AVX-512): the
 * list of types with their shapes, and how to find a 32-value unit of a
 * weight row. The float order every kernel follows is in
 * kernels/ref/qdot_llmq_ref.c. */
#ifndef LQ_KERNELS_QDOT_LLMQ_H
#define LQ_KERNELS_QDOT_LLMQ_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/qdot.h"
#include "quant/types_llmq.h"

/* X(name, bits, group, asym): integer formats against Q8_0 activations;
 * group 0 is the row-wise I8_CH (fp32 scale before the row); NF4 below. */
#define LQ_LLMQ_INT_TYPES(X)                                                               \
    X(I8_CH, 8, 0, 0)                                                                      \
    X(I2_G32S, 2, 32, 0) X(I2_G32A, 2, 32, 1) X(I2_G64S, 2, 64, 0) X(I2_G64A, 2, 64, 1)      \
    X(I2_G128S, 2, 128, 0) X(I2_G128A, 2, 128, 1)                                          \
    X(I3_G32S, 3, 32, 0) X(I3_G32A, 3, 32, 1) X(I3_G64S, 3, 64, 0) X(I3_G64A, 3, 64, 1)      \
    X(I3_G128S, 3, 128, 0) X(I3_G128A, 3, 128, 1)                                          \
    X(I4_G32S, 4, 32, 0) X(I4_G32A, 4, 32, 1) X(I4_G64S, 4, 64, 0) X(I4_G64A, 4, 64, 1)      \
    X(I4_G128S, 4, 128, 0) X(I4_G128A, 4, 128, 1)                                          \
    X(I8_G32S, 8, 32, 0) X(I8_G32A, 8, 32, 1) X(I8_G64S, 8, 64, 0) X(I8_G64A, 8, 64, 1)      \
    X(I8_G128S, 8, 128, 0) X(I8_G128A, 8, 128, 1)                                          \
    X(NF4, 4, 64, 0)

/* NF4 has I4_G64S's bytes (fp16 scale, 4-bit fields) with the fields
 * looking up the fp16 code book, which is exact in units of 2^-14: these
 * integers stand in for the book in the integer kernels. */
extern const int16_t lq_nf4_book_i16[16];
#define LQ_LLMQ_NF4_UNIT 0x1p-14f

/* X(name, kind, group): float formats against F32 activations. kind 1:
 * E4M3 per channel (fp32 row header, group 0), 2: E4M3 per group (fp16
 * scale). */
#define LQ_LLMQ_F32_TYPES(X) X(F8_E4M3_CH, 1, 0) X(F8_E4M3_G32, 2, 32) X(F8_E4M3_G128, 2, 128)

/* The AVX2 kernels of these group formats read planar rows (planar.h;
 * plans in qdot_llmq_ref.c): INT2, INT3 and groups of 64 and 128. I4 / I8 G32
 * planar ran faster in cache (1.12-1.26x) but slower memory-bound (one
 * header run per row 0.66-0.89x, per chunk of 8 units 0.92-0.94x), where
 * their GGUF rows already stream at the read bandwidth */
#define LQ_LLMQ_AVX2_PLANAR(bits, group, asym) ((bits) <= 3 || (group) >= 64)

/* kernels: _ref, _avx2 and _avx512 (VNNI) */
#define LQ_LLMQ_QDOT_DECL2(t)                                                                              \
    void lq_qdot_##t##_ref(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1); \
    void lq_qdot_##t##_avx2(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1); \
    void lq_qdot_##t##_avx512(float *y, const void *W, size_t row_bytes, const void *xq, int n, int r0, int r1);
#define LQ_LLMQ_QDOT_DECL_INT(name, a, b, c) LQ_LLMQ_QDOT_DECL2(llmq_##name)
#define LQ_LLMQ_QDOT_DECL_F32(name, a, b) LQ_LLMQ_QDOT_DECL2(llmq_##name)
LQ_LLMQ_INT_TYPES(LQ_LLMQ_QDOT_DECL_INT)
LQ_LLMQ_F32_TYPES(LQ_LLMQ_QDOT_DECL_F32)
#undef LQ_LLMQ_QDOT_DECL_INT
#undef LQ_LLMQ_QDOT_DECL_F32
#undef LQ_LLMQ_QDOT_DECL2

/* A SIMD file defines its kernels of every type (lq_qdot_llmq_<T>_<isa>)
 * by #define LQ_LLMQ_ISA <isa> and LQ_LLMQ_KERNELS()
 * after its int_rows(bits, group, asym, nf4, ref, y, W, row_bytes, xq, n,
 * r0, r1) and f32_rows(kind, group, y, W, row_bytes, xq, n, r0, r1). */
#define LQ_LLMQ_PASTE(a, b) a##b
#define LQ_LLMQ_NAME(a, b) LQ_LLMQ_PASTE(a, b)
#define LQ_LLMQ_INT_K(name, bits, group, asym)                                                                    \
    void LQ_LLMQ_NAME(lq_qdot_llmq_##name##_, LQ_LLMQ_ISA)(float *y, const void *W, size_t rb, const void *xq, int n, \
                                                         int r0, int r1) {                                         \
        int_rows(bits, group, asym, LQ_TYPE_##name == LQ_TYPE_NF4, lq_qdot_llmq_##name##_ref, y, W, rb, xq, n, r0, r1); \
    }
#define LQ_LLMQ_F32_K(name, kind, group)                                                                          \
    void LQ_LLMQ_NAME(lq_qdot_llmq_##name##_, LQ_LLMQ_ISA)(float *y, const void *W, size_t rb, const void *xq, int n, \
                                                         int r0, int r1) {                                         \
        f32_rows(kind, group, y, W, rb, xq, n, r0, r1);                                                           \
    }
#define LQ_LLMQ_KERNELS()                                                                                         \
    LQ_LLMQ_INT_TYPES(LQ_LLMQ_INT_K)                                                                              \
    LQ_LLMQ_F32_TYPES(LQ_LLMQ_F32_K)

/* One row of a float format (kind and group as in LQ_LLMQ_F32_TYPES) in
 * the reference order; SIMD kernels hand it rows they cannot decode. */
float lq_qdot_llmq_f32_row_ref(int kind, int group, const uint8_t *row, const float *x, int n);

static inline void lq_llmq_f32_rows_ref(int kind, int group, float *y, const void *W, size_t row_bytes, const float *x,
                                        int n, int r0, int r1) {
    for (int r = r0; r < r1; r++) y[r] = lq_qdot_llmq_f32_row_ref(kind, group, (const uint8_t *)W + (size_t)r * row_bytes, x, n);
}

/* E4M3 per channel: values i .. n - 1 (a row's last n % 32) into the
 * ref's lane sums a[i % 32] */
static inline void lq_llmq_e4m3_lanes(float a[32], const uint8_t *c, const float *x, int i, int n) {
    for (; i < n; i++) a[i % 32] = fmaf(lq_e4m3_to_fp32(c[i]) * 0x1p-8f, x[i], a[i % 32]);
}

#ifdef __AVX2__ /* the AVX2 and AVX-512 files */
#include <immintrin.h>

/* FP8 rows: NaN codes (0x7F, 0xFF) are those whose low 7 bits are all set.
 * A SIMD kernel keeps the running byte maximum of c & 0x7F over a row (two
 * instructions per 32 codes; a compare against both codes took three) and
 * tests it for 0x7F once, handing such a row to the reference. */
static inline __m256i lq_e4m3_nan_acc(__m256i acc, __m256i c) {
    return _mm256_max_epu8(acc, _mm256_and_si256(c, _mm256_set1_epi8(0x7F)));
}

static inline bool lq_e4m3_has_nan(__m256i acc) {
    return !_mm256_testz_si256(_mm256_cmpeq_epi8(acc, _mm256_set1_epi8(0x7F)), _mm256_set1_epi8(-1));
}

/* MXCSR.DAZ (subnormal inputs read as zero; code built with -ffast-math
 * sets it): the SIMD FP8 decodes meet subnormals the reference does not
 * (fp16 words, raw fp32), so under it they hand all rows to the reference */
static inline bool lq_e4m3_daz(void) {
    return (_mm_getcsr() & 0x40) != 0;
}

/* A SIMD file's f32_rows (LQ_LLMQ_KERNELS), from its own
 * e4m3_scaled_acts(x, xs, n) (xs = x * 2^112 for the raw E4M3 decode,
 * false where that cannot give the ref's bits) and f32_rows_in(raw, kind,
 * group, y, W, row_bytes, x, x1, n, r0, r1) (x: the activations the decode
 * takes, x1 the unscaled ones) */
#define LQ_LLMQ_F32_ROWS()                                                                                     \
    static inline __attribute__((always_inline)) void f32_rows(int kind, int group, float *y, const void *W,   \
                                                               size_t row_bytes, const void *xq, int n, int r0, \
                                                               int r1) {                                        \
        const float *x = xq;                                                                                   \
        if (lq_e4m3_daz()) {                                                                                   \
            lq_llmq_f32_rows_ref(kind, group, y, W, row_bytes, x, n, r0, r1);                                  \
            return;                                                                                            \
        }                                                                                                      \
        _Alignas(64) float stack[4096]; /* the scaled activations of rows up to 4096 values */                \
        float *xs = n <= 4096 ? stack : lq_alloc_aligned((size_t)n * sizeof(float));                           \
        if (xs && e4m3_scaled_acts(x, xs, n)) f32_rows_in(true, kind, group, y, W, row_bytes, xs, x, n, r0, r1); \
        else f32_rows_in(false, kind, group, y, W, row_bytes, x, x, n, r0, r1);                                \
        if (xs != stack) lq_free_aligned(xs);                                                                  \
    }
#endif

/* A SIMD file defines LQ_LLMQ_F16 as its inline conversion (F16C, the same
 * bits) before including this header; the library call costs more than the
 * rest of a unit's work. */
#ifndef LQ_LLMQ_F16
#define LQ_LLMQ_F16 lq_fp16_to_fp32
#endif

static inline float lq_llmq_rd_f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return LQ_LLMQ_F16(h);
}

/* Unit b (values 32b .. 32b+31) of an integer-format row: its code bytes,
 * and the scale dw and min m (asymmetric) of the group holding it. */
static inline __attribute__((always_inline)) const uint8_t *lq_llmq_int_unit(const uint8_t *row, int bits, int group,
                                                                             bool asym, int b, float *dw, float *m) {
    if (group == 0) {
        memcpy(dw, row, 4);
        *m = 0.0f;
        return row + 4 + 32 * (size_t)b;
    }
    const int upg = group / 32, ub = bits * 4, hdr = asym ? 4 : 2;
    const uint8_t *blk = row + (size_t)(b / upg) * (size_t)(hdr + upg * ub);
    *dw = lq_llmq_rd_f16(blk);
    *m = asym ? lq_llmq_rd_f16(blk + 2) : 0.0f;
    return blk + hdr + (b % upg) * ub;
}

#endif
