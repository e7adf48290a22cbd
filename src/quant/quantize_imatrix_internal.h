/* Shared pieces of the importance-weighted quantizers (quantize_imatrix_*.c):
 * ggml's weighted scale searches, operation for operation, and the per-row
 * entry points of each file. */
#ifndef LQ_QUANT_QUANTIZE_IMATRIX_INTERNAL_H
#define LQ_QUANT_QUANTIZE_IMATRIX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ggml's GROUP_MAX_EPS */
#define IMQ_GROUP_MAX_EPS 1e-15f

/* ggml's nearest_int: round to nearest even via the 1.5*2^23 trick. */
static inline int imq_nearest_int(float v)
{
    float val = v + 12582912.f;
    int i;
    memcpy(&i, &val, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

static inline int imq_min_i(int a, int b) { return a < b ? a : b; }
static inline int imq_max_i(int a, int b) { return a > b ? a : b; }

/* make_qx_quants(n, nmax, x, L, rmse_type 1, qw) with weights qw: symmetric
 * levels in [-nmax, nmax-1] (L gets l + nmax), best of 19 trial scales. */
float imq_make_qx_quants(int n, int nmax, const float *x, int8_t *L, const float *qw);

/* make_qkx3_quants with weights: asymmetric levels in [0, nmax], weighted
 * least-squares scale and min per trial scale. *the_min gets -min. */
/* Weighted error of levels L under scale and min: sum w_i |diff_i| (use_mad)
 * or sum w_i diff_i^2, diff_i = scale L_i + min - x_i (quantize_kquants.c). */
float lq_quant_fit_error(int n, const float *x, const float *w, const uint8_t *L, float scale, float min,
                         bool use_mad);

float imq_make_qkx3_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                           uint8_t *Laux, float rmin, float rdelta, int nstep);

/* make_qp_quants: non-negative levels in [0, nmax] for non-negative x. */
float imq_make_qp_quants(int n, int nmax, const float *x, uint8_t *L, const float *quant_weights);

/* Per-row quantizers with an importance matrix (qw: n floats). */
void imq_q4_0_row(const float *x, void *y, int64_t n, const float *qw);
void imq_q4_1_row(const float *x, void *y, int64_t n, const float *qw);
void imq_q5_0_row(const float *x, void *y, int64_t n, const float *qw);
void imq_q5_1_row(const float *x, void *y, int64_t n, const float *qw);
void imq_iq4_nl_row(const float *x, void *y, int64_t n, const float *qw);
void imq_q2_k_row(const float *x, void *y, int64_t n, const float *qw);
void imq_q3_k_row(const float *x, void *y, int64_t n, const float *qw);
void imq_q4_k_row(const float *x, void *y, int64_t n, const float *qw);
void imq_q5_k_row(const float *x, void *y, int64_t n, const float *qw);
void imq_q6_k_row(const float *x, void *y, int64_t n, const float *qw);
/* llmq formats (quantize_imatrix_llmq.c); type selects the format. */
void imq_llmq_row(uint32_t type, const float *x, void *y, int64_t n, const float *qw);

#endif
