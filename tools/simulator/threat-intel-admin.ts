import express, { type Router } from 'express';
import { z } from 'zod';
import { adminErrorHandler } from './http';
import type { ThreatIntelStore } from './threat-intel-store';

const rowSchema = z.strictObject({
  Id: z.string().min(1).optional(),
  ObservableKey: z.string().min(1),
  ObservableValue: z.string().min(1),
  Confidence: z.number().int().min(0).max(100).optional(),
  SourceSystem: z.string().min(1),
  IsActive: z.boolean().optional(),
  IsDeleted: z.boolean().optional(),
  ValidFrom: z.string().optional(),
  ValidUntil: z.string().optional(),
  LastUpdateTime: z.string().optional(),
  Data: z.strictObject({ name: z.string().optional(), description: z.string().optional() }).optional(),
});

/**
 * Control of the simulated ThreatIntelIndicators table (under /simulator on the Log Analytics server):
 * POST /threat-intel/indicators {workspaceId?, rows: [...]} adds rows (a row with an existing Id is a new version);
 * GET /threat-intel/indicators?workspaceId= lists every row.
 */
export function threatIntelAdminRouter(store: ThreatIntelStore): Router {
  const router = express.Router();
  router.use(express.json({ limit: '4mb' }));
  router.post('/threat-intel/indicators', (req, res) => {
    const parsed = z
      .strictObject({ workspaceId: z.string().min(1).optional(), rows: z.array(rowSchema).min(1).max(20_000) })
      .safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: { code: 'BadRequest', message: z.prettifyError(parsed.error) } });
      return;
    }
    res.status(201).json({ value: store.addRows(parsed.data.workspaceId ?? store.defaultWorkspaceId, parsed.data.rows) });
  });
  router.get('/threat-intel/indicators', (req, res) => {
    res.json({ value: store.allRows(typeof req.query.workspaceId === 'string' ? req.query.workspaceId : undefined) });
  });
  router.use(adminErrorHandler);
  return router;
}
