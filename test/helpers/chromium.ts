import { existsSync } from 'node:fs';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). CHROMIUM_PATH points elsewhere. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Why a browser test cannot run here, or undefined when Chromium is installed. In CI (CI=true) a missing
 * browser is a failure, never a skip; on a developer's machine the test is skipped with this reason printed.
 */
export function missingChromium(
  executable: string = CHROMIUM,
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = (line) => process.stderr.write(line),
): string | undefined {
  if (existsSync(executable)) return undefined;
  const reason =
    `Chromium not found at ${executable}: ` + "install Debian's package (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH";
  if (env.CI === 'true') throw new Error(`${reason} (CI=true: browser tests must run)`);
  log(`skipping browser test: ${reason}\n`);
  return reason;
}
