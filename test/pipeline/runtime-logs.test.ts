import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { elasticsearchPrereq } from "../helpers/elasticsearch.js";
import { appendToJournal, journalPrereq, messages } from "../helpers/journal-writer.js";
import { freePort, kafkaPrereq } from "../helpers/kafka.js";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";
import { containerdLines, dockerdLines } from "../helpers/runtime-log-writers.js";
import {
  CliProcess,
  esAllDocuments,
  indexArgs,
  pipelineServices,
  scrapeUntil,
  shipArgs,
  sleep,
} from "./harness.js";

const kafkaOk = kafkaPrereq();
const esOk = elasticsearchPrereq();
const podmanOk = isRoot() && hasCommand("podman") && hasCommand("busybox");
const journalOk = journalPrereq();

type Doc = Record<string, unknown>;

/** What one written line must become in Elasticsearch. */
interface Expected {
  source: "docker" | "pods";
  text: string;
  stream?: "stdout" | "stderr";
  /** The runtime's time as written (absent on a malformed line). */
  time?: string;
  error?: string;
}

/**
 * Container stdout/stderr through the whole pipeline (logwatcher → ship → Kafka → index →
 * Elasticsearch), from files written the way the runtimes write them: generated Docker json-file
 * and CRI trees (16 KiB pieces, interleaved streams, a line straddling a rotation, kubelet's
 * rename-then-gzip rotation, malformed lines of every kind), and a real container run by podman
 * whose stdout conmon writes in the CRI format.
 */
describe("container stdout/stderr logs end to end (real Kafka + Elasticsearch, podman)", {
  timeout: 600_000,
}, () => {
  const services = pipelineServices(kafkaOk.present && esOk.present);

  test("one document per line: original times, streams, pieces joined (100 KiB lines too), metadata, malformed lines raw and flagged", {
    timeout: 400_000,
  }, async (t) => {
    if (!requirePrereq(t, kafkaOk.present, kafkaOk.why) || !requirePrereq(t, esOk.present, esOk.why)) return;
    if (
      !requirePrereq(t, podmanOk, "needs root, podman and busybox (a real container's stdout through conmon)")
    )
      return;
    if (!requirePrereq(t, journalOk.present, journalOk.why)) return;
    const { kafka, es } = services.started();
    const base = mkdtempSync(join(tmpdir(), "boxscope-test-runtime-logs-"));
    t.after(() => rmSync(base, { recursive: true, force: true }));
    const logRoot = join(base, "app");
    const dockerRoot = join(base, "docker", "containers");
    const podRoot = join(base, "pods");
    const spool = join(base, "spool");
    // The host's journal: files journald would write, and where the logwatcher writes it as lines.
    const journalFiles = join(base, "journal");
    const journalOut = join(base, "host-journal");
    for (const d of [logRoot, dockerRoot, podRoot, spool, journalFiles]) mkdirSync(d, { recursive: true });
    const run = randomBytes(4).toString("hex");
    const topic = `stdout-${run}`;
    const expected: Expected[] = [];

    // --- Docker json-file: a named container with a team label, as dockerd lays it out.
    const id = randomBytes(32).toString("hex");
    const dockerDir = join(dockerRoot, id);
    mkdirSync(dockerDir);
    writeFileSync(
      join(dockerDir, "config.v2.json"),
      JSON.stringify({ Name: "/web-1", Config: { Labels: { team: "payments" } } }),
    );
    const dockerLog = join(dockerDir, `${id}-json.log`);
    let dockerSeq = 0;
    const dockerTime = () =>
      `2026-12-07T10:00:${String(dockerSeq % 60).padStart(2, "0")}.${String(123456789 + dockerSeq++).padStart(9, "0")}Z`;
    const dockerLine = (text: string, stream: "stdout" | "stderr" = "stdout"): string[] => {
      const time = dockerTime();
      expected.push({ source: "docker", text, stream, time });
      return dockerdLines(text, { stream, time });
    };
    const append = (path: string, lines: (string | Buffer)[]) =>
      appendFileSync(
        path,
        Buffer.concat(lines.map((l) => Buffer.concat([Buffer.from(l), Buffer.from("\n")]))),
      );
    for (let i = 0; i < 50; i++)
      append(dockerLog, dockerLine(`docker line ${i} "quoted" \t tab`, i % 3 === 0 ? "stderr" : "stdout"));
    // A 100 KiB line on stdout in 7 pieces, stderr lines written between its pieces.
    const big = dockerLine(`${"B".repeat(100 * 1024 - 10)}0123456789`);
    for (const [i, piece] of big.entries()) {
      append(dockerLog, [piece]);
      if (i < big.length - 1) append(dockerLog, dockerLine(`between pieces ${i}`, "stderr"));
    }
    for (const [raw, error] of [
      ["this is not json", "docker_json_invalid"],
      ['{"log":7,"stream":"stdout","time":"2026-12-07T10:00:00Z"}', "docker_json_bad_log"],
      ['{"log":"x\\n","stream":"stdin","time":"2026-12-07T10:00:00Z"}', "docker_json_bad_stream"],
      ['{"log":"x\\n","stream":"stdout","time":"yesterday"}', "docker_json_bad_time"],
    ] as const) {
      expected.push({ source: "docker", text: raw, error });
      append(dockerLog, [raw]);
    }

    // --- CRI pod logs: a pod's container, as containerd writes and kubelet rotates them.
    const pod = { ns: "shop", name: "cart-7d9f8", uid: randomUUID(), container: "cart" };
    const podDir = join(podRoot, `${pod.ns}_${pod.name}_${pod.uid}`, pod.container);
    mkdirSync(podDir, { recursive: true });
    const criLog = join(podDir, "0.log");
    let criSeq = 0;
    const criLine = (text: string, stream: "stdout" | "stderr" = "stdout"): Buffer[] => {
      const time = `2026-12-07T11:00:00.${String(100000 + criSeq++).padStart(9, "0")}+01:00`;
      expected.push({ source: "pods", text, stream, time });
      return containerdLines(text, { stream, time: () => time });
    };
    for (let i = 0; i < 40; i++)
      append(criLog, criLine(`cri line ${i} ünïcødé`, i % 4 === 0 ? "stderr" : "stdout"));
    append(criLog, criLine("C".repeat(100 * 1024)));
    for (const [raw, error] of [
      ["no-space-at-all", "cri_malformed"],
      ["yesterday stdout F text", "cri_bad_time"],
      ["2026-12-07T11:00:00Z stdin F text", "cri_bad_stream"],
      ["2026-12-07T11:00:00Z stdout X text", "cri_bad_tag"],
    ] as const) {
      expected.push({ source: "pods", text: raw, error });
      append(criLog, [raw]);
    }

    // --- Host logs: the journal's entries (read from its beginning: they predate the logwatcher).
    const hostTexts = Array.from({ length: 30 }, (_, i) => `host entry ${i}`);
    await appendToJournal(journalFiles, messages(hostTexts));

    // --- The pipeline: logwatcher, ship, index (the CLI, as a host runs them).
    const env = {
      BOXSCOPE_LOGWATCHER_DOCKER_LOGS: "on",
      BOXSCOPE_LOGWATCHER_DOCKER_LOG_ROOT: dockerRoot,
      BOXSCOPE_LOGWATCHER_POD_LOGS: "on",
      BOXSCOPE_LOGWATCHER_POD_LOG_ROOT: podRoot,
      BOXSCOPE_LOGWATCHER_HOST_LOGS: "journal",
      BOXSCOPE_LOGWATCHER_JOURNAL_DIR: journalOut,
      BOXSCOPE_LOGWATCHER_JOURNAL_DIRECTORY: journalFiles,
      BOXSCOPE_LOGWATCHER_JOURNAL_START_AT: "beginning",
      BOXSCOPE_SHIP_HOST_LOGS: "journal",
      BOXSCOPE_SHIP_JOURNAL_DIR: journalOut,
      BOXSCOPE_SHIP_DOCKER_LOG_ROOT: dockerRoot,
      BOXSCOPE_SHIP_POD_LOG_ROOT: podRoot,
      BOXSCOPE_SHIP_PARTIAL_FLUSH_MS: "1500",
      BOXSCOPE_SHIP_ORPHAN_CLOSE_MS: "1500",
    };
    const procs: CliProcess[] = [];
    t.after(async () => {
      for (const p of procs) await p.kill9();
    });
    const start = (args: string[]) => {
      const p = new CliProcess(args, env);
      procs.push(p);
      return p;
    };
    start(["logwatcher", "--log-root", logRoot, "--spool", spool]);
    const metricsPort = await freePort();
    const startShip = () =>
      start(
        shipArgs(
          { spool, logRoot, brokers: kafka.brokers, topic, positions: join(base, "positions.json") },
          "--poll-interval-ms",
          "100",
          "--metrics-listen",
          `127.0.0.1:${metricsPort}`,
        ),
      );
    const firstShip = startShip();
    start(
      indexArgs({
        brokers: kafka.brokers,
        topic,
        group: `g-${run}`,
        elasticsearch: es.url,
        indexPrefix: topic,
      }),
    );

    // Rotations while shipping: dockerd's max-size rename in the middle of a split line, and
    // kubelet's rename, then gzip of the renamed file (the uncompressed one deleted).
    await sleep(2000);
    const straddling = dockerLine("S".repeat(40 * 1024));
    append(dockerLog, straddling.slice(0, 2));
    renameSync(dockerLog, `${dockerLog}.1`);
    append(dockerLog, straddling.slice(2));
    for (let i = 0; i < 20; i++) append(dockerLog, dockerLine(`after rotation ${i}`));
    const rotated = join(podDir, "0.log.20261207-110000");
    renameSync(criLog, rotated);
    for (let i = 0; i < 20; i++) append(criLog, criLine(`cri after rotation ${i}`));
    await sleep(3000);
    writeFileSync(`${rotated}.gz.tmp`, gzipSync(readFileSync(rotated)));
    renameSync(`${rotated}.gz.tmp`, `${rotated}.gz`);
    unlinkSync(rotated);
    // The malformed lines are counted by kind (by this shipper: counters start again with the next).
    await scrapeUntil(
      `http://127.0.0.1:${metricsPort}/metrics`,
      (text) =>
        /boxscope_ship_decode_problems_total\{source="docker",problem="docker_json_invalid"\} 1\n/.test(
          text,
        ) && /boxscope_ship_decode_problems_total\{source="pods",problem="cri_bad_tag"\} 1\n/.test(text),
      120_000,
    );
    // A crash of the shipper, and lines written while it is down: read from the saved positions.
    await firstShip.kill9();
    for (let i = 0; i < 10; i++) append(dockerLog, dockerLine(`while the shipper was down ${i}`));
    append(criLog, criLine("D".repeat(50 * 1024)));
    startShip();

    // --- A real container: podman (conmon) writes its stdout in the CRI format under the pod tree.
    const rootfs = join(base, "rootfs");
    mkdirSync(join(rootfs, "bin"), { recursive: true });
    copyFileSync("/usr/bin/busybox", join(rootfs, "bin", "busybox"));
    spawnSync("chmod", ["755", join(rootfs, "bin", "busybox")]);
    const realPod = { ns: "default", name: "echoer", uid: randomUUID(), container: "shell" };
    const realDir = join(podRoot, `${realPod.ns}_${realPod.name}_${realPod.uid}`, realPod.container);
    mkdirSync(realDir, { recursive: true });
    const script =
      "i=0; while [ $i -lt 200 ]; do echo podman-line-$i; i=$((i+1)); done; " +
      "/bin/busybox head -c 102400 /dev/zero | /bin/busybox tr '\\0' x; echo; echo to-stderr >&2";
    const hardNofile = Number(spawnSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).stdout.trim());
    const podman = spawnSync(
      "podman",
      [
        "run",
        "--rm",
        "--network=none",
        // podman's defaults may exceed the host's hard limits (a sandboxed CI): the host's own fit.
        `--ulimit=nofile=${hardNofile}:${hardNofile}`,
        "--ulimit=nproc=32768:32768",
        "--log-driver=k8s-file",
        `--log-opt=path=${join(realDir, "0.log")}`,
        "--rootfs",
        rootfs,
        "/bin/busybox",
        "sh",
        "-c",
        script,
      ],
      { encoding: "utf8", timeout: 120_000 },
    );
    assert.equal(podman.status, 0, `podman run failed: ${podman.stderr}`);
    const realExpected = [
      ...Array.from({ length: 200 }, (_, i) => `podman-line-${i}`),
      "x".repeat(102400),
      "to-stderr",
    ];

    // --- Elasticsearch ends with one document per line.
    const total = expected.length + realExpected.length + hostTexts.length;
    let docs: Doc[] = [];
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      docs = await esAllDocuments(es.url, `${topic}-*`).catch(() => []);
      if (docs.length >= total) break;
      await sleep(1000);
    }
    assert.equal(docs.length, total, `documents in Elasticsearch (${docs.length} of ${total})`);

    const docker = docs.filter((d) => d.source === "docker");
    const cri = docs.filter((d) => d.source === "pods" && d.pod === pod.name);
    const real = docs.filter((d) => d.source === "pods" && d.pod === realPod.name);
    const expectDocker = expected.filter((e) => e.source === "docker");
    const expectCri = expected.filter((e) => e.source === "pods");
    assert.equal(docker.length, expectDocker.length);
    assert.equal(cri.length, expectCri.length);
    assert.equal(real.length, realExpected.length);

    // Long lines by their head and length: a failure report stays readable.
    const key = (d: { line?: unknown; stream?: unknown; error?: unknown }) => {
      const line = String(d.line);
      return `${line.slice(0, 48)}…${line.length}|${String(d.stream ?? "")}|${String(d.error ?? "")}`;
    };
    assert.deepEqual(
      docker.map(key).sort(),
      expectDocker.map((e) => key({ ...e, line: e.text })).sort(),
      "every Docker line once, pieces joined, streams kept, malformed lines raw",
    );
    assert.deepEqual(cri.map(key).sort(), expectCri.map((e) => key({ ...e, line: e.text })).sort());
    assert.deepEqual(
      real.map(key).sort(),
      realExpected.map((line) => key({ line, stream: line === "to-stderr" ? "stderr" : "stdout" })).sort(),
    );

    for (const e of expected) {
      const d = docs.find(
        (x) => x.source === e.source && x.line === e.text && (x.error ?? undefined) === e.error,
      );
      assert.ok(d, `document for ${e.text.slice(0, 40)}`);
      if (e.time !== undefined) {
        assert.equal(d.time, e.time, "the runtime's time as written");
        assert.equal(
          d["@timestamp"],
          new Date(Date.parse(e.time)).toISOString(),
          "@timestamp is the original time",
        );
        assert.equal(typeof d.readAt, "string");
        assert.equal(d.error, undefined);
      } else {
        assert.equal(d["@timestamp"], d.readAt, "a malformed line is stamped with its read time");
      }
    }
    for (const d of docker) {
      assert.equal(d.container, "web-1", "Docker's name from config.v2.json");
      assert.equal(d.containerId, id);
      assert.equal(d.team, "payments");
    }
    for (const d of [...cri, ...real]) {
      const p = d.pod === pod.name ? pod : realPod;
      assert.deepEqual([d.namespace, d.podUid, d.container, d.restart], [p.ns, p.uid, p.container, 0]);
    }
    const bigDoc = docker.find((d) => String(d.line).startsWith("BBB"));
    assert.equal(String(bigDoc?.line).length, 100 * 1024, "a 100 KiB line is one document");
    assert.equal(bigDoc?.lines, 7, "made of its 7 pieces");
    const realBig = real.find((d) => String(d.line).startsWith("xxx"));
    assert.equal(realBig?.stream, "stdout");
    assert.equal(real.find((d) => d.line === "to-stderr")?.stream, "stderr");
    const host = docs.filter((d) => d.source === "host");
    assert.deepEqual(
      host.map((d) => String(d.line)).sort(),
      [...hostTexts].sort(),
      "the journal's entries, once each",
    );
    for (const d of host)
      assert.deepEqual(
        [d.unit, d.identifier, d.priority, d.pid, d.transport],
        ["boxscope-test.service", "boxscope-test", 5, 4242, "journal"],
      );
    const straddled = docker.find((d) => String(d.line).startsWith("SSS"));
    assert.equal(straddled?.lines, 3, "the line cut by the rotation is joined across the two files");
  });
});
