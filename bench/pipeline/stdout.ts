/**
 * Container stdout → Kafka: the bench's lines written as the runtimes write a container's stdout
 * (Docker json-file, Kubernetes CRI), one log per bench file, shipped by `boxscope ship` from the
 * runtime's tree (decoded: one record per line, the runtime's time and stream kept) beside
 * `boxscope ship` of the plain files and `kcat -P` of the json-file files (each raw line as it is,
 * nothing decoded: the anchor), in the same rounds.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { linkNameFor } from "../../pipeline/spool/naming.js";
import { containerdLines, dockerdLines } from "../../test/helpers/runtime-log-writers.js";
import {
  type BenchContext,
  boxscope,
  createTopics,
  kcatProduce,
  killAndWait,
  mbps,
  rate,
  waitTopic,
} from "./common.js";
import { ROUNDS, shipFiles } from "./ship.js";

const WARM_PASSES = Number(process.env.BENCH_WARM_PASSES ?? 5);

/** One runtime's copy of the bench files. */
interface RuntimeTree {
  /** The tree's root (BOXSCOPE_SHIP_<KIND>_LOG_ROOT). */
  root: string;
  files: string[];
  bytes: number;
}

/** A runtime time per line: distinct, increasing nanoseconds, as the runtimes write them. */
function lineTime(seq: number, zone: string): string {
  const ns = 100_000_000 + seq * 1_013;
  const s = Math.floor(ns / 1e9);
  const frac = String(ns % 1e9)
    .padStart(9, "0")
    .replace(/0+$/, "");
  return `2026-11-25T12:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}${frac ? `.${frac}` : ""}${zone}`;
}

function linesOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return text.slice(0, text.endsWith("\n") ? -1 : undefined).split("\n");
}

/** The bench files as dockerd's json-file driver writes them: `<root>/<id>/<id>-json.log`, named containers. */
function writeDockerTree(ctx: BenchContext): RuntimeTree {
  const root = join(ctx.root, "docker", "containers");
  const files: string[] = [];
  let bytes = 0;
  let seq = 0;
  ctx.files.forEach((src, i) => {
    const id = randomBytes(32).toString("hex");
    const dir = join(root, id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "config.v2.json"), JSON.stringify({ Name: `/c${i}`, Config: { Labels: {} } }));
    const out: string[] = [];
    for (const line of linesOf(src)) out.push(...dockerdLines(line, { time: lineTime(seq++, "Z") }));
    const text = `${out.join("\n")}\n`;
    const file = join(dir, `${id}-json.log`);
    writeFileSync(file, text);
    bytes += Buffer.byteLength(text);
    files.push(file);
  });
  return { root, files, bytes };
}

/** The bench files as containerd writes CRI logs: `<root>/<ns>_<pod>_<uid>/<container>/0.log`. */
function writeCriTree(ctx: BenchContext): RuntimeTree {
  const root = join(ctx.root, "pods");
  const files: string[] = [];
  let bytes = 0;
  let seq = 0;
  ctx.files.forEach((src, i) => {
    const dir = join(root, `bench_c${i}-5d8f9_${randomUUID()}`, "app");
    mkdirSync(dir, { recursive: true });
    const out: Buffer[] = [];
    for (const line of linesOf(src)) {
      const time = lineTime(seq++, "+01:00");
      for (const piece of containerdLines(line, { time: () => time })) out.push(piece, Buffer.from("\n"));
    }
    const data = Buffer.concat(out);
    const file = join(dir, "0.log");
    writeFileSync(file, data);
    bytes += data.length;
    files.push(file);
  });
  return { root, files, bytes };
}

/**
 * Runs `boxscope ship` over a spool whose `kind` subdirectory links the tree's files (as the
 * logwatcher names them), the log root's spool empty, until `topic` holds every line.
 */
async function shipTree(
  ctx: BenchContext,
  kind: "docker" | "pods",
  tree: RuntimeTree,
  topic: string,
): Promise<number> {
  const spool = join(ctx.root, `spool-${topic}`);
  mkdirSync(join(spool, kind), { recursive: true });
  for (const f of tree.files) symlinkSync(f, join(spool, kind, linkNameFor(relative(tree.root, f))));
  const appRoot = join(ctx.root, "empty-log-root");
  mkdirSync(appRoot, { recursive: true });
  const envKind = kind === "docker" ? "DOCKER" : "POD";
  const started = Date.now();
  const proc = boxscope(
    [
      "ship",
      "--spool",
      spool,
      "--log-root",
      appRoot,
      "--brokers",
      ctx.brokers,
      "--topic",
      topic,
      "--positions",
      join(ctx.root, `ship-pos-${topic}.json`),
    ],
    {
      BOXSCOPE_SHIP_DOCKER_LOGS: "off",
      BOXSCOPE_SHIP_POD_LOGS: "off",
      [`BOXSCOPE_SHIP_${envKind}_LOGS`]: "on",
      [`BOXSCOPE_SHIP_${envKind}_LOG_ROOT`]: tree.root,
    },
    cpuProfileArgs(kind),
  );
  const ms = await waitTopic(ctx.brokers, topic, ctx.lines, started, 300000);
  await killAndWait(proc, "SIGTERM");
  return ms;
}

/** BENCH_STDOUT_CPU_PROF=DIR: a `node --cpu-prof` profile of each decoding ship child into DIR. */
function cpuProfileArgs(kind: string): string[] {
  const dir = process.env.BENCH_STDOUT_CPU_PROF;
  return dir
    ? ["--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=ship-${kind}-${Date.now()}.cpuprofile`]
    : [];
}

async function kcatTree(ctx: BenchContext, tree: RuntimeTree, topic: string): Promise<number> {
  const t0 = Date.now();
  const kc = kcatProduce(ctx.brokers, topic, tree.files);
  await new Promise((r) => kc.once("exit", r));
  return waitTopic(ctx.brokers, topic, ctx.lines, t0, 60000);
}

interface Round {
  kcatMs: number;
  plainMs: number;
  dockerMs: number;
  criMs: number;
}

export async function benchStdout(ctx: BenchContext): Promise<void> {
  const docker = writeDockerTree(ctx);
  const cri = writeCriTree(ctx);
  console.log(
    `stdout data: json-file ${(docker.bytes / 1048576).toFixed(1)} MiB, CRI ${(cri.bytes / 1048576).toFixed(1)} MiB (plain ${(ctx.bytes / 1048576).toFixed(1)} MiB)`,
  );
  const pass = async (name: string): Promise<Round> => {
    const topics = ["kcat", "plain", "docker", "cri"].map((t) => `so-${name}-${t}`);
    const [kcatT, plainT, dockerT, criT] = topics as [string, string, string, string];
    await createTopics(ctx.brokers, topics);
    return {
      kcatMs: await kcatTree(ctx, docker, kcatT),
      plainMs: await shipFiles(ctx, plainT),
      dockerMs: await shipTree(ctx, "docker", docker, dockerT),
      criMs: await shipTree(ctx, "pods", cri, criT),
    };
  };
  // Untimed passes first, as in the file part (ship.ts warmBroker): the broker's JIT settles on each path.
  const warm: Round[] = [];
  for (let i = 1; i <= WARM_PASSES; i++) warm.push(await pass(`warm${i}`));
  const rounds: Round[] = [];
  for (let r = 1; r <= ROUNDS; r++) rounds.push(await pass(`r${r}`));

  const { lines } = ctx;
  console.log(
    "\n## container stdout → Kafka (acks=all, same broker, same lines; boxscope ship with lz4, its default)",
  );
  console.log(
    `broker warmed first, untimed: ${warm.length} pass(es) of kcat -P json-file / ship plain / ship docker / ship cri: ${warm.map((w) => `${w.kcatMs}/${w.plainMs}/${w.dockerMs}/${w.criMs}`).join(", ")} ms`,
  );
  const row = (name: string, ms: number, bytes: number) =>
    console.log(
      `${name.padEnd(30)} ${String(ms).padStart(7)} ms  ${String(rate(lines, ms)).padStart(8)} lines/s  ${String(mbps(bytes, ms)).padStart(6)} MB/s in`,
    );
  rounds.forEach((r, i) => {
    console.log(`round ${i + 1}:`);
    row("kcat -P (json-file lines, raw)", r.kcatMs, docker.bytes);
    row("boxscope ship plain files", r.plainMs, ctx.bytes);
    row("boxscope ship docker json-file", r.dockerMs, docker.bytes);
    row("boxscope ship CRI", r.criMs, cri.bytes);
    console.log(
      `ratio docker/plain = ${(r.plainMs / r.dockerMs).toFixed(2)}, docker/kcat = ${(r.kcatMs / r.dockerMs).toFixed(2)}; cri/plain = ${(r.plainMs / r.criMs).toFixed(2)}, cri/kcat = ${(r.kcatMs / r.criMs).toFixed(2)}`,
    );
  });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;
  const med = (f: (r: Round) => number) => median(rounds.map(f));
  console.log(
    `median over ${rounds.length} rounds: ms kcat ${med((r) => r.kcatMs)}, plain ${med((r) => r.plainMs)}, docker ${med((r) => r.dockerMs)}, cri ${med((r) => r.criMs)}; docker/plain = ${med((r) => r.plainMs / r.dockerMs).toFixed(2)}, docker/kcat = ${med((r) => r.kcatMs / r.dockerMs).toFixed(2)}, cri/plain = ${med((r) => r.plainMs / r.criMs).toFixed(2)}, cri/kcat = ${med((r) => r.kcatMs / r.criMs).toFixed(2)}`,
  );
}
