/* Element grids of GGML's and llmq's weight formats. Every a and b below is
 * formed with the same operations, operand order and types as the format's
 * dequantizer (quant/dequant_*.c, quant/quant_llmq_*.c), so a * k + b is the
 * dequantized value bit for bit. */
#include "quant/grid.h"

#include "quant/blocks.h"
#include "quant/types.h"
#include "quant/types_llmq.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

/* pure-scale formats: adding -0.0f keeps every value as it is */
#define NO_OFFSET (-0.0f)

static float rd_fp16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return lq_fp16_to_fp32(h);
}

static float rd_f32(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

static void set_affine(lq_grid *g, float a, float b, int kmin, int kmax) {
    *g = (lq_grid){.kind = LQ_GRID_AFFINE, .a = a, .b = b, .kmin = kmin, .kmax = kmax};
}

static void set_book(lq_grid *g, float a, const float *book, int n) {
    *g = (lq_grid){.kind = LQ_GRID_BOOK, .a = a, .b = NO_OFFSET, .kmin = 0, .kmax = n - 1, .book = book, .n = n};
}

static void put_nibble(uint8_t *p, bool high, int v) {
    *p = high ? (uint8_t)((*p & 0x0F) | (v & 0xF) << 4) : (uint8_t)((*p & 0xF0) | (v & 0xF));
}

/* bit `bit` of the little-endian bit array p */
static void put_bit(uint8_t *p, int bit, int v) {
    const uint8_t m = (uint8_t)(1u << (bit % 8));
    p[bit / 8] = v ? (uint8_t)(p[bit / 8] | m) : (uint8_t)(p[bit / 8] & ~m);
}

/* 2-bit field at shift s of *p */
static void put_crumb(uint8_t *p, int s, int v) { *p = (uint8_t)((*p & ~(3u << s)) | (unsigned)(v & 3) << s); }

/* ------------------------------------------------------------ code books */

static const float k_iq4nl_book[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* E4M3 codes without the two NaNs: k < 127 is byte k, k >= 127 byte k + 1 */
#define E4M3_CODES 254
static float g_e4m3_book[E4M3_CODES];
static pthread_once_t g_e4m3_once = PTHREAD_ONCE_INIT;

static int e4m3_byte(int k) { return k < 127 ? k : k + 1; }

static void e4m3_book_init(void) {
    for (int k = 0; k < E4M3_CODES; k++) g_e4m3_book[k] = lq_e4m3_to_fp32((uint8_t)e4m3_byte(k));
}

static const float *e4m3_book(void) {
    pthread_once(&g_e4m3_once, e4m3_book_init);
    return g_e4m3_book;
}

/* ------------------------------------------------- GGML 32-value blocks */

static void legacy_grid(uint32_t t, const uint8_t *b, lq_grid *g) {
    const float d = rd_fp16(b);
    switch (t) {
    case LQ_TYPE_Q4_0: set_affine(g, d, NO_OFFSET, -8, 7); break;
    case LQ_TYPE_Q4_1: set_affine(g, d, rd_fp16(b + 2), 0, 15); break;
    case LQ_TYPE_Q5_0: set_affine(g, d, NO_OFFSET, -16, 15); break;
    case LQ_TYPE_Q5_1: set_affine(g, d, rd_fp16(b + 2), 0, 31); break;
    /* the format holds -128, but the reference quantizer never writes it and
     * int8 sign tricks in dot kernels assume |q| <= 127 */
    case LQ_TYPE_Q8_0: set_affine(g, d, NO_OFFSET, -127, 127); break;
    default: set_book(g, d, k_iq4nl_book, 16); break; /* IQ4_NL */
    }
}

/* element r of a block: qs[r % 16], the high nibble from r = 16 on */
static void legacy_set(uint32_t t, uint8_t *b, int r, int k) {
    switch (t) {
    case LQ_TYPE_Q4_0: put_nibble(b + offsetof(block_q4_0, qs) + r % 16, r >= 16, k + 8); break;
    case LQ_TYPE_Q4_1: put_nibble(b + offsetof(block_q4_1, qs) + r % 16, r >= 16, k); break;
    case LQ_TYPE_IQ4_NL: put_nibble(b + offsetof(block_iq4_nl, qs) + r % 16, r >= 16, k); break;
    case LQ_TYPE_Q5_0: /* bit r of qh is the fifth bit of element r */
        put_nibble(b + offsetof(block_q5_0, qs) + r % 16, r >= 16, k + 16);
        put_bit(b + offsetof(block_q5_0, qh), r, (k + 16) >> 4);
        break;
    case LQ_TYPE_Q5_1:
        put_nibble(b + offsetof(block_q5_1, qs) + r % 16, r >= 16, k);
        put_bit(b + offsetof(block_q5_1, qh), r, k >> 4);
        break;
    default: b[offsetof(block_q8_0, qs) + r] = (uint8_t)(int8_t)k; break; /* Q8_0 */
    }
}

/* --------------------------------------------------- GGML super-blocks */

/* Q2_K / Q3_K: element r: half h = r / 128, 32-group j4, lane l; codes in
 * qs[32h + l] at shift 2*j4, sub-block scale 8h + 2*j4 + l/16 */
typedef struct { int qs, shift, sub, lane, plane; } k23_pos;

static k23_pos k23_at(int r) {
    const int h = r / 128, j4 = r % 128 / 32, l = r % 32;
    return (k23_pos){32 * h + l, 2 * j4, 8 * h + 2 * j4 + l / 16, l, 4 * h + j4};
}

/* 6-bit scale is of a Q3_K block (the dequantizer's aux unpacking, per scale) */
static int q3k_scale(const uint8_t *s, int is) {
    const int low = is < 8 ? s[is % 8] & 0xF : s[is % 8] >> 4;
    const int high = (s[8 + is % 4] >> (2 * (is / 4))) & 3;
    return (int)(int8_t)(low | high << 4) - 32;
}

/* 6-bit scale and min j of a Q4_K/Q5_K block (ggml's get_scale_min_k4) */
static void k4_scale_min(int j, const uint8_t *q, int *d, int *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
    }
}

static void kquant_grid(uint32_t t, const uint8_t *b, int r, lq_grid *g) {
    if (t == LQ_TYPE_Q2_K || t == LQ_TYPE_Q3_K) {
        const k23_pos p = k23_at(r);
        if (t == LQ_TYPE_Q2_K) {
            const uint8_t sc = b[offsetof(block_q2_K, scales) + p.sub];
            const float d = rd_fp16(b + offsetof(block_q2_K, d)), min = rd_fp16(b + offsetof(block_q2_K, dmin));
            const float dl = d * (sc & 0xF), ml = min * (sc >> 4);
            set_affine(g, dl, -ml, 0, 3);
        } else {
            const float d_all = rd_fp16(b + offsetof(block_q3_K, d));
            set_affine(g, d_all * q3k_scale(b + offsetof(block_q3_K, scales), p.sub), NO_OFFSET, -4, 3);
        }
    } else if (t == LQ_TYPE_Q4_K || t == LQ_TYPE_Q5_K) {
        int sc, m;
        k4_scale_min(r / 32, b + offsetof(block_q4_K, scales), &sc, &m); /* same offsets in Q5_K */
        const float d = rd_fp16(b), min = rd_fp16(b + 2);
        const float dl = d * sc, ml = min * m;
        set_affine(g, dl, -ml, 0, t == LQ_TYPE_Q4_K ? 15 : 31);
    } else { /* Q6_K: half h, quarter qq, lane l: scale 8h + l/16 + 2qq */
        const int h = r / 128, qq = r % 128 / 32, l = r % 32;
        const int8_t sc = (int8_t)b[offsetof(block_q6_K, scales) + 8 * h + l / 16 + 2 * qq];
        set_affine(g, rd_fp16(b + offsetof(block_q6_K, d)) * sc, NO_OFFSET, -32, 31);
    }
}

static void kquant_set(uint32_t t, uint8_t *b, int r, int k) {
    if (t == LQ_TYPE_Q2_K || t == LQ_TYPE_Q3_K) {
        const k23_pos p = k23_at(r);
        if (t == LQ_TYPE_Q2_K) {
            put_crumb(b + offsetof(block_q2_K, qs) + p.qs, p.shift, k);
        } else { /* code k >= 0: low bits k, hmask set; k < 0: low bits k + 4 */
            put_crumb(b + offsetof(block_q3_K, qs) + p.qs, p.shift, (k + 4) & 3);
            put_bit(b + offsetof(block_q3_K, hmask) + p.lane, p.plane, k >= 0);
        }
    } else if (t == LQ_TYPE_Q4_K || t == LQ_TYPE_Q5_K) {
        const int c = r / 64, rr = r % 64;
        const size_t qs = t == LQ_TYPE_Q4_K ? offsetof(block_q4_K, qs) : offsetof(block_q5_K, qs);
        put_nibble(b + qs + 32 * c + rr % 32, rr >= 32, k);
        if (t == LQ_TYPE_Q5_K) put_bit(b + offsetof(block_q5_K, qh) + rr % 32, 2 * c + rr / 32, k >> 4);
    } else { /* Q6_K: ql[64h + l + 32(qq&1)] nibble (qq >= 2 high), qh[32h + l] at 2qq */
        const int h = r / 128, qq = r % 128 / 32, l = r % 32, u = k + 32;
        put_nibble(b + offsetof(block_q6_K, ql) + 64 * h + l + 32 * (qq & 1), qq >= 2, u);
        put_crumb(b + offsetof(block_q6_K, qh) + 32 * h + l, 2 * qq, u >> 4);
    }
}

/* ------------------------------------------------------- llmq's formats */

static void group_grid(uint32_t t, const uint8_t *b, lq_grid *g) {
    int bits = 8, group = 32;
    bool asym = false;
    lq_llmq_group_params(t, &bits, &group, &asym);
    const int half = 1 << (bits - 1);
    if (asym) set_affine(g, rd_fp16(b), rd_fp16(b + 2), 0, (1 << bits) - 1);
    else set_affine(g, rd_fp16(b), NO_OFFSET, -half, half - 1);
}

/* stored field of code k, packed into its unit (quant_llmq_int.c's layout) */
static void group_set(uint32_t t, uint8_t *b, int r, int k) {
    int bits = 8, group = 32;
    bool asym = false;
    lq_llmq_group_params(t, &bits, &group, &asym);
    const int half = 1 << (bits - 1), i = r % 32;
    const int v = asym ? k : bits == 8 ? (int)(uint8_t)(int8_t)k : k + half;
    uint8_t *unit = b + (asym ? 4 : 2) + r / 32 * lq_llmq_unit_bytes(bits);
    lq_llmq_put_code(bits, unit, i, v);
}

static bool is_f8(uint32_t t) { return t >= LQ_TYPE_F8_E4M3_CH && t <= LQ_TYPE_F8_E4M3_G128; }

static bool is_kquant(uint32_t t) { return t >= LQ_TYPE_Q2_K && t <= LQ_TYPE_Q6_K; }

bool lq_grid_supported(uint32_t t) {
    switch (t) {
    case LQ_TYPE_Q4_0: case LQ_TYPE_Q4_1: case LQ_TYPE_Q5_0: case LQ_TYPE_Q5_1: case LQ_TYPE_Q8_0:
    case LQ_TYPE_IQ4_NL: case LQ_TYPE_I8_CH: case LQ_TYPE_NF4:
        return true;
    default:
        return is_kquant(t) || is_f8(t) || (t >= LQ_TYPE_I2_G32S && t <= LQ_TYPE_I8_G128A);
    }
}

/* start of the block holding element j (row header skipped), r = j's index in it */
static size_t block_offset(uint32_t t, int64_t j, int *r) {
    const lq_type_traits *tr = lq_type_get(t);
    *r = (int)(j % tr->blck_size);
    return tr->row_header + (size_t)(j / tr->blck_size) * tr->type_size;
}

bool lq_grid_elem(uint32_t t, const void *row, int64_t j, lq_grid *g) {
    if (!lq_grid_supported(t)) return false;
    int r;
    const uint8_t *b = (const uint8_t *)row + block_offset(t, j, &r);
    if (t == LQ_TYPE_I8_CH) set_affine(g, rd_f32(row), NO_OFFSET, -127, 127);
    else if (t == LQ_TYPE_F8_E4M3_CH) set_book(g, rd_f32(row), e4m3_book(), E4M3_CODES);
    else if (is_f8(t)) set_book(g, rd_fp16(b), e4m3_book(), E4M3_CODES);
    else if (t == LQ_TYPE_NF4) set_book(g, rd_fp16(b), lq_nf4_values, 16);
    else if (is_kquant(t)) kquant_grid(t, b, r, g);
    else if (t >= LQ_TYPE_LLMQ_FIRST) group_grid(t, b, g);
    else legacy_grid(t, b, g);
    return true;
}

void lq_grid_set(uint32_t t, void *row, int64_t j, int k) {
    if (!lq_grid_supported(t)) return;
    int r;
    uint8_t *b = (uint8_t *)row + block_offset(t, j, &r);
    if (t == LQ_TYPE_I8_CH) b[0] = (uint8_t)(int8_t)k;
    else if (is_f8(t)) b[t == LQ_TYPE_F8_E4M3_CH ? 0 : 2 + r] = (uint8_t)e4m3_byte(k);
    else if (t == LQ_TYPE_NF4) put_nibble(b + 2 + 16 * (r / 32) + r % 16, r % 32 >= 16, k); /* two 32-value halves */
    else if (is_kquant(t)) kquant_set(t, b, r, k);
    else if (t >= LQ_TYPE_LLMQ_FIRST) group_set(t, b, r, k);
    else legacy_set(t, b, r, k);
}

/* ------------------------------------------------------------- rounding */

/* nearbyintf (halves to even) for |t| < 2^22 without libm's call: adding
 * 1.5 * 2^23 leaves no fraction bits, so the addition itself rounds */
static inline int round_even(float t) {
    const float big = 12582912.0f; /* (IEEE arithmetic: the compiler keeps both steps) */
    return (int)((t + big) - big);
}

static int nearest_affine(const lq_grid *g, float v) {
    const float t = g->a != 0.0f ? (v - g->b) / g->a : 0.0f;
    int k = g->kmin > 0 ? g->kmin : g->kmax < 0 ? g->kmax : 0;
    if (t == t) k = t <= (float)g->kmin ? g->kmin : t >= (float)g->kmax ? g->kmax : round_even(t);
    /* the division rounds: check the neighbours against the decoded values */
    int best = k;
    float err = fabsf(lq_grid_value(g, k) - v);
    for (int c = k - 1; c <= k + 1; c += 2) {
        if (c < g->kmin || c > g->kmax) continue;
        const float e = fabsf(lq_grid_value(g, c) - v);
        if (e < err) {
            err = e;
            best = c;
        }
    }
    return best;
}

static int nearest_book(const lq_grid *g, float v) {
    int best = 0;
    float err = INFINITY;
    for (int k = 0; k < g->n; k++) {
        const float e = fabsf(lq_grid_value(g, k) - v);
        if (e < err) {
            err = e;
            best = k;
        }
    }
    return best;
}

int lq_grid_nearest(const lq_grid *g, float v) {
    return g->kind == LQ_GRID_AFFINE ? nearest_affine(g, v) : nearest_book(g, v);
}
