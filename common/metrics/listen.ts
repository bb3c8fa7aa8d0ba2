import { UsageError } from "../errors.js";

/** Loopback by default: metrics reveal container names and teams, so exposing them is a choice. */
export const DEFAULT_LISTEN = "127.0.0.1:9464";

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses "HOST:PORT" ("[::1]:9464" for IPv6); port 0 asks the kernel for a free port. */
export function parseListen(text: string, key = "listen"): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  const host = m ? (m[1] ?? m[2]) : undefined;
  if (!host || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(
      "BXS_CONFIG_INVALID",
      `${key}: expected HOST:PORT (e.g. ${DEFAULT_LISTEN}, [::1]:0), got "${text}"`,
    );
  }
  return { host, port };
}

export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
