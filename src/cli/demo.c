/* latent demo: the main job on data shipped inside the program.
 *
 * Gaussian mixtures on Fisher's iris measurements (data/README.md): two thirds
 * of the flowers train, one third is held out. For each covariance type the
 * number of components is chosen by BIC on the training part; each chosen
 * model is scored on the held-out flowers in nats; the best is saved, drawn,
 * and compared with the others by KL divergence.
 *
 * Then a hidden Markov model on English text (data/README.md): the first
 * sixteen State of the Union addresses read as characters, lower-cased,
 * letters and space only (anything else becomes a space, a run of spaces
 * one), one sequence per address. Two states, categorical emissions,
 * Baum-Welch on the first 90% of the text; the last 10% is held out. Cave
 * and Neuwirth (1980) found that two states split the letters into vowels
 * and consonants; the demo prints p(letter | state), says which letters the
 * model grouped with the vowels, and scores the held-out text in nats and
 * bits per character against one state (letter frequencies alone).
 *
 * Then topics (LDA) in State of the Union paragraphs of every tenth year
 * 1850-2020 (data/README.md): see demo_lda. Then restricted Boltzmann
 * machines on 8x8 handwritten digits (data/README.md): see demo_rbm.
 * Later families add their sections here. */
#include "cli.h"
#include "latent/dbm.h"
#include "latent/gmm.h"
#include "latent/hmm.h"
#include "latent/lda.h"
#include "latent/plot.h"
#include "latent/rbm.h"
#include "latent/seqio.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern const unsigned char lt_demo_iris_csv[];
extern const size_t lt_demo_iris_csv_len;
extern const unsigned char lt_demo_english_txt[];
extern const size_t lt_demo_english_txt_len;
extern const unsigned char lt_demo_sotu_txt[];
extern const size_t lt_demo_sotu_txt_len;
extern const unsigned char lt_demo_digits_csv[];
extern const size_t lt_demo_digits_csv_len;

static const char *DEMO_HELP =
    "usage: latent demo [--out DIR] [--seed S] [--threads N] [--json] [--quiet]\n"
    "\nThe main job on data shipped inside latent: Gaussian mixtures on Fisher's iris\n"
    "flowers, K chosen by BIC for each covariance type, held-out log-likelihood in\n"
    "nats, KL divergences between the models, a picture of the fit. Then a 2-state\n"
    "hidden Markov model on English text (State of the Union addresses 1790-1805) read\n"
    "as characters: p(letter | state), which letters it groups with the vowels, and the\n"
    "held-out log-likelihood per character in nats and bits. Then 12 topics (LDA, collapsed\n"
    "Gibbs sampling) in State of the Union paragraphs 1850-2020: top words, coherence, and\n"
    "the held-out log-likelihood per word. Then restricted Boltzmann machines on 8x8\n"
    "handwritten digits: held-out log-likelihood by AIS (and exactly, for a small one),\n"
    "and a picture of samples. Files go to DIR (default demo-out): iris.csv,\n"
    "gmm_iris.safetensors, gmm_iris.png, english.txt, hmm_english.safetensors,\n"
    "sotu_train.txt, sotu_heldout.txt, lda_sotu.safetensors, digits.csv,\n"
    "rbm_digits.safetensors, rbm_digits_samples.png, rbm_digits_heldout.png.\n";

static int write_file(const char *path, const unsigned char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    int bad = fwrite(data, 1, len, f) != len;
    bad |= fclose(f) != 0;
    return bad;
}

/* Rows of X (f64) where keep(i) is true. */
static lt_status split(const lt_array *X, int held_out, lt_array **out)
{
    size_t n = 0, d = X->cols;
    for (size_t i = 0; i < X->rows; i++)
        n += (i % 3 == 2) == held_out;
    LT_CHECK_CLI(lt_array_create(n, d, LT_F64, out));
    double *o = (*out)->data;
    const double *x = X->data;
    for (size_t i = 0, j = 0; i < X->rows; i++)
        if ((i % 3 == 2) == held_out) memcpy(o + d * j++, x + d * i, d * sizeof(double));
    return LT_OK;
}

/* The 2 x 2 marginal covariance of coordinates (a, b) of component j. */
static void marginal(const lt_gmm *m, size_t j, size_t a, size_t b, double S[4])
{
    size_t d = m->d;
    switch (m->cov) {
    case LT_COV_FULL:
    case LT_COV_TIED: {
        const double *C = m->covs + (m->cov == LT_COV_FULL ? j * d * d : 0);
        S[0] = C[a * d + a], S[1] = C[a * d + b], S[2] = C[b * d + a], S[3] = C[b * d + b];
        break;
    }
    case LT_COV_DIAG: S[0] = m->covs[j * d + a], S[3] = m->covs[j * d + b], S[1] = S[2] = 0; break;
    case LT_COV_SPHERICAL: S[0] = S[3] = m->covs[j], S[1] = S[2] = 0; break;
    }
}

static lt_status draw(const lt_gmm *m, const lt_array *X, const char *title, const char *path)
{
    const size_t a = 2, b = 3; /* petal length, petal width */
    lt_canvas *c;
    LT_CHECK_CLI(lt_canvas_create(900, 650, &c));
    size_t n = X->rows, d = X->cols;
    const double *x = X->data;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        x0 = fmin(x0, x[i * d + a]), x1 = fmax(x1, x[i * d + a]);
        y0 = fmin(y0, x[i * d + b]), y1 = fmax(y1, x[i * d + b]);
    }
    double px = 0.12 * (x1 - x0), py = 0.12 * (y1 - y0);
    lt_status st = lt_canvas_view(c, x0 - px, x1 + px, y0 - py, y1 + py);
    size_t *lab = malloc(n * sizeof *lab);
    if (!lab) st = LT_ERR_NOMEM;
    if (st == LT_OK) st = lt_gmm_infer(m, x, n, 0, NULL, lab, NULL);
    if (st == LT_OK) {
        lt_canvas_axes(c, "petal length (cm)", "petal width (cm)");
        lt_canvas_title(c, title);
        for (size_t i = 0; i < n; i++)
            lt_canvas_point(c, x[i * d + a], x[i * d + b], 3.5, lt_palette(lab[i]));
        char names[16][32];
        const char *labels[16];
        uint32_t colors[16];
        size_t k = m->k < 16 ? m->k : 16;
        for (size_t j = 0; j < k && st == LT_OK; j++) {
            double S[4];
            marginal(m, j, a, b, S);
            const double *mu = m->means + j * d;
            st = lt_canvas_ellipse(c, mu[a], mu[b], S, 1.0, lt_palette(j), 2.0);
            if (st == LT_OK) st = lt_canvas_ellipse(c, mu[a], mu[b], S, 2.0, lt_palette(j), 1.0);
            lt_canvas_point(c, mu[a], mu[b], 5.0, 0x000000);
            snprintf(names[j], sizeof names[j], "component %zu (%.0f%%)", j, 100.0 * m->weights[j]);
            labels[j] = names[j];
            colors[j] = lt_palette(j);
        }
        lt_canvas_legend(c, labels, colors, k);
    }
    if (st == LT_OK) st = lt_canvas_write_png(c, path);
    free(lab);
    lt_canvas_free(c);
    return st;
}

/* ------------------------------------------------------------ HMM on English */

#define HMM_ALPHABET "abcdefghijklmnopqrstuvwxyz "

/* A symbol for the table: a letter, or "space". */
static const char *letter_name(const char *sym)
{
    return strcmp(sym, " ") == 0 ? "space" : sym;
}

static int is_vowel(const char *sym)
{
    return strlen(sym) == 1 && strchr("aeiou", sym[0]) != NULL;
}

/* The HMM part of the demo. With `json` the results go into that report;
 * else they are printed (unless quiet). Returns an exit code, having said
 * what went wrong. */
static int demo_hmm(const common *c, const char *outdir, lt_report *json)
{
    const char *text = (const char *)lt_demo_english_txt;
    size_t len = lt_demo_english_txt_len;
    int print = !json && !c->quiet;
    char text_path[4096], model_path[4096];
    snprintf(text_path, sizeof text_path, "%s/english.txt", outdir);
    snprintf(model_path, sizeof model_path, "%s/hmm_english.safetensors", outdir);
    if (write_file(text_path, lt_demo_english_txt, len)) {
        fprintf(stderr, "latent demo: %s: cannot write: %s\n", text_path, strerror(errno));
        return EXIT_FAIL;
    }
    /* Held out: the last 10% of the text, cut where a word ends. */
    size_t cut = len - len / 10;
    while (cut < len && text[cut] != ' ' && text[cut] != '\n')
        cut++;
    lt_text_options t;
    lt_text_options_default(&t);
    t.chars = 1, t.lowercase = 1, t.squeeze = 1, t.alphabet = HMM_ALPHABET, t.replace = " ", t.sort_vocab = 1;
    lt_dataset *train = NULL, *test = NULL;
    lt_model *models[2] = {NULL, NULL};
    lt_report *reps[2] = {NULL, NULL};
    lt_hmm *h = NULL;
    size_t *order = NULL;
    double held[2] = {NAN, NAN};
    lt_status st = LT_OK;
    int rc = EXIT_OK;
    if ((st = lt_seq_parse_text(text_path, text, cut, &t, NULL, 0, &train)) ||
        (st = lt_seq_parse_text(text_path, text + cut, len - cut, &t, (const char *const *)train->vocab,
                                train->vocab_size, &test)))
        goto done;
    if (print)
        printf("\nA hidden Markov model on English characters: the State of the Union addresses of\n"
               "1790-1805 (shipped inside latent), lower-cased, letters and space (anything else is\n"
               "a space), one sequence per address; train on the first 90%% (%zu characters), hold\n"
               "out the last 10%% (%zu). Two states, categorical emissions, Baum-Welch from 4 starts.\n\n",
               train->n_steps, test->n_steps);
    progress pr;
    progress_init(&pr, c->quiet || json);
    for (int q = 0; q < 2; q++) {
        /* One state is the letter frequencies alone, the baseline. */
        lt_kv kv[] = {{"states", q ? "2" : "1"},
                      {"n-init", q ? "4" : "1"},
                      {"max-iter", "50"},
                      {"tol", "1e-5"},
                      {"chars", "1"},
                      {"lowercase", "1"},
                      {"squeeze", "1"},
                      {"alphabet", HMM_ALPHABET},
                      {"replace", " "}};
        lt_fit_ctl ctl = {.seed = c->seed,
                          .threads = c->threads,
                          .progress = progress_cb,
                          .progress_ud = &pr,
                          .data_path = text_path};
        lt_score sc;
        if ((st = lt_report_create(&reps[q])) ||
            (st = lt_model_fit(&lt_hmm_family, train, kv, sizeof kv / sizeof *kv, &ctl, reps[q], &models[q])) ||
            (st = lt_model_score(models[q], test, c->threads, NULL, &sc)))
            goto done;
        progress_done(&pr);
        held[q] = sc.mean;
    }
    if ((st = lt_model_save(models[1], model_path)) || (st = lt_hmm_load(model_path, &h))) goto done;
    /* Which state is the vowels' (more of a, e, i, o, u); letters in the
     * order: those the vowel state emits more, then the others, each by its
     * probability in the state it prefers. */
    size_t S = h->n_symbols;
    const double *e = h->emit;
    double mass[2] = {0, 0};
    for (size_t s = 0; s < S; s++)
        if (is_vowel(h->vocab[s])) mass[0] += e[s], mass[1] += e[S + s];
    size_t vs = mass[1] > mass[0], cs = 1 - vs;
    if (!(order = malloc(S * sizeof *order))) {
        fprintf(stderr, "latent demo: out of memory\n");
        rc = EXIT_FAIL;
        goto done;
    }
    for (size_t s = 0; s < S; s++)
        order[s] = s;
    for (size_t a = 1; a < S; a++) /* insertion sort of 27 letters */
        for (size_t b = a; b > 0; b--) {
            size_t x = order[b - 1], y = order[b];
            int vx = e[vs * S + x] > e[cs * S + x], vy = e[vs * S + y] > e[cs * S + y];
            double px = e[(vx ? vs : cs) * S + x], py = e[(vy ? vs : cs) * S + y];
            if (!(vy > vx || (vy == vx && py > px))) break;
            order[b - 1] = y, order[b] = x;
        }
    /* group: everything the vowels' state prefers; with: the non-vowels
     * among them; without: vowels the other state took */
    char group[256] = "", with[256] = "", without[64] = "";
    size_t vowels_in = 0, consonants_in = 0;
    for (size_t i = 0; i < S; i++) {
        size_t s = order[i];
        const char *name = letter_name(h->vocab[s]);
        int v = e[vs * S + s] > e[cs * S + s];
        if (!v) {
            if (is_vowel(h->vocab[s])) {
                strncat(without, without[0] ? ", " : "", sizeof without - strlen(without) - 1);
                strncat(without, name, sizeof without - strlen(without) - 1);
            }
            continue;
        }
        strncat(group, group[0] ? " " : "", sizeof group - strlen(group) - 1);
        strncat(group, name, sizeof group - strlen(group) - 1);
        if (is_vowel(h->vocab[s])) {
            vowels_in++;
            continue;
        }
        consonants_in += strcmp(h->vocab[s], " ") != 0;
        strncat(with, with[0] ? ", " : "", sizeof with - strlen(with) - 1);
        strncat(with, name, sizeof with - strlen(with) - 1);
    }
    int separated = vowels_in == 5 && consonants_in <= 3;
    const double LN2 = 0.69314718055994530942;
    if (json) {
        static const char *cols[] = {"code_point", "p_state_0", "p_state_1"};
        if ((st = lt_report_table(json, "hmm_emissions", "", 3, cols))) goto done;
        for (size_t i = 0; i < S; i++) {
            size_t s = order[i];
            double row[3] = {(double)(unsigned char)h->vocab[s][0], e[s], e[S + s]};
            if ((st = lt_report_table_row(json, "hmm_emissions", row))) goto done;
        }
        lt_report_str(json, "hmm_data",
                      "State of the Union addresses 1790-1805 as characters, 90% train / 10% held out");
        lt_report_int(json, "hmm_train_characters", (int64_t)train->n_steps);
        lt_report_int(json, "hmm_heldout_characters", (int64_t)test->n_steps);
        lt_report_int(json, "hmm_vowel_state", (int64_t)vs);
        lt_report_str(json, "hmm_vowel_group", group);
        lt_report_str(json, "hmm_grouped_with_vowels", with);
        lt_report_bool(json, "hmm_separates_vowels", separated);
        lt_report_num(json, "hmm_heldout_nats_per_char", held[1]);
        lt_report_num(json, "hmm_heldout_bits_per_char", held[1] / LN2);
        lt_report_num(json, "hmm_one_state_heldout_nats_per_char", held[0]);
        lt_report_str(json, "hmm_model", model_path);
    } else if (print) {
        printf("p(letter | state): first the letters state %zu (the vowels' state) emits more, then\n"
               "those state %zu emits more, each by its probability there:\n\n",
               vs, cs);
        printf("  %-7s %9s %9s\n", "letter", "state 0", "state 1");
        for (size_t i = 0; i < S; i++) {
            size_t s = order[i];
            if (i && (e[vs * S + s] > e[cs * S + s]) != (e[vs * S + order[i - 1]] > e[cs * S + order[i - 1]]))
                printf("  %-7s %9s %9s\n", "", "-------", "-------");
            printf("  %-7s %9.4f %9.4f\n", letter_name(h->vocab[s]), e[s], e[S + s]);
        }
        printf("\nThe vowels' state emits %s", vowels_in == 5 ? "all five vowels" : "the vowels");
        char *last = strrchr(with, ',');
        if (last) { /* "space, h" -> "space and h" */
            char tail[256];
            snprintf(tail, sizeof tail, " and%s", last + 1);
            *last = '\0';
            strncat(with, tail, sizeof with - strlen(with) - 1);
        }
        if (with[0]) printf(" and, grouped with them, %s", with);
        if (without[0]) printf(" (but not %s)", without);
        printf(";\nthe other state emits the rest. ");
        if (separated)
            printf("The two states separate vowels from consonants, as\nCave and Neuwirth (1980) found.\n");
        else
            printf("This run did not separate vowels from consonants as\nCave and Neuwirth (1980) found "
                   "(another --seed may).\n");
        printf("\nheld-out log-likelihood per character (exact, forward algorithm):\n"
               "  1 state (letter frequencies) %9.4f nats %8.4f bits\n"
               "  2 states                     %9.4f nats %8.4f bits\n",
               held[0], held[0] / LN2, held[1], held[1] / LN2);
        printf("\nwrote %s, %s\n", text_path, model_path);
        printf("try: latent info %s\n", model_path);
    }
done:
    if (st) rc = cli_fail("demo", st);
    free(order);
    lt_hmm_free(h);
    for (int q = 0; q < 2; q++) {
        lt_model_free(models[q]);
        lt_report_free(reps[q]);
    }
    lt_dataset_free(train);
    lt_dataset_free(test);
    return rc;
}

/* A borrowed corpus view of an LDA dataset (doc_ptr allocated). */
static lt_status demo_corpus_view(const lt_dataset *D, lt_corpus *c)
{
    memset(c, 0, sizeof *c);
    if (!(c->doc_ptr = malloc((D->n_seqs + 1) * sizeof *c->doc_ptr))) return LT_ERR_NOMEM;
    c->doc_ptr[0] = 0;
    for (size_t d = 0; d < D->n_seqs; d++)
        c->doc_ptr[d + 1] = c->doc_ptr[d] + D->lengths[d];
    c->n_docs = D->n_seqs, c->n_tokens = D->n_steps, c->tokens = D->symbols;
    c->n_vocab = D->vocab_size, c->vocab = D->vocab;
    return LT_OK;
}

/* "w1 w2 ..." of topic k's n most probable words. */
static lt_status demo_top_words(const lt_lda *m, size_t k, size_t n, char **out)
{
    int32_t ids[32];
    if (n > 32) n = 32;
    if (n > m->v) n = m->v;
    lt_lda_top_words(m, k, n, ids);
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += strlen(m->vocab[ids[i]]) + 1;
    char *s = malloc(cap);
    if (!s) return LT_ERR_NOMEM;
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i) strcat(s, " ");
        strcat(s, m->vocab[ids[i]]);
    }
    *out = s;
    return LT_OK;
}

/* Topics in State of the Union paragraphs (data/README.md): every tenth
 * document held out, LDA by collapsed Gibbs sampling with alpha learnt,
 * the top words of each topic, their coherence on the training corpus, and
 * the held-out log-likelihood per word (left-to-right estimate) against one
 * topic (word frequencies alone). */
static int demo_lda(const common *c, const char *outdir, lt_report *json)
{
    const char *text = (const char *)lt_demo_sotu_txt;
    size_t len = lt_demo_sotu_txt_len;
    int print = !json && !c->quiet;
    char train_path[4096], test_path[4096], model_path[4096];
    snprintf(train_path, sizeof train_path, "%s/sotu_train.txt", outdir);
    snprintf(test_path, sizeof test_path, "%s/sotu_heldout.txt", outdir);
    snprintf(model_path, sizeof model_path, "%s/lda_sotu.safetensors", outdir);
    /* Every tenth line (document) is held out. */
    FILE *ft = fopen(train_path, "wb"), *fh = fopen(test_path, "wb");
    if (!ft || !fh) {
        fprintf(stderr, "latent demo: %s: cannot write: %s\n", !ft ? train_path : test_path, strerror(errno));
        if (ft) fclose(ft);
        if (fh) fclose(fh);
        return EXIT_FAIL;
    }
    size_t line = 0, n_train = 0, n_test = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        FILE *to = line % 10 == 9 ? fh : ft;
        fwrite(text + i, 1, j - i, to);
        fputc('\n', to);
        if (to == fh)
            n_test++;
        else
            n_train++;
        line++;
        i = j + 1;
    }
    int bad = fclose(ft) != 0;
    bad |= fclose(fh) != 0;
    if (bad) {
        fprintf(stderr, "latent demo: %s: cannot write\n", outdir);
        return EXIT_FAIL;
    }
    lt_dataset *train = NULL, *test = NULL;
    lt_model *models[2] = {NULL, NULL};
    lt_report *reps[2] = {NULL, NULL};
    double held[2] = {NAN, NAN}, held_se[2] = {NAN, NAN};
    double *umass = NULL, *npmi = NULL;
    lt_lda *m = NULL;
    lt_status st = LT_OK;
    int rc = EXIT_OK;
    const lt_kv read_kv[] = {{"min-df", "3"}, {"max-df", "0.5"}};
    if ((st = lt_model_read(&lt_lda_family, train_path, LT_FMT_AUTO, read_kv, 2, NULL, &train))) goto done;
    if (print)
        printf("\nTopics in State of the Union addresses: every tenth year 1850-2020 (shipped inside\n"
               "latent) cut into %zu paragraphs; %zu train, %zu held out (every tenth). Words: lower-cased\n"
               "letters, English stop words out, words in fewer than 3 or more than half of the\n"
               "paragraphs out: %zu words, %zu tokens. LDA with 12 topics by collapsed Gibbs sampling,\n"
               "300 sweeps, alpha learnt (asymmetric, Minka's fixed point).\n\n",
               n_train + n_test, n_train, n_test, train->vocab_size, train->n_steps);
    progress pr;
    progress_init(&pr, c->quiet || json);
    for (int q = 0; q < 2; q++) {
        lt_kv kv[] = {{"topics", q ? "12" : "1"},
                      {"max-iter", "300"},
                      {"burn-in", "100"},
                      {"optimize", q ? "asymmetric" : "none"},
                      {"min-df", "3"},
                      {"max-df", "0.5"}};
        lt_fit_ctl ctl = {.seed = c->seed,
                          .threads = c->threads,
                          .progress = progress_cb,
                          .progress_ud = &pr,
                          .data_path = train_path};
        const lt_kv score_kv[] = {{"particles", "20"}};
        lt_score sc;
        if ((st = lt_report_create(&reps[q])) ||
            (st = lt_model_fit(&lt_lda_family, train, kv, sizeof kv / sizeof *kv, &ctl, reps[q], &models[q])) ||
            (!test && (st = lt_model_read(&lt_lda_family, test_path, LT_FMT_AUTO, NULL, 0, models[q], &test))) ||
            (st = lt_model_score_opts(models[q], test, score_kv, 1, c->threads, NULL, &sc)))
            goto done;
        progress_done(&pr);
        held[q] = sc.mean, held_se[q] = sc.stderr_mean;
    }
    if ((st = lt_model_save(models[1], model_path)) || (st = lt_lda_load(model_path, &m))) goto done;
    lt_corpus view;
    if ((st = demo_corpus_view(train, &view))) goto done;
    umass = malloc(m->k * sizeof *umass), npmi = malloc(m->k * sizeof *npmi);
    if (!umass || !npmi) st = LT_ERR_NOMEM;
    if (!st) st = lt_lda_coherence(m, &view, 10, umass, npmi);
    free(view.doc_ptr);
    if (st) goto done;
    double asum = 0, mu = 0, mn = 0;
    for (size_t k = 0; k < m->k; k++)
        asum += m->alpha[k], mu += umass[k] / (double)m->k, mn += npmi[k] / (double)m->k;
    if (json) {
        lt_report_str(json, "lda_data",
                      "State of the Union paragraphs, every tenth year 1850-2020, 90% / 10% documents");
        lt_report_int(json, "lda_train_documents", (int64_t)n_train);
        lt_report_int(json, "lda_heldout_documents", (int64_t)n_test);
        lt_report_int(json, "lda_vocabulary", (int64_t)m->v);
        lt_report_int(json, "lda_topics", (int64_t)m->k);
        lt_report_num(json, "lda_heldout_nats_per_token", held[1]);
        lt_report_num(json, "lda_heldout_stderr", held_se[1]);
        lt_report_num(json, "lda_one_topic_heldout_nats_per_token", held[0]);
        lt_report_nums(json, "lda_umass", umass, m->k);
        lt_report_nums(json, "lda_npmi", npmi, m->k);
        lt_report_str(json, "lda_model", model_path);
        for (size_t k = 0; k < m->k && !st; k++) {
            char key[32], *words = NULL;
            snprintf(key, sizeof key, "lda_topic_%zu", k);
            if (!(st = demo_top_words(m, k, 10, &words))) st = lt_report_str(json, key, words);
            free(words);
        }
    } else if (print) {
        printf("%-5s %6s %7s %6s  %s\n", "topic", "share", "UMass", "NPMI", "top words");
        double tot = 0;
        for (size_t k = 0; k < m->k; k++)
            tot += m->nk[k];
        for (size_t k = 0; k < m->k && !st; k++) {
            char *words = NULL;
            if ((st = demo_top_words(m, k, 10, &words))) break;
            printf("%5zu %5.1f%% %7.2f %6.3f  %s\n", k, 100.0 * m->nk[k] / tot, umass[k], npmi[k], words);
            free(words);
        }
        if (st) goto done;
        printf("\nmean coherence of the top 10 words: UMass %.3f, NPMI %.3f; alpha sum %.3f\n", mu, mn, asum);
        printf("held-out log-likelihood per word (left-to-right estimate, 20 particles):\n"
               "  1 topic (word frequencies) %9.4f +- %.4f nats\n"
               "  12 topics                  %9.4f +- %.4f nats (perplexity %.0f vs %.0f)\n",
               held[0], held_se[0], held[1], held_se[1], exp(-held[1]), exp(-held[0]));
        printf("\nwrote %s, %s, %s\n", train_path, test_path, model_path);
        printf("try: latent infer %s %s -o topics.csv\n", model_path, test_path);
    }
done:
    if (st) rc = cli_fail("demo", st);
    free(umass);
    free(npmi);
    lt_lda_free(m);
    for (int q = 0; q < 2; q++) {
        lt_model_free(models[q]);
        lt_report_free(reps[q]);
    }
    lt_dataset_free(train);
    lt_dataset_free(test);
    return rc;
}

/* ------------------------------------------------------------ RBMs on digits */

/* n images of 8x8 values in [0, 1] as a PNG grid of 10 columns, each pixel
 * drawn as 4x4 (an 8x8 tile is too small to see). */
static lt_status digits_png(const float *x, size_t n, const char *path)
{
    const size_t up = 4, side = 8 * up;
    float *big = malloc(n * side * side * sizeof(float));
    if (!big) return LT_ERR_NOMEM;
    for (size_t k = 0; k < n; k++)
        for (size_t r = 0; r < side; r++)
            for (size_t c = 0; c < side; c++) big[k * side * side + r * side + c] = x[k * 64 + (r / up) * 8 + c / up];
    lt_status st = lt_png_write_gray_grid(path, big, n, side, side, 10);
    free(big);
    return st;
}

/* Restricted Boltzmann machines on the 1,797 handwritten digits of 8x8
 * pixels (data/README.md), pixels scaled to [0, 1] and thresholded at 1/2;
 * every sixth image held out. An RBM with 100 hidden units (CD-1) is scored
 * on the held-out digits by AIS; one with 16 hidden units both exactly (by
 * enumeration) and by AIS, which shows what the estimate is worth; a DBM
 * with 100 and 50 hidden units by its mean-field lower bound (log Z by
 * AIS); all against independent pixels. Samples of the large RBM are drawn. */
static int demo_rbm(const common *c, const char *outdir, lt_report *json)
{
    int print = !json && !c->quiet;
    char data_path[4096], model_path[4096], samples_path[4096], held_path[4096];
    snprintf(data_path, sizeof data_path, "%s/digits.csv", outdir);
    snprintf(model_path, sizeof model_path, "%s/rbm_digits.safetensors", outdir);
    snprintf(samples_path, sizeof samples_path, "%s/rbm_digits_samples.png", outdir);
    snprintf(held_path, sizeof held_path, "%s/rbm_digits_heldout.png", outdir);
    if (write_file(data_path, lt_demo_digits_csv, lt_demo_digits_csv_len)) {
        fprintf(stderr, "latent demo: %s: cannot write: %s\n", data_path, strerror(errno));
        return EXIT_FAIL;
    }
    lt_array *all = NULL, *tr = NULL, *te = NULL;
    lt_dataset *dtr = NULL, *dte = NULL;
    lt_model *models[2] = {NULL, NULL}, *dbm = NULL;
    lt_report *reps[2] = {NULL, NULL}, *dbm_rep = NULL;
    float *samples = NULL, *held_img = NULL;
    lt_rbm *big = NULL;
    lt_status st;
    int rc = EXIT_OK;
    if ((st = lt_csv_read(data_path, &all, NULL))) goto done;
    size_t n = all->rows, nte = 0;
    if (all->cols != 64) {
        st = LT_ERR_FORMAT;
        fprintf(stderr, "latent demo: %s: expected 64 pixels a row\n", data_path);
        rc = EXIT_FAIL;
        goto done;
    }
    for (size_t i = 0; i < n; i++) nte += i % 6 == 5;
    if ((st = lt_array_create(n - nte, 64, LT_F64, &tr)) || (st = lt_array_create(nte, 64, LT_F64, &te))) goto done;
    for (size_t i = 0, a = 0, b = 0; i < n; i++) {
        double *dst = i % 6 == 5 ? (double *)te->data + 64 * b++ : (double *)tr->data + 64 * a++;
        for (size_t j = 0; j < 64; j++) dst[j] = lt_array_get(all, i, j) / 16.0;
    }
    tr->height = tr->width = te->height = te->width = 8;
    size_t ntr = tr->rows;
    if ((st = lt_dataset_from_array(tr, &dtr))) {
        tr = NULL;
        goto done;
    }
    tr = NULL;
    if ((st = lt_dataset_from_array(te, &dte))) {
        te = NULL;
        goto done;
    }
    te = NULL;
    /* independent pixels, their probabilities from the training images (add-one smoothed) */
    double p[64] = {0}, indep = 0;
    const double *xtr = dtr->x->data, *xte = dte->x->data;
    for (size_t i = 0; i < ntr; i++)
        for (size_t j = 0; j < 64; j++) p[j] += xtr[i * 64 + j] > 0.5;
    for (size_t j = 0; j < 64; j++) p[j] = (p[j] + 1) / ((double)ntr + 2);
    for (size_t i = 0; i < nte; i++)
        for (size_t j = 0; j < 64; j++) indep += log(xte[i * 64 + j] > 0.5 ? p[j] : 1 - p[j]);
    indep /= (double)nte;
    if (print)
        printf("\nRestricted Boltzmann machines on handwritten digits (8x8 pixels, 0..16, shipped inside\n"
               "latent): %zu images, pixels scaled to [0, 1] and thresholded at 1/2; %zu train, %zu held\n"
               "out (every sixth). RBMs: CD-1, mini-batches of 20, 100 epochs, learning rate 0.05. DBM:\n"
               "50 epochs of greedy pretraining per layer, then 50 of mean field and 20 persistent chains.\n\n",
               n, ntr, nte);
    progress pr;
    progress_init(&pr, c->quiet || json);
    const char *hidden[2] = {"16", "100"};
    double ex16 = NAN, ex16_se = NAN, ais[2] = {NAN, NAN}, se[2] = {NAN, NAN};
    for (int q = 0; q < 2; q++) {
        lt_kv kv[] = {{"hidden", hidden[q]}, {"epochs", "100"}, {"lr", "0.05"}, {"binarize", "0.5"}};
        lt_fit_ctl ctl = {
            .seed = c->seed, .threads = c->threads, .progress = progress_cb, .progress_ud = &pr, .data_path = data_path};
        const lt_kv ais_kv[] = {{"method", "ais"}, {"ais-runs", "100"}, {"ais-betas", "10000"}};
        const lt_kv ex_kv[] = {{"method", "exact"}};
        lt_score s;
        if ((st = lt_report_create(&reps[q])) ||
            (st = lt_model_fit(&lt_rbm_family, dtr, kv, sizeof kv / sizeof *kv, &ctl, reps[q], &models[q])) ||
            (st = lt_model_score_opts(models[q], dte, ais_kv, 3, c->threads, NULL, &s)))
            goto done;
        progress_done(&pr);
        ais[q] = s.mean, se[q] = s.stderr_mean;
        if (q == 0) {
            if ((st = lt_model_score_opts(models[q], dte, ex_kv, 1, c->threads, NULL, &s))) goto done;
            ex16 = s.mean, ex16_se = s.stderr_mean;
        }
    }
    /* a deep Boltzmann machine on the same digits: its mean-field lower bound
     * on log p(v), log Z by AIS */
    double dbm_bound = NAN, dbm_se = NAN;
    {
        lt_kv kv[] = {{"hidden", "100,50"}, {"pretrain-epochs", "50"}, {"epochs", "50"}, {"batch", "20"},
                      {"chains", "20"},   {"binarize", "0.5"}};
        lt_fit_ctl ctl = {
            .seed = c->seed, .threads = c->threads, .progress = progress_cb, .progress_ud = &pr, .data_path = data_path};
        const lt_kv ais_kv[] = {{"method", "ais"}, {"ais-runs", "100"}, {"ais-betas", "10000"}};
        lt_score s;
        if ((st = lt_report_create(&dbm_rep)) ||
            (st = lt_model_fit(&lt_dbm_family, dtr, kv, sizeof kv / sizeof *kv, &ctl, dbm_rep, &dbm)) ||
            (st = lt_model_score_opts(dbm, dte, ais_kv, 3, c->threads, NULL, &s)))
            goto done;
        progress_done(&pr);
        dbm_bound = s.mean, dbm_se = s.stderr_mean;
    }
    if ((st = lt_model_save(models[1], model_path)) || (st = lt_rbm_load(model_path, &big))) goto done;
    samples = malloc(100 * 64 * sizeof(float)), held_img = malloc(100 * 64 * sizeof(float));
    if (!samples || !held_img) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    size_t nshow = nte < 100 ? nte : 100;
    for (size_t t = 0; t < nshow * 64; t++) held_img[t] = xte[t] > 0.5 ? 1.0f : 0.0f;
    if ((st = lt_rbm_sample(big, 100, 1000, 1, c->seed + 1, c->threads, samples)) ||
        (st = digits_png(samples, 100, samples_path)) || (st = digits_png(held_img, nshow, held_path)))
        goto done;
    if (json) {
        lt_report_str(json, "rbm_data", "8x8 digits (Alpaydin and Kaynak 1998), thresholded at 1/2, 5/6 train, 1/6 held out");
        lt_report_int(json, "rbm_train_images", (int64_t)ntr);
        lt_report_int(json, "rbm_heldout_images", (int64_t)nte);
        lt_report_num(json, "rbm_independent_pixels_heldout_nats", indep);
        lt_report_num(json, "rbm16_exact_heldout_nats", ex16);
        lt_report_num(json, "rbm16_ais_heldout_nats", ais[0]);
        lt_report_num(json, "rbm16_ais_stderr", se[0]);
        lt_report_num(json, "rbm16_ais_log_z_stderr", sqrt(fmax(se[0] * se[0] - ex16_se * ex16_se, 0)));
        lt_report_num(json, "rbm100_ais_heldout_nats", ais[1]);
        lt_report_num(json, "rbm100_ais_stderr", se[1]);
        lt_report_num(json, "dbm_bound_heldout_nats", dbm_bound);
        lt_report_num(json, "dbm_bound_stderr", dbm_se);
        lt_report_str(json, "rbm_model", model_path);
        lt_report_str(json, "rbm_samples_picture", samples_path);
    } else if (print) {
        printf("held-out log-likelihood per image, nats:\n"
               "  independent pixels                       %9.4f (exact)\n"
               "  RBM, 16 hidden units                     %9.4f (exact: log Z summed over 2^16 states)\n"
               "  RBM, 16 hidden units                     %9.4f +- %.4f (AIS estimate, 100 runs x 10,000)\n"
               "  RBM, 100 hidden units                    %9.4f +- %.4f (AIS estimate)\n"
               "  DBM, 100 and 50 hidden units             %9.4f +- %.4f (mean-field lower bound, AIS log Z)\n",
               indep, ex16, ais[0], se[0], ais[1], se[1], dbm_bound, dbm_se);
        printf("(the +- is the standard error over the held-out images and of AIS's log Z; for the small\n"
               "model AIS misses the exact value by %.4f nats, its own standard error being %.4f)\n",
               ais[0] - ex16, sqrt(fmax(se[0] * se[0] - ex16_se * ex16_se, 0)));
        printf("\nwrote %s, %s,\n      %s (samples: 1,000 Gibbs steps), %s\n", data_path, model_path, samples_path,
               held_path);
        printf("try: latent sample %s -n 64 --mean -o more.png\n", model_path);
    }
done:
    if (st && !rc) rc = cli_fail("demo", st);
    free(samples);
    free(held_img);
    lt_rbm_free(big);
    lt_model_free(dbm);
    lt_report_free(dbm_rep);
    for (int q = 0; q < 2; q++) {
        lt_model_free(models[q]);
        lt_report_free(reps[q]);
    }
    lt_array_free(all), lt_array_free(tr), lt_array_free(te);
    lt_dataset_free(dtr), lt_dataset_free(dte);
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    const char *cmd = "demo";
    const char *outdir = "demo-out";
    /* --out is the demo's own option; the rest are the common ones. */
    char *args[64];
    int nargs = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0) {
            if (i + 1 >= argc) return cli_usage(cmd, "--out needs a value");
            outdir = argv[++i];
        } else if (nargs < 64) {
            args[nargs++] = argv[i];
        }
    }
    common c;
    const char *pos[1];
    int npos, done;
    int rc = cli_parse(nargs, args, cmd, DEMO_HELP, &c, pos, 0, &npos, NULL, 0, NULL, NULL, &done);
    if (rc || done) return rc;
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "latent demo: %s: cannot create the output folder: %s\n", outdir, strerror(errno));
        return EXIT_FAIL;
    }
    char data_path[4096], model_path[4096], png_path[4096];
    snprintf(data_path, sizeof data_path, "%s/iris.csv", outdir);
    snprintf(model_path, sizeof model_path, "%s/gmm_iris.safetensors", outdir);
    snprintf(png_path, sizeof png_path, "%s/gmm_iris.png", outdir);
    if (write_file(data_path, lt_demo_iris_csv, lt_demo_iris_csv_len)) {
        fprintf(stderr, "latent demo: %s: cannot write: %s\n", data_path, strerror(errno));
        return EXIT_FAIL;
    }

    static const lt_cov_type covs[4] = {LT_COV_FULL, LT_COV_DIAG, LT_COV_SPHERICAL, LT_COV_TIED};
    lt_array *all = NULL, *X = NULL, *train = NULL, *test = NULL; /* train, test: owned by dtrain, dtest */
    lt_dataset *dtrain = NULL, *dtest = NULL;
    lt_model *models[4] = {NULL, NULL, NULL, NULL};
    lt_report *reps[4] = {NULL, NULL, NULL, NULL}, *summary = NULL;
    double held[4], held_se[4], train_ll[4];
    size_t best = 0;
    lt_status st;
    if ((st = lt_csv_read(data_path, &all, NULL)) || (st = lt_array_to_f64(all, 1, &X)) || (st = split(X, 0, &train)) ||
        (st = lt_dataset_from_array(train, &dtrain)) || (st = split(X, 1, &test)) ||
        (st = lt_dataset_from_array(test, &dtest)) || (st = lt_report_create(&summary)))
        goto fail;
    static const char *cols[] = {"cov", "k", "n_params", "train_loglik", "heldout_loglik", "stderr", "bic"};
    if ((st = lt_report_table(summary, "gmm", "", 7, cols))) goto fail;
    if (!c.json && !c.quiet)
        printf("Gaussian mixtures on Fisher's iris flowers (150 x 4, shipped inside latent)\n"
               "train: %zu flowers, held out: %zu (every third); K = 1..6 chosen by BIC on train\n\n",
               train->rows, test->rows);
    progress pr;
    progress_init(&pr, c.quiet || c.json);
    for (int t = 0; t < 4; t++) {
        lt_kv kv[3] = {{"k", "1..6"}, {"cov", lt_cov_type_name(covs[t])}, {"n-init", "4"}};
        lt_fit_ctl ctl = {
            .seed = c.seed, .threads = c.threads, .progress = progress_cb, .progress_ud = &pr, .data_path = data_path};
        lt_score s;
        if ((st = lt_report_create(&reps[t])) ||
            (st = lt_model_fit(&lt_gmm_family, dtrain, kv, 3, &ctl, reps[t], &models[t])) ||
            (st = lt_model_score(models[t], dtest, c.threads, NULL, &s)))
            goto fail;
        progress_done(&pr);
        const lt_gmm *g = models[t]->impl;
        double bic;
        if ((st = lt_gmm_bic(g, train->data, train->rows, c.threads, &bic, NULL))) goto fail;
        held[t] = s.mean, held_se[t] = s.stderr_mean, train_ll[t] = g->lower_bound;
        if (held[t] > held[best]) best = (size_t)t;
        double row[7] = {t, (double)g->k, (double)lt_gmm_n_parameters(g), train_ll[t], held[t], held_se[t], bic};
        if ((st = lt_report_table_row(summary, "gmm", row))) goto fail;
        if (!c.json && !c.quiet) {
            char *txt = NULL;
            /* just the selection table of this covariance type */
            if (lt_report_text(reps[t], &txt) == LT_OK) {
                const char *tab = strstr(txt, "\nmodel selection");
                printf("%s covariance:%s", lt_cov_type_name(covs[t]), tab ? tab : "\n");
            }
            free(txt);
            printf("  BIC chooses K = %zu; held-out log-likelihood %.4f +- %.4f nats per flower\n\n", g->k, held[t],
                   held_se[t]);
        }
    }
    const lt_gmm *gb = models[best]->impl;
    if ((st = lt_model_save(models[best], model_path))) goto fail;
    char title[128];
    snprintf(title, sizeof title, "Iris: Gaussian mixture, %s covariance, K = %zu by BIC", lt_cov_type_name(gb->cov),
             gb->k);
    if ((st = draw(gb, X, title, png_path))) goto fail;
    /* How far apart are the chosen models? KL(best || other) by Monte Carlo. */
    double kls[4], kl_se[4];
    for (int t = 0; t < 4; t++) {
        kls[t] = 0.0, kl_se[t] = 0.0;
        if ((size_t)t != best &&
            (st = lt_gmm_kl_mc(gb, models[t]->impl, 20000, c.seed + 1, c.threads, &kls[t], &kl_se[t])))
            goto fail;
    }
    if (c.json) {
        lt_report_str(summary, "data", "iris (Fisher 1936), 100 train / 50 held out");
        lt_report_str(summary, "best_covariance_type", lt_cov_type_name(gb->cov));
        lt_report_int(summary, "best_k", (int64_t)gb->k);
        lt_report_num(summary, "best_heldout_log_likelihood", held[best]);
        lt_report_nums(summary, "kl_best_to_each", kls, 4);
        lt_report_str(summary, "model", model_path);
        lt_report_str(summary, "picture", png_path);
        if (!(rc = demo_hmm(&c, outdir, summary)) && !(rc = demo_lda(&c, outdir, summary)) &&
            !(rc = demo_rbm(&c, outdir, summary)))
            rc = cli_print_report(cmd, summary, 1);
    } else if (!c.quiet) {
        printf("%-10s %3s %9s %15s %24s\n", "covariance", "K", "params", "train nats", "held-out nats (+- se)");
        for (int t = 0; t < 4; t++) {
            const lt_gmm *g = models[t]->impl;
            printf("%-10s %3zu %9zu %15.4f %15.4f +- %.4f%s\n", lt_cov_type_name(covs[t]), g->k, lt_gmm_n_parameters(g),
                   train_ll[t], held[t], held_se[t], (size_t)t == best ? "  <- best" : "");
        }
        printf("\nKL(best || other), Monte Carlo with 20000 samples, nats:\n");
        for (int t = 0; t < 4; t++)
            if ((size_t)t != best) printf("  %-10s %.4f +- %.4f\n", lt_cov_type_name(covs[t]), kls[t], kl_se[t]);
        printf("\nwrote %s, %s, %s\n", data_path, model_path, png_path);
        printf("try: latent score %s %s\n", model_path, data_path);
    }
    if (!c.json && !(rc = demo_hmm(&c, outdir, NULL)) && !(rc = demo_lda(&c, outdir, NULL))) rc = demo_rbm(&c, outdir, NULL);
    goto done;
fail:
    rc = cli_fail(cmd, st);
done:
    for (int t = 0; t < 4; t++) {
        lt_model_free(models[t]);
        lt_report_free(reps[t]);
    }
    lt_report_free(summary);
    lt_array_free(all), lt_array_free(X);
    lt_dataset_free(dtrain), lt_dataset_free(dtest);
    return rc;
}
