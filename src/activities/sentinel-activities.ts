import { Context } from '@temporalio/activity';
import type { Incident } from '@azure/arm-securityinsight';
import { ApplicationFailure } from '@temporalio/common';
import { SentinelClient, statusOf } from '../clients/sentinel-client';
import { deterministicGuid } from '../shared/ids';
import type { IncidentSeverity, IncidentUpdateResult, WorkspaceRef } from '../shared/types';

export interface IncidentRef {
  workspace: WorkspaceRef;
  incidentId: string;
}

export interface CommentInput extends IncidentRef {
  /** Names the step ("requested", "decision"...); the comment id derives from it and the workflow id. */
  commentKey: string;
  message: string;
}

export interface CloseInput extends IncidentRef {
  classification: string;
  classificationReason: string;
  classificationComment: string;
}

export interface EscalateInput extends IncidentRef {
  severity: IncidentSeverity;
  label: string;
}

const SEVERITY_RANK: Record<string, number> = { Informational: 0, Low: 1, Medium: 2, High: 3 };

export function createSentinelActivities(sentinel: SentinelClient) {
  return {
    async commentOnIncident(input: CommentInput): Promise<IncidentUpdateResult> {
      const workflowId = Context.current().info.workflowExecution?.workflowId ?? 'standalone';
      const commentId = deterministicGuid(workflowId, input.incidentId, input.commentKey);
      try {
        await sentinel.upsertComment(input.workspace, input.incidentId, commentId, input.message);
        return { kind: 'updated' };
      } catch (error) {
        if (statusOf(error) === 404) return { kind: 'not-found' };
        throw toActivityFailure(error);
      }
    },

    /** Closes the incident unless an analyst already did; an analyst's decision is never overwritten. */
    async closeIncident(input: CloseInput): Promise<IncidentUpdateResult> {
      // A retry (of the SDK or of Temporal) after a close whose answer was lost finds the incident closed by
      // that very close: its classification comment is this decision's text, which no analyst writes.
      let closedByThisDecision = false;
      try {
        const result = await sentinel.modifyIncident(input.workspace, input.incidentId, (incident): Incident | undefined => {
          closedByThisDecision =
            incident.status === 'Closed' &&
            incident.classification === input.classification &&
            incident.classificationComment === input.classificationComment;
          if (incident.status === 'Closed') return undefined;
          return {
            ...incident,
            status: 'Closed',
            classification: input.classification,
            classificationReason: input.classificationReason,
            classificationComment: input.classificationComment,
          };
        });
        return closedByThisDecision ? { kind: 'updated' } : updateResult(result);
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /** Raises severity (never lowers it), makes the incident Active and labels it; a closed incident is left closed. */
    async escalateIncident(input: EscalateInput): Promise<IncidentUpdateResult> {
      try {
        const result = await sentinel.modifyIncident(input.workspace, input.incidentId, (incident): Incident | undefined => {
          if (incident.status === 'Closed') return undefined;
          const labels = incident.labels ?? [];
          const severity =
            (SEVERITY_RANK[incident.severity ?? 'Informational'] ?? 0) >= SEVERITY_RANK[input.severity]
              ? incident.severity
              : input.severity;
          const hasLabel = labels.some((label) => label.labelName === input.label);
          if (incident.status === 'Active' && severity === incident.severity && hasLabel) return undefined;
          return {
            ...incident,
            severity,
            status: 'Active',
            labels: hasLabel ? labels : [...labels, { labelName: input.label }],
          };
        });
        return updateResult(result);
      } catch (error) {
        throw toActivityFailure(error);
      }
    },
  };
}

function updateResult(result: Awaited<ReturnType<SentinelClient['modifyIncident']>>): IncidentUpdateResult {
  if (result.kind === 'not-found') return { kind: 'not-found' };
  if (result.kind === 'unchanged' && result.incident.status === 'Closed') {
    return { kind: 'already-closed', classification: result.incident.classification };
  }
  return { kind: 'updated' };
}

/** 401/403 will not heal by retrying: say which role is missing instead of retrying for hours. */
function toActivityFailure(error: unknown): Error {
  const status = statusOf(error);
  if (status === 401 || status === 403) {
    return ApplicationFailure.nonRetryable(
      `Sentinel refused the change (HTTP ${status}): the worker's identity needs the Microsoft Sentinel Responder role on the ` +
        `workspace's resource group`,
      'SentinelForbidden',
    );
  }
  if (status === 400) {
    return ApplicationFailure.nonRetryable(`Sentinel rejected the request: ${(error as Error).message}`, 'SentinelBadRequest');
  }
  return error as Error;
}
