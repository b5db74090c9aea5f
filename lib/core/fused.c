/* The separable map Y = rows @ (gray . X + bias) @ cols^T for uint8 images, one image at a time, with
 * everything between the image and its output kept in the core's first-level cache: separable_u8 for dense
 * rows and cols, banded_u8 for rows and cols kept on a band (below).
 *
 * x     (n, 3, 32, 32) uint8, contiguous
 * gray  (3,) float: the channel weights, already divided by 255
 * ct    (32, 32) float: cols^T with zero columns up to 32 (the output width w <= 32)
 * rows  (h, 32) float, h <= 32
 * out   (n, h, w) float, contiguous
 *
 * The products run on LANES-float vectors (GCC's vector extension), BLOCK rows at a time so that each
 * loaded row of the right-hand matrix serves BLOCK multiply-adds. Both are set at compile time for the
 * machine's registers (lib/core/fused.py): BLOCK x 32/LANES accumulators plus 32/LANES loaded vectors must
 * fit in them, 16 floats x 4 rows for AVX-512's 32 vector registers, 8 floats x 2 rows for AVX2's 16.
 * Every output is the same sum in the same order whatever the two are, so every build gives the same
 * numbers. Threads are the caller's: each call handles its own range of images.
 */
#include <stdint.h>
#include <string.h>

#ifndef LANES
#define LANES 16
#endif
#ifndef BLOCK
#define BLOCK 4
#endif

typedef float vec __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t ivec __attribute__((vector_size(LANES * sizeof(int32_t))));

enum { SIDE = 32, PER_ROW = SIDE / LANES };

static inline vec load(const float *p) { vec v; memcpy(&v, p, sizeof v); return v; }
static inline void store(float *p, vec v) { memcpy(p, &v, sizeof v); }
static inline vec splat(float a) { return (vec){0} + a; }

/* acc[r] = a[r, :] @ m for the first nr (<= BLOCK) rows of a (row stride 32); m is 32 x 32. */
static void block_times(const float *a, int nr, const float *m, vec acc[BLOCK][PER_ROW]) {
  for (int r = 0; r < BLOCK; r++)
    for (int v = 0; v < PER_ROW; v++) acc[r][v] = splat(0.0f);
  for (int k = 0; k < SIDE; k++) {
    vec mk[PER_ROW];
    for (int v = 0; v < PER_ROW; v++) mk[v] = load(m + k * SIDE + v * LANES);
    for (int r = 0; r < BLOCK; r++) {
      vec s = splat(r < nr ? a[r * SIDE + k] : 0.0f);
      for (int v = 0; v < PER_ROW; v++) acc[r][v] += s * mk[v];
    }
  }
}

static void store_row(float *dst, vec acc[PER_ROW]) {
  for (int v = 0; v < PER_ROW; v++) store(dst + v * LANES, acc[v]);
}

/* The gray image of one uint8 image, with the bias added. */
static void gray_image(const uint8_t *p, const float *gray, float bias, float *g) {
  for (int i = 0; i < SIDE * SIDE; i++)
    g[i] = gray[0] * p[i] + gray[1] * p[SIDE * SIDE + i] + gray[2] * p[2 * SIDE * SIDE + i] + bias;
}

void separable_u8(const uint8_t *x, int64_t n, const float *gray, float bias, const float *ct, const float *rows,
                  int h, int w, float *out) {
  float g[SIDE * SIDE] __attribute__((aligned(64)));  /* the gray image */
  float y[SIDE * SIDE] __attribute__((aligned(64)));  /* gray @ ct */
  float row[SIDE] __attribute__((aligned(64)));
  vec acc[BLOCK][PER_ROW];
  for (int64_t b = 0; b < n; b++) {
    gray_image(x + b * 3 * SIDE * SIDE, gray, bias, g);
    for (int i = 0; i < SIDE; i += BLOCK) {
      block_times(g + i * SIDE, BLOCK, ct, acc);
      for (int r = 0; r < BLOCK; r++) store_row(y + (i + r) * SIDE, acc[r]);
    }
    float *o = out + b * h * w;
    for (int i = 0; i < h; i += BLOCK) {
      int nr = h - i < BLOCK ? h - i : BLOCK;
      block_times(rows + i * SIDE, nr, y, acc);
      for (int r = 0; r < nr; r++) {
        store_row(row, acc[r]);
        memcpy(o + (i + r) * w, row, w * sizeof(float));
      }
    }
  }
}

/* The same map with rows and cols kept on a band of k taps an output (shorter supports padded with zero
 * weights). Rows first: output row i is sum_t row_w[i, t] * g[row_idx[i, t], :], k multiply-adds of whole
 * gray rows. Then columns, LANES outputs at a time: for output vector o and tap t, the inputs it reads lie
 * in 2 * LANES floats of that row from col_base[o, t] on, and col_mask[o, t] picks each lane's input from
 * them (one permute of two loaded vectors), weighted by col_w[o, t]. The plan is made in lib/core/fused.py.
 * Rows go BAND_ROWS at a time, so that each tap's mask and weights serve several rows and the rows' sums
 * are independent chains of multiply-adds (one row alone waits on each multiply-add's latency).
 *
 * row_idx, row_w  (h, k)                       col_base  (ceil(w / LANES), k)
 * col_mask, col_w (ceil(w / LANES), k, LANES)
 */
static inline vec pick(const float *z, ivec mask) {
  vec lo = load(z), hi = load(z + LANES);
#if defined(__clang__)  /* clang's shuffles take constant masks only: pick lane by lane */
  vec v;
  for (int l = 0; l < LANES; l++) v[l] = mask[l] < LANES ? lo[mask[l]] : hi[mask[l] - LANES];
  return v;
#else
  return __builtin_shuffle(lo, hi, mask);
#endif
}

#ifndef BAND_ROWS
#define BAND_ROWS 4
#endif

void banded_u8(const uint8_t *x, int64_t n, const float *gray, float bias, int k, const int32_t *row_idx,
               const float *row_w, const int32_t *col_base, const int32_t *col_mask, const float *col_w, int h,
               int w, float *out) {
  float g[SIDE * SIDE] __attribute__((aligned(64)));
  float z[BAND_ROWS][SIDE + 2 * LANES] __attribute__((aligned(64)));  /* rows of rows @ g, zeros after each */
  memset(z, 0, sizeof z);
  int nv = (w + LANES - 1) / LANES;
  for (int64_t b = 0; b < n; b++) {
    gray_image(x + b * 3 * SIDE * SIDE, gray, bias, g);
    float *o = out + b * h * w;
    for (int i0 = 0; i0 < h; i0 += BAND_ROWS) {
      int nr = h - i0 < BAND_ROWS ? h - i0 : BAND_ROWS;
      for (int r = 0; r < nr; r++) {
        int i = i0 + r;
        vec acc[PER_ROW];
        for (int v = 0; v < PER_ROW; v++) acc[v] = splat(0.0f);
        for (int t = 0; t < k; t++) {
          vec s = splat(row_w[i * k + t]);
          const float *src = g + row_idx[i * k + t] * SIDE;
          for (int v = 0; v < PER_ROW; v++) acc[v] += s * load(src + v * LANES);
        }
        store_row(z[r], acc);
      }
      for (int v = 0; v < nv; v++) {
        vec sum[BAND_ROWS];
        for (int r = 0; r < BAND_ROWS; r++) sum[r] = splat(0.0f);
        for (int t = 0; t < k; t++) {
          int at = v * k + t;
          ivec mask;
          memcpy(&mask, col_mask + at * LANES, sizeof mask);
          vec wt = load(col_w + at * LANES);
          for (int r = 0; r < BAND_ROWS; r++) sum[r] += wt * pick(z[r] + col_base[at], mask);
        }
        int left = w - v * LANES < LANES ? w - v * LANES : LANES;
        for (int r = 0; r < nr; r++) {
          float *dst = o + (i0 + r) * w + v * LANES;
          if (left == LANES)
            store(dst, sum[r]);
          else
            memcpy(dst, &sum[r], left * sizeof(float));
        }
      }
    }
  }
}

/* band_any_u8: a banded map on images of any size and channel count, one output channel.
 *
 * x      (n, cin, h, w) uint8, contiguous
 * mix    (cin,) float: the channel weights, already divided by 255; bias: added to the mixed image
 * r_idx  (rt, ho) int32 and r_wt (rt, ho) float: tap t of output row i reads input row r_idx[t, i] with
 *        weight r_wt[t, i] (a row with fewer taps has weight 0 on the rest)
 * c_idx  (ct, wo) int32 and c_wt (ct, wo) float: the same for the columns
 * g      (h * w) float and acc (w) float: the caller's scratch, one of each per thread
 * out    (n, ho, wo) float, contiguous
 *
 * Per image: the mixed image into g (one pass over the pixels), then per output row the weighted sum of its
 * input rows into acc (whole rows at a time), then each output pixel the weighted sum of its input columns
 * of acc. Every loop runs over contiguous memory except the columns' reads of acc, which gather; the
 * compiler vectorises all of them for the machine's own instructions (-O3 -march=native). The arithmetic is
 * the band's alone: cin h w + rt ho w + ct ho wo multiply-adds an image, where the full products take
 * ho h w + ho w wo, which grows with the cube of the side. */
void band_any_u8(const uint8_t *x, int64_t n, int cin, int h, int w, const float *mix, float bias,
                 const int32_t *r_idx, const float *r_wt, int rt, int ho, const int32_t *c_idx,
                 const float *c_wt, int ct, int wo, float *restrict g, float *restrict acc, float *restrict out) {
  const int64_t pixels = (int64_t)h * w;
  for (int64_t img = 0; img < n; img++) {
    const uint8_t *p = x + img * cin * pixels;
    for (int64_t q = 0; q < pixels; q++) g[q] = bias + mix[0] * (float)p[q];
    for (int k = 1; k < cin; k++) {
      const uint8_t *pk = p + k * pixels;
      const float m = mix[k];
      for (int64_t q = 0; q < pixels; q++) g[q] += m * (float)pk[q];
    }
    float *o = out + img * (int64_t)ho * wo;
    for (int i = 0; i < ho; i++) {
      const float *src = g + (int64_t)r_idx[i] * w;
      const float a0 = r_wt[i];
      for (int c = 0; c < w; c++) acc[c] = a0 * src[c];
      for (int t = 1; t < rt; t++) {
        const float *s = g + (int64_t)r_idx[t * ho + i] * w;
        const float a = r_wt[t * ho + i];
        for (int c = 0; c < w; c++) acc[c] += a * s[c];
      }
      float *row = o + (int64_t)i * wo;
      for (int j = 0; j < wo; j++) row[j] = c_wt[j] * acc[c_idx[j]];
      for (int t = 1; t < ct; t++) {
        const int32_t *ci = c_idx + t * wo;
        const float *cw = c_wt + t * wo;
        for (int j = 0; j < wo; j++) row[j] += cw[j] * acc[ci[j]];
      }
    }
  }
}
