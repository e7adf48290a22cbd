/* The AVX-512 table's K-quant kernels: qdot_kquants_avx2.c's kernels (of
 * recoded blocks, planar.h, and Q6_K's GGUF ones), built again with
 * AVX-512's flags (EVEX forms, 32 vector registers). On the one AVX-512
 * CPU measured, an AMD Zen 4 (which runs a zmm operation as two ymm
 * halves), they took 0.76-0.81x the cycles of the zmm VNNI kernels of GGUF
 * blocks that were here for Q2_K .. Q5_K (the recode saves more work than
 * the wider vectors) and streamed a 16384 x 4096 GEMV 1.19-1.45x as fast;
 * Q6_K level (docs/KERNELS.md, "AVX-512 on Zen 4").
 * YMM_TYPES Q2_K,Q3_K,Q4_K,Q5_K,Q6_K (scripts/ab_qdot.sh reads this line) */
#define LQ_YMM_ON_AVX512 1
#define LQ_DOT4_VNNI 1 /* lq_dot4 as vpdpbusd (simd_avx2.h) */
#include "qdot_kquants_avx2.c"
