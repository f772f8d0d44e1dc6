/* latent: the command line. One grammar for every family:
 *
 *   latent fit FAMILY DATA [family options] -o MODEL
 *   latent score | sample | infer | info | kl | demo
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *MAIN_HELP =
    "usage: latent COMMAND [options]\n"
    "\n"
    "Latent-variable generative models: fit, score in nats, sample, infer, compare.\n"
    "\n"
    "commands:\n"
    "  fit FAMILY DATA -o MODEL   fit a model (families: gmm, hmm, lda, rbm, dbn, dbm); 'latent fit gmm --help'\n"
    "  score MODEL DATA           held-out log-likelihood, nats per sample, and its kind\n"
    "  sample MODEL -n N -o OUT   draw samples (.csv, .npy; .txt for symbol sequences; .png for images)\n"
    "  infer MODEL DATA -o OUT    the latents (components, state paths, posteriors, hidden units)\n"
    "  info MODEL                 kind, sizes, hyper-parameters, training summary\n"
    "  kl MODEL_A MODEL_B         KL(A || B): closed form where it exists, else Monte Carlo\n"
    "  demo                       the main job on data shipped with latent\n"
    "\n"
    "common options: --json (one JSON object on stdout), --quiet, --seed S, --threads N,\n"
    "--format csv|npy|idx (input format; default by extension), -h/--help.\n"
    "exit codes: 0 ok, 1 failure, 2 usage error; one line on stderr says why.\n";

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_fail(const char *cmd, lt_status st)
{
    const char *msg = lt_last_error();
    fprintf(stderr, "latent %s: %s\n", cmd, msg && *msg ? msg : lt_status_name(st));
    return EXIT_FAIL;
}

int cli_fail_in(const char *cmd, const char *what, lt_status st)
{
    const char *msg = lt_last_error();
    fprintf(stderr, "latent %s: %s: %s\n", cmd, what, msg && *msg ? msg : lt_status_name(st));
    return EXIT_FAIL;
}

lt_status cli_write_table(const char *path, const lt_array *a, const char *const *header)
{
    if (lt_format_from_path(path) == LT_FMT_CSV) return lt_csv_write(path, a, header);
    return lt_data_write(path, a);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "latent %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'latent %s --help')\n", cmd);
    return EXIT_USAGE;
}

int cli_print_report(const char *cmd, const lt_report *r, int json)
{
    char *s = NULL;
    lt_status st = json ? lt_report_json(r, &s) : lt_report_text(r, &s);
    if (st != LT_OK) return cli_fail(cmd, st);
    fputs(s, stdout);
    free(s);
    return EXIT_OK;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || *s == '-' || !*s) return 1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno) return 1;
    *out = v;
    return 0;
}

int cli_parse(int argc, char **argv, const char *cmd, const char *help, common *c, const char **pos, int max_pos,
              int *npos, const lt_family *fam, unsigned where, lt_kv *kv, size_t *nkv, int *done)
{
    memset(c, 0, sizeof *c);
    *npos = 0;
    *done = 0;
    if (nkv) *nkv = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                                 \
    do {                                                                                                             \
        if (!val) return cli_usage(cmd, "%s needs a value", a);                                                      \
        i++;                                                                                                         \
    } while (0)
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help, stdout);
            *done = 1;
            return EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            c->json = 1;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            c->quiet = 1;
        } else if (strcmp(a, "--seed") == 0) {
            NEED_VALUE();
            if (parse_u64(val, &c->seed)) return cli_usage(cmd, "--seed: expected a non-negative integer, found '%s'", val);
        } else if (strcmp(a, "--threads") == 0) {
            NEED_VALUE();
            uint64_t t;
            if (parse_u64(val, &t) || t < 1 || t > 1024)
                return cli_usage(cmd, "--threads: expected an integer from 1 to 1024, found '%s'", val);
            c->threads = (int)t;
        } else if (strcmp(a, "--format") == 0) {
            NEED_VALUE();
            if (lt_format_parse(val, &c->format) != LT_OK)
                return cli_usage(cmd, "--format: expected csv, npy or idx, found '%s'", val);
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            NEED_VALUE();
            c->out = val;
        } else if (strcmp(a, "-n") == 0) {
            NEED_VALUE();
            uint64_t n;
            if (parse_u64(val, &n) || n < 1 || n > ((uint64_t)1 << 40))
                return cli_usage(cmd, "-n: expected a positive integer, found '%s'", val);
            c->n = (size_t)n;
            c->have_n = 1;
        } else if (a[0] == '-' && a[1] != '\0' && fam && kv) {
            /* A family option: --name VALUE, --name=VALUE, -k VALUE, or a flag. */
            char *name = (char *)(a[1] == '-' ? a + 2 : a + 1);
            char *eq = strchr(name, '=');
            if (eq) *eq = '\0'; /* argv is ours to modify */
            const lt_option_spec *o = NULL;
            for (size_t j = 0; j < fam->n_options && !o; j++)
                if (strcmp(fam->options[j].name, name) == 0 ||
                    (fam->options[j].short_name && !name[1] && name[0] == fam->options[j].short_name))
                    o = &fam->options[j];
            if (!o) return cli_usage(cmd, "%s has no option %s", fam->name, a);
            if (!((o->where ? o->where : LT_OPT_FIT) & where))
                return cli_usage(cmd, "--%s is an option of %s that does not apply to '%s'", o->name, fam->name, cmd);
            if (*nkv >= 64) return cli_usage(cmd, "too many options");
            kv[*nkv].name = o->name;
            if (eq) {
                kv[*nkv].value = eq + 1;
            } else if (o->type == LT_OPT_FLAG) {
                kv[*nkv].value = "1";
            } else {
                NEED_VALUE();
                kv[*nkv].value = val;
            }
            (*nkv)++;
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_usage(cmd, "unknown option %s", a);
        } else {
            if (*npos >= max_pos) return cli_usage(cmd, "unexpected argument '%s'", a);
            pos[(*npos)++] = a;
        }
#undef NEED_VALUE
    }
    return EXIT_OK;
}

const char *cli_first_positional(int argc, char **argv)
{
    static const char *with_value[] = {"--seed", "--threads", "--format", "-o", "--output", "-n"};
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] != '-' || !argv[i][1]) return argv[i];
        for (size_t j = 0; j < sizeof with_value / sizeof *with_value; j++)
            if (strcmp(argv[i], with_value[j]) == 0) {
                i++;
                break;
            }
    }
    return NULL;
}

/* ------------------------------------------------------------ progress */

void progress_init(progress *p, int quiet)
{
    p->on = !quiet && isatty(STDERR_FILENO);
    p->t0 = cli_now();
    p->drawn = 0;
}

void progress_cb(void *ud, const char *stage, size_t iter, size_t max_iter, double value)
{
    progress *p = ud;
    if (!p->on) return;
    fprintf(stderr, "\r\033[K%s  iteration %zu/%zu  log-likelihood %.6g  %.1fs", stage, iter, max_iter, value,
            cli_now() - p->t0);
    fflush(stderr);
    p->drawn = 1;
}

void progress_done(progress *p)
{
    if (p->on && p->drawn) fprintf(stderr, "\r\033[K");
    p->drawn = 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "latent: missing command (see 'latent --help')\n");
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(MAIN_HELP, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("latent %s\n", lt_version());
        return EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"fit", cmd_fit},   {"score", cmd_score}, {"sample", cmd_sample}, {"infer", cmd_infer},
                {"info", cmd_info}, {"kl", cmd_kl},       {"demo", cmd_demo}};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (strcmp(cmd, cmds[i].name) == 0) return cmds[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "latent: unknown command '%s' (see 'latent --help')\n", cmd);
    return EXIT_USAGE;
}
