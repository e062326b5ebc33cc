import { RestError } from '@azure/core-rest-pipeline';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { BudgetExhaustedError } from '../clients/token-bucket';
import { isPayloadKeyMismatch, PAYLOAD_KEY_MISMATCH } from '../temporal/payload-codec';
import { HttpError } from './http-error';
import { IncidentRequestError } from './incident-request';
import { isTemporalTransient } from './temporal-errors';

interface ErrorBody {
  code: string;
  message: string;
  [detail: string]: unknown;
}

interface MappedError {
  status: number;
  body: ErrorBody;
  headers?: Record<string, string>;
}

/** Answers a request no route matched; the error mapper turns it into `404 not_found`. */
export function notFound(_req: Request, _res: Response): never {
  throw new HttpError(404, 'not_found', 'No such endpoint');
}

/**
 * The gateway's one error handler: every error a route, a middleware or a body parser raises becomes the
 * documented `{"error": {"code", "message", ...}}` answer (README, Gateway API). Only an HttpError's own
 * message reaches the caller; anything unrecognised is a 500 whose cause goes to the log, never the body.
 */
export function errorMapper(options: { logger: Logger; bodyLimitBytes: number }) {
  const map = (error: unknown): MappedError => {
    if (error instanceof HttpError) {
      return { status: error.status, body: { code: error.code, message: error.message, ...error.details }, headers: error.headers };
    }
    if (error instanceof IncidentRequestError) {
      return { status: 400, body: { code: 'invalid_body', message: error.message, issues: error.issues } };
    }
    // body-parser's errors carry a type and a 4xx status.
    const bodyError = error as { type?: string; status?: number } | undefined;
    if (bodyError?.type === 'entity.too.large') {
      return { status: 413, body: { code: 'body_too_large', message: `Body exceeds ${options.bodyLimitBytes} bytes` } };
    }
    if (bodyError?.type === 'entity.parse.failed')
      return { status: 400, body: { code: 'malformed_json', message: 'Body is not valid JSON' } };
    if (bodyError?.status && bodyError.status >= 400 && bodyError.status < 500) {
      return { status: bodyError.status, body: { code: 'bad_request', message: 'Bad request' } };
    }
    if (isPayloadKeyMismatch(error)) {
      // The history was written with another PAYLOAD_ENCRYPTION_KEY: a configuration error, not a transient one.
      options.logger.error({ code: PAYLOAD_KEY_MISMATCH }, 'payload key mismatch');
      return {
        status: 500,
        body: {
          code: PAYLOAD_KEY_MISMATCH,
          message:
            "The verification's data does not decrypt with this gateway's PAYLOAD_ENCRYPTION_KEY: it was written with another " +
            'key; configure the key it was started with',
        },
      };
    }
    if (isTemporalTransient(error)) {
      // Temporal is restarting, or the workflow's task is failing right after a worker died: retry shortly.
      options.logger.warn({ err: { name: (error as Error).name, message: (error as Error).message } }, 'temporal temporarily unavailable');
      return {
        status: 503,
        body: { code: 'temporarily_unavailable', message: 'Temporal is temporarily unavailable; repeat the request' },
        headers: { 'retry-after': '5' },
      };
    }
    if (error instanceof BudgetExhaustedError) {
      // More alerts than ARM's read budget allows: the caller (a playbook) retries after Retry-After.
      const seconds = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
      options.logger.warn({ retryAfterSeconds: seconds }, 'ARM request budget spent');
      return {
        status: 503,
        body: {
          code: 'sentinel_busy',
          message: `Too many incidents at once for ARM's request budget; retry after ${seconds} s`,
          retryAfterSeconds: seconds,
        },
        headers: { 'retry-after': String(seconds) },
      };
    }
    if (error instanceof RestError) {
      // Sentinel (ARM) refused or failed while the gateway checked the incident.
      options.logger.error({ statusCode: error.statusCode, code: error.code }, 'sentinel call failed');
      return {
        status: 502,
        body: { code: 'sentinel_unavailable', message: `Sentinel answered ${error.statusCode ?? 'nothing'} (${error.code ?? 'error'})` },
      };
    }
    options.logger.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'unhandled error');
    return { status: 500, body: { code: 'internal_error', message: 'Internal error; see the gateway log' } };
  };

  return (error: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const { status, body, headers } = map(error);
    if (headers) res.set(headers);
    res.status(status).json({ error: body });
  };
}
