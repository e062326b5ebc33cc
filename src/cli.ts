#!/usr/bin/env node
/**
 * Operator CLI: `npm run cli -- <command>` or `npx itdr-verify <command>`; `--help` lists the commands.
 * Configured from the same environment as the gateway (TEMPORAL_*, PAYLOAD_ENCRYPTION_KEY).
 */
import { runCli } from './cli/program';

runCli(process.argv).then(
  (code) => {
    process.exitCode = code;
    // A lingering handle (a gRPC channel, the replay worker's runtime) must not keep the shell waiting.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    process.stderr.write(`itdr-verify: error: ${(error as Error)?.message ?? String(error)}\n`);
    process.exit(1);
  },
);
