// LABELS: cli
/* `latent` with hidden Markov models end to end: fit, score, sample, infer
 * and info for categorical tokens, characters, integer symbols, Gaussian
 * and Poisson rows cut by --lengths or --seq-column; warm starts, ranges
 * of states, masks; the same model file for one or two threads; and each
 * bad input with its exit code, its one-line message and no output file. */
#include "cli_harness.h"

#include <stdint.h>


static uint64_t rs = 0x853c49e6748fea9bull;
static double unif(void)
{
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

/* Data from a two-regime process: tokens (two vocabularies), characters,
 * 2-D Gaussian rows with lengths and with an id column, Poisson counts,
 * integer symbols. */
static void make_data(void)
{
    static char buf[1 << 16];
    size_t n = 0;
    const char *wa[] = {"sun", "sky", "sea", "sand"}, *wb[] = {"rock", "moss", "fern", "pine"};
    for (int line = 0; line < 12; line++) {
        int z = line % 2;
        for (int t = 0; t < 15; t++) {
            if (unif() < 0.15) z = 1 - z;
            const char **w = z ? wb : wa;
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", t ? " " : "", w[(int)(unif() * 4)]);
        }
        n += (size_t)snprintf(buf + n, sizeof buf - n, "\n%s", line == 5 ? "\n" : "");
    }
    put("tokens.txt", buf);
    put("tokens2.txt", "sun sky rock\nmoss fern pine sea\n");
    put("unknown.txt", "sun sky\nsea xyz rock\n");
    put("chars.txt", "Abba abab, BAAB!\nbaba abba\nab ba ab\naabb bbaa\n");
    put("chars2.txt", "abab baba\n");
    /* Gaussian: 3 sequences of 20, 25, 15 steps */
    n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "x,y\n");
    size_t ni = 0;
    static char ids[1 << 16];
    ni += (size_t)snprintf(ids + ni, sizeof ids - ni, "id,x,y\n");
    const int lens[3] = {20, 25, 15};
    for (int s = 0; s < 3; s++) {
        int z = 0;
        for (int t = 0; t < lens[s]; t++) {
            if (unif() < 0.2) z = 1 - z;
            double x = (z ? 4.0 : -4.0) + unif() - 0.5, y = (z ? 1.0 : -1.0) + unif() - 0.5;
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%.6f,%.6f\n", x, y);
            ni += (size_t)snprintf(ids + ni, sizeof ids - ni, "%d,%.6f,%.6f\n", 100 + s, x, y);
        }
    }
    put("gauss.csv", buf);
    put("gauss_ids.csv", ids);
    put("lengths.txt", "20\n25\n15\n");
    put("lengths_bad.txt", "20\n25\n10\n");
    put("lengths_text.txt", "20\nx\n");
    put("three.csv", "1,2,3\n4,5,6\n7,8,9\n");
    /* Poisson counts, two columns, one sequence */
    n = 0;
    for (int t = 0; t < 80; t++) {
        int z = (t / 10) % 2;
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%d,%d\n", z ? 7 + t % 3 : t % 2, z ? 1 : 5 + t % 4);
    }
    put("counts.csv", buf);
    /* integer symbols, one column */
    n = 0;
    for (int t = 0; t < 60; t++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%d\n", (t / 6) % 2 ? 2 + t % 2 : t % 2);
    put("ints.csv", buf);
    put("empty.txt", "");
    put("blank.txt", "\n   \n\t\n");
}

static void test_tokens(void)
{
    CHECK(run("fit hmm tokens.txt -k 2 --seed 3 --n-init 2 --json -o tok.safetensors") == 0);
    CHECK(strstr(out, "\"family\":\"hmm\"") && strstr(out, "\"states\":2") &&
          strstr(out, "\"emission\":\"categorical\""));
    CHECK(strstr(out, "\"n_symbols\":8") && strstr(out, "\"input\":\"tokens\"") && strstr(out, "\"n_sequences\":12"));
    CHECK(strstr(out, "\"n_steps\":180") && strstr(out, "\"log_likelihood\":") && strstr(out, "\"n_parameters\":"));
    CHECK(strstr(out, "\"n_iter\":") && strstr(out, "\"converged\":") && strstr(out, "\"best_init\":"));
    CHECK(strstr(out, "\"n_repaired\":") && strstr(out, "\"bic\":") && strstr(out, "\"aic\":"));
    CHECK(run("score tok.safetensors tokens.txt --json") == 0);
    CHECK(strstr(out, "\"kind\":\"exact\"") && strstr(out, "\"unit\":\"step\"") && strstr(out, "\"n\":180"));
    CHECK(strstr(out, "forward algorithm"));
    CHECK(run("score tok.safetensors tokens2.txt -o per_seq.csv") == 0 && strstr(out, "nats per step"));
    CHECK(count_lines(file("per_seq.csv")) == 3); /* header + 2 sequences */
    CHECK(run("sample tok.safetensors -n 3 --length 7 --seed 5 -o s.txt") == 0);
    const char *s = file("s.txt");
    CHECK(count_lines(s) == 3);
    int words = 0;
    for (const char *p = s; *p; p++)
        words += *p == ' ';
    CHECK(words == 3 * 6);
    CHECK(run("score tok.safetensors s.txt") == 0); /* samples read back */
    CHECK(run("sample tok.safetensors -n 2 --length 4 -o s.csv") == 0);
    CHECK(strncmp(file("s.csv"), "sequence,symbol\n", 16) == 0 && count_lines(file("s.csv")) == 9);
    CHECK(run("infer tok.safetensors tokens2.txt -o z.csv") == 0);
    const char *z = file("z.csv");
    CHECK(strncmp(z, "sequence,step,viterbi,posterior_state,p_0,p_1\n", 46) == 0);
    CHECK(count_lines(z) == 1 + 7);
    CHECK(strstr(z, "\n1,3,") != NULL); /* sequence 1, step 3 (both from 0) */
    CHECK(run("info tok.safetensors --json") == 0);
    CHECK(strstr(out, "\"kind\":\"hmm\"") && strstr(out, "\"states\":2") && strstr(out, "\"transitions\""));
    CHECK(strstr(out, "\"state_0_top_symbols\"") && strstr(out, "\"input\":\"tokens\"") && strstr(out, "\"start\""));
    CHECK(run("info tok.safetensors") == 0 && strstr(out, "transition probabilities"));
    /* a range of states, BIC */
    CHECK(run("fit hmm tokens.txt -k 1..3 --json -o r.safetensors") == 0);
    CHECK(strstr(out, "\"selection\"") && strstr(out, "\"selected_by\":\"bic\""));
    CHECK(run("fit hmm tokens.txt --states 1..2 --criterion aic -o r.safetensors") == 0 && strstr(out, "selection"));
    /* warm start: the model's vocabulary numbers the data */
    CHECK(run("fit hmm tokens.txt --init tok.safetensors --max-iter 5 --json -o w.safetensors") == 0);
    CHECK(strstr(out, "\"states\":2"));
    CHECK(run("info w.safetensors --json") == 0 && strstr(out, "\"init\":\"model\"") &&
          strstr(out, "\"init_params\":\"\""));
    /* sorted vocabulary; fixed parameters */
    CHECK(run("fit hmm tokens.txt --sort-vocab --params e --init-params ste -o sv.safetensors") == 0);
    CHECK(run("info sv.safetensors --json") == 0 && strstr(out, "\"params\":\"e\""));
    /* left-to-right and a mask */
    CHECK(run("fit hmm tokens.txt -k 3 --left-to-right -o lr.safetensors") == 0);
    CHECK(run("info lr.safetensors --json") == 0 && strstr(out, "\"rows\":[[0,") && strstr(out, "[2,0,0,1]"));
    put("mask.csv", "1,1\n0,1\n");
    CHECK(run("fit hmm tokens.txt -k 2 --mask mask.csv -o mk.safetensors") == 0);
    CHECK(run("info mk.safetensors --json") == 0 && strstr(out, "[1,0,1]"));
}

static void test_chars(void)
{
    CHECK(run("fit hmm chars.txt --chars --lowercase -k 2 --seed 1 --json -o ch.safetensors") == 0);
    CHECK(strstr(out, "\"input\":\"characters\"") && strstr(out, "\"n_sequences\":4"));
    /* scoring reads characters, lower-cased, as the model was fitted */
    CHECK(run("score ch.safetensors chars2.txt --json") == 0 && strstr(out, "\"n\":9"));
    CHECK(run("score ch.safetensors chars.txt --lowercase --chars --json") == 0);
    CHECK(run("sample ch.safetensors -n 2 --length 20 --seed 2 -o cs.txt") == 0);
    const char *s = file("cs.txt");
    CHECK(count_lines(s) == 2 && strlen(s) == 2 * 21 && !strchr(s, 'A'));
    CHECK(run("info ch.safetensors --json") == 0 && strstr(out, "\"lowercase\":true"));
    /* an alphabet with a replacement, whole file */
    CHECK(
        run("fit hmm chars.txt --chars --whole-file --lowercase --alphabet ab --replace _ --squeeze -o ca.safetensors "
            "--json") == 0);
    CHECK(strstr(out, "\"n_symbols\":3") && strstr(out, "\"n_sequences\":1"));
    CHECK(run("score ca.safetensors chars.txt --json") == 0 && strstr(out, "\"n\":1,") == NULL);
    CHECK(run("info ca.safetensors --json") == 0 && strstr(out, "\"alphabet\":\"ab\"") &&
          strstr(out, "\"replace\":\"_\""));
    /* an integer-symbol CSV, categorical */
    CHECK(run("fit hmm ints.csv --emission categorical -k 2 --json -o int.safetensors") == 0);
    CHECK(strstr(out, "\"n_symbols\":4") && strstr(out, "\"input\":\"rows\""));
    CHECK(run("score int.safetensors ints.csv") == 0);
    CHECK(run("sample int.safetensors -n 2 --length 5 -o is.txt") == 0 && count_lines(file("is.txt")) == 2);
    CHECK(run("score int.safetensors is.txt") == 0); /* integer tokens read back */
}

static void test_rows(void)
{
    CHECK(run("fit hmm gauss.csv --lengths lengths.txt -k 2 --seed 4 --json -o g.safetensors") == 0);
    CHECK(strstr(out, "\"emission\":\"gaussian\"") && strstr(out, "\"covariance_type\":\"diag\""));
    CHECK(strstr(out, "\"n_sequences\":3") && strstr(out, "\"n_steps\":60") && strstr(out, "\"n_features\":2"));
    CHECK(run("score g.safetensors gauss.csv --lengths lengths.txt --json -o gl.csv") == 0 && strstr(out, "\"n\":60"));
    CHECK(count_lines(file("gl.csv")) == 4);
    CHECK(run("score g.safetensors gauss.csv --json") == 0 && strstr(out, "\"stderr\":null")); /* one sequence */
    CHECK(run("infer g.safetensors gauss.csv --lengths lengths.txt -o gz.csv") == 0);
    CHECK(count_lines(file("gz.csv")) == 61 && strstr(file("gz.csv"), "\n2,14,"));
    CHECK(run("sample g.safetensors -n 4 --length 10 -o gs.csv") == 0);
    CHECK(strncmp(file("gs.csv"), "sequence,x_0,x_1\n", 17) == 0 && count_lines(file("gs.csv")) == 41);
    CHECK(run("score g.safetensors gs.csv --seq-column sequence --json") == 0 && strstr(out, "\"n\":40"));
    CHECK(run("sample g.safetensors -n 4 --length 10 -o gs.npy") == 0 && exists("gs.npy"));
    CHECK(run("info g.safetensors --json") == 0 && strstr(out, "\"means\""));
    /* a sequence-id column gives the same model as the lengths */
    CHECK(run("fit hmm gauss_ids.csv --seq-column 1 -k 2 --seed 4 -o gi.safetensors") == 0);
    CHECK(same_files("g.safetensors", "gi.safetensors"));
    CHECK(run("fit hmm gauss_ids.csv --seq-column id -k 2 --seed 4 -o gn.safetensors") == 0);
    CHECK(same_files("g.safetensors", "gn.safetensors"));
    /* other emissions */
    CHECK(run("fit hmm gauss.csv --lengths lengths.txt --cov full -k 1..2 -o gf.safetensors") == 0);
    CHECK(run("fit hmm gauss.csv --emission gmm --n-mix 2 -k 2 --json -o gm.safetensors") == 0 &&
          strstr(out, "\"n_mix\":2"));
    CHECK(run("info gm.safetensors --json") == 0 && strstr(out, "\"components\""));
    CHECK(run("fit hmm counts.csv --emission poisson -k 2 --json -o p.safetensors") == 0);
    CHECK(strstr(out, "\"emission\":\"poisson\""));
    CHECK(run("info p.safetensors --json") == 0 && strstr(out, "\"rates\""));
    CHECK(run("sample p.safetensors -n 1 --length 5 -o ps.csv") == 0);
}

static void test_reproducible(void)
{
    CHECK(run("fit hmm gauss.csv --lengths lengths.txt -k 3 --n-init 3 --seed 11 --threads 1 -o t1.safetensors") == 0);
    CHECK(run("fit hmm gauss.csv --lengths lengths.txt -k 3 --n-init 3 --seed 11 --threads 2 -o t2.safetensors") == 0);
    CHECK(same_files("t1.safetensors", "t2.safetensors"));
    CHECK(run("fit hmm tokens.txt -k 2 --n-init 3 --seed 11 --threads 1 -o c1.safetensors") == 0);
    CHECK(run("fit hmm tokens.txt -k 2 --n-init 3 --seed 11 --threads 2 -o c2.safetensors") == 0);
    CHECK(same_files("c1.safetensors", "c2.safetensors"));
    CHECK(run("fit hmm chars.txt --chars -k 2 --seed 11 --threads 1 -o h1.safetensors") == 0);
    CHECK(run("fit hmm chars.txt --chars -k 2 --seed 11 --threads 2 -o h2.safetensors") == 0);
    CHECK(same_files("h1.safetensors", "h2.safetensors"));
    CHECK(run("sample c1.safetensors -n 5 --seed 3 --threads 1 -o r1.txt") == 0);
    CHECK(run("sample c2.safetensors -n 5 --seed 3 --threads 2 -o r2.txt") == 0);
    CHECK(same_files("r1.txt", "r2.txt"));
}

static void test_bad_input(void)
{
    char want[4300];
    /* empty sequence files */
    EXPECT_FAIL("fit hmm empty.txt -o e.safetensors", 1, "empty.txt: no sequences", "e.safetensors");
    EXPECT_FAIL("fit hmm blank.txt -o e.safetensors", 1, "blank.txt: no sequences", "e.safetensors");
    EXPECT_FAIL("fit hmm empty.txt --chars -o e.safetensors", 1, "empty.txt: no sequences", "e.safetensors");
    /* an unknown symbol when scoring */
    CHECK(run("fit hmm tokens.txt -k 2 -o m.safetensors") == 0);
    EXPECT_FAIL("score m.safetensors unknown.txt", 1, "unknown.txt:2: symbol 'xyz' is not in the model's vocabulary",
                NULL);
    EXPECT_FAIL("infer m.safetensors unknown.txt -o zu.csv", 1, "unknown.txt:2: symbol 'xyz'", "zu.csv");
    CHECK(run("fit hmm chars.txt --chars -o mc.safetensors") == 0);
    put("chars_bad.txt", "ab\nabq\n");
    EXPECT_FAIL("score mc.safetensors chars_bad.txt", 1, "chars_bad.txt:2: symbol 'q' is not in the model's vocabulary",
                NULL);
    /* wrong dimension */
    CHECK(run("fit hmm gauss.csv -k 2 -o g2.safetensors") == 0);
    EXPECT_FAIL("score g2.safetensors three.csv", 1, "three.csv: data has 3 columns but the model was fitted on 2",
                NULL);
    EXPECT_FAIL("infer g2.safetensors three.csv -o z3.csv", 1, "data has 3 columns", "z3.csv");
    EXPECT_FAIL("score g2.safetensors tokens.txt --tokens", 1, "--tokens does not apply", NULL);
    /* lengths that do not add up */
    snprintf(want, sizeof want, "lengths_bad.txt: lengths add up to 55 but the data has 60 rows");
    EXPECT_FAIL("fit hmm gauss.csv --lengths lengths_bad.txt -o lb.safetensors", 1, want, "lb.safetensors");
    EXPECT_FAIL("score g2.safetensors gauss.csv --lengths lengths_bad.txt", 1, want, NULL);
    EXPECT_FAIL("infer g2.safetensors gauss.csv --lengths lengths_bad.txt -o zl.csv", 1, want, "zl.csv");
    EXPECT_FAIL("fit hmm gauss.csv --lengths lengths_text.txt -o lb.safetensors", 1,
                "lengths_text.txt:2: expected a positive integer, found 'x'", "lb.safetensors");
    EXPECT_FAIL("fit hmm gauss.csv --lengths nosuch.txt -o lb.safetensors", 1, "nosuch.txt: cannot open",
                "lb.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt --lengths lengths.txt -o lb.safetensors", 1,
                "--lengths applies to rows (CSV, NPY), not to text", "lb.safetensors");
    EXPECT_FAIL("fit hmm gauss_ids.csv --seq-column 9 -o lb.safetensors", 1, "--seq-column 9: the data has 3 columns",
                "lb.safetensors");
    EXPECT_FAIL("fit hmm gauss_ids.csv --seq-column nope -o lb.safetensors", 1, "no column named 'nope'",
                "lb.safetensors");
    /* other failures */
    EXPECT_FAIL("fit hmm three.csv -k 5 -o k5.safetensors", 1, "exceeds the number of steps", "k5.safetensors");
    EXPECT_FAIL("fit hmm gauss.csv --emission categorical -o gc.safetensors", 1, "one column of symbol ids",
                "gc.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt --emission gaussian -o tg.safetensors", 1, "rows of numbers", "tg.safetensors");
    put("mask3.csv", "1,1,0\n0,1,1\n0,0,1\n");
    EXPECT_FAIL("fit hmm tokens.txt -k 2 --mask mask3.csv -o mk2.safetensors", 1,
                "the mask is 3 x 3 but there are 2 states", "mk2.safetensors");
    put("mask_bad.csv", "1,0.5\n0,1\n");
    EXPECT_FAIL("fit hmm tokens.txt -k 2 --mask mask_bad.csv -o mk2.safetensors", 1, "a mask holds 0",
                "mk2.safetensors");
    EXPECT_FAIL("sample g2.safetensors -n 2 -o gs.txt", 1, "write them as .csv or .npy", "gs.txt");
    EXPECT_FAIL("sample m.safetensors -n 2 -o gs.dat", 1, "expected .txt, .csv or .npy", "gs.dat");
    EXPECT_FAIL("fit hmm tokens.txt --init g2.safetensors -o wi.safetensors", 1,
                "--init g2.safetensors: the model has gaussian emissions, but tokens.txt holds text", "wi.safetensors");
    EXPECT_FAIL("score mc.safetensors chars.txt --tokens", 1, "fitted on characters; --tokens does not apply", NULL);
    /* usage errors: exit 2 */
    EXPECT_FAIL("fit hmm tokens.txt -k 2", 2, "missing -o", NULL);
    EXPECT_FAIL("fit hmm tokens.txt -k zero -o u.safetensors", 2, "--states", "u.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt -k 3..1 -o u.safetensors", 2, "--states", "u.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt --emission bogus -o u.safetensors", 2, "bogus", "u.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt --cov round -o u.safetensors", 2, "round", "u.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt --params xyz -o u.safetensors", 2, "--params", "u.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt --n-init 0 -o u.safetensors", 2, "--n-init", "u.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt --tol -1 -o u.safetensors", 2, "--tol", "u.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt --criterion best -o u.safetensors", 2, "--criterion", "u.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt --init-params s -o u.safetensors", 2, "--init-params", "u.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt -k 1..3 --mask mask.csv -o u.safetensors", 2, "--mask", "u.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt --mask mask.csv --left-to-right -o u.safetensors", 2, "--mask", "u.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt --bogus 1 -o u.safetensors", 2, "no option --bogus", "u.safetensors");
    EXPECT_FAIL("fit hmm tokens.txt --length 5 -o u.safetensors", 2, "does not apply to 'fit'", "u.safetensors");
    EXPECT_FAIL("score m.safetensors tokens.txt --states 3", 2, "does not apply to 'score'", NULL);
    EXPECT_FAIL("sample m.safetensors --length 5 -o u.txt", 2, "missing -n", "u.txt");
    EXPECT_FAIL("sample m.safetensors -n 2 --lengths lengths.txt -o u.txt", 2, "does not apply to 'sample'", "u.txt");
    /* option values that only the family can judge are usage errors too */
    EXPECT_FAIL("sample m.safetensors -n 2 --length 0 -o u.txt", 2, "--length", "u.txt");
    EXPECT_FAIL("fit hmm tokens.txt --tokens --chars -o u.safetensors", 2, "--tokens and --chars", "u.safetensors");
    EXPECT_FAIL("score m.safetensors", 2, "expected MODEL and DATA", NULL);
    CHECK(run("fit hmm --help") == 0 && strstr(out, "--states") && strstr(out, "--lengths") && strstr(out, "--chars"));
    CHECK(strstr(out, "--length L"));
    CHECK(run("fit --help") == 0 && strstr(out, "hmm "));
    CHECK(count_tmp() == 0);
}

static void test_demo(void)
{
    CHECK(run("demo --out demo --json") == 0);
    CHECK(strstr(out, "\"best_k\":") && strstr(out, "\"hmm_heldout_nats_per_char\":"));
    CHECK(strstr(out, "\"hmm_separates_vowels\":true"));
    CHECK(exists("demo/hmm_english.safetensors") && exists("demo/english.txt"));
    CHECK(run("info demo/hmm_english.safetensors --json") == 0 && strstr(out, "\"input\":\"characters\""));
    CHECK(run("score demo/hmm_english.safetensors demo/english.txt --json") == 0 && strstr(out, "\"unit\":\"step\""));
    CHECK(run("sample demo/hmm_english.safetensors -n 2 --length 40 -o demo/s.txt") == 0);
    CHECK(count_lines(file("demo/s.txt")) == 2 && strlen(file("demo/s.txt")) == 82);
}

int main(void)
{
    cli_init("cli_hmm");
    make_data();
    RUN(test_tokens);
    RUN(test_chars);
    RUN(test_rows);
    RUN(test_reproducible);
    RUN(test_bad_input);
    RUN(test_demo);
    return lt_test_done();
}
