import type { estypes } from "@elastic/elasticsearch";
import { errors, Serializer, Transport, UndiciConnection, WeightedConnectionPool } from "@elastic/transport";
import type { MgetDoc } from "./replay.js";

/** Basic authentication or an API key (the base64 `encoded` form). */
export type ElasticsearchAuth = { username: string; password: string } | { apiKey: string };

/** `url` without the password it may carry, for logs. */
export function redactedUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString().replace(/\/$/, "");
}

/**
 * What an Elasticsearch refusal of the indexer's credentials means, or undefined for any other
 * error: 401 is a wrong or missing credential, 403 a user or key without a needed privilege.
 */
export function authFailure(e: unknown): { status: 401 | 403; hint: string } | undefined {
  const status = e instanceof errors.ResponseError ? e.statusCode : undefined;
  if (status === 401)
    return {
      status,
      hint: "wrong or missing credentials (index.elasticsearchUsername and elasticsearchPassword, or elasticsearchApiKey)",
    };
  if (status === 403)
    return {
      status,
      hint: "the user or API key lacks a privilege the indexer needs (manage_index_templates on the cluster; create_index, write and read on the index prefix's indices)",
    };
  return undefined;
}

/** What a `_bulk` answer holds after `filter_path=errors,items.*.status,items.*.error`. */
export type BulkAnswer = Pick<estypes.BulkResponse, "errors" | "items">;

/**
 * The four Elasticsearch requests the indexer makes, over `@elastic/transport`: the transport
 * (connection pool, undici, errors, serializer) that `@elastic/elasticsearch` itself is built on,
 * configured as that client configures it for an 8.x node. Not the full client: importing it
 * loads every API namespace and its helpers (apache-arrow among them), all on the indexer's
 * start-up path before its first `_bulk`, for four requests written out here.
 */
export class Elasticsearch {
  private readonly pool: WeightedConnectionPool;
  private readonly transport: Transport;

  constructor(url: string, requestTimeoutMs: number, auth?: ElasticsearchAuth) {
    // Without `auth`, credentials in the URL (http://user:password@host) are used as basic auth.
    this.pool = new WeightedConnectionPool({ Connection: UndiciConnection, ...(auth ? { auth } : {}) });
    this.pool.addConnection({ url: new URL(url), timeout: requestTimeoutMs });
    this.transport = new Transport({
      connectionPool: this.pool,
      serializer: new Serializer(),
      // The indexer retries with its own backoff (and keeps the group membership meanwhile).
      maxRetries: 0,
      requestTimeout: requestTimeoutMs,
      name: "boxscope-index",
      productCheck: "Elasticsearch",
      vendoredHeaders: {
        jsonContentType: "application/vnd.elasticsearch+json; compatible-with=8",
        ndjsonContentType: "application/vnd.elasticsearch+x-ndjson; compatible-with=8",
        accept: "application/vnd.elasticsearch+json; compatible-with=8,text/plain",
      },
    });
  }

  async putIndexTemplate(name: string, body: Record<string, unknown>): Promise<void> {
    await this.transport.request({
      method: "PUT",
      path: `/_index_template/${encodeURIComponent(name)}`,
      body,
    });
  }

  /** Creates the index; resolves false (no error) when it exists already. */
  async createIndex(name: string): Promise<boolean> {
    const res = (await this.transport.request(
      { method: "PUT", path: `/${encodeURIComponent(name)}` },
      { ignore: [400] },
    )) as { acknowledged?: boolean };
    return res.acknowledged === true;
  }

  /** One `_bulk` of an NDJSON body built by the caller; the answer cut to what the outcome needs. */
  async bulk(body: Buffer): Promise<BulkAnswer> {
    return (await this.transport.request({
      method: "POST",
      path: "/_bulk",
      // The full answer is ~200 bytes per item to build and parse.
      querystring: { filter_path: "errors,items.*.status,items.*.error" },
      bulkBody: body,
    })) as BulkAnswer;
  }

  /** `_mget` without sources: which of the documents exist (real-time, no refresh needed). */
  async mget(docs: { _index: string; _id: string }[]): Promise<{ docs: MgetDoc[] }> {
    return (await this.transport.request({
      method: "POST",
      path: "/_mget",
      querystring: { _source: "false" },
      body: { docs },
    })) as { docs: MgetDoc[] };
  }

  async close(): Promise<void> {
    await this.pool.empty();
  }
}
