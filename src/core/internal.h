/* Internal helpers shared by every layer of liblatent (not installed). */
#ifndef LT_INTERNAL_H
#define LT_INTERNAL_H

#include "latent/core.h"

#include <stdarg.h>
#include <stdio.h>

#if defined(__GNUC__)
#define LT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LT_PRINTF(a, b)
#endif

/* Record a formatted message for lt_last_error() and return `code`.
 * Usage: return lt_fail(LT_ERR_FORMAT, "%s:%zu: ...", path, line); */
lt_status lt_fail(lt_status code, const char *fmt, ...) LT_PRINTF(2, 3);

/* Prefix the current message with "prefix: " (keeps the code). */
lt_status lt_fail_prefix(lt_status code, const char *prefix);

/* Clear the thread's message. */
void lt_clear_error(void);

/* Checked allocation: NULL with LT_ERR_NOMEM recorded on failure or on
 * size overflow (n * size). */
void *lt_calloc(size_t n, size_t size);
void *lt_malloc(size_t n, size_t size);

/* n * m without overflow; returns 0 on overflow and sets *ok = 0. */
static inline size_t lt_mul_size(size_t n, size_t m, int *ok)
{
    if (m != 0 && n > (size_t)-1 / m) {
        *ok = 0;
        return 0;
    }
    return n * m;
}

/* Arrays of n strings (e.g. vocabularies): a deep copy (*out = NULL when
 * src is NULL; a NULL entry copies as ""), and its free (NULL does nothing). */
lt_status lt_vocab_copy(char *const *src, size_t n, char ***out);
void lt_vocab_free(char **v, size_t n);
/* A vocabulary as a JSON array of strings (model-file metadata; free with
 * cJSON_free, NULL when out of memory), and back: exactly n strings, else a
 * message naming `path` and the model's count `expect` (e.g. "n_vocab"). */
char *lt_vocab_json(char *const *vocab, size_t n);
lt_status lt_vocab_parse(const char *json, size_t n, const char *path, const char *expect, char ***out);

#define LT_CHECK(expr)                                                         \
    do {                                                                       \
        lt_status lt__s = (expr);                                              \
        if (lt__s != LT_OK) return lt__s;                                      \
    } while (0)

#endif
