/* Status codes and the thread-local error message. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local char lt_errbuf[1024];

const char *lt_last_error(void) { return lt_errbuf; }

void lt_clear_error(void) { lt_errbuf[0] = '\0'; }

lt_status lt_fail(lt_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lt_errbuf, sizeof lt_errbuf, fmt, ap);
    va_end(ap);
    return code;
}

lt_status lt_fail_prefix(lt_status code, const char *prefix)
{
    char tmp[sizeof lt_errbuf];
    size_t np = strlen(prefix), nm = strlen(lt_errbuf);
    if (np > sizeof tmp - 3) np = sizeof tmp - 3;
    memcpy(tmp, prefix, np);
    memcpy(tmp + np, ": ", 2);
    if (nm > sizeof tmp - np - 3) nm = sizeof tmp - np - 3;
    memcpy(tmp + np + 2, lt_errbuf, nm);
    tmp[np + 2 + nm] = '\0';
    memcpy(lt_errbuf, tmp, sizeof lt_errbuf);
    return code;
}

const char *lt_status_name(lt_status s)
{
    switch (s) {
    case LT_OK: return "ok";
    case LT_ERR_NOMEM: return "out of memory";
    case LT_ERR_IO: return "i/o error";
    case LT_ERR_FORMAT: return "format error";
    case LT_ERR_INVALID: return "invalid argument";
    case LT_ERR_DIM: return "dimension mismatch";
    case LT_ERR_UNSUPPORTED: return "unsupported";
    case LT_ERR_NUMERIC: return "numerical error";
    }
    return "unknown status";
}

const char *lt_version(void) { return LT_VERSION_STRING; }

void *lt_calloc(size_t n, size_t size)
{
    int ok = 1;
    size_t total = lt_mul_size(n, size, &ok);
    if (!ok) {
        lt_fail(LT_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    void *p = calloc(total ? total : 1, 1);
    if (!p) lt_fail(LT_ERR_NOMEM, "out of memory allocating %zu bytes", total);
    return p;
}

void *lt_malloc(size_t n, size_t size)
{
    int ok = 1;
    size_t total = lt_mul_size(n, size, &ok);
    if (!ok) {
        lt_fail(LT_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    void *p = malloc(total ? total : 1);
    if (!p) lt_fail(LT_ERR_NOMEM, "out of memory allocating %zu bytes", total);
    return p;
}
