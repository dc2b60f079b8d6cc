import { eq } from "drizzle-orm";
import type { DbOrTx } from "../db/connection.ts";
import type { Role } from "../db/repos/users.ts";
import { accounts } from "../db/schema.ts";

/**
 * Who may do what: the one table every route, the web UI and the README read.
 *
 * A route declares the action it performs (`auth: "orders.ship"` in its `defineRoute`); a new kind
 * of work gets a new line here, with what it means in a seller's words. `true` allows a role,
 * `false` refuses it, and the name of an account switch allows it while the owner leaves that
 * switch on (Settings → Roles & access).
 */
export const ROLES = ["owner", "staff", "picker"] as const satisfies readonly Role[];

/** Switches an owner can turn off for the account (stored in `accounts.settings.access`). */
export const ACCOUNT_SWITCHES = {
  pickersMayShip: {
    default: true,
    label: "Pickers may mark orders shipped",
    what: "a picker who packs an order may mark it shipped and send the tracking to the marketplace",
  },
} as const;
export type AccountSwitch = keyof typeof ACCOUNT_SWITCHES;
export type AccessSwitches = Record<AccountSwitch, boolean>;

type Grant = boolean | AccountSwitch;

interface PermissionDef {
  /** What the action covers, in a seller's words (the README table's first column). */
  what: string;
  owner: Grant;
  staff: Grant;
  picker: Grant;
}

export const PERMISSIONS = {
  session: {
    what: "sign out, see who is signed in and the account",
    owner: true,
    staff: true,
    picker: true,
  },
  "orders.read": {
    what: "see orders, their lines, timeline and pushes; live updates",
    owner: true,
    staff: true,
    picker: true,
  },
  "orders.annotate": {
    what: "an order's internal note and tags",
    owner: true,
    staff: true,
    picker: true,
  },
  "documents.print": {
    what: "labels, pick sheets, packing slips, CSV exports",
    owner: true,
    staff: true,
    picker: true,
  },
  "pick.work": {
    what: "pick batches and pack mode: tick lots, record shortages, confirm lines",
    owner: true,
    staff: true,
    picker: true,
  },
  "orders.ship": {
    what: "mark orders shipped (tracking, Drive Thru) and send it to the marketplace",
    owner: true,
    staff: true,
    picker: "pickersMayShip",
  },
  "orders.status": {
    what: "set a marketplace status, clear a review flag",
    owner: true,
    staff: true,
    picker: false,
  },
  "orders.refresh": {
    what: "fetch one order again from its marketplace",
    owner: true,
    staff: true,
    picker: false,
  },
  "pushes.retry": {
    what: "retry an update that a marketplace refused",
    owner: true,
    staff: true,
    picker: false,
  },
  "views.manage": {
    what: "save, rename and delete the account's saved views",
    owner: true,
    staff: true,
    picker: false,
  },
  "sync.read": {
    what: "see connections, their budget and the sync log",
    owner: true,
    staff: true,
    picker: true,
  },
  "sync.run": {
    what: "Sync now, Full sync, cancel a sync, Retry failed, test a connection",
    owner: true,
    staff: true,
    picker: false,
  },
  "connections.manage": {
    what: "connect, change (schedule, budget, Drive Thru) and disconnect marketplaces",
    owner: true,
    staff: false,
    picker: false,
  },
  "inventory.read": {
    what: "see lots, unmatched lines and the inventory export",
    owner: true,
    staff: true,
    picker: true,
  },
  "inventory.adjust": {
    what: "adjust a lot's quantity",
    owner: true,
    staff: true,
    picker: false,
  },
  "inventory.manage": {
    what: "import inventory, import files, reconcile",
    owner: true,
    staff: false,
    picker: false,
  },
  "rules.read": {
    what: "see automation rules and dry-run them",
    owner: true,
    staff: true,
    picker: false,
  },
  "rules.manage": {
    what: "create, change, enable and delete automation rules",
    owner: true,
    staff: false,
    picker: false,
  },
  "tokens.own": {
    what: "list and revoke one's own API tokens",
    owner: true,
    staff: true,
    picker: true,
  },
  "tokens.create": {
    what: "create API tokens for scripts",
    owner: true,
    staff: true,
    picker: false,
  },
  "users.read": {
    what: "see the account's users",
    owner: true,
    staff: true,
    picker: false,
  },
  "users.manage": {
    what: "invite users, change roles, disable, reset passwords, remove; see every API token",
    owner: true,
    staff: false,
    picker: false,
  },
  "settings.read": {
    what: "see the account's settings (store, return address, documents, time zone)",
    owner: true,
    staff: true,
    picker: true,
  },
  "settings.manage": {
    what: "change the account's settings and access switches",
    owner: true,
    staff: false,
    picker: false,
  },
} as const satisfies Record<string, PermissionDef>;

export type Action = keyof typeof PERMISSIONS;
export const ACTIONS = Object.keys(PERMISSIONS) as Action[];

export function isAction(value: string): value is Action {
  return Object.hasOwn(PERMISSIONS, value);
}

export function defaultSwitches(): AccessSwitches {
  return Object.fromEntries(
    Object.entries(ACCOUNT_SWITCHES).map(([k, v]) => [k, v.default]),
  ) as AccessSwitches;
}

/** The account's switches from its settings, with the defaults for those never set. */
export function accessSwitches(settings: unknown): AccessSwitches {
  const stored = ((settings ?? {}) as { access?: Partial<AccessSwitches> }).access ?? {};
  const out = defaultSwitches();
  for (const k of Object.keys(out) as AccountSwitch[])
    if (typeof stored[k] === "boolean") out[k] = stored[k] as boolean;
  return out;
}

/** Whether the role may, given the account's switches. */
export function allows(action: Action, role: Role, switches: AccessSwitches): boolean {
  const grant: Grant = PERMISSIONS[action][role];
  return typeof grant === "boolean" ? grant : switches[grant];
}

/**
 * Whether the role may, for grants that hang on no switch (what an answer shows, e.g. every token of
 * the account to those who manage users); a switch-dependent grant counts as no here.
 */
export function roleMay(action: Action, role: Role): boolean {
  return PERMISSIONS[action][role] === true;
}

/** Whether the answer depends on an account switch (then the switches must be read). */
export function dependsOnSwitch(action: Action, role: Role): AccountSwitch | null {
  const grant: Grant = PERMISSIONS[action][role];
  return typeof grant === "string" ? grant : null;
}

export async function loadSwitches(db: DbOrTx, accountId: number): Promise<AccessSwitches> {
  const [row] = await db
    .select({ settings: accounts.settings })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  return accessSwitches(row?.settings);
}

/** Every action the role may take in this account (what `/api/auth/me` tells the UI). */
export function allowedActions(role: Role, switches: AccessSwitches): Action[] {
  return ACTIONS.filter((a) => allows(a, role, switches));
}

const ARTICLE: Record<Role, string> = { owner: "an owner", staff: "staff", picker: "a picker" };

/** The 403 text: names the role and the action (and the switch, when that is what refuses it). */
export function refusal(action: Action, role: Role): string {
  const sw = dependsOnSwitch(action, role);
  const base = `${ARTICLE[role]} may not ${PERMISSIONS[action].what} (${action})`;
  return sw ? `${base}: the account's owner turned off "${ACCOUNT_SWITCHES[sw].label}"` : base;
}

/** The README's roles table, generated from PERMISSIONS (the security test checks README against it). */
export function permissionsMarkdown(): string {
  const cell = (g: Grant) => (g === true ? "yes" : g === false ? "—" : `yes¹`);
  const rows = ACTIONS.map((a) => {
    const p: PermissionDef = PERMISSIONS[a];
    return `| ${p.what} | \`${a}\` | ${cell(p.owner)} | ${cell(p.staff)} | ${cell(p.picker)} |`;
  });
  const notes = Object.values(ACCOUNT_SWITCHES).map(
    (s) => `¹ unless the owner turns off "${s.label}" (Settings → Roles & access): ${s.what}.`,
  );
  return [
    "| what | action | owner | staff | picker |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
    ...notes,
  ].join("\n");
}
