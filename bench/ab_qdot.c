/* A/B of two builds of the AVX2 GEMV kernels, or with AB_ISA=avx512 the
 * AVX-512 ones (scripts/ab_qdot.sh builds
 * the A_ ones from an earlier revision): each rep measures the read
 * bandwidth, then times one GEMV with A and one with B over the same matrix
 * (each after an untimed one, the order alternating); medians of each and
 * of the per-rep ratios. Threads split the rows in
 * chunks of 32 as the model does. B reads planar rows where its kernel
 * does; A too for the types listed in AB_A_PLANAR (comma-separated;
 * ab_qdot.sh lists those of A's revision).
 * usage: ab_qdot TYPES [ROWS [REPS [THREADS [COLS]]]] (16384 15 2 4096) */
#include "algo/rtn.h"
#include "core/lq.h"
#include "kernels/planar.h"
#include "kernels/qdot.h"
#include "kernels/qdot_llmq.h"
#include "quant/types.h"

#include "bench_util.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A_DECL(k) void A_##k(float *, const void *, size_t, const void *, int, int, int);
A_DECL(f16) A_DECL(bf16) A_DECL(q4_0) A_DECL(q4_1) A_DECL(q5_0) A_DECL(q5_1) A_DECL(q8_0) A_DECL(iq4_nl)
A_DECL(mxfp4) A_DECL(q2_k) A_DECL(q3_k) A_DECL(q4_k) A_DECL(q5_k) A_DECL(q6_k)
#define A_LLMQ_INT(name, a, b, c) A_DECL(llmq_##name)
#define A_LLMQ_F32(name, a, b) A_DECL(llmq_##name)
LQ_LLMQ_INT_TYPES(A_LLMQ_INT) LQ_LLMQ_F32_TYPES(A_LLMQ_F32)

/* A's own recodes of the recoded K-quants (planar.h): its revision's
 * layout may differ from B's; weak, for revisions without them */
void A_lq_q2_k_recode_avx2(uint8_t *) __attribute__((weak));
void A_lq_q3_k_recode_avx2(uint8_t *) __attribute__((weak));
void A_lq_q4_k_recode_avx2(uint8_t *) __attribute__((weak));
void A_lq_q5_k_recode_avx2(uint8_t *) __attribute__((weak));
static void (*a_recode(uint32_t t))(uint8_t *) {
    switch (t) {
    case LQ_TYPE_Q2_K: return A_lq_q2_k_recode_avx2;
    case LQ_TYPE_Q3_K: return A_lq_q3_k_recode_avx2;
    case LQ_TYPE_Q4_K: return A_lq_q4_k_recode_avx2;
    case LQ_TYPE_Q5_K: return A_lq_q5_k_recode_avx2;
    default: return NULL;
    }
}
/* A's planar packing (its planar.c): B's plan, A's code (the struct's
 * first fields agree across revisions; recoded blocks: the recodes above) */
void *A_lq_planar_packed(const lq_planar *, const void *, size_t, int) __attribute__((weak));

static lq_qdot_rows_fn a_kernel(const char *name) {
    static const struct { const char *name; lq_qdot_rows_fn fn; } table[] = {
        {"F16", A_f16},   {"BF16", A_bf16}, {"Q4_0", A_q4_0},     {"Q4_1", A_q4_1},   {"Q5_0", A_q5_0},
        {"Q5_1", A_q5_1}, {"Q8_0", A_q8_0}, {"IQ4_NL", A_iq4_nl}, {"MXFP4", A_mxfp4}, {"Q2_K", A_q2_k},
        {"Q3_K", A_q3_k}, {"Q4_K", A_q4_k}, {"Q5_K", A_q5_k},     {"Q6_K", A_q6_k},
#define A_ROW_INT(name, a, b, c) {#name, A_llmq_##name},
#define A_ROW_F32(name, a, b) {#name, A_llmq_##name},
        LQ_LLMQ_INT_TYPES(A_ROW_INT) LQ_LLMQ_F32_TYPES(A_ROW_F32)
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(table[i].name, name)) return table[i].fn;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: ab_qdot TYPES [ROWS [REPS [THREADS [COLS]]]]\n");
        return 2;
    }
    const int rows = argc > 2 ? atoi(argv[2]) : 16384, reps = argc > 3 ? atoi(argv[3]) : 15;
    const int nt = argc > 4 ? atoi(argv[4]) : 2, n = argc > 5 ? atoi(argv[5]) : 4096;
    if (rows < 1 || reps < 1 || reps > 256 || nt < 1 || n < 32 || n % 32) {
        fprintf(stderr, "ab_qdot: bad sizes (COLS a multiple of 32)\n");
        return 2;
    }
    const size_t nbw = (size_t)1 << 28; /* 1 GiB read-sum */
    float *big = malloc(nbw * 4), *src = malloc((size_t)rows * n * 4), *xf = malloc((size_t)n * 4);
    if (!big || !src || !xf) return 1;
    for (size_t i = 0; i < nbw; i++) big[i] = 1.0f;
    srand(1);
    for (size_t i = 0; i < (size_t)rows * n; i++)
        src[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * (i % 97 == 0 ? 8.0f : 1.0f);
    for (int i = 0; i < n; i++) xf[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    char *types = strdup(argv[1]);
    for (char *name = strtok(types, ","); name; name = strtok(NULL, ",")) {
        uint32_t t = 0; /* GGML's ids, then llmq's */
        while (t < LQ_TYPE_LLMQ_END && !(lq_type_get(t) && lq_type_get(t)->name && !strcmp(lq_type_get(t)->name, name))) t++;
        const char *isa = getenv("AB_ISA");
        const int isa_index = isa && !strcmp(isa, "avx512") ? 2 : 1;
        const lq_qdot_info *b = t < LQ_TYPE_LLMQ_END ? lq_qdot_get_isa(t, isa_index) : NULL, *ref = b ? lq_qdot_get_isa(t, 0) : NULL;
        const lq_qdot_rows_fn a = a_kernel(name);
        if (!b || !a || !lq_row_size(t, n)) {
            printf("%-7s no %s kernel in both builds (or CPU), or COLS not a multiple of its block\n", name,
                   isa_index == 2 ? "AVX-512" : "AVX2");
            continue;
        }
        const size_t rb = lq_row_size(t, n), xbytes = b->act_type == LQ_TYPE_F32 ? (size_t)n * 4 : lq_row_size(b->act_type, n);
        uint8_t *W = malloc(rb * rows), *xq = malloc(xbytes);
        float *y0 = malloc((size_t)rows * 4), *ya = malloc((size_t)rows * 4), *yb = malloc((size_t)rows * 4);
        lq_err err = {0};
        if (lq_rtn_quantize(src, rows, n, t, W, nt, &err) != LLMQ_OK) return 1; /* as llmq quantize */
        lq_rtn_row_fn(b->act_type)(xf, xq, n);
        const int check = rows < 64 ? rows : 64;
        ref->rows(y0, W, rb, xq, n, 0, check);
        uint8_t *Wb = W, *Wa = W; /* the rows B and A read */
        if (b->planar) {
            Wb = lq_planar_packed(b->planar, W, rb, rows);
            void (*recode)(uint8_t *) = b->planar->recode ? a_recode(t) : NULL;
            if (has_name(getenv("AB_A_PLANAR"), name) && recode) {
                const size_t bs = lq_planar_block_bytes(b->planar); /* one field: GGUF blocks, recoded */
                Wa = lq_alloc_aligned(rb * rows);
                memcpy(Wa, W, rb * rows);
                for (size_t o = 0; o < rb * rows; o += bs) recode(Wa + o);
            } else if (has_name(getenv("AB_A_PLANAR"), name)) {
                /* revisions before unit_codes had int3_pairs there: INT3 1, else 0 */
                lq_planar pa = *b->planar;
                if (!getenv("AB_A_UNIT_CODES")) pa.unit_codes = pa.unit_codes == 3;
                Wa = A_lq_planar_packed ? A_lq_planar_packed(&pa, W, rb, rows) : Wb;
            }
        }
        bench_gemv_team(a, ya, Wa, rb, xq, n, rows, nt);
        bench_gemv_team(b->rows, yb, Wb, rb, xq, n, rows, nt);
        const int a_ok = !memcmp(y0, ya, (size_t)check * 4), b_ok = !memcmp(y0, yb, (size_t)check * 4);
        double ta[256], tb[256], ratio[256], bw[256];
        for (int k = 0; k < reps; k++) {
            bw[k] = bench_read_bw(big, nbw * 4, nt, 1);
            /* each timed call follows an untimed one of the same kernel, and
             * the order alternates: a matrix that fits in cache is warm for
             * both, one that does not is cold for both */
            for (int i = 0; i < 2; i++) {
                const int first_a = (k + i) % 2 == 0;
                lq_qdot_rows_fn f = first_a ? a : b->rows;
                const uint8_t *Wk = first_a ? Wa : Wb;
                bench_gemv_team(f, first_a ? ya : yb, Wk, rb, xq, n, rows, nt);
                const double t0 = now();
                bench_gemv_team(f, first_a ? ya : yb, Wk, rb, xq, n, rows, nt);
                *(first_a ? &ta[k] : &tb[k]) = now() - t0;
            }
            ratio[k] = ta[k] / tb[k];
        }
        const double bytes = (double)rb * rows;
        const double ga = bytes / bench_median(ta, reps) / 1e9, gb = bytes / bench_median(tb, reps) / 1e9;
        const double rbw = bench_median(bw, reps);
        printf("%-7s A %6.1f GB/s  B %6.1f GB/s (%3.0f%% of read %5.1f GB/s)  B/A %.2fx  bits A %s B %s\n", name, ga,
               gb, 100 * gb / rbw, rbw, bench_median(ratio, reps), a_ok ? "ok" : "DIFFER", b_ok ? "ok" : "DIFFER");
        if (Wa != W && Wa != Wb) lq_free_aligned(Wa);
        if (Wb != W) lq_free_aligned(Wb);
        free(W), free(xq), free(y0), free(ya), free(yb);
    }
    free(types), free(big), free(src), free(xf);
    return 0;
}
