/* Observers: running maxima and a histogram of |x| whose range doubles
 * (neighbouring bins merge) whenever a batch exceeds it. */
#include "algo/observer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BINS = 2048, LEVELS = 128 };

static const char *const names[] = {"minmax", "ema", "percentile", "mse", "kl"};

struct lq_observer {
    lq_observer_kind kind;
    float max;       // largest |x| so far
    double ema;      // moving average of batch maxima
    bool seen;
    double width;    // bin width of the histogram (0 until the first non-zero batch)
    double hist[BINS];
};

bool lq_observer_from_name(const char *name, lq_observer_kind *k) {
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strcmp(name, names[i])) {
            *k = (lq_observer_kind)i;
            return true;
        }
    return false;
}

const char *lq_observer_name(lq_observer_kind k) { return (unsigned)k < 5 ? names[k] : "?"; }

lq_observer *lq_observer_new(lq_observer_kind kind) {
    lq_observer *o = calloc(1, sizeof *o);
    if (o) o->kind = kind;
    return o;
}

void lq_observer_free(lq_observer *o) { free(o); }

// widen the histogram (merge pairs of bins) until it covers m
static void cover(lq_observer *o, float m) {
    if (o->width == 0) o->width = (double)m / BINS;
    while (m >= o->width * BINS) {
        for (int i = 0; i < BINS / 2; i++) o->hist[i] = o->hist[2 * i] + o->hist[2 * i + 1];
        memset(o->hist + BINS / 2, 0, sizeof(double) * (BINS / 2));
        o->width *= 2;
    }
}

void lq_observer_update(lq_observer *o, const float *x, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a <= 3.4e38f && a > m) m = a; /* skips NaN and infinities */
    }
    o->ema = o->seen ? o->ema + 0.01 * ((double)m - o->ema) : m;
    o->seen = true;
    if (m > o->max) o->max = m;
    if (m == 0) {
        o->hist[0] += (double)n;
        return;
    }
    cover(o, m);
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (!(a <= 3.4e38f)) continue;
        int b = (int)(a / o->width);
        o->hist[b < BINS ? b : BINS - 1] += 1;
    }
}

static double total(const lq_observer *o) {
    double t = 0;
    for (int i = 0; i < BINS; i++) t += o->hist[i];
    return t;
}

static float percentile(const lq_observer *o, double q) {
    double want = q * total(o), c = 0;
    for (int i = 0; i < BINS; i++)
        if ((c += o->hist[i]) >= want) return (float)((i + 1) * o->width);
    return o->max;
}

// Expected squared error of symmetric INT8 with threshold t, bins at their centres
static double mse_of(const lq_observer *o, double t) {
    double step = t / 127, err = 0;
    for (int i = 0; i < BINS; i++) {
        double x = (i + 0.5) * o->width;
        err += o->hist[i] * (x > t ? (x - t) * (x - t) : step * step / 12);
    }
    return err;
}

static float best_mse(const lq_observer *o) {
    double best = INFINITY, t_best = o->max;
    for (int k = 1; k <= 200; k++) { /* thresholds 0.5% .. 100% of the max */
        double t = o->max * k / 200.0, e = mse_of(o, t);
        if (e < best) best = e, t_best = t;
    }
    return (float)t_best;
}

// KL(P || Q) of the histogram clipped at bin i against its LEVELS-level quantization
static double kl_at(const lq_observer *o, int i, double *p, double *q) {
    memcpy(p, o->hist, sizeof(double) * (size_t)i);
    for (int j = i; j < BINS; j++) p[i - 1] += o->hist[j]; /* outliers into the last kept bin */
    for (int l = 0; l < LEVELS; l++) { // each level spreads its mass evenly over its non-empty bins
        int b0 = (int)((long)l * i / LEVELS), b1 = (int)((long)(l + 1) * i / LEVELS);
        double mass = 0;
        int nz = 0;
        for (int j = b0; j < b1; j++) mass += p[j], nz += p[j] > 0;
        for (int j = b0; j < b1; j++) q[j] = p[j] > 0 ? mass / nz : 0;
    }
    double sp = 0, sq = 0, kl = 0;
    for (int j = 0; j < i; j++) sp += p[j], sq += q[j];
    for (int j = 0; j < i; j++)
        if (p[j] > 0) kl += p[j] / sp * log((p[j] / sp) / (q[j] > 0 ? q[j] / sq : 1e-12));
    return kl;
}

static float best_kl(const lq_observer *o) {
    double p[BINS], q[BINS], best = INFINITY;
    int used = BINS;
    while (used > LEVELS && o->hist[used - 1] == 0) used--;
    int i_best = used;
    for (int i = LEVELS; i <= used; i += 16) {
        double kl = kl_at(o, i, p, q);
        if (kl < best) best = kl, i_best = i;
    }
    return (float)(i_best * o->width);
}

float lq_observer_threshold(const lq_observer *o) {
    if (!(o->max > 0)) return 1.0f;
    float t = o->max;
    switch (o->kind) {
    case LQ_OBS_MINMAX: break;
    case LQ_OBS_EMA: t = (float)o->ema; break;
    case LQ_OBS_PERCENTILE: t = percentile(o, 0.9999); break;
    case LQ_OBS_MSE: t = best_mse(o); break;
    case LQ_OBS_KL: t = best_kl(o); break;
    }
    return t > 0 ? t : o->max;
}
