/**
 * What one verdict costs, verified and escalated apart (issue 15): ARM writes and reads, and the workflow's
 * history events. The verifications run one at a time on a quiet subscription, so the simulator's counters
 * between two resets belong to them alone; writes and reads include the gateway's (its reads of the incident,
 * entities and alerts) and the worker's.
 */
import type { Client } from '@temporalio/client';
import { round } from './stats';

export type VerdictKind = 'verified' | 'escalated';

export interface VerdictCost {
  kind: VerdictKind;
  verdicts: number;
  writesPerVerdict: number;
  readsPerVerdict: number;
  historyEventsPerVerdict: number;
}

export interface VerdictCostDriver {
  client: Client;
  /** Resets the simulator's ARM counters. */
  reset(): void;
  /** ARM requests the simulator served since the last reset. */
  served(kind: 'reads' | 'writes'): number;
  /** One verification to its verdict: "This was me", then Incode's check passes (verified) or fails (escalated). */
  verify(kind: VerdictKind, index: number): Promise<{ workflowId: string }>;
}

export async function measureVerdictCost(driver: VerdictCostDriver, kind: VerdictKind, count: number): Promise<VerdictCost> {
  driver.reset();
  const workflowIds: string[] = [];
  for (let index = 0; index < count; index++) workflowIds.push((await driver.verify(kind, index)).workflowId);
  const writes = driver.served('writes');
  const reads = driver.served('reads');
  let events = 0;
  for (const workflowId of workflowIds) events += (await driver.client.workflow.getHandle(workflowId).fetchHistory()).events?.length ?? 0;
  const per = (total: number) => (count ? round(total / count, 2) : Number.NaN);
  return { kind, verdicts: count, writesPerVerdict: per(writes), readsPerVerdict: per(reads), historyEventsPerVerdict: per(events) };
}
