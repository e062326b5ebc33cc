import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import ts from 'typescript';
import { packageRoot } from '../../tools/dev/temporal-server';
import {
  copySources,
  moduleGraph,
  packageName,
  parseDockerfile,
  readTsconfig,
  runtimeLockEntries,
  scriptTsconfig,
} from '../helpers/production-image';

const root = packageRoot();
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  main: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};
const stages = parseDockerfile(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
const buildStage = stages.find((stage) => stage.name === 'build');
const runtimeStage = stages.at(-1);
assert.ok(buildStage && runtimeStage && buildStage !== runtimeStage, 'the Dockerfile has a build stage and a runtime stage');

/** The build context the compiler sees: what the build stage's COPY steps bring in. */
const contextSources = buildStage.steps
  .filter((step) => step.instruction === 'COPY' && !copySources(step).from)
  .flatMap((step) => copySources(step).sources);
const inContext = (file: string) =>
  contextSources.some((source) => file === path.join(root, source) || file.startsWith(path.join(root, source) + path.sep));

/** The tsc configuration of the `npm run` scripts the build stage's RUN steps call. */
const imageTsconfigs = buildStage.steps
  .filter((step) => step.instruction === 'RUN')
  .flatMap((step) => [...step.args.matchAll(/\bnpm run ([\w:-]+)/g)].map((match) => match[1]))
  .map((script) => scriptTsconfig(manifest.scripts[script] ?? ''))
  .filter((config): config is string => config !== undefined);
assert.equal(imageTsconfigs.length, 1, `the build stage compiles once with tsc -p (found ${imageTsconfigs.join(', ') || 'none'})`);
const imageTsconfig = imageTsconfigs[0];
const config = readTsconfig(path.join(root, imageTsconfig));
const graph = moduleGraph(config.fileNames, config.options);
const outDir = config.options.outDir ?? root;
const rootDir = config.options.rootDir ?? root;
/** dist/… paths of what the compiler emits, relative to the package root (as in the image's /app). */
const emitted = graph.files.map((file) => path.relative(root, path.join(outDir, path.relative(rootDir, file))).replace(/\.ts$/, '.js'));
const ENTRY_POINTS = ['dist/src/worker.js', 'dist/src/gateway.js', 'dist/src/cli.js', 'dist/src/doctor.js'];
const sourceOf = (entry: string) => graph.files[emitted.indexOf(entry)];

describe('the production image', () => {
  test('the build stage compiles only src/, and its dist/ holds no simulator or dev tooling', () => {
    assert.ok(contextSources.includes(imageTsconfig), `${imageTsconfig} is copied into the build stage`);
    for (const source of contextSources) assert.ok(!/^(tools|test|bench)(\/|$)/.test(source), `the build stage copies ${source}`);
    assert.deepEqual(graph.unresolved, [], 'every relative require resolves');
    assert.deepEqual(
      graph.files.filter((file) => !inContext(file)).map((file) => path.relative(root, file)),
      [],
      'every file the compiler reaches is in the build context',
    );
    assert.ok(emitted.length > 50, `dist/ holds the product (${emitted.length} files)`);
    const tooling = emitted.filter(
      (file) => !file.startsWith('dist/src/') || /\/(simulator|dev|tools)\//.test(file) || path.basename(file) === 'dev.js',
    );
    assert.deepEqual(tooling, [], 'dist/ holds only the product');
    for (const entry of [...ENTRY_POINTS, manifest.main, ...Object.values(manifest.bin)])
      assert.ok(emitted.includes(entry), `${entry} is built`);
    const cmd = runtimeStage.steps.find((step) => step.instruction === 'CMD');
    for (const script of JSON.parse(cmd?.args ?? '[]').filter((arg: string) => arg.endsWith('.js'))) {
      assert.ok(emitted.includes(script), `the image's CMD ${script} is built`);
    }
  });

  test("the runtime stage takes the build stage's dist/ and pruned node_modules, nothing else", () => {
    const fromBuild = runtimeStage.steps.filter((step) => step.instruction === 'COPY').map(copySources);
    assert.ok(
      fromBuild.every((copy) => copy.from === 'build'),
      'the runtime stage copies from the build stage only',
    );
    assert.deepEqual(fromBuild.flatMap((copy) => copy.sources).sort(), [
      '/app/dist',
      '/app/node_modules',
      '/app/package-lock.json',
      '/app/package.json',
    ]);
    assert.ok(
      buildStage.steps.some((step) => step.instruction === 'RUN' && /\bnpm prune --omit=dev\b/.test(step.args)),
      'node_modules is pruned to the runtime dependencies',
    );
  });

  test('the entry points require only runtime dependencies, and every runtime dependency is required', () => {
    const runtime = new Set(Object.keys(manifest.dependencies));
    for (const entry of ENTRY_POINTS) {
      const reached = moduleGraph([sourceOf(entry)], config.options);
      const devOnly = [...reached.packages].filter(([specifier]) => !runtime.has(packageName(specifier)));
      assert.deepEqual(
        devOnly.map(([specifier, files]) => `${specifier} (${files.map((file) => path.relative(root, file)).join(', ')})`),
        [],
        `${entry} requires only dependencies`,
      );
    }
    const used = new Set([...graph.packages.keys()].map(packageName));
    assert.deepEqual(
      [...runtime].filter((name) => !used.has(name)),
      [],
      'no runtime dependency that the product does not require (tooling-only packages are devDependencies)',
    );
  });

  test('what the product requires loads with only the packages npm prune --omit=dev keeps', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as Parameters<typeof runtimeLockEntries>[0];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itdr-image-modules-'));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    // Top-level packages only: nested ones come with their parent's folder. With --preserve-symlinks a package's
    // own requires resolve from this node_modules, so a runtime package needing a dev-only one fails here.
    for (const location of runtimeLockEntries(lock).filter((entry) => !entry.slice('node_modules/'.length).includes('node_modules/'))) {
      fs.mkdirSync(path.dirname(path.join(dir, location)), { recursive: true });
      fs.symlinkSync(path.join(root, location), path.join(dir, location), 'dir');
    }
    // Each specifier resolved (subpaths too, as require.resolve names them) and each package loaded.
    const specifiers = [...graph.packages.keys()];
    const packages = [...new Set(specifiers.map(packageName))];
    const probe = `
      const { createRequire } = require('node:module');
      const load = createRequire(${JSON.stringify(path.join(dir, 'probe.js'))});
      const failed = [];
      const attempt = (specifier, step) => {
        try {
          step(specifier);
        } catch (error) {
          failed.push(specifier + ': ' + error.message.split('\\n')[0]);
        }
      };
      for (const specifier of ${JSON.stringify(specifiers)}) attempt(specifier, load.resolve);
      for (const name of ${JSON.stringify(packages)}) attempt(name, load);
      process.stdout.write(JSON.stringify(failed));`;
    const child = spawnSync(process.execPath, ['--preserve-symlinks', '-e', probe], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout), [], 'every package the product requires loads without the devDependencies');
    assert.ok(!fs.existsSync(path.join(dir, 'node_modules', 'node-forge')), "node-forge (the simulator's certificates) is not kept");
  });

  test('src/ imports nothing outside src/ (tools/, test/, bench/)', () => {
    const sources = (fs.readdirSync(path.join(root, 'src'), { recursive: true }) as string[])
      .filter((file) => file.endsWith('.ts'))
      .map((file) => path.join(root, 'src', file));
    const outside: string[] = [];
    for (const file of sources) {
      // Type-only imports count too: the product's source must not lean on the tooling at all.
      const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
      for (const { fileName } of importedFiles) {
        if (!fileName.startsWith('.')) continue;
        const target = path.resolve(path.dirname(file), fileName);
        if (!target.startsWith(path.join(root, 'src') + path.sep)) outside.push(`${path.relative(root, file)} imports ${fileName}`);
      }
    }
    assert.ok(sources.length > 50, `src/ has the product's files (${sources.length})`);
    assert.deepEqual(outside, []);
  });
});
