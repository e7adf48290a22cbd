/* Legacy 32-block GEMV kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL,
 * MXFP4): AVX2 (on planar rows) and AVX-512 give the reference's bits
 * (memcmp, NaN-prefilled outputs, subranges), the reference matches a
 * double-precision dot of the dequantized rows, planar rows unpack to the
 * GGUF bytes, and the MXFP4 reference quantizer meets its spec. */
#include "core/cpu.h"
#include "core/lq.h"
#include "kernels/planar.h"
#include "kernels/qdot.h"
#include "quant/blocks.h"
#include "quant/dequant.h"
#include "quant/quantize.h"
#include "quant/types.h"
#include "test.h"

#include <stdint.h>

static uint64_t rng = 7;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

typedef struct {
    const char *name;
    uint32_t type;
    size_t block_bytes;
    void (*quant)(const float *, void *, int64_t);
    void (*dequant)(const void *, float *, int64_t);
    int asym; /* Q8_1 activations; the m * s term uses fp16 s */
} wtype;

static const wtype types[] = {
    {"Q4_0", LQ_TYPE_Q4_0, sizeof(block_q4_0), lq_quant_q4_0_ref, lq_dequant_q4_0, 0},
    {"Q4_1", LQ_TYPE_Q4_1, sizeof(block_q4_1), lq_quant_q4_1_ref, lq_dequant_q4_1, 1},
    {"Q5_0", LQ_TYPE_Q5_0, sizeof(block_q5_0), lq_quant_q5_0_ref, lq_dequant_q5_0, 0},
    {"Q5_1", LQ_TYPE_Q5_1, sizeof(block_q5_1), lq_quant_q5_1_ref, lq_dequant_q5_1, 1},
    {"Q8_0", LQ_TYPE_Q8_0, sizeof(block_q8_0), lq_quant_q8_0_ref, lq_dequant_q8_0, 0},
    {"IQ4_NL", LQ_TYPE_IQ4_NL, sizeof(block_iq4_nl), lq_quant_iq4_nl_ref, lq_dequant_iq4_nl, 0},
    {"MXFP4", LQ_TYPE_MXFP4, sizeof(block_mxfp4), lq_quant_mxfp4_ref, lq_dequant_mxfp4, 0},
};

static int isa_ok(int isa) {
    const lq_cpu_features *f = lq_cpu();
    if (isa == 1) return f->avx2 && f->fma && f->f16c;
    if (isa == 2) return f->avx2 && f->fma && f->f16c && f->avx512f && f->avx512bw && f->avx512vl && f->avx512vnni;
    return 1;
}

/* k's rows over the GGUF rows W, packed first when k reads planar rows */
static void run_rows(const lq_qdot_info *k, float *y, const uint8_t *W, size_t row_bytes, int rows, const void *xq,
                     int n, int r0, int r1) {
    if (!k->planar) {
        k->rows(y, W, row_bytes, xq, n, r0, r1);
        return;
    }
    void *P = lq_planar_packed(k->planar, W, row_bytes, rows);
    k->rows(y, P, row_bytes, xq, n, r0, r1);
    lq_free_aligned(P);
}

/* lq_qh_pair against its definition (planar.h), bit by bit: value byte i
 * of lo takes bit 8 (i % 8) + 4 + i / 8, of hi bit 8 (i % 8) + i / 8 */
static void check_qh_pair(void) {
    for (int k = 0; k < 2000; k++) {
        const uint32_t a = k < 32 ? 1u << k : k < 64 ? 0 : (uint32_t)(frand() * 4294967295.0f),
                       b = k < 32 ? 0 : k < 64 ? 1u << (k - 32) : (uint32_t)(frand() * 4294967295.0f) ^ a;
        uint64_t want = 0;
        for (int i = 0; i < 32; i++) {
            const int pos = 8 * (i % 8) + i / 8;
            const uint32_t lo = i < 16 ? a >> i : b >> (i - 16), hi = i < 16 ? a >> (16 + i) : b >> i;
            want |= (uint64_t)(lo & 1u) << (pos + 4) | (uint64_t)(hi & 1u) << pos;
        }
        uint32_t a2, b2;
        lq_qh_unpair(lq_qh_pair(a, b), &a2, &b2);
        CHECK_MSG(lq_qh_pair(a, b) == want && a2 == a && b2 == b, "qh pair %08x %08x", a, b);
    }
}

/* A planar row unpacks to the GGUF bytes, whole and in pieces, and its
 * first run holds every block's first field. */
static void check_planar(const wtype *t) {
    const lq_qdot_info *k = lq_qdot_legacy_lookup(t->type, 1);
    CHECK_MSG(k && !k->planar == (t->type == LQ_TYPE_Q8_0), "%s: AVX2 planar rows", t->name); /* Q8_0: GGUF rows */
    if (!k || !k->planar) return;
    CHECK(lq_planar_block_bytes(k->planar) == t->block_bytes);
    const size_t nb = 75, bs = t->block_bytes, f0 = k->planar->field[0];
    uint8_t *src = malloc(nb * bs), *row = malloc(nb * bs), *back = malloc(nb * bs);
    for (size_t i = 0; i < nb * bs; i++) src[i] = (uint8_t)(frand() * 256.0f);
    lq_planar_pack(k->planar, row, src, nb);
    for (size_t b = 0; b < nb; b++) CHECK(memcmp(row + b * f0, src + b * bs, f0) == 0);
    lq_planar_unpack(k->planar, back, row, nb, 0, nb);
    CHECK_MSG(memcmp(back, src, nb * bs) == 0, "%s: planar row does not unpack to its blocks", t->name);
    memset(back, 0, nb * bs);
    lq_planar_unpack(k->planar, back, row, nb, 17, 40);
    CHECK_MSG(memcmp(back, src + 17 * bs, 40 * bs) == 0, "%s: blocks 17..56 unpack wrongly", t->name);
    free(src), free(row), free(back);
}

/* Row contents: random, plus special rows that show up in every shape with
 * enough rows: all zero, one outlier, extremes of the range. */
static void fill_row(float *w, int n, int r, int rows) {
    for (int i = 0; i < n; i++) w[i] = frand();
    if (rows < 4) return;
    if (r == 1)
        for (int i = 0; i < n; i++) w[i] = 0.0f;
    if (r == 2) w[n / 2] = 300.0f;
    if (r == 3)
        for (int i = 0; i < n; i++) w[i] = (i % 3 == 0) ? 60000.0f : (i % 3 == 1 ? -60000.0f : 1e-3f * w[i]);
}

static void check_shape(const wtype *t, int n, int rows, int xkind) {
    const size_t row_bytes = (size_t)(n / 32) * t->block_bytes;
    uint8_t *W = malloc(row_bytes * rows);
    float *wf = malloc(sizeof(float) * n), *wd = malloc(sizeof(float) * n * rows);
    float *x = malloc(sizeof(float) * n), *xd = malloc(sizeof(float) * n);
    void *xq = malloc((size_t)(n / 32) * sizeof(block_q8_1));
    float *y[3];
    for (int i = 0; i < 3; i++) y[i] = malloc(sizeof(float) * rows);
    for (int r = 0; r < rows; r++) {
        fill_row(wf, n, r, rows);
        t->quant(wf, W + r * row_bytes, n);
        t->dequant(W + r * row_bytes, wd + (size_t)r * n, n);
    }
    for (int i = 0; i < n; i++) x[i] = frand();
    if (xkind == 1) x[n - 1] = 1000.0f;                  /* outlier: the rest of its block rounds to 0 */
    if (xkind == 2) for (int i = 0; i < 32; i++) x[i] = 0.0f; /* an all-zero activation block */
    if (t->asym) {
        lq_quant_q8_1_ref(x, xq, n);
        lq_dequant_q8_1(xq, xd, n);
    } else {
        lq_quant_q8_0_ref(x, xq, n);
        lq_dequant_q8_0(xq, xd, n);
    }
    /* reference against the double-precision dot of the dequantized values */
    for (int r = 0; r < rows; r++) y[0][r] = NAN;
    const lq_qdot_info *ref = lq_qdot_legacy_lookup(t->type, 0);
    ref->rows(y[0], W, row_bytes, xq, n, 0, rows);
    double worst = 0.0;
    for (int r = 0; r < rows; r++) {
        double dot = 0.0, mag = 0.0, s_err = 0.0;
        for (int i = 0; i < n; i++) {
            dot += (double)wd[(size_t)r * n + i] * xd[i];
            mag += fabs((double)wd[(size_t)r * n + i] * xd[i]);
        }
        /* Q4_1/Q5_1 use the Q8_1 block's s = fp16(d * sum(qs)): allow its
         * rounding (half an fp16 ulp) times |m| per block */
        for (int b = 0; t->asym && b < n / 32; b++) {
            uint16_t m;
            memcpy(&m, W + r * row_bytes + b * t->block_bytes + 2, 2);
            s_err += fabs((double)lq_fp16_to_fp32(m) * lq_fp16_to_fp32(((const block_q8_1 *)xq)[b].s)) * 0x1p-11;
        }
        const double err = fmax(fabs(y[0][r] - dot) - s_err, 0.0) / (mag + 1e-30);
        if (!(err <= worst)) worst = err;
    }
    CHECK_MSG(worst < 2e-5, "%s n %d rows %d: ref vs double: worst relative error %g", t->name, n,
              rows, worst);
    /* SIMD: same bits as ref over the whole range and over subranges */
    for (int isa = 1; isa <= 2; isa++) {
        if (!isa_ok(isa)) continue;
        const lq_qdot_info *k = lq_qdot_legacy_lookup(t->type, isa);
        const int ranges[3][2] = {{0, rows}, {rows > 1 ? 1 : 0, rows}, {rows / 3, rows - rows / 4}};
        for (int q = 0; q < 3; q++) {
            const int r0 = ranges[q][0], r1 = ranges[q][1];
            for (int r = 0; r < rows; r++) y[isa][r] = NAN;
            run_rows(k, y[isa], W, row_bytes, rows, xq, n, r0, r1);
            long d = test_first_diff(y[isa] + r0, y[0] + r0, sizeof(float) * (r1 - r0));
            CHECK_MSG(d < 0, "%s isa %d n %d rows [%d,%d): row %ld differs: %.9g vs ref %.9g", t->name, isa, n, r0,
                      r1, r0 + d / 4, y[isa][r0 + d / 4], y[0][r0 + d / 4]);
            int untouched = 1;
            for (int r = 0; r < rows; r++)
                if ((r < r0 || r >= r1) && !isnan(y[isa][r])) untouched = 0;
            CHECK_MSG(untouched, "%s isa %d wrote outside [%d,%d)", t->name, isa, r0, r1);
        }
    }
    free(W), free(wf), free(wd), free(x), free(xd), free(xq);
    for (int i = 0; i < 3; i++) free(y[i]);
}

/* Raw blocks with every code and extreme scales (not reachable through
 * the quantizers): the integer parts must stay exact. */
static void check_raw_extremes(const wtype *t) {
    const int n = 32 * 40, rows = 5;
    const size_t row_bytes = (size_t)(n / 32) * t->block_bytes;
    uint8_t *W = malloc(row_bytes * rows);
    block_q8_1 *x1 = malloc(sizeof(block_q8_1) * (n / 32));
    block_q8_0 *x0 = malloc(sizeof(block_q8_0) * (n / 32));
    for (size_t i = 0; i < row_bytes * rows; i++) W[i] = (uint8_t)(frand() * 256.0f);
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < n / 32; b++) {
            uint8_t *p = W + r * row_bytes + b * t->block_bytes;
            if (t->type == LQ_TYPE_MXFP4) {
                p[0] = (uint8_t)(r == 0 ? 0 : r == 1 ? 1 : 100 + b); /* denormal scales too */
            } else {
                const uint16_t h = lq_fp32_to_fp16(r == 0 ? 65504.0f : 0.001f * (float)(b + 1));
                memcpy(p, &h, 2);
                if (t->asym) {
                    const uint16_t m = lq_fp32_to_fp16(-0.5f * (float)r);
                    memcpy(p + 2, &m, 2);
                }
                if (t->type == LQ_TYPE_Q8_0 && r == 1) memset(p + 2, 0x80, 32); /* all -128 */
            }
        }
    for (int b = 0; b < n / 32; b++) {
        const uint16_t d = lq_fp32_to_fp16(0.01f), s = lq_fp32_to_fp16(-3.0f);
        x0[b].d = d, x1[b].d = d, x1[b].s = s;
        for (int j = 0; j < 32; j++) {
            /* activations span the quantizers' range, [-127, 127] (qdot.h) */
            const int8_t v = (b % 3 == 0) ? -127 : (b % 3 == 1) ? 127 : (int8_t)(frand() * 127.0f);
            x0[b].qs[j] = v, x1[b].qs[j] = v;
        }
    }
    const void *xq = t->asym ? (const void *)x1 : (const void *)x0;
    float yr[5], ys[5];
    lq_qdot_legacy_lookup(t->type, 0)->rows(yr, W, row_bytes, xq, n, 0, rows);
    for (int isa = 1; isa <= 2; isa++) {
        if (!isa_ok(isa)) continue;
        for (int r = 0; r < rows; r++) ys[r] = NAN;
        run_rows(lq_qdot_legacy_lookup(t->type, isa), ys, W, row_bytes, rows, xq, n, 0, rows);
        CHECK_MSG(memcmp(ys, yr, sizeof yr) == 0, "%s isa %d: raw extreme blocks differ from ref", t->name, isa);
    }
    free(W), free(x0), free(x1);
}

static void check_lookup(void) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        for (int isa = 0; isa < 3; isa++) {
            const lq_qdot_info *k = lq_qdot_legacy_lookup(types[i].type, isa);
            CHECK(k != NULL && k->rows != NULL);
            if (k) CHECK_EQ_INT(k->act_type, types[i].asym ? LQ_TYPE_Q8_1 : LQ_TYPE_Q8_0);
        }
    CHECK(lq_qdot_legacy_lookup(LQ_TYPE_Q4_K, 0) == NULL);
    CHECK(lq_qdot_legacy_lookup(LQ_TYPE_F32, 2) == NULL);
    CHECK(lq_qdot_legacy_lookup(LQ_TYPE_Q4_0, 3) == NULL);
}

static void check_mxfp4_quant(void) {
    /* exact grid values: absmax 6 gives e = 127 (halved scale 0.5), so the
     * doubled E2M1 table times 0.5 is the E2M1 value itself */
    float x[32];
    const float grid[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
    for (int j = 0; j < 16; j++) x[j] = grid[j % 8] * (j < 8 ? 1.0f : -1.0f);
    for (int j = 16; j < 32; j++) x[j] = j == 16 ? 5.0f : j == 17 ? -5.0f : j == 18 ? 0.25f : j == 19 ? 0.75f : 0.0f;
    block_mxfp4 b;
    lq_quant_mxfp4_ref(x, &b, 32);
    CHECK_EQ_INT(b.e, 127);
    for (int j = 0; j < 8; j++) CHECK_EQ_INT(b.qs[j] & 0x0F, j);
    CHECK_EQ_INT(b.qs[8] & 0x0F, 0); /* -0: the first index with zero error */
    for (int j = 9; j < 16; j++) CHECK_EQ_INT(b.qs[j] & 0x0F, 8 + j - 8);
    /* ties keep the lower index: 5 -> 4 (index 6), -5 -> -4 (index 15 is -6,
     * index 14 is -4), 0.25 -> 0 (index 0), 0.75 -> 0.5 (index 1) */
    CHECK_EQ_INT(b.qs[0] >> 4, 6);
    CHECK_EQ_INT(b.qs[1] >> 4, 14);
    CHECK_EQ_INT(b.qs[2] >> 4, 0);
    CHECK_EQ_INT(b.qs[3] >> 4, 1);
    /* all-zero block: e = 0, codes 0 */
    memset(x, 0, sizeof x);
    lq_quant_mxfp4_ref(x, &b, 32);
    CHECK_EQ_INT(b.e, 0);
    int zero = 1;
    for (int j = 0; j < 16; j++) zero &= b.qs[j] == 0;
    CHECK(zero);
    /* absmax 8 -> e = 128 (scale 1): 8 is code 6 (value 8), 12 would clip */
    for (int j = 0; j < 32; j++) x[j] = j == 5 ? 8.0f : 0.0f;
    lq_quant_mxfp4_ref(x, &b, 32);
    CHECK_EQ_INT(b.e, 128);
    CHECK_EQ_INT(b.qs[5] & 0x0F, 6);
    /* round trip over many scales: each value within 4 halved-scale steps
     * (clipping above 1.5 * 2^floor(log2 absmax) included), and mostly much
     * closer: relative RMS error below 0.15 */
    const int n = 32 * 512;
    float *v = malloc(sizeof(float) * n), *back = malloc(sizeof(float) * n);
    block_mxfp4 *q = malloc(sizeof(block_mxfp4) * (n / 32));
    for (int i = 0; i < n; i++) v[i] = frand() * ldexpf(1.0f, (i / 32) % 40 - 20);
    lq_quant_mxfp4_ref(v, q, n);
    lq_dequant_mxfp4(q, back, n);
    int within = 1;
    double se = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        const float d = ldexpf(1.0f, q[i / 32].e - 128);
        if (!(fabsf(back[i] - v[i]) <= 4.0f * d)) within = 0;
        se += ((double)back[i] - v[i]) * ((double)back[i] - v[i]) / ((double)d * d);
        s2 += (double)v[i] * v[i] / ((double)d * d);
    }
    CHECK_MSG(within, "MXFP4 round trip: a value off by more than 4 scale steps");
    CHECK_MSG(sqrt(se / s2) < 0.15, "MXFP4 round trip relative RMS error %g", sqrt(se / s2));
    free(v), free(back), free(q);
}

int main(void) {
    check_lookup();
    check_mxfp4_quant();
    check_qh_pair();
    const int ns[] = {32, 64, 96, 544, 4096, 8224}; /* 8224: 257 blocks, past one column chunk */
    const int rowss[] = {1, 3, 7, 17, 33};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
            for (size_t b = 0; b < sizeof rowss / sizeof rowss[0]; b++)
                check_shape(&types[i], ns[a], rowss[b], (int)((a + b) % 3));
        check_raw_extremes(&types[i]);
        check_planar(&types[i]);
    }
    TEST_END();
}
