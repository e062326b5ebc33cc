import type { IncidentAction, VerificationPolicy, WorkspaceRef } from '../shared/types';
import { actionFor, closeIncident, commentOnIncident, escalateIncident } from './activity-proxies';
import { messages } from './comments';

export interface IncidentTarget {
  workspace: WorkspaceRef;
  incidentId: string;
}

/** Closes the incident as the policy says and comments why; an analyst's earlier close is kept, and noted. */
export async function closeWithComment(incident: IncidentTarget, policy: VerificationPolicy, reason: string): Promise<IncidentAction> {
  const result = await closeIncident({
    ...incident,
    classification: policy.closeClassification,
    classificationReason: policy.closeClassificationReason,
    classificationComment: reason,
  });
  const note = result.kind === 'already-closed' ? messages.analystAlreadyClosed(result.classification) : '';
  await commentOnIncident({ ...incident, commentKey: 'decision', message: reason + note });
  return actionFor(result, 'Closed');
}

/** Raises the incident's severity and labels it as the policy says, and comments why (under `commentKey`). */
export async function escalateWithComment(
  incident: IncidentTarget,
  policy: VerificationPolicy,
  commentKey: string,
  comment: string,
): Promise<IncidentAction> {
  const result = await escalateIncident({ ...incident, severity: policy.escalationSeverity, label: policy.failureLabel });
  const note = result.kind === 'already-closed' ? messages.analystAlreadyClosed(result.classification) : '';
  await commentOnIncident({ ...incident, commentKey, message: comment + note });
  return actionFor(result, 'Escalated');
}
