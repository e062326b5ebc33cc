import { createHash } from 'node:crypto';

/**
 * Just enough of Azure Resource Manager's template language to check and render this repository's templates
 * offline: the expression grammar (`[fn(arg, ...).prop[index]]`, `'string'` literals with `''` escapes,
 * numbers, `[[` for a literal bracket) and the functions the templates use. An unknown function is an error,
 * so a template that starts using one fails here rather than being rendered wrongly.
 */

export type ArmExpression =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'call'; name: string; args: ArmExpression[]; accessors: ArmAccessor[] };

export type ArmAccessor = { kind: 'property'; name: string } | { kind: 'index'; index: ArmExpression };

/** A template string that holds an expression: `[...]`, but not `[[...` (a literal). */
export function isExpression(text: string): boolean {
  return text.startsWith('[') && text.endsWith(']') && !text.startsWith('[[');
}

export function parseArmExpression(text: string): ArmExpression {
  const parser = new Parser(text.slice(1, -1));
  const expression = parser.expression();
  parser.end();
  return expression;
}

class Parser {
  private position = 0;

  constructor(private readonly source: string) {}

  expression(): ArmExpression {
    this.skipSpace();
    const char = this.source[this.position];
    if (char === "'") return this.string();
    if (char !== undefined && /[-0-9]/.test(char)) return this.number();
    const name = this.identifier();
    this.skipSpace();
    this.expect('(');
    const args: ArmExpression[] = [];
    this.skipSpace();
    if (this.source[this.position] !== ')') {
      for (;;) {
        args.push(this.expression());
        this.skipSpace();
        if (this.source[this.position] === ',') {
          this.position++;
          continue;
        }
        break;
      }
    }
    this.expect(')');
    return { kind: 'call', name, args, accessors: this.accessors() };
  }

  end(): void {
    this.skipSpace();
    if (this.position !== this.source.length) this.fail('unexpected text after the expression');
  }

  private accessors(): ArmAccessor[] {
    const accessors: ArmAccessor[] = [];
    for (;;) {
      const char = this.source[this.position];
      if (char === '.') {
        this.position++;
        accessors.push({ kind: 'property', name: this.identifier() });
      } else if (char === '[') {
        this.position++;
        const index = this.expression();
        this.skipSpace();
        this.expect(']');
        accessors.push({ kind: 'index', index });
      } else {
        return accessors;
      }
    }
  }

  private identifier(): string {
    const match = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?/.exec(this.source.slice(this.position));
    if (!match) this.fail('expected a function name');
    // `a.b(` is a namespaced (user-defined) function; `a.b` followed by anything else is a property access.
    const [whole, dotted] = [match[0], match[1]];
    if (dotted && this.source[this.position + whole.length] !== '(') {
      const head = whole.slice(0, whole.length - dotted.length);
      this.position += head.length;
      return head;
    }
    this.position += whole.length;
    return whole;
  }

  private string(): ArmExpression {
    this.position++;
    let value = '';
    for (;;) {
      const char = this.source[this.position];
      if (char === undefined) this.fail('unterminated string');
      if (char === "'") {
        if (this.source[this.position + 1] === "'") {
          value += "'";
          this.position += 2;
          continue;
        }
        this.position++;
        return { kind: 'string', value };
      }
      value += char;
      this.position++;
    }
  }

  private number(): ArmExpression {
    const match = /^-?\d+(\.\d+)?/.exec(this.source.slice(this.position));
    if (!match) this.fail('expected a number');
    this.position += match[0].length;
    return { kind: 'number', value: Number(match[0]) };
  }

  private expect(char: string): void {
    if (this.source[this.position] !== char) this.fail(`expected "${char}"`);
    this.position++;
  }

  private skipSpace(): void {
    while (this.source[this.position] === ' ') this.position++;
  }

  private fail(why: string): never {
    throw new Error(`ARM expression [${this.source}]: ${why} at position ${this.position}`);
  }
}

/** Every call in an expression, depth first (for the declared/used check). */
export function callsIn(expression: ArmExpression): Array<Extract<ArmExpression, { kind: 'call' }>> {
  if (expression.kind !== 'call') return [];
  return [
    expression,
    ...expression.args.flatMap(callsIn),
    ...expression.accessors.flatMap((accessor) => (accessor.kind === 'index' ? callsIn(accessor.index) : [])),
  ];
}

export interface ArmContext {
  parameters: Record<string, unknown>;
  variables: (name: string) => unknown;
  subscription: { subscriptionId: string; tenantId: string };
  resourceGroup: { name: string; location: string; id: string };
  /** reference(resourceId, apiVersion): the runtime state of a resource, supplied by the test. */
  reference: (resourceId: string) => unknown;
  copyIndex?: (loop?: string) => number;
}

type Fn = (args: unknown[], context: ArmContext) => unknown;

const str = (value: unknown): string => {
  if (typeof value !== 'string') throw new Error(`expected a string, got ${JSON.stringify(value)}`);
  return value;
};
const num = (value: unknown): number => {
  if (typeof value !== 'number') throw new Error(`expected a number, got ${JSON.stringify(value)}`);
  return value;
};

function resourceIdOf(args: unknown[], context: ArmContext, scope: 'group' | 'subscription'): string {
  const strings = args.map(str);
  // resourceId([subscriptionId], [resourceGroupName], type, name1, name2, ...): the type is the first with a "/".
  const typeIndex = strings.findIndex((part) => part.includes('/'));
  if (typeIndex < 0) throw new Error(`resourceId(${strings.join(', ')}): no resource type`);
  const [namespace, ...types] = strings[typeIndex].split('/');
  const names = strings.slice(typeIndex + 1);
  if (names.length !== types.length) throw new Error(`resourceId: ${types.length} type segment(s), ${names.length} name(s)`);
  const leading = strings.slice(0, typeIndex);
  const subscriptionId = leading.length >= (scope === 'group' ? 2 : 1) ? leading[0] : context.subscription.subscriptionId;
  const group =
    scope === 'group' ? (leading.length === 2 ? leading[1] : leading.length === 1 ? leading[0] : context.resourceGroup.name) : undefined;
  const path = types.map((type, index) => `${type}/${names[index]}`).join('/');
  return `/subscriptions/${subscriptionId}${group ? `/resourceGroups/${group}` : ''}/providers/${namespace}/${path}`;
}

/** ARM's guid(): a deterministic GUID of its arguments (the same inputs give the same name on every run). */
function guidOf(parts: string[]): string {
  const hex = createHash('sha1').update(parts.join('-')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const FUNCTIONS: Record<string, Fn> = {
  parameters: ([name], context) => {
    if (!(str(name) in context.parameters)) throw new Error(`parameters('${String(name)}'): not given and no default`);
    return context.parameters[str(name)];
  },
  variables: ([name], context) => context.variables(str(name)),
  concat: (args) =>
    args.every(Array.isArray)
      ? (args as unknown[][]).flat()
      : args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(''),
  if: ([condition, whenTrue, whenFalse]) => (condition ? whenTrue : whenFalse),
  equals: ([a, b]) => JSON.stringify(a) === JSON.stringify(b),
  not: ([value]) => !value,
  and: (args) => args.every(Boolean),
  or: (args) => args.some(Boolean),
  empty: ([value]) =>
    value === null ||
    value === undefined ||
    value === '' ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === 'object' && Object.keys(value).length === 0),
  length: ([value]) => (typeof value === 'string' || Array.isArray(value) ? value.length : Object.keys(value as object).length),
  endsWith: ([text, suffix]) => str(text).toLowerCase().endsWith(str(suffix).toLowerCase()),
  take: ([value, count]) => (typeof value === 'string' || Array.isArray(value) ? value.slice(0, num(count)) : value),
  last: ([value]) => (typeof value === 'string' || Array.isArray(value) ? value[value.length - 1] : undefined),
  split: ([text, delimiter]) => str(text).split(str(delimiter)),
  sub: ([a, b]) => num(a) - num(b),
  add: ([a, b]) => num(a) + num(b),
  div: ([a, b]) => Math.trunc(num(a) / num(b)),
  max: (args) => Math.max(...(args.length === 1 && Array.isArray(args[0]) ? (args[0] as number[]) : args.map(num))),
  string: ([value]) => (typeof value === 'string' ? value : JSON.stringify(value)),
  json: ([text]) => JSON.parse(str(text)),
  createArray: (args) => [...args],
  createObject: (args) => {
    if (args.length % 2) throw new Error('createObject: odd number of arguments');
    const result: Record<string, unknown> = {};
    for (let index = 0; index < args.length; index += 2) result[str(args[index])] = args[index + 1];
    return result;
  },
  union: (args) => (args.every(Array.isArray) ? [...new Set((args as unknown[][]).flat())] : Object.assign({}, ...(args as object[]))),
  uniqueString: (args) => createHash('sha256').update(args.map(str).join('-')).digest('hex').slice(0, 13),
  guid: (args) => guidOf(args.map(str)),
  resourceId: (args, context) => resourceIdOf(args, context, 'group'),
  subscriptionResourceId: (args, context) => resourceIdOf(args, context, 'subscription'),
  subscription: (_args, context) => ({ ...context.subscription, id: `/subscriptions/${context.subscription.subscriptionId}` }),
  resourceGroup: (_args, context) => context.resourceGroup,
  environment: () => ({ name: 'AzureCloud', suffixes: { keyvaultDns: '.vault.azure.net', acrLoginServer: '.azurecr.io' } }),
  reference: ([resourceId], context) => context.reference(str(resourceId)),
  copyIndex: ([loop], context) => {
    if (!context.copyIndex) throw new Error('copyIndex() outside a copy loop');
    return context.copyIndex(loop === undefined ? undefined : str(loop));
  },
  true: () => true,
  false: () => false,
};

export const SUPPORTED_FUNCTIONS = Object.keys(FUNCTIONS);

/** `if` evaluates only the branch it takes, as ARM does; every other function gets its arguments evaluated. */
export function evaluateArmExpression(expression: ArmExpression, context: ArmContext): unknown {
  if (expression.kind === 'string' || expression.kind === 'number') return expression.value;
  const fn = FUNCTIONS[expression.name];
  if (!fn) throw new Error(`ARM function ${expression.name}() is not supported by the offline renderer`);
  let value: unknown;
  if (expression.name === 'if') {
    const [condition, whenTrue, whenFalse] = expression.args;
    value = evaluateArmExpression(condition, context)
      ? evaluateArmExpression(whenTrue, context)
      : evaluateArmExpression(whenFalse, context);
  } else {
    value = fn(
      expression.args.map((arg) => evaluateArmExpression(arg, context)),
      context,
    );
  }
  for (const accessor of expression.accessors) {
    const key = accessor.kind === 'property' ? accessor.name : evaluateArmExpression(accessor.index, context);
    if (value === null || typeof value !== 'object') throw new Error(`cannot read ${String(key)} of ${JSON.stringify(value)}`);
    value = (value as Record<string, unknown>)[key as string];
  }
  return value;
}

/** Evaluates every expression in a JSON value (property names too), leaving Logic Apps' `@...` strings as they are. */
export function renderArmValue(value: unknown, context: ArmContext): unknown {
  if (typeof value === 'string') {
    if (isExpression(value)) return evaluateArmExpression(parseArmExpression(value), context);
    return value.startsWith('[[') ? value.slice(1) : value;
  }
  if (Array.isArray(value)) return value.map((item) => renderArmValue(item, context));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [String(renderArmValue(key, context)), renderArmValue(item, context)]),
    );
  }
  return value;
}
