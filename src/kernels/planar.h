/* Planar rows: the in-memory layout the AVX2 kernels of the 32-value block
 * types read (and Q2_K / Q3_K blocks recoded within, below). A planar row holds the same bytes as a GGUF row, with each
 * field of its blocks gathered into one run: every block's first field,
 * then every block's second, ... (Q5_0, fields d / qh / qs: the row's nb
 * scales, then its nb qh words, then its nb x 16 code bytes). A kernel then
 * loads eight blocks' scales with one load and two blocks' codes with
 * another, where the GGUF layout needs a gather of eight 2-byte fields and
 * an insert per pair. llmq's group formats are planar by chunks of eight
 * units (`chunk`: each chunk's headers, then its units, so the kernel
 * reads one stream), a chunk's eight INT3 units as one octet
 * (lq_int3_octet; a row's last, shorter chunk in pairs, lq_int3_pair), its
 * eight INT2 units as quads (lq_int2_quads). Rows are packed once, when
 * weights are bound (lq_qweight_init); files stay in GGUF layout. */
#ifndef LQ_KERNELS_PLANAR_H
#define LQ_KERNELS_PLANAR_H

#include <stddef.h>
#include <stdint.h>

typedef struct lq_planar {
    uint8_t n_fields;
    uint8_t field[3]; /* bytes of each field, in block order; they sum to the block's size */
    uint8_t qh_pairs; /* Q5_0 / Q5_1: field 1 (qh) of blocks 2m, 2m+1 as one lq_qh_pair word (a
                         row's odd last block keeps its qh as it is) */
    /* NULL, or each block's bytes reordered in place (types of one field):
     * GGUF to the kernel's order (and back, unless unrecode is set) */
    void (*recode)(uint8_t *blk);
    /* NULL, or a dequantizer of such rows (n values), the GGUF one's floats */
    void (*to_float)(const void *src, float *y, int64_t n);
    uint8_t unit_codes; /* llmq's INT3 (3): field 1 holds 12-byte units, a chunk's eight as one
                           lq_int3_octet, fewer as lq_int3_pair of units 2m, 2m+1 (a row's odd
                           last unit keeps its bytes); INT2 (2): 8-byte units, a chunk's eight as
                           lq_int2_quads, fewer as they are */
    uint8_t chunk; /* 0: the row is one planar run per field; else each run of `chunk` blocks
                      is (its fields' runs, one after the other), so a kernel streams one run */
    /* NULL: recode is its own inverse; else the inverse (kernel order back to GGUF) */
    void (*unrecode)(uint8_t *blk);
} lq_planar;

/* Q2_K / Q3_K: the 256 codes (2-bit fields; Q3_K's hmask bits alike)
 * reordered within the super-block. Both orders store the code at position
 * (k, l), k = 0..7, l = 0..31, in qs[32 (k / 4) + l] bits 2 (k % 4) (and
 * hmask[l] bit k); GGUF puts value 32 k + l there, the kernel value
 * lq_kq_value_at(k, l) = 16 (2 i + h) + 2 k + e for l = 16 h + 2 i + e:
 * position set k holds values 2k, 2k + 1 of all 16 sub-blocks, in the
 * order an in-lane 8 x 8 transpose of the activations' int16 pairs gives,
 * so every int16 lane of a maddubs belongs to one sub-block and one
 * scale vector (scales 0, 2, .., 14 | 1, 3, .., 15) serves all eight. */
static inline int lq_kq_value_at(int k, int l) { return 16 * (2 * ((l % 16) / 2) + l / 16) + 2 * k + (l % 2); }
/* Q4_K's and Q5_K's recoded blocks hold in nibble k % 2 of qs[32 (k / 2)
 * + l] (Q5_K: and in bit k of qh[l]) the code of value lq_q4_k_value_at(k,
 * l) = 32 (l / 4) + 4 k + l % 4 (GGUF: value 64 (k / 2) + 32 (k % 2) + l
 * there): set k holds word k (values 4k .. 4k + 3) of all eight
 * sub-blocks, so every int16 lane of a maddubs belongs to one sub-block
 * and the sets add before one madd with the scales. Its own inverse (an
 * 8 x 8 transpose of 32-bit words). */
static inline int lq_q4_k_value_at(int k, int l) { return 32 * (l / 4) + 4 * k + l % 4; }

/* Q3_K's recoded blocks hold the 3-bit code u_k (= q + 4, GGUF's 2-bit
 * field | hmask bit << 2) of position (k, l) packed by bytes instead:
 *   A = qs[l]      = u0 | u1 << 3 | (u6 & 3) << 6
 *   B = qs[32 + l] = u2 | u3 << 3 | (u7 & 3) << 6
 *   C = hmask[l]   = u4 | u5 << 3 | (u6 >> 2) << 6 | (u7 >> 2) << 7
 * so the kernel takes six sets with one AND each (u1, u3, u5 as 8 u, their
 * scales divided by 8) and the other two with four or five operations,
 * where the GGUF split costs five per set. Not its own inverse: the plan's
 * unrecode undoes it. */
static inline int lq_q3_k_code_at(const uint8_t *hmask, const uint8_t *qs, int k, int l) {
    const int a = qs[l], b = qs[32 + l], c = hmask[l];
    switch (k) {
    case 0: return a & 7;
    case 1: return a >> 3 & 7;
    case 2: return b & 7;
    case 3: return b >> 3 & 7;
    case 4: return c & 7;
    case 5: return c >> 3 & 7;
    case 6: return (a >> 6) | (c >> 6 & 1) << 2;
    default: return (b >> 6) | (c >> 7) << 2;
    }
}
/* the recodes (Q3_K's inverse too), and such rows dequantized with the
 * GGUF dequantizers' float operations (AVX2 code: the plans belong to the
 * AVX2 kernels) */
void lq_q2_k_recode_avx2(uint8_t *blk);
void lq_q3_k_recode_avx2(uint8_t *blk);
void lq_q3_k_unrecode_avx2(uint8_t *blk);
void lq_q4_k_recode_avx2(uint8_t *blk);
void lq_q5_k_recode_avx2(uint8_t *blk);
void lq_q4_k_recoded_to_float_avx2(const void *src, float *y, int64_t n);
void lq_q5_k_recoded_to_float_avx2(const void *src, float *y, int64_t n);
void lq_q2_k_recoded_to_float_avx2(const void *src, float *y, int64_t n);
void lq_q3_k_recoded_to_float_avx2(const void *src, float *y, int64_t n);

/* The fifth bits of two Q5 blocks a, b in the order the AVX2 kernel
 * spreads them with one 64-bit shift per lane: value byte i of the vector
 * lo = [a 0-15 | b 0-15] takes bit 8 (i % 8) + 4 + i / 8 (shifted right by
 * i / 8), of hi = [a 16-31 | b 16-31] bit 8 (i % 8) + i / 8 (shifted left
 * by 4 - i / 8), each landing on bit 4 of its byte. That word is the 8 x 8
 * bit transpose (bit 8r + c <-> bit 8c + r) of the bytes
 * [a2 a3 b2 b3 a0 a1 b0 b1] of the two qh words. */
static inline uint64_t lq_bits_transpose8(uint64_t x) { /* Hacker's Delight, 7-3 */
    uint64_t t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAull;
    x = x ^ t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCull;
    x = x ^ t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ull;
    return x ^ t ^ (t << 28);
}

static inline uint64_t lq_qh_pair(uint32_t a, uint32_t b) {
    const uint64_t t = (uint64_t)(a >> 16 & 0xFFFF) | (uint64_t)(b >> 16 & 0xFFFF) << 16 |
                       (uint64_t)(a & 0xFFFF) << 32 | (uint64_t)(b & 0xFFFF) << 48;
    return lq_bits_transpose8(t);
}

static inline void lq_qh_unpair(uint64_t p, uint32_t *a, uint32_t *b) {
    const uint64_t t = lq_bits_transpose8(p);
    *a = (uint32_t)(t >> 32 & 0xFFFF) | (uint32_t)(t & 0xFFFF) << 16;
    *b = (uint32_t)(t >> 48 & 0xFFFF) | (uint32_t)(t >> 16 & 0xFFFF) << 16;
}

/* Two INT3 units a, b (quant_llmq_int.c's 12 bytes: nibble position k =
 * 0..15 in byte k % 8, low half for k < 8, holds value k and, in bit 3,
 * bit 2 of value 16 + k; bits 2 (k / 4) of byte 8 + k % 4 hold the low two
 * bits of value 16 + k) as the AVX2 kernel decodes a pair without inserts:
 * p[k] = a's nibble k | b's nibble k << 4 (k = 0..15), p[16 + j] = the low
 * bits of values 16 + j, 24 + j of a, then of b, two bits each (j = 0..7).
 * One 16-byte broadcast shifted by 0 | 4 per 128-bit lane gives [a 0-15 |
 * b 0-15], one 8-byte broadcast shifted by 0, 2, 4, 6 per 64-bit lane the
 * low bits of [a 16-31 | b 16-31]. */
void lq_int3_pair(uint8_t p[24], const uint8_t a[12], const uint8_t b[12]);
void lq_int3_unpair(const uint8_t p[24], uint8_t a[12], uint8_t b[12]);
/* Eight INT3 units (a planar chunk's whole run, 96 bytes) as one octet,
 * which the AVX2 kernel decodes with one AND for most of its codes: sets
 * s_0..s_7 of 32 codes, s_2m = [unit 2m values 0-15 | unit 2m+1 values
 * 0-15], s_2m+1 the same for values 16-31 (lq_int3_pair's v1, v2 of pair
 * m), packed by bytes (i = 0..31):
 *   o[i]      = s0 | s2 << 3 | (s7 & 3) << 6
 *   o[32 + i] = s1 | s3 << 3 | (s5 & 3) << 6
 *   o[64 + i] = s6 | s4 << 3 | (s7 >> 2) << 6 | (s5 >> 2) << 7
 * A chunk of fewer units (a row's last) stays in pairs. */
void lq_int3_octet(uint8_t o[96], const uint8_t u[96]);
void lq_int3_unoctet(const uint8_t o[96], uint8_t u[96]);
static inline int lq_int3_octet_code(const uint8_t o[96], int s, int i) {
    const int a = o[i], b = o[32 + i], c = o[64 + i];
    switch (s) {
    case 0: return a & 7;
    case 1: return b & 7;
    case 2: return a >> 3 & 7;
    case 3: return b >> 3 & 7;
    case 4: return c >> 3 & 7;
    case 5: return (b >> 6) | (c >> 7) << 2;
    case 6: return c & 7;
    default: return (a >> 6) | (c >> 6 & 1) << 2;
    }
}
/* Eight INT2 units (8 bytes: value 8 f + i in bits 2 f of byte i) as two
 * vectors the AVX2 kernel reads with masks in place: byte i of vector g
 * holds in bits 2 f the code of lane i of pair 2g's v1 (f = 0), v2 (f =
 * 1), pair 2g + 1's v1 (f = 2), v2 (f = 3), with v1, v2 as lq_int3_pair's
 * (lane i: unit 2m + i / 16, value i % 16, or 16 + i % 16). */
void lq_int2_quads(uint8_t q[64], const uint8_t u[64]);
void lq_int2_unquads(const uint8_t q[64], uint8_t u[64]);
static inline int lq_int2_quads_code(const uint8_t q[64], int unit, int v) {
    const int m = unit / 2, i = 16 * (unit % 2) + v % 16, f = 2 * (m % 2) + v / 16;
    return q[32 * (m / 2) + i] >> (2 * f) & 3;
}
/* planar INT2 / INT3 rows dequantized (the GGUF dequantizer's floats), per type */
void lq_i2_g32s_planar_to_float_avx2(const void *src, float *y, int64_t n);
void lq_i2_g32a_planar_to_float_avx2(const void *src, float *y, int64_t n);
void lq_i2_g64s_planar_to_float_avx2(const void *src, float *y, int64_t n);
void lq_i2_g64a_planar_to_float_avx2(const void *src, float *y, int64_t n);
void lq_i2_g128s_planar_to_float_avx2(const void *src, float *y, int64_t n);
void lq_i2_g128a_planar_to_float_avx2(const void *src, float *y, int64_t n);
void lq_i3_g32s_planar_to_float_avx2(const void *src, float *y, int64_t n);
void lq_i3_g32a_planar_to_float_avx2(const void *src, float *y, int64_t n);
void lq_i3_g64s_planar_to_float_avx2(const void *src, float *y, int64_t n);
void lq_i3_g64a_planar_to_float_avx2(const void *src, float *y, int64_t n);
void lq_i3_g128s_planar_to_float_avx2(const void *src, float *y, int64_t n);
void lq_i3_g128a_planar_to_float_avx2(const void *src, float *y, int64_t n);

static inline size_t lq_planar_block_bytes(const lq_planar *p) {
    size_t s = 0;
    for (int f = 0; f < p->n_fields; f++) s += p->field[f];
    return s;
}

/* one row of n_blocks GGUF blocks at src -> planar at dst (no overlap) */
void lq_planar_pack(const lq_planar *p, void *dst, const void *src, size_t n_blocks);
/* rows of row_bytes each packed into a new buffer (lq_alloc_aligned: free
 * with lq_free_aligned; threaded when large), NULL when out of memory */
void *lq_planar_packed(const lq_planar *p, const void *src, size_t row_bytes, int rows);
/* blocks [b0, b0 + nb) of the planar row of n_blocks blocks at row, back in
 * GGUF layout at dst */
void lq_planar_unpack(const lq_planar *p, void *dst, const void *row, size_t n_blocks, size_t b0, size_t nb);

#endif
