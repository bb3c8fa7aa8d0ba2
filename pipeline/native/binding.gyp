{
  # Built by `npm install` / `npm ci` (package.json "install" script, build.mjs), after build.mjs
  # has built librdkafka from third_party/librdkafka into build-deps/librdkafka. The producer and
  # the consumer (one addon, so one librdkafka in the process) link that static library, so the
  # addon does not depend on a librdkafka installed on the host.
  "variables": {
    "rdkafka": "<(module_root_dir)/build-deps/librdkafka"
  },
  "targets": [
    {
      "target_name": "boxscope_rdkafka",
      "sources": ["src/addon.c", "src/rdkafka-glue.c", "src/producer.c", "src/consumer.c"],
      "include_dirs": ["<(rdkafka)/include", "../../common/native"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-ignored-qualifiers", "-O2"],
      "libraries": ["<(rdkafka)/src/librdkafka.a", "<!@(pkg-config --libs zlib libssl libcrypto)", "-lm", "-ldl", "-lpthread", "-lrt"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    },
    {
      "target_name": "boxscope_documents",
      "sources": ["src/documents-addon.c", "src/documents.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "libraries": ["<!@(pkg-config --libs libcrypto)"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "boxscope_records",
      "sources": ["src/records-addon.c", "src/records.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
