/* The read bandwidth the benchmarks compare the GEMV kernels with: every
 * byte of a buffer summed by threads streaming contiguous parts, with
 * 32-byte vector loads where the CPU has AVX2. (Until 2026-12-03 it read
 * one 8-byte word per 64-byte line; on a Zen 4 that measured 20-34 GB/s
 * where reading every byte moved 39-50 in most passes and ggml's F16 GEMV
 * 30-31: shares against it were about 1.5x too high. docs/KERNELS.md, end
 * of "AVX-512 on Zen 4".) */
#ifndef LQ_EVAL_READ_SUM_H
#define LQ_EVAL_READ_SUM_H

#include <immintrin.h>
#include <omp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* the 64-bit lane sums of p[0, n), n a multiple of 128 */
__attribute__((target("avx2"))) static inline uint64_t lq_read_sum_avx2(const uint8_t *p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < n; i += 128) {
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
    }
    uint64_t t[4];
    _mm256_storeu_si256((__m256i *)t, _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
    return t[0] + t[1] + t[2] + t[3];
}

static inline uint64_t lq_read_sum_words(const uint8_t *p, size_t n) {
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i < n; i += 32) {
        uint64_t v[4];
        memcpy(v, p + i, 32);
        s0 += v[0], s1 += v[1], s2 += v[2], s3 += v[3];
    }
    return s0 + s1 + s2 + s3;
}

/* every byte of p[0, n) read by nt threads (a contiguous part each; the
 * last n % 128 bytes are not read); the sum, so the reads stay */
static inline uint64_t lq_read_sum(const void *p, size_t n, int nt) {
    const size_t blocks = n / 128;
    const int avx2 = __builtin_cpu_supports("avx2");
    uint64_t s = 0;
    #pragma omp parallel num_threads(nt) reduction(+ : s)
    {
        const size_t th = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
        const size_t b0 = blocks * id / th, b1 = blocks * (id + 1) / th;
        const uint8_t *q = (const uint8_t *)p + 128 * b0;
        s += avx2 ? lq_read_sum_avx2(q, 128 * (b1 - b0)) : lq_read_sum_words(q, 128 * (b1 - b0));
    }
    return s;
}

#endif
