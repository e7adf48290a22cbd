/* The Hugging Face weight layout gives the same network as the GGUF one:
 * stories260K's tensors are renamed to HF names and their Q/K rows permuted
 * the way HF stores them (rotate-half RoPE); both models must produce the
 * same logits. Also checks decode in one batch == decode token by token. */
#include "io/llama2c.h"
#include "io/mapfile.h"
#include "model/llama.h"
#include "hf_layout.h"
#include "test.h"

#include <stdio.h>

int main(void) {
    lq_mapfile mf;
    lq_err e = {0};
    if (lq_map_open(SHARED_PATH("models/stories260K/stories260K.bin"), &mf, &e) != LLMQ_OK) {
        CHECK_MSG(0, "%s", e.msg);
        TEST_END();
    }
    lq_llama2c *c = NULL;
    CHECK(lq_llama2c_parse(mf.data, mf.len, &c, &e) == LLMQ_OK);
    lq_llama_hparams hp = {c->vocab_size, c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->hidden_dim, c->seq_len,
                           1e-5f, 10000.0f};
    int hd = c->dim / c->n_heads;
    lq_tensor *hf = calloc((size_t)c->n_tensors, sizeof *hf);
    char (*names)[96] = calloc((size_t)c->n_tensors, sizeof *names);
    float *owned[64] = {0};
    int n_owned = 0;
    for (int i = 0; i < c->n_tensors; i++) {
        hf[i] = c->tensors[i];
        hf_name(c->tensors[i].name, names[i], sizeof names[i]);
        hf[i].name = names[i];
        bool q = strstr(c->tensors[i].name, "attn_q") != NULL, k = strstr(c->tensors[i].name, "attn_k") != NULL;
        if ((q || k) && n_owned < 64) {
            float *p = permute_to_hf(c->tensors[i].data, q ? c->n_heads : c->n_kv_heads, hd, c->dim);
            hf[i].data = owned[n_owned++] = p;
        }
    }
    lq_llama *a = NULL, *b = NULL;
    CHECK(lq_llama_load(&hp, c->tensors, (size_t)c->n_tensors, LQ_LAYOUT_GGUF, NULL, &a, &e) == LLMQ_OK);
    CHECK(lq_llama_load(&hp, hf, (size_t)c->n_tensors, LQ_LAYOUT_HF, NULL, &b, &e) == LLMQ_OK);
    if (a && b) {
        int32_t toks[6] = {1, 403, 407, 261, 378, 434};
        int V = hp.n_vocab;
        float *la = malloc(6 * (size_t)V * sizeof *la), *lb = malloc(6 * (size_t)V * sizeof *lb);
        float *step = malloc((size_t)V * sizeof *step);
        CHECK(lq_llama_decode(a, toks, 6, 0, la, 6, &e) == LLMQ_OK);
        CHECK(lq_llama_decode(b, toks, 6, 0, lb, 6, &e) == LLMQ_OK);
        double d_layout = 0, d_step = 0;
        for (int i = 0; i < 6 * V; i++) d_layout = fmax(d_layout, fabs(la[i] - lb[i]));
        for (int t = 0; t < 6; t++) {
            CHECK(lq_llama_decode(a, &toks[t], 1, t, step, 1, &e) == LLMQ_OK);
            for (int i = 0; i < V; i++) d_step = fmax(d_step, fabs(step[i] - la[(size_t)t * V + i]));
        }
        CHECK_MSG(d_layout < 1e-4, "HF layout logits differ by %g", d_layout);
        CHECK_MSG(d_step < 1e-3, "token-by-token logits differ from the batch by %g", d_step);
        printf("max |logit difference|: HF vs GGUF layout %.3g, batch vs one-by-one %.3g\n", d_layout, d_step);
        free(la), free(lb), free(step);
    }
    lq_llama_free(a);
    lq_llama_free(b);
    for (int i = 0; i < n_owned; i++) free(owned[i]);
    free(hf);
    free(names);
    lq_llama2c_free(c);
    lq_map_close(&mf);
    TEST_END();
}
