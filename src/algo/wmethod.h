/* The weight-quantization methods behind `llmq quantize --method`: one entry
 * point that turns a float matrix into rows of a type, given what
 * calibration measured about the matrix's input (nothing, the importance
 * vector, the Hessian). Every algorithm writes through here. */
#ifndef LQ_ALGO_WMETHOD_H
#define LQ_ALGO_WMETHOD_H

#include "core/lq.h"

typedef enum lq_method {
    LQ_METHOD_RTN,     /* round to nearest (importance-weighted scale search when an imatrix is given) */
    LQ_METHOD_IMATRIX, /* rtn with the importance matrix, which it requires */
    LQ_METHOD_GPTQ,    /* Hessian error feedback; needs calibration */
    LQ_METHOD_AWQ,     /* activation-aware scales and clipping (applied by the layer driver), then rtn */
    LQ_METHOD_HQQ,     /* half-quadratic zero-point optimization; calibration-free */
} lq_method;

bool lq_method_from_name(const char *name, lq_method *m);
const char *lq_method_name(lq_method m);
/* Whether the method runs the model over calibration text. */
bool lq_method_needs_calib(lq_method m);

/* What is known of a matrix's input; any field may be NULL. */
typedef struct lq_wstats {
    const float *imp; /* (cols) mean x^2 per input column (the importance matrix) */
    const float *H;   /* (cols, cols) sum x x^T over calibration tokens */
} lq_wstats;

/* Knobs of the methods that have them. */
typedef struct lq_wmethod_params {
    float gptq_damp;     /* fraction of mean diag(H) added to the diagonal (0.01) */
    int gptq_block;      /* lazy-batch columns (128) */
    bool gptq_act_order; /* columns by descending diag(H) */
} lq_wmethod_params;

lq_wmethod_params lq_wmethod_default_params(void);

/* W (rows, cols) -> rows of type in out. When the method cannot write type
 * (HQQ on a symmetric format, GPTQ without a Hessian) the matrix is rounded
 * to nearest instead, importance-weighted when s->imp is given, and
 * *fell_back (may be NULL) is set. The bytes do not depend on n_threads. */
llmq_status lq_wmethod_quantize(lq_method m, const lq_wmethod_params *p, const float *W, int64_t rows, int64_t cols,
                                uint32_t type, const lq_wstats *s, void *out, int n_threads, bool *fell_back,
                                lq_err *e);

/* Relative error of a quantized matrix, sum imp_c (W - Q)^2 / sum imp_c W^2
 * (imp NULL: all ones), from its rows of type in q. */
double lq_wmethod_rel_error(const float *W, int64_t rows, int64_t cols, uint32_t type, const void *q,
                            const float *imp);

#endif
