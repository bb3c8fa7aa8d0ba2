import assert from "node:assert/strict";
import { test } from "node:test";
import { LinearRegexSet } from "../../common/regex.js";
import { NO_CONTAINER } from "../log-owner.js";
import {
  BUILTIN_KERNEL_RULES,
  CONTAINER_SERIES_TTL_MS,
  kernelRuleSet,
  type LogRule,
  MatchCounts,
} from "./log-patterns.js";

/** Kernel messages as mainline kernels print them (one /dev/kmsg record each) → the rule that must count them. */
const KERNEL_LINES: ReadonlyArray<[string, string | undefined]> = [
  ["kernel BUG at mm/slub.c:3907!", "kernel_bug"],
  ["BUG: unable to handle page fault for address: ffffb0e7c0b1f000", "kernel_bug"],
  ["BUG: kernel NULL pointer dereference, address: 0000000000000008", "kernel_bug"],
  ["BUG: scheduling while atomic: swapper/0/0/0x00000002", "kernel_bug"],
  ["BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580", "kernel_bug"],
  ["Oops: 0002 [#1] SMP PTI", "kernel_oops"],
  [
    "Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP",
    "kernel_oops",
  ],
  ["general protection fault: 0000 [#1] SMP NOPTI", "kernel_oops"],
  ["Kernel panic - not syncing: Fatal exception", "kernel_panic"],
  ["watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:1:123]", "kernel_lockup"],
  ["BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:1]", "kernel_lockup"],
  ["Watchdog detected hard LOCKUP on cpu 2", "kernel_lockup"],
  ["INFO: task jbd2/sda1-8:312 blocked for more than 120 seconds.", "kernel_hung_task"],
  [
    "blk_update_request: I/O error, dev sda, sector 2048 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0",
    "kernel_io_error",
  ],
  ["I/O error, dev nvme0n1, sector 1234 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2", "kernel_io_error"],
  ["Buffer I/O error on dev sdb1, logical block 0, async page read", "kernel_io_error"],
  [
    "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0",
    "kernel_ext4_error",
  ],
  ["EXT4-fs (sda1): Remounting filesystem read-only", "kernel_ext4_error"],
  ["XFS (dm-0): Corruption detected. Unmount and run xfs_repair", "kernel_xfs_error"],
  [
    'XFS (sdb1): metadata I/O error in "xfs_trans_read_buf_map" at daddr 0x2 len 1 error 5',
    "kernel_xfs_error",
  ],
  ["XFS (sda1): Log I/O Error Detected. Shutting down filesystem", "kernel_xfs_error"],
  [
    "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/x,task=java,pid=4242,uid=0",
    "kernel_oom_kill",
  ],
  ["Out of memory: Killed process 4242 (java) total-vm:1234kB", "kernel_oom_kill"],
  ["Out of memory: Kill process 4242 (java) score 900 or sacrifice child", "kernel_oom_kill"],
  ["nf_conntrack: nf_conntrack: table full, dropping packet", "kernel_conntrack_table_full"],
  // Lines that must page nobody: a container's own OOM kill (its BoxscopeContainerOOMKilled tells
  // its team), a user-space fault, healthy filesystem notices.
  [
    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/x,task_memcg=/x,task=tail,pid=1,uid=0",
    undefined,
  ],
  ["Memory cgroup out of memory: Killed process 1 (tail) total-vm:1234kB", undefined],
  ["traps: node[123] general protection fault ip:7f0 sp:7ff error:0 in libc.so.6", undefined],
  ["EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.", undefined],
  ["XFS (sda1): Mounting V5 Filesystem", undefined],
  ["usb 1-1: new high-speed USB device number 2 using xhci_hcd", undefined],
];

test("each built-in kernel rule counts its kernel messages, one rule per line; harmless lines match none", () => {
  const set = new LinearRegexSet(
    BUILTIN_KERNEL_RULES.map((r) => r.regex),
    "kernel rule",
  );
  for (const [line, rule] of KERNEL_LINES) {
    const got = set.matching(line).map((i) => BUILTIN_KERNEL_RULES[i]?.name);
    assert.deepEqual(got, rule ? [rule] : [], line);
  }
  // Every built-in rule is exercised above.
  for (const r of BUILTIN_KERNEL_RULES)
    assert.ok(
      KERNEL_LINES.some(([, name]) => name === r.name),
      r.name,
    );
});

test("built-in kernel rules alert on the first line: BUG, Oops, panic, lockup, EXT4/XFS critical; the rest warning", () => {
  const sev = Object.fromEntries(BUILTIN_KERNEL_RULES.map((r) => [r.name, `${r.severity}/${r.threshold}`]));
  assert.deepEqual(sev, {
    kernel_bug: "critical/1",
    kernel_oops: "critical/1",
    kernel_panic: "critical/1",
    kernel_lockup: "critical/1",
    kernel_hung_task: "warning/1",
    kernel_io_error: "warning/1",
    kernel_ext4_error: "critical/1",
    kernel_xfs_error: "critical/1",
    kernel_oom_kill: "warning/1",
    kernel_conntrack_table_full: "warning/1",
  });
});

test("kernelRuleSet: extra rules are added; one named like a built-in replaces it; built-ins can be off", () => {
  const quieter: LogRule = { name: "kernel_io_error", regex: "I/O error", severity: "info", threshold: 10 };
  const mine: LogRule = { name: "my_rule", regex: "x", severity: "critical", threshold: 1 };
  const set = kernelRuleSet(true, [quieter, mine]);
  assert.equal(set.length, BUILTIN_KERNEL_RULES.length + 1);
  assert.deepEqual(
    set.filter((r) => r.name === "kernel_io_error"),
    [quieter],
  );
  assert.deepEqual(kernelRuleSet(false, [mine]), [mine]);
});

const rule = (name: string, severity: LogRule["severity"] = "warning"): LogRule => ({
  name,
  regex: name,
  severity,
  threshold: 1,
});
const payments = { container_id: "c1", container_name: "shop", team: "payments" };

test("MatchCounts: every rule starts at 0 without container; a container's series shows 0 for one scrape, then its count", () => {
  const err = rule("app_error");
  const bug = rule("kernel_bug", "critical");
  const counts = new MatchCounts([
    { rule: err, source: "file" },
    { rule: bug, source: "kmsg" },
  ]);
  const base = { container_id: "", container_name: "", team: "" };
  // A match before the first scrape still shows 0 first: increase() needs the sample before it.
  counts.add(bug, "kmsg", NO_CONTAINER, 0);
  assert.deepEqual(counts.collect(1), [
    { labels: { rule: "app_error", source: "file", severity: "warning", ...base }, value: 0 },
    { labels: { rule: "kernel_bug", source: "kmsg", severity: "critical", ...base }, value: 0 },
  ]);
  counts.add(err, "file", payments, 2);
  counts.add(err, "file", payments, 3);
  const second = counts.collect(4);
  assert.deepEqual(second, [
    { labels: { rule: "app_error", source: "file", severity: "warning", ...base }, value: 0 },
    { labels: { rule: "kernel_bug", source: "kmsg", severity: "critical", ...base }, value: 1 },
    { labels: { rule: "app_error", source: "file", severity: "warning", ...payments }, value: 0 },
  ]);
  assert.equal(counts.collect(5)[2]?.value, 2);
  counts.add(err, "file", payments, 6);
  assert.equal(counts.collect(7)[2]?.value, 3);
});

test("MatchCounts: a container's series is dropped an hour after its last match; rule series stay", () => {
  const err = rule("app_error");
  const counts = new MatchCounts([{ rule: err, source: "file" }]);
  counts.add(err, "file", payments, 0);
  counts.collect(1);
  assert.equal(counts.collect(CONTAINER_SERIES_TTL_MS).length, 2);
  assert.equal(counts.collect(CONTAINER_SERIES_TTL_MS + 1).length, 1);
  assert.equal(counts.collect(10 * CONTAINER_SERIES_TTL_MS).length, 1);
  // Bounded: rules × containers, however many lines.
  for (let i = 0; i < 1000; i++) counts.add(err, "file", payments, i);
  assert.equal(counts.size, 2);
});
