import express, { type RequestHandler, type Router } from 'express';
import type { ConfirmationLinks } from '../../confirmation/confirmation-link';
import type { GatewayMetrics } from '../../observability/metrics';
import { HttpError } from '../http-error';
import { prepareVerification, type IntakeOptions } from '../incident-intake';
import { parseIncidentRequest } from '../incident-request';
import type { VerificationService } from '../verification-service';

export interface IncidentsRouteDependencies {
  verifications: VerificationService;
  intake: IntakeOptions;
  confirmationLinks: ConfirmationLinks;
  linkDeadlineMs: number;
  metrics?: GatewayMetrics;
  /** Authentication and the per-caller budget of the control endpoints, then the JSON body. */
  guards: readonly RequestHandler[];
}

/**
 * POST /api/incidents: the playbook's call. Reads the incident in Sentinel, starts or joins its verification
 * and answers with the link (the confirmation page's, or Incode's with `incode-direct`), or why there is none.
 */
export function incidentsRouter(deps: IncidentsRouteDependencies): Router {
  const router = express.Router();
  router.post('/api/incidents', ...deps.guards, async (req, res) => {
    const request = parseIncidentRequest(req.body);
    const caller = String(res.locals.caller);
    let verification;
    try {
      verification = await prepareVerification(deps.intake, request, caller);
    } catch (error) {
      // Sentinel's incident-update trigger for an incident an analyst closed: stop its verification.
      if (!(error instanceof HttpError) || error.code !== 'incident_closed') throw error;
      const workspace = request.workspace ?? deps.intake.defaultWorkspace;
      const stopped = await deps.verifications.cancel(workspace, request.incidentId, {
        reason: 'The incident was closed in Sentinel',
        requestedBy: caller,
      });
      if (stopped.kind !== 'accepted') throw error;
      res.status(200).json({ status: 'verification_cancelled', workflowId: stopped.workflowId });
      return;
    }
    const started = await deps.verifications.startOrJoin(verification, deps.linkDeadlineMs);
    if (started.kind === 'link-or-reason') deps.metrics?.recordStarted(request.source, Boolean(started.joined));
    if (started.kind === 'deadline') {
      throw new HttpError(
        503,
        'verification_pending',
        'The verification was started but its link is not ready yet; repeat the same request to get it',
        { workflowId: started.workflowId },
        { 'retry-after': '5' },
      );
    }
    if (started.kind === 'already-finished') {
      res.status(200).json({ status: 'verification_completed', workflowId: started.workflowId, outcome: started.state?.outcome });
      return;
    }
    const { result } = started;
    if (result.kind === 'link') {
      // The user confirms the activity on the gateway's page first: the caller gets its signed link, not Incode's.
      const page = result.confirmationPage && result.deadline ? Date.parse(result.deadline) : undefined;
      const pageLink = (workflowId: string, user: string) => deps.confirmationLinks.url({ workflowId, user, expiresAt: page! });
      const accounts = result.accounts?.map((account, index) =>
        page ? { ...account, verificationUrl: pageLink(`${started.workflowId}-account-${index + 1}`, account.user) } : account,
      );
      res.status(200).json({
        verificationUrl: page
          ? accounts
            ? accounts[0].verificationUrl
            : pageLink(started.workflowId, verification.subject.email)
          : result.verificationUrl,
        status: 'verification_initiated',
        workflowId: started.workflowId,
        interviewId: result.interviewId,
        expiresAt: result.expiresAt,
        ...(started.joined ? { joinedVerificationOf: 'a running verification of the same user' } : {}),
        ...(accounts ? { verifications: accounts } : {}),
        ...(page ? { confirmationPage: true } : {}),
      });
      return;
    }
    if (result.status === 'AwaitingReview') {
      res.status(202).json({ status: 'manual_review', workflowId: started.workflowId, reason: result.reason });
      return;
    }
    const status = result.status === 'UserNotFound' || result.status === 'GuestUser' ? 422 : 502;
    res.status(status).json({
      status: 'verification_not_started',
      workflowId: started.workflowId,
      error: {
        code:
          result.status === 'UserNotFound'
            ? 'user_not_in_incode_directory'
            : result.status === 'GuestUser'
              ? 'guest_account'
              : 'incode_session_failed',
        message: result.reason,
      },
      incident: 'escalated',
    });
  });
  return router;
}
