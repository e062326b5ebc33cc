import fs from 'node:fs';
import path from 'node:path';
import { callsIn, isExpression, parseArmExpression, renderArmValue, type ArmContext } from './arm-expressions';

/** The repository's templates, from the compiled test (dist/test/deploy) or the sources (test/deploy). */
export function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

export const TEMPLATE_PATHS = {
  playbook: 'deploy/azure/playbook/azuredeploy.json',
  automationRule: 'deploy/azure/automation-rule/azuredeploy.json',
  services: 'deploy/azure/services/azuredeploy.json',
} as const;

export interface ArmTemplate {
  $schema: string;
  parameters?: Record<string, { type: string; defaultValue?: unknown; allowedValues?: unknown[]; minLength?: number; maxLength?: number }>;
  variables?: Record<string, unknown> & { copy?: Array<{ name: string; count: unknown; input: unknown }> };
  resources: ArmResource[];
  outputs?: Record<string, { type: string; value: unknown }>;
}

export interface ArmResource {
  type: string;
  apiVersion: string;
  name: string;
  condition?: unknown;
  copy?: { name: string; count: unknown };
  properties?: Record<string, any>;
  [key: string]: unknown;
}

export function loadTemplate(relativePath: string): ArmTemplate {
  return JSON.parse(fs.readFileSync(path.join(repoRoot(), relativePath), 'utf8')) as ArmTemplate;
}

/** Every string of a JSON value, property names included, with the JSON path where it sits. */
export function* stringsOf(value: unknown, at = '$'): Generator<{ text: string; at: string }> {
  if (typeof value === 'string') {
    yield { text: value, at };
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) yield* stringsOf(item, `${at}[${index}]`);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      yield { text: key, at: `${at}.${key} (name)` };
      yield* stringsOf(item, `${at}.${key}`);
    }
  }
}

/**
 * The parts of a template evaluated in its own scope, and the nested templates (inner scope) evaluated in
 * theirs. A nested deployment whose template reads the outer scope would blur the two, so it is refused.
 */
export function scopesOf(template: ArmTemplate): { own: unknown[]; nested: ArmTemplate[] } {
  const nested: ArmTemplate[] = [];
  const resources = template.resources.map((resource) => {
    if (resource.type !== 'Microsoft.Resources/deployments' || !resource.properties?.template) return resource;
    if (resource.properties.expressionEvaluationOptions?.scope !== 'inner') {
      throw new Error(`nested deployment ${resource.name} must use expressionEvaluationOptions.scope "inner"`);
    }
    nested.push(resource.properties.template as ArmTemplate);
    const { template: _inner, ...properties } = resource.properties;
    return { ...resource, properties };
  });
  return { own: [template.parameters ?? {}, template.variables ?? {}, resources, template.outputs ?? {}], nested };
}

export interface ReferenceUse {
  parameters: Set<string>;
  variables: Set<string>;
  functions: Set<string>;
}

/** Which parameters, variables and functions a template's own expressions use (nested templates excluded). */
export function referencesOf(template: ArmTemplate): ReferenceUse {
  const use: ReferenceUse = { parameters: new Set(), variables: new Set(), functions: new Set() };
  for (const part of scopesOf(template).own) {
    for (const { text, at } of stringsOf(part)) {
      if (!isExpression(text)) continue;
      let expression;
      try {
        expression = parseArmExpression(text);
      } catch (error) {
        throw new Error(`${at}: ${(error as Error).message}`, { cause: error });
      }
      for (const call of callsIn(expression)) {
        use.functions.add(call.name);
        const [first] = call.args;
        if ((call.name === 'parameters' || call.name === 'variables') && first?.kind === 'string') {
          use[call.name].add(first.value);
        } else if (call.name === 'parameters' || call.name === 'variables') {
          throw new Error(`${at}: ${call.name}() with a computed name cannot be checked`);
        }
      }
    }
  }
  return use;
}

export interface RenderOptions {
  parameters: Record<string, unknown>;
  reference?: (resourceId: string) => unknown;
  subscription?: ArmContext['subscription'];
  resourceGroup?: ArmContext['resourceGroup'];
}

export const SAMPLE_SUBSCRIPTION = {
  subscriptionId: '00000000-0000-4000-8000-000000000001',
  tenantId: '00000000-0000-4000-8000-0000000000aa',
};
export const SAMPLE_RESOURCE_GROUP = {
  name: 'rg-itdr-verify',
  location: 'westeurope',
  id: `/subscriptions/${SAMPLE_SUBSCRIPTION.subscriptionId}/resourceGroups/rg-itdr-verify`,
};

/** A template with its parameters bound (defaults where not given), variables resolved on demand, copy loops expanded. */
export class RenderedTemplate {
  readonly context: ArmContext;
  private readonly variableCache = new Map<string, unknown>();

  constructor(
    readonly template: ArmTemplate,
    options: RenderOptions,
  ) {
    const parameters: Record<string, unknown> = {};
    this.context = {
      parameters,
      variables: (name) => this.variable(name),
      subscription: options.subscription ?? SAMPLE_SUBSCRIPTION,
      resourceGroup: options.resourceGroup ?? SAMPLE_RESOURCE_GROUP,
      reference:
        options.reference ??
        ((id) => {
          throw new Error(`reference('${id}') has no runtime value in this test`);
        }),
    };
    for (const [name, declaration] of Object.entries(template.parameters ?? {})) {
      if (name in options.parameters) parameters[name] = options.parameters[name];
      else if ('defaultValue' in declaration) parameters[name] = renderArmValue(declaration.defaultValue, this.context);
    }
    for (const name of Object.keys(options.parameters)) {
      if (!(name in (template.parameters ?? {}))) throw new Error(`parameter ${name} is not declared`);
    }
  }

  variable(name: string): unknown {
    if (this.variableCache.has(name)) return this.variableCache.get(name);
    const loop = this.template.variables?.copy?.find((candidate) => candidate.name === name);
    let value: unknown;
    if (loop) {
      const count = Number(renderArmValue(loop.count, this.context));
      value = Array.from({ length: count }, (_unused, index) => renderArmValue(loop.input, { ...this.context, copyIndex: () => index }));
    } else {
      if (!this.template.variables || !(name in this.template.variables) || name === 'copy')
        throw new Error(`variable ${name} is not declared`);
      value = renderArmValue(this.template.variables[name], this.context);
    }
    this.variableCache.set(name, value);
    return value;
  }

  /** The deployed instances of the resources of a type (conditions applied, copy loops expanded). */
  resources(type: string): Array<Record<string, any>> {
    return this.template.resources
      .filter((resource) => resource.type === type)
      .flatMap((resource) => {
        const count = resource.copy ? Number(renderArmValue(resource.copy.count, this.context)) : 1;
        return Array.from({ length: count }, (_unused, index) => {
          const context = resource.copy ? { ...this.context, copyIndex: () => index } : this.context;
          if (resource.condition !== undefined && !renderArmValue(resource.condition, context)) return undefined;
          // Nested templates are evaluated in their own scope, on deployment.
          const { properties, ...rest } = resource;
          const renderedProperties =
            resource.type === 'Microsoft.Resources/deployments' && properties?.template
              ? { ...(renderArmValue({ ...properties, template: undefined }, context) as object), template: properties.template }
              : renderArmValue(properties, context);
          return { ...(renderArmValue(rest, context) as object), properties: renderedProperties } as Record<string, any>;
        }).filter((instance): instance is Record<string, any> => instance !== undefined);
      });
  }

  output(name: string): unknown {
    const output = this.template.outputs?.[name];
    if (!output) throw new Error(`no output ${name}`);
    return renderArmValue(output.value, this.context);
  }
}
