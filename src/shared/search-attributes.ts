import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes an operator filters on in the Temporal Web UI, e.g.
 * `VerificationStatus = "AwaitingUser" AND StartTime < "2026-01-01T00:00:00Z"`.
 * The dev server and test servers register exactly this list; a production namespace needs them
 * created once (`temporal operator search-attribute create`), see README.
 * Never put a secret, token or verification link in one: search attributes are not encrypted.
 */
export const IncidentIdAttribute = defineSearchAttributeKey('IncidentId', SearchAttributeType.KEYWORD);
export const IncidentNumberAttribute = defineSearchAttributeKey('IncidentNumber', SearchAttributeType.INT);
export const WorkspaceAttribute = defineSearchAttributeKey('SentinelWorkspace', SearchAttributeType.KEYWORD);
export const VerifiedUserAttribute = defineSearchAttributeKey('VerifiedUser', SearchAttributeType.KEYWORD);
export const VerificationStatusAttribute = defineSearchAttributeKey('VerificationStatus', SearchAttributeType.KEYWORD);
export const IncidentSeverityAttribute = defineSearchAttributeKey('IncidentSeverity', SearchAttributeType.KEYWORD);
export const InterviewIdAttribute = defineSearchAttributeKey('IncodeInterviewId', SearchAttributeType.KEYWORD);
/** What Incode last reported: `NotStarted` means the link was never opened. */
export const SessionStateAttribute = defineSearchAttributeKey('IncodeSessionState', SearchAttributeType.KEYWORD);
/** Which policy rules applied (POLICY_FILE), e.g. "privileged accounts". */
export const PolicyAttribute = defineSearchAttributeKey('VerificationPolicy', SearchAttributeType.KEYWORD);
/** Other incidents of the same user that joined this verification. */
export const LinkedIncidentsAttribute = defineSearchAttributeKey('LinkedIncidentIds', SearchAttributeType.KEYWORD_LIST);

export const ALL_SEARCH_ATTRIBUTES = [
  IncidentIdAttribute,
  IncidentNumberAttribute,
  WorkspaceAttribute,
  VerifiedUserAttribute,
  VerificationStatusAttribute,
  IncidentSeverityAttribute,
  InterviewIdAttribute,
  SessionStateAttribute,
  LinkedIncidentsAttribute,
  PolicyAttribute,
] as const;

/** `Name=Type` pairs as `temporal server start-dev --search-attribute` and `operator search-attribute create` take them. */
export function searchAttributeCliArgs(): string[] {
  const typeName: Record<string, string> = {
    KEYWORD: 'Keyword',
    INT: 'Int',
    TEXT: 'Text',
    BOOL: 'Bool',
    DATETIME: 'Datetime',
    DOUBLE: 'Double',
    KEYWORD_LIST: 'KeywordList',
  };
  return ALL_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${typeName[key.type]}`]);
}
