import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

/**
 * What the Dockerfile puts in the image, worked out from its steps the way `docker build` would run them:
 * the build stage's COPY sources (the context the compiler sees), the `npm run` script its RUN step calls and
 * that script's `tsc -p` configuration, then the files that compiler emits (its `include`, plus whatever those
 * files import, as tsc compiles every file it resolves), and the runtime stage's COPY --from=build.
 * No Docker needed: the emitted list comes from transpiling each file on its own, which is enough to follow
 * its requires (what tsc keeps after eliding type-only imports).
 */
export interface DockerStep {
  instruction: string;
  args: string;
}

export interface DockerStage {
  name: string;
  steps: DockerStep[];
}

/** The Dockerfile's stages and their steps, line continuations joined, comments dropped. */
export function parseDockerfile(text: string): DockerStage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: DockerStage[] = [];
  for (const line of logical) {
    const [, instruction, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!instruction) continue;
    if (instruction.toUpperCase() === 'FROM') {
      stages.push({ name: /\bAS\s+(\S+)/i.exec(args)?.[1] ?? String(stages.length), steps: [] });
    } else {
      stages.at(-1)?.steps.push({ instruction: instruction.toUpperCase(), args });
    }
  }
  return stages;
}

/** A COPY step's sources and destination, and its --from stage if any. */
export function copySources(step: DockerStep): { from?: string; sources: string[]; destination: string } {
  const words = step.args.split(/\s+/);
  const flags = words.filter((word) => word.startsWith('--'));
  const paths = words.filter((word) => !word.startsWith('--'));
  const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
}

const sourceExtensions = ['.ts', '/index.ts'];

/** The TypeScript file a relative specifier names, as the compiler resolves it; undefined if there is none. */
function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(fromFile), specifier).replace(/\.js$/, '');
  return sourceExtensions.map((extension) => base + extension).find((candidate) => fs.existsSync(candidate));
}

const declaresRequire = (statements: readonly ts.Statement[]) =>
  statements.some(
    (statement) =>
      (ts.isFunctionDeclaration(statement) && statement.name?.text === 'require') ||
      (ts.isVariableStatement(statement) &&
        statement.declarationList.declarations.some(
          (declaration) => ts.isIdentifier(declaration.name) && declaration.name.text === 'require',
        )),
  );

/**
 * Every module specifier a compiled file requires: require(), require.resolve() and dynamic import() (compiled to
 * require), with a string literal; calls of a local function that happens to be named `require` are not.
 */
const specifiersByFile = new Map<string, string[]>();

function requiredSpecifiers(file: string, options: ts.CompilerOptions): string[] {
  const known = specifiersByFile.get(file);
  if (known) return known;
  const output = ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions: options, fileName: file }).outputText;
  const specifiers: string[] = [];
  const visit = (node: ts.Node, shadowed: boolean): void => {
    if (ts.isSourceFile(node) || ts.isBlock(node)) shadowed ||= declaresRequire(node.statements);
    if (ts.isFunctionLike(node))
      shadowed ||= node.parameters.some((parameter) => ts.isIdentifier(parameter.name) && parameter.name.text === 'require');
    if (!shadowed && ts.isCallExpression(node) && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      const callee = node.expression;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      const isResolve =
        ts.isPropertyAccessExpression(callee) &&
        ts.isIdentifier(callee.expression) &&
        callee.expression.text === 'require' &&
        callee.name.text === 'resolve';
      if (isRequire || isResolve) specifiers.push(node.arguments[0].text);
    }
    node.forEachChild((child) => visit(child, shadowed));
  };
  visit(ts.createSourceFile(file.replace(/\.ts$/, '.js'), output, ts.ScriptTarget.Latest, true), false);
  specifiersByFile.set(file, specifiers);
  return specifiers;
}

export interface ModuleGraph {
  /** Source files compiled, absolute paths. */
  files: string[];
  /** Package specifiers (not relative, not Node built-ins) and the files requiring them. */
  packages: Map<string, string[]>;
  /** Relative requires that resolve to no file: what the compiler would refuse. */
  unresolved: string[];
}

/** Follows the relative requires from `roots`, as tsc compiles every file its root files import. */
export function moduleGraph(roots: string[], options: ts.CompilerOptions): ModuleGraph {
  const files = new Set<string>();
  const packages = new Map<string, string[]>();
  const unresolved: string[] = [];
  const pending = roots.map((root) => path.resolve(root));
  const builtins = new Set(builtinModules);
  while (pending.length) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const specifier of requiredSpecifiers(file, options)) {
      if (specifier.startsWith('.')) {
        const target = resolveRelative(file, specifier);
        if (target) pending.push(target);
        else unresolved.push(`${file}: ${specifier}`);
      } else if (!specifier.startsWith('node:') && !builtins.has(specifier)) {
        packages.set(specifier, [...(packages.get(specifier) ?? []), file]);
      }
    }
  }
  return { files: [...files].sort(), packages, unresolved };
}

/** The package a specifier names: `@scope/name` or `name`, without a subpath. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The tsc configuration a package.json script compiles with (`tsc -p <file>`). */
export function scriptTsconfig(script: string): string | undefined {
  return /\btsc\s+(?:-p|--project)\s+(\S+)/.exec(script)?.[1];
}

/** Parses a tsconfig the way tsc does (extends, include globs) with the compiler options it sets. */
export function readTsconfig(file: string): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(file, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
    },
  });
  if (!parsed) throw new Error(`${file}: not a tsconfig`);
  return parsed;
}

/** The packages `npm ci` followed by `npm prune --omit=dev` leaves: the lock's entries not marked dev. */
export function runtimeLockEntries(lock: { packages: Record<string, { dev?: boolean }> }): string[] {
  return Object.entries(lock.packages)
    .filter(([location, entry]) => location.startsWith('node_modules/') && !entry.dev)
    .map(([location]) => location);
}
