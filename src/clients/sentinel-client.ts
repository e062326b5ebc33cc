import { SecurityInsights, type Incident } from '@azure/arm-securityinsight';
import type { TokenCredential } from '@azure/identity';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { AzureConfig } from '../config/azure';
import { armRateLimitPolicy } from './arm-ratelimit-policy';
import { TokenBucket } from './token-bucket';
import { callSignal, type CancellationSource } from './abort';
import { apiErrorPolicy, type ApiErrorObserver } from '../observability/api-errors';
import type { IncidentSeverity, WorkspaceRef } from '../shared/types';

export interface IncidentSnapshot {
  incidentId: string;
  incidentNumber?: number;
  title?: string;
  severity?: IncidentSeverity;
  status?: 'New' | 'Active' | 'Closed';
  classification?: string;
  labels: string[];
}

export interface AccountEntity {
  accountName?: string;
  upnSuffix?: string;
  aadUserId?: string;
  friendlyName?: string;
  displayName?: string;
}

export interface IncidentEntities {
  accounts: AccountEntity[];
  ipAddresses: Array<{ address: string; location?: string }>;
  /** Host name, with the operating system where known. */
  hosts: string[];
  applications: string[];
}

export interface AlertSummary {
  displayName: string;
  startTime?: string;
  productName?: string;
  clientApp?: string;
  userAgent?: string;
}

/** What a change function returns: the incident to write back, or `undefined` to write nothing. */
export type IncidentChange = (incident: Incident) => Incident | undefined;

export type ModifyResult =
  { kind: 'updated'; incident: IncidentSnapshot } | { kind: 'unchanged'; incident: IncidentSnapshot } | { kind: 'not-found' };

/** How often a read–modify–write is re-applied after losing an etag race before giving up (to Temporal's retry). */
const MAX_CONFLICT_ATTEMPTS = 5;

export class SentinelConflictError extends Error {
  override name = 'SentinelConflictError';
}

/**
 * Microsoft Sentinel incidents through ARM with the official SDK. PUT replaces the whole resource, so every
 * change is a read–modify–write carrying the etag; a lost race re-reads and re-applies the same change.
 * The SDK's own pipeline honours Retry-After on 429 and backs off on 5xx; armRateLimitPolicy slows down
 * before a 429, from ARM's remaining-requests headers.
 */
export class SentinelClient {
  private readonly clients = new Map<string, SecurityInsights>();

  constructor(
    private readonly credential: TokenCredential,
    private readonly config: AzureConfig,
    private readonly options: {
      /** Each failed ARM operation (after the SDK's retries) is reported here, for `itdr_api_errors_total`. */
      onApiError?: ApiErrorObserver;
      /**
       * Every ARM operation of this client first takes a token from its subscription's bucket of this shape,
       * waiting at most `maxWaitMs` for it (the gateway's calls, which no task queue paces;
       * BudgetExhaustedError beyond). ARM's budgets are per subscription, so each subscription has its own.
       */
      budget?: { perSecond: number; burst: number; maxWaitMs: number };
      /** Aborts the ARM call in progress (the worker passes the activity's cancellation signal). */
      cancellation?: CancellationSource;
    } = {},
  ) {}

  async getIncident(workspace: WorkspaceRef, incidentId: string): Promise<IncidentSnapshot | undefined> {
    const incident = await this.read(workspace, incidentId);
    return incident && snapshot(incidentId, incident);
  }

  async listAccounts(workspace: WorkspaceRef, incidentId: string): Promise<AccountEntity[]> {
    return (await this.listEntities(workspace, incidentId)).accounts;
  }

  /** The incident's entities: its accounts, and the IP addresses, hosts and applications of its activity. */
  async listEntities(workspace: WorkspaceRef, incidentId: string): Promise<IncidentEntities> {
    const response = await this.client(workspace).incidents.listEntities(
      workspace.resourceGroup,
      workspace.workspaceName,
      incidentId,
      this.callOptions(),
    );
    const entities = (response.entities ?? []) as unknown as Array<Record<string, unknown> & { kind: string }>;
    const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
    const of = (kind: string) => entities.filter((entity) => entity.kind === kind);
    return {
      accounts: of('Account').map((account) => ({
        accountName: text(account.accountName),
        upnSuffix: text(account.upnSuffix),
        aadUserId: text(account.aadUserId),
        friendlyName: text(account.friendlyName),
        displayName: text(account.displayName),
      })),
      ipAddresses: of('Ip').flatMap((ip) => {
        const address = text(ip.address);
        if (!address) return [];
        const location = (ip.location ?? {}) as Record<string, unknown>;
        return [
          {
            address,
            location:
              [text(location.city), text(location.countryName) ?? text(location.countryCode)].filter(Boolean).join(', ') || undefined,
          },
        ];
      }),
      hosts: of('Host').flatMap((host) => {
        const name = text(host.hostName) ?? text(host.friendlyName);
        return name ? [[name, text(host.osFamily), text(host.osVersion)].filter(Boolean).join(', ')] : [];
      }),
      applications: of('CloudApplication').flatMap((app) => {
        const name = text(app.appName) ?? text(app.friendlyName);
        return name ? [name] : [];
      }),
    };
  }

  /** The incident's alerts: name, start time, product, and the sign-in's client where the alert has it. */
  async listAlerts(workspace: WorkspaceRef, incidentId: string): Promise<AlertSummary[]> {
    // The SDK's mapper turns a string in additionalData into an object of its characters, so the bag is
    // read from the body as it came over the wire.
    let wire: Array<{ properties?: { additionalData?: Record<string, unknown> } }> = [];
    const response = await this.client(workspace).incidents.listAlerts(workspace.resourceGroup, workspace.workspaceName, incidentId, {
      ...this.callOptions(),
      onResponse: (raw) => {
        try {
          const body = JSON.parse(raw.bodyAsText ?? '{}') as { value?: typeof wire };
          wire = Array.isArray(body.value) ? body.value : [];
        } catch {
          wire = [];
        }
      },
    });
    return (response.value ?? []).map((alert, index) => {
      const extra = wire[index]?.properties?.additionalData ?? {};
      const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
      const start = alert.startTimeUtc ?? alert.timeGenerated;
      return {
        displayName: text(alert.alertDisplayName) ?? text(alert.friendlyName) ?? 'alert',
        startTime: start ? new Date(start).toISOString() : undefined,
        productName: text(alert.productName),
        clientApp: text(extra['Client App']) ?? text(extra.ClientApp),
        userAgent: text(extra['User Agent']) ?? text(extra.UserAgent),
      };
    });
  }

  /** Creates or overwrites the comment with this id, so a retried call never adds a second comment. */
  async upsertComment(workspace: WorkspaceRef, incidentId: string, commentId: string, message: string): Promise<void> {
    await this.client(workspace).incidentComments.createOrUpdate(
      workspace.resourceGroup,
      workspace.workspaceName,
      incidentId,
      commentId,
      { message },
      this.callOptions(),
    );
  }

  async modifyIncident(workspace: WorkspaceRef, incidentId: string, change: IncidentChange): Promise<ModifyResult> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.read(workspace, incidentId);
      if (!current) return { kind: 'not-found' };
      const next = change(structuredClone(current));
      if (!next) return { kind: 'unchanged', incident: snapshot(incidentId, current) };
      try {
        const written = await this.client(workspace).incidents.createOrUpdate(
          workspace.resourceGroup,
          workspace.workspaceName,
          incidentId,
          { ...next, etag: current.etag },
          this.callOptions(),
        );
        return { kind: 'updated', incident: snapshot(incidentId, written) };
      } catch (error) {
        if (statusOf(error) === 404) return { kind: 'not-found' };
        if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
        if (attempt >= MAX_CONFLICT_ATTEMPTS) {
          throw new SentinelConflictError(`Incident ${incidentId} kept changing under us (${attempt} etag conflicts); will retry later`);
        }
      }
    }
  }

  private async read(workspace: WorkspaceRef, incidentId: string): Promise<Incident | undefined> {
    try {
      return await this.client(workspace).incidents.get(workspace.resourceGroup, workspace.workspaceName, incidentId, this.callOptions());
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Every ARM call is bounded, retries included, so a hung connection cannot hold an activity slot forever. */
  private callOptions(): { abortSignal: AbortSignal } {
    return { abortSignal: callSignal(this.config.httpTimeoutMs, this.options.cancellation) };
  }

  private client(workspace: WorkspaceRef): SecurityInsights {
    let client = this.clients.get(workspace.subscriptionId);
    if (!client) {
      client = new SecurityInsights(this.credential, workspace.subscriptionId, {
        endpoint: this.config.armEndpoint,
        apiVersion: this.config.sentinelApiVersion,
        additionalPolicies: [
          ...(this.options.budget ? [budgetPolicy(this.options.budget, workspace.subscriptionId)] : []),
          // Inside the SDK's retry loop, so every attempt's answer updates what is known of ARM's buckets.
          { policy: armRateLimitPolicy(), position: 'perRetry' as const },
          ...(this.options.onApiError ? [apiErrorPolicy('sentinel', this.options.onApiError)] : []),
        ],
      });
      this.clients.set(workspace.subscriptionId, client);
    }
    return client;
  }
}

export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown })?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function snapshot(incidentId: string, incident: Incident): IncidentSnapshot {
  return {
    incidentId,
    incidentNumber: incident.incidentNumber,
    title: incident.title,
    severity: incident.severity as IncidentSeverity | undefined,
    status: incident.status as IncidentSnapshot['status'],
    classification: incident.classification,
    labels: (incident.labels ?? []).map((label) => label.labelName),
  };
}

/** Takes a token per operation, before the SDK's retry loop (a retry after 429 already waits Retry-After). */
function budgetPolicy(
  shape: { perSecond: number; burst: number; maxWaitMs: number },
  subscriptionId: string,
): { policy: PipelinePolicy; position: 'perCall' } {
  const budget = {
    bucket: new TokenBucket(`ARM request (subscription ${subscriptionId})`, shape.burst, shape.perSecond),
    maxWaitMs: shape.maxWaitMs,
  };
  return {
    position: 'perCall',
    policy: {
      name: 'itdrArmBudget',
      async sendRequest(request, next) {
        await budget.bucket.take(budget.maxWaitMs);
        return next(request);
      },
    },
  };
}
