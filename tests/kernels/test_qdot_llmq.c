/* GEMV kernels of llmq's formats: the reference against a double
 * dequantize-then-dot, and the AVX2 / AVX-512 kernels against the reference
 * with memcmp, on several rows (an all-zero row, an outlier row), lengths
 * with odd unit counts and tails, NaN-prefilled outputs and row subranges.
 * LLMQ_BENCH=1 also times 16384 x 4096 matrices on 2 threads. */
#include "core/cpu.h"
#include "core/lq.h"
#include "kernels/qdot.h"
#include "kernels/planar.h"
#include "kernels/qdot_llmq.h"
#include "quant/dequant.h"
#include "quant/quantize.h"
#include "quant/types_llmq.h"
#include "test.h"

#include <immintrin.h> /* MXCSR */
#include <omp.h>
#include <stdint.h>

static uint64_t rng = 7;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

enum { ROWS = 6 };

/* the rows as kernel k reads them: W itself, or packed (planar.h) */
static uint8_t *kernel_rows(const lq_qdot_info *k, uint8_t *W, size_t rb, int rows) {
    if (!k->planar) return W;
    uint8_t *p = lq_planar_packed(k->planar, W, rb, rows);
    CHECK(p != NULL);
    return p ? p : W;
}

static bool isa_ok(int isa) {
    const lq_cpu_features *f = lq_cpu();
    if (isa == 1) return f->avx2 && f->fma && f->f16c;
    if (isa == 2) return f->avx512f && f->avx512bw && f->avx512vl && f->avx512vnni && f->avx2 && f->f16c;
    return true;
}

static void check_type(uint32_t t, int n) {
    const lq_type_traits *tr = lq_type_get(t);
    const lq_qdot_info *ref = lq_qdot_llmq_lookup(t, 0);
    const size_t rb = lq_row_size(t, n);
    float *w = malloc((size_t)ROWS * n * sizeof *w), *wd = malloc((size_t)n * sizeof *wd);
    float *x = malloc((size_t)n * sizeof *x), *xd = malloc((size_t)n * sizeof *xd);
    uint8_t *W = malloc((size_t)ROWS * rb), *xq = malloc((size_t)n * 4 + 64);
    for (int i = 0; i < ROWS * n; i++) w[i] = frand() + 0.3f * sinf((float)i * 0.01f);
    for (int i = 0; i < n; i++) {
        w[n + i] = 0.0f;      /* row 1: all zeros */
        x[i] = frand();
    }
    w[2 * n + n / 2] = 50.0f; /* row 2: one outlier */
    for (int r = 0; r < ROWS; r++) tr->from_float_ref(w + (size_t)r * n, W + (size_t)r * rb, n);
    if (ref->act_type == LQ_TYPE_Q8_0) {
        lq_quant_q8_0_ref(x, xq, n);
        lq_dequant_q8_0(xq, xd, n);
    } else {
        memcpy(xq, x, (size_t)n * sizeof *x);
        memcpy(xd, x, (size_t)n * sizeof *x);
    }
    float y_ref[ROWS];
    for (int r = 0; r < ROWS; r++) y_ref[r] = NAN;
    ref->rows(y_ref, W, rb, xq, n, 0, ROWS);
    for (int r = 0; r < ROWS; r++) {
        tr->to_float(W + (size_t)r * rb, wd, n);
        double dot = 0.0, mag = 0.0;
        for (int i = 0; i < n; i++) {
            dot += (double)wd[i] * xd[i];
            mag += fabs((double)wd[i] * xd[i]);
        }
        CHECK_MSG(fabs(y_ref[r] - dot) <= 1e-5 * mag + 1e-30, "%s n %d row %d: ref %.9g, double %.9g (sum|wx| %g)",
                  tr->name, n, r, y_ref[r], dot, mag);
    }
    CHECK_MSG(y_ref[1] == 0.0f, "%s: zero row gives %g", tr->name, y_ref[1]);
    for (int isa = 1; isa <= 2; isa++) {
        if (!isa_ok(isa)) continue;
        const lq_qdot_info *k = lq_qdot_llmq_lookup(t, isa);
        CHECK(k && k->act_type == ref->act_type);
        uint8_t *Wk = kernel_rows(k, W, rb, ROWS);
        float y[ROWS + 1];
        for (int r = 0; r <= ROWS; r++) y[r] = NAN;
        k->rows(y, Wk, rb, xq, n, 0, ROWS);
        CHECK_MSG(memcmp(y, y_ref, sizeof y_ref) == 0, "%s isa %d n %d differs from ref (row 0: %.9g vs %.9g)",
                  tr->name, isa, n, y[0], y_ref[0]);
        CHECK(isnan(y[ROWS])); /* nothing past r1 */
        for (int r = 0; r <= ROWS; r++) y[r] = NAN;
        k->rows(y, Wk, rb, xq, n, 2, 5); /* a subrange writes only its rows */
        CHECK_MSG(isnan(y[0]) && isnan(y[1]) && isnan(y[5]) && memcmp(y + 2, y_ref + 2, 3 * sizeof(float)) == 0,
                  "%s isa %d: rows 2..5", tr->name, isa);
        if (Wk != W) lq_free_aligned(Wk);
    }
    free(w);
    free(wd);
    free(x);
    free(xd);
    free(W);
    free(xq);
}

/* FP8 activations beside the plain ones: the AVX2 kernel multiplies them
 * by 2^112 where no value reaches 2^16 and the CPU keeps subnormal inputs
 * (it decodes codes as value 2^-120), else decodes through fp16 */
enum { ACTS_PLAIN, ACTS_BIG, ACTS_TINY, ACTS_INF, ACTS_DAZ, ACTS_END, ACTS_SAT }; /* SAT: integer formats, past END's loop */

/* ACTS_SAT's rows: every code at its largest magnitude (8-bit symmetric:
 * -128) under scales of 1 and mins of 0, the corner where a kernel's int16
 * sums would saturate first (against activations all 127 or all -127) */
static void max_codes_row(uint32_t t, uint8_t *row, size_t rb) {
    int bits, group;
    bool asym;
    const uint8_t code = (t == LQ_TYPE_I8_CH || (lq_llmq_group_params(t, &bits, &group, &asym) && bits == 8 && !asym)) ? 0x80 : 0xFF;
    memset(row, code, rb);
    const uint16_t one = 0x3C00, zero = 0;
    if (t == LQ_TYPE_I8_CH) {
        const float s = 1.0f;
        memcpy(row, &s, 4);
    } else if (t == LQ_TYPE_NF4) { /* blocks of 64: an fp16 absmax, 32 code bytes */
        for (size_t o = 0; o + 34 <= rb; o += 34) memcpy(row + o, &one, 2);
    } else if (lq_llmq_group_params(t, &bits, &group, &asym)) {
        const size_t hdr = asym ? 4 : 2, gbytes = hdr + (size_t)(group / 32) * lq_llmq_unit_bytes(bits);
        for (size_t o = 0; o + gbytes <= rb; o += gbytes) {
            memcpy(row + o, &one, 2);
            if (asym) memcpy(row + o + 2, &zero, 2);
        }
    }
}

/* Raw bytes: every code (E4M3 NaN codes 0x7F / 0xFF included, which the
 * SIMD kernels leave to the reference) and random scales, infinities and
 * NaN among them; the kernels must still give the reference's bits. */
static void check_raw(uint32_t t, int n, int acts) {
    const lq_qdot_info *ref = lq_qdot_llmq_lookup(t, 0);
    const bool f8 = t >= LQ_TYPE_F8_E4M3_CH;
    const size_t rb = lq_row_size(t, n);
    uint8_t *W = malloc((size_t)ROWS * rb);
    float *x = malloc((size_t)n * sizeof *x);
    uint8_t *xq = malloc((size_t)n * 4 + 64);
    for (size_t i = 0; i < (size_t)ROWS * rb; i++) W[i] = (uint8_t)(frand() * 128.0f + 128.0f);
    for (int i = 0; i < n; i++) x[i] = frand() * (acts == ACTS_TINY ? 0x1p-120f : 1.0f);
    if (acts == ACTS_SAT) {
        for (int i = 0; i < n; i++) x[i] = (i / 32) % 2 ? -1.0f : 1.0f; /* Q8_0 blocks of all 127, all -127 */
        for (int r = 0; r < 3; r++) max_codes_row(t, W + (size_t)r * rb, rb);
    }
    if (acts == ACTS_BIG) x[n / 3] = 0x1p16f;
    if (acts == ACTS_INF) x[n - 1] = -INFINITY;
    if (ref->act_type == LQ_TYPE_Q8_0) lq_quant_q8_0_ref(x, xq, n);
    else memcpy(xq, x, (size_t)n * sizeof *x);
    const unsigned csr = _mm_getcsr();
    if (acts == ACTS_DAZ) _mm_setcsr(csr | 0x40); /* both kernels under the same mode */
    const int nan_row = 3; /* FP8: rows 0-2 without NaN codes; 3 with one; 4, 5 random */
    if (f8) {
        for (int r = 0; r < nan_row; r++)
            for (size_t i = 0; i < rb; i++)
                if ((W[r * rb + i] | 0x80) == 0xFF) W[r * rb + i] ^= 1;
        W[nan_row * rb + 5] = 0x7F; /* a code byte in every FP8 layout (headers: 4 bytes, or 2 per group) */
    }
    float y_ref[ROWS], y[ROWS];
    ref->rows(y_ref, W, rb, xq, n, 0, ROWS);
    if (f8) CHECK_MSG(isnan(y_ref[nan_row]), "%s: a NaN code gives %g", lq_type_name(t), y_ref[nan_row]);
    for (int isa = 1; isa <= 2; isa++) {
        if (!isa_ok(isa)) continue;
        for (int r = 0; r < ROWS; r++) y[r] = -1.0f;
        const lq_qdot_info *k = lq_qdot_llmq_lookup(t, isa);
        uint8_t *Wk = kernel_rows(k, W, rb, ROWS);
        k->rows(y, Wk, rb, xq, n, 0, ROWS);
        if (Wk != W) lq_free_aligned(Wk);
        int same = 0; /* the same bits, or NaN in both (NaN payloads carry no meaning) */
        for (int r = 0; r < ROWS; r++) same += (isnan(y[r]) && isnan(y_ref[r])) || !memcmp(y + r, y_ref + r, sizeof *y);
        CHECK_MSG(same == ROWS, "%s isa %d n %d acts %d: raw bytes differ from ref", lq_type_name(t), isa, n, acts);
    }
    _mm_setcsr(csr);
    free(W);
    free(x);
    free(xq);
}

/* INT3 pairs and octets, INT2 quads: every value of the units where
 * lq_int3_pair's, lq_int3_octet's and lq_int2_quads' comments put it;
 * planar INT2 and INT3 rows (odd unit counts included) unpack to the GGUF
 * bytes, whole and from odd starts */
static int i3_gguf_value(const uint8_t *u, int v) {
    const int k = v % 16, nib = k < 8 ? u[k] & 15 : u[k - 8] >> 4;
    return v < 16 ? nib & 7 : (u[8 + k % 4] >> (2 * (k / 4)) & 3) | (nib >> 3) << 2;
}

static int i3_pair_value(const uint8_t *p, int h, int v) { /* unit h (0: a, 1: b) */
    const int k = v % 16, nib = p[k] >> (4 * h) & 15;
    return v < 16 ? nib & 7 : (p[16 + k % 8] >> (4 * h + 2 * (k / 8)) & 3) | (nib >> 3) << 2;
}

static void check_planar_codes(void) {
    for (int rep = 0; rep < 500; rep++) {
        uint8_t u[2][12], p[24], back[2][12];
        for (int i = 0; i < 24; i++) u[i / 12][i % 12] = (uint8_t)(frand() * 128.0f + 128.0f);
        lq_int3_pair(p, u[0], u[1]);
        int bad = 0;
        for (int h = 0; h < 2; h++)
            for (int v = 0; v < 32; v++) bad += i3_pair_value(p, h, v) != i3_gguf_value(u[h], v);
        lq_int3_unpair(p, back[0], back[1]);
        CHECK_MSG(bad == 0 && memcmp(back, u, sizeof u) == 0, "INT3 pair %d: %d values moved", rep, bad);
    }
    for (int rep = 0; rep < 200; rep++) { /* octets: set s lane i = unit 2 (s / 2) + i / 16, value 16 (s % 2) + i % 16 */
        uint8_t u[96], o[96], back[96];
        for (int i = 0; i < 96; i++) u[i] = (uint8_t)(frand() * 128.0f + 128.0f);
        lq_int3_octet(o, u);
        int bad = 0;
        for (int s = 0; s < 8; s++)
            for (int i = 0; i < 32; i++)
                bad += lq_int3_octet_code(o, s, i) != i3_gguf_value(u + 12 * (2 * (s / 2) + i / 16), 16 * (s % 2) + i % 16);
        lq_int3_unoctet(o, back);
        CHECK_MSG(bad == 0 && memcmp(back, u, sizeof u) == 0, "INT3 octet %d: %d values moved", rep, bad);
    }
    for (int rep = 0; rep < 200; rep++) { /* INT2 quads: unit u's value v = 8 f + i in bits 2 f of its byte i */
        uint8_t u[64], q[64], back[64];
        for (int i = 0; i < 64; i++) u[i] = (uint8_t)(frand() * 128.0f + 128.0f);
        lq_int2_quads(q, u);
        int bad = 0;
        for (int unit = 0; unit < 8; unit++)
            for (int v = 0; v < 32; v++) bad += lq_int2_quads_code(q, unit, v) != (u[8 * unit + v % 8] >> (2 * (v / 8)) & 3);
        lq_int2_unquads(q, back);
        CHECK_MSG(bad == 0 && memcmp(back, u, sizeof u) == 0, "INT2 quads %d: %d values moved", rep, bad);
    }
    for (uint32_t t = LQ_TYPE_I2_G32S; t <= LQ_TYPE_I3_G128A; t++) { /* INT2, then INT3 */
        const lq_qdot_info *k = lq_qdot_llmq_lookup(t, 1);
        const int want = t <= LQ_TYPE_I2_G128A ? 2 : 3;
        CHECK_MSG(k && k->planar && k->planar->unit_codes == want, "%s: AVX2 planar rows", lq_type_name(t));
        if (!k || !k->planar) continue;
        const size_t bs = lq_planar_block_bytes(k->planar), nb = 4096 / 32 * 32 / lq_type_get(t)->blck_size + 1;
        uint8_t *src = malloc(nb * bs), *row = malloc(nb * bs), *back = malloc(nb * bs);
        for (size_t i = 0; i < nb * bs; i++) src[i] = (uint8_t)(frand() * 128.0f + 128.0f);
        lq_planar_pack(k->planar, row, src, nb);
        lq_planar_unpack(k->planar, back, row, nb, 0, nb);
        CHECK_MSG(memcmp(back, src, nb * bs) == 0, "%s: planar row does not unpack to its blocks", lq_type_name(t));
        for (size_t b0 = 0; b0 < 6; b0++) {
            memset(back, 0, nb * bs);
            lq_planar_unpack(k->planar, back, row, nb, nb - 1 - 2 * b0, 1 + b0);
            CHECK_MSG(memcmp(back, src + (nb - 1 - 2 * b0) * bs, (1 + b0) * bs) == 0, "%s: blocks from %zu unpack wrongly",
                      lq_type_name(t), nb - 1 - 2 * b0);
        }
        free(src), free(row), free(back);
        /* the plan's dequantizer == the GGUF one, odd unit counts included */
        CHECK_MSG(k->planar->to_float != NULL, "%s: a planar dequantizer", lq_type_name(t));
        if (!k->planar->to_float) continue;
        const int blk = lq_type_get(t)->blck_size, sizes[3] = {blk, 3 * blk, 4096 + blk};
        for (int si = 0; si < 3; si++) {
            const int n = sizes[si];
            const size_t rb = lq_row_size(t, n);
            float *w = malloc((size_t)n * sizeof *w), *y0 = malloc((size_t)n * sizeof *y0), *y1 = malloc((size_t)n * sizeof *y1);
            uint8_t *q = malloc(rb), *qp = malloc(rb);
            for (int i = 0; i < n; i++) w[i] = frand() * (i % 61 == 0 ? 9.0f : 1.0f);
            lq_type_get(t)->from_float_ref(w, q, n);
            lq_planar_pack(k->planar, qp, q, rb / bs);
            lq_type_get(t)->to_float(q, y0, n);
            k->planar->to_float(qp, y1, n);
            CHECK_MSG(memcmp(y0, y1, (size_t)n * sizeof *y0) == 0, "%s n %d: planar dequantizer differs", lq_type_name(t), n);
            free(w), free(y0), free(y1), free(q), free(qp);
        }
    }
}

static void check_lookup(void) {
    for (uint32_t t = LQ_TYPE_LLMQ_FIRST; t < LQ_TYPE_LLMQ_END; t++)
        for (int isa = 0; isa <= 2; isa++) {
            const lq_qdot_info *k = lq_qdot_llmq_lookup(t, isa);
            CHECK_MSG(k && k->rows, "type %u isa %d", t, isa);
            const bool flt = t >= LQ_TYPE_F8_E4M3_CH;
            CHECK(k && k->act_type == (flt ? LQ_TYPE_F32 : LQ_TYPE_Q8_0));
        }
    CHECK(lq_qdot_llmq_lookup(LQ_TYPE_Q4_0, 0) == NULL);
    CHECK(lq_qdot_llmq_lookup(LQ_TYPE_LLMQ_END, 0) == NULL);
    CHECK(lq_qdot_llmq_lookup(LQ_TYPE_I4_G32S, 3) == NULL);
    CHECK(lq_qdot_llmq_lookup(LQ_TYPE_I4_G32S, -1) == NULL);
}

/* rows x 4096 on nt threads: GB/s of weight bytes read (16384 rows: the
 * memory-bound case; 128 rows on 1 thread: in-cache compute speed) */
static void bench(uint32_t t, int isa, int rows, int nt) {
    const int n = 4096;
    const lq_qdot_info *k = lq_qdot_llmq_lookup(t, isa);
    const size_t rb = lq_row_size(t, n);
    uint8_t *W = lq_alloc_aligned((size_t)rows * rb);
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)rows * sizeof *y);
    uint8_t *xq = malloc((size_t)n * 4 + 64);
    float *row = malloc((size_t)n * sizeof *row);
    for (int r = 0; r < rows; r++) {
        for (int i = 0; i < n; i++) row[i] = frand();
        lq_type_get(t)->from_float_ref(row, W + (size_t)r * rb, n);
    }
    for (int i = 0; i < n; i++) x[i] = frand();
    if (k->act_type == LQ_TYPE_Q8_0) lq_quant_q8_0_ref(x, xq, n);
    else memcpy(xq, x, (size_t)n * sizeof *x);
    uint8_t *Wk = kernel_rows(k, W, rb, rows);
    double best = 1e9;
    for (int rep = 0; rep < (rows < 1024 ? 200 : 60); rep++) {
        const double t0 = lq_now();
        #pragma omp parallel num_threads(nt)
        {
            const int id = omp_get_thread_num(), part = rows / nt;
            k->rows(y, Wk, rb, xq, n, id * part, id * part + part);
        }
        const double dt = lq_now() - t0;
        if (dt < best) best = dt;
    }
    printf("%-13s isa %d, %5d rows, %d threads: %.3f ms, %.1f GB/s of weights\n", lq_type_name(t), isa, rows, nt, best * 1e3,
           (double)rows * rb / best / 1e9);
    if (Wk != W) lq_free_aligned(Wk);
    lq_free_aligned(W);
    free(x);
    free(y);
    free(xq);
    free(row);
}

int main(void) {
    check_lookup();
    check_planar_codes();
    for (int k = 0; k < 16; k++) /* the integer book the NF4 kernels use is the fp16 book */
        CHECK_MSG((float)lq_nf4_book_i16[k] * 0x1p-14f == lq_nf4_values[k] && lq_nf4_book_i16[k] % 4 == 0, /* (AVX2 takes it in 2^-12) */
                  "NF4 entry %d", k);
    for (uint32_t t = LQ_TYPE_LLMQ_FIRST; t < LQ_TYPE_LLMQ_END; t++) {
        const int blk = lq_type_get(t)->blck_size, unit = blk < 32 ? 32 : blk;
        /* 9 units of 32: one batch of eight (an odd count) and a tail;
         * 25: AVX-512's batch of 16 and a tail of 9 */
        const int sizes[] = {unit, 3 * unit, 7 * unit, 9 * unit, 25 * unit, 4096};
        for (int s = 0; s < 6; s++) check_type(t, sizes[s]);
        check_raw(t, 3 * unit, ACTS_PLAIN);
        check_raw(t, 4096, ACTS_PLAIN);
        if (t < LQ_TYPE_F8_E4M3_CH) check_raw(t, 4096 + 2 * unit, ACTS_SAT);
        if (t >= LQ_TYPE_F8_E4M3_CH)
            for (int a = ACTS_BIG; a < ACTS_END; a++) check_raw(t, 4 * unit, a);
        if (t == LQ_TYPE_F8_E4M3_CH) { /* float activations: any length */
            check_type(t, 5);
            check_type(t, 37);
            check_raw(t, 77, ACTS_PLAIN);
        }
    }
    if (getenv("LLMQ_BENCH")) {
        const uint32_t types[] = {LQ_TYPE_I4_G32S, LQ_TYPE_I4_G64S, LQ_TYPE_I4_G128S, LQ_TYPE_I4_G128A,
                                  LQ_TYPE_I8_G32S, LQ_TYPE_I8_G128S, LQ_TYPE_I8_CH, LQ_TYPE_I2_G64S,
                                  LQ_TYPE_I3_G64S, LQ_TYPE_NF4, LQ_TYPE_F8_E4M3_G128};
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            for (int isa = 1; isa <= 2; isa++)
                if (isa_ok(isa)) {
                    bench(types[i], isa, 128, 1);
                    /* LLMQ_BENCH=2: the memory-bound case on 2 threads (=3: on 1) */
                    const int mode = atoi(getenv("LLMQ_BENCH"));
                    if (mode > 1) bench(types[i], isa, 16384, mode == 3 ? 1 : 2);
                }
    }
    TEST_END();
}
