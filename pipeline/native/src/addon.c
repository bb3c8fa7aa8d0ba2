/* The librdkafka addon: the shipper's producer and the indexer's consumer over one librdkafka. */
#include "rdkafka-glue.h"

napi_value producer_exports(napi_env env, napi_value exports);
napi_value consumer_exports(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  if (!producer_exports(env, exports)) return NULL;
  return consumer_exports(env, exports);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
