/* AVX-512 causal attention of one head over a prompt (kernels/attention.h):
 * four query rows at a time over the keys transposed once per head, each
 * group only as far as its last row sees (about half the square, where
 * blocked BLAS products computed 5/8 of it at K = hd, their weakest shape). */
#include "kernels/attention.h"
#include "kernels/attn_rows_avx512.h"

void lq_attn_causal_avx512(float *out, const float *q, const float *K, const float *V, int T, int pos, int hd,
                           int qs, int ks, float *scratch) {
    if (!lq_attn_causal_ok(hd)) {
        lq_attn_causal_ref(out, q, K, V, T, pos, hd, qs, ks, scratch);
        return;
    }
    const int P = pos + T, Ks = (P + 15) & ~15;
    float *Kt = scratch, *p = scratch + (size_t)hd * Ks; // K transposed (hd, Ks), 4 rows of scores
    lq_attn_transpose_keys(Kt, K, P, ks, hd, Ks);
    const lq_attn_rows a = {q, V, Kt, out, p, qs, ks, Ks, hd};
    int t = 0;
    /* row t sees pos + t + 1 keys; the group's last row bounds the keys scored */
    for (; t + 4 <= T; t += 4) lq_attn_rows_avx512(&a, NULL, t, 4, T, pos + t + 1, 1, (pos + t + 4 + 15) & ~15);
    for (; t < T; t++) lq_attn_rows_avx512(&a, NULL, t, 1, T, pos + t + 1, 1, (pos + t + 1 + 15) & ~15);
}
