import type { BurstResult, ScaleOutResult } from './scale-out';
import { latencyText, type TableRow } from './stats';

/** Table rows of the scale-out phases (bench/scale-out.ts), with the baseline's CPU per item to compare. */
export function scaleOutRows(result: ScaleOutResult, baselineCpuMsPerItem?: number): TableRow[] {
  const rows: TableRow[] = [];
  for (const cost of result.verdictCosts ?? []) {
    rows.push({
      figure: `per ${cost.kind} verdict (${cost.verdicts} one at a time)`,
      value: `${cost.writesPerVerdict} ARM writes, ${cost.readsPerVerdict} ARM reads, ${cost.historyEventsPerVerdict} history events`,
      goal: cost.kind === 'verified' ? '2 writes' : '3 writes',
    });
  }
  const cpuText = (burst: BurstResult) =>
    `${burst.cpu.productMsPerVerdict} ms (worker ${burst.cpu.workerSeconds} s + gateways ${burst.cpu.gatewaySeconds} s)` +
    (burst.cpu.temporalMsPerVerdict !== undefined ? `; Temporal server ${burst.cpu.temporalMsPerVerdict} ms` : '') +
    (baselineCpuMsPerItem !== undefined ? `; bare-Temporal baseline ${baselineCpuMsPerItem} ms per workflow (worker + client)` : '');
  const errorsText = (burst: BurstResult) => (burst.errors.count ? ` (${burst.errors.count} errors, e.g. ${burst.errors.samples[0]})` : '');
  for (const burst of result.subscriptions ?? []) {
    const prefix = `subscriptions K=${burst.subscriptions} (N=${burst.incidents})`;
    rows.push({
      figure: `${prefix}: verdicts/s vs physical limit`,
      value:
        `${burst.verdictsPerSecond}/s of ${burst.physicalLimitPerSecond}/s (${burst.subscriptions} × 10 writes/s ÷ ` +
        `${burst.writesPerVerdict} writes per verdict)${errorsText(burst)}`,
      goal: 'the limit, or the machine',
    });
    rows.push({
      figure: `${prefix}: ARM 429s seen`,
      value: String(burst.throttled),
      goal: '0',
      verdict: burst.throttled === 0 ? 'met' : 'NOT met',
    });
    rows.push({ figure: `${prefix}: webhook → incident updated`, value: latencyText(burst.webhookToUpdated) });
    rows.push({
      figure: `${prefix}: per verdict`,
      value:
        `${burst.writesPerVerdict} ARM writes, ${burst.readsPerVerdict} ARM reads, ${burst.historyEventsPerVerdict ?? '?'} ` +
        `history events`,
    });
    rows.push({ figure: `${prefix}: product CPU per verdict`, value: cpuText(burst) });
  }
  for (const burst of result.replicas ?? []) {
    const prefix = `replicas: ${burst.label} (N=${burst.incidents}, ${burst.subscriptions} subscriptions)`;
    rows.push({
      figure: `${prefix}: throughput`,
      value: `${burst.verdictsPerSecond} verdicts/s${errorsText(burst)}; ${burst.throttled} 429s`,
    });
    rows.push({ figure: `${prefix}: posted → link returned`, value: latencyText(burst.postToLink) });
    rows.push({ figure: `${prefix}: webhook → incident updated`, value: latencyText(burst.webhookToUpdated) });
    rows.push({ figure: `${prefix}: product CPU per verdict`, value: cpuText(burst) });
  }
  const noisy = result.noisy;
  if (noisy) {
    const prefix =
      `noisy tenant at ${noisy.noisyRate}/s (${noisy.noisyRate / noisy.quietRate}×), quiet one at ${noisy.quietRate}/s, ` +
      `${noisy.seconds} s`;
    rows.push({ figure: `${prefix}: quiet tenant alone, webhook → updated`, value: latencyText(noisy.quietAlone) });
    rows.push({
      figure: `${prefix}: quiet tenant with the noise`,
      value: `${latencyText(noisy.quietWithNoise)}; p99 ${noisy.p99Ratio}× alone`,
      goal: 'p99 ≤ 2× alone',
      verdict: noisy.errors.count === 0 && noisy.p99Ratio <= 2 ? 'met' : 'NOT met',
    });
    rows.push({
      figure: `${prefix}: noisy tenant`,
      value:
        `${latencyText(noisy.noisy)}; of ${noisy.noisyIssued} sent, ${noisy.noisyRefused} refused over its subscription's share ` +
        `(429 subscription_rate_limited), ${noisy.noisyUnfinished} not finished within the phase; ${noisy.throttled} ARM 429s; ` +
        `${noisy.quietRefused} of the quiet tenant's refused` +
        (noisy.errors.count ? `; ${noisy.errors.count} errors of the quiet tenant, e.g. ${noisy.errors.samples[0]}` : ''),
    });
  }
  return rows;
}
