/* The generic commands: fit, score, sample, infer, info, kl. Each works for
 * every family through the model table (latent/model.h). */
#include "cli.h"
#include "latent/gmm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KV 64

/* ------------------------------------------------------------------ fit */

static void print_family_help(const lt_family *f)
{
    printf("usage: latent fit %s DATA [options] -o MODEL\n\n%s.\n\noptions:\n", f->name, f->summary);
    for (size_t i = 0; i < f->n_options; i++) {
        const lt_option_spec *o = &f->options[i];
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s %s", o->short_name, o->name, o->metavar ? o->metavar : "");
        else
            snprintf(left, sizeof left, "--%s %s", o->name, o->metavar ? o->metavar : "");
        printf("  %-28s %s", left, o->help);
        if (o->def) printf(" (default %s)", o->def);
        printf("\n");
    }
    printf("\ncommon options:\n"
           "  -o MODEL                     the model file to write (safetensors; required)\n"
           "  --seed S                     random seed (default 0); same seed and threads, same model\n"
           "  --threads N                  threads (default: all cores)\n"
           "  --format csv|npy|idx         input format (default: by extension)\n"
           "  --json                       print one JSON object on stdout\n"
           "  --quiet                      no progress on stderr\n");
}

/* A family option with a bad value (the library's message starts with
 * "--name") is a usage error (exit 2); anything else a failure (exit 1). */
static int fail_or_usage(const char *cmd, const lt_family *fam, lt_status st)
{
    if (st == LT_ERR_INVALID && strncmp(lt_last_error(), "--", 2) == 0) {
        fprintf(stderr, "latent %s: %s (see 'latent fit %s --help')\n", cmd, lt_last_error(), fam->name);
        return EXIT_USAGE;
    }
    return cli_fail(cmd, st);
}

/* Family score/infer options get the common --seed as "seed" too (for
 * stochastic estimators); buf holds its text. */
static size_t add_seed(lt_kv *kv, size_t nkv, const common *c, char *buf, size_t cap)
{
    if (nkv >= MAX_KV) return nkv;
    snprintf(buf, cap, "%llu", (unsigned long long)c->seed);
    kv[nkv].name = "seed";
    kv[nkv].value = buf;
    return nkv + 1;
}

/* A family's failure in score/infer: its option errors are usage errors. */
static int fail_in_family(const char *cmd, const lt_family *fam, const char *path, lt_status st)
{
    if (st == LT_ERR_INVALID && strncmp(lt_last_error(), "--", 2) == 0) return fail_or_usage(cmd, fam, st);
    return cli_fail_in(cmd, path, st);
}

static const char *FIT_HELP =
    "usage: latent fit FAMILY DATA [family options] [--seed S] [--threads N] [--json] [--quiet] -o MODEL\n"
    "\n"
    "Fit a model of FAMILY to DATA (.csv, .npy, .idx, .idx.gz; .txt for sequences of\n"
    "symbols) and write it to MODEL.\n"
    "'latent fit FAMILY --help' lists the family's options.\n"
    "\nfamilies:\n";

int cmd_fit(int argc, char **argv)
{
    const char *cmd = "fit";
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        FILE *o = argc < 1 ? stderr : stdout;
        fputs(FIT_HELP, o);
        for (size_t i = 0; i < lt_family_count(); i++)
            fprintf(o, "  %-8s %s\n", lt_family_at(i)->name, lt_family_at(i)->summary);
        return argc < 1 ? EXIT_USAGE : EXIT_OK;
    }
    const lt_family *fam = lt_family_find(argv[0]);
    if (!fam) return cli_usage(cmd, "unknown family '%s'", argv[0]);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_family_help(fam);
            return EXIT_OK;
        }
    common c;
    const char *pos[1];
    int npos, done;
    lt_kv kv[MAX_KV];
    size_t nkv;
    int rc = cli_parse(argc - 1, argv + 1, cmd, FIT_HELP, &c, pos, 1, &npos, fam, LT_OPT_FIT | LT_OPT_DATA, kv, &nkv,
                       &done);
    if (rc || done) return rc;
    if (npos < 1) return cli_usage(cmd, "missing DATA");
    if (!c.out) return cli_usage(cmd, "missing -o MODEL (where to write the model)");
    if (c.have_n) return cli_usage(cmd, "-n is not an option of fit");

    lt_dataset *D = NULL;
    lt_report *rep = NULL;
    lt_model *m = NULL;
    lt_status st;
    progress pr;
    if ((st = lt_model_read(fam, pos[0], c.format, kv, nkv, NULL, &D))) return fail_or_usage(cmd, fam, st);
    if ((st = lt_report_create(&rep))) {
        lt_dataset_free(D);
        return cli_fail(cmd, st);
    }
    progress_init(&pr, c.quiet);
    lt_fit_ctl ctl = {.seed = c.seed, .threads = c.threads, .progress = progress_cb, .progress_ud = &pr,
                      .data_path = pos[0]};
    double t0 = cli_now();
    st = lt_model_fit(fam, D, kv, nkv, &ctl, rep, &m);
    progress_done(&pr);
    if (st == LT_OK) st = lt_model_save(m, c.out);
    if (st == LT_OK) {
        lt_report_num(rep, "seconds", cli_now() - t0);
        lt_report_str(rep, "model", c.out);
        rc = cli_print_report(cmd, rep, c.json);
    } else {
        rc = fail_or_usage(cmd, fam, st);
    }
    lt_model_free(m);
    lt_report_free(rep);
    lt_dataset_free(D);
    return rc;
}

/* Load the MODEL named first in argv (score, sample, infer need its family
 * to know their options). Returns EXIT_OK, or an exit code after saying why. */
static int load_first_model(const char *cmd, int argc, char **argv, lt_model **m)
{
    *m = NULL;
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return EXIT_OK; /* help needs no model */
    const char *path = cli_first_positional(argc, argv);
    if (!path) return EXIT_OK; /* cli_parse reports what is missing */
    lt_status st = lt_model_load(path, m);
    return st ? cli_fail(cmd, st) : EXIT_OK;
}

/* ---------------------------------------------------------------- score */

static const char *SCORE_HELP =
    "usage: latent score MODEL DATA [data options] [--threads N] [--format F] [--json] [-o PER_SAMPLE.csv]\n"
    "\n"
    "The log-likelihood of DATA under MODEL in nats: the mean per sample (per step\n"
    "for sequence models), its standard error, the total, and what kind of number\n"
    "it is (exact, a lower bound, or an estimate). -o writes log p(x) of each\n"
    "sample (each sequence). Data options of the model's family (such as an HMM's\n"
    "--lengths FILE) say how to read DATA; see 'latent fit FAMILY --help'.\n"
    "JSON keys: model, data, kind, method, unit, n, mean_log_likelihood,\n"
    "stderr, total_log_likelihood.\n";

int cmd_score(int argc, char **argv)
{
    const char *cmd = "score";
    common c;
    const char *pos[2];
    int npos, done;
    lt_kv kv[MAX_KV];
    size_t nkv;
    lt_model *m = NULL;
    int rc = load_first_model(cmd, argc, argv, &m);
    if (rc) return rc;
    rc = cli_parse(argc, argv, cmd, SCORE_HELP, &c, pos, 2, &npos, m ? m->family : NULL, LT_OPT_DATA | LT_OPT_SCORE, kv,
                   &nkv, &done);
    if (!rc && !done && npos < 2) rc = cli_usage(cmd, "expected MODEL and DATA");
    if (rc || done) {
        lt_model_free(m);
        return rc;
    }
    lt_dataset *D = NULL;
    lt_array *lp = NULL;
    lt_report *rep = NULL;
    lt_status st;
    lt_score s;
    if ((st = lt_model_read(m->family, pos[1], c.format, kv, nkv, m, &D))) {
        rc = fail_or_usage(cmd, m->family, st);
        goto done;
    }
    if ((st = lt_array_create(lt_dataset_samples(D), 1, LT_F64, &lp))) goto fail;
    char seedbuf[32];
    nkv = add_seed(kv, nkv, &c, seedbuf, sizeof seedbuf);
    if ((st = lt_model_score_opts(m, D, kv, nkv, c.threads, lp->data, &s))) {
        rc = fail_in_family(cmd, m->family, pos[1], st);
        goto done;
    }
    if (c.out) {
        const char *hdr[] = {"log_likelihood", NULL};
        if ((st = cli_write_table(c.out, lp, hdr))) goto fail;
    }
    if ((st = lt_report_create(&rep))) goto fail;
    lt_report_str(rep, "model", pos[0]);
    lt_report_str(rep, "data", pos[1]);
    lt_report_str(rep, "kind", lt_score_kind_name(s.kind));
    lt_report_str(rep, "method", s.method);
    lt_report_str(rep, "unit", s.unit);
    lt_report_int(rep, "n", (int64_t)s.count);
    lt_report_num(rep, "mean_log_likelihood", s.mean);
    lt_report_num(rep, "stderr", s.stderr_mean);
    lt_report_num(rep, "total_log_likelihood", s.total);
    if (c.json) {
        rc = cli_print_report(cmd, rep, 1);
    } else {
        printf("log-likelihood  %.6f nats per %s (%s) +- %.6f (standard error, n = %zu)\n", s.mean, s.unit,
               lt_score_kind_name(s.kind), s.stderr_mean, s.count);
        printf("total           %.6f nats\nmethod          %s\n", s.total, s.method);
    }
    goto done;
fail:
    rc = cli_fail(cmd, st);
done:
    lt_report_free(rep);
    lt_array_free(lp);
    lt_dataset_free(D);
    lt_model_free(m);
    return rc;
}

/* --------------------------------------------------------------- sample */

static const char *SAMPLE_HELP =
    "usage: latent sample MODEL -n N [--seed S] [--length L] [--json] -o OUT.csv|OUT.npy|OUT.txt|OUT.png\n"
    "\nDraw N samples from MODEL and write them to OUT: rows as .csv or .npy; for\n"
    "sequence models N sequences of --length L steps (.txt for symbols, one\n"
    "sequence per line; .csv with a first column `sequence`); for models of images\n"
    "(Boltzmann machines) also .png, a grid of the N images.\n";

int cmd_sample(int argc, char **argv)
{
    const char *cmd = "sample";
    common c;
    const char *pos[1];
    int npos, done;
    lt_kv kv[MAX_KV];
    size_t nkv;
    lt_model *m = NULL;
    int rc = load_first_model(cmd, argc, argv, &m);
    if (rc) return rc;
    rc = cli_parse(argc, argv, cmd, SAMPLE_HELP, &c, pos, 1, &npos, m ? m->family : NULL, LT_OPT_SAMPLE, kv, &nkv,
                   &done);
    if (!rc && !done) {
        if (npos < 1) rc = cli_usage(cmd, "missing MODEL");
        else if (!c.have_n) rc = cli_usage(cmd, "missing -n N (how many samples)");
        else if (!c.out) rc = cli_usage(cmd, "missing -o OUT");
        else if (!m->family->write && lt_format_from_path(c.out) != LT_FMT_CSV &&
                 lt_format_from_path(c.out) != LT_FMT_NPY)
            rc = cli_usage(cmd, "-o %s: the output must end in .csv or .npy", c.out);
    }
    if (rc || done) {
        lt_model_free(m);
        return rc;
    }
    lt_dataset *S = NULL;
    lt_status st;
    if ((st = lt_model_sample(m, c.n, c.seed, kv, nkv, &S)) || (st = lt_model_write(m, S, c.out))) {
        rc = fail_or_usage(cmd, m->family, st);
    } else if (c.json) {
        printf("{\"model\":\"%s\",\"n\":%zu,\"seed\":%llu,\"output\":\"%s\"}\n", pos[0], c.n,
               (unsigned long long)c.seed, c.out);
    } else if (!c.quiet) {
        printf("wrote %zu samples to %s\n", c.n, c.out);
    }
    lt_dataset_free(S);
    lt_model_free(m);
    return rc;
}

/* ---------------------------------------------------------------- infer */

static const char *INFER_HELP =
    "usage: latent infer MODEL DATA [data options] [--threads N] [--format F] -o OUT.csv|OUT.npy\n"
    "\nThe latents of DATA under MODEL. Gaussian mixture: per sample the most probable\n"
    "component (label), log p(x) and the responsibilities p_0..p_K-1. Hidden Markov\n"
    "model: per step the sequence, the step, the Viterbi state, the most probable\n"
    "state and the state posteriors p_0..p_K-1.\n";

int cmd_infer(int argc, char **argv)
{
    const char *cmd = "infer";
    common c;
    const char *pos[2];
    int npos, done;
    lt_kv kv[MAX_KV];
    size_t nkv;
    lt_model *m = NULL;
    int rc = load_first_model(cmd, argc, argv, &m);
    if (rc) return rc;
    rc = cli_parse(argc, argv, cmd, INFER_HELP, &c, pos, 2, &npos, m ? m->family : NULL, LT_OPT_DATA | LT_OPT_INFER, kv,
                   &nkv, &done);
    if (!rc && !done) {
        if (npos < 2) rc = cli_usage(cmd, "expected MODEL and DATA");
        else if (!c.out) rc = cli_usage(cmd, "missing -o OUT");
        else if (lt_format_from_path(c.out) != LT_FMT_CSV && lt_format_from_path(c.out) != LT_FMT_NPY)
            rc = cli_usage(cmd, "-o %s: the output must end in .csv or .npy", c.out);
    }
    if (rc || done) {
        lt_model_free(m);
        return rc;
    }
    lt_dataset *D = NULL;
    lt_array *Z = NULL;
    char **cols = NULL;
    lt_status st;
    if ((st = lt_model_read(m->family, pos[1], c.format, kv, nkv, m, &D))) {
        rc = fail_or_usage(cmd, m->family, st);
        st = LT_OK;
        goto out;
    }
    char seedbuf[32];
    nkv = add_seed(kv, nkv, &c, seedbuf, sizeof seedbuf);
    if ((st = lt_model_infer_opts(m, D, kv, nkv, c.threads, &Z, &cols))) {
        rc = fail_in_family(cmd, m->family, pos[1], st);
        st = LT_OK;
        goto out;
    }
    st = cli_write_table(c.out, Z, (const char *const *)cols);
out:
    if (st) rc = cli_fail(cmd, st);
    else if (rc) { /* already reported */
    } else if (c.json)
        printf("{\"model\":\"%s\",\"data\":\"%s\",\"n\":%zu,\"columns\":%zu,\"output\":\"%s\"}\n", pos[0], pos[1],
               Z->rows, Z->cols, c.out);
    else if (!c.quiet)
        printf("wrote %zu x %zu to %s\n", Z->rows, Z->cols, c.out);
    lt_strings_free(cols);
    lt_array_free(Z);
    lt_dataset_free(D);
    lt_model_free(m);
    return rc;
}

/* ----------------------------------------------------------------- info */

static const char *INFO_HELP = "usage: latent info MODEL [--json]\n"
                               "\nKind, sizes, hyper-parameters and training summary of a model file.\n";

int cmd_info(int argc, char **argv)
{
    const char *cmd = "info";
    common c;
    const char *pos[1];
    int npos, done;
    int rc = cli_parse(argc, argv, cmd, INFO_HELP, &c, pos, 1, &npos, NULL, 0, NULL, NULL, &done);
    if (rc || done) return rc;
    if (npos < 1) return cli_usage(cmd, "missing MODEL");
    lt_model *m = NULL;
    lt_report *rep = NULL;
    lt_status st;
    if ((st = lt_model_load(pos[0], &m)) || (st = lt_report_create(&rep))) {
        rc = cli_fail(cmd, st);
    } else {
        lt_report_str(rep, "file", pos[0]);
        if ((st = lt_model_describe(m, rep))) rc = cli_fail(cmd, st);
        else rc = cli_print_report(cmd, rep, c.json);
    }
    lt_report_free(rep);
    lt_model_free(m);
    return rc;
}

/* ------------------------------------------------------------------- kl */

static const char *KL_HELP =
    "usage: latent kl MODEL_A MODEL_B [-n N] [--seed S] [--threads N] [--json]\n"
    "\nKL(A || B) in nats. Between two single Gaussians the closed form; otherwise\n"
    "(mixtures have none) the Monte Carlo estimate E_A[log A(x) - log B(x)] over\n"
    "N samples of A (default 100000), with its standard error.\n"
    "JSON keys: kl, stderr, method, n.\n";

int cmd_kl(int argc, char **argv)
{
    const char *cmd = "kl";
    common c;
    const char *pos[2];
    int npos, done;
    int rc = cli_parse(argc, argv, cmd, KL_HELP, &c, pos, 2, &npos, NULL, 0, NULL, NULL, &done);
    if (rc || done) return rc;
    if (npos < 2) return cli_usage(cmd, "expected MODEL_A and MODEL_B");
    size_t n = c.have_n ? c.n : 100000;
    if (n < 2) return cli_usage(cmd, "-n: Monte Carlo needs at least 2 samples");
    lt_model *a = NULL, *b = NULL;
    lt_dataset *S = NULL;
    lt_array *la = NULL, *lb = NULL;
    lt_status st;
    double kl = NAN, se = 0.0;
    const char *method = "";
    if ((st = lt_model_load(pos[0], &a)) || (st = lt_model_load(pos[1], &b))) goto out;
    if (strcmp(a->family->name, "gmm") == 0 && strcmp(b->family->name, "gmm") == 0) {
        const lt_gmm *ga = a->impl, *gb = b->impl;
        if (ga->d != gb->d) {
            st = lt_gmm_kl_mc(ga, gb, n, c.seed, c.threads, &kl, &se); /* reports the dimension mismatch */
            goto out;
        }
        if (ga->k == 1 && gb->k == 1) {
            size_t d = ga->d;
            double *Sa = calloc(d * d, sizeof(double)), *Sb = calloc(d * d, sizeof(double));
            if (!Sa || !Sb) {
                free(Sa), free(Sb);
                fprintf(stderr, "latent kl: out of memory\n");
                lt_model_free(a), lt_model_free(b);
                return EXIT_FAIL;
            }
            const lt_gmm *g[2] = {ga, gb};
            double *Sg[2] = {Sa, Sb};
            for (int q = 0; q < 2; q++)
                for (size_t i = 0; i < d; i++)
                    for (size_t j = 0; j < d; j++) {
                        double v = 0.0;
                        switch (g[q]->cov) {
                        case LT_COV_FULL:
                        case LT_COV_TIED: v = g[q]->covs[i * d + j]; break;
                        case LT_COV_DIAG: v = i == j ? g[q]->covs[i] : 0.0; break;
                        case LT_COV_SPHERICAL: v = i == j ? g[q]->covs[0] : 0.0; break;
                        }
                        Sg[q][i * d + j] = v;
                    }
            st = lt_kl_gaussian(d, ga->means, Sa, gb->means, Sb, &kl);
            free(Sa), free(Sb);
            method = "closed form (two Gaussians)";
            n = 0;
            goto out;
        }
        method = "Monte Carlo over samples of A (mixtures have no closed form)";
        st = lt_gmm_kl_mc(ga, gb, n, c.seed, c.threads, &kl, &se);
        goto out;
    }
    /* Any two families: sample A, score under both. */
    method = "Monte Carlo over samples of A";
    if (a->family != b->family) {
        fprintf(stderr, "latent kl: KL between a %s and a %s model is not supported\n", a->family->name,
                b->family->name);
        lt_model_free(a), lt_model_free(b);
        return EXIT_FAIL;
    }
    if ((st = lt_model_sample(a, n, c.seed, NULL, 0, &S)) || (st = lt_array_create(n, 1, LT_F64, &la)) ||
        (st = lt_array_create(n, 1, LT_F64, &lb)) || (st = lt_model_score(a, S, c.threads, la->data, NULL)) ||
        (st = lt_model_score(b, S, c.threads, lb->data, NULL)))
        goto out;
    for (size_t i = 0; i < n; i++) ((double *)la->data)[i] -= ((double *)lb->data)[i]; /* the log ratio */
    lt_mean_stderr(la->data, n, &kl, &se);
out:
    if (st) {
        rc = cli_fail(cmd, st);
    } else if (c.json) {
        printf("{\"model_a\":\"%s\",\"model_b\":\"%s\",\"kl\":%.17g,\"stderr\":%.17g,\"method\":\"%s\",\"n\":%zu}\n",
               pos[0], pos[1], kl, se, method, n);
    } else if (n) {
        printf("KL(A || B) = %.6f +- %.6f nats (standard error; %s, n = %zu)\n", kl, se, method, n);
    } else {
        printf("KL(A || B) = %.10g nats (%s)\n", kl, method);
    }
    lt_dataset_free(S), lt_array_free(la), lt_array_free(lb);
    lt_model_free(a), lt_model_free(b);
    return rc;
}
