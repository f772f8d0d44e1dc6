/* A small test harness: each CHECK is one counted assertion; a test program
 * ends with `return lt_test_done();`, which prints "N passed, N failed" and
 * returns non-zero if anything failed.
 *
 *   static void test_thing(void) { CHECK(1 + 1 == 2); CHECK_NEAR(x, 0.5, 1e-12); }
 *   int main(void) { RUN(test_thing); return lt_test_done(); }
 */
#ifndef LT_TEST_HARNESS_H
#define LT_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int lt_t_passed, lt_t_failed;
static const char *lt_t_current = "";

#define RUN(fn)                                                                \
    do {                                                                       \
        lt_t_current = #fn;                                                    \
        int lt_t_before = lt_t_failed;                                         \
        fn();                                                                  \
        fprintf(stderr, "%s %s\n", lt_t_failed == lt_t_before ? "ok  " : "FAIL", #fn); \
    } while (0)

#define CHECK_MSG(cond, ...)                                                   \
    do {                                                                       \
        if (cond) {                                                            \
            lt_t_passed++;                                                     \
        } else {                                                               \
            lt_t_failed++;                                                     \
            fprintf(stderr, "%s:%d: %s: check failed: %s: ", __FILE__, __LINE__, lt_t_current, #cond); \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, "\n");                                             \
        }                                                                      \
    } while (0)

#define CHECK(cond) CHECK_MSG(cond, "%s", "")

/* |a - b| <= tol */
#define CHECK_NEAR(a, b, tol)                                                  \
    do {                                                                       \
        double lt_t_a = (a), lt_t_b = (b), lt_t_tol = (tol);                   \
        CHECK_MSG(fabs(lt_t_a - lt_t_b) <= lt_t_tol, "%.17g vs %.17g (tol %g)", lt_t_a, lt_t_b, lt_t_tol); \
    } while (0)

/* |a - b| <= rtol * max(|a|, |b|, tiny) */
#define CHECK_REL(a, b, rtol)                                                  \
    do {                                                                       \
        double lt_t_a = (a), lt_t_b = (b), lt_t_r = (rtol);                    \
        double lt_t_s = fmax(fmax(fabs(lt_t_a), fabs(lt_t_b)), 1e-300);        \
        CHECK_MSG(fabs(lt_t_a - lt_t_b) <= lt_t_r * lt_t_s, "%.17g vs %.17g (rel %.3g, rtol %g)", \
                  lt_t_a, lt_t_b, fabs(lt_t_a - lt_t_b) / lt_t_s, lt_t_r);   \
    } while (0)

/* A status call that must succeed; prints lt_last_error() otherwise. */
#define CHECK_OK(expr)                                                         \
    do {                                                                       \
        lt_status lt_t_s = (expr);                                             \
        CHECK_MSG(lt_t_s == LT_OK, "status %d: %s", (int)lt_t_s, lt_last_error()); \
    } while (0)

/* A status call that must fail with `code` and a message containing `needle`. */
#define CHECK_FAILS(expr, code, needle)                                        \
    do {                                                                       \
        lt_status lt_t_s = (expr);                                             \
        CHECK_MSG(lt_t_s == (code) && strstr(lt_last_error(), (needle)) != NULL, \
                  "got status %d, message \"%s\"; expected %d with \"%s\"",    \
                  (int)lt_t_s, lt_last_error(), (int)(code), (needle));        \
    } while (0)

static inline int lt_test_done(void)
{
    printf("%d passed, %d failed\n", lt_t_passed, lt_t_failed);
    return lt_t_failed ? 1 : 0;
}

/* A fresh scratch directory for this test program under the build tree. */
static inline const char *lt_test_tmpdir(const char *name)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/tmp_%s", LT_BINARY_DIR, name);
    char cmd[8300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot make %s\n", dir);
    return dir;
}

/* Write `text` to dir/name and return the full path in a static buffer slot. */
static inline const char *lt_test_write(const char *dir, const char *name, const char *text, size_t len)
{
    static char paths[8][4096];
    static int slot;
    char *p = paths[slot++ % 8];
    snprintf(p, 4096, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(text, 1, len, f);
        fclose(f);
    }
    return p;
}

static inline int lt_test_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

#endif
