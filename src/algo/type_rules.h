/* Per-tensor type choices by hand: "REGEX=TYPE" rules (llama-quantize's
 * --tensor-type), matched against tensor names with PCRE2 search semantics;
 * the first rule that matches wins. */
#ifndef LQ_ALGO_TYPE_RULES_H
#define LQ_ALGO_TYPE_RULES_H

#include "core/lq.h"

typedef struct lq_type_rules lq_type_rules;

/* specs[0..n): "REGEX=TYPE" (split at the last '='). A bad regex or type ->
 * ARG with the rule in the message. */
llmq_status lq_type_rules_parse(const char *const *specs, int n, lq_type_rules **out, lq_err *e);
void lq_type_rules_free(lq_type_rules *r);
/* The type of the first rule whose regex matches name, or dflt. */
uint32_t lq_type_rules_pick(const lq_type_rules *r, const char *name, uint32_t dflt);

#endif
