/*
 * libFuzzer harness of librdkafka's LZ4 glue (third_party/librdkafka/src/rdkafka_lz4.c): the
 * framing of the record batches the shipper compresses (lz4, its default) from the lines containers
 * write, and which the indexer's consumer decompresses from whatever a broker sends.
 *
 * Input: one byte of mode, then the rest. Mode bit 0: the frame header checksum as Kafka's v1+
 * message format has it (else the legacy one, which the glue repairs in place). Bit 1 clear: the
 * rest is a frame as it comes from a broker, decompressed (in a buffer of its own size). Bit 1 set:
 * the rest is a batch's bytes, compressed at the level the mode's other bits choose, and the
 * frame must decompress to those same bytes.
 *
 * The glue reads only its broker's configuration (rk_conf.max_msg_size, debug) and a counter: a
 * zeroed broker of a zeroed client stands in for one.
 */
#include "rdkafka_int.h"
#include "rdkafka_lz4.h"
#include "rdbuf.h"

#include "native-fuzz.h"

static rd_kafka_t rk;
static rd_kafka_broker_t rkb;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  rk.rk_conf.max_msg_size = 1000000; /* librdkafka's default message.max.bytes */
  rkb.rkb_rk = &rk;
  return 0;
}

/* A frame as it comes: decompressed or refused, never a memory error. */
static void any_frame(int proper_hc, const uint8_t *in, size_t len) {
  /* The glue writes the repaired checksum into its input: a copy, exactly as long. */
  char *frame = malloc(len ? len : 1);
  REQUIRE(frame != NULL);
  memcpy(frame, in, len);
  void *out = NULL;
  size_t out_len = 0;
  rd_kafka_resp_err_t err = rd_kafka_lz4_decompress(&rkb, proper_hc, 0, frame, len, &out, &out_len);
  REQUIRE(err ? out == NULL : out != NULL);
  free(out);
  free(frame);
}

/* A batch's bytes compressed as the shipper's producer does, then decompressed: the same bytes. A
 * batch is never empty (its records have headers), and librdkafka's buffers refuse an empty one. */
static void round_trip(int proper_hc, int level, const uint8_t *in, size_t len) {
  if (len == 0) return;
  rd_buf_t buf;
  rd_slice_t slice;
  rd_buf_init(&buf, 1, len);
  rd_buf_write(&buf, in, len);
  rd_slice_init_full(&slice, &buf);
  void *frame = NULL, *out = NULL;
  size_t frame_len = 0, out_len = 0;
  REQUIRE(rd_kafka_lz4_compress(&rkb, proper_hc, level, &slice, &frame, &frame_len) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_buf_destroy(&buf);
  REQUIRE(rd_kafka_lz4_decompress(&rkb, proper_hc, 0, frame, frame_len, &out, &out_len) ==
          RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(out_len == len && memcmp(out, in, len) == 0);
  free(out);
  free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int proper_hc = data[0] & 1;
  if (data[0] & 2) round_trip(proper_hc, (data[0] >> 2) % 13, data + 1, size - 1);
  else any_frame(proper_hc, data + 1, size - 1);
  return 0;
}
