import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../config/parse';
import { VERIFICATION_STATUSES, type VerificationStatus } from '../shared/types';
import { QueryValueError } from '../shared/visibility-query';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors';
import { consoleOutput } from './output';
import { WAITING_STATUSES } from './statuses';

// The Temporal client and worker packages load only when a command runs, so --help and usage errors are quick.
const commands = () => import('./commands');

const DEFAULT_STUCK_AGE = '2h';

function version(): string {
  try {
    // dist/src/cli/program.js → the package's own package.json
    return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function durationArg(value: string): number {
  try {
    const ms = parseDuration(value);
    if (ms < 0) throw new Error('must not be negative');
    return ms;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function limitArg(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new InvalidArgumentError('must be a whole number from 1 to 10000');
  return limit;
}

const ID_ARGUMENT = ['<id>', 'incident id (IncidentId or a joined incident) or workflow id (idv-...)'] as const;
const JSON_OPTION = ['--json', 'print the result as JSON (errors still go to stderr)'] as const;

const ENVIRONMENT_HELP = `
Configuration (the same variables as the gateway and the worker):
  TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), TEMPORAL_TASK_QUEUE (itdr-verify),
  TEMPORAL_TLS_CERT_PATH + TEMPORAL_TLS_KEY_PATH (mTLS) or TEMPORAL_API_KEY (Temporal Cloud),
  PAYLOAD_ENCRYPTION_KEY (required) and PAYLOAD_ENCRYPTION_KEY_ID (k1).
Only verifications on TEMPORAL_TASK_QUEUE are listed and looked up by incident id.

Exit codes: 0 ok, 1 the operation failed or was refused, 2 usage or configuration error.`;

/** The commander program; `setExitCode` receives each action's exit code. */
export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('itdr-verify');
  program
    .exitOverride()
    .description('Operator CLI for itdr-verify: find, inspect and steer identity verifications in Temporal.')
    .version(version(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', ENVIRONMENT_HELP);

  program
    .command('list')
    .description('list verifications, newest first: workflow id, incident, user, status, Incode session state, start time')
    .option('--stuck', `only running verifications waiting for a person (${WAITING_STATUSES.join(', ')}) that started before --older-than`)
    .option(
      '--older-than <duration>',
      `with --stuck: started more than this long ago, e.g. 30m, 2h, 1d (default ${DEFAULT_STUCK_AGE})`,
      durationArg,
    )
    .addOption(new Option('--status <status>', 'only this VerificationStatus').choices(VERIFICATION_STATUSES))
    .option('--user <email>', 'only verifications of this user (VerifiedUser)')
    .option('--limit <n>', 'show at most this many', limitArg, 100)
    .option(...JSON_OPTION)
    .addHelpText(
      'after',
      '\nExamples:\n  itdr-verify list --stuck\n  itdr-verify list --stuck --older-than 30m --json\n  itdr-verify list --status ' +
        'AwaitingReview --user alice@contoso.com',
    )
    .action(
      async (options: {
        stuck?: boolean;
        olderThan?: number;
        status?: VerificationStatus;
        user?: string;
        limit: number;
        json?: boolean;
      }) => {
        if (options.olderThan !== undefined && !options.stuck) throw new UsageError('--older-than goes with --stuck');
        setExitCode(
          await (
            await commands()
          ).listCommand(consoleOutput(Boolean(options.json)), {
            stuck: options.stuck,
            olderThanMs: options.olderThan ?? parseDuration(DEFAULT_STUCK_AGE),
            status: options.status,
            user: options.user,
            limit: options.limit,
          }),
        );
      },
    );

  program
    .command('show')
    .description("show one verification: Temporal's description and the workflow's status query (the link is never shown)")
    .argument(...ID_ARGUMENT)
    .option(...JSON_OPTION)
    .action(async (id: string, options: { json?: boolean }) => {
      setExitCode(await (await commands()).showCommand(consoleOutput(Boolean(options.json)), id));
    });

  program
    .command('resend')
    .description(
      "remind the user now (a comment on the incident; a new Incode session if the link expired) and print the current link's " +
        'interview id and expiry',
    )
    .argument(...ID_ARGUMENT)
    .option('--show-link', 'also print the verification link (sensitive: whoever opens it can verify as the user)')
    .option(...JSON_OPTION)
    .action(async (id: string, options: { showLink?: boolean; json?: boolean }) => {
      setExitCode(await (await commands()).resendCommand(consoleOutput(Boolean(options.json)), id, { showLink: options.showLink }));
    });

  program
    .command('cancel')
    .description('stop a waiting verification without touching the incident (recorded as Cancelled, requested by cli:<os user>)')
    .argument(...ID_ARGUMENT)
    .option('--reason <text>', 'why (recorded in the outcome)')
    .option(...JSON_OPTION)
    .action(async (id: string, options: { reason?: string; json?: boolean }) => {
      setExitCode(await (await commands()).cancelCommand(consoleOutput(Boolean(options.json)), id, { reason: options.reason }));
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(
        `${decision} a verification that is AwaitingReview (reviewer cli:<os user>); ` +
          `${decision === 'approve' ? 'the incident is closed' : 'the incident is escalated'}. ` +
          'Exit 1 "not awaiting review" in any other state',
      )
      .argument(...ID_ARGUMENT)
      .option('--note <text>', 'a note for the audit comment')
      .option(...JSON_OPTION)
      .action(async (id: string, options: { note?: string; json?: boolean }) => {
        setExitCode(await (await commands()).reviewCommand(consoleOutput(Boolean(options.json)), id, decision, { note: options.note }));
      });
  }

  program
    .command('replay')
    .description(
      'replay a workflow history (the JSON the Web UI or "temporal workflow show --output json" downloads) against this ' +
        "build's workflow code; " +
        'exit 0 compatible, 1 nondeterminism. Encrypted payloads need PAYLOAD_ENCRYPTION_KEY; no server is contacted',
    )
    .argument('<history.json>', 'history file')
    .option('--workflow-id <id>', 'the workflow id to replay as (default: the one recorded in the history)')
    .option(...JSON_OPTION)
    .action(async (file: string, options: { workflowId?: string; json?: boolean }) => {
      setExitCode(
        await (await import('./replay')).replayCommand(consoleOutput(Boolean(options.json)), file, { workflowId: options.workflowId }),
      );
    });

  const tiSync = program
    .command('ti-sync')
    .description(
      'the threat-intelligence sync (Sentinel feed → Defender for Endpoint indicators): run it now, plan it, or show its schedule ' +
        'and last run',
    );
  const syncOption = ['--sync <id|feed>', 'which sync (its id or feed name); needed when several are configured'] as const;
  for (const [name, dryRun, description] of [
    ['run', false, 'run the sync now and wait for it: creates, updates and deletes Defender indicators; exit 1 when it could not finish'],
    ['dry-run', true, 'read the feed and Defender and print what a run would change; writes nothing'],
  ] as const) {
    tiSync
      .command(name)
      .description(description)
      .option(...syncOption)
      .option(...JSON_OPTION)
      .action(async (options: { sync?: string; json?: boolean }) => {
        setExitCode(
          await (await import('./ti-sync')).tiSyncRunCommand(consoleOutput(Boolean(options.json)), { sync: options.sync, dryRun }),
        );
      });
  }
  tiSync
    .command('status')
    .description("each sync's schedule (interval, paused, next run) and the result of its latest run")
    .option(...syncOption)
    .option(...JSON_OPTION)
    .action(async (options: { sync?: string; json?: boolean }) => {
      setExitCode(await (await import('./ti-sync')).tiSyncStatusCommand(consoleOutput(Boolean(options.json)), { sync: options.sync }));
    });

  return program;
}

/** Parses `argv` (as process.argv: node, script, ...args), runs the command, and returns the exit code. */
export async function runCli(argv: string[] = process.argv): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help) already.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
    return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  const err = error as Error;
  if (err instanceof CliError) {
    process.stderr.write(`itdr-verify: error: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof QueryValueError) {
    process.stderr.write(`itdr-verify: error: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err?.name === 'ConfigError') {
    process.stderr.write(`itdr-verify: ${err.message}\n`);
    return EXIT_USAGE;
  }
  process.stderr.write(`itdr-verify: error: ${err?.message ?? String(error)}\n`);
  if (process.env.ITDR_CLI_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
  return EXIT_FAILURE;
}
