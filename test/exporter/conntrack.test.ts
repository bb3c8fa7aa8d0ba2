import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { test } from "node:test";
import { randomId } from "../helpers/container-cgroup.js";
import { repoRoot } from "../helpers/paths.js";
import { hasCommand, requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/wait.js";
import { parseSamples, value } from "./helpers.js";

function run(args: string[], input?: string): void {
  const r = spawnSync(args[0] as string, args.slice(1), { input, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
}

/** Resolves with the first stdout/stderr line matching `re` (the child keeps running). */
function waitForLine(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${re} within ${timeoutMs} ms: ${buf}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`exited (${code}) before ${re}: ${buf}`)));
  });
}

// Loopback TCP server plus N held client connections, inside the namespace.
const HOLDER = `
const net = require("net");
const n = Number(process.argv[1]);
const socks = [];
const srv = net.createServer((s) => socks.push(s)).listen(0, "127.0.0.1", () => {
  let open = 0;
  for (let i = 0; i < n; i++) {
    const c = net.connect(srv.address().port, "127.0.0.1", () => { if (++open === n) console.log("ready " + n); });
    socks.push(c);
  }
});
setInterval(() => {}, 1000);
`;

function spawnIn(ns: string, args: string[]): ChildProcess {
  return spawn("ip", ["netns", "exec", ns, ...args], { stdio: ["ignore", "pipe", "pipe"] });
}

const NFT_RULES = `table inet bxs {
  chain input {
    type filter hook input priority 0; policy accept;
    ct state new,established accept
  }
}
`;

test("conntrack entries rise with many loopback TCP connections in a network namespace with conntrack active", {
  timeout: 60_000,
}, async (t) => {
  const ok = process.getuid?.() === 0 && hasCommand("ip") && hasCommand("nft") && hasCommand("curl");
  if (!requirePrereq(t, ok, "needs root, ip (iproute2), nft (nftables) and curl")) return;
  const ns = `boxscope-test-exporter-${randomId()}`;
  run(["ip", "netns", "add", ns]);
  t.after(() => spawnSync("ip", ["netns", "del", ns]));
  run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
  // A rule using `ct state` turns connection tracking on in this namespace (conntrack is per netns).
  run(["ip", "netns", "exec", ns, "nft", "-f", "-"], NFT_RULES);

  // The exporter reads conntrack of the namespace it runs in: run it inside, scrape from inside.
  const exporter = spawnIn(ns, [
    process.execPath,
    `${repoRoot}/bin/boxscope.js`,
    "exporter",
    "--listen",
    "127.0.0.1:0",
    "--no-kmsg",
    "--log-root",
    "/",
  ]);
  t.after(() => exporter.kill("SIGKILL"));
  const address = (await waitForLine(exporter, /"address":"([^"]+)"/, 15_000))[1] as string;
  const scrape = () => {
    const r = spawnSync("ip", ["netns", "exec", ns, "curl", "-sf", `http://${address}/metrics`], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`scrape in netns failed: ${r.stderr}`);
    return parseSamples(r.stdout);
  };
  const before = scrape();
  const e0 = value(before, "boxscope_conntrack_entries");
  assert.ok(e0 !== undefined, "conntrack metrics present");
  assert.ok((value(before, "boxscope_conntrack_entries_limit") ?? 0) > 0);
  assert.ok(value(before, "boxscope_conntrack_drop_total") !== undefined);

  const n = 300;
  const holder = spawnIn(ns, [process.execPath, "-e", HOLDER, String(n)]);
  t.after(() => holder.kill("SIGKILL"));
  await waitForLine(holder, /ready \d+/, 20_000);
  const entries = await waitFor(
    `conntrack entries ≥ ${e0} + ${n}`,
    async () => {
      const v = value(scrape(), "boxscope_conntrack_entries") ?? 0;
      return v >= e0 + n ? v : undefined;
    },
    10_000,
  );
  assert.ok(entries >= n);
});
