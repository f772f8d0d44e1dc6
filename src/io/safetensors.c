/* Model files in the safetensors layout.
 *
 *   bytes 0..7      N, unsigned 64-bit little-endian
 *   bytes 8..8+N    UTF-8 JSON: {"__metadata__": {str: str}, name: {"dtype", "shape",
 *                   "data_offsets": [begin, end]}, ...}, padded with spaces
 *   bytes 8+N..     the data region; offsets are relative to its first byte
 *
 * Reference: the safetensors format of Hugging Face (safetensors/src/tensor.rs).
 * Its reader sorts the entries by offset and insists that they tile the data
 * region exactly: the first starts at 0, each starts where the previous ends,
 * the last ends at the end of the file. So the writer cannot leave alignment
 * gaps between tensors. It gets natural alignment the way the reference writer
 * does: the header is padded so that 8 + N is a multiple of 8, and the data
 * region holds the 8-byte tensors first, then the 4-byte ones, then the bytes
 * (insertion order within each group). The JSON keeps insertion order, so
 * lt_st_name enumerates tensors in the order they were added.
 *
 * The reader is stricter than the reference in what it refuses (duplicate keys,
 * unknown fields, trailing bytes) but accepts gaps between tensors, which other
 * writers may leave for alignment. Every tensor is copied into an allocation of
 * its own, so data pointers are aligned whatever the offsets in the file.
 *
 * JSON numbers reach us through cJSON as doubles, so sizes and offsets are
 * limited to integers below 2^53 (8 PiB), which a double holds exactly.
 */
#include "internal.h"
#include "latent/io.h"
#include "latent/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The reference reader's limit on the header, so we refuse what it refuses. */
#define ST_MAX_HEADER 100000000u
/* Integers at or above this may have been rounded on their way into a double. */
#define ST_INT_LIMIT 9007199254740992.0 /* 2^53 */
#define ST_INT_LIMIT_U64 ((uint64_t)1 << 53)

static const char *const st_names[] = {"F64", "F32", "U8", "I64"};

static int st_dtype_ok(lt_st_dtype t) { return (int)t >= 0 && (int)t < 4; }

static size_t st_elem_size(lt_st_dtype t)
{
    switch (t) {
    case LT_ST_F64: return 8;
    case LT_ST_F32: return 4;
    case LT_ST_U8: return 1;
    case LT_ST_I64: return 8;
    }
    return 0;
}

const char *lt_st_dtype_name(lt_st_dtype t) { return st_dtype_ok(t) ? st_names[t] : "unknown"; }

/* The file holds little-endian elements; a big-endian host swaps them on the
 * way in and out, in place. */
static void st_to_le(unsigned char *p, size_t nbytes, size_t es)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    if (first == 1 || es == 1) return;
    for (size_t i = 0; i + es <= nbytes; i += es)
        for (size_t a = 0, b = es - 1; a < b; a++, b--) {
            unsigned char t = p[i + a];
            p[i + a] = p[i + b];
            p[i + b] = t;
        }
}

/* 0 when s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF), 1 when it is not, 2 when it holds an ASCII control
 * character that JSON text cannot contain raw (anything below 0x20 except tab,
 * newline and carriage return). cJSON checks neither. */
static int st_text_check(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return 2;
            i++;
            continue;
        }
        size_t more;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return 1;
        }
        if (n - i - 1 < more) return 1;
        if (s[i + 1] < lo || s[i + 1] > hi) return 1;
        for (size_t k = 2; k <= more; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 1;
        i += more + 1;
    }
    return 0;
}

static char *st_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = lt_malloc(n, 1);
    if (p) memcpy(p, s, n);
    return p;
}

/* Grow *p (of *cap elements of `size` bytes) to hold at least `need`. */
static lt_status st_reserve(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return LT_OK;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > (size_t)-1 / 2) return lt_fail(LT_ERR_NOMEM, "too many entries (%zu)", need);
        ncap *= 2;
    }
    int ok = 1;
    size_t bytes = lt_mul_size(ncap, size, &ok);
    if (!ok) return lt_fail(LT_ERR_NOMEM, "too many entries (%zu)", need);
    void *q = realloc(*p, bytes);
    if (!q) return lt_fail(LT_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    *p = q;
    *cap = ncap;
    return LT_OK;
}

/* "[3,2]", or "[*,2]" for SIZE_MAX wildcards; truncated if it does not fit. */
static void st_shape_str(char *buf, size_t cap, size_t ndim, const size_t *shape)
{
    size_t k = 0;
    k += (size_t)snprintf(buf, cap, "[");
    for (size_t i = 0; i < ndim && k < cap; i++) {
        const char *sep = i ? "," : "";
        if (shape[i] == SIZE_MAX)
            k += (size_t)snprintf(buf + k, cap - k, "%s*", sep);
        else
            k += (size_t)snprintf(buf + k, cap - k, "%s%zu", sep, shape[i]);
    }
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* Element count times element size, refusing anything that overflows size_t
 * or reaches 2^53 (which a JSON number read as a double could not state). */
static int st_nbytes(size_t ndim, const size_t *shape, size_t es, size_t *out)
{
    int ok = 1;
    size_t n = 1;
    for (size_t i = 0; i < ndim; i++)
        n = lt_mul_size(n, shape[i], &ok);
    n = lt_mul_size(n, es, &ok);
    if (!ok || (uint64_t)n >= ST_INT_LIMIT_U64) return 0;
    *out = n;
    return 1;
}

/* ---- writer ---- */

typedef struct st_wtensor {
    char *name;
    lt_st_dtype dtype;
    size_t ndim;
    size_t shape[LT_ST_MAX_DIMS];
    size_t nbytes;
    unsigned char *data; /* little-endian */
} st_wtensor;

struct lt_st_writer {
    st_wtensor *t;
    size_t n, cap;
    char **mkey, **mval;
    size_t nmeta, capmeta, capmval;
};

lt_status lt_st_writer_create(lt_st_writer **out)
{
    if (!out) return lt_fail(LT_ERR_INVALID, "lt_st_writer_create: out is NULL");
    *out = lt_calloc(1, sizeof **out);
    return *out ? LT_OK : LT_ERR_NOMEM;
}

void lt_st_writer_free(lt_st_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    for (size_t i = 0; i < w->nmeta; i++) {
        free(w->mkey[i]);
        free(w->mval[i]);
    }
    free(w->t);
    free(w->mkey);
    free(w->mval);
    free(w);
}

lt_status lt_st_writer_meta(lt_st_writer *w, const char *key, const char *value)
{
    if (!w || !key || !value) return lt_fail(LT_ERR_INVALID, "lt_st_writer_meta: NULL argument");
    if (st_text_check((const unsigned char *)key, strlen(key)) == 1)
        return lt_fail(LT_ERR_INVALID, "metadata key is not valid UTF-8");
    if (st_text_check((const unsigned char *)value, strlen(value)) == 1)
        return lt_fail(LT_ERR_INVALID, "metadata '%s': value is not valid UTF-8", key);
    char *v = st_strdup(value);
    if (!v) return LT_ERR_NOMEM;
    for (size_t i = 0; i < w->nmeta; i++)
        if (strcmp(w->mkey[i], key) == 0) {
            free(w->mval[i]);
            w->mval[i] = v;
            return LT_OK;
        }
    lt_status st = LT_OK;
    char *k = st_strdup(key);
    if (!k) {
        st = LT_ERR_NOMEM;
        goto cleanup;
    }
    st = st_reserve((void **)&w->mkey, &w->capmeta, w->nmeta + 1, sizeof *w->mkey);
    if (st != LT_OK) goto cleanup;
    st = st_reserve((void **)&w->mval, &w->capmval, w->nmeta + 1, sizeof *w->mval);
    if (st != LT_OK) goto cleanup;
    w->mkey[w->nmeta] = k;
    w->mval[w->nmeta] = v;
    w->nmeta++;
    return LT_OK;
cleanup:
    free(k);
    free(v);
    return st;
}

lt_status lt_st_writer_meta_f64(lt_st_writer *w, const char *key, double v)
{
    char buf[40];
    /* "%.17g" round-trips every double; the C locale keeps the decimal point a
     * '.', whatever setlocale the host program made. */
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = c ? uselocale(c) : (locale_t)0;
    snprintf(buf, sizeof buf, "%.17g", v);
    if (c) {
        uselocale(old);
        freelocale(c);
    }
    return lt_st_writer_meta(w, key, buf);
}

lt_status lt_st_writer_meta_i64(lt_st_writer *w, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return lt_st_writer_meta(w, key, buf);
}

lt_status lt_st_writer_tensor(lt_st_writer *w, const char *name, lt_st_dtype dtype, size_t ndim,
                              const size_t *shape, const void *data)
{
    if (!w || !name) return lt_fail(LT_ERR_INVALID, "lt_st_writer_tensor: NULL argument");
    if (!st_dtype_ok(dtype))
        return lt_fail(LT_ERR_INVALID, "tensor '%s': unknown dtype %d", name, (int)dtype);
    if (ndim > LT_ST_MAX_DIMS)
        return lt_fail(LT_ERR_INVALID, "tensor '%s': %zu dimensions (at most %d)", name, ndim,
                       LT_ST_MAX_DIMS);
    if (ndim > 0 && !shape) return lt_fail(LT_ERR_INVALID, "tensor '%s': shape is NULL", name);
    if (strcmp(name, "__metadata__") == 0)
        return lt_fail(LT_ERR_INVALID, "'__metadata__' is reserved and cannot name a tensor");
    if (st_text_check((const unsigned char *)name, strlen(name)) == 1)
        return lt_fail(LT_ERR_INVALID, "tensor name is not valid UTF-8");
    size_t nbytes = 0;
    if (!st_nbytes(ndim, shape, st_elem_size(dtype), &nbytes)) {
        char s[256];
        st_shape_str(s, sizeof s, ndim, shape);
        return lt_fail(LT_ERR_INVALID, "tensor '%s': shape %s of %s is too large", name, s,
                       st_names[dtype]);
    }
    if (nbytes > 0 && !data) return lt_fail(LT_ERR_INVALID, "tensor '%s': data is NULL", name);
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return lt_fail(LT_ERR_INVALID, "tensor '%s' added twice", name);

    lt_status st = st_reserve((void **)&w->t, &w->cap, w->n + 1, sizeof *w->t);
    if (st != LT_OK) return st;
    st_wtensor t = {0};
    t.name = st_strdup(name);
    t.data = lt_malloc(nbytes, 1);
    if (!t.name || !t.data) {
        st = LT_ERR_NOMEM;
        goto cleanup;
    }
    t.dtype = dtype;
    t.ndim = ndim;
    for (size_t i = 0; i < ndim; i++)
        t.shape[i] = shape[i];
    t.nbytes = nbytes;
    if (nbytes) memcpy(t.data, data, nbytes);
    st_to_le(t.data, nbytes, st_elem_size(dtype));
    w->t[w->n++] = t;
    return LT_OK;
cleanup:
    free(t.name);
    free(t.data);
    return st;
}

/* Add `item` under `key` (or at the end of an array when key is NULL); the
 * item is freed when it cannot be added, so callers only check the result. */
static int st_json_add(cJSON *parent, const char *key, cJSON *item)
{
    if (!item) return 0;
    int ok = key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item);
    if (!ok) cJSON_Delete(item);
    return ok;
}

/* Integers go in as raw text: cJSON would print 1e16 as "1e+16", which the
 * reference reader refuses as a size. */
static cJSON *st_json_uint_raw(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return cJSON_CreateRaw(buf);
}

/* The header text, unpadded, for tensors at the given data offsets. */
static char *st_header_json(const lt_st_writer *w, const uint64_t *begin)
{
    char *text = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_CreateObject();
    if (!st_json_add(root, "__metadata__", meta)) goto cleanup;
    for (size_t i = 0; i < w->nmeta; i++)
        if (!st_json_add(meta, w->mkey[i], cJSON_CreateString(w->mval[i]))) goto cleanup;
    for (size_t i = 0; i < w->n; i++) {
        const st_wtensor *t = &w->t[i];
        cJSON *entry = cJSON_CreateObject();
        if (!st_json_add(root, t->name, entry)) goto cleanup;
        if (!st_json_add(entry, "dtype", cJSON_CreateString(st_names[t->dtype]))) goto cleanup;
        cJSON *shape = cJSON_CreateArray();
        if (!st_json_add(entry, "shape", shape)) goto cleanup;
        for (size_t d = 0; d < t->ndim; d++)
            if (!st_json_add(shape, NULL, st_json_uint_raw(t->shape[d]))) goto cleanup;
        cJSON *off = cJSON_CreateArray();
        if (!st_json_add(entry, "data_offsets", off)) goto cleanup;
        if (!st_json_add(off, NULL, st_json_uint_raw(begin[i])) ||
            !st_json_add(off, NULL, st_json_uint_raw(begin[i] + t->nbytes)))
            goto cleanup;
    }
    text = cJSON_PrintUnformatted(root);
cleanup:
    cJSON_Delete(root);
    return text;
}

lt_status lt_st_writer_save(lt_st_writer *w, const char *path)
{
    if (!w || !path) return lt_fail(LT_ERR_INVALID, "lt_st_writer_save: NULL argument");
    lt_status st = LT_OK;
    lt_atomic_file *af = NULL;
    char *json = NULL;
    uint64_t *begin = lt_calloc(w->n ? w->n : 1, sizeof *begin);
    size_t *order = lt_calloc(w->n ? w->n : 1, sizeof *order);
    if (!begin || !order) {
        st = LT_ERR_NOMEM;
        goto cleanup;
    }
    /* Widest elements first, so that with no gaps every tensor still starts
     * at a multiple of its element size (see the top of this file). */
    static const size_t widths[] = {8, 4, 1};
    size_t k = 0;
    uint64_t off = 0;
    for (size_t g = 0; g < 3; g++)
        for (size_t i = 0; i < w->n; i++)
            if (st_elem_size(w->t[i].dtype) == widths[g]) {
                order[k++] = i;
                begin[i] = off;
                off += w->t[i].nbytes;
            }
    if (off >= ST_INT_LIMIT_U64) {
        st = lt_fail(LT_ERR_INVALID,
                     "%s: %" PRIu64 " bytes of tensors exceed what a model file can address", path,
                     off);
        goto cleanup;
    }
    json = st_header_json(w, begin);
    if (!json) {
        st = lt_fail(LT_ERR_NOMEM, "%s: out of memory building the header", path);
        goto cleanup;
    }
    size_t jlen = strlen(json);
    size_t hlen = (jlen + 7) & ~(size_t)7;
    if (hlen > ST_MAX_HEADER) {
        st = lt_fail(LT_ERR_INVALID, "%s: header of %zu bytes exceeds the limit of %u", path, hlen,
                     ST_MAX_HEADER);
        goto cleanup;
    }
    st = lt_atomic_open(path, &af);
    if (st != LT_OK) goto cleanup;
    FILE *fp = lt_atomic_stream(af);
    errno = 0;
    unsigned char len8[8];
    for (int b = 0; b < 8; b++)
        len8[b] = (unsigned char)((uint64_t)hlen >> (8 * b));
    static const char spaces[8] = "       ";
    int ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(json, 1, jlen, fp) == jlen &&
             fwrite(spaces, 1, hlen - jlen, fp) == hlen - jlen;
    for (size_t i = 0; ok && i < w->n; i++) {
        const st_wtensor *t = &w->t[order[i]];
        ok = fwrite(t->data, 1, t->nbytes, fp) == t->nbytes;
    }
    if (!ok) {
        /* A short fwrite need not set errno (a full buffer only flags the stream). */
        st = lt_fail(LT_ERR_IO, "%s: cannot write: %s", path, strerror(errno ? errno : EIO));
        lt_atomic_abort(af);
        goto cleanup;
    }
    st = lt_atomic_commit(af);
cleanup:
    cJSON_free(json);
    free(begin);
    free(order);
    return st;
}

/* ---- reader ---- */

typedef struct st_tensor {
    char *name;
    lt_st_dtype dtype;
    size_t ndim;
    size_t shape[LT_ST_MAX_DIMS];
    uint64_t begin, end;
    void *data; /* its own allocation, host byte order */
} st_tensor;

struct lt_st_file {
    char *name;
    st_tensor *t; /* in header order */
    size_t n;
    st_tensor **by_name; /* sorted by name, for lookups */
    char **mkey, **mval;
    size_t nmeta;
};

void lt_st_free(lt_st_file *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->t[i].name);
        free(f->t[i].data);
    }
    for (size_t i = 0; i < f->nmeta; i++) {
        free(f->mkey[i]);
        free(f->mval[i]);
    }
    free(f->name);
    free(f->t);
    free(f->by_name);
    free(f->mkey);
    free(f->mval);
    free(f);
}

/* 1: a non-negative integer below 2^53 (stored in *out); 0: not a
 * non-negative integer; -1: an integer too large to have come through a
 * double exactly. */
static int st_json_uint(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item)) return 0;
    double v = item->valuedouble;
    if (!(v >= 0.0) || v != floor(v)) return 0;
    if (v >= ST_INT_LIMIT || v > (double)SIZE_MAX) return -1;
    *out = (uint64_t)v;
    return 1;
}

static int st_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int st_cmp_name(const void *a, const void *b)
{
    return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

static int st_cmp_span(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Fill t from its header entry and check it against the data length. */
static lt_status st_parse_entry(const char *fname, const cJSON *entry, uint64_t data_len,
                                st_tensor *t)
{
    const char *tn = t->name;
    if (!cJSON_IsObject(entry))
        return lt_fail(LT_ERR_FORMAT, "%s: tensor '%s': entry is not a JSON object", fname, tn);
    const cJSON *jd = NULL, *js = NULL, *jo = NULL;
    for (const cJSON *c = entry->child; c; c = c->next) {
        const cJSON **slot = strcmp(c->string, "dtype") == 0          ? &jd
                             : strcmp(c->string, "shape") == 0        ? &js
                             : strcmp(c->string, "data_offsets") == 0 ? &jo
                                                                      : NULL;
        if (!slot)
            return lt_fail(LT_ERR_FORMAT, "%s: tensor '%s': unknown field '%s'", fname, tn,
                           c->string);
        if (*slot)
            return lt_fail(LT_ERR_FORMAT, "%s: tensor '%s': duplicate field '%s'", fname, tn,
                           c->string);
        *slot = c;
    }
    if (!jd) return lt_fail(LT_ERR_FORMAT, "%s: tensor '%s': missing \"dtype\"", fname, tn);
    if (!js) return lt_fail(LT_ERR_FORMAT, "%s: tensor '%s': missing \"shape\"", fname, tn);
    if (!jo) return lt_fail(LT_ERR_FORMAT, "%s: tensor '%s': missing \"data_offsets\"", fname, tn);

    if (!cJSON_IsString(jd))
        return lt_fail(LT_ERR_FORMAT, "%s: tensor '%s': dtype is not a string", fname, tn);
    int dt = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(jd->valuestring, st_names[i]) == 0) dt = i;
    if (dt < 0)
        return lt_fail(LT_ERR_FORMAT,
                       "%s: tensor '%s': unknown dtype '%s' (expected F64, F32, U8 or I64)", fname,
                       tn, jd->valuestring);
    t->dtype = (lt_st_dtype)dt;

    if (!cJSON_IsArray(js))
        return lt_fail(LT_ERR_FORMAT, "%s: tensor '%s': shape is not an array", fname, tn);
    int nd = cJSON_GetArraySize(js);
    if (nd > LT_ST_MAX_DIMS)
        return lt_fail(LT_ERR_FORMAT, "%s: tensor '%s': shape has %d dimensions (at most %d)",
                       fname, tn, nd, LT_ST_MAX_DIMS);
    t->ndim = (size_t)nd;
    size_t d = 0;
    for (const cJSON *c = js->child; c; c = c->next, d++) {
        uint64_t v = 0;
        int r = st_json_uint(c, &v);
        if (r == 0)
            return lt_fail(LT_ERR_FORMAT,
                           "%s: tensor '%s': shape entry %zu is not a non-negative integer", fname,
                           tn, d);
        if (r < 0)
            return lt_fail(LT_ERR_FORMAT, "%s: tensor '%s': shape entry %zu is too large (%.17g)",
                           fname, tn, d, c->valuedouble);
        t->shape[d] = (size_t)v;
    }
    char s[256];
    st_shape_str(s, sizeof s, t->ndim, t->shape);
    size_t nbytes = 0;
    if (!st_nbytes(t->ndim, t->shape, st_elem_size(t->dtype), &nbytes))
        return lt_fail(LT_ERR_FORMAT,
                       "%s: tensor '%s': shape %s of %s is too large (its size overflows)", fname,
                       tn, s, st_names[t->dtype]);

    uint64_t be[2] = {0, 0};
    int r0 = 0, r1 = 0;
    if (cJSON_IsArray(jo) && cJSON_GetArraySize(jo) == 2) {
        r0 = st_json_uint(jo->child, &be[0]);
        r1 = st_json_uint(jo->child->next, &be[1]);
    }
    if (r0 == 0 || r1 == 0)
        return lt_fail(
            LT_ERR_FORMAT,
            "%s: tensor '%s': data_offsets is not [begin, end] with non-negative integers", fname,
            tn);
    if (r0 < 0 || r1 < 0 || be[1] > data_len)
        return lt_fail(
            LT_ERR_FORMAT,
            "%s: tensor '%s': data_offsets [%.17g,%.17g] lie beyond the data region of %" PRIu64
            " bytes",
            fname, tn, jo->child->valuedouble, jo->child->next->valuedouble, data_len);
    if (be[0] > be[1])
        return lt_fail(LT_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64
                       "] end before they begin",
                       fname, tn, be[0], be[1]);
    if (be[1] - be[0] != (uint64_t)nbytes)
        return lt_fail(LT_ERR_FORMAT,
                       "%s: tensor '%s': shape %s of %s needs %zu bytes, offsets give %" PRIu64,
                       fname, tn, s, st_names[t->dtype], nbytes, be[1] - be[0]);
    t->begin = be[0];
    t->end = be[1];
    return LT_OK;
}

static lt_status st_parse_meta(const char *fname, const cJSON *meta, lt_st_file *f)
{
    if (!cJSON_IsObject(meta))
        return lt_fail(LT_ERR_FORMAT, "%s: __metadata__ is not a JSON object", fname);
    size_t n = (size_t)cJSON_GetArraySize(meta);
    f->mkey = lt_calloc(n ? n : 1, sizeof *f->mkey);
    f->mval = lt_calloc(n ? n : 1, sizeof *f->mval);
    if (!f->mkey || !f->mval) return LT_ERR_NOMEM;
    for (const cJSON *c = meta->child; c; c = c->next) {
        if (!cJSON_IsString(c))
            return lt_fail(LT_ERR_FORMAT, "%s: metadata '%s' is not a string", fname, c->string);
        char *k = st_strdup(c->string), *v = st_strdup(c->valuestring);
        if (!k || !v) {
            free(k);
            free(v);
            return LT_ERR_NOMEM;
        }
        f->mkey[f->nmeta] = k;
        f->mval[f->nmeta] = v;
        f->nmeta++;
    }
    /* Duplicates: sort a scratch copy of the key pointers. */
    const char **keys = lt_calloc(n ? n : 1, sizeof *keys);
    if (!keys) return LT_ERR_NOMEM;
    memcpy(keys, f->mkey, n * sizeof *keys);
    qsort(keys, n, sizeof *keys, st_cmp_str);
    lt_status st = LT_OK;
    for (size_t i = 1; i < n && st == LT_OK; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            st = lt_fail(LT_ERR_FORMAT, "%s: duplicate key '%s' in __metadata__", fname, keys[i]);
    free(keys);
    return st;
}

lt_status lt_st_parse(const char *name_for_messages, const void *buf, size_t len, lt_st_file **out)
{
    const char *fname = name_for_messages ? name_for_messages : "<memory>";
    if (!out) return lt_fail(LT_ERR_INVALID, "lt_st_parse: out is NULL");
    *out = NULL;
    if (!buf && len > 0) return lt_fail(LT_ERR_INVALID, "lt_st_parse: buffer is NULL");
    const unsigned char *p = buf;
    lt_status st = LT_OK;
    cJSON *root = NULL;
    st_tensor **spans = NULL;
    lt_st_file *f = NULL;

    if (len < 8)
        return lt_fail(
            LT_ERR_FORMAT,
            "%s: truncated (%zu bytes; a model file starts with an 8-byte header length)", fname,
            len);
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--)
        hlen = (hlen << 8) | p[b];
    if (hlen > (uint64_t)(len - 8))
        return lt_fail(LT_ERR_FORMAT,
                       "%s: header length %" PRIu64 " exceeds the file size (%zu bytes)", fname,
                       hlen, len);
    if (hlen > ST_MAX_HEADER)
        return lt_fail(LT_ERR_FORMAT, "%s: header length %" PRIu64 " exceeds the limit of %u bytes",
                       fname, hlen, ST_MAX_HEADER);
    const char *text = (const char *)p + 8;
    uint64_t data_len = (uint64_t)(len - 8 - (size_t)hlen);
    const unsigned char *data = p + 8 + hlen;

    int tc = st_text_check((const unsigned char *)text, (size_t)hlen);
    if (tc == 1) return lt_fail(LT_ERR_FORMAT, "%s: header is not valid UTF-8", fname);
    if (tc == 2)
        return lt_fail(LT_ERR_FORMAT, "%s: header is not valid JSON (it holds a control character)",
                       fname);
    /* cJSON also records a failure in a process-wide variable (we never read
     * it): a cJSON limitation, unsynchronised between threads. */
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, (size_t)hlen, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        return lt_fail(LT_ERR_FORMAT, "%s: header is not valid JSON (at byte %zu of the header)",
                       fname, at);
    }
    /* cJSON stops after the value; only whitespace padding may follow. */
    for (const char *q = end; q < text + hlen; q++)
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r') {
            st = lt_fail(LT_ERR_FORMAT,
                         "%s: header is not valid JSON (text after the object at byte %zu)", fname,
                         (size_t)(q - text));
            goto cleanup;
        }
    if (!cJSON_IsObject(root)) {
        st = lt_fail(LT_ERR_FORMAT, "%s: header is not a JSON object", fname);
        goto cleanup;
    }

    f = lt_calloc(1, sizeof *f);
    if (!f || !(f->name = st_strdup(fname))) {
        st = LT_ERR_NOMEM;
        goto cleanup;
    }
    size_t nkeys = (size_t)cJSON_GetArraySize(root);
    f->t = lt_calloc(nkeys ? nkeys : 1, sizeof *f->t);
    f->by_name = lt_calloc(nkeys ? nkeys : 1, sizeof *f->by_name);
    spans = lt_calloc(nkeys ? nkeys : 1, sizeof *spans);
    if (!f->t || !f->by_name || !spans) {
        st = LT_ERR_NOMEM;
        goto cleanup;
    }
    const cJSON *meta = NULL;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (strcmp(c->string, "__metadata__") == 0) {
            if (meta) {
                st =
                    lt_fail(LT_ERR_FORMAT, "%s: duplicate key '__metadata__' in the header", fname);
                goto cleanup;
            }
            meta = c;
            continue;
        }
        st_tensor *t = &f->t[f->n];
        if (!(t->name = st_strdup(c->string))) {
            st = LT_ERR_NOMEM;
            goto cleanup;
        }
        f->n++;
        st = st_parse_entry(fname, c, data_len, t);
        if (st != LT_OK) goto cleanup;
    }
    if (meta && (st = st_parse_meta(fname, meta, f)) != LT_OK) goto cleanup;

    for (size_t i = 0; i < f->n; i++)
        f->by_name[i] = spans[i] = &f->t[i];
    qsort(f->by_name, f->n, sizeof *f->by_name, st_cmp_name);
    for (size_t i = 1; i < f->n; i++)
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0) {
            st = lt_fail(LT_ERR_FORMAT, "%s: duplicate key '%s' in the header", fname,
                         f->by_name[i]->name);
            goto cleanup;
        }
    /* Sorted by (begin, end), spans are disjoint iff each begins at or after
     * the end of the one before; a zero-length span strictly inside another
     * counts as overlapping, as the reference reader would refuse it too. */
    qsort(spans, f->n, sizeof *spans, st_cmp_span);
    uint64_t last = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (i > 0 && spans[i]->begin < spans[i - 1]->end) {
            st = lt_fail(LT_ERR_FORMAT,
                         "%s: tensors '%s' and '%s' overlap ([%" PRIu64 ",%" PRIu64
                         "] and [%" PRIu64 ",%" PRIu64 "])",
                         fname, spans[i - 1]->name, spans[i]->name, spans[i - 1]->begin,
                         spans[i - 1]->end, spans[i]->begin, spans[i]->end);
            goto cleanup;
        }
        if (spans[i]->end > last) last = spans[i]->end;
    }
    if (data_len > last) {
        st = lt_fail(LT_ERR_FORMAT, "%s: %" PRIu64 " trailing bytes after the last tensor", fname,
                     data_len - last);
        goto cleanup;
    }
    for (size_t i = 0; i < f->n; i++) {
        st_tensor *t = &f->t[i];
        size_t nb = (size_t)(t->end - t->begin);
        if (!(t->data = lt_malloc(nb, 1))) {
            st = LT_ERR_NOMEM;
            goto cleanup;
        }
        if (nb) memcpy(t->data, data + t->begin, nb);
        st_to_le(t->data, nb, st_elem_size(t->dtype));
    }
    *out = f;
    f = NULL;
cleanup:
    cJSON_Delete(root);
    free(spans);
    lt_st_free(f);
    return st;
}

lt_status lt_st_load(const char *path, lt_st_file **out)
{
    if (!path || !out) return lt_fail(LT_ERR_INVALID, "lt_st_load: NULL argument");
    *out = NULL;
    lt_status st = LT_OK;
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return lt_fail(LT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    /* Size the buffer from fstat but read to EOF regardless, so a file that
     * grows, shrinks or is not regular is still read whole. */
    struct stat sb;
    if (fstat(fileno(fp), &sb) == 0 && sb.st_size > 0 && (uint64_t)sb.st_size < SIZE_MAX - 1)
        cap = (size_t)sb.st_size + 1;
    for (;;) {
        if (len == cap) {
            st = st_reserve((void **)&buf, &cap, len + 1 > 65536 ? len + 1 : 65536, 1);
            if (st != LT_OK) goto cleanup;
        } else if (!buf) {
            if (!(buf = lt_malloc(cap, 1))) {
                st = LT_ERR_NOMEM;
                goto cleanup;
            }
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) break;
    }
    if (ferror(fp)) {
        st = lt_fail(LT_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto cleanup;
    }
    st = lt_st_parse(path, buf, len, out);
cleanup:
    fclose(fp);
    free(buf);
    return st;
}

const char *lt_st_meta(const lt_st_file *f, const char *key)
{
    if (!f || !key) return NULL;
    for (size_t i = 0; i < f->nmeta; i++)
        if (strcmp(f->mkey[i], key) == 0) return f->mval[i];
    return NULL;
}

size_t lt_st_meta_count(const lt_st_file *f) { return f ? f->nmeta : 0; }

const char *lt_st_meta_key(const lt_st_file *f, size_t i)
{
    return f && i < f->nmeta ? f->mkey[i] : NULL;
}

lt_status lt_st_meta_f64(const lt_st_file *f, const char *key, double *out)
{
    if (!f || !key || !out) return lt_fail(LT_ERR_INVALID, "lt_st_meta_f64: NULL argument");
    const char *s = lt_st_meta(f, key);
    if (!s) return lt_fail(LT_ERR_FORMAT, "model file %s: metadata '%s' is missing", f->name, key);
    /* Parsed in the C locale, as lt_st_writer_meta_f64 wrote it. */
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = c ? uselocale(c) : (locale_t)0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (c) {
        uselocale(old);
        freelocale(c);
    }
    if (*s == '\0' || *s == ' ' || *s == '\t' || *s == '\n' || *end != '\0')
        return lt_fail(LT_ERR_FORMAT, "model file %s: metadata '%s' is not a number ('%s')",
                       f->name, key, s);
    *out = v;
    return LT_OK;
}

lt_status lt_st_meta_i64(const lt_st_file *f, const char *key, int64_t *out)
{
    if (!f || !key || !out) return lt_fail(LT_ERR_INVALID, "lt_st_meta_i64: NULL argument");
    const char *s = lt_st_meta(f, key);
    if (!s) return lt_fail(LT_ERR_FORMAT, "model file %s: metadata '%s' is missing", f->name, key);
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *s == ' ' || *s == '\t' || *s == '\n' || *end != '\0')
        return lt_fail(LT_ERR_FORMAT, "model file %s: metadata '%s' is not an integer ('%s')",
                       f->name, key, s);
    if (errno == ERANGE)
        return lt_fail(LT_ERR_FORMAT, "model file %s: metadata '%s' is out of range ('%s')",
                       f->name, key, s);
    *out = (int64_t)v;
    return LT_OK;
}

static const st_tensor *st_find(const lt_st_file *f, const char *name)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->by_name[mid]->name, name);
        if (c == 0) return f->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

lt_status lt_st_tensor(const lt_st_file *f, const char *name, lt_st_dtype dtype, size_t ndim,
                       size_t *shape, const void **data)
{
    if (data) *data = NULL;
    if (!f || !name || (ndim > 0 && !shape))
        return lt_fail(LT_ERR_INVALID, "lt_st_tensor: NULL argument");
    const st_tensor *t = st_find(f, name);
    if (!t) return lt_fail(LT_ERR_FORMAT, "model file %s: tensor '%s' is missing", f->name, name);
    if (t->dtype != dtype)
        return lt_fail(LT_ERR_FORMAT, "model file %s: tensor '%s' has dtype %s, expected %s",
                       f->name, name, st_names[t->dtype], lt_st_dtype_name(dtype));
    int same = t->ndim == ndim;
    for (size_t i = 0; same && i < ndim; i++)
        same = shape[i] == SIZE_MAX || shape[i] == t->shape[i];
    if (!same) {
        char have[256], want[256];
        st_shape_str(have, sizeof have, t->ndim, t->shape);
        st_shape_str(want, sizeof want, ndim, shape);
        return lt_fail(LT_ERR_FORMAT, "model file %s: tensor '%s' has shape %s, expected %s",
                       f->name, name, have, want);
    }
    for (size_t i = 0; i < ndim; i++)
        shape[i] = t->shape[i];
    if (data) *data = t->data;
    return LT_OK;
}

size_t lt_st_count(const lt_st_file *f) { return f ? f->n : 0; }

const char *lt_st_name(const lt_st_file *f, size_t i)
{
    return f && i < f->n ? f->t[i].name : NULL;
}

lt_status lt_st_describe(const lt_st_file *f, size_t i, lt_st_dtype *dtype, size_t *ndim,
                         size_t shape[LT_ST_MAX_DIMS])
{
    if (!f || i >= f->n)
        return lt_fail(LT_ERR_INVALID,
                       "lt_st_describe: tensor index %zu out of range (%zu tensors)", i,
                       f ? f->n : 0);
    const st_tensor *t = &f->t[i];
    if (dtype) *dtype = t->dtype;
    if (ndim) *ndim = t->ndim;
    if (shape)
        for (size_t d = 0; d < t->ndim; d++)
            shape[d] = t->shape[d];
    return LT_OK;
}
