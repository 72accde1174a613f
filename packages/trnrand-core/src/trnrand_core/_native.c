/* Ahead-of-time compiled CPU kernels (docs/design.md, "small calls" and "large calls").
 *
 * The element formulas of the numba kernels of trnrand_core._samplers (uniform, normal,
 * exponential, bernoulli, randint with one word per element, raw words, gamma, beta,
 * dirichlet), written in C so that a small call costs one C call instead of a numba
 * dispatch, a large call runs SIMD Philox on the thread pool without the GIL, and a
 * process draws without importing numba. Every kernel writes elements first ..
 * first + n - 1 of a call that starts at first-pass block `block` into the buffer at
 * `address`; tests/core/test_compiled.py checks each one against its numba kernel bit
 * for bit. The front end of small calls (small_call) is at the end of the file.
 *
 * Floating-point rules: float32 arithmetic stays float32 (FLT_EVAL_METHOD 0 on x86-64
 * and aarch64), and the build passes -ffp-contract=off so that no multiply-add is
 * fused (numba's kernels do not fuse either); -fno-math-errno and -fno-trapping-math
 * change no value (they let sqrt be an instruction and selects be vectorised). float64
 * logarithms, sines, cosines and exponentials are libm's, as in numba's kernels.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define INLINE static inline __attribute__((always_inline))
#else
#define INLINE static inline
#endif
#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict /* MSVC's C spells it so */
#endif

#define M0 0xD2511F53u
#define M1 0xCD9E8D57u
#define W0 0x9E3779B9u
#define W1 0xBB67AE85u

/* Philox4x32-10 of the counter (c0, c1, c2, c3) under the key (k0, k1). */
static void philox(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                   uint32_t k1, uint32_t x[4]) {
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)M0 * c0;
        uint64_t p1 = (uint64_t)M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c0 = n0;
        c1 = (uint32_t)p1;
        c2 = n2;
        c3 = (uint32_t)p0;
        k0 += W0;
        k1 += W1;
    }
    x[0] = c0;
    x[1] = c1;
    x[2] = c2;
    x[3] = c3;
}

/* The four words of first-pass block `b` (counter (b mod 2**32, b >> 32, 0, 0)). */
static void block_words(uint32_t k0, uint32_t k1, uint64_t b, uint32_t x[4]) {
    philox((uint32_t)b, (uint32_t)(b >> 32), 0, 0, k0, k1, x);
}

/* The words of retry attempt `a` of the sub-draw at call word `word` (stream section 5). */
static void retry_words(uint32_t k0, uint32_t k1, uint64_t block, uint64_t word, uint32_t a,
                        uint32_t x[4]) {
    uint64_t b = block + (word >> 2);
    philox((uint32_t)b, (uint32_t)(b >> 32), a, (uint32_t)(word & 3), k0, k1, x);
}

static uint32_t retry_word0(uint32_t k0, uint32_t k1, uint64_t block, uint64_t word, uint32_t a) {
    uint32_t x[4];
    retry_words(k0, k1, block, word, a, x);
    return x[0];
}

/* -- conversions (trnrand_core._conversions) ---------------------------------------- */
INLINE float u24(uint32_t x) { return (float)(int32_t)(x >> 8) * 0x1p-24f; }
INLINE float open_u23(uint32_t x) { return ((float)(int32_t)(x >> 9) + 0.5f) * 0x1p-23f; }
INLINE double merged53(uint32_t a, uint32_t b) {
    return (double)(int32_t)(a >> 5) * 67108864.0 + (double)(int32_t)(b >> 6);
}
INLINE double u53(uint32_t a, uint32_t b) { return merged53(a, b) * 0x1p-53; }
INLINE double open_u53(uint32_t a, uint32_t b) { return (merged53(a, b) + 0.5) * 0x1p-53; }

/* -- float32 log and sincos (trnrand_core._samplers._fastmath) ---------------------- */
INLINE float f32_of(int32_t bits) {
    float f;
    memcpy(&f, &bits, 4);
    return f;
}
INLINE int32_t bits_of(float f) {
    int32_t i;
    memcpy(&i, &f, 4);
    return i;
}

INLINE float log32(float x) {
    const float ln2_hi = f32_of(bits_of(0.6931471805599453f) & -4096);
    const float ln2_lo = (float)(0.6931471805599453 - (double)ln2_hi);
    int32_t bits = (int32_t)((uint32_t)bits_of(x) - 0x3F3504F3u);
    float e = (float)(bits >> 23);
    float m = f32_of((int32_t)((uint32_t)(bits & 0x007FFFFF) + 0x3F3504F3u));
    float f = m - 1.0f;
    float s = f / (2.0f + f);
    float z = s * s;
    float r = z * ((float)(2.0 / 3) +
                   z * ((float)(2.0 / 5) + z * ((float)(2.0 / 7) + z * (float)(2.0 / 9))));
    float hfsq = 0.5f * f * f;
    return e * ln2_hi + (f - (hfsq - (s * (hfsq + r) + e * ln2_lo)));
}

/* (sin, cos) of q pi/2 + t from s = sin t and c = cos t, exactly. */
INLINE void quadrant(int32_t q, float s, float c, float *sin_v, float *cos_v) {
    float a = (q & 1) ? c : s;
    float b = (q & 1) ? s : c;
    *sin_v = (q & 2) ? -a : a;
    *cos_v = ((q + 1) & 2) ? -b : b;
}

static void quadrant64(int32_t q, double s, double c, double *sin_v, double *cos_v) {
    double a = (q & 1) ? c : s;
    double b = (q & 1) ? s : c;
    *sin_v = (q & 2) ? -a : a;
    *cos_v = ((q + 1) & 2) ? -b : b;
}

/* (sin, cos) of 2 pi y / 2**24 for an integer 0 <= y < 2**24. */
INLINE void sincos_turns(int32_t y, float *sin_v, float *cos_v) {
    const float turn24 = (float)(2.0 * 3.141592653589793 / 16777216.0);
    int32_t q = (y + (1 << 21)) >> 22;
    float t = (float)(y - (q << 22)) * turn24;
    float z = t * t;
    float s = t + t * (z * ((float)(-1.0 / 6) +
                            z * ((float)(1.0 / 120) +
                                 z * ((float)(-1.0 / 5040) + z * (float)(1.0 / 362880)))));
    float c = 1.0f - 0.5f * z +
              z * z * ((float)(1.0 / 24) +
                       z * ((float)(-1.0 / 720) +
                            z * ((float)(1.0 / 40320) + z * (float)(-1.0 / 3628800))));
    quadrant(q, s, c, sin_v, cos_v);
}

/* float64 (sin, cos) of 2 pi y / 2**53 for an integer 0 <= y < 2**53 (libm on the
 * remainder angle after the exact quadrant reduction). */
static void sincos_turns53(int64_t y, double *sin_v, double *cos_v) {
    int64_t q = (y + ((int64_t)1 << 50)) >> 51;
    double t = (double)(y - (q << 51)) * (2.0 * 3.141592653589793 / 9007199254740992.0);
    quadrant64((int32_t)(q & 3), sin(t), cos(t), sin_v, cos_v);
}

/* -- words in batches ----------------------------------------------------------------
 * batch_words writes the words of consecutive first-pass blocks in stream order. On
 * x86-64 it runs many blocks at once in SIMD registers, chosen when the module loads:
 * AVX-512 (32 blocks: 4 registers of 8) or AVX2 (8 blocks: 2 registers of 4), else one
 * block at a time. Each block's counter words sit in the low halves of 64-bit lanes, so
 * one vpmuludq gives the whole 32 x 32 -> 64-bit product of every lane and the stray
 * high halves never reach a product (vpmuludq reads only the low halves). The element
 * loops below are plain C loops over those words, compiled for each of the three
 * (target_clones) so that the compiler vectorises them.
 */
#define BATCH_BLOCKS 64
#define BATCH_WORDS (4 * BATCH_BLOCKS)

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define X86_SIMD 1
#if defined(__linux__) && defined(__GLIBC__) /* target_clones needs glibc's ifunc */
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef MULTIVERSION
#define MULTIVERSION
#endif

/* Blocks one SIMD call computes (1: no SIMD) and its name, chosen when the module loads. */
static int simd_blocks = 1;
static const char *simd_name = "none";

#ifdef X86_SIMD
#define AVX512_GROUPS 4 /* independent registers per round: hides the multiply latency */
#define AVX2_GROUPS 2

/* The 32 words of first-pass blocks b .. b + 31, in stream order, into w. */
__attribute__((target("avx512f"))) static void blocks_avx512(uint32_t k0, uint32_t k1,
                                                              uint64_t b, uint32_t *w) {
    const __m512i m0 = _mm512_set1_epi64(M0), m1 = _mm512_set1_epi64(M1);
    const __m512i step = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    __m512i c0[AVX512_GROUPS], c1[AVX512_GROUPS], c2[AVX512_GROUPS], c3[AVX512_GROUPS];
    for (int g = 0; g < AVX512_GROUPS; g++) {
        __m512i counter = _mm512_add_epi64(_mm512_set1_epi64((long long)(b + 8 * g)), step);
        c0[g] = counter;
        c1[g] = _mm512_srli_epi64(counter, 32);
        c2[g] = c3[g] = _mm512_setzero_si512();
    }
    for (int r = 0; r < 10; r++) {
        const __m512i ka = _mm512_set1_epi64(k0), kb = _mm512_set1_epi64(k1);
        for (int g = 0; g < AVX512_GROUPS; g++) {
            __m512i p0 = _mm512_mul_epu32(c0[g], m0), p1 = _mm512_mul_epu32(c2[g], m1);
            c0[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c1[g], ka, 0x96);
            c2[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c3[g], kb, 0x96);
            c1[g] = p1;
            c3[g] = p0;
        }
        k0 += W0;
        k1 += W1;
    }
    const __m512i first4 = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
    const __m512i last4 = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
    for (int g = 0; g < AVX512_GROUPS; g++) { /* words (0, 1) and (2, 3) per 64-bit lane */
        __m512i a = _mm512_mask_blend_epi32(0xAAAA, c0[g], _mm512_slli_epi64(c1[g], 32));
        __m512i d = _mm512_mask_blend_epi32(0xAAAA, c2[g], _mm512_slli_epi64(c3[g], 32));
        _mm512_storeu_si512((void *)(w + 32 * g), _mm512_permutex2var_epi64(a, first4, d));
        _mm512_storeu_si512((void *)(w + 32 * g + 16), _mm512_permutex2var_epi64(a, last4, d));
    }
}

/* The 32 words of first-pass blocks b .. b + 7, in stream order, into w. */
__attribute__((target("avx2"))) static void blocks_avx2(uint32_t k0, uint32_t k1, uint64_t b,
                                                         uint32_t *w) {
    const __m256i m0 = _mm256_set1_epi64x(M0), m1 = _mm256_set1_epi64x(M1);
    const __m256i step = _mm256_setr_epi64x(0, 1, 2, 3);
    __m256i c0[AVX2_GROUPS], c1[AVX2_GROUPS], c2[AVX2_GROUPS], c3[AVX2_GROUPS];
    for (int g = 0; g < AVX2_GROUPS; g++) {
        __m256i counter = _mm256_add_epi64(_mm256_set1_epi64x((long long)(b + 4 * g)), step);
        c0[g] = counter;
        c1[g] = _mm256_srli_epi64(counter, 32);
        c2[g] = c3[g] = _mm256_setzero_si256();
    }
    for (int r = 0; r < 10; r++) {
        const __m256i ka = _mm256_set1_epi64x(k0), kb = _mm256_set1_epi64x(k1);
        for (int g = 0; g < AVX2_GROUPS; g++) {
            __m256i p0 = _mm256_mul_epu32(c0[g], m0), p1 = _mm256_mul_epu32(c2[g], m1);
            c0[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1[g]), ka);
            c2[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3[g]), kb);
            c1[g] = p1;
            c3[g] = p0;
        }
        k0 += W0;
        k1 += W1;
    }
    for (int g = 0; g < AVX2_GROUPS; g++) { /* words (0, 1) and (2, 3) per 64-bit lane */
        __m256i a = _mm256_blend_epi32(c0[g], _mm256_slli_epi64(c1[g], 32), 0xAA);
        __m256i d = _mm256_blend_epi32(c2[g], _mm256_slli_epi64(c3[g], 32), 0xAA);
        __m256i lo = _mm256_unpacklo_epi64(a, d), hi = _mm256_unpackhi_epi64(a, d);
        _mm256_storeu_si256((__m256i *)(w + 16 * g), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(w + 16 * g + 8),
                            _mm256_permute2x128_si256(lo, hi, 0x31));
    }
}
#endif

/* simd_blocks blocks from b into w (their 4 * simd_blocks words). */
static void simd_words(uint32_t k0, uint32_t k1, uint64_t b, uint32_t *w) {
#ifdef X86_SIMD
    if (simd_blocks == 8 * AVX512_GROUPS) {
        blocks_avx512(k0, k1, b, w);
    } else if (simd_blocks == 4 * AVX2_GROUPS) {
        blocks_avx2(k0, k1, b, w);
    }
#endif
}

/* w[4 i + l] = word l of first-pass block b + i, for i < count (count <= BATCH_BLOCKS). */
static void batch_words(uint32_t k0, uint32_t k1, uint64_t b, Py_ssize_t count, uint32_t *w) {
    Py_ssize_t i = 0;
    if (simd_blocks > 1) {
        for (; i + simd_blocks <= count; i += simd_blocks) {
            simd_words(k0, k1, b + (uint64_t)i, w + 4 * i);
        }
        if (i < count) { /* the last blocks, fewer than one SIMD call computes */
            uint32_t part[4 * 8 * 4];
            simd_words(k0, k1, b + (uint64_t)i, part);
            memcpy(w + 4 * i, part, (size_t)(count - i) * 16);
        }
        return;
    }
    for (; i < count; i++) {
        block_words(k0, k1, b + (uint64_t)i, w + 4 * i);
    }
}

#ifdef X86_SIMD
/* Choose the widest SIMD Philox this CPU runs, unless TRNRAND_NATIVE_SIMD names a
 * narrower one ("avx2", "none": for testing each on one machine). */
static void choose_simd(void) {
    const char *limit = getenv("TRNRAND_NATIVE_SIMD");
    if (limit != NULL && limit[0] == '\0') {
        limit = NULL;
    }
    int avx512 = limit == NULL || strcmp(limit, "avx512") == 0;
    int avx2 = avx512 || (limit != NULL && strcmp(limit, "avx2") == 0);
    __builtin_cpu_init();
    if (avx512 && __builtin_cpu_supports("avx512f")) {
        simd_blocks = 8 * AVX512_GROUPS;
        simd_name = "avx512";
    } else if (avx2 && __builtin_cpu_supports("avx2")) {
        simd_blocks = 4 * AVX2_GROUPS;
        simd_name = "avx2";
    }
}
#endif

/* -- kernels ---------------------------------------------------------------------------
 * A kernel writes elements first .. first + n - 1 of a call that starts at first-pass
 * block `block` (docs/stream.md (positions)). Its elements come in groups: one or two
 * elements (normal's Box-Muller pairs) from `words` words each, the groups' words
 * consecutive in the stream. Its `span` function computes whole groups from their words;
 * run_kernel feeds it batches of words and computes a group cut by the call's start or
 * end whole, keeping the part inside.
 */
typedef struct {
    uint32_t k0, k1;
    uint64_t block;
    Py_ssize_t first, n;
    void *out;
    int narrow; /* WIDE: out holds the kernel's own dtype; else narrow_into's */
} Call;

typedef struct {
    double p[4];   /* the sampler's float parameters */
    long long t;   /* bernoulli's threshold; uniform's bit mask; gumbel/logistic/laplace's kind */
    uint64_t u[4]; /* randint's low, span (or its two halves), rejection threshold */
    /* dirichlet: the concentrations (m float64 values), the row length, and the call
     * element of concentration 0 */
    const double *alpha;
    Py_ssize_t m, k, origin;
    /* categorical: the cdf rows (in alpha: m rows of k) and their guide tables */
    const int64_t *guide;
    Py_ssize_t buckets;
    /* per-element float64 parameters (parse_pairs), each at its address, the value of
     * the kernel call's element i at [i * step] (step 0: one value for all) */
    const double *each[4];
    Py_ssize_t step[4];
} Params;

/* Parameter j of the kernel call's element i (parse_each's parameters). */
INLINE double each(const Params *p, int j, Py_ssize_t i) { return p->each[j][i * p->step[j]]; }

/* o[i] = loc + scale z[i] for the kernel call's elements i0 .. i0 + m - 1, loc and scale
 * per-element parameters 0 and 1 rounded to the compute precision first: one loop per
 * pair of steps, so that each vectorises. */
#define AFFINE_EACH(T)                                                                     \
    do {                                                                                   \
        const double *loc = p->each[0] + i0 * p->step[0];                                  \
        const double *scale = p->each[1] + i0 * p->step[1];                                \
        if (p->step[0] && p->step[1]) {                                                    \
            for (Py_ssize_t i = 0; i < m; i++) {                                           \
                o[i] = (T)loc[i] + (T)scale[i] * z[i];                                     \
            }                                                                              \
        } else if (p->step[0]) {                                                           \
            const T s = (T)scale[0];                                                       \
            for (Py_ssize_t i = 0; i < m; i++) {                                           \
                o[i] = (T)loc[i] + s * z[i];                                               \
            }                                                                              \
        } else if (p->step[1]) {                                                           \
            const T l = (T)loc[0];                                                         \
            for (Py_ssize_t i = 0; i < m; i++) {                                           \
                o[i] = l + (T)scale[i] * z[i];                                             \
            }                                                                              \
        } else {                                                                           \
            const T l = (T)loc[0], s = (T)scale[0];                                        \
            for (Py_ssize_t i = 0; i < m; i++) {                                           \
                o[i] = l + s * z[i];                                                       \
            }                                                                              \
        }                                                                                  \
    } while (0)

INLINE void affine_each32(float *o, const float *z, Py_ssize_t m, const Params *p,
                          Py_ssize_t i0) {
    AFFINE_EACH(float);
}

INLINE void affine_each64(double *o, const double *z, Py_ssize_t m, const Params *p,
                          Py_ssize_t i0) {
    AFFINE_EACH(double);
}

/* span(c, p, w, groups, e, out): groups whole groups from the words w, the first group's
 * first element being element e of the call, into out. */
typedef void (*Span)(const Call *c, const Params *p, const uint32_t *w, Py_ssize_t groups,
                     Py_ssize_t e, void *out);
typedef int (*Parse)(PyObject *const *params, Params *p);
typedef struct Kernel Kernel;
/* A kernel whose elements are not independent groups (dirichlet's rows) runs its own
 * loop instead of run_kernel's: -1 when out of memory. */
typedef int (*Run)(const Kernel *k, const Call *c, const Params *p);
struct Kernel {
    const char *name;
    Py_ssize_t n_params;
    Parse parse;
    Span span;
    int words, group, size; /* words per element, elements per group, bytes per element */
    Run run;                /* NULL: run_kernel */
};

/* -- narrowed outputs ----------------------------------------------------------------
 * A float32 kernel's values written as float16 or bfloat16 (rounded to nearest even,
 * as torch rounds them: uniform._float16_bits, _bfloat16_bits), an int64 kernel's as
 * int32 (the values fit: the samplers refuse parameters that would not). */
enum { WIDE, TO_FLOAT16, TO_BFLOAT16, TO_INT32 };

INLINE uint16_t float16_bits(float v) {
    uint32_t b;
    memcpy(&b, &v, 4);
    uint32_t sign = b & 0x80000000u, f = b ^ sign;
    uint32_t normal = (f + 0xC8000FFFu + ((f >> 13) & 1)) >> 13; /* ((15 - 127) << 23) + 0xFFF */
    uint32_t subnormal = (uint32_t)(int32_t)rintf(fabsf(v) * 0x1p24f);
    uint32_t h = f >= (143u << 23) ? 0x7C00u : (f < (113u << 23) ? subnormal : normal);
    return (uint16_t)(h | (sign >> 16));
}

INLINE uint16_t bfloat16_bits(float v) {
    uint32_t b;
    memcpy(&b, &v, 4);
    return (uint16_t)((b + 0x7FFFu + ((b >> 16) & 1)) >> 16);
}

MULTIVERSION static void narrow_into(int narrow, const void *values, void *out, Py_ssize_t n) {
    if (narrow == TO_INT32) {
        const int64_t *v = values;
        int32_t *o = out;
        for (Py_ssize_t i = 0; i < n; i++) {
            o[i] = (int32_t)v[i];
        }
        return;
    }
    const float *v = values;
    uint16_t *o = out;
    if (narrow == TO_FLOAT16) {
        for (Py_ssize_t i = 0; i < n; i++) {
            o[i] = float16_bits(v[i]);
        }
    } else {
        for (Py_ssize_t i = 0; i < n; i++) {
            o[i] = bfloat16_bits(v[i]);
        }
    }
}

/* Bytes of one output element of the call */
INLINE Py_ssize_t out_size(const Kernel *k, const Call *c) {
    return c->narrow == WIDE ? k->size : (c->narrow == TO_INT32 ? 4 : 2);
}

/* n values of the kernel's own dtype as the call's elements from element `at` on */
static void emit(const Kernel *k, const Call *c, const void *values, Py_ssize_t at,
                 Py_ssize_t n) {
    char *o = (char *)c->out + (at - c->first) * out_size(k, c);
    if (c->narrow == WIDE) {
        memcpy(o, values, (size_t)n * (size_t)k->size);
    } else {
        narrow_into(c->narrow, values, o, n);
    }
}

/* Elements [e, stop) of the group that holds element e, computed whole. */
static void edge_group(const Kernel *k, const Call *c, const Params *p, Py_ssize_t e,
                       Py_ssize_t stop) {
    Py_ssize_t g0 = e - e % k->group;
    uint64_t word = (uint64_t)g0 * (uint64_t)k->words; /* a group never spans blocks */
    uint32_t x[4];
    char whole[4 * sizeof(double)];
    block_words(c->k0, c->k1, c->block + word / 4, x);
    k->span(c, p, x + word % 4, 1, g0, whole);
    emit(k, c, whole + (e - g0) * k->size, e, stop - e);
}

static void run_kernel(const Kernel *k, const Call *c, const Params *p) {
    uint32_t w[BATCH_WORDS];
    double values[BATCH_WORDS]; /* a span's values when the call narrows them */
    const Py_ssize_t per_group = (Py_ssize_t)k->words * k->group, end = c->first + c->n;
    Py_ssize_t e = c->first;
    if (e % k->group && e < end) {
        Py_ssize_t stop = e - e % k->group + k->group;
        edge_group(k, c, p, e, stop < end ? stop : end);
        e = stop < end ? stop : end;
    }
    while (end - e >= k->group) {
        uint64_t word = (uint64_t)e * (uint64_t)k->words;
        Py_ssize_t offset = (Py_ssize_t)(word % 4);
        Py_ssize_t groups = (end - e) / k->group, most = (BATCH_WORDS - offset) / per_group;
        groups = groups < most ? groups : most;
        batch_words(c->k0, c->k1, c->block + word / 4, (offset + groups * per_group + 3) / 4, w);
        if (c->narrow == WIDE) {
            k->span(c, p, w + offset, groups, e, (char *)c->out + (e - c->first) * k->size);
        } else {
            k->span(c, p, w + offset, groups, e, values);
            emit(k, c, values, e, groups * k->group);
        }
        e += groups * k->group;
    }
    if (e < end) {
        edge_group(k, c, p, e, end);
    }
}

/* -- uniform: low + span * u, a value reaching `top` becomes `below` ------------------
 * float32 values keep the bits of u24 in the mask (float32 all 24; float16 11, bfloat16
 * 8: their values are these float32 values rounded, with `top` the float32 threshold
 * from which the rounding would reach the dtype's top, uniform._narrow_threshold). */
MULTIVERSION static void uniform32(const Call *c, const Params *p, const uint32_t *w,
                                   Py_ssize_t m, Py_ssize_t e, void *out) {
    const float low = (float)p->p[0], span = (float)p->p[1];
    const float top = (float)p->p[2], below = (float)p->p[3];
    const uint32_t mask = (uint32_t)p->t;
    float *o = out;
    for (Py_ssize_t i = 0; i < m; i++) {
        float v = low + span * ((float)(int32_t)((w[i] >> 8) & mask) * 0x1p-24f);
        o[i] = v >= top ? below : v;
    }
}

MULTIVERSION static void uniform64(const Call *c, const Params *p, const uint32_t *w,
                                   Py_ssize_t m, Py_ssize_t e, void *out) {
    const double low = p->p[0], span = p->p[1], top = p->p[2], below = p->p[3];
    double *o = out;
    for (Py_ssize_t i = 0; i < m; i++) {
        double v = low + span * u53(w[2 * i], w[2 * i + 1]);
        o[i] = v >= top ? below : v;
    }
}

/* -- exponential: 0 + scale * -ln(u) of the open uniform -----------------------------
 * The _each kernels take the scale per element (parse_each). */
MULTIVERSION static void exponential32(const Call *c, const Params *p, const uint32_t *w,
                                       Py_ssize_t m, Py_ssize_t e, void *out) {
    const float scale = (float)p->p[0];
    float *o = out;
    for (Py_ssize_t i = 0; i < m; i++) {
        o[i] = 0.0f + scale * -log32(open_u23(w[i]));
    }
}

MULTIVERSION static void exponential_each32(const Call *c, const Params *p, const uint32_t *w,
                                            Py_ssize_t m, Py_ssize_t e, void *out) {
    float *o = out;
    const double *scale = p->each[0] + (e - c->first) * p->step[0];
    if (p->step[0] == 0) {
        const float s = (float)scale[0];
        for (Py_ssize_t i = 0; i < m; i++) {
            o[i] = 0.0f + s * -log32(open_u23(w[i]));
        }
        return;
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        o[i] = 0.0f + (float)scale[i] * -log32(open_u23(w[i]));
    }
}

static void exponential64(const Call *c, const Params *p, const uint32_t *w, Py_ssize_t m,
                          Py_ssize_t e, void *out) {
    double *o = out;
    for (Py_ssize_t i = 0; i < m; i++) {
        o[i] = 0.0 + p->p[0] * -log(open_u53(w[2 * i], w[2 * i + 1]));
    }
}

static void exponential_each64(const Call *c, const Params *p, const uint32_t *w, Py_ssize_t m,
                               Py_ssize_t e, void *out) {
    double *o = out;
    for (Py_ssize_t i = 0; i < m; i++) {
        o[i] = 0.0 + each(p, 0, e - c->first + i) * -log(open_u53(w[2 * i], w[2 * i + 1]));
    }
}

/* -- bernoulli: 1 where the word is below t = floor(p 2**32) ---------------------------
 * into float32 or into bytes (bool, uint8, int8; other dtypes convert the bytes); the
 * _each kernels take t per element as a float64 (exact: t <= 2**32). */
MULTIVERSION static void bernoulli32(const Call *c, const Params *p, const uint32_t *w,
                                     Py_ssize_t m, Py_ssize_t e, void *out) {
    float *o = out;
    if (p->t > (long long)UINT32_MAX) { /* p = 1: every word is below 2**32 */
        for (Py_ssize_t i = 0; i < m; i++) {
            o[i] = 1.0f;
        }
        return;
    }
    const uint32_t t = (uint32_t)p->t;
    for (Py_ssize_t i = 0; i < m; i++) {
        o[i] = w[i] < t ? 1.0f : 0.0f;
    }
}

MULTIVERSION static void bernoulli8(const Call *c, const Params *p, const uint32_t *w,
                                    Py_ssize_t m, Py_ssize_t e, void *out) {
    uint8_t *o = out;
    if (p->t > (long long)UINT32_MAX) {
        memset(o, 1, (size_t)m);
        return;
    }
    const uint32_t t = (uint32_t)p->t;
    for (Py_ssize_t i = 0; i < m; i++) {
        o[i] = w[i] < t;
    }
}

MULTIVERSION static void bernoulli_each32(const Call *c, const Params *p, const uint32_t *w,
                                          Py_ssize_t m, Py_ssize_t e, void *out) {
    float *o = out;
    for (Py_ssize_t i = 0; i < m; i++) {
        o[i] = (double)w[i] < each(p, 0, e - c->first + i) ? 1.0f : 0.0f;
    }
}

MULTIVERSION static void bernoulli_each8(const Call *c, const Params *p, const uint32_t *w,
                                         Py_ssize_t m, Py_ssize_t e, void *out) {
    uint8_t *o = out;
    for (Py_ssize_t i = 0; i < m; i++) {
        o[i] = (double)w[i] < each(p, 0, e - c->first + i);
    }
}

/* -- randint into int64, span <= 2**32: Lemire, rejections from retry blocks ---------
 * A first branch-free pass stores every first-pass value; the few rejected elements
 * (their low product half below the threshold) are then redone from their retries. */
MULTIVERSION static void randint1(const Call *c, const Params *p, const uint32_t *w,
                                  Py_ssize_t m, Py_ssize_t e, void *out) {
    const uint64_t low = p->u[0], span = p->u[1], threshold = p->u[2];
    int64_t *o = out;
    int rejected = 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        uint64_t product = (uint64_t)w[i] * span;
        o[i] = (int64_t)(low + (product >> 32));
        rejected |= (product & 0xFFFFFFFFu) < threshold;
    }
    for (Py_ssize_t i = 0; rejected && i < m; i++) {
        uint64_t product = (uint64_t)w[i] * span;
        for (uint32_t a = 1; (product & 0xFFFFFFFFu) < threshold; a++) {
            product = (uint64_t)retry_word0(c->k0, c->k1, c->block, (uint64_t)(e + i), a) * span;
            o[i] = (int64_t)(low + (product >> 32));
        }
    }
}

/* -- randint into int64, 2**32 < span <= 2**64: two words, 128-bit Lemire -------------
 * span = sh 2**32 + sl (sh may be 2**32: span 2**64); the product from 32-bit limbs,
 * as randint._mul128 (no 128-bit integer type needed). */
INLINE void mul128(uint64_t xh, uint64_t xl, uint64_t sh, uint64_t sl, uint64_t *hi,
                   uint64_t *lo) {
    const uint64_t low32 = 0xFFFFFFFFu;
    uint64_t ll = xl * sl, lh = xl * sh, hl = xh * sl;
    uint64_t mid = (ll >> 32) + (lh & low32) + (hl & low32);
    *lo = (ll & low32) | ((mid & low32) << 32);
    *hi = xh * sh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

static void randint2(const Call *c, const Params *p, const uint32_t *w, Py_ssize_t m,
                     Py_ssize_t e, void *out) {
    const uint64_t low = p->u[0], sh = p->u[1], sl = p->u[2], threshold = p->u[3];
    int64_t *o = out;
    for (Py_ssize_t i = 0; i < m; i++) {
        uint64_t hi, lo;
        mul128(w[2 * i], w[2 * i + 1], sh, sl, &hi, &lo);
        for (uint32_t a = 1; lo < threshold; a++) {
            uint32_t x[4];
            retry_words(c->k0, c->k1, c->block, 2 * (uint64_t)(e + i), a, x);
            mul128(x[0], x[1], sh, sl, &hi, &lo);
        }
        o[i] = (int64_t)(low + hi);
    }
}

/* -- randperm's swap targets: element j is randint(0, j + 1) from word j ---------------
 * Lemire with span j + 1, whose threshold (2**32 - s) mod s is below s: computed only
 * for a product whose low half is below s. */
static void swap_targets(const Call *c, const Params *p, const uint32_t *w, Py_ssize_t m,
                         Py_ssize_t e, void *out) {
    int64_t *o = out;
    for (Py_ssize_t i = 0; i < m; i++) {
        const uint64_t j = (uint64_t)(e + i), s = j + 1, low32 = 0xFFFFFFFFu;
        uint64_t product = (uint64_t)w[i] * s;
        if ((product & low32) < s) {
            const uint64_t threshold = (((uint64_t)1 << 32) - s) % s;
            for (uint32_t a = 1; (product & low32) < threshold; a++) {
                product = (uint64_t)retry_word0(c->k0, c->k1, c->block, j, a) * s;
            }
        }
        o[i] = (int64_t)(product >> 32);
    }
}

/* Fisher-Yates swaps on out = arange(n) from the swap targets (int32 or int64, both of
 * `size` bytes): fisher_yates(targets address, out address, n, size). */
#define FISHER_YATES(T)                                                                    \
    do {                                                                                   \
        const T *t = targets;                                                              \
        T *o = out;                                                                        \
        for (Py_ssize_t i = 0; i < n; i++) {                                               \
            o[i] = (T)i;                                                                   \
        }                                                                                  \
        for (Py_ssize_t i = n - 1; i > 0 && !bad; i--) {                                   \
            T j = t[i];                                                                    \
            bad = j < 0 || j > i;                                                          \
            T held = o[i];                                                                 \
            o[i] = bad ? held : o[j];                                                      \
            o[bad ? i : j] = held;                                                         \
        }                                                                                  \
    } while (0)

static PyObject *fisher_yates(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "fisher_yates takes 4 arguments, got %zd", nargs);
        return NULL;
    }
    const void *targets = PyLong_AsVoidPtr(args[0]);
    void *out = PyLong_AsVoidPtr(args[1]);
    Py_ssize_t n = PyLong_AsSsize_t(args[2]), size = PyLong_AsSsize_t(args[3]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (n < 0 || (size != 4 && size != 8) || (n > 0 && (targets == NULL || out == NULL))) {
        PyErr_SetString(PyExc_ValueError, "fisher_yates needs n >= 0, size 4 or 8, addresses");
        return NULL;
    }
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    if (size == 4) {
        FISHER_YATES(int32_t);
    } else {
        FISHER_YATES(int64_t);
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "a swap target outside [0, i]");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* -- categorical with replacement: a guide table, then a forward scan ------------------
 * Element e (u = u53 of its two words) is in cdf row (e - origin) mod m; its index is
 * the first j with cdf[row, j] > u, searched from guide[row, floor(u buckets)] (Chen and
 * Asau's guide table: guide[row, t] = #{j : cdf[row, j] <= t / buckets}). */
static void categorical(const Call *c, const Params *p, const uint32_t *w, Py_ssize_t m,
                        Py_ssize_t e, void *out) {
    int64_t *o = out;
    double u[BATCH_WORDS / 2];
    for (Py_ssize_t i = 0; i < m; i++) {
        u[i] = u53(w[2 * i], w[2 * i + 1]);
    }
    const double scale = (double)p->buckets;
    Py_ssize_t row = (e - p->origin) % p->m;
    for (Py_ssize_t i = 0; i < m; i++, row = row + 1 == p->m ? 0 : row + 1) {
        const double *cdf = p->alpha + row * p->k;
        int64_t j = p->guide[row * p->buckets + (int64_t)(u[i] * scale)];
        while (cdf[j] <= u[i]) {
            j++;
        }
        o[i] = j;
    }
}

/* -- multivariate_normal's rows: out[r] = loc + L z[r] in a fixed order ----------------
 * ((z_0 L_i0 + z_1 L_i1) + ...) + loc_i, as multivariate_normal._transform, in float32 or
 * float64 (size 4 or 8): mvn_rows(z, factor, loc, out, n, d, size), addresses of
 * contiguous (n, d), (d, d), (d,) and (n, d) arrays. */
#define MVN_ROWS(T)                                                                        \
    do {                                                                                   \
        const T *zs = z, *f = factor, *l = loc;                                            \
        T *o = out;                                                                        \
        for (Py_ssize_t r = 0; r < n; r++) {                                               \
            for (Py_ssize_t i = 0; i < d; i++) {                                           \
                T acc = zs[r * d] * f[i * d];                                              \
                for (Py_ssize_t j = 1; j < d; j++) {                                       \
                    acc = acc + zs[r * d + j] * f[i * d + j];                              \
                }                                                                          \
                o[r * d + i] = acc + l[i];                                                 \
            }                                                                              \
        }                                                                                  \
    } while (0)

static PyObject *mvn_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 7) {
        PyErr_Format(PyExc_TypeError, "mvn_rows takes 7 arguments, got %zd", nargs);
        return NULL;
    }
    const void *z = PyLong_AsVoidPtr(args[0]), *factor = PyLong_AsVoidPtr(args[1]),
               *loc = PyLong_AsVoidPtr(args[2]);
    void *out = PyLong_AsVoidPtr(args[3]);
    Py_ssize_t n = PyLong_AsSsize_t(args[4]), d = PyLong_AsSsize_t(args[5]),
               size = PyLong_AsSsize_t(args[6]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (n < 0 || d < 1 || (size != 4 && size != 8) ||
        (n > 0 && (z == NULL || factor == NULL || loc == NULL || out == NULL))) {
        PyErr_SetString(PyExc_ValueError, "mvn_rows needs n >= 0, d >= 1, size 4 or 8, addresses");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (size == 4) {
        MVN_ROWS(float);
    } else {
        MVN_ROWS(double);
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* -- categorical's weight check: each row's minimum and maximum, both NaN for a row
 * holding a NaN: row_bounds(x, rows, k, low, high), addresses of float64 arrays. */
static PyObject *row_bounds(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "row_bounds takes 5 arguments, got %zd", nargs);
        return NULL;
    }
    const double *x = PyLong_AsVoidPtr(args[0]);
    Py_ssize_t rows = PyLong_AsSsize_t(args[1]), k = PyLong_AsSsize_t(args[2]);
    double *low = PyLong_AsVoidPtr(args[3]), *high = PyLong_AsVoidPtr(args[4]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (rows < 0 || k < 1 || (rows > 0 && (x == NULL || low == NULL || high == NULL))) {
        PyErr_SetString(PyExc_ValueError, "row_bounds needs rows >= 0, k >= 1, addresses");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t b = 0; b < rows; b++) {
        const double *row = x + b * k;
        double lo = row[0], hi = row[0];
        int nan = 0;
        for (Py_ssize_t i = 0; i < k; i++) {
            double v = row[i];
            lo = v < lo ? v : lo; /* Python's min and max: the first of equals */
            hi = v > hi ? v : hi;
            nan |= v != v;
        }
        low[b] = nan ? NAN : lo;
        high[b] = nan ? NAN : hi;
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* -- categorical without replacement: the exponential race (_samplers.categorical) ------
 * Each task keeps the m smallest keys (key, index) of the categories [lo, hi) of one row
 * in a bounded max-heap; category i's exponential E = -ln(u) is element row k + i of a
 * float64 exponential call (two words). Keys: E / max(x / top, W_MIN) (+inf for a zero
 * weight) or ln(E) - (x - top) for logits. A batch wholly inside the part, met with a
 * full heap, first rejects the categories whose 1 - u (<= E) exceeds a bound of the
 * heap's largest key times the weight, with a safety factor: they could not enter, so
 * the heap is the one every exact key would make (only the speed changes). */
#define RACE_W_MIN 0x1p-1000
#define RACE_SLACK (1.0 + 0x1p-28)
#define RACE_TINY 0x1p-1000

INLINE int race_before(double ka, int64_t ia, double kb, int64_t ib) {
    return ka < kb || (ka == kb && ia < ib);
}

static void race_sift_down(double *keys, int64_t *index, Py_ssize_t i, Py_ssize_t size) {
    for (;;) {
        Py_ssize_t left = 2 * i + 1, big = left;
        if (left >= size) {
            return;
        }
        if (left + 1 < size &&
            race_before(keys[left], index[left], keys[left + 1], index[left + 1])) {
            big = left + 1;
        }
        if (!race_before(keys[i], index[i], keys[big], index[big])) {
            return;
        }
        double key = keys[i];
        int64_t at = index[i];
        keys[i] = keys[big];
        index[i] = index[big];
        keys[big] = key;
        index[big] = at;
        i = big;
    }
}

/* Offer (key, i) to the heap of `size` (at most m) entries: the new size */
static Py_ssize_t race_offer(double *keys, int64_t *index, Py_ssize_t size, Py_ssize_t m,
                             double key, int64_t i) {
    if (size < m) {
        keys[size] = key;
        index[size] = i;
        if (++size == m) {
            for (Py_ssize_t start = m / 2 - 1; start >= 0; start--) {
                race_sift_down(keys, index, start, m);
            }
        }
    } else if (race_before(key, i, keys[0], index[0])) {
        keys[0] = key;
        index[0] = i;
        race_sift_down(keys, index, 0, m);
    }
    return size;
}

INLINE double race_key(uint32_t a, uint32_t b, double x, double top, int is_logits) {
    double e = -log(open_u53(a, b));
    if (is_logits) {
        return log(e) - (x - top);
    }
    double v = x / top;
    if (v == 0.0) {
        return INFINITY;
    }
    return e / (RACE_W_MIN > v ? RACE_W_MIN : v);
}

/* The heap of the categories [lo, hi) of row `row` of x (k per row): its size */
static Py_ssize_t race_part(uint32_t k0, uint32_t k1, uint64_t block, const double *x,
                            Py_ssize_t k, Py_ssize_t row, Py_ssize_t lo, Py_ssize_t hi,
                            double top, int is_logits, double *keys, int64_t *index,
                            Py_ssize_t m) {
    uint32_t w[BATCH_WORDS];
    double d[2 * BATCH_BLOCKS], bound[2 * BATCH_BLOCKS];
    const double *weights = x + row * k;
    const Py_ssize_t base = row * k; /* call element of category 0 of the row */
    Py_ssize_t size = 0;
    for (Py_ssize_t s = (base + lo) / 2; s < (base + hi + 1) / 2; s += BATCH_BLOCKS) {
        batch_words(k0, k1, block + (uint64_t)s, BATCH_BLOCKS, w);
        Py_ssize_t e0 = 2 * s - base; /* category of the batch's first element */
        int inside = e0 >= lo && e0 + 2 * BATCH_BLOCKS <= hi;
        int test = size == m && inside && keys[0] < INFINITY;
        if (test) {
            for (int h = 0; h < BATCH_BLOCKS; h++) {
                d[h] = 1.0 - open_u53(w[4 * h], w[4 * h + 1]);
                d[BATCH_BLOCKS + h] = 1.0 - open_u53(w[4 * h + 2], w[4 * h + 3]);
            }
            double t = keys[0];
            for (int j = 0; j < 2 * BATCH_BLOCKS && is_logits; j++) {
                /* exp(y) (1 + 2**-29) bounded by the chord of 2**z, as float64 bits */
                double y = t + (weights[e0 + 2 * (j % BATCH_BLOCKS) + j / BATCH_BLOCKS] - top);
                double clamped = -700.0 > y ? -700.0 : y;
                clamped = 700.0 < clamped ? 700.0 : clamped;
                double z = clamped * 1.4426950408889634 + (1023.0 + 0x1p-28);
                int64_t bits = (int64_t)(z * 0x1p52);
                memcpy(&bound[j], &bits, 8);
            }
            if (!is_logits) {
                double scale = t * RACE_SLACK / top, floor_v = t * RACE_SLACK * RACE_W_MIN;
                if (!(RACE_TINY <= scale && scale < INFINITY)) {
                    test = 0;
                }
                for (int j = 0; j < 2 * BATCH_BLOCKS; j++) {
                    double xs = weights[e0 + 2 * (j % BATCH_BLOCKS) + j / BATCH_BLOCKS] * scale;
                    double c = floor_v > xs ? floor_v : xs;
                    bound[j] = c >= RACE_TINY ? c : INFINITY;
                }
            }
        }
        for (int j = 0; j < 2 * BATCH_BLOCKS; j++) {
            if (test && d[j] > bound[j]) {
                continue;
            }
            int h = j % BATCH_BLOCKS, lane = 2 * (j / BATCH_BLOCKS);
            Py_ssize_t i = e0 + 2 * h + lane / 2;
            if (i < lo || i >= hi) {
                continue;
            }
            double key = race_key(w[4 * h + lane], w[4 * h + lane + 1], weights[i], top,
                                  is_logits);
            size = race_offer(keys, index, size, m, key, i);
        }
    }
    return size;
}

/* race_parts(k0, k1, block, x, k, tops, is_logits, parts, t_lo, t_hi, keys, index,
 * sizes, m): tasks [t_lo, t_hi), task r parts + p being part p of row r (categories
 * [p k / parts, (p + 1) k / parts)), its heap at keys/index + task m, its size in
 * sizes[task]; addresses of contiguous float64 x (rows, k) and tops, float64 keys,
 * int64 index and sizes. */
static PyObject *race_parts(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 14) {
        PyErr_Format(PyExc_TypeError, "race_parts takes 14 arguments, got %zd", nargs);
        return NULL;
    }
    uint32_t k0 = (uint32_t)PyLong_AsUnsignedLongLong(args[0]);
    uint32_t k1 = (uint32_t)PyLong_AsUnsignedLongLong(args[1]);
    uint64_t block = PyLong_AsUnsignedLongLongMask(args[2]);
    const double *x = PyLong_AsVoidPtr(args[3]), *tops = PyLong_AsVoidPtr(args[5]);
    Py_ssize_t k = PyLong_AsSsize_t(args[4]);
    int is_logits = PyObject_IsTrue(args[6]);
    Py_ssize_t parts = PyLong_AsSsize_t(args[7]), t_lo = PyLong_AsSsize_t(args[8]),
               t_hi = PyLong_AsSsize_t(args[9]), m = PyLong_AsSsize_t(args[13]);
    double *keys = PyLong_AsVoidPtr(args[10]);
    int64_t *index = PyLong_AsVoidPtr(args[11]), *sizes = PyLong_AsVoidPtr(args[12]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (k < 1 || parts < 1 || m < 1 || t_lo < 0 || t_hi < t_lo ||
        (t_hi > t_lo && (!x || !tops || !keys || !index || !sizes))) {
        PyErr_SetString(PyExc_ValueError, "race_parts needs k, parts, m >= 1, tasks, addresses");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t task = t_lo; task < t_hi; task++) {
        Py_ssize_t row = task / parts, part = task % parts;
        sizes[task] = race_part(k0, k1, block, x, k, row, part * k / parts,
                                (part + 1) * k / parts, tops[row], is_logits, keys + task * m,
                                index + task * m, m);
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* -- raw words into int64 (Generator.random_raw) ------------------------------------ */
MULTIVERSION static void word64(const Call *c, const Params *p, const uint32_t *w, Py_ssize_t m,
                                Py_ssize_t e, void *out) {
    int64_t *o = out;
    for (Py_ssize_t i = 0; i < m; i++) {
        o[i] = (int64_t)w[i];
    }
}

/* -- normal: Box-Muller pairs, loc + scale * z ----------------------------------------
 * The _each kernels take loc and scale per element (parse_each). */
INLINE void normal_pair32(const uint32_t *x, float *z0, float *z1) {
    float r = sqrtf(-2.0f * log32(open_u23(x[0])));
    float s, co;
    sincos_turns((int32_t)(x[1] >> 8), &s, &co);
    *z0 = r * co;
    *z1 = r * s;
}

INLINE void normal_pair64(const uint32_t *x, double *z0, double *z1) {
    double r = sqrt(-2.0 * log(open_u53(x[0], x[1])));
    double s, co;
    sincos_turns53((int64_t)(x[2] >> 5) * 67108864 + (int64_t)(x[3] >> 6), &s, &co);
    *z0 = r * co;
    *z1 = r * s;
}

/* Parameter j of the call's element e of a pair: a pair cut by the kernel call's start
 * or end is computed whole and its element outside dropped (edge_group), so that
 * element's parameter is only read, from the nearest element inside. */
INLINE double each_of_pair(const Call *c, const Params *p, int j, Py_ssize_t e) {
    Py_ssize_t i = e - c->first;
    return each(p, j, i < 0 ? 0 : (i < c->n ? i : c->n - 1));
}

MULTIVERSION static void normal32(const Call *c, const Params *p, const uint32_t *w,
                                  Py_ssize_t pairs, Py_ssize_t e, void *out) {
    const float loc = (float)p->p[0], scale = (float)p->p[1];
    float *o = out;
    for (Py_ssize_t j = 0; j < pairs; j++) {
        float z0, z1;
        normal_pair32(w + 2 * j, &z0, &z1);
        o[2 * j] = loc + scale * z0;
        o[2 * j + 1] = loc + scale * z1;
    }
}

MULTIVERSION static void normal_each32(const Call *c, const Params *p, const uint32_t *w,
                                       Py_ssize_t pairs, Py_ssize_t e, void *out) {
    float *o = out, z[BATCH_WORDS];
    for (Py_ssize_t j = 0; j < pairs; j++) {
        normal_pair32(w + 2 * j, &z[2 * j], &z[2 * j + 1]);
    }
    if (e < c->first || e + 2 * pairs > c->first + c->n) { /* a pair cut by the call */
        for (Py_ssize_t i = 0; i < 2 * pairs; i++) {
            o[i] = (float)each_of_pair(c, p, 0, e + i) + (float)each_of_pair(c, p, 1, e + i) * z[i];
        }
        return;
    }
    affine_each32(o, z, 2 * pairs, p, e - c->first);
}

static void normal64(const Call *c, const Params *p, const uint32_t *w, Py_ssize_t pairs,
                     Py_ssize_t e, void *out) {
    double *o = out;
    for (Py_ssize_t j = 0; j < pairs; j++) {
        double z0, z1;
        normal_pair64(w + 4 * j, &z0, &z1);
        o[2 * j] = p->p[0] + p->p[1] * z0;
        o[2 * j + 1] = p->p[0] + p->p[1] * z1;
    }
}

static void normal_each64(const Call *c, const Params *p, const uint32_t *w, Py_ssize_t pairs,
                          Py_ssize_t e, void *out) {
    double *o = out;
    for (Py_ssize_t j = 0; j < pairs; j++) {
        double z0, z1;
        Py_ssize_t e0 = e + 2 * j;
        normal_pair64(w + 4 * j, &z0, &z1);
        o[2 * j] = each_of_pair(c, p, 0, e0) + each_of_pair(c, p, 1, e0) * z0;
        o[2 * j + 1] = each_of_pair(c, p, 0, e0 + 1) + each_of_pair(c, p, 1, e0 + 1) * z1;
    }
}

/* -- the gamma family: Marsaglia-Tsang in float64 (trnrand_core._samplers.gamma, beta) --
 * The float64 logarithm and cosine of _samplers._math64, built from IEEE basic
 * operations (libm's would differ), and the acceptance test and retries of gamma.py,
 * operation for operation. */
static const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
static const double ATANH[11] = {2.0 / 21, 2.0 / 19, 2.0 / 17, 2.0 / 15, 2.0 / 13, 2.0 / 11,
                                 2.0 / 9,  2.0 / 7,  2.0 / 5,  2.0 / 3,  2.0 / 1};
static const double COS[9] = {1.0 / 20922789888000.0, -1.0 / 87178291200.0,
                              1.0 / 479001600.0,      -1.0 / 3628800.0,
                              1.0 / 40320.0,          -1.0 / 720.0,
                              1.0 / 24.0,             -1.0 / 2.0,
                              1.0};
static const double SIN[9] = {1.0 / 355687428096000.0, -1.0 / 1307674368000.0,
                              1.0 / 6227020800.0,      -1.0 / 39916800.0,
                              1.0 / 362880.0,          -1.0 / 5040.0,
                              1.0 / 120.0,             -1.0 / 6.0,
                              1.0};

INLINE double horner(double x, const double *coefs, int count) {
    double acc = coefs[0];
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 16
#endif
    for (int k = 1; k < count; k++) {
        acc = acc * x + coefs[k];
    }
    return acc;
}

/* ln x for a positive normal float64 (_math64.log64). */
INLINE double log64(double x) {
    uint64_t bits;
    memcpy(&bits, &x, 8);
    double e = (double)(int32_t)((int64_t)(bits >> 52) - 1023);
    bits = (bits & (((uint64_t)1 << 52) - 1)) | ((uint64_t)1023 << 52);
    double m;
    memcpy(&m, &bits, 8);
    int big = m > 1.4142135623730951;
    m = big ? m * 0.5 : m;
    e = big ? e + 1.0 : e;
    double s = (m - 1.0) / (m + 1.0);
    return e * LN2_HI + (s * horner(s * s, ATANH, 11) + e * LN2_LO);
}

/* cos(2 pi x 2**-32) for a word x (_math64._cos_turns). */
INLINE double cos_turns(uint32_t x) {
    int64_t t = (int64_t)x + (1 << 29);
    int64_t q = (t >> 30) & 3;
    double theta = (double)(int32_t)((t & ((1 << 30) - 1)) - (1 << 29)) *
                   (3.141592653589793 / 2 * 0x1p-30);
    double t2 = theta * theta;
    double c = horner(t2, COS, 9), s = theta * horner(t2, SIN, 9);
    double r = (q & 1) == 0 ? c : s;
    return (q == 1) | (q == 2) ? -r : r;
}

/* (x + 0.5) 2**-32, exact; the word through a signed conversion, which SIMD has */
INLINE double v32(uint32_t x) {
    return ((double)(int32_t)(x ^ 0x80000000u) + 2147483648.0 + 0.5) * 0x1p-32;
}

INLINE double box_muller(uint32_t x0, uint32_t x1) {
    return sqrt(-2.0 * log64(v32(x0))) * cos_turns(x1);
}

/* -- gumbel, logistic, laplace (_samplers.log_transforms) -----------------------------
 * From exponential's words and their open uniform u: t = min(u, 1 - u) and the side
 * u < 1/2, exact; logarithms e ln 2 + 2 atanh(s) of x = 2**e m, whose atanh argument
 * near 1 (e = 0) is the caller's accurate quotient num / den; then loc + scale * x with
 * loc and scale per element (parse_each after the kind). */
enum { GUMBEL, LOGISTIC, LAPLACE };

INLINE float ln32(float x, float num, float den) {
    const float ln2_hi = f32_of(bits_of(0.6931471805599453f) & -4096);
    const float ln2_lo = (float)(0.6931471805599453 - (double)ln2_hi);
    int32_t bits = (int32_t)((uint32_t)bits_of(x) - 0x3F3504F3u);
    int32_t e = bits >> 23;
    float m = f32_of((int32_t)((uint32_t)(bits & 0x007FFFFF) + 0x3F3504F3u));
    int near = e == 0;
    float s = (near ? num : m - 1.0f) / (near ? den : m + 1.0f);
    float z = s * s;
    float r = z * ((float)(2.0 / 3) +
                   z * ((float)(2.0 / 5) + z * ((float)(2.0 / 7) + z * (float)(2.0 / 9))));
    float ef = (float)e;
    return ef * ln2_hi + ((s + s) + (s * r + ef * ln2_lo));
}

INLINE double ln64(double x, double num, double den) {
    const uint64_t sqrt_half = 0x3FE6A09E667F3BCDull, mantissa = ((uint64_t)1 << 52) - 1;
    uint64_t c;
    memcpy(&c, &x, 8);
    c += ((uint64_t)1024 << 52) - sqrt_half; /* keeps the biased exponent positive */
    int32_t e = (int32_t)(c >> 52) - 1024;
    uint64_t mb = (c & mantissa) + sqrt_half;
    double m;
    memcpy(&m, &mb, 8);
    int near = e == 0;
    double s = (near ? num : m - 1.0) / (near ? den : m + 1.0);
    double z = s * s;
    double r = z * horner(z, ATANH, 10);
    double ef = (double)e;
    return ef * LN2_HI + ((s + s) + (s * r + ef * LN2_LO));
}

INLINE float log_standard32(int kind, float t, int low) {
    if (kind == GUMBEL) {
        float e = -ln32(low ? t : 1.0f - t, -t, 2.0f - t);
        return -ln32(e, e - 1.0f, e + 1.0f);
    }
    float x = t + t;
    float v = kind == LOGISTIC ? ln32(t / (1.0f - t), x - 1.0f, 1.0f) : ln32(x, x - 1.0f, x + 1.0f);
    return low ? v : -v;
}

INLINE double log_standard64(int kind, double t, int low) {
    if (kind == GUMBEL) {
        double e = -ln64(low ? t : 1.0 - t, -t, 2.0 - t);
        return -ln64(e, e - 1.0, e + 1.0);
    }
    double x = t + t;
    double v = kind == LOGISTIC ? ln64(t / (1.0 - t), x - 1.0, 1.0) : ln64(x, x - 1.0, x + 1.0);
    return low ? v : -v;
}

INLINE void log_loop32(int kind, const Call *c, const Params *p, const uint32_t *w,
                       Py_ssize_t m, Py_ssize_t e, float *o) {
    float z[BATCH_WORDS];
    for (Py_ssize_t i = 0; i < m; i++) {
        int32_t k = (int32_t)(w[i] >> 9);
        int low = k < (1 << 22);
        float t = ((float)(low ? k : (1 << 23) - 1 - k) + 0.5f) * 0x1p-23f;
        z[i] = log_standard32(kind, t, low);
    }
    affine_each32(o, z, m, p, e - c->first);
}

INLINE void log_loop64(int kind, const Call *c, const Params *p, const uint32_t *w,
                       Py_ssize_t m, Py_ssize_t e, double *o) {
    double z[BATCH_WORDS];
    for (Py_ssize_t i = 0; i < m; i++) {
        double k = merged53(w[2 * i], w[2 * i + 1]);
        int low = k < 0x1p52;
        double t = ((low ? k : 0x1p53 - 1.0 - k) + 0.5) * 0x1p-53;
        z[i] = log_standard64(kind, t, low);
    }
    affine_each64(o, z, m, p, e - c->first);
}

/* One loop per kind, each with its transform inlined. */
MULTIVERSION static void log_transform32(const Call *c, const Params *p, const uint32_t *w,
                                         Py_ssize_t m, Py_ssize_t e, void *out) {
    if (p->t == GUMBEL) {
        log_loop32(GUMBEL, c, p, w, m, e, out);
    } else if (p->t == LOGISTIC) {
        log_loop32(LOGISTIC, c, p, w, m, e, out);
    } else {
        log_loop32(LAPLACE, c, p, w, m, e, out);
    }
}

MULTIVERSION static void log_transform64(const Call *c, const Params *p, const uint32_t *w,
                                         Py_ssize_t m, Py_ssize_t e, void *out) {
    if (p->t == GUMBEL) {
        log_loop64(GUMBEL, c, p, w, m, e, out);
    } else if (p->t == LOGISTIC) {
        log_loop64(LOGISTIC, c, p, w, m, e, out);
    } else {
        log_loop64(LAPLACE, c, p, w, m, e, out);
    }
}

/* -- von_mises: Best-Fisher rejection in float64 (_samplers.von_mises) ----------------
 * IEEE basic operations only (Cephes' atan, _math64's log64 and Taylor sine and cosine),
 * as the numba kernel; mu, q, b = s - 1 and a = kappa (s**2 - 1) per element. */
static const double PI = 3.141592653589793;
static const double ATAN_P[5] = {-8.750608600031904122785e-1, -1.615753718733365076637e1,
                                 -7.500855792314704667340e1, -1.228866684490136173410e2,
                                 -6.485021904942025371773e1};
static const double ATAN_Q[6] = {1.0,
                                 2.485846490142306297962e1,
                                 1.650270098316988542046e2,
                                 4.328810604912902668951e2,
                                 4.853903996359136964868e2,
                                 1.945506571482613964425e2};

INLINE double cephes_atan(double x) {
    const double t3p8 = 2.41421356237309504880, morebits = 6.123233995736765886130e-17;
    double ax = fabs(x), y0 = 0.0, more = 0.0, xr = ax;
    if (ax > t3p8) {
        y0 = PI / 2.0;
        more = morebits;
        xr = -1.0 / ax;
    } else if (ax > 0.66) {
        y0 = PI / 4.0;
        more = 0.5 * morebits;
        xr = (ax - 1.0) / (ax + 1.0);
    }
    double z = xr * xr;
    double r = z * horner(z, ATAN_P, 5) / horner(z, ATAN_Q, 6);
    double y = y0 + ((xr * r + xr) + more);
    return x < 0.0 ? -y : y;
}

/* (sin phi, cos phi) of phi = pi a 2**-54, a the odd integer 2 merged53(y0, y1) + 1,
 * reduced to a quarter turn in integers */
INLINE void attempt_sin_cos(uint32_t y0, uint32_t y1, double *sin_v, double *cos_v) {
    int64_t n = (int64_t)((uint64_t)(y0 >> 5) * 67108864u + (uint64_t)(y1 >> 6));
    int64_t odd = 2 * n + 1;
    int64_t quarter = (odd + ((int64_t)1 << 52)) >> 53;
    double th = (double)(odd - quarter * ((int64_t)1 << 53)) * (PI * 0x1p-54);
    double t2 = th * th;
    double cr = horner(t2, COS, 9), sr = th * horner(t2, SIN, 9);
    *sin_v = quarter == 0 ? sr : (quarter == 1 ? cr : -sr);
    *cos_v = quarter == 0 ? cr : (quarter == 1 ? -sr : -cr);
}

INLINE int best_fisher_accepts(double b, double a, double c, uint32_t y2) {
    if (b < 0.0) {
        return 1;
    }
    double y = a / (b + 2.0 * (c * c)), v = v32(y2);
    if (y * (2.0 - y) - v >= 0.0) {
        return 1;
    }
    return y <= 64.0 && log64((y <= 64.0 ? y : 1.0) / v) + 1.0 - y >= 0.0;
}

/* dst[i] = per-element parameter j of the kernel call's elements i0 .. i0 + n - 1 */
static void each_run(const Params *p, int j, Py_ssize_t i0, Py_ssize_t n, double *dst) {
    for (Py_ssize_t i = 0; i < n; i++) {
        dst[i] = p->step[j] ? p->each[j][i0 + i] : p->each[j][0];
    }
}

/* A batch's first attempts in loops that vectorise (sine and cosine, Y, V, the
 * logarithm of the test), then the decisions, retries and arctangents one by one. */
MULTIVERSION static void von_mises_values(const Call *c, const Params *p, const uint32_t *w,
                                          Py_ssize_t n, Py_ssize_t e, double *out) {
    double mu[BATCH_BLOCKS], q[BATCH_BLOCKS], b[BATCH_BLOCKS], a[BATCH_BLOCKS];
    double sv[BATCH_BLOCKS], cv[BATCH_BLOCKS], y[BATCH_BLOCKS], v[BATCH_BLOCKS];
    double logs[BATCH_BLOCKS];
    const Py_ssize_t i0 = e - c->first;
    each_run(p, 0, i0, n, mu);
    each_run(p, 1, i0, n, q);
    each_run(p, 2, i0, n, b);
    each_run(p, 3, i0, n, a);
    for (Py_ssize_t i = 0; i < n; i++) {
        attempt_sin_cos(w[4 * i], w[4 * i + 1], &sv[i], &cv[i]);
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        y[i] = a[i] / (b[i] + 2.0 * (cv[i] * cv[i]));
        v[i] = v32(w[4 * i + 2]);
        logs[i] = b[i] >= 0.0 ? (y[i] <= 64.0 ? y[i] : 1.0) / v[i] : 1.0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        logs[i] = log64(logs[i]);
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        int accepted = b[i] < 0.0 || y[i] * (2.0 - y[i]) - v[i] >= 0.0 ||
                       (y[i] <= 64.0 && logs[i] + 1.0 - y[i] >= 0.0);
        double s_i = sv[i], c_i = cv[i];
        if (!accepted) {
            uint32_t x[4];
            for (uint32_t attempt = 1;; attempt++) {
                retry_words(c->k0, c->k1, c->block, 4 * (uint64_t)(e + i), attempt, x);
                attempt_sin_cos(x[0], x[1], &s_i, &c_i);
                if (best_fisher_accepts(b[i], a[i], c_i, x[2])) {
                    break;
                }
            }
        }
        double t = mu[i] + 2.0 * cephes_atan(q[i] * s_i / c_i); /* into [-pi, pi) */
        out[i] = t >= PI ? t - 2.0 * PI : (t < -PI ? t + 2.0 * PI : t);
    }
}

#define MT_MAX (BATCH_WORDS / 4) /* sub-draws of one batch at most */

/* The shapes k of up to MT_MAX sub-draws and their Marsaglia-Tsang d, c and ln d
 * (of k + 1 below 1). */
typedef struct {
    double k[MT_MAX], d[MT_MAX], c[MT_MAX], log_d[MT_MAX];
} Shapes;

INLINE void mt_shape(Shapes *s, Py_ssize_t i, double k) {
    double d = (k < 1.0 ? k + 1.0 : k) - 1.0 / 3.0;
    s->k[i] = k;
    s->d[i] = d;
    s->c[i] = 1.0 / sqrt(9.0 * d);
    s->log_d[i] = log64(d);
}

/* The shapes of n sub-draws from parameter j of the kernel call's elements i0 ..
 * i0 + n - 1: computed once when it is one value for all. */
static void batch_shapes(Shapes *s, const Params *p, int j, Py_ssize_t i0, Py_ssize_t n) {
    if (p->step[j] != 0) {
        for (Py_ssize_t i = 0; i < n; i++) {
            mt_shape(s, i, each(p, j, i0 + i));
        }
        return;
    }
    mt_shape(s, 0, p->each[j][0]);
    for (Py_ssize_t i = 1; i < n; i++) {
        s->k[i] = s->k[0];
        s->d[i] = s->d[0];
        s->c[i] = s->c[0];
        s->log_d[i] = s->log_d[0];
    }
}

INLINE int mt_accept(double d, double z, double t, double lt, double u, double lu) {
    double v = t * t * t, z2 = z * z;
    return (u < 1.0 - 0.0331 * z2 * z2) | (lu < 0.5 * z2 + d * (1.0 - v + 3.0 * lt));
}

/* ln X of sub-draw i's standard gamma variate from ln t (times U**(1/k) below 1,
 * ln U = l3). */
INLINE double gamma_log(const Shapes *s, Py_ssize_t i, double lt, double l3) {
    double boost = l3 / s->k[i]; /* computed either way: the select below vectorises */
    return s->log_d[i] + 3.0 * lt + (s->k[i] < 1.0 ? boost : 0.0);
}

/* One attempt of n sub-draws on the words (x0, x1, x2) with constants c, d: t, ln t
 * (of 1 where t <= 0, unused) and whether it is accepted; a loop the compiler
 * vectorises. */
MULTIVERSION static void mt_attempt(const uint32_t *restrict x0, const uint32_t *restrict x1,
                                    const uint32_t *restrict x2, const double *restrict c,
                                    const double *restrict d, Py_ssize_t n, double *restrict t,
                                    double *restrict lt, unsigned char *restrict accepted) {
    for (Py_ssize_t i = 0; i < n; i++) {
        double z = box_muller(x0[i], x1[i]), ti = 1.0 + c[i] * z, u = v32(x2[i]);
        double lti = log64(ti > 0.0 ? ti : 1.0);
        accepted[i] = (ti > 0.0) & mt_accept(d[i], z, ti, lti, u, log64(u));
        t[i] = ti;
        lt[i] = lti;
    }
}

/* t[i] (and, when lt is not NULL, lt[i] = ln t[i]) of the first accepted attempt of n
 * sub-draws of shapes s: sub-draw i has first-pass words x + stride i and starts at
 * call word word0 + stride i. Attempt 0 runs for all at once (without lt, only the
 * squeeze test, and the full test one by one where it fails); then each retry attempt
 * runs at once for the sub-draws still rejected. */
MULTIVERSION static void mt_batch(const Call *call, const Shapes *s, const uint32_t *x, Py_ssize_t stride,
                     Py_ssize_t n, uint64_t word0, double *t, double *lt) {
    unsigned char accepted[MT_MAX];
    uint32_t x0[MT_MAX], x1[MT_MAX], x2[MT_MAX];
    double c[MT_MAX], d[MT_MAX], tr[MT_MAX], ltr[MT_MAX];
    Py_ssize_t pending[MT_MAX], waiting = 0;
    for (Py_ssize_t i = 0; i < n; i++) { /* contiguous words: the loops vectorise */
        x0[i] = x[stride * i];
        x1[i] = x[stride * i + 1];
        x2[i] = x[stride * i + 2];
    }
    if (lt != NULL) {
        mt_attempt(x0, x1, x2, s->c, s->d, n, t, lt, accepted);
    } else {
        for (Py_ssize_t i = 0; i < n; i++) {
            double z = box_muller(x0[i], x1[i]), ti = 1.0 + s->c[i] * z, u = v32(x2[i]);
            double z2 = z * z;
            int squeeze = (ti > 0.0) & (u < 1.0 - 0.0331 * z2 * z2);
            accepted[i] = squeeze;
            t[i] = ti;
            tr[i] = z; /* kept for the full test below */
            ltr[i] = u;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            if (!accepted[i] && t[i] > 0.0) {
                accepted[i] = (unsigned char)mt_accept(s->d[i], tr[i], t[i], log64(t[i]),
                                                       ltr[i], log64(ltr[i]));
            }
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!accepted[i]) {
            pending[waiting++] = i;
        }
    }
    for (uint32_t a = 1; waiting > 0; a++) {
        for (Py_ssize_t j = 0; j < waiting; j++) {
            Py_ssize_t i = pending[j];
            uint32_t y[4];
            retry_words(call->k0, call->k1, call->block, word0 + (uint64_t)(stride * i), a, y);
            x0[j] = y[0];
            x1[j] = y[1];
            x2[j] = y[2];
            c[j] = s->c[i];
            d[j] = s->d[i];
        }
        mt_attempt(x0, x1, x2, c, d, waiting, tr, ltr, accepted);
        Py_ssize_t still = 0;
        for (Py_ssize_t j = 0; j < waiting; j++) {
            Py_ssize_t i = pending[j];
            if (accepted[j]) {
                t[i] = tr[j];
                if (lt != NULL) {
                    lt[i] = ltr[j];
                }
            } else {
                pending[still++] = i;
            }
        }
        waiting = still;
    }
}

/* out[i] = X (d t**3) of sub-draw i for shapes from 1 up, ln X (gamma_log) below 1: n
 * sub-draws of one block each, from the words w, the first at call word word0. */
MULTIVERSION static void gamma_variates(const Call *c, const Shapes *s, const uint32_t *w,
                                        Py_ssize_t n, uint64_t word0, double *out) {
    double t[MT_MAX], lt[MT_MAX];
    int boost = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        boost |= s->k[i] < 1.0;
    }
    mt_batch(c, s, w, 4, n, word0, t, boost ? lt : NULL);
    if (!boost) {
        for (Py_ssize_t i = 0; i < n; i++) {
            out[i] = s->d[i] * (t[i] * t[i] * t[i]);
        }
        return;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        double logarithm = gamma_log(s, i, lt[i], log64(v32(w[4 * i + 3])));
        double plain = s->d[i] * (t[i] * t[i] * t[i]);
        out[i] = s->k[i] < 1.0 ? logarithm : plain;
    }
}

/* gamma: X * scale (X = exp(ln X) below shape 1); a block an element */
static void gamma_values(const Call *c, const Params *p, const uint32_t *w, Py_ssize_t n,
                         Py_ssize_t e, double *out) {
    Shapes s;
    double x[MT_MAX]; /* not in out: out may be the scale tensor itself */
    const Py_ssize_t i0 = e - c->first;
    batch_shapes(&s, p, 0, i0, n);
    gamma_variates(c, &s, w, n, 4 * (uint64_t)e, x);
    for (Py_ssize_t i = 0; i < n; i++) {
        out[i] = (s.k[i] < 1.0 ? exp(x[i]) : x[i]) * each(p, 1, i0 + i);
    }
}

/* beta: X / (X + Y) from ln X (words 0-3) and ln Y (words 4-7) (beta.py's _ratio) */
MULTIVERSION static void beta_values(const Call *c, const Params *p, const uint32_t *w,
                                     Py_ssize_t n, Py_ssize_t e, double *out) {
    Shapes a, b;
    batch_shapes(&a, p, 0, e - c->first, n);
    batch_shapes(&b, p, 1, e - c->first, n);
    double t[MT_MAX], ltx[MT_MAX], lty[MT_MAX], l3x[MT_MAX], l3y[MT_MAX], r[MT_MAX];
    mt_batch(c, &a, w, 8, n, 8 * (uint64_t)e, t, ltx);
    mt_batch(c, &b, w + 4, 8, n, 8 * (uint64_t)e + 4, t, lty);
    for (Py_ssize_t i = 0; i < n; i++) {
        l3x[i] = log64(v32(w[8 * i + 3]));
        l3y[i] = log64(v32(w[8 * i + 7]));
        r[i] = gamma_log(&b, i, lty[i], l3y[i]) - gamma_log(&a, i, ltx[i], l3x[i]);
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (r[i] <= 0.0) {
            out[i] = 1.0 / (1.0 + exp(r[i]));
        } else if (r[i] > 0.0) {
            double ex = exp(-r[i]);
            out[i] = ex / (1.0 + ex);
        } else { /* both logarithms -inf: the limit */
            double sx = l3x[i] * b.k[i], sy = l3y[i] * a.k[i];
            out[i] = sx > sy ? 1.0 : (sx < sy ? 0.0 : 0.5);
        }
    }
}

/* dirichlet: whole rows of k gammas, each normalised (dirichlet.py): elements first ..
 * first + n - 1 of the call are whole rows (first - origin a multiple of k), element e
 * of shape alpha[(e - origin) mod m]. A row is X_j / sum X, with X_j = exp(ln X_j)
 * below shape 1; where such a logarithm is below -700, exp(l_j - max l) / sum from the
 * logarithms of all X_j instead. */
#define DIRICHLET_GROUP 1024 /* gammas drawn before their rows are normalised, at least */
#define DIRICHLET_TABLE 4096 /* concentrations whose constants are computed once a call */

/* Row `row` of k values (X, or ln X below shape 1: `boosted`) normalised into out. */
INLINE void dirichlet_row(double *row, const unsigned char *boosted, Py_ssize_t k,
                          int f32, void *out) {
    int direct = 1;
    for (Py_ssize_t j = 0; j < k; j++) {
        direct &= !(boosted[j] && row[j] < -700.0);
    }
    for (Py_ssize_t j = 0; j < k; j++) {
        if (direct && boosted[j]) {
            row[j] = exp(row[j]);
        } else if (!direct && !boosted[j]) {
            row[j] = log64(row[j]);
        }
    }
    if (!direct) {
        double top = row[0];
        for (Py_ssize_t j = 1; j < k; j++) {
            top = row[j] > top || row[j] != row[j] ? row[j] : top;
        }
        for (Py_ssize_t j = 0; j < k; j++) {
            row[j] = exp(row[j] - top);
        }
    }
    double total = 0.0;
    for (Py_ssize_t j = 0; j < k; j++) {
        total += row[j];
    }
    for (Py_ssize_t j = 0; j < k; j++) {
        if (f32) {
            ((float *)out)[j] = (float)(row[j] / total);
        } else {
            ((double *)out)[j] = row[j] / total;
        }
    }
}

static int dirichlet_rows(const Kernel *kernel, const Call *c, const Params *p) {
    const Py_ssize_t k = p->k, m = p->m, rows = c->n / k;
    const Py_ssize_t group = k >= DIRICHLET_GROUP ? 1 : DIRICHLET_GROUP / k;
    const int f32 = kernel->size == 4;
    double *values = malloc((size_t)(group * k) * (sizeof(double) + 1));
    Shapes *table = m <= DIRICHLET_TABLE ? malloc((size_t)(m / MT_MAX + 1) * sizeof(Shapes)) : NULL;
    if (values == NULL || (table == NULL && m <= DIRICHLET_TABLE)) {
        free(values);
        free(table);
        return -1;
    }
    unsigned char *boosted = (unsigned char *)(values + group * k);
    for (Py_ssize_t a = 0; table != NULL && a < m; a++) {
        mt_shape(table + a / MT_MAX, a % MT_MAX, p->alpha[a]);
    }
    uint32_t w[BATCH_WORDS];
    Shapes s;
    for (Py_ssize_t r0 = 0; r0 < rows; r0 += group) {
        const Py_ssize_t count = (rows - r0 < group ? rows - r0 : group) * k;
        const Py_ssize_t e0 = c->first + r0 * k;
        Py_ssize_t at = (e0 - p->origin) % m;
        for (Py_ssize_t j0 = 0; j0 < count; j0 += MT_MAX) {
            Py_ssize_t part = count - j0 < MT_MAX ? count - j0 : MT_MAX;
            for (Py_ssize_t i = 0; i < part; i++) {
                if (table != NULL) {
                    const Shapes *t = table + at / MT_MAX;
                    const Py_ssize_t a = at % MT_MAX;
                    s.k[i] = t->k[a];
                    s.d[i] = t->d[a];
                    s.c[i] = t->c[a];
                    s.log_d[i] = t->log_d[a];
                } else {
                    mt_shape(&s, i, p->alpha[at]);
                }
                boosted[j0 + i] = s.k[i] < 1.0;
                at = at + 1 < m ? at + 1 : 0;
            }
            batch_words(c->k0, c->k1, c->block + (uint64_t)(e0 + j0), part, w);
            gamma_variates(c, &s, w, part, 4 * (uint64_t)(e0 + j0), values + j0);
        }
        for (Py_ssize_t r = 0; r < count / k; r++) {
            char *out = (char *)c->out + (r0 + r) * k * kernel->size;
            dirichlet_row(values + r * k, boosted + r * k, k, f32, out);
        }
    }
    free(values);
    free(table);
    return 0;
}

/* -- binomial: inversion below a mean of 10, BTRS above (trnrand_core._samplers.binomial)
 * Every operation as binomial.py's kernel does it; ln Gamma of whole numbers below 64 is
 * the table binomial.py builds with Python's math.lgamma (its own implementation, the
 * same on every platform), written here as exact hexadecimal literals. */
static const double LGAMMA64[64] = {
    0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x1.62e42fefa39ecp-1, 0x1.cab0bfa2a2004p+0,
    0x1.96ca77c922cf7p+1, 0x1.326643c4479cap+2, 0x1.a51273acf01cbp+2, 0x1.10ce1f32dcc30p+3,
    0x1.5358e82fcb70cp+3, 0x1.99a8921a7f7cep+3, 0x1.e357590954d14p+3, 0x1.180973f3a8d74p+4,
    0x1.3fcba16d50143p+4, 0x1.68d5a9c3b32cdp+4, 0x1.930f3df162a43p+4, 0x1.be636a63fd346p+4,
    0x1.eabff061f1a84p+4, 0x1.0c0a63f2f353ap+5, 0x1.2329df2d5ee52p+5, 0x1.3ab8153363985p+5,
    0x1.52af57aed77bep+5, 0x1.6b0a8643472a9p+5, 0x1.83c4faba84f05p+5, 0x1.9cda78b856a45p+5,
    0x1.b6472034e8d14p+5, 0x1.d007622cd65e7p+5, 0x1.ea17f717c6795p+5, 0x1.023aeb67e4fefp+6,
    0x1.0f8f18d33023fp+6, 0x1.1d07353917230p+6, 0x1.2aa208b59d0e6p+6, 0x1.385e6fd9e5a40p+6,
    0x1.463b59b942083p+6, 0x1.5437c633ace4ap+6, 0x1.6252c474896bap+6, 0x1.708b719e11658p+6,
    0x1.7ee0f79b26758p+6, 0x1.8d528c1243d96p+6, 0x1.9bdf6f75257a3p+6, 0x1.aa86ec2969812p+6,
    0x1.b94855c702ba1p+6, 0x1.c8230869ca104p+6, 0x1.d7166813e12eep+6, 0x1.e621e01eeba4fp+6,
    0x1.f544e2ba69cf1p+6, 0x1.023f743addd9fp+7, 0x1.09e7b7ea41ea9p+7, 0x1.119afe762626bp+7,
    0x1.19590c853a559p+7, 0x1.2121a930c6ec3p+7, 0x1.28f49ddeb1f32p+7, 0x1.30d1b61e86334p+7,
    0x1.38b8bf8931ddbp+7, 0x1.40a989a33a6cdp+7, 0x1.48a3e5c12af18p+7, 0x1.50a7a6ee08711p+7,
    0x1.58b4a1d39da74p+7, 0x1.60caaca474747p+7, 0x1.68e99f0757978p+7, 0x1.711152043b2c4p+7,
    0x1.79419ff26dc5ap+7, 0x1.817a6467f6fb9p+7, 0x1.89bb7c2a0aea0p+7,
};
static const double INV_LN2 = 0x1.71547652b82fep+0;      /* 1 / math.log(2) */
static const double HALF_LN_2PI = 0x1.d67f1c864beb4p-1;  /* 0.5 * math.log(2 pi) */
#define BINOMIAL_TABLE 1024 /* the memoised CDF's capacity (binomial._TABLE) */

/* exp(x) for -40 < x <= 0 from basic operations (binomial._exp_neg). */
static double exp_neg(double x) {
    static const double EXPS[19] = {
        1.0 / 6402373705728000.0, 1.0 / 355687428096000.0, 1.0 / 20922789888000.0,
        1.0 / 1307674368000.0,    1.0 / 87178291200.0,     1.0 / 6227020800.0,
        1.0 / 479001600.0,        1.0 / 39916800.0,        1.0 / 3628800.0,
        1.0 / 362880.0,           1.0 / 40320.0,           1.0 / 5040.0,
        1.0 / 720.0,              1.0 / 120.0,             1.0 / 24.0,
        1.0 / 6.0,                1.0 / 2.0,               1.0 / 1.0,
        1.0 / 1.0};
    double k = floor(x * INV_LN2 + 0.5);
    double r = (x - k * LN2_HI) - k * LN2_LO;
    return horner(r, EXPS, 19) * ldexp(1.0, -(int)(-k));
}

/* (1 - p)**n for 0 <= p <= 1/2 and n p < 10 (binomial._q_pow_n). */
static const double ATANH_WIDE[25] = { /* 2 / (2j + 1), j = 24 .. 0 */
    2.0 / 49, 2.0 / 47, 2.0 / 45, 2.0 / 43, 2.0 / 41, 2.0 / 39, 2.0 / 37, 2.0 / 35, 2.0 /
    33, 2.0 / 31, 2.0 / 29, 2.0 / 27, 2.0 / 25, 2.0 / 23, 2.0 / 21, 2.0 / 19, 2.0 / 17,
    2.0 / 15, 2.0 / 13, 2.0 / 11, 2.0 / 9, 2.0 / 7, 2.0 / 5, 2.0 / 3, 2.0 / 1
};

static double q_pow_n(double n, double p) {
    double s = p / (2.0 - p);
    return exp_neg(n * -(s * horner(s * s, ATANH_WIDE, 25)));
}

static double stirling_tail(double x) {
    double z = 1.0 / (x * x);
    return (1.0 / 12.0 - z * (1.0 / 360.0 - z * (1.0 / 1260.0 - z * (1.0 / 1680.0)))) / x;
}

/* ln Gamma(x) for whole 1 <= x <= 2**53 + 1. */
static double lgamma_whole(double x) {
    if (x < 64.0) {
        return LGAMMA64[(int64_t)x];
    }
    return (x - 0.5) * log64(x) - x + HALF_LN_2PI + stirling_tail(x);
}

/* ln Gamma(x1) - ln Gamma(x2) for whole x1, x2 >= 1, well conditioned; l1 = ln x1 and
 * t1 its Stirling tail (binomial._lgamma_diff). */
static double lgamma_diff(double x1, double l1, double t1, double x2) {
    if (x1 < 64.0 || x2 < 64.0) {
        return lgamma_whole(x1) - lgamma_whole(x2);
    }
    double d = x1 - x2, t = x1 + x2, lr;
    if (fabs(d) <= 0.17 * t) {
        double s = d / t;
        lr = s * horner(s * s, ATANH, 11);
    } else {
        lr = l1 - log64(x2);
    }
    return (x1 - 0.5) * lr + d * ((l1 - lr) - 1.0) + (t1 - stirling_tail(x2));
}

/* BTRS's constants for n trials of p <= 1/2 (binomial._btrs_hat), and those of its
 * exact test, made when an attempt first needs them (binomial._btrs_exact). */
typedef struct {
    double n, p, a, b, ci, cf, alpha, vr, m;
    int exact;
    double lpq, lm, tm, ln, tn;
} Btrs;

static Btrs btrs_hat(double n, double p) {
    Btrs h = {.n = n, .p = p};
    double q = 1.0 - p, spq = sqrt(n * p * q), c = n * p + 0.5;
    h.b = 1.15 + 2.53 * spq;
    h.a = -0.0873 + 0.0248 * h.b + 0.01 * p;
    h.ci = floor(c);
    h.cf = c - h.ci;
    h.alpha = (2.83 + 5.1 / h.b) * spq;
    h.vr = 0.92 - 4.2 / h.b;
    h.m = floor((n + 1.0) * p);
    return h;
}

/* An attempt on words x: 1 with *k accepted, 0 rejected (binomial._btrs_quick, then
 * _btrs_test where the quick test does not decide). */
static int btrs_attempt(Btrs *h, const uint32_t *x, double *k) {
    double u = u53(x[0], x[1]) - 0.5, v = u53(x[2], x[3]), us = 0.5 - fabs(u);
    *k = h->ci + floor((2.0 * h->a / us + h->b) * u + h->cf);
    if (*k < 0.0 || *k > h->n) {
        return 0;
    }
    if ((us >= 0.07 && v <= h->vr) || v == 0.0) {
        return 1;
    }
    if (!h->exact) {
        double x1 = h->m + 1.0, x2 = h->n - h->m + 1.0;
        h->lpq = log64(h->p / (1.0 - h->p));
        h->lm = log64(x1);
        h->tm = stirling_tail(x1);
        h->ln = log64(x2);
        h->tn = stirling_tail(x2);
        h->exact = 1;
    }
    double lhs = log64(v * h->alpha / (h->a / (us * us) + h->b));
    double rhs = lgamma_diff(h->m + 1.0, h->lm, h->tm, *k + 1.0) +
                 lgamma_diff(h->n - h->m + 1.0, h->ln, h->tn, h->n - *k + 1.0);
    return lhs <= rhs + (*k - h->m) * h->lpq;
}

/* binomial: one block an element; the result reflected to n - k where p > 1/2. The
 * constants (the memoised CDF, BTRS's) are remade where (n, p) changes. */
static void binomial_values(const Call *c, const Params *p, const uint32_t *w, Py_ssize_t n,
                            Py_ssize_t e, double *out) {
    const Py_ssize_t i0 = e - c->first;
    double pmf[BINOMIAL_TABLE], cdf[BINOMIAL_TABLE];
    double last_n = NAN, last_p = NAN, pr = 0.0, rr = 0.0;
    Py_ssize_t known = 0;
    int small = 0;
    Btrs h = {0};
    for (Py_ssize_t i = 0; i < n; i++) {
        const double trials = each(p, 0, i0 + i), prob = each(p, 1, i0 + i);
        if (trials != last_n || prob != last_p) {
            last_n = trials;
            last_p = prob;
            pr = prob > 0.5 ? 1.0 - prob : prob;
            small = trials * pr < 10.0;
            if (small) {
                rr = pr / (1.0 - pr);
                pmf[0] = cdf[0] = q_pow_n(trials, pr);
                known = 1;
            } else {
                h = btrs_hat(trials, pr);
            }
        }
        double k;
        if (small) { /* inversion on the CDF, memoised as far as it is walked */
            double u = u53(w[4 * i], w[4 * i + 1]);
            Py_ssize_t j = 0;
            while (u >= cdf[j] && pmf[j] > 0.0 && (double)j < trials && j < BINOMIAL_TABLE - 1) {
                j += 1;
                if (j == known) {
                    pmf[j] = pmf[j - 1] * ((trials - (double)j + 1.0) * rr) / (double)j;
                    cdf[j] = cdf[j - 1] + pmf[j];
                    known += 1;
                }
            }
            k = (double)j;
        } else if (!btrs_attempt(&h, w + 4 * i, &k)) {
            for (uint32_t a = 1;; a++) {
                uint32_t y[4];
                retry_words(c->k0, c->k1, c->block, 4 * (uint64_t)(e + i), a, y);
                if (btrs_attempt(&h, y, &k)) {
                    break;
                }
            }
        }
        out[i] = prob > 0.5 ? trials - k : k;
    }
}

/* -- truncated_normal: inversion in float64 (_samplers.truncated_normal) ---------------
 * libm's erfc, log, exp, log1p and expm1, as numba's kernel calls them; loc, scale, low
 * and high per element. */
static const double LOG_HALF = -0x1.62e42fefa39efp-1;  /* math.log(0.5) */
static const double SQRT_2PI = 0x1.40d931ff62705p+1;   /* math.sqrt(2 pi) */
static const double SQRT1_2 = 0x1.6a09e667f3bcdp-1;    /* math.sqrt(0.5) */
#define TRUNCATED_FAR 4294967296.0 /* from here every sample of [a, b] rounds to a */

/* (log Q(x), Q(x) / phi(x)): erfc below 5, Laplace's continued fraction above */
static void log_q_mills(double x, double *lq, double *m) {
    if (x < 5.0) {
        double q = 0.5 * erfc(x * SQRT1_2);
        *lq = log(q);
        *m = q * SQRT_2PI * exp(0.5 * x * x);
        return;
    }
    double t = x;
    for (int k = 30; k > 0; k--) {
        t = x + (double)k / t;
    }
    *m = 1.0 / t;
    *lq = log(*m) - 0.5 * x * x - HALF_LN_2PI;
}

/* z >= 0 with log Q(z) = t, by Newton's method from above */
static double inverse_log_q(double t) {
    double v = -2.0 * (t - LOG_HALF);
    double z = sqrt(v > 0.0 ? v : 0.0);
    for (int k = 0; k < 100; k++) {
        double lq, m;
        log_q_mills(z, &lq, &m);
        double step = (lq - t) * m;
        z += step;
        if (fabs(step) <= 1e-9 * (1.0 + z)) {
            break;
        }
    }
    return z;
}

static double standard_truncated(double u, double a, double b) {
    int flip = a + b < 0.0;
    if (flip) {
        double low = -b;
        b = -a;
        a = low;
    }
    if (a >= TRUNCATED_FAR) {
        return flip ? -a : a;
    }
    int upper = a >= 0.0;
    double l1, l2, unused, t, sign = 1.0;
    log_q_mills(upper ? a : -a, &l1, &unused);
    log_q_mills(b, &l2, &unused);
    if (upper) {
        t = l1 + log1p(-u * -expm1(l2 - l1));
    } else {
        double qa = exp(l1), qb = exp(l2);
        double mass = (0.5 - qa) + (0.5 - qb);
        double p = qa + u * mass;
        if (p <= 0.5) {
            t = log(p);
            sign = -1.0;
        } else {
            t = log(qb + (1.0 - u) * mass);
        }
    }
    double z = sign * inverse_log_q(t); /* min(max(z, a), b) as Python's */
    z = a > z ? a : z;
    z = b < z ? b : z;
    return flip ? -z : z;
}

static void truncated_values(const Call *c, const Params *p, const uint32_t *w, Py_ssize_t n,
                             Py_ssize_t e, double *out) {
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t at = e - c->first + i;
        double z = standard_truncated(open_u53(w[2 * i], w[2 * i + 1]), each(p, 2, at),
                                      each(p, 3, at));
        out[i] = each(p, 0, at) + each(p, 1, at) * z;
    }
}

/* -- poisson: inversion below 10, PTRS at and above (_samplers.poisson) ----------------
 * libm's exp, log, sqrt, floor and lgamma, as numba's kernel calls them; the CDF of the
 * current mean is memoised within a batch (which changes nothing but the speed). */
#define POISSON_INVERSION_BELOW 10.0
#define POISSON_TABLE 512 /* for means below 10, p_j underflows to 0 before j = 330 */

typedef struct {
    double lam, log_lam, b, a, log_inv_alpha, vr;
} Ptrs;

static Ptrs ptrs_constants(double lam) {
    Ptrs h = {.lam = lam, .log_lam = log(lam), .b = 0.931 + 2.53 * sqrt(lam)};
    h.a = -0.059 + 0.02483 * h.b;
    h.log_inv_alpha = log(1.1239 + 1.1328 / (h.b - 3.4));
    h.vr = 0.9277 - 3.6224 / (h.b - 2.0);
    return h;
}

/* One PTRS attempt on a block's words: accepted or not, and k */
static int ptrs_attempt(const Ptrs *h, const uint32_t *x, double *k) {
    double u = u53(x[0], x[1]) - 0.5, v = u53(x[2], x[3]);
    double us = 0.5 - fabs(u);
    *k = floor((2.0 * h->a / us + h->b) * u + h->lam + 0.43);
    if (us >= 0.07 && v <= h->vr) {
        return 1;
    }
    if (*k < 0.0 || (us < 0.013 && v > us)) {
        return 0;
    }
    double lhs = log(v) + h->log_inv_alpha - log(h->a / (us * us) + h->b);
    return lhs <= -h->lam + *k * h->log_lam - lgamma(*k + 1.0);
}

MULTIVERSION static void poisson_values(const Call *c, const Params *p, const uint32_t *w,
                                        Py_ssize_t n, Py_ssize_t e, double *out) {
    double pmf[POISSON_TABLE], cdf[POISSON_TABLE], last = NAN;
    int known = 0;
    Ptrs h = {0};
    for (Py_ssize_t i = 0; i < n; i++) {
        double mean = each(p, 0, e - c->first + i);
        const uint32_t *x = w + 4 * i;
        if (mean != last) {
            last = mean;
            if (mean < POISSON_INVERSION_BELOW) {
                pmf[0] = cdf[0] = exp(-mean);
                known = 1;
            } else {
                h = ptrs_constants(mean);
            }
        }
        if (mean < POISSON_INVERSION_BELOW) {
            double u = u53(x[0], x[1]);
            int k = 0;
            while (u >= cdf[k] && pmf[k] > 0.0 && k < POISSON_TABLE - 1) {
                k++;
                if (k == known) {
                    pmf[k] = pmf[k - 1] * mean / (double)k;
                    cdf[k] = cdf[k - 1] + pmf[k];
                    known++;
                }
            }
            out[i] = (double)k;
            continue;
        }
        double k;
        if (!ptrs_attempt(&h, x, &k)) {
            uint32_t y[4];
            for (uint32_t a = 1;; a++) {
                retry_words(c->k0, c->k1, c->block, 4 * (uint64_t)(e + i), a, y);
                if (ptrs_attempt(&h, y, &k)) {
                    break;
                }
            }
        }
        out[i] = k;
    }
}

/* The float64 values of `values`, rounded once to float32 (at most one batch's). */
static void to_float32(void (*values)(const Call *, const Params *, const uint32_t *,
                                      Py_ssize_t, Py_ssize_t, double *),
                       const Call *c, const Params *p, const uint32_t *w, Py_ssize_t n,
                       Py_ssize_t e, float *out) {
    double wide[BATCH_WORDS];
    values(c, p, w, n, e, wide);
    for (Py_ssize_t i = 0; i < n; i++) {
        out[i] = (float)wide[i];
    }
}

/* The float64 whole numbers of `values` as int64 (at most one batch's). */
static void to_int64(void (*values)(const Call *, const Params *, const uint32_t *,
                                    Py_ssize_t, Py_ssize_t, double *),
                     const Call *c, const Params *p, const uint32_t *w, Py_ssize_t n,
                     Py_ssize_t e, int64_t *out) {
    double wide[BATCH_WORDS];
    values(c, p, w, n, e, wide);
    for (Py_ssize_t i = 0; i < n; i++) {
        out[i] = (int64_t)wide[i];
    }
}

/* The spans of a family whose values are float64 (family_values): into float32, rounded
 * once, and into float64. */
#define FLOAT_SPANS(family)                                                                \
    static void family##_span32(const Call *c, const Params *p, const uint32_t *w,         \
                                Py_ssize_t n, Py_ssize_t e, void *out) {                   \
        to_float32(family##_values, c, p, w, n, e, out);                                   \
    }                                                                                      \
    static void family##_span64(const Call *c, const Params *p, const uint32_t *w,         \
                                Py_ssize_t n, Py_ssize_t e, void *out) {                   \
        family##_values(c, p, w, n, e, out);                                               \
    }
FLOAT_SPANS(gamma)
FLOAT_SPANS(beta)
FLOAT_SPANS(binomial)
FLOAT_SPANS(truncated)
FLOAT_SPANS(poisson)
FLOAT_SPANS(von_mises)

static void poisson_span_int64(const Call *c, const Params *p, const uint32_t *w,
                               Py_ssize_t n, Py_ssize_t e, void *out) {
    to_int64(poisson_values, c, p, w, n, e, out);
}

static void binomial_span_int64(const Call *c, const Params *p, const uint32_t *w,
                                Py_ssize_t n, Py_ssize_t e, void *out) {
    to_int64(binomial_values, c, p, w, n, e, out);
}

/* -- parameters ------------------------------------------------------------------------ */
static int parse_doubles(PyObject *const *params, Py_ssize_t count, Params *p) {
    for (Py_ssize_t k = 0; k < count; k++) {
        p->p[k] = PyFloat_AsDouble(params[k]);
    }
    return PyErr_Occurred() ? -1 : 0;
}
static int parse_none(PyObject *const *params, Params *p) { return 0; }
static int parse_one(PyObject *const *params, Params *p) { return parse_doubles(params, 1, p); }
static int parse_two(PyObject *const *params, Params *p) { return parse_doubles(params, 2, p); }
static int parse_four(PyObject *const *params, Params *p) { return parse_doubles(params, 4, p); }

/* uniform float32: low, span, top, below and the mask of u24's bits */
static int parse_uniform32(PyObject *const *params, Params *p) {
    if (parse_doubles(params, 4, p)) {
        return -1;
    }
    p->t = PyLong_AsLongLong(params[4]);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (p->t < 0 || p->t > 0xFFFFFF) {
        PyErr_Format(PyExc_ValueError, "mask must be in [0, 2**24), got %lld", p->t);
        return -1;
    }
    return 0;
}

/* bernoulli: the threshold floor(p 2**32) */
static int parse_threshold(PyObject *const *params, Params *p) {
    p->t = PyLong_AsLongLong(params[0]);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (p->t < 0 || p->t > ((long long)1 << 32)) {
        PyErr_Format(PyExc_ValueError, "threshold must be in [0, 2**32], got %lld", p->t);
        return -1;
    }
    return 0;
}

/* dirichlet: the address of m float64 concentrations, m, the row length k, and origin
 * (the caller keeps the concentrations alive during the call) */
static int parse_dirichlet(PyObject *const *params, Params *p) {
    p->alpha = PyLong_AsVoidPtr(params[0]);
    p->m = PyLong_AsSsize_t(params[1]);
    p->k = PyLong_AsSsize_t(params[2]);
    p->origin = PyLong_AsSsize_t(params[3]);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (p->alpha == NULL || p->m < 1 || p->k < 1 || p->origin < 0) {
        PyErr_SetString(PyExc_ValueError, "dirichlet needs concentrations, m, k >= 1 and origin >= 0");
        return -1;
    }
    return 0;
}

/* Per-element parameters: (address, step) of each of `count` float64 parameters (the
 * caller keeps them alive during the call) */
static int parse_pairs(PyObject *const *params, int count, Params *p) {
    for (int j = 0; j < count; j++) {
        p->each[j] = PyLong_AsVoidPtr(params[2 * j]);
        p->step[j] = PyLong_AsSsize_t(params[2 * j + 1]);
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    for (int j = 0; j < count; j++) {
        if (p->each[j] == NULL || p->step[j] < 0) {
            PyErr_SetString(PyExc_ValueError, "parameters need an address and a step >= 0");
            return -1;
        }
    }
    return 0;
}
/* gamma, beta, binomial, normal: two; exponential's scale, bernoulli's threshold: one */
static int parse_each(PyObject *const *params, Params *p) { return parse_pairs(params, 2, p); }
static int parse_each1(PyObject *const *params, Params *p) { return parse_pairs(params, 1, p); }
static int parse_each4(PyObject *const *params, Params *p) { return parse_pairs(params, 4, p); }

/* gumbel, logistic, laplace: the kind, then loc and scale per element */
static int parse_log_transform(PyObject *const *params, Params *p) {
    p->t = PyLong_AsLongLong(params[0]);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (p->t != GUMBEL && p->t != LOGISTIC && p->t != LAPLACE) {
        PyErr_Format(PyExc_ValueError, "kind must be 0, 1 or 2, got %lld", p->t);
        return -1;
    }
    return parse_pairs(params + 1, 2, p);
}

/* categorical: the addresses of the cdf (m rows of k, each ending in exactly 1) and of
 * the guide tables (m rows of `buckets`, each entry in [0, k)), m, k, buckets and
 * origin, the call element of row 0 (the caller keeps the tables alive) */
static int parse_categorical(PyObject *const *params, Params *p) {
    p->alpha = PyLong_AsVoidPtr(params[0]);
    p->guide = PyLong_AsVoidPtr(params[1]);
    p->m = PyLong_AsSsize_t(params[2]);
    p->k = PyLong_AsSsize_t(params[3]);
    p->buckets = PyLong_AsSsize_t(params[4]);
    p->origin = PyLong_AsSsize_t(params[5]);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (p->alpha == NULL || p->guide == NULL || p->m < 1 || p->k < 1 || p->buckets < 1 ||
        p->origin < 0) {
        PyErr_SetString(PyExc_ValueError,
                        "categorical needs tables, m, k, buckets >= 1 and origin >= 0");
        return -1;
    }
    return 0;
}

/* randint: low mod 2**64, span, (2**32 - span) mod span */
static int parse_randint(PyObject *const *params, Params *p) {
    for (int k = 0; k < 3; k++) {
        p->u[k] = PyLong_AsUnsignedLongLong(params[k]);
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    if (p->u[1] == 0 || p->u[1] > ((uint64_t)1 << 32)) {
        PyErr_Format(PyExc_ValueError, "span must be in [1, 2**32], got %llu",
                     (unsigned long long)p->u[1]);
        return -1;
    }
    return 0;
}

/* randint, two words: low mod 2**64, span's high half (up to 2**32) and low half,
 * (2**64 - span) mod span */
static int parse_randint2(PyObject *const *params, Params *p) {
    for (int k = 0; k < 4; k++) {
        p->u[k] = PyLong_AsUnsignedLongLong(params[k]);
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    if (p->u[1] == 0 || p->u[1] > ((uint64_t)1 << 32) || p->u[2] > 0xFFFFFFFFu ||
        (p->u[1] == ((uint64_t)1 << 32) && p->u[2] != 0)) {
        PyErr_Format(PyExc_ValueError, "span must be in (2**32, 2**64], got halves %llu, %llu",
                     (unsigned long long)p->u[1], (unsigned long long)p->u[2]);
        return -1;
    }
    return 0;
}

enum { UNIFORM_F32, UNIFORM_F64, NORMAL_F32, NORMAL_F64, NORMAL_EACH_F32, NORMAL_EACH_F64,
       EXPONENTIAL_F32, EXPONENTIAL_F64, EXPONENTIAL_EACH_F32, EXPONENTIAL_EACH_F64,
       BERNOULLI_F32, BERNOULLI_U8, BERNOULLI_EACH_F32, BERNOULLI_EACH_U8, WORDS_I64,
       RANDINT1_I64, RANDINT2_I64, LOG_TRANSFORM_F32, LOG_TRANSFORM_F64, GAMMA_F32, GAMMA_F64,
       BETA_F32, BETA_F64, DIRICHLET_F32, DIRICHLET_F64, BINOMIAL_F32, BINOMIAL_F64,
       BINOMIAL_I64, TRUNCATED_NORMAL_F32, TRUNCATED_NORMAL_F64, POISSON_F32, POISSON_F64,
       POISSON_I64, SWAP_TARGETS_I64, CATEGORICAL_I64, VON_MISES_F32, VON_MISES_F64,
       N_KERNELS };
static const Kernel KERNELS[N_KERNELS] = {
    [UNIFORM_F32] = {"uniform_f32", 5, parse_uniform32, uniform32, 1, 1, 4},
    [UNIFORM_F64] = {"uniform_f64", 4, parse_four, uniform64, 2, 1, 8},
    [NORMAL_F32] = {"normal_f32", 2, parse_two, normal32, 1, 2, 4},
    [NORMAL_F64] = {"normal_f64", 2, parse_two, normal64, 2, 2, 8},
    [NORMAL_EACH_F32] = {"normal_each_f32", 4, parse_each, normal_each32, 1, 2, 4},
    [NORMAL_EACH_F64] = {"normal_each_f64", 4, parse_each, normal_each64, 2, 2, 8},
    [EXPONENTIAL_F32] = {"exponential_f32", 1, parse_one, exponential32, 1, 1, 4},
    [EXPONENTIAL_F64] = {"exponential_f64", 1, parse_one, exponential64, 2, 1, 8},
    [EXPONENTIAL_EACH_F32] = {"exponential_each_f32", 2, parse_each1, exponential_each32, 1, 1, 4},
    [EXPONENTIAL_EACH_F64] = {"exponential_each_f64", 2, parse_each1, exponential_each64, 2, 1, 8},
    [BERNOULLI_F32] = {"bernoulli_f32", 1, parse_threshold, bernoulli32, 1, 1, 4},
    [BERNOULLI_U8] = {"bernoulli_u8", 1, parse_threshold, bernoulli8, 1, 1, 1},
    [BERNOULLI_EACH_F32] = {"bernoulli_each_f32", 2, parse_each1, bernoulli_each32, 1, 1, 4},
    [BERNOULLI_EACH_U8] = {"bernoulli_each_u8", 2, parse_each1, bernoulli_each8, 1, 1, 1},
    [WORDS_I64] = {"words_i64", 0, parse_none, word64, 1, 1, 8},
    [RANDINT1_I64] = {"randint1_i64", 3, parse_randint, randint1, 1, 1, 8},
    [RANDINT2_I64] = {"randint2_i64", 4, parse_randint2, randint2, 2, 1, 8},
    [LOG_TRANSFORM_F32] = {"log_transform_f32", 5, parse_log_transform, log_transform32, 1, 1, 4},
    [LOG_TRANSFORM_F64] = {"log_transform_f64", 5, parse_log_transform, log_transform64, 2, 1, 8},
    [GAMMA_F32] = {"gamma_f32", 4, parse_each, gamma_span32, 4, 1, 4},
    [GAMMA_F64] = {"gamma_f64", 4, parse_each, gamma_span64, 4, 1, 8},
    [BETA_F32] = {"beta_f32", 4, parse_each, beta_span32, 8, 1, 4},
    [BETA_F64] = {"beta_f64", 4, parse_each, beta_span64, 8, 1, 8},
    [DIRICHLET_F32] = {"dirichlet_f32", 4, parse_dirichlet, NULL, 4, 1, 4, dirichlet_rows},
    [DIRICHLET_F64] = {"dirichlet_f64", 4, parse_dirichlet, NULL, 4, 1, 8, dirichlet_rows},
    [BINOMIAL_F32] = {"binomial_f32", 4, parse_each, binomial_span32, 4, 1, 4},
    [BINOMIAL_F64] = {"binomial_f64", 4, parse_each, binomial_span64, 4, 1, 8},
    [BINOMIAL_I64] = {"binomial_i64", 4, parse_each, binomial_span_int64, 4, 1, 8},
    [TRUNCATED_NORMAL_F32] = {"truncated_normal_f32", 8, parse_each4, truncated_span32, 2, 1, 4},
    [TRUNCATED_NORMAL_F64] = {"truncated_normal_f64", 8, parse_each4, truncated_span64, 2, 1, 8},
    [POISSON_F32] = {"poisson_f32", 2, parse_each1, poisson_span32, 4, 1, 4},
    [POISSON_F64] = {"poisson_f64", 2, parse_each1, poisson_span64, 4, 1, 8},
    [POISSON_I64] = {"poisson_i64", 2, parse_each1, poisson_span_int64, 4, 1, 8},
    [SWAP_TARGETS_I64] = {"swap_targets_i64", 0, parse_none, swap_targets, 1, 1, 8},
    [CATEGORICAL_I64] = {"categorical_i64", 6, parse_categorical, categorical, 2, 1, 8},
    [VON_MISES_F32] = {"von_mises_f32", 8, parse_each4, von_mises_span32, 4, 1, 4},
    [VON_MISES_F64] = {"von_mises_f64", 8, parse_each4, von_mises_span64, 4, 1, 8},
};

/* Whether a kernel's values can be written narrowed so: a float32 kernel's as float16
 * or bfloat16, an int64 kernel's as int32 (not dirichlet's rows, which run their own
 * loop). */
static int narrows(const Kernel *k, long narrow) {
    const char *suffix = strrchr(k->name, '_');
    if (narrow == WIDE) {
        return 1;
    }
    if (k->run != NULL || suffix == NULL) {
        return 0;
    }
    if (narrow == TO_FLOAT16 || narrow == TO_BFLOAT16) {
        return strcmp(suffix, "_f32") == 0;
    }
    return narrow == TO_INT32 && strcmp(suffix, "_i64") == 0;
}

/* A kernel called from Python, without the GIL while it runs (the thread pool runs
 * parts of one call at once): (k0, k1, block, first, n, address, *parameters[,
 * narrow]), narrow one of WIDE (the default), TO_FLOAT16, TO_BFLOAT16, TO_INT32. */
static PyObject *call_kernel(const Kernel *k, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 6 + k->n_params && nargs != 7 + k->n_params) {
        PyErr_Format(PyExc_TypeError, "%s takes %zd or %zd arguments, got %zd", k->name,
                     6 + k->n_params, 7 + k->n_params, nargs);
        return NULL;
    }
    long narrow = nargs == 7 + k->n_params ? PyLong_AsLong(args[nargs - 1]) : WIDE;
    if (narrow == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (!narrows(k, narrow)) {
        PyErr_Format(PyExc_ValueError, "%s cannot write narrow=%ld", k->name, narrow);
        return NULL;
    }
    Call c = {
        .k0 = (uint32_t)PyLong_AsUnsignedLongLong(args[0]),
        .k1 = (uint32_t)PyLong_AsUnsignedLongLong(args[1]),
        .block = (uint64_t)PyLong_AsUnsignedLongLongMask(args[2]), /* 2**64 only if n == 0 */
        .first = PyLong_AsSsize_t(args[3]),
        .n = PyLong_AsSsize_t(args[4]),
        .out = PyLong_AsVoidPtr(args[5]),
        .narrow = (int)narrow,
    };
    Params p = {0};
    if (PyErr_Occurred() || k->parse(args + 6, &p)) {
        return NULL;
    }
    if (c.first < 0 || c.n < 0 || c.first > PY_SSIZE_T_MAX - c.n ||
        (c.n > 0 && c.out == NULL)) {
        PyErr_SetString(PyExc_ValueError, "first and n must be >= 0, the address not null");
        return NULL;
    }
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    if (k->run != NULL) {
        failed = k->run(k, &c, &p);
    } else {
        run_kernel(k, &c, &p);
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

#define ENTRY(index, name)                                                               \
    static PyObject *name(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {     \
        return call_kernel(&KERNELS[index], args, nargs);                                \
    }
ENTRY(UNIFORM_F32, uniform_f32)
ENTRY(UNIFORM_F64, uniform_f64)
ENTRY(NORMAL_F32, normal_f32)
ENTRY(NORMAL_F64, normal_f64)
ENTRY(NORMAL_EACH_F32, normal_each_f32)
ENTRY(NORMAL_EACH_F64, normal_each_f64)
ENTRY(EXPONENTIAL_F32, exponential_f32)
ENTRY(EXPONENTIAL_F64, exponential_f64)
ENTRY(EXPONENTIAL_EACH_F32, exponential_each_f32)
ENTRY(EXPONENTIAL_EACH_F64, exponential_each_f64)
ENTRY(BERNOULLI_F32, bernoulli_f32)
ENTRY(BERNOULLI_U8, bernoulli_u8)
ENTRY(BERNOULLI_EACH_F32, bernoulli_each_f32)
ENTRY(BERNOULLI_EACH_U8, bernoulli_each_u8)
ENTRY(WORDS_I64, words_i64)
ENTRY(RANDINT1_I64, randint1_i64)
ENTRY(RANDINT2_I64, randint2_i64)
ENTRY(LOG_TRANSFORM_F32, log_transform_f32)
ENTRY(LOG_TRANSFORM_F64, log_transform_f64)
ENTRY(GAMMA_F32, gamma_f32)
ENTRY(GAMMA_F64, gamma_f64)
ENTRY(BETA_F32, beta_f32)
ENTRY(BETA_F64, beta_f64)
ENTRY(DIRICHLET_F32, dirichlet_f32)
ENTRY(DIRICHLET_F64, dirichlet_f64)
ENTRY(BINOMIAL_F32, binomial_f32)
ENTRY(BINOMIAL_F64, binomial_f64)
ENTRY(BINOMIAL_I64, binomial_i64)
ENTRY(TRUNCATED_NORMAL_F32, truncated_normal_f32)
ENTRY(TRUNCATED_NORMAL_F64, truncated_normal_f64)
ENTRY(POISSON_F32, poisson_f32)
ENTRY(POISSON_F64, poisson_f64)
ENTRY(POISSON_I64, poisson_i64)
ENTRY(SWAP_TARGETS_I64, swap_targets_i64)
ENTRY(CATEGORICAL_I64, categorical_i64)
ENTRY(VON_MISES_F32, von_mises_f32)
ENTRY(VON_MISES_F64, von_mises_f64)

/* -- the front end of small calls (trnrand_core._samplers._small) --------------------
 * small_call(spec, args, kwargs) draws a small call the way _small's docstring says, or
 * returns None (nothing reserved, nothing raised for a user's argument) so that the
 * general path runs it. spec = (names, defaults, plan, cache): the sampler's parameter
 * names in signature order followed by "dtype" and "generator", their defaults, the
 * sampler's plan (plan(dtype, *params) -> None or (kernel name, kernel parameters))
 * and a PlanCache holding the plans' answers in C form.
 */
#define SMALL_MAX 4096
#define MAX_NAMES 8
#define SMALL_DIMS 8 /* passed to torch.empty as separate ints */
#define PLAN_CACHE_MAX 1024

static struct {
    int ready;
    /* module dicts: _small (_off), _common (_PORTABLE_ON_CPU) */
    PyObject *small_globals, *common_globals;
    PyObject *active_plugin, *default_generator, *generator_type, *dtype_type;
    PyObject *empty, *default_dtype, *reservations, *current_level;
} S;
/* interned attribute and key names */
static PyObject *s_off, *s_portable, *s_advance, *s_seed, *s_size, *s_check_call, *s_device,
    *s_type, *s_cpu, *s_is_cpu, *s_data_ptr, *s_dtype_kw;
static unsigned long long small_calls;
static PyObject *cpu_device; /* a torch.device known to be the CPU */

typedef struct {
    const Kernel *kernel;
    Params params;
} Plan;

static PyObject *setup(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    PyObject **slots[] = {&S.small_globals, &S.common_globals, &S.active_plugin,
                          &S.default_generator, &S.generator_type, &S.dtype_type,
                          &S.empty, &S.default_dtype, &S.reservations, &S.current_level};
    const Py_ssize_t count = sizeof slots / sizeof slots[0];
    if (nargs != count) {
        PyErr_Format(PyExc_TypeError, "setup takes %zd arguments, got %zd", count, nargs);
        return NULL;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_INCREF(args[k]);
        Py_XSETREF(*slots[k], args[k]);
    }
    S.ready = 1;
    Py_RETURN_NONE;
}

/* A plain float or int, not -0.0 (which the plan cache would not tell from 0.0). */
static int plain_number(PyObject *v) {
    if (PyFloat_CheckExact(v)) {
        double d = PyFloat_AS_DOUBLE(v);
        return d != 0.0 || !signbit(d);
    }
    return PyLong_CheckExact(v);
}

/* ``(shape, elements)`` of a call's *size: ints, or one tuple/list/torch.Size of
 * them, each at most SMALL_MAX, with at most SMALL_MAX elements. NULL: not small. */
static PyObject *small_shape(PyObject *args, Py_ssize_t *n) {
    PyObject *dims = args;
    if (PyTuple_GET_SIZE(args) == 1 && !PyLong_CheckExact(PyTuple_GET_ITEM(args, 0))) {
        dims = PyTuple_GET_ITEM(args, 0);
        if (!PyTuple_Check(dims) && !PyList_CheckExact(dims)) { /* torch.Size is a tuple */
            return NULL;
        }
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(dims);
    PyObject **items = PySequence_Fast_ITEMS(dims);
    long long total = 1;
    for (Py_ssize_t k = 0; k < count; k++) {
        if (!PyLong_CheckExact(items[k])) {
            return NULL;
        }
        int overflow;
        long long d = PyLong_AsLongLongAndOverflow(items[k], &overflow);
        if (overflow || d < 0 || d > SMALL_MAX) {
            return NULL;
        }
        total *= d;
        if (total > SMALL_MAX) {
            return NULL;
        }
    }
    *n = (Py_ssize_t)total;
    return PyTuple_CheckExact(dims) ? Py_NewRef(dims) : PySequence_Tuple(dims);
}

/* A sampler's plans in C form: a dict from (dtype, *params, which params are floats) to
 * the Plan's bytes (None: declined), and the last call's arguments and answer, so that a
 * loop passing the same objects skips building and hashing the key. */
typedef struct {
    PyObject_HEAD
    PyObject *plans;
    PyObject *last[MAX_NAMES + 1]; /* dtype, params (strong references), or NULL */
    Py_ssize_t last_count;
    int last_found;
    Plan last_plan;
} PlanCache;

static void forget_last(PlanCache *cache) {
    for (Py_ssize_t k = 0; k < cache->last_count; k++) {
        Py_CLEAR(cache->last[k]);
    }
    cache->last_count = 0;
}

static void remember_last(PlanCache *cache, PyObject *dtype, PyObject **values,
                          Py_ssize_t count, int found, const Plan *plan) {
    forget_last(cache);
    cache->last[0] = Py_NewRef(dtype);
    for (Py_ssize_t k = 0; k < count; k++) {
        cache->last[k + 1] = Py_NewRef(values[k]);
    }
    cache->last_count = count + 1;
    cache->last_found = found;
    if (found) {
        cache->last_plan = *plan;
    }
}

static int same_as_last(const PlanCache *cache, PyObject *dtype, PyObject **values,
                        Py_ssize_t count) {
    if (cache->last_count != count + 1 || cache->last[0] != dtype) {
        return 0;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        if (cache->last[k + 1] != values[k]) {
            return 0;
        }
    }
    return 1;
}

static PyObject *plan_cache_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    if (PyTuple_GET_SIZE(args) || (kwargs != NULL && PyDict_GET_SIZE(kwargs))) {
        PyErr_SetString(PyExc_TypeError, "PlanCache() takes no arguments");
        return NULL;
    }
    PlanCache *cache = (PlanCache *)type->tp_alloc(type, 0);
    if (cache != NULL && (cache->plans = PyDict_New()) == NULL) {
        Py_CLEAR(cache);
    }
    return (PyObject *)cache;
}

static void plan_cache_dealloc(PlanCache *cache) {
    forget_last(cache);
    Py_XDECREF(cache->plans);
    Py_TYPE(cache)->tp_free((PyObject *)cache);
}

static PyTypeObject PlanCacheType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "trnrand_core._native.PlanCache",
    .tp_basicsize = sizeof(PlanCache),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A small-call sampler's plans in C form (see _native.c).",
    .tp_new = plan_cache_new,
    .tp_dealloc = (destructor)plan_cache_dealloc,
};

/* A plan's answer in its cache form: the Plan's bytes, or None (declined); NULL with an
 * error for an answer that names no kernel or gives it the wrong parameters. */
static PyObject *plan_entry(PyObject *answer) {
    if (answer == Py_None) {
        return Py_NewRef(Py_None);
    }
    Plan made = {0};
    const char *name;
    PyObject *params;
    if (!PyArg_ParseTuple(answer, "sO!", &name, &PyTuple_Type, &params)) {
        return NULL;
    }
    for (int k = 0; k < N_KERNELS; k++) {
        if (strcmp(KERNELS[k].name, name) == 0) {
            made.kernel = &KERNELS[k];
        }
    }
    if (made.kernel == NULL || made.kernel->run != NULL ||
        PyTuple_GET_SIZE(params) != made.kernel->n_params) {
        PyErr_Format(PyExc_RuntimeError, "bad small-call plan for kernel %s", name);
        return NULL;
    }
    if (made.kernel->parse(&PyTuple_GET_ITEM(params, 0), &made.params)) {
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)&made, sizeof made);
}

/* The plan for (dtype, *params), from the cache or from the sampler's plan. Returns 1
 * with *plan filled, 0 when the plan declines, -1 on an error of trnrand's own. */
static int find_plan(PyObject *spec, PyObject *dtype, PyObject **values, Py_ssize_t count,
                     Plan *plan) {
    PlanCache *plans = (PlanCache *)PyTuple_GET_ITEM(spec, 3);
    if (Py_TYPE(plans) != &PlanCacheType) {
        PyErr_SetString(PyExc_TypeError, "small_call: spec[3] must be a PlanCache");
        return -1;
    }
    if (same_as_last(plans, dtype, values, count)) {
        *plan = plans->last_plan;
        return plans->last_found;
    }
    PyObject *cache = plans->plans;
    long floats = 0; /* which parameters are floats: 1.0 must not find 1's plan */
    PyObject *key = PyTuple_New(count + 2);
    if (key == NULL) {
        return -1;
    }
    PyTuple_SET_ITEM(key, 0, Py_NewRef(dtype));
    for (Py_ssize_t k = 0; k < count; k++) {
        PyTuple_SET_ITEM(key, k + 1, Py_NewRef(values[k]));
        floats |= (long)PyFloat_CheckExact(values[k]) << k;
    }
    PyObject *bits = PyLong_FromLong(floats);
    if (bits == NULL) {
        Py_DECREF(key);
        return -1;
    }
    PyTuple_SET_ITEM(key, count + 1, bits);
    PyObject *found = PyDict_GetItemWithError(cache, key); /* borrowed */
    if (found == NULL) {
        if (PyErr_Occurred()) {
            Py_DECREF(key);
            return -1;
        }
        PyObject *plan_args[MAX_NAMES + 1];
        plan_args[0] = dtype;
        for (Py_ssize_t k = 0; k < count; k++) {
            plan_args[k + 1] = values[k];
        }
        PyObject *answer = PyObject_Vectorcall(PyTuple_GET_ITEM(spec, 2), plan_args,
                                               count + 1, NULL);
        PyObject *entry = answer == NULL ? NULL : plan_entry(answer);
        Py_XDECREF(answer);
        if (entry == NULL) {
            Py_DECREF(key);
            return -1;
        }
        if (PyDict_GET_SIZE(cache) >= PLAN_CACHE_MAX) {
            PyDict_Clear(cache); /* keys that never repeat (NaN objects) stay bounded */
        }
        int failed = PyDict_SetItem(cache, key, entry);
        found = entry;
        Py_DECREF(entry); /* the cache holds it */
        if (failed) {
            Py_DECREF(key);
            return -1;
        }
    }
    Py_DECREF(key);
    if (found != Py_None) {
        memcpy(plan, PyBytes_AS_STRING(found), sizeof *plan);
    }
    remember_last(plans, dtype, values, count, found != Py_None, plan);
    return found != Py_None;
}

/* Whether small calls may run now: not inside general_path(), portable_on_cpu(), a
 * call drawn in pieces or a torch.func transform. 1 yes, 0 no, -1 error. */
static int open_now(void) {
    PyObject *off = PyDict_GetItemWithError(S.small_globals, s_off);
    PyObject *portable = PyDict_GetItemWithError(S.common_globals, s_portable);
    if (off != Py_False || portable != Py_False) {
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *recorded;
    if (PyContextVar_Get(S.reservations, Py_None, &recorded)) {
        return -1;
    }
    Py_DECREF(recorded);
    if (recorded != Py_None) {
        return 0;
    }
    PyObject *level = PyObject_CallNoArgs(S.current_level);
    if (level == NULL) {
        return -1;
    }
    Py_DECREF(level);
    return level == Py_None;
}

/* Whether gen (a trnrand Generator) is unpartitioned, on the CPU, with no call check. */
static int cpu_generator(PyObject *gen) {
    PyObject *size = PyObject_GetAttr(gen, s_size);
    if (size == NULL) {
        return -1;
    }
    int overflow;
    long long parts = PyLong_AsLongLongAndOverflow(size, &overflow);
    Py_DECREF(size);
    if (parts != 1 || overflow) {
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *check = PyObject_GetAttr(gen, s_check_call);
    if (check == NULL) {
        return -1;
    }
    Py_DECREF(check);
    if (check != Py_None) {
        return 0;
    }
    PyObject *device = PyObject_GetAttr(gen, s_device);
    if (device == NULL) {
        return -1;
    }
    if (device == cpu_device) { /* torch.device.type builds a new str: ~0.2 us */
        Py_DECREF(device);
        return 1;
    }
    PyObject *type = PyObject_GetAttr(device, s_type);
    if (type == NULL) {
        Py_DECREF(device);
        return -1;
    }
    int cpu = PyUnicode_Compare(type, s_cpu) == 0;
    Py_DECREF(type);
    if (cpu) {
        Py_XSETREF(cpu_device, device); /* the last CPU device seen (a strong reference) */
    } else {
        Py_DECREF(device);
    }
    return PyErr_Occurred() ? -1 : cpu;
}

/* Whether no plugin backend is active (_backends.active_plugin(), which caches its
 * answer per backend choice). 1 yes, 0 no, -1 error. */
static int no_plugin(void) {
    PyObject *plugin = PyObject_CallNoArgs(S.active_plugin);
    if (plugin == NULL) {
        return -1;
    }
    Py_DECREF(plugin);
    return plugin == Py_None;
}

/* The result tensor, or Py_None when torch.empty does not make a CPU tensor (a default
 * device is set). */
static PyObject *allocate(PyObject *shape, PyObject *dtype) {
    PyObject *preferred = PyObject_CallNoArgs(S.default_dtype);
    if (preferred == NULL) {
        return NULL;
    }
    Py_DECREF(preferred);
    /* torch parses empty(4, 4) in 0.4 us less than empty((4, 4)), and a dtype argument
     * costs it ~0.2 us: the default dtype is left out */
    PyObject *call[SMALL_DIMS + 1];
    Py_ssize_t dims = PyTuple_GET_SIZE(shape);
    if (dims == 0 || dims > SMALL_DIMS) {
        dims = 1;
        call[0] = shape;
    } else {
        memcpy(call, &PyTuple_GET_ITEM(shape, 0), dims * sizeof(PyObject *));
    }
    call[dims] = dtype;
    PyObject *keywords = dtype == preferred ? NULL : s_dtype_kw;
    PyObject *out = PyObject_Vectorcall(S.empty, call, dims, keywords);
    if (out == NULL) {
        return NULL;
    }
    PyObject *is_cpu = PyObject_GetAttr(out, s_is_cpu);
    if (is_cpu == NULL) {
        Py_DECREF(out);
        return NULL;
    }
    Py_DECREF(is_cpu);
    if (is_cpu != Py_True) {
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return out;
}

/* Reserve the call's blocks of gen (gen._advance) and run the plan into out. */
static int draw_into(PyObject *gen, PyObject *out, const Plan *plan, Py_ssize_t n) {
    PyObject *address = PyObject_CallMethodNoArgs(out, s_data_ptr);
    if (address == NULL) {
        return -1;
    }
    void *data = PyLong_AsVoidPtr(address);
    Py_DECREF(address);
    if (PyErr_Occurred()) {
        return -1;
    }
    PyObject *blocks = PyLong_FromLongLong(((long long)n * plan->kernel->words + 3) / 4);
    if (blocks == NULL) {
        return -1;
    }
    PyObject *call[2] = {gen, blocks};
    PyObject *start = PyObject_VectorcallMethod(s_advance, call, 2, NULL);
    Py_DECREF(blocks);
    if (start == NULL) {
        return -1;
    }
    Call c = {.block = PyLong_AsUnsignedLongLongMask(start), .first = 0, .n = n, .out = data};
    Py_DECREF(start);
    PyObject *seed = PyObject_GetAttr(gen, s_seed);
    if (seed == NULL) {
        return -1;
    }
    unsigned long long key = PyLong_AsUnsignedLongLongMask(seed);
    Py_DECREF(seed);
    if (PyErr_Occurred()) {
        return -1;
    }
    c.k0 = (uint32_t)key;
    c.k1 = (uint32_t)(key >> 32);
    run_kernel(plan->kernel, &c, &plan->params);
    small_calls++;
    return 0;
}

static PyObject *small_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != 4 ||
        !PyTuple_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "small_call(spec, args, kwargs)");
        return NULL;
    }
    if (!S.ready) {
        Py_RETURN_NONE;
    }
    PyObject *spec = args[0], *kwargs = args[2];
    PyObject *names = PyTuple_GET_ITEM(spec, 0), *defaults = PyTuple_GET_ITEM(spec, 1);
    Py_ssize_t count = PyTuple_GET_SIZE(names);
    if (count > MAX_NAMES || count < 2 || PyTuple_GET_SIZE(defaults) != count) {
        PyErr_SetString(PyExc_ValueError, "small_call: a spec has 2 to 8 names and defaults");
        return NULL;
    }
    int open = open_now();
    if (open <= 0) {
        return open < 0 ? NULL : Py_NewRef(Py_None);
    }
    /* the arguments: defaults, replaced by the keywords the call names */
    PyObject *values[MAX_NAMES];
    for (Py_ssize_t k = 0; k < count; k++) {
        values[k] = PyTuple_GET_ITEM(defaults, k);
    }
    if (kwargs != Py_None) {
        if (!PyDict_CheckExact(kwargs)) {
            PyErr_SetString(PyExc_TypeError, "small_call: kwargs must be a dict or None");
            return NULL;
        }
        Py_ssize_t pos = 0;
        PyObject *name, *value;
        while (PyDict_Next(kwargs, &pos, &name, &value)) {
            Py_ssize_t k = 0;
            while (k < count && PyTuple_GET_ITEM(names, k) != name &&
                   !(PyUnicode_Check(name) &&
                     PyUnicode_Compare(PyTuple_GET_ITEM(names, k), name) == 0)) {
                k++;
            }
            if (k == count) { /* an argument the small path does not take */
                Py_RETURN_NONE;
            }
            values[k] = value;
        }
    }
    PyObject *dtype = values[count - 2], *generator = values[count - 1];
    if (Py_TYPE(dtype) != (PyTypeObject *)S.dtype_type) {
        Py_RETURN_NONE;
    }
    for (Py_ssize_t k = 0; k < count - 2; k++) {
        if (!plain_number(values[k])) { /* tensors, bools, -0.0, a required keyword */
            Py_RETURN_NONE;
        }
    }
    Py_ssize_t n;
    PyObject *shape = small_shape(args[1], &n);
    if (shape == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    PyObject *gen = generator == Py_None ? PyObject_CallNoArgs(S.default_generator)
                                         : Py_NewRef(generator);
    PyObject *result = NULL;
    Plan plan;
    int ok;
    if (gen == NULL) {
        goto done;
    }
    if (Py_TYPE(gen) != (PyTypeObject *)S.generator_type) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    ok = cpu_generator(gen);
    if (ok <= 0) {
        result = ok < 0 ? NULL : Py_NewRef(Py_None);
        goto done;
    }
    ok = no_plugin();
    if (ok <= 0) {
        result = ok < 0 ? NULL : Py_NewRef(Py_None);
        goto done;
    }
    ok = find_plan(spec, dtype, values, count - 2, &plan);
    if (ok <= 0) {
        result = ok < 0 ? NULL : Py_NewRef(Py_None);
        goto done;
    }
    result = allocate(shape, dtype);
    if (result != NULL && result != Py_None && draw_into(gen, result, &plan, n)) {
        Py_CLEAR(result);
    }
done:
    Py_XDECREF(gen);
    Py_DECREF(shape);
    return result;
}

static PyObject *drawn(PyObject *self, PyObject *unused) {
    return PyLong_FromUnsignedLongLong(small_calls);
}

#define KERNEL_METHOD(name) {#name, (PyCFunction)(void (*)(void))name, METH_FASTCALL, NULL}
static PyMethodDef methods[] = {
    KERNEL_METHOD(uniform_f32),
    KERNEL_METHOD(uniform_f64),
    KERNEL_METHOD(normal_f32),
    KERNEL_METHOD(normal_f64),
    KERNEL_METHOD(normal_each_f32),
    KERNEL_METHOD(normal_each_f64),
    KERNEL_METHOD(exponential_f32),
    KERNEL_METHOD(exponential_f64),
    KERNEL_METHOD(exponential_each_f32),
    KERNEL_METHOD(exponential_each_f64),
    KERNEL_METHOD(bernoulli_f32),
    KERNEL_METHOD(bernoulli_u8),
    KERNEL_METHOD(bernoulli_each_f32),
    KERNEL_METHOD(bernoulli_each_u8),
    KERNEL_METHOD(words_i64),
    KERNEL_METHOD(randint1_i64),
    KERNEL_METHOD(randint2_i64),
    KERNEL_METHOD(log_transform_f32),
    KERNEL_METHOD(log_transform_f64),
    KERNEL_METHOD(gamma_f32),
    KERNEL_METHOD(gamma_f64),
    KERNEL_METHOD(beta_f32),
    KERNEL_METHOD(beta_f64),
    KERNEL_METHOD(dirichlet_f32),
    KERNEL_METHOD(dirichlet_f64),
    KERNEL_METHOD(binomial_f32),
    KERNEL_METHOD(binomial_f64),
    KERNEL_METHOD(binomial_i64),
    KERNEL_METHOD(truncated_normal_f32),
    KERNEL_METHOD(truncated_normal_f64),
    KERNEL_METHOD(poisson_f32),
    KERNEL_METHOD(poisson_f64),
    KERNEL_METHOD(poisson_i64),
    KERNEL_METHOD(swap_targets_i64),
    KERNEL_METHOD(categorical_i64),
    KERNEL_METHOD(von_mises_f32),
    KERNEL_METHOD(von_mises_f64),
    {"race_parts", (PyCFunction)(void (*)(void))race_parts, METH_FASTCALL,
     "race_parts(k0, k1, block, x, k, tops, is_logits, parts, t_lo, t_hi, keys, index, "
     "sizes, m): categorical's race without replacement"},
    {"row_bounds", (PyCFunction)(void (*)(void))row_bounds, METH_FASTCALL,
     "row_bounds(x, rows, k, low, high): each float64 row's minimum and maximum"},
    {"mvn_rows", (PyCFunction)(void (*)(void))mvn_rows, METH_FASTCALL,
     "mvn_rows(z, factor, loc, out, n, d, size): multivariate_normal's rows"},
    {"fisher_yates", (PyCFunction)(void (*)(void))fisher_yates, METH_FASTCALL,
     "fisher_yates(targets, out, n, size): randperm's swaps (addresses of int32/int64)"},
    {"setup", (PyCFunction)(void (*)(void))setup, METH_FASTCALL,
     "setup(small_globals, common_globals, active_plugin, default_generator, Generator, "
     "torch.dtype, torch.empty, torch.get_default_dtype, reservations, current_level)"},
    {"small_call", (PyCFunction)(void (*)(void))small_call, METH_FASTCALL,
     "small_call(spec, args, kwargs): a small call drawn here, or None"},
    {"drawn", drawn, METH_NOARGS, "How many calls small_call has drawn in this process."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native",
    "Ahead-of-time compiled kernels for small CPU calls (see _native.c).", -1, methods,
};

PyMODINIT_FUNC PyInit__native(void) {
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {{&s_off, "_off"},           {&s_portable, "_PORTABLE_ON_CPU"},

                 {&s_advance, "_advance"},   {&s_seed, "_seed"},
                 {&s_size, "_size"},         {&s_check_call, "_check_call"},
                 {&s_device, "_device"},     {&s_type, "type"},
                 {&s_cpu, "cpu"},            {&s_is_cpu, "is_cpu"},
                 {&s_data_ptr, "data_ptr"}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        *names[k].slot = PyUnicode_InternFromString(names[k].text);
        if (*names[k].slot == NULL) {
            return NULL;
        }
    }
    s_dtype_kw = Py_BuildValue("(s)", "dtype");
    if (s_dtype_kw == NULL) {
        return NULL;
    }
    if (PyType_Ready(&PlanCacheType)) {
        return NULL;
    }
#ifdef X86_SIMD
    choose_simd();
#endif
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && (PyModule_AddIntConstant(m, "SMALL", SMALL_MAX) ||
                      PyModule_AddStringConstant(m, "SIMD", simd_name) ||
                      PyModule_AddObjectRef(m, "PlanCache", (PyObject *)&PlanCacheType))) {
        Py_CLEAR(m);
    }
    return m;
}
