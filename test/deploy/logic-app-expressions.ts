/**
 * Just enough of the Logic Apps workflow definition language to run the playbook's expressions offline:
 * a string that starts with `@` is one expression (its value may be an object), `@{...}` interpolates into a
 * string, `@@` is a literal `@`; `x['a']`, `x?['a']`, `x.a`, `x?.a` read properties (`?` yields null instead
 * of failing). Unknown functions are errors.
 */

export interface WorkflowRun {
  triggerBody: unknown;
  /** Each finished action's outputs: `{ statusCode, headers, body }`. */
  actions?: Record<string, { statusCode?: number; headers?: Record<string, string>; body?: unknown }>;
  parameters?: Record<string, unknown>;
}

type Node =
  { kind: 'literal'; value: unknown } | { kind: 'call'; name: string; args: Node[]; accessors: Array<{ optional: boolean; key: Node }> };

class Parser {
  position = 0;

  constructor(private readonly source: string) {}

  expression(): Node {
    this.skip();
    const char = this.source[this.position];
    if (char === "'") return { kind: 'literal', value: this.string() };
    const number = /^-?\d+(\.\d+)?/.exec(this.source.slice(this.position));
    if (number) {
      this.position += number[0].length;
      return { kind: 'literal', value: Number(number[0]) };
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.source.slice(this.position));
    if (!word) this.fail('expected an expression');
    this.position += word[0].length;
    if (this.source[this.position] !== '(') {
      if (word[0] === 'null') return { kind: 'literal', value: null };
      if (word[0] === 'true' || word[0] === 'false') return { kind: 'literal', value: word[0] === 'true' };
      this.fail(`unknown word ${word[0]}`);
    }
    this.position++;
    const args: Node[] = [];
    this.skip();
    if (this.source[this.position] !== ')') {
      for (;;) {
        args.push(this.expression());
        this.skip();
        if (this.source[this.position] !== ',') break;
        this.position++;
      }
    }
    this.expect(')');
    const accessors: Array<{ optional: boolean; key: Node }> = [];
    for (;;) {
      const optional = this.source[this.position] === '?';
      const next = this.source[this.position + (optional ? 1 : 0)];
      if (next === '[') {
        this.position += optional ? 2 : 1;
        accessors.push({ optional, key: this.expression() });
        this.skip();
        this.expect(']');
      } else if (next === '.') {
        this.position += optional ? 2 : 1;
        const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.source.slice(this.position));
        if (!name) this.fail('expected a property name');
        this.position += name[0].length;
        accessors.push({ optional, key: { kind: 'literal', value: name[0] } });
      } else {
        break;
      }
    }
    return { kind: 'call', name: word[0], args, accessors };
  }

  string(): string {
    this.position++;
    let value = '';
    for (;;) {
      const char = this.source[this.position];
      if (char === undefined) this.fail('unterminated string');
      this.position++;
      if (char === "'") {
        if (this.source[this.position] !== "'") return value;
        this.position++;
      }
      value += char;
    }
  }

  skip(): void {
    while (this.source[this.position] === ' ') this.position++;
  }

  expect(char: string): void {
    if (this.source[this.position] !== char) this.fail(`expected "${char}"`);
    this.position++;
  }

  fail(why: string): never {
    throw new Error(`Logic Apps expression ${this.source}: ${why} at ${this.position}`);
  }
}

const FUNCTIONS: Record<string, (args: unknown[], run: WorkflowRun) => unknown> = {
  triggerBody: (_args, run) => run.triggerBody,
  outputs: ([name], run) => run.actions?.[String(name)] ?? null,
  body: ([name], run) => run.actions?.[String(name)]?.body ?? null,
  parameters: ([name], run) => run.parameters?.[String(name)] ?? null,
  coalesce: (args) => args.find((arg) => arg !== null && arg !== undefined) ?? null,
  equals: ([a, b]) => JSON.stringify(a) === JSON.stringify(b),
  not: ([value]) => !value,
  and: (args) => args.every(Boolean),
  concat: (args) => args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(''),
  string: ([value]) => (typeof value === 'string' ? value : JSON.stringify(value)),
  listCallbackUrl: () => 'https://logic-apps.invalid/callback',
};
function evaluate(node: Node, run: WorkflowRun): unknown {
  if (node.kind === 'literal') return node.value;
  const fn = FUNCTIONS[node.name];
  if (!fn) throw new Error(`Logic Apps function ${node.name}() is not supported by the offline renderer`);
  let value = fn(
    node.args.map((arg) => evaluate(arg, run)),
    run,
  );
  for (const accessor of node.accessors) {
    const key = evaluate(accessor.key, run);
    if (value === null || value === undefined) {
      if (accessor.optional) return null;
      throw new Error(`cannot read '${String(key)}' of null`);
    }
    value = (value as Record<string, unknown>)[String(key)];
    if (value === undefined) value = null;
  }
  return value;
}

function parse(source: string): Node {
  const parser = new Parser(source);
  const node = parser.expression();
  parser.skip();
  if (parser.position !== source.length) parser.fail('unexpected text after the expression');
  return node;
}

/** The value of one definition string, as the Logic Apps runtime computes it. */
export function evaluateWorkflowString(text: string, run: WorkflowRun): unknown {
  if (text.startsWith('@@')) return text.slice(1);
  if (text.startsWith('@') && !text.startsWith('@{')) return evaluate(parse(text.slice(1)), run);
  if (!text.includes('@{')) return text;
  let result = '';
  let rest = text;
  for (;;) {
    const start = rest.indexOf('@{');
    if (start < 0) return result + rest;
    result += rest.slice(0, start);
    // The interpolation ends at the first "}" outside a string literal.
    let end = start + 2;
    let inString = false;
    for (; end < rest.length; end++) {
      if (rest[end] === "'") inString = !inString;
      else if (rest[end] === '}' && !inString) break;
    }
    const value = evaluate(parse(rest.slice(start + 2, end)), run);
    result += value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
    rest = rest.slice(end + 1);
  }
}

/** Evaluates every string of an action's inputs (or any definition value). */
export function renderWorkflowValue(value: unknown, run: WorkflowRun): unknown {
  if (typeof value === 'string') return evaluateWorkflowString(value, run);
  if (Array.isArray(value)) return value.map((item) => renderWorkflowValue(item, run));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderWorkflowValue(item, run)]));
  }
  return value;
}

/** An `If` action's expression (`and`, `or`, `not`, `equals` objects), as the runtime decides it. */
export function evaluateCondition(condition: unknown, run: WorkflowRun): boolean {
  const node = condition as Record<string, unknown>;
  if ('and' in node) return (node.and as unknown[]).every((item) => evaluateCondition(item, run));
  if ('or' in node) return (node.or as unknown[]).some((item) => evaluateCondition(item, run));
  if ('not' in node) return !evaluateCondition(node.not, run);
  if ('equals' in node) {
    const [a, b] = (node.equals as unknown[]).map((item) => renderWorkflowValue(item, run));
    return JSON.stringify(a) === JSON.stringify(b);
  }
  throw new Error(`unsupported condition ${JSON.stringify(condition)}`);
}
