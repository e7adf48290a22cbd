/* Token sampling: greedy, temperature, nucleus (top-p). */
#include "core/lq.h"

#include <math.h>
#include <stdlib.h>

/* xorshift64*: small, fast, and good enough for sampling. */
static uint64_t next_u64(uint64_t *s) {
    if (*s == 0) *s = 0x9E3779B97F4A7C15ull;
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static float next_f32(uint64_t *s) { return (float)(next_u64(s) >> 40) / 16777216.0f; }

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

typedef struct prob_idx {
    float p;
    int i;
} prob_idx;

static int by_prob_desc(const void *a, const void *b) {
    float pa = ((const prob_idx *)a)->p, pb = ((const prob_idx *)b)->p;
    return (pa < pb) - (pa > pb);
}

/* Samples from probs restricted to the smallest set whose mass reaches top_p. */
static int sample_top_p(const float *probs, int n, float top_p, float r, prob_idx *buf) {
    /* Tokens below (1-top_p)/(n-1) can never be in the nucleus: skip them
     * before sorting, as llama2.c does. */
    float cutoff = (1.0f - top_p) / (float)(n > 1 ? n - 1 : 1);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (probs[i] >= cutoff) buf[m++] = (prob_idx){probs[i], i};
    qsort(buf, (size_t)m, sizeof *buf, by_prob_desc);
    float cum = 0.0f;
    int last = m - 1;
    for (int i = 0; i < m; i++) {
        cum += buf[i].p;
        if (cum > top_p) {
            last = i;
            break;
        }
    }
    float x = r * cum, acc = 0.0f;
    for (int i = 0; i <= last; i++) {
        acc += buf[i].p;
        if (x < acc) return buf[i].i;
    }
    return buf[last].i;
}

int32_t llmq_sample(const llmq_sampler_params *p, float *logits, int n_vocab, uint64_t *rng) {
    if (p->temp <= 0.0f) return argmax(logits, n_vocab);
    float mx = logits[argmax(logits, n_vocab)];
    double sum = 0.0;
    for (int i = 0; i < n_vocab; i++) {
        logits[i] = expf((logits[i] - mx) / p->temp);
        sum += logits[i];
    }
    for (int i = 0; i < n_vocab; i++) logits[i] = (float)(logits[i] / sum);
    float r = next_f32(rng);
    if (p->top_p > 0.0f && p->top_p < 1.0f) {
        prob_idx *buf = malloc((size_t)n_vocab * sizeof *buf);
        if (buf) {
            int t = sample_top_p(logits, n_vocab, p->top_p, r, buf);
            free(buf);
            return t;
        }
    }
    float acc = 0.0f;
    for (int i = 0; i < n_vocab; i++) {
        acc += logits[i];
        if (r < acc) return i;
    }
    return n_vocab - 1;
}
