/* Activation observers on synthetic data of known shape: a standard Gaussian
 * bulk plus a handful of large outliers. minmax must give the largest |x|,
 * the clipping observers (percentile, mse, kl) a threshold between the bulk
 * and that maximum, ema (average of batch maxima) one in between too. Also
 * SmoothQuant's scale formula on a small case. */
#include "algo/observer.h"
#include "algo/smoothquant.h"

#include "test.h"

#include <math.h>
#include <stdint.h>

enum { BATCHES = 100, PER_BATCH = 1000 };

static uint64_t rng = 0x243F6A8885A308D3ull;
static double uniform(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}
static float gauss(void) { return (float)(sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform())); }

int main(void) {
    static float data[BATCHES][PER_BATCH];
    float bulk_max = 0, max = 0;
    for (int b = 0; b < BATCHES; b++)
        for (int i = 0; i < PER_BATCH; i++) {
            data[b][i] = gauss();
            bulk_max = fmaxf(bulk_max, fabsf(data[b][i]));
        }
    /* outliers in 5 batches, the largest -40 */
    const float outliers[5] = {25.0f, -40.0f, 30.0f, 18.0f, -22.0f};
    for (int i = 0; i < 5; i++) data[7 + 19 * i][123] = outliers[i];
    for (int b = 0; b < BATCHES; b++)
        for (int i = 0; i < PER_BATCH; i++) max = fmaxf(max, fabsf(data[b][i]));
    CHECK(max == 40.0f && bulk_max > 3.0f && bulk_max < 6.0f);

    float t[5];
    for (int k = 0; k < 5; k++) {
        lq_observer_kind kind;
        CHECK(lq_observer_from_name(lq_observer_name((lq_observer_kind)k), &kind) && kind == (lq_observer_kind)k);
        lq_observer *o = lq_observer_new(kind);
        CHECK(o != NULL);
        if (!o) return 1;
        CHECK_NEAR(lq_observer_threshold(o), 1.0f, 0.0f); /* nothing seen */
        for (int b = 0; b < BATCHES; b++) lq_observer_update(o, data[b], PER_BATCH);
        const float junk[3] = {NAN, INFINITY, -INFINITY}; /* ignored */
        lq_observer_update(o, junk, 3);
        t[k] = lq_observer_threshold(o);
        lq_observer_free(o);
        printf("%-10s threshold %.4f (bulk max %.3f, max %.1f)\n", lq_observer_name(kind), (double)t[k],
               (double)bulk_max, (double)max);
    }
    CHECK(!lq_observer_from_name("median", &(lq_observer_kind){0}));
    CHECK_MSG(t[LQ_OBS_MINMAX] == max, "minmax %g != max %g", (double)t[LQ_OBS_MINMAX], (double)max);
    /* the 99.99th percentile of |N(0,1)| is 3.89; the 5 outliers are 0.005% */
    CHECK_MSG(t[LQ_OBS_PERCENTILE] > 3.0f && t[LQ_OBS_PERCENTILE] < bulk_max + 0.5f, "percentile %g",
              (double)t[LQ_OBS_PERCENTILE]);
    CHECK_MSG(t[LQ_OBS_MSE] > 2.5f && t[LQ_OBS_MSE] < max, "mse %g", (double)t[LQ_OBS_MSE]);
    CHECK_MSG(t[LQ_OBS_KL] > 2.5f && t[LQ_OBS_KL] < max, "kl %g", (double)t[LQ_OBS_KL]);
    /* batch maxima are ~3.3 in 95 batches and 18..40 in 5; the 0.01-weighted
     * average lies between the bulk and the largest value */
    CHECK_MSG(t[LQ_OBS_EMA] > 2.5f && t[LQ_OBS_EMA] < max, "ema %g", (double)t[LQ_OBS_EMA]);
    /* the clipping observers clip: below minmax */
    CHECK(t[LQ_OBS_PERCENTILE] < t[LQ_OBS_MINMAX] && t[LQ_OBS_MSE] < t[LQ_OBS_MINMAX]);

    /* SmoothQuant: s_j = amax_j^a / wmax_j^(1-a); inactive channels get 1 */
    const float act_max[3] = {16.0f, 1.0f, 0.0f};
    const float w0[2 * 3] = {0.25f, -1.0f, 0.5f, -0.5f, 0.5f, 0.1f}, w1[1 * 3] = {1.0f, 4.0f, 0.0f};
    const float *W[2] = {w0, w1};
    const int rows[2] = {2, 1};
    float s[3];
    lq_smooth_scales(act_max, W, rows, 2, 3, 0.5f, s);
    CHECK_NEAR(s[0], 4.0f, 1e-5f);        /* sqrt(16) / sqrt(1) */
    CHECK_NEAR(s[1], 0.5f, 1e-6f);        /* sqrt(1) / sqrt(4) */
    CHECK_NEAR(s[2], 1.0f, 0.0f);
    TEST_END();
}
