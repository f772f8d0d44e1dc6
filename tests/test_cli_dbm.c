// LABELS: cli
/* `latent` with deep Boltzmann machines end to end: fit on CSV and on IDX
 * images (with binarisation), info, score (the bound with exact and with AIS
 * log Z), infer (every hidden layer), sample as CSV and as a PNG grid; the
 * same model file at one and two threads; and each bad input with its exit
 * code, its one-line message and no output file. */
#include "cli_harness.h"

#include <math.h>
#include <stdint.h>

static uint64_t rs = 0x9e3779b97f4a7c15ull;
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
    unsigned char hdr[16] = {0, 0, 8, 3};
    int dims[3] = {count, h, w};
    for (int k = 0; k < 3; k++)
        for (int b = 0; b < 4; b++) hdr[4 + 4 * k + b] = (unsigned char)(dims[k] >> (24 - 8 * b));
    memcpy(buf, hdr, 16);
    size_t n = 16;
    for (int r = 0; r < count; r++) {
        int row = (int)(unif() * h);
        for (int i = 0; i < h * w; i++)
            buf[n++] = (unsigned char)(i / w == row ? 200 + (int)(unif() * 55) : (int)(unif() * 40));
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

#define FIT "fit dbm train.csv --hidden 6,4 --pretrain-epochs 30 --epochs 10 --batch 20 --chains 20 --quiet "

int main(void)
{
    cli_init("cli_dbm");
    make_csv("train.csv", 300);
    make_csv("test.csv", 60);

    CHECK(run(FIT "--seed 4 --threads 1 --json -o m.safetensors") == 0);
    CHECK_MSG(exists("m.safetensors"), "no model: %s", err);
    CHECK_MSG(strstr(out, "\"family\":\"dbm\"") && strstr(out, "\"layer_sizes\":\"9,6,4\"") &&
                  strstr(out, "reconstruction_error"),
              "fit summary: %s", out);
    CHECK(run(FIT "--seed 4 --threads 2 -o m2.safetensors") == 0);
    CHECK_MSG(same_files("m.safetensors", "m2.safetensors"), "one and two threads gave different models");
    CHECK(run(FIT "--seed 5 --threads 1 -o m3.safetensors") == 0);
    CHECK(!same_files("m.safetensors", "m3.safetensors"));

    CHECK(run("info m.safetensors --json") == 0);
    CHECK_MSG(strstr(out, "\"kind\":\"dbm\"") && json_num(out, "n_visible") == 9 &&
                  json_num(out, "n_hidden_layers") == 2 && json_num(out, "n_parameters") == 9 * 6 + 6 * 4 + 9 + 6 + 4,
              "info: %s", out);

    /* the bound with exact log Z (6 units enumerate) is a lower bound; with
     * AIS it is an estimate of it, and the two agree */
    CHECK(run("score m.safetensors test.csv --json") == 0);
    double exact = json_num(out, "mean_log_likelihood");
    CHECK_MSG(strstr(out, "\"kind\":\"lower bound\"") && strstr(out, "mean-field"), "score: %s", out);
    CHECK(run("score m.safetensors test.csv --method ais --ais-runs 50 --ais-betas 1000 --json") == 0);
    double ais = json_num(out, "mean_log_likelihood"), se = json_num(out, "stderr");
    CHECK_MSG(strstr(out, "\"kind\":\"estimate\"") && strstr(out, "annealed importance sampling"), "ais: %s", out);
    CHECK_MSG(fabs(ais - exact) < 0.1 && se > 0, "AIS %g vs exact %g", ais, exact);
    CHECK_MSG(exact > 9 * log(0.5) + 1.0, "held-out bound %g is no better than coin flips", exact);
    CHECK(run("score m.safetensors test.csv --mf-iters 5 --damping 0.5 -o per_row.csv --quiet") == 0);
    CHECK(count_lines(file("per_row.csv")) == 61);

    /* infer: the posteriors of both hidden layers, one row per sample */
    CHECK(run("infer m.safetensors test.csv -o h.csv") == 0);
    const char *h = file("h.csv");
    CHECK_MSG(strncmp(h, "h1_0,h1_1,h1_2,h1_3,h1_4,h1_5,h2_0,h2_1,h2_2,h2_3\n", 50) == 0 && count_lines(h) == 61,
              "infer: %.100s", h);

    /* sample: rows, and a picture of 3x3 tiles */
    CHECK(run("sample m.safetensors -n 20 --gibbs-steps 50 --seed 2 -o s.csv") == 0);
    CHECK(count_lines(file("s.csv")) == 20);
    CHECK(run("sample m.safetensors -n 16 --gibbs-steps 50 --mean -o s.png") == 0);
    CHECK(exists("s.png"));

    /* images: IDX of 6x5 pixels, binarised at fit and (from the model) later */
    make_idx("img.idx", 200, 6, 5);
    make_idx("img7.idx", 10, 7, 5);
    CHECK(run("fit dbm img.idx --hidden 5,3 --pretrain-epochs 2 --epochs 2 --binarize 0.5 --quiet -o im.safetensors") ==
          0);
    CHECK(run("info im.safetensors --json") == 0);
    CHECK_MSG(strstr(out, "\"image_shape\":\"6x5\"") && strstr(out, "\"binarize\":\"0.5\""), "info: %s", out);
    CHECK(run("sample im.safetensors -n 6 --gibbs-steps 10 -o grid.png") == 0);
    CHECK(exists("grid.png"));
    CHECK(run("score im.safetensors img.idx --json") == 0);
    CHECK(run("fit dbm img.idx --hidden 4,3,2 --pretrain-epochs 1 --epochs 1 --binarize stochastic --quiet -o "
              "st.safetensors") == 0);
    CHECK(run("infer st.safetensors img.idx -o st.csv") == 0);
    CHECK(strncmp(file("st.csv"), "h1_0,h1_1,h1_2,h1_3,h2_0,h2_1,h2_2,h3_0,h3_1\n", 45) == 0);

    /* bad input */
    put("nan.csv", "0,1,0\n1,nan,0\n");
    EXPECT_FAIL("fit dbm nan.csv --hidden 2,2 -o bad.safetensors", 1, "nan.csv", "bad.safetensors");
    put("range.csv", "0,1,0\n1,3,0\n");
    EXPECT_FAIL("fit dbm range.csv --hidden 2,2 -o bad.safetensors", 1, "row 2, column 2: 3 is outside [0, 1]",
                "bad.safetensors");
    put("empty.csv", "");
    EXPECT_FAIL("fit dbm empty.csv --hidden 2,2 -o bad.safetensors", 1, "empty.csv", "bad.safetensors");
    EXPECT_FAIL("fit dbm train.csv --hidden 6 -o bad.safetensors", 2, "at least two hidden layers", "bad.safetensors");
    EXPECT_FAIL("fit dbm train.csv --hidden 6,abc -o bad.safetensors", 2, "--hidden", "bad.safetensors");
    EXPECT_FAIL("fit dbm train.csv --hidden 6,0 -o bad.safetensors", 2, "--hidden", "bad.safetensors");
    EXPECT_FAIL("fit dbm train.csv --hidden 6,4, -o bad.safetensors", 2, "--hidden", "bad.safetensors");
    EXPECT_FAIL("fit dbm train.csv --binarize half -o bad.safetensors", 2, "--binarize", "bad.safetensors");
    EXPECT_FAIL("fit dbm train.csv --damping 1.5 -o bad.safetensors", 2, "--damping", "bad.safetensors");
    EXPECT_FAIL("fit dbm train.csv --lr 0 -o bad.safetensors", 2, "--lr", "bad.safetensors");
    EXPECT_FAIL("score m.safetensors range.csv", 1, "has 9 visible units", NULL);
    EXPECT_FAIL("score im.safetensors img7.idx", 1, "images are 7x5", NULL);
    EXPECT_FAIL("score m.safetensors test.csv --method magic", 2, "--method", NULL);
    EXPECT_FAIL("score m.safetensors test.csv --ais-runs 1 --method ais", 2, "--ais-runs", NULL);
    EXPECT_FAIL("infer m.safetensors nan.csv -o bad.csv", 1, "nan.csv", "bad.csv");
    EXPECT_FAIL("sample m.safetensors -n 4 --gibbs-steps 0 -o s0.csv", 2, "--gibbs-steps", "s0.csv");
    CHECK(run("fit dbm range.csv --hidden 2,2 --binarize 0.5 --epochs 1 --pretrain-epochs 1 --quiet -o "
              "five.safetensors") == 0);
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
        const char *hw = strstr((const char *)buf + 8, "\"W1\"");
        const char *off = hw ? strstr(hw, "data_offsets") : NULL;
        size_t o = off ? (size_t)strtoul(strchr(off, '[') + 1, NULL, 10) : 0;
        unsigned char nanf[4] = {0, 0, 0xc0, 0x7f};
        memcpy(buf + 8 + hl + o, nanf, 4);
        lt_test_write(dir, "nanw.safetensors", (const char *)buf, n);
    }
    EXPECT_FAIL("score nanw.safetensors test.csv", 1, "tensor W1", NULL);
    CHECK(count_tmp() == 0);
    return lt_test_done();
}
