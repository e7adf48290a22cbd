/* Which qdot kernel runs a weight type: the families' tables, filtered by
 * what the CPU has and by LLMQ_ISA (same choice as lq_kernels_get). */
#include "kernels/qdot.h"

#include "core/cpu.h"
#include "kernels/matmul.h"

/* The ISA index the qdot tables may use: the AVX-512 kernels take
 * vpdpbusd, so an AVX-512 CPU without VNNI runs the AVX2 ones. */
static int qdot_level(void) {
    const int level = lq_kernels_get()->level;
    return level == 2 && !lq_cpu()->avx512vnni ? 1 : level;
}

const lq_qdot_info *lq_qdot_get_isa(uint32_t t, int isa) {
    /* no faster path than the CPU (and LLMQ_ISA) allows */
    if (isa < 0 || isa > qdot_level()) return NULL;
    const lq_qdot_info *q = lq_qdot_legacy_lookup(t, isa);
    if (!q) q = lq_qdot_kquants_lookup(t, isa);
    if (!q) q = lq_qdot_llmq_lookup(t, isa);
    if (!q) q = lq_qdot_float_lookup(t, isa);
    return q;
}

const lq_qdot_info *lq_qdot_get(uint32_t t) { return lq_qdot_get_isa(t, qdot_level()); }
