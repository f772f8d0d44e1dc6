/* Arrays of strings (vocabularies), shared by the text families. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void lt_vocab_free(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

lt_status lt_vocab_copy(char *const *src, size_t n, char ***out)
{
    *out = NULL;
    if (!src) return LT_OK;
    char **v = lt_calloc(n ? n : 1, sizeof *v);
    if (!v) return LT_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        v[i] = strdup(src[i] ? src[i] : "");
        if (!v[i]) {
            lt_vocab_free(v, n);
            return lt_fail(LT_ERR_NOMEM, "out of memory copying %zu strings", n);
        }
    }
    *out = v;
    return LT_OK;
}
