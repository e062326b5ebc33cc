import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import type { WorkspaceRef } from '../../shared/types';
import { HttpError } from '../http-error';
import type { VerificationService } from '../verification-service';
import { incidentIdParam } from './request-guards';

export interface OperatorRouteDependencies {
  verifications: VerificationService;
  /** The workspaces this deployment serves, searched in order for the incident's verification. */
  allowedWorkspaces: readonly WorkspaceRef[];
  /** Authentication and the per-caller budget of the control endpoints. */
  auth: readonly RequestHandler[];
  /** `auth`, then the JSON content type and body. */
  jsonGuards: readonly RequestHandler[];
}

const reviewBody = z.strictObject({ decision: z.enum(['approve', 'reject']), note: z.string().max(2000).optional() });
const cancelBody = z.strictObject({ reason: z.string().min(1).max(500).optional() });

/**
 * What an analyst or reviewer does with a running verification: GET /api/incidents/:incidentId (its status),
 * POST …/cancel (stop it without touching the incident) and POST …/review (decide a manual review).
 */
export function operatorRouter(deps: OperatorRouteDependencies): Router {
  const router = express.Router();
  const unknown = (incidentId: string) => new HttpError(404, 'unknown_incident', `No verification for incident ${incidentId}`);

  router.get('/api/incidents/:incidentId', ...deps.auth, async (req, res) => {
    const incidentId = incidentIdParam(req);
    for (const workspace of deps.allowedWorkspaces) {
      const found = await deps.verifications.status(workspace, incidentId);
      if (found) {
        res.json({ workflowId: found.workflowId, running: found.running, ...found.state });
        return;
      }
    }
    throw unknown(incidentId);
  });

  const steer = (kind: 'cancel' | 'review') => async (req: Request, res: Response) => {
    const incidentId = incidentIdParam(req);
    const caller = String(res.locals.caller);
    const parsed = (kind === 'review' ? reviewBody : cancelBody).safeParse(req.body ?? {});
    if (!parsed.success) {
      throw new HttpError(400, 'invalid_body', `Invalid ${kind} request`, {
        issues: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`),
      });
    }
    for (const workspace of deps.allowedWorkspaces) {
      const result =
        kind === 'review'
          ? await deps.verifications.review(workspace, incidentId, { ...(parsed.data as z.infer<typeof reviewBody>), reviewer: caller })
          : await deps.verifications.cancel(workspace, incidentId, {
              reason: (parsed.data as z.infer<typeof cancelBody>).reason ?? 'Cancelled through the gateway',
              requestedBy: caller,
            });
      if (result.kind === 'unknown') continue;
      if (result.kind === 'accepted') {
        res
          .status(kind === 'review' ? 200 : 202)
          .json({ status: kind === 'review' ? 'review_recorded' : 'cancellation_requested', workflowId: result.workflowId });
        return;
      }
      const why =
        result.kind === 'finished'
          ? 'the verification has already finished'
          : `the verification is ${result.state.status}, not awaiting review`;
      throw new HttpError(409, 'not_applicable', `Cannot ${kind}: ${why}`, { workflowId: result.workflowId });
    }
    throw unknown(incidentId);
  };
  router.post('/api/incidents/:incidentId/cancel', ...deps.jsonGuards, steer('cancel'));
  router.post('/api/incidents/:incidentId/review', ...deps.jsonGuards, steer('review'));
  return router;
}
