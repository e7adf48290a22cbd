/* W8A8 integer matrix products: int8 activations times int8 weights summed
 * exactly in int32, then dequantized to float (the linear layer of PyTorch's
 * quantize_dynamic).
 *
 *     Y[t][n] = (float)acc[t][n] * (sx[t] * sw[n])   (+ bias[n])
 *     acc[t][n] = sum_k xq[t][k] * wq[n][k]          exact int32
 *
 * Weights: symmetric per output channel (llmq's I8_CH rows: fp32 scale,
 * then the int8 codes), codes in [-127, 127]. lq_i8_pack copies them into a
 * kernel layout (below). Activations: one scale per row, codes in
 * [-127, 127], quantized dynamically (scale = max|x| / 127) or with a fixed
 * per-tensor scale.
 *
 * Any K >= 1 works: rows are zero-padded to kp = K rounded up to 4 (zero
 * codes add nothing). K is limited to 131072 so that |acc| <= 127*127*K
 * fits int32.
 *
 * Bit-exactness: acc is exact, and the float epilogue is the three rounded
 * operations above in that order (s = sx*sw, y = (float)acc * s, y + bias),
 * written with separate multiplies and adds in every path (the build uses
 * -ffp-contract=off). So ref, AVX2 and AVX-512 give the same bits, at any
 * thread count (each output is computed once, by one thread). */
#ifndef LQ_KERNELS_I8MM_H
#define LQ_KERNELS_I8MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { LQ_I8_MAX_K = 131072 };

/* Packed weights. Rows are grouped in blocks of 16 and blocks in panels of
 * up to 4 (64 output columns, the last panel may hold fewer blocks). Inside a
 * panel with nb blocks, for each group g of 4 inputs, for each block j, the
 * 16 rows' 4 codes k = 4g..4g+3 follow each other (the VNNI interleave: one
 * 64-byte vector holds 16 rows x 4 inputs):
 *     byte of (n, k) = panel * 64 * kp + (g * nb + j) * 64 + (n % 16) * 4 + k % 4
 * Rows past `rows` are zero codes with scale 0. */
typedef struct lq_i8_packed {
    int rows, cols;  /* N outputs, K inputs */
    int kp;          /* cols rounded up to a multiple of 4 */
    int n_blocks;    /* ceil(rows / 16) */
    int n_panels;    /* ceil(n_blocks / 4) */
    int8_t *w;       /* n_panels * 64 * kp bytes (the last panel only its nb blocks) */
    float *scale;    /* n_blocks * 16 row scales */
    int32_t *rowsum; /* n_blocks * 16 sums of each row's codes (AVX-512's u8 offset) */
} lq_i8_packed;

/* Packs rows x cols weights stored as I8_CH rows (4 + cols bytes each). A
 * code -128 (outside the contract) is read as -127. NULL when out of memory
 * or the shape is out of range (rows < 1, cols < 1 or cols > LQ_I8_MAX_K). */
lq_i8_packed *lq_i8_pack(const void *i8ch_rows, int rows, int cols);
void lq_i8_pack_free(lq_i8_packed *p);

/* Byte index of weight (n, k) in p->w. */
static inline size_t lq_i8_packed_index(const lq_i8_packed *p, int n, int k) {
    const int panel = n / 64, nb = p->n_blocks - 4 * panel < 4 ? p->n_blocks - 4 * panel : 4;
    return (size_t)panel * 64 * (size_t)p->kp + ((size_t)(k / 4) * (size_t)nb + (size_t)(n / 16 % 4)) * 64 +
           (size_t)(n % 16) * 4 + (size_t)(k % 4);
}

/* Quantized activations: rows x cols codes, row stride kp (zero padding). */
typedef struct lq_i8_act {
    int rows, cols, kp;
    int8_t *q;     /* rows * kp */
    float *scale;  /* rows */
} lq_i8_act;

bool lq_i8_act_alloc(lq_i8_act *a, int rows, int cols);
void lq_i8_act_free(lq_i8_act *a);

/* Per-row dynamic quantization of X (rows x cols floats, row-major):
 *     scale = max|x| / 127, q = nearbyint(x * (1 / scale)) clamped to
 *     [-127, 127] (round half to even); an all-zero row gets scale 0 and
 *     zero codes. NaN inputs are skipped by the max and become 0. */
void lq_i8_quant_dynamic(lq_i8_act *a, const float *X);
/* Static: every row gets the given scale (> 0), q = nearbyint(x * (1 /
 * scale)) clamped to [-127, 127]; scale <= 0 gives zero codes and scale 0. */
void lq_i8_quant_static(lq_i8_act *a, const float *X, float scale);

/* Y (X->rows x W->rows floats, row-major) = the product above; bias may be
 * NULL. n_threads <= 0: all cores. Path: LLMQ_ISA / CPUID through
 * lq_kernels_get()->level, AVX-512 only with VNNI. false when the shapes
 * disagree or out of memory. */
bool lq_i8_gemm(float *Y, const lq_i8_act *X, const lq_i8_packed *W, const float *bias, int n_threads);

/* The same on one path: isa 0 ref, 1 AVX2, 2 AVX-512 VNNI (false when the
 * CPU lacks it). acc, when not NULL, receives the exact int32 products
 * (X->rows x W->rows). */
bool lq_i8_gemm_isa(int isa, float *Y, int32_t *acc, const lq_i8_act *X, const lq_i8_packed *W,
                    const float *bias, int n_threads);
bool lq_i8_isa_available(int isa);
/* The path lq_i8_gemm takes (0, 1 or 2). */
int lq_i8_isa(void);

/* ---- internals shared by i8mm.c and the per-ISA files */

/* One call's operands. xu: AVX-512 only, the codes offset to unsigned
 * (x + 128) and interleaved by blocks of LQ_I8_XROWS rows, so that a row
 * block's 4-byte groups follow each other in one stream:
 *     byte of (t, k) = (t / 6) * 6 * kp + (k / 4) * 24 + (t % 6) * 4 + k % 4
 * (rows past the last are not written nor read). */
typedef struct lq_i8_job {
    float *Y;
    int32_t *acc;
    const lq_i8_act *X;
    const uint8_t *xu;
    const lq_i8_packed *W;
    const float *bias;
} lq_i8_job;

enum { LQ_I8_XROWS = 6 };

/* Rows of X per work item: the tile functions keep a LQ_I8_MC x 64 int32
 * block of sums. */
enum { LQ_I8_MC = 96 }; /* a multiple of LQ_I8_XROWS */

/* Outputs of rows [t0, t1) (t1 - t0 <= LQ_I8_MC) and the columns of panel p. */
typedef void (*lq_i8_tile_fn)(const lq_i8_job *job, int t0, int t1, int p);
void lq_i8_tile_ref(const lq_i8_job *job, int t0, int t1, int p);
void lq_i8_tile_avx2(const lq_i8_job *job, int t0, int t1, int p);
void lq_i8_tile_avx512(const lq_i8_job *job, int t0, int t1, int p);

#endif
