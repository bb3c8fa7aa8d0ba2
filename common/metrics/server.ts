import Fastify, { LogController } from "fastify";
import type { Registry } from "prom-client";
import { BoxscopeError, errnoCode } from "../errors.js";
import type { Logger } from "../logger.js";
import type { RunningService } from "../service.js";
import {
  CONTENT_TYPES,
  type ExpositionFormat,
  type Family,
  negotiateFormat,
  renderExposition,
} from "./exposition.js";
import { DEFAULT_LISTEN, formatAddress, parseListen } from "./listen.js";

export interface MetricsServerOptions {
  readonly registry: Registry;
  /** "HOST:PORT"; port 0 picks a free port (see `address`). Default 127.0.0.1:9464. */
  readonly listen?: string;
  readonly logger: Logger;
  /** What the address came from, for the error when it cannot be bound (`exporter listen`). */
  readonly what?: string;
  /**
   * Runs before each scrape renders the registry (the exporter's: CollectAhead, which also makes
   * concurrent scrapes share one collection).
   */
  readonly beforeScrape?: () => Promise<void>;
  /** Told of each scrape as it arrives: the scraper's address and the format it asked for. */
  readonly onScrape?: (client: string, format: ExpositionFormat) => void;
  /**
   * A body already rendered for this format, current for the registry (the exporter renders at the
   * end of each collection); undefined: the scrape renders the registry itself.
   */
  readonly rendered?: (format: ExpositionFormat) => Buffer | undefined;
}

/** The registry's families as exposition text in `format`. */
export async function renderRegistry(registry: Registry, format: ExpositionFormat): Promise<string> {
  // prom-client types getMetricsAsArray() loosely; every registered metric has get().
  const metrics = registry.getMetricsAsArray() as unknown as Array<{ get(): Promise<Family> }>;
  const families = await Promise.all(metrics.map((m) => m.get()));
  return renderExposition(families, format);
}

/** The HTTP face of a registry: `/metrics` (Prometheus text or OpenMetrics by Accept) and `/healthz`. */
export async function startMetricsServer(
  opts: MetricsServerOptions,
): Promise<RunningService & { address: string }> {
  const { host, port } = parseListen(opts.listen ?? DEFAULT_LISTEN);
  const app = Fastify({
    loggerInstance: opts.logger,
    // A scrape every 5 s from two replicas would flood the log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.get("/metrics", async (req, reply) => {
    const format = negotiateFormat(req.headers.accept);
    opts.onScrape?.(req.ip, format);
    await opts.beforeScrape?.();
    const body = opts.rendered?.(format) ?? (await renderRegistry(opts.registry, format));
    return reply.type(CONTENT_TYPES[format]).send(body);
  });
  app.get("/healthz", async (_req, reply) => reply.type("text/plain; charset=utf-8").send("ok\n"));
  app.get("/", async (_req, reply) =>
    reply
      .type("text/html; charset=utf-8")
      .send('<a href="/metrics">/metrics</a> <a href="/healthz">/healthz</a>\n'),
  );

  try {
    await app.listen({ host, port });
  } catch (e) {
    await app.close().catch(() => undefined);
    const code = errnoCode(e);
    if (code === undefined) throw e;
    // A taken or foreign address is the operator's to fix: one line naming it, not a stack.
    throw new BoxscopeError(
      "BXS_LISTEN_FAILED",
      `${opts.what ?? "metrics listen"} ${opts.listen ?? DEFAULT_LISTEN}: cannot listen (${code})`,
      { context: { listen: opts.listen } },
    );
  }
  const bound = app.server.address();
  const address =
    bound && typeof bound === "object" ? formatAddress(bound.address, bound.port) : formatAddress(host, port);
  opts.logger.info({ address }, "metrics server listening");
  return {
    name: "metrics-server",
    address,
    stop: async () => {
      await app.close();
    },
  };
}
