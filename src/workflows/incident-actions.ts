import type { IncidentAction, VerificationPolicy, WorkspaceRef } from '../shared/types';
import { actionFor, closeIncident, commentOnIncident, escalateIncident } from './activity-proxies';
import { messages } from './comments';

export interface IncidentTarget {
  workspace: WorkspaceRef;
  incidentId: string;
}

/**
 * The longest audit text a close carries in `classificationComment` alone. Neither ARM's specification of
 * Microsoft.SecurityInsights nor its documentation states a maximum for the field, so this is a conservative
 * bound (a verified verdict's audit is about 1,000 characters); a longer audit also goes into a comment, so
 * nothing is lost if the service cuts the field.
 */
export const CLASSIFICATION_COMMENT_LIMIT = 2_000;

/**
 * Closes the incident as the policy says, with the audit text as its classification comment: one ARM write.
 * A comment is written only where the audit does not reach the incident with the close: an audit longer
 * than the field holds (the field then says where the rest is), or an incident an analyst had already
 * closed (their classification is kept, and the comment says so).
 */
export async function closeWithAudit(incident: IncidentTarget, policy: VerificationPolicy, audit: string): Promise<IncidentAction> {
  const fits = audit.length <= CLASSIFICATION_COMMENT_LIMIT;
  const result = await closeIncident({
    ...incident,
    classification: policy.closeClassification,
    classificationReason: policy.closeClassificationReason,
    classificationComment: fits ? audit : messages.auditInComment(audit, CLASSIFICATION_COMMENT_LIMIT),
  });
  if (result.kind === 'already-closed') {
    await commentOnIncident({ ...incident, commentKey: 'decision', message: audit + messages.analystAlreadyClosed(result.classification) });
  } else if (result.kind === 'updated' && !fits) {
    await commentOnIncident({ ...incident, commentKey: 'decision', message: audit });
  }
  return actionFor(result, 'Closed');
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

/**
 * Raises the incident's severity and labels it as the policy says (one PUT), and comments why under
 * `commentKey` (the second write: an Active incident has no field for the audit).
 */
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
