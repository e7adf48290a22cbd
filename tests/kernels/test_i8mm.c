/* W8A8 kernels: activation quantization against a double reference; every
 * GEMM path equal to the reference bit for bit (float outputs and int32
 * sums, NaN-prefilled, 1 and 2 threads, with and without bias) across
 * shapes with tails, zero rows, outliers and +-127 codes; the reference's
 * sums against a direct int64 dot of the I8_CH codes, and its outputs
 * against a double-precision float product within the quantization bound. */
#include "core/cpu.h"
#include "kernels/i8mm.h"
#include "quant/types_llmq.h"
#include "test.h"

#include <stdint.h>

static uint64_t rng = 7;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

/* rows x cols floats: random, then row 0 zeros, row 1 one outlier, row 2
 * +-amp (quantizes to +-127 codes) */
static float *make_matrix(int rows, int cols, float amp) {
    float *m = malloc((size_t)rows * cols * sizeof *m);
    for (size_t i = 0; i < (size_t)rows * cols; i++) m[i] = amp * frand();
    if (rows > 1)
        for (int k = 0; k < cols; k++) m[k] = 0.0f;
    if (rows > 2) m[(size_t)cols + (size_t)cols / 2] = 300.0f * amp;
    if (rows > 3)
        for (int k = 0; k < cols; k++) m[2 * (size_t)cols + k] = (k * 7 + 1) % 3 ? amp : -amp;
    return m;
}

static void check_quant(void) {
    enum { T = 5, K = 37 };
    float *X = make_matrix(T, K, 2.0f);
    lq_i8_act a;
    CHECK(lq_i8_act_alloc(&a, T, K));
    CHECK_EQ_INT(a.kp, 40);
    lq_i8_quant_dynamic(&a, X);
    CHECK(a.scale[0] == 0.0f);
    for (int t = 0; t < T; t++) {
        const float *x = X + (size_t)t * K;
        const int8_t *q = a.q + (size_t)t * a.kp;
        float amax = 0.0f;
        for (int k = 0; k < K; k++) amax = fmaxf(amax, fabsf(x[k]));
        CHECK(a.scale[t] == amax / 127.0f);
        double worst = 0.0;
        int top = 0;
        for (int k = 0; k < K; k++) {
            const double want = a.scale[t] != 0.0f ? (double)x[k] / a.scale[t] : 0.0;
            worst = fmax(worst, fabs(q[k] - want));
            CHECK(q[k] >= -127 && q[k] <= 127);
            if (abs(q[k]) == 127) top++;
        }
        for (int k = K; k < a.kp; k++) CHECK_EQ_INT(q[k], 0);
        CHECK_MSG(worst <= 0.5 + 1e-4, "row %d: code error %g", t, worst);
        if (t > 0) CHECK_MSG(top > 0, "row %d never reaches 127", t);
    }
    /* the outlier row keeps only the outlier at full scale */
    CHECK_EQ_INT(a.q[a.kp + K / 2], 127);

    /* static: fixed scale, clamping, round half to even */
    const float xs[8] = {2.5f, 3.5f, -2.5f, -0.5f, 1000.0f, -1000.0f, 126.5f, 0.49f};
    lq_i8_act b;
    CHECK(lq_i8_act_alloc(&b, 1, 8));
    lq_i8_quant_static(&b, xs, 1.0f);
    const int8_t want[8] = {2, 4, -2, 0, 127, -127, 126, 0};
    for (int k = 0; k < 8; k++) CHECK_EQ_INT(b.q[k], want[k]);
    CHECK(b.scale[0] == 1.0f);
    lq_i8_quant_static(&b, xs, 0.0f);
    CHECK(b.scale[0] == 0.0f && b.q[4] == 0);
    lq_i8_act_free(&b);
    lq_i8_act_free(&a);
    free(X);
}

/* weights -> I8_CH rows */
static uint8_t *to_i8ch(const float *Wf, int rows, int cols) {
    const size_t rb = 4 + (size_t)cols;
    uint8_t *buf = malloc((size_t)rows * rb);
    for (int n = 0; n < rows; n++) lq_quant_i8_ch_ref(Wf + (size_t)n * cols, buf + n * rb, cols);
    return buf;
}

static void run(int isa, float *Y, int32_t *acc, const lq_i8_act *X, const lq_i8_packed *W, const float *bias,
                int nt) {
    const size_t n = (size_t)X->rows * W->rows;
    for (size_t i = 0; i < n; i++) Y[i] = NAN, acc[i] = 0x7F7F7F7F;
    CHECK(lq_i8_gemm_isa(isa, Y, acc, X, W, bias, nt));
}

static void check_shape(int T, int N, int K) {
    const lq_cpu_features *f = lq_cpu();
    float *Xf = make_matrix(T, K, 3.0f), *Wf = make_matrix(N, K, 0.5f);
    float *bias = malloc((size_t)N * sizeof *bias);
    for (int n = 0; n < N; n++) bias[n] = frand();
    uint8_t *rows = to_i8ch(Wf, N, K);
    lq_i8_packed *W = lq_i8_pack(rows, N, K);
    lq_i8_act X;
    CHECK(W != NULL);
    CHECK(lq_i8_act_alloc(&X, T, K));
    if (!W) return;
    lq_i8_quant_dynamic(&X, Xf);

    const size_t n_out = (size_t)T * N;
    float *Yr = malloc(n_out * 4), *Yb = malloc(n_out * 4), *Y = malloc(n_out * 4);
    int32_t *Ar = malloc(n_out * 4), *A = malloc(n_out * 4);
    run(0, Yr, Ar, &X, W, NULL, 1);
    run(0, Yb, A, &X, W, bias, 2);

    /* the reference: exact sums of the I8_CH codes, outputs near the float product */
    const size_t rb = 4 + (size_t)K;
    long bad_acc = 0;
    double worst = 0.0, worst_exact = 0.0;
    for (int t = 0; t < T; t++) {
        const int8_t *xq = X.q + (size_t)t * X.kp;
        const float sx = X.scale[t];
        for (int n = 0; n < N; n++) {
            const int8_t *wq = (const int8_t *)(rows + n * rb + 4);
            float sw;
            memcpy(&sw, rows + n * rb, 4);
            int64_t dot = 0;
            double exact = 0.0, bound = 0.0;
            for (int k = 0; k < K; k++) {
                const double x = Xf[(size_t)t * K + k], w = Wf[(size_t)n * K + k];
                dot += (int64_t)xq[k] * wq[k];
                exact += x * w;
                bound += fabs(x) * sw * 0.5 + fabs(w) * sx * 0.5 + (double)sx * sw * 0.25;
            }
            const size_t o = (size_t)t * N + n;
            if (dot != Ar[o]) bad_acc++;
            const double deq = (double)dot * sx * sw;
            worst_exact = fmax(worst_exact, fabs(Yr[o] - deq) / (fabs(deq) + 1e-30));
            const double err = fabs(Yr[o] - exact) / (bound * (1 + 1e-6) + fabs(exact) * 1e-6 + 1e-30);
            if (!(err <= worst)) worst = err; /* NaN too */
            if (Yb[o] != Yr[o] + bias[n]) bad_acc++;
        }
    }
    CHECK_MSG(bad_acc == 0, "T %d N %d K %d: %ld reference sums (or bias adds) differ", T, N, K, bad_acc);
    CHECK_MSG(worst_exact <= 4e-7, "T %d N %d K %d: %g from the dequantized product", T, N, K, worst_exact);
    CHECK_MSG(worst <= 1.0, "T %d N %d K %d: error %g x the quantization bound", T, N, K, worst);

    /* every SIMD path, 1 and 2 threads, with and without bias: same bits */
    const bool has[3] = {true, f->avx2, f->avx2 && f->avx512f && f->avx512bw && f->avx512vnni};
    for (int isa = 1; isa <= 2; isa++) {
        CHECK(lq_i8_isa_available(isa) == has[isa]);
        if (!has[isa]) continue;
        for (int nt = 1; nt <= 2; nt++) {
            run(isa, Y, A, &X, W, NULL, nt);
            CHECK_MSG(memcmp(Y, Yr, n_out * 4) == 0 && memcmp(A, Ar, n_out * 4) == 0,
                      "isa %d T %d N %d K %d threads %d: first float diff at byte %ld, int at %ld", isa, T, N, K,
                      nt, test_first_diff(Y, Yr, n_out * 4), test_first_diff(A, Ar, n_out * 4));
            run(isa, Y, A, &X, W, bias, nt);
            CHECK_MSG(memcmp(Y, Yb, n_out * 4) == 0, "isa %d T %d N %d K %d threads %d (bias): diff at byte %ld",
                      isa, T, N, K, nt, test_first_diff(Y, Yb, n_out * 4));
        }
    }
    /* the dispatching entry point */
    for (size_t i = 0; i < n_out; i++) Y[i] = NAN;
    CHECK(lq_i8_gemm(Y, &X, W, bias, 0));
    CHECK(memcmp(Y, Yb, n_out * 4) == 0);

    lq_i8_act_free(&X);
    lq_i8_pack_free(W);
    free(Xf), free(Wf), free(bias), free(rows), free(Yr), free(Yb), free(Y), free(Ar), free(A);
}

/* A -128 code (outside the contract) is read as -127 by every path. */
static void check_minus128(void) {
    enum { K = 8 };
    uint8_t row[4 + K];
    const float s = 0.25f;
    memcpy(row, &s, 4);
    for (int k = 0; k < K; k++) row[4 + k] = (uint8_t)(k == 3 ? 0x80 : k);
    lq_i8_packed *W = lq_i8_pack(row, 1, K);
    CHECK(W && W->w[lq_i8_packed_index(W, 0, 3)] == -127);
    lq_i8_act X;
    CHECK(lq_i8_act_alloc(&X, 1, K));
    const float x[K] = {0, 0, 0, -127, 0, 0, 0, 0};
    lq_i8_quant_dynamic(&X, x);
    for (int isa = 0; isa <= 2 && W; isa++) {
        if (!lq_i8_isa_available(isa)) continue;
        float y;
        int32_t acc;
        CHECK(lq_i8_gemm_isa(isa, &y, &acc, &X, W, NULL, 1));
        CHECK_EQ_INT(acc, 127 * 127);
        CHECK(y == (float)(127 * 127) * (1.0f * 0.25f));
    }
    CHECK(lq_i8_pack(row, 1, 0) == NULL && lq_i8_pack(row, 0, K) == NULL);
    lq_i8_act_free(&X);
    lq_i8_pack_free(W);
}

int main(void) {
    check_quant();
    check_minus128();
    static const int shapes[][3] = {
        {1, 1, 1},      {1, 16, 4},    {1, 50, 4096},  {1, 200, 576},  {3, 17, 5},   {3, 64, 64},
        {7, 129, 4},    {17, 100, 300}, {17, 33, 1000}, {6, 70, 257},  {13, 64, 260}, {100, 70, 260},
        {200, 16, 130}, {97, 257, 520}, {4, 1000, 96},  {2, 3, 4096},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) check_shape(shapes[s][0], shapes[s][1], shapes[s][2]);
    TEST_END();
}
