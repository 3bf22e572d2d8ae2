/*
 * sim-value.c - the value model of V8 serialization: heaps, constructors,
 * property keys as JavaScript sees them, and the identity map the encoder
 * and the JSON form share.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

struct sim_heap_s {
  size_t limit;
  size_t used;
  int over;                  /* an allocation failed on the limit */
  sim_value_t *values;       /* every allocated value, newest first */
  /* Primitives without payload have no identity: one of each per heap
   * keeps a dense array of a million `undefined` small. */
  sim_value_t undefined_, null_, hole_, true_, false_;
};

/* ---------------------------------------------------------------------- */
/* Heap                                                                    */

sim_heap_t *sim_heap_new(size_t limit)
{
  sim_heap_t *heap = calloc(1, sizeof(*heap));

  if (heap == NULL)
    return NULL;
  heap->limit = limit != 0 ? limit : SIM_V8_MAX_HEAP;
  heap->undefined_.kind = SIM_VALUE_UNDEFINED;
  heap->null_.kind = SIM_VALUE_NULL;
  heap->hole_.kind = SIM_VALUE_HOLE;
  heap->true_.kind = SIM_VALUE_BOOLEAN;
  heap->true_.u.boolean = 1;
  heap->false_.kind = SIM_VALUE_BOOLEAN;
  return heap;
}

static void value_release(sim_value_t *v)
{
  switch (v->kind) {
  case SIM_VALUE_BIGINT:
    free(v->u.bigint.digits);
    break;
  case SIM_VALUE_STRING:
    free(v->u.string.latin1);
    free(v->u.string.utf16);
    break;
  case SIM_VALUE_OBJECT:
  case SIM_VALUE_MAP:
    free(v->u.object.at);
    break;
  case SIM_VALUE_ARRAY:
    free(v->u.array.elements.at);
    free(v->u.array.props.at);
    break;
  case SIM_VALUE_SPARSE_ARRAY:
    free(v->u.sparse.props.at);
    break;
  case SIM_VALUE_SET:
    free(v->u.set.at);
    break;
  case SIM_VALUE_ARRAY_BUFFER:
  case SIM_VALUE_VIEW:
    free(v->u.bytes.data);
    break;
  default:
    break;
  }
  free(v);
}

void sim_heap_free(sim_heap_t *heap)
{
  sim_value_t *v;

  if (heap == NULL)
    return;
  v = heap->values;
  while (v != NULL) {
    sim_value_t *next = v->heap_next;
    value_release(v);
    v = next;
  }
  free(heap);
}

size_t sim_heap_used(const sim_heap_t *heap)
{
  return heap->used;
}

int sim__heap_over(const sim_heap_t *heap)
{
  return heap->over;
}

/* Accounts `n` more bytes; 0 past the limit. */
static int heap_charge(sim_heap_t *heap, size_t n)
{
  if (n > heap->limit - heap->used) {
    heap->over = 1;
    return 0;
  }
  heap->used += n;
  return 1;
}

void *sim__heap_alloc(sim_heap_t *heap, size_t n, int *over)
{
  void *p;

  *over = 0;
  if (!heap_charge(heap, n)) {
    *over = 1;
    return NULL;
  }
  p = calloc(1, n != 0 ? n : 1);
  if (p == NULL)
    heap->used -= n;
  return p;
}

/* Grows an owned array to hold `need` items of `size` bytes. */
static int heap_grow(sim_heap_t *heap, void **at, uint32_t *cap,
                     size_t size, uint32_t need)
{
  uint32_t ncap;
  void *p;

  if (need <= *cap)
    return 0;
  ncap = *cap < 4 ? 4 : *cap;
  while (ncap < need)
    ncap = ncap > UINT32_MAX / 2 ? need : ncap * 2;
  if ((size_t)ncap > SIZE_MAX / size ||
      !heap_charge(heap, (size_t)(ncap - *cap) * size))
    return heap->over ? UV_E2BIG : UV_ENOMEM;
  p = realloc(*at, (size_t)ncap * size);
  if (p == NULL) {
    heap->used -= (size_t)(ncap - *cap) * size;
    return UV_ENOMEM;
  }
  *at = p;
  *cap = ncap;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Constructors                                                            */

sim_value_t *sim_value_new(sim_heap_t *heap, sim_value_kind_t kind)
{
  sim_value_t *v;
  int over;

  switch (kind) {
  case SIM_VALUE_UNDEFINED:
    return &heap->undefined_;
  case SIM_VALUE_NULL:
    return &heap->null_;
  case SIM_VALUE_HOLE:
    return &heap->hole_;
  case SIM_VALUE_BOOLEAN:
    return &heap->false_;
  default:
    break;
  }
  if ((unsigned)kind >= SIM_VALUE_KIND_MAX)
    return NULL;
  v = sim__heap_alloc(heap, sizeof(*v), &over);
  if (v == NULL)
    return NULL;
  v->kind = kind;
  if (kind == SIM_VALUE_REGEXP || kind == SIM_VALUE_BOXED) {
    /* Never left without their inner value. */
    v->u.regexp.source = sim_value_new_latin1(heap, NULL, 0);
    if (v->u.regexp.source == NULL) {
      heap->used -= sizeof(*v);
      free(v);
      return NULL;
    }
    if (kind == SIM_VALUE_BOXED)
      v->u.boxed = v->u.regexp.source;
  }
  v->heap_next = heap->values;
  heap->values = v;
  return v;
}

sim_value_t *sim_value_new_boolean(sim_heap_t *heap, int b)
{
  return b ? &heap->true_ : &heap->false_;
}

sim_value_t *sim_value_new_int32(sim_heap_t *heap, int32_t i)
{
  sim_value_t *v = sim_value_new(heap, SIM_VALUE_INT32);

  if (v != NULL)
    v->u.int32 = i;
  return v;
}

sim_value_t *sim_value_new_double(sim_heap_t *heap, double d)
{
  sim_value_t *v = sim_value_new(heap, SIM_VALUE_DOUBLE);

  if (v != NULL)
    v->u.number = d;
  return v;
}

sim_value_t *sim_value_new_number(sim_heap_t *heap, double d)
{
  if (d >= INT32_MIN && d <= INT32_MAX && d == (double)(int32_t)d &&
      !(d == 0 && signbit(d)))
    return sim_value_new_int32(heap, (int32_t)d);
  return sim_value_new_double(heap, d);
}

sim_value_t *sim_value_new_bigint(sim_heap_t *heap, int negative,
                                  const uint64_t *digits, uint32_t ndigits)
{
  sim_value_t *v;
  int over;

  while (ndigits > 0 && digits[ndigits - 1] == 0)
    ndigits--;
  v = sim_value_new(heap, SIM_VALUE_BIGINT);
  if (v == NULL)
    return NULL;
  if (ndigits > 0) {
    v->u.bigint.digits = sim__heap_alloc(heap, (size_t)ndigits * 8, &over);
    if (v->u.bigint.digits == NULL)
      return NULL;
    memcpy(v->u.bigint.digits, digits, (size_t)ndigits * 8);
  }
  v->u.bigint.ndigits = ndigits;
  v->u.bigint.negative = ndigits > 0 && negative;
  return v;
}

/* Decimal or 0x-hex magnitude into digits; 0 when malformed. Decimal is
 * quadratic, so its length is capped. */
static int bigint_parse(const char *s, uint64_t *d, uint32_t cap,
                        uint32_t *n)
{
  int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  size_t len;

  *n = 0;
  s += hex ? 2 : 0;
  len = strlen(s);
  if (len == 0 || (!hex && len > 20000))
    return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned c = (unsigned char)s[i], dv, carry_in;
    unsigned __int128 carry;

    if (c >= '0' && c <= '9')
      dv = c - '0';
    else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
      dv = (c | 0x20) - 'a' + 10;
    else
      return 0;
    carry_in = dv;
    carry = carry_in;
    for (uint32_t k = 0; k < *n; k++) {
      carry += (unsigned __int128)d[k] * (hex ? 16u : 10u);
      d[k] = (uint64_t)carry;
      carry >>= 64;
    }
    if (carry != 0) {
      if (*n == cap)
        return 0;
      d[(*n)++] = (uint64_t)carry;
    }
  }
  return 1;
}

sim_value_t *sim_value_new_bigint_str(sim_heap_t *heap, const char *dec)
{
  int negative = dec[0] == '-';
  size_t len = strlen(dec);
  uint32_t cap = (uint32_t)(len / 4 + 2), n;
  uint64_t *d;
  sim_value_t *v = NULL;

  if (len > 16u * 1024u * 1024u)
    return NULL;
  d = calloc(cap, sizeof(*d));
  if (d == NULL)
    return NULL;
  if (bigint_parse(dec + negative, d, cap, &n))
    v = sim_value_new_bigint(heap, negative, d, n);
  free(d);
  return v;
}

sim_value_t *sim_value_new_latin1(sim_heap_t *heap, const uint8_t *s,
                                  uint32_t n)
{
  sim_value_t *v = sim_value_new(heap, SIM_VALUE_STRING);
  int over;

  if (v == NULL)
    return NULL;
  v->u.string.latin1 = sim__heap_alloc(heap, n, &over);
  if (v->u.string.latin1 == NULL)
    return NULL;
  if (s != NULL && n > 0)
    memcpy(v->u.string.latin1, s, n);
  v->u.string.length = n;
  return v;
}

sim_value_t *sim_value_new_utf16(sim_heap_t *heap, const uint16_t *s,
                                 uint32_t n)
{
  sim_value_t *v = sim_value_new(heap, SIM_VALUE_STRING);
  int over;

  if (v == NULL)
    return NULL;
  v->u.string.utf16 = sim__heap_alloc(heap, (size_t)n * 2, &over);
  if (v->u.string.utf16 == NULL)
    return NULL;
  if (s != NULL && n > 0)
    memcpy(v->u.string.utf16, s, (size_t)n * 2);
  v->u.string.two_byte = 1;
  v->u.string.length = n;
  return v;
}

/* Decodes one UTF-8 sequence at s[0..n) into *cp; returns its length, or
 * 0 when invalid: then `bad` is the length of the maximal invalid subpart
 * (WHATWG / V8: each becomes one U+FFFD). */
static size_t utf8_next(const uint8_t *s, size_t n, uint32_t *cp,
                        size_t *bad)
{
  uint8_t c = s[0];
  size_t len, i;
  uint32_t lo = 0x80, hi = 0xBF, v;

  *bad = 1;
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    v = c & 0x0F;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    v = c & 0x07;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  for (i = 1; i < len; i++) {
    if (i >= n || s[i] < lo || s[i] > hi) {
      *bad = i;
      return 0;
    }
    v = (v << 6) | (s[i] & 0x3F);
    lo = 0x80;
    hi = 0xBF;
  }
  *cp = v;
  return len;
}

sim_value_t *sim__string_from_utf8(sim_heap_t *heap, const char *utf8,
                                   size_t n, int lenient)
{
  const uint8_t *s = (const uint8_t *)utf8;
  uint16_t *u;
  uint32_t count = 0, wide = 0;
  sim_value_t *v = NULL;

  if (n > UINT32_MAX / 2)
    return NULL;
  u = malloc(n * sizeof(*u) + 1);
  if (u == NULL)
    return NULL;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t bad, len = utf8_next(s + i, n - i, &cp, &bad);

    if (len == 0) {
      if (!lenient)
        goto out;
      cp = 0xFFFD;
      len = bad;
    }
    if (cp >= 0x10000) {
      u[count++] = (uint16_t)(0xD800 + ((cp - 0x10000) >> 10));
      cp = 0xDC00 + ((cp - 0x10000) & 0x3FF);
    }
    u[count++] = (uint16_t)cp;
    wide |= cp > 0xFF;
    i += len;
  }
  if (wide) {
    v = sim_value_new_utf16(heap, u, count);
  } else {
    v = sim_value_new_latin1(heap, NULL, count);
    for (uint32_t k = 0; v != NULL && k < count; k++)
      v->u.string.latin1[k] = (uint8_t)u[k];
  }
out:
  free(u);
  return v;
}

sim_value_t *sim_value_new_string(sim_heap_t *heap, const char *utf8,
                                  size_t n)
{
  return sim__string_from_utf8(heap, utf8, n, 0);
}

sim_value_t *sim_value_new_sparse(sim_heap_t *heap, uint32_t length)
{
  sim_value_t *v = sim_value_new(heap, SIM_VALUE_SPARSE_ARRAY);

  if (v != NULL)
    v->u.sparse.length = length;
  return v;
}

sim_value_t *sim_value_new_date(sim_heap_t *heap, double ms)
{
  sim_value_t *v = sim_value_new(heap, SIM_VALUE_DATE);

  /* TimeClip, as every JS Date holds its time value. */
  if (v != NULL)
    v->u.number = isfinite(ms) && fabs(ms) <= 8.64e15 ? trunc(ms) + 0.0
                                                      : NAN;
  return v;
}

sim_value_t *sim_value_new_regexp(sim_heap_t *heap, sim_value_t *source,
                                  uint32_t flags)
{
  sim_value_t *v;

  if (source == NULL || source->kind != SIM_VALUE_STRING)
    return NULL;
  v = sim_value_new(heap, SIM_VALUE_REGEXP);
  if (v != NULL) {
    v->u.regexp.source = source;
    v->u.regexp.flags = flags;
  }
  return v;
}

static sim_value_t *bytes_new(sim_heap_t *heap, sim_value_kind_t kind,
                              const void *data, uint32_t n)
{
  sim_value_t *v = sim_value_new(heap, kind);
  int over;

  if (v == NULL)
    return NULL;
  v->u.bytes.data = sim__heap_alloc(heap, n, &over);
  if (v->u.bytes.data == NULL)
    return NULL;
  if (data != NULL && n > 0)
    memcpy(v->u.bytes.data, data, n);
  v->u.bytes.length = n;
  return v;
}

sim_value_t *sim_value_new_buffer(sim_heap_t *heap, const void *data,
                                  uint32_t n)
{
  return bytes_new(heap, SIM_VALUE_ARRAY_BUFFER, data, n);
}

sim_value_t *sim_value_new_view(sim_heap_t *heap, sim_view_kind_t view,
                                const void *data, uint32_t n)
{
  sim_value_t *v;

  if ((unsigned)view >= SIM_VIEW_MAX)
    return NULL;
  v = bytes_new(heap, SIM_VALUE_VIEW, data, n);
  if (v != NULL)
    v->u.bytes.view = view;
  return v;
}

sim_value_t *sim_value_new_boxed(sim_heap_t *heap, sim_value_t *inner)
{
  sim_value_t *v;

  if (inner == NULL)
    return NULL;
  switch (inner->kind) {
  case SIM_VALUE_BOOLEAN:
  case SIM_VALUE_INT32:
  case SIM_VALUE_DOUBLE:
  case SIM_VALUE_BIGINT:
  case SIM_VALUE_STRING:
    break;
  default:
    return NULL;
  }
  v = sim_value_new(heap, SIM_VALUE_BOXED);
  if (v != NULL)
    v->u.boxed = inner;
  return v;
}

sim_value_t *sim_value_new_error(sim_heap_t *heap, sim_error_proto_t proto,
                                 sim_value_t *message, sim_value_t *stack)
{
  sim_value_t *v;

  if ((message != NULL && message->kind != SIM_VALUE_STRING) ||
      (stack != NULL && stack->kind != SIM_VALUE_STRING))
    return NULL;
  v = sim_value_new(heap, SIM_VALUE_ERROR);
  if (v != NULL) {
    v->u.error.proto = proto;
    v->u.error.message = message;
    v->u.error.stack = stack;
  }
  return v;
}

/* ---------------------------------------------------------------------- */
/* Changes                                                                 */

static sim_props_t *props_of(sim_value_t *v)
{
  switch (v->kind) {
  case SIM_VALUE_OBJECT:
    return &v->u.object;
  case SIM_VALUE_MAP:
    return &v->u.map;
  case SIM_VALUE_ARRAY:
    return &v->u.array.props;
  case SIM_VALUE_SPARSE_ARRAY:
    return &v->u.sparse.props;
  default:
    return NULL;
  }
}

int sim_value_put(sim_heap_t *heap, sim_value_t *target, sim_value_t *key,
                  sim_value_t *value)
{
  sim_props_t *p;
  int err;

  if (target == NULL || key == NULL || value == NULL)
    return UV_EINVAL;
  p = props_of(target);
  if (p == NULL)
    return UV_EINVAL;
  if (target->kind != SIM_VALUE_MAP && key->kind != SIM_VALUE_STRING &&
      key->kind != SIM_VALUE_INT32 && key->kind != SIM_VALUE_DOUBLE)
    return UV_EINVAL;
  if (p->count == UINT32_MAX)
    return UV_E2BIG;
  err = heap_grow(heap, (void **)&p->at, &p->cap, sizeof(*p->at),
                  p->count + 1);
  if (err != 0)
    return err;
  p->at[p->count].key = key;
  p->at[p->count].value = value;
  p->count++;
  return 0;
}

int sim_value_put_str(sim_heap_t *heap, sim_value_t *target,
                      const char *key, sim_value_t *value)
{
  sim_value_t *k = sim_value_new_string(heap, key, strlen(key));

  if (k == NULL)
    return heap->over ? UV_E2BIG : UV_ENOMEM;
  return sim_value_put(heap, target, k, value);
}

int sim_value_push(sim_heap_t *heap, sim_value_t *target,
                   sim_value_t *value)
{
  sim_list_t *l;
  int err;

  if (target == NULL || value == NULL)
    return UV_EINVAL;
  if (target->kind == SIM_VALUE_ARRAY)
    l = &target->u.array.elements;
  else if (target->kind == SIM_VALUE_SET)
    l = &target->u.set;
  else
    return UV_EINVAL;
  if (l->count == UINT32_MAX)
    return UV_E2BIG;
  err = heap_grow(heap, (void **)&l->at, &l->cap, sizeof(*l->at),
                  l->count + 1);
  if (err != 0)
    return err;
  l->at[l->count++] = value;
  return 0;
}

int sim__value_reserve(sim_heap_t *heap, sim_value_t *target, uint32_t n)
{
  sim_list_t *l = &target->u.array.elements;

  if (target->kind != SIM_VALUE_ARRAY)
    return UV_EINVAL;
  return heap_grow(heap, (void **)&l->at, &l->cap, sizeof(*l->at), n);
}

int sim_value_set_cause(sim_value_t *error, sim_value_t *cause)
{
  if (error == NULL || error->kind != SIM_VALUE_ERROR)
    return UV_EINVAL;
  error->u.error.cause = cause;
  return 0;
}

int sim_value_set_resizable(sim_value_t *buffer, uint32_t max_length)
{
  if (buffer == NULL || buffer->kind != SIM_VALUE_ARRAY_BUFFER ||
      max_length < buffer->u.bytes.length)
    return UV_EINVAL;
  buffer->u.bytes.resizable = 1;
  buffer->u.bytes.max_length = max_length;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Names                                                                   */

int sim_value_is_object(const sim_value_t *value)
{
  return value->kind >= SIM_VALUE_OBJECT && value->kind < SIM_VALUE_KIND_MAX;
}

static const char *const kind_names[SIM_VALUE_KIND_MAX] = {
  "undefined", "null", "boolean", "int32", "double", "bigint", "string",
  "hole", "object", "array", "sparse", "date", "regexp", "map", "set",
  "ArrayBuffer", "view", "boxed", "error",
};

const char *sim_value_kind_name(sim_value_kind_t kind)
{
  return (unsigned)kind < SIM_VALUE_KIND_MAX ? kind_names[kind] : "?";
}

static const char *const view_names[SIM_VIEW_MAX] = {
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array",
  "Uint16Array", "Int32Array", "Uint32Array", "Float32Array",
  "Float64Array", "DataView", "Buffer", "BigInt64Array", "BigUint64Array",
};

const char *sim_view_kind_name(sim_view_kind_t view)
{
  return (unsigned)view < SIM_VIEW_MAX ? view_names[view] : NULL;
}

/* ---------------------------------------------------------------------- */
/* Numbers and property keys as JavaScript sees them                      */

/* The ECMAScript layout (Number::toString) of the shortest digits that
 * read back as d. */
void sim__number_str(double d, char *buf)
{
  char tmp[40], digits[24];
  int prec, k = 0, n;
  const char *p;

  if (isnan(d) || isinf(d) || d == 0) {
    strcpy(buf, isnan(d) ? "NaN" : d == 0 ? "0" : d > 0 ? "Infinity"
                                                        : "-Infinity");
    return;
  }
  for (prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
    if (strtod(tmp, NULL) == d)
      break;
  }
  p = tmp;
  if (*p == '-') {
    *buf++ = '-';
    p++;
  }
  for (; *p != 'e'; p++)
    if (*p != '.')
      digits[k++] = *p;
  while (k > 1 && digits[k - 1] == '0')
    k--;
  n = atoi(p + 1) + 1;       /* the decimal point after n digits */
  if (k <= n && n <= 21) {
    memcpy(buf, digits, (size_t)k);
    memset(buf + k, '0', (size_t)(n - k));
    buf[n] = '\0';
  } else if (n > 0 && n <= 21) {
    memcpy(buf, digits, (size_t)n);
    buf[n] = '.';
    memcpy(buf + n + 1, digits + n, (size_t)(k - n));
    buf[k + 1] = '\0';
  } else if (n > -6 && n <= 0) {
    memcpy(buf, "0.", 2);
    memset(buf + 2, '0', (size_t)-n);
    memcpy(buf + 2 - n, digits, (size_t)k);
    buf[2 - n + k] = '\0';
  } else {
    char *q = buf;
    int e = abs(n - 1);      /* at most 324 */

    *q++ = digits[0];
    if (k > 1) {
      *q++ = '.';
      memcpy(q, digits + 1, (size_t)(k - 1));
      q += k - 1;
    }
    *q++ = 'e';
    *q++ = n - 1 >= 0 ? '+' : '-';
    if (e >= 100)
      *q++ = (char)('0' + e / 100);
    if (e >= 10)
      *q++ = (char)('0' + e / 10 % 10);
    *q++ = (char)('0' + e % 10);
    *q = '\0';
  }
}

/* The code units of a key's property name; numbers through tmp. */
typedef struct {
  const uint8_t *latin1;
  const uint16_t *utf16;
  uint32_t n;
} units_t;

static void key_units(const sim_value_t *key, char *tmp, units_t *u)
{
  memset(u, 0, sizeof(*u));
  if (key->kind == SIM_VALUE_STRING) {
    u->latin1 = key->u.string.latin1;
    u->utf16 = key->u.string.two_byte ? key->u.string.utf16 : NULL;
    u->n = key->u.string.length;
    return;
  }
  if (key->kind == SIM_VALUE_INT32)
    sprintf(tmp, "%d", key->u.int32);
  else if (key->kind == SIM_VALUE_DOUBLE)
    sim__number_str(key->u.number, tmp);
  else
    tmp[0] = '\0';
  u->latin1 = (const uint8_t *)tmp;
  u->n = (uint32_t)strlen(tmp);
}

static uint16_t unit_at(const units_t *u, uint32_t i)
{
  return u->utf16 != NULL ? u->utf16[i] : u->latin1[i];
}

int sim__key_index(const sim_value_t *key, uint32_t *index)
{
  char tmp[32];
  units_t u;
  uint64_t v = 0;

  if (key->kind == SIM_VALUE_INT32) {
    *index = (uint32_t)key->u.int32;
    return key->u.int32 >= 0;
  }
  if (key->kind == SIM_VALUE_DOUBLE) {
    double d = key->u.number;
    *index = d >= 0 && d <= 4294967294.0 ? (uint32_t)d : 0;
    return d >= 0 && d <= 4294967294.0 && d == (double)*index;
  }
  key_units(key, tmp, &u);
  if (u.n == 0 || u.n > 10 || (u.n > 1 && unit_at(&u, 0) == '0'))
    return 0;
  for (uint32_t i = 0; i < u.n; i++) {
    uint16_t c = unit_at(&u, i);
    if (c < '0' || c > '9')
      return 0;
    v = v * 10 + (c - '0');
  }
  *index = (uint32_t)v;
  return v <= 4294967294u;
}

int sim__key_equal(const sim_value_t *a, const sim_value_t *b)
{
  char ta[32], tb[32];
  uint32_t ia, ib;
  int xa = sim__key_index(a, &ia), xb = sim__key_index(b, &ib);
  units_t ua, ub;

  if (xa || xb)
    return xa && xb && ia == ib;
  key_units(a, ta, &ua);
  key_units(b, tb, &ub);
  if (ua.n != ub.n)
    return 0;
  for (uint32_t i = 0; i < ua.n; i++)
    if (unit_at(&ua, i) != unit_at(&ub, i))
      return 0;
  return 1;
}

uint32_t sim__key_hash(const sim_value_t *key)
{
  char tmp[32];
  uint32_t h = 2166136261u, index;
  units_t u;

  if (sim__key_index(key, &index))
    return (index + 1) * 2654435761u;
  key_units(key, tmp, &u);
  for (uint32_t i = 0; i < u.n; i++)
    h = (h ^ unit_at(&u, i)) * 16777619u;
  return h;
}

/* ---------------------------------------------------------------------- */
/* Key sets: duplicate keys among the properties of one object             */

static uint32_t keyset_probe(const sim__keyset_t *ks, const sim_prop_t *at,
                             const sim_value_t *key, int64_t *found)
{
  uint32_t i = sim__key_hash(key) & (ks->cap - 1);

  *found = -1;
  for (; ks->slot[i] != 0; i = (i + 1) & (ks->cap - 1)) {
    if (sim__key_equal(at[ks->slot[i] - 1].key, key)) {
      *found = ks->slot[i] - 1;
      break;
    }
  }
  return i;
}

int64_t sim__keyset_add(sim__keyset_t *ks, const sim_prop_t *at, uint32_t i)
{
  int64_t found;
  uint32_t slot;

  if ((ks->count + 1) * 2 > ks->cap) {
    sim__keyset_t big = { NULL, ks->cap ? ks->cap * 2 : 16, ks->count };

    if (big.cap > UINT32_MAX / 4)
      return UV_ENOMEM;
    big.slot = calloc(big.cap, sizeof(*big.slot));
    if (big.slot == NULL)
      return UV_ENOMEM;
    for (uint32_t k = 0; k < ks->cap; k++) {
      if (ks->slot[k] != 0) {
        slot = keyset_probe(&big, at, at[ks->slot[k] - 1].key, &found);
        big.slot[slot] = ks->slot[k];
      }
    }
    free(ks->slot);
    *ks = big;
  }
  slot = keyset_probe(ks, at, at[i].key, &found);
  if (found >= 0)
    return found;
  ks->slot[slot] = i + 1;
  ks->count++;
  return -1;
}

void sim__keyset_free(sim__keyset_t *ks)
{
  free(ks->slot);
  memset(ks, 0, sizeof(*ks));
}

/* ---------------------------------------------------------------------- */
/* Identity map                                                            */

static size_t vmap_slot(const sim__vmap_t *m, const sim_value_t *key)
{
  uintptr_t x = (uintptr_t)key;
  size_t i;

  x ^= x >> 17;
  x *= (uintptr_t)0x9E3779B97F4A7C15ull;
  i = (size_t)(x >> 7) & (m->cap - 1);
  while (m->keys[i] != NULL && m->keys[i] != key)
    i = (i + 1) & (m->cap - 1);
  return i;
}

static int vmap_grow(sim__vmap_t *m)
{
  sim__vmap_t n = { NULL, NULL, 0, m->cap ? m->cap * 2 : 64 };

  n.keys = calloc(n.cap, sizeof(*n.keys));
  n.vals = calloc(n.cap, sizeof(*n.vals));
  if (n.keys == NULL || n.vals == NULL) {
    free(n.keys);
    free(n.vals);
    return UV_ENOMEM;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (m->keys[i] != NULL) {
      size_t j = vmap_slot(&n, m->keys[i]);
      n.keys[j] = m->keys[i];
      n.vals[j] = m->vals[i];
    }
  }
  n.count = m->count;
  sim__vmap_free(m);
  *m = n;
  return 0;
}

uint32_t *sim__vmap_get(sim__vmap_t *m, const sim_value_t *key, int *isnew)
{
  size_t i;

  *isnew = 0;
  if ((m->count + 1) * 2 > m->cap && vmap_grow(m) != 0)
    return NULL;
  i = vmap_slot(m, key);
  if (m->keys[i] == NULL) {
    m->keys[i] = key;
    m->vals[i] = 0;
    m->count++;
    *isnew = 1;
  }
  return &m->vals[i];
}

void sim__vmap_free(sim__vmap_t *m)
{
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof(*m));
}
