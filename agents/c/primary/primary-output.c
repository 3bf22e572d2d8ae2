/*
 * primary-output.c - the output of silent workers as `output` records
 * (docs/protocol.md §3.1), as agents/node/lib/output.cjs: split in lines
 * on '\n', each line decoded as UTF-8 the way Node's Buffer#toString()
 * decodes it (an invalid sequence becomes U+FFFD), bounded per worker, and
 * one `end` record per stream with what was read and what was dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "primary-internal.h"

typedef struct {
  char line[PRIMARY_OUTPUT_LINE];
  size_t len;
  int overlong;              /* the current line is past the line limit */
  double bytes;              /* read on this stream */
  double dropped;            /* of those, not in a line record */
} primary_output_stream_t;

struct primary__output_s {
  primary_output_stream_t s[2];    /* stdout, stderr */
  size_t reported;                 /* line bytes reported, both streams */
  int full;                        /* the cap was reached */
};

/* ---------------------------------------------------------------------- */
/* UTF-8 as WHATWG's decoder (and so V8) reads it                          */

static size_t primary_output_put(char *out, unsigned cp)
{
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* The lead byte of a sequence: how many continuation bytes follow and the
 * bounds of the first one; 0 needed for a byte that starts nothing. */
static unsigned primary_output_lead(unsigned char b, unsigned *cp,
                                    unsigned char *lower,
                                    unsigned char *upper)
{
  *lower = 0x80;
  *upper = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    *cp = b & 0x1F;
    return 1;
  }
  if (b >= 0xE0 && b <= 0xEF) {
    *lower = b == 0xE0 ? 0xA0 : 0x80;
    *upper = b == 0xED ? 0x9F : 0xBF;
    *cp = b & 0x0F;
    return 2;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    *lower = b == 0xF0 ? 0x90 : 0x80;
    *upper = b == 0xF4 ? 0x8F : 0xBF;
    *cp = b & 0x07;
    return 3;
  }
  return 0;
}

/* `in` decoded and re-encoded into `out` (room for 3 bytes per input
 * byte); returns the length. */
static size_t primary_output_utf8(const char *in, size_t n, char *out)
{
  unsigned cp = 0, needed = 0, seen = 0;
  unsigned char lower = 0x80, upper = 0xBF;
  size_t o = 0, i = 0;

  while (i < n) {
    unsigned char b = (unsigned char)in[i];
    if (needed == 0) {
      i++;
      if (b < 0x80)
        out[o++] = (char)b;
      else if ((needed = primary_output_lead(b, &cp, &lower, &upper)) == 0)
        o += primary_output_put(out + o, 0xFFFD);
      seen = 0;
      continue;
    }
    if (b < lower || b > upper) {
      /* The sequence ends here; this byte starts afresh. */
      needed = 0;
      o += primary_output_put(out + o, 0xFFFD);
      continue;
    }
    i++;
    lower = 0x80;
    upper = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
    if (++seen == needed) {
      o += primary_output_put(out + o, cp);
      needed = 0;
    }
  }
  if (needed != 0)
    o += primary_output_put(out + o, 0xFFFD);
  return o;
}

/* The JSON string of n bytes of UTF-8, quotes included (room for 6 bytes
 * per byte, plus 3): written by hand because a line may hold U+0000,
 * which a cJSON string cannot. */
static void primary_output_json(const char *in, size_t n, char *out)
{
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;

  out[o++] = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20) {
      const char *short_form = c == '\n' ? "n" : c == '\r' ? "r"
                               : c == '\t' ? "t" : c == '\b' ? "b"
                               : c == '\f' ? "f" : NULL;
      out[o++] = '\\';
      if (short_form != NULL) {
        out[o++] = short_form[0];
      } else {
        memcpy(out + o, "u00", 3);
        o += 3;
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
      }
    } else {
      out[o++] = (char)c;
    }
  }
  out[o++] = '"';
  out[o] = '\0';
}

/* ---------------------------------------------------------------------- */
/* Lines and records                                                       */

static const char *const primary_output_names[2] = { "stdout", "stderr" };

static cJSON *primary_output_record(const primary__record_t *rec, int i)
{
  cJSON *m = cJSON_CreateObject();
  int pid = sim_worker_pid(rec->worker);

  if (m == NULL)
    return NULL;
  cJSON_AddStringToObject(m, "type", "output");
  cJSON_AddNumberToObject(m, "worker", rec->id);
  if (pid > 0)
    cJSON_AddNumberToObject(m, "pid", pid);
  else
    cJSON_AddNullToObject(m, "pid");
  cJSON_AddStringToObject(m, "stream", primary_output_names[i]);
  return m;
}

/* One line of stream i, ended by a '\n' (nl 1) or by the stream's end;
 * or its bytes only, counted as dropped, when it is too long or past the
 * cap. */
static void primary_output_line(primary__record_t *rec, int i, size_t nl)
{
  struct primary__output_s *o = rec->output;
  primary_output_stream_t *st = &o->s[i];
  static char text[PRIMARY_OUTPUT_LINE * 3];
  static char json[PRIMARY_OUTPUT_LINE * 3 * 6 + 3];
  cJSON *m;

  if (!st->overlong && !o->full &&
      o->reported + st->len + nl > PRIMARY_OUTPUT_CAP)
    o->full = 1;
  if (st->overlong || o->full) {
    st->dropped += (double)(st->len + nl);
    return;
  }
  o->reported += st->len + nl;
  primary_output_json(text, primary_output_utf8(st->line, st->len, text),
                      json);
  m = primary_output_record(rec, i);
  if (m != NULL)
    cJSON_AddRawToObject(m, "line", json);
  primary__send(m);
}

static void primary_output_feed(primary__record_t *rec, int i,
                                const char *data, size_t len)
{
  primary_output_stream_t *st = &rec->output->s[i];

  st->bytes += (double)len;
  for (size_t k = 0; k < len; k++) {
    if (data[k] == '\n') {
      primary_output_line(rec, i, 1);
      st->len = 0;
      st->overlong = 0;
    } else if (st->len < PRIMARY_OUTPUT_LINE) {
      st->line[st->len++] = data[k];
    } else {
      /* Bytes past the limit are counted as the line ends. */
      st->overlong = 1;
      st->len++;
    }
  }
}

static void primary_output_end(primary__record_t *rec, int i)
{
  primary_output_stream_t *st = &rec->output->s[i];
  cJSON *m;

  /* An unfinished last line is a line too. */
  if (st->len > 0)
    primary_output_line(rec, i, 0);
  st->len = 0;
  st->overlong = 0;
  m = primary_output_record(rec, i);
  if (m != NULL) {
    cJSON_AddBoolToObject(m, "end", 1);
    cJSON_AddNumberToObject(m, "bytes", st->bytes);
    cJSON_AddNumberToObject(m, "dropped", st->dropped);
  }
  primary__send(m);
}

void primary__output_on_data(sim_cluster_t *c, sim_worker_t *w, int fd,
                             const char *data, size_t len)
{
  primary__record_t *rec = primary__record_of(w);
  int i = fd == 2 ? 1 : 0;

  (void)c;
  if (rec == NULL)
    return;
  if (rec->output == NULL) {
    rec->output = calloc(1, sizeof(*rec->output));
    if (rec->output == NULL)
      return;
  }
  if (data == NULL)
    primary_output_end(rec, i);
  else
    primary_output_feed(rec, i, data, len);
}
