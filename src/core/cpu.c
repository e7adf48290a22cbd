#include "core/cpu.h"

#include <cpuid.h>

static lq_cpu_features probe(void) {
    lq_cpu_features f = {0};
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512vnni = __builtin_cpu_supports("avx512vnni");
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) f.f16c = (c >> 29) & 1;
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
        f.avxvnni = (a >> 4) & 1;
        f.avx512bf16 = (a >> 5) & 1;
    }
#ifdef LLMQ_EMU512 /* the AVX-512 kernels run on SIMDe (CMakeLists.txt) */
    f.avx512f = f.avx512bw = f.avx512vl = f.avx512vnni = f.avx512bf16 = f.avx2;
#endif
    return f;
}

const lq_cpu_features *lq_cpu(void) {
    /* Probing is idempotent, so a benign race on first use is harmless; the
     * once-flag keeps the cost to one CPUID sequence. */
    static lq_cpu_features feats;
    static int done;
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        feats = probe();
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
    return &feats;
}
