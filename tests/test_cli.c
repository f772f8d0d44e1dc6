// LABELS: cli
/* The `latent` program end to end: every command on good input, and each
 * documented failure with its exit code, its one-line message, and no
 * output file left behind. */
#include "cli_harness.h"
#include "latent/model.h"

static void make_data(void)
{
    /* two well separated blobs, 2-D, 60 rows */
    char buf[8192];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "x,y\n");
    for (int i = 0; i < 60; i++) {
        double a = (i % 2 ? 5.0 : -5.0) + 0.37 * ((i * 7919) % 13 - 6) / 6.0;
        double b = (i % 2 ? 1.0 : -1.0) + 0.41 * ((i * 104729) % 11 - 5) / 5.0;
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%.6f,%.6f\n", a, b);
    }
    put("data.csv", buf);
    put("three.csv", "1,2,3\n4,5,6\n7,8,9\n");
}

static void test_round_trip(void)
{
    CHECK(run("fit gmm data.csv -k 2 --seed 3 -o m.safetensors") == 0);
    CHECK(strstr(out, "log_likelihood") != NULL);
    CHECK(run("score m.safetensors data.csv --json") == 0);
    CHECK(strstr(out, "\"kind\":\"exact\"") && strstr(out, "\"mean_log_likelihood\":") && strstr(out, "\"n\":60"));
    CHECK(run("sample m.safetensors -n 25 --seed 1 -o s.npy") == 0 && exists("s.npy"));
    CHECK(run("sample m.safetensors -n 25 --seed 1 -o s.csv") == 0 && exists("s.csv"));
    CHECK(run("score m.safetensors s.csv -o per_sample.csv") == 0 && exists("per_sample.csv"));
    CHECK(run("infer m.safetensors data.csv -o z.csv") == 0);
    char p[4200], buf[4096];
    snprintf(p, sizeof p, "%s/z.csv", dir);
    slurp(p, buf, sizeof buf);
    CHECK(strncmp(buf, "label,log_likelihood,p_0,p_1\n", 29) == 0);
    CHECK(run("info m.safetensors --json") == 0);
    CHECK(strstr(out, "\"kind\":\"gmm\"") && strstr(out, "\"k\":2") && strstr(out, "\"covariance_type\":\"full\""));
    CHECK(run("kl m.safetensors m.safetensors -n 500 --json") == 0);
    CHECK(strstr(out, "\"kl\":0,") != NULL);
    /* single Gaussians: the closed form */
    CHECK(run("fit gmm data.csv -k 1 --cov diag -o one.safetensors") == 0);
    CHECK(run("fit gmm three.csv -k 1 --cov spherical -o two.safetensors") == 0);
    CHECK(run("kl one.safetensors one.safetensors") == 0 && strstr(out, "closed form"));
    CHECK(run("fit gmm data.csv -k 1 --cov spherical -o sph.safetensors") == 0);
    CHECK(run("kl one.safetensors sph.safetensors --json") == 0 && strstr(out, "closed form") && !strstr(out, "\"kl\":0,"));
    /* warm start from a model, and a K range */
    CHECK(run("fit gmm data.csv --init m.safetensors -o m2.safetensors --json") == 0 && strstr(out, "\"k\":2"));
    CHECK(run("fit gmm data.csv -k 1..4 --n-init 2 -o r.safetensors --json") == 0);
    CHECK(strstr(out, "\"selection\"") && strstr(out, "\"selected_by\":\"bic\"") && strstr(out, "\"k\":2"));
    /* help for every command */
    const char *cmds[] = {"fit", "fit gmm", "score", "sample", "infer", "info", "kl", "demo"};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        char a[64];
        snprintf(a, sizeof a, "%s --help", cmds[i]);
        CHECK_MSG(run(a) == 0 && strstr(out, "usage: latent") != NULL, "%s", a);
    }
    CHECK(run("--version") == 0 && strstr(out, "latent "));
    /* the main help names every family there is */
    CHECK(run("--help") == 0);
    for (size_t i = 0; i < lt_family_count(); i++)
        CHECK_MSG(strstr(out, lt_family_at(i)->name) != NULL, "main help lacks %s", lt_family_at(i)->name);
    CHECK(count_tmp() == 0);
}

static void test_reproducible(void)
{
    /* Same seed, one or two threads: the same model file, byte for byte. */
    CHECK(run("fit gmm data.csv -k 3 --n-init 3 --seed 11 --threads 1 -o t1.safetensors") == 0);
    CHECK(run("fit gmm data.csv -k 3 --n-init 3 --seed 11 --threads 2 -o t2.safetensors") == 0);
    char cmd[8500];
    snprintf(cmd, sizeof cmd, "cmp -s '%s/t1.safetensors' '%s/t2.safetensors'", dir, dir);
    CHECK(system(cmd) == 0);
}

static void test_bad_input(void)
{
    put("empty.csv", "");
    put("ragged.csv", "1,2\n3,4\n5\n");
    put("nan.csv", "1,2\n3,nan\n");
    put("text.csv", "1,2\n3,abc\n");
    EXPECT_FAIL("fit gmm empty.csv -k 1 -o out.safetensors", 1, "empty.csv", "out.safetensors");
    EXPECT_FAIL("fit gmm ragged.csv -k 1 -o out.safetensors", 1, "ragged.csv:3", "out.safetensors");
    EXPECT_FAIL("fit gmm nan.csv -k 1 -o out.safetensors", 1, "nan.csv:2", "out.safetensors");
    EXPECT_FAIL("fit gmm text.csv -k 1 -o out.safetensors", 1, "text.csv:2:2", "out.safetensors");
    EXPECT_FAIL("fit gmm three.csv -k 5 -o out.safetensors", 1, "exceeds the number of samples", "out.safetensors");
    EXPECT_FAIL("fit gmm missing.csv -k 1 -o out.safetensors", 1, "missing.csv", "out.safetensors");
    EXPECT_FAIL("fit gmm data.csv -k 1 -o nodir/out.safetensors", 1, "nodir", "nodir");
    /* sample weights: one per sample, non-negative */
    put("w_short.csv", "1\n2\n");
    put("w_neg.csv", "1\n-1\n1\n");
    EXPECT_FAIL("fit gmm three.csv -k 1 --sample-weights w_short.csv -o out.safetensors", 1, "w_short.csv",
                "out.safetensors");
    EXPECT_FAIL("fit gmm three.csv -k 1 --sample-weights w_neg.csv -o out.safetensors", 1, "sample weight 2",
                "out.safetensors");
    put("w_ok.csv", "1\n0.5\n2\n");
    CHECK(run("fit gmm three.csv -k 1 --cov diag --sample-weights w_ok.csv -o wok.safetensors") == 0);
    /* wrong dimension for a model */
    CHECK(run("fit gmm data.csv -k 2 -o m.safetensors") == 0);
    EXPECT_FAIL("score m.safetensors three.csv", 1, "3 columns but the model was fitted on 2", NULL);
    EXPECT_FAIL("infer m.safetensors three.csv -o z3.csv", 1, "3 columns", "z3.csv");
    EXPECT_FAIL("fit gmm three.csv --init m.safetensors -o w.safetensors", 1, "d = 2", "w.safetensors");
    /* corrupt model files */
    put("junk.safetensors", "this is not a model");
    EXPECT_FAIL("score junk.safetensors data.csv", 1, "junk.safetensors", NULL);
    EXPECT_FAIL("sample junk.safetensors -n 3 -o j.csv", 1, "junk.safetensors", "j.csv");
    char cmd[8500];
    snprintf(cmd, sizeof cmd, "head -c 200 '%s/m.safetensors' > '%s/trunc.safetensors'", dir, dir);
    CHECK(system(cmd) == 0);
    EXPECT_FAIL("info trunc.safetensors", 1, "trunc.safetensors", NULL);
    /* usage errors: exit 2 */
    EXPECT_FAIL("", 2, "missing command", NULL);
    EXPECT_FAIL("frobnicate", 2, "unknown command", NULL);
    EXPECT_FAIL("fit gmm data.csv -k 2", 2, "missing -o", NULL);
    EXPECT_FAIL("fit nosuch data.csv -o x.safetensors", 2, "unknown family", "x.safetensors");
    EXPECT_FAIL("fit gmm data.csv --bogus 1 -o x.safetensors", 2, "no option --bogus", "x.safetensors");
    EXPECT_FAIL("fit gmm data.csv -k zero -o x.safetensors", 2, "--k", "x.safetensors");
    EXPECT_FAIL("fit gmm data.csv -k 2 --cov round -o x.safetensors", 2, "round", "x.safetensors");
    EXPECT_FAIL("fit gmm data.csv -k 2 --threads 0 -o x.safetensors", 2, "--threads", "x.safetensors");
    EXPECT_FAIL("sample m.safetensors -o s_bad.csv", 2, "missing -n", "s_bad.csv");
    EXPECT_FAIL("sample m.safetensors -n 5 -o s.txt", 2, ".csv or .npy", "s.txt");
    EXPECT_FAIL("score m.safetensors", 2, "expected MODEL and DATA", NULL);
    CHECK(count_tmp() == 0);
}

static void test_demo(void)
{
    CHECK(run("demo --out demo --quiet") == 0);
    CHECK(exists("demo/gmm_iris.png") && exists("demo/gmm_iris.safetensors") && exists("demo/iris.csv"));
    CHECK(run("score demo/gmm_iris.safetensors demo/iris.csv --json") == 0 && strstr(out, "\"n\":150"));
    CHECK(run("demo --out demo --json") == 0 && strstr(out, "\"best_k\":"));
    /* the RBM section: a model, its samples, and an AIS score of 100 hidden
     * units that beats independent pixels (both in the JSON) */
    CHECK(exists("demo/rbm_digits.safetensors") && exists("demo/rbm_digits_samples.png") &&
          exists("demo/rbm_digits_heldout.png"));
    const char *a = strstr(out, "\"rbm100_ais_heldout_nats\":"), *b = strstr(out, "\"rbm_independent_pixels_heldout_nats\":");
    CHECK_MSG(a && b && strtod(strchr(a, ':') + 1, NULL) > strtod(strchr(b, ':') + 1, NULL) + 2, "demo json: %.300s",
              a ? a : out);
    /* and a DBM whose held-out lower bound beats independent pixels too */
    const char *d = strstr(out, "\"dbm_bound_heldout_nats\":");
    CHECK_MSG(d && b && strtod(strchr(d, ':') + 1, NULL) > strtod(strchr(b, ':') + 1, NULL) + 2, "demo json: %.300s",
              d ? d : out);
}

int main(void)
{
    cli_init("cli");
    make_data();
    RUN(test_round_trip);
    RUN(test_reproducible);
    RUN(test_bad_input);
    RUN(test_demo);
    return lt_test_done();
}
