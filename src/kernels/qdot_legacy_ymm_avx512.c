/* The AVX-512 table's 32-value block kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
 * IQ4_NL, MXFP4): qdot_legacy_avx2.c's kernels of planar rows, built again
 * with AVX-512's flags (EVEX forms, 32 vector registers). On the one AVX-512 CPU
 * measured, an AMD Zen 4 (which runs a zmm operation as two ymm halves),
 * they streamed a 16384 x 4096 GEMV 1.02-1.35x as fast as the zmm VNNI
 * kernels of GGUF rows that were here (docs/KERNELS.md, "AVX-512 on Zen
 * 4"); IQ4_NL's zmm kernel stayed until its vpdpbusd form here (code + 128
 * from a table) streamed 0.99-1.29x as fast (docs/KERNELS.md, "Eleventh pass").
 * YMM_TYPES Q4_0,Q4_1,Q5_0,Q5_1,Q8_0,IQ4_NL,MXFP4 (scripts/ab_qdot.sh reads this line) */
#define LQ_YMM_ON_AVX512 1
#define LQ_DOT4_VNNI 1 /* lq_dot4 as vpdpbusd (simd_avx2.h) */
#include "qdot_legacy_avx2.c"
