#include "io/mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

llmq_status lq_map_open(const char *path, lq_mapfile *out, lq_err *e) {
    out->data = NULL;
    out->len = 0;
    int fd = open(path, O_RDONLY);
    LQ_CHECK(fd >= 0, e, LLMQ_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lq_fail(e, LLMQ_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return LLMQ_OK;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    LQ_CHECK(p != MAP_FAILED, e, LLMQ_ERR_IO, "%s: mmap: %s", path, strerror(errno));
    out->data = p;
    out->len = (size_t)st.st_size;
    return LLMQ_OK;
}

void lq_map_release(const lq_mapfile *m, const void *p, size_t n) {
    const uintptr_t a = (uintptr_t)p, base = (uintptr_t)(m ? m->data : NULL);
    if (!m || !m->data || a < base || n > m->len || a - base > m->len - n) return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t lo = (a + page - 1) / page * page, hi = (a + n) / page * page;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void lq_map_close(lq_mapfile *m) {
    if (m && m->data) munmap((void *)m->data, m->len);
    if (m) {
        m->data = NULL;
        m->len = 0;
    }
}

bool lq_write_all(int fd, const void *data, size_t len) {
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        len -= (size_t)w;
    }
    return true;
}

llmq_status lq_write_file_atomic_fn(const char *path, bool (*produce)(int fd, void *user), void *user, lq_err *e) {
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    LQ_CHECK(tmp, e, LLMQ_ERR_NOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd >= 0) {
        /* mkstemp makes the file 0600; give the output the usual permissions */
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
    }
    if (fd < 0) {
        llmq_status st = lq_fail(e, LLMQ_ERR_IO, "%s: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    int ok = produce(fd, user) && fsync(fd) == 0;
    ok = (close(fd) == 0) && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        llmq_status st = lq_fail(e, LLMQ_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return st;
    }
    free(tmp);
    return LLMQ_OK;
}

typedef struct { const void *data; size_t len; } buf_job;
static bool write_buf(int fd, void *user) {
    const buf_job *j = user;
    return lq_write_all(fd, j->data, j->len);
}

llmq_status lq_write_file_atomic(const char *path, const void *data, size_t len, lq_err *e) {
    buf_job j = {data, len};
    return lq_write_file_atomic_fn(path, write_buf, &j, e);
}
