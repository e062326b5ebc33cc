import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { EntraUser, GraphClient } from '../clients/graph-client';
import { GraphPermissionError, type GraphErrorKind } from '../clients/graph-errors';
import { toActivityFailure } from './activity-failure';
import { deterministicGuid } from '../shared/ids';
import type { IncidentActivity } from '../shared/types';
import type { ConfirmationLinks } from '../confirmation/confirmation-link';

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
  /**
   * The seed's direct Incode link (policy `verificationLink: incode-direct`). Absent: the mail carries the
   * confirmation page's link, which this activity signs (it never enters the workflow's history).
   */
  verificationUrl?: string;
  /** ISO date-time: when the link stops working. */
  expiresAt: string;
  incidentNumber?: number;
  /** The activities the user is asked to confirm. */
  activities?: IncidentActivity[];
  /** The how-many-th reminder this is (absent: the first message). */
  reminder?: number;
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

export function createGraphActivities(graph: GraphClient, confirmationLinks?: ConfirmationLinks) {
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
     * that was lost can deliver the message twice (the client itself never repeats sendMail). Every
     * copy carries the same `x-itdr-verification-id` header, derived from the workflow and the link, so copies
     * are recognisable (message trace, mail flow rules).
     */
    async sendVerificationEmail(input: SendVerificationEmailInput): Promise<{ sent: true }> {
      const workflowId = activityWorkflowId();
      let link = input.verificationUrl;
      if (!link) {
        if (!confirmationLinks) {
          throw ApplicationFailure.nonRetryable(
            'CONFIRMATION_PAGE_URL is not set on this worker: it cannot mail the confirmation page link',
            'ConfirmationPageNotConfigured',
          );
        }
        link = confirmationLinks.url({ workflowId, user: input.to, expiresAt: Date.parse(input.expiresAt) });
      }
      const verificationId = deterministicGuid(workflowId, 'verification-email', input.to.toLowerCase(), link, String(input.reminder ?? 0));
      try {
        await graph.sendMail(input.fromMailbox, {
          to: input.to,
          subject: verificationSubject(input.incidentNumber, input.reminder),
          htmlBody: renderVerificationEmail({ ...input, verificationUrl: link }),
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

export function verificationSubject(incidentNumber?: number, reminder?: number): string {
  const prefix = reminder ? `Reminder ${reminder} - action required` : 'Action required';
  return incidentNumber === undefined
    ? `${prefix}: confirm your recent sign-in`
    : `${prefix}: confirm your recent sign-in (security incident ${incidentNumber})`;
}

/** A plain HTML message: every value escaped, the link only as an https href (http only for a loopback host). */
export function renderVerificationEmail(
  input: Pick<SendVerificationEmailInput, 'displayName' | 'expiresAt' | 'incidentNumber' | 'activities' | 'reminder'> & {
    verificationUrl: string;
  },
): string {
  const url = new URL(input.verificationUrl);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw ApplicationFailure.nonRetryable('The verification link must be an https URL', 'InvalidVerificationUrl');
  }
  const expiry = formatTime(input.expiresAt) ?? input.expiresAt;
  const greeting = input.displayName ? `Hello ${escapeHtml(input.displayName)},` : 'Hello,';
  const incident = input.incidentNumber === undefined ? '' : ` (incident ${input.incidentNumber})`;
  const activities = (input.activities ?? []).map((activity) => {
    const rows: Array<[string, string]> = (
      [
        ['When', formatTime(activity.time)],
        ['IP address', activity.ipAddresses.join(', ')],
        ['Location', activity.locations.join('; ')],
        ['Application', activity.applications.join(', ')],
        ['Client', activity.clients.join('; ')],
        ['Device', activity.devices.join('; ')],
      ] as Array<[string, string | undefined]>
    ).filter((row): row is [string, string] => Boolean(row[1]));
    const details = rows.map(([term, value]) => `${escapeHtml(term)}: ${escapeHtml(value)}`).join('<br>');
    return `<p><strong>${escapeHtml(activity.title ?? 'Suspicious activity')}</strong><br>${details}</p>`;
  });
  const confirm = input.activities !== undefined;
  const ask = confirm
    ? ' and asks you whether it was you:'
    : ' and asks you to confirm it was you with a short identity check (your ID document and a selfie).';
  return (
    `<!doctype html>
<html lang="en"><body style="font-family: Segoe UI, Arial, sans-serif; color: #1d2630;">
<p>${greeting}</p>
${input.reminder ? `<p>This is reminder ${input.reminder}: we have not had your answer yet.</p>\n` : ''}<p>Your security team ` +
    `noticed an unusual sign-in to your ` +
    `account${escapeHtml(incident)}${ask}</p>
${activities.join('\n')}
<p><a href="${escapeHtml(url.toString())}" style="display: inline-block; padding: 10px 18px; background: #0f6cbd; color: #ffffff; ` +
    `text-decoration: none; border-radius: 4px;">${confirm ? 'Review this sign-in' : 'Verify my identity'}</a></p>
<p>${
      confirm
        ? 'On that page, choose "This was me" to go on to a short identity check (your ID document and a selfie), or "This ' +
          'wasn&#39;t me" if you do not recognise it.'
        : 'If you did not sign in recently, do not complete the check: report it to your security team.'
    } ` +
    `The link expires on ${escapeHtml(expiry)}.</p>
<p>If you did not expect this message, do not enter any password: report it to your security team (choosing "This wasn&#39;t me" ` +
    `on the page reports it too). We never ask for your password or codes.</p>
<p style="font-size: 12px; color: #5b6875;">Do not forward this message: the link is personal.</p>
</body></html>
`
  );
}

function formatTime(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? undefined
    : date
        .toISOString()
        .replace('T', ' ')
        .replace(/:\d\d\.\d{3}Z$/, ' UTC');
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
