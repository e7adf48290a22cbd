/* Chooses the kernel set once from CPUID; LLMQ_ISA=ref|avx2|avx512 forces a
 * path (falling back to ref when the CPU lacks it). */
#include "core/cpu.h"
#include "core/lq.h"
#include "kernels/matmul.h"
#include "quant/quantize.h"

#include <stdlib.h>
#include <string.h>

static const lq_kernels k_ref = {"ref", 0, lq_gemv_f32_ref, lq_attn_row_f32_ref, lq_attn_row_f16_ref,
                                 lq_attn_row_q8_ref, lq_softmax_ref, lq_swiglu_ref, lq_quant_q8_0_ref, NULL, NULL, NULL, NULL};
static const lq_kernels k_avx2 = {"avx2", 1, lq_gemv_f32_avx2, lq_attn_row_f32_avx2, lq_attn_row_f16_avx2,
                                  lq_attn_row_q8_ref, lq_softmax_avx2, lq_swiglu_avx2, lq_quant_q8_0_ref, NULL,
                                  lq_attn_part_f32_avx2, lq_attn_part_f16_avx2, lq_attn_part_q8_avx2};
static const lq_kernels k_avx512 = {"avx512", 2, lq_gemv_f32_avx512, lq_attn_row_f32_avx512, lq_attn_row_f16_avx512,
                                    lq_attn_row_q8_avx512, lq_softmax_avx512, lq_swiglu_avx512,
                                    lq_quant_q8_0_avx512, lq_attn_causal_avx512, NULL, NULL, NULL};
/* the AVX-512 Q8 attention needs VNNI (vpdpbusd): without it, the AVX2
 * chunks rather than the scalar reference */
static const lq_kernels k_avx512_novnni = {"avx512", 2, lq_gemv_f32_avx512, lq_attn_row_f32_avx512,
                                           lq_attn_row_f16_avx512, lq_attn_row_q8_ref, lq_softmax_avx512,
                                           lq_swiglu_avx512, lq_quant_q8_0_avx512, lq_attn_causal_avx512, NULL, NULL,
                                           lq_attn_part_q8_avx2};

static const lq_kernels *choose(void) {
    const lq_cpu_features *f = lq_cpu();
    bool has2 = f->avx2 && f->fma && f->f16c;
    bool has512 = has2 && f->avx512f && f->avx512bw && f->avx512vl;
    const char *force = getenv("LLMQ_ISA");
    if (force && strcmp(force, "ref") == 0) return &k_ref;
    if (force && strcmp(force, "avx2") == 0) return has2 ? &k_avx2 : &k_ref;
    if (has512) return f->avx512vnni ? &k_avx512 : &k_avx512_novnni;
    return has2 ? &k_avx2 : &k_ref;
}

const lq_kernels *lq_kernels_get(void) {
    static const lq_kernels *chosen;
    const lq_kernels *k = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (!k) {
        k = choose();
        __atomic_store_n(&chosen, k, __ATOMIC_RELEASE);
    }
    return k;
}

const char *llmq_isa_name(void) { return lq_kernels_get()->isa; }
