/* llmq: quantize, run and measure transformer language models on the CPU.
 *
 * This is the whole public API. Handles are opaque; every _open/_create has a
 * _free that accepts NULL. Functions that can fail return an llmq_status and,
 * where an llmq_error* is taken, fill it with one human-readable line. */
#ifndef LLMQ_H
#define LLMQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Stable numbers: never renumber, only append. */
typedef enum llmq_status {
    LLMQ_OK = 0,
    LLMQ_ERR_IO = 1,          /* file missing, unreadable, short write */
    LLMQ_ERR_FORMAT = 2,      /* structurally malformed input */
    LLMQ_ERR_BOUNDS = 3,      /* a read or offset past the end of the data */
    LLMQ_ERR_OVERFLOW = 4,    /* a size computation overflowed / absurd count */
    LLMQ_ERR_UNSUPPORTED = 5, /* valid but not handled (tensor type, arch) */
    LLMQ_ERR_NOMEM = 6,
    LLMQ_ERR_ARG = 7,         /* bad argument from the caller */
    LLMQ_ERR_MAGIC = 8,       /* wrong magic number */
    LLMQ_ERR_VERSION = 9,     /* unknown format version */
    LLMQ_ERR_DUPLICATE = 10,  /* duplicate key or tensor name */
    LLMQ_ERR_ALIGN = 11,      /* bad alignment value or misaligned offset */
    LLMQ_ERR_MISSING = 12,    /* a required tensor / key is absent */
    LLMQ_ERR_SHAPE = 13,      /* tensor shape or hyper-parameter mismatch */
    LLMQ_ERR_TYPE = 14,       /* unknown or deprecated type id */
    LLMQ_ERR_JSON = 15,       /* malformed JSON */
    LLMQ_ERR_OVERLAP = 16,    /* tensor data ranges overlap */
} llmq_status;

/* Short constant name of a status, e.g. "format error". Never NULL. */
const char *llmq_status_str(llmq_status st);

/* Error detail filled by failing calls: status plus one line of text. */
typedef struct llmq_error {
    llmq_status status;
    char msg[320];
} llmq_error;

/* ---------------------------------------------------------------- models */

typedef struct llmq_model llmq_model;

typedef enum llmq_arch {
    LLMQ_ARCH_LLAMA = 0, /* decoder: text generation, perplexity */
    LLMQ_ARCH_BERT = 1,  /* encoder: sentence embeddings */
} llmq_arch;

/* How a decoder's KV cache stores K and V (as llama.cpp's -ctk / -ctv):
 * F32 as computed; F16 as IEEE half (round to nearest even); Q8 per token and
 * KV head as int8 codes with one float scale per block of 32 values (as
 * Q8_0: symmetric, d = max|x| / 127, round to nearest), about 3.6x smaller
 * than F32 at head size 64. Prompts and generation read the same rounded
 * rows. Encoders ignore it. */
typedef enum llmq_kv_type {
    LLMQ_KV_F32 = 0,
    LLMQ_KV_F16 = 1,
    LLMQ_KV_Q8 = 2,
} llmq_kv_type;

typedef struct llmq_model_params {
    const char *tokenizer_path; /* llama2.c tokenizer.bin; NULL otherwise */
    int n_threads;              /* <= 0: all cores */
    int max_ctx;                /* KV cache length; <= 0: model's own */
    llmq_kv_type kv_type;       /* KV cache storage (default LLMQ_KV_F32); others: ARG */
} llmq_model_params;

llmq_model_params llmq_model_default_params(void);

/* Opens a .gguf file, a llama2.c .bin checkpoint, or a Hugging Face model
 * directory (config.json + *.safetensors + tokenizer files). On success
 * *out owns the model; on failure *out is NULL and err says why. */
llmq_status llmq_model_open(const char *path, const llmq_model_params *params,
                            llmq_model **out, llmq_error *err);
void llmq_model_free(llmq_model *m);

typedef struct llmq_model_info {
    llmq_arch arch;
    const char *arch_name;   /* "llama", "bert" */
    const char *format;      /* "gguf", "safetensors", "llama2c" */
    const char *name;        /* model name from metadata, or "" */
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx_train;
    float norm_eps, rope_theta;
    int tied_output;         /* output matrix shares the token embedding */
    int n_tensors;
    uint64_t n_params;       /* total weights */
    uint64_t n_bytes;        /* bytes of tensor data as stored in the file */
    /* how an llmq-written GGUF was made ("" when not recorded): */
    const char *quant_method;   /* "rtn", "none" (llmq.quantize.method) */
    const char *quant_options;  /* the request, e.g. "--type Q4_K_M --pure" */
    const char *source_checksum; /* FNV-1a 64 of the source weights, hex */
} llmq_model_info;

void llmq_model_get_info(const llmq_model *m, llmq_model_info *info);

typedef struct llmq_tensor_info {
    const char *name;     /* as stored in the file */
    const char *type;     /* e.g. "F32", "Q4_K" */
    int n_dims;
    int64_t shape[4];     /* shape[0] is the contiguous (row) dimension */
    uint64_t n_elements;
    uint64_t n_bytes;
} llmq_tensor_info;

/* i in [0, n_tensors). Pointers stay valid while the model lives. */
llmq_status llmq_model_tensor_info(const llmq_model *m, int i, llmq_tensor_info *out);

/* Threads used by the model's kernels from now on (<= 0: all cores). */
void llmq_model_set_threads(llmq_model *m, int n_threads);

/* ------------------------------------------------------------ tokenizer */

/* Tokenizes text. add_special: prepend BOS (decoders whose vocabulary adds
 * one) or wrap in [CLS]..[SEP] (encoders). Writes up to max tokens (tokens may
 * be NULL to count only) and sets *n_out to the full count; returns
 * LLMQ_ERR_BOUNDS if max was too small, LLMQ_ERR_MISSING if the model has no
 * tokenizer (a llama2.c checkpoint opened without one). */
llmq_status llmq_tokenize(const llmq_model *m, const char *text, size_t len,
                          int add_special, int32_t *tokens, size_t max, size_t *n_out);
/* Text piece of one token as it should be printed (bytes decoded). prev is
 * the previous token or -1 (SentencePiece strips a leading space after BOS).
 * Returns the number of bytes written (not NUL-terminated beyond cap). */
size_t llmq_token_to_piece(const llmq_model *m, int32_t prev, int32_t token, char *buf, size_t cap);
int32_t llmq_token_bos(const llmq_model *m);
int32_t llmq_token_eos(const llmq_model *m);
int llmq_n_vocab(const llmq_model *m);

/* ------------------------------------------------------------ decoding */

/* Runs tokens[0..n) at positions pos..pos+n-1 through a decoder, appending
 * to its KV cache (positions past pos are discarded first; pos may not be
 * beyond the tokens already in the cache: LLMQ_ERR_ARG). If logits is
 * non-NULL it receives n_logits rows of n_vocab floats: the logits of the
 * last n_logits tokens (1 <= n_logits <= n). */
llmq_status llmq_decode(llmq_model *m, const int32_t *tokens, int n, int pos,
                        float *logits, int n_logits, llmq_error *err);

typedef struct llmq_sampler_params {
    float temp;      /* 0: greedy */
    float top_p;     /* 1: off */
    uint64_t seed;
} llmq_sampler_params;

/* Picks a token from one row of logits; *rng is the sampler's state
 * (initialize it to the seed). Modifies logits in place. */
int32_t llmq_sample(const llmq_sampler_params *p, float *logits, int n_vocab, uint64_t *rng);

/* ------------------------------------------------------------ encoding */

/* Sentence embedding of text (mean pooling + L2 normalization) for encoder
 * models. out must hold llmq_model_info.n_embd floats. */
llmq_status llmq_embed(llmq_model *m, const char *text, size_t len, float *out, llmq_error *err);

/* Encoders read from a W8A8 file (llmq.w8a8.scheme): columns of the linear
 * layers' inputs routed to float by the LLM.int8 outlier threshold, and
 * columns seen, summed over every call since opening. Returns 0 (and
 * zeros) when the model has no INT8 layers. */
int llmq_embed_w8a8_stats(const llmq_model *m, uint64_t *routed, uint64_t *seen);

/* ----------------------------------------------------------- perplexity */

typedef struct llmq_ppl_params {
    int n_ctx;      /* tokens per chunk (default 512) */
    int n_chunks;   /* <= 0: all */
    int n_batch;    /* tokens per decode call (default n_ctx) */
    void (*progress)(void *user, int chunk, int n_chunks, double ppl);
    void *user;
    llmq_model *kld_base; /* non-NULL: also compare every scored token's
                             distribution with this model's (same vocabulary),
                             as llama-perplexity --kl-divergence does */
    /* Base logits file (as llama-perplexity --kl-divergence-base): with
     * kld_base set, the base model's scored logit rows are also written there
     * (atomically); without it, they are read from there instead of running a
     * base model. The file records the context, chunk count, vocabulary and a
     * checksum of the tokens, and is refused (ARG) for other ones. */
    const char *kld_base_logits;
} llmq_ppl_params;

typedef struct llmq_ppl_result {
    double ppl, ppl_err;  /* estimate and its standard error */
    double nll_mean;      /* mean negative log-likelihood (nats) */
    int n_chunks;         /* chunks evaluated */
    int64_t n_tokens;     /* tokens in the whole text */
    int64_t n_scored;     /* tokens scored */
    double seconds;
    /* filled when kld_base was given: */
    double base_ppl;      /* perplexity of the base model on the same tokens */
    double kld_mean, kld_err; /* mean KL(base || model) per token (nats), standard error */
    double top1;          /* fraction of tokens whose most likely next token is the same */
    double top1_err;      /* its standard error */
} llmq_ppl_result;

llmq_ppl_params llmq_ppl_default_params(void);

/* Perplexity as llama.cpp's llama-perplexity computes it: tokenize the whole
 * text, cut into non-overlapping chunks of n_ctx tokens, score the second half
 * of each chunk. When the vocabulary adds BOS (add_bos_token), the text starts
 * with BOS and each chunk's first token is replaced by BOS. */
llmq_status llmq_perplexity(llmq_model *m, const char *text, size_t len,
                            const llmq_ppl_params *p, llmq_ppl_result *out, llmq_error *err);

/* ------------------------------------------------------------- imatrix */

/* Importance matrix as llama.cpp's llama-imatrix computes it: the text is
 * tokenized and cut into chunks as llmq_perplexity does (at least 2 x n_ctx
 * tokens; BOS first in each chunk when the vocabulary adds one), the model
 * runs over every chunk, and for each linear layer's input the sum of x^2
 * per column and the number of tokens are gathered. out_path gets llama.cpp's
 * GGUF imatrix format when it ends in ".gguf", else its legacy .dat format
 * (written atomically), readable by llama-quantize --imatrix. */
typedef struct llmq_imatrix_params {
    int n_ctx;           /* tokens per chunk (default 512) */
    int n_chunks;        /* <= 0: all */
    bool process_output; /* also output.weight (untied models), as --process-output */
    const char *dataset; /* recorded in the file (e.g. the text's path); may be NULL */
    void (*progress)(void *user, int chunk, int n_chunks);
    void *user;
} llmq_imatrix_params;

typedef struct llmq_imatrix_result {
    int n_chunks;     /* chunks run */
    int n_entries;    /* weights in the file */
    int64_t n_tokens; /* tokens in the whole text */
    double seconds;
} llmq_imatrix_result;

llmq_imatrix_params llmq_imatrix_default_params(void);
/* result may be NULL. */
llmq_status llmq_model_imatrix(llmq_model *m, const char *text, size_t len, const llmq_imatrix_params *p,
                               const char *out_path, llmq_imatrix_result *result, llmq_error *err);

/* Writes a model as GGUF (F32 weights, tokenizer in the metadata) to path,
 * atomically: a decoder as architecture "llama", a BERT encoder as llama.cpp's
 * "bert" (WordPiece vocabulary, mean pooling). */
llmq_status llmq_model_save_gguf(const llmq_model *m, const char *path, llmq_error *err);

/* Round-to-nearest quantization of a decoder or a BERT encoder (which gets a
 * mix's base type everywhere; position and token-type embeddings stay F32)
 * into a GGUF file with the
 * reference quantizers, which give the same bytes as llama.cpp's. `type` is
 * one of llama-quantize's mixes (Q4_K_M, Q3_K_S, ..., Q8_0: per-tensor types
 * chosen as it chooses them) or, with pure or for names that are no mix
 * (Q4_K, F16, ...), one GGML type for every matrix. Norms stay F32. Rows that
 * do not fit a 256-value super-block fall back as llama-quantize does (Q4_K ->
 * Q5_0, ...). The file is written atomically and records the method, type and
 * a checksum of the source weights. */
typedef struct llmq_quantize_params {
    const char *type;  /* a llama.cpp mix (Q4_K_M, Q3_K_S, Q8_0, ...) or a GGML type */
    int n_threads;     /* <= 0: the model's */
    bool pure;         /* every matrix gets the mix's base type (llama-quantize --pure) */
    /* per-tensor overrides "REGEX=TYPE" (llama-quantize --tensor-type): the
     * first regex found in a tensor's name picks its type */
    const char *const *tensor_types;
    int n_tensor_types;
    void (*progress)(void *user, int done, int total, const char *tensor);
    void *user;
    /* "rtn" (default; importance-weighted when an imatrix is given), "imatrix"
     * (rtn that requires one), "gptq", "awq" (both calibrate on calib_text;
     * without it they become "hqq"), "hqq" (calibration-free) */
    const char *method;
    const char *imatrix_path;  /* llama.cpp's imatrix file (.dat or .gguf), or NULL */
    const char *calib_text;    /* calibration text (not the evaluation text), or NULL */
    size_t calib_len;
    int calib_tokens;          /* tokens of calib_text used (65536 = 128 x 512) */
    int calib_ctx;             /* tokens per calibration sequence (512) */
    /* block i's statistics from the float model's hidden states instead of
     * the calibration batch run through the quantized blocks before it */
    bool calib_float_inputs;
    float gptq_damp;           /* fraction of the mean Hessian diagonal added (0.01) */
    bool gptq_act_order;       /* GPTQ visits columns by descending Hessian diagonal */
    /* per written matrix: its relative error sum w_c (W-Q)^2 / sum w_c W^2,
     * weighted by the importance where known, -1 when not computed */
    void (*tensor_done)(void *user, const char *tensor, const char *type, double rel_err);
    /* Activation quantization (W8A8): NULL (weights only), "dynamic-int8"
     * (every linear layer's weights INT8 per output channel, activations
     * quantized per token at run time, as PyTorch's quantize_dynamic) or
     * "static-int8" (activation scales fixed from calib_text by observer:
     * "minmax" (default), "ema", "percentile", "mse", "kl"). */
    const char *scheme;
    const char *observer;
    float smooth_alpha;        /* > 0: SmoothQuant with this migration strength (needs calib_text) */
    float outlier_threshold;   /* > 0: LLM.int8 outlier columns (|x| above it) run in float */
    /* filled on return: the method that ran, and matrices it could not
     * write (rounded to nearest instead, e.g. HQQ on a symmetric type) */
    const char *method_used;
    int n_fallback;
} llmq_quantize_params;

llmq_quantize_params llmq_quantize_default_params(void);
/* The model is borrowed while a calibrated method runs it block by block and
 * is left as it was. p->method_used and p->n_fallback are written. */
llmq_status llmq_model_quantize(llmq_model *m, const char *path, llmq_quantize_params *p, llmq_error *err);

/* --------------------------------------------------------------- bench */

/* Throughput of one weight format on a rows x cols matrix of synthetic
 * weights: quantize (reference quantizer), dequantize to F32 and GEMV (one
 * activation row, quantized as the kernel needs, as in generation). Each
 * figure is the median of reps timed runs after a warm-up (quantize: one run). The GEMV result is
 * checked against a dequantize-then-dot reference first (FORMAT on mismatch).
 * cold: a 256 MiB read-sum before each timed GEMV evicts the matrix from
 * the caches, as in a model where every GEMV reads another matrix (else
 * the GEMVs run back to back, and a matrix smaller than the last-level
 * cache is partly read from it). */
typedef struct llmq_bench_format_result {
    double bits_per_weight;
    double quantize_gws, dequantize_gws, gemv_gws; /* G weights per second */
    double gemv_gbs;                               /* GB/s of weight bytes streamed by GEMV */
    bool gemv_native;  /* false: no kernel for the type, the GEMV ran on F32 */
} llmq_bench_format_result;

llmq_status llmq_bench_format(const char *type, int rows, int cols, int n_threads, int reps, bool cold,
                              llmq_bench_format_result *r, llmq_error *err);

/* Encoder speed: batch sequences of n_tokens tokens each (a fixed English
 * text, tokenized and cut to n_tokens with its final [SEP]) through the whole
 * encoder with n_threads; *sec_per_batch is the median of reps timed runs
 * after one warm-up. */
llmq_status llmq_bench_embed(llmq_model *m, int batch, int n_tokens, int n_threads, int reps, double *sec_per_batch,
                             llmq_error *err);

/* Read bandwidth in GB/s: a read-sum over a bytes-long array (every cache
 * line touched) with n_threads, median of reps. 0 when out of memory. */
double llmq_bench_read_bw(size_t bytes, int n_threads, int reps);

/* --------------------------------------------------------------- misc */

/* Reads a whole file into a malloc'd NUL-terminated buffer. */
llmq_status llmq_read_file(const char *path, char **data, size_t *len, llmq_error *err);

/* Name of the kernel path chosen at start-up: "ref", "avx2" or "avx512". */
const char *llmq_isa_name(void);

/* OpenBLAS picks its kernels by CPU model when it loads; on a CPU newer than
 * the library it falls back to SSE3 kernels (5x slower sgemm). Returns the
 * core name to force with OPENBLAS_CORETYPE before the process starts
 * ("SkylakeX", "Haswell"), or NULL when OpenBLAS knows the CPU. */
const char *llmq_blas_better_core(void);

/* Unless the user set them, sets the OpenMP wait policy llmq is tuned for
 * (passive, GOMP_SPINCOUNT=10000) and OPENBLAS_CORETYPE (above), and when
 * anything changed restarts the program (/proc/self/exe with argv) so that
 * the libraries read them. Call first thing in main; returns when nothing
 * needed changing or the restart failed. */
void llmq_restart_with_library_settings(char **argv);

#ifdef __cplusplus
}
#endif
#endif
