/* What the GGUF writer needs for a W8A8 BERT file: the weights to write (a
 * copy, SmoothQuant applied), and per layer and linear input the static
 * activation scale and the SmoothQuant input factors. Built by running the
 * float encoder over calibration sentences (model_save_bert_w8a8.c). */
#ifndef LQ_BERT_W8A8_H
#define LQ_BERT_W8A8_H

#include "model/bert_internal.h"
#include "model/model_save_internal.h"

typedef struct lq_bert_w8a8_plan {
    lq_bert *b;         /* the weights to write: a copy of the model's, smoothed */
    float *act_scale;   /* n_layer * LQ_BERT_N_IN: threshold / 127, 0 = dynamic */
    float **smooth_inv; /* n_layer * LQ_BERT_N_IN: 1/s per input channel, or NULL */
    int n_sentences;    /* calibration sentences used */
} lq_bert_w8a8_plan;

/* Sentences: one per line of q->calib_text (empty lines skipped), each cut
 * to LQ_BERT_CALIB_TOKENS tokens; none needed for dynamic without --smooth. */
enum { LQ_BERT_CALIB_TOKENS = 128, LQ_BERT_CALIB_BATCH = 8 };

llmq_status lq_bert_w8a8_plan_make(const llmq_model *m, const lq_w8a8_opts *q, int n_threads, lq_bert_w8a8_plan *p,
                                   lq_err *e);
void lq_bert_w8a8_plan_free(lq_bert_w8a8_plan *p);

#endif
