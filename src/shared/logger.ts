import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs. Redaction is a second line of defence: code should not hand secrets to the
 * logger in the first place, but headers and bodies that might carry them are censored by path.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-incode-webhook-secret"]',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.verificationUrl',
  'verificationUrl',
  '*.url',
  '*.access_token',
  '*.clientSecret',
  '*.apiKey',
  '*.secret',
  '*.token',
];

export function createLogger(options: { level?: string; name: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'itdr-verify', component: options.name },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

export type { Logger };
