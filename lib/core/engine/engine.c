/* The engine's CPU loop: a separable map kept on its band, Y[o] = A (mix[o] . X + bias[o]) B^T, for images of
 * any size, one image at a time, everything between an image and its output kept in the core's caches.
 *
 * x      (n, cin, h, w) uint8 or float, contiguous
 * mix    (cout, cin) float: the channel weights (already divided by 255 for uint8 input); bias (cout,) float
 * rows   (nrows,) int32: every input row the band reads, the only rows mixed; columns c0 <= c < c1 likewise
 * r_idx  (rt, ho) int32 and r_wt (rt, ho) float: tap t of output row i reads input row r_idx[t, i] with weight
 *        r_wt[t, i] (an output row with fewer taps has weight 0 on the rest, reading a row in `rows`)
 * cols   the column taps as LANES-wide vectors of outputs, for vector v and tap t: the inputs its lanes read lie
 *        in 2 * LANES floats from c_base[v, t], c_mask[v, t, lane] picks each lane's (one permute of two loaded
 *        vectors), weighted by c_wt[v, t, lane]: (nv, ct), (nv, ct, LANES), (nv, ct, LANES); where they lie further
 *        apart (a reduction by more than about 2x), c_base[v, t] is -1 and the mask holds each lane's column, read
 *        one by one (`wide` says whether any is); lib/core/engine/cpu.py lays them out
 * lo, hi the model's output clamp (-inf, inf for none)
 * lut    NULL, or (256,) float: a table on the input's 8-bit levels applied to every input pixel before the mix
 *        (float input is taken at its nearest level, ties to even); the mix then takes the table's values as they are
 * curve  NULL, or (ncurve,) float: a curve on the map's output before the clamp, its values at ncurve equally spaced
 *        points from curve_lo to curve_hi, linear between them and constant beyond
 * perm   NULL, or (cout * ho * wo,) int32: where each output pixel goes in its image's output (a quarter turn, a
 *        transpose): output (o, i, j) is written at perm[(o * ho + i) * wo + j]
 * ptrs   NULL, or (n,) pointers: image i is at ptrs[i] instead of x + i * cin * h * w (a list of images of one
 *        size, run without stacking them first)
 * g      (h * w + LANES) float, acc (ROWS * (w + 2 * LANES)) float: the caller's scratch, one of each per thread,
 *        zeroed once (the loop reads up to a vector past what it wrote, with weight 0)
 * out    (n, cout, ho, wo) float, or uint8 rounded to the nearest level (rint: ties to even, as torch.round)
 *
 * Per image and output channel: the mixed image into g (only the rows and columns the band reads); then ROWS
 * output rows at a time, each the weighted sum of its input rows (whole rows of multiply-adds, into acc), and
 * their columns LANES outputs at a time, a permute and a multiply-add per tap; the ROWS rows share each tap's
 * mask and weights and are independent chains of multiply-adds. The arithmetic is the band's alone: cin h w +
 * rt ho w + ct ho wo multiply-adds an image and output channel. LANES follows the machine's vectors (16 floats
 * for AVX-512, 8 for AVX2; set by lib/core/engine.py). Threads are the caller's: each call takes its own images.
 */
#include <stdint.h>
#include <string.h>

#ifndef LANES
#define LANES 16
#endif
#define ROWS 4
/* A build for one plan's shape fixes its sizes (-DSPECIALISE="cin=3;h=32;..."; lib/core/engine.py): the compiler
 * then unrolls the short loops of small images, about twice as fast at 32x32. The generic build takes any. */
#ifndef SPECIALISE
#define SPECIALISE
#endif

typedef float vec __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t ivec __attribute__((vector_size(LANES * sizeof(int32_t))));

static inline vec load(const float *p) { vec v; memcpy(&v, p, sizeof v); return v; }
static inline vec splat(float a) { return (vec){0} + a; }

static inline vec pick(const float *z, ivec mask) {
  vec lo = load(z), hi = load(z + LANES);
#if defined(__clang__) /* clang's shuffles take constant masks only: pick lane by lane */
  vec v;
  for (int l = 0; l < LANES; l++) v[l] = mask[l] < LANES ? lo[mask[l]] : hi[mask[l] - LANES];
  return v;
#else
  return __builtin_shuffle(lo, hi, mask);
#endif
}

static inline vec gather(const float *z, ivec at) {
  vec v;
  for (int l = 0; l < LANES; l++) v[l] = z[at[l]];
  return v;
}

typedef uint8_t bvec __attribute__((vector_size(LANES)));


static inline vec vmax(vec a, vec b) {
  ivec m = a > b;
  return (vec)((m & (ivec)a) | (~m & (ivec)b));
}
static inline vec vmin(vec a, vec b) {
  ivec m = a < b;
  return (vec)((m & (ivec)a) | (~m & (ivec)b));
}

/* What comes after the linear map: the curve, the clamp, and where each output lands. */
typedef struct {
  int clamp;
  float lo, hi;
  const float *curve; /* NULL for none */
  int ncurve;
  float curve_lo, curve_scale; /* position along the curve: (s - curve_lo) * curve_scale */
  const int32_t *perm;         /* NULL for none */
} post_t;

static inline vec finish(vec s, const post_t *q) {
  if (q->curve) {
    const float top = (float)(q->ncurve - 1);
    for (int l = 0; l < LANES; l++) {
      float pos = (s[l] - q->curve_lo) * q->curve_scale;
      pos = pos < 0.0f ? 0.0f : (pos > top ? top : pos);
      int i = (int)pos;
      if (i > q->ncurve - 2) i = q->ncurve - 2;
      const float f = pos - (float)i, a = q->curve[i];
      s[l] = a + f * (q->curve[i + 1] - a);
    }
  }
  if (q->clamp) s = vmin(vmax(s, splat(q->lo)), splat(q->hi));
  return s;
}

/* One vector of outputs into place: the first n lanes (n = LANES but at a row's end) of the outputs from flat index
 * `at` of an image's output `img`, after the curve and clamp; scattered by the permutation where there is one. */
static inline void put_f32(float *img, int64_t at, vec s, int n, const post_t *q, int use_perm) {
  s = finish(s, q);
  if (use_perm)
    for (int j = 0; j < n; j++) img[q->perm[at + j]] = s[j];
  else if (n == LANES)
    memcpy(img + at, &s, sizeof s);
  else
    for (int j = 0; j < n; j++) img[at + j] = s[j];
}

/* As 8-bit levels: round(s * 255) to the nearest, ties to even (adding and taking away 1.5 * 2^23 rounds a float
 * below 2^22 in magnitude to an integer in the default rounding mode), then clipped to 0..255. */
static inline void put_u8(uint8_t *img, int64_t at, vec s, int n, const post_t *q, int use_perm) {
  s = finish(s, q);
  const vec magic = splat(12582912.0f);
  vec r = vmin(vmax(s * 255.0f, splat(-1.0f)), splat(256.0f));
  r = vmin(vmax((r + magic) - magic, splat(0.0f)), splat(255.0f));
  bvec b = __builtin_convertvector(__builtin_convertvector(r, ivec), bvec);
  if (use_perm)
    for (int j = 0; j < n; j++) img[q->perm[at + j]] = b[j];
  else if (n == LANES)
    memcpy(img + at, &b, sizeof b);
  else
    for (int j = 0; j < n; j++) img[at + j] = b[j];
}

/* The mixed image g = bias + sum_k m[k] x[k] over pixels [from, to) of each channel plane; with a table, each pixel
 * is first its level's entry (LEVEL: the pixel's level, 0..255). */
#define LEVEL_uint8_t(v) (v)
#define LEVEL_float(v) ((int)__builtin_rintf(((v) > 0.0f ? ((v) < 1.0f ? (v) : 1.0f) : 0.0f) * 255.0f))
#define MIX(IN_T)                                                                                              \
  static inline void mix_##IN_T(const IN_T *p, int cin, int64_t pixels, const float *m, float b, float *g,      \
                                int64_t from, int64_t to, const float *lut, int use_lut) {                     \
    const float m0 = m[0];                                                                                     \
    if (use_lut) {                                                                                             \
      for (int64_t q = from; q < to; q++) g[q] = b + m0 * lut[LEVEL_##IN_T(p[q])];                             \
      for (int k = 1; k < cin; k++) {                                                                          \
        const IN_T *pk = p + k * pixels;                                                                       \
        const float mk = m[k];                                                                                 \
        if (mk != 0.0f)                                                                                        \
          for (int64_t q = from; q < to; q++) g[q] += mk * lut[LEVEL_##IN_T(pk[q])];                           \
      }                                                                                                        \
      return;                                                                                                  \
    }                                                                                                          \
    for (int64_t q = from; q < to; q++) g[q] = b + m0 * (float)p[q];                                           \
    for (int k = 1; k < cin; k++) {                                                                            \
      const IN_T *pk = p + k * pixels;                                                                         \
      const float mk = m[k];                                                                                   \
      if (mk != 0.0f)                                                                                          \
        for (int64_t q = from; q < to; q++) g[q] += mk * (float)pk[q];                                         \
    }                                                                                                          \
  }
MIX(uint8_t)
MIX(float)

#define BAND(NAME, IN_T, OUT_T, PUT)                                                                           \
  void NAME(const IN_T *x, int64_t n, int cin, int h, int w, int cout, const float *mix, const float *bias,     \
            const int32_t *rows, int nrows, int c0, int c1, const int32_t *r_idx, const float *r_wt, int rt,   \
            int ho, const int32_t *c_base, const int32_t *c_mask, const float *c_wt, int ct, int wo, int wide, \
            float lo, float hi, const float *lut, const float *curve, int ncurve, float curve_lo,              \
            float curve_hi, const int32_t *perm, const void *const *ptrs, float *restrict g, float *restrict acc,  \
            OUT_T *restrict out) {                                                                             \
    int use_lut = lut != 0, use_curve = curve != 0, use_perm = perm != 0;                                      \
    SPECIALISE                                                                                                 \
    const post_t post = {lo > -__builtin_inff() || hi < __builtin_inff(), lo, hi, use_curve ? curve : 0, ncurve, \
                         curve_lo, curve_hi > curve_lo ? (ncurve - 1) / (curve_hi - curve_lo) : 0.0f,          \
                         use_perm ? perm : 0};                                                                 \
    const int64_t pixels = (int64_t)h * w;                                                                     \
    const int span = c1 - c0, stride = w + 2 * LANES, nv = (wo + LANES - 1) / LANES;                           \
    const int whole = span == w && rows[nrows - 1] - rows[0] == nrows - 1;                                     \
    for (int64_t img = 0; img < n; img++) {                                                                    \
      const IN_T *p = ptrs ? (const IN_T *)ptrs[img] : x + img * cin * pixels;                                 \
      for (int o = 0; o < cout; o++) {                                                                         \
        const float *m = mix + o * cin;                                                                        \
        const float b = bias[o];                                                                               \
        if (whole) /* the rows read are one block of whole rows: one pass over it */                          \
          mix_##IN_T(p, cin, pixels, m, b, g, (int64_t)rows[0] * w, ((int64_t)rows[nrows - 1] + 1) * w, lut,  \
                     use_lut);                                                                                 \
        else                                                                                                   \
          for (int r = 0; r < nrows; r++)                                                                      \
            mix_##IN_T(p, cin, pixels, m, b, g, (int64_t)rows[r] * w + c0, (int64_t)rows[r] * w + c1, lut,     \
                       use_lut);                                                                               \
        OUT_T *oimg = out + img * cout * (int64_t)ho * wo;                                                     \
        for (int i0 = 0; i0 < ho; i0 += ROWS) {                                                                \
          const int nr = ho - i0 < ROWS ? ho - i0 : ROWS;                                                      \
          for (int c = c0; c < c1; c += LANES) { /* ROWS rows' sums: independent chains of multiply-adds */     \
            vec a[ROWS];                                                                                       \
            for (int r = 0; r < ROWS; r++) a[r] = splat(0.0f);                                                 \
            for (int t = 0; t < rt; t++)                                                                       \
              for (int r = 0; r < ROWS; r++) {                                                                 \
                const int at = t * ho + i0 + (r < nr ? r : 0); /* past the last row: row i0 again, unstored */ \
                a[r] += splat(r_wt[at]) * load(g + (int64_t)r_idx[at] * w + c);                               \
              }                                                                                                \
            for (int r = 0; r < nr; r++) memcpy(acc + r * stride + c, &a[r], sizeof a[r]);                     \
          }                                                                                                    \
          for (int v = 0; v < nv; v++) {                                                                       \
            vec sum[ROWS];                                                                                     \
            for (int r = 0; r < ROWS; r++) sum[r] = splat(0.0f);                                               \
            for (int t = 0; t < ct; t++) {                                                                     \
              const int at = v * ct + t;                                                                       \
              ivec mask;                                                                                       \
              memcpy(&mask, c_mask + at * LANES, sizeof mask);                                                 \
              const vec wt = load(c_wt + at * LANES);                                                          \
              if (!wide || c_base[at] >= 0) {                                                                  \
                const float *z = acc + c_base[at];                                                             \
                for (int r = 0; r < ROWS; r++) sum[r] += wt * pick(z + r * stride, mask);                      \
              } else /* lanes too far apart for one permute: the mask holds their columns */                 \
                for (int r = 0; r < ROWS; r++) sum[r] += wt * gather(acc + r * stride, mask);                  \
            }                                                                                                  \
            const int left = wo - v * LANES < LANES ? wo - v * LANES : LANES;                                  \
            for (int r = 0; r < nr; r++)                                                                       \
              PUT(oimg, ((int64_t)o * ho + i0 + r) * wo + v * LANES, sum[r], left, &post, use_perm);          \
          }                                                                                                    \
        }                                                                                                      \
      }                                                                                                        \
    }                                                                                                          \
  }

BAND(band_u8_f32, uint8_t, float, put_f32)
BAND(band_u8_u8, uint8_t, uint8_t, put_u8)
BAND(band_f32_f32, float, float, put_f32)
BAND(band_f32_u8, float, uint8_t, put_u8)
