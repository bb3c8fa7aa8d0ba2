import { createServer, type Server } from "node:http";

/** One alert as Alertmanager's webhook payload carries it. */
export interface WebhookAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Every alert received so far, with the path it was posted to (e.g. /pe, /team/payments). */
  readonly received: { path: string; receiver: string; alert: WebhookAlert }[];
  close(): Promise<void>;
}

/** A small HTTP server standing for a notification gateway: records Alertmanager webhook posts. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: WebhookReceiver["received"] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      try {
        const payload = JSON.parse(body) as { receiver: string; alerts: WebhookAlert[] };
        for (const alert of payload.alerts)
          received.push({ path: req.url ?? "", receiver: payload.receiver, alert });
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
