// LABELS: unit
/* Raster plots and PNG input/output: drawn shapes land on the expected
 * pixels, PNGs round-trip, and failures are reported, not crashed on. */
#include "harness.h"
#include "latent/core.h"
#include "latent/plot.h"
#include "latent/rng.h"

#include <png.h>

static const char *dir;

static const char *path_in(const char *name)
{
    static char buf[4][4096];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

/* The pixel containing continuous pixel coordinates (px, py). */
static uint32_t pixel_at(const lt_canvas *c, double px, double py)
{
    return lt_canvas_get(c, (size_t)floor(px), (size_t)floor(py));
}

static uint32_t data_pixel(const lt_canvas *c, double x, double y)
{
    double px, py;
    lt_canvas_map(c, x, y, &px, &py);
    return pixel_at(c, px, py);
}

static size_t count_nonwhite(const lt_canvas *c, size_t x0, size_t y0, size_t x1, size_t y1)
{
    size_t n = 0;
    for (size_t y = y0; y < y1; y++)
        for (size_t x = x0; x < x1; x++) n += lt_canvas_get(c, x, y) != 0xFFFFFF;
    return n;
}

static unsigned luma(uint32_t rgb)
{
    return (54u * (rgb >> 16 & 0xFF) + 183u * (rgb >> 8 & 0xFF) + 19u * (rgb & 0xFF) + 128u) >> 8;
}

static void test_create(void)
{
    lt_canvas *c = NULL;
    CHECK_FAILS(lt_canvas_create(8, 100, &c), LT_ERR_INVALID, "8 x 100");
    CHECK(c == NULL);
    CHECK_FAILS(lt_canvas_create(100, 20000, &c), LT_ERR_INVALID, "out of range");
    CHECK_OK(lt_canvas_create(120, 80, &c));
    CHECK(lt_canvas_width(c) == 120 && lt_canvas_height(c) == 80);
    CHECK(count_nonwhite(c, 0, 0, 120, 80) == 0);
    CHECK(lt_canvas_get(c, 120, 0) == 0); /* outside */
    size_t x0, y0, w, h;
    lt_canvas_plot_area(c, &x0, &y0, &w, &h);
    CHECK(w > 0 && h > 0 && x0 + w <= 120 && y0 + h <= 80);
    CHECK_FAILS(lt_canvas_view(c, 1, 1, 0, 1), LT_ERR_INVALID, "xmin < xmax");
    CHECK_FAILS(lt_canvas_view(c, 0, 1, 0, NAN), LT_ERR_INVALID, "finite");
    lt_canvas_free(c);
    lt_canvas_free(NULL);
}

static void test_view_map(void)
{
    lt_canvas *c = NULL;
    CHECK_OK(lt_canvas_create(400, 300, &c));
    CHECK_OK(lt_canvas_view(c, -2, 2, 10, 20));
    size_t x0, y0, w, h;
    lt_canvas_plot_area(c, &x0, &y0, &w, &h);
    double px, py;
    lt_canvas_map(c, -2, 10, &px, &py);
    CHECK_NEAR(px, (double)x0, 1e-9);
    CHECK_NEAR(py, (double)(y0 + h), 1e-9);
    lt_canvas_map(c, 2, 20, &px, &py);
    CHECK_NEAR(px, (double)(x0 + w), 1e-9);
    CHECK_NEAR(py, (double)y0, 1e-9);
    lt_canvas_free(c);
}

static void test_point(void)
{
    lt_canvas *c = NULL;
    CHECK_OK(lt_canvas_create(300, 240, &c));
    CHECK_OK(lt_canvas_view(c, 0, 10, 0, 10));
    lt_canvas_point(c, 5, 5, 4, 0xD55E00);
    CHECK(data_pixel(c, 5, 5) == 0xD55E00);
    CHECK(data_pixel(c, 2, 2) == 0xFFFFFF);
    double px, py;
    lt_canvas_map(c, 5, 5, &px, &py);
    /* radius 4: 2 pixels away is inside, 6 away is not */
    CHECK(pixel_at(c, px + 2, py) == 0xD55E00);
    CHECK(pixel_at(c, px, py - 6) == 0xFFFFFF);
    /* outside the view: clipped to the plot area, nothing drawn */
    size_t before = count_nonwhite(c, 0, 0, 300, 240);
    lt_canvas_point(c, -3, 5, 4, 0x0072B2);
    lt_canvas_point(c, 5, 1e300, 4, 0x0072B2);
    lt_canvas_point(c, NAN, 5, 4, 0x0072B2);
    CHECK(count_nonwhite(c, 0, 0, 300, 240) == before);
    /* half inside at the left edge: only the plot area is touched */
    size_t x0, y0, w, h;
    lt_canvas_plot_area(c, &x0, &y0, &w, &h);
    lt_canvas_point(c, 0, 5, 4, 0x0072B2);
    CHECK(count_nonwhite(c, 0, 0, x0, 240) == 0);
    CHECK(data_pixel(c, 0, 5) == 0x0072B2);
    lt_canvas_free(c);
}

static void test_line(void)
{
    lt_canvas *c = NULL;
    CHECK_OK(lt_canvas_create(300, 240, &c));
    CHECK_OK(lt_canvas_view(c, 0, 10, 0, 10));
    lt_canvas_line(c, 1, 5, 9, 5, 0x009E73, 2);
    CHECK(data_pixel(c, 5, 5) == 0x009E73);
    CHECK(data_pixel(c, 1.5, 5) == 0x009E73);
    CHECK(data_pixel(c, 5, 6) == 0xFFFFFF);
    CHECK(data_pixel(c, 9.5, 5) == 0xFFFFFF);
    lt_canvas_line(c, 0, 0, 10, 10, 0x0072B2, 3);
    CHECK(data_pixel(c, 2.5, 2.5) == 0x0072B2);
    CHECK(data_pixel(c, 7.5, 7.5) == 0x0072B2);
    /* a line far outside the view, or through infinity, is harmless */
    size_t before = count_nonwhite(c, 0, 0, 300, 240);
    lt_canvas_line(c, -1e300, 1e300, -1e299, 1e300, 0xE69F00, 2);
    lt_canvas_line(c, 0, 0, INFINITY, 1, 0xE69F00, 2);
    CHECK(count_nonwhite(c, 0, 0, 300, 240) == before);
    /* a huge line crossing the view is drawn where it crosses */
    lt_canvas_line(c, -1e12, 2, 1e12, 2, 0xE69F00, 3);
    CHECK(data_pixel(c, 5, 2) == 0xE69F00);
    lt_canvas_free(c);
}

static void test_ellipse(void)
{
    lt_canvas *c = NULL;
    CHECK_OK(lt_canvas_create(400, 400, &c));
    CHECK_OK(lt_canvas_view(c, 0, 10, 0, 10));
    const double eye[4] = {1, 0, 0, 1};
    CHECK_OK(lt_canvas_ellipse(c, 5, 5, eye, 2, 0xCC79A7, 3));
    CHECK(data_pixel(c, 3, 5) == 0xCC79A7);
    CHECK(data_pixel(c, 7, 5) == 0xCC79A7);
    CHECK(data_pixel(c, 5, 3) == 0xCC79A7);
    CHECK(data_pixel(c, 5, 7) == 0xCC79A7);
    CHECK(data_pixel(c, 5 + 2 / sqrt(2.0), 5 + 2 / sqrt(2.0)) == 0xCC79A7);
    CHECK(data_pixel(c, 5, 5) == 0xFFFFFF);
    CHECK(data_pixel(c, 6, 5) == 0xFFFFFF);
    CHECK(data_pixel(c, 8, 5) == 0xFFFFFF);

    /* [[2 1] [1 2]]: variance 3 along (1, 1), 1 along (1, -1) */
    const double rot[4] = {2, 1, 1, 2};
    CHECK_OK(lt_canvas_ellipse(c, 5, 5, rot, 1.5, 0x0072B2, 3));
    double a = 1.5 * sqrt(3.0) / sqrt(2.0), b = 1.5 / sqrt(2.0);
    CHECK(data_pixel(c, 5 + a, 5 + a) == 0x0072B2);
    CHECK(data_pixel(c, 5 - a, 5 - a) == 0x0072B2);
    CHECK(data_pixel(c, 5 + b, 5 - b) == 0x0072B2);
    CHECK(data_pixel(c, 5 - b, 5 + b) == 0x0072B2);

    /* singular: a segment along x from 4 to 6 */
    const double flat[4] = {1, 0, 0, 0};
    CHECK_OK(lt_canvas_ellipse(c, 5, 1, flat, 1, 0x009E73, 3));
    CHECK(data_pixel(c, 4.2, 1) == 0x009E73);
    CHECK(data_pixel(c, 5.8, 1) == 0x009E73);

    const double indef[4] = {1, 2, 2, 1};
    CHECK_FAILS(lt_canvas_ellipse(c, 5, 5, indef, 1, 0, 1), LT_ERR_INVALID,
                "positive semi-definite");
    CHECK_FAILS(lt_canvas_ellipse(c, 5, 5, eye, 0, 0, 1), LT_ERR_INVALID, "nsigma");
    const double bad[4] = {1, 0, 0, NAN};
    CHECK_FAILS(lt_canvas_ellipse(c, 5, 5, bad, 1, 0, 1), LT_ERR_INVALID, "finite");
    lt_canvas_free(c);
}

static void test_text(void)
{
    lt_canvas *c = NULL;
    CHECK_OK(lt_canvas_create(400, 200, &c));
    CHECK(lt_text_width("Hello", 2) == (5 * 6 - 1) * 2);
    CHECK(lt_text_width("ab\nabcd", 1) == 4 * 6 - 1);
    CHECK(lt_text_width("", 3) == 0 && lt_text_width(NULL, 3) == 0);
    lt_canvas_text(c, 10, 20, "Hello", 0x000000, 2);
    size_t inside = count_nonwhite(c, 10, 20, 10 + 58, 20 + 18);
    CHECK(inside > 40);
    CHECK(count_nonwhite(c, 0, 0, 400, 200) == inside);
    /* every printable glyph but the space has ink, and each is different */
    uint64_t sums[95];
    for (int ch = 33; ch <= 126; ch++) {
        lt_canvas *g = NULL;
        CHECK_OK(lt_canvas_create(16, 16, &g));
        char s[2] = {(char)ch, 0};
        lt_canvas_text(g, 1, 1, s, 0x000000, 1);
        size_t ink = count_nonwhite(g, 1, 1, 6, 10);
        CHECK_MSG(ink > 0 && ink == count_nonwhite(g, 0, 0, 16, 16), "glyph '%c'", ch);
        uint64_t bits = 0;
        for (size_t y = 1; y < 10; y++)
            for (size_t x = 1; x < 6; x++) bits = bits << 1 | (lt_canvas_get(g, x, y) != 0xFFFFFF);
        sums[ch - 32] = bits;
        for (int k = 33; k < ch; k++)
            CHECK_MSG(sums[k - 32] != bits, "'%c' looks like '%c'", ch, k);
        lt_canvas_free(g);
    }
    /* bytes outside printable ASCII draw as '?'; text off the canvas is clipped */
    lt_canvas *q = NULL;
    CHECK_OK(lt_canvas_create(16, 16, &q));
    lt_canvas_text(q, 1, 1, "\x01", 0, 1);
    uint64_t bits = 0;
    for (size_t y = 1; y < 10; y++)
        for (size_t x = 1; x < 6; x++) bits = bits << 1 | (lt_canvas_get(q, x, y) != 0xFFFFFF);
    CHECK(bits == sums['?' - 32]);
    lt_canvas_text(q, -1e300, 5, "far", 0, 1);
    lt_canvas_text(q, 10, 10, "a long line running off the edge", 0, 3);
    lt_canvas_free(q);
    lt_canvas_free(c);
}

static void test_axes_title_legend(void)
{
    lt_canvas *c = NULL;
    CHECK_OK(lt_canvas_create(640, 480, &c));
    CHECK_OK(lt_canvas_view(c, -3, 3, 0, 100));
    size_t x0, y0, w, h;
    lt_canvas_plot_area(c, &x0, &y0, &w, &h);
    lt_canvas_axes(c, "x label", "y label");
    /* frame one pixel outside the plot area */
    CHECK(lt_canvas_get(c, x0 - 1, y0 + h / 2) == 0x222222);
    CHECK(lt_canvas_get(c, x0 + w, y0 + h / 2) == 0x222222);
    CHECK(lt_canvas_get(c, x0 + w / 2, y0 - 1) == 0x222222);
    CHECK(lt_canvas_get(c, x0 + w / 2, y0 + h) == 0x222222);
    CHECK(count_nonwhite(c, x0, y0, x0 + w, y0 + h) == 0);
    /* tick labels and axis labels below and left of the frame */
    CHECK(count_nonwhite(c, x0, y0 + h + 1, x0 + w, 480) > 100);
    CHECK(count_nonwhite(c, 0, y0, x0 - 1, y0 + h) > 100);
    /* the tick at x = 0 sits below the middle of the frame */
    double px;
    lt_canvas_map(c, 0, 0, &px, NULL);
    CHECK(lt_canvas_get(c, (size_t)floor(px), y0 + h + 2) == 0x222222);
    CHECK(count_nonwhite(c, x0, 0, x0 + w, y0 - 1) == 0);
    lt_canvas_title(c, "A title");
    CHECK(count_nonwhite(c, x0, 0, x0 + w, y0 - 1) > 50);

    const char *labels[] = {"first", "second", NULL};
    const uint32_t colors[] = {lt_palette(0), lt_palette(1), lt_palette(2)};
    lt_canvas_legend(c, labels, colors, 3);
    size_t n0 = 0, n1 = 0, n2 = 0;
    for (size_t y = y0; y < y0 + h / 2; y++)
        for (size_t x = x0 + w / 2; x < x0 + w; x++) {
            uint32_t v = lt_canvas_get(c, x, y);
            n0 += v == colors[0];
            n1 += v == colors[1];
            n2 += v == colors[2];
        }
    CHECK(n0 > 10 && n1 > 10 && n2 > 10);
    lt_canvas_legend(c, NULL, colors, 3);
    lt_canvas_free(c);

    /* a small canvas and extreme views do not crash */
    CHECK_OK(lt_canvas_create(16, 16, &c));
    CHECK_OK(lt_canvas_view(c, 1e-12, 2e-12, -1e9, 1e9));
    lt_canvas_axes(c, "x", "y");
    CHECK_OK(lt_canvas_view(c, 0, 5e-324, 1e10, 1e10 + 1e-5));
    lt_canvas_axes(c, "x", "y");
    lt_canvas_title(c, "a title far too long for this canvas");
    lt_canvas_legend(c, labels, colors, 2);
    lt_canvas_free(c);
}

static void test_palette(void)
{
    for (size_t i = 0; i < 12; i++) {
        CHECK(lt_palette(i) != 0xFFFFFF);
        CHECK(lt_palette(i) == lt_palette(i + 12));
        for (size_t j = 0; j < i; j++) CHECK(lt_palette(i) != lt_palette(j));
    }
}

static void test_png_roundtrip(void)
{
    lt_canvas *c = NULL;
    CHECK_OK(lt_canvas_create(200, 150, &c));
    CHECK_OK(lt_canvas_view(c, 0, 1, 0, 1));
    lt_canvas_point(c, 0.5, 0.5, 5, 0xD55E00);
    lt_canvas_axes(c, "x", "y");
    const char *p = path_in("canvas.png");
    CHECK_OK(lt_canvas_write_png(c, p));
    lt_array *a = NULL;
    CHECK_OK(lt_png_read_gray(p, &a));
    if (a) {
        CHECK(a->rows == 150 && a->cols == 200 && a->dtype == LT_U8);
        double px, py;
        lt_canvas_map(c, 0.5, 0.5, &px, &py);
        size_t x = (size_t)floor(px), y = (size_t)floor(py);
        CHECK(lt_array_get(a, y, x) == luma(0xD55E00));
        CHECK(lt_array_get(a, 0, 0) == 255);
        size_t x0, y0;
        lt_canvas_plot_area(c, &x0, &y0, NULL, NULL);
        CHECK(lt_array_get(a, y0 + 3, x0 - 1) == luma(0x222222));
        /* every pixel agrees with the canvas */
        size_t bad = 0;
        for (size_t i = 0; i < 150; i++)
            for (size_t j = 0; j < 200; j++)
                bad += lt_array_get(a, i, j) != luma(lt_canvas_get(c, j, i));
        CHECK_MSG(bad == 0, "%zu pixels differ", bad);
    }
    lt_array_free(a);
    /* overwriting an existing file works */
    CHECK_OK(lt_canvas_write_png(c, p));
    lt_canvas_free(c);
}

static void test_gray_grid(void)
{
    enum { N = 5, H = 3, W = 4 };
    float img[N * H * W];
    for (size_t k = 0; k < N * H * W; k++) img[k] = (float)((k * 7 + k / 5) % 2);
    const char *p = path_in("grid.png");
    CHECK_OK(lt_png_write_gray_grid(p, img, N, H, W, 3));
    lt_array *a = NULL;
    CHECK_OK(lt_png_read_gray(p, &a));
    if (a) {
        CHECK(a->rows == 2 * (H + 1) - 1 && a->cols == 3 * (W + 1) - 1);
        size_t bad = 0;
        for (size_t k = 0; k < N; k++)
            for (size_t i = 0; i < H; i++)
                for (size_t j = 0; j < W; j++) {
                    double want = img[k * H * W + i * W + j] * 255.0;
                    bad += lt_array_get(a, (k / 3) * (H + 1) + i, (k % 3) * (W + 1) + j) != want;
                }
        CHECK_MSG(bad == 0, "%zu pixels differ", bad);
        CHECK(lt_array_get(a, 0, W) == 128);               /* vertical separator */
        CHECK(lt_array_get(a, H, 0) == 128);               /* horizontal separator */
        CHECK(lt_array_get(a, H + 1, 2 * (W + 1)) == 128); /* unused tile */
    }
    lt_array_free(a);
    a = NULL;

    /* automatic columns, rounding, clamping, NaN */
    float v[4] = {0.5f, 2.0f, -1.0f, NAN};
    CHECK_OK(lt_png_write_gray_grid(p, v, 4, 1, 1, 0));
    CHECK_OK(lt_png_read_gray(p, &a));
    if (a) {
        CHECK(a->rows == 3 && a->cols == 3);
        CHECK(lt_array_get(a, 0, 0) == 128);
        CHECK(lt_array_get(a, 0, 2) == 255);
        CHECK(lt_array_get(a, 2, 0) == 0);
        CHECK(lt_array_get(a, 2, 2) == 0);
        CHECK(lt_array_get(a, 1, 1) == 128);
    }
    lt_array_free(a);

    CHECK_FAILS(lt_png_write_gray_grid(p, v, 0, 1, 1, 0), LT_ERR_INVALID, "empty");
    CHECK_FAILS(lt_png_write_gray_grid(p, v, 1, 70000, 1, 0), LT_ERR_INVALID, "65535");
}

/* PNGs of other kinds, written with libpng's simplified API. */
static void test_read_kinds(void)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = 3;
    im.height = 2;
    im.format = PNG_FORMAT_RGBA;
    const uint8_t rgba[24] = {255, 0,  0,  255, 0,   255, 0,   128, 0, 0, 255, 0,
                              10,  20, 30, 255, 255, 255, 255, 255, 0, 0, 0,   255};
    const char *p = path_in("rgba.png");
    CHECK(png_image_write_to_file(&im, p, 0, rgba, 0, NULL) != 0);
    lt_array *a = NULL;
    CHECK_OK(lt_png_read_gray(p, &a));
    if (a) {
        CHECK(a->rows == 2 && a->cols == 3);
        for (size_t i = 0; i < 6; i++) {
            uint32_t rgb =
                (uint32_t)rgba[4 * i] << 16 | (uint32_t)rgba[4 * i + 1] << 8 | rgba[4 * i + 2];
            CHECK_MSG(lt_array_get(a, i / 3, i % 3) == luma(rgb), "pixel %zu", i);
        }
    }
    lt_array_free(a);
    a = NULL;

    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = 2;
    im.height = 2;
    im.format = PNG_FORMAT_GRAY;
    const uint8_t gray[4] = {0, 17, 200, 255};
    p = path_in("gray.png");
    CHECK(png_image_write_to_file(&im, p, 0, gray, 0, NULL) != 0);
    CHECK_OK(lt_png_read_gray(p, &a));
    if (a) {
        CHECK(a->rows == 2 && a->cols == 2);
        for (size_t i = 0; i < 4; i++) CHECK(lt_array_get(a, i / 2, i % 2) == gray[i]);
    }
    lt_array_free(a);
}

static void test_read_errors(void)
{
    lt_array *a = NULL;
    const char *p = lt_test_write(dir, "notes.png", "this is not a picture\n", 22);
    CHECK_FAILS(lt_png_read_gray(p, &a), LT_ERR_FORMAT, "notes.png");
    CHECK(a == NULL);
    CHECK_FAILS(lt_png_read_gray(p, &a), LT_ERR_FORMAT, "not a PNG");
    p = lt_test_write(dir, "empty.png", "", 0);
    CHECK_FAILS(lt_png_read_gray(p, &a), LT_ERR_FORMAT, "empty.png");
    CHECK_FAILS(lt_png_read_gray(path_in("missing.png"), &a), LT_ERR_IO, "missing.png");
    CHECK_FAILS(lt_png_read_gray(dir, &a), LT_ERR_IO, "cannot read");

    /* a real PNG cut short, and one with a damaged byte in its pixels */
    float img[64 * 64];
    for (size_t i = 0; i < 64 * 64; i++) img[i] = (float)((i * 2654435761u) % 1000) / 999.0f;
    const char *full = path_in("full.png");
    CHECK_OK(lt_png_write_gray_grid(full, img, 1, 64, 64, 1));
    FILE *f = fopen(full, "rb");
    static unsigned char bytes[1 << 16];
    size_t n = f ? fread(bytes, 1, sizeof bytes, f) : 0;
    if (f) fclose(f);
    CHECK(n > 200 && n < sizeof bytes);
    p = lt_test_write(dir, "cut.png", (const char *)bytes, n / 2);
    CHECK_FAILS(lt_png_read_gray(p, &a), LT_ERR_FORMAT, "cut.png");
    bytes[n / 2] ^= 0x55;
    p = lt_test_write(dir, "flip.png", (const char *)bytes, n);
    CHECK_FAILS(lt_png_read_gray(p, &a), LT_ERR_FORMAT, "flip.png");
    CHECK(a == NULL);
}

static void test_write_errors(void)
{
    lt_canvas *c = NULL;
    CHECK_OK(lt_canvas_create(32, 32, &c));
    const char *p = path_in("no/such/dir/out.png");
    CHECK_FAILS(lt_canvas_write_png(c, p), LT_ERR_IO, "out.png");
    CHECK(!lt_test_exists(p));
    float v[1] = {0.5f};
    CHECK_FAILS(lt_png_write_gray_grid(p, v, 1, 1, 1, 1), LT_ERR_IO, "out.png");
    CHECK(!lt_test_exists(p));
    lt_canvas_free(c);
}

/* The picture to look at: three clusters, their 1- and 2-sigma ellipses,
 * axes, a title and a legend (written to demo.png in the scratch dir). */
static void test_demo_plot(void)
{
    lt_canvas *c = NULL;
    CHECK_OK(lt_canvas_create(800, 600, &c));
    CHECK_OK(lt_canvas_view(c, -6, 6, -4.5, 4.5));
    const double mu[3][2] = {{-2.5, 1.5}, {2.5, 2}, {0.5, -2}};
    const double cov[3][4] = {{1.0, 0.6, 0.6, 0.8}, {0.5, -0.3, -0.3, 0.9}, {1.6, 0.2, 0.2, 0.3}};
    lt_rng r;
    lt_rng_seed(&r, 7);
    for (int k = 0; k < 3; k++) {
        /* Cholesky of the 2x2 covariance */
        double l11 = sqrt(cov[k][0]), l21 = cov[k][1] / l11;
        double l22 = sqrt(cov[k][3] - l21 * l21);
        for (int i = 0; i < 150; i++) {
            double z1 = lt_rng_normal(&r), z2 = lt_rng_normal(&r);
            lt_canvas_point(c, mu[k][0] + l11 * z1, mu[k][1] + l21 * z1 + l22 * z2, 2.5,
                            lt_palette((size_t)k));
        }
    }
    for (int k = 0; k < 3; k++) {
        CHECK_OK(lt_canvas_ellipse(c, mu[k][0], mu[k][1], cov[k], 1, 0x222222, 1.5));
        CHECK_OK(lt_canvas_ellipse(c, mu[k][0], mu[k][1], cov[k], 2, 0x222222, 1.0));
    }
    lt_canvas_axes(c, "feature 1 (x)", "feature 2 (y)");
    lt_canvas_title(c, "Gaussian mixture: 3 components, 1 and 2 sigma");
    const char *labels[] = {"component 1", "component 2", "component 3"};
    const uint32_t colors[] = {lt_palette(0), lt_palette(1), lt_palette(2)};
    lt_canvas_legend(c, labels, colors, 3);
    CHECK_OK(lt_canvas_write_png(c, path_in("demo.png")));
    lt_canvas_free(c);
}

int main(void)
{
    dir = lt_test_tmpdir("plot");
    RUN(test_create);
    RUN(test_view_map);
    RUN(test_point);
    RUN(test_line);
    RUN(test_ellipse);
    RUN(test_text);
    RUN(test_axes_title_legend);
    RUN(test_palette);
    RUN(test_png_roundtrip);
    RUN(test_gray_grid);
    RUN(test_read_kinds);
    RUN(test_read_errors);
    RUN(test_write_errors);
    RUN(test_demo_plot);
    return lt_test_done();
}
