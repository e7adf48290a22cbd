/* 256-value super-block ("k-quant") formats to float, as ggml's
 * dequantize_row_q*_K do. */
#include "quant/blocks.h"
#include "quant/dequant.h"
#include "quant/types.h"

#include <string.h>

#define FP16(x) lq_fp16_to_fp32(x)

void lq_dequant_q2_k(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++) {
        block_q2_K b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const float d = FP16(b.d), min = FP16(b.dmin);
        const uint8_t *q = b.qs;
        int is = 0;
        for (int k = 0; k < QK_K; k += 128) {
            int shift = 0;
            for (int j = 0; j < 4; ++j) {
                uint8_t sc = b.scales[is++];
                float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                for (int l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l] >> shift) & 3)) - ml;
                sc = b.scales[is++];
                dl = d * (sc & 0xF), ml = min * (sc >> 4);
                for (int l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l + 16] >> shift) & 3)) - ml;
                shift += 2;
            }
            q += 32;
        }
    }
}

void lq_dequant_q3_k(const void *src, float *y, int64_t n) {
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        block_q3_K b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const float d_all = FP16(b.d);
        const uint8_t *q = b.qs, *hm = b.hmask;
        uint8_t m = 1;
        uint32_t aux[4];
        memcpy(aux, b.scales, 12);
        uint32_t tmp = aux[2];
        aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
        aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
        int8_t scales[16];
        memcpy(scales, aux, 16);
        int is = 0;
        for (int k = 0; k < QK_K; k += 128) {
            int shift = 0;
            for (int j = 0; j < 4; ++j) {
                float dl = d_all * (scales[is++] - 32);
                for (int l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l + 0] >> shift) & 3) - ((hm[l + 0] & m) ? 0 : 4));
                dl = d_all * (scales[is++] - 32);
                for (int l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
                shift += 2;
                m <<= 1;
            }
            q += 32;
        }
    }
}

/* 6-bit scale and min j of a Q4_K/Q5_K super-block. */
static void get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

void lq_dequant_q4_k(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++) {
        block_q4_K b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const uint8_t *q = b.qs;
        const float d = FP16(b.d), min = FP16(b.dmin);
        int is = 0;
        uint8_t sc, m;
        for (int j = 0; j < QK_K; j += 64) {
            get_scale_min_k4(is + 0, b.scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            get_scale_min_k4(is + 1, b.scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
            q += 32;
            is += 2;
        }
    }
}

void lq_dequant_q5_k(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++) {
        block_q5_K b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const uint8_t *ql = b.qs, *qh = b.qh;
        const float d = FP16(b.d), min = FP16(b.dmin);
        int is = 0;
        uint8_t sc, m, u1 = 1, u2 = 2;
        for (int j = 0; j < QK_K; j += 64) {
            get_scale_min_k4(is + 0, b.scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            get_scale_min_k4(is + 1, b.scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            ql += 32;
            is += 2;
            u1 <<= 2;
            u2 <<= 2;
        }
    }
}

void lq_dequant_q6_k(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++) {
        block_q6_K b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        const float d = FP16(b.d);
        const uint8_t *ql = b.ql, *qh = b.qh;
        const int8_t *sc = b.scales;
        for (int k = 0; k < QK_K; k += 128) {
            float ds[8]; /* d * scale, rounded as llama.cpp's d * sc * q rounds it first */
            for (int j = 0; j < 8; j++) ds[j] = d * sc[j];
            for (int h = 0; h < 2; h++) /* values l and l + 32, 64, 96 of sub-blocks h, h + 2, h + 4, h + 6 */
                for (int l = 16 * h; l < 16 * h + 16; ++l) {
                    const int8_t q1 = (int8_t)((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    const int8_t q2 = (int8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    const int8_t q3 = (int8_t)((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    const int8_t q4 = (int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    y[l + 0] = ds[h + 0] * q1;
                    y[l + 32] = ds[h + 2] * q2;
                    y[l + 64] = ds[h + 4] * q3;
                    y[l + 96] = ds[h + 6] * q4;
                }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

void lq_dequant_q8_k(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++) {
        block_q8_K b;
        memcpy(&b, (const uint8_t *)src + i * sizeof b, sizeof b);
        for (int j = 0; j < QK_K; ++j) *y++ = b.d * b.qs[j];
    }
}
