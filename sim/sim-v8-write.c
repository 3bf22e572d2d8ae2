/*
 * sim-v8-write.c - the encoder: a value model to the bytes Node's
 * ChildProcessSerializer writes (V8's ValueSerializer, version 15, with
 * ArrayBufferViews as Node's host objects), and the growable buffer.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

/* ---------------------------------------------------------------------- */
/* Growable buffer                                                         */

void sim_buf_init(sim_buf_t *buf)
{
  memset(buf, 0, sizeof(*buf));
}

int sim_buf_reserve(sim_buf_t *buf, size_t more)
{
  size_t need, cap;
  uint8_t *p;

  if (more > SIZE_MAX - buf->len)
    return UV_ENOMEM;
  need = buf->len + more;
  if (need <= buf->cap)
    return 0;
  cap = buf->cap < 256 ? 256 : buf->cap;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  p = realloc(buf->base, cap);
  if (p == NULL)
    return UV_ENOMEM;
  buf->base = p;
  buf->cap = cap;
  return 0;
}

int sim_buf_append(sim_buf_t *buf, const void *data, size_t n)
{
  int err = sim_buf_reserve(buf, n);

  if (err == 0 && n > 0) {
    memcpy(buf->base + buf->len, data, n);
    buf->len += n;
  }
  return err;
}

void sim_buf_free(sim_buf_t *buf)
{
  free(buf->base);
  sim_buf_init(buf);
}

/* ---------------------------------------------------------------------- */
/* Writer: the first error sticks and later writes do nothing.             */

typedef struct {
  sim_buf_t *out;
  size_t start;              /* where the serializer's own buffer began */
  sim__vmap_t ids;           /* object -> wire id + 1 */
  uint32_t next_id;
  unsigned depth;
  int rc;
  const char *reason;
  size_t at;
} enc_t;

static void fail(enc_t *e, int rc, const char *reason)
{
  if (e->rc == 0) {
    e->rc = rc;
    e->reason = reason;
    e->at = e->out->len - e->start;
  }
}

static void put(enc_t *e, const void *p, size_t n)
{
  if (e->rc == 0 && sim_buf_append(e->out, p, n) != 0)
    fail(e, UV_ENOMEM, "out of memory");
}

static void put_byte(enc_t *e, uint8_t b)
{
  put(e, &b, 1);
}

static size_t varint_size(uint64_t v)
{
  size_t n = 1;

  while (v >>= 7)
    n++;
  return n;
}

/* Base-128, least significant group first (WriteVarint). */
static void put_varint(enc_t *e, uint64_t v)
{
  uint8_t b[10];
  size_t n = 0;

  do {
    b[n++] = (uint8_t)((v & 0x7F) | 0x80);
    v >>= 7;
  } while (v != 0);
  b[n - 1] &= 0x7F;
  put(e, b, n);
}

static void put_zigzag(enc_t *e, int32_t v)
{
  put_varint(e, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

/* Host byte order, as V8 writes it; NaN as JavaScript's one NaN. */
static void put_double(enc_t *e, double d)
{
  if (isnan(d))
    d = NAN;
  put(e, &d, sizeof(d));
}

static void write_string(enc_t *e, const sim_value_t *s)
{
  uint32_t n = s->u.string.length;

  if (s->kind != SIM_VALUE_STRING) {
    fail(e, UV_EINVAL, "a string is required here");
    return;
  }
  if (!s->u.string.two_byte) {
    put_byte(e, '"');
    put_varint(e, n);
    put(e, s->u.string.latin1, n);
    return;
  }
  /* V8's reader wants two-byte data 2-aligned from where the serializer's
   * buffer starts; a padding byte before the tag buys that. */
  if ((e->out->len - e->start + 1 + varint_size((uint64_t)n * 2)) & 1)
    put_byte(e, '\0');
  put_byte(e, 'c');
  put_varint(e, (uint64_t)n * 2);
  put(e, s->u.string.utf16, (size_t)n * 2);
}

static void write_bigint(enc_t *e, const sim_value_t *b)
{
  uint32_t n = b->u.bigint.ndigits;

  /* BigInt::kMaxLength: 2^30 bits. */
  if (n > (1u << 24)) {
    fail(e, UV_EINVAL, "BigInt longer than V8's maximum");
    return;
  }
  put_varint(e, (uint32_t)(b->u.bigint.negative ? 1 : 0) | (n * 8u << 1));
  put(e, b->u.bigint.digits, (size_t)n * 8);
}

static void write_value(enc_t *e, const sim_value_t *v);

static void write_key(enc_t *e, const sim_value_t *k)
{
  if (k->kind == SIM_VALUE_STRING)
    write_string(e, k);
  else if (k->kind == SIM_VALUE_INT32 || k->kind == SIM_VALUE_DOUBLE)
    write_value(e, k);
  else
    fail(e, UV_EINVAL, "a property key must be a string or a number");
}

static void write_props(enc_t *e, const sim_props_t *p)
{
  for (uint32_t i = 0; i < p->count && e->rc == 0; i++) {
    write_key(e, p->at[i].key);
    write_value(e, p->at[i].value);
  }
}

static void write_array(enc_t *e, const sim_value_t *v)
{
  const sim_list_t *l = &v->u.array.elements;

  put_byte(e, 'A');
  put_varint(e, l->count);
  for (uint32_t i = 0; i < l->count && e->rc == 0; i++) {
    if (l->at[i]->kind == SIM_VALUE_HOLE)
      put_byte(e, '-');
    else
      write_value(e, l->at[i]);
  }
  write_props(e, &v->u.array.props);
  put_byte(e, '$');
  put_varint(e, v->u.array.props.count);
  put_varint(e, l->count);
}

static void write_collection(enc_t *e, const sim_value_t *v)
{
  if (v->kind == SIM_VALUE_MAP) {
    put_byte(e, ';');
    for (uint32_t i = 0; i < v->u.map.count && e->rc == 0; i++) {
      write_value(e, v->u.map.at[i].key);
      write_value(e, v->u.map.at[i].value);
    }
    put_byte(e, ':');
    put_varint(e, (uint64_t)v->u.map.count * 2);
    return;
  }
  put_byte(e, '\'');
  for (uint32_t i = 0; i < v->u.set.count && e->rc == 0; i++)
    write_value(e, v->u.set.at[i]);
  put_byte(e, ',');
  put_varint(e, v->u.set.count);
}

static const uint8_t view_size[SIM_VIEW_MAX] = { 1, 1, 1, 2, 2, 4, 4, 4,
                                                 8, 1, 1, 8, 8 };

static void write_bytes(enc_t *e, const sim_value_t *v)
{
  uint32_t n = v->u.bytes.length;

  if (v->kind == SIM_VALUE_VIEW) {
    if ((unsigned)v->u.bytes.view >= SIM_VIEW_MAX ||
        n % view_size[v->u.bytes.view] != 0) {
      fail(e, UV_EINVAL, "a view's length is not a whole number of "
                         "elements");
      return;
    }
    /* Node's host object: kArrayBufferViewTag, type index, length. */
    put_byte(e, '\\');
    put_varint(e, 0);
    put_varint(e, v->u.bytes.view);
  } else if (v->u.bytes.resizable) {
    if (v->u.bytes.max_length < n) {
      fail(e, UV_EINVAL, "maxByteLength below byteLength");
      return;
    }
    put_byte(e, '~');
    put_varint(e, n);
    put_varint(e, v->u.bytes.max_length);
    put(e, v->u.bytes.data, n);
    return;
  } else {
    put_byte(e, 'B');
  }
  put_varint(e, n);
  put(e, v->u.bytes.data, n);
}

static void write_boxed(enc_t *e, const sim_value_t *inner)
{
  switch (inner->kind) {
  case SIM_VALUE_BOOLEAN:
    put_byte(e, inner->u.boolean ? 'y' : 'x');
    break;
  case SIM_VALUE_INT32:
  case SIM_VALUE_DOUBLE:
    put_byte(e, 'n');
    put_double(e, inner->kind == SIM_VALUE_INT32 ? inner->u.int32
                                                 : inner->u.number);
    break;
  case SIM_VALUE_BIGINT:
    put_byte(e, 'z');
    write_bigint(e, inner);
    break;
  case SIM_VALUE_STRING:
    put_byte(e, 's');
    write_string(e, inner);
    break;
  default:
    fail(e, UV_EINVAL, "a boxed value must be a boolean, number, BigInt "
                       "or string");
  }
}

static void write_error(enc_t *e, const sim_value_t *v)
{
  put_byte(e, 'r');
  if (v->u.error.proto != SIM_ERROR_ERROR)
    put_byte(e, (uint8_t)v->u.error.proto);
  if (v->u.error.message != NULL) {
    put_byte(e, 'm');
    write_string(e, v->u.error.message);
  }
  if (v->u.error.cause != NULL) {
    put_byte(e, 'c');
    write_value(e, v->u.error.cause);
  }
  if (v->u.error.stack != NULL) {
    put_byte(e, 's');
    write_string(e, v->u.error.stack);
  }
  put_byte(e, '.');
}

static void write_regexp(enc_t *e, const sim_value_t *v)
{
  if (v->u.regexp.flags >= (1u << 9) ||
      (v->u.regexp.flags & SIM_REGEXP_LINEAR)) {
    fail(e, UV_EINVAL, "RegExp flags Node cannot read");
    return;
  }
  put_byte(e, 'R');
  write_string(e, v->u.regexp.source);
  put_varint(e, v->u.regexp.flags);
}

/* Objects: an id at the first visit, a back-reference after it. */
static void write_object(enc_t *e, const sim_value_t *v)
{
  int isnew;
  uint32_t *id = sim__vmap_get(&e->ids, v, &isnew);

  if (id == NULL) {
    fail(e, UV_ENOMEM, "out of memory");
    return;
  }
  if (!isnew) {
    put_byte(e, '^');
    put_varint(e, *id);
    return;
  }
  *id = e->next_id++;
  if (++e->depth > SIM_V8_MAX_DEPTH) {
    fail(e, UV_E2BIG, "nested deeper than SIM_V8_MAX_DEPTH");
    return;
  }
  switch (v->kind) {
  case SIM_VALUE_OBJECT:
    put_byte(e, 'o');
    write_props(e, &v->u.object);
    put_byte(e, '{');
    put_varint(e, v->u.object.count);
    break;
  case SIM_VALUE_ARRAY:
    write_array(e, v);
    break;
  case SIM_VALUE_SPARSE_ARRAY:
    put_byte(e, 'a');
    put_varint(e, v->u.sparse.length);
    write_props(e, &v->u.sparse.props);
    put_byte(e, '@');
    put_varint(e, v->u.sparse.props.count);
    put_varint(e, v->u.sparse.length);
    break;
  case SIM_VALUE_DATE:
    put_byte(e, 'D');
    put_double(e, v->u.number);
    break;
  case SIM_VALUE_REGEXP:
    write_regexp(e, v);
    break;
  case SIM_VALUE_MAP:
  case SIM_VALUE_SET:
    write_collection(e, v);
    break;
  case SIM_VALUE_ARRAY_BUFFER:
  case SIM_VALUE_VIEW:
    write_bytes(e, v);
    break;
  case SIM_VALUE_BOXED:
    write_boxed(e, v->u.boxed);
    break;
  case SIM_VALUE_ERROR:
    write_error(e, v);
    break;
  default:
    fail(e, UV_EINVAL, "unknown value kind");
  }
  e->depth--;
}

static void write_value(enc_t *e, const sim_value_t *v)
{
  if (e->rc != 0)
    return;
  if (v == NULL) {
    fail(e, UV_EINVAL, "a NULL value");
    return;
  }
  switch (v->kind) {
  case SIM_VALUE_UNDEFINED:
    put_byte(e, '_');
    break;
  case SIM_VALUE_NULL:
    put_byte(e, '0');
    break;
  case SIM_VALUE_BOOLEAN:
    put_byte(e, v->u.boolean ? 'T' : 'F');
    break;
  case SIM_VALUE_INT32:
    put_byte(e, 'I');
    put_zigzag(e, v->u.int32);
    break;
  case SIM_VALUE_DOUBLE:
    put_byte(e, 'N');
    put_double(e, v->u.number);
    break;
  case SIM_VALUE_BIGINT:
    put_byte(e, 'Z');
    write_bigint(e, v);
    break;
  case SIM_VALUE_STRING:
    write_string(e, v);
    break;
  case SIM_VALUE_HOLE:
    fail(e, UV_EINVAL, "a hole outside a dense array");
    break;
  default:
    write_object(e, v);
  }
}

static int encode(const sim_value_t *value, sim_buf_t *out, size_t start,
                  sim_v8_error_t *err)
{
  enc_t e;

  memset(&e, 0, sizeof(e));
  e.out = out;
  e.start = start;
  put_byte(&e, 0xFF);
  put_varint(&e, SIM_V8_VERSION);
  write_value(&e, value);
  sim__vmap_free(&e.ids);
  if (err != NULL) {
    err->code = e.rc;
    err->offset = e.at;
    err->reason = e.reason;
  }
  return e.rc;
}

int sim_v8_encode(const sim_value_t *value, sim_buf_t *out,
                  sim_v8_error_t *err)
{
  size_t old = out->len;
  int rc = encode(value, out, old, err);

  if (rc != 0)
    out->len = old;
  return rc;
}

int sim_v8_encode_frame(const sim_value_t *value, sim_buf_t *out,
                        sim_v8_error_t *err)
{
  static const uint8_t zero[4];
  size_t old = out->len, n;
  int rc = sim_buf_append(out, zero, 4);

  /* Node writes the length prefix into the serializer's own buffer
   * (writeRawBytes), so the padding of two-byte strings counts from the
   * prefix. */
  if (rc == 0)
    rc = encode(value, out, old, err);
  else if (err != NULL)
    *err = (sim_v8_error_t){ rc, 0, "out of memory" };
  n = out->len - old - 4;
  if (rc == 0 && n > SIM_MAX_MESSAGE) {
    rc = UV_E2BIG;
    if (err != NULL)
      *err = (sim_v8_error_t){ rc, n, "message larger than SIM_MAX_MESSAGE" };
  }
  if (rc != 0) {
    out->len = old;
    return rc;
  }
  out->base[old] = (uint8_t)(n >> 24);
  out->base[old + 1] = (uint8_t)(n >> 16);
  out->base[old + 2] = (uint8_t)(n >> 8);
  out->base[old + 3] = (uint8_t)n;
  return 0;
}
