/* Raster plots: a white RGB canvas, a data window mapped onto a plot area
 * inside margins, anti-aliased discs and strokes, and a 5x7 bitmap font.
 *
 * Anti-aliasing is by coverage: a pixel whose centre lies at distance d from
 * the ideal shape's centre line (or centre) gets coverage
 * clamp(half_width + 1/2 - d, 0, 1), an approximation to the area the shape
 * covers in that pixel that is exact for edges through the pixel centre.
 * A polyline (an ellipse) first takes, per pixel, the largest coverage of
 * any of its segments in a scratch buffer and blends once, so the joints
 * are not painted twice and do not show as dark beads.
 *
 * Layout: the text scale s grows with the canvas (1 below about 640 x 480);
 * margins are multiples of s, and the left margin is sized in
 * lt_canvas_view from the widest y tick label of that view.
 */
#include "internal.h"
#include "latent/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The font: glyph k is the character 32 + k, 9 rows of 5 pixels, packed in
 * 45 bits with the top row in bits 44..40 and each row's leftmost pixel in
 * its row's highest bit. Capitals and digits fill rows 0..6 (row 6 is the
 * baseline), lower case rows 2..6, and the descenders of g j p q y , ;
 * reach into rows 7..8. Drawn for this library. */
/* clang-format off */
static const uint64_t lt_font[95] = {
    0x000000000000ULL, 0x042108401000ULL, 0x0A5000000000ULL, 0x0A57D5F52800ULL, /*   ! " # */
    0x047D1C5F1000ULL, 0x18C888898C00ULL, 0x0C9511593400ULL, 0x042200000000ULL, /* $ % & ' */
    0x022210820800ULL, 0x082084222000ULL, 0x00255D520000ULL, 0x00213E420000ULL, /* ( ) * + */
    0x000000063088ULL, 0x00003E000000ULL, 0x000000063000ULL, 0x000888880000ULL, /* , - . / */
    0x0E8CEB98B800ULL, 0x046108423800ULL, 0x0E8844447C00ULL, 0x0E884C18B800ULL, /* 0 1 2 3 */
    0x0232A5F10800ULL, 0x1F878218B800ULL, 0x06443D18B800ULL, 0x1F0888842000ULL, /* 4 5 6 7 */
    0x0E8C5D18B800ULL, 0x0E8C5E113000ULL, 0x006300C60000ULL, 0x000318063088ULL, /* 8 9 : ; */
    0x022220820800ULL, 0x0007C1F00000ULL, 0x082082222000ULL, 0x0E8844401000ULL, /* < = > ? */
    0x0E8DEB783C00ULL, 0x0E8C7F18C400ULL, 0x1E8C7D18F800ULL, 0x0E8C2108B800ULL, /* @ A B C */
    0x1E8C6318F800ULL, 0x1F843D087C00ULL, 0x1F843D084000ULL, 0x0E8C2F18BC00ULL, /* D E F G */
    0x118C7F18C400ULL, 0x0E2108423800ULL, 0x071084293000ULL, 0x119531494400ULL, /* H I J K */
    0x108421087C00ULL, 0x11DD6B18C400ULL, 0x118E6B38C400ULL, 0x0E8C6318B800ULL, /* L M N O */
    0x1E8C7D084000ULL, 0x0E8C63593400ULL, 0x1E8C7D494400ULL, 0x0F841C10F800ULL, /* P Q R S */
    0x1F2108421000ULL, 0x118C6318B800ULL, 0x118C63151000ULL, 0x118C6B5AA800ULL, /* T U V W */
    0x118A88A8C400ULL, 0x118A88421000ULL, 0x1F0888887C00ULL, 0x0E4210843800ULL, /* X Y Z [ */
    0x008208208000ULL, 0x0E1084213800ULL, 0x045440000000ULL, 0x000000007C00ULL, /* \ ] ^ _ */
    0x082080000000ULL, 0x000382F8BC00ULL, 0x1085B318F800ULL, 0x0003A108B800ULL, /* ` a b c */
    0x010B6718BC00ULL, 0x0003A3F83800ULL, 0x064A38842000ULL, 0x0003E318BC2EULL, /* d e f g */
    0x1085B318C400ULL, 0x040308423800ULL, 0x020184210A4CULL, 0x1084A98A4800ULL, /* h i j k */
    0x0C2108423800ULL, 0x0006AB58C400ULL, 0x0005B318C400ULL, 0x0003A318B800ULL, /* l m n o */
    0x0007A318FA10ULL, 0x0003E318BC21ULL, 0x0005B3084000ULL, 0x0003A0E0F800ULL, /* p q r s */
    0x084710849800ULL, 0x00046319B400ULL, 0x000463151000ULL, 0x0004635AA800ULL, /* t u v w */
    0x000454454400ULL, 0x00046318BC2EULL, 0x0007C4447C00ULL, 0x022110420800ULL, /* x y z { */
    0x042108421000ULL, 0x082104422000ULL, 0x00022A200000ULL, /* | } ~ */
};
/* clang-format on */

enum { GLYPH_W = 5, GLYPH_H = 9, ADVANCE = 6, LINE_H = 11 };

#define WHITE 0xFFFFFFu
#define INK 0x222222u   /* frame, ticks, labels */
#define MUTED 0x888888u /* legend border */

typedef struct irect {
    long x0, y0, x1, y1; /* [x0, x1) x [y0, y1) */
} irect;

struct lt_canvas {
    size_t w, h;
    uint8_t *rgb; /* h x w x 3 */
    float *cover; /* h x w scratch coverage for polylines, kept all 0 */
    int s;        /* text scale of tick and axis labels */
    double xmin, xmax, ymin, ymax;
    size_t ax, ay, aw, ah; /* plot area */
    struct ticks {
        double first, step;
        int n, decimals, sci;
    } tx, ty; /* set with the layout */
};

/* ---- pixels ------------------------------------------------------------ */

static irect canvas_rect(const lt_canvas *c) { return (irect){0, 0, (long)c->w, (long)c->h}; }

static irect plot_rect(const lt_canvas *c)
{
    return (irect){(long)c->ax, (long)c->ay, (long)(c->ax + c->aw), (long)(c->ay + c->ah)};
}

static void blend(lt_canvas *c, long x, long y, uint32_t rgb, float a)
{
    uint8_t *p = c->rgb + ((size_t)y * c->w + (size_t)x) * 3;
    if (a >= 1.0f) {
        p[0] = (uint8_t)(rgb >> 16);
        p[1] = (uint8_t)(rgb >> 8);
        p[2] = (uint8_t)rgb;
        return;
    }
    for (int k = 0; k < 3; k++) {
        float src = (float)((rgb >> (16 - 8 * k)) & 0xFF);
        p[k] = (uint8_t)(p[k] + a * (src - p[k]) + 0.5f);
    }
}

static void fill_rect(lt_canvas *c, long x0, long y0, long x1, long y1, uint32_t rgb, irect clip)
{
    if (x0 < clip.x0) x0 = clip.x0;
    if (y0 < clip.y0) y0 = clip.y0;
    if (x1 > clip.x1) x1 = clip.x1;
    if (y1 > clip.y1) y1 = clip.y1;
    for (long y = y0; y < y1; y++)
        for (long x = x0; x < x1; x++) blend(c, x, y, rgb, 1.0f);
}

/* The pixel index range [*lo, *hi] whose centres lie within [a, b], clamped
 * to [clo, chi); 0 when empty. Clamps in double so that far-away input
 * never reaches an integer conversion out of range. */
static int pixel_span(double a, double b, long clo, long chi, long *lo, long *hi)
{
    double l = ceil(a - 0.5), h = floor(b - 0.5);
    if (l < (double)clo) l = (double)clo;
    if (h > (double)(chi - 1)) h = (double)(chi - 1);
    if (!(l <= h)) return 0;
    *lo = (long)l;
    *hi = (long)h;
    return 1;
}

static void disc(lt_canvas *c, double cx, double cy, double r, uint32_t rgb, irect clip)
{
    if (!isfinite(cx) || !isfinite(cy) || !isfinite(r) || r <= 0) return;
    double e = r + 0.5;
    long x0, x1, y0, y1;
    if (!pixel_span(cx - e, cx + e, clip.x0, clip.x1, &x0, &x1)) return;
    if (!pixel_span(cy - e, cy + e, clip.y0, clip.y1, &y0, &y1)) return;
    for (long y = y0; y <= y1; y++)
        for (long x = x0; x <= x1; x++) {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            double a = e - sqrt(dx * dx + dy * dy);
            if (a > 0) blend(c, x, y, rgb, a >= 1 ? 1.0f : (float)a);
        }
}

/* Clip segment (x0,y0)-(x1,y1) to box b (Liang-Barsky); 0 when outside. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1, double bx0, double by0,
                        double bx1, double by1)
{
    double dx = *x1 - *x0, dy = *y1 - *y0, t0 = 0, t1 = 1;
    double p[4] = {-dx, dx, -dy, dy};
    double q[4] = {*x0 - bx0, bx1 - *x0, *y0 - by0, by1 - *y0};
    for (int k = 0; k < 4; k++) {
        if (p[k] == 0) {
            if (q[k] < 0) return 0;
            continue;
        }
        double t = q[k] / p[k];
        if (p[k] < 0) {
            if (t > t1) return 0;
            if (t > t0) t0 = t;
        } else {
            if (t < t0) return 0;
            if (t < t1) t1 = t;
        }
    }
    double ax = *x0 + t0 * dx, ay = *y0 + t0 * dy, bx = *x0 + t1 * dx, by = *y0 + t1 * dy;
    if (!isfinite(ax) || !isfinite(ay) || !isfinite(bx) || !isfinite(by)) return 0;
    *x0 = ax;
    *y0 = ay;
    *x1 = bx;
    *y1 = by;
    return 1;
}

/* Add a segment of the given thickness (pixel coordinates) to the coverage
 * buffer, taking the maximum per pixel; grows *dirty to what it touched. */
static void cover_segment(lt_canvas *c, double ax, double ay, double bx, double by, double thick,
                          irect clip, irect *dirty)
{
    if (!isfinite(ax) || !isfinite(ay) || !isfinite(bx) || !isfinite(by)) return;
    double e = thick / 2 + 0.5;
    if (!clip_segment(&ax, &ay, &bx, &by, clip.x0 - e - 1, clip.y0 - e - 1, clip.x1 + e + 1,
                      clip.y1 + e + 1))
        return;
    long x0, x1, y0, y1;
    if (!pixel_span(fmin(ax, bx) - e, fmax(ax, bx) + e, clip.x0, clip.x1, &x0, &x1)) return;
    if (!pixel_span(fmin(ay, by) - e, fmax(ay, by) + e, clip.y0, clip.y1, &y0, &y1)) return;
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (long y = y0; y <= y1; y++) {
        float *row = c->cover + (size_t)y * c->w;
        for (long x = x0; x <= x1; x++) {
            double px = x + 0.5 - ax, py = y + 0.5 - ay;
            double t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double ex = px - t * dx, ey = py - t * dy;
            double a = e - sqrt(ex * ex + ey * ey);
            if (a > 0 && (float)a > row[x]) row[x] = a >= 1 ? 1.0f : (float)a;
        }
    }
    if (x0 < dirty->x0) dirty->x0 = x0;
    if (y0 < dirty->y0) dirty->y0 = y0;
    if (x1 + 1 > dirty->x1) dirty->x1 = x1 + 1;
    if (y1 + 1 > dirty->y1) dirty->y1 = y1 + 1;
}

static irect no_rect(void) { return (irect){0x7fffffffL, 0x7fffffffL, -1, -1}; }

/* Blend the coverage buffer in `dirty` with colour rgb and clear it. */
static void cover_flush(lt_canvas *c, irect dirty, uint32_t rgb)
{
    for (long y = dirty.y0; y < dirty.y1; y++) {
        float *row = c->cover + (size_t)y * c->w;
        for (long x = dirty.x0; x < dirty.x1; x++)
            if (row[x] > 0) {
                blend(c, x, y, rgb, row[x]);
                row[x] = 0;
            }
    }
}

/* ---- text -------------------------------------------------------------- */

static uint64_t glyph(unsigned char ch)
{
    return (ch >= 32 && ch <= 126) ? lt_font[ch - 32] : lt_font['?' - 32];
}

static int font_pixel(uint64_t g, int gx, int gy)
{
    return (int)((g >> (44 - (gy * GLYPH_W + gx))) & 1u);
}

/* Horizontal text, top-left at (x, y), pixel coordinates. */
static void draw_text(lt_canvas *c, long x, long y, const char *text, uint32_t rgb, int s,
                      irect clip)
{
    long cx = x;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\n') {
            cx = x;
            y += (long)LINE_H * s;
            continue;
        }
        uint64_t g = glyph(*p);
        for (int gy = 0; gy < GLYPH_H; gy++)
            for (int gx = 0; gx < GLYPH_W; gx++)
                if (font_pixel(g, gx, gy))
                    fill_rect(c, cx + (long)gx * s, y + (long)gy * s, cx + (long)(gx + 1) * s,
                              y + (long)(gy + 1) * s, rgb, clip);
        cx += (long)ADVANCE * s;
        if (cx > clip.x1) {
            /* the rest of this line is off the canvas: skip to its end */
            while (p[1] && p[1] != '\n') p++;
        }
    }
}

/* One line of text turned a quarter turn anticlockwise, read from bottom
 * to top: the glyphs' tops face left, (x, ybottom) is the bottom-left
 * corner of its box. */
static void draw_text_up(lt_canvas *c, long x, long ybottom, const char *text, uint32_t rgb, int s,
                         irect clip)
{
    long k = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && *p != '\n'; p++, k++) {
        uint64_t g = glyph(*p);
        for (int gy = 0; gy < GLYPH_H; gy++)
            for (int gx = 0; gx < GLYPH_W; gx++)
                if (font_pixel(g, gx, gy)) {
                    long px = x + (long)gy * s;
                    long py = ybottom - (k * ADVANCE + gx + 1) * (long)s;
                    fill_rect(c, px, py, px + s, py + s, rgb, clip);
                }
    }
}

size_t lt_text_width(const char *text, int scale)
{
    if (!text) return 0;
    if (scale < 1) scale = 1;
    size_t best = 0, n = 0;
    for (const char *p = text;; p++) {
        if (*p == '\n' || *p == '\0') {
            if (n > best) best = n;
            n = 0;
            if (!*p) break;
        } else {
            n++;
        }
    }
    /* the last glyph's trailing column of spacing is not part of the box */
    return best ? (best * ADVANCE - 1) * (size_t)scale : 0;
}

void lt_canvas_text(lt_canvas *c, double px, double py, const char *text, uint32_t rgb, int scale)
{
    if (!c || !text || !isfinite(px) || !isfinite(py)) return;
    if (scale < 1) scale = 1;
    if (fabs(px) > 1e9 || fabs(py) > 1e9) return;
    draw_text(c, lround(px), lround(py), text, rgb, scale, canvas_rect(c));
}

/* ---- ticks and layout -------------------------------------------------- */

typedef struct ticks ticks;

static void tick_label(const ticks *t, int k, char *buf, size_t size)
{
    double v = t->first + k * t->step;
    if (fabs(v) < t->step * 1e-6) v = 0; /* no "-0" */
    if (t->sci)
        snprintf(buf, size, "%.3g", v);
    else
        snprintf(buf, size, "%.*f", t->decimals, v);
}

static size_t widest_label(const ticks *t, int s)
{
    char buf[64];
    size_t best = 0;
    for (int k = 0; k < t->n; k++) {
        tick_label(t, k, buf, sizeof buf);
        size_t w = lt_text_width(buf, s);
        if (w > best) best = w;
    }
    return best;
}

static ticks ticks_with_step(double lo, double hi, double step)
{
    ticks t = {0};
    t.step = step;
    if (!(step > 0) || !isfinite(step)) return t; /* a window too narrow to divide */
    double eps = step * 1e-9;
    t.first = ceil((lo - eps) / step) * step;
    double nt = floor((hi + eps - t.first) / step) + 1;
    t.n = !isfinite(nt) || nt < 1 ? 0 : nt > 50 ? 50 : (int)nt;
    int dec = (int)-floor(log10(step) + 1e-9);
    t.decimals = dec < 0 ? 0 : dec;
    t.sci = fmax(fabs(lo), fabs(hi)) >= 1e6 || t.decimals > 5;
    return t;
}

/* About five ticks on [lo, hi] at multiples of 1, 2 or 5 times a power of
 * ten; fewer when their labels would crowd: `len_px` is the axis length,
 * horizontal labels need their width plus two glyphs between them, vertical
 * ones one and a half line heights. */
static ticks make_ticks(double lo, double hi, double len_px, int s, int horizontal)
{
    double raw = (hi - lo) / 5;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    int mant = f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10;
    ticks t = ticks_with_step(lo, hi, mant * mag);
    for (int guard = 0; guard < 60 && t.n > 2; guard++) {
        double room = t.step / (hi - lo) * len_px;
        double need =
            horizontal ? (double)widest_label(&t, s) + 2.0 * ADVANCE * s : 1.5 * LINE_H * s;
        if (room >= need) break;
        mant = mant == 1 ? 2 : mant == 2 ? 5 : 10;
        if (mant == 10) {
            mant = 1;
            mag *= 10;
        }
        t = ticks_with_step(lo, hi, mant * mag);
    }
    return t;
}

static int title_scale(int s) { return s + 1; }
static long tick_len(int s) { return 2 + 2L * s; }

static void layout(lt_canvas *c)
{
    int s = c->s;
    size_t pad = 4 * (size_t)s;
    size_t top = 9 * (size_t)title_scale(s) + 3 * pad;
    /* tick, gap, tick labels, gap, axis label with descenders, pad */
    size_t bottom =
        (size_t)tick_len(s) + 2 * (size_t)s + 9 * (size_t)s + 3 * (size_t)s + 9 * (size_t)s + pad;
    /* a canvas too small for full margins keeps at least half for data */
    if (top + bottom > c->h / 2) top = bottom = c->h / 8;
    c->ay = top;
    c->ah = c->h - top - bottom;
    c->ty = make_ticks(c->ymin, c->ymax, (double)c->ah, s, 0);
    size_t left = pad + 9 * (size_t)s + 3 * (size_t)s + widest_label(&c->ty, s) + 2 * (size_t)s +
                  (size_t)tick_len(s);
    /* the right margin holds half the last x label, whose ticks depend on
     * the width left: settle both in a few rounds */
    size_t right = 2 * pad;
    for (int round = 0; round < 3; round++) {
        size_t l = left, r = right;
        if (l + r > c->w / 2) l = r = c->w / 8;
        c->tx = make_ticks(c->xmin, c->xmax, (double)(c->w - l - r), s, 1);
        right = widest_label(&c->tx, s) / 2 + 2 * pad;
    }
    if (left + right > c->w / 2) left = right = c->w / 8;
    c->ax = left;
    c->aw = c->w - left - right;
}

/* ---- public ------------------------------------------------------------ */

lt_status lt_canvas_create(size_t width, size_t height, lt_canvas **out)
{
    if (!out) return lt_fail(LT_ERR_INVALID, "canvas: no output pointer");
    *out = NULL;
    if (width < 16 || height < 16 || width > 16384 || height > 16384)
        return lt_fail(LT_ERR_INVALID, "canvas: size %zu x %zu is out of range (16..16384 a side)",
                       width, height);
    lt_canvas *c = lt_calloc(1, sizeof *c);
    if (!c) return LT_ERR_NOMEM;
    c->rgb = lt_malloc(width * height, 3);
    c->cover = lt_calloc(width * height, sizeof *c->cover);
    if (!c->rgb || !c->cover) {
        lt_canvas_free(c);
        return LT_ERR_NOMEM;
    }
    memset(c->rgb, 0xFF, width * height * 3);
    c->w = width;
    c->h = height;
    size_t m = width < height * 4 / 3 ? width : height * 4 / 3;
    c->s = (int)(m / 320);
    if (c->s < 1) c->s = 1;
    if (c->s > 4) c->s = 4;
    c->xmin = c->ymin = 0;
    c->xmax = c->ymax = 1;
    layout(c);
    *out = c;
    return LT_OK;
}

void lt_canvas_free(lt_canvas *c)
{
    if (!c) return;
    free(c->rgb);
    free(c->cover);
    free(c);
}

size_t lt_canvas_width(const lt_canvas *c) { return c ? c->w : 0; }
size_t lt_canvas_height(const lt_canvas *c) { return c ? c->h : 0; }
const uint8_t *lt_canvas_rgb(const lt_canvas *c) { return c ? c->rgb : NULL; }

uint32_t lt_canvas_get(const lt_canvas *c, size_t px, size_t py)
{
    if (!c || px >= c->w || py >= c->h) return 0;
    const uint8_t *p = c->rgb + (py * c->w + px) * 3;
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

lt_status lt_canvas_view(lt_canvas *c, double xmin, double xmax, double ymin, double ymax)
{
    if (!c) return lt_fail(LT_ERR_INVALID, "canvas view: no canvas");
    if (!isfinite(xmin) || !isfinite(xmax) || !isfinite(ymin) || !isfinite(ymax) ||
        !(xmin < xmax) || !(ymin < ymax) || !isfinite(xmax - xmin) || !isfinite(ymax - ymin))
        return lt_fail(LT_ERR_INVALID,
                       "canvas view: need finite xmin < xmax and ymin < ymax, got x [%g, %g], "
                       "y [%g, %g]",
                       xmin, xmax, ymin, ymax);
    c->xmin = xmin;
    c->xmax = xmax;
    c->ymin = ymin;
    c->ymax = ymax;
    layout(c);
    return LT_OK;
}

void lt_canvas_map(const lt_canvas *c, double x, double y, double *px, double *py)
{
    if (!c) return;
    if (px) *px = (double)c->ax + (x - c->xmin) / (c->xmax - c->xmin) * (double)c->aw;
    if (py) *py = (double)(c->ay + c->ah) - (y - c->ymin) / (c->ymax - c->ymin) * (double)c->ah;
}

void lt_canvas_plot_area(const lt_canvas *c, size_t *x0, size_t *y0, size_t *w, size_t *h)
{
    if (!c) return;
    if (x0) *x0 = c->ax;
    if (y0) *y0 = c->ay;
    if (w) *w = c->aw;
    if (h) *h = c->ah;
}

void lt_canvas_axes(lt_canvas *c, const char *xlabel, const char *ylabel)
{
    if (!c) return;
    int s = c->s;
    irect all = canvas_rect(c);
    long x0 = (long)c->ax, y0 = (long)c->ay, x1 = x0 + (long)c->aw, y1 = y0 + (long)c->ah;
    long tl = tick_len(s);
    /* frame just outside the plot area, so data never hides it */
    fill_rect(c, x0 - 1, y0 - 1, x1 + 1, y0, INK, all);
    fill_rect(c, x0 - 1, y1, x1 + 1, y1 + 1, INK, all);
    fill_rect(c, x0 - 1, y0 - 1, x0, y1 + 1, INK, all);
    fill_rect(c, x1, y0 - 1, x1 + 1, y1 + 1, INK, all);

    char buf[64];
    long label_top = y1 + 1 + tl + 2L * s;
    const ticks tx = c->tx;
    for (int k = 0; k < tx.n; k++) {
        double px;
        lt_canvas_map(c, tx.first + k * tx.step, 0, &px, NULL);
        long col = (long)floor(px);
        if (col >= x1) col = x1 - 1;
        fill_rect(c, col, y1 + 1, col + 1, y1 + 1 + tl, INK, all);
        tick_label(&tx, k, buf, sizeof buf);
        long w = (long)lt_text_width(buf, s);
        draw_text(c, col - w / 2, label_top, buf, INK, s, all);
    }
    const ticks ty = c->ty;
    long label_left = x0; /* leftmost tick label, to place the y label */
    for (int k = 0; k < ty.n; k++) {
        double py;
        lt_canvas_map(c, 0, ty.first + k * ty.step, NULL, &py);
        long row = (long)floor(py);
        if (row >= y1) row = y1 - 1;
        fill_rect(c, x0 - 1 - tl, row, x0 - 1, row + 1, INK, all);
        tick_label(&ty, k, buf, sizeof buf);
        long w = (long)lt_text_width(buf, s);
        long lx = x0 - 1 - tl - 2L * s - w;
        if (lx < label_left) label_left = lx;
        draw_text(c, lx, row - (7L * s) / 2, buf, INK, s, all);
    }
    if (xlabel && *xlabel) {
        long w = (long)lt_text_width(xlabel, s);
        draw_text(c, x0 + ((long)c->aw - w) / 2, label_top + 9L * s + 3L * s, xlabel, INK, s, all);
    }
    if (ylabel && *ylabel) {
        long len = (long)lt_text_width(ylabel, s);
        long x = label_left - 3L * s - 7L * s;
        if (x < 0) x = 0;
        draw_text_up(c, x, y0 + ((long)c->ah + len) / 2, ylabel, INK, s, all);
    }
}

void lt_canvas_title(lt_canvas *c, const char *text)
{
    if (!c || !text || !*text) return;
    int ts = title_scale(c->s);
    while (ts > 1 && lt_text_width(text, ts) > c->w - 8) ts--;
    long w = (long)lt_text_width(text, ts);
    long center = (long)c->ax + (long)c->aw / 2;
    long x = center - w / 2;
    /* keep a title that fits the canvas inside it even if not centred */
    if (x + w > (long)c->w - 4) x = (long)c->w - 4 - w;
    if (x < 4) x = 4;
    long y = ((long)c->ay - 7L * ts) / 2;
    if (y < 0) y = 0;
    draw_text(c, x, y, text, INK, ts, canvas_rect(c));
}

void lt_canvas_point(lt_canvas *c, double x, double y, double radius_px, uint32_t rgb)
{
    if (!c) return;
    double px, py;
    lt_canvas_map(c, x, y, &px, &py);
    disc(c, px, py, radius_px, rgb, plot_rect(c));
}

void lt_canvas_line(lt_canvas *c, double x0, double y0, double x1, double y1, uint32_t rgb,
                    double thickness_px)
{
    if (!c || !isfinite(thickness_px) || thickness_px <= 0) return;
    double ax, ay, bx, by;
    lt_canvas_map(c, x0, y0, &ax, &ay);
    lt_canvas_map(c, x1, y1, &bx, &by);
    irect dirty = no_rect();
    cover_segment(c, ax, ay, bx, by, thickness_px, plot_rect(c), &dirty);
    cover_flush(c, dirty, rgb);
}

lt_status lt_canvas_ellipse(lt_canvas *c, double cx, double cy, const double cov[4], double nsigma,
                            uint32_t rgb, double thickness_px)
{
    if (!c || !cov) return lt_fail(LT_ERR_INVALID, "ellipse: no canvas or covariance");
    double a = cov[0], b = 0.5 * (cov[1] + cov[2]), d = cov[3];
    if (!isfinite(cx) || !isfinite(cy) || !isfinite(a) || !isfinite(b) || !isfinite(d))
        return lt_fail(LT_ERR_INVALID, "ellipse: centre and covariance must be finite");
    if (!isfinite(nsigma) || nsigma <= 0)
        return lt_fail(LT_ERR_INVALID, "ellipse: nsigma must be positive, got %g", nsigma);
    if (!isfinite(thickness_px) || thickness_px <= 0)
        return lt_fail(LT_ERR_INVALID, "ellipse: thickness must be positive, got %g", thickness_px);
    /* eigenvalues of [[a b] [b d]]: mean +- half the spread */
    double m = 0.5 * (a + d), r = hypot(0.5 * (a - d), b);
    double l1 = m + r, l2 = m - r;
    double tol = 1e-12 * fmax(fabs(l1), 1e-300);
    if (l2 < -tol || l1 < 0)
        return lt_fail(LT_ERR_INVALID,
                       "ellipse: covariance [[%g, %g], [%g, %g]] is not positive semi-definite",
                       cov[0], cov[1], cov[2], cov[3]);
    if (l2 < 0) l2 = 0;
    /* unit eigenvector of l1; both candidate formulas are exact, pick the
     * better conditioned one */
    double vx, vy;
    if (b == 0) {
        vx = a >= d ? 1 : 0;
        vy = a >= d ? 0 : 1;
    } else if (a >= d) {
        vx = l1 - d;
        vy = b;
    } else {
        vx = b;
        vy = l1 - a;
    }
    double n = hypot(vx, vy);
    vx /= n;
    vy /= n;
    double s1 = nsigma * sqrt(l1), s2 = nsigma * sqrt(l2);
    enum { SEGMENTS = 128 };
    irect clip = plot_rect(c), dirty = no_rect();
    double pxp = 0, pyp = 0;
    for (int k = 0; k <= SEGMENTS; k++) {
        double t = 2 * 3.14159265358979323846 * (k % SEGMENTS) / SEGMENTS;
        double u = s1 * cos(t), v = s2 * sin(t);
        double px, py;
        lt_canvas_map(c, cx + u * vx - v * vy, cy + u * vy + v * vx, &px, &py);
        if (k > 0) cover_segment(c, pxp, pyp, px, py, thickness_px, clip, &dirty);
        pxp = px;
        pyp = py;
    }
    cover_flush(c, dirty, rgb);
    return LT_OK;
}

void lt_canvas_legend(lt_canvas *c, const char *const *labels, const uint32_t *colors, size_t n)
{
    if (!c || !labels || !colors || n == 0) return;
    int s = c->s;
    long row_h = 11L * s, pad = 3L * s, sw = 7L * s, gap = 3L * s;
    size_t tw = 0;
    for (size_t i = 0; i < n; i++) {
        size_t w = lt_text_width(labels[i] ? labels[i] : "", s);
        if (w > tw) tw = w;
    }
    long bw = pad + sw + gap + (long)tw + pad + s, bh = (long)n * row_h - 2L * s + 2 * pad;
    long x1 = (long)(c->ax + c->aw) - 2L * s, y0 = (long)c->ay + 2L * s;
    long x0 = x1 - bw, y1 = y0 + bh;
    irect all = canvas_rect(c);
    fill_rect(c, x0, y0, x1, y1, WHITE, all);
    fill_rect(c, x0, y0, x1, y0 + 1, MUTED, all);
    fill_rect(c, x0, y1 - 1, x1, y1, MUTED, all);
    fill_rect(c, x0, y0, x0 + 1, y1, MUTED, all);
    fill_rect(c, x1 - 1, y0, x1, y1, MUTED, all);
    for (size_t i = 0; i < n; i++) {
        long ty = y0 + pad + (long)i * row_h;
        disc(c, (double)(x0 + pad) + sw / 2.0, (double)ty + 3.5 * s, 2.5 * s, colors[i], all);
        draw_text(c, x0 + pad + sw + gap, ty, labels[i] ? labels[i] : "", INK, s, all);
    }
}

uint32_t lt_palette(size_t i)
{
    static const uint32_t colours[12] = {
        0x0072B2, /* Okabe-Ito blue */
        0xE69F00, /* orange */
        0x009E73, /* bluish green */
        0xD55E00, /* vermillion */
        0xCC79A7, /* reddish purple */
        0x56B4E9, /* sky blue */
        0x332288, /* Tol indigo */
        0x999933, /* Tol olive */
        0x882255, /* Tol wine */
        0x44AA99, /* Tol teal */
        0xDDAA33, /* Tol high-contrast yellow, dark enough for white */
        0x555555, /* dark gray */
    };
    return colours[i % 12];
}
