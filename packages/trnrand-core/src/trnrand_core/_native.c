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

/* -- the kernels: parameters parsed once, then run on a call -------------------------- */
typedef int (*Parse)(PyObject *const *params, Params *p);
typedef void (*Run)(const Call *c, const Params *p);
typedef struct {
    const char *name;
    Py_ssize_t n_params;
    Parse parse;
    Run run;
} Kernel;

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

/* bernoulli: the threshold floor(p 2**32) */
static int parse_threshold(PyObject *const *params, Params *p) {
    p->t = PyLong_AsLongLong(params[0]);
    return PyErr_Occurred() ? -1 : 0;
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

#define ONE_WORD_RUN(name, element) \
    static void name(const Call *c, const Params *p) { each_word(c, element, p); }
#define TWO_WORD_RUN(name, element) \
    static void name(const Call *c, const Params *p) { each_two_words(c, element, p); }
ONE_WORD_RUN(run_uniform32, uniform32)
TWO_WORD_RUN(run_uniform64, uniform64)
ONE_WORD_RUN(run_exponential32, exponential32)
TWO_WORD_RUN(run_exponential64, exponential64)
ONE_WORD_RUN(run_bernoulli32, bernoulli32)
ONE_WORD_RUN(run_randint1, randint1)
ONE_WORD_RUN(run_word64, word64)

enum { UNIFORM_F32, UNIFORM_F64, NORMAL_F32, NORMAL_F64, EXPONENTIAL_F32, EXPONENTIAL_F64,
       BERNOULLI_F32, WORDS_I64, RANDINT1_I64, N_KERNELS };
static const Kernel KERNELS[N_KERNELS] = {
    [UNIFORM_F32] = {"uniform_f32", 4, parse_four, run_uniform32},
    [UNIFORM_F64] = {"uniform_f64", 4, parse_four, run_uniform64},
    [NORMAL_F32] = {"normal_f32", 2, parse_two, normal_pair32},
    [NORMAL_F64] = {"normal_f64", 2, parse_two, normal_pair64},
    [EXPONENTIAL_F32] = {"exponential_f32", 1, parse_one, run_exponential32},
    [EXPONENTIAL_F64] = {"exponential_f64", 1, parse_one, run_exponential64},
    [BERNOULLI_F32] = {"bernoulli_f32", 1, parse_threshold, run_bernoulli32},
    [WORDS_I64] = {"words_i64", 0, parse_none, run_word64},
    [RANDINT1_I64] = {"randint1_i64", 3, parse_randint, run_randint1},
};

/* A kernel called directly: (k0, k1, block, n, address, *parameters). */
static PyObject *call_kernel(const Kernel *k, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    Params p = {.call = &c};
    if (parse_call(args, nargs, k->n_params, &c) || k->parse(args + 5, &p)) {
        return NULL;
    }
    k->run(&c, &p);
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
ENTRY(EXPONENTIAL_F32, exponential_f32)
ENTRY(EXPONENTIAL_F64, exponential_f64)
ENTRY(BERNOULLI_F32, bernoulli_f32)
ENTRY(WORDS_I64, words_i64)
ENTRY(RANDINT1_I64, randint1_i64)

/* -- the front end of small calls (trnrand_core._samplers._small) --------------------
 * small_call(spec, args, kwargs) draws a small call the way _small's docstring says, or
 * returns None (nothing reserved, nothing raised for a user's argument) so that the
 * general path runs it. spec = (names, defaults, plan, cache): the sampler's parameter
 * names in signature order followed by "dtype" and "generator", their defaults, the
 * sampler's plan (plan(dtype, *params) -> None or (kernel name, words per element,
 * kernel parameters)) and a PlanCache holding the plans' answers in C form.
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
    long words;
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
    if (!PyArg_ParseTuple(answer, "slO!", &name, &made.words, &PyTuple_Type, &params)) {
        return NULL;
    }
    for (int k = 0; k < N_KERNELS; k++) {
        if (strcmp(KERNELS[k].name, name) == 0) {
            made.kernel = &KERNELS[k];
        }
    }
    if (made.kernel == NULL || PyTuple_GET_SIZE(params) != made.kernel->n_params ||
        made.words < 1 || made.words > 4) {
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
    PyObject *blocks = PyLong_FromLongLong(((long long)n * plan->words + 3) / 4);
    if (blocks == NULL) {
        return -1;
    }
    PyObject *call[2] = {gen, blocks};
    PyObject *start = PyObject_VectorcallMethod(s_advance, call, 2, NULL);
    Py_DECREF(blocks);
    if (start == NULL) {
        return -1;
    }
    Call c = {.block = PyLong_AsUnsignedLongLongMask(start), .n = n, .out = data};
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
    Params params = plan->params;
    params.call = &c;
    plan->kernel->run(&c, &params);
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
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && (PyModule_AddIntConstant(m, "SMALL", SMALL_MAX) ||
                      PyModule_AddObjectRef(m, "PlanCache", (PyObject *)&PlanCacheType))) {
        Py_CLEAR(m);
    }
    return m;
}
