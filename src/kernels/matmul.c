/* Linear layers: threaded SIMD GEMV for one row, OpenBLAS sgemm for more. */
#include "kernels/matmul.h"

#include "core/lq.h"
#include "llmq/llmq.h"

#include <cblas.h>
#include <omp.h>
#include <strings.h>

/* OpenBLAS keeps one process-wide thread count; tell it only when it
 * changes (the call is not free). */
void lq_blas_threads(int n) {
    static int last = -1;
    if (__atomic_exchange_n(&last, n, __ATOMIC_RELAXED) != n) openblas_set_num_threads(n);
}

const char *llmq_blas_better_core(void) {
    /* OpenBLAS 0.3.21's cores with AVX2 + FMA kernels: a CPU it knows keeps its choice */
    static const char *const wide[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", "Excavator"};
    const char *core = openblas_get_corename();
    for (size_t i = 0; core && i < sizeof wide / sizeof wide[0]; i++)
        if (strcasecmp(core, wide[i]) == 0) return NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "Haswell" : NULL;
}

void lq_matmul_f32(float *Y, const float *X, const float *W, int n, int in, int out, int n_threads) {
    if (n_threads <= 0) n_threads = lq_n_cpus();
    if (n == 1) {
        lq_gemv_f32_fn gemv = lq_kernels_get()->gemv_f32;
        /* Rows split into chunks of 16 so each thread streams its own part of W. */
        int n_chunks = (out + 15) / 16;
        int nt = n_threads < n_chunks ? n_threads : n_chunks;
        if ((size_t)out * in < 32768) nt = 1;
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int c = 0; c < n_chunks; c++) {
            int r0 = c * 16, r1 = r0 + 16 < out ? r0 + 16 : out;
            gemv(Y, X, W, in, r0, r1);
        }
        return;
    }
    lq_blas_threads(n_threads);
    // Y (n, out) = X (n, in) . W^T, W (out, in)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, X, in, W, in, 0.0f, Y, out);
}
