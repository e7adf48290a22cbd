/* Settings that libraries read once, before main, and a restart to apply them. */
#include "llmq/llmq.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* - GNU OpenMP's wait policy. Its default (spin for ~300000 iterations after
 *   every parallel region) steals the cores that OpenBLAS's own threads need:
 *   prompt processing ran 2.6x slower on 2 cores. Not spinning at all costs
 *   generation a third of its speed (each of the ~200 small GEMVs per token
 *   waits for a sleeping thread). A short spin is the best of both
 *   (measured: README, Threads).
 * - OpenBLAS's kernels, when it does not know the CPU and falls back to SSE3
 *   (5x slower sgemm on a Xeon newer than the library). */
void llmq_restart_with_library_settings(char **argv) {
    bool change = false;
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        setenv("GOMP_SPINCOUNT", "10000", 1);
        change = true;
    }
    const char *core = getenv("OPENBLAS_CORETYPE") ? NULL : llmq_blas_better_core();
    if (core) setenv("OPENBLAS_CORETYPE", core, 1), change = true;
    if (change) execv("/proc/self/exe", argv);
    /* no change, or exec failed: go on as we are, slower but correct */
}
