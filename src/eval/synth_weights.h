/* The synthetic weights the format benchmarks quantize (`llmq bench`,
 * bench/gemv_vs_ggml.c): deterministic, with a few larger values, as
 * trained weights have. */
#ifndef LQ_EVAL_SYNTH_WEIGHTS_H
#define LQ_EVAL_SYNTH_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

static inline void lq_synth_weights(float *w, size_t n) {
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        const float u = (float)((s >> 40) & 0xFFFFFF) / 16777216.0f - 0.5f;
        w[i] = (i % 997 == 0) ? 8.0f * u : u * 0.1f;
    }
}

#endif
