{
  # Built by `npm install` / `npm ci` (package.json "install" script, build.mjs). The producer and
  # the consumer (one addon, so one librdkafka in the process) link the librdkafka that
  # node-rdkafka built (node_modules/node-rdkafka/build/deps) statically, so the addon does not
  # depend on where that shared library sits at run time. The LZ4 codec takes the reference LZ4
  # library from the same archive (only its objects are linked).
  "variables": {
    "rdkafka_src": "<!(node -p \"require('path').join(require('path').dirname(require.resolve('node-rdkafka/package.json')), 'deps', 'librdkafka', 'src')\")",
    "rdkafka_deps": "<!(node -p \"require('path').join(require('path').dirname(require.resolve('node-rdkafka/package.json')), 'build', 'deps')\")"
  },
  "targets": [
    {
      "target_name": "boxscope_rdkafka",
      "sources": ["src/addon.c", "src/rdkafka-glue.c", "src/producer.c", "src/consumer.c"],
      "include_dirs": ["<(rdkafka_deps)/include"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-ignored-qualifiers", "-O2"],
      "libraries": ["<(rdkafka_deps)/librdkafka.a", "<!@(pkg-config --libs zlib libssl libcrypto)", "-lm", "-ldl", "-lpthread", "-lrt"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    },
    {
      "target_name": "boxscope_lz4",
      "sources": ["src/lz4.c"],
      "include_dirs": ["<(rdkafka_src)"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "libraries": ["<(rdkafka_deps)/librdkafka.a"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "boxscope_documents",
      "sources": ["src/documents.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "libraries": ["<!@(pkg-config --libs libcrypto)"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "boxscope_records",
      "sources": ["src/records.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
