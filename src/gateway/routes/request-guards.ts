import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { HttpError } from '../http-error';

const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Refuses a body that is not declared JSON (415) before it is read. */
export function requireJson(req: Request, _res: Response, next: NextFunction): void {
  if (!req.is('application/json')) throw new HttpError(415, 'unsupported_media_type', 'Content-Type must be application/json');
  next();
}

/**
 * The JSON body parser of every JSON endpoint: bounded by GATEWAY_BODY_LIMIT_BYTES, objects and arrays only.
 * `requireJson` has checked the content type already, so any type is parsed here.
 */
export function jsonBody(limitBytes: number): RequestHandler {
  return express.json({ limit: limitBytes, strict: true, type: () => true });
}

/** The `:incidentId` path parameter, or 400 when it is not a Sentinel incident id. */
export function incidentIdParam(req: Request): string {
  const incidentId = String(req.params.incidentId);
  if (!INCIDENT_ID.test(incidentId)) throw new HttpError(400, 'invalid_incident_id', 'Malformed incident id');
  return incidentId;
}
