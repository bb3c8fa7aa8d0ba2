import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttp2Server } from "node:http2";
import { createServer as createNetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeHealthStatus, encodeHealthRequest, type HealthProbe, runProbe } from "./health-probe.js";

const timing = { timeoutSeconds: 1, intervalSeconds: 10 };

function socketDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-probe-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("http probe over a unix socket: 2xx healthy, other status unhealthy, Host from the URL", async (t) => {
  const sock = join(socketDir(t), "d.sock");
  const seen: { path?: string; host?: string }[] = [];
  let status = 200;
  const srv = createHttpServer((req, res) => {
    seen.push({ path: req.url, host: req.headers.host });
    res.statusCode = status;
    res.end("OK");
  });
  srv.listen(sock);
  await once(srv, "listening");
  t.after(() => srv.close());
  const probe: HealthProbe = { kind: "http", url: "http://docker/_ping", socket: sock, ...timing };
  assert.equal((await runProbe(probe)).healthy, true);
  assert.deepEqual(seen[0], { path: "/_ping", host: "docker" });
  status = 500;
  const r = await runProbe(probe);
  assert.deepEqual(r.healthy ? undefined : [r.reason, r.detail], ["status", "HTTP 500"]);
});

test("http probe over TCP (kubelet's /healthz)", async (t) => {
  const srv = createHttpServer((_req, res) => res.end("ok"));
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  t.after(() => srv.close());
  const { port } = srv.address() as { port: number };
  assert.equal(
    (await runProbe({ kind: "http", url: `http://127.0.0.1:${port}/healthz`, ...timing })).healthy,
    true,
  );
});

test("a daemon that accepts but never answers is a timeout, and its connection is closed", async (t) => {
  const sock = join(socketDir(t), "hung.sock");
  const conns: Socket[] = [];
  const closed: Promise<unknown>[] = [];
  const srv = createNetServer((c) => {
    c.resume(); // reads (and drops) the request, so the client's close is seen
    conns.push(c);
    closed.push(once(c, "close"));
  });
  srv.listen(sock);
  await once(srv, "listening");
  t.after(() => srv.close());
  for (const probe of [
    { kind: "http", url: "http://docker/_ping", socket: sock, ...timing },
    { kind: "grpc", socket: sock, service: "", ...timing },
  ] as const) {
    const r = await runProbe({ ...probe, timeoutSeconds: 0.2 });
    assert.equal(r.healthy ? "healthy" : r.reason, "timeout", probe.kind);
    assert.ok(r.seconds >= 0.2, `took ${r.seconds} s`);
  }
  await Promise.all(closed);
  assert.equal(conns.length, 2);
});

test("no socket and a refused connection are failures of their own", async (t) => {
  const dir = socketDir(t);
  const r = await runProbe({ kind: "grpc", socket: join(dir, "absent.sock"), service: "", ...timing });
  assert.equal(r.healthy ? "healthy" : r.reason, "no_socket");
  const srv = createHttpServer(() => {});
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address() as { port: number };
  srv.close();
  await once(srv, "close");
  const r2 = await runProbe({ kind: "http", url: `http://127.0.0.1:${port}/healthz`, ...timing });
  assert.equal(r2.healthy ? "healthy" : r2.reason, "refused");
});

test("gRPC health frames: request encoding and response decoding", () => {
  assert.deepEqual([...encodeHealthRequest("")], [0, 0, 0, 0, 0]);
  assert.deepEqual([...encodeHealthRequest("ab")], [0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]);
  assert.equal(decodeHealthStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 1])), 1);
  assert.equal(decodeHealthStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 2])), 2);
  assert.equal(decodeHealthStatus(Buffer.from([0, 0, 0, 0, 0])), 0, "proto3 default: UNKNOWN");
  assert.equal(decodeHealthStatus(Buffer.from([0, 0, 0, 0, 5, 0x08, 1])), undefined, "truncated");
  assert.equal(decodeHealthStatus(Buffer.from([1, 0, 0, 0, 0])), undefined, "compressed");
});

test("grpc probe: SERVING healthy, NOT_SERVING and an error status unhealthy", async (t) => {
  const sock = join(socketDir(t), "c.sock");
  let answer: "serving" | "not_serving" | "unimplemented" = "serving";
  const paths: string[] = [];
  const srv = createHttp2Server();
  srv.on("stream", (stream, headers) => {
    paths.push(String(headers[":path"]));
    stream.on("data", () => {});
    stream.on("end", () => {
      if (answer === "unimplemented") {
        stream.respond(
          { ":status": 200, "content-type": "application/grpc", "grpc-status": "12" },
          { endStream: true },
        );
        return;
      }
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, answer === "serving" ? 1 : 2]));
    });
  });
  srv.listen(sock);
  await once(srv, "listening");
  t.after(() => srv.close());
  const probe: HealthProbe = { kind: "grpc", socket: sock, service: "", ...timing };
  assert.equal((await runProbe(probe)).healthy, true);
  assert.deepEqual(paths, ["/grpc.health.v1.Health/Check"]);
  answer = "not_serving";
  let r = await runProbe(probe);
  assert.deepEqual(r.healthy ? undefined : [r.reason, r.detail], ["status", "health status 2"]);
  answer = "unimplemented";
  r = await runProbe(probe);
  assert.deepEqual(r.healthy ? undefined : [r.reason, r.detail], ["status", "grpc-status 12"]);
});
