import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { find, parseSamples } from "../exporter/helpers.js";
import { cgroupsWritable, createContainerCgroup, enterCgroupScript } from "../helpers/container-cgroup.js";
import { repoRoot } from "../helpers/paths.js";
import { requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/wait.js";

test("boxscope up: a container's load metrics are what its /proc/loadavg shows through the shim (one sampler)", {
  timeout: 300_000,
}, async (t) => {
  const ok = cgroupsWritable() && existsSync("/dev/fuse");
  if (!requirePrereq(t, ok, "needs root, writable cgroups and /dev/fuse")) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-up-load-"));
  const mountpoint = join(dir, "mnt");
  mkdirSync(mountpoint);
  const cg = createContainerCgroup();
  // Two always-runnable threads: the loads climb at every 5 s pass, so two samplers would disagree.
  const busy = [1, 2].map(() =>
    spawn("sh", ["-c", enterCgroupScript(cg, "sh -c 'while :; do :; done'")], { stdio: "ignore" }),
  );
  t.after(() => {
    for (const b of busy) b.kill("SIGKILL");
    cg.cleanup();
  });

  let stderr = "";
  const up = spawn(process.execPath, [join(repoRoot, "bin/boxscope.js"), "up"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: {
      ...process.env,
      BOXSCOPE_UP_LOGWATCHER: "off",
      BOXSCOPE_EXPORTER_LISTEN: "127.0.0.1:0",
      BOXSCOPE_EXPORTER_KMSG: "false",
      BOXSCOPE_EXPORTER_LOG_ROOT: "/",
      BOXSCOPE_SHIM_MOUNTPOINT: mountpoint,
      // No view caches (the mount's, and the renderer's share window): each read renders from the
      // sampler's current sample. With them a read just after a pass can show the previous one.
      BOXSCOPE_SHIM_MOUNT_CACHE_MS: "0",
      BOXSCOPE_SHIM_SHARE_WINDOW_MS: "0",
      // Likewise the exporter collects at every scrape, not up to a second ahead of it.
      BOXSCOPE_EXPORTER_COLLECT_MAX_AGE_MS: "0",
    },
  });
  up.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  t.after(() => {
    if (up.exitCode === null && up.signalCode === null) up.kill("SIGKILL");
    spawnSync("umount", ["-l", mountpoint]);
  });
  const address = await waitFor(
    "exporter address",
    async () => {
      if (up.exitCode !== null) throw new Error(`boxscope up exited ${up.exitCode}: ${stderr}`);
      return /"address":"([^"]+)","msg":"exporter serving \/metrics"/.exec(stderr)?.[1];
    },
    // Generous: under software emulation (the v2 guest) Node's start alone takes tens of seconds.
    120_000,
    100,
  );
  const metricLoads = async (): Promise<string | undefined> => {
    const samples = parseSamples(await (await fetch(`http://${address}/metrics`)).text());
    const loads = ["load1", "load5", "load15"].map(
      (n) => find(samples, `boxscope_container_${n}`, { container_id: cg.id })[0]?.value,
    );
    return loads.some((l) => l === undefined)
      ? undefined
      : loads.map((l) => (l as number).toFixed(2)).join(" ");
  };
  const loadavgInside = (): string => {
    const r = spawnSync("sh", ["-c", enterCgroupScript(cg, `cat ${join(mountpoint, "proc/loadavg")}`)], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split(" ").slice(0, 3).join(" ");
  };

  // Wait until the loads have risen over a few passes, then compare metric and view between two
  // scrapes that agree (no sampler pass in between).
  await waitFor(
    "load1 ≥ 0.2",
    async () => {
      const l = await metricLoads();
      return l !== undefined && Number(l.split(" ")[0]) >= 0.2 ? l : undefined;
    },
    60_000,
    500,
  );
  // Probe for more than one 5 s sampling period, so some probes fall just after a pass: a second
  // sampler out of phase shows other numbers there (the exporter's own, which starts sampling a
  // container at its first scrape, does: this fails without the shared sampler). Two samplers
  // started within a few ms of each other would mostly agree; what makes them one is up-run.ts
  // handing the same object to both. A probe whose two scrapes differ had a pass in between.
  const compared: string[] = [];
  const start = Date.now();
  let agreed = 0;
  // At least 6 s, then on until three probes agreed (probes take seconds under emulation).
  while (Date.now() - start < 6_000 || (agreed < 3 && Date.now() - start < 60_000)) {
    const m1 = await metricLoads();
    const inside = loadavgInside();
    const m2 = await metricLoads();
    compared.push(`${m1} | ${inside} | ${m2}`);
    if (m1 !== m2) continue;
    assert.equal(
      inside,
      m1,
      `/proc/loadavg in the container vs its metrics: ${compared.slice(-5).join("; ")}`,
    );
    assert.notEqual(inside, "0.00 0.00 0.00", "the container's loads, not zeros");
    agreed++;
  }
  assert.ok(agreed >= 3, `only ${agreed} probes between passes: ${compared.join("; ")}`);
  const distinct = new Set(compared.map((c) => c.split(" | ")[1]));
  t.diagnostic(`${agreed} probes agreed over ${distinct.size} successive loads: ${[...distinct].join(", ")}`);
  up.kill("SIGTERM");
});
