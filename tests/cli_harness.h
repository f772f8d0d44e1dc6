/* Helpers for tests that run the `latent` program: run it in a scratch
 * folder, capture stdout and stderr, look at the files it left.
 * Include after harness.h; call cli_init(name) first. */
#ifndef LT_CLI_HARNESS_H
#define LT_CLI_HARNESS_H

#include "harness.h"

#include <sys/stat.h>
#include <sys/wait.h>

static const char *dir;
static char err[8192], out[1 << 17];

static void cli_init(const char *name) { dir = lt_test_tmpdir(name); }

static void slurp(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Run `latent ARGS` in the scratch folder; returns the exit code, with
 * stdout and stderr in out[] and err[]. */
static int run(const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s > stdout.txt 2> stderr.txt < /dev/null", dir, LT_CLI, args);
    int st = system(cmd);
    char p[4200];
    snprintf(p, sizeof p, "%s/stdout.txt", dir);
    slurp(p, out, sizeof out);
    snprintf(p, sizeof p, "%s/stderr.txt", dir);
    slurp(p, err, sizeof err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int exists(const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void put(const char *name, const char *text) { lt_test_write(dir, name, text, strlen(text)); }

/* Temporary files left in the folder (a failing command must leave none). */
static int count_tmp(void)
{
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c tmp > '%s/count.txt'", dir, dir);
    if (system(cmd) < 0) return -1;
    char p[4200], buf[64];
    snprintf(p, sizeof p, "%s/count.txt", dir);
    slurp(p, buf, sizeof buf);
    return atoi(buf);
}

/* The contents of a file in the scratch folder (a static buffer). */
static inline const char *file(const char *name)
{
    static char buf[1 << 17];
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    slurp(p, buf, sizeof buf);
    return buf;
}

static inline int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* Two files of the scratch folder are byte for byte the same. */
static inline int same_files(const char *a, const char *b)
{
    char cmd[8500];
    snprintf(cmd, sizeof cmd, "cmp -s '%s/%s' '%s/%s'", dir, a, dir, b);
    return system(cmd) == 0;
}

/* The command fails with `code`, one line on stderr containing `needle`,
 * and leaves no `outfile` (may be NULL). */
#define EXPECT_FAIL(args, code, needle, outfile)                                                                       \
    do {                                                                                                               \
        int rc_ = run(args);                                                                                           \
        CHECK_MSG(rc_ == (code), "%s: exit %d, expected %d; stderr: %s", args, rc_, code, err);                        \
        CHECK_MSG(strstr(err, needle) != NULL, "%s: stderr '%s' lacks '%s'", args, err, needle);                       \
        CHECK_MSG(strchr(err, '\n') == err + strlen(err) - 1, "%s: not one line: '%s'", args, err);                   \
        if (outfile) CHECK_MSG(!exists(outfile), "%s: left %s behind", args, (const char *)outfile);                   \
    } while (0)

#endif
