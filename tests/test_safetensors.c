// LABELS: unit
/* Model files: round trips, the layout Python readers need, every way a file
 * can be malformed, truncation and byte flips, failed saves, and (when numpy
 * is there) an independent read by tests/safetensors_numpy_check.py. */
#include "harness.h"
#include "latent/safetensors.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <float.h>
#include <stdint.h>
#include <sys/stat.h>

/* A fixed set of tensors and metadata used by several tests. */
static const double means[6] = {1.5, -2.25, 3.0, 1e-300, -0.0, 6.125};
static const double scalar = 3.25;
static const float f32v[5] = {0.5f, -1.0f, 2.75f, 1e30f, -3.5f};
static const uint8_t bytes[7] = {0, 1, 2, 127, 128, 254, 255};
static const int64_t ids[4] = {INT64_MIN, -1, 0, INT64_MAX};
static double cube[24];
static const double late[1] = {42.0};

static lt_status build_writer(lt_st_writer **out)
{
    for (int i = 0; i < 24; i++)
        cube[i] = i * 0.5 - 3.0;
    lt_st_writer *w = NULL;
    lt_status st = lt_st_writer_create(&w);
    if (st != LT_OK) return st;
    const size_t s_means[] = {3, 2}, s_f32[] = {5}, s_bytes[] = {7}, s_ids[] = {2, 2};
    const size_t s_cube[] = {2, 3, 4}, s_empty[] = {0}, s_empty2[] = {2, 0, 3}, s_late[] = {1};
    if ((st = lt_st_writer_meta(w, "kind", "gmm")) != LT_OK ||
        (st = lt_st_writer_meta(w, "note", "replaced below")) != LT_OK ||
        (st = lt_st_writer_meta_f64(w, "tol", 0.1)) != LT_OK ||
        (st = lt_st_writer_meta_f64(w, "third", 1.0 / 3.0)) != LT_OK ||
        (st = lt_st_writer_meta_f64(w, "tiny", DBL_TRUE_MIN)) != LT_OK ||
        (st = lt_st_writer_meta_i64(w, "imin", INT64_MIN)) != LT_OK ||
        (st = lt_st_writer_meta_i64(w, "imax", INT64_MAX)) != LT_OK ||
        (st = lt_st_writer_meta(w, "note", "caf\xc3\xa9 \"quoted\"\n\\")) != LT_OK ||
        (st = lt_st_writer_tensor(w, "means", LT_ST_F64, 2, s_means, means)) != LT_OK ||
        (st = lt_st_writer_tensor(w, "scalar", LT_ST_F64, 0, NULL, &scalar)) != LT_OK ||
        (st = lt_st_writer_tensor(w, "f32", LT_ST_F32, 1, s_f32, f32v)) != LT_OK ||
        (st = lt_st_writer_tensor(w, "bytes", LT_ST_U8, 1, s_bytes, bytes)) != LT_OK ||
        (st = lt_st_writer_tensor(w, "empty", LT_ST_F32, 1, s_empty, NULL)) != LT_OK ||
        (st = lt_st_writer_tensor(w, "ids", LT_ST_I64, 2, s_ids, ids)) != LT_OK ||
        (st = lt_st_writer_tensor(w, "empty2", LT_ST_U8, 3, s_empty2, NULL)) != LT_OK ||
        (st = lt_st_writer_tensor(w, "cube", LT_ST_F64, 3, s_cube, cube)) != LT_OK ||
        (st = lt_st_writer_tensor(w, "late", LT_ST_F64, 1, s_late, late)) != LT_OK) {
        lt_st_writer_free(w);
        return st;
    }
    *out = w;
    return LT_OK;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

/* Save the standard writer to dir/name; returns the path (static). */
static const char *save_standard(const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", lt_test_tmpdir("safetensors"), name);
    lt_st_writer *w = NULL;
    CHECK_OK(build_writer(&w));
    CHECK_OK(lt_st_writer_save(w, path));
    lt_st_writer_free(w);
    return path;
}

static void test_round_trip(void)
{
    const char *path = save_standard("model.safetensors");
    lt_st_file *f = NULL;
    CHECK_OK(lt_st_load(path, &f));
    if (!f) return;

    CHECK(lt_st_count(f) == 9);
    /* "scalar" was added second; names come back in insertion order. */
    const char *expect[] = {"means", "scalar", "f32",  "bytes", "empty",
                            "ids",   "empty2", "cube", "late"};
    for (size_t i = 0; i < 9; i++)
        CHECK_MSG(lt_st_name(f, i) && strcmp(lt_st_name(f, i), expect[i]) == 0, "name %zu: %s", i,
                  lt_st_name(f, i) ? lt_st_name(f, i) : "(null)");
    CHECK(lt_st_name(f, 9) == NULL);

    size_t sh[LT_ST_MAX_DIMS];
    const void *d = NULL;
    sh[0] = 3, sh[1] = 2;
    CHECK_OK(lt_st_tensor(f, "means", LT_ST_F64, 2, sh, &d));
    CHECK(d && memcmp(d, means, sizeof means) == 0);
    CHECK(d && ((uintptr_t)d % 8) == 0);
    CHECK(d && signbit(((const double *)d)[4])); /* -0.0 survives bit for bit */

    CHECK_OK(lt_st_tensor(f, "scalar", LT_ST_F64, 0, NULL, &d));
    CHECK(d && *(const double *)d == 3.25);

    sh[0] = 5;
    CHECK_OK(lt_st_tensor(f, "f32", LT_ST_F32, 1, sh, &d));
    CHECK(d && memcmp(d, f32v, sizeof f32v) == 0 && ((uintptr_t)d % 4) == 0);

    sh[0] = 7;
    CHECK_OK(lt_st_tensor(f, "bytes", LT_ST_U8, 1, sh, &d));
    CHECK(d && memcmp(d, bytes, sizeof bytes) == 0);

    sh[0] = 0;
    CHECK_OK(lt_st_tensor(f, "empty", LT_ST_F32, 1, sh, &d));
    CHECK(d != NULL);
    sh[0] = 2, sh[1] = 0, sh[2] = 3;
    CHECK_OK(lt_st_tensor(f, "empty2", LT_ST_U8, 3, sh, &d));

    sh[0] = 2, sh[1] = 2;
    CHECK_OK(lt_st_tensor(f, "ids", LT_ST_I64, 2, sh, &d));
    CHECK(d && memcmp(d, ids, sizeof ids) == 0 && ((uintptr_t)d % 8) == 0);

    sh[0] = 2, sh[1] = 3, sh[2] = 4;
    CHECK_OK(lt_st_tensor(f, "cube", LT_ST_F64, 3, sh, &d));
    CHECK(d && memcmp(d, cube, sizeof cube) == 0);
    sh[0] = 1;
    CHECK_OK(lt_st_tensor(f, "late", LT_ST_F64, 1, sh, &d));
    CHECK(d && *(const double *)d == 42.0);

    lt_st_dtype dt;
    size_t nd = 99;
    CHECK_OK(lt_st_describe(f, 7, &dt, &nd, sh));
    CHECK(dt == LT_ST_F64 && nd == 3 && sh[0] == 2 && sh[1] == 3 && sh[2] == 4);
    CHECK_OK(lt_st_describe(f, 1, &dt, &nd, sh));
    CHECK(dt == LT_ST_F64 && nd == 0);
    CHECK_FAILS(lt_st_describe(f, 9, &dt, &nd, sh), LT_ERR_INVALID, "out of range");
    CHECK(strcmp(lt_st_dtype_name(LT_ST_I64), "I64") == 0);

    /* Metadata: strings as given, doubles bit-exact, int64 extremes. */
    CHECK(lt_st_meta(f, "kind") && strcmp(lt_st_meta(f, "kind"), "gmm") == 0);
    CHECK(lt_st_meta(f, "note") &&
          strcmp(lt_st_meta(f, "note"), "caf\xc3\xa9 \"quoted\"\n\\") == 0);
    CHECK(lt_st_meta(f, "absent") == NULL);
    double v = 0;
    CHECK_OK(lt_st_meta_f64(f, "tol", &v));
    CHECK(v == 0.1);
    CHECK_OK(lt_st_meta_f64(f, "third", &v));
    CHECK(v == 1.0 / 3.0);
    CHECK_OK(lt_st_meta_f64(f, "tiny", &v));
    CHECK(v == DBL_TRUE_MIN);
    int64_t k = 0;
    CHECK_OK(lt_st_meta_i64(f, "imin", &k));
    CHECK(k == INT64_MIN);
    CHECK_OK(lt_st_meta_i64(f, "imax", &k));
    CHECK(k == INT64_MAX);
    /* Replacing a key keeps its place: kind, note, tol, third, tiny, imin, imax. */
    CHECK(lt_st_meta_count(f) == 7);
    CHECK(lt_st_meta_key(f, 1) && strcmp(lt_st_meta_key(f, 1), "note") == 0);
    CHECK(lt_st_meta_key(f, 6) && strcmp(lt_st_meta_key(f, 6), "imax") == 0);
    CHECK(lt_st_meta_key(f, 7) == NULL);
    lt_st_free(f);
    lt_st_free(NULL);
}

/* What a reader that maps the file needs: header padded to 8, __metadata__
 * first, tensors in insertion order in the JSON, and data that tiles the data
 * region exactly (the reference reader refuses gaps) with every tensor at a
 * multiple of its element size. */
static void test_layout(void)
{
    const char *path = save_standard("layout.safetensors");
    size_t len = 0;
    unsigned char *buf = read_all(path, &len);
    CHECK(buf && len > 8);
    if (!buf) return;
    uint64_t n = 0;
    for (int b = 7; b >= 0; b--)
        n = (n << 8) | buf[b];
    CHECK((8 + n) % 8 == 0);
    CHECK(n <= len - 8);
    cJSON *root = cJSON_ParseWithLength((const char *)buf + 8, n);
    CHECK(root != NULL);
    if (!root) {
        free(buf);
        return;
    }
    CHECK(root->child && strcmp(root->child->string, "__metadata__") == 0);
    uint64_t data_len = len - 8 - n, covered = 0;
    uint64_t begins[16], ends[16];
    size_t nt = 0;
    for (const cJSON *c = root->child ? root->child->next : NULL; c && nt < 16; c = c->next, nt++) {
        const char *expect[] = {"means", "scalar", "f32",  "bytes", "empty",
                                "ids",   "empty2", "cube", "late"};
        CHECK_MSG(nt < 9 && strcmp(c->string, expect[nt]) == 0, "key %zu is %s", nt, c->string);
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(c, "data_offsets");
        const char *dt = cJSON_GetObjectItemCaseSensitive(c, "dtype")->valuestring;
        uint64_t b = (uint64_t)off->child->valuedouble, e = (uint64_t)off->child->next->valuedouble;
        uint64_t es = strcmp(dt, "F32") == 0 ? 4 : strcmp(dt, "U8") == 0 ? 1 : 8;
        CHECK_MSG(b % es == 0, "%s starts at %llu", c->string, (unsigned long long)b);
        begins[nt] = b;
        ends[nt] = e;
        covered += e - b;
    }
    CHECK(nt == 9);
    CHECK(covered == data_len);
    /* Contiguity: every nonempty span starts where some other one ends, or at 0. */
    for (size_t i = 0; i < nt; i++) {
        int ok = begins[i] == 0;
        for (size_t j = 0; j < nt && !ok; j++)
            ok = ends[j] == begins[i];
        CHECK_MSG(ok, "tensor %zu begins at %llu, after no other", i,
                  (unsigned long long)begins[i]);
    }
    cJSON_Delete(root);
    free(buf);
}

static void test_lookup_messages(void)
{
    const char *path = save_standard("lookup.safetensors");
    lt_st_file *f = NULL;
    CHECK_OK(lt_st_load(path, &f));
    if (!f) return;
    char want[4400];
    size_t sh[LT_ST_MAX_DIMS] = {3, 4};
    const void *d = (const void *)1;
    snprintf(want, sizeof want, "model file %s: tensor 'means' has shape [3,2], expected [3,4]",
             path);
    CHECK_FAILS(lt_st_tensor(f, "means", LT_ST_F64, 2, sh, &d), LT_ERR_FORMAT, want);
    CHECK(d == NULL);
    CHECK(sh[0] == 3 && sh[1] == 4); /* untouched on failure */
    sh[0] = 3;
    CHECK_FAILS(lt_st_tensor(f, "means", LT_ST_F64, 1, sh, &d), LT_ERR_FORMAT,
                "has shape [3,2], expected [3]");
    sh[0] = SIZE_MAX, sh[1] = 4;
    CHECK_FAILS(lt_st_tensor(f, "means", LT_ST_F64, 2, sh, &d), LT_ERR_FORMAT,
                "has shape [3,2], expected [*,4]");
    sh[0] = 3, sh[1] = 2;
    CHECK_FAILS(lt_st_tensor(f, "means", LT_ST_F32, 2, sh, &d), LT_ERR_FORMAT,
                "tensor 'means' has dtype F64, expected F32");
    CHECK_FAILS(lt_st_tensor(f, "nope", LT_ST_F64, 2, sh, &d), LT_ERR_FORMAT,
                "tensor 'nope' is missing");
    snprintf(want, sizeof want, "model file %s: ", path);
    CHECK_FAILS(lt_st_tensor(f, "nope", LT_ST_F64, 2, sh, &d), LT_ERR_FORMAT, want);
    CHECK_FAILS(lt_st_tensor(f, "scalar", LT_ST_F64, 1, sh, &d), LT_ERR_FORMAT,
                "tensor 'scalar' has shape [], expected [3]");

    /* SIZE_MAX accepts any extent and the actual one is written back. */
    sh[0] = SIZE_MAX, sh[1] = SIZE_MAX, sh[2] = 4;
    CHECK_OK(lt_st_tensor(f, "cube", LT_ST_F64, 3, sh, &d));
    CHECK(sh[0] == 2 && sh[1] == 3 && sh[2] == 4 && d != NULL);
    sh[0] = SIZE_MAX;
    CHECK_OK(lt_st_tensor(f, "empty", LT_ST_F32, 1, sh, NULL));
    CHECK(sh[0] == 0);

    double v;
    int64_t k;
    CHECK_FAILS(lt_st_meta_f64(f, "kind", &v), LT_ERR_FORMAT,
                "metadata 'kind' is not a number ('gmm')");
    CHECK_FAILS(lt_st_meta_f64(f, "nothing", &v), LT_ERR_FORMAT, "metadata 'nothing' is missing");
    CHECK_FAILS(lt_st_meta_i64(f, "tol", &k), LT_ERR_FORMAT, "metadata 'tol' is not an integer");
    CHECK_FAILS(lt_st_meta_i64(f, "nothing", &k), LT_ERR_FORMAT, want);
    CHECK_OK(lt_st_meta_f64(f, "imax", &v)); /* an integer is a number too */
    lt_st_free(f);

    /* Out-of-range integers and numbers with stray text are refused by name. */
    lt_st_writer *w = NULL;
    CHECK_OK(lt_st_writer_create(&w));
    CHECK_OK(lt_st_writer_meta(w, "big", "99999999999999999999"));
    CHECK_OK(lt_st_writer_meta(w, "sp", " 1"));
    CHECK_OK(lt_st_writer_meta(w, "tail", "1.5x"));
    CHECK_OK(lt_st_writer_meta(w, "empty", ""));
    CHECK_OK(lt_st_writer_meta_f64(w, "inf", INFINITY));
    snprintf(want, sizeof want, "%s/meta.safetensors", lt_test_tmpdir("safetensors"));
    CHECK_OK(lt_st_writer_save(w, want));
    lt_st_writer_free(w);
    CHECK_OK(lt_st_load(want, &f));
    if (!f) return;
    CHECK(lt_st_count(f) == 0);
    CHECK_FAILS(lt_st_meta_i64(f, "big", &k), LT_ERR_FORMAT, "metadata 'big' is out of range");
    CHECK_FAILS(lt_st_meta_i64(f, "sp", &k), LT_ERR_FORMAT, "metadata 'sp' is not an integer");
    CHECK_FAILS(lt_st_meta_f64(f, "tail", &v), LT_ERR_FORMAT, "metadata 'tail' is not a number");
    CHECK_FAILS(lt_st_meta_f64(f, "empty", &v), LT_ERR_FORMAT, "metadata 'empty' is not a number");
    CHECK_OK(lt_st_meta_f64(f, "inf", &v));
    CHECK(isinf(v) && v > 0);
    lt_st_free(f);
}

static void test_writer_errors(void)
{
    lt_st_writer *w = NULL;
    CHECK_OK(lt_st_writer_create(&w));
    if (!w) return;
    const double x[4] = {1, 2, 3, 4};
    const size_t s4[] = {4}, s9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 4};
    const size_t huge[] = {SIZE_MAX / 2, 4};
    CHECK_OK(lt_st_writer_tensor(w, "x", LT_ST_F64, 1, s4, x));
    CHECK_FAILS(lt_st_writer_tensor(w, "x", LT_ST_F64, 1, s4, x), LT_ERR_INVALID,
                "'x' added twice");
    CHECK_FAILS(lt_st_writer_tensor(w, "__metadata__", LT_ST_F64, 1, s4, x), LT_ERR_INVALID,
                "reserved");
    CHECK_FAILS(lt_st_writer_tensor(w, "y", LT_ST_F64, 9, s9, x), LT_ERR_INVALID, "9 dimensions");
    CHECK_FAILS(lt_st_writer_tensor(w, "y", LT_ST_F64, 1, s4, NULL), LT_ERR_INVALID,
                "data is NULL");
    CHECK_FAILS(lt_st_writer_tensor(w, "y", LT_ST_F64, 1, NULL, x), LT_ERR_INVALID,
                "shape is NULL");
    CHECK_FAILS(lt_st_writer_tensor(w, "y", LT_ST_F64, 2, huge, x), LT_ERR_INVALID, "too large");
    CHECK_FAILS(lt_st_writer_tensor(w, "y", (lt_st_dtype)7, 1, s4, x), LT_ERR_INVALID,
                "unknown dtype");
    CHECK_FAILS(lt_st_writer_tensor(w, "bad\xff", LT_ST_F64, 1, s4, x), LT_ERR_INVALID, "UTF-8");
    CHECK_FAILS(lt_st_writer_meta(w, "k", "\xc3("), LT_ERR_INVALID, "not valid UTF-8");
    CHECK_FAILS(lt_st_writer_meta(w, NULL, "v"), LT_ERR_INVALID, "NULL");
    lt_st_writer_free(w);
    lt_st_writer_free(NULL);
}

/* ---- malformed files, built in memory ---- */

static unsigned char img[1 << 16];

/* An image: 8-byte length, the header text as given, then `dlen` data bytes
 * (1, 2, 3, ...). Returns the total length. */
static size_t make_image(const char *header, size_t dlen)
{
    size_t n = strlen(header);
    for (int b = 0; b < 8; b++)
        img[b] = (unsigned char)((uint64_t)n >> (8 * b));
    memcpy(img + 8, header, n);
    for (size_t i = 0; i < dlen; i++)
        img[8 + n + i] = (unsigned char)(i + 1);
    return 8 + n + dlen;
}

static lt_status parse_header(const char *header, size_t dlen)
{
    lt_st_file *f = NULL;
    lt_status st = lt_st_parse("bad.st", img, make_image(header, dlen), &f);
    CHECK(st == LT_OK ? f != NULL : f == NULL);
    lt_st_free(f);
    return st;
}

/* Fails with LT_ERR_FORMAT, the message starting with the file name and
 * containing `needle`. */
#define CHECK_BAD(header, dlen, needle)                                           \
    do {                                                                          \
        CHECK_FAILS(parse_header(header, dlen), LT_ERR_FORMAT, needle);           \
        CHECK_MSG(strncmp(lt_last_error(), "bad.st: ", 8) == 0, "message \"%s\"", \
                  lt_last_error());                                               \
    } while (0)

#define T_MEANS "\"means\":{\"dtype\":\"F64\",\"shape\":[3,2],\"data_offsets\":"

static void test_corrupt(void)
{
    lt_st_file *f = NULL;
    CHECK_FAILS(lt_st_parse("bad.st", "\1\0\0\0\0", 5, &f), LT_ERR_FORMAT,
                "bad.st: truncated (5 bytes; a model file starts with an 8-byte header length)");
    CHECK_FAILS(lt_st_parse("bad.st", NULL, 0, &f), LT_ERR_FORMAT, "truncated (0 bytes");
    CHECK(f == NULL);

    /* The header length field. */
    size_t n = make_image("{}", 0);
    img[0] = 0xe8, img[1] = 0x03; /* 1000 */
    CHECK_FAILS(lt_st_parse("bad.st", img, n, &f), LT_ERR_FORMAT,
                "bad.st: header length 1000 exceeds the file size");
    memset(img, 0xff, 8);
    CHECK_FAILS(lt_st_parse("bad.st", img, n, &f), LT_ERR_FORMAT,
                "header length 18446744073709551615 exceeds the file size");
    {
        /* A file long enough to hold it, but past the reference reader's limit;
         * calloc'd pages are not touched before the length is refused. */
        size_t big = 8 + 100000001u;
        unsigned char *p = calloc(big, 1);
        CHECK(p != NULL);
        if (p) {
            p[0] = 0x01, p[1] = 0xe1, p[2] = 0xf5, p[3] = 0x05; /* 100000001 */
            CHECK_FAILS(lt_st_parse("bad.st", p, big, &f), LT_ERR_FORMAT,
                        "bad.st: header length 100000001 exceeds the limit");
            free(p);
        }
    }

    /* The JSON itself. */
    CHECK_BAD("", 0, "header is not valid JSON");
    CHECK_BAD("{", 0, "header is not valid JSON");
    CHECK_BAD("{\"a\":1,}", 0, "header is not valid JSON");
    CHECK_BAD("{} x", 0, "header is not valid JSON");
    CHECK_BAD("{}{}", 0, "header is not valid JSON");
    CHECK_BAD("{\"a\x01\":1}", 0, "header is not valid JSON");
    CHECK_BAD("{\"\xff\":1}", 0, "header is not valid UTF-8");
    CHECK_BAD("{\"\xc0\xaf\":1}", 0, "header is not valid UTF-8");     /* overlong '/' */
    CHECK_BAD("{\"\xed\xa0\x80\":1}", 0, "header is not valid UTF-8"); /* surrogate */
    CHECK_BAD("[1,2]", 0, "header is not a JSON object");
    CHECK_BAD("\"x\"", 0, "header is not a JSON object");
    CHECK_OK(parse_header("{}", 0));
    CHECK_OK(parse_header(" {}  \n\t ", 0));
    CHECK_OK(parse_header("{\"__metadata__\":{\"k\":\"v\"}}", 0));

    /* Tensor entries. */
    CHECK_BAD("{\"t\":5}", 0, "tensor 't': entry is not a JSON object");
    CHECK_BAD("{\"t\":{\"shape\":[],\"data_offsets\":[0,8]}}", 8, "tensor 't': missing \"dtype\"");
    CHECK_BAD("{\"t\":{\"dtype\":\"F64\",\"data_offsets\":[0,8]}}", 8,
              "tensor 't': missing \"shape\"");
    CHECK_BAD("{\"t\":{\"dtype\":\"F64\",\"shape\":[]}}", 8,
              "tensor 't': missing \"data_offsets\"");
    CHECK_BAD("{\"t\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8],\"x\":1}}", 8,
              "tensor 't': unknown field 'x'");
    CHECK_BAD("{\"t\":{\"dtype\":\"F64\",\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}",
              8, "tensor 't': duplicate field 'dtype'");
    CHECK_BAD("{\"t\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[0,2]}}", 2,
              "tensor 't': unknown dtype 'BF16'");
    CHECK_BAD("{\"t\":{\"dtype\":\"f64\",\"shape\":[],\"data_offsets\":[0,8]}}", 8,
              "unknown dtype 'f64'");
    CHECK_BAD("{\"t\":{\"dtype\":64,\"shape\":[],\"data_offsets\":[0,8]}}", 8,
              "dtype is not a string");
    CHECK_BAD("{\"t\":{\"dtype\":\"F64\",\"shape\":3,\"data_offsets\":[0,24]}}", 24,
              "shape is not an array");
    CHECK_BAD("{\"t\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
              "shape has 9 dimensions (at most 8)");
    CHECK_OK(parse_header(
        "{\"t\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1));
    CHECK_BAD("{\"t\":{\"dtype\":\"U8\",\"shape\":[2,-1],\"data_offsets\":[0,1]}}", 1,
              "shape entry 1 is not a non-negative integer");
    CHECK_BAD("{\"t\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]}}", 1,
              "shape entry 0 is not a non-negative integer");
    CHECK_BAD("{\"t\":{\"dtype\":\"U8\",\"shape\":[\"1\"],\"data_offsets\":[0,1]}}", 1,
              "shape entry 0 is not a non-negative integer");
    CHECK_BAD("{\"t\":{\"dtype\":\"U8\",\"shape\":[1e300],\"data_offsets\":[0,1]}}", 1,
              "shape entry 0 is too large");
    CHECK_BAD("{\"t\":{\"dtype\":\"U8\",\"shape\":[9007199254740992],\"data_offsets\":[0,1]}}", 1,
              "shape entry 0 is too large");
    CHECK_BAD(
        "{\"t\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,0],\"data_offsets\":[0,0]}}", 0,
        "tensor 't': shape [4294967296,4294967296,0] of F64 is too large");
    CHECK_BAD("{\"t\":{\"dtype\":\"F64\",\"shape\":[1125899906842624,8],\"data_offsets\":[0,0]}}",
              0, "of F64 is too large");

    /* Offsets. */
    CHECK_BAD("{" T_MEANS "5}}", 48, "tensor 'means': data_offsets is not [begin, end]");
    CHECK_BAD("{" T_MEANS "[0]}}", 48, "data_offsets is not [begin, end]");
    CHECK_BAD("{" T_MEANS "[0,48,48]}}", 48, "data_offsets is not [begin, end]");
    CHECK_BAD("{" T_MEANS "[-8,40]}}", 48, "data_offsets is not [begin, end]");
    CHECK_BAD("{" T_MEANS "[0,\"48\"]}}", 48, "data_offsets is not [begin, end]");
    CHECK_BAD("{" T_MEANS "[48,0]}}", 48,
              "tensor 'means': data_offsets [48,0] end before they begin");
    CHECK_BAD("{" T_MEANS "[8,56]}}", 48,
              "tensor 'means': data_offsets [8,56] lie beyond the data region of 48 bytes");
    CHECK_BAD("{" T_MEANS "[0,1e300]}}", 48, "lie beyond the data region");
    CHECK_BAD("{" T_MEANS "[0,40]}}", 48,
              "bad.st: tensor 'means': shape [3,2] of F64 needs 48 bytes, offsets give 40");
    CHECK_BAD("{\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,4]}}", 8,
              "tensor 's': shape [] of I64 needs 8 bytes, offsets give 4");
    CHECK_OK(parse_header("{" T_MEANS "[0,48]}}", 48));

    /* Spans: overlap, gaps, trailing bytes. */
    CHECK_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}",
              12, "tensors 'a' and 'b' overlap");
    CHECK_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}",
              8, "overlap");
    CHECK_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
              "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[3,3]}}",
              8, "overlap");
    CHECK_OK(parse_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
                          "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,8]},"
                          "\"y\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
                          8));
    CHECK_OK(parse_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                          "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]}}",
                          16));
    CHECK_BAD("{" T_MEANS "[0,48]}}", 56, "bad.st: 8 trailing bytes after the last tensor");
    CHECK_BAD("{}", 3, "bad.st: 3 trailing bytes after the last tensor");
    CHECK_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", 9,
              "1 trailing bytes");

    /* Metadata and duplicate keys. */
    CHECK_BAD("{\"__metadata__\":[]}", 0, "__metadata__ is not a JSON object");
    CHECK_BAD("{\"__metadata__\":{\"a\":\"x\",\"n\":1}}", 0, "metadata 'n' is not a string");
    CHECK_BAD("{\"__metadata__\":{\"a\":null}}", 0, "metadata 'a' is not a string");
    CHECK_BAD("{\"__metadata__\":{\"a\":\"x\",\"b\":\"y\",\"a\":\"z\"}}", 0,
              "duplicate key 'a' in __metadata__");
    CHECK_BAD("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate key '__metadata__'");
    CHECK_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
              "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
              "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}",
              3, "duplicate key 'a' in the header");
}

/* A foreign file whose offsets are not aligned: the data still comes back
 * aligned and intact. */
static void test_unaligned_foreign(void)
{
    const double want[2] = {1.25, -7.5};
    const char *h = "{\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                    "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[3,19]}}";
    size_t n = make_image(h, 19);
    memcpy(img + 8 + strlen(h) + 3, want, sizeof want); /* little-endian host */
    lt_st_file *f = NULL;
    CHECK_OK(lt_st_parse(NULL, img, n, &f));
    size_t sh[1] = {2};
    const void *d = NULL;
    CHECK_OK(lt_st_tensor(f, "d", LT_ST_F64, 1, sh, &d));
    CHECK(d && (uintptr_t)d % 8 == 0 && memcmp(d, want, sizeof want) == 0);
    sh[0] = 3;
    CHECK_OK(lt_st_tensor(f, "b", LT_ST_U8, 1, sh, &d));
    CHECK(d && memcmp(d, "\1\2\3", 3) == 0);
    lt_st_free(f);
    CHECK_FAILS(lt_st_parse(NULL, img, n - 1, &f), LT_ERR_FORMAT, "<memory>: ");
}

/* Every proper prefix of a valid file is refused cleanly. */
static void test_truncation(void)
{
    const char *path = save_standard("trunc.safetensors");
    size_t len = 0;
    unsigned char *buf = read_all(path, &len);
    CHECK(buf && len > 100);
    if (!buf) return;
    lt_st_file *f = NULL;
    CHECK_OK(lt_st_parse(path, buf, len, &f));
    lt_st_free(f);
    int bad = 0;
    for (size_t l = 0; l < len; l++) {
        f = NULL;
        lt_status st = lt_st_parse(path, buf, l, &f);
        if (st != LT_ERR_FORMAT || f != NULL || strncmp(lt_last_error(), path, strlen(path)) != 0) {
            if (bad++ < 5)
                fprintf(stderr, "prefix of %zu bytes: status %d, %s\n", l, (int)st,
                        lt_last_error());
            lt_st_free(f);
        }
    }
    CHECK_MSG(bad == 0, "%d of %zu prefixes were not refused as format errors", bad, len);

    /* The same through a file on disk. */
    char tpath[4200];
    snprintf(tpath, sizeof tpath, "%s/cut.safetensors", lt_test_tmpdir("safetensors"));
    FILE *o = fopen(tpath, "wb");
    if (o) {
        fwrite(buf, 1, len / 2, o);
        fclose(o);
    }
    char want[4300];
    snprintf(want, sizeof want, "%s: ", tpath);
    CHECK_FAILS(lt_st_load(tpath, &f), LT_ERR_FORMAT, want);
    free(buf);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Random byte changes in the length field and the header never crash (ASan
 * builds make that a memory-safety check); whatever parses is usable. */
static void test_byte_flips(void)
{
    const char *path = save_standard("flip.safetensors");
    size_t len = 0;
    unsigned char *orig = read_all(path, &len);
    unsigned char *buf = malloc(len ? len : 1);
    CHECK(orig && buf && len > 16);
    if (!orig || !buf) {
        free(orig);
        free(buf);
        return;
    }
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--)
        hlen = (hlen << 8) | orig[b];
    size_t hend = 8 + (size_t)hlen;
    int wrong = 0, parsed = 0;
    static const unsigned char interesting[] = {'"', '{', '}', '[',  ']', ',',  ':',  '0',
                                                '9', '-', ' ', '\\', 0,   0x80, 0xff, 'e'};
    for (int it = 0; it < 4000; it++) {
        memcpy(buf, orig, len);
        int flips = 1 + (int)(rng_next() % 4);
        for (int k = 0; k < flips; k++) {
            uint64_t r = rng_next();
            /* Mostly inside the header; now and then the length field. */
            size_t at = (r & 15) == 0 ? (size_t)(r >> 8) % 8 : 8 + (size_t)(r >> 8) % (hend - 8);
            buf[at] = (r >> 4) & 1 ? interesting[(r >> 40) % sizeof interesting]
                                   : (unsigned char)(r >> 48);
        }
        size_t use = (rng_next() % 8 == 0) ? (size_t)(rng_next() % (len + 1)) : len;
        lt_st_file *f = NULL;
        lt_status st = lt_st_parse("flip", buf, use, &f);
        if (st == LT_OK) {
            parsed++;
            for (size_t i = 0; i < lt_st_count(f); i++) {
                lt_st_dtype dt;
                size_t nd, sh[LT_ST_MAX_DIMS];
                const void *d = NULL;
                if (lt_st_describe(f, i, &dt, &nd, sh) != LT_OK ||
                    lt_st_tensor(f, lt_st_name(f, i), dt, nd, sh, &d) != LT_OK || !d)
                    wrong++;
            }
        } else if (st != LT_ERR_FORMAT || f != NULL || strncmp(lt_last_error(), "flip: ", 6) != 0) {
            if (wrong++ < 5)
                fprintf(stderr, "flip %d: status %d, %s\n", it, (int)st, lt_last_error());
        }
        lt_st_free(f);
    }
    CHECK_MSG(wrong == 0, "%d bad outcomes", wrong);
    fprintf(stderr, "byte flips: %d of 4000 images still parsed\n", parsed);
    free(orig);
    free(buf);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static void test_io_errors(void)
{
    const char *dir = lt_test_tmpdir("safetensors");
    char path[4600], sub[4400];
    lt_st_writer *w = NULL;
    CHECK_OK(build_writer(&w));
    if (!w) return;

    snprintf(sub, sizeof sub, "%s/no/such/dir", dir);
    snprintf(path, sizeof path, "%s/model.safetensors", sub);
    CHECK_FAILS(lt_st_writer_save(w, path), LT_ERR_IO, "model.safetensors");
    CHECK(!lt_test_exists(path));
    CHECK(count_entries(dir) == 0);

    /* The target is a directory: the rename fails and the temporary goes. */
    snprintf(sub, sizeof sub, "%s/adir", dir);
    mkdir(sub, 0755);
    CHECK_FAILS(lt_st_writer_save(w, sub), LT_ERR_IO, "adir");
    CHECK(count_entries(dir) == 1);
    CHECK(count_entries(sub) == 0);

    /* Saving twice replaces the file; the writer is reusable. */
    snprintf(path, sizeof path, "%s/twice.safetensors", dir);
    CHECK_OK(lt_st_writer_save(w, path));
    CHECK_OK(lt_st_writer_save(w, path));
    CHECK(count_entries(dir) == 2);
    lt_st_writer_free(w);

    lt_st_file *f = NULL;
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    CHECK_FAILS(lt_st_load(path, &f), LT_ERR_IO, "missing.safetensors: cannot open: ");
    CHECK(f == NULL);
    CHECK_FAILS(lt_st_load(sub, &f), LT_ERR_IO, "adir: cannot ");
    CHECK(f == NULL);
    snprintf(path, sizeof path, "%s/empty.safetensors", dir);
    lt_test_write(dir, "empty.safetensors", "", 0);
    CHECK_FAILS(lt_st_load(path, &f), LT_ERR_FORMAT, "empty.safetensors: truncated (0 bytes");
}

/* An independent reader: numpy + json (and the safetensors package if it is
 * installed) must see the same tensors and metadata. */
static void test_numpy_reads_it(void)
{
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "note: /usr/bin/python3 with numpy not found; numpy cross-check skipped\n");
        CHECK(1);
        return;
    }
    const char *path = save_standard("numpy.safetensors");
    double s_means = 0, s_cube = 0, s_f32 = 0, s_bytes = 0;
    for (int i = 0; i < 6; i++)
        s_means += means[i];
    for (int i = 0; i < 24; i++)
        s_cube += cube[i];
    for (int i = 0; i < 5; i++)
        s_f32 += f32v[i];
    for (int i = 0; i < 7; i++)
        s_bytes += bytes[i];
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 '%s/tests/safetensors_numpy_check.py' '%s' "
             "means=F64:3x2:%.17g scalar=F64::3.25 f32=F32:5:%.17g bytes=U8:7:%.17g "
             "empty=F32:0:0 empty2=U8:2x0x3:0 ids=I64:2x2:-2 cube=F64:2x3x4:%.17g late=F64:1:42 "
             "--meta kind=gmm --meta tol=0.10000000000000001 --meta imin=-9223372036854775808 1>&2",
             LT_SOURCE_DIR, path, s_means, s_f32, s_bytes, s_cube);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "the numpy check exited with %d: %s", rc, cmd);

    /* And it notices a wrong expectation. */
    snprintf(
        cmd, sizeof cmd,
        "/usr/bin/python3 '%s/tests/safetensors_numpy_check.py' '%s' late=F64:1:43 >/dev/null 2>&1",
        LT_SOURCE_DIR, path);
    CHECK(system(cmd) != 0);
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_layout);
    RUN(test_lookup_messages);
    RUN(test_writer_errors);
    RUN(test_corrupt);
    RUN(test_unaligned_foreign);
    RUN(test_truncation);
    RUN(test_byte_flips);
    RUN(test_io_errors);
    RUN(test_numpy_reads_it);
    return lt_test_done();
}
