import { randomUUID } from 'node:crypto';
import type { WorkspaceRef } from './options';

export const SEVERITIES = ['High', 'Medium', 'Low', 'Informational'] as const;
export const STATUSES = ['New', 'Active', 'Closed'] as const;
export const CLASSIFICATIONS = ['Undetermined', 'TruePositive', 'BenignPositive', 'FalsePositive'] as const;
export const CLASSIFICATION_REASONS = ['SuspiciousActivity', 'SuspiciousButExpected', 'IncorrectAlertLogic', 'InaccurateData'] as const;

export type Severity = (typeof SEVERITIES)[number];
export type IncidentStatus = (typeof STATUSES)[number];
export type Classification = (typeof CLASSIFICATIONS)[number];
export type ClassificationReason = (typeof CLASSIFICATION_REASONS)[number];

/** Which reasons go with which classification, as Sentinel's documentation pairs them. */
export const REASONS_FOR: Record<Classification, readonly ClassificationReason[]> = {
  Undetermined: [],
  TruePositive: ['SuspiciousActivity'],
  BenignPositive: ['SuspiciousButExpected'],
  FalsePositive: ['IncorrectAlertLogic', 'InaccurateData'],
};

export interface IncidentOwner {
  objectId?: string | null;
  email?: string | null;
  assignedTo?: string | null;
  userPrincipalName?: string | null;
  ownerType?: 'Unknown' | 'User' | 'Group' | null;
}

export interface IncidentLabel {
  labelName: string;
  labelType?: 'User' | 'AutoAssigned';
}

/** The fields a PUT replaces; everything else in `properties` is the service's own. */
export interface WritableIncidentProperties {
  title: string;
  description?: string | null;
  severity: Severity;
  status: IncidentStatus;
  classification?: Classification | null;
  classificationReason?: ClassificationReason | null;
  classificationComment?: string | null;
  owner?: IncidentOwner | null;
  labels?: IncidentLabel[] | null;
  firstActivityTimeUtc?: string | null;
  lastActivityTimeUtc?: string | null;
}

export const WRITABLE_FIELDS = [
  'title',
  'description',
  'severity',
  'status',
  'classification',
  'classificationReason',
  'classificationComment',
  'owner',
  'labels',
  'firstActivityTimeUtc',
  'lastActivityTimeUtc',
] as const satisfies readonly (keyof WritableIncidentProperties)[];

export interface IncidentProperties extends WritableIncidentProperties {
  owner: IncidentOwner;
  labels: IncidentLabel[];
  incidentNumber: number;
  incidentUrl: string;
  createdTimeUtc: string;
  lastModifiedTimeUtc: string;
  providerName: string;
  providerIncidentId: string;
  relatedAnalyticRuleIds: string[];
  additionalData: {
    alertsCount: number;
    bookmarksCount: number;
    commentsCount: number;
    alertProductNames: string[];
    tactics: string[];
    techniques: string[];
  };
}

export interface IncidentResource {
  id: string;
  name: string;
  type: 'Microsoft.SecurityInsights/Incidents';
  etag: string;
  properties: IncidentProperties;
}

export interface AccountInput {
  accountName: string;
  upnSuffix: string;
  aadUserId?: string;
  friendlyName?: string;
  displayName?: string;
}

/** An IP address entity, with the location Sentinel's enrichment adds. */
export interface IpInput {
  address: string;
  city?: string;
  countryName?: string;
  countryCode?: string;
}

export interface HostInput {
  hostName: string;
  osFamily?: string;
  osVersion?: string;
}

/** An alert of the incident: what happened, when, from which product and client. */
export interface AlertInput {
  displayName: string;
  startTimeUtc?: string;
  productName?: string;
  /** The sign-in's client (Entra ID Protection's "Client App"), kept in the alert's additionalData. */
  clientApp?: string;
  userAgent?: string;
}

export type EntityResource =
  | {
      id: string;
      name: string;
      type: 'Microsoft.SecurityInsights/Entities';
      kind: 'Account';
      properties: AccountInput & { friendlyName: string; isDomainJoined: boolean; additionalData: Record<string, unknown> };
    }
  | {
      id: string;
      name: string;
      type: 'Microsoft.SecurityInsights/Entities';
      kind: 'Ip';
      properties: {
        address: string;
        friendlyName: string;
        location?: { city?: string; countryName?: string; countryCode?: string };
        additionalData: Record<string, unknown>;
      };
    }
  | {
      id: string;
      name: string;
      type: 'Microsoft.SecurityInsights/Entities';
      kind: 'Host';
      properties: HostInput & { friendlyName: string; additionalData: Record<string, unknown> };
    }
  | {
      id: string;
      name: string;
      type: 'Microsoft.SecurityInsights/Entities';
      kind: 'CloudApplication';
      properties: { appName: string; friendlyName: string; additionalData: Record<string, unknown> };
    };

export interface AlertResource {
  id: string;
  name: string;
  type: 'Microsoft.SecurityInsights/Entities';
  kind: 'SecurityAlert';
  properties: {
    alertDisplayName: string;
    friendlyName: string;
    startTimeUtc: string;
    timeGenerated: string;
    productName: string;
    status: 'New';
    additionalData: Record<string, unknown>;
  };
}

export interface CommentResource {
  id: string;
  name: string;
  type: 'Microsoft.SecurityInsights/Incidents/Comments';
  etag: string;
  properties: {
    message: string;
    createdTimeUtc: string;
    lastModifiedTimeUtc: string;
    author: { objectId?: string; name?: string; email?: string; userPrincipalName?: string };
  };
}

export type AuditKind =
  'incidentCreated' | 'incidentUpdated' | 'incidentDeleted' | 'analystEdit' | 'commentCreated' | 'commentUpdated' | 'commentDeleted';

/** One successful write to an incident or its comments. */
export interface AuditEntry {
  at: Date;
  kind: AuditKind;
  /** Client id of the identity that wrote, "analyst" for simulateAnalystEdit, "seed" for seedIncident. */
  actor: string;
  etagBefore?: string;
  etagAfter?: string;
  commentId?: string;
  /** Field → {from, to}, only fields whose value changed. */
  changes: Record<string, { from: unknown; to: unknown }>;
}

export interface SeedIncidentInput {
  incidentId?: string;
  title: string;
  description?: string;
  severity: Severity;
  status?: IncidentStatus;
  owner?: IncidentOwner;
  labels?: IncidentLabel[];
  accounts?: AccountInput[];
  ipAddresses?: IpInput[];
  hosts?: HostInput[];
  /** Cloud applications signed in to (entity kind CloudApplication). */
  applications?: string[];
  alerts?: AlertInput[];
  workspace?: Partial<WorkspaceRef>;
}

export interface WorkspaceInfo extends WorkspaceRef {
  /** The Log Analytics customer id, as playbook triggers carry it. */
  workspaceId: string;
}

/** The outcome of a write coming over HTTP: the resource, or an ARM error. */
export type WriteResult<T> = { ok: true; status: 200 | 201; resource: T } | { ok: false; status: number; code: string; message: string };

interface StoredIncident {
  workspace: WorkspaceInfo;
  name: string;
  etag: string;
  properties: IncidentProperties;
  entities: EntityResource[];
  alerts: AlertResource[];
  comments: Map<string, CommentResource>;
  audit: AuditEntry[];
}

interface Workspace {
  info: WorkspaceInfo;
  incidents: Map<string, StoredIncident>;
}

/** Everything the store holds, for `npm run dev`'s DEV_PERSIST=1 (Maps and Dates kept; see tools/dev/simulator-state.ts). */
export interface SentinelSnapshot {
  nextIncidentNumber: number;
  workspaces: Array<[string, unknown]>;
}

export class SentinelStore {
  private readonly workspaces = new Map<string, Workspace>();
  private nextIncidentNumber = 1;
  readonly defaultWorkspace: WorkspaceInfo;

  constructor(defaultWorkspace: WorkspaceRef) {
    this.defaultWorkspace = this.addWorkspace(defaultWorkspace);
  }

  addWorkspace(ref: WorkspaceRef): WorkspaceInfo {
    const key = workspaceKey(ref);
    const existing = this.workspaces.get(key);
    if (existing) return { ...existing.info };
    const info: WorkspaceInfo = { ...ref, workspaceId: randomUUID() };
    this.workspaces.set(key, { info, incidents: new Map() });
    return { ...info };
  }

  snapshot(): SentinelSnapshot {
    return { nextIncidentNumber: this.nextIncidentNumber, workspaces: [...this.workspaces.entries()] };
  }

  /** Replaces the whole state with a snapshot taken earlier (by this version of the simulator). */
  restore(snapshot: SentinelSnapshot): void {
    this.workspaces.clear();
    for (const [key, workspace] of snapshot.workspaces) this.workspaces.set(key, workspace as Workspace);
    this.nextIncidentNumber = snapshot.nextIncidentNumber;
    const restoredDefault = this.workspaces.get(workspaceKey(this.defaultWorkspace));
    if (restoredDefault) Object.assign(this.defaultWorkspace, restoredDefault.info);
    else this.addWorkspace(this.defaultWorkspace);
  }

  listWorkspaces(): WorkspaceInfo[] {
    return [...this.workspaces.values()].map((workspace) => ({ ...workspace.info }));
  }

  hasWorkspace(ref: WorkspaceRef): boolean {
    return this.workspaces.has(workspaceKey(ref));
  }

  seedIncident(input: SeedIncidentInput): IncidentResource {
    const workspace = this.workspace({ ...this.defaultWorkspace, ...stripUndefined(input.workspace ?? {}) }, true);
    const name = input.incidentId ?? randomUUID();
    if (workspace.incidents.has(name.toLowerCase())) throw new Error(`incident ${name} already exists`);
    const incident = this.createStored(workspace, name, {
      title: input.title,
      description: input.description,
      severity: input.severity,
      status: input.status ?? 'New',
      owner: input.owner,
      labels: input.labels,
    });
    incident.entities = [
      ...(input.accounts ?? []).map((account) => accountEntity(incident, account)),
      ...(input.ipAddresses ?? []).map((ip) => otherEntity(incident, ipEntityProperties(ip))),
      ...(input.hosts ?? []).map((host) =>
        otherEntity(incident, { kind: 'Host', properties: { ...stripUndefined(host), friendlyName: host.hostName, additionalData: {} } }),
      ),
      ...(input.applications ?? []).map((appName) =>
        otherEntity(incident, { kind: 'CloudApplication', properties: { appName, friendlyName: appName, additionalData: {} } }),
      ),
    ];
    incident.alerts = (input.alerts ?? []).map((alert) => alertResource(incident, alert));
    incident.properties.additionalData.alertsCount = incident.alerts.length;
    incident.properties.additionalData.alertProductNames = [...new Set(incident.alerts.map((alert) => alert.properties.productName))];
    incident.audit.push({ at: new Date(), kind: 'incidentCreated', actor: 'seed', etagAfter: incident.etag, changes: {} });
    return toResource(incident);
  }

  getIncident(incidentId: string, workspace?: Partial<WorkspaceRef>): IncidentResource | undefined {
    const incident = this.findIncident(incidentId, workspace);
    return incident && toResource(incident);
  }

  listIncidents(workspace: WorkspaceRef): IncidentResource[] | undefined {
    const found = this.workspaces.get(workspaceKey(workspace));
    return found && [...found.incidents.values()].map(toResource);
  }

  listEntities(incidentId: string, workspace?: Partial<WorkspaceRef>): EntityResource[] | undefined {
    const incident = this.findIncident(incidentId, workspace);
    return incident && structuredClone(incident.entities);
  }

  listAlerts(incidentId: string, workspace?: Partial<WorkspaceRef>): AlertResource[] | undefined {
    const incident = this.findIncident(incidentId, workspace);
    return incident && structuredClone(incident.alerts);
  }

  listComments(incidentId: string, workspace?: Partial<WorkspaceRef>): CommentResource[] {
    const incident = this.findIncident(incidentId, workspace);
    return incident ? [...incident.comments.values()].map((comment) => structuredClone(comment)) : [];
  }

  getComment(incidentId: string, commentId: string, workspace?: Partial<WorkspaceRef>): CommentResource | undefined {
    const comment = this.findIncident(incidentId, workspace)?.comments.get(commentId.toLowerCase());
    return comment && structuredClone(comment);
  }

  auditLog(incidentId: string, workspace?: Partial<WorkspaceRef>): AuditEntry[] {
    return structuredClone(this.findIncident(incidentId, workspace)?.audit ?? []);
  }

  /**
   * A human analyst changes the incident in the portal: new etag, so a client holding the old one loses its
   * next write (409) and must re-read.
   */
  simulateAnalystEdit(incidentId: string, patch: Partial<WritableIncidentProperties>, workspace?: Partial<WorkspaceRef>): IncidentResource {
    const incident = this.findIncident(incidentId, workspace);
    if (!incident) throw new Error(`no incident ${incidentId}`);
    const next = { ...writable(incident.properties), ...patch };
    this.applyWrite(incident, next, 'analystEdit', 'analyst');
    return toResource(incident);
  }

  /** PUT /incidents/{id}: the body was validated by the HTTP layer; this applies etag and replacement rules. */
  putIncident(
    workspaceRef: WorkspaceRef,
    incidentId: string,
    next: WritableIncidentProperties,
    etag: string | undefined,
    actor: string,
  ): WriteResult<IncidentResource> {
    const workspace = this.workspace(workspaceRef, false);
    if (!workspace) return workspaceNotFound(workspaceRef);
    const incident = workspace.incidents.get(incidentId.toLowerCase());
    if (!incident) {
      const created = this.createStored(workspace, incidentId, next);
      created.audit.push({ at: new Date(), kind: 'incidentCreated', actor, etagAfter: created.etag, changes: {} });
      return { ok: true, status: 201, resource: toResource(created) };
    }
    if (etag !== undefined && !sameEtag(etag, incident.etag)) {
      return {
        ok: false,
        status: 409,
        code: 'Conflict',
        message: `Newer version of resource 'incidents/${incident.name}' exists. Data was not saved`,
      };
    }
    this.applyWrite(incident, next, 'incidentUpdated', actor);
    return { ok: true, status: 200, resource: toResource(incident) };
  }

  deleteIncident(workspaceRef: WorkspaceRef, incidentId: string, actor: string): boolean {
    const workspace = this.workspace(workspaceRef, false);
    const incident = workspace?.incidents.get(incidentId.toLowerCase());
    if (!workspace || !incident) return false;
    incident.audit.push({ at: new Date(), kind: 'incidentDeleted', actor, etagBefore: incident.etag, changes: {} });
    workspace.incidents.delete(incidentId.toLowerCase());
    return true;
  }

  /** PUT /incidents/{id}/comments/{commentId}: creates (201) or replaces (200); one id is one comment. */
  putComment(
    workspaceRef: WorkspaceRef,
    incidentId: string,
    commentId: string,
    message: string,
    etag: string | undefined,
    actor: string,
  ): WriteResult<CommentResource> {
    const incident = this.findIncident(incidentId, workspaceRef);
    if (!incident) return incidentNotFound(incidentId);
    const key = commentId.toLowerCase();
    const existing = incident.comments.get(key);
    const now = new Date().toISOString();
    if (existing && etag !== undefined && !sameEtag(etag, existing.etag)) {
      return {
        ok: false,
        status: 409,
        code: 'Conflict',
        message: `Newer version of resource 'comments/${existing.name}' exists. Data was not saved`,
      };
    }
    const comment: CommentResource = {
      id: `${incidentArmId(incident)}/Comments/${existing?.name ?? commentId}`,
      name: existing?.name ?? commentId,
      type: 'Microsoft.SecurityInsights/Incidents/Comments',
      etag: newEtag(),
      properties: {
        message,
        createdTimeUtc: existing?.properties.createdTimeUtc ?? now,
        lastModifiedTimeUtc: now,
        author: existing?.properties.author ?? { objectId: actor, name: actor },
      },
    };
    incident.comments.set(key, comment);
    incident.properties.additionalData.commentsCount = incident.comments.size;
    incident.audit.push({
      at: new Date(),
      kind: existing ? 'commentUpdated' : 'commentCreated',
      actor,
      commentId: comment.name,
      etagBefore: existing?.etag,
      etagAfter: comment.etag,
      changes: existing?.properties.message === message ? {} : { message: { from: existing?.properties.message, to: message } },
    });
    return { ok: true, status: existing ? 200 : 201, resource: structuredClone(comment) };
  }

  deleteComment(workspaceRef: WorkspaceRef, incidentId: string, commentId: string, actor: string): boolean | undefined {
    const incident = this.findIncident(incidentId, workspaceRef);
    if (!incident) return undefined;
    const existing = incident.comments.get(commentId.toLowerCase());
    if (!existing) return false;
    incident.comments.delete(commentId.toLowerCase());
    incident.properties.additionalData.commentsCount = incident.comments.size;
    incident.audit.push({
      at: new Date(),
      kind: 'commentDeleted',
      actor,
      commentId: existing.name,
      etagBefore: existing.etag,
      changes: {},
    });
    return true;
  }

  /** The body an automation rule hands a playbook for this incident (what the gateway receives). */
  playbookTrigger(
    incidentId: string,
    objectEventType: 'Create' | 'Update' = 'Create',
    options: { includeEntities?: boolean } = {},
  ): unknown {
    const incident = this.findIncident(incidentId);
    if (!incident) throw new Error(`no incident ${incidentId}`);
    const resource = toResource(incident);
    const { workspace } = incident;
    return {
      objectSchemaType: 'Incident',
      objectEventType,
      workspaceId: workspace.workspaceId,
      workspaceInfo: {
        SubscriptionId: workspace.subscriptionId,
        ResourceGroupName: workspace.resourceGroup,
        WorkspaceName: workspace.workspaceName,
      },
      object: {
        ...resource,
        properties: {
          ...resource.properties,
          ...(options.includeEntities === false ? {} : { relatedEntities: structuredClone(incident.entities) }),
        },
      },
    };
  }

  private findIncident(incidentId: string, workspace?: Partial<WorkspaceRef>): StoredIncident | undefined {
    const key = incidentId.toLowerCase();
    const filter = stripUndefined(workspace ?? {});
    for (const candidate of this.workspaces.values()) {
      const info = candidate.info;
      const matches =
        (!filter.subscriptionId || filter.subscriptionId.toLowerCase() === info.subscriptionId.toLowerCase()) &&
        (!filter.resourceGroup || filter.resourceGroup.toLowerCase() === info.resourceGroup.toLowerCase()) &&
        (!filter.workspaceName || filter.workspaceName.toLowerCase() === info.workspaceName.toLowerCase());
      const incident = matches ? candidate.incidents.get(key) : undefined;
      if (incident) return incident;
    }
    return undefined;
  }

  private workspace(ref: WorkspaceRef, create: true): Workspace;
  private workspace(ref: WorkspaceRef, create: false): Workspace | undefined;
  private workspace(ref: WorkspaceRef, create: boolean): Workspace | undefined {
    if (create) this.addWorkspace(ref);
    return this.workspaces.get(workspaceKey(ref));
  }

  private createStored(workspace: Workspace, name: string, input: WritableIncidentProperties): StoredIncident {
    const now = new Date().toISOString();
    const incidentNumber = this.nextIncidentNumber++;
    const incident: StoredIncident = {
      workspace: workspace.info,
      name,
      etag: newEtag(),
      properties: {
        ...normalizeWritable(input),
        incidentNumber,
        incidentUrl: '',
        createdTimeUtc: now,
        lastModifiedTimeUtc: now,
        providerName: 'Azure Sentinel',
        providerIncidentId: String(incidentNumber),
        relatedAnalyticRuleIds: [],
        additionalData: {
          alertsCount: 0,
          bookmarksCount: 0,
          commentsCount: 0,
          alertProductNames: [],
          tactics: ['InitialAccess'],
          techniques: [],
        },
      },
      entities: [],
      alerts: [],
      comments: new Map(),
      audit: [],
    };
    incident.properties.incidentUrl = `https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident${incidentArmId(incident)}`;
    workspace.incidents.set(name.toLowerCase(), incident);
    return incident;
  }

  private applyWrite(incident: StoredIncident, input: WritableIncidentProperties, kind: AuditKind, actor: string): void {
    const before = writable(incident.properties);
    const after = normalizeWritable(input);
    const changes: AuditEntry['changes'] = {};
    for (const field of WRITABLE_FIELDS) {
      if (JSON.stringify(before[field] ?? null) !== JSON.stringify(after[field] ?? null)) {
        changes[field] = { from: before[field] ?? null, to: after[field] ?? null };
      }
    }
    const etagBefore = incident.etag;
    Object.assign(incident.properties, after);
    incident.etag = newEtag();
    incident.properties.lastModifiedTimeUtc = new Date().toISOString();
    incident.audit.push({ at: new Date(), kind, actor, etagBefore, etagAfter: incident.etag, changes });
  }
}

/** ARM ids: the resource path with the service's own casing. */
export function workspaceArmId(ref: WorkspaceRef): string {
  return (
    `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.OperationalInsights/workspaces` +
    `/${ref.workspaceName}`
  );
}

function incidentArmId(incident: StoredIncident): string {
  return `${workspaceArmId(incident.workspace)}/providers/Microsoft.SecurityInsights/Incidents/${incident.name}`;
}

function toResource(incident: StoredIncident): IncidentResource {
  return {
    id: incidentArmId(incident),
    name: incident.name,
    type: 'Microsoft.SecurityInsights/Incidents',
    etag: incident.etag,
    properties: structuredClone(incident.properties),
  };
}

function accountEntity(incident: StoredIncident, account: AccountInput): EntityResource {
  const name = randomUUID();
  return {
    id: `${workspaceArmId(incident.workspace)}/providers/Microsoft.SecurityInsights/Entities/${name}`,
    name,
    type: 'Microsoft.SecurityInsights/Entities',
    kind: 'Account',
    properties: {
      ...stripUndefined(account),
      friendlyName: account.friendlyName ?? account.accountName,
      isDomainJoined: false,
      additionalData: {},
    },
  };
}

type EntityBody = Pick<Exclude<EntityResource, { kind: 'Account' }>, 'kind' | 'properties'>;

function otherEntity(incident: StoredIncident, body: EntityBody): EntityResource {
  const name = randomUUID();
  return {
    id: `${workspaceArmId(incident.workspace)}/providers/Microsoft.SecurityInsights/Entities/${name}`,
    name,
    type: 'Microsoft.SecurityInsights/Entities',
    ...body,
  } as EntityResource;
}

function ipEntityProperties(ip: IpInput): EntityBody {
  const location =
    ip.city || ip.countryName || ip.countryCode
      ? stripUndefined({ city: ip.city, countryName: ip.countryName, countryCode: ip.countryCode })
      : undefined;
  return {
    kind: 'Ip',
    properties: { address: ip.address, friendlyName: ip.address, ...(location ? { location } : {}), additionalData: {} },
  };
}

function alertResource(incident: StoredIncident, alert: AlertInput): AlertResource {
  const name = randomUUID();
  const at = alert.startTimeUtc ?? new Date().toISOString();
  return {
    id: `${workspaceArmId(incident.workspace)}/providers/Microsoft.SecurityInsights/Entities/${name}`,
    name,
    type: 'Microsoft.SecurityInsights/Entities',
    kind: 'SecurityAlert',
    properties: {
      alertDisplayName: alert.displayName,
      friendlyName: alert.displayName,
      startTimeUtc: at,
      timeGenerated: at,
      productName: alert.productName ?? 'Azure Active Directory Identity Protection',
      status: 'New',
      additionalData: stripUndefined({ 'Client App': alert.clientApp, 'User Agent': alert.userAgent }),
    },
  };
}

function writable(properties: IncidentProperties): WritableIncidentProperties {
  const out: Record<string, unknown> = {};
  for (const field of WRITABLE_FIELDS) out[field] = structuredClone(properties[field]);
  return out as unknown as WritableIncidentProperties;
}

// PUT replaces: a field the body leaves out is cleared, as it is in Sentinel.
function normalizeWritable(
  input: WritableIncidentProperties,
): WritableIncidentProperties & { owner: IncidentOwner; labels: IncidentLabel[] } {
  return {
    title: input.title,
    description: input.description ?? undefined,
    severity: input.severity,
    status: input.status,
    classification: input.classification ?? undefined,
    classificationReason: input.classificationReason ?? undefined,
    classificationComment: input.classificationComment ?? undefined,
    owner: {
      objectId: input.owner?.objectId ?? null,
      email: input.owner?.email ?? null,
      assignedTo: input.owner?.assignedTo ?? null,
      userPrincipalName: input.owner?.userPrincipalName ?? null,
      ownerType: input.owner?.ownerType ?? 'Unknown',
    },
    labels: (input.labels ?? []).map((label) => ({ labelName: label.labelName, labelType: label.labelType ?? 'User' })),
    firstActivityTimeUtc: input.firstActivityTimeUtc ?? undefined,
    lastActivityTimeUtc: input.lastActivityTimeUtc ?? undefined,
  };
}

function workspaceKey(ref: WorkspaceRef): string {
  return `${ref.subscriptionId}/${ref.resourceGroup}/${ref.workspaceName}`.toLowerCase();
}

/** ARM etags are quoted GUIDs: the JSON value itself contains the quotes. */
function newEtag(): string {
  return `"${randomUUID()}"`;
}

// Clients pass etags back with or without the quotes (and If-Match may be weak); compare the GUID.
function sameEtag(given: string, stored: string): boolean {
  if (given.trim() === '*') return true;
  const bare = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return bare(given) === bare(stored);
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function workspaceNotFound(ref: WorkspaceRef): { ok: false; status: number; code: string; message: string } {
  return {
    ok: false,
    status: 404,
    code: 'ResourceNotFound',
    message:
      `The Resource 'Microsoft.OperationalInsights/workspaces/${ref.workspaceName}' under resource group '${ref.resourceGroup}' ` +
      `was not found.`,
  };
}

export function incidentNotFound(incidentId: string): { ok: false; status: number; code: string; message: string } {
  return { ok: false, status: 404, code: 'NotFound', message: `Incident '${incidentId}' was not found.` };
}
