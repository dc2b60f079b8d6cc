/**
 * What the signed-in user may do, as the server says (`permissions` of `GET /api/auth/me`, from
 * `src/http/permissions.ts`). Pages hide what `can()` refuses; the API refuses it anyway.
 */
let allowed: ReadonlySet<string> = new Set();

export function setPermissions(list: readonly string[] | undefined): void {
  allowed = new Set(list ?? []);
}

/** `can("orders.ship")`, `can("sync.run")`, … — the action names of the permissions table. */
export function can(action: string): boolean {
  return allowed.has(action);
}
