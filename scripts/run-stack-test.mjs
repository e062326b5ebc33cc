// `npm run test:stack`: the production-shaped stack test (test/stack), apart from `npm test` because it builds
// and starts real servers (PostgreSQL, the Temporal server; installed by scripts/deploy-tools.sh and Debian).
// It creates the simulator's test CA first (as scripts/run-tests.mjs does) so this process trusts it.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
// The one definition of the cache folder (this runs after the build).
const { cacheDir } = require(path.join(root, 'dist', 'src', 'doctor', 'dev-stack-record.js'));
const { ensureDevCertificates } = require(path.join(root, 'dist', 'tools', 'simulator', 'tls.js'));
const certificates = ensureDevCertificates(path.join(cacheDir(), 'tls'));

const started = Date.now();
const child = spawn(process.execPath, ['--test', '--test-force-exit', path.join('dist', 'test', 'stack', 'production-stack.stack.js')], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_EXTRA_CA_CERTS: certificates.caCertPath },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.once('exit', (code, signal) => {
  process.stderr.write(`run-stack-test: ${signal ?? `exit ${code}`} after ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  process.exit(code ?? 1);
});
