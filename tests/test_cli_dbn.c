// LABELS: cli
/* `latent` with deep belief nets end to end: fit a two-layer net, with and
 * without fine-tuning on labels, info, score (a lower bound), infer (class
 * probabilities and every layer's units), sample as rows and as a picture;
 * the same model at one and two threads; each bad input with its exit code,
 * its one-line message and no output file. */
#include "cli_harness.h"

#include <math.h>
#include <stdint.h>

static uint64_t rs = 0x853c49e6748fea9bull;
static double unif(void)
{
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

/* Rows of 16 binary pixels (4x4): a row bar (class 0) or a column bar
 * (class 1), with noise; the classes go to `labels`. */
static void make_data(const char *name, const char *labels, int rows)
{
    static char buf[1 << 16], lab[1 << 14];
    size_t n = 0, m = 0;
    for (int r = 0; r < rows; r++) {
        int cls = unif() < 0.5, at = (int)(unif() * 4);
        for (int i = 0; i < 16; i++) {
            int on = cls ? i % 4 == at : i / 4 == at;
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%d", i ? "," : "", (unif() < 0.05) != on);
        }
        n += (size_t)snprintf(buf + n, sizeof buf - n, "\n");
        m += (size_t)snprintf(lab + m, sizeof lab - m, "%d\n", cls);
    }
    put(name, buf);
    put(labels, lab);
}

static double json_num(const char *s, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(s, k);
    return p ? strtod(p + strlen(k), NULL) : NAN;
}

int main(void)
{
    cli_init("cli_dbn");
    make_data("train.csv", "train_labels.csv", 300);
    make_data("test.csv", "test_labels.csv", 60);

    CHECK(run("fit dbn train.csv --hidden 12,6 --epochs 20 --seed 2 --threads 1 --quiet -o m.safetensors") == 0);
    CHECK_MSG(exists("m.safetensors") && strstr(out, "layer_sizes"), "fit: %s %s", out, err);
    CHECK(run("fit dbn train.csv --hidden 12,6 --epochs 20 --seed 2 --threads 2 --quiet -o m2.safetensors") == 0);
    CHECK_MSG(same_files("m.safetensors", "m2.safetensors"), "one and two threads gave different models");
    CHECK(run("info m.safetensors --json") == 0);
    CHECK_MSG(strstr(out, "\"layer_sizes\":\"16,12,6\"") && json_num(out, "n_layers") == 2, "info: %s", out);

    /* a lower bound (top RBM of 12 x 6: log Z exact) above independent pixels */
    CHECK(run("score m.safetensors test.csv --json") == 0);
    CHECK_MSG(strstr(out, "\"kind\":\"lower bound\"") && strstr(out, "Salakhutdinov and Murray"), "score: %s", out);
    double lb = json_num(out, "mean_log_likelihood");
    CHECK_MSG(lb > 16 * log(0.5) && lb < 0, "bound %g", lb);
    CHECK(run("score m.safetensors test.csv --method ais --ais-runs 20 --ais-betas 500 --json") == 0);
    CHECK_MSG(fabs(json_num(out, "mean_log_likelihood") - lb) < 0.3, "AIS bound %g vs exact-Z bound %g",
              json_num(out, "mean_log_likelihood"), lb);

    /* infer: each layer's units */
    CHECK(run("infer m.safetensors test.csv -o h.csv") == 0);
    const char *h = file("h.csv");
    CHECK_MSG(strncmp(h, "h1_0,", 5) == 0 && strstr(h, "h2_5\n") && count_lines(h) == 61, "infer: %.120s", h);

    /* fine-tuning on labels: accuracy reported, class columns first */
    CHECK(run("fit dbn train.csv --hidden 12,6 --epochs 10 --labels train_labels.csv --finetune-epochs 30 --json -o c.safetensors") == 0);
    double acc = json_num(out, "train_accuracy");
    CHECK_MSG(acc > 0.9, "train accuracy %g: %s", acc, out);
    CHECK(run("infer c.safetensors test.csv -o p.csv") == 0);
    const char *p = file("p.csv");
    CHECK_MSG(strncmp(p, "label,p_0,p_1,h1_0", 18) == 0, "infer: %.60s", p);
    /* held-out accuracy from the labels column */
    {
        static char pred[1 << 16], lab[1 << 14];
        snprintf(pred, sizeof pred, "%s", p); /* file() reuses one buffer */
        snprintf(lab, sizeof lab, "%s", file("test_labels.csv"));
        const char *q = strchr(pred, '\n') + 1, *t = lab;
        int ok = 0, tot = 0;
        while (*q && *t) {
            ok += atoi(q) == atoi(t), tot++;
            q = strchr(q, '\n'), t = strchr(t, '\n');
            if (!q || !t) break;
            q++, t++;
        }
        CHECK_MSG(tot == 60 && ok >= 54, "held-out accuracy %d / %d", ok, tot);
    }

    CHECK(run("sample m.safetensors -n 9 --gibbs-steps 30 -o s.npy") == 0);
    CHECK(exists("s.npy"));
    CHECK(run("sample m.safetensors -n 9 --gibbs-steps 30 --mean -o s.png") == 0);
    CHECK(exists("s.png"));

    /* bad input */
    EXPECT_FAIL("fit dbn train.csv --hidden 12,,6 -o bad.safetensors", 2, "--hidden", "bad.safetensors");
    EXPECT_FAIL("fit dbn train.csv --hidden 12,0 -o bad.safetensors", 2, "--hidden", "bad.safetensors");
    EXPECT_FAIL("fit dbn train.csv --hidden 12, -o bad.safetensors", 2, "--hidden", "bad.safetensors");
    EXPECT_FAIL("fit dbn train.csv --labels test_labels.csv -o bad.safetensors", 1, "expected one column of 300 labels",
                "bad.safetensors");
    put("half.csv", "0\n1.5\n");
    make_data("two.csv", "two_labels.csv", 2);
    EXPECT_FAIL("fit dbn two.csv --labels half.csv -o bad.safetensors", 1, "row 2: 1.5 is not a class number",
                "bad.safetensors");
    put("same.csv", "1\n1\n");
    EXPECT_FAIL("fit dbn two.csv --labels same.csv -o bad.safetensors", 1, "all labels are the same class",
                "bad.safetensors");
    put("nan.csv", "0,1,0,1,0,1,0,1,0,1,0,1,0,1,0,1\n0,1,0,1,0,1,0,1,0,1,0,1,0,nan,0,1\n");
    EXPECT_FAIL("fit dbn nan.csv --hidden 3,2 -o bad.safetensors", 1, "nan.csv", "bad.safetensors");
    put("nine.csv", "0,1,0,1,0,1,0,1,0\n");
    EXPECT_FAIL("score m.safetensors nine.csv", 1, "has 16 visible units", NULL);
    EXPECT_FAIL("score m.safetensors test.csv --method pseudo", 2, "--method", NULL);
    EXPECT_FAIL("score m.safetensors test.csv --bound-draws 0", 2, "--bound-draws", NULL);
    CHECK(count_tmp() == 0);
    return lt_test_done();
}
