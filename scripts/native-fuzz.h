/*
 * What the libFuzzer harnesses (the fuzz/ folder beside each addon's src/, built and run by
 * scripts/native-fuzz.mjs) share: a property that must hold for every input. A broken one aborts,
 * which libFuzzer reports as a crash with the input that broke it, like a sanitizer's finding.
 */
#ifndef BOXSCOPE_NATIVE_FUZZ_H
#define BOXSCOPE_NATIVE_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define REQUIRE(cond)                                                                  \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      fprintf(stderr, "property broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__);    \
      abort();                                                                         \
    }                                                                                  \
  } while (0)

#endif
