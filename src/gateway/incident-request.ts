import { z } from 'zod';
import { INCIDENT_SEVERITIES, type IncidentSeverity, type IncidentSource, type WorkspaceRef } from '../shared/types';
import type { AccountEntity } from '../clients/sentinel-client';

/** What the gateway understood from a POST /api/incidents body, whichever of the two shapes it came in. */
export interface IncidentRequest {
  source: IncidentSource;
  incidentId: string;
  /** Absent for the simple body: the deployment's default workspace applies. */
  workspace?: WorkspaceRef;
  severity?: IncidentSeverity;
  userEmail?: string;
  accounts: AccountEntity[];
}

const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A missing field "is required"; one of the wrong shape gets `malformed`. */
const requiredOr = (malformed: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : malformed);
const INCIDENT_ID_SHAPE = 'must be 1-128 letters, digits, ".", "_" or "-"';
const incidentIdSchema = z.string({ error: requiredOr(INCIDENT_ID_SHAPE) }).regex(INCIDENT_ID, INCIDENT_ID_SHAPE);
const severitySchema = z.enum(INCIDENT_SEVERITIES);
const ARM_NAME = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._()-]+$/, 'is not a valid Azure resource name');

/** The body from Incode's Sentinel guide. */
const simpleBody = z.strictObject({
  incidentId: incidentIdSchema,
  severity: severitySchema.optional(),
  userEmail: z.email({ error: requiredOr('must be an email address') }).max(254),
});

const accountEntity = z.object({
  kind: z.string(),
  properties: z
    .object({
      accountName: z.string().max(256).optional(),
      upnSuffix: z.string().max(256).optional(),
      aadUserId: z.string().max(64).optional(),
      friendlyName: z.string().max(256).optional(),
      displayName: z.string().max(256).optional(),
    })
    .optional(),
});

/** What a Sentinel automation rule hands a playbook (Microsoft Sentinel incident trigger). */
const playbookBody = z.object({
  objectSchemaType: z.literal('Incident'),
  objectEventType: z.string().optional(),
  workspaceInfo: z.object({ SubscriptionId: z.string(), ResourceGroupName: z.string(), WorkspaceName: z.string() }).partial().optional(),
  object: z.object({
    id: z.string().max(1024).optional(),
    name: incidentIdSchema.optional(),
    properties: z
      .object({
        severity: severitySchema.optional(),
        relatedEntities: z.array(accountEntity).max(200).optional(),
      })
      .optional(),
  }),
});

const INCIDENT_ARM_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.OperationalInsights\/workspaces\/([^/]+)\/providers\/Microsoft\.SecurityInsights\/Incidents\/([^/]+)$/i;

export class IncidentRequestError extends Error {
  override name = 'IncidentRequestError';

  constructor(
    message: string,
    readonly issues: string[],
  ) {
    super(message);
  }
}

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
}

export function parseIncidentRequest(body: unknown): IncidentRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new IncidentRequestError('The body must be a JSON object', []);
  }
  if ('objectSchemaType' in body || 'object' in body) return parsePlaybookBody(body);
  const simple = simpleBody.safeParse(body);
  if (!simple.success) {
    throw new IncidentRequestError(
      'Expected {"incidentId","severity","userEmail"} or a Sentinel incident trigger body',
      issuesOf(simple.error),
    );
  }
  return {
    source: 'simple',
    incidentId: simple.data.incidentId,
    severity: simple.data.severity,
    userEmail: simple.data.userEmail.toLowerCase(),
    accounts: [],
  };
}

function parsePlaybookBody(body: object): IncidentRequest {
  const parsed = playbookBody.safeParse(body);
  if (!parsed.success) throw new IncidentRequestError('Invalid Sentinel incident trigger body', issuesOf(parsed.error));
  const { object, workspaceInfo } = parsed.data;
  const fromId = object.id ? INCIDENT_ARM_ID.exec(object.id) : null;
  if (object.id && !fromId) {
    throw new IncidentRequestError('Invalid Sentinel incident trigger body', ['object.id: is not a Sentinel incident resource id']);
  }
  // The resource id is authoritative; workspaceInfo is the fallback when a trimmed payload lacks it.
  const workspace = fromId
    ? { subscriptionId: fromId[1], resourceGroup: fromId[2], workspaceName: fromId[3] }
    : workspaceInfo?.SubscriptionId && workspaceInfo.ResourceGroupName && workspaceInfo.WorkspaceName
      ? {
          subscriptionId: workspaceInfo.SubscriptionId,
          resourceGroup: workspaceInfo.ResourceGroupName,
          workspaceName: workspaceInfo.WorkspaceName,
        }
      : undefined;
  if (!workspace) {
    throw new IncidentRequestError('Invalid Sentinel incident trigger body', [
      'object.id or workspaceInfo: the workspace cannot be determined',
    ]);
  }
  const names = [ARM_NAME.safeParse(workspace.resourceGroup), ARM_NAME.safeParse(workspace.workspaceName)];
  const guid = /^[0-9a-fA-F-]{36}$/.test(workspace.subscriptionId);
  if (!guid || names.some((result) => !result.success)) {
    throw new IncidentRequestError('Invalid Sentinel incident trigger body', [
      'workspace: subscription, resource group or workspace name is malformed',
    ]);
  }
  const incidentId = fromId?.[4] ?? object.name;
  const idCheck = incidentIdSchema.safeParse(incidentId);
  if (!idCheck.success) {
    throw new IncidentRequestError('Invalid Sentinel incident trigger body', ['object.name: the incident id is missing or malformed']);
  }
  const accounts = (object.properties?.relatedEntities ?? [])
    .filter((entity) => entity.kind === 'Account' && entity.properties)
    .map((entity) => entity.properties as AccountEntity);
  return {
    source: 'sentinel-playbook',
    incidentId: idCheck.data,
    workspace,
    severity: object.properties?.severity,
    accounts,
  };
}

/** UPN = accountName@upnSuffix; Incode knows users by their corporate email, which is the UPN in most tenants. */
export function emailOfAccount(account: AccountEntity): string | undefined {
  if (!account.accountName || !account.upnSuffix) return undefined;
  const candidate = `${account.accountName}@${account.upnSuffix}`.toLowerCase();
  return z.email().safeParse(candidate).success ? candidate : undefined;
}
