import type { SentinelClient } from '../clients/sentinel-client';
import { deterministicGuid } from '../shared/ids';
import type { VerificationPolicy, VerificationRequest, VerificationSubject, WorkspaceRef } from '../shared/types';
import { resolvePolicy, type PolicyDocument } from '../policy/policy-document';
import { HttpError } from './http-error';
import { emailOfAccount, type IncidentRequest } from './incident-request';

export interface IntakeOptions {
  sentinel: SentinelClient;
  defaultWorkspace: WorkspaceRef;
  allowedWorkspaces: readonly WorkspaceRef[];
  policy: VerificationPolicy;
  policyDocument?: PolicyDocument;
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
  const incident = await options.sentinel.getIncident(served, request.incidentId);
  if (!incident) {
    throw new HttpError(404, 'unknown_incident', `Incident ${request.incidentId} does not exist in workspace ${served.workspaceName}`);
  }
  if (incident.status === 'Closed') {
    throw new HttpError(409, 'incident_closed', `Incident ${request.incidentId} is already closed; no verification was started`);
  }

  let accounts = request.accounts.filter((candidate) => emailOfAccount(candidate));
  if (!request.userEmail && accounts.length === 0) {
    // A trimmed trigger payload may lack relatedEntities: ask Sentinel for the incident's entities.
    accounts = (await options.sentinel.listAccounts(served, request.incidentId)).filter((candidate) => emailOfAccount(candidate));
  }
  // The simple body names its user; a Sentinel incident may name several accounts (one verification each).
  const subjects: VerificationSubject[] = request.userEmail
    ? [{ email: request.userEmail }]
    : accounts.map((account) => ({
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
      '[itdr-verify] No identity verification was started: the incident has no account entity with a user principal name. Verify the user manually.',
    );
    throw new HttpError(422, 'no_account', `Incident ${request.incidentId} names no user account to verify`);
  }
  if (unique.length > MAX_ACCOUNTS) {
    throw new HttpError(422, 'too_many_accounts', `Incident ${request.incidentId} names ${unique.length} accounts; at most ${MAX_ACCOUNTS} are verified automatically`);
  }

  return {
    subjects: unique,
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
