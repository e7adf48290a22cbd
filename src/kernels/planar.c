/* Planar rows (see planar.h). */
#include "kernels/planar.h"

#include "core/lq.h"
#include "quant/types_llmq.h"

#include <string.h>

/* n fields of fb bytes from stride ss to stride ds; fixed sizes copied
 * inline (the prompt path unpacks every weight once per batch) */
static void copy_fields(uint8_t *d, size_t ds, const uint8_t *s, size_t ss, size_t fb, size_t n) {
#define COPY(k)                                                          \
    for (size_t i = 0; i < n; i++) memcpy(d + i * ds, s + i * ss, k); \
    return
    switch (fb) {
    case 1: COPY(1);
    case 2: COPY(2);
    case 4: COPY(4);
    case 16: COPY(16);
    case 32: COPY(32);
    default: COPY(fb);
    }
#undef COPY
}

/* the qh run of a Q5 row: pairs of blocks' words through lq_qh_pair */
static void qh_pairs(uint8_t *run, size_t n_blocks) {
    for (size_t b = 0; b + 1 < n_blocks; b += 2) {
        uint32_t w[2];
        memcpy(w, run + 4 * b, 8);
        const uint64_t p = lq_qh_pair(w[0], w[1]);
        memcpy(run + 4 * b, &p, 8);
    }
}

/* INT3 unit u's nibble at position k (0..15) and its low two bits of
 * value 16 + k */
static uint8_t i3_nibble(const uint8_t *u, int k) { return (uint8_t)(k < 8 ? u[k] & 15 : u[k - 8] >> 4); }
static uint8_t i3_lo2(const uint8_t *u, int k) { return (uint8_t)(u[8 + k % 4] >> (2 * (k / 4)) & 3); }

void lq_int3_pair(uint8_t p[24], const uint8_t a[12], const uint8_t b[12]) {
    for (int k = 0; k < 16; k++) p[k] = (uint8_t)(i3_nibble(a, k) | i3_nibble(b, k) << 4);
    for (int j = 0; j < 8; j++)
        p[16 + j] = (uint8_t)(i3_lo2(a, j) | i3_lo2(a, j + 8) << 2 | i3_lo2(b, j) << 4 | i3_lo2(b, j + 8) << 6);
}

void lq_int3_unpair(const uint8_t p[24], uint8_t a[12], uint8_t b[12]) {
    uint8_t *u[2] = {a, b};
    for (int h = 0; h < 2; h++) {
        for (int k = 0; k < 8; k++) u[h][k] = (uint8_t)((p[k] >> 4 * h & 15) | (p[k + 8] >> 4 * h & 15) << 4);
        memset(u[h] + 8, 0, 4);
        for (int k = 0; k < 16; k++) /* value 16 + k's low bits: p[16 + k % 8] bits 4 h + 2 (k / 8) */
            u[h][8 + k % 4] |= (uint8_t)((p[16 + k % 8] >> (4 * h + 2 * (k / 8)) & 3) << (2 * (k / 4)));
    }
}

/* Octets and quads (planar.h) from the eight units' codes in value order
 * (the unit layout: lq_llmq_unpack_unit / lq_llmq_pack_unit). Both place
 * lane i of pair m's vectors v1, v2: unit 2m + i / 16, value i % 16 or
 * 16 + i % 16; set s of an octet is pair s / 2's v1 (s even) or v2. */
#define PAIR_UNIT(m, i) (2 * (m) + (i) / 16)
#define PAIR_VALUE(second, i) (16 * (second) + (i) % 16)

static void unit_codes8(int bits, const uint8_t *u, uint8_t c[8][32]) {
    for (int k = 0; k < 8; k++) lq_llmq_unpack_unit(bits, u + 4 * bits * k, c[k]);
}

static void units8(int bits, uint8_t c[8][32], uint8_t *u) {
    for (int k = 0; k < 8; k++) lq_llmq_pack_unit(bits, c[k], u + 4 * bits * k);
}

void lq_int3_octet(uint8_t o[96], const uint8_t u[96]) {
    uint8_t c[8][32];
    unit_codes8(3, u, c);
    for (int i = 0; i < 32; i++) {
        int s[8];
        for (int k = 0; k < 8; k++) s[k] = c[PAIR_UNIT(k / 2, i)][PAIR_VALUE(k % 2, i)];
        o[i] = (uint8_t)(s[0] | s[2] << 3 | (s[7] & 3) << 6);
        o[32 + i] = (uint8_t)(s[1] | s[3] << 3 | (s[5] & 3) << 6);
        o[64 + i] = (uint8_t)(s[6] | s[4] << 3 | (s[7] >> 2) << 6 | (s[5] >> 2) << 7);
    }
}

void lq_int3_unoctet(const uint8_t o[96], uint8_t u[96]) {
    uint8_t c[8][32];
    for (int i = 0; i < 32; i++)
        for (int k = 0; k < 8; k++) c[PAIR_UNIT(k / 2, i)][PAIR_VALUE(k % 2, i)] = (uint8_t)lq_int3_octet_code(o, k, i);
    units8(3, c, u);
}

void lq_int2_quads(uint8_t q[64], const uint8_t u[64]) {
    uint8_t c[8][32];
    unit_codes8(2, u, c);
    memset(q, 0, 64);
    for (int i = 0; i < 32; i++)
        for (int k = 0; k < 8; k++) /* pair k / 2's v1 or v2 in field 2 (k / 2 % 2) + k % 2 of vector k / 4 */
            q[32 * (k / 4) + i] |= (uint8_t)(c[PAIR_UNIT(k / 2, i)][PAIR_VALUE(k % 2, i)] << (2 * (k % 4)));
}

void lq_int2_unquads(const uint8_t q[64], uint8_t u[64]) {
    uint8_t c[8][32];
    for (int unit = 0; unit < 8; unit++)
        for (int v = 0; v < 32; v++) c[unit][v] = (uint8_t)lq_int2_quads_code(q, unit, v);
    units8(2, c, u);
}

/* a chunk's code run of n_units units (planar.h: unit_codes): INT3's eight
 * as one octet, fewer in pairs; INT2's eight as quads, fewer as they are */
static void chunk_unit_codes(int unit_codes, uint8_t *run, size_t n_units) {
    uint8_t o[96];
    if (n_units == 8 && unit_codes == 3) lq_int3_octet(o, run);
    if (n_units == 8 && unit_codes == 2) lq_int2_quads(o, run);
    if (n_units == 8) {
        memcpy(run, o, unit_codes == 3 ? 96 : 64);
        return;
    }
    for (size_t u = 0; unit_codes == 3 && u + 1 < n_units; u += 2) {
        uint8_t p[24];
        lq_int3_pair(p, run + 12 * u, run + 12 * u + 12);
        memcpy(run + 12 * u, p, 24);
    }
}

/* one chunk of n_blocks blocks (planar.h: chunk) */
static void pack_chunk(const lq_planar *p, void *dst, const void *src, size_t n_blocks) {
    const size_t bs = lq_planar_block_bytes(p);
    uint8_t *run = dst;
    size_t off = 0; /* the field's offset in a block */
    for (int f = 0; f < p->n_fields; f++) {
        const size_t fb = p->field[f];
        copy_fields(run, fb, (const uint8_t *)src + off, bs, fb, n_blocks);
        if (f == 1 && p->qh_pairs) qh_pairs(run, n_blocks);
        if (f == 1 && p->unit_codes) /* units of 4 x bits bytes (unit_codes: the bits) */
            chunk_unit_codes(p->unit_codes, run, n_blocks * fb / (4 * p->unit_codes));
        run += n_blocks * fb, off += fb;
    }
    if (p->recode)
        for (size_t b = 0; b < n_blocks; b++) p->recode((uint8_t *)dst + b * bs);
}

void lq_planar_pack(const lq_planar *p, void *dst, const void *src, size_t n_blocks) {
    const size_t c = p->chunk ? p->chunk : n_blocks, bs = lq_planar_block_bytes(p);
    for (size_t c0 = 0; c0 < n_blocks; c0 += c)
        pack_chunk(p, (uint8_t *)dst + c0 * bs, (const uint8_t *)src + c0 * bs, n_blocks - c0 < c ? n_blocks - c0 : c);
}

void *lq_planar_packed(const lq_planar *p, const void *src, size_t row_bytes, int rows) {
    uint8_t *dst = lq_alloc_aligned(row_bytes * (size_t)rows);
    if (!dst) return NULL;
    const size_t nb = row_bytes / lq_planar_block_bytes(p);
    #pragma omp parallel for schedule(static) if (row_bytes * (size_t)rows > ((size_t)1 << 22))
    for (int r = 0; r < rows; r++)
        lq_planar_pack(p, dst + (size_t)r * row_bytes, (const uint8_t *)src + (size_t)r * row_bytes, nb);
    return dst;
}

static void unpack_chunk(const lq_planar *p, void *dst, const void *row, size_t n_blocks, size_t b0, size_t nb) {
    const size_t bs = lq_planar_block_bytes(p);
    const uint8_t *run = row;
    uint8_t *d = dst;
    size_t off = 0;
    for (int f = 0; f < p->n_fields; f++) {
        const size_t fb = p->field[f];
        copy_fields(d + off, bs, run + b0 * fb, fb, fb, nb);
        if (f == 1 && p->qh_pairs) /* whole pairs in the run; b0 may be odd */
            for (size_t b = b0 & ~(size_t)1; b < b0 + nb; b += 2) {
                if (b + 1 >= n_blocks) break; /* a row's odd last block: as it is */
                uint64_t w;
                uint32_t q[2];
                memcpy(&w, run + 4 * b, 8);
                lq_qh_unpair(w, &q[0], &q[1]);
                if (b >= b0) memcpy(d + (b - b0) * bs + off, &q[0], 4);
                if (b + 1 < b0 + nb) memcpy(d + (b + 1 - b0) * bs + off, &q[1], 4);
            }
        if (f == 1 && p->unit_codes && n_blocks * fb == (size_t)32 * p->unit_codes) { /* eight units */
            uint8_t u[96]; /* an octet or quads: the units of blocks [b0, b0 + nb) */
            if (p->unit_codes == 3)
                lq_int3_unoctet(run, u);
            else
                lq_int2_unquads(run, u);
            for (size_t b = 0; b < nb; b++) memcpy(d + b * bs + off, u + (b0 + b) * fb, fb);
        } else if (f == 1 && p->unit_codes == 3) { /* units of blocks [b0, b0 + nb): whole pairs; the first may start before */
            const size_t upb = fb / 12, n_units = n_blocks * upb, u0 = b0 * upb, u1 = (b0 + nb) * upb;
            for (size_t u = u0 & ~(size_t)1; u < u1 && u + 1 < n_units; u += 2) {
                uint8_t q[2][12];
                lq_int3_unpair(run + 12 * u, q[0], q[1]);
                for (size_t h = 0; h < 2; h++) /* unit u + h: block (u + h) / upb, its (u + h) % upb-th */
                    if (u + h >= u0 && u + h < u1)
                        memcpy(d + ((u + h) / upb - b0) * bs + off + 12 * ((u + h) % upb), q[h], 12);
            }
        }
        run += n_blocks * fb, off += fb;
    }
    void (*back)(uint8_t *) = p->unrecode ? p->unrecode : p->recode;
    if (back)
        for (size_t b = 0; b < nb; b++) back(d + b * bs);
}

void lq_planar_unpack(const lq_planar *p, void *dst, const void *row, size_t n_blocks, size_t b0, size_t nb) {
    const size_t c = p->chunk ? p->chunk : n_blocks, bs = lq_planar_block_bytes(p);
    for (size_t b = b0; b < b0 + nb;) { /* the part of each chunk in [b0, b0 + nb) */
        const size_t cs = b / c * c, k = n_blocks - cs < c ? n_blocks - cs : c, e = b0 + nb < cs + k ? b0 + nb : cs + k;
        unpack_chunk(p, (uint8_t *)dst + (b - b0) * bs, (const uint8_t *)row + cs * bs, k, b - cs, e - b);
        b = e;
    }
}
