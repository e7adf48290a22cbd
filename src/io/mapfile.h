/* Read-only memory map of a whole file: a thin wrapper so parsers only ever
 * see (buffer, length). */
#ifndef LQ_MAPFILE_H
#define LQ_MAPFILE_H

#include "core/lq.h"

typedef struct lq_mapfile {
    const uint8_t *data;
    size_t len;
} lq_mapfile;

/* Maps path read-only. Empty files map to data == NULL, len == 0. */
llmq_status lq_map_open(const char *path, lq_mapfile *out, lq_err *e);
void lq_map_close(lq_mapfile *m);

/* Drops the resident pages of [p, p + n) when that range lies in m (whole
 * pages inside it only): they stop counting in the process's RSS and come
 * back from the file if read again. Anything outside m is left alone. */
void lq_map_release(const lq_mapfile *m, const void *p, size_t n);

/* Writes len bytes to path atomically: a temporary file in the same
 * directory, fsync, rename. Nothing is left behind on failure. */
llmq_status lq_write_file_atomic(const char *path, const void *data, size_t len, lq_err *e);
/* The same with the bytes written by produce(fd, user), which returns false
 * on a failed write (the temporary is then removed). */
llmq_status lq_write_file_atomic_fn(const char *path, bool (*produce)(int fd, void *user), void *user, lq_err *e);
/* write(2) until all len bytes are out; false on error. */
bool lq_write_all(int fd, const void *data, size_t len);

#endif
