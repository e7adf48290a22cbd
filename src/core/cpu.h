/* CPU feature detection, probed once. */
#ifndef LQ_CPU_H
#define LQ_CPU_H

#include <stdbool.h>

typedef struct lq_cpu_features {
    bool avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512vnni, avx512bf16, avxvnni;
} lq_cpu_features;

const lq_cpu_features *lq_cpu(void);

#endif
