/* Turning a loaded decoder's I8_CH matrices into W8A8 layers. */
#include "model/llama_internal.h"

#include "kernels/w8a8.h"
#include "quant/types_llmq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The one value of tensor `name`, or 0 when absent (dynamic scale)
static llmq_status act_scale(const lq_tensor *tensors, size_t n, const char *name, float *out, lq_err *e) {
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(tensors[i].name, name) != 0) continue;
        LQ_CHECK(tensors[i].type == LQ_TYPE_F32 && tensors[i].nbytes == sizeof(float), e, LLMQ_ERR_FORMAT,
                 "'%s' must hold one F32 value", name);
        memcpy(out, tensors[i].data, sizeof(float));
        LQ_CHECK(*out > 0 && *out < 1e30f, e, LLMQ_ERR_FORMAT, "'%s' is not a positive scale", name);
        return LLMQ_OK;
    }
    return LLMQ_OK;
}

static llmq_status enable(lq_qweight *w, const char *weight, const lq_tensor *tensors, size_t n, float outlier,
                          lq_err *e) {
    if (w->type != LQ_TYPE_I8_CH) return LLMQ_OK;
    char name[96];
    snprintf(name, sizeof name, "%s.act_scale", weight);
    float s;
    LQ_TRY(act_scale(tensors, n, name, &s, e));
    w->w8 = malloc(sizeof *w->w8);
    LQ_CHECK(w->w8 && lq_w8a8_init(w->w8, w->data, w->rows, w->cols), e, LLMQ_ERR_NOMEM,
             "out of memory packing %s", weight);
    w->w8->act_scale = s;
    w->w8->outlier_threshold = outlier;
    return LLMQ_OK;
}

llmq_status lq_llama_enable_w8a8(lq_llama *m, const lq_tensor *tensors, size_t n, float outlier_threshold,
                                 lq_err *e) {
    static const char *const names[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    for (int l = 0; l < m->hp.n_layer; l++) {
        lq_llama_layer *L = &m->layers[l];
        lq_qweight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++) {
            char name[64];
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, names[i]);
            LQ_TRY(enable(ws[i], name, tensors, n, outlier_threshold, e));
        }
    }
    LQ_TRY(enable(&m->output, m->tied ? "token_embd.weight" : "output.weight", tensors, n, outlier_threshold, e));
    m->w8a8 = true;
    return LLMQ_OK;
}
