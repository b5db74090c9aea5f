/* The separable map Y = rows @ (gray . X + bias) @ cols^T for uint8 images, one image at a time, with
 * everything between the image and its output kept in the core's first-level cache.
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

void separable_u8(const uint8_t *x, int64_t n, const float *gray, float bias, const float *ct, const float *rows,
                  int h, int w, float *out) {
  float g[SIDE * SIDE] __attribute__((aligned(64)));  /* the gray image */
  float y[SIDE * SIDE] __attribute__((aligned(64)));  /* gray @ ct */
  float row[SIDE] __attribute__((aligned(64)));
  vec acc[BLOCK][PER_ROW];
  for (int64_t b = 0; b < n; b++) {
    const uint8_t *p = x + b * 3 * SIDE * SIDE;
    for (int i = 0; i < SIDE * SIDE; i++)
      g[i] = gray[0] * p[i] + gray[1] * p[SIDE * SIDE + i] + gray[2] * p[2 * SIDE * SIDE + i] + bias;
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
