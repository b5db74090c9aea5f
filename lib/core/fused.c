/* The separable map Y = rows @ (gray . X + bias) @ cols^T for uint8 images, one image at a time, with
 * everything between the image and its output kept in the core's first-level cache.
 *
 * x     (n, 3, 32, 32) uint8, contiguous
 * gray  (3,) float: the channel weights, already divided by 255
 * ct    (32, 32) float: cols^T with zero columns up to 32 (the output width w <= 32)
 * rows  (h, 32) float, h <= 32
 * out   (n, h, w) float, contiguous
 *
 * The products run on 16-float vectors (GCC's vector extension, lowered to AVX-512, AVX2 or SSE as
 * the machine has), four rows at a time so that each loaded row of the right-hand matrix serves four
 * multiply-adds. Threads are the caller's: each call handles its own range of images.
 */
#include <stdint.h>
#include <string.h>

typedef float v16 __attribute__((vector_size(64)));

enum { SIDE = 32, BLOCK = 4 };

static inline v16 load(const float *p) { v16 v; memcpy(&v, p, sizeof v); return v; }
static inline void store(float *p, v16 v) { memcpy(p, &v, sizeof v); }
static inline v16 splat(float a) { return (v16){a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a}; }

/* acc[r] = a[r, :] @ m for the first nr (<= BLOCK) rows of a (row stride 32); m is 32 x 32. */
static void block_times(const float *a, int nr, const float *m, v16 acc[BLOCK][2]) {
  for (int r = 0; r < BLOCK; r++) acc[r][0] = acc[r][1] = splat(0.0f);
  for (int k = 0; k < SIDE; k++) {
    v16 m0 = load(m + k * SIDE), m1 = load(m + k * SIDE + 16);
    for (int r = 0; r < BLOCK; r++) {
      v16 s = splat(r < nr ? a[r * SIDE + k] : 0.0f);
      acc[r][0] += s * m0;
      acc[r][1] += s * m1;
    }
  }
}

void separable_u8(const uint8_t *x, int64_t n, const float *gray, float bias, const float *ct, const float *rows,
                  int h, int w, float *out) {
  float g[SIDE * SIDE] __attribute__((aligned(64)));  /* the gray image */
  float y[SIDE * SIDE] __attribute__((aligned(64)));  /* gray @ ct */
  float row[SIDE] __attribute__((aligned(64)));
  v16 acc[BLOCK][2];
  for (int64_t b = 0; b < n; b++) {
    const uint8_t *p = x + b * 3 * SIDE * SIDE;
    for (int i = 0; i < SIDE * SIDE; i++)
      g[i] = gray[0] * p[i] + gray[1] * p[SIDE * SIDE + i] + gray[2] * p[2 * SIDE * SIDE + i] + bias;
    for (int i = 0; i < SIDE; i += BLOCK) {
      block_times(g + i * SIDE, BLOCK, ct, acc);
      for (int r = 0; r < BLOCK; r++) {
        store(y + (i + r) * SIDE, acc[r][0]);
        store(y + (i + r) * SIDE + 16, acc[r][1]);
      }
    }
    float *o = out + b * h * w;
    for (int i = 0; i < h; i += BLOCK) {
      int nr = h - i < BLOCK ? h - i : BLOCK;
      block_times(rows + i * SIDE, nr, y, acc);
      for (int r = 0; r < nr; r++) {
        store(row, acc[r][0]);
        store(row + 16, acc[r][1]);
        memcpy(o + (i + r) * w, row, w * sizeof(float));
      }
    }
  }
}
