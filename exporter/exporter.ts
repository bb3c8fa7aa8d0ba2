import type { Registry } from "prom-client";
import { createCgroupLoadavgSampler } from "../cgroup/loadavg/cgroups.js";
import type { LoadavgSampler } from "../cgroup/loadavg/sampler.js";
import { ContainerLabeler } from "../common/container-labels.js";
import type { Logger } from "../common/logger.js";
import type { ExpositionFormat } from "../common/metrics/exposition.js";
import { renderRegistry, startMetricsServer } from "../common/metrics/server.js";
import type { RunningService } from "../common/service.js";
import { CollectAhead } from "./collect-ahead.js";
import { COLLECTORS } from "./collectors/index.js";
import type { ExporterConfig } from "./config.js";
import { ContainerSource } from "./containers.js";
import { CollectorRunner } from "./runner.js";
import { KmsgSource } from "./sources/kmsg.js";

/**
 * `boxscope exporter` as a service: builds the shared sources (one kernel-log reader, one container
 * lister per scrape), the collectors, and the metrics server whose every scrape runs them.
 * `config` must come from loadExporterConfig/validateExporterConfig (regexes already checked).
 * `deps.loadavg` is `boxscope up`'s one sampler (shared with the shim, started and stopped by
 * `up`); without it the exporter runs its own, which samples only the containers it lists and
 * starts once /metrics is served (nothing runs when the start fails).
 */
export async function startExporter(
  config: ExporterConfig,
  deps: { logger: Logger; registry: Registry; loadavg?: LoadavgSampler },
): Promise<RunningService & { address: string }> {
  const logger = deps.logger;
  const ownLoadavg = deps.loadavg === undefined;
  const loadavg = deps.loadavg ?? createCgroupLoadavgSampler({ listContainers: false, logger });
  const labeler = new ContainerLabeler(config, logger);
  const containers = new ContainerSource(labeler, {
    cgroupPrefix: config.cgroupPrefix,
    fullWalkMs: config.fullWalkSeconds * 1000,
  });
  let kmsg = config.kmsg ? new KmsgSource(config.kmsgPath, config.kmsgPollMs, logger) : undefined;
  try {
    kmsg?.open();
  } catch (e) {
    // `boxscope up` as non-root: run without the kernel-log sources rather than not at all.
    // (`boxscope exporter` already refused such a config at load time, naming exporter.kmsgPath.)
    logger.warn(
      { err: e, path: config.kmsgPath },
      "cannot read the kernel log: OOM kills from kmsg and kernel log rules are off",
    );
    kmsg = undefined;
  }
  const collectors = COLLECTORS.map((make) => make({ config, logger, containers, labeler, kmsg, loadavg }));
  const runner = new CollectorRunner(collectors, deps.registry, logger);
  // The body of the format scrapers ask for is rendered once per collection, off the scrape path
  // too (a scrape of hundreds of containers is a body of megabytes); other formats at the scrape.
  let format: ExpositionFormat = "prometheus";
  let rendered: { format: ExpositionFormat; body: Buffer } | undefined;
  const ahead = new CollectAhead(async () => {
    await containers.refresh();
    await runner.collectAll();
    const f = format;
    rendered = { format: f, body: Buffer.from(await renderRegistry(deps.registry, f)) };
  }, config.collectMaxAgeMs);
  ahead.register(deps.registry);
  try {
    await runner.start();
  } catch (e) {
    kmsg?.stop();
    containers.close();
    throw e;
  }
  kmsg?.start();
  let server: RunningService & { address: string };
  try {
    server = await startMetricsServer({
      registry: deps.registry,
      listen: config.listen,
      logger,
      what: "exporter listen",
      onScrape: (client, asked) => {
        format = asked;
        ahead.scrapedBy(client);
      },
      beforeScrape: () => ahead.ready(),
      rendered: (asked) => (rendered?.format === asked ? rendered.body : undefined),
    });
  } catch (e) {
    await ahead.stop();
    kmsg?.stop();
    await runner.stop();
    containers.close();
    throw e;
  }
  if (ownLoadavg) loadavg.start();
  return {
    name: "exporter",
    address: server.address,
    stop: async () => {
      await server.stop();
      await ahead.stop();
      kmsg?.stop();
      await runner.stop();
      if (ownLoadavg) await loadavg.stop();
      containers.close();
    },
  };
}
