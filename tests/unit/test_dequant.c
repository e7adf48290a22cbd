/* Dequantization of every GGML type against gguf-py's independent numpy
 * implementation (fixtures from scripts/gen_dequant_fixtures.py), and the
 * fp16/bf16 conversions over all 65536 bit patterns. */
#include "io/mapfile.h"
#include "quant/types.h"
#include "test.h"

#include <stdint.h>

static void check_type(const char *name, uint32_t type) {
    char pb[256], pf[256];
    snprintf(pb, sizeof pb, TEST_PATH("tests/fixtures/dequant/%s.blocks"), name);
    snprintf(pf, sizeof pf, TEST_PATH("tests/fixtures/dequant/%s.f32"), name);
    lq_mapfile blocks, ref;
    lq_err e;
    if (lq_map_open(pb, &blocks, &e) != LLMQ_OK || lq_map_open(pf, &ref, &e) != LLMQ_OK) {
        CHECK_MSG(0, "%s: missing fixture: %s", name, e.msg);
        return;
    }
    const lq_type_traits *tr = lq_type_get(type);
    int64_t n = (int64_t)(ref.len / 4);
    CHECK_EQ_INT(blocks.len, lq_row_size(type, n));
    float *out = malloc(ref.len);
    for (int64_t i = 0; i < n; i++) out[i] = NAN;
    tr->to_float(blocks.data, out, n);
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) bad += memcmp(&out[i], ref.data + 4 * i, 4) != 0;
    CHECK_MSG(bad == 0, "%s: %lld of %lld values differ from gguf-py", name, (long long)bad, (long long)n);
    free(out);
    lq_map_close(&blocks);
    lq_map_close(&ref);
}

static void check_half_conversions(void) {
    int bad16 = 0, badbf = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = lq_fp16_to_fp32((uint16_t)h);
        uint16_t back = lq_fp32_to_fp16(f);
        bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (nan ? !isnan(f) : back != h) bad16++;
        float g = lq_bf16_to_fp32((uint16_t)h);
        bool bnan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
        if (bnan ? !isnan(g) : lq_fp32_to_bf16(g) != h) badbf++;
    }
    CHECK_MSG(bad16 == 0, "%d fp16 values do not round-trip", bad16);
    CHECK_MSG(badbf == 0, "%d bf16 values do not round-trip", badbf);
    CHECK_EQ_INT(lq_fp32_to_fp16(1.0f), 0x3c00);
    CHECK_EQ_INT(lq_fp32_to_fp16(65520.0f), 0x7c00);      /* rounds to inf */
    CHECK_EQ_INT(lq_fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00); /* ties to even */
    CHECK_EQ_INT(lq_fp32_to_bf16(1.0f + 0x1p-8f), 0x3f80);  /* ties to even */
    CHECK_EQ_INT(lq_fp32_to_bf16(1.0f + 0x1p-7f + 0x1p-8f), 0x3f82);
}

int main(void) {
    static const struct { const char *name; uint32_t type; } types[] = {
        {"F16", LQ_TYPE_F16}, {"BF16", LQ_TYPE_BF16}, {"Q4_0", LQ_TYPE_Q4_0}, {"Q4_1", LQ_TYPE_Q4_1},
        {"Q5_0", LQ_TYPE_Q5_0}, {"Q5_1", LQ_TYPE_Q5_1}, {"Q8_0", LQ_TYPE_Q8_0}, {"Q2_K", LQ_TYPE_Q2_K},
        {"Q3_K", LQ_TYPE_Q3_K}, {"Q4_K", LQ_TYPE_Q4_K}, {"Q5_K", LQ_TYPE_Q5_K}, {"Q6_K", LQ_TYPE_Q6_K},
        {"IQ4_NL", LQ_TYPE_IQ4_NL}, {"MXFP4", LQ_TYPE_MXFP4},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) check_type(types[i].name, types[i].type);
    check_half_conversions();
    /* traits: sizes as ggml, removed ids flagged, unknown ids rejected */
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_Q4_K, 512), 288);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_Q4_0, 33), 0);
    CHECK(lq_type_get(4) && lq_type_get(4)->deprecated);
    CHECK(lq_type_get(50) == NULL); /* 40..63: neither GGML nor llmq */
    CHECK(lq_type_get(200) == NULL);
    CHECK(strcmp(lq_type_name(LQ_TYPE_Q6_K), "Q6_K") == 0);
    /* every GGML format with a reference quantizer is wired into the traits,
     * and quantize -> dequantize through them stays close on a smooth signal */
    static const uint32_t quantized[] = {LQ_TYPE_Q4_0, LQ_TYPE_Q4_1, LQ_TYPE_Q5_0, LQ_TYPE_Q5_1, LQ_TYPE_Q8_0,
                                         LQ_TYPE_Q8_1, LQ_TYPE_IQ4_NL, LQ_TYPE_Q2_K, LQ_TYPE_Q3_K, LQ_TYPE_Q4_K,
                                         LQ_TYPE_Q5_K, LQ_TYPE_Q6_K, LQ_TYPE_Q8_K};
    float x[512], y[512];
    uint8_t q[512 * 2];
    for (int i = 0; i < 512; i++) x[i] = 0.1f + 2.0f * cosf((float)i);
    for (size_t i = 0; i < sizeof quantized / sizeof quantized[0]; i++) {
        const lq_type_traits *tr = lq_type_get(quantized[i]);
        CHECK_MSG(tr->from_float_ref != NULL, "%s has no reference quantizer", tr->name);
        if (!tr->from_float_ref) continue;
        tr->from_float_ref(x, q, 512);
        tr->to_float(q, y, 512);
        double se = 0;
        for (int k = 0; k < 512; k++) se += (double)(x[k] - y[k]) * (x[k] - y[k]);
        /* 2 bits over a range of 4 leave steps of ~1.3: rms ~0.3 is expected */
        double limit = quantized[i] == LQ_TYPE_Q2_K ? 0.4 : 0.2;
        CHECK_MSG(sqrt(se / 512) < limit, "%s round trip rms %g", tr->name, sqrt(se / 512));
    }
    TEST_END();
}
