/* Which qdot kernel runs a weight type: the families' tables, filtered by
 * what the CPU has and by LLMQ_ISA (same choice as lq_kernels_get). */
#include "kernels/qdot.h"

#include "kernels/matmul.h"

#include <string.h>

const lq_qdot_info *lq_qdot_get_isa(uint32_t t, int isa) {
    const lq_kernels *k = lq_kernels_get(); /* the best path the CPU (and LLMQ_ISA) allows */
    int best = strcmp(k->isa, "avx512") == 0 ? 2 : strcmp(k->isa, "avx2") == 0 ? 1 : 0;
    if (isa < 0 || isa > best) return NULL;
    const lq_qdot_info *q = lq_qdot_legacy_lookup(t, isa);
    if (!q) q = lq_qdot_kquants_lookup(t, isa);
    if (!q) q = lq_qdot_llmq_lookup(t, isa);
    if (!q) q = lq_qdot_float_lookup(t, isa);
    return q;
}

const lq_qdot_info *lq_qdot_get(uint32_t t) {
    const char *isa = lq_kernels_get()->isa;
    return lq_qdot_get_isa(t, strcmp(isa, "avx512") == 0 ? 2 : strcmp(isa, "avx2") == 0 ? 1 : 0);
}
