/* Ahead-of-time compiled CPU kernels for small calls (docs/design.md, "small calls").
 *
 * The same element formulas as the numba kernels of trnrand_core._samplers (uniform,
 * normal, exponential, bernoulli, randint with one word per element), written in C so
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
    c->block = (uint64_t)PyLong_AsUnsignedLongLong(args[2]);
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

static int parse_doubles(PyObject *const *args, Py_ssize_t count, double *values) {
    for (Py_ssize_t i = 0; i < count; i++) {
        values[i] = PyFloat_AsDouble(args[5 + i]);
    }
    return PyErr_Occurred() ? -1 : 0;
}

/* -- kernels ------------------------------------------------------------------------ */

/* uniform float32: low + span * u24, a value reaching `threshold` becomes `below`. */
static PyObject *uniform_f32(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    double p[4];
    if (parse_call(args, nargs, 4, &c) || parse_doubles(args, 4, p)) {
        return NULL;
    }
    float low = (float)p[0], span = (float)p[1], threshold = (float)p[2], below = (float)p[3];
    float *out = (float *)c.out;
    uint32_t x[4];
    for (Py_ssize_t i = 0; i < c.n; i++) {
        if ((i & 3) == 0) {
            block_words(c.k0, c.k1, c.block + (uint64_t)(i >> 2), x);
        }
        float v = low + span * u24(x[i & 3]);
        out[i] = v >= threshold ? below : v;
    }
    Py_RETURN_NONE;
}

/* uniform float64: low + span * u53 (two words per element), clipped like float32. */
static PyObject *uniform_f64(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    double p[4];
    if (parse_call(args, nargs, 4, &c) || parse_doubles(args, 4, p)) {
        return NULL;
    }
    double *out = (double *)c.out;
    uint32_t x[4];
    for (Py_ssize_t i = 0; i < c.n; i++) {
        if ((i & 1) == 0) {
            block_words(c.k0, c.k1, c.block + (uint64_t)(i >> 1), x);
        }
        int lane = 2 * (int)(i & 1);
        double v = p[0] + p[1] * u53(x[lane], x[lane + 1]);
        out[i] = v >= p[2] ? p[3] : v;
    }
    Py_RETURN_NONE;
}

/* normal float32: Box-Muller on word pairs (radius word, angle word), loc + scale * z. */
static PyObject *normal_f32(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    double p[2];
    if (parse_call(args, nargs, 2, &c) || parse_doubles(args, 2, p)) {
        return NULL;
    }
    float loc = (float)p[0], scale = (float)p[1];
    float *out = (float *)c.out;
    uint32_t x[4];
    for (Py_ssize_t i = 0; i < c.n; i += 2) {
        if ((i & 3) == 0) {
            block_words(c.k0, c.k1, c.block + (uint64_t)(i >> 2), x);
        }
        int lane = (int)(i & 3);
        float r = sqrtf(-2.0f * log32(open_u23(x[lane])));
        float s, co;
        sincos_turns((int32_t)(x[lane + 1] >> 8), &s, &co);
        out[i] = loc + scale * (r * co);
        if (i + 1 < c.n) {
            out[i + 1] = loc + scale * (r * s);
        }
    }
    Py_RETURN_NONE;
}

/* normal float64: one pair per block, radius from (x0, x1), angle from (x2, x3). */
static PyObject *normal_f64(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    double p[2];
    if (parse_call(args, nargs, 2, &c) || parse_doubles(args, 2, p)) {
        return NULL;
    }
    double *out = (double *)c.out;
    uint32_t x[4];
    for (Py_ssize_t i = 0; i < c.n; i += 2) {
        block_words(c.k0, c.k1, c.block + (uint64_t)(i >> 1), x);
        double r = sqrt(-2.0 * log(open_u53(x[0], x[1])));
        double s, co;
        int64_t y = (int64_t)(x[2] >> 5) * 67108864 + (int64_t)(x[3] >> 6);
        sincos_turns53(y, &s, &co);
        out[i] = p[0] + p[1] * (r * co);
        if (i + 1 < c.n) {
            out[i + 1] = p[0] + p[1] * (r * s);
        }
    }
    Py_RETURN_NONE;
}

/* exponential float32: 0 + scale * -ln(open_u23(x)). */
static PyObject *exponential_f32(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    double p[1];
    if (parse_call(args, nargs, 1, &c) || parse_doubles(args, 1, p)) {
        return NULL;
    }
    float scale = (float)p[0];
    float *out = (float *)c.out;
    uint32_t x[4];
    for (Py_ssize_t i = 0; i < c.n; i++) {
        if ((i & 3) == 0) {
            block_words(c.k0, c.k1, c.block + (uint64_t)(i >> 2), x);
        }
        out[i] = 0.0f + scale * -log32(open_u23(x[i & 3]));
    }
    Py_RETURN_NONE;
}

/* exponential float64: 0 + scale * -ln(open_u53(a, b)), two words per element. */
static PyObject *exponential_f64(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    double p[1];
    if (parse_call(args, nargs, 1, &c) || parse_doubles(args, 1, p)) {
        return NULL;
    }
    double *out = (double *)c.out;
    uint32_t x[4];
    for (Py_ssize_t i = 0; i < c.n; i++) {
        if ((i & 1) == 0) {
            block_words(c.k0, c.k1, c.block + (uint64_t)(i >> 1), x);
        }
        int lane = 2 * (int)(i & 1);
        out[i] = 0.0 + p[0] * -log(open_u53(x[lane], x[lane + 1]));
    }
    Py_RETURN_NONE;
}

/* bernoulli into float32: 1 where the word is below threshold = floor(p 2**32). */
static PyObject *bernoulli_f32(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    if (parse_call(args, nargs, 1, &c)) {
        return NULL;
    }
    long long threshold = PyLong_AsLongLong(args[5]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    float *out = (float *)c.out;
    uint32_t x[4];
    for (Py_ssize_t i = 0; i < c.n; i++) {
        if ((i & 3) == 0) {
            block_words(c.k0, c.k1, c.block + (uint64_t)(i >> 2), x);
        }
        out[i] = (long long)x[i & 3] < threshold ? 1.0f : 0.0f;
    }
    Py_RETURN_NONE;
}

/* randint into int64, span s <= 2**32 (one word): Lemire with retry blocks. */
static PyObject *randint1_i64(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    if (parse_call(args, nargs, 3, &c)) {
        return NULL;
    }
    uint64_t low = PyLong_AsUnsignedLongLong(args[5]);
    uint64_t s = PyLong_AsUnsignedLongLong(args[6]);
    uint64_t threshold = PyLong_AsUnsignedLongLong(args[7]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (s == 0 || s > ((uint64_t)1 << 32)) {
        PyErr_Format(PyExc_ValueError, "span must be in [1, 2**32], got %llu",
                     (unsigned long long)s);
        return NULL;
    }
    int64_t *out = (int64_t *)c.out;
    uint32_t x[4];
    for (Py_ssize_t i = 0; i < c.n; i++) {
        if ((i & 3) == 0) {
            block_words(c.k0, c.k1, c.block + (uint64_t)(i >> 2), x);
        }
        uint64_t m = (uint64_t)x[i & 3] * s;
        uint32_t a = 0;
        while ((m & 0xFFFFFFFFu) < threshold) {
            a += 1;
            m = (uint64_t)retry_word0(c.k0, c.k1, c.block, (uint64_t)i, a) * s;
        }
        out[i] = (int64_t)(low + (m >> 32));
    }
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
    {"randint1_i64", (PyCFunction)(void (*)(void))randint1_i64, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native",
    "Ahead-of-time compiled kernels for small CPU calls (see _native.c).", -1, methods,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
