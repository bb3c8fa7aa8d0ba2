import { Registry } from "prom-client";
import type { z } from "zod";
import { silentLogger } from "../../common/logger.js";
import { exporterSchema, validateExporterConfig } from "../../exporter/config.js";
import { startExporter } from "../../exporter/exporter.js";

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses Prometheus text exposition into samples (tests only; promtool checks the format itself). */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = (l[2] as string)
        .replace(/\\"/g, '"')
        .replace(/\\n/g, "\n")
        .replace(/\\\\/g, "\\");
    }
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

export function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

export function value(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return find(samples, name, labels)[0]?.value;
}

/** The sum of every series of `name` with these labels (a rule's matches over all containers); undefined when none. */
export function total(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = find(samples, name, labels);
  return found.length === 0 ? undefined : found.reduce((n, s) => n + s.value, 0);
}

export interface TestExporter {
  readonly address: string;
  scrape(accept?: string): Promise<string>;
  samples(): Promise<Sample[]>;
  stop(): Promise<void>;
}

/** A real exporter in this process on a free loopback port; config = defaults + overrides. */
export async function startTestExporter(
  overrides: Partial<z.input<typeof exporterSchema>> = {},
): Promise<TestExporter> {
  const config = validateExporterConfig(exporterSchema.parse({ listen: "127.0.0.1:0", ...overrides }));
  const svc = await startExporter(config, { logger: silentLogger(), registry: new Registry() });
  const scrape = async (accept?: string): Promise<string> => {
    const res = await fetch(`http://${svc.address}/metrics`, accept ? { headers: { accept } } : {});
    if (res.status !== 200) throw new Error(`scrape: HTTP ${res.status}`);
    return res.text();
  };
  return {
    address: svc.address,
    scrape,
    samples: async () => parseSamples(await scrape()),
    stop: () => svc.stop(),
  };
}
