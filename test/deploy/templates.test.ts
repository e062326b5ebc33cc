import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import pino from 'pino';
import { loadGatewayConfig } from '../../src/config/gateway';
import { loadWorkerConfig } from '../../src/config/worker';
import { createGatewayApp } from '../../src/gateway/app';
import { startMetricsServer } from '../../src/observability/metrics-server';
import { SUPPORTED_FUNCTIONS } from './arm-expressions';
import { loadTemplate, referencesOf, RenderedTemplate, scopesOf, stringsOf, TEMPLATE_PATHS, type ArmTemplate } from './arm-template';
import { unreadVariables } from './env-check';

/**
 * The ARM templates under deploy/azure, checked offline: they parse, every parameter and variable they use is
 * declared and every declared one is used, resource types and api versions are the ones verified against
 * Azure's published specs, no secret can reach an output, a default or a plain environment variable, and the
 * services' environment, probes and secrets are the ones the product reads and serves.
 */

// Verified against Azure's published resource type definitions; a change needs the same check.
const API_VERSIONS: Record<string, string> = {
  'Microsoft.Web/connections': '2016-06-01',
  'Microsoft.Logic/workflows': '2019-05-01',
  'Microsoft.Resources/deployments': '2022-09-01',
  'Microsoft.Authorization/roleAssignments': '2022-04-01',
  'Microsoft.SecurityInsights/automationRules': '2024-09-01',
  'Microsoft.ManagedIdentity/userAssignedIdentities': '2023-01-31',
  'Microsoft.KeyVault/vaults': '2023-07-01',
  'Microsoft.KeyVault/vaults/secrets': '2023-07-01',
  'Microsoft.Insights/diagnosticSettings': '2021-05-01-preview',
  'Microsoft.App/managedEnvironments': '2025-01-01',
  'Microsoft.App/containerApps': '2025-01-01',
};

// Built-in role definition ids (the same in every tenant).
const ROLE_IDS = {
  sentinelResponder: '3e150937-b8fe-4cfb-8069-0eaf05ecd056',
  sentinelAutomationContributor: 'f4c81013-99ee-4d62-a7ee-b3f1f648599a',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d',
};

const templates = Object.entries(TEMPLATE_PATHS).map(([name, file]) => ({ name, file, template: loadTemplate(file) }));

function allTemplates(template: ArmTemplate): ArmTemplate[] {
  return [template, ...scopesOf(template).nested.flatMap(allTemplates)];
}

const SAMPLE_WORKSPACE = { subscriptionId: '00000000-0000-4000-8000-000000000002', resourceGroup: 'rg-sentinel', name: 'law-sentinel' };

/** A deterministic GUID per name, standing in for the ids Entra ID gives an identity. */
function guidFor(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
const principalOf = (identityName: string) => guidFor(`principal ${identityName}`);

/** Runtime values reference() returns in a deployment: identities' ids and the gateway's ingress host. */
function referenceStub(resourceId: string): unknown {
  const name = resourceId.split('/').pop()!;
  if (resourceId.includes('/Microsoft.ManagedIdentity/userAssignedIdentities/')) {
    return { principalId: principalOf(name), clientId: guidFor(`client ${name}`) };
  }
  if (resourceId.includes('/Microsoft.App/containerApps/'))
    return { configuration: { ingress: { fqdn: `${name}.example.azurecontainerapps.io` } } };
  // An external app's FQDN is <app name>.<the environment's default domain>.
  if (resourceId.includes('/Microsoft.App/managedEnvironments/')) return { defaultDomain: 'example.azurecontainerapps.io' };
  throw new Error(`no runtime value for ${resourceId}`);
}

const SERVICES_PARAMETERS = {
  image: 'contosoacr.azurecr.io/itdr-verify:0.1.0',
  workspaceSubscriptionId: SAMPLE_WORKSPACE.subscriptionId,
  workspaceResourceGroupName: SAMPLE_WORKSPACE.resourceGroup,
  workspaceName: SAMPLE_WORKSPACE.name,
  incodeClientId: 'client-id',
  incodeClientSecret: 'sample-client-secret',
  incodeApiKey: 'sample-api-key',
  incodeIntegrationReference: 'integration-reference',
  incodeAuthUrl: 'https://auth.incode.example',
  incodeApiBaseUrl: 'https://api.incode.example',
  payloadEncryptionKey: Buffer.alloc(32, 7).toString('base64'),
  incodeWebhookSecret: 'sample-webhook-secret-of-24-chars',
  temporalAddress: 'itdr.a1b2c.tmprl.cloud:7233',
  temporalNamespace: 'itdr.a1b2c',
};

function renderServices(parameters: Record<string, unknown> = {}): RenderedTemplate {
  return new RenderedTemplate(loadTemplate(TEMPLATE_PATHS.services), {
    parameters: { ...SERVICES_PARAMETERS, ...parameters },
    reference: referenceStub,
  });
}

function containerApp(rendered: RenderedTemplate, name: 'gateway' | 'worker') {
  const app = rendered.resources('Microsoft.App/containerApps').find((candidate) => candidate.name.endsWith(`-${name}`));
  assert.ok(app, `container app ${name}`);
  return app;
}

/** The container's environment as the process sees it: secretRefs resolved with the values a deployment stores. */
function processEnv(rendered: RenderedTemplate, name: 'gateway' | 'worker', secretValues: Record<string, string>): Record<string, string> {
  const container = containerApp(rendered, name).properties.template.containers[0];
  return Object.fromEntries(
    (container.env as Array<{ name: string; value?: string; secretRef?: string }>).map((entry) => {
      if (entry.secretRef === undefined) return [entry.name, String(entry.value)];
      assert.ok(entry.secretRef in secretValues, `${name}: ${entry.name} refers to secret ${entry.secretRef}`);
      return [entry.name, secretValues[entry.secretRef]];
    }),
  );
}

const SECRET_VALUES = {
  'payload-encryption-key': SERVICES_PARAMETERS.payloadEncryptionKey,
  'incode-webhook-secret': SERVICES_PARAMETERS.incodeWebhookSecret,
  'temporal-api-key': 'sample-temporal-api-key',
  'gateway-api-keys': 'soc-cli=sample-api-key-of-24-characters',
};

describe('ARM templates (deploy/azure)', () => {
  for (const { name, template } of templates) {
    describe(name, () => {
      it('is a deployment template of the schema the Deploy to Azure button takes', () => {
        assert.equal(template.$schema, 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#');
      });

      it('declares every parameter and variable it uses, and uses every one it declares (nested templates too)', () => {
        for (const scope of allTemplates(template)) {
          const used = referencesOf(scope);
          const declaredParameters = Object.keys(scope.parameters ?? {});
          const declaredVariables = [
            ...Object.keys(scope.variables ?? {}).filter((key) => key !== 'copy'),
            ...(scope.variables?.copy ?? []).map((loop) => loop.name),
          ];
          assert.deepEqual(
            [...used.parameters].filter((p) => !declaredParameters.includes(p)),
            [],
            'used but not declared (parameters)',
          );
          assert.deepEqual(
            declaredParameters.filter((p) => !used.parameters.has(p)),
            [],
            'declared but not used (parameters)',
          );
          assert.deepEqual(
            [...used.variables].filter((v) => !declaredVariables.includes(v)),
            [],
            'used but not declared (variables)',
          );
          assert.deepEqual(
            declaredVariables.filter((v) => !used.variables.has(v)),
            [],
            'declared but not used (variables)',
          );
          assert.deepEqual(
            [...used.functions].filter((f) => !SUPPORTED_FUNCTIONS.includes(f)),
            [],
            'functions the offline checks cannot evaluate',
          );
        }
      });

      it('uses the verified resource types and api versions', () => {
        for (const scope of allTemplates(template)) {
          for (const resource of scope.resources) {
            assert.ok(resource.type in API_VERSIONS, `${resource.type} is not a verified resource type`);
            assert.equal(resource.apiVersion, API_VERSIONS[resource.type], resource.type);
          }
        }
      });

      it('gives no secure parameter a default and lets none reach an output', () => {
        const secure = Object.entries(template.parameters ?? {}).filter(([, declaration]) => /^secure/i.test(declaration.type));
        for (const [parameter, declaration] of secure) {
          assert.ok(!declaration.defaultValue, `${parameter} has a default`);
          for (const { text } of stringsOf(template.outputs ?? {}))
            assert.ok(!text.includes(`parameters('${parameter}')`), `output uses ${parameter}`);
        }
        for (const [parameter, declaration] of Object.entries(template.parameters ?? {})) {
          if (/secret|password|apikey|key$/i.test(parameter) && !/ids?$|name$|url$/i.test(parameter)) {
            assert.match(declaration.type, /^secure/i, `${parameter} looks like a secret: make it securestring`);
          }
        }
      });

      it('names and justifies every checkov check it skips, where it applies', () => {
        for (const scope of allTemplates(template)) {
          for (const resource of scope.resources) {
            const skips = (resource.metadata as { checkov?: unknown } | undefined)?.checkov;
            if (skips === undefined) continue;
            assert.ok(Array.isArray(skips), `${resource.type}: metadata.checkov is a list of "ID: reason" strings`);
            for (const skip of skips) assert.match(String(skip), /^CKV2?_[A-Z]+_\d+: .{30,}$/, `${resource.type}: ${skip}`);
          }
        }
      });

      it('names role assignments deterministically and grants only the expected built-in roles', () => {
        for (const scope of allTemplates(template)) {
          for (const resource of scope.resources.filter((candidate) => candidate.type === 'Microsoft.Authorization/roleAssignments')) {
            assert.match(resource.name, /^\[guid\(/, 'role assignment names are guid(scope, principal, role)');
            assert.equal(resource.properties?.principalType, 'ServicePrincipal', 'no replication race for new identities');
          }
        }
        const text = JSON.stringify(template);
        const roleIds = [...text.matchAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g)].map((match) => match[0]);
        for (const id of roleIds)
          assert.ok(Object.values(ROLE_IDS).includes(id) || id === '98785600-1bb7-4fb9-b9fa-19afe2c8a360', `unexpected GUID ${id}`);
      });
    });
  }

  describe('services', () => {
    const rendered = renderServices();

    it('sets only environment variables the configuration reads, and the values load', () => {
      for (const name of ['gateway', 'worker'] as const) {
        const env = processEnv(rendered, name, SECRET_VALUES);
        const load = name === 'gateway' ? loadGatewayConfig : loadWorkerConfig;
        assert.deepEqual(unreadVariables(env, load), [], `${name}: variables the configuration does not read`);
        assert.doesNotThrow(() => load(env), `${name}: the rendered environment loads`);
      }
    });

    it('every Temporal mode gives both services a configuration that loads', () => {
      const modes = [
        { temporalAuth: 'apiKey', temporalApiKey: 'sample-temporal-api-key' },
        { temporalAuth: 'mtls', temporalClientCertificate: 'PEM', temporalClientKey: 'PEM', temporalServerCaCertificate: 'PEM' },
        { temporalAuth: 'none', temporalServerCaCertificate: 'PEM' },
        { temporalAuth: 'none' },
      ];
      for (const mode of modes) {
        const current = renderServices(mode);
        for (const name of ['gateway', 'worker'] as const) {
          const env = processEnv(current, name, SECRET_VALUES);
          const config = (name === 'gateway' ? loadGatewayConfig : loadWorkerConfig)(env).temporal;
          assert.equal(Boolean(config.apiKey), mode.temporalAuth === 'apiKey', `${mode.temporalAuth}: API key`);
          assert.equal(Boolean(config.tls?.certPath), mode.temporalAuth === 'mtls', `${mode.temporalAuth}: client certificate`);
          assert.equal(Boolean(config.tls?.caPath), Boolean(mode.temporalServerCaCertificate), `${mode.temporalAuth}: server CA`);
          // Files the configuration points at are mounted from the app's secrets.
          const app = containerApp(current, name);
          const mounted = (app.properties.template.volumes as Array<{ secrets: Array<{ secretRef: string; path: string }> }>).flatMap(
            (volume) => volume.secrets.map((secret) => `/mnt/temporal-tls/${secret.path}`),
          );
          for (const file of [config.tls?.certPath, config.tls?.keyPath, config.tls?.caPath].filter(Boolean))
            assert.ok(mounted.includes(file!), `${file} is mounted`);
          const secretNames = (app.properties.configuration.secrets as Array<{ name: string }>).map((secret) => secret.name);
          for (const volume of app.properties.template.volumes as Array<{ secrets: Array<{ secretRef: string }> }>) {
            for (const secret of volume.secrets)
              assert.ok(secretNames.includes(secret.secretRef), `volume secret ${secret.secretRef} is defined`);
          }
        }
      }
    });

    it('keeps secrets out of plain environment values: they come from Key Vault references', () => {
      const secretValues = Object.entries(SERVICES_PARAMETERS)
        .filter(([key]) => /Secret|Key$/.test(key))
        .map(([, value]) => value);
      for (const name of ['gateway', 'worker'] as const) {
        const app = containerApp(rendered, name);
        const plain = JSON.stringify(
          app.properties.template.containers[0].env.filter((entry: { value?: string }) => entry.value !== undefined),
        );
        for (const value of secretValues) assert.ok(!plain.includes(value), `${name}: a secret is a plain environment value`);
        for (const secret of app.properties.configuration.secrets as Array<{
          name: string;
          keyVaultUrl?: string;
          identity?: string;
          value?: string;
        }>) {
          if (secret.name === 'temporal-server-ca') continue;
          assert.equal(
            secret.keyVaultUrl,
            `https://${String(rendered.context.parameters.keyVaultName)}.vault.azure.net/secrets/${secret.name}`,
          );
          assert.match(
            String(secret.identity),
            new RegExp(`/userAssignedIdentities/id-itdr-verify-${name}$`),
            "read with the app's own identity",
          );
        }
      }
    });

    it('grants each identity Key Vault Secrets User on exactly the secrets it reads', () => {
      const assignments = rendered.resources('Microsoft.Authorization/roleAssignments');
      const secretsOf = (identity: string) =>
        assignments
          .filter((assignment) => assignment.properties.principalId === principalOf(`id-itdr-verify-${identity}`))
          .map((assignment) => {
            assert.ok(assignment.properties.roleDefinitionId.endsWith(ROLE_IDS.keyVaultSecretsUser));
            return String(assignment.scope).split('/secrets/')[1];
          })
          .sort();
      const appSecrets = (name: 'gateway' | 'worker') =>
        (containerApp(rendered, name).properties.configuration.secrets as Array<{ name: string; keyVaultUrl?: string }>)
          .filter((secret) => secret.keyVaultUrl)
          .map((secret) => secret.name);
      // The worker reads Incode's six settings itself (AZURE_KEY_VAULT_URL), the rest through Container Apps.
      const incode = [
        'incode-api-base-url',
        'incode-api-key',
        'incode-auth-url',
        'incode-client-id',
        'incode-client-secret',
        'incode-integration-reference',
      ];
      assert.deepEqual(secretsOf('worker'), [...incode, ...appSecrets('worker')].sort());
      assert.deepEqual(secretsOf('gateway'), appSecrets('gateway').sort());
      const secrets = rendered
        .resources('Microsoft.KeyVault/vaults/secrets')
        .map((secret) => String(secret.name).split('/')[1])
        .sort();
      assert.deepEqual(
        [...new Set([...secretsOf('worker'), ...secretsOf('gateway')])].sort(),
        secrets,
        'every stored secret has a reader, none is read that is not stored',
      );
    });

    it('makes the Key Vault RBAC-only with soft delete and purge protection', () => {
      const [vault] = rendered.resources('Microsoft.KeyVault/vaults');
      assert.equal(vault.properties.enableRbacAuthorization, true);
      assert.equal(vault.properties.enableSoftDelete, true);
      assert.equal(vault.properties.enablePurgeProtection, true);
    });

    it("grants both services Microsoft Sentinel Responder on the workspace's resource group, through a deployment at that scope", () => {
      const nested = rendered
        .resources('Microsoft.Resources/deployments')
        .find((deployment) => String(deployment.name).endsWith('-sentinel-responders'));
      assert.ok(nested);
      assert.equal(nested.subscriptionId, SAMPLE_WORKSPACE.subscriptionId);
      assert.equal(nested.resourceGroup, SAMPLE_WORKSPACE.resourceGroup);
      assert.deepEqual(nested.properties.parameters.principalIds.value, [
        principalOf('id-itdr-verify-gateway'),
        principalOf('id-itdr-verify-worker'),
      ]);
      assert.ok(String(nested.properties.parameters.roleDefinitionId.value).endsWith(ROLE_IDS.sentinelResponder));
    });

    it("sends the Key Vault's and the environment's logs to the Sentinel workspace", () => {
      const settings = rendered.resources('Microsoft.Insights/diagnosticSettings');
      assert.equal(settings.length, 2);
      for (const setting of settings) {
        assert.equal(
          setting.properties.workspaceId,
          `/subscriptions/${SAMPLE_WORKSPACE.subscriptionId}/resourceGroups/${SAMPLE_WORKSPACE.resourceGroup}/providers` +
            `/Microsoft.OperationalInsights/workspaces/${SAMPLE_WORKSPACE.name}`,
        );
      }
    });

    it('gives the gateway external HTTPS ingress and the worker none, at least one replica each', () => {
      const gateway = containerApp(rendered, 'gateway');
      const worker = containerApp(rendered, 'worker');
      assert.equal(gateway.properties.configuration.ingress.external, true);
      assert.equal(gateway.properties.configuration.ingress.allowInsecure, false);
      assert.equal(
        gateway.properties.configuration.ingress.targetPort,
        Number(processEnv(rendered, 'gateway', SECRET_VALUES).GATEWAY_PORT),
      );
      assert.equal(worker.properties.configuration.ingress, undefined);
      assert.ok(worker.properties.template.scale.minReplicas >= 1);
      assert.ok(gateway.properties.template.scale.minReplicas >= 1);
      assert.ok(gateway.properties.template.scale.rules.some((rule: { http?: unknown }) => rule.http));
      // The gateway's /metrics needs no authentication: it stays off the public ingress.
      assert.equal(loadGatewayConfig(processEnv(rendered, 'gateway', SECRET_VALUES)).observability.metricsEnabled, false);
      assert.equal(rendered.output('gatewayUrl'), 'https://itdr-verify-gateway.example.azurecontainerapps.io');
      // The confirmation page's links (gateway) and the links in e-mails (worker) point at that public address.
      for (const app of ['gateway', 'worker'] as const) {
        assert.equal(processEnv(rendered, app, SECRET_VALUES).CONFIRMATION_PAGE_URL, rendered.output('gatewayUrl'), app);
      }
    });

    it("lets the playbook's identity call the gateway with a token for the gateway's audience", () => {
      const env = processEnv(rendered, 'gateway', SECRET_VALUES);
      const gateway = loadGatewayConfig(env);
      assert.deepEqual(gateway.entra?.allowedCallers, [{ name: 'sentinel-playbook', objectId: principalOf('id-itdr-verify-playbook') }]);
      assert.equal(gateway.callers.length, 0, 'no API key unless one is given');
      assert.equal(env.GATEWAY_ENTRA_AUDIENCE, 'api://itdr-verify-gateway');
      const playbookDefaults = loadTemplate(TEMPLATE_PATHS.playbook).parameters!;
      assert.equal(
        playbookDefaults.gatewayAudience?.defaultValue,
        env.GATEWAY_ENTRA_AUDIENCE,
        'the playbook asks for the audience the gateway accepts',
      );
      assert.equal(env.GATEWAY_ENTRA_TENANT_ID, rendered.context.subscription.tenantId);
    });

    it('probes endpoints the processes serve, on the ports they listen on', async () => {
      const gatewayApp = createGatewayApp({
        verifications: {} as never,
        intake: { allowedWorkspaces: [] } as never,
        confirmationLinks: {} as never,
        callers: [],
        webhook: { auth: 'shared-secret', headerName: 'x-incode-webhook-secret', secret: 'x'.repeat(24) },
        linkDeadlineMs: 1000,
        bodyLimitBytes: 1024,
        logger: pino({ level: 'silent' }),
        checkTemporal: async () => undefined,
      });
      const gatewayServer = http.createServer(gatewayApp).listen(0, '127.0.0.1');
      await new Promise((resolve) => gatewayServer.once('listening', resolve));
      const workerServer = await startMetricsServer({
        host: '127.0.0.1',
        port: 0,
        registry: new Registry(),
        readiness: () => ({ ready: true }),
      });
      try {
        for (const name of ['gateway', 'worker'] as const) {
          const container = containerApp(rendered, name).properties.template.containers[0];
          const env = processEnv(rendered, name, SECRET_VALUES);
          const port = name === 'gateway' ? loadGatewayConfig(env).port : loadWorkerConfig(env).observability.metricsPort;
          const base = name === 'gateway' ? `http://127.0.0.1:${(gatewayServer.address() as AddressInfo).port}` : workerServer.url;
          const types = container.probes.map((probe: { type: string }) => probe.type).sort();
          assert.deepEqual(types, ['Liveness', 'Readiness', 'Startup']);
          for (const probe of container.probes as Array<{ type: string; httpGet: { path: string; port: number } }>) {
            assert.equal(probe.httpGet.port, port, `${name} ${probe.type} probes the port the process listens on`);
            const response = await fetch(`${base}${probe.httpGet.path}`);
            assert.equal(response.status, 200, `${name} ${probe.type} ${probe.httpGet.path}`);
          }
          assert.equal(container.probes.find((probe: { type: string }) => probe.type === 'Readiness').httpGet.path, '/readyz');
        }
      } finally {
        gatewayServer.close();
        await workerServer.close();
      }
    });
  });

  describe('automation rule', () => {
    const playbookResourceId =
      '/subscriptions/00000000-0000-4000-8000-000000000003/resourceGroups/rg-playbooks/providers/Microsoft.Logic/workflows' +
      '/itdr-verify-playbook';
    const render = (parameters: Record<string, unknown> = {}) =>
      new RenderedTemplate(loadTemplate(TEMPLATE_PATHS.automationRule), {
        parameters: {
          workspaceName: 'law-sentinel',
          playbookResourceId,
          analyticsRuleIds: ['rule-guid-1', 'rule-guid-2'],
          azureSecurityInsightsObjectId: 'sp-object-id',
          ...parameters,
        },
      });

    it('runs the playbook for incidents of the given analytics rules, created and (optionally) closed', () => {
      const rules = render().resources('Microsoft.SecurityInsights/automationRules');
      assert.equal(rules.length, 2);
      const [created, closed] = rules;
      assert.equal(created.properties.triggeringLogic.triggersWhen, 'Created');
      assert.equal(created.scope, 'Microsoft.OperationalInsights/workspaces/law-sentinel');
      const ruleCondition = created.properties.triggeringLogic.conditions[0].conditionProperties;
      assert.equal(ruleCondition.propertyName, 'IncidentRelatedAnalyticRuleIds');
      assert.deepEqual(ruleCondition.propertyValues, [
        `/subscriptions/${'00000000-0000-4000-8000-000000000001'}/resourceGroups/rg-itdr-verify/providers` +
          `/Microsoft.OperationalInsights/workspaces/law-sentinel/providers/Microsoft.SecurityInsights/alertRules/rule-guid-1`,
        `/subscriptions/${'00000000-0000-4000-8000-000000000001'}/resourceGroups/rg-itdr-verify/providers` +
          `/Microsoft.OperationalInsights/workspaces/law-sentinel/providers/Microsoft.SecurityInsights/alertRules/rule-guid-2`,
      ]);
      assert.deepEqual(created.properties.actions, [
        {
          order: 1,
          actionType: 'RunPlaybook',
          actionConfiguration: { logicAppResourceId: playbookResourceId, tenantId: '00000000-0000-4000-8000-0000000000aa' },
        },
      ]);
      assert.equal(closed.properties.triggeringLogic.triggersWhen, 'Updated');
      assert.deepEqual(closed.properties.triggeringLogic.conditions[1], {
        conditionType: 'PropertyChanged',
        conditionProperties: { propertyName: 'IncidentStatus', changeType: 'ChangedTo', operator: 'Equals', propertyValues: ['Closed'] },
      });
      assert.notEqual(created.name, closed.name);
      assert.equal(render({ stopVerificationOnClose: false }).resources('Microsoft.SecurityInsights/automationRules').length, 1);
    });

    it("lets Sentinel run playbooks in the playbook's resource group", () => {
      const [nested] = render().resources('Microsoft.Resources/deployments');
      assert.equal(nested.subscriptionId, '00000000-0000-4000-8000-000000000003');
      assert.equal(nested.resourceGroup, 'rg-playbooks');
      assert.ok(String(nested.properties.parameters.roleDefinitionId.value).endsWith(ROLE_IDS.sentinelAutomationContributor));
      assert.equal(nested.properties.parameters.principalId.value, 'sp-object-id');
    });
  });
});
