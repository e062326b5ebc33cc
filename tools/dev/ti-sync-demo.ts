import type { Client } from '@temporalio/client';
import type { TiSyncConfig } from '../../src/config/ti-sync';
import type { RunningSimulator, ThreatIntelRowInput } from '../simulator';
import { tiSyncScheduleId } from '../../src/worker/ti-sync-schedule';

export const DEMO_TI_FEED = 'baseVISION-SOC-TI-Feed';

/**
 * Seeds the simulated workspace with a small feed (one of each case the selection rules decide on, plus a few
 * dozen addresses) and Defender with another tool's indicators, then starts the sync's schedule once, so
 * `npm run dev` shows a run in the Web UI and its indicators in the simulator's Defender page.
 */
export async function startThreatIntelDemo(simulator: RunningSimulator, client: Client, config: TiSyncConfig): Promise<string> {
  const feed = config.syncs[0].feedName;
  const inAMonth = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const valid = { SourceSystem: feed, Confidence: 100, ValidUntil: inAMonth };
  const rows: ThreatIntelRowInput[] = [
    {
      ...valid,
      ObservableKey: 'domain-name:value',
      ObservableValue: 'login-micros0ft.example',
      Data: { name: 'Credential phishing domain' },
    },
    { ...valid, ObservableKey: 'url:value', ObservableValue: 'https://cdn.badness.example/payload.bin', Data: { name: 'Loader download' } },
    {
      ...valid,
      ObservableKey: "file:hashes.'SHA-256'",
      ObservableValue: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      Data: { name: 'Loader' },
    },
    { ...valid, ObservableKey: "file:hashes.'MD5'", ObservableValue: 'd41d8cd98f00b204e9800998ecf8427e' },
    { ...valid, ObservableKey: 'email-addr:value', ObservableValue: 'ceo-urgent@badness.example' },
    { ...valid, ObservableKey: 'ipv4-addr:value', ObservableValue: '203.0.113.250', Confidence: 70 },
    { ...valid, ObservableKey: 'ipv4-addr:value', ObservableValue: '203.0.113.251', ValidUntil: '2026-01-01T00:00:00Z' },
    { ...valid, ObservableKey: 'ipv4-addr:value', ObservableValue: '203.0.113.252' },
    {
      ...valid,
      ObservableKey: 'ipv4-addr:value',
      ObservableValue: '203.0.113.252',
      SourceSystem: config.syncs[0].microsoftSources[0] ?? 'Microsoft Defender Threat Intelligence',
    },
    ...Array.from({ length: 40 }, (_, index) => ({
      ...valid,
      ObservableKey: 'ipv4-addr:value',
      ObservableValue: `198.51.100.${index + 1}`,
      Data: { name: `C2 node ${index + 1}` },
    })),
  ];
  simulator.threatIntel.addRows(simulator.threatIntel.defaultWorkspaceId, rows);
  simulator.defender.seed({
    indicatorValue: 'allowed-partner.example',
    indicatorType: 'DomainName',
    action: 'Allowed',
    title: 'Partner portal',
    description: 'Added by the SOC',
    application: 'SOC manual',
  });
  const scheduleId = tiSyncScheduleId(config.syncs[0].syncId);
  await client.schedule.getHandle(scheduleId).trigger();
  return scheduleId;
}
