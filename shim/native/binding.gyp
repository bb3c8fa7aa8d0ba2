{
  # Built by `npm install` / `npm ci` (package.json "install" script) against the system's libfuse3
  # (Debian libfuse3-dev) and the machine's Node headers (.npmrc nodedir=/usr).
  "targets": [
    {
      "target_name": "boxscope_fuse",
      "sources": ["src/addon.c", "src/fs.c", "src/tree.c", "src/ops.c", "src/caller_memo.c", "src/loop.c", "src/state.c", "src/content.c", "src/caller_key.c", "src/rebind.c", "src/cpulist.c", "src/handles.c", "src/handover.c", "src/fdstore.c"],
      "include_dirs": ["../../common/native"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2", "<!@(pkg-config --cflags fuse3)"],
      "libraries": ["<!@(pkg-config --libs fuse3)"],
      "defines": ["FUSE_USE_VERSION=314", "NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
