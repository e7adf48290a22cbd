/* Reference codecs of llmq's non-uniform formats: NF4 (bitsandbytes'
 * normal-float code book) and FP8 E4M3 with a per-channel or per-group
 * scale. Deterministic; all-zero blocks get scale 0 and decode to zeros. */
#include "quant/types_llmq.h"

#include "core/lq.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

/* bitsandbytes' NF4 code book (create_normal_map) rounded to fp16 (at most
 * 3.3e-4 relative): fp16 entries let the SIMD kernels decode a code with a
 * byte lookup and one fp16 conversion (kernels/ref/qdot_llmq_ref.c). */
const float lq_nf4_values[16] = {
    -1.0f, -0.6962890625f, -0.52490234375f, -0.39501953125f, -0.284423828125f, -0.184814453125f, -0.091064453125f, 0.0f,
    0.07958984375f, 0.160888671875f, 0.24609375f, 0.337890625f, 0.440673828125f, 0.5625f, 0.72314453125f, 1.0f,
};

static float absmax(const float *x, int64_t n) {
    float a = 0.0f;
    for (int64_t i = 0; i < n; i++)
        if (fabsf(x[i]) > a) a = fabsf(x[i]);
    return a;
}

/* fp16 scale of a group: v rounded to fp16, capped at the largest finite
 * fp16 so an extreme group saturates instead of decoding to inf*0 */
static uint16_t scale_fp16(float v) { return lq_fp32_to_fp16(v < 65504.0f ? v : 65504.0f); }

/* ------------------------------------------------------------------ NF4 */

#define NF4_BLOCK 64

/* the specification: a scan of the whole book, ties keep the lower code */
static int nf4_nearest_scan(float v, int lo, int hi) {
    int best = 7;
    float err = INFINITY;
    for (int k = lo; k <= hi; k++) {
        const float e = fabsf(v - lq_nf4_values[k]);
        best = e < err ? k : best;
        err = e < err ? e : err;
    }
    return best;
}

/* The book rises, and float rounding is monotone, so |v - value| falls and
 * then rises along it: the nearest is one of the two entries around v, the
 * lower one on a tie. No other entry can tie with them while |v| < 2^16
 * (the entries are >= 0.079 apart, far more than a float step there);
 * beyond, and for NaN and infinities (7, as the scan gives), the whole scan. */
int lq_nf4_nearest(float v) {
    if (!(fabsf(v) < 65536.0f)) return nf4_nearest_scan(v, 0, 15);
    int k = 0; /* entries <= v: independent compares, no branches on data */
    for (int j = 0; j < 16; j++) k += lq_nf4_values[j] <= v;
    if (k == 0) return 0;
    if (k == 16) return 15;
    return fabsf(v - lq_nf4_values[k]) < fabsf(v - lq_nf4_values[k - 1]) ? k : k - 1;
}

/* block: fp16 absmax d, then two 16-byte halves of 32 codes each (byte j:
 * value j low nibble, value j+16 high nibble); value = d * nf4[code] */
void lq_quant_nf4_ref(const float *x, void *y, int64_t n) {
    uint8_t *out = y;
    for (int64_t b = 0; b < n / NF4_BLOCK; b++, x += NF4_BLOCK, out += 34) {
        const uint16_t d16 = scale_fp16(absmax(x, NF4_BLOCK));
        const float d = lq_fp16_to_fp32(d16);
        memcpy(out, &d16, 2);
        uint8_t codes[NF4_BLOCK];
        for (int i = 0; i < NF4_BLOCK; i++) codes[i] = (uint8_t)(d != 0.0f ? lq_nf4_nearest(x[i] / d) : 7);
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 16; j++)
                out[2 + 16 * h + j] = (uint8_t)(codes[32 * h + j] | codes[32 * h + j + 16] << 4);
    }
}

void lq_dequant_nf4(const void *src, float *dst, int64_t n) {
    const uint8_t *in = src;
    for (int64_t b = 0; b < n / NF4_BLOCK; b++, in += 34, dst += NF4_BLOCK) {
        uint16_t d16;
        memcpy(&d16, in, 2);
        const float d = lq_fp16_to_fp32(d16);
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 16; j++) {
                const uint8_t q = in[2 + 16 * h + j];
                dst[32 * h + j] = lq_nf4_values[q & 0xF] * d;
                dst[32 * h + j + 16] = lq_nf4_values[q >> 4] * d;
            }
    }
}

/* ----------------------------------------------------------------- E4M3 */

uint8_t lq_fp32_to_e4m3(float v) {
    if (isnan(v)) return 0x7F;
    const uint8_t sign = signbit(v) ? 0x80 : 0;
    const float a = fabsf(v);
    if (a >= 448.0f) return sign | 0x7E; /* saturate: no inf in E4M3 */
    if (a < 0x1p-6f) return sign | (uint8_t)nearbyintf(a * 0x1p9f); /* subnormal steps of 2^-9 */
    int e;
    frexpf(a, &e); /* a = f * 2^e, f in [0.5, 1) */
    const int exp = e - 1;
    const int q = (int)nearbyintf((ldexpf(a, -exp) - 1.0f) * 8.0f); /* 0..8, 8 carries */
    int code = ((exp + 7) << 3) + q;
    if (code > 0x7E) code = 0x7E;
    return sign | (uint8_t)code;
}

/* row: fp32 scale s = absmax / 448, then n E4M3 bytes; value = e4m3 * s */
void lq_quant_f8_e4m3_ch_ref(const float *x, void *y, int64_t n) {
    uint8_t *out = y;
    const float s = absmax(x, n) / 448.0f;
    memcpy(out, &s, 4);
    for (int64_t i = 0; i < n; i++) out[4 + i] = s != 0.0f ? lq_fp32_to_e4m3(x[i] / s) : 0;
}

/* lq_e4m3_to_fp32 of every code, NaN bits included: a load per value
 * instead of a branch and a multiply (dequantizing ~1.6x faster) */
static float e4m3_table[256];
static pthread_once_t e4m3_once = PTHREAD_ONCE_INIT;
static void e4m3_table_init(void) {
    for (int c = 0; c < 256; c++) e4m3_table[c] = lq_e4m3_to_fp32((uint8_t)c);
}

static const float *e4m3_values(void) {
    pthread_once(&e4m3_once, e4m3_table_init);
    return e4m3_table;
}

void lq_dequant_f8_e4m3_ch(const void *src, float *dst, int64_t n) {
    const uint8_t *in = src;
    const float *v = e4m3_values();
    float s;
    memcpy(&s, in, 4);
    for (int64_t i = 0; i < n; i++) dst[i] = v[in[4 + i]] * s;
}

/* block: fp16 scale d = absmax / 448, then group E4M3 bytes */
static void quant_f8_group(const float *x, uint8_t *out, int64_t n, int group) {
    for (int64_t g = 0; g < n / group; g++, x += group, out += 2 + group) {
        const uint16_t d16 = scale_fp16(absmax(x, group) / 448.0f);
        const float d = lq_fp16_to_fp32(d16);
        memcpy(out, &d16, 2);
        for (int i = 0; i < group; i++) out[2 + i] = d != 0.0f ? lq_fp32_to_e4m3(x[i] / d) : 0;
    }
}

static void dequant_f8_group(const uint8_t *in, float *dst, int64_t n, int group) {
    const float *v = e4m3_values();
    for (int64_t g = 0; g < n / group; g++, in += 2 + group, dst += group) {
        uint16_t d16;
        memcpy(&d16, in, 2);
        const float d = lq_fp16_to_fp32(d16);
        for (int i = 0; i < group; i++) dst[i] = v[in[2 + i]] * d;
    }
}

void lq_quant_f8_e4m3_g32_ref(const float *x, void *y, int64_t n) { quant_f8_group(x, y, n, 32); }
void lq_dequant_f8_e4m3_g32(const void *src, float *dst, int64_t n) { dequant_f8_group(src, dst, n, 32); }
void lq_quant_f8_e4m3_g128_ref(const float *x, void *y, int64_t n) { quant_f8_group(x, y, n, 128); }
void lq_dequant_f8_e4m3_g128(const void *src, float *dst, int64_t n) { dequant_f8_group(src, dst, n, 128); }
