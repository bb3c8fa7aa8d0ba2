import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { test } from "node:test";
import { parseNetDev } from "../../exporter/sources/netns.js";
import {
  cgroupsWritable,
  createContainerCgroup,
  enterCgroupScript,
  randomId,
  type TestContainerCgroup,
} from "../helpers/container-cgroup.js";
import { hasCommand, requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/wait.js";
import { find, type Sample, startTestExporter } from "./helpers.js";

function run(args: string[]): string {
  const r = spawnSync(args[0] as string, args.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** A long-lived process in the cgroup, in network namespace `ns` (undefined: the host's). */
function sleeperIn(cg: TestContainerCgroup, ns: string | undefined): ChildProcess {
  // nsenter execs the command in place (`ip netns exec` forks: its pid would stay outside).
  const cmd = ns === undefined ? "sleep 600" : `nsenter --net=/run/netns/${ns} sleep 600`;
  return spawn("sh", ["-c", enterCgroupScript(cg, cmd)], { stdio: "ignore" });
}

const netnsLink = (pid: number | "self") => /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1];

test("container network counters: read in the container's namespace, shared by a pod's containers, none for host network", {
  timeout: 60_000,
}, async (t) => {
  const ok = cgroupsWritable() && hasCommand("ip") && hasCommand("nsenter") && hasCommand("bash");
  if (!requirePrereq(t, ok, "needs root, writable cgroups, ip (iproute2), nsenter (util-linux) and bash"))
    return;
  const ns = `boxscope-net-${randomId()}`;
  const [hostIf, podIf] = [`bxh${randomId(3)}`, `bxp${randomId(3)}`];
  const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}`;
  run(["ip", "netns", "add", ns]);
  t.after(() => spawnSync("ip", ["netns", "del", ns]));
  // A veth pair: the pod's end in the namespace, the host's end outside (deleting one deletes both).
  run(["ip", "link", "add", hostIf, "type", "veth", "peer", "name", podIf]);
  t.after(() => spawnSync("ip", ["link", "del", hostIf]));
  run(["ip", "link", "set", podIf, "netns", ns]);
  run(["ip", "addr", "add", `${subnet}.1/24`, "dev", hostIf]);
  run(["ip", "link", "set", hostIf, "up"]);
  run(["ip", "netns", "exec", ns, "ip", "addr", "add", `${subnet}.2/24`, "dev", podIf]);
  run(["ip", "netns", "exec", ns, "ip", "link", "set", podIf, "up"]);
  run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]);

  // Two containers of one pod (one namespace) and one with host networking.
  const [app, sidecar, hostNet] = [createContainerCgroup(), createContainerCgroup(), createContainerCgroup()];
  const children = [sleeperIn(app, ns), sleeperIn(sidecar, ns), sleeperIn(hostNet, undefined)];
  t.after(() => {
    for (const c of children) c.kill("SIGKILL");
    for (const cg of [app, sidecar, hostNet]) cg.cleanup();
  });
  const appPid = children[0]?.pid as number;
  await waitFor(
    "the app in its namespace",
    async () => {
      try {
        return netnsLink(appPid) !== netnsLink("self") ? true : undefined;
      } catch {
        return undefined;
      }
    },
    10_000,
  );

  // 40 datagrams of 1000 bytes out of the pod's interface.
  run([
    "ip",
    "netns",
    "exec",
    ns,
    "bash",
    "-c",
    `for i in $(seq 40); do head -c 1000 /dev/zero > /dev/udp/${subnet}.1/9; done`,
  ]);

  const exp = await startTestExporter({ kmsg: false, logRoot: "/" });
  t.after(() => exp.stop());
  const podDev = () => parseNetDev(readFileSync(`/proc/${appPid}/net/dev`, "utf8")).get(podIf);
  const before = podDev();
  const samples: Sample[] = await exp.samples();
  const after = podDev();
  assert.ok(before && after);
  const series = (cg: TestContainerCgroup, name: string) =>
    find(samples, `boxscope_container_network_${name}`, { container_id: cg.id });

  const tx = series(app, "transmit_packets_total");
  assert.equal(tx.length, 1, `one interface (loopback left out): ${JSON.stringify(tx)}`);
  assert.equal(tx[0]?.labels.device, podIf);
  assert.equal(tx[0]?.labels.netns, netnsLink(appPid));
  const within = (name: string, v: number | undefined, lo: number, hi: number) =>
    assert.ok(v !== undefined && v >= lo && v <= hi, `${name} ${v} not within the namespace's ${lo}..${hi}`);
  within("transmit packets", tx[0]?.value, before.transmitPackets, after.transmitPackets);
  assert.ok((tx[0]?.value ?? 0) >= 40, "the 40 datagrams were counted");
  const txBytes = series(app, "transmit_bytes_total")[0]?.value;
  within("transmit bytes", txBytes, before.transmitBytes, after.transmitBytes);
  assert.ok((txBytes ?? 0) >= 40 * 1000);
  within(
    "receive bytes",
    series(app, "receive_bytes_total")[0]?.value,
    before.receiveBytes,
    after.receiveBytes,
  );
  within(
    "receive packets",
    series(app, "receive_packets_total")[0]?.value,
    before.receivePackets,
    after.receivePackets,
  );
  within("receive drops", series(app, "receive_drop_total")[0]?.value, before.receiveDrop, after.receiveDrop);
  within(
    "transmit drops",
    series(app, "transmit_drop_total")[0]?.value,
    before.transmitDrop,
    after.transmitDrop,
  );

  const side = series(sidecar, "transmit_bytes_total");
  assert.equal(side[0]?.labels.netns, tx[0]?.labels.netns, "the pod's containers name one namespace");
  assert.equal(side[0]?.value, txBytes, "and carry its counters, read once per scrape");
  assert.deepEqual(series(hostNet, "transmit_bytes_total"), [], "host networking: no container series");
  assert.ok(find(samples, "boxscope_container_info", { container_id: hostNet.id }).length === 1);
  const took = find(samples, "boxscope_collector_duration_seconds", { collector: "container_network" })[0]
    ?.value;
  const containers = find(samples, "boxscope_container_info").length;
  t.diagnostic(`container_network took ${((took ?? 0) * 1000).toFixed(2)} ms for ${containers} containers`);
});
