import { loadTemplate, RenderedTemplate, TEMPLATE_PATHS } from './arm-template';
import { evaluateCondition, renderWorkflowValue, type WorkflowRun } from './logic-app-expressions';

export const SAMPLE_PLAYBOOK_IDENTITY =
  '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-itdr-verify/providers/Microsoft.ManagedIdentity' +
  '/userAssignedIdentities/id-itdr-verify-playbook';

export interface RenderedPlaybook {
  definition: { triggers: Record<string, any>; actions: Record<string, any> };
  /** The workflow's $connections parameter value. */
  connections: Record<string, any>;
  identity: Record<string, unknown>;
}

/** The playbook template deployed with these parameters: the Logic App's definition as Azure stores it. */
export function renderPlaybook(
  parameters: { gatewayUrl: string; playbookIdentityResourceId?: string } & Record<string, unknown>,
): RenderedPlaybook {
  const rendered = new RenderedTemplate(loadTemplate(TEMPLATE_PATHS.playbook), {
    parameters: { playbookIdentityResourceId: SAMPLE_PLAYBOOK_IDENTITY, ...parameters },
    reference: () => ({ principalId: '00000000-0000-4000-8000-00000000000b' }),
  });
  const [workflow] = rendered.resources('Microsoft.Logic/workflows');
  if (!workflow) throw new Error('the playbook template has no Logic App');
  return {
    definition: workflow.properties.definition,
    connections: workflow.properties.parameters.$connections.value,
    identity: workflow.identity,
  };
}

export interface PlaybookRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  authentication: { type: string; audience: string; identity?: string };
}

/** What the playbook's HTTP action sends for this trigger body (the incident an automation rule hands it). */
export function playbookRequest(playbook: RenderedPlaybook, triggerBody: unknown): PlaybookRequest {
  const action = playbook.definition.actions.Forward_to_gateway;
  if (action?.type !== 'Http') throw new Error('the playbook has no HTTP action Forward_to_gateway');
  const inputs = renderWorkflowValue(action.inputs, { triggerBody }) as Record<string, any>;
  return {
    method: inputs.method,
    url: inputs.uri,
    headers: inputs.headers ?? {},
    body: inputs.body,
    authentication: inputs.authentication,
  };
}

/** The failure branch: whether it runs for the gateway's answer, and the comment it then writes. */
export function playbookFailureComment(
  playbook: RenderedPlaybook,
  triggerBody: unknown,
  answer: { statusCode: number; body: unknown },
): { path: string; method: string; connection: unknown; body: { incidentArmId: unknown; message: string } } | undefined {
  const branch = Object.values(playbook.definition.actions).find((action: any) => action.runAfter?.Forward_to_gateway);
  if (!branch || branch.type !== 'If') throw new Error('the playbook has no If branch after Forward_to_gateway');
  // An HTTP action succeeds on a 2xx answer and fails on any other (after its retries) or on none.
  const outcome = answer.statusCode >= 200 && answer.statusCode < 300 ? 'Succeeded' : 'Failed';
  if (!(branch.runAfter.Forward_to_gateway as string[]).includes(outcome)) return undefined;
  const run: WorkflowRun = { triggerBody, actions: { Forward_to_gateway: answer } };
  if (!evaluateCondition(branch.expression, run)) return undefined;
  const comment = Object.values(branch.actions as Record<string, any>).find((action) => action.type === 'ApiConnection');
  const inputs = renderWorkflowValue(comment.inputs, { ...run, parameters: { $connections: playbook.connections } }) as Record<string, any>;
  return { path: inputs.path, method: inputs.method, connection: inputs.host.connection.name, body: inputs.body };
}
