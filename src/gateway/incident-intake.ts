import type { SentinelClient } from '../clients/sentinel-client';
import { deterministicGuid } from '../shared/ids';
import type { IncidentActivity, VerificationPolicy, VerificationRequest, VerificationSubject, WorkspaceRef } from '../shared/types';
import { resolvePolicy, type PolicyDocument } from '../policy/policy-document';
import { HttpError } from './http-error';
import { emailOfAccount, type IncidentRequest } from './incident-request';
import { BudgetExhaustedError } from '../clients/token-bucket';
import type { AlertSummary, IncidentEntities, IncidentSnapshot } from '../clients/sentinel-client';
import type { SubscriptionIntake } from './subscription-intake';

export interface IntakeOptions {
  sentinel: SentinelClient;
  defaultWorkspace: WorkspaceRef;
  allowedWorkspaces: readonly WorkspaceRef[];
  policy: VerificationPolicy;
  policyDocument?: PolicyDocument;
  /**
   * An account's mail address in Entra ID (Graph `mail`), read only when the caller's `userEmail` is none of the
   * incident's UPNs: Sentinel's account entities carry no mail. Absent without GRAPH_ENDPOINT.
   */
  mailOf?: (idOrUpn: string) => Promise<string | undefined>;
  /** Each subscription's share of new incidents; a tenant beyond it is refused before anything is read. */
  subscriptionIntake?: SubscriptionIntake;
}

function sameWorkspace(a: WorkspaceRef, b: WorkspaceRef): boolean {
  return (
    a.subscriptionId.toLowerCase() === b.subscriptionId.toLowerCase() &&
    a.resourceGroup.toLowerCase() === b.resourceGroup.toLowerCase() &&
    a.workspaceName.toLowerCase() === b.workspaceName.toLowerCase()
  );
}

/** More accounts than this in one incident is a mass event for analysts, not a prompt to each user. */
const MAX_ACCOUNTS = 10;

export type PreparedVerification = VerificationRequest & { subjects: VerificationSubject[] };

/**
 * Turns a validated request into a workflow input, checking it against Sentinel first: the incident must
 * exist in a workspace this deployment serves, be open, and name a user. The incident as Sentinel holds it
 * is trusted over what the caller claims (title, number, severity).
 */
export async function prepareVerification(
  options: IntakeOptions,
  request: IncidentRequest,
  requestedBy: string,
): Promise<PreparedVerification> {
  const workspace = request.workspace ?? options.defaultWorkspace;
  const served = options.allowedWorkspaces.find((candidate) => sameWorkspace(candidate, workspace));
  if (!served) {
    throw new HttpError(403, 'workspace_not_served', `Workspace ${workspace.workspaceName} is not served by this deployment`);
  }
  await options.subscriptionIntake?.admit(served);
  // The incident, its entities and its alerts, read at once with the gateway's own identity: Sentinel, not
  // the caller, says who is verified and what they are asked to confirm.
  const reads = [
    options.sentinel.getIncident(served, request.incidentId),
    options.sentinel.listEntities(served, request.incidentId),
    options.sentinel.listAlerts(served, request.incidentId),
  ] as const;
  const settled = await Promise.allSettled(reads);
  const incident = await reads[0];
  if (!incident) {
    throw new HttpError(404, 'unknown_incident', `Incident ${request.incidentId} does not exist in workspace ${served.workspaceName}`);
  }
  if (incident.status === 'Closed') {
    throw new HttpError(409, 'incident_closed', `Incident ${request.incidentId} is already closed; no verification was started`);
  }
  const budgetRefusal = settled.find((result) => result.status === 'rejected' && result.reason instanceof BudgetExhaustedError);
  if (budgetRefusal) throw (budgetRefusal as PromiseRejectedResult).reason;
  const [entities, alerts] = [await reads[1], await reads[2]];

  // The caller's userEmail and relatedEntities are hints: the subjects are the incident's own accounts.
  const accounts = entities.accounts.filter((candidate) => emailOfAccount(candidate));
  const subjects: VerificationSubject[] = accounts.map((account) => ({
    email: emailOfAccount(account)!,
    upn: emailOfAccount(account),
    aadUserId: account.aadUserId,
    displayName: account.friendlyName ?? account.displayName,
  }));
  const unique = subjects.filter((subject, index) => subjects.findIndex((other) => other.email === subject.email) === index);
  if (unique.length === 0) {
    await options.sentinel.upsertComment(
      served,
      request.incidentId,
      deterministicGuid('no-account', served.workspaceName, request.incidentId),
      '[itdr-verify] No identity verification was started: the incident has no account entity with a user principal name. ' +
        'Verify the user manually.',
    );
    throw new HttpError(422, 'no_account', `Incident ${request.incidentId} names no user account to verify`);
  }
  if (request.userEmail) {
    const wanted = request.userEmail.toLowerCase();
    const named = unique.find((subject) => subject.email === wanted) ?? (await accountWithMail(options, unique, wanted));
    if (!named) {
      throw new HttpError(
        422,
        'user_not_in_incident',
        `${request.userEmail} is not one of incident ${request.incidentId}'s accounts in Sentinel; no verification was started`,
      );
    }
    // The named account first: the simple body's answer describes its verification.
    unique.splice(unique.indexOf(named), 1);
    unique.unshift(named);
  }
  if (unique.length > MAX_ACCOUNTS) {
    throw new HttpError(
      422,
      'too_many_accounts',
      `Incident ${request.incidentId} names ${unique.length} accounts; at most ${MAX_ACCOUNTS} are verified automatically`,
    );
  }

  return {
    subjects: unique,
    subjectNamedBy: 'sentinel',
    activity: activityOf(request.incidentId, incident, entities, alerts),
    incidentId: request.incidentId,
    incidentNumber: incident.incidentNumber,
    incidentTitle: incident.title,
    incidentSeverity: incident.severity ?? request.severity,
    workspace: served,
    subject: unique[0],
    source: request.source,
    requestedBy,
    policy: resolvePolicy(options.policy, options.policyDocument, incident.severity ?? request.severity),
  };
}

/**
 * The incident's account whose Entra ID mail is `wanted`, if one is. The subject stays the account Sentinel names
 * (its UPN); the mail only says which of them the caller meant. A lookup that fails counts as no match, so the
 * request is refused (422) rather than started on a guess.
 */
async function accountWithMail(
  options: IntakeOptions,
  subjects: VerificationSubject[],
  wanted: string,
): Promise<VerificationSubject | undefined> {
  if (!options.mailOf || subjects.length > MAX_ACCOUNTS) return undefined;
  const mails = await Promise.allSettled(subjects.map((subject) => options.mailOf!(subject.aadUserId ?? subject.email)));
  const index = mails.findIndex((mail) => mail.status === 'fulfilled' && mail.value === wanted);
  return index >= 0 ? subjects[index] : undefined;
}

/** At most this many values per field, each at most this long: the activity travels in workflow payloads. */
const MAX_VALUES = 10;
const MAX_VALUE_LENGTH = 200;

function listOf(values: Array<string | undefined>): string[] {
  const kept = values.filter((value): value is string => Boolean(value)).map((value) => value.slice(0, MAX_VALUE_LENGTH));
  return [...new Set(kept)].slice(0, MAX_VALUES);
}

/** What the user is asked to confirm, from the incident, its alerts and its entities. */
export function activityOf(
  incidentId: string,
  incident: IncidentSnapshot,
  entities: IncidentEntities,
  alerts: AlertSummary[],
): IncidentActivity {
  const times = alerts
    .map((alert) => alert.startTime)
    .filter((time): time is string => Boolean(time))
    .sort();
  return {
    incidentId,
    incidentNumber: incident.incidentNumber,
    title: incident.title?.slice(0, MAX_VALUE_LENGTH),
    time: times[0],
    alerts: listOf(alerts.map((alert) => alert.displayName)),
    ipAddresses: listOf(entities.ipAddresses.map((ip) => ip.address)),
    locations: listOf(entities.ipAddresses.map((ip) => ip.location)),
    applications: listOf(entities.applications),
    clients: listOf(alerts.flatMap((alert) => [alert.clientApp, alert.userAgent])),
    devices: listOf(entities.hosts),
  };
}
