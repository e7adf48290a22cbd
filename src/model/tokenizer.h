/* Tokenizers: SentencePiece-style BPE with scores (llama2.c tokenizer.bin,
 * GGUF tokenizer.ggml.model = "llama", byte fallback <0xNN>), GPT-2-style
 * byte-level BPE with a pre-split regex (PCRE2) and merges (GGUF "gpt2",
 * tokenizer.json "BPE"), and WordPiece (tokenizer.json "WordPiece" with the
 * BERT normalizer and pre-tokenizer). */
#ifndef LQ_TOKENIZER_H
#define LQ_TOKENIZER_H

#include "core/lq.h"
#include "io/gguf.h"

typedef enum lq_tok_kind { LQ_TOK_SPM = 0, LQ_TOK_BPE = 1, LQ_TOK_WPM = 2 } lq_tok_kind;

typedef struct lq_tokenizer lq_tokenizer;

/* From GGUF metadata: tokenizer.ggml.{model,pre,tokens,scores,token_type,
 * merges,bos_token_id,eos_token_id,unknown_token_id,add_bos_token,
 * add_space_prefix}; for model "bert" (WordPiece) also cls_token_id,
 * seperator_token_id and tokenizer.llmq.*. Unequal array lengths -> SHAPE;
 * unknown model -> UNSUPPORTED. */
llmq_status lq_tok_from_gguf(const lq_gguf *g, lq_tokenizer **out, lq_err *e);
/* From a llama2.c tokenizer.bin with vocab_size entries (BOS 1, EOS 2). */
llmq_status lq_tok_from_llama2c(const void *buf, size_t len, int vocab_size,
                                lq_tokenizer **out, lq_err *e);
/* From a Hugging Face tokenizer.json ("BPE" byte-level or "WordPiece"). */
llmq_status lq_tok_from_hf_json(const char *json, size_t len, lq_tokenizer **out, lq_err *e);
void lq_tok_free(lq_tokenizer *t);
/* Writes a WordPiece tokenizer as GGUF metadata in llama.cpp's "bert" form
 * (tokenizer.ggml.*: phantom-space tokens, token types, special ids,
 * token_type_count = n_types) plus tokenizer.llmq.* for the normalizer
 * options llama.cpp has no key for; lq_tok_from_gguf reads it back. */
llmq_status lq_wpm_to_gguf(const lq_tokenizer *t, lq_gguf_writer *w, int n_types, lq_err *e);

/* Encodes text. add_special: SPM/BPE prepend BOS when the vocab says so
 * (llama2.c and GGUF add_bos_token); WordPiece wraps in [CLS] ... [SEP].
 * *out is malloc'd (caller frees), *n its length. */
llmq_status lq_tok_encode(const lq_tokenizer *t, const char *text, size_t len, bool add_special,
                          int32_t **out, size_t *n, lq_err *e);
/* Bytes to print for token tok following prev (-1 if none): byte-level BPE
 * maps back to raw bytes, SPM turns U+2581 into a space, drops the space
 * right after BOS as llama2.c does, and decodes <0xNN>. Returns bytes
 * written (at most cap). */
size_t lq_tok_piece(const lq_tokenizer *t, int32_t prev, int32_t tok, char *buf, size_t cap);

lq_tok_kind lq_tok_kind_of(const lq_tokenizer *t);
int lq_tok_n_vocab(const lq_tokenizer *t);
int32_t lq_tok_bos(const lq_tokenizer *t); /* -1 if none */
int32_t lq_tok_eos(const lq_tokenizer *t);
/* Raw vocabulary entry (for writing GGUF metadata); NULL if out of range. */
const char *lq_tok_text(const lq_tokenizer *t, int32_t id, size_t *len);
float lq_tok_score(const lq_tokenizer *t, int32_t id);

#endif
