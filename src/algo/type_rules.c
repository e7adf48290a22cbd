#include "algo/type_rules.h"

#include "algo/rtn.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

typedef struct rule {
    pcre2_code *re;
    uint32_t type;
} rule;

struct lq_type_rules {
    int n;
    rule *r;
};

void lq_type_rules_free(lq_type_rules *r) {
    if (!r) return;
    for (int i = 0; i < r->n; i++) pcre2_code_free(r->r[i].re);
    free(r->r);
    free(r);
}

static llmq_status parse_one(const char *spec, rule *out, lq_err *e) {
    const char *eq = strrchr(spec, '=');
    LQ_CHECK(eq && eq != spec && eq[1], e, LLMQ_ERR_ARG, "tensor type rule '%s' is not REGEX=TYPE", spec);
    LQ_CHECK(lq_rtn_type_from_name(eq + 1, &out->type), e, LLMQ_ERR_ARG, "tensor type rule '%s': unknown type '%s'",
             spec, eq + 1);
    int code;
    PCRE2_SIZE at;
    out->re = pcre2_compile((PCRE2_SPTR)spec, (PCRE2_SIZE)(eq - spec), 0, &code, &at, NULL);
    if (!out->re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(code, msg, sizeof msg);
        return lq_fail(e, LLMQ_ERR_ARG, "tensor type rule '%s': bad regex at %zu: %s", spec, (size_t)at, (char *)msg);
    }
    return LLMQ_OK;
}

llmq_status lq_type_rules_parse(const char *const *specs, int n, lq_type_rules **out, lq_err *e) {
    *out = NULL;
    lq_type_rules *r = calloc(1, sizeof *r);
    LQ_CHECK(r, e, LLMQ_ERR_NOMEM, "out of memory");
    r->r = calloc((size_t)(n > 0 ? n : 1), sizeof *r->r);
    if (!r->r) {
        free(r);
        return lq_fail(e, LLMQ_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        llmq_status st = parse_one(specs[i], &r->r[i], e);
        if (st != LLMQ_OK) {
            lq_type_rules_free(r);
            return st;
        }
        r->n = i + 1;
    }
    *out = r;
    return LLMQ_OK;
}

uint32_t lq_type_rules_pick(const lq_type_rules *r, const char *name, uint32_t dflt) {
    for (int i = 0; r && i < r->n; i++) {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->r[i].re, NULL);
        int rc = md ? pcre2_match(r->r[i].re, (PCRE2_SPTR)name, strlen(name), 0, 0, md, NULL) : -1;
        pcre2_match_data_free(md);
        if (rc >= 0) return r->r[i].type;
    }
    return dflt;
}
