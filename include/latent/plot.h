/* latent — raster plots and PNG pictures.
 *
 * A canvas is an RGB picture, white when created, with a plot area inside
 * margins kept for the title, the axes' tick labels and the axis labels.
 * Data primitives (points, lines, ellipses) take data coordinates, are
 * mapped through the view set with lt_canvas_view and are clipped to the
 * plot area; text takes pixel coordinates and is clipped to the canvas.
 * Edges are anti-aliased. Pixel (0, 0) is the top-left corner, x grows to
 * the right and y downwards; pixel (i, j) covers [i, i+1) x [j, j+1).
 *
 * Colours are 0xRRGGBB (8 bits per channel, no alpha). Text uses a built-in
 * 5x7 bitmap font covering printable ASCII (32..126), with two more rows
 * for descenders (g j p q y , ;); any other byte draws as '?'. A glyph at
 * `scale` s occupies a box of 5s x 9s pixels whose top 7s rows hold
 * capitals and digits, and advances 6s.
 *
 * A canvas is not safe to use from two threads at once; distinct canvases
 * are independent. Nothing here prints, exits or aborts.
 */
#ifndef LATENT_PLOT_H
#define LATENT_PLOT_H

#include "latent/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lt_canvas lt_canvas;

/* A white width x height canvas (pixels, each 16..16384). The view is
 * [0, 1] x [0, 1] until lt_canvas_view is called. *out is owned by the
 * caller and released with lt_canvas_free. LT_ERR_INVALID for sizes out of
 * range. */
lt_status lt_canvas_create(size_t width, size_t height, lt_canvas **out);

/* Free a canvas; NULL does nothing. */
void lt_canvas_free(lt_canvas *c);

/* Size in pixels. */
size_t lt_canvas_width(const lt_canvas *c);
size_t lt_canvas_height(const lt_canvas *c);

/* The pixels, row-major RGB, 3 bytes per pixel, top row first; borrowed,
 * valid until the canvas is freed. */
const uint8_t *lt_canvas_rgb(const lt_canvas *c);

/* The colour 0xRRGGBB of pixel (px, py); 0 outside the canvas. */
uint32_t lt_canvas_get(const lt_canvas *c, size_t px, size_t py);

/* Set the data window shown in the plot area: x in [xmin, xmax] maps left to
 * right, y in [ymin, ymax] bottom to top. Also lays out the plot area: the
 * left margin is made wide enough for the y tick labels this window gets.
 * Call it before drawing data. LT_ERR_INVALID unless all four are finite,
 * xmin < xmax and ymin < ymax. */
lt_status lt_canvas_view(lt_canvas *c, double xmin, double xmax, double ymin, double ymax);

/* Data coordinates (x, y) to pixel coordinates (*px, *py) under the current
 * view (continuous; pixel centres are at i + 0.5). */
void lt_canvas_map(const lt_canvas *c, double x, double y, double *px, double *py);

/* The plot area in pixels: columns [*x0, *x0 + *w), rows [*y0, *y0 + *h).
 * Any output pointer may be NULL. */
void lt_canvas_plot_area(const lt_canvas *c, size_t *x0, size_t *y0, size_t *w, size_t *h);

/* Draw a frame around the plot area with about five ticks per axis at
 * "nice" values (1, 2 or 5 times a power of ten), their numeric labels, and
 * the axis labels (the y label runs bottom to top); either label may be
 * NULL. Draw it after the data so the frame stays on top. */
void lt_canvas_axes(lt_canvas *c, const char *xlabel, const char *ylabel);

/* A title centred above the plot area (larger text); NULL draws nothing. */
void lt_canvas_title(lt_canvas *c, const char *text);

/* A filled disc at data point (x, y), radius in pixels. Non-finite
 * coordinates or radius draw nothing. */
void lt_canvas_point(lt_canvas *c, double x, double y, double radius_px, uint32_t rgb);

/* A straight line between data points, thickness in pixels, round ends.
 * Non-finite input draws nothing. */
void lt_canvas_line(lt_canvas *c, double x0, double y0, double x1, double y1, uint32_t rgb,
                    double thickness_px);

/* The contour of a 2-D Gaussian with mean (cx, cy) and covariance `cov`
 * (2x2 row-major, data units squared; the symmetric part is used) at
 * `nsigma` standard deviations: the set of points at Mahalanobis distance
 * nsigma, drawn as a closed polyline of 128 segments. A singular covariance
 * draws a segment. LT_ERR_INVALID for non-finite input, nsigma <= 0 or a
 * covariance that is not positive semi-definite. */
lt_status lt_canvas_ellipse(lt_canvas *c, double cx, double cy, const double cov[4], double nsigma,
                            uint32_t rgb, double thickness_px);

/* Text whose top-left corner is at pixel (px, py); `scale` >= 1 is the size
 * of one font pixel in canvas pixels (values < 1 are taken as 1). A '\n'
 * starts a new line 11*scale pixels lower. NULL draws nothing. */
void lt_canvas_text(lt_canvas *c, double px, double py, const char *text, uint32_t rgb, int scale);

/* The width in pixels of the widest line of `text` at `scale` (0 for NULL or
 * ""); one line is 9*scale pixels high, descenders included. */
size_t lt_text_width(const char *text, int scale);

/* A boxed legend in the top-right corner of the plot area: for each of the
 * n entries a disc of colors[i] and the text labels[i] (NULL is shown as
 * ""). Both arrays hold n entries, borrowed; NULL arrays draw nothing. */
void lt_canvas_legend(lt_canvas *c, const char *const *labels, const uint32_t *colors, size_t n);

/* A distinct colour 0xRRGGBB for series i, cycling through 12 colours: the
 * Okabe-Ito palette (without black and yellow) first, then colours from
 * Paul Tol's colour-blind-safe schemes, all readable on white. */
uint32_t lt_palette(size_t i);

/* Write the canvas as an 8-bit RGB PNG. Atomic: a temporary file beside
 * `path` is renamed into place, so a failure leaves no file (LT_ERR_IO for
 * a directory that does not exist or a failed write). */
lt_status lt_canvas_write_png(const lt_canvas *c, const char *path);

/* Write n grayscale images (`images`: n x h*w floats, row-major, one image
 * per row, values in [0, 1] with 0 black; values outside are clamped, NaN
 * shows as black) as one 8-bit grayscale PNG: a grid of ncols columns
 * (0: about sqrt(n)) and ceil(n / ncols) rows of tiles, separated by 1-pixel
 * lines of gray 128; unused tiles are gray 128 too. Image k sits in tile
 * row k / ncols, column k % ncols, its top-left pixel at
 * ((k % ncols) * (w + 1), (k / ncols) * (h + 1)). A value v is stored as
 * round(255 v). Atomic like lt_canvas_write_png. LT_ERR_INVALID when n, h
 * or w is 0 or the picture would exceed 65535 pixels a side. */
lt_status lt_png_write_gray_grid(const char *path, const float *images, size_t n, size_t h,
                                 size_t w, size_t ncols);

/* Read a PNG into a new uint8 array with rows = the picture's height and
 * cols = its width (height/width fields left 0). Grayscale is read as is
 * (1-, 2- and 4-bit depths expanded, 16-bit reduced to 8); colour (RGB or
 * palette) becomes the luminance Y = (54 R + 183 G + 19 B + 128) / 256
 * (integer division; Rec. 709 weights); alpha is ignored. *out is owned by
 * the caller (lt_array_free). Errors name the file: LT_ERR_IO when it cannot
 * be opened, LT_ERR_FORMAT when it is not a PNG or is corrupt or truncated. */
lt_status lt_png_read_gray(const char *path, lt_array **out);

#ifdef __cplusplus
}
#endif
#endif
