/**
 * The options `boxscope` itself takes (declared in cli/main.ts), which every subcommand reads with
 * `cmd.optsWithGlobals<GlobalOptions>()`. Here rather than in cli/ so that the parts' commands, which
 * cli/ imports, do not import cli/ back.
 */
export interface GlobalOptions {
  /** boxscope.yaml with one section per command; absent: embedded defaults (and environment). */
  config?: string;
  /** pino log level. */
  logLevel: string;
}
