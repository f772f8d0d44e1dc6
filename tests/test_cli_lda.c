// LABELS: cli
/* `latent` with LDA end to end: fit on text (lines and a folder) and on a
 * UCI docword pair, score (left-to-right and completion), infer (Gibbs and
 * VB), sample, info; the same model file for a seed at one thread twice;
 * and each bad input with its exit code, its one-line message and no
 * output file. */
#include "cli_harness.h"

#include <math.h>
#include <stdint.h>

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static double unif(void)
{
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

/* Two themes with disjoint words; each document mostly one theme. */
static void make_corpus(const char *name, int docs)
{
    static char buf[1 << 16];
    const char *a[] = {"river", "boat", "water", "fish", "bridge", "shore"};
    const char *b[] = {"engine", "wheel", "road", "truck", "fuel", "garage"};
    size_t n = 0;
    for (int d = 0; d < docs; d++) {
        int theme = d % 2;
        for (int t = 0; t < 30; t++) {
            const char **w = (unif() < 0.9) == theme ? b : a;
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", t ? " " : "", w[(int)(unif() * 6)]);
        }
        n += (size_t)snprintf(buf + n, sizeof buf - n, " the and of.\n");
    }
    put(name, buf);
}

int main(void)
{
    cli_init("cli_lda");
    make_corpus("train.txt", 40);
    make_corpus("test.txt", 10);

    /* fit on lines of text: two topics, one per theme */
    CHECK(run("fit lda train.txt --topics 2 --max-iter 100 --seed 3 --threads 1 --quiet -o m.safetensors") == 0);
    CHECK_MSG(exists("m.safetensors"), "no model: %s", err);
    CHECK(run("info m.safetensors") == 0);
    CHECK_MSG(strstr(out, "topics") && strstr(out, "river") && strstr(out, "engine"), "info: %s", out);
    CHECK_MSG(!strstr(out, " the ") && !strstr(out, " and "), "stop words in the topics: %s", out);
    /* each topic's top words come from one theme */
    CHECK(run("info m.safetensors --json") == 0);
    CHECK_MSG(strstr(out, "\"topic_0\"") && strstr(out, "\"topic_1\""), "json info: %s", out);

    /* same seed and threads: the same file */
    CHECK(run("fit lda train.txt --topics 2 --max-iter 100 --seed 3 --threads 1 --quiet -o m2.safetensors") == 0);
    CHECK(same_files("m.safetensors", "m2.safetensors"));

    /* score: an estimate per token, better than one topic */
    CHECK(run("fit lda train.txt --topics 1 --max-iter 20 --quiet -o one.safetensors") == 0);
    CHECK(run("score m.safetensors test.txt --json") == 0);
    double two = 0, one = 0;
    const char *p = strstr(out, "\"mean_log_likelihood\":");
    CHECK_MSG(p && strstr(out, "\"kind\":\"estimate\"") && strstr(out, "\"unit\":\"token\""), "score: %s", out);
    if (p) two = atof(p + strlen("\"mean_log_likelihood\":"));
    CHECK(run("score one.safetensors test.txt --json") == 0);
    p = strstr(out, "\"mean_log_likelihood\":");
    if (p) one = atof(p + strlen("\"mean_log_likelihood\":"));
    CHECK_MSG(two > one + 0.3, "two topics %g vs one %g nats per token", two, one);
    CHECK_MSG(two < 0 && two > -log(12.0) - 0.01, "per token %g outside (-log 12, 0)", two);
    CHECK(run("score m.safetensors test.txt --estimator completion --json") == 0);
    CHECK_MSG(strstr(out, "completion"), "completion: %s", out);
    CHECK(run("score m.safetensors test.txt -o per_doc.csv") == 0);
    CHECK_MSG(count_lines(file("per_doc.csv")) == 11, "per-document scores: %s", file("per_doc.csv"));

    /* infer: topic mixtures, rows sum to 1, themes separate */
    CHECK(run("infer m.safetensors test.txt -o theta.csv") == 0);
    CHECK_MSG(count_lines(file("theta.csv")) == 11, "theta: %s", file("theta.csv"));
    CHECK(strncmp(file("theta.csv"), "topic_0,topic_1", 15) == 0);
    CHECK(run("infer m.safetensors test.txt --method vb -o theta_vb.csv") == 0);
    CHECK(count_lines(file("theta_vb.csv")) == 11);

    /* sample: documents of the model's words */
    CHECK(run("sample m.safetensors -n 5 --length 12 --seed 1 -o s.txt") == 0);
    CHECK_MSG(count_lines(file("s.txt")) == 5 && strstr(file("s.txt"), "the") == NULL, "sample: %s", file("s.txt"));

    /* docword in and out: the sample written as UCI files, fitted by VB */
    CHECK(run("sample m.safetensors -n 30 --length 40 --seed 2 -o docword.s.txt") == 0);
    CHECK_MSG(exists("docword.s.txt") && exists("vocab.s.txt"), "docword sample: %s", err);
    CHECK(run("fit lda docword.s.txt --topics 2 --algo vb --max-iter 50 --quiet -o vb.safetensors") == 0);
    CHECK(
        run("fit lda docword.s.txt --topics 2 --algo online-vb --batch-size 8 --max-iter 5 --quiet -o o.safetensors") ==
        0);
    CHECK(run("fit lda docword.s.txt --topics 2 --algo online-vb --stream --batch-size 8 --max-iter 5 --quiet -o "
              "st.safetensors") == 0);
    CHECK_MSG(exists("st.safetensors"), "stream: %s", err);
    CHECK(run("score vb.safetensors docword.s.txt") == 0);

    /* a folder of files, one document each */
    char cmd[4300];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/docs' && head -c 400 '%s/train.txt' > '%s/docs/a.txt' && tail -c 400 '%s/train.txt' > "
             "'%s/docs/b.txt'",
             dir, dir, dir, dir, dir);
    CHECK(system(cmd) == 0);
    CHECK(run("fit lda docs --topics 2 --max-iter 10 --quiet -o f.safetensors") == 0);

    /* bad input: a clear line, exit code, no output file */
    put("empty.txt", "");
    EXPECT_FAIL("fit lda empty.txt --topics 2 -o e.safetensors", 1, "empty.txt", "e.safetensors");
    put("blank.txt", "river boat water\n\nroad truck fuel\n");
    EXPECT_FAIL("fit lda blank.txt --topics 2 -o e.safetensors", 1, "blank.txt:2", "e.safetensors");
    EXPECT_FAIL("fit lda train.txt --topics 0 -o e.safetensors", 2, "--topics", "e.safetensors");
    EXPECT_FAIL("fit lda train.txt --algo magic -o e.safetensors", 2, "--algo", "e.safetensors");
    EXPECT_FAIL("fit lda train.txt --kappa 2 -o e.safetensors", 2, "--kappa", "e.safetensors");
    put("docword.bad.txt", "2\n3\n2\n1 1 2\n2 7 1\n");
    EXPECT_FAIL("fit lda docword.bad.txt --topics 2 -o e.safetensors", 1, "docword.bad.txt:5", "e.safetensors");
    EXPECT_FAIL("score m.safetensors test.txt --estimator exact", 2, "--estimator", NULL);
    EXPECT_FAIL("score m.safetensors test.txt --particles 0", 2, "--particles", NULL);
    EXPECT_FAIL("infer m.safetensors test.txt --method magic -o t.csv", 2, "--method", "t.csv");
    EXPECT_FAIL("fit lda train.txt --stream -o e.safetensors", 2, "--stream", "e.safetensors");
    CHECK(count_tmp() == 0);
    return lt_test_done();
}
