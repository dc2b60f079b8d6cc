import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { notFound } from "../../core/errors.ts";
import { getAccount } from "../../db/repos/accounts.ts";
import { audit } from "../../db/repos/users.ts";
import { accounts } from "../../db/schema.ts";
import { LABEL_LAYOUT_NAMES, LABEL_LAYOUTS } from "../../documents/labels.ts";
import { ACCOUNT_SWITCHES, type AccessSwitches, accessSwitches, PERMISSIONS } from "../permissions.ts";
import { defineRoute, type RouteDef } from "../route.ts";

/** An IANA zone name the runtime knows (`Europe/Luxembourg`, `UTC`). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const switchesSchema = z
  .object(
    Object.fromEntries(Object.keys(ACCOUNT_SWITCHES).map((k) => [k, z.boolean().optional()])) as Record<
      keyof AccessSwitches,
      z.ZodOptional<z.ZodBoolean>
    >,
  )
  .strict();

const accountPatch = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(100).optional(),
    timezone: z
      .string()
      .trim()
      .max(60)
      .refine(isTimeZone, "must be a time zone name such as Europe/Luxembourg or UTC")
      .optional(),
    access: switchesSchema.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, "give name, timezone or access");

/** The account as Settings shows it: name, time zone, access switches, and what the server knows of itself. */
export function settingsRoutes(ctx: AppContext): RouteDef[] {
  const view = (a: NonNullable<Awaited<ReturnType<typeof getAccount>>>) => ({
    account: { id: a.id, name: a.name, slug: a.slug, timezone: a.timezone },
    access: accessSwitches(a.settings),
    switches: Object.entries(ACCOUNT_SWITCHES).map(([key, s]) => ({
      key,
      label: s.label,
      what: s.what,
      default: s.default,
    })),
    // What the document settings can choose from (Settings → Store & documents).
    labelLayouts: LABEL_LAYOUT_NAMES.map((id) => ({
      id,
      positions: LABEL_LAYOUTS[id].cols * LABEL_LAYOUTS[id].rows,
    })),
    // Roles × actions, for the Users screen to show what each role may do.
    permissions: PERMISSIONS,
    // Push-notification URLs and the OAuth redirect are built from this; unset, marketplaces cannot call in.
    publicUrl: ctx.settings.publicUrl,
  });
  return [
    defineRoute({
      method: "GET",
      url: "/api/settings/account",
      auth: "settings.read",
      summary: "The account's name, time zone and access switches, the roles table, the public URL",
      tags: ["settings"],
      async handler({ auth }) {
        const a = await getAccount(ctx.db, auth!.accountId!);
        if (!a) throw notFound("account");
        return view(a);
      },
    }),
    defineRoute({
      method: "PATCH",
      url: "/api/settings/account",
      auth: "settings.manage",
      summary: "Change the account's name, time zone or access switches (e.g. whether pickers may ship)",
      tags: ["settings"],
      body: accountPatch,
      async handler({ auth, body, ip }) {
        const a = await getAccount(ctx.db, auth!.accountId!);
        if (!a) throw notFound("account");
        const settings = (a.settings ?? {}) as Record<string, unknown>;
        const [row] = await ctx.db
          .update(accounts)
          .set({
            ...(body.name !== undefined ? { name: body.name } : {}),
            ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
            // Only the access key changes, so a document-settings save at the same moment is kept.
            ...(body.access
              ? {
                  settings: sql`jsonb_set(${accounts.settings}, '{access}', ${JSON.stringify({
                    ...accessSwitches(settings),
                    ...body.access,
                  })}::jsonb)`,
                }
              : {}),
          })
          .where(eq(accounts.id, a.id))
          .returning();
        await audit(ctx.db, {
          accountId: a.id,
          userId: auth!.userId,
          action: "account.update",
          target: `account:${a.id}`,
          detail: { fields: Object.keys(body), ...(body.access ? { access: body.access } : {}) },
          ip,
        });
        return view(row!);
      },
    }),
  ];
}
