/*
 * File lines to shipper records (records.c): the encoder of a chunk's lines, which containers
 * write. The Node-API binding (records-addon.c) and the fuzz harness (../fuzz/records.c) call it.
 */
#ifndef BOXSCOPE_RECORDS_H
#define BOXSCOPE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

/* One encodeLines call's work (records-addon.c names each argument). */
typedef struct {
  const unsigned char *src;
  uint32_t from, to; /* the lines are src[from, to) */
  unsigned char *dst;
  size_t dst_len;
  uint32_t dst_pos; /* where the first record goes */
  const unsigned char *prefix;
  size_t prefix_len;
  double offset; /* the file offset of src[from] */
  double replay_until;
  uint32_t max_line;
  uint32_t *ends; /* room for max_records */
  uint32_t max_records, budget, key_len;
} lines_job_t;

/* Where an encode_lines call stopped: from after the last line, the end of the last record, the
 * records written. */
typedef struct {
  uint32_t from;
  size_t dst_pos;
  uint32_t records;
} lines_done_t;

/* Once, before the first encode_lines. */
void encode_lines_init(void);
lines_done_t encode_lines(const lines_job_t *job);

#endif
