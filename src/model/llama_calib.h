/* Calibration of a llama decoder, one block at a time (GPTQ, AWQ, imatrix).
 *
 * The state holds the hidden states X (n_seq*ctx, C) of a batch of n_seq
 * independent sequences of ctx tokens at one block boundary. For block l it
 * gathers statistics of the inputs of the block's linear layers (points
 * LQ_POINT_ATTN_IN .. LQ_POINT_FFN_MID of llama_internal.h) and moves X past
 * the block, each time with the layer's weights as they are at that moment:
 * a caller that swaps a quantized lq_qweight into the model's layer before
 * advancing propagates quantized inputs (GPTQ); one that advances first, or
 * asks for LQ_CALIB_ADVANCE with the statistics, propagates float inputs.
 *
 * Sequences run from position 0 with causal attention inside each one. The
 * block runs over fixed chunks of sequences, so temporaries stay small and
 * every result is bit-identical at any thread count. */
#ifndef LQ_LLAMA_CALIB_H
#define LQ_LLAMA_CALIB_H

#include "model/llama_internal.h"

typedef struct lq_calib lq_calib;

/* What lq_calib_block_stats gathers besides n and sum_x2. */
enum {
    LQ_CALIB_HESSIAN = 1u << 0, /* H = sum x x^T */
    LQ_CALIB_SAMPLE = 1u << 1,  /* evenly spaced rows of x */
    LQ_CALIB_ADVANCE = 1u << 2, /* also X <- block(X) in the same pass */
};

typedef struct lq_calib_stats {
    int cols;
    int64_t n;       /* tokens seen */
    double *sum_x2;  /* (cols) sum of x^2: the importance matrix is sum_x2 / n */
    float *H;        /* (cols, cols) sum of x x^T, symmetric; NULL unless asked */
    float *sample;   /* (n_sample, cols): tokens 0, k, 2k, ... of the batch; NULL unless asked */
    int n_sample;
} lq_calib_stats;

/* Embeds tokens (n_seq x ctx, row-major) into X: the input of block 0.
 * m's weights must stay alive and its layers are not modified. */
llmq_status lq_calib_open(lq_llama *m, const int32_t *tokens, int n_seq, int ctx, int n_threads, lq_calib **out,
                          lq_err *e);
void lq_calib_free(lq_calib *c);

/* Rows kept by LQ_CALIB_SAMPLE (default 512; at most n_seq*ctx). */
void lq_calib_set_max_sample(lq_calib *c, int max_rows);
/* The block X now enters (n_layer once every block was advanced). */
int lq_calib_next_layer(const lq_calib *c);
/* X (n_seq*ctx, C), sequence after sequence. */
const float *lq_calib_x(const lq_calib *c);
int lq_calib_rows(const lq_calib *c);

/* Runs block `layer` (must be lq_calib_next_layer) over X and fills
 * out[LQ_POINT_COUNT] (free each with lq_calib_stats_free). X is unchanged
 * unless want has LQ_CALIB_ADVANCE. */
llmq_status lq_calib_block_stats(lq_calib *c, int layer, unsigned want, lq_calib_stats out[LQ_POINT_COUNT],
                                 lq_err *e);
/* Called once point p's statistics (st) are complete, before any later
 * point's are gathered: quantize the layers reading p and put them into the
 * model's layer, so that the later points see their output. */
typedef llmq_status (*lq_calib_point_fn)(void *user, int point, const lq_calib_stats *st, lq_err *e);
/* Block `layer` quantized in order (GPTQ's "true sequential"): the inputs of
 * each point are gathered from X through the layers quantized so far, then
 * at_point quantizes the layers reading it, and finally X moves past the
 * whole quantized block. One pass of the block's arithmetic in all, where
 * lq_calib_block_stats + lq_calib_block_advance take two. want must not
 * have LQ_CALIB_ADVANCE. On failure out[] is freed. */
llmq_status lq_calib_block_sequential(lq_calib *c, int layer, unsigned want, lq_calib_stats out[LQ_POINT_COUNT],
                                      lq_calib_point_fn at_point, void *user, lq_err *e);
/* X <- block(X) with the layer's current weights. */
llmq_status lq_calib_block_advance(lq_calib *c, int layer, lq_err *e);
/* Statistics of the output head's input, output_norm(X); every block must
 * have been advanced. */
llmq_status lq_calib_final_stats(lq_calib *c, unsigned want, lq_calib_stats *out, lq_err *e);

/* Frees the arrays (the struct itself is the caller's). */
void lq_calib_stats_free(lq_calib_stats *s);

#endif
