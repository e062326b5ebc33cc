import express, { type Router } from 'express';
import { z } from 'zod';
import { JSON_LIMIT, adminErrorHandler, queryParam } from './http';
import { CLASSIFICATIONS, CLASSIFICATION_REASONS, SEVERITIES, STATUSES, type SentinelStore } from './sentinel-store';
import { sentinelFormsRouter, type SentinelFormsDependencies } from './sentinel-forms';
import { collectIncidents, incidentDetail, renderSentinelPage } from './sentinel-view';
import { PAGE_SECURITY_HEADERS } from './verification-page';

const ownerSchema = z.strictObject({
  objectId: z.string().optional(),
  email: z.string().optional(),
  assignedTo: z.string().optional(),
  userPrincipalName: z.string().optional(),
  ownerType: z.enum(['Unknown', 'User', 'Group']).optional(),
});
const labelSchema = z.strictObject({ labelName: z.string().min(1), labelType: z.enum(['User', 'AutoAssigned']).optional() });

export const seedIncidentSchema = z.strictObject({
  incidentId: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[^/?#]+$/)
    .optional(),
  title: z.string().min(1),
  description: z.string().optional(),
  severity: z.enum(SEVERITIES),
  status: z.enum(STATUSES).optional(),
  owner: ownerSchema.optional(),
  labels: z.array(labelSchema).optional(),
  accounts: z
    .array(
      z.strictObject({
        accountName: z.string().min(1),
        upnSuffix: z.string().min(1),
        aadUserId: z.string().optional(),
        friendlyName: z.string().optional(),
        displayName: z.string().optional(),
      }),
    )
    .optional(),
  workspace: z
    .strictObject({
      subscriptionId: z.string().min(1).optional(),
      resourceGroup: z.string().min(1).optional(),
      workspaceName: z.string().min(1).optional(),
    })
    .optional(),
});

const analystPatchSchema = z.strictObject({
  title: z.string().min(1).optional(),
  description: z.string().optional(),
  severity: z.enum(SEVERITIES).optional(),
  status: z.enum(STATUSES).optional(),
  classification: z.enum(CLASSIFICATIONS).optional(),
  classificationReason: z.enum(CLASSIFICATION_REASONS).optional(),
  classificationComment: z.string().optional(),
  owner: ownerSchema.optional(),
  labels: z.array(labelSchema).optional(),
});

/**
 * Scripted control of the simulated Sentinel (mounted under /simulator on the ARM server):
 * POST /sentinel/incidents (seed, same fields as seedIncident), GET /sentinel/incidents/ID/audit,
 * POST /sentinel/incidents/ID/analyst-edit (a concurrent human edit), GET /sentinel/incidents/ID/playbook-trigger.
 * To look at: GET /sentinel (HTML page of every incident and its comments, refreshing itself; with the forms of
 * sentinel-forms.ts when the simulator passes Incode and Graph: seed, analyst, playbook, the user's answers),
 * GET /sentinel/incidents (JSON, every workspace, newest first), GET /sentinel/incidents/ID (JSON with the audit log;
 * ?subscriptionId=&resourceGroup=&workspaceName= pick the workspace when several hold the id).
 */
export function sentinelAdminRouter(store: SentinelStore, forms?: Omit<SentinelFormsDependencies, 'sentinel'>): Router {
  const router = express.Router();
  router.use(express.json({ limit: JSON_LIMIT }));
  // The page's forms (seed, analyst, playbook, the user's answers) when the simulator knows Incode and Graph.
  if (forms) router.use(sentinelFormsRouter({ ...forms, sentinel: store }));

  router.post('/sentinel/incidents', (req, res) => {
    const parsed = seedIncidentSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: { code: 'BadRequest', message: z.prettifyError(parsed.error) } });
      return;
    }
    try {
      res.status(201).json(store.seedIncident(parsed.data));
    } catch (error) {
      res.status(409).json({ error: { code: 'Conflict', message: (error as Error).message } });
    }
  });

  router.get('/sentinel', (req, res) => {
    const page = forms
      ? renderSentinelPage(collectIncidents(store), new Date(), {
          playbookConfigured: Boolean(forms.playbook.target),
          lastPlaybookRun: (incidentId) => forms.playbook.lastRun(incidentId),
          sessions: forms.incode.listSessions(),
          confirmationLink: (interviewId) => forms.playbook.confirmationLink(interviewId),
          notice: queryParam(req, 'notice')?.slice(0, 300),
        })
      : renderSentinelPage(collectIncidents(store));
    res.set({ ...PAGE_SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8' }).send(page);
  });

  router.get('/sentinel/incidents', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ value: collectIncidents(store) });
  });

  router.get('/sentinel/incidents/:incidentId', (req, res) => {
    const incidentId = req.params.incidentId ?? '';
    const workspace = {
      subscriptionId: queryParam(req, 'subscriptionId'),
      resourceGroup: queryParam(req, 'resourceGroup'),
      workspaceName: queryParam(req, 'workspaceName'),
    };
    const incident = incidentDetail(store, incidentId, workspace);
    if (!incident) {
      res.status(404).json({ error: { code: 'NotFound', message: `Incident '${incidentId}' was not found.` } });
      return;
    }
    res.set('Cache-Control', 'no-store').json(incident);
  });

  router.get('/sentinel/incidents/:incidentId/audit', (req, res) => {
    res.json({ value: store.auditLog(req.params.incidentId ?? '') });
  });

  router.post('/sentinel/incidents/:incidentId/analyst-edit', (req, res) => {
    const parsed = analystPatchSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: { code: 'BadRequest', message: z.prettifyError(parsed.error) } });
      return;
    }
    const incidentId = req.params.incidentId ?? '';
    if (!store.getIncident(incidentId)) {
      res.status(404).json({ error: { code: 'NotFound', message: `Incident '${incidentId}' was not found.` } });
      return;
    }
    res.json(store.simulateAnalystEdit(incidentId, parsed.data));
  });

  router.get('/sentinel/incidents/:incidentId/playbook-trigger', (req, res) => {
    const incidentId = req.params.incidentId ?? '';
    if (!store.getIncident(incidentId)) {
      res.status(404).json({ error: { code: 'NotFound', message: `Incident '${incidentId}' was not found.` } });
      return;
    }
    const eventType = queryParam(req, 'eventType') === 'Update' ? 'Update' : 'Create';
    res.json(store.playbookTrigger(incidentId, eventType, { includeEntities: queryParam(req, 'includeEntities') !== 'false' }));
  });

  router.use(adminErrorHandler);
  return router;
}
