import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DataConverter, Payload } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, makeTelemetryFilterString, Runtime, Worker, type LogEntry } from '@temporalio/worker';
import { EncryptionCodec } from '../temporal/payload-codec';
import { loadPayloadKey } from './config';
import { CliError, UsageError } from './errors';
import { printJson, type Output } from './output';

const ENCRYPTED = Buffer.from('binary/encrypted').toString('base64');

export interface ReplayReport {
  file: string;
  workflowId: string;
  workflowType?: string;
  events: number;
  compatible: boolean;
  error?: { name: string; message: string };
}

/** What the CLI reads of the first event: the workflow's id and type, when the history names them. */
interface StartedAttributes {
  workflowId?: string;
  workflowType?: { name?: string };
}

interface HistoryJson {
  events: Array<{ workflowExecutionStartedEventAttributes?: StartedAttributes } & Record<string, unknown>>;
}

/**
 * Reads a history as `temporal workflow show --output json` and the Web UI's download write it
 * (`{"events": [...]}`, proto JSON); a bare array of events is accepted too.
 */
export async function readHistory(file: string): Promise<HistoryJson> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file} is not JSON: ${(error as Error).message}`);
  }
  const history = Array.isArray(parsed) ? { events: parsed } : (parsed as Partial<HistoryJson> | null);
  if (!history || !Array.isArray(history.events) || history.events.length === 0 || typeof history.events[0] !== 'object') {
    throw new UsageError(
      `${file} is not a workflow history (expected {"events": [...]}, as "temporal workflow show --output json" writes it)`,
    );
  }
  return history as HistoryJson;
}

function startedAttributes(history: HistoryJson): StartedAttributes | undefined {
  return history.events[0]?.workflowExecutionStartedEventAttributes;
}

/** The first payload (proto JSON: base64 metadata and data) whose encoding is `binary/encrypted`, if any. */
function firstEncryptedPayload(value: unknown): Payload | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const candidate = value as { metadata?: Record<string, unknown>; data?: unknown };
  if (candidate.metadata && typeof candidate.metadata === 'object' && candidate.metadata.encoding === ENCRYPTED) {
    const metadata: Record<string, Uint8Array> = {};
    for (const [key, entry] of Object.entries(candidate.metadata)) metadata[key] = Buffer.from(String(entry), 'base64');
    return { metadata, data: Buffer.from(typeof candidate.data === 'string' ? candidate.data : '', 'base64') };
  }
  for (const child of Object.values(value)) {
    const found = firstEncryptedPayload(child);
    if (found) return found;
  }
  return undefined;
}

/**
 * Encrypted payloads need the key they were written with. A wrong key would otherwise surface as a failed
 * workflow task during replay and read like an incompatibility; say what it is instead.
 */
async function codecFor(history: HistoryJson): Promise<EncryptionCodec | undefined> {
  const encrypted = firstEncryptedPayload(history.events);
  const key = loadPayloadKey();
  if (!key) {
    if (!encrypted) return undefined;
    throw new CliError(
      'the history has encrypted payloads: set PAYLOAD_ENCRYPTION_KEY (and PAYLOAD_ENCRYPTION_KEY_ID) to the key they were ' +
        'written with',
      2,
    );
  }
  const codec = new EncryptionCodec(key);
  if (encrypted) {
    try {
      await codec.decode([encrypted]);
    } catch (error) {
      throw new CliError(
        `cannot decrypt the history's payloads with PAYLOAD_ENCRYPTION_KEY (key id ${key.id}): ${(error as Error).message}`,
        2,
      );
    }
  }
  return codec;
}

function quietRuntime(): void {
  // Worker logs go to stderr, warnings and above only, so stdout carries just the report.
  const toStderr = (entry: LogEntry) => process.stderr.write(`[${entry.level}] ${entry.message}\n`);
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN', toStderr),
      // The core's "Failing workflow task" warning repeats what the report says; keep only its errors.
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} } },
    });
  } catch {
    // Already installed in this process.
  }
}

/** Replays the history against the workflow code of this build: `compatible`, or the nondeterminism error. */
export async function replayHistoryFile(file: string, options: { workflowId?: string } = {}): Promise<ReplayReport> {
  const history = await readHistory(file);
  const started = startedAttributes(history);
  const workflowId = options.workflowId ?? started?.workflowId ?? path.basename(file).replace(/\.json$/i, '');
  const codec = await codecFor(history);
  const dataConverter: DataConverter | undefined = codec ? { payloadCodecs: [codec] } : undefined;
  quietRuntime();
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: new DefaultLogger('WARN', (entry) => process.stderr.write(`[bundle ${entry.level}] ${entry.message}\n`)),
  });
  const report: ReplayReport = {
    file,
    workflowId,
    workflowType: started?.workflowType?.name,
    events: history.events.length,
    compatible: true,
  };
  try {
    await Worker.runReplayHistory({ workflowBundle, dataConverter, replayName: 'itdr-verify-cli-replay' }, history, workflowId);
  } catch (error) {
    const err = error as Error;
    // DeterminismViolationError (a command the code no longer issues) or ReplayError (the workflow task failed).
    report.compatible = false;
    report.error = { name: err.name, message: err.message };
  }
  return report;
}

/** The core's reason ("[TMPRL1100] Nondeterminism error: ...") without the Rust debug wrapping around it. */
function shortReason(message: string): string {
  return /message: "((?:[^"\\]|\\.)*)"/.exec(message)?.[1].replace(/\\"/g, '"') ?? message;
}

export async function replayCommand(output: Output, file: string, options: { workflowId?: string }): Promise<number> {
  const report = await replayHistoryFile(file, options);
  if (output.json) {
    printJson(output, report);
  } else if (report.compatible) {
    output.out(
      `compatible: ${report.file} (${report.workflowType ?? 'workflow'} ${report.workflowId}, ${report.events} events) replays ` +
        `against the current workflow code`,
    );
  } else {
    output.out(`INCOMPATIBLE: ${report.file} (${report.workflowType ?? 'workflow'} ${report.workflowId}, ${report.events} events)`);
    output.out(`${report.error!.name}: ${shortReason(report.error!.message)}`);
    output.note('Running verifications with such a history would fail after a worker restart: put the change behind patched().');
  }
  return report.compatible ? 0 : 1;
}
