import { createHash, randomUUID } from 'node:crypto';

/**
 * Microsoft Graph's state in the simulator: users (profile, groups, admin roles, account state, sign-in session
 * revocations), groups (nested), the sent-mail outbox, and the application permissions the calling app holds.
 *
 * Permissions are one set for every caller (the simulated tenant has one app that matters): all of those
 * itdr-verify needs are granted at start; `denyPermission` removes one, so tests see Graph's 403.
 */

/** The application permissions granted by default (the least privileged ones itdr-verify needs). */
export const DEFAULT_GRAPH_PERMISSIONS = [
  'User.Read.All',
  'GroupMember.Read.All',
  'User.RevokeSessions.All',
  'User.EnableDisableAccount.All',
  'Mail.Send',
] as const;

export type GraphOperation = 'readUser' | 'listMemberships' | 'revokeSessions' | 'updateAccountEnabled' | 'sendMail';

/** Any one of these permissions allows the operation (Graph's documentation: least privileged first). */
export const PERMISSIONS_FOR: Readonly<Record<GraphOperation, readonly string[]>> = Object.freeze({
  readUser: ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  listMemberships: ['User.Read.All', 'GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  revokeSessions: ['User.RevokeSessions.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'],
  updateAccountEnabled: ['User.EnableDisableAccount.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'],
  sendMail: ['Mail.Send'],
});

/** Graph's value for a birthday that was never set. */
export const UNSET_BIRTHDAY = '0001-01-01T00:00:00Z';

export interface GraphUserInput {
  /** Object id; a random GUID when absent. */
  id?: string;
  userPrincipalName: string;
  givenName?: string;
  surname?: string;
  /** Defaults to "givenName surname", or the UPN's local part. */
  displayName?: string;
  /** Defaults to the UPN for members; guests' mail is their home address. */
  mail?: string;
  employeeId?: string;
  /** YYYY-MM-DD or an ISO date-time; absent = never set (Graph answers 0001-01-01T00:00:00Z). */
  birthday?: string;
  /** Default Member; a UPN with #EXT# defaults to Guest. */
  userType?: 'Member' | 'Guest';
  accountEnabled?: boolean;
  /** Ids of groups the user is a direct member of (created when unknown). */
  groups?: string[];
  /** Holds an admin role: the app may disable the account only with `privilegedRole`. */
  isAdmin?: boolean;
  /** Names of the admin roles held (default "Global Administrator" when isAdmin). */
  adminRoles?: string[];
}

export interface GraphUser {
  id: string;
  userPrincipalName: string;
  givenName: string | null;
  surname: string | null;
  displayName: string | null;
  mail: string | null;
  employeeId: string | null;
  /** ISO date-time at midnight UTC, or UNSET_BIRTHDAY. */
  birthday: string;
  userType: 'Member' | 'Guest';
  accountEnabled: boolean;
  groups: string[];
  adminRoles: string[];
  /** How many times revokeSignInSessions was called for the user. */
  revokeCount: number;
  signInSessionsValidFromDateTime: string;
}

export interface GraphGroupInput {
  id?: string;
  displayName?: string;
  /** Ids of the groups this group is itself a member of (nesting). */
  memberOf?: string[];
}

export interface GraphGroup {
  id: string;
  displayName: string;
  memberOf: string[];
}

export interface SentMail {
  id: string;
  /** The mailbox in the URL (as the client wrote it). */
  from: string;
  to: string[];
  subject: string;
  contentType: 'HTML' | 'Text';
  body: string;
  /** Custom Internet message headers (x-…). */
  headers: Record<string, string>;
  saveToSentItems: boolean;
  /** Client id of the app that sent it (from its token). */
  sentBy: string;
  sentAt: Date;
}

export interface GraphSeed {
  users?: GraphUserInput[];
  groups?: GraphGroupInput[];
  /** Permissions to withhold from the start (see DEFAULT_GRAPH_PERMISSIONS). */
  deniedPermissions?: string[];
  /** Whether the app holds a role privileged enough to disable administrators; default false. */
  privilegedRole?: boolean;
}

export type GraphResult<T> = { ok: true; value: T } | { ok: false; status: number; code: string; message: string };

/** Admin role templates the simulator names (ids as in Entra). */
const ROLE_TEMPLATE_IDS: Record<string, string> = {
  'Global Administrator': '62e90394-69f5-4237-9190-012177145e10',
  'Privileged Authentication Administrator': '7be44c8a-adaf-4e2a-84d6-ab2649e08a13',
  'User Administrator': 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  'Security Administrator': '194ae4cb-b126-40b2-bd5b-6091b380977d',
};

/** What DEV_PERSIST=1 keeps of Graph: users, groups, the outbox, the app's permissions. */
export interface GraphSnapshot {
  users: Array<[string, GraphUser]>;
  groups: Array<[string, GraphGroup]>;
  sent: SentMail[];
  granted: string[];
  privilegedRole: boolean;
}

export class GraphStore {
  private readonly users = new Map<string, GraphUser>();
  private readonly groups = new Map<string, GraphGroup>();
  private readonly sent: SentMail[] = [];
  private granted = new Set<string>(DEFAULT_GRAPH_PERMISSIONS);
  /** Whether the app holds a role that may disable administrators (Privileged Authentication Administrator). */
  privilegedRole: boolean;
  /** Largest page transitiveMemberOf answers, whatever $top asks (lower it to test @odata.nextLink paging). */
  maxPageSize = 999;
  /** Every Graph API request that passed authentication (tests assert in-client retries with it). */
  requestCount = 0;

  constructor(seed: GraphSeed = {}) {
    for (const group of seed.groups ?? []) this.addGroup(group);
    for (const user of seed.users ?? []) this.addUser(user);
    for (const permission of seed.deniedPermissions ?? []) this.denyPermission(permission);
    this.privilegedRole = seed.privilegedRole ?? false;
  }

  snapshot(): GraphSnapshot {
    return {
      users: [...this.users.entries()],
      groups: [...this.groups.entries()],
      sent: [...this.sent],
      granted: [...this.granted],
      privilegedRole: this.privilegedRole,
    };
  }

  restore(snapshot: GraphSnapshot): void {
    this.users.clear();
    for (const [id, user] of snapshot.users) this.users.set(id, user);
    this.groups.clear();
    for (const [id, group] of snapshot.groups) this.groups.set(id, group);
    this.sent.splice(0, this.sent.length, ...snapshot.sent);
    this.granted = new Set(snapshot.granted);
    this.privilegedRole = snapshot.privilegedRole;
  }

  addUser(input: GraphUserInput): GraphUser {
    const upn = input.userPrincipalName?.trim();
    if (!upn || !upn.includes('@')) throw new Error('graph user: userPrincipalName must be an address (name@domain)');
    const id = (input.id ?? randomUUID()).toLowerCase();
    if (this.findUser(id) || this.findUser(upn)) throw new Error(`graph user ${upn} (${id}) already exists`);
    const guest = /#ext#@/i.test(upn);
    const groups = [...new Set((input.groups ?? []).map((group) => group.toLowerCase()))];
    for (const group of groups) if (!this.groups.has(group)) this.addGroup({ id: group });
    const adminRoles = input.adminRoles ?? (input.isAdmin ? ['Global Administrator'] : []);
    const user: GraphUser = {
      id,
      userPrincipalName: upn,
      givenName: input.givenName ?? null,
      surname: input.surname ?? null,
      displayName: input.displayName ?? ([input.givenName, input.surname].filter(Boolean).join(' ') || upn.split('@')[0] || null),
      mail: input.mail ?? (guest ? guestAddress(upn) : upn),
      employeeId: input.employeeId ?? null,
      birthday: birthdayValue(input.birthday),
      userType: input.userType ?? (guest ? 'Guest' : 'Member'),
      accountEnabled: input.accountEnabled ?? true,
      groups,
      adminRoles,
      revokeCount: 0,
      signInSessionsValidFromDateTime: new Date(0).toISOString(),
    };
    this.users.set(id, user);
    return copyUser(user);
  }

  addGroup(input: GraphGroupInput = {}): GraphGroup {
    const id = (input.id ?? randomUUID()).toLowerCase();
    const memberOf = [...new Set((input.memberOf ?? []).map((group) => group.toLowerCase()))];
    const group: GraphGroup = {
      id,
      displayName: input.displayName ?? this.groups.get(id)?.displayName ?? `Group ${id.slice(0, 8)}`,
      memberOf,
    };
    this.groups.set(id, group);
    for (const parent of memberOf) if (!this.groups.has(parent)) this.addGroup({ id: parent });
    return { ...group, memberOf: [...group.memberOf] };
  }

  /** By object id or UPN, case-insensitively. */
  getUser(idOrUpn: string): GraphUser | undefined {
    const user = this.findUser(idOrUpn);
    return user && copyUser(user);
  }

  listUsers(): GraphUser[] {
    return [...this.users.values()].map(copyUser);
  }

  /** Changes a user's seeded fields (e.g. re-enable an account between tests). */
  updateUser(
    idOrUpn: string,
    change: Partial<Pick<GraphUser, 'givenName' | 'surname' | 'displayName' | 'employeeId' | 'accountEnabled' | 'adminRoles'>> & {
      birthday?: string | null;
    },
  ): GraphUser {
    const user = this.findUser(idOrUpn);
    if (!user) throw new Error(`no graph user ${idOrUpn}`);
    const { birthday, ...rest } = change;
    Object.assign(user, rest);
    if (birthday !== undefined) user.birthday = birthdayValue(birthday ?? undefined);
    return copyUser(user);
  }

  /** Ids of the user's groups, direct and nested. */
  transitiveGroupIds(idOrUpn: string): string[] {
    const user = this.findUser(idOrUpn);
    if (!user) return [];
    const seen = new Set<string>();
    const queue = [...user.groups];
    while (queue.length > 0) {
      const id = queue.shift()!;
      if (seen.has(id)) continue;
      seen.add(id);
      queue.push(...(this.groups.get(id)?.memberOf ?? []));
    }
    return [...seen];
  }

  group(id: string): GraphGroup | undefined {
    const group = this.groups.get(id.toLowerCase());
    return group && { ...group, memberOf: [...group.memberOf] };
  }

  roleTemplateId(role: string): string {
    return ROLE_TEMPLATE_IDS[role] ?? nameBasedId(role);
  }

  denyPermission(permission: string): void {
    this.granted.delete(permission);
  }

  grantPermission(permission: string): void {
    this.granted.add(permission);
  }

  /** Back to DEFAULT_GRAPH_PERMISSIONS and no privileged role. */
  resetPermissions(): void {
    this.granted = new Set(DEFAULT_GRAPH_PERMISSIONS);
    this.privilegedRole = false;
  }

  permissions(): string[] {
    return [...this.granted].sort();
  }

  allows(operation: GraphOperation): boolean {
    return PERMISSIONS_FOR[operation].some((permission) => this.granted.has(permission));
  }

  revokeCount(idOrUpn: string): number {
    return this.findUser(idOrUpn)?.revokeCount ?? 0;
  }

  /** Messages accepted by sendMail, oldest first. */
  outbox(): SentMail[] {
    return this.sent.map(copyMail);
  }

  clearOutbox(): void {
    this.sent.length = 0;
  }

  // --- operations of the Graph routes (permission and existence checked by the caller) ---

  revokeSessions(idOrUpn: string): GraphUser | undefined {
    const user = this.findUser(idOrUpn);
    if (!user) return undefined;
    user.revokeCount += 1;
    user.signInSessionsValidFromDateTime = new Date().toISOString();
    return copyUser(user);
  }

  /** Administrators can be enabled or disabled only by an app holding a privileged role. */
  setAccountEnabled(idOrUpn: string, enabled: boolean): GraphResult<GraphUser> {
    const user = this.findUser(idOrUpn);
    if (!user) return notFound(idOrUpn);
    if (user.adminRoles.length > 0 && !this.privilegedRole) return insufficientPrivileges();
    user.accountEnabled = enabled;
    return { ok: true, value: copyUser(user) };
  }

  recordMail(mail: Omit<SentMail, 'id' | 'sentAt'>): SentMail {
    const sent: SentMail = copyMail({ ...mail, id: randomUUID(), sentAt: new Date() });
    this.sent.push(sent);
    return copyMail(sent);
  }

  private findUser(idOrUpn: string): GraphUser | undefined {
    const key = idOrUpn.trim().toLowerCase();
    const byId = this.users.get(key);
    if (byId) return byId;
    for (const user of this.users.values()) if (user.userPrincipalName.toLowerCase() === key) return user;
    return undefined;
  }
}

export function notFound(idOrUpn: string): { ok: false; status: 404; code: string; message: string } {
  return {
    ok: false,
    status: 404,
    code: 'Request_ResourceNotFound',
    message: `Resource '${idOrUpn.slice(0, 200)}' does not exist or one of its queried reference-property objects are not present.`,
  };
}

export function insufficientPrivileges(): { ok: false; status: 403; code: string; message: string } {
  return { ok: false, status: 403, code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' };
}

function birthdayValue(value: string | undefined): string {
  if (!value) return UNSET_BIRTHDAY;
  const date = /^(\d{4}-\d{2}-\d{2})/.exec(value.trim())?.[1];
  if (!date || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) throw new Error(`graph user: birthday ${value} is not YYYY-MM-DD`);
  return `${date}T00:00:00Z`;
}

/** alias_domain.com#EXT#@tenant.onmicrosoft.com → alias@domain.com */
function guestAddress(upn: string): string | null {
  const local = /^(.+)#ext#@/i.exec(upn)?.[1];
  const at = local?.lastIndexOf('_') ?? -1;
  return local && at > 0 ? `${local.slice(0, at)}@${local.slice(at + 1)}` : null;
}

function nameBasedId(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function copyMail(mail: SentMail): SentMail {
  return { ...mail, to: [...mail.to], headers: { ...mail.headers } };
}

function copyUser(user: GraphUser): GraphUser {
  return { ...user, groups: [...user.groups], adminRoles: [...user.adminRoles] };
}
