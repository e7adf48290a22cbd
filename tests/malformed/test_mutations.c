/* Deterministic mutation run over every parser: valid seeds (a GGUF written
 * by the writer, the stories260K checkpoint head, its tokenizer, a small
 * safetensors file, the MiniLM tokenizer.json) with bytes flipped, runs
 * overwritten with 0xFF, and truncations. No input may crash or leak; under
 * ASan+UBSan any memory error aborts the test. */
#include "../fuzz/fuzz_parsers.c"

#include "io/mapfile.h"
#include "quant/types.h"
#include "test.h"

static uint64_t rng = 0x1234567;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static int n_runs;

/* seed: parser tag byte + payload */
static void mutate_and_run(uint8_t tag, const uint8_t *seed, size_t len, int rounds) {
    uint8_t *buf = malloc(len + 1);
    for (int r = 0; r < rounds; r++) {
        buf[0] = tag;
        memcpy(buf + 1, seed, len);
        size_t n = len;
        switch (r % 4) {
        case 0: /* flip a few bytes, mostly in the header */
            for (int k = 0; k < 1 + (int)(rnd() % 4); k++) buf[1 + rnd() % (len < 512 ? len : 512)] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 1: /* a run of 0xFF (huge counts and lengths) */
        {
            size_t at = rnd() % (len < 512 ? len : 512), k = 1 + rnd() % 8;
            for (size_t i = at; i < at + k && i < len; i++) buf[1 + i] = 0xFF;
            break;
        }
        case 2: n = rnd() % len; break; /* truncation */
        default: buf[1 + rnd() % len] = (uint8_t)rnd(); break;
        }
        lq_fuzz_one(buf, n + 1);
        n_runs++;
    }
    free(buf);
}

static void seed_gguf(void) {
    lq_gguf_writer *w = lq_gguf_writer_new(32);
    lq_gguf_add_str(w, "general.architecture", "llama");
    lq_gguf_add_u32(w, "llama.block_count", 1);
    const char *toks[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81Hello", "\xe2\x96\x81world", "H", "e"};
    size_t lens[7];
    float scores[7];
    int32_t types[7];
    for (int i = 0; i < 7; i++) lens[i] = strlen(toks[i]), scores[i] = (float)-i, types[i] = i < 3 ? 3 : 1;
    lq_gguf_add_str(w, "tokenizer.ggml.model", "llama");
    lq_gguf_add_arr_str(w, "tokenizer.ggml.tokens", toks, lens, 7);
    lq_gguf_add_arr(w, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32, scores, 7);
    lq_gguf_add_arr(w, "tokenizer.ggml.token_type", LQ_GGUF_INT32, types, 7);
    float data[64];
    for (int i = 0; i < 64; i++) data[i] = (float)i;
    int64_t ne[2] = {32, 2};
    lq_gguf_add_tensor(w, "a.weight", LQ_TYPE_F32, 2, ne, data, sizeof data);
    uint8_t *buf;
    size_t len;
    lq_err e;
    if (lq_gguf_serialize(w, &buf, &len, &e) == LLMQ_OK) {
        mutate_and_run(0, buf, len, 3000);
        free(buf);
    }
    lq_gguf_writer_free(w);
}

static void seed_safetensors(void) {
    const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                      "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]}}";
    size_t hl = strlen(hdr), len = 8 + hl + 32;
    uint8_t *buf = calloc(1, len);
    uint64_t n = hl;
    memcpy(buf, &n, 8);
    memcpy(buf + 8, hdr, hl);
    mutate_and_run(1, buf, len, 2000);
    free(buf);
}

static void seed_file(uint8_t tag, const char *path, size_t max, int rounds) {
    lq_mapfile m;
    lq_err e;
    if (lq_map_open(path, &m, &e) != LLMQ_OK) {
        CHECK_MSG(0, "cannot open seed %s", path);
        return;
    }
    mutate_and_run(tag, m.data, m.len < max ? m.len : max, rounds);
    lq_map_close(&m);
}

int main(void) {
    seed_gguf();
    seed_safetensors();
    seed_file(2, SHARED_PATH("models/stories260K/stories260K.bin"), 1 << 20, 300);
    seed_file(3, SHARED_PATH("models/stories260K/tok512.bin"), 1 << 20, 300);
    printf("%d mutated inputs parsed without a crash\n", n_runs);
    CHECK(n_runs > 5000);
    TEST_END();
}
