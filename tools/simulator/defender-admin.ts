import express, { type Router } from 'express';
import { z } from 'zod';
import { adminErrorHandler } from './http';
import type { DefenderStore, StoredIndicator } from './defender-store';
import { escapeHtml, PAGE_SECURITY_HEADERS } from './verification-page';

const seedSchema = z.strictObject({
  indicatorValue: z.string().min(1),
  indicatorType: z.string().min(1),
  action: z.string().min(1),
  title: z.string().min(1),
  description: z.string().min(1),
  application: z.string().optional(),
  expirationTime: z.string().optional(),
  createdBy: z.string().optional(),
});

/**
 * Control and view of the simulated Defender (under /simulator on its server): GET /defender (HTML page of the
 * tenant's indicators, refreshing itself), GET /defender/indicators (JSON), POST /defender/indicators (seed
 * one as another tool would have created it), GET /defender/audit (every create, update and delete).
 */
export function defenderAdminRouter(store: DefenderStore): Router {
  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));
  router.get('/defender', (_req, res) => {
    res.set(PAGE_SECURITY_HEADERS).type('html').send(renderDefenderPage(store.list(), store.cap));
  });
  router.get('/defender/indicators', (_req, res) => {
    res.json({ cap: store.cap, active: store.activeCount(), value: store.list() });
  });
  router.post('/defender/indicators', (req, res) => {
    const parsed = seedSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: { code: 'BadRequest', message: z.prettifyError(parsed.error) } });
      return;
    }
    res.status(201).json(store.seed(parsed.data));
  });
  router.get('/defender/audit', (_req, res) => {
    res.json({ value: store.audit });
  });
  router.use(adminErrorHandler);
  return router;
}

const REFRESH_SECONDS = 5;

export function renderDefenderPage(indicators: readonly StoredIndicator[], cap: number, now = new Date()): string {
  const active = indicators.filter((indicator) => !indicator.expirationTime || Date.parse(indicator.expirationTime) > now.getTime()).length;
  const rows = indicators
    .map(
      (indicator) =>
        `
      <tr${indicator.expirationTime && Date.parse(indicator.expirationTime) <= now.getTime() ? ' class="expired"' : ''}>
        <td>${escapeHtml(indicator.id)}</td><td>${escapeHtml(indicator.indicatorType)}</td><td ` +
        `class="value">${escapeHtml(indicator.indicatorValue)}</td>
        <td>${escapeHtml(indicator.action)}</td><td>${escapeHtml(indicator.title)}</td><td>${escapeHtml(indicator.application ?? '')}</td>
        <td>${escapeHtml(indicator.expirationTime ?? 'never')}</td><td>${escapeHtml(indicator.lastUpdateTime)}</td>
      </tr>`,
    )
    .join('');
  return (
    `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta http-equiv="refresh" content="${REFRESH_SECONDS}">
  <title>Simulated Defender for Endpoint: indicators</title>
  <style>
    body { font-family: system-ui, sans-serif; margin: 2rem; color: #1b1b1b; }
    table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
    th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
    th { background: #f3f3f3; }
    td.value { font-family: ui-monospace, monospace; word-break: break-all; }
    tr.expired { color: #999; text-decoration: line-through; }
  </style>
</head>
<body>
  <h1>Simulated Defender for Endpoint: indicators</h1>
  <p>${indicators.length} indicator${indicators.length === 1 ? '' : 's'}, ${active} active of the tenant's cap of ${cap}. ` +
    `Refreshes every ${REFRESH_SECONDS} s.
     JSON: <a href="/simulator/defender/indicators">/simulator/defender/indicators</a>, audit: <a ` +
    `href="/simulator/defender/audit">/simulator/defender/audit</a></p>
  <table>
    <thead><tr><th>id</th><th>type</th><th>value</th><th>action</th><th>title</th><th>application</th>
      <th>expires</th><th>updated</th></tr></thead>
    <tbody>${rows}
    </tbody>
  </table>
</body>
</html>
`
  );
}
