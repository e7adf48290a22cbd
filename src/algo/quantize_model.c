/* llmq_model_quantize: the request (mix or type, overrides, method,
 * calibration, importance matrix) turned into save options, then the writer
 * (rtn and hqq matrix by matrix, gptq and awq block by block). */
#include "algo/imatrix_file.h"
#include "algo/layerwise.h"
#include "algo/observer.h"
#include "algo/w8a8_llama.h"
#include "quant/types_llmq.h"
#include "algo/presets.h"
#include "algo/rtn.h"
#include "algo/type_rules.h"
#include "model/model_save_internal.h"
#include "quant/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

llmq_quantize_params llmq_quantize_default_params(void) {
    llmq_quantize_params p = {.type = "Q8_0", .method = "rtn", .calib_tokens = 128 * 512, .calib_ctx = 512,
                              .gptq_damp = 0.01f};
    return p;
}

/* "--type Q4_K_M --pure --tensor-type 'attn_v=Q6_K' --method gptq ...", as the request was given */
static char *options_string(const llmq_quantize_params *qp, const char *method, const lq_layerwise_opts *lo) {
    const char *type = qp->type ? qp->type : "I8_CH";
    size_t cap = 256 + strlen(type) + (qp->imatrix_path ? strlen(qp->imatrix_path) : 0);
    for (int i = 0; i < qp->n_tensor_types; i++) cap += 20 + strlen(qp->tensor_types[i]);
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t n = (size_t)snprintf(s, cap, "--type %s%s --method %s", type, qp->pure ? " --pure" : "", method);
    if (qp->scheme) {
        n += (size_t)snprintf(s + n, cap - n, " --scheme %s", qp->scheme);
        if (qp->observer) n += (size_t)snprintf(s + n, cap - n, " --observer %s", qp->observer);
        if (qp->smooth_alpha > 0) n += (size_t)snprintf(s + n, cap - n, " --smooth %g", (double)qp->smooth_alpha);
        if (qp->outlier_threshold > 0)
            n += (size_t)snprintf(s + n, cap - n, " --outlier-threshold %g", (double)qp->outlier_threshold);
    }
    for (int i = 0; i < qp->n_tensor_types; i++)
        n += (size_t)snprintf(s + n, cap - n, " --tensor-type '%s'", qp->tensor_types[i]);
    if (qp->imatrix_path) n += (size_t)snprintf(s + n, cap - n, " --imatrix '%s'", qp->imatrix_path);
    if (lo)
        n += (size_t)snprintf(s + n, cap - n, " --calib-tokens %d --calib-ctx %d%s", lo->n_seq * lo->ctx, lo->ctx,
                              lo->float_inputs ? " --calib-float-inputs" : "");
    if (lo && lo->method == LQ_METHOD_GPTQ)
        snprintf(s + n, cap - n, " --gptq-damp %g%s", (double)lo->mp.gptq_damp, lo->mp.gptq_act_order ? " --act-order" : "");
    return s;
}

// importance of a tensor from the imatrix file, when its length fits
static const float *imatrix_lookup(void *user, const char *name, int64_t cols) {
    const lq_imatrix_entry *en = lq_imatrix_find(user, name);
    return en && en->n_values == cols ? en->values : NULL;
}


// --scheme: INT8 per-channel weights everywhere and the activation options
static llmq_status w8a8_options(const llmq_quantize_params *qp, uint32_t *type, lq_w8a8_opts *w8, lq_err *e) {
    bool dynamic = !strcmp(qp->scheme, "dynamic-int8");
    LQ_CHECK(dynamic || !strcmp(qp->scheme, "static-int8"), e, LLMQ_ERR_ARG,
             "unknown scheme '%s' (schemes: dynamic-int8 static-int8)", qp->scheme);
    LQ_CHECK(!qp->type || !strcmp(qp->type, "I8_CH") || !strcmp(qp->type, "i8_ch"), e, LLMQ_ERR_ARG,
             "--scheme quantizes weights to I8_CH; --type %s does not go with it", qp->type);
    lq_observer_kind obs = LQ_OBS_MINMAX;
    LQ_CHECK(!qp->observer || lq_observer_from_name(qp->observer, &obs), e, LLMQ_ERR_ARG,
             "unknown observer '%s' (observers: minmax ema percentile mse kl)", qp->observer);
    LQ_CHECK(dynamic || qp->calib_text, e, LLMQ_ERR_ARG, "static-int8 needs calibration text");
    LQ_CHECK(qp->smooth_alpha <= 0 || qp->calib_text, e, LLMQ_ERR_ARG, "SmoothQuant needs calibration text");
    *type = LQ_TYPE_I8_CH;
    *w8 = (lq_w8a8_opts){dynamic, obs, qp->smooth_alpha, qp->outlier_threshold, qp->calib_text, qp->calib_len,
                         qp->calib_tokens > 0 ? qp->calib_tokens : 128 * 512, qp->calib_ctx > 0 ? qp->calib_ctx : 512};
    return LLMQ_OK;
}

static llmq_status layerwise_weights(lq_gguf_writer *w, llmq_model *m, const void *ctx, save_opts *o) {
    return lq_layerwise_add_weights(w, m, ctx, o);
}

static llmq_status pick_type(const llmq_model *m, const llmq_quantize_params *qp, const lq_preset **preset,
                             uint32_t *type, lq_err *e) {
    /* llama-quantize's mixes are tuned on decoders: an encoder gets the mix's base type everywhere */
    const lq_preset *mix = qp->type ? lq_preset_find(qp->type) : NULL;
    *preset = qp->pure || m->bert ? NULL : mix;
    LQ_CHECK(!*preset || !(*preset)->needs_imatrix || qp->imatrix_path || qp->calib_text, e, LLMQ_ERR_UNSUPPORTED,
             "the %s mix needs an importance matrix, as in llama-quantize (--imatrix FILE or --calib TEXT)",
             (*preset)->name);
    if (mix) *type = mix->base;
    else
        LQ_CHECK(qp->type && lq_rtn_type_from_name(qp->type, type), e, LLMQ_ERR_ARG,
                 "unknown or unsupported type '%s' (mixes: Q2_K Q2_K_S Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S "
                 "Q5_K_M Q6_K Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL; types: those, Q4_K, Q5_K, Q3_K, F16, BF16, F32, "
                 "llmq formats)",
                 qp->type ? qp->type : "(null)");
    return LLMQ_OK;
}

llmq_status llmq_model_quantize(llmq_model *m, const char *path, llmq_quantize_params *p, llmq_error *err) {
    llmq_quantize_params def = llmq_quantize_default_params(), *qp = p ? p : &def;
    LQ_CHECK(m->llama || m->bert, err, LLMQ_ERR_UNSUPPORTED, "only llama and bert models can be quantized");
    lq_method method = LQ_METHOD_RTN;
    LQ_CHECK(!qp->method || lq_method_from_name(qp->method, &method), err, LLMQ_ERR_ARG,
             "unknown method '%s' (methods: rtn imatrix gptq awq hqq)", qp->method);
    /* calibrated methods without calibration text: the calibration-free one */
    if (lq_method_needs_calib(method) && !qp->calib_text) method = LQ_METHOD_HQQ;
    LQ_CHECK(!qp->calib_text || m->llama || qp->scheme, err, LLMQ_ERR_UNSUPPORTED,
             "calibration of a BERT encoder is for --scheme static-int8 and --smooth only");
    const lq_preset *preset = NULL;
    uint32_t type = LQ_TYPE_I8_CH;
    if (!qp->scheme) LQ_TRY(pick_type(m, qp, &preset, &type, err));
    lq_imatrix *imx = NULL;
    if (qp->imatrix_path) LQ_TRY(lq_imatrix_load(qp->imatrix_path, &imx, err));
    lq_w8a8_opts w8 = {0};
    if (qp->scheme) LQ_TRY(w8a8_options(qp, &type, &w8, err));
    bool layerwise = m->llama && qp->calib_text && method != LQ_METHOD_HQQ && !qp->scheme;
    LQ_CHECK(method != LQ_METHOD_IMATRIX || imx || layerwise || qp->calib_text, err, LLMQ_ERR_ARG,
             "--method imatrix needs --imatrix FILE or --calib TEXT");
    lq_preset_state ps = {preset, 0, 1, false, 0, 0, false};
    if (preset) {
        const lq_llama_hparams *hp = lq_llama_hparams_of(m->llama);
        /* importance data (an imatrix file, or calibration for a method that
         * weights by it) changes llama-quantize's choices as it would */
        bool has_imatrix = imx || (qp->calib_text && method != LQ_METHOD_HQQ && !qp->scheme);
        ps = (lq_preset_state){preset, hp->n_layer, hp->n_head / hp->n_head_kv, lq_llama_tied(m->llama), 0, 0,
                               has_imatrix};
    }
    lq_layerwise_opts lo = {method, lq_wmethod_default_params(), lq_awq_default_params(), NULL, 0, 0,
                            qp->calib_float_inputs};
    lo.mp.gptq_damp = qp->gptq_damp > 0 ? qp->gptq_damp : 0.01f;
    lo.mp.gptq_act_order = qp->gptq_act_order;
    int32_t *toks = NULL;
    lq_type_rules *rules = NULL;
    char *options = NULL;
    llmq_status st = layerwise ? lq_calib_tokens(m, qp->calib_text, qp->calib_len, qp->calib_tokens, qp->calib_ctx, &toks,
                                                  &lo.n_seq, &lo.ctx, err)
                                : LLMQ_OK;
    lo.tokens = toks;
    if (st == LLMQ_OK) st = lq_type_rules_parse(qp->tensor_types, qp->n_tensor_types, &rules, err);
    if (st == LLMQ_OK && !(options = options_string(qp, lq_method_name(method), layerwise ? &lo : NULL)))
        st = lq_fail(err, LLMQ_ERR_NOMEM, "out of memory");
    /* tensors outside the blocks (embeddings) have no calibration statistics:
     * the layer-by-layer methods round them to nearest */
    if (st == LLMQ_OK) {
        save_opts o = {.type = type, .n_threads = qp->n_threads > 0 ? qp->n_threads : m->n_threads,
                       .fnv = LQ_FNV_OFFSET, .e = err, .rules = rules, .preset = preset ? &ps : NULL,
                       .file_type = preset ? (uint32_t)preset->ftype : lq_pure_file_type(type),
                       .progress = qp->progress, .user = qp->user, .options = options,
                       .method = lq_method_name(method), .imp = imx ? imatrix_lookup : NULL, .imp_user = imx,
                       .qmethod = layerwise ? LQ_METHOD_RTN : method, .tensor_done = qp->tensor_done,
                       .add_weights = layerwise ? layerwise_weights : NULL, .add_weights_ctx = &lo,
                       .w8a8 = qp->scheme ? &w8 : NULL};
        if (qp->scheme && m->llama) o.add_weights = lq_w8a8_llama_weights;
        st = lq_save_model(m, path, &o);
        qp->n_fallback = o.n_fallback;
    }
    qp->method_used = lq_method_name(method);
    free(toks);
    lq_type_rules_free(rules);
    free(options);
    lq_imatrix_free(imx);
    return st;
}
