import { z } from 'zod';

/** Thrown for configuration problems; the message names the variable so start-up fails with a fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `250ms`, `90s`, `5m`, `24h`, `7d`; a bare number is milliseconds. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration (use e.g. 90s, 5m, 24h)`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 'ms']);
}

export const durationSchema = z.string().transform((value, ctx) => {
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new Error('must be positive');
    return ms;
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** A duration that may be 0 (a feature switched off). */
export const optionalDurationSchema = z.string().transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

export const httpsUrlSchema = z.url({ protocol: /^https$/, error: 'must be an https:// URL' });

export const csvSchema = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

/**
 * Reports a problem that involves several variables (a zod refinement), on the variable to change. `parseEnv`
 * prints it as `  NAME: message`.
 */
export function reportOn(ctx: z.RefinementCtx, variable: string, message: string): void {
  ctx.addIssue({ code: 'custom', path: [variable], message });
}

/**
 * Validates `env` against `schema` (an object of the variables, with its cross-field refinements): every
 * problem is reported at once, each naming its variable. Only the schema's variables are read, each once.
 */
export function parseEnv<T extends z.ZodObject>(schema: T, env: NodeJS.ProcessEnv, component: string): z.infer<T> {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    picked[key] = value === undefined || value.trim() === '' ? undefined : value.trim();
  }
  const result = schema.safeParse(picked);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      const message = issue.code === 'invalid_type' && picked[name] === undefined ? 'is required but not set' : issue.message;
      return `  ${name}: ${message}`;
    });
    throw new ConfigError(`Invalid ${component} configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
