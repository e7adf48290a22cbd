/* Which qdot kernel runs a weight type: the families' tables, filtered by
 * what the CPU has and by LLMQ_ISA (same choice as lq_kernels_get). */
#include "kernels/qdot.h"

#include "kernels/matmul.h"


const lq_qdot_info *lq_qdot_get_isa(uint32_t t, int isa) {
    /* no faster path than the CPU (and LLMQ_ISA) allows */
    if (isa < 0 || isa > lq_kernels_get()->level) return NULL;
    const lq_qdot_info *q = lq_qdot_legacy_lookup(t, isa);
    if (!q) q = lq_qdot_kquants_lookup(t, isa);
    if (!q) q = lq_qdot_llmq_lookup(t, isa);
    if (!q) q = lq_qdot_float_lookup(t, isa);
    return q;
}

const lq_qdot_info *lq_qdot_get(uint32_t t) { return lq_qdot_get_isa(t, lq_kernels_get()->level); }
