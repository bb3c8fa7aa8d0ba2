import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { NetnsScrape, parseNetDev } from "./netns.js";

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     840      10    0    0    0     0          0         0      840      10    0    0    0     0       0          0
  eth0:12345678901   9876    1    7    0     0          0         3  5432100    4321    0    2    0     0       0          0
`;

test("net/dev: receive and transmit bytes, packets and drops per interface; a counter touching the colon", () => {
  const devs = parseNetDev(NET_DEV);
  assert.deepEqual([...devs.keys()], ["lo", "eth0"]);
  assert.deepEqual(devs.get("eth0"), {
    receiveBytes: 12345678901,
    receivePackets: 9876,
    receiveDrop: 7,
    transmitBytes: 5432100,
    transmitPackets: 4321,
    transmitDrop: 2,
  });
  assert.throws(() => parseNetDev("  eth0: 1 2 3\n"), /unexpected net\/dev line/);
});

test("one read per namespace: pod containers share it, the host's namespace and gone processes give none", (t) => {
  const root = mkdtempSync(join(tmpdir(), "boxscope-netns-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const proc = (pid: number, inode: string, netDev?: string) => {
    mkdirSync(join(root, String(pid), "ns"), { recursive: true });
    // Dangling symlinks, as the kernel's: readlink gives `net:[inode]`.
    symlinkSync(`net:[${inode}]`, join(root, String(pid), "ns", "net"));
    if (netDev !== undefined) {
      mkdirSync(join(root, String(pid), "net"));
      writeFileSync(join(root, String(pid), "net", "dev"), netDev);
    }
  };
  proc(1, "4026531992", NET_DEV);
  proc(100, "4026532500", NET_DEV); // pod: two containers...
  proc(200, "4026532500", NET_DEV); // ...one namespace
  proc(300, "4026531992", NET_DEV); // --network host
  const scrape = new NetnsScrape(root);
  const a = scrape.countersOf(100);
  const b = scrape.countersOf(200);
  assert.equal(a?.inode, "4026532500");
  assert.equal(b, a, "the second container of the namespace gets the first one's read");
  assert.deepEqual([...(a?.devices.keys() ?? [])], ["eth0"], "loopback left out");
  assert.equal(scrape.countersOf(300), undefined, "host namespace: no container series");
  assert.equal(scrape.countersOf(999), undefined, "gone process");
  assert.equal(scrape.reads, 1);
});

test("the host's namespace is the exporter's own when pid 1 cannot be inspected", (t) => {
  const root = mkdtempSync(join(tmpdir(), "boxscope-netns-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [pid, inode] of [
    ["self", "4026531992"],
    ["300", "4026531992"],
    ["100", "4026532500"],
  ] as const) {
    mkdirSync(join(root, pid, "ns"), { recursive: true });
    mkdirSync(join(root, pid, "net"));
    symlinkSync(`net:[${inode}]`, join(root, pid, "ns", "net"));
    writeFileSync(join(root, pid, "net", "dev"), NET_DEV);
  }
  const scrape = new NetnsScrape(root);
  assert.equal(scrape.countersOf(300), undefined, "same namespace as the exporter: the host's");
  assert.equal(scrape.countersOf(100)?.inode, "4026532500");
});
