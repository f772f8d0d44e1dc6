/* PNG output and input through libpng.
 *
 * libpng reports errors by calling an error function that must not return;
 * ours records the message and longjmps back to the setjmp in the calling
 * function, which releases what it holds and returns a status. Everything a
 * function must release after such a jump lives on the heap behind a
 * pointer set before the setjmp, because automatic variables changed
 * between setjmp and longjmp are indeterminate afterwards. Warnings are
 * dropped: the library never prints.
 *
 * Writes go through lt_atomic_open, so a failed write leaves no file.
 */
#include "internal.h"
#include "latent/io.h"
#include "latent/plot.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_job {
    jmp_buf jmp;
    char msg[200];
    FILE *fp; /* reading only */
    uint8_t *pixels;
    png_bytep *rows;
    int nomem; /* the error was a failed allocation */
} png_job;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_job *job = png_get_error_ptr(png);
    snprintf(job->msg, sizeof job->msg, "%s", msg ? msg : "libpng error");
    longjmp(job->jmp, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void job_free(png_job *job)
{
    if (!job) return;
    if (job->fp) fclose(job->fp);
    free(job->pixels);
    free(job->rows);
    free(job);
}

/* Write w x h pixels of `channels` (1 gray, 3 RGB) bytes each, row-major. */
static lt_status write_png(const char *path, const uint8_t *pixels, size_t w, size_t h,
                           int channels)
{
    lt_atomic_file *af = NULL;
    png_structp png = NULL;
    png_infop info = NULL;
    png_job *job = lt_calloc(1, sizeof *job);
    if (!job) return LT_ERR_NOMEM;
    lt_status st = lt_atomic_open(path, &af);
    if (st != LT_OK) {
        job_free(job);
        return st;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, job, on_png_error, on_png_warning);
    info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        lt_atomic_abort(af);
        job_free(job);
        return lt_fail(LT_ERR_NOMEM, "%s: cannot set up the PNG writer", path);
    }
    if (setjmp(job->jmp)) {
        png_destroy_write_struct(&png, &info);
        lt_atomic_abort(af);
        st = lt_fail(LT_ERR_IO, "%s: cannot write PNG: %s", path, job->msg);
        job_free(job);
        return st;
    }
    png_init_io(png, (FILE *)lt_atomic_stream(af));
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (size_t y = 0; y < h; y++) png_write_row(png, pixels + y * w * (size_t)channels);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    job_free(job);
    return lt_atomic_commit(af);
}

lt_status lt_canvas_write_png(const lt_canvas *c, const char *path)
{
    if (!c || !path) return lt_fail(LT_ERR_INVALID, "write PNG: no canvas or path");
    return write_png(path, lt_canvas_rgb(c), lt_canvas_width(c), lt_canvas_height(c), 3);
}

lt_status lt_png_write_gray_grid(const char *path, const float *images, size_t n, size_t h,
                                 size_t w, size_t ncols)
{
    if (!path || !images) return lt_fail(LT_ERR_INVALID, "image grid: no path or images");
    if (n == 0 || h == 0 || w == 0)
        return lt_fail(LT_ERR_INVALID, "%s: image grid of %zu images of %zu x %zu pixels is empty",
                       path, n, h, w);
    if (ncols == 0) {
        ncols = (size_t)ceil(sqrt((double)n));
        while (ncols > 1 && (ncols - 1) * (ncols - 1) >= n) ncols--;
        while (ncols * ncols < n) ncols++;
    }
    if (ncols > n) ncols = n;
    size_t nrows = (n + ncols - 1) / ncols;
    const size_t limit = 65535;
    if (w > limit || h > limit || ncols > limit || nrows > limit || ncols * (w + 1) - 1 > limit ||
        nrows * (h + 1) - 1 > limit)
        return lt_fail(LT_ERR_INVALID,
                       "%s: image grid of %zu x %zu tiles of %zu x %zu pixels exceeds %zu pixels a "
                       "side",
                       path, nrows, ncols, h, w, limit);
    size_t W = ncols * (w + 1) - 1, H = nrows * (h + 1) - 1, hw = h * w;
    uint8_t *buf = lt_malloc(W, H);
    if (!buf) return LT_ERR_NOMEM;
    memset(buf, 128, W * H);
    for (size_t k = 0; k < n; k++) {
        const float *img = images + k * hw;
        uint8_t *tile = buf + (k / ncols) * (h + 1) * W + (k % ncols) * (w + 1);
        for (size_t i = 0; i < h; i++)
            for (size_t j = 0; j < w; j++) {
                float v = img[i * w + j];
                /* written so that NaN fails both tests and becomes 0 */
                tile[i * W + j] = v >= 1.0f ? 255 : v > 0.0f ? (uint8_t)(v * 255.0f + 0.5f) : 0;
            }
    }
    lt_status st = write_png(path, buf, W, H, 1);
    free(buf);
    return st;
}

lt_status lt_png_read_gray(const char *path, lt_array **out)
{
    if (out) *out = NULL;
    if (!path || !out) return lt_fail(LT_ERR_INVALID, "read PNG: no path or output");
    png_structp png = NULL;
    png_infop info = NULL;
    lt_array *arr = NULL;
    lt_status st = LT_OK;
    png_job *job = lt_calloc(1, sizeof *job);
    if (!job) return LT_ERR_NOMEM;
    job->fp = fopen(path, "rb");
    if (!job->fp) {
        st = lt_fail(LT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        job_free(job);
        return st;
    }
    unsigned char sig[8];
    size_t got = fread(sig, 1, sizeof sig, job->fp);
    if (got < sizeof sig && ferror(job->fp)) {
        st = lt_fail(LT_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        job_free(job);
        return st;
    }
    if (got < sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0) {
        job_free(job);
        return lt_fail(LT_ERR_FORMAT, "%s: not a PNG file (no PNG signature)", path);
    }
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, on_png_error, on_png_warning);
    info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        job_free(job);
        return lt_fail(LT_ERR_NOMEM, "%s: cannot set up the PNG reader", path);
    }
    if (setjmp(job->jmp)) {
        png_destroy_read_struct(&png, &info, NULL);
        if (job->nomem)
            st = lt_fail(LT_ERR_NOMEM, "%s: out of memory reading PNG", path);
        else
            st = lt_fail(LT_ERR_FORMAT, "%s: corrupt or truncated PNG: %s", path, job->msg);
        job_free(job);
        return st;
    }
    png_init_io(png, job->fp);
    png_set_sig_bytes(png, (int)sizeof sig);
    png_set_user_limits(png, 65535, 65535);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if ((type & PNG_COLOR_MASK_COLOR) == 0 && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    png_set_strip_alpha(png);
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t channels = png_get_channels(png, info), rowbytes = png_get_rowbytes(png, info);
    if ((channels != 1 && channels != 3) || rowbytes != (size_t)w * channels)
        png_error(png, "unexpected pixel layout after conversion");
    if ((size_t)w * h * channels > ((size_t)1 << 30)) png_error(png, "image too large");
    job->pixels = lt_malloc((size_t)h, rowbytes);
    job->rows = lt_malloc((size_t)h, sizeof *job->rows);
    if (!job->pixels || !job->rows) {
        job->nomem = 1;
        png_error(png, "out of memory");
    }
    for (size_t y = 0; y < h; y++) job->rows[y] = job->pixels + y * rowbytes;
    png_read_image(png, job->rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);

    st = lt_array_create(h, w, LT_U8, &arr);
    if (st == LT_OK) {
        uint8_t *dst = arr->data;
        const uint8_t *src = job->pixels;
        size_t np = (size_t)w * h;
        if (channels == 1) {
            memcpy(dst, src, np);
        } else {
            for (size_t i = 0; i < np; i++, src += 3)
                dst[i] = (uint8_t)((54u * src[0] + 183u * src[1] + 19u * src[2] + 128u) >> 8);
        }
        *out = arr;
    }
    job_free(job);
    return st;
}
