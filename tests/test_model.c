// LABELS: unit
/* The generic model table: registry, option helpers, NULL entries reported
 * as unsupported, save/load through the table, and reports. */
#include "harness.h"
#include "latent/gmm.h"
#include "latent/model.h"
#include "latent/report.h"

static void test_registry(void)
{
    CHECK(lt_family_count() >= 1);
    CHECK(lt_family_find("gmm") == &lt_gmm_family);
    CHECK(lt_family_find("nope") == NULL);
    CHECK(lt_family_find(NULL) == NULL);
    for (size_t i = 0; i < lt_family_count(); i++) {
        const lt_family *f = lt_family_at(i);
        CHECK(f && f->name && f->summary && f->free);
        CHECK(lt_family_find(f->name) == f);
    }
    CHECK(lt_family_at(lt_family_count()) == NULL);
}

static void test_kv(void)
{
    lt_kv kv[] = {{"k", "3"}, {"tol", "1e-4"}, {"k", "5"}, {"bad", "x"}, {"neg", "-2"}};
    size_t v;
    double r;
    CHECK(strcmp(lt_kv_get(kv, 5, "k"), "5") == 0); /* the last one wins */
    CHECK(lt_kv_get(kv, 5, "none") == NULL);
    CHECK_OK(lt_kv_size(kv, 5, "k", 1, &v));
    CHECK(v == 5);
    CHECK_OK(lt_kv_size(kv, 5, "absent", 7, &v));
    CHECK(v == 7);
    CHECK_OK(lt_kv_real(kv, 5, "tol", 0, &r));
    CHECK(r == 1e-4);
    CHECK_FAILS(lt_kv_size(kv, 5, "bad", 1, &v), LT_ERR_INVALID, "--bad: expected a non-negative integer, found 'x'");
    CHECK_FAILS(lt_kv_size(kv, 5, "neg", 1, &v), LT_ERR_INVALID, "--neg");
    CHECK_FAILS(lt_kv_real(kv, 5, "bad", 0, &r), LT_ERR_INVALID, "--bad: expected a number");
    CHECK_FAILS(lt_kv_check(&lt_gmm_family, kv, 5, LT_OPT_FIT), LT_ERR_INVALID, "gmm: unknown option --bad");
    CHECK_OK(lt_kv_check(&lt_gmm_family, kv, 3, LT_OPT_FIT));
    CHECK_FAILS(lt_kv_check(&lt_gmm_family, kv, 3, LT_OPT_SAMPLE), LT_ERR_INVALID, "gmm: --k does not apply here");
    lt_kv flags[] = {{"a", "1"}, {"b", "yes"}, {"c", "0"}};
    CHECK(lt_kv_flag(flags, 3, "a") && lt_kv_flag(flags, 3, "b") && !lt_kv_flag(flags, 3, "c") &&
          !lt_kv_flag(flags, 3, "d"));
}

/* A family that supports nothing but free. */
static void nop_free(void *m) { (void)m; }
static const lt_family bare = {.name = "bare", .summary = "nothing", .free = nop_free};

static void test_null_entries(void)
{
    lt_model m = {.family = &bare, .impl = NULL};
    lt_array *X = NULL, *out = NULL;
    lt_dataset *D = NULL, *S = NULL;
    CHECK_OK(lt_array_create(2, 2, LT_F64, &X));
    CHECK_OK(lt_dataset_from_array(X, &D));
    CHECK(D && lt_dataset_samples(D) == 2);
    lt_score s;
    CHECK_FAILS(lt_model_score(&m, D, 1, NULL, &s), LT_ERR_UNSUPPORTED, "bare: score is not supported");
    CHECK_FAILS(lt_model_sample(&m, 3, 0, NULL, 0, &S), LT_ERR_UNSUPPORTED, "bare: sample is not supported");
    CHECK_FAILS(lt_model_infer(&m, D, 1, &out, NULL), LT_ERR_UNSUPPORTED, "bare: infer is not supported");
    CHECK_FAILS(lt_model_save(&m, "x"), LT_ERR_UNSUPPORTED, "bare: save is not supported");
    lt_model *fitted = NULL;
    CHECK_FAILS(lt_model_fit(&bare, D, NULL, 0, NULL, NULL, &fitted), LT_ERR_UNSUPPORTED, "bare: fit is not supported");
    CHECK(fitted == NULL && out == NULL && S == NULL);
    lt_report *r;
    CHECK_OK(lt_report_create(&r));
    CHECK_OK(lt_model_describe(&m, r)); /* describe is optional: kind only */
    char *json = NULL;
    CHECK_OK(lt_report_json(r, &json));
    CHECK(json && strcmp(json, "{\"kind\":\"bare\"}\n") == 0);
    free(json);
    lt_report_free(r);
    lt_dataset_free(D);
}

static void test_through_table(void)
{
    const char *dir = lt_test_tmpdir("model");
    lt_array *X;
    lt_dataset *D = NULL;
    CHECK_OK(lt_array_create(40, 1, LT_F32, &X)); /* families convert dtypes */
    float *x = X->data;
    for (int i = 0; i < 40; i++) x[i] = (float)(i % 2 ? 3.0 + 0.1 * (i % 5) : -3.0 - 0.1 * (i % 7));
    CHECK_OK(lt_dataset_from_array(X, &D));
    lt_kv kv[] = {{"k", "2"}, {"cov", "spherical"}};
    lt_report *r;
    CHECK_OK(lt_report_create(&r));
    lt_fit_ctl ctl = {.seed = 1, .threads = 1};
    lt_model *m = NULL, *l = NULL;
    CHECK_OK(lt_model_fit(&lt_gmm_family, D, kv, 2, &ctl, r, &m));
    char path[4200];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    if (m) CHECK_OK(lt_model_save(m, path));
    CHECK_OK(lt_model_load(path, &l));
    if (m && l) {
        double a[40], b[40];
        lt_score sa, sb;
        CHECK_OK(lt_model_score(m, D, 1, a, &sa));
        CHECK_OK(lt_model_score(l, D, 2, b, &sb));
        CHECK(memcmp(a, b, sizeof a) == 0 && sa.mean == sb.mean && sa.kind == LT_SCORE_EXACT);
        CHECK_NEAR(sa.total, sa.mean * 40, 1e-9);
        lt_dataset *S = NULL;
        CHECK_OK(lt_model_sample(l, 10, 3, NULL, 0, &S));
        CHECK(S && S->x && S->x->rows == 10 && S->x->cols == 1 && lt_dataset_samples(S) == 10);
        lt_dataset_free(S);
        /* wrong dimension */
        lt_array *Y;
        lt_dataset *DY = NULL;
        CHECK_OK(lt_array_create(3, 2, LT_F64, &Y));
        CHECK_OK(lt_dataset_from_array(Y, &DY));
        CHECK_FAILS(lt_model_score(l, DY, 1, NULL, &sa), LT_ERR_DIM, "2 columns but the model was fitted on 1");
        lt_dataset_free(DY);
    }
    /* a file of another kind, or no kind */
    lt_st_writer *w;
    CHECK_OK(lt_st_writer_create(&w));
    CHECK_OK(lt_st_writer_meta(w, LT_META_FORMAT, LT_FORMAT_VERSION));
    CHECK_OK(lt_st_writer_meta(w, LT_META_KIND, "martian"));
    snprintf(path, sizeof path, "%s/alien.safetensors", dir);
    CHECK_OK(lt_st_writer_save(w, path));
    lt_st_writer_free(w);
    lt_model *bad = NULL;
    CHECK_FAILS(lt_model_load(path, &bad), LT_ERR_FORMAT, "unknown model kind 'martian'");
    CHECK(bad == NULL);
    lt_model_free(m), lt_model_free(l);
    lt_report_free(r);
    lt_dataset_free(D);
}

static void test_report(void)
{
    lt_report *r;
    CHECK_OK(lt_report_create(&r));
    CHECK_OK(lt_report_num(r, "a", 1.5));
    CHECK_OK(lt_report_num(r, "a", 2.5)); /* replaces */
    CHECK_OK(lt_report_num(r, "nan", NAN));
    CHECK_OK(lt_report_str(r, "s", "x\"y"));
    const char *cols[] = {"k", "v"};
    CHECK_OK(lt_report_table(r, "t", "a table", 2, cols));
    double row[2] = {1, INFINITY};
    CHECK_OK(lt_report_table_row(r, "t", row));
    CHECK_FAILS(lt_report_table_row(r, "none", row), LT_ERR_INVALID, "no table 'none'");
    char *json = NULL, *text = NULL;
    CHECK_OK(lt_report_json(r, &json));
    CHECK(json && strcmp(json, "{\"a\":2.5,\"nan\":null,\"s\":\"x\\\"y\",\"t\":{\"columns\":[\"k\",\"v\"],\"rows\":[[1,null]]}}\n") == 0);
    CHECK_OK(lt_report_text(r, &text));
    CHECK(text && strstr(text, "a table") && strstr(text, "2.5"));
    free(json), free(text);
    lt_report_free(r);
}

static void test_mean_stderr(void)
{
    const double x[4] = {1, 2, 3, 4};
    double m, se;
    lt_mean_stderr(x, 4, &m, &se);
    CHECK_NEAR(m, 2.5, 1e-15);
    CHECK_NEAR(se, sqrt(5.0 / 3.0) / 2.0, 1e-15); /* sample sd sqrt(5/3), over sqrt(4) */
    lt_mean_stderr(x, 1, &m, &se);
    CHECK(m == 1.0 && se == 0.0);
}

int main(void)
{
    RUN(test_registry);
    RUN(test_kv);
    RUN(test_null_entries);
    RUN(test_through_table);
    RUN(test_report);
    RUN(test_mean_stderr);
    return lt_test_done();
}
