/* Fixed-base scalar multiplication on edwards25519, constant time in the scalar: field
 * elements in five 51-bit limbs (products in 128 bits), points in extended coordinates, and
 * a table of j * 16^i * B (i < 64, 1 <= j <= 8) so that s*B is 64 mixed additions of entries
 * chosen by a signed radix-16 recoding of s. Every table row is scanned in full with masks, so
 * neither branches nor memory addresses depend on the scalar. The table is computed from B
 * once per process (public data: variable time is fine there). */
#include "crypto/curve25519_base.h"

#include <pthread.h>
#include <string.h>

#include "core/secure.h"

__extension__ typedef unsigned __int128 u128;

#define MASK51 ((UINT64_C(1) << 51) - 1)

typedef struct {
    uint64_t v[5];
} fe;

/* Limbs stay below 2^51 + 2^14 after every operation (each result is carried), so sums and
 * 19-fold products fit in 128 bits with room to spare. */
static void fe_carry(fe *h)
{
    uint64_t c;
    for (int i = 0; i < 4; i++) {
        c = h->v[i] >> 51;
        h->v[i] &= MASK51;
        h->v[i + 1] += c;
    }
    c = h->v[4] >> 51;
    h->v[4] &= MASK51;
    h->v[0] += 19 * c;
}

static void fe_add(fe *h, const fe *f, const fe *g)
{
    for (int i = 0; i < 5; i++)
        h->v[i] = f->v[i] + g->v[i];
    fe_carry(h);
}

/* f - g as f + 2p - g: every limb of 2p exceeds every carried limb of g. */
static void fe_sub(fe *h, const fe *f, const fe *g)
{
    h->v[0] = f->v[0] + (UINT64_C(2) * ((UINT64_C(1) << 51) - 19)) - g->v[0];
    for (int i = 1; i < 5; i++)
        h->v[i] = f->v[i] + (UINT64_C(2) * MASK51) - g->v[i];
    fe_carry(h);
}

/* Carries a product's five 128-bit column sums t0..t4 into h (a macro: as a function taking
 * 128-bit arguments gcc neither inlines it nor keeps them in registers). */
#define FE_CARRY_WIDE(h)                                                                                               \
    do {                                                                                                               \
        t1 += (uint64_t)(t0 >> 51);                                                                                    \
        t2 += (uint64_t)(t1 >> 51);                                                                                    \
        t3 += (uint64_t)(t2 >> 51);                                                                                    \
        t4 += (uint64_t)(t3 >> 51);                                                                                    \
        u128 r0 = ((uint64_t)t0 & MASK51) + (u128)19 * (uint64_t)(t4 >> 51);                                           \
        (h)->v[0] = (uint64_t)r0 & MASK51;                                                                             \
        (h)->v[1] = ((uint64_t)t1 & MASK51) + (uint64_t)(r0 >> 51);                                                    \
        (h)->v[2] = (uint64_t)t2 & MASK51;                                                                             \
        (h)->v[3] = (uint64_t)t3 & MASK51;                                                                             \
        (h)->v[4] = (uint64_t)t4 & MASK51;                                                                             \
    } while (0)

/* Column k sums f_i*g_j over i + j = k, plus 19 times those with i + j = k + 5 (2^255 = 19). */
/* Without the carry: only where the result goes straight into fe_mul, which takes limbs up to
 * 2^54 (f + g of carried values is below 2^53; f + 2p - g below 2^54 while g is carried). */
static void fe_add_nc(fe *h, const fe *f, const fe *g)
{
    for (int i = 0; i < 5; i++)
        h->v[i] = f->v[i] + g->v[i];
}

static void fe_sub_nc(fe *h, const fe *f, const fe *g)
{
    h->v[0] = f->v[0] + (UINT64_C(2) * ((UINT64_C(1) << 51) - 19)) - g->v[0];
    for (int i = 1; i < 5; i++)
        h->v[i] = f->v[i] + (UINT64_C(2) * MASK51) - g->v[i];
}

static void fe_mul(fe *h, const fe *f, const fe *g)
{
    uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
    uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
    uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
    u128 t0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 + (u128)f4 * g1_19;
    u128 t1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
    u128 t2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
    u128 t3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
    u128 t4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
    FE_CARRY_WIDE(h);
}

/* f^2: the same columns with the symmetric products counted once and doubled (15 products). */
static void fe_sq(fe *h, const fe *f)
{
    uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
    uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1, f1_38 = 38 * f1, f2_38 = 38 * f2, f3_19 = 19 * f3, f3_38 = 38 * f3,
             f4_19 = 19 * f4;
    u128 t0 = (u128)f0 * f0 + (u128)f1_38 * f4 + (u128)f2_38 * f3;
    u128 t1 = (u128)f0_2 * f1 + (u128)f2_38 * f4 + (u128)f3_19 * f3;
    u128 t2 = (u128)f0_2 * f2 + (u128)f1 * f1 + (u128)f3_38 * f4;
    u128 t3 = (u128)f0_2 * f3 + (u128)f1_2 * f2 + (u128)f4_19 * f4;
    u128 t4 = (u128)f0_2 * f4 + (u128)f1_2 * f3 + (u128)f2 * f2;
    FE_CARRY_WIDE(h);
}

static void fe_sqn(fe *h, const fe *f, int n)
{
    fe_sq(h, f);
    for (int i = 1; i < n; i++)
        fe_sq(h, h);
}

/* z^(p-2) = 1/z (a fixed exponent: constant time). */
static void fe_invert(fe *out, const fe *z)
{
    fe t0, t1, t2, t3;
    fe_sqn(&t0, z, 1);     /* 2 */
    fe_sqn(&t1, &t0, 2);   /* 8 */
    fe_mul(&t1, z, &t1);   /* 9 */
    fe_mul(&t0, &t0, &t1); /* 11 */
    fe_sqn(&t2, &t0, 1);   /* 22 */
    fe_mul(&t1, &t1, &t2); /* 2^5 - 1 */
    fe_sqn(&t2, &t1, 5);
    fe_mul(&t1, &t2, &t1); /* 2^10 - 1 */
    fe_sqn(&t2, &t1, 10);
    fe_mul(&t2, &t2, &t1); /* 2^20 - 1 */
    fe_sqn(&t3, &t2, 20);
    fe_mul(&t2, &t3, &t2); /* 2^40 - 1 */
    fe_sqn(&t2, &t2, 10);
    fe_mul(&t1, &t2, &t1); /* 2^50 - 1 */
    fe_sqn(&t2, &t1, 50);
    fe_mul(&t2, &t2, &t1); /* 2^100 - 1 */
    fe_sqn(&t3, &t2, 100);
    fe_mul(&t2, &t3, &t2); /* 2^200 - 1 */
    fe_sqn(&t2, &t2, 50);
    fe_mul(&t1, &t2, &t1); /* 2^250 - 1 */
    fe_sqn(&t1, &t1, 5);   /* 2^255 - 32 */
    fe_mul(out, &t1, &t0); /* 2^255 - 21 = p - 2 */
}

static uint64_t load64(const uint8_t *s)
{
    uint64_t w = 0;
    for (int i = 7; i >= 0; i--)
        w = (w << 8) | s[i];
    return w;
}

static void store64(uint8_t *s, uint64_t w)
{
    for (int i = 0; i < 8; i++)
        s[i] = (uint8_t)(w >> (8 * i));
}

static void fe_frombytes(fe *h, const uint8_t s[32])
{
    h->v[0] = load64(s) & MASK51;
    h->v[1] = (load64(s + 6) >> 3) & MASK51;
    h->v[2] = (load64(s + 12) >> 6) & MASK51;
    h->v[3] = (load64(s + 19) >> 1) & MASK51;
    h->v[4] = (load64(s + 24) >> 12) & MASK51;
}

static void carry_chain(uint64_t t[5])
{
    for (int i = 0; i < 4; i++) {
        t[i + 1] += t[i] >> 51;
        t[i] &= MASK51;
    }
}

/* The canonical encoding (value mod p, little endian). */
static void fe_tobytes(uint8_t s[32], const fe *h)
{
    fe f = *h;
    fe_carry(&f);
    fe_carry(&f); /* now properly carried, 0 <= f < 2^255 */
    uint64_t *t = f.v;
    t[0] += 19; /* f + 19 >= 2^255 exactly when f >= p */
    fe_carry(&f);
    /* add 2^255 - 19, then drop bit 255: f - p when f >= p, else f (the +19 taken back) */
    t[0] += (UINT64_C(1) << 51) - 19;
    for (int i = 1; i < 5; i++)
        t[i] += MASK51;
    carry_chain(t);
    t[4] &= MASK51;
    store64(s, t[0] | t[1] << 51);
    store64(s + 8, t[1] >> 13 | t[2] << 38);
    store64(s + 16, t[2] >> 26 | t[3] << 25);
    store64(s + 24, t[3] >> 39 | t[4] << 12);
}

/* h = g where mask is all ones, h unchanged where it is zero. */
static void fe_cmov(fe *h, const fe *g, uint64_t mask)
{
    for (int i = 0; i < 5; i++)
        h->v[i] ^= (h->v[i] ^ g->v[i]) & mask;
}

static void fe_set(fe *h, uint64_t small)
{
    memset(h, 0, sizeof(*h));
    h->v[0] = small;
}

struct p3 { /* extended coordinates: x = X/Z, y = Y/Z, x*y = T/Z */
    fe X, Y, Z, T;
};

struct niels { /* an affine point as (y + x, y - x, 2*d*x*y) */
    fe ypx, ymx, xy2d;
};

/* r = p + q (the unified twisted-Edwards addition: complete for a = -1 and non-square d). */
static void madd(struct p3 *r, const struct p3 *p, const struct niels *q)
{
    /* Inputs carried (fe_mul outputs, table entries); every sum below feeds fe_mul only. */
    fe a, b, c, d, e, f, g, h;
    fe_add_nc(&a, &p->Y, &p->X);
    fe_mul(&a, &a, &q->ypx);
    fe_sub_nc(&b, &p->Y, &p->X);
    fe_mul(&b, &b, &q->ymx);
    fe_mul(&c, &q->xy2d, &p->T);
    fe_add_nc(&d, &p->Z, &p->Z); /* below 2^53: d + c and d + 2p - c stay below 2^54 */
    fe_sub_nc(&e, &a, &b);
    fe_add_nc(&h, &a, &b);
    fe_add_nc(&f, &d, &c);
    fe_sub_nc(&g, &d, &c);
    fe_mul(&r->X, &e, &g);
    fe_mul(&r->Y, &h, &f);
    fe_mul(&r->Z, &f, &g);
    fe_mul(&r->T, &e, &h);
}

static const uint8_t base_x[32] = {0x1a, 0xd5, 0x25, 0x8f, 0x60, 0x2d, 0x56, 0xc9, 0xb2, 0xa7, 0x25,
                                   0x95, 0x60, 0xc7, 0x2c, 0x69, 0x5c, 0xdc, 0xd6, 0xfd, 0x31, 0xe2,
                                   0xa4, 0xc0, 0xfe, 0x53, 0x6e, 0xcd, 0xd3, 0x36, 0x69, 0x21};
static const uint8_t base_y[32] = {0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                   0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                   0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};

#define NIELS_WORDS 16
_Static_assert(sizeof(struct niels) == 15 * sizeof(uint64_t), "niels is 15 limbs");
/* [i][j] = (j + 1) * 16^i * B, as the 15 limbs of a struct niels and one zero word: flat
 * words, a multiple of the vector width, let gcc -O2 vectorise the constant-time select. */
static uint64_t base_table[64][8][NIELS_WORDS];
static fe curve_2d;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void niels_from_p3(struct niels *n, const struct p3 *p)
{
    fe zi, x, y;
    fe_invert(&zi, &p->Z);
    fe_mul(&x, &p->X, &zi);
    fe_mul(&y, &p->Y, &zi);
    fe_add(&n->ypx, &y, &x);
    fe_sub(&n->ymx, &y, &x);
    fe_mul(&n->xy2d, &x, &y);
    fe_mul(&n->xy2d, &n->xy2d, &curve_2d);
}

static void table_build(void)
{
    fe num, den; /* d = -121665 / 121666 */
    fe zero;
    fe_set(&zero, 0);
    fe_set(&num, 121665);
    fe_sub(&num, &zero, &num);
    fe_set(&den, 121666);
    fe_invert(&den, &den);
    fe_mul(&curve_2d, &num, &den);
    fe_add(&curve_2d, &curve_2d, &curve_2d);

    struct p3 row; /* 16^i * B */
    fe_frombytes(&row.X, base_x);
    fe_frombytes(&row.Y, base_y);
    fe_set(&row.Z, 1);
    fe_mul(&row.T, &row.X, &row.Y);
    for (int i = 0; i < 64; i++) {
        struct niels first, n;
        niels_from_p3(&first, &row);
        memcpy(base_table[i][0], &first, sizeof(first));
        struct p3 acc = row;
        for (int j = 1; j < 8; j++) {
            madd(&acc, &acc, &first);
            niels_from_p3(&n, &acc);
            memcpy(base_table[i][j], &n, sizeof(n));
        }
        madd(&row, &acc, &n); /* 8 + 8 = 16 times the row's point */
    }
}

/* All ones when a == b (both below 256), else zero. */
static uint64_t ct_eq(uint64_t a, uint64_t b)
{
    return 0 - (((a ^ b) - 1) >> 63);
}

/* t = b * 16^i * B for -8 <= b <= 8, reading the whole row. */
static void table_select(struct niels *t, int i, int8_t b)
{
    uint64_t neg = (uint64_t)(uint8_t)b >> 7;
    uint64_t babs = (uint64_t)(uint8_t)(b - (int8_t)(((-(int)neg) & b) * 2));
    uint64_t acc[NIELS_WORDS] = {0};
    uint64_t none = ct_eq(babs, 0); /* the identity: (1, 1, 0) */
    acc[0] = none & 1;
    acc[5] = none & 1;
    for (int j = 0; j < 8; j++) {
        uint64_t m = ct_eq(babs, (uint64_t)j + 1);
        for (int w = 0; w < NIELS_WORDS; w++)
            acc[w] |= base_table[i][j][w] & m;
    }
    memcpy(t, acc, sizeof(*t)); /* the 16th word is padding */
    struct niels minus;
    fe zero;
    fe_set(&zero, 0);
    minus.ypx = t->ymx;
    minus.ymx = t->ypx;
    fe_sub(&minus.xy2d, &zero, &t->xy2d);
    uint64_t m = 0 - neg;
    fe_cmov(&t->ypx, &minus.ypx, m);
    fe_cmov(&t->ymx, &minus.ymx, m);
    fe_cmov(&t->xy2d, &minus.xy2d, m);
}

/* h = s * B for s < 2^255 (32 little-endian bytes). */
static void scalarmult_base(struct p3 *h, const uint8_t s[32])
{
    pthread_once(&table_once, table_build);
    int8_t e[64];
    for (int i = 0; i < 32; i++) {
        e[2 * i] = (int8_t)(s[i] & 15);
        e[2 * i + 1] = (int8_t)(s[i] >> 4);
    }
    int8_t carry = 0; /* digits to -8..8; the last absorbs the carry (s < 2^255: at most 8) */
    for (int i = 0; i < 63; i++) {
        e[i] = (int8_t)(e[i] + carry);
        carry = (int8_t)((e[i] + 8) >> 4);
        e[i] = (int8_t)(e[i] - carry * 16);
    }
    e[63] = (int8_t)(e[63] + carry);

    fe_set(&h->X, 0);
    fe_set(&h->Y, 1);
    fe_set(&h->Z, 1);
    fe_set(&h->T, 0);
    struct niels t;
    for (int i = 0; i < 64; i++) {
        table_select(&t, i, e[i]);
        madd(h, h, &t);
    }
    secure_wipe(e, sizeof(e));
}

void curve25519_x25519_base(uint8_t pub[static 32], const uint8_t priv[static 32])
{
    uint8_t s[32];
    memcpy(s, priv, 32);
    s[0] &= 248;
    s[31] &= 127;
    s[31] |= 64;
    struct p3 a;
    scalarmult_base(&a, s);
    /* the birational map to Montgomery form: u = (1 + y) / (1 - y) = (Z + Y) / (Z - Y) */
    fe num, den;
    fe_add(&num, &a.Z, &a.Y);
    fe_sub(&den, &a.Z, &a.Y);
    fe_invert(&den, &den);
    fe_mul(&num, &num, &den);
    fe_tobytes(pub, &num);
    secure_wipe(s, sizeof(s));
    secure_wipe(&a, sizeof(a));
}

void curve25519_ed25519_base(uint8_t out[static 32], const uint8_t s[static 32])
{
    struct p3 a;
    scalarmult_base(&a, s);
    fe zi, x, y;
    fe_invert(&zi, &a.Z);
    fe_mul(&x, &a.X, &zi);
    fe_mul(&y, &a.Y, &zi);
    uint8_t xb[32];
    fe_tobytes(xb, &x);
    fe_tobytes(out, &y);
    out[31] |= (uint8_t)((xb[0] & 1) << 7);
    secure_wipe(&a, sizeof(a));
}
