import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { GraphPermissionError, type EntraUser, type GraphClient, type GraphErrorKind } from '../clients/graph-client';
import { toActivityFailure } from './activity-failure';
import { deterministicGuid } from '../shared/ids';

export type RemediationAction = 'revokeSessions' | 'disableAccount';
export const REMEDIATION_ACTIONS: readonly RemediationAction[] = ['revokeSessions', 'disableAccount'];

export interface EntraProfileLookup {
  profile: EntraUser;
  /** Ids of the groups the user belongs to, directly or through nested groups. */
  groupIds: string[];
}

export interface RemediateAccountInput {
  /** Object id or UPN. */
  user: string;
  actions: RemediationAction[];
}

export interface RemediationResult {
  action: RemediationAction;
  /** `skipped`: Graph refused for lack of privilege; `reason` says which permission or role the app needs. */
  result: 'done' | 'already-done' | 'skipped';
  reason?: string;
}

export interface SendVerificationEmailInput {
  /** Mailbox the message is sent as (a shared mailbox such as security@contoso.com). */
  fromMailbox: string;
  to: string;
  displayName?: string;
  verificationUrl: string;
  /** ISO date-time. */
  expiresAt: string;
  incidentNumber?: number;
}

/** Failure types the workflow can branch on; also what an operator sees in the Web UI. */
export const GraphFailureType = {
  UserNotFound: 'GraphUserNotFound',
  MailboxNotFound: 'GraphMailboxNotFound',
  PermissionDenied: 'GraphPermissionDenied',
  Unauthorized: 'GraphUnauthorized',
  Refused: 'GraphRequestRefused',
} as const;

// Disabling first closes the door before the sessions are cut, so a revoked user cannot sign straight back in.
const EXECUTION_ORDER: readonly RemediationAction[] = ['disableAccount', 'revokeSessions'];

export function createGraphActivities(graph: GraphClient) {
  return {
    /** The user's Entra profile (birthday included when set) and transitive group ids. */
    async lookUpUserProfile(userIdOrUpn: string): Promise<EntraProfileLookup> {
      try {
        const profile = await graph.getUser(userIdOrUpn);
        const groupIds = await graph.memberOfGroupIds(profile.id);
        return { profile, groupIds };
      } catch (error) {
        throw toGraphFailure(error);
      }
    },

    /**
     * Runs each requested action once (duplicates ignored), disabling before revoking whatever the order asked;
     * results come back in the order asked. Every action is idempotent: a disabled account is reported
     * `already-done`, and revoking again only moves the sessions' cut-off to now. A missing permission or role
     * makes that action `skipped` with the explanation; other errors fail the activity (retryable unless 4xx),
     * and the retry finds the actions already done.
     */
    async remediateAccount(input: RemediateAccountInput): Promise<RemediationResult[]> {
      const asked = [...new Set(input.actions)];
      const unknown = asked.filter((action) => !REMEDIATION_ACTIONS.includes(action));
      if (unknown.length > 0) {
        throw ApplicationFailure.nonRetryable(`Unknown remediation action(s): ${unknown.join(', ')}`, 'InvalidRemediationAction');
      }
      const results = new Map<RemediationAction, RemediationResult>();
      for (const action of EXECUTION_ORDER.filter((candidate) => asked.includes(candidate))) {
        try {
          if (action === 'disableAccount') {
            const outcome = await graph.disableAccount(input.user);
            results.set(action, { action, result: outcome === 'already' ? 'already-done' : 'done' });
          } else {
            await graph.revokeSignInSessions(input.user);
            results.set(action, { action, result: 'done' });
          }
        } catch (error) {
          if (error instanceof GraphPermissionError) {
            results.set(action, { action, result: 'skipped', reason: error.message });
            continue;
          }
          throw toGraphFailure(error);
        }
      }
      return asked.map((action) => results.get(action)!);
    },

    /**
     * Mails the verification link (never logged). Graph's sendMail has no idempotency key: a retry after an answer
     * that was lost can deliver the message twice (the client itself never repeats sendMail after a 5xx). Every
     * copy carries the same `x-itdr-verification-id` header, derived from the workflow and the link, so copies
     * are recognisable (message trace, mail flow rules).
     */
    async sendVerificationEmail(input: SendVerificationEmailInput): Promise<{ sent: true }> {
      const verificationId = deterministicGuid(activityWorkflowId(), 'verification-email', input.to.toLowerCase(), input.verificationUrl);
      try {
        await graph.sendMail(input.fromMailbox, {
          to: input.to,
          subject: verificationSubject(input.incidentNumber),
          htmlBody: renderVerificationEmail(input),
          headers: { [VERIFICATION_ID_HEADER]: verificationId },
        });
        return { sent: true };
      } catch (error) {
        throw toGraphFailure(error);
      }
    },
  };
}

export type GraphActivities = ReturnType<typeof createGraphActivities>;

/** Custom header on verification e-mails: the same value on every copy of one verification's message. */
export const VERIFICATION_ID_HEADER = 'x-itdr-verification-id';

function activityWorkflowId(): string {
  try {
    return Context.current().info.workflowExecution?.workflowId ?? 'standalone';
  } catch {
    return 'standalone'; // called outside an activity (tests)
  }
}

export function verificationSubject(incidentNumber?: number): string {
  return incidentNumber === undefined
    ? 'Action required: confirm your recent sign-in'
    : `Action required: confirm your recent sign-in (security incident ${incidentNumber})`;
}

/** A plain HTML message: every value escaped, the link only as an https href. */
export function renderVerificationEmail(input: Pick<SendVerificationEmailInput, 'displayName' | 'verificationUrl' | 'expiresAt' | 'incidentNumber'>): string {
  const url = new URL(input.verificationUrl);
  if (url.protocol !== 'https:') throw ApplicationFailure.nonRetryable('The verification link must be an https URL', 'InvalidVerificationUrl');
  const expires = new Date(input.expiresAt);
  const expiry = Number.isNaN(expires.getTime()) ? input.expiresAt : expires.toISOString().replace('T', ' ').replace(/:\d\d\.\d{3}Z$/, ' UTC');
  const greeting = input.displayName ? `Hello ${escapeHtml(input.displayName)},` : 'Hello,';
  const incident = input.incidentNumber === undefined ? '' : ` (incident ${input.incidentNumber})`;
  return `<!doctype html>
<html lang="en"><body style="font-family: Segoe UI, Arial, sans-serif; color: #1d2630;">
<p>${greeting}</p>
<p>Your security team noticed an unusual sign-in to your account${escapeHtml(incident)} and asks you to confirm it was you
with a short identity check (your ID document and a selfie).</p>
<p><a href="${escapeHtml(url.toString())}" style="display: inline-block; padding: 10px 18px; background: #0f6cbd; color: #ffffff; text-decoration: none; border-radius: 4px;">Verify my identity</a></p>
<p>The link expires on ${escapeHtml(expiry)}. If you did not sign in recently, still complete the check and tell your security team.</p>
<p style="font-size: 12px; color: #5b6875;">Do not forward this message: the link is personal.</p>
</body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const toGraphFailure = (error: unknown): Error =>
  toActivityFailure<GraphErrorKind>(
    error,
    {
      UserNotFound: GraphFailureType.UserNotFound,
      MailboxNotFound: GraphFailureType.MailboxNotFound,
      PermissionDenied: GraphFailureType.PermissionDenied,
      Unauthorized: GraphFailureType.Unauthorized,
    },
    GraphFailureType.Refused,
  );
