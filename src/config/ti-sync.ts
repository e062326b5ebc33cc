import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  ACTIONS_BY_TYPE,
  DEFENDER_ACTIONS,
  SYNCED_INDICATOR_TYPES,
  type DefenderAction,
  type SyncedIndicatorType,
  type TiSyncSettings,
} from '../shared/ti-sync';
import { isLoopbackHost, type AzureCloud, type AzureCloudName } from './azure-cloud';
import { ConfigError, csvSchema, durationSchema, httpsUrlSchema, parseEnv, reportOn } from './parse';

/**
 * TI_SYNC_*: the threat-intelligence sync (Sentinel's ThreatIntelIndicators → Defender for Endpoint indicators).
 * Off unless TI_SYNC_FEEDS names at least one feed; each feed is one sync with its own Temporal Schedule.
 */

/** Log Analytics query endpoints per national cloud (token scope `<endpoint>/.default`). */
export const LOG_ANALYTICS_ENDPOINTS: Readonly<Record<Exclude<AzureCloudName, 'custom'>, string>> = Object.freeze({
  public: 'https://api.loganalytics.io',
  usgovernment: 'https://api.loganalytics.us',
  china: 'https://api.loganalytics.azure.cn',
});

/**
 * Defender for Endpoint API hosts per cloud, the first the default, and the audience each one's token is for.
 * The regional hosts of the public cloud take the WindowsDefenderATP app's token; US Government's (GCC, GCC High
 * and DoD) are their own audiences. Defender for Endpoint is not offered in the China cloud.
 */
export const DEFENDER_ENDPOINTS: Readonly<
  Record<Exclude<AzureCloudName, 'custom'>, ReadonlyArray<{ endpoint: string; audience: string }>>
> = Object.freeze({
  public: [
    'https://api.securitycenter.microsoft.com',
    'https://api.security.microsoft.com',
    'https://us.api.security.microsoft.com',
    'https://eu.api.security.microsoft.com',
    'https://uk.api.security.microsoft.com',
    'https://au.api.security.microsoft.com',
  ].map((endpoint) => ({ endpoint, audience: 'https://api.securitycenter.microsoft.com' })),
  usgovernment: [
    { endpoint: 'https://api-gov.securitycenter.microsoft.us', audience: 'https://api-gov.securitycenter.microsoft.us' },
    { endpoint: 'https://api-gcc.securitycenter.microsoft.us', audience: 'https://api-gcc.securitycenter.microsoft.us' },
  ],
  china: [],
});

/** Microsoft's own threat-intelligence sources in Sentinel: what they hold is left to them. */
export const DEFAULT_MICROSOFT_SOURCES = [
  'Microsoft Defender Threat Intelligence',
  'Premium Microsoft Defender Threat Intelligence',
  'Microsoft Emerging Threat Feed',
];

export const DEFENDER_TENANT_CAP = 15_000;

/** Which TI_SYNC_ACTION_<TYPE> variable sets each type's action. */
export const ACTION_VARIABLES: Readonly<Record<SyncedIndicatorType, string>> = {
  IpAddress: 'TI_SYNC_ACTION_IP_ADDRESS',
  DomainName: 'TI_SYNC_ACTION_DOMAIN_NAME',
  Url: 'TI_SYNC_ACTION_URL',
  FileSha256: 'TI_SYNC_ACTION_FILE_SHA256',
};

const actionSchema = z.enum(DEFENDER_ACTIONS);
// eslint-disable-next-line no-control-regex -- a feed name may hold anything but control characters
const FEED_NAME = /^[^\u0000-\u001f\u007f]{1,256}$/;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const tiSyncShape = {
  TI_SYNC_FEEDS: csvSchema
    .transform((feeds, ctx) => {
      for (const feed of feeds)
        if (!FEED_NAME.test(feed))
          ctx.addIssue({ code: 'custom', message: `"${feed.slice(0, 40)}" is not a feed name (1-256 printable characters)` });
      return [...new Set(feeds)];
    })
    .default([]),
  TI_SYNC_WORKSPACE_ID: z
    .string()
    .regex(GUID, 'must be the Log Analytics workspace id (a GUID: the workspace\'s overview, "Workspace ID")')
    .optional(),
  TI_SYNC_ACTION: actionSchema.default('Audit'),
  TI_SYNC_ACTION_IP_ADDRESS: actionSchema.optional(),
  TI_SYNC_ACTION_DOMAIN_NAME: actionSchema.optional(),
  TI_SYNC_ACTION_URL: actionSchema.optional(),
  TI_SYNC_ACTION_FILE_SHA256: actionSchema.optional(),
  TI_SYNC_INTERVAL: durationSchema
    .pipe(z.number().min(60_000, 'must be at least 1m').max(86_400_000, 'must be at most 24h'))
    .default(30 * 60_000),
  TI_SYNC_CONFIDENCE: z.coerce.number().int().min(0).max(100).default(100),
  TI_SYNC_MICROSOFT_SOURCES: csvSchema.optional(),
  TI_SYNC_TENANT_CAP: z.coerce
    .number()
    .int()
    .min(1)
    .max(DEFENDER_TENANT_CAP, `must be at most ${DEFENDER_TENANT_CAP} (Defender's limit per tenant)`)
    .default(DEFENDER_TENANT_CAP),
  TI_SYNC_LOOKBACK: durationSchema
    .pipe(
      z
        .number()
        .min(3_600_000, 'must be at least 1h')
        .max(90 * 86_400_000, 'must be at most 90d'),
    )
    .default(30 * 86_400_000),
  TI_SYNC_LOG_ANALYTICS_ENDPOINT: httpsUrlSchema.optional(),
  TI_SYNC_DEFENDER_ENDPOINT: httpsUrlSchema.optional(),
  TI_SYNC_SCHEDULE: z.enum(['true', 'false']).optional(),
};

type TiSyncEnv = z.infer<z.ZodObject<typeof tiSyncShape>>;

/** Each type's action: its own variable, else TI_SYNC_ACTION; and the variable that set it. */
function actionOf(env: TiSyncEnv, type: SyncedIndicatorType): { action: DefenderAction; variable: string } {
  const own = env[ACTION_VARIABLES[type] as keyof TiSyncEnv] as DefenderAction | undefined;
  return own ? { action: own, variable: ACTION_VARIABLES[type] } : { action: env.TI_SYNC_ACTION, variable: 'TI_SYNC_ACTION' };
}

/** With TI_SYNC_FEEDS: TI_SYNC_WORKSPACE_ID is required, and each type's action must be one Defender allows for it. */
function checkTiSync(env: TiSyncEnv, ctx: z.RefinementCtx): void {
  if (env.TI_SYNC_FEEDS.length === 0) return;
  if (!env.TI_SYNC_WORKSPACE_ID) reportOn(ctx, 'TI_SYNC_WORKSPACE_ID', 'is required when TI_SYNC_FEEDS is set');
  for (const type of SYNCED_INDICATOR_TYPES) {
    const { action, variable } = actionOf(env, type);
    if (ACTIONS_BY_TYPE[type].includes(action)) continue;
    reportOn(
      ctx,
      variable,
      `${action} is not an action Defender allows for ${type} indicators (${ACTIONS_BY_TYPE[type].join(', ')})` +
        (action === 'BlockAndRemediate'
          ? '; it is for files: set TI_SYNC_ACTION_FILE_SHA256=BlockAndRemediate and another TI_SYNC_ACTION'
          : ''),
    );
  }
}

const tiSyncSchema = z.object(tiSyncShape).superRefine(checkTiSync);

export interface TiSyncConfig {
  /** One per feed of TI_SYNC_FEEDS. */
  syncs: TiSyncSettings[];
  intervalMs: number;
  logAnalyticsEndpoint: string;
  defenderEndpoint: string;
  defenderAudience: string;
  /** TI_SYNC_SCHEDULE; unset: the worker's default (on in production, off in the local stack). */
  schedule?: boolean;
}

/** The id of a sync: the feed's name made safe for ids and labels, and a hash that tells workspaces apart. */
export function tiSyncId(workspaceId: string, feedName: string): string {
  const slug =
    feedName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'feed';
  const hash = createHash('sha256').update(`${workspaceId.toLowerCase()}\n${feedName}`).digest('hex').slice(0, 8);
  return `${slug}-${hash}`;
}

function origin(url: string): string {
  return new URL(url).origin;
}

/** Undefined when TI_SYNC_FEEDS is unset: no sync configured. */
export function loadTiSyncConfig(env: NodeJS.ProcessEnv, cloud: AzureCloud): TiSyncConfig | undefined {
  const parsed = parseEnv(tiSyncSchema, env, 'threat-intelligence sync');
  const feeds = parsed.TI_SYNC_FEEDS;
  // With feeds, checkTiSync made TI_SYNC_WORKSPACE_ID present.
  if (feeds.length === 0 || !parsed.TI_SYNC_WORKSPACE_ID) return undefined;
  const actions = Object.fromEntries(SYNCED_INDICATOR_TYPES.map((type) => [type, actionOf(parsed, type).action])) as Record<
    SyncedIndicatorType,
    DefenderAction
  >;
  const problems: string[] = [];
  const endpoints = resolveEndpoints(parsed.TI_SYNC_LOG_ANALYTICS_ENDPOINT, parsed.TI_SYNC_DEFENDER_ENDPOINT, cloud, problems);
  if (problems.length > 0 || !endpoints) {
    throw new ConfigError(`Invalid threat-intelligence sync configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
  }
  const workspaceId = parsed.TI_SYNC_WORKSPACE_ID.toLowerCase();
  const microsoftSources = parsed.TI_SYNC_MICROSOFT_SOURCES ?? DEFAULT_MICROSOFT_SOURCES;
  return Object.freeze({
    syncs: feeds.map((feedName) => {
      const syncId = tiSyncId(workspaceId, feedName);
      return Object.freeze({
        syncId,
        workspaceId,
        feedName,
        actions: Object.freeze({ ...actions }),
        minConfidence: parsed.TI_SYNC_CONFIDENCE,
        microsoftSources: Object.freeze([...microsoftSources]),
        tenantCap: parsed.TI_SYNC_TENANT_CAP,
        application: `itdr-verify/${syncId}`,
        lookbackMs: parsed.TI_SYNC_LOOKBACK,
      });
    }),
    intervalMs: parsed.TI_SYNC_INTERVAL,
    ...endpoints,
    schedule: parsed.TI_SYNC_SCHEDULE === undefined ? undefined : parsed.TI_SYNC_SCHEDULE === 'true',
  });
}

/** The cloud's endpoints, or overrides that belong to it (a loopback host is a local simulator). */
function resolveEndpoints(
  logAnalytics: string | undefined,
  defender: string | undefined,
  cloud: AzureCloud,
  problems: string[],
): Pick<TiSyncConfig, 'logAnalyticsEndpoint' | 'defenderEndpoint' | 'defenderAudience'> | undefined {
  const loopback = (url: string) => isLoopbackHost(new URL(url).hostname);
  if (cloud.name === 'custom') {
    if (!logAnalytics) problems.push('TI_SYNC_LOG_ANALYTICS_ENDPOINT: is required when AZURE_CLOUD=custom');
    if (!defender) problems.push('TI_SYNC_DEFENDER_ENDPOINT: is required when AZURE_CLOUD=custom');
    if (!logAnalytics || !defender) return undefined;
    return { logAnalyticsEndpoint: origin(logAnalytics), defenderEndpoint: origin(defender), defenderAudience: origin(defender) };
  }
  const knownLogs = LOG_ANALYTICS_ENDPOINTS[cloud.name];
  let logAnalyticsEndpoint = knownLogs;
  if (logAnalytics) {
    if (loopback(logAnalytics) || origin(logAnalytics) === knownLogs) logAnalyticsEndpoint = origin(logAnalytics);
    else
      problems.push(
        `TI_SYNC_LOG_ANALYTICS_ENDPOINT: ${origin(logAnalytics)} is not the ${cloud.name} cloud's Log Analytics query endpoint ` +
          `(${knownLogs}); remove it (AZURE_CLOUD sets it)`,
      );
  }
  const knownDefender = DEFENDER_ENDPOINTS[cloud.name];
  if (defender && loopback(defender))
    return { logAnalyticsEndpoint, defenderEndpoint: origin(defender), defenderAudience: origin(defender) };
  if (knownDefender.length === 0) {
    problems.push(`TI_SYNC_FEEDS: Defender for Endpoint is not offered in the ${cloud.name} cloud; unset TI_SYNC_FEEDS`);
    return undefined;
  }
  const chosen = defender ? knownDefender.find((known) => known.endpoint === origin(defender)) : knownDefender[0];
  if (!chosen) {
    problems.push(
      `TI_SYNC_DEFENDER_ENDPOINT: ${origin(defender!)} is not a Defender for Endpoint API host of the ${cloud.name} cloud ` +
        `(${knownDefender.map((known) => known.endpoint).join(', ')})`,
    );
    return undefined;
  }
  return { logAnalyticsEndpoint, defenderEndpoint: chosen.endpoint, defenderAudience: chosen.audience };
}
