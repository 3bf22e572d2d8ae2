/*
 * sim-v8-read.c - the decoder: the bytes Node's ChildProcessDeserializer
 * reads into the value model, with V8's checks (value-serializer.cc) and
 * Node's (lib/v8.js, lib/internal/child_process/serialization.js), and
 * caps on depth and memory so that hostile input only ever fails.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim-internal.h"

typedef struct {
  sim_heap_t *heap;
  const uint8_t *base;
  const uint8_t *p;
  const uint8_t *end;
  uint32_t version;
  sim_value_t **ids;         /* wire id -> value; NULL while being read */
  uint32_t nids;
  uint32_t capids;
  unsigned depth;
  int rc;
  const char *reason;
  size_t at;
} dec_t;

/* Records the first error; returns NULL for the callers' convenience. */
static void *fail(dec_t *d, int rc, const char *reason)
{
  if (d->rc == 0) {
    d->rc = rc;
    d->reason = reason;
    d->at = (size_t)(d->p - d->base);
  }
  return NULL;
}

static void *fail_alloc(dec_t *d)
{
  if (sim__heap_over(d->heap))
    return fail(d, UV_E2BIG, "decoded value larger than the heap limit");
  return fail(d, UV_ENOMEM, "out of memory");
}

/* v, or the allocation failure that left it NULL. */
static sim_value_t *checked(dec_t *d, sim_value_t *v)
{
  return v != NULL ? v : fail_alloc(d);
}

static void *truncated(dec_t *d)
{
  return fail(d, UV_EPROTO, "truncated");
}

/* ---------------------------------------------------------------------- */
/* Primitives of the format                                                */

/* A tag, skipping padding (ReadTag). 0 at the end. */
static int read_tag(dec_t *d, uint8_t *tag)
{
  while (d->p < d->end && *d->p == 0)
    d->p++;
  if (d->p >= d->end) {
    truncated(d);
    return 0;
  }
  *tag = *d->p++;
  return 1;
}

/* The next tag without consuming it; -1 at the end. */
static int peek_tag(const dec_t *d)
{
  const uint8_t *p = d->p;

  while (p < d->end && *p == 0)
    p++;
  return p < d->end ? *p : -1;
}

/* ReadVarintLoop<T> for a T of `bits` bits: more significant bits are
 * dropped, and at most as many bytes as T can use are consumed. */
static int read_varint(dec_t *d, unsigned bits, uint64_t *out)
{
  uint64_t v = 0;
  unsigned shift = 0;
  uint8_t byte;

  do {
    if (d->p >= d->end) {
      truncated(d);
      return 0;
    }
    byte = *d->p;
    if (shift >= bits)
      break;
    v |= (uint64_t)(byte & 0x7F) << shift;
    shift += 7;
    d->p++;
  } while (byte & 0x80);
  *out = bits >= 64 ? v : v & ((1ull << bits) - 1);
  return 1;
}

static int read_u32(dec_t *d, uint32_t *out)
{
  uint64_t v;

  if (!read_varint(d, 32, &v))
    return 0;
  *out = (uint32_t)v;
  return 1;
}

static int read_double(dec_t *d, double *out)
{
  if (d->end - d->p < 8) {
    truncated(d);
    return 0;
  }
  memcpy(out, d->p, 8);
  d->p += 8;
  if (isnan(*out))
    *out = NAN;
  return 1;
}

static const uint8_t *read_raw(dec_t *d, uint32_t n)
{
  const uint8_t *p = d->p;

  if (n > (size_t)(d->end - d->p))
    return fail(d, UV_EPROTO, "length past the end");
  d->p += n;
  return p;
}

/* ---------------------------------------------------------------------- */
/* Object ids                                                              */

static int reserve_id(dec_t *d, uint32_t *id)
{
  if (d->nids == d->capids) {
    uint32_t cap = d->capids ? d->capids * 2 : 64;
    sim_value_t **p = realloc(d->ids, (size_t)cap * sizeof(*p));

    if (p == NULL) {
      fail(d, UV_ENOMEM, "out of memory");
      return 0;
    }
    d->ids = p;
    d->capids = cap;
  }
  *id = d->nids;
  d->ids[d->nids++] = NULL;
  return 1;
}

static sim_value_t *add_id(dec_t *d, uint32_t id, sim_value_t *v)
{
  if (v != NULL)
    d->ids[id] = v;
  return v;
}

static sim_value_t *read_value(dec_t *d);

/* ---------------------------------------------------------------------- */
/* Strings and BigInts                                                     */

static sim_value_t *read_string_body(dec_t *d, uint8_t tag)
{
  uint32_t n;
  const uint8_t *raw;
  sim_value_t *v;

  if (!read_u32(d, &n) || (raw = read_raw(d, n)) == NULL)
    return NULL;
  if (tag == '"')
    v = sim_value_new_latin1(d->heap, raw, n);
  else if (tag == 'S')
    v = sim__string_from_utf8(d->heap, (const char *)raw, n, 1);
  else if (n % 2 != 0)
    return fail(d, UV_EPROTO, "two-byte string of odd length");
  else if ((v = sim_value_new_utf16(d->heap, NULL, n / 2)) != NULL)
    memcpy(v->u.string.utf16, raw, n);  /* host order, as V8 */
  return v != NULL ? v : fail_alloc(d);
}

/* ReadString(): any value, which must be a string. */
static sim_value_t *read_string(dec_t *d)
{
  sim_value_t *v = read_value(d);

  if (v != NULL && v->kind != SIM_VALUE_STRING)
    return fail(d, UV_EPROTO, "a string was expected");
  return v;
}

static sim_value_t *read_bigint(dec_t *d)
{
  uint32_t bitfield, bytes, ndigits;
  const uint8_t *raw;
  uint64_t *digits;
  sim_value_t *v;

  if (!read_u32(d, &bitfield))
    return NULL;
  bytes = (bitfield >> 1) & ((1u << 30) - 1);
  ndigits = (bytes + 7) / 8;
  if (ndigits > (1u << 24))
    return fail(d, UV_EPROTO, "BigInt longer than V8's maximum");
  if (ndigits == 0 && (bitfield & 1))
    return fail(d, UV_EPROTO, "BigInt -0");
  if ((raw = read_raw(d, bytes)) == NULL)
    return NULL;
  digits = calloc(ndigits ? ndigits : 1, sizeof(*digits));
  if (digits == NULL)
    return fail(d, UV_ENOMEM, "out of memory");
  memcpy(digits, raw, bytes);
  v = sim_value_new_bigint(d->heap, bitfield & 1, digits, ndigits);
  free(digits);
  return v != NULL ? v : fail_alloc(d);
}

/* ---------------------------------------------------------------------- */
/* Properties                                                              */

/* An array's own `length` and its present elements exist before any
 * property is read. */
static int array_owns(const sim_value_t *target, const sim_value_t *key)
{
  static const uint8_t length[] = "length";
  uint32_t index;

  if (target->kind == SIM_VALUE_OBJECT)
    return 0;
  if (key->kind == SIM_VALUE_STRING && !key->u.string.two_byte &&
      key->u.string.length == 6 &&
      memcmp(key->u.string.latin1, length, 6) == 0)
    return 1;
  if (target->kind == SIM_VALUE_ARRAY && sim__key_index(key, &index)) {
    const sim_list_t *el = &target->u.array.elements;
    return index < el->count && el->at[index]->kind != SIM_VALUE_HOLE;
  }
  return 0;
}

/* Key/value pairs up to `end`; the count and the count the end tag
 * states must agree. */
static int read_props(dec_t *d, sim_value_t *target, sim_props_t *props,
                      uint8_t end)
{
  sim__keyset_t ks = { NULL, 0, 0 };
  uint32_t expected;
  uint8_t tag;
  int ok = 0;
  int64_t dup;

  while (peek_tag(d) != end) {
    sim_value_t *key = read_value(d), *value;

    if (key == NULL)
      goto out;
    if (key->kind != SIM_VALUE_STRING && key->kind != SIM_VALUE_INT32 &&
        key->kind != SIM_VALUE_DOUBLE) {
      fail(d, UV_EPROTO, "a property key that is not a string or number");
      goto out;
    }
    if ((value = read_value(d)) == NULL)
      goto out;
    if (array_owns(target, key)) {
      fail(d, UV_EPROTO, "duplicate property key");
      goto out;
    }
    if (sim_value_put(d->heap, target, key, value) != 0) {
      fail_alloc(d);
      goto out;
    }
    dup = sim__keyset_add(&ks, props->at, props->count - 1);
    if (dup != -1) {
      fail(d, dup >= 0 ? UV_EPROTO : UV_ENOMEM,
           dup >= 0 ? "duplicate property key" : "out of memory");
      goto out;
    }
  }
  (void)read_tag(d, &tag);
  if (!read_u32(d, &expected))
    goto out;
  if (expected != props->count) {
    fail(d, UV_EPROTO, "property count mismatch");
    goto out;
  }
  ok = 1;
out:
  sim__keyset_free(&ks);
  return ok;
}

/* ---------------------------------------------------------------------- */
/* Objects                                                                 */

static sim_value_t *read_js_object(dec_t *d)
{
  uint32_t id;
  sim_value_t *v;

  if (!reserve_id(d, &id))
    return NULL;
  if ((v = add_id(d, id, sim_value_new(d->heap, SIM_VALUE_OBJECT))) == NULL)
    return fail_alloc(d);
  return read_props(d, v, &v->u.object, '{') ? v : NULL;
}

static int read_length_check(dec_t *d, uint32_t length)
{
  uint32_t expected;

  if (!read_u32(d, &expected))
    return 0;
  if (expected != length) {
    fail(d, UV_EPROTO, "array length mismatch");
    return 0;
  }
  return 1;
}

static sim_value_t *read_sparse(dec_t *d)
{
  uint32_t length, id;
  sim_value_t *v;

  if (!read_u32(d, &length) || !reserve_id(d, &id))
    return NULL;
  if ((v = add_id(d, id, sim_value_new_sparse(d->heap, length))) == NULL)
    return fail_alloc(d);
  if (!read_props(d, v, &v->u.sparse.props, '@') ||
      !read_length_check(d, length))
    return NULL;
  return v;
}

static sim_value_t *read_dense(dec_t *d)
{
  uint32_t length, id;
  sim_value_t *v;
  uint8_t tag;

  if (!read_u32(d, &length))
    return NULL;
  /* FixedArray::kMaxLength, and at least a byte per element. */
  if (length > 134217725u || length > (size_t)(d->end - d->p))
    return fail(d, UV_EPROTO, "array length past the end");
  if (!reserve_id(d, &id))
    return NULL;
  v = add_id(d, id, sim_value_new(d->heap, SIM_VALUE_ARRAY));
  if (v == NULL || sim__value_reserve(d->heap, v, length) != 0)
    return fail_alloc(d);
  for (uint32_t i = 0; i < length; i++) {
    sim_value_t *el;

    if (peek_tag(d) == '-') {
      (void)read_tag(d, &tag);
      el = sim_value_new(d->heap, SIM_VALUE_HOLE);
    } else if ((el = read_value(d)) == NULL) {
      return NULL;
    }
    if (sim_value_push(d->heap, v, el) != 0)
      return fail_alloc(d);
  }
  if (!read_props(d, v, &v->u.array.props, '$') ||
      !read_length_check(d, length))
    return NULL;
  return v;
}

/* Map entries or Set members up to `end`; the count must agree. */
static sim_value_t *read_collection(dec_t *d, sim_value_kind_t kind,
                                    uint8_t end)
{
  uint32_t id, expected, count = 0;
  sim_value_t *v;
  uint8_t tag;

  if (!reserve_id(d, &id))
    return NULL;
  if ((v = add_id(d, id, sim_value_new(d->heap, kind))) == NULL)
    return fail_alloc(d);
  while (peek_tag(d) != end) {
    sim_value_t *a = read_value(d), *b = NULL;
    int err;

    if (a == NULL || (kind == SIM_VALUE_MAP && (b = read_value(d)) == NULL))
      return NULL;
    err = kind == SIM_VALUE_MAP ? sim_value_put(d->heap, v, a, b)
                                : sim_value_push(d->heap, v, a);
    if (err != 0)
      return fail_alloc(d);
    count += kind == SIM_VALUE_MAP ? 2 : 1;
  }
  (void)read_tag(d, &tag);
  if (!read_u32(d, &expected))
    return NULL;
  if (expected != count)
    return fail(d, UV_EPROTO, "Map or Set length mismatch");
  return v;
}

static sim_value_t *read_regexp(dec_t *d)
{
  uint32_t id, flags;
  sim_value_t *source;

  if (!reserve_id(d, &id) || (source = read_string(d)) == NULL ||
      !read_u32(d, &flags))
    return NULL;
  /* Unknown bits, and the linear engine (off in Node). */
  if (flags >= (1u << 9) || (flags & SIM_REGEXP_LINEAR))
    return fail(d, UV_EPROTO, "invalid RegExp flags");
  return checked(d, add_id(d, id, sim_value_new_regexp(d->heap, source,
                                                         flags)));
}

static sim_value_t *read_boxed(dec_t *d, uint8_t tag)
{
  uint32_t id;
  sim_value_t *inner;
  double num;

  if (!reserve_id(d, &id))
    return NULL;
  switch (tag) {
  case 'y':
  case 'x':
    inner = sim_value_new_boolean(d->heap, tag == 'y');
    break;
  case 'n':
    if (!read_double(d, &num))
      return NULL;
    inner = sim_value_new_double(d->heap, num);
    break;
  case 'z':
    inner = read_bigint(d);
    break;
  default:
    inner = read_string(d);
  }
  if (inner == NULL)
    return d->rc ? NULL : fail_alloc(d);
  return checked(d, add_id(d, id, sim_value_new_boxed(d->heap, inner)));
}

static sim_value_t *read_array_buffer(dec_t *d, int resizable)
{
  uint32_t id, n, max = 0;
  const uint8_t *raw;
  sim_value_t *v;

  if (!reserve_id(d, &id) || !read_u32(d, &n) ||
      (resizable && !read_u32(d, &max)))
    return NULL;
  if (resizable && n > max)
    return fail(d, UV_EPROTO, "byteLength above maxByteLength");
  if ((raw = read_raw(d, n)) == NULL)
    return NULL;
  if ((v = sim_value_new_buffer(d->heap, raw, n)) == NULL)
    return fail_alloc(d);
  if (resizable)
    (void)sim_value_set_resizable(v, max);
  return add_id(d, id, v);
}

static const uint8_t view_size[SIM_VIEW_MAX] = { 1, 1, 1, 2, 2, 4, 4, 4,
                                                 8, 1, 1, 8, 8 };

/* Node's host objects: 0 then a view (DefaultDeserializer), or 1 then an
 * object that stood for a native one (ChildProcessDeserializer). */
static sim_value_t *read_host(dec_t *d)
{
  uint32_t id, which, type, n;
  const uint8_t *raw;
  sim_value_t *v;

  if (!reserve_id(d, &id) || !read_u32(d, &which))
    return NULL;
  if (which == 1) {
    if ((v = read_value(d)) == NULL)
      return NULL;
    if (!sim_value_is_object(v))
      return fail(d, UV_EPROTO, "host object that is not an object");
    return add_id(d, id, v);
  }
  if (which != 0)
    return fail(d, UV_EPROTO, "unknown host object tag");
  if (!read_u32(d, &type) || !read_u32(d, &n))
    return NULL;
  if (type >= SIM_VIEW_MAX)
    return fail(d, UV_EPROTO, "unknown ArrayBufferView type");
  if ((raw = read_raw(d, n)) == NULL)
    return NULL;
  /* Node makes a view of byteLength / BYTES_PER_ELEMENT elements (the
   * index conversion truncates); the rest of the bytes is skipped. */
  n -= n % view_size[type];
  v = sim_value_new_view(d->heap, (sim_view_kind_t)type, raw, n);
  return checked(d, add_id(d, id, v));
}

static sim_value_t *read_error(dec_t *d)
{
  uint32_t id;
  uint64_t tag;
  sim_value_t *v;

  if (!reserve_id(d, &id))
    return NULL;
  if ((v = sim_value_new_error(d->heap, SIM_ERROR_ERROR, NULL, NULL)) ==
      NULL)
    return fail_alloc(d);
  for (;;) {
    if (!read_varint(d, 8, &tag))
      return NULL;
    switch (tag) {
    case 'E': case 'R': case 'F': case 'S': case 'T': case 'U':
      v->u.error.proto = (sim_error_proto_t)tag;
      break;
    case 'm':
      if ((v->u.error.message = read_string(d)) == NULL)
        return NULL;
      break;
    case 's':
      if ((v->u.error.stack = read_string(d)) == NULL)
        return NULL;
      break;
    case 'c':
      if ((v->u.error.cause = read_value(d)) == NULL)
        return NULL;
      break;
    case '.':
      return add_id(d, id, v);
    default:
      return fail(d, UV_EPROTO, "unknown Error field");
    }
  }
}

static sim_value_t *read_reference(dec_t *d)
{
  uint32_t id;

  if (!read_u32(d, &id))
    return NULL;
  if (id >= d->nids || d->ids[id] == NULL)
    return fail(d, UV_EPROTO, "bad back-reference");
  return d->ids[id];
}

/* ---------------------------------------------------------------------- */
/* Values                                                                  */

static sim_value_t *read_number(dec_t *d, uint8_t tag)
{
  uint64_t u;
  double num;
  sim_value_t *v;

  if (tag == 'N') {
    if (!read_double(d, &num))
      return NULL;
    v = sim_value_new_double(d->heap, num);
  } else if (!read_varint(d, 32, &u)) {
    return NULL;
  } else if (tag == 'I') {
    uint32_t z = (uint32_t)u;
    v = sim_value_new_int32(d->heap, (int32_t)((z >> 1) ^ (0u - (z & 1))));
  } else {
    v = sim_value_new_number(d->heap, (double)(uint32_t)u);
  }
  return v != NULL ? v : fail_alloc(d);
}

static sim_value_t *read_date(dec_t *d)
{
  uint32_t id;
  double ms;

  if (!reserve_id(d, &id) || !read_double(d, &ms))
    return NULL;
  return checked(d, add_id(d, id, sim_value_new_date(d->heap, ms)));
}

/* Adapters to the one reader signature of the table below. */
static sim_value_t *rd_count_prefix(dec_t *d, uint8_t tag)
{
  uint32_t skip;

  /* kVerifyObjectCount: a count to ignore, then the value. */
  return read_u32(d, &skip) ? read_value(d) : NULL;
}

static sim_value_t *rd_oddball(dec_t *d, uint8_t tag)
{
  if (tag == 'T' || tag == 'F')
    return sim_value_new_boolean(d->heap, tag == 'T');
  return sim_value_new(d->heap, tag == '_' ? SIM_VALUE_UNDEFINED
                                           : SIM_VALUE_NULL);
}

static sim_value_t *rd_bigint(dec_t *d, uint8_t tag)
{
  return read_bigint(d);
}

static sim_value_t *rd_reference(dec_t *d, uint8_t tag)
{
  return read_reference(d);
}

static sim_value_t *rd_object(dec_t *d, uint8_t tag)
{
  if (tag == 'o')
    return read_js_object(d);
  return tag == 'a' ? read_sparse(d) : read_dense(d);
}

static sim_value_t *rd_date(dec_t *d, uint8_t tag)
{
  return read_date(d);
}

static sim_value_t *rd_regexp(dec_t *d, uint8_t tag)
{
  return read_regexp(d);
}

static sim_value_t *rd_collection(dec_t *d, uint8_t tag)
{
  if (tag == ';')
    return read_collection(d, SIM_VALUE_MAP, ':');
  return read_collection(d, SIM_VALUE_SET, ',');
}

static sim_value_t *rd_array_buffer(dec_t *d, uint8_t tag)
{
  return read_array_buffer(d, tag == '~');
}

static sim_value_t *rd_error(dec_t *d, uint8_t tag)
{
  return read_error(d);
}

static sim_value_t *rd_host(dec_t *d, uint8_t tag)
{
  return read_host(d);
}

static sim_value_t *rd_unsupported(dec_t *d, uint8_t tag)
{
  return fail(d, UV_ENOTSUP, "shared, transferred or WebAssembly value");
}

/* Every tag V8 reads (SerializationTag), what reads it, and whether it
 * nests (counts against SIM_V8_MAX_DEPTH). Tags not here are refused,
 * as V8 refuses them from version 13 on. */
static const struct {
  sim_value_t *(*fn)(dec_t *d, uint8_t tag);
  uint8_t nests;
} readers[256] = {
  ['?'] = { rd_count_prefix, 1 },
  ['_'] = { rd_oddball, 0 },       ['0'] = { rd_oddball, 0 },
  ['T'] = { rd_oddball, 0 },       ['F'] = { rd_oddball, 0 },
  ['I'] = { read_number, 0 },      ['U'] = { read_number, 0 },
  ['N'] = { read_number, 0 },      ['Z'] = { rd_bigint, 0 },
  ['"'] = { read_string_body, 0 }, ['c'] = { read_string_body, 0 },
  ['S'] = { read_string_body, 0 }, ['^'] = { rd_reference, 0 },
  ['o'] = { rd_object, 1 },        ['a'] = { rd_object, 1 },
  ['A'] = { rd_object, 1 },        ['D'] = { rd_date, 1 },
  ['y'] = { read_boxed, 1 },       ['x'] = { read_boxed, 1 },
  ['n'] = { read_boxed, 1 },       ['z'] = { read_boxed, 1 },
  ['s'] = { read_boxed, 1 },       ['R'] = { rd_regexp, 1 },
  [';'] = { rd_collection, 1 },    ['\''] = { rd_collection, 1 },
  ['B'] = { rd_array_buffer, 1 },  ['~'] = { rd_array_buffer, 1 },
  ['r'] = { rd_error, 1 },         ['\\'] = { rd_host, 1 },
  ['u'] = { rd_unsupported, 0 },   ['t'] = { rd_unsupported, 0 },
  ['w'] = { rd_unsupported, 0 },   ['m'] = { rd_unsupported, 0 },
  ['p'] = { rd_unsupported, 0 },
};

static sim_value_t *read_value(dec_t *d)
{
  uint8_t tag;
  sim_value_t *v;
  int deeper;

  if (!read_tag(d, &tag))
    return NULL;
  if (readers[tag].fn == NULL)
    return fail(d, UV_EPROTO, "unknown tag");
  deeper = readers[tag].nests;
  if (deeper && ++d->depth > SIM_V8_MAX_DEPTH)
    return fail(d, UV_E2BIG, "nested deeper than SIM_V8_MAX_DEPTH");
  v = readers[tag].fn(d, tag);
  d->depth -= deeper;
  /* An ArrayBuffer followed by 'V' is V8's own view form, which Node's
   * serializer never writes (views are host objects). */
  if (v != NULL && v->kind == SIM_VALUE_ARRAY_BUFFER && peek_tag(d) == 'V')
    return fail(d, UV_ENOTSUP, "V8's own ArrayBufferView form");
  return v;
}

int sim_v8_decode(sim_heap_t *heap, const uint8_t *data, size_t len,
                  sim_value_t **ret, sim_v8_error_t *err)
{
  dec_t d;
  uint64_t version;
  sim_value_t *v = NULL;

  memset(&d, 0, sizeof(d));
  d.heap = heap;
  d.base = d.p = data;
  d.end = data + len;
  /* Node refuses data without a header or older than version 13. */
  if (len == 0 || data[0] != 0xFF) {
    fail(&d, UV_EPROTO, "no version header");
  } else {
    d.p++;
    if (read_varint(&d, 32, &version) &&
        (version < 13 || version > SIM_V8_VERSION))
      fail(&d, UV_EPROTO, "unsupported version");
    d.version = (uint32_t)version;
  }
  if (d.rc == 0)
    v = read_value(&d);
  free(d.ids);
  if (err != NULL) {
    err->code = d.rc;
    err->offset = d.at;
    err->reason = d.reason;
  }
  if (d.rc == 0)
    *ret = v;
  return d.rc;
}

int sim_v8_decode_frame(sim_heap_t *heap, const uint8_t *data, size_t len,
                        sim_value_t **ret, size_t *consumed,
                        sim_v8_error_t *err)
{
  uint32_t n;

  *consumed = 0;
  if (len < 4)
    return UV_EAGAIN;
  n = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
      (uint32_t)data[2] << 8 | data[3];
  if (n > SIM_MAX_MESSAGE) {
    if (err != NULL)
      *err = (sim_v8_error_t){ UV_E2BIG, 0,
                               "frame larger than SIM_MAX_MESSAGE" };
    return UV_E2BIG;
  }
  if (len - 4 < n)
    return UV_EAGAIN;
  *consumed = 4 + (size_t)n;
  return sim_v8_decode(heap, data + 4, n, ret, err);
}
