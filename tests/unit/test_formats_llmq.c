/* llmq's own formats (ids 64..92): names, ids, row sizes, round-trip error
 * on llama.cpp's synthetic signal, all-zero groups, outliers, NaN-filled
 * outputs, several rows at once, and exact E4M3 / NF4 code points. */
#include "io/gguf.h"
#include "quant/types_llmq.h"
#include "test.h"

#include <stdint.h>

#define N 4096 /* test-quantize-fns' test_size (32 * 128) */

/* llama.cpp's test-quantize-fns data: 0.1 + 2 cos(i + offset) */
static void smooth(float *x, int n, float offset) {
    for (int i = 0; i < n; i++) x[i] = 0.1f + 2.0f * cosf((float)i + offset);
}

/* test-quantize-fns' metric: sqrt(sum d^2) / n (its "RMSE"; the true RMS
 * error is this times sqrt(n) = 64 at n = 4096) */
static double ggml_rmse(const float *a, const float *b, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(s) / n;
}

/* Round-trip limit in test-quantize-fns' metric. For uniform codes the RMS
 * error is about step / sqrt(12), the step (max - min) / (2^b - 1) of a
 * group of this signal (range about 4.1): 2-bit 1.37 -> 0.40, 3-bit 0.59 ->
 * 0.17, 4-bit 0.27 -> 0.079, 8-bit 0.016 -> 0.0046, i.e. 0.0062, 0.0027,
 * 0.0012 and 0.00007 in the metric. Limits: llama.cpp's 2-bit (0.0075) and
 * 3-bit (0.004) bounds, the general 0.002 for 4-bit, NF4 and FP8 (E4M3's 3
 * mantissa bits: relative step 2^-4 -> RMS about 0.036 -> 0.0006), and
 * 0.0002 for 8-bit so an INT8 regression to 4-bit-like error fails. The
 * signed (symmetric) grid of 2-bit spends one code on a single extreme, so
 * its step is range/2 instead of range/3: 2-bit S gets 0.012. NF4's code
 * book is dense near 0 for normal weights, while this cosine puts its mass
 * at the extremes, where NF4's steps are widest (0.28 of the scale): it
 * gets llama.cpp's FP4 (MXFP4) limit, 0.003. */
static double limit_for(uint32_t t) {
    int bits, group;
    bool asym;
    if (t == LQ_TYPE_I8_CH) return 0.0002;
    if (lq_llmq_group_params(t, &bits, &group, &asym)) {
        if (bits == 2) return asym ? 0.0075 : 0.012;
        if (bits == 3) return 0.004;
        if (bits == 4) return 0.002;
        return 0.0002;
    }
    if (t == LQ_TYPE_NF4) return 0.003;
    return 0.002;
}

static void test_names_and_sizes(void) {
    static const char *names[] = {
        "I8_CH", "I2_G32S", "I2_G32A", "I2_G64S", "I2_G64A", "I2_G128S", "I2_G128A", "I3_G32S", "I3_G32A",
        "I3_G64S", "I3_G64A", "I3_G128S", "I3_G128A", "I4_G32S", "I4_G32A", "I4_G64S", "I4_G64A", "I4_G128S",
        "I4_G128A", "I8_G32S", "I8_G32A", "I8_G64S", "I8_G64A", "I8_G128S", "I8_G128A", "NF4", "F8_E4M3_CH",
        "F8_E4M3_G32", "F8_E4M3_G128"};
    CHECK_EQ_INT(sizeof names / sizeof names[0], LQ_TYPE_LLMQ_END - LQ_TYPE_LLMQ_FIRST);
    for (uint32_t t = LQ_TYPE_LLMQ_FIRST; t < LQ_TYPE_LLMQ_END; t++) {
        const lq_type_traits *tr = lq_type_get(t);
        CHECK_MSG(tr && strcmp(tr->name, names[t - 64]) == 0, "id %u", t);
        CHECK_MSG(tr && strcmp(lq_type_name(t), names[t - 64]) == 0, "id %u", t);
        CHECK(tr && !tr->deprecated && tr->to_float && tr->from_float_ref);
    }
    for (uint32_t t = LQ_TYPE_GGML_COUNT; t < LQ_TYPE_LLMQ_FIRST; t++) CHECK(lq_type_get(t) == NULL);
    CHECK(lq_type_get(LQ_TYPE_LLMQ_END) == NULL);
    CHECK(lq_type_get(UINT32_MAX) == NULL);
    for (uint32_t t = 0; t < LQ_TYPE_GGML_COUNT; t++)
        if (lq_type_get(t)) CHECK_EQ_INT(lq_type_get(t)->row_header, 0);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_Q4_0, 4096), 2304); /* GGML types unchanged */
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I8_CH, 4096), 4 + 4096);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I8_CH, 7), 4 + 7);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I8_CH, 0), 0);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I2_G32S, 4096), 128 * 10);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I2_G128A, 4096), 32 * 36);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I3_G32S, 4096), 128 * 14);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I3_G64A, 4096), 64 * 28);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I4_G32S, 4096), 128 * 18);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I4_G64A, 4096), 64 * 36);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I4_G128S, 4096), 32 * 66);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I8_G32A, 4096), 128 * 36);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I8_G128S, 4096), 32 * 130);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I4_G64S, 96), 0); /* not a multiple of the group */
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_NF4, 4096), 64 * 34);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_F8_E4M3_CH, 100), 104);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_F8_E4M3_G32, 4096), 128 * 34);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_F8_E4M3_G128, 4096), 32 * 130);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_F8_E4M3_G32, 33), 0);
    CHECK_EQ_INT(lq_row_size(LQ_TYPE_I8_CH, -32), 0);
}

static void test_round_trip(void) {
    float *x = malloc(N * sizeof *x), *z = malloc(N * sizeof *z);
    uint8_t *q = malloc(2 * N + 64);
    smooth(x, N, 0.0f);
    for (uint32_t t = LQ_TYPE_LLMQ_FIRST; t < LQ_TYPE_LLMQ_END; t++) {
        const lq_type_traits *tr = lq_type_get(t);
        const int n = N;
        for (int i = 0; i < n; i++) z[i] = NAN;
        tr->from_float_ref(x, q, n);
        tr->to_float(q, z, n);
        const double e = ggml_rmse(x, z, n);
        CHECK_MSG(e < limit_for(t), "%s: round-trip error %.6f (limit %.4f)", tr->name, e, limit_for(t));
        if (getenv("LLMQ_VERBOSE")) printf("%-13s rmse %.6f (true RMS %.5f) limit %.4f\n", tr->name, e, e * 64, limit_for(t));
        /* deterministic: a second run gives the same bytes */
        uint8_t *q2 = malloc(2 * N + 64);
        tr->from_float_ref(x, q2, n);
        CHECK_MSG(memcmp(q, q2, lq_row_size(t, n)) == 0, "%s not deterministic", tr->name);
        free(q2);
    }
    free(x);
    free(z);
    free(q);
}

/* all-zero input decodes to exact zeros (no NaN from 0/0); a single
 * outlier survives within a step of its own scale; several rows through
 * one to_float call (types without a row header) */
static void test_edges(void) {
    enum { ROWS = 3, M = 256 };
    float x[ROWS * M], z[ROWS * M];
    uint8_t q[ROWS * 2 * M + 64];
    for (uint32_t t = LQ_TYPE_LLMQ_FIRST; t < LQ_TYPE_LLMQ_END; t++) {
        const lq_type_traits *tr = lq_type_get(t);
        const size_t rb = lq_row_size(t, M);
        memset(x, 0, sizeof x);
        for (int i = 0; i < M; i++) z[i] = NAN;
        tr->from_float_ref(x, q, M);
        tr->to_float(q, z, M);
        int bad = 0;
        for (int i = 0; i < M; i++) bad += !(z[i] == 0.0f);
        CHECK_MSG(bad == 0, "%s: %d non-zero values from an all-zero row", tr->name, bad);

        /* rows: smooth, a zero group inside, and a single outlier */
        for (int r = 0; r < ROWS; r++) smooth(x + r * M, M, (float)r);
        for (int i = 0; i < 128; i++) x[M + 128 + i] = 0.0f; /* a whole group of every size */
        x[2 * M + 77] = 100.0f;
        for (int r = 0; r < ROWS; r++) tr->from_float_ref(x + r * M, q + r * rb, M);
        for (int i = 0; i < ROWS * M; i++) z[i] = NAN;
        if (tr->row_header) {
            for (int r = 0; r < ROWS; r++) tr->to_float(q + r * rb, z + r * M, M);
        } else {
            tr->to_float(q, z, ROWS * M);
        }
        bad = 0;
        for (int i = 0; i < 128; i++) bad += !(z[M + 128 + i] == 0.0f);
        CHECK_MSG(bad == 0, "%s: zero group decodes to %d non-zeros", tr->name, bad);
        CHECK_MSG(fabsf(z[2 * M + 77] - 100.0f) <= 100.0f / 8, "%s: outlier 100 -> %g", tr->name, z[2 * M + 77]);
        int nan = 0;
        for (int i = 0; i < ROWS * M; i++) nan += isnan(z[i]);
        CHECK_MSG(nan == 0, "%s: %d values left NaN", tr->name, nan);
        /* the first row alone gives the same values as inside the batch */
        float z1[M];
        tr->to_float(q, z1, M);
        CHECK_MSG(memcmp(z1, z, sizeof z1) == 0, "%s: first row differs", tr->name);
    }
}

static void test_codes(void) {
    /* E4M3: every finite code decodes and re-encodes to itself */
    int bad = 0;
    for (int c = 0; c < 256; c++) {
        if ((c & 0x7F) == 0x7F) {
            bad += !isnan(lq_e4m3_to_fp32((uint8_t)c));
            continue;
        }
        bad += lq_fp32_to_e4m3(lq_e4m3_to_fp32((uint8_t)c)) != c;
    }
    CHECK_EQ_INT(bad, 0);
    /* the dequantizers' code table: a row of every code with scale 1 gives
     * each code's value bit for bit (NaN codes their NaN) */
    uint8_t row[4 + 256];
    const float one = 1.0f;
    memcpy(row, &one, 4);
    for (int c = 0; c < 256; c++) row[4 + c] = (uint8_t)c;
    float vals[256];
    lq_type_get(LQ_TYPE_F8_E4M3_CH)->to_float(row, vals, 256);
    bad = 0;
    for (int c = 0; c < 256; c++) {
        const float want = lq_e4m3_to_fp32((uint8_t)c) * 1.0f;
        bad += isnan(want) ? !isnan(vals[c]) || signbit(vals[c]) != signbit(want) : memcmp(&vals[c], &want, 4) != 0;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(lq_e4m3_to_fp32(0x7E) == 448.0f);
    CHECK(lq_e4m3_to_fp32(0x01) == 0x1p-9f);
    CHECK(lq_e4m3_to_fp32(0x08) == 0x1p-6f);
    CHECK_EQ_INT(lq_fp32_to_e4m3(1000.0f), 0x7E); /* saturates */
    CHECK_EQ_INT(lq_fp32_to_e4m3(-1e30f), 0xFE);
    CHECK_EQ_INT(lq_fp32_to_e4m3(INFINITY), 0x7E);
    CHECK_EQ_INT(lq_fp32_to_e4m3(1.0625f), 0x38); /* halfway 1 .. 1.125: to even (1) */
    CHECK_EQ_INT(lq_fp32_to_e4m3(1.1875f), 0x3A); /* halfway 1.125 .. 1.25: to even (1.25) */
    CHECK_EQ_INT(lq_fp32_to_e4m3(0x1p-10f), 0x00); /* half the smallest subnormal: to even (0) */
    CHECK_EQ_INT(lq_fp32_to_e4m3(3 * 0x1p-10f), 0x02);
    CHECK_EQ_INT(lq_fp32_to_e4m3(464.0f), 0x7E);
    /* against a brute-force nearest search (ties to the even code) on
     * log-spread magnitudes, midpoints included */
    bad = 0;
    uint64_t seed = 1;
    for (int k = 0; k < 20000; k++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        float v;
        if (k % 2) { /* exactly halfway between two neighbours */
            const int c = (int)(seed >> 33) % 126;
            v = 0.5f * (lq_e4m3_to_fp32((uint8_t)c) + lq_e4m3_to_fp32((uint8_t)(c + 1)));
        } else {
            v = ldexpf((float)((seed >> 40) & 0xFFFFFF) / 16777216.0f + 0.5f, (int)((seed >> 20) % 22) - 12);
        }
        int best = 0;
        for (int c = 1; c <= 0x7E; c++) {
            const float e = fabsf(lq_e4m3_to_fp32((uint8_t)c) - v), eb = fabsf(lq_e4m3_to_fp32((uint8_t)best) - v);
            if (e < eb || (e == eb && c % 2 == 0)) best = c;
        }
        bad += lq_fp32_to_e4m3(v) != best || lq_fp32_to_e4m3(-v) != (best | 0x80);
    }
    CHECK_EQ_INT(bad, 0);
    /* NF4: the code book round-trips, 0 is exact */
    uint8_t q[34];
    float x[64], z[64];
    for (int i = 0; i < 64; i++) x[i] = lq_nf4_values[i % 16] * 3.0f;
    lq_quant_nf4_ref(x, q, 64);
    lq_dequant_nf4(q, z, 64);
    bad = 0;
    for (int i = 0; i < 64; i++) bad += fabsf(z[i] - x[i]) > 1e-6f;
    CHECK_EQ_INT(bad, 0);
    /* the nearest NF4 code = a scan of the whole book (ties to the lower
     * code): every float midpoint of neighbours and its two float
     * neighbours, the entries, a sweep of [-3, 3], far values, NaN, inf */
    float probe[4096];
    int np = 0;
    for (int k = 0; k < 16; k++) {
        probe[np++] = lq_nf4_values[k];
        if (k == 15) break;
        const float m = (lq_nf4_values[k] + lq_nf4_values[k + 1]) / 2;
        probe[np++] = m, probe[np++] = nextafterf(m, -INFINITY), probe[np++] = nextafterf(m, INFINITY);
    }
    for (int i = 0; i <= 3000; i++) probe[np++] = -3.0f + 0.002f * (float)i;
    const float far[] = {70000.0f, -70000.0f, 1e30f, -1e30f, 65535.9f, INFINITY, -INFINITY, NAN, 0.0f, -0.0f};
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) probe[np++] = far[i];
    bad = 0;
    for (int i = 0; i < np; i++) {
        int best = 7;
        float err = INFINITY;
        for (int k = 0; k < 16; k++) {
            const float e = fabsf(probe[i] - lq_nf4_values[k]);
            if (e < err) err = e, best = k;
        }
        bad += lq_nf4_nearest(probe[i]) != best;
    }
    CHECK_EQ_INT(bad, 0);
    /* INT3 codes cover -4..3 (sym) and use all 8 levels */
    float v[32];
    for (int i = 0; i < 32; i++) v[i] = (float)(i % 8) - 4.0f;
    uint8_t b3[14];
    lq_quant_llmq_group_ref(LQ_TYPE_I3_G32S, v, b3, 32);
    lq_dequant_llmq_group(LQ_TYPE_I3_G32S, b3, z, 32);
    bad = 0;
    for (int i = 0; i < 32; i++) bad += z[i] != v[i];
    CHECK_EQ_INT(bad, 0);
    for (int i = 0; i < 32; i++) v[i] = 10.0f + 0.5f * (float)(i % 8);
    uint8_t b3a[16];
    lq_quant_llmq_group_ref(LQ_TYPE_I3_G32A, v, b3a, 32);
    lq_dequant_llmq_group(LQ_TYPE_I3_G32A, b3a, z, 32);
    bad = 0;
    for (int i = 0; i < 32; i++) bad += fabsf(z[i] - v[i]) > 0.01f;
    CHECK_EQ_INT(bad, 0);
}

/* The unit layouts of docs/FORMATS.md, byte by byte: codes 0..31 (masked
 * to the width) pack to the documented bytes and unpack back, and the
 * one-field writer gives the same bytes. */
static void test_unit_layouts(void) {
    uint8_t codes[32], unit[32], back[32];
    static const int widths[] = {2, 3, 4, 8};
    for (int w = 0; w < 4; w++) {
        const int bits = widths[w], ub = lq_llmq_unit_bytes(bits);
        for (int i = 0; i < 32; i++) codes[i] = (uint8_t)((i * 5 + 3) & ((1 << bits) - 1));
        memset(unit, 0xAA, sizeof unit);
        lq_llmq_pack_unit(bits, codes, unit);
        uint8_t want[32] = {0};
        for (int i = 0; i < 32; i++) {
            const int c = codes[i];
            if (bits == 8) want[i] = (uint8_t)c;
            else if (bits == 4) want[i % 16] |= (uint8_t)(c << 4 * (i / 16));
            else if (bits == 2) want[i % 8] |= (uint8_t)(c << 2 * (i / 8));
            else if (i < 16) want[i % 8] |= (uint8_t)(c << 4 * (i / 8));
            else {
                const int m = i - 16; /* bit 2 beside the nibbles, bits 0-1 in bytes 8-11 */
                want[m % 8] |= (uint8_t)((c >> 2) << (4 * (m / 8) + 3));
                want[8 + m % 4] |= (uint8_t)((c & 3) << 2 * (m / 4));
            }
        }
        CHECK(memcmp(unit, want, (size_t)ub) == 0);
        lq_llmq_unpack_unit(bits, unit, back);
        CHECK(memcmp(back, codes, 32) == 0);
        uint8_t one[32] = {0};
        for (int i = 0; i < 32; i++) {
            lq_llmq_put_code(bits, one, i, (1 << bits) - 1); /* set, then overwrite: fields do not bleed */
            lq_llmq_put_code(bits, one, i, codes[i]);
        }
        CHECK(memcmp(one, want, (size_t)ub) == 0);
    }
}

/* GGUF writer and reader size llmq tensors through lq_row_size (the row
 * header counted once per row) and keep their bytes */
static void test_gguf_round_trip(void) {
    enum { COLS = 96, ROWS = 3 };
    static const uint32_t types[] = {LQ_TYPE_I8_CH, LQ_TYPE_F8_E4M3_CH, LQ_TYPE_I3_G32A, LQ_TYPE_I4_G32S};
    float x[ROWS * COLS];
    uint8_t q[4][ROWS * (COLS + 4)];
    for (int i = 0; i < ROWS * COLS; i++) x[i] = sinf((float)i);
    lq_gguf_writer *w = lq_gguf_writer_new(32);
    CHECK(w && lq_gguf_add_str(w, "general.architecture", "llama") == LLMQ_OK);
    for (int k = 0; k < 4; k++) {
        const size_t rb = lq_row_size(types[k], COLS);
        for (int r = 0; r < ROWS; r++) lq_type_get(types[k])->from_float_ref(x + r * COLS, q[k] + r * rb, COLS);
        const int64_t ne[2] = {COLS, ROWS};
        char name[16];
        snprintf(name, sizeof name, "t%d", k);
        CHECK(lq_gguf_add_tensor(w, name, types[k], 2, ne, q[k], rb * ROWS) == LLMQ_OK);
        CHECK(lq_gguf_add_tensor(w, "short", types[k], 2, ne, q[k], rb * ROWS - 1) == LLMQ_ERR_SHAPE);
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    lq_err e = {0};
    CHECK(lq_gguf_serialize(w, &buf, &len, &e) == LLMQ_OK);
    lq_gguf *g = NULL;
    CHECK(buf && lq_gguf_parse(buf, len, &g, &e) == LLMQ_OK);
    for (int k = 0; g && k < 4; k++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", k);
        const lq_gguf_tensor *t = lq_gguf_find_tensor(g, name);
        const size_t rb = lq_row_size(types[k], COLS);
        CHECK_MSG(t && t->type == types[k] && t->nbytes == rb * ROWS && memcmp(t->data, q[k], rb * ROWS) == 0,
                  "%s through GGUF", lq_type_name(types[k]));
    }
    lq_gguf_free(g);
    free(buf);
    lq_gguf_writer_free(w);
}

int main(void) {
    test_gguf_round_trip();
    test_names_and_sizes();
    test_round_trip();
    test_edges();
    test_codes();
    test_unit_layouts();
    TEST_END();
}
