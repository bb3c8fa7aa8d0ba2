import { request as httpRequest } from "node:http";
import { connect as http2Connect, constants as http2Constants } from "node:http2";
import { connect as netConnect } from "node:net";
import { errnoCode } from "../../common/errors.js";

/** How a key process's own health endpoint is asked whether it still answers. */
export type HealthProbe =
  | {
      readonly kind: "http";
      /** http://HOST[:PORT]/PATH; with `socket` the request goes over that unix socket and HOST is only the Host header. */
      readonly url: string;
      readonly socket?: string | undefined;
      readonly timeoutSeconds: number;
      readonly intervalSeconds: number;
    }
  | {
      readonly kind: "grpc";
      /** Unix socket of a gRPC server implementing grpc.health.v1.Health (containerd). */
      readonly socket: string;
      /** Service name asked about; "" = the server as a whole. */
      readonly service: string;
      readonly timeoutSeconds: number;
      readonly intervalSeconds: number;
    };

/** Why a probe failed, as the `reason` label of boxscope_process_probe_failures_total. */
export type ProbeFailure = "timeout" | "no_socket" | "refused" | "status" | "error";

export type ProbeResult =
  | { readonly healthy: true; readonly seconds: number }
  | {
      readonly healthy: false;
      readonly seconds: number;
      readonly reason: ProbeFailure;
      readonly detail: string;
    };

/**
 * Runs one probe. Never rejects and never outlives `timeoutSeconds`: a daemon that accepts the
 * connection (the kernel does, from its listen backlog, even for a stopped process) but never
 * answers is exactly what this is for, so the timer destroys the connection and says "timeout".
 */
export function runProbe(probe: HealthProbe): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    let abort: () => void = () => {};
    const finish = (
      r: { healthy: true } | { healthy: false; reason: ProbeFailure; detail: string },
    ): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      abort();
      resolve({ ...r, seconds: elapsed() });
    };
    const timer = setTimeout(
      () => finish({ healthy: false, reason: "timeout", detail: `no answer in ${probe.timeoutSeconds} s` }),
      probe.timeoutSeconds * 1000,
    );
    const fail = (e: unknown): void => finish(failureOf(e));
    try {
      abort = probe.kind === "http" ? httpProbe(probe, finish, fail) : grpcProbe(probe, finish, fail);
    } catch (e) {
      fail(e);
    }
    if (settled) abort();
  });
}

type Finish = (r: { healthy: true } | { healthy: false; reason: ProbeFailure; detail: string }) => void;

function failureOf(e: unknown): { healthy: false; reason: ProbeFailure; detail: string } {
  const code = errnoCode(e) === "ERR_HTTP2_STREAM_CANCEL" ? errnoCode((e as Error).cause) : errnoCode(e);
  const detail = e instanceof Error ? e.message : String(e);
  if (code === "ENOENT" || code === "ENOTDIR") return { healthy: false, reason: "no_socket", detail };
  if (code === "ECONNREFUSED" || code === "ECONNRESET") return { healthy: false, reason: "refused", detail };
  return { healthy: false, reason: "error", detail };
}

/** GET the URL (over the unix socket when given): healthy on any 2xx answer. */
function httpProbe(
  probe: Extract<HealthProbe, { kind: "http" }>,
  finish: Finish,
  fail: (e: unknown) => void,
): () => void {
  const url = new URL(probe.url);
  const req = httpRequest(
    probe.socket
      ? { socketPath: probe.socket, path: `${url.pathname}${url.search}`, headers: { host: url.host } }
      : url,
    (res) => {
      res.resume(); // the body says nothing the status does not (Docker's "OK", kubelet's "ok")
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) finish({ healthy: true });
      else finish({ healthy: false, reason: "status", detail: `HTTP ${status}` });
    },
  );
  req.on("error", fail);
  req.end();
  return () => req.destroy();
}

/**
 * grpc.health.v1.Health/Check over HTTP/2 on a unix socket. Written here rather than taking a gRPC
 * library: the call is one unary request whose messages have one field each (request: `service`
 * string = field 1; response: `status` enum = field 1, SERVING = 1), framed with gRPC's 5-byte
 * prefix; a full gRPC stack and protobuf runtime for that would be most of the exporter's weight.
 */
function grpcProbe(
  probe: Extract<HealthProbe, { kind: "grpc" }>,
  finish: Finish,
  fail: (e: unknown) => void,
): () => void {
  // Our listener on the socket comes first, so a missing socket is told as such (http2 reports it
  // as a cancelled stream).
  const socket = netConnect(probe.socket);
  socket.on("error", fail);
  const session = http2Connect("http://localhost", { createConnection: () => socket });
  session.on("error", fail);
  const req = session.request({
    [http2Constants.HTTP2_HEADER_METHOD]: "POST",
    [http2Constants.HTTP2_HEADER_PATH]: "/grpc.health.v1.Health/Check",
    "content-type": "application/grpc",
    te: "trailers",
  });
  const chunks: Buffer[] = [];
  let grpcStatus: string | undefined;
  req.on("response", (headers) => {
    // A trailers-only answer (an error) carries grpc-status in the headers.
    if (headers["grpc-status"] !== undefined) grpcStatus = String(headers["grpc-status"]);
  });
  req.on("trailers", (trailers) => {
    if (trailers["grpc-status"] !== undefined) grpcStatus = String(trailers["grpc-status"]);
  });
  req.on("data", (b: Buffer) => chunks.push(b));
  req.on("error", fail);
  req.on("end", () => {
    if (grpcStatus !== "0") {
      finish({ healthy: false, reason: "status", detail: `grpc-status ${grpcStatus ?? "missing"}` });
      return;
    }
    const status = decodeHealthStatus(Buffer.concat(chunks));
    if (status === SERVING) finish({ healthy: true });
    else finish({ healthy: false, reason: "status", detail: `health status ${status ?? "unreadable"}` });
  });
  req.end(encodeHealthRequest(probe.service));
  return () => {
    req.destroy();
    session.destroy();
    socket.destroy();
  };
}

const SERVING = 1;

/** A gRPC frame (uncompressed flag, big-endian length) holding HealthCheckRequest{service}. */
export function encodeHealthRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  const message =
    name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/**
 * The `status` of the first HealthCheckResponse frame: 0 when the message leaves it out (proto3's
 * default, UNKNOWN), undefined when the bytes are no such frame.
 */
export function decodeHealthStatus(body: Buffer): number | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length) return undefined;
  const msg = body.subarray(5, 5 + length);
  let i = 0;
  let status = 0;
  while (i < msg.length) {
    const key = readVarint(msg, i);
    if (!key) return undefined;
    i = key.next;
    const wireType = key.value & 7;
    if (wireType === 0) {
      const v = readVarint(msg, i);
      if (!v) return undefined;
      i = v.next;
      if (key.value >> 3 === 1) status = v.value;
    } else if (wireType === 2) {
      const len = readVarint(msg, i);
      if (!len) return undefined;
      i = len.next + len.value;
    } else if (wireType === 5) {
      i += 4;
    } else if (wireType === 1) {
      i += 8;
    } else {
      return undefined;
    }
  }
  return i === msg.length ? status : undefined;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function readVarint(buf: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let factor = 1;
  for (let i = at; i < buf.length && i < at + 8; i++) {
    const b = buf[i] as number;
    value += (b & 0x7f) * factor;
    if (b < 0x80) return { value, next: i + 1 };
    factor *= 128;
  }
  return undefined;
}
