import type { ApplicationFailure } from '@temporalio/common';
import type { VerificationActivities } from '../../src/activities';
import type { ConfirmedSessionState, IncidentUpdateResult, IncidentVerificationRequest, VerificationRequest } from '../../src/shared/types';

/**
 * The workflow on the real Temporal server with in-memory activities: what it decides, on what evidence,
 * and what it writes to the incident. The activities keep a log so each test can assert the calls.
 */
export interface FakeWorld {
  sessionState: Map<string, ConfirmedSessionState>;
  calls: Array<{ name: string; input: unknown }>;
  createFails?: ApplicationFailure;
  /** When set, sessions expire at this time (to exercise link renewal). */
  sessionExpiresAt?: string;
  sessionsCreated?: Map<string, number>;
  profiles?: Map<string, Awaited<ReturnType<VerificationActivities['lookUpUserProfile']>>>;
  incidentClosedByAnalyst?: boolean;
}

export function fakeActivities(world: FakeWorld): VerificationActivities {
  const record = (name: string, input: unknown) => world.calls.push({ name, input });
  const incidentResult = (): IncidentUpdateResult =>
    world.incidentClosedByAnalyst ? { kind: 'already-closed', classification: 'TruePositive' } : { kind: 'updated' };
  return {
    async createVerificationSession(input) {
      record('createVerificationSession', input);
      if (world.createFails) throw world.createFails;
      world.sessionsCreated ??= new Map();
      const count = (world.sessionsCreated.get(input.incidentId) ?? 0) + 1;
      world.sessionsCreated.set(input.incidentId, count);
      const interviewId = count === 1 ? `iv-${input.incidentId}` : `iv-${input.incidentId}-${count}`;
      world.sessionState.set(interviewId, 'NotStarted');
      const expiresAt = count === 1 && world.sessionExpiresAt ? world.sessionExpiresAt : '2099-12-01T00:00:00.000Z';
      return { interviewId, verificationUrl: `https://incode.example/verify/${interviewId}`, expiresAt };
    },
    async readSessionResult(interviewId) {
      record('readSessionResult', interviewId);
      const state = world.sessionState.get(interviewId) ?? 'NotStarted';
      return {
        interviewId,
        state,
        onboardingStatus: state === 'NotStarted' ? 'UNKNOWN' : 'ONBOARDING_FINISHED',
        scoreStatus: state === 'Succeeded' ? 'OK' : state === 'Failed' ? 'FAIL' : undefined,
        checkedAt: new Date().toISOString(),
      };
    },
    async commentOnIncident(input) {
      record('commentOnIncident', input);
      return { kind: 'updated' };
    },
    async closeIncident(input) {
      record('closeIncident', input);
      return incidentResult();
    },
    async lookUpUserProfile(user) {
      record('lookUpUserProfile', user);
      const profile = world.profiles?.get(user);
      if (!profile) throw new Error(`no profile for ${user}`);
      return profile;
    },
    async remediateAccount(input) {
      record('remediateAccount', input);
      return input.actions.map((action) => ({ action, result: 'done' as const }));
    },
    async sendVerificationEmail(input) {
      record('sendVerificationEmail', input);
      return { sent: true as const };
    },
    async escalateIncident(input) {
      record('escalateIncident', input);
      return incidentResult();
    },
  };
}

/** The subscription of testRequest's workspace, whose Sentinel queue a test worker must poll. */
export const TEST_SUBSCRIPTION_ID = '11111111-2222-3333-4444-555555555555';

export function testRequest(incidentId: string, overrides: Partial<VerificationRequest['policy']> = {}): VerificationRequest {
  return {
    incidentId,
    incidentNumber: 7,
    workspace: { subscriptionId: TEST_SUBSCRIPTION_ID, resourceGroup: 'rg', workspaceName: 'ws' },
    subject: { email: 'alice@contoso.com', displayName: 'Alice' },
    source: 'simple',
    requestedBy: 'sentinel-playbook',
    subjectNamedBy: 'sentinel',
    activity: {
      incidentId,
      incidentNumber: 7,
      title: 'Impossible travel activity',
      time: '2026-12-01T08:00:00.000Z',
      alerts: ['Impossible travel activity'],
      ipAddresses: ['203.0.113.7'],
      locations: ['Lagos, Nigeria'],
      applications: ['Office 365 Exchange Online'],
      clients: ['Browser'],
      devices: [],
    },
    policy: {
      timeoutMs: 60_000,
      pollIntervalMs: 60_000,
      linkValidityMinutes: 60,
      closeClassification: 'FalsePositive',
      closeClassificationReason: 'IncorrectAlertLogic',
      escalationSeverity: 'High',
      failureLabel: 'identity-verification-failed',
      ...overrides,
    },
  };
}

/** testRequest for an incident naming several accounts, as the gateway hands it to incidentVerification. */
export function testIncidentRequest(
  incidentId: string,
  users: readonly string[],
  overrides: Partial<VerificationRequest['policy']> = {},
): IncidentVerificationRequest {
  const { subject: _subject, ...rest } = testRequest(incidentId, overrides);
  return { ...rest, subjects: users.map((email) => ({ email })) };
}
