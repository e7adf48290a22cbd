/* Reference codecs of llmq's integer formats: per-channel INT8 (I8_CH) and
 * the group-wise INTn types (I<bits>_G<group><S|A>). Round to nearest
 * (ties to even, the default rounding mode), deterministic, and an all-zero
 * group or row gets scale 0 and decodes to zeros (no 0/0). */
#include "quant/types_llmq.h"

#include <float.h>
#include <math.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* round to nearest even, clamped to [lo, hi]; NaN -> 0 */
static int round_clamp(float v, int lo, int hi) {
    if (!(v == v)) v = 0.0f;
    v = nearbyintf(v);
    if (v < (float)lo) return lo;
    if (v > (float)hi) return hi;
    return (int)v;
}

/* ------------------------------------------------------------- I8_CH */

void lq_quant_i8_ch_ref(const float *x, void *y, int64_t n) {
    uint8_t *out = y;
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) amax = fabsf(x[i]);
    const float s = amax / 127.0f;
    const float id = s != 0.0f ? 1.0f / s : 0.0f;
    memcpy(out, &s, 4);
    int8_t *q = (int8_t *)(out + 4);
    for (int64_t i = 0; i < n; i++) q[i] = (int8_t)round_clamp(x[i] * id, -127, 127);
}

void lq_dequant_i8_ch(const void *src, float *dst, int64_t n) {
    const uint8_t *in = src;
    float s;
    memcpy(&s, in, 4);
    const int8_t *q = (const int8_t *)(in + 4);
    for (int64_t i = 0; i < n; i++) dst[i] = s * (float)q[i];
}

/* ------------------------------------------------------ group INTn codes */

/* Unit packing (32 values, value order i = 0..31):
 *   2 bit: 8 bytes, byte j holds values j, j+8, j+16, j+24 in bits 0-1, 2-3, 4-5, 6-7
 *   3 bit: 12 bytes. Bytes 0-7: byte j holds value j (bits 0-2) and value
 *          j+8 (bits 4-6) whole, and bit 2 of values j+16 (bit 3) and j+24
 *          (bit 7). Bytes 8-11: byte j holds the low 2 bits of values
 *          16+j, 20+j, 24+j, 28+j in bits 0-1, 2-3, 4-5, 6-7. A SIMD kernel
 *          gets values 0-15 with one shift and a mask per nibble and values
 *          16-31 with one more shift, mask and or (qdot_llmq_avx2.c).
 *   4 bit: 16 bytes, byte j holds value j (low nibble) and j+16 (high nibble)
 *   8 bit: 32 bytes, one per value */
void lq_llmq_put_code(int bits, uint8_t *unit, int i, int v) {
#define PUT(p, shift, mask) (*(p) = (uint8_t)((*(p) & ~((mask) << (shift))) | ((unsigned)v & (mask)) << (shift)))
    if (bits == 8) {
        unit[i] = (uint8_t)v;
    } else if (bits == 4) {
        PUT(unit + i % 16, 4 * (i / 16), 0xFu);
    } else if (bits == 2) {
        PUT(unit + i % 8, 2 * (i / 8), 3u);
    } else if (i < 16) {
        PUT(unit + i % 8, 4 * (i / 8), 7u);
    } else {
        const int m = i - 16;
        PUT(unit + 8 + m % 4, 2 * (m / 4), 3u);
        v >>= 2;
        PUT(unit + m % 8, 4 * (m / 8) + 3, 1u);
    }
#undef PUT
}

/* the codes in value order through lq_llmq_put_code, so that the layout is
 * written down once (packing is a small part of quantizing) */
void lq_llmq_pack_unit(int bits, const uint8_t codes[32], uint8_t *unit) {
    memset(unit, 0, (size_t)lq_llmq_unit_bytes(bits));
    for (int i = 0; i < 32; i++) lq_llmq_put_code(bits, unit, i, codes[i]);
}

/* the fields byte by byte (lq_llmq_put_code's layout); inline so that a
 * constant bits gives straight code */
static inline __attribute__((always_inline)) void unpack_unit(int bits, const uint8_t *unit, uint8_t codes[32]) {
    if (bits == 8) {
        memcpy(codes, unit, 32);
    } else if (bits == 4) {
        for (int j = 0; j < 16; j++) {
            codes[j] = unit[j] & 0xF;
            codes[j + 16] = unit[j] >> 4;
        }
    } else if (bits == 2) { /* by quarters: eight contiguous values per shift */
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 8; j++) codes[8 * k + j] = unit[j] >> (2 * k) & 3;
    } else {
        for (int j = 0; j < 8; j++) {
            codes[j] = unit[j] & 7;
            codes[j + 8] = unit[j] >> 4 & 7;
            codes[j + 16] = (uint8_t)((unit[j] >> 3 & 1) << 2);
            codes[j + 24] = (uint8_t)((unit[j] >> 7) << 2);
        }
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 4; k++) codes[16 + j + 4 * k] |= unit[8 + j] >> (2 * k) & 3;
    }
}

void lq_llmq_unpack_unit(int bits, const uint8_t *unit, uint8_t codes[32]) { unpack_unit(bits, unit, codes); }

/* Symmetric: d = m / -2^(bits-1) where m is the value of largest magnitude
 * (first one wins), so m itself maps to code -2^(bits-1) exactly and all
 * 2^bits codes are used (as Q4_0 does). Code q in [-2^(b-1), 2^(b-1)-1] is
 * stored as q + 2^(b-1) (bits < 8) or as the int8 q (bits 8).
 * Asymmetric: d = (max - min) / (2^b - 1), m = min, code u in [0, 2^b - 1],
 * value = d * u + m. */
void lq_quant_llmq_group_ref(uint32_t t, const float *x, void *y, int64_t n) {
    int bits, group;
    bool asym;
    if (!lq_llmq_group_params(t, &bits, &group, &asym)) return;
    const int half = 1 << (bits - 1), top = (1 << bits) - 1, ub = lq_llmq_unit_bytes(bits);
    uint8_t *out = y;
    for (int64_t g = 0; g < n / group; g++, x += group) {
        uint8_t codes[128];
        if (asym) {
            float min = FLT_MAX, max = -FLT_MAX;
            for (int i = 0; i < group; i++) {
                if (x[i] < min) min = x[i];
                if (x[i] > max) max = x[i];
            }
            const float d = (max - min) / (float)top;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            wr16(out, lq_fp32_to_fp16(d));
            wr16(out + 2, lq_fp32_to_fp16(min));
            for (int i = 0; i < group; i++) codes[i] = (uint8_t)round_clamp((x[i] - min) * id, 0, top);
            out += 4;
        } else {
            float amax = 0.0f, m = 0.0f;
            for (int i = 0; i < group; i++)
                if (fabsf(x[i]) > amax) {
                    amax = fabsf(x[i]);
                    m = x[i];
                }
            const float d = m / (float)-half;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            wr16(out, lq_fp32_to_fp16(d));
            for (int i = 0; i < group; i++) {
                const int q = round_clamp(x[i] * id, -half, half - 1);
                codes[i] = bits == 8 ? (uint8_t)(int8_t)q : (uint8_t)(q + half);
            }
            out += 2;
        }
        for (int u = 0; u < group / 32; u++, out += ub) lq_llmq_pack_unit(bits, codes + 32 * u, out);
    }
}

/* One width and symmetry (constants at each call below, so the compiler
 * gives each its own vectorized loops); the same operations per value in
 * the same order as ever: d * q, or d * u + m. */
static inline __attribute__((always_inline)) void dequant_group(int bits, bool asym, int group, const uint8_t *in,
                                                                float *dst, int64_t n) {
    const int half = 1 << (bits - 1), ub = lq_llmq_unit_bytes(bits);
    for (int64_t g = 0; g < n / group; g++) {
        const float d = lq_fp16_to_fp32(rd16(in));
        const float m = asym ? lq_fp16_to_fp32(rd16(in + 2)) : 0.0f;
        in += asym ? 4 : 2;
        for (int u = 0; u < group / 32; u++, in += ub, dst += 32) {
            uint8_t c[32];
            unpack_unit(bits, in, c);
            if (asym)
                for (int i = 0; i < 32; i++) dst[i] = d * (float)c[i] + m;
            else
                for (int i = 0; i < 32; i++) dst[i] = d * (float)(bits == 8 ? (int8_t)c[i] : c[i] - half);
        }
    }
}

#define DEQUANT_WIDTH(b)                                                                                        \
    static void dequant_##b##s(const uint8_t *in, float *dst, int64_t n, int g) { dequant_group(b, false, g, in, dst, n); } \
    static void dequant_##b##a(const uint8_t *in, float *dst, int64_t n, int g) { dequant_group(b, true, g, in, dst, n); }
DEQUANT_WIDTH(2)
DEQUANT_WIDTH(3)
DEQUANT_WIDTH(4)
DEQUANT_WIDTH(8)

void lq_dequant_llmq_group(uint32_t t, const void *src, float *dst, int64_t n) {
    int bits, group;
    bool asym;
    if (!lq_llmq_group_params(t, &bits, &group, &asym)) return;
    static void (*const by_width[4][2])(const uint8_t *, float *, int64_t, int) = {
        {dequant_2s, dequant_2a}, {dequant_3s, dequant_3a}, {dequant_4s, dequant_4a}, {dequant_8s, dequant_8a}};
    by_width[bits == 8 ? 3 : bits - 2][asym](src, dst, n, group);
}
