import assert from "node:assert/strict";
import { test } from "node:test";
import { parseKmsgRecord, parseOomKill } from "./kmsg-parse.js";

test("kmsg record and OOM-kill line", () => {
  const raw =
    "6,1042,98765432,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/pod1,task_memcg=/docker/abc,task=python3,pid=4242,uid=0\n SUBSYSTEM=x\n";
  const r = parseKmsgRecord(raw);
  assert.ok(r);
  assert.equal(r.seq, 1042);
  assert.equal(r.usec, 98765432);
  assert.equal(r.priority, 6);
  const k = parseOomKill(r.message);
  assert.deepEqual(k, {
    taskMemcg: "/docker/abc",
    oomMemcg: "/kubepods/pod1",
    task: "python3",
    pid: 4242,
    constraint: "CONSTRAINT_MEMCG",
  });
  assert.equal(parseOomKill("Memory cgroup out of memory: Killed process 4242 (python3)"), undefined);
});
