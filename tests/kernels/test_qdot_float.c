/* F16 / BF16 GEMV kernels: AVX2 and AVX-512 give the reference's bits; the
 * reference is within float rounding of a double dot product; rows outside
 * [r0, r1) are left alone. */
#include "kernels/qdot.h"
#include "quant/types.h"
#include "test.h"

#include <stdint.h>

static uint64_t rng = 88172645463325252ull;
static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f - 0.5f;
}

static void check_type(uint32_t type, uint16_t (*enc)(float), float (*dec)(uint16_t)) {
    static const int ns[] = {1, 15, 16, 17, 33, 576, 1000};
    enum { ROWS = 7, MAXN = 1000 };
    static uint16_t w[ROWS * MAXN];
    static float x[MAXN];
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        int n = ns[k];
        for (int i = 0; i < ROWS * n; i++) w[i] = enc(frand() * (i == 5 ? 1000.0f : 2.0f)); /* one outlier */
        for (int i = 0; i < n; i++) x[i] = frand();
        for (int i = 0; i < n; i++) w[2 * n + i] = enc(0.0f); /* an all-zero row */
        float yref[ROWS];
        for (int r = 0; r < ROWS; r++) yref[r] = NAN;
        const lq_qdot_info *ref = lq_qdot_get_isa(type, 0);
        CHECK(ref && ref->act_type == LQ_TYPE_F32);
        if (!ref) return;
        ref->rows(yref, w, (size_t)n * 2, x, n, 1, ROWS);
        CHECK(isnan(yref[0]));
        CHECK(yref[2] == 0.0f);
        for (int r = 1; r < ROWS; r++) {
            double d = 0, mag = 0;
            for (int i = 0; i < n; i++) d += (double)dec(w[r * n + i]) * x[i], mag += fabs((double)dec(w[r * n + i]) * x[i]);
            CHECK_NEAR(yref[r], d, 1e-6 * mag + 1e-30);
        }
        for (int isa = 1; isa <= 2; isa++) {
            const lq_qdot_info *k2 = lq_qdot_get_isa(type, isa);
            if (!k2) {
                printf("isa %d not available here: skipped\n", isa);
                continue;
            }
            float y[ROWS];
            for (int r = 0; r < ROWS; r++) y[r] = NAN;
            k2->rows(y, w, (size_t)n * 2, x, n, 1, ROWS);
            CHECK_MSG(memcmp(y, yref, sizeof y) == 0 || (isnan(y[0]) && memcmp(y + 1, yref + 1, sizeof y - 4) == 0),
                      "%s isa %d n %d differs from the reference", lq_type_name(type), isa, n);
        }
    }
}

int main(void) {
    check_type(LQ_TYPE_F16, lq_fp32_to_fp16, lq_fp16_to_fp32);
    check_type(LQ_TYPE_BF16, lq_fp32_to_bf16, lq_bf16_to_fp32);
    CHECK(lq_qdot_get_isa(LQ_TYPE_F32, 0) == NULL);
    TEST_END();
}
