/* Q2_K and Q3_K blocks recoded for the AVX2 kernels (planar.h): the
 * reorder both ways (their dequantizers of recoded rows are AVX2 code, in
 * qdot_kquants_avx2.c). */
#include "kernels/planar.h"
#include "quant/blocks.h"

#include <stddef.h>
#include <string.h>

/* the codes (and Q3_K's high bits) from one order of values to the other */
static void kq_recode(uint8_t *qs, uint8_t *hm, int to_kernel) {
    uint8_t code[256], high[256]; /* by value */
    for (int k = 0; k < 8; k++)
        for (int l = 0; l < 32; l++) {
            const int v = to_kernel ? 32 * k + l : lq_kq_value_at(k, l);
            code[v] = qs[32 * (k / 4) + l] >> (2 * (k % 4)) & 3;
            high[v] = hm ? hm[l] >> k & 1 : 0;
        }
    memset(qs, 0, 64);
    if (hm) memset(hm, 0, 32);
    for (int k = 0; k < 8; k++)
        for (int l = 0; l < 32; l++) {
            const int v = to_kernel ? lq_kq_value_at(k, l) : 32 * k + l;
            qs[32 * (k / 4) + l] |= (uint8_t)(code[v] << (2 * (k % 4)));
            if (hm) hm[l] |= (uint8_t)(high[v] << k);
        }
}

void lq_q2_k_recode(uint8_t *blk, int to_kernel) { kq_recode(blk + offsetof(block_q2_K, qs), NULL, to_kernel); }

void lq_q3_k_recode(uint8_t *blk, int to_kernel) {
    kq_recode(blk + offsetof(block_q3_K, qs), blk + offsetof(block_q3_K, hmask), to_kernel);
}
