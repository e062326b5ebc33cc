import { WORKFLOW_TYPES } from '../shared/messages';
import {
  IncidentIdAttribute,
  LinkedIncidentsAttribute,
  VerificationStatusAttribute,
  VerifiedUserAttribute,
} from '../shared/search-attributes';
import type { VerificationStatus } from '../shared/types';
import { queryValue, queryValues } from '../shared/visibility-query';
import { WAITING_STATUSES } from './statuses';

export { WAITING_STATUSES };

/** Both verification workflow types: one per user, and one per multi-account incident. */
export const VERIFICATION_TYPES_CLAUSE = `WorkflowType IN ${queryValues(Object.values(WORKFLOW_TYPES))}`;

/** Seconds are enough and the Web UI shows them that way. */
function timestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * "Stuck verifications": running, waiting for a person, and started more than `olderThanMs` ago. The same
 * text works in the Web UI's workflow filter.
 */
export function stuckVerificationsQuery(olderThanMs: number, now: Date = new Date()): string {
  return [
    VERIFICATION_TYPES_CLAUSE,
    `ExecutionStatus = 'Running'`,
    `${VerificationStatusAttribute.name} IN ${queryValues(WAITING_STATUSES)}`,
    `StartTime < ${queryValue(timestamp(new Date(now.getTime() - olderThanMs)))}`,
  ].join(' AND ');
}

export interface ListFilter {
  /** Only verifications of this deployment (its task queue; another one may use another encryption key). */
  taskQueue?: string;
  /** Running, waiting for a person, and older than `olderThanMs`. */
  stuck?: { olderThanMs: number };
  status?: VerificationStatus;
  user?: string;
  now?: Date;
}

export function listQuery(filter: ListFilter): string {
  const clauses = [filter.stuck ? stuckVerificationsQuery(filter.stuck.olderThanMs, filter.now) : VERIFICATION_TYPES_CLAUSE];
  if (filter.taskQueue) clauses.push(`TaskQueue = ${queryValue(filter.taskQueue)}`);
  if (filter.status) clauses.push(`${VerificationStatusAttribute.name} = ${queryValue(filter.status)}`);
  if (filter.user) clauses.push(`${VerifiedUserAttribute.name} = ${queryValue(filter.user)}`);
  return clauses.join(' AND ');
}

/** Verifications whose own incident is `incidentId` (the workflow id lower-cases it; the attribute keeps it). */
export function byIncidentQuery(incidentId: string, taskQueue: string): string {
  const ids = [...new Set([incidentId, incidentId.toLowerCase()])];
  return `${VERIFICATION_TYPES_CLAUSE} AND TaskQueue = ${queryValue(taskQueue)} AND ${IncidentIdAttribute.name} IN ${queryValues(ids)}`;
}

/** Verifications that `incidentId` joined (a repeat alert for the same user). */
export function byLinkedIncidentQuery(incidentId: string, taskQueue: string): string {
  return (
    `${VERIFICATION_TYPES_CLAUSE} AND TaskQueue = ${queryValue(taskQueue)} AND ${LinkedIncidentsAttribute.name} = ` +
    `${queryValue(incidentId)}`
  );
}
