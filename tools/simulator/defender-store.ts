import type { RateLimit } from './rate-window';

/** An indicator as Defender for Endpoint stores it (the fields the indicators API returns). */
export interface StoredIndicator {
  id: string;
  indicatorValue: string;
  indicatorType: string;
  action: string;
  title: string;
  description: string;
  application?: string;
  expirationTime?: string;
  severity?: string;
  createdBy: string;
  createdBySource: string;
  creationTimeDateTimeUtc: string;
  lastUpdateTime: string;
  lastUpdatedBy: string;
}

export type IndicatorInput = Partial<
  Omit<StoredIndicator, 'id' | 'createdBy' | 'createdBySource' | 'creationTimeDateTimeUtc' | 'lastUpdateTime' | 'lastUpdatedBy'>
>;

export interface ImportItemResult {
  id: string | null;
  indicator: string;
  indicatorType: string;
  isFailed: boolean;
  failureReason: string | null;
}

/** The API's documented limits per operation (calls per minute and per hour, per application). */
export type DefenderOperation = 'list' | 'submit' | 'import' | 'batchDelete' | 'delete';

export const DEFENDER_LIMITS: Readonly<Record<DefenderOperation, readonly RateLimit[]>> = {
  list: [
    { calls: 100, windowMs: 60_000 },
    { calls: 1_500, windowMs: 3_600_000 },
  ],
  submit: [
    { calls: 100, windowMs: 60_000 },
    { calls: 1_500, windowMs: 3_600_000 },
  ],
  import: [{ calls: 30, windowMs: 60_000 }],
  batchDelete: [
    { calls: 30, windowMs: 60_000 },
    { calls: 1_500, windowMs: 3_600_000 },
  ],
  delete: [
    { calls: 100, windowMs: 60_000 },
    { calls: 1_500, windowMs: 3_600_000 },
  ],
};

export const DEFENDER_TENANT_CAP = 15_000;
export const DEFENDER_BATCH_LIMIT = 500;

const INDICATOR_TYPES = ['FileSha1', 'FileMd5', 'FileSha256', 'CertificateThumbprint', 'IpAddress', 'DomainName', 'Url'];
const ACTIONS = ['Warn', 'Block', 'Audit', 'Alert', 'AlertAndBlock', 'BlockAndRemediate', 'Allowed'];
const FILE_TYPES = new Set(['FileSha1', 'FileMd5', 'FileSha256']);

/** One write the simulated Defender applied, for tests that count what happened (duplicates, losses). */
export interface DefenderAuditEntry {
  at: Date;
  operation: 'create' | 'update' | 'delete';
  id: string;
  indicatorType: string;
  indicatorValue: string;
  by: string;
}

/**
 * The tenant's custom indicators. One indicator per type and value (an import or submit of an existing one
 * updates it, as Defender does); at most `cap` active (not expired) indicators, every source together.
 */
export class DefenderStore {
  private readonly indicators = new Map<string, StoredIndicator>();
  private nextId = 1;
  readonly audit: DefenderAuditEntry[] = [];

  constructor(public cap: number = DEFENDER_TENANT_CAP) {}

  list(): StoredIndicator[] {
    return [...this.indicators.values()].sort((a, b) => Number(a.id) - Number(b.id));
  }

  get(id: string): StoredIndicator | undefined {
    return this.indicators.get(id);
  }

  activeCount(now = Date.now()): number {
    return this.list().filter((indicator) => !indicator.expirationTime || Date.parse(indicator.expirationTime) > now).length;
  }

  private findByValue(type: string, value: string): StoredIndicator | undefined {
    const wanted = value.toLowerCase();
    return this.list().find((indicator) => indicator.indicatorType === type && indicator.indicatorValue.toLowerCase() === wanted);
  }

  /** Validates one indicator as the API does; the reason it is refused, or undefined. */
  validate(input: IndicatorInput): string | undefined {
    if (!input.indicatorValue) return 'indicatorValue is required';
    if (!input.indicatorType || !INDICATOR_TYPES.includes(input.indicatorType))
      return `indicatorType '${input.indicatorType ?? ''}' is not supported`;
    if (!input.action || !ACTIONS.includes(input.action)) return `action '${input.action ?? ''}' is not supported`;
    if (input.action === 'BlockAndRemediate' && !FILE_TYPES.has(input.indicatorType))
      return `action BlockAndRemediate is not supported for indicator type ${input.indicatorType}`;
    if (!input.title) return 'title is required';
    if (!input.description) return 'description is required';
    if (input.indicatorType === 'IpAddress' && input.indicatorValue.includes('/'))
      return 'CIDR notation is not supported for IpAddress indicators';
    if (input.expirationTime && !Number.isFinite(Date.parse(input.expirationTime))) return 'expirationTime is not a valid date';
    return undefined;
  }

  /** Creates or updates (by type and value); refuses a new active indicator beyond the cap. */
  upsert(input: IndicatorInput, by: string, now = Date.now()): { indicator?: StoredIndicator; failure?: string } {
    const invalid = this.validate(input);
    if (invalid) return { failure: invalid };
    const at = new Date(now).toISOString();
    const existing = this.findByValue(input.indicatorType!, input.indicatorValue!);
    if (existing) {
      Object.assign(existing, pickFields(input), { lastUpdateTime: at, lastUpdatedBy: by });
      if (!input.expirationTime) delete existing.expirationTime;
      if (!input.application) delete existing.application;
      this.audit.push({
        at: new Date(now),
        operation: 'update',
        id: existing.id,
        indicatorType: existing.indicatorType,
        indicatorValue: existing.indicatorValue,
        by,
      });
      return { indicator: { ...existing } };
    }
    const active = !input.expirationTime || Date.parse(input.expirationTime) > now;
    if (active && this.activeCount(now) >= this.cap)
      return { failure: `The tenant has reached the maximum of ${this.cap} active indicators` };
    const indicator: StoredIndicator = {
      ...(pickFields(input) as Pick<StoredIndicator, 'indicatorValue' | 'indicatorType' | 'action' | 'title' | 'description'>),
      id: String(this.nextId++),
      createdBy: by,
      createdBySource: 'PublicApi',
      creationTimeDateTimeUtc: at,
      lastUpdateTime: at,
      lastUpdatedBy: by,
    };
    this.indicators.set(indicator.id, indicator);
    this.audit.push({
      at: new Date(now),
      operation: 'create',
      id: indicator.id,
      indicatorType: indicator.indicatorType,
      indicatorValue: indicator.indicatorValue,
      by,
    });
    return { indicator: { ...indicator } };
  }

  delete(id: string, by: string, now = Date.now()): boolean {
    const indicator = this.indicators.get(id);
    if (!indicator) return false;
    this.indicators.delete(id);
    this.audit.push({
      at: new Date(now),
      operation: 'delete',
      id,
      indicatorType: indicator.indicatorType,
      indicatorValue: indicator.indicatorValue,
      by,
    });
    return true;
  }

  /** Seeds an indicator as another tool or a person would have created it (admin route, tests). */
  seed(input: IndicatorInput & { createdBy?: string }): StoredIndicator {
    const result = this.upsert(input, input.createdBy ?? 'seeded');
    if (!result.indicator) throw new Error(`cannot seed indicator: ${result.failure}`);
    return result.indicator;
  }

  clear(): void {
    this.indicators.clear();
    this.audit.length = 0;
  }
}

function pickFields(input: IndicatorInput): IndicatorInput {
  const fields: Array<keyof IndicatorInput> = [
    'indicatorValue',
    'indicatorType',
    'action',
    'title',
    'description',
    'application',
    'expirationTime',
    'severity',
  ];
  return Object.fromEntries(fields.filter((field) => input[field] !== undefined).map((field) => [field, input[field]]));
}
