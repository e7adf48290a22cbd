/* The AVX-512 table's kernels of llmq's formats: qdot_llmq_avx2.c's
 * kernels (planar rows: INT3 octets, INT2 quads, groups of 64 and 128),
 * built again with AVX-512's flags (EVEX forms, 32 vector registers). On
 * the one AVX-512 CPU measured, an AMD Zen 4 (which runs a zmm operation
 * as two ymm halves), they streamed a 16384 x 4096 GEMV 0.97-1.41x as fast
 * as the zmm VNNI kernels that were here (INT3 1.18-1.36x, INT8 1.24-1.41x;
 * NF4 0.93-0.97x and FP8 0.90-1.04x, within the noise of one kernel source
 * for all): docs/KERNELS.md, "AVX-512 on Zen 4".
 * YMM_TYPES LLMQ (all of qdot_llmq.h's; scripts/ab_qdot.sh reads this line) */
#define LQ_YMM_ON_AVX512 1
#define LQ_DOT4_VNNI 1 /* lq_dot4 as vpdpbusd (simd_avx2.h) */
#include "qdot_llmq_avx2.c"
