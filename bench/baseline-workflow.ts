/**
 * The bench's baseline: a bare workflow of the same shape as identityVerification (one activity, wait for one
 * signal, one activity) with no-op activities. Its throughput on this machine is the ceiling the full path is
 * compared with. Workflow code: deterministic, imports only @temporalio/workflow.
 */
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

export interface BaselineActivities {
  baselineBefore(input: string): Promise<string>;
  baselineAfter(input: string): Promise<string>;
}

export const baselineSignal = defineSignal<[string]>('baselineResult');

const { baselineBefore, baselineAfter } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3 },
});

export async function baselineWorkflow(input: string): Promise<string> {
  let received: string | undefined;
  setHandler(baselineSignal, (value) => {
    received = value;
  });
  const created = await baselineBefore(input);
  await condition(() => received !== undefined);
  return baselineAfter(`${created}:${received}`);
}
