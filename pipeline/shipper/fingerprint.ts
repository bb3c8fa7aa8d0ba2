import { createHash } from "node:crypto";

/** Bytes at the head of a file that fingerprint it. */
export const FINGERPRINT_MAX = 64;

export interface Fingerprint {
  /** sha1 (hex, 16 chars) of the first `length` bytes. */
  hash: string;
  length: number;
  /** True once the span can no longer change: the first line is complete or 64 bytes exist. */
  settled: boolean;
}

/**
 * Fingerprint of a file's head: the first line (through its newline) or the first 64 bytes,
 * whichever is shorter. Once settled it never changes while the file is only appended to, so
 * (device, inode, fingerprint) names a file across restarts, and a different head on the same inode
 * means the inode was reused or the file was truncated and rewritten.
 */
export function fingerprintOf(head: Buffer): Fingerprint {
  const nl = head.indexOf(10);
  const settled = (nl !== -1 && nl < FINGERPRINT_MAX) || head.length >= FINGERPRINT_MAX;
  const length = nl !== -1 && nl < FINGERPRINT_MAX ? nl + 1 : Math.min(head.length, FINGERPRINT_MAX);
  return { hash: hashBytes(head.subarray(0, length)), length, settled };
}

export function hashBytes(bytes: Buffer): string {
  return createHash("sha1").update(bytes).digest("hex").slice(0, 16);
}

/** The identity string of a file generation, used in positions and in document ids. */
export function fileIdOf(dev: number, ino: number, fp: Fingerprint): string {
  return `${dev}:${ino}:${fp.hash}`;
}
