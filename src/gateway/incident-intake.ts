import type { SentinelClient } from '../clients/sentinel-client';
import { deterministicGuid } from '../shared/ids';
import type { VerificationPolicy, VerificationRequest, WorkspaceRef } from '../shared/types';
import { HttpError } from './http-error';
import { emailOfAccount, type IncidentRequest } from './incident-request';

export interface IntakeOptions {
  sentinel: SentinelClient;
  defaultWorkspace: WorkspaceRef;
  allowedWorkspaces: readonly WorkspaceRef[];
  policy: VerificationPolicy;
}

function sameWorkspace(a: WorkspaceRef, b: WorkspaceRef): boolean {
  return (
    a.subscriptionId.toLowerCase() === b.subscriptionId.toLowerCase() &&
    a.resourceGroup.toLowerCase() === b.resourceGroup.toLowerCase() &&
    a.workspaceName.toLowerCase() === b.workspaceName.toLowerCase()
  );
}

/**
 * Turns a validated request into a workflow input, checking it against Sentinel first: the incident must
 * exist in a workspace this deployment serves, be open, and name a user. The incident as Sentinel holds it
 * is trusted over what the caller claims (title, number, severity).
 */
export async function prepareVerification(
  options: IntakeOptions,
  request: IncidentRequest,
  requestedBy: string,
): Promise<VerificationRequest> {
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

  let email = request.userEmail;
  let account = request.accounts.find((candidate) => emailOfAccount(candidate));
  if (!email && !account) {
    // A trimmed trigger payload may lack relatedEntities: ask Sentinel for the incident's entities.
    account = (await options.sentinel.listAccounts(served, request.incidentId)).find((candidate) => emailOfAccount(candidate));
  }
  email ??= account && emailOfAccount(account);
  if (!email) {
    await options.sentinel.upsertComment(
      served,
      request.incidentId,
      deterministicGuid('no-account', served.workspaceName, request.incidentId),
      '[itdr-verify] No identity verification was started: the incident has no account entity with a user principal name. Verify the user manually.',
    );
    throw new HttpError(422, 'no_account', `Incident ${request.incidentId} names no user account to verify`);
  }

  return {
    incidentId: request.incidentId,
    incidentNumber: incident.incidentNumber,
    incidentTitle: incident.title,
    incidentSeverity: incident.severity ?? request.severity,
    workspace: served,
    subject: {
      email,
      upn: account ? emailOfAccount(account) : undefined,
      aadUserId: account?.aadUserId,
      displayName: account?.friendlyName ?? account?.displayName,
    },
    source: request.source,
    requestedBy,
    policy: options.policy,
  };
}
