import type { TokenCredential } from '@azure/identity';
import { LogsQueryClient, LogsQueryResultStatus, type LogsTable } from '@azure/monitor-query-logs';
import { RestError } from '@azure/core-rest-pipeline';
import type { FeedIndicator } from '../ti-sync/records';
import { retryAfterMs, tiCallCounterPolicy, TiThrottledError, type TiCallObserver } from './ti-call-counter';

/** Rows per query page: far below the query API's 500,000-row and 64 MB limits, whatever `Data` holds. */
export const FEED_PAGE_SIZE = 5_000;
/** Pages read at most in one run: a feed larger than this fails the run rather than half-syncing it. */
export const MAX_FEED_PAGES = 200;

export interface FeedQueryParameters {
  feedName: string;
  microsoftSources: readonly string[];
  /** Indicator id after which the page starts ('' for the first page). */
  afterId: string;
  pageSize: number;
}

const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/**
 * The one query the sync sends. Its text is fixed; the feed name, Microsoft's sources and the paging cursor
 * enter only as base64 literals that KQL decodes (the base64 alphabet cannot close a string literal), and the
 * page size is an integer from code: nothing from configuration or data is ever spliced in as KQL.
 * The latest row per indicator id wins (ThreatIntelIndicators keeps every version).
 */
export function feedQuery(parameters: FeedQueryParameters): string {
  if (!Number.isInteger(parameters.pageSize) || parameters.pageSize < 1 || parameters.pageSize > 50_000)
    throw new Error('pageSize must be an integer 1-50000');
  return [
    `let feed = base64_decode_tostring("${encode(parameters.feedName)}");`,
    `let microsoftSources = split(base64_decode_tostring("${encode(parameters.microsoftSources.join('\n'))}"), "\\n");`,
    `let afterId = base64_decode_tostring("${encode(parameters.afterId)}");`,
    'let covered = ThreatIntelIndicators',
    '| where SourceSystem in (microsoftSources)',
    '| summarize arg_max(LastUpdateTime, IsActive, IsDeleted, ValidUntil) by ObservableKey, ObservableValue',
    '| where IsActive and not(IsDeleted) and (isnull(ValidUntil) or ValidUntil > now())',
    '| project ObservableKey, ObservableValue, CoveredByMicrosoft = true;',
    'ThreatIntelIndicators',
    '| where SourceSystem == feed',
    '| summarize arg_max(LastUpdateTime, *) by Id',
    '| where strcmp(Id, afterId) > 0',
    '| order by Id asc',
    `| take ${parameters.pageSize}`,
    '| join kind=leftouter covered on ObservableKey, ObservableValue',
    '| project Id, ObservableKey, ObservableValue, Confidence, SourceSystem, IsActive, IsDeleted, ValidFrom, ValidUntil, LastUpdateTime,',
    '    Name = tostring(Data.name), Description = tostring(Data.description), CoveredByMicrosoft = coalesce(CoveredByMicrosoft, false)',
    '| order by Id asc',
  ].join('\n');
}

/** Reads the base64 parameters back out of a query made by feedQuery; undefined for any other text. */
export function parseFeedQuery(query: string): FeedQueryParameters | undefined {
  const literal = (name: string) =>
    new RegExp(`let ${name} = (?:split\\()?base64_decode_tostring\\("([A-Za-z0-9+/=]*)"\\)`).exec(query)?.[1];
  const [feed, sources, after] = [literal('feed'), literal('microsoftSources'), literal('afterId')];
  const take = /\| take (\d+)\n/.exec(query)?.[1];
  if (feed === undefined || sources === undefined || after === undefined || take === undefined) return undefined;
  const decode = (text: string) => Buffer.from(text, 'base64').toString('utf8');
  const parameters: FeedQueryParameters = {
    feedName: decode(feed),
    microsoftSources: decode(sources).split('\n').filter(Boolean),
    afterId: decode(after),
    pageSize: Number(take),
  };
  return feedQuery(parameters) === query ? parameters : undefined;
}

/** ISO-8601 duration of whole hours, at least one. */
function isoHours(ms: number): string {
  return `PT${Math.max(1, Math.ceil(ms / 3_600_000))}H`;
}

/**
 * Sentinel's threat intelligence (the `ThreatIntelIndicators` table) through the Log Analytics query API, with
 * the official SDK. `endpoint` is the cloud's query endpoint (`https://api.loganalytics.io` in the public cloud);
 * the token is asked for `<endpoint>/.default`.
 */
export class ThreatIntelClient {
  private readonly client: LogsQueryClient;

  constructor(credential: TokenCredential, options: { endpoint: string; audience?: string; onCall?: TiCallObserver; timeoutMs?: number }) {
    const endpoint = options.endpoint.replace(/\/+$/, '');
    this.client = new LogsQueryClient(credential, {
      endpoint: `${endpoint}/v1`,
      credentials: { scopes: [`${(options.audience ?? endpoint).replace(/\/+$/, '')}/.default`] },
      retryOptions: { maxRetries: 3 },
      ...(options.onCall ? { additionalPolicies: [tiCallCounterPolicy('loganalytics', options.onCall)] } : {}),
    });
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  private readonly timeoutMs: number;

  /** Every indicator of the feed (latest row each), in id order, page by page; `onPage` is for heartbeats. */
  async readFeed(
    workspaceId: string,
    query: { feedName: string; microsoftSources: readonly string[]; lookbackMs: number },
    onPage?: (rowsSoFar: number) => void,
  ): Promise<FeedIndicator[]> {
    const indicators: FeedIndicator[] = [];
    let afterId = '';
    for (let page = 0; page < MAX_FEED_PAGES; page += 1) {
      const rows = await this.page(workspaceId, feedQuery({ ...query, afterId, pageSize: FEED_PAGE_SIZE }), query.lookbackMs);
      indicators.push(...rows);
      onPage?.(indicators.length);
      if (rows.length < FEED_PAGE_SIZE) return indicators;
      afterId = rows[rows.length - 1].id;
    }
    throw new Error(
      `the feed ${query.feedName} has more than ${MAX_FEED_PAGES * FEED_PAGE_SIZE} indicators: not synced rather than synced in part`,
    );
  }

  private async page(workspaceId: string, query: string, lookbackMs: number): Promise<FeedIndicator[]> {
    let result;
    try {
      result = await this.client.queryWorkspace(
        workspaceId,
        query,
        { duration: isoHours(lookbackMs) },
        {
          serverTimeoutInSeconds: Math.ceil(this.timeoutMs / 1000),
          abortSignal: AbortSignal.timeout(this.timeoutMs + 10_000),
        },
      );
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 429) {
        throw new TiThrottledError('loganalytics', retryAfterMs(error.response?.headers.get('retry-after')));
      }
      throw error;
    }
    if (result.status !== LogsQueryResultStatus.Success) {
      // A partial answer would look like indicators gone from the feed, and delete them.
      throw new Error(`the Log Analytics query returned a partial result (${result.partialError?.code ?? 'PartialError'}): not used`);
    }
    const table = result.tables[0];
    return table ? rowsOf(table) : [];
  }
}

function rowsOf(table: LogsTable): FeedIndicator[] {
  const index = new Map(table.columnDescriptors.map((column, position) => [column.name ?? '', position]));
  const cell = (row: unknown[], name: string): unknown => {
    const position = index.get(name);
    if (position === undefined) throw new Error(`the query result has no ${name} column`);
    return row[position];
  };
  const time = (value: unknown): string | undefined => {
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
    if (typeof value === 'string' && value) return new Date(value).toISOString();
    return undefined;
  };
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);
  return table.rows.map((row) => ({
    id: String(cell(row, 'Id')),
    observableKey: textOf(cell(row, 'ObservableKey')),
    observableValue: textOf(cell(row, 'ObservableValue')),
    confidence: Number(cell(row, 'Confidence') ?? 0),
    sourceSystem: textOf(cell(row, 'SourceSystem')),
    isActive: cell(row, 'IsActive') === true,
    isDeleted: cell(row, 'IsDeleted') === true,
    validFrom: time(cell(row, 'ValidFrom')),
    validUntil: time(cell(row, 'ValidUntil')),
    lastUpdated: time(cell(row, 'LastUpdateTime')) ?? new Date(0).toISOString(),
    name: text(cell(row, 'Name')),
    description: text(cell(row, 'Description')),
    coveredByMicrosoft: cell(row, 'CoveredByMicrosoft') === true,
  }));
}

/** A cell as text: a string as it is, a number written out, anything else (null, an object) ''. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}
