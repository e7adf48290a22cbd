#ifndef LLMQ_FUZZ_PARSERS_H
#define LLMQ_FUZZ_PARSERS_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
/* Feeds one input to the parser chosen by its first byte; never fails. */
void lq_fuzz_one(const uint8_t *data, size_t size);
#endif
