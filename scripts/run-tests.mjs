// Runs the compiled test suite (`npm test` builds first) against ONE Temporal dev server shared by
// every test file, so no test downloads or starts its own.
//
// Usage: node scripts/run-tests.mjs [substring ...]   (substrings filter the test files' paths)
// ITDR_TEST_TIMEOUT_MINUTES (default 30) bounds the whole test run.
//
// Tests receive TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_UI_URL, ITDR_TLS_DIR and NODE_EXTRA_CA_CERTS
// (so Node trusts the simulator's test CA). They must not depend on each other's order.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const require = createRequire(import.meta.url);

function log(message) {
  process.stderr.write(`run-tests: ${message}\n`);
}

function fail(message) {
  log(`error: ${message}`);
  process.exit(1);
}

function findTests(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return findTests(full);
    return entry.isFile() && entry.name.endsWith('.test.js') ? [full] : [];
  });
}

const filters = process.argv.slice(2);
const testDir = path.join(dist, 'test');
const tests = findTests(testDir)
  .map((file) => path.relative(root, file))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
if (tests.length === 0) {
  fail(
    filters.length
      ? `no test file under ${path.relative(root, testDir)} matches ${filters.map((f) => JSON.stringify(f)).join(', ')}`
      : `no *.test.js under ${path.relative(root, testDir)}: did the build run (npm run build)?`,
  );
}

// The one definition of the cache folder, built (scripts/temporal-cli.sh keeps a shell copy of the rule).
const { cacheDir } = require(path.join(dist, 'src', 'doctor', 'dev-stack-record.js'));

const tlsDir = path.join(cacheDir(), 'tls');
const { ensureDevCertificates } = require(path.join(dist, 'tools', 'simulator', 'tls.js'));
const certificates = ensureDevCertificates(tlsDir);
log(`test CA ${certificates.caCertPath}`);

// Our launcher, not @temporalio/testing's TestWorkflowEnvironment.createLocal({ server: { executable:
// { type: 'existing-path', path } } }) (1.24.0), which would replace only its spawn: the SDK gives the server
// 5 s to accept a gRPC connection and then kills it (sdk-core's ephemeral_server: 50 tries, 100 ms apart), and
// this suite's server took 2.4-4.0 s on a loaded 2-core machine; it checks neither that the search attributes
// are registered nor that the Web UI answers (both would still need our wait); it pipes the server's output into
// the runner's instead of a log file; and `npm run dev`, the chaos run and the bench need fixed ports, a SQLite
// file and a restart on it, so they would keep this launcher anyway.
const { startTemporalDevServer } = require(path.join(dist, 'tools', 'dev', 'temporal-server.js'));

let server;
let testProcess;
let testExited;
let shuttingDown = false;

async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  if (server) {
    log('stopping the Temporal dev server');
    await server.stop().catch((err) => log(`stopping the server failed: ${err}`));
  }
  if (testProcess && testExited) {
    // Give interrupted tests a moment to clean up; never leave them behind.
    const timer = setTimeout(() => testProcess.kill('SIGKILL'), 5_000);
    await testExited;
    clearTimeout(timer);
  }
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    log(`${signal}: stopping`);
    // On Ctrl-C the terminal signals the whole process group; a CI runner may signal only us, so forward.
    if (testProcess && testProcess.exitCode === null && testProcess.signalCode === null) testProcess.kill(signal);
    void shutdown(signal === 'SIGINT' ? 130 : 143);
  });
}

try {
  const started = Date.now();
  // The UI stays on: a browser test opens it.
  server = await startTemporalDevServer({ headless: false });
  log(
    `Temporal dev server ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
      `address ${server.address}, namespace ${server.namespace}, UI ${server.uiUrl}, log ${server.logFile}`,
  );
} catch (err) {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  await shutdown(1);
}

// Test-runner flags arrived during Node 20's life (engines allows >= 20.3): pass only those this node knows.
const nodeHelp = execFileSync(process.execPath, ['--help'], { encoding: 'utf8' });
const runnerFlags = [
  // Two files at a time: the machine has two cores and one shared Temporal server.
  '--test-concurrency=2',
  // A test file whose tests are done but that leaves a handle open (a server, a socket) would otherwise
  // hold the run until CI's own limit.
  '--test-force-exit',
].filter((flag) => nodeHelp.includes(flag.split('=')[0]));

// Last resort against a hung test file: CI's budget is finite, and a clear failure beats a silent kill.
const runTimeoutMinutes = Number(process.env.ITDR_TEST_TIMEOUT_MINUTES || 30);

if (!shuttingDown) {
  log(`running ${tests.length} test file(s) (${runnerFlags.join(' ') || 'no runner flags'}, limit ${runTimeoutMinutes} min)`);
  testProcess = spawn(process.execPath, ['--test', ...runnerFlags, ...tests], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      TEMPORAL_UI_URL: server.uiUrl ?? '',
      NODE_EXTRA_CA_CERTS: certificates.caCertPath,
      ITDR_TLS_DIR: tlsDir,
    },
  });
  testExited = new Promise((resolve) => {
    testProcess.once('exit', resolve);
    testProcess.once('error', resolve);
  });
  testProcess.once('error', (err) => {
    log(`could not start node --test: ${err.message}`);
    void shutdown(1);
  });
  const watchdog = setTimeout(() => {
    log(`error: tests still running after ${runTimeoutMinutes} min (ITDR_TEST_TIMEOUT_MINUTES); stopping them`);
    testProcess.kill('SIGTERM');
  }, runTimeoutMinutes * 60_000);
  watchdog.unref();
  testProcess.once('exit', (code, signal) => {
    clearTimeout(watchdog);
    if (signal) log(`node --test ended by ${signal}`);
    void shutdown(code ?? 1);
  });
}
