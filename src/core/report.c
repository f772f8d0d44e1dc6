/* Reports: ordered key/value pairs and tables, rendered as JSON or text. */
#include "latent/report.h"

#include "internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct lt_report {
    cJSON *root;   /* object: key -> value or {"title", "columns", "rows"} */
    cJSON *titles; /* object: table key -> title (text rendering only) */
};

lt_status lt_report_create(lt_report **out)
{
    lt_report *r = lt_calloc(1, sizeof *r);
    if (!r) return LT_ERR_NOMEM;
    r->root = cJSON_CreateObject();
    r->titles = cJSON_CreateObject();
    if (!r->root || !r->titles) {
        lt_report_free(r);
        return lt_fail(LT_ERR_NOMEM, "out of memory for a report");
    }
    *out = r;
    return LT_OK;
}

void lt_report_free(lt_report *r)
{
    if (!r) return;
    cJSON_Delete(r->root);
    cJSON_Delete(r->titles);
    free(r);
}

static lt_status put(lt_report *r, const char *key, cJSON *v)
{
    if (!v) return lt_fail(LT_ERR_NOMEM, "out of memory for a report");
    if (cJSON_GetObjectItemCaseSensitive(r->root, key))
        cJSON_ReplaceItemInObjectCaseSensitive(r->root, key, v);
    else
        cJSON_AddItemToObject(r->root, key, v);
    return LT_OK;
}

/* JSON has no NaN or infinity: they become null. */
static cJSON *num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

lt_status lt_report_num(lt_report *r, const char *key, double v) { return put(r, key, num(v)); }
lt_status lt_report_int(lt_report *r, const char *key, int64_t v) { return put(r, key, cJSON_CreateNumber((double)v)); }
lt_status lt_report_str(lt_report *r, const char *key, const char *v) { return put(r, key, cJSON_CreateString(v ? v : "")); }
lt_status lt_report_bool(lt_report *r, const char *key, int v) { return put(r, key, cJSON_CreateBool(v)); }

lt_status lt_report_nums(lt_report *r, const char *key, const double *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    if (!a) return lt_fail(LT_ERR_NOMEM, "out of memory for a report");
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, num(v[i]));
    return put(r, key, a);
}

lt_status lt_report_table(lt_report *r, const char *key, const char *title, size_t ncols, const char *const *columns)
{
    cJSON *t = cJSON_CreateObject();
    cJSON *cols = cJSON_CreateStringArray(columns, (int)ncols);
    cJSON *rows = cJSON_CreateArray();
    if (!t || !cols || !rows) {
        cJSON_Delete(t);
        cJSON_Delete(cols);
        cJSON_Delete(rows);
        return lt_fail(LT_ERR_NOMEM, "out of memory for a report");
    }
    cJSON_AddItemToObject(t, "columns", cols);
    cJSON_AddItemToObject(t, "rows", rows);
    cJSON_DeleteItemFromObjectCaseSensitive(r->titles, key);
    cJSON_AddItemToObject(r->titles, key, cJSON_CreateString(title ? title : key));
    return put(r, key, t);
}

lt_status lt_report_table_row(lt_report *r, const char *key, const double *row)
{
    cJSON *t = cJSON_GetObjectItemCaseSensitive(r->root, key);
    cJSON *cols = t ? cJSON_GetObjectItemCaseSensitive(t, "columns") : NULL;
    if (!cols) return lt_fail(LT_ERR_INVALID, "report has no table '%s'", key);
    cJSON *a = cJSON_CreateArray();
    if (!a) return lt_fail(LT_ERR_NOMEM, "out of memory for a report");
    int n = cJSON_GetArraySize(cols);
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, num(row[i]));
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(t, "rows"), a);
    return LT_OK;
}

lt_status lt_report_json(const lt_report *r, char **out)
{
    char *s = cJSON_PrintUnformatted(r->root);
    if (!s) return lt_fail(LT_ERR_NOMEM, "out of memory rendering a report");
    size_t n = strlen(s);
    char *t = malloc(n + 2);
    if (!t) {
        cJSON_free(s);
        return lt_fail(LT_ERR_NOMEM, "out of memory rendering a report");
    }
    memcpy(t, s, n);
    t[n] = '\n', t[n + 1] = '\0';
    cJSON_free(s);
    *out = t;
    return LT_OK;
}

/* A growing string. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) LT_PRINTF(2, 3);
static void sb_add(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) return;
    if (b->n + (size_t)need + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 256) + (size_t)need;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s, b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

static void fmt_num(char *buf, size_t len, const cJSON *v)
{
    if (!cJSON_IsNumber(v)) {
        snprintf(buf, len, "-");
        return;
    }
    double x = v->valuedouble;
    if (x == floor(x) && fabs(x) < 1e15)
        snprintf(buf, len, "%.0f", x);
    else
        snprintf(buf, len, "%.6g", x);
}

lt_status lt_report_text(const lt_report *r, char **out)
{
    sbuf b = {0};
    size_t width = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, r->root) if (!cJSON_IsObject(it) && strlen(it->string) > width) width = strlen(it->string);
    cJSON_ArrayForEach(it, r->root)
    {
        char buf[64];
        if (cJSON_IsObject(it)) continue;
        sb_add(&b, "%-*s  ", (int)width, it->string);
        if (cJSON_IsString(it)) sb_add(&b, "%s\n", it->valuestring);
        else if (cJSON_IsBool(it)) sb_add(&b, "%s\n", cJSON_IsTrue(it) ? "yes" : "no");
        else if (cJSON_IsArray(it)) {
            const cJSON *e;
            int first = 1;
            cJSON_ArrayForEach(e, it)
            {
                fmt_num(buf, sizeof buf, e);
                sb_add(&b, "%s%s", first ? "" : " ", buf);
                first = 0;
            }
            sb_add(&b, "\n");
        } else {
            fmt_num(buf, sizeof buf, it);
            sb_add(&b, "%s\n", buf);
        }
    }
    cJSON_ArrayForEach(it, r->root)
    {
        if (!cJSON_IsObject(it)) continue;
        const cJSON *cols = cJSON_GetObjectItemCaseSensitive(it, "columns");
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(it, "rows");
        const cJSON *title = cJSON_GetObjectItemCaseSensitive(r->titles, it->string);
        int nc = cJSON_GetArraySize(cols);
        sb_add(&b, "\n%s\n", cJSON_IsString(title) ? title->valuestring : it->string);
        const cJSON *c;
        cJSON_ArrayForEach(c, cols) sb_add(&b, "%14s", c->valuestring);
        sb_add(&b, "\n");
        const cJSON *row;
        cJSON_ArrayForEach(row, rows)
        {
            for (int i = 0; i < nc; i++) {
                char buf[64];
                fmt_num(buf, sizeof buf, cJSON_GetArrayItem(row, i));
                sb_add(&b, "%14s", buf);
            }
            sb_add(&b, "\n");
        }
    }
    if (b.oom || !b.s) {
        free(b.s);
        if (b.oom) return lt_fail(LT_ERR_NOMEM, "out of memory rendering a report");
        b.s = calloc(1, 1);
        if (!b.s) return lt_fail(LT_ERR_NOMEM, "out of memory rendering a report");
    }
    *out = b.s;
    return LT_OK;
}
