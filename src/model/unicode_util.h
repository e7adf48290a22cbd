/* Small UTF-8 and Unicode helpers for the tokenizers: decoding with
 * replacement, GPT-2's byte <-> unicode map, simple lowercase and accent
 * stripping tables. */
#ifndef LQ_UNICODE_UTIL_H
#define LQ_UNICODE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LQ_U_REPLACEMENT 0xFFFDu

/* Length of the UTF-8 sequence led by byte b, judged by that byte alone
 * (1 for continuation or invalid bytes), as llama.cpp's unicode_len_utf8. */
size_t lq_u8_len(uint8_t b);

/* Decodes one code point from s[0..n) (n >= 1). Invalid, overlong,
 * surrogate or truncated sequences give U+FFFD and consume one byte.
 * *used receives the bytes consumed. */
uint32_t lq_u8_decode(const char *s, size_t n, size_t *used);

/* Encodes cp into out (room for 4 bytes); returns the byte count. */
size_t lq_u8_encode(uint32_t cp, char *out);

/* GPT-2 bytes_to_unicode: byte -> code point, and the inverse (-1 when the
 * code point is not one of the 256). */
uint32_t lq_byte_to_unicode(uint8_t b);
int lq_unicode_to_byte(uint32_t cp);

/* Simple (one-to-one) lowercase mapping for the Basic Multilingual Plane. */
uint32_t lq_u_tolower(uint32_t cp);

/* NFD minus nonspacing marks, for precomposed letters of Latin-1
 * Supplement, Latin Extended-A/B, IPA, Greek, Cyrillic, Latin Extended
 * Additional, Greek Extended and kana; any other code point is returned
 * unchanged (Hangul and other scripts are not decomposed). */
uint32_t lq_u_strip_accent(uint32_t cp);

/* Rust's char::is_whitespace (Unicode White_Space). */
bool lq_u_is_white(uint32_t cp);
/* CJK ideographs as BERT's _is_chinese_char. */
bool lq_u_is_cjk(uint32_t cp);

#endif
