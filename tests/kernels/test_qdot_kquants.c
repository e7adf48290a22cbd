/* K-quant GEMV kernels (kernels/qdot.h): the reference against a double
 * dequantize-then-dot, and the AVX2 / AVX-512 kernels against the reference
 * bit for bit, over quantized random rows, raw random blocks (every code,
 * scale and sign), zero rows, outliers and huge activations. */
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

typedef struct {
    const char *name;
    uint32_t type;
    size_t block_bytes;
    void (*quantize)(const float *x, void *y, int64_t n);
    void (*dequant)(const void *src, float *dst, int64_t n);
    uint16_t *(*fp16_fields)(void *block, int *count); /* d (and dmin) of a block */
} kq_type;

static uint16_t *q2_fields(void *b, int *c) { *c = 2; return &((block_q2_K *)b)->d; }
static uint16_t *q3_fields(void *b, int *c) { *c = 1; return &((block_q3_K *)b)->d; }
static uint16_t *q4_fields(void *b, int *c) { *c = 2; return &((block_q4_K *)b)->d; }
static uint16_t *q5_fields(void *b, int *c) { *c = 2; return &((block_q5_K *)b)->d; }
static uint16_t *q6_fields(void *b, int *c) { *c = 1; return &((block_q6_K *)b)->d; }

static const kq_type TYPES[] = {
    {"q2_k", LQ_TYPE_Q2_K, sizeof(block_q2_K), lq_quant_q2_k_ref, lq_dequant_q2_k, q2_fields},
    {"q3_k", LQ_TYPE_Q3_K, sizeof(block_q3_K), lq_quant_q3_k_ref, lq_dequant_q3_k, q3_fields},
    {"q4_k", LQ_TYPE_Q4_K, sizeof(block_q4_K), lq_quant_q4_k_ref, lq_dequant_q4_k, q4_fields},
    {"q5_k", LQ_TYPE_Q5_K, sizeof(block_q5_K), lq_quant_q5_k_ref, lq_dequant_q5_k, q5_fields},
    {"q6_k", LQ_TYPE_Q6_K, sizeof(block_q6_K), lq_quant_q6_k_ref, lq_dequant_q6_k, q6_fields},
};
#define NTYPES (int)(sizeof TYPES / sizeof TYPES[0])

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}
static float frand(void) { return (float)rnd() / 2147483648.0f - 1.0f; } /* [-1, 1) */
static float gauss(void) { return frand() + frand() + frand() + frand(); }

static int isa_ok[3];
static const char *ISA_NAME[3] = {"ref", "avx2", "avx512"};

/* One case: W (rows x n of type t) against xq; checks every ISA against
 * ref bit for bit over [r0, r1) and that rows outside stay untouched. */
static void check_bits(const kq_type *t, const void *W, const void *xq, int n, int rows, int r0, int r1,
                       float *yref, const char *what) {
    const size_t row_bytes = (size_t)n / QK_K * t->block_bytes;
    float *y = malloc((size_t)rows * sizeof *y);
    for (int r = 0; r < rows; r++) yref[r] = NAN;
    lq_qdot_kquants_lookup(t->type, 0)->rows(yref, W, row_bytes, xq, n, r0, r1);
    for (int r = 0; r < rows; r++)
        CHECK_MSG(isnan(yref[r]) == (r < r0 || r >= r1), "%s %s ref row %d of [%d,%d)", t->name, what, r, r0, r1);
    for (int isa = 1; isa < 3; isa++) {
        if (!isa_ok[isa]) continue;
        const lq_qdot_info *info = lq_qdot_kquants_lookup(t->type, isa);
        CHECK(info && info->act_type == LQ_TYPE_Q8_K);
        if (!info) continue;
        memcpy(y, yref, (size_t)rows * sizeof *y);
        for (int r = r0; r < r1; r++) y[r] = NAN;
        /* the rows recoded, for a kernel that reads them so */
        void *P = info->planar ? lq_planar_packed(info->planar, W, row_bytes, rows) : NULL;
        info->rows(y, P ? P : W, row_bytes, xq, n, r0, r1);
        lq_free_aligned(P);
        long d = test_first_diff(y, yref, (size_t)rows * sizeof *y);
        CHECK_MSG(d < 0, "%s %s n=%d rows=%d [%d,%d) %s differs at row %ld: %.9g vs ref %.9g", t->name, what, n,
                  rows, r0, r1, ISA_NAME[isa], d / 4, y[d < 0 ? 0 : d / 4], yref[d < 0 ? 0 : d / 4]);
    }
    free(y);
}

/* ref against a double dot of the dequantized rows: only float rounding may
 * differ, bounded relative to sum |w x|. */
static void check_against_double(const kq_type *t, const void *W, const void *xq, int n, int r0, int r1,
                                 const float *yref, const char *what) {
    const size_t row_bytes = (size_t)n / QK_K * t->block_bytes;
    float *wf = malloc((size_t)n * sizeof *wf), *xf = malloc((size_t)n * sizeof *xf);
    lq_dequant_q8_k(xq, xf, n);
    for (int r = r0; r < r1; r++) {
        t->dequant((const uint8_t *)W + (size_t)r * row_bytes, wf, n);
        double dot = 0, mag = 0;
        for (int i = 0; i < n; i++) dot += (double)wf[i] * xf[i], mag += fabs((double)wf[i] * xf[i]);
        CHECK_MSG(fabs(yref[r] - dot) <= 1e-5 * mag + 1e-30, "%s %s n=%d row %d: ref %.9g vs double %.9g (mag %g)",
                  t->name, what, n, r, yref[r], dot, mag);
    }
    free(wf), free(xf);
}

/* rows of quantized weights from float values made by gen(i) */
static void *quantize_rows(const kq_type *t, const float *wf, int n, int rows) {
    const size_t row_bytes = (size_t)n / QK_K * t->block_bytes;
    uint8_t *W = malloc(row_bytes * (size_t)rows);
    for (int r = 0; r < rows; r++) t->quantize(wf + (size_t)r * n, W + (size_t)r * row_bytes, n);
    return W;
}

static void run_case(const kq_type *t, const float *wf, const float *xf, int n, int rows, int r0, int r1,
                     const char *what) {
    void *W = quantize_rows(t, wf, n, rows);
    block_q8_K *xq = malloc((size_t)n / QK_K * sizeof *xq);
    lq_quant_q8_k_ref(xf, xq, n);
    float *yref = malloc((size_t)rows * sizeof *yref);
    check_bits(t, W, xq, n, rows, r0, r1, yref, what);
    check_against_double(t, W, xq, n, r0, r1, yref, what);
    free(W), free(xq), free(yref);
}

static void test_random_shapes(const kq_type *t) {
    static const int shapes[][4] = {/* n, rows, r0, r1 */
                                    {256, 1, 0, 1},     {256, 7, 0, 7},       {512, 33, 3, 31},
                                    {4096, 19, 0, 19},  {4096, 35, 17, 34},   {256 * 17, 5, 1, 5},
                                    {256 * 70, 3, 0, 3}, {256 * 33, 21, 5, 20}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int n = shapes[s][0], rows = shapes[s][1];
        float *wf = malloc((size_t)n * rows * sizeof *wf), *xf = malloc((size_t)n * sizeof *xf);
        for (size_t i = 0; i < (size_t)n * rows; i++) wf[i] = gauss() * (1 + (float)(i % 97) / 50);
        for (int i = 0; i < n; i++) xf[i] = gauss() * (i % 13 == 0 ? 4.0f : 1.0f);
        run_case(t, wf, xf, n, rows, shapes[s][2], shapes[s][3], "random");
        free(wf), free(xf);
    }
}

/* zero rows, one huge outlier per row, huge activations */
static void test_special_values(const kq_type *t) {
    const int n = 1024, rows = 6;
    float *wf = calloc((size_t)n * rows, sizeof *wf), *xf = malloc((size_t)n * sizeof *xf);
    for (int i = 0; i < n; i++) xf[i] = gauss();
    run_case(t, wf, xf, n, rows, 0, rows, "zero weights");
    for (size_t i = 0; i < (size_t)n * rows; i++) wf[i] = gauss() * 0.01f;
    for (int r = 0; r < rows; r++) wf[(size_t)r * n + (size_t)(r * 173 % n)] = (r & 1 ? -1 : 1) * 3e4f;
    run_case(t, wf, xf, n, rows, 0, rows, "outlier");
    for (int i = 0; i < n; i++) xf[i] = gauss() * 1e25f;
    run_case(t, wf, xf, n, rows, 0, rows, "huge activations");
    for (int i = 0; i < n; i++) xf[i] = 0;
    run_case(t, wf, xf, n, rows, 1, rows, "zero activations");
    free(wf), free(xf);
}

/* a finite fp16 with exponent in a moderate range, either sign */
static uint16_t rand_fp16(void) {
    const uint32_t e = 5 + rnd() % 20, m = rnd() & 0x3FF, s = rnd() & 1;
    return (uint16_t)(s << 15 | e << 10 | m);
}

/* Raw random bytes as blocks: every code and scale pattern, activations
 * down to -128 with consistent bsums; the first rows all ones (every code
 * and scale at its largest) against blocks of activations all -128 or all
 * 127, the corner where int16 sums in a kernel would saturate first.
 * Bit-exactness only. */
static void test_raw_blocks(const kq_type *t) {
    const int n = 256 * 19, rows = 37, nb = n / QK_K;
    const size_t row_bytes = (size_t)nb * t->block_bytes;
    uint8_t *W = malloc(row_bytes * rows);
    for (size_t i = 0; i < row_bytes * rows; i++) W[i] = i < 4 * row_bytes ? 0xFF : (uint8_t)rnd();
    for (int b = 0; b < nb * rows; b++) {
        int count;
        uint16_t *f = t->fp16_fields(W + (size_t)b * t->block_bytes, &count);
        for (int c = 0; c < count; c++) {
            uint16_t h = rand_fp16();
            memcpy(f + c, &h, 2);
        }
    }
    block_q8_K *xq = malloc((size_t)nb * sizeof *xq);
    for (int b = 0; b < nb; b++) {
        xq[b].d = frand() * 0.05f;
        for (int j = 0; j < QK_K; j++)
            xq[b].qs[j] = (int8_t)(b % 5 == 1 ? -128 : b % 5 == 2 ? 127 : b % 3 == 0 ? (rnd() & 1 ? 127 : -128) : (int)(rnd() & 0xFF) - 128);
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += xq[b].qs[16 * j + l];
            xq[b].bsums[j] = (int16_t)s;
        }
    }
    float *yref = malloc(rows * sizeof *yref);
    check_bits(t, W, xq, n, rows, 0, rows, yref, "raw blocks");
    check_bits(t, W, xq, n, rows, 9, 30, yref, "raw blocks");
    /* the ref itself against the double path on the raw blocks */
    check_against_double(t, W, xq, n, 9, 30, yref, "raw blocks");
    free(W), free(xq), free(yref);
}

/* Code of value v (0..255) of a GGUF block of type t (Q2_K .. Q5_K): its
 * 2-bit field (| Q3_K's hmask bit << 2) or nibble (| Q5_K's qh bit << 4) */
static int gguf_code(uint32_t t, const uint8_t *blk, int v) {
    if (t == LQ_TYPE_Q4_K || t == LQ_TYPE_Q5_K) {
        const int c = blk[offsetof(block_q4_K, qs) + (t == LQ_TYPE_Q5_K ? 32 : 0) + 32 * (v / 64) + v % 32] >> (4 * (v % 64 / 32)) & 15;
        return t == LQ_TYPE_Q4_K ? c : c | (blk[offsetof(block_q5_K, qh) + v % 32] >> (v / 32) & 1) << 4;
    }
    const size_t qs = t == LQ_TYPE_Q2_K ? offsetof(block_q2_K, qs) : offsetof(block_q3_K, qs);
    const int c = blk[qs + 32 * (v / 128) + v % 32] >> (2 * (v / 32 % 4)) & 3;
    return t == LQ_TYPE_Q2_K ? c : c | (blk[offsetof(block_q3_K, hmask) + v % 32] >> (v / 32) & 1) << 2;
}

/* ... and the code a recoded block (planar.h) holds at position (k, l) */
static int recoded_code(uint32_t t, const uint8_t *blk, int k, int l) {
    if (t == LQ_TYPE_Q3_K) return lq_q3_k_code_at(blk + offsetof(block_q3_K, hmask), blk + offsetof(block_q3_K, qs), k, l);
    if (t == LQ_TYPE_Q2_K) return blk[offsetof(block_q2_K, qs) + 32 * (k / 4) + l] >> (2 * (k % 4)) & 3;
    const size_t qs = t == LQ_TYPE_Q4_K ? offsetof(block_q4_K, qs) : offsetof(block_q5_K, qs);
    const int c = blk[qs + 32 * (k / 2) + l] >> (4 * (k % 2)) & 15;
    return t == LQ_TYPE_Q4_K ? c : c | (blk[offsetof(block_q5_K, qh) + l] >> k & 1) << 4;
}

/* A kernel's recoded blocks (planar.h) go back to the GGUF bytes, and the
 * recode is the position map it documents: value v's code moves to the
 * (k, l) with lq_kq_value_at(k, l) = v (Q2_K, Q3_K) or lq_q4_k_value_at. */
static void test_recode(const kq_type *t) {
    const lq_qdot_info *k = lq_qdot_kquants_lookup(t->type, 1);
    if (!isa_ok[1] || !k || !k->planar) return; /* the recode is AVX2 code */
    CHECK(k->planar->recode && lq_planar_block_bytes(k->planar) == t->block_bytes);
    const size_t nb = 5, bs = t->block_bytes;
    uint8_t *src = malloc(nb * bs), *row = malloc(nb * bs), *back = malloc(nb * bs);
    for (size_t i = 0; i < nb * bs; i++) src[i] = (uint8_t)rnd();
    lq_planar_pack(k->planar, row, src, nb);
    const int k45 = t->type == LQ_TYPE_Q4_K || t->type == LQ_TYPE_Q5_K;
    int moved = 1;
    for (size_t b = 0; b < nb; b++)
        for (int kk = 0; kk < 8; kk++)
            for (int l = 0; l < 32; l++) {
                const int v = k45 ? lq_q4_k_value_at(kk, l) : lq_kq_value_at(kk, l);
                moved &= recoded_code(t->type, row + b * bs, kk, l) == gguf_code(t->type, src + b * bs, v);
            }
    CHECK_MSG(moved, "%s: recoded codes not where lq_kq_value_at puts them", t->name);
    /* the plan's dequantizer == the GGUF one (finite scales: random fp16 fields) */
    for (size_t b = 0; b < nb; b++) {
        int count;
        uint16_t *f = t->fp16_fields(src + b * bs, &count);
        for (int c = 0; c < count; c++) {
            const uint16_t h = rand_fp16();
            memcpy(f + c, &h, 2);
        }
    }
    lq_planar_pack(k->planar, row, src, nb);
    float *y0 = malloc(nb * QK_K * sizeof *y0), *y1 = malloc(nb * QK_K * sizeof *y1);
    lq_type_get(t->type)->to_float(src, y0, (int64_t)nb * QK_K);
    k->planar->to_float(row, y1, (int64_t)nb * QK_K);
    CHECK_MSG(memcmp(y0, y1, nb * QK_K * sizeof *y0) == 0, "%s: the plan's dequantizer differs from the GGUF one", t->name);
    free(y0), free(y1);
    lq_planar_unpack(k->planar, back, row, nb, 0, nb);
    CHECK_MSG(memcmp(back, src, nb * bs) == 0, "%s: recoded blocks do not unpack to GGUF", t->name);
    free(src), free(row), free(back);
}

int main(void) {
    const lq_cpu_features *f = lq_cpu();
    isa_ok[0] = 1;
    isa_ok[1] = f->avx2 && f->fma && f->f16c;
    isa_ok[2] = f->avx512f && f->avx512bw && f->avx512vl && f->avx512vnni && isa_ok[1];
    for (int isa = 1; isa < 3; isa++)
        if (!isa_ok[isa]) printf("note: CPU lacks %s, its kernels are not tested\n", ISA_NAME[isa]);
    CHECK(lq_qdot_kquants_lookup(LQ_TYPE_Q8_0, 0) == NULL);
    CHECK(lq_qdot_kquants_lookup(LQ_TYPE_Q4_K, 3) == NULL);
    for (int i = 0; i < NTYPES; i++) {
        test_random_shapes(&TYPES[i]);
        test_special_values(&TYPES[i]);
        test_raw_blocks(&TYPES[i]);
        test_recode(&TYPES[i]);
    }
    TEST_END();
}
