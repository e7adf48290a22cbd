/* Bounded little-endian byte cursor: every parser reads through one of these,
 * so no read can run past the buffer. Reads fail (return false) without
 * moving the cursor when fewer bytes remain than asked for. */
#ifndef LQ_CURSOR_H
#define LQ_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct lq_cursor {
    const uint8_t *buf;
    size_t len;
    size_t off;
} lq_cursor;

static inline lq_cursor lq_cursor_make(const void *buf, size_t len) {
    lq_cursor c = {(const uint8_t *)buf, len, 0};
    return c;
}
static inline size_t lq_cur_left(const lq_cursor *c) { return c->len - c->off; }
static inline const uint8_t *lq_cur_ptr(const lq_cursor *c) { return c->buf + c->off; }

static inline bool lq_cur_read(lq_cursor *c, void *dst, size_t n) {
    if (n > lq_cur_left(c)) return false;
    if (n) memcpy(dst, c->buf + c->off, n);
    c->off += n;
    return true;
}
static inline bool lq_cur_skip(lq_cursor *c, size_t n) {
    if (n > lq_cur_left(c)) return false;
    c->off += n;
    return true;
}
/* Returns a pointer to the next n bytes and advances, or NULL. */
static inline const uint8_t *lq_cur_take(lq_cursor *c, size_t n) {
    if (n > lq_cur_left(c)) return NULL;
    const uint8_t *p = c->buf + c->off;
    c->off += n;
    return p;
}
/* x86 and every target we build for are little-endian. */
static inline bool lq_cur_u8(lq_cursor *c, uint8_t *v) { return lq_cur_read(c, v, 1); }
static inline bool lq_cur_u16(lq_cursor *c, uint16_t *v) { return lq_cur_read(c, v, 2); }
static inline bool lq_cur_u32(lq_cursor *c, uint32_t *v) { return lq_cur_read(c, v, 4); }
static inline bool lq_cur_u64(lq_cursor *c, uint64_t *v) { return lq_cur_read(c, v, 8); }
static inline bool lq_cur_i32(lq_cursor *c, int32_t *v) { return lq_cur_read(c, v, 4); }
static inline bool lq_cur_i64(lq_cursor *c, int64_t *v) { return lq_cur_read(c, v, 8); }
static inline bool lq_cur_f32(lq_cursor *c, float *v) { return lq_cur_read(c, v, 4); }

#endif
