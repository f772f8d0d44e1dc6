/* The `latent` program: shared pieces of the commands. The program is a
 * client of the public API only (include/latent). */
#ifndef LT_CLI_H
#define LT_CLI_H

#include "latent/core.h"
#include "latent/io.h"
#include "latent/model.h"
#include "latent/report.h"

#include <stdint.h>
#include <stdio.h>

/* Exit codes. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Options every command may take. */
typedef struct common {
    uint64_t seed;
    int threads;
    int json;
    int quiet;
    lt_format format;
    const char *out; /* -o */
    size_t n;        /* -n */
    int have_n;
} common;

/* Parse argv against the common options; positional arguments go to pos
 * (at most max_pos); options of the family `fam` (may be NULL) that apply
 * where `where` says (LT_OPT_* bits) go to kv, named as in the spec, flags
 * as "1". Prints a usage message and returns EXIT_USAGE on error, else
 * EXIT_OK. `help` is printed for -h/--help (then *done = 1). */
int cli_parse(int argc, char **argv, const char *cmd, const char *help, common *c, const char **pos, int max_pos,
              int *npos, const lt_family *fam, unsigned where, lt_kv *kv, size_t *nkv, int *done);

/* The first positional argument (the MODEL of score/sample/infer), skipping
 * the common options and their values; NULL if none. */
const char *cli_first_positional(int argc, char **argv);

/* Print "latent CMD: message" on stderr, where message is the library's
 * last error, and return EXIT_FAIL. */
int cli_fail(const char *cmd, lt_status st);
/* The same with "WHAT: " before the message (a file the error is about). */
int cli_fail_in(const char *cmd, const char *what, lt_status st);
/* Write an array as CSV (with the header) or NPY, by the path's extension. */
lt_status cli_write_table(const char *path, const lt_array *a, const char *const *header);
/* The same for a usage error: EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print a report as JSON (--json) or text on stdout. */
int cli_print_report(const char *cmd, const lt_report *r, int json);

/* Progress on stderr when it is a terminal and not --quiet. */
typedef struct progress {
    int on;
    double t0;
    int drawn;
} progress;
void progress_init(progress *p, int quiet);
void progress_cb(void *ud, const char *stage, size_t iter, size_t max_iter, double value);
void progress_done(progress *p);

double cli_now(void);

/* Return a failing status from the enclosing function. */
#define LT_CHECK_CLI(expr)                                                                                             \
    do {                                                                                                               \
        lt_status cli__s = (expr);                                                                                     \
        if (cli__s != LT_OK) return cli__s;                                                                            \
    } while (0)

int cmd_fit(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_kl(int argc, char **argv);
int cmd_demo(int argc, char **argv);

#endif
