/**
 * Errors carried as values at module boundaries (fastify/pino style): a failure says what it was
 * doing and on what, so the CLI can print one clear line and callers can decide to fall back.
 */
export type Result<T, E = BoxscopeError> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

/** An error whose message is fit to show a user as the single line a command prints before exiting. */
export class BoxscopeError extends Error {
  /** The process exit code when this ends a command (1 unless a command documents another). */
  readonly exitCode: number;
  constructor(
    message: string,
    readonly context: Record<string, unknown> = {},
    options?: { cause?: unknown; exitCode?: number },
  ) {
    super(message, options);
    this.name = "BoxscopeError";
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** Bad input from a user: config, flags, arguments. The CLI exits 2 on these. */
export class UsageError extends BoxscopeError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(message, context, { exitCode: 2 });
    this.name = "UsageError";
  }
}

/** `errno` of a Node system error, or undefined. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "string"
    ? e.code
    : undefined;
}
