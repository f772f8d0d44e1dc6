// LABELS: cli
/* `latent` with restricted Boltzmann machines end to end: fit on CSV and on
 * IDX images (with binarisation), info, score (exact, AIS, pseudo), infer,
 * sample as NPY and as a PNG grid; the same model file at one and two
 * threads; and each bad input with its exit code, its one-line message and
 * no output file. */
#include "cli_harness.h"

#include <math.h>
#include <stdint.h>

static uint64_t rs = 0x2545f4914f6cdd1dull;
static double unif(void)
{
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

/* Rows of 9 binary pixels: a 3x3 bar (row or column) with noise. */
static void make_csv(const char *name, int rows)
{
    static char buf[1 << 16];
    size_t n = 0;
    for (int r = 0; r < rows; r++) {
        int which = (int)(unif() * 6);
        for (int i = 0; i < 9; i++) {
            int on = which < 3 ? i / 3 == which : i % 3 == which - 3;
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%d", i ? "," : "", (unif() < 0.05) != on);
        }
        n += (size_t)snprintf(buf + n, sizeof buf - n, "\n");
    }
    put(name, buf);
}

/* An IDX file of `count` h x w uint8 images (grey bars). */
static void make_idx(const char *name, int count, int h, int w)
{
    static unsigned char buf[1 << 16];
    size_t n = 0;
    unsigned char hdr[16] = {0, 0, 8, 3};
    int dims[3] = {count, h, w};
    for (int k = 0; k < 3; k++)
        for (int b = 0; b < 4; b++) hdr[4 + 4 * k + b] = (unsigned char)(dims[k] >> (24 - 8 * b));
    memcpy(buf, hdr, 16);
    n = 16;
    for (int r = 0; r < count; r++) {
        int row = (int)(unif() * h);
        for (int i = 0; i < h * w; i++) buf[n++] = (unsigned char)(i / w == row ? 200 + (int)(unif() * 55) : (int)(unif() * 40));
    }
    lt_test_write(dir, name, (const char *)buf, n);
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
    cli_init("cli_rbm");
    make_csv("train.csv", 300);
    make_csv("test.csv", 60);

    CHECK(run("fit rbm train.csv --hidden 6 --epochs 30 --lr 0.05 --seed 4 --threads 1 --quiet -o m.safetensors") == 0);
    CHECK_MSG(exists("m.safetensors"), "no model: %s", err);
    CHECK_MSG(strstr(out, "reconstruction_error") && strstr(out, "pseudo_log_likelihood"), "fit summary: %s", out);
    CHECK(run("fit rbm train.csv --hidden 6 --epochs 30 --lr 0.05 --seed 4 --threads 2 --quiet -o m2.safetensors") == 0);
    CHECK_MSG(same_files("m.safetensors", "m2.safetensors"), "one and two threads gave different models");
    CHECK(run("fit rbm train.csv --hidden 6 --epochs 30 --lr 0.05 --seed 5 --threads 1 --quiet -o m3.safetensors") == 0);
    CHECK(!same_files("m.safetensors", "m3.safetensors"));

    CHECK(run("info m.safetensors --json") == 0);
    CHECK_MSG(json_num(out, "n_hidden") == 6 && json_num(out, "n_visible") == 9 && strstr(out, "\"visible\":\"bernoulli\""),
              "info: %s", out);

    /* exact (9 visible units enumerate) against AIS, and both better than
     * an untrained model of independent pixels */
    CHECK(run("score m.safetensors test.csv --json") == 0);
    double exact = json_num(out, "mean_log_likelihood");
    CHECK_MSG(strstr(out, "\"kind\":\"exact\""), "score: %s", out);
    CHECK(run("score m.safetensors test.csv --method ais --ais-runs 50 --ais-betas 2000 --json") == 0);
    double ais = json_num(out, "mean_log_likelihood"), se = json_num(out, "stderr");
    CHECK_MSG(strstr(out, "\"kind\":\"estimate\"") && strstr(out, "annealed importance sampling"), "ais: %s", out);
    CHECK_MSG(fabs(ais - exact) < 0.1 && se > 0, "AIS %g vs exact %g", ais, exact);
    CHECK_MSG(exact > 9 * log(0.5) + 1.0, "exact held-out log-likelihood %g is no better than coin flips", exact);
    CHECK(run("score m.safetensors test.csv --method pseudo --json") == 0);
    CHECK_MSG(strstr(out, "pseudo-likelihood") && json_num(out, "mean_log_likelihood") < 0, "pseudo: %s", out);
    CHECK(run("score m.safetensors test.csv -o per_row.csv --quiet") == 0);
    CHECK(count_lines(file("per_row.csv")) == 61);

    /* infer: hidden probabilities, one row per sample */
    CHECK(run("infer m.safetensors test.csv -o h.csv") == 0);
    const char *h = file("h.csv");
    CHECK_MSG(strncmp(h, "h_0,h_1,h_2,h_3,h_4,h_5\n", 24) == 0 && count_lines(h) == 61, "infer: %.100s", h);

    /* sample: rows, and a picture of 3x3 tiles (9 units make a square) */
    CHECK(run("sample m.safetensors -n 20 --gibbs-steps 50 --seed 2 -o s.csv") == 0);
    CHECK(count_lines(file("s.csv")) == 20);
    CHECK(run("sample m.safetensors -n 16 --gibbs-steps 50 --mean -o s.png") == 0);
    CHECK(exists("s.png"));

    /* images: IDX of 6x5 pixels, binarised at fit and (from the model) at score */
    make_idx("img.idx", 200, 6, 5);
    make_idx("img7.idx", 10, 7, 5);
    CHECK(run("fit rbm img.idx --hidden 4 --epochs 3 --binarize 0.5 --quiet -o im.safetensors") == 0);
    CHECK(run("info im.safetensors --json") == 0);
    CHECK_MSG(strstr(out, "\"image_shape\":\"6x5\"") && strstr(out, "\"binarize\":\"0.5\""), "info: %s", out);
    CHECK(run("sample im.safetensors -n 6 --gibbs-steps 10 -o grid.png") == 0);
    CHECK(exists("grid.png"));
    CHECK(run("score im.safetensors img.idx --json") == 0);
    CHECK(run("fit rbm img.idx --hidden 4 --epochs 2 --binarize stochastic --quiet -o st.safetensors") == 0);

    /* Gaussian visible units */
    CHECK(run("fit rbm train.csv --visible gaussian --learn-variance --hidden 3 --epochs 5 --quiet -o g.safetensors") == 0);
    CHECK(run("score g.safetensors test.csv --json") == 0);
    CHECK_MSG(strstr(out, "\"kind\":\"exact\"") && isfinite(json_num(out, "mean_log_likelihood")), "gaussian: %s", out);

    /* bad input */
    put("nan.csv", "0,1,0\n1,nan,0\n");
    EXPECT_FAIL("fit rbm nan.csv --hidden 2 -o bad.safetensors", 1, "nan.csv", "bad.safetensors");
    put("range.csv", "0,1,0\n1,3,0\n");
    EXPECT_FAIL("fit rbm range.csv --hidden 2 -o bad.safetensors", 1, "row 2, column 2: 3 is outside [0, 1]",
                "bad.safetensors");
    put("empty.csv", "");
    EXPECT_FAIL("fit rbm empty.csv --hidden 2 -o bad.safetensors", 1, "empty.csv", "bad.safetensors");
    EXPECT_FAIL("fit rbm train.csv --hidden 0 -o bad.safetensors", 2, "--hidden", "bad.safetensors");
    EXPECT_FAIL("fit rbm train.csv --binarize half -o bad.safetensors", 2, "--binarize", "bad.safetensors");
    EXPECT_FAIL("fit rbm train.csv --learn-variance -o bad.safetensors", 2, "--learn-variance", "bad.safetensors");
    EXPECT_FAIL("fit rbm train.csv --visible poisson -o bad.safetensors", 2, "--visible", "bad.safetensors");
    EXPECT_FAIL("fit rbm train.csv --schedule cosine -o bad.safetensors", 2, "--schedule", "bad.safetensors");
    EXPECT_FAIL("score m.safetensors range.csv", 1, "has 9 visible units", NULL);
    EXPECT_FAIL("score im.safetensors img7.idx", 1, "images are 7x5", NULL);
    EXPECT_FAIL("score m.safetensors test.csv --method magic", 2, "--method", NULL);
    EXPECT_FAIL("infer m.safetensors nan.csv -o bad.csv", 1, "nan.csv", "bad.csv");
    put("nine.csv", "0,1,0,0,1,0,0,1,0\n0,1,0,0,1,0,0,nan,0\n");
    EXPECT_FAIL("score m.safetensors nine.csv", 1, "nine.csv", NULL);
    CHECK(run("fit rbm range.csv --hidden 2 --binarize 0.5 --epochs 1 --quiet -o five.safetensors") == 0);
    EXPECT_FAIL("sample five.safetensors -n 4 -o five.png", 1, "no image shape", "five.png");
    EXPECT_FAIL("sample m.safetensors -n 4 -o s.txt", 1, ".csv, .npy or .png", "s.txt");
    /* a corrupted model file: a weight that is not finite */
    {
        char p[4200];
        snprintf(p, sizeof p, "%s/m.safetensors", dir);
        FILE *f = fopen(p, "rb");
        static unsigned char buf[1 << 16];
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f) fclose(f);
        uint64_t hl = 0;
        for (int b = 0; b < 8; b++) hl |= (uint64_t)buf[b] << (8 * b);
        /* the first tensor's first float set to NaN wherever W starts; find it from the header */
        const char *hw = strstr((const char *)buf + 8, "\"W\"");
        const char *off = hw ? strstr(hw, "data_offsets") : NULL;
        size_t o = off ? (size_t)strtoul(strchr(off, '[') + 1, NULL, 10) : 0;
        unsigned char nanf[4] = {0, 0, 0xc0, 0x7f};
        memcpy(buf + 8 + hl + o, nanf, 4);
        lt_test_write(dir, "nanw.safetensors", (const char *)buf, n);
    }
    EXPECT_FAIL("score nanw.safetensors test.csv", 1, "tensor W", NULL);
    CHECK(count_tmp() == 0);
    return lt_test_done();
}
