/* Ahead-of-time compiled CPU kernels for small calls (docs/design.md, "small calls").
 *
 * The same element formulas as the numba kernels of trnrand_core._samplers (uniform,
 * normal, exponential, bernoulli, randint with one word per element) and the raw words, written in C so
 * that a call of a few elements costs one C call instead of a numba dispatch, and so
 * that a process draws its first small values without importing numba. Every function
 * writes elements 0 .. n-1 of a call that starts at first-pass block `block` (no
 * partition) into the buffer at `address`; tests/core/test_native.py checks each one
 * against the numba kernel bit for bit.
 *
 * Floating-point rules: float32 arithmetic stays float32 (FLT_EVAL_METHOD 0 on x86-64
 * and aarch64), and the build passes -ffp-contract=off so that no multiply-add is
 * fused (numba's kernels do not fuse either). float64 logarithms, sines and cosines are
 * libm's, as in numba's kernels.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

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

/* Word 0 of retry attempt `a` of the sub-draw at call word `word` (stream section 5). */
static uint32_t retry_word0(uint32_t k0, uint32_t k1, uint64_t block, uint64_t word, uint32_t a) {
    uint32_t x[4];
    uint64_t b = block + (word >> 2);
    philox((uint32_t)b, (uint32_t)(b >> 32), a, (uint32_t)(word & 3), k0, k1, x);
    return x[0];
}

/* -- conversions (trnrand_core._conversions) ---------------------------------------- */
static float u24(uint32_t x) { return (float)(int32_t)(x >> 8) * 0x1p-24f; }
static float open_u23(uint32_t x) { return ((float)(int32_t)(x >> 9) + 0.5f) * 0x1p-23f; }
static double merged53(uint32_t a, uint32_t b) {
    return (double)(int32_t)(a >> 5) * 67108864.0 + (double)(int32_t)(b >> 6);
}
static double u53(uint32_t a, uint32_t b) { return merged53(a, b) * 0x1p-53; }
static double open_u53(uint32_t a, uint32_t b) { return (merged53(a, b) + 0.5) * 0x1p-53; }

/* -- float32 log and sincos (trnrand_core._samplers._fastmath) ---------------------- */
static float f32_of(int32_t bits) {
    float f;
    memcpy(&f, &bits, 4);
    return f;
}
static int32_t bits_of(float f) {
    int32_t i;
    memcpy(&i, &f, 4);
    return i;
}

static float log32(float x) {
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
static void quadrant(int32_t q, float s, float c, float *sin_v, float *cos_v) {
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
static void sincos_turns(int32_t y, float *sin_v, float *cos_v) {
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

/* -- argument parsing -------------------------------------------------------------- */
typedef struct {
    uint32_t k0, k1;
    uint64_t block;
    Py_ssize_t n;
    void *out;
} Call;

/* Arguments (k0, k1, block, n, address, *params); `want` parameters are expected. */
static int parse_call(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t want, Call *c) {
    if (nargs != 5 + want) {
        PyErr_Format(PyExc_TypeError, "expected %zd arguments, got %zd", 5 + want, nargs);
        return -1;
    }
    c->k0 = (uint32_t)PyLong_AsUnsignedLongLong(args[0]);
    c->k1 = (uint32_t)PyLong_AsUnsignedLongLong(args[1]);
    c->block = (uint64_t)PyLong_AsUnsignedLongLongMask(args[2]); /* 2**64 only when n == 0 */
    c->n = PyLong_AsSsize_t(args[3]);
    c->out = PyLong_AsVoidPtr(args[4]);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (c->n < 0 || (c->n > 0 && c->out == NULL)) {
        PyErr_SetString(PyExc_ValueError, "n must be >= 0 and the address not null");
        return -1;
    }
    return 0;
}

/* -- element loops ------------------------------------------------------------------
 * Element i of a one-word sampler reads lane i mod 4 of block `block + i / 4`; of a
 * two-word sampler, lanes (0, 1) or (2, 3) of block `block + i / 2`. normal writes
 * elements 2j and 2j + 1 from one pair of words (float32: lanes (0, 1) or (2, 3) of
 * block `block + j / 2`) or one block (float64: block `block + j`).
 */
typedef struct {
    double p[4];   /* the sampler's float parameters */
    long long t;   /* bernoulli's threshold */
    uint64_t u[3]; /* randint's low, span, rejection threshold */
    const Call *call;
} Params;

typedef void (*OneWord)(Py_ssize_t i, uint32_t x, const Params *p, void *out);
typedef void (*TwoWords)(Py_ssize_t i, uint32_t a, uint32_t b, const Params *p, void *out);

static void each_word(const Call *c, OneWord f, const Params *p) {
    uint32_t x[4];
    for (Py_ssize_t i = 0; i < c->n; i++) {
        if ((i & 3) == 0) {
            block_words(c->k0, c->k1, c->block + (uint64_t)(i >> 2), x);
        }
        f(i, x[i & 3], p, c->out);
    }
}

static void each_two_words(const Call *c, TwoWords f, const Params *p) {
    uint32_t x[4];
    for (Py_ssize_t i = 0; i < c->n; i++) {
        if ((i & 1) == 0) {
            block_words(c->k0, c->k1, c->block + (uint64_t)(i >> 1), x);
        }
        int lane = 2 * (int)(i & 1);
        f(i, x[lane], x[lane + 1], p, c->out);
    }
}

/* Arguments (k0, k1, block, n, address, *floats): the call and its float parameters. */
static int parse_floats(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t want, Call *c,
                        Params *p) {
    if (parse_call(args, nargs, want, c)) {
        return -1;
    }
    for (Py_ssize_t k = 0; k < want; k++) {
        p->p[k] = PyFloat_AsDouble(args[5 + k]);
    }
    p->call = c;
    return PyErr_Occurred() ? -1 : 0;
}

/* -- uniform: low + span * u, a value reaching `top` becomes `below` ------------------ */
static void uniform32(Py_ssize_t i, uint32_t x, const Params *p, void *out) {
    float v = (float)p->p[0] + (float)p->p[1] * u24(x);
    ((float *)out)[i] = v >= (float)p->p[2] ? (float)p->p[3] : v;
}

static void uniform64(Py_ssize_t i, uint32_t a, uint32_t b, const Params *p, void *out) {
    double v = p->p[0] + p->p[1] * u53(a, b);
    ((double *)out)[i] = v >= p->p[2] ? p->p[3] : v;
}

/* -- exponential: 0 + scale * -ln(u) of the open uniform ----------------------------- */
static void exponential32(Py_ssize_t i, uint32_t x, const Params *p, void *out) {
    ((float *)out)[i] = 0.0f + (float)p->p[0] * -log32(open_u23(x));
}

static void exponential64(Py_ssize_t i, uint32_t a, uint32_t b, const Params *p, void *out) {
    ((double *)out)[i] = 0.0 + p->p[0] * -log(open_u53(a, b));
}

/* -- bernoulli into float32: 1 where the word is below floor(p 2**32) ---------------- */
static void bernoulli32(Py_ssize_t i, uint32_t x, const Params *p, void *out) {
    ((float *)out)[i] = (long long)x < p->t ? 1.0f : 0.0f;
}

/* -- randint into int64, span <= 2**32: Lemire, rejections from retry blocks --------- */
static void randint1(Py_ssize_t i, uint32_t x, const Params *p, void *out) {
    const Call *c = p->call;
    uint64_t m = (uint64_t)x * p->u[1];
    uint32_t a = 0;
    while ((m & 0xFFFFFFFFu) < p->u[2]) {
        a += 1;
        m = (uint64_t)retry_word0(c->k0, c->k1, c->block, (uint64_t)i, a) * p->u[1];
    }
    ((int64_t *)out)[i] = (int64_t)(p->u[0] + (m >> 32));
}

/* -- raw words into int64 (Generator.random_raw) ------------------------------------ */
static void word64(Py_ssize_t i, uint32_t x, const Params *p, void *out) {
    ((int64_t *)out)[i] = (int64_t)x;
}

/* -- normal: Box-Muller, loc + scale * z --------------------------------------------- */
static void normal_pair32(const Call *c, const Params *p) {
    float loc = (float)p->p[0], scale = (float)p->p[1];
    float *out = (float *)c->out;
    uint32_t x[4];
    for (Py_ssize_t i = 0; i < c->n; i += 2) {
        if ((i & 3) == 0) {
            block_words(c->k0, c->k1, c->block + (uint64_t)(i >> 2), x);
        }
        int lane = (int)(i & 3);
        float r = sqrtf(-2.0f * log32(open_u23(x[lane])));
        float s, co;
        sincos_turns((int32_t)(x[lane + 1] >> 8), &s, &co);
        out[i] = loc + scale * (r * co);
        if (i + 1 < c->n) {
            out[i + 1] = loc + scale * (r * s);
        }
    }
}

static void normal_pair64(const Call *c, const Params *p) {
    double *out = (double *)c->out;
    uint32_t x[4];
    for (Py_ssize_t i = 0; i < c->n; i += 2) {
        block_words(c->k0, c->k1, c->block + (uint64_t)(i >> 1), x);
        double r = sqrt(-2.0 * log(open_u53(x[0], x[1])));
        double s, co;
        sincos_turns53((int64_t)(x[2] >> 5) * 67108864 + (int64_t)(x[3] >> 6), &s, &co);
        out[i] = p->p[0] + p->p[1] * (r * co);
        if (i + 1 < c->n) {
            out[i + 1] = p->p[0] + p->p[1] * (r * s);
        }
    }
}

/* -- the module's functions: (k0, k1, block, n, address, *parameters) ---------------- */
#define FLOAT_SAMPLER(name, count, loop, element)                                        \
    static PyObject *name(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {     \
        Call c;                                                                          \
        Params p;                                                                        \
        if (parse_floats(args, nargs, count, &c, &p)) {                                  \
            return NULL;                                                                 \
        }                                                                                \
        loop(&c, element, &p);                                                           \
        Py_RETURN_NONE;                                                                  \
    }

FLOAT_SAMPLER(uniform_f32, 4, each_word, uniform32)
FLOAT_SAMPLER(uniform_f64, 4, each_two_words, uniform64)
FLOAT_SAMPLER(exponential_f32, 1, each_word, exponential32)
FLOAT_SAMPLER(exponential_f64, 1, each_two_words, exponential64)
FLOAT_SAMPLER(words_i64, 0, each_word, word64)

#define PAIR_SAMPLER(name, body)                                                          \
    static PyObject *name(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {     \
        Call c;                                                                          \
        Params p;                                                                        \
        if (parse_floats(args, nargs, 2, &c, &p)) {                                      \
            return NULL;                                                                 \
        }                                                                                \
        body(&c, &p);                                                                    \
        Py_RETURN_NONE;                                                                  \
    }

PAIR_SAMPLER(normal_f32, normal_pair32)
PAIR_SAMPLER(normal_f64, normal_pair64)

/* bernoulli_f32(k0, k1, block, n, address, threshold) */
static PyObject *bernoulli_f32(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    Params p = {.call = &c};
    if (parse_call(args, nargs, 1, &c)) {
        return NULL;
    }
    p.t = PyLong_AsLongLong(args[5]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    each_word(&c, bernoulli32, &p);
    Py_RETURN_NONE;
}

/* randint1_i64(k0, k1, block, n, address, low mod 2**64, span, (2**32 - span) mod span) */
static PyObject *randint1_i64(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    Params p = {.call = &c};
    if (parse_call(args, nargs, 3, &c)) {
        return NULL;
    }
    for (int k = 0; k < 3; k++) {
        p.u[k] = PyLong_AsUnsignedLongLong(args[5 + k]);
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (p.u[1] == 0 || p.u[1] > ((uint64_t)1 << 32)) {
        PyErr_Format(PyExc_ValueError, "span must be in [1, 2**32], got %llu",
                     (unsigned long long)p.u[1]);
        return NULL;
    }
    each_word(&c, randint1, &p);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"uniform_f32", (PyCFunction)(void (*)(void))uniform_f32, METH_FASTCALL, NULL},
    {"uniform_f64", (PyCFunction)(void (*)(void))uniform_f64, METH_FASTCALL, NULL},
    {"normal_f32", (PyCFunction)(void (*)(void))normal_f32, METH_FASTCALL, NULL},
    {"normal_f64", (PyCFunction)(void (*)(void))normal_f64, METH_FASTCALL, NULL},
    {"exponential_f32", (PyCFunction)(void (*)(void))exponential_f32, METH_FASTCALL, NULL},
    {"exponential_f64", (PyCFunction)(void (*)(void))exponential_f64, METH_FASTCALL, NULL},
    {"bernoulli_f32", (PyCFunction)(void (*)(void))bernoulli_f32, METH_FASTCALL, NULL},
    {"words_i64", (PyCFunction)(void (*)(void))words_i64, METH_FASTCALL, NULL},
    {"randint1_i64", (PyCFunction)(void (*)(void))randint1_i64, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native",
    "Ahead-of-time compiled kernels for small CPU calls (see _native.c).", -1, methods,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
