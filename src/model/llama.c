/* The llama forward pass: a batch of tokens through every layer, attention
 * over the KV cache, logits for the last rows. */
#include "model/llama_internal.h"
#include "model/llama_layers.h"

#include "kernels/matmul.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Grows every layer's K/V cache to hold at least need tokens. */
static llmq_status kv_reserve(lq_llama *m, int need, lq_err *e) {
    int limit = m->max_ctx > 0 ? m->max_ctx : m->hp.n_ctx_train;
    if (limit <= 0) limit = 4096;
    LQ_CHECK(need <= limit, e, LLMQ_ERR_BOUNDS, "context of %d tokens exceeds the limit of %d", need, limit);
    if (need <= m->kv_cap) return LLMQ_OK;
    int cap = m->kv_cap ? m->kv_cap : 256;
    while (cap < need) cap *= 2;
    if (cap > limit) cap = limit;
    int hd = m->hp.n_embd / m->hp.n_head;
    size_t row = lq_kv_token_bytes(m->kv_type, m->hp.n_head_kv, hd);
    for (int l = 0; l < m->hp.n_layer; l++) {
        lq_llama_layer *L = &m->layers[l];
        void *k = lq_alloc_aligned((size_t)cap * row), *v = lq_alloc_aligned((size_t)cap * row);
        if (!k || !v) {
            lq_free_aligned(k);
            lq_free_aligned(v);
            return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for the KV cache");
        }
        if (m->kv_cap) {
            memcpy(k, L->k_cache, (size_t)m->kv_cap * row);
            memcpy(v, L->v_cache, (size_t)m->kv_cap * row);
        }
        lq_free_aligned(L->k_cache);
        lq_free_aligned(L->v_cache);
        L->k_cache = k;
        L->v_cache = v;
    }
    m->kv_cap = cap;
    return LLMQ_OK;
}

enum { QB = 128 }; /* query rows per causal attention block */

/* attention() of one sequence by blocked BLAS products (heads shared out
 * among our threads with single-threaded BLAS: OpenBLAS threads would fight ours) */
static void attention_blas(float *out, const float *q, const float *Kc, const float *Vc, const lq_llama_hparams *hp,
                           int T, int pos, float *S, int nt) {
    int H = hp->n_head, hd = hp->n_embd / H, kvd = hd * hp->n_head_kv, C = hp->n_embd;
    int P = pos + T, group = H / hp->n_head_kv;
    float scale = 1.0f / sqrtf((float)hd);
    lq_blas_threads(1);
    #pragma omp parallel for num_threads(LQ_MIN(nt, H)) schedule(static)
    for (int h = 0; h < H; h++) {
        float *Sh = S + (size_t)omp_get_thread_num() * T * P;
        const float *K = Kc + (size_t)(h / group) * hd;
        const float *V = Vc + (size_t)(h / group) * hd;
        /* causal: query rows in blocks of QB, each against only the keys
         * it can see (0 .. pos + t1 - 1): ~5/8 of the full square at T = 512 */
        for (int t0 = 0; t0 < T; t0 += QB) {
            int tb = LQ_MIN(QB, T - t0), Pb = pos + t0 + tb;
            float *Sb = Sh + (size_t)t0 * P;
            // S (tb, Pb) = scale * Q_h (tb, hd) . K_h^T (hd, Pb)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tb, Pb, hd, scale, q + (size_t)t0 * C + (size_t)h * hd,
                        C, K, kvd, 0.0f, Sb, P);
            for (int t = 0; t < tb; t++) {
                float *row = Sb + (size_t)t * P;
                int valid = pos + t0 + t + 1; /* keys 0..pos+t0+t */
                lq_softmax_forward(row, valid);
                for (int j = valid; j < Pb; j++) row[j] = 0.0f;
            }
            // O_h (tb, hd) = S (tb, Pb) . V_h (Pb, hd)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tb, hd, Pb, 1.0f, Sb, P, V, kvd, 0.0f,
                        out + (size_t)t0 * C + (size_t)h * hd, C);
        }
    }
}

/* Causal attention of n_seq sequences of T new queries (positions
 * pos..pos+T-1) over P = pos+T keys each. Sequence s: q and out rows
 * [s*T, s*T+T) of (H*hd), K and V rows [s*P, s*P+P) of kvd (the KV cache,
 * or the sequences' own k and v); S scratch (T, P) per thread. */
static void attention(float *out, const float *q, const float *Kc, const float *Vc, const lq_llama_hparams *hp,
                      int n_seq, int T, int pos, float *S, int nt) {
    int H = hp->n_head, hd = hp->n_embd / H, kvd = hd * hp->n_head_kv, C = hp->n_embd;
    int P = pos + T, group = H / hp->n_head_kv;
    /* (sequence, head) pairs shared out among our threads, each with its own scratch */
    lq_attn_causal_fn causal = lq_kernels_get()->attn_causal;
    if (causal && lq_attn_causal_ok(hd)) {
        #pragma omp parallel for collapse(2) num_threads(LQ_MIN(nt, n_seq * H)) schedule(static)
        for (int s = 0; s < n_seq; s++)
            for (int h = 0; h < H; h++) {
                size_t qo = (size_t)s * T * C + (size_t)h * hd, ko = (size_t)s * P * kvd + (size_t)(h / group) * hd;
                causal(out + qo, q + qo, Kc + ko, Vc + ko, T, pos, hd, C, kvd,
                       S + (size_t)omp_get_thread_num() * lq_attn_causal_scratch(hd, P));
            }
        return;
    }
    for (int s = 0; s < n_seq; s++)
        attention_blas(out + (size_t)s * T * C, q + (size_t)s * T * C, Kc + (size_t)s * P * kvd,
                       Vc + (size_t)s * P * kvd, hp, T, pos, S, nt);
}

/* One token's chunked attention (attention.h) keeps in a->S, at these float
 * offsets: each thread's scratch, then per chunk and query head its output
 * (hd) and (max, sum), then (Q8 cache) the query rows quantized once. */
typedef struct chunk_layout {
    int n_chunks;
    size_t per_thread, o, ml, q, floats;
} chunk_layout;

static chunk_layout chunk_layout_of(const lq_llama_hparams *hp, int P, int nt) {
    const int hd = hp->n_embd / hp->n_head;
    chunk_layout c = {.n_chunks = (P + LQ_ATTN_CHUNK - 1) / LQ_ATTN_CHUNK,
                      .per_thread = lq_attn_part_scratch(LQ_MIN(P, LQ_ATTN_CHUNK))};
    c.o = (size_t)LQ_MAX(nt, 1) * c.per_thread;
    c.ml = c.o + (size_t)c.n_chunks * hp->n_head * hd;
    c.q = c.ml + (size_t)c.n_chunks * hp->n_head * 2;
    c.floats = c.q + (size_t)hp->n_head * lq_kv_q8_bytes(hd) / sizeof(float); /* (a multiple of 4 bytes) */
    return c;
}

void lq_llama_acts_free(lq_llama_acts *a) {
    void *ps[] = {a->x, a->xb, a->q, a->k, a->v, a->att, a->g, a->u, a->S, a->kf, a->vf,
                  a->xq.slot[0], a->xq.slot[1], a->xq.slot[2], a->xq.slot[3], a->mm};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) lq_free_aligned(ps[i]);
    memset(a, 0, sizeof *a);
}

llmq_status lq_llama_acts_alloc(lq_llama_acts *a, const lq_llama_hparams *hp, int rows, int T_attn, int P, int nt,
                                lq_err *e) {
    size_t T = (size_t)rows, C = hp->n_embd, F = hp->n_ff, kvd = C / hp->n_head * hp->n_head_kv;
    memset(a, 0, sizeof *a);
    a->x = lq_alloc_aligned(T * C * 4);
    a->xb = lq_alloc_aligned(T * C * 4);
    a->q = lq_alloc_aligned(T * C * 4);
    a->k = lq_alloc_aligned(T * kvd * 4);
    a->v = lq_alloc_aligned(T * kvd * 4);
    a->att = lq_alloc_aligned(T * C * 4);
    a->g = lq_alloc_aligned(T * F * 4);
    a->u = lq_alloc_aligned(T * F * 4);
    a->mm = lq_alloc_aligned(lq_qmatmul_scratch_bytes((int)LQ_MAX(C, F), nt));
    bool xq_ok = a->mm != NULL;
    for (int i = 0; i < LQ_QACT_SLOTS; i++)
        xq_ok &= (a->xq.slot[i] = lq_alloc_aligned(lq_qact_slot_bytes((int)LQ_MAX(C, F)))) != NULL;
    /* (T, P) per thread for prompts, or (H, P) for one token */
    size_t s_floats = LQ_MAX((size_t)T_attn * nt, (size_t)hp->n_head) * P;
    /* or the causal kernel's transposed keys and score rows, per thread */
    s_floats = LQ_MAX(s_floats, (size_t)LQ_MAX(nt, 1) * lq_attn_causal_scratch((int)(C / hp->n_head), P));
    /* or one token's chunked attention */
    s_floats = LQ_MAX(s_floats, chunk_layout_of(hp, P, nt).floats);
    a->S = lq_alloc_aligned(s_floats * 4);
    if (!a->x || !a->xb || !a->q || !a->k || !a->v || !a->att || !a->g || !a->u || !a->S || !xq_ok) {
        lq_llama_acts_free(a);
        return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for activations");
    }
    return LLMQ_OK;
}

/* Rotates q and k, then attends: either at pos over the layer's KV cache
 * (the new k, v appended to it), or each of r->n_seq sequences over its own
 * rows from position 0. */
static void attend(lq_llama *m, lq_llama_layer *L, lq_llama_acts *a, const lq_llama_run *r) {
    const lq_llama_hparams *hp = &m->hp;
    int C = hp->n_embd, hd = C / hp->n_head, T = r->T, nt = r->n_threads;
    if (r->use_cache) {
        lq_rope_qk_forward(a->q, a->k, 1, T, hp->n_head, hp->n_head_kv, hd, r->pos, hp->rope_theta, nt);
        lq_kv_write(m->kv_type, L->k_cache, r->pos, a->k, T, hp->n_head_kv, hd);
        lq_kv_write(m->kv_type, L->v_cache, r->pos, a->v, T, hp->n_head_kv, hd);
        if (m->kv_type == LLMQ_KV_F32) {
            attention(a->att, a->q, L->k_cache, L->v_cache, hp, 1, T, r->pos, a->S, nt);
            return;
        }
        /* the new rows as stored, so that the prompt sees what generation will */
        int P = r->pos + T;
        lq_kv_read(m->kv_type, L->k_cache, P, a->kf, hp->n_head_kv, hd);
        lq_kv_read(m->kv_type, L->v_cache, P, a->vf, hp->n_head_kv, hd);
        attention(a->att, a->q, a->kf, a->vf, hp, 1, T, r->pos, a->S, nt);
        return;
    }
    /* independent sequences from position 0, each over its own keys */
    lq_rope_qk_forward(a->q, a->k, r->n_seq, T, hp->n_head, hp->n_head_kv, hd, 0, hp->rope_theta, nt);
    attention(a->att, a->q, a->k, a->v, hp, r->n_seq, T, 0, a->S, nt);
}

void lq_llama_block_stages(lq_llama *m, int l, lq_llama_acts *a, const lq_llama_run *r, int first, int last) {
    const lq_llama_hparams *hp = &m->hp;
    lq_llama_layer *L = &m->layers[l];
    int C = hp->n_embd, F = hp->n_ff, nt = r->n_threads, n = r->n_seq * r->T;
    for (int s = first; s <= last; s++) {
        switch (s) {
        case LQ_STAGE_ATTN_NORM:
            lq_rmsnorm_forward(a->xb, a->x, L->attn_norm, n, C, hp->norm_eps, nt);
            if (r->hook) r->hook(r->user, LQ_POINT_ATTN_IN, a->xb, n, C);
            break;
        case LQ_STAGE_ATTN:
            lq_qmatmul_multi((float *[]){a->q, a->k, a->v}, a->xb, (const lq_qweight *[]){&L->wq, &L->wk, &L->wv}, 3, n,
                             nt, a->mm);
            attend(m, L, a, r);
            if (r->hook) r->hook(r->user, LQ_POINT_ATTN_OUT, a->att, n, C);
            break;
        case LQ_STAGE_ATTN_OUT:
            lq_qmatmul(a->xb, a->att, &L->wo, n, nt, a->mm);
            lq_add_forward_nt(a->x, a->xb, (size_t)n * C, nt);
            lq_rmsnorm_forward(a->xb, a->x, L->ffn_norm, n, C, hp->norm_eps, nt);
            if (r->hook) r->hook(r->user, LQ_POINT_FFN_IN, a->xb, n, C);
            break;
        case LQ_STAGE_FFN_UP:
            lq_qmatmul_multi((float *[]){a->g, a->u}, a->xb, (const lq_qweight *[]){&L->w_gate, &L->w_up}, 2, n, nt,
                             a->mm);
            lq_swiglu_forward(a->g, a->u, (size_t)n * F, nt);
            if (r->hook) r->hook(r->user, LQ_POINT_FFN_MID, a->g, n, F);
            break;
        case LQ_STAGE_FFN_DOWN:
            lq_qmatmul(a->xb, a->g, &L->w_down, n, nt, a->mm);
            lq_add_forward_nt(a->x, a->xb, (size_t)n * C, nt);
            break;
        }
    }
}

void lq_llama_block(lq_llama *m, int l, lq_llama_acts *a, const lq_llama_run *r) {
    lq_llama_block_stages(m, l, a, r, LQ_STAGE_ATTN_NORM, r->stats_only ? LQ_STAGE_FFN_UP : LQ_STAGE_FFN_DOWN);
}

/* One token's attention over a layer's KV cache, run by the decoder's team:
 * the kernels for the cache's type and where its rows lie. */
typedef struct token_attn {
    lq_attn_part_fn part;    /* chunked kernel, or NULL: whole rows per head */
    lq_attn_row_fn row_f32;  /* F32 cache */
    lq_attn_row_kv_fn row_kv; /* F16 / Q8 cache */
    size_t row, head;        /* bytes of one token's row and of one KV head within it */
    size_t q_row;            /* bytes between the chunked kernel's query rows */
    int hd, group;           /* head size, query heads per KV head */
    float scale;
} token_attn;

/* For a Q8 cache the chunked kernel takes the query rows quantized, here
 * once per token (by one thread) rather than in every chunk. */
static void quantize_queries(const lq_llama *m, const token_attn *ta, lq_llama_acts *a, int P) {
    char *qq = (char *)(a->S + chunk_layout_of(&m->hp, P, m->n_threads).q);
    for (int h = 0; h < m->hp.n_head; h++)
        lq_kv_q8_quantize(qq + (size_t)h * ta->q_row, a->q + (size_t)h * ta->hd, ta->hd);
}

/* a->att from a->q over positions 0..P-1; the chunked path leaves its parts
 * for token_attn_merge (run by one thread after the team's barrier); a Q8
 * cache's query rows come from quantize_queries */
static void token_attention(const lq_llama *m, const token_attn *ta, const lq_llama_layer *L, lq_llama_acts *a,
                            int P) {
    const int hd = ta->hd, group = ta->group, n_head = m->hp.n_head;
    if (ta->part) {
        /* (KV head, chunk of positions) shared out among the team; the
         * query heads of one KV head read its chunk in turn, from cache */
        const chunk_layout c = chunk_layout_of(&m->hp, P, m->n_threads);
        const char *qrows = m->kv_type == LLMQ_KV_Q8 ? (const char *)(a->S + c.q) : (const char *)a->q;
        #pragma omp for schedule(static)
        for (int it = 0; it < m->hp.n_head_kv * c.n_chunks; it++) {
            int kvh = it / c.n_chunks, ch = it % c.n_chunks, j0 = ch * LQ_ATTN_CHUNK, h = kvh * group;
            size_t at = (size_t)j0 * ta->row + (size_t)kvh * ta->head, oh = (size_t)ch * n_head + h;
            ta->part(a->S + c.o + oh * hd, a->S + c.ml + 2 * oh, qrows + (size_t)h * ta->q_row, group,
                     (const char *)L->k_cache + at, (const char *)L->v_cache + at, LQ_MIN(P - j0, LQ_ATTN_CHUNK), hd,
                     ta->row, ta->scale, a->S + (size_t)omp_get_thread_num() * c.per_thread);
        }
        return;
    }
    /* heads shared out among the team, each with its own score row */
    #pragma omp for schedule(static)
    for (int h = 0; h < n_head; h++) {
        size_t kv_at = (size_t)(h / group) * ta->head;
        if (m->kv_type == LLMQ_KV_F32)
            ta->row_f32(a->att + (size_t)h * hd, a->q + (size_t)h * hd, (const float *)((const char *)L->k_cache + kv_at),
                        (const float *)((const char *)L->v_cache + kv_at), P, hd, (int)(ta->row / sizeof(float)),
                        ta->scale, a->S + (size_t)h * P);
        else
            ta->row_kv(a->att + (size_t)h * hd, a->q + (size_t)h * hd, (const char *)L->k_cache + kv_at,
                       (const char *)L->v_cache + kv_at, P, hd, ta->row, ta->scale, a->S + (size_t)h * P);
    }
}

static void token_attn_merge(const lq_llama *m, const token_attn *ta, lq_llama_acts *a, int P) {
    if (!ta->part) return;
    const chunk_layout c = chunk_layout_of(&m->hp, P, m->n_threads);
    const int n_head = m->hp.n_head;
    for (int h = 0; h < n_head; h++)
        lq_attn_merge(a->att + (size_t)h * ta->hd, a->S + c.o + (size_t)h * ta->hd, a->S + c.ml + 2 * h, c.n_chunks,
                      ta->hd, n_head);
}

/* One token through every layer inside a single parallel region. Generation
 * runs ~7 small GEMVs per layer; opening a region for each costs a thread
 * wake-up each time, which at 576-wide layers is as long as the GEMV itself.
 * Here the team stays together and meets at barriers instead. Same arithmetic
 * as lq_llama_block with T = 1. */
static void token_forward(lq_llama *m, lq_llama_acts *a, int pos) {
    const lq_llama_hparams *hp = &m->hp;
    int C = hp->n_embd, F = hp->n_ff, hd = C / hp->n_head;
    const lq_kernels *kern = lq_kernels_get();
    size_t row = lq_kv_token_bytes(m->kv_type, hp->n_head_kv, hd);
    const token_attn ta = {
        .part = m->kv_type == LLMQ_KV_F32   ? kern->attn_part_f32
                : m->kv_type == LLMQ_KV_F16 ? kern->attn_part_f16
                                            : kern->attn_part_q8,
        .row_f32 = kern->attn_row_f32,
        .row_kv = m->kv_type == LLMQ_KV_Q8 ? kern->attn_row_q8 : kern->attn_row_f16,
        .row = row,
        .head = row / hp->n_head_kv,
        .q_row = m->kv_type == LLMQ_KV_Q8 ? lq_kv_q8_bytes(hd) : (size_t)hd * sizeof(float),
        .hd = hd,
        .group = hp->n_head / hp->n_head_kv,
        .scale = 1.0f / sqrtf((float)hd),
    };
    #pragma omp parallel num_threads(m->n_threads)
    for (int l = 0; l < hp->n_layer; l++) {
        lq_llama_layer *L = &m->layers[l];
        const lq_qweight *qkv[3] = {&L->wq, &L->wk, &L->wv}, *wo[1] = {&L->wo};
        const lq_qweight *gu[2] = {&L->w_gate, &L->w_up}, *down[1] = {&L->w_down};
        #pragma omp single
        {
            if (l > 0) lq_add_forward(a->x, a->xb, (size_t)C); /* the previous layer's FFN residual */
            lq_rmsnorm_forward(a->xb, a->x, L->attn_norm, 1, C, hp->norm_eps, 1);
            lq_qact_prepare(&a->xq, a->xb, qkv, 3);
        }
        lq_qgemv_team((float *[]){a->q, a->k, a->v}, qkv, 3, &a->xq);
        #pragma omp single
        {
            lq_rope_qk_forward(a->q, a->k, 1, 1, hp->n_head, hp->n_head_kv, hd, pos, hp->rope_theta, 1);
            lq_kv_write(m->kv_type, L->k_cache, pos, a->k, 1, hp->n_head_kv, hd);
            lq_kv_write(m->kv_type, L->v_cache, pos, a->v, 1, hp->n_head_kv, hd);
            if (ta.part && m->kv_type == LLMQ_KV_Q8) quantize_queries(m, &ta, a, pos + 1);
        }
        token_attention(m, &ta, L, a, pos + 1);
        #pragma omp single
        {
            token_attn_merge(m, &ta, a, pos + 1);
            lq_qact_prepare(&a->xq, a->att, wo, 1);
        }
        lq_qgemv_team((float *[]){a->xb}, wo, 1, &a->xq);
        #pragma omp single
        {
            lq_add_forward(a->x, a->xb, (size_t)C);
            lq_rmsnorm_forward(a->xb, a->x, L->ffn_norm, 1, C, hp->norm_eps, 1);
            lq_qact_prepare(&a->xq, a->xb, gu, 2);
        }
        lq_qgemv_team((float *[]){a->g, a->u}, gu, 2, &a->xq);
        #pragma omp single
        {
            lq_swiglu_forward(a->g, a->u, (size_t)F, 1);
            lq_qact_prepare(&a->xq, a->g, down, 1);
        }
        lq_qgemv_team((float *[]){a->xb}, down, 1, &a->xq);
        /* its residual add opens the next layer's first single step (one barrier less) */
    }
    lq_add_forward(a->x, a->xb, (size_t)C);
}

llmq_status lq_llama_decode(lq_llama *m, const int32_t *tokens, int n, int pos, float *logits,
                            int n_logits, lq_err *e) {
    const lq_llama_hparams *hp = &m->hp;
    LQ_CHECK(n > 0 && pos >= 0, e, LLMQ_ERR_ARG, "decode: need at least one token at a non-negative position");
    LQ_CHECK(!logits || (n_logits >= 1 && n_logits <= n), e, LLMQ_ERR_ARG, "decode: n_logits %d outside 1..%d",
             n_logits, n);
    for (int t = 0; t < n; t++)
        LQ_CHECK(tokens[t] >= 0 && tokens[t] < hp->n_vocab, e, LLMQ_ERR_ARG, "token id %d outside the vocabulary",
                 tokens[t]);
    LQ_CHECK(pos <= m->kv_len, e, LLMQ_ERR_ARG, "decode at position %d leaves a gap: the cache holds %d tokens", pos,
             m->kv_len);
    LQ_TRY(kv_reserve(m, pos + n, e));
    lq_llama_acts a;
    LQ_TRY(lq_llama_acts_alloc(&a, hp, n, n, pos + n, m->n_threads, e));
    if (n > 1 && m->kv_type != LLMQ_KV_F32) {
        size_t kvd = (size_t)hp->n_embd / hp->n_head * hp->n_head_kv;
        a.kf = lq_alloc_aligned((size_t)(pos + n) * kvd * sizeof(float));
        a.vf = lq_alloc_aligned((size_t)(pos + n) * kvd * sizeof(float));
        if (!a.kf || !a.vf) {
            lq_llama_acts_free(&a);
            return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory for the KV cache read-back");
        }
    }
    int C = hp->n_embd;
    for (int t = 0; t < n; t++)
        lq_qweight_row(&m->tok_embd, tokens[t], a.x + (size_t)t * C);
    if (n == 1 && !m->w8a8) token_forward(m, &a, pos);
    else
        for (int l = 0; l < hp->n_layer; l++) {
            lq_llama_run r = {.n_seq = 1, .T = n, .pos = pos, .use_cache = true, .n_threads = m->n_threads};
            lq_llama_block(m, l, &a, &r);
        }
    m->kv_len = pos + n;
    if (logits) {
        const float *last = a.x + (size_t)(n - n_logits) * C;
        lq_rmsnorm_forward(a.xb, last, m->output_norm, n_logits, C, hp->norm_eps, m->n_threads);
        lq_qmatmul(logits, a.xb, &m->output, n_logits, m->n_threads, a.mm);
    }
    lq_llama_acts_free(&a);
    return LLMQ_OK;
}
