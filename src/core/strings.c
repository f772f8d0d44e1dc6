/* Arrays of strings (vocabularies), shared by the text families. */
#include "internal.h"

#include <cjson/cJSON.h>

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

char *lt_vocab_json(char *const *vocab, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    char *s = NULL;
    if (!a) return NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateString(vocab[i] ? vocab[i] : "");
        if (!e || !cJSON_AddItemToArray(a, e)) {
            cJSON_Delete(e);
            cJSON_Delete(a);
            return NULL;
        }
    }
    s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

lt_status lt_vocab_parse(const char *json, size_t n, const char *path, const char *expect, char ***out)
{
    *out = NULL;
    lt_status st = LT_OK;
    char **v = NULL;
    cJSON *a = cJSON_Parse(json);
    if (!a || !cJSON_IsArray(a)) {
        st = lt_fail(LT_ERR_FORMAT, "%s: metadata 'vocabulary' is not a JSON array of strings", path);
        goto done;
    }
    if ((size_t)cJSON_GetArraySize(a) != n) {
        st = lt_fail(LT_ERR_FORMAT, "%s: the vocabulary has %d words but the model has %s = %zu", path,
                     cJSON_GetArraySize(a), expect, n);
        goto done;
    }
    if (!(v = lt_calloc(n ? n : 1, sizeof *v))) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (!cJSON_IsString(e) || !e->valuestring) {
            st = lt_fail(LT_ERR_FORMAT, "%s: vocabulary entry %zu is not a string", path, i + 1);
            goto done;
        }
        if (!(v[i++] = strdup(e->valuestring))) {
            st = lt_fail(LT_ERR_NOMEM, "out of memory reading the vocabulary");
            goto done;
        }
    }
    *out = v;
    v = NULL;
done:
    lt_vocab_free(v, n);
    cJSON_Delete(a);
    return st;
}
