import { and, desc, eq, gt, lt, sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { AppError, notFound } from "../core/errors.ts";
import { bulkInsert } from "../db/bulk.ts";
import type { DbOrTx } from "../db/connection.ts";
import { importJobLines, importJobs, inventoryLots } from "../db/schema.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { checkFile, lotKey } from "./file-check.ts";
import { MAX_LOT_QUANTITY } from "./files.ts";

export const IMPORT_JOB = "inventory.import" as const;
/** Lines written per transaction at first; the size then follows how long a transaction takes. */
const WRITE_BATCH = 500;
/**
 * How long one statement or transaction should take: PGlite serves nothing else meanwhile (it runs on
 * this thread); PostgreSQL serves other connections, so there only this thread's own work counts.
 */
const targetMs = (ctx: AppContext) => (ctx.database.kind === "pglite" ? 20 : 250);
const FINAL = new Set(["completed", "failed", "cancelled"]);

export type ImportJobRow = typeof importJobs.$inferSelect;

export function importJobView(j: ImportJobRow) {
  return {
    id: j.id,
    kind: j.kind,
    name: j.name,
    state: j.state,
    total: j.total,
    done: j.done,
    created: j.created,
    added: j.added,
    error: j.error,
    cancelRequested: j.cancelRequested,
    createdAt: j.createdAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
  };
}

function rowsOf<T>(res: unknown): T[] {
  return (Array.isArray(res) ? res : (res as { rows: T[] }).rows) as T[];
}

/** Short statements on a busy machine, bigger ones on a quiet one. */
function nextSize(ctx: AppContext, size: number, ms: number): number {
  const target = targetMs(ctx);
  if (ms > target * 1.5) return Math.max(25, Math.floor(size / 2));
  if (ms < target / 2) return Math.min(5_000, size * 2);
  return size;
}

/** Lets queued requests (a health check, an order page) run between two batches. */
const breathe = () => new Promise<void>((r) => setImmediate(r));

/**
 * Checks the whole file (a bad line is refused with its line named, nothing written), stages its
 * lines and queues the job that writes them. Answers at once with the job to follow.
 */
export async function startFileImport(
  ctx: AppContext,
  queue: JobQueue,
  input: { accountId: number; userId: number | null; format: "xml" | "csv"; content: string; name: string },
): Promise<ImportJobRow> {
  const checked = await checkFile(input.format, input.content, async (maxKeyTotal) => {
    const near = await ctx.db
      .select({
        itemNo: inventoryLots.itemNo,
        colorId: inventoryLots.colorId,
        condition: inventoryLots.condition,
        location: inventoryLots.location,
        quantity: inventoryLots.quantity,
      })
      .from(inventoryLots)
      .where(
        and(
          eq(inventoryLots.accountId, input.accountId),
          gt(inventoryLots.quantity, MAX_LOT_QUANTITY - maxKeyTotal),
        ),
      );
    return near.map((l) => [lotKey(l), l.quantity] as [string, number]);
  });
  const [job] = await ctx.db
    .insert(importJobs)
    .values({
      accountId: input.accountId,
      userId: input.userId,
      kind: "inventory-file",
      name: input.name,
      state: "staging",
      total: checked.total,
    })
    .returning();
  let size = WRITE_BATCH;
  for (const batch of checked.batches) {
    const rows = (JSON.parse(batch) as Omit<typeof importJobLines.$inferInsert, "jobId">[]).map((r) => ({
      jobId: job!.id,
      ...r,
    }));
    for (let i = 0; i < rows.length; ) {
      const end = Math.min(rows.length, i + size);
      const t0 = performance.now();
      await bulkInsert(ctx.db, importJobLines, rows.slice(i, end));
      size = nextSize(ctx, size, performance.now() - t0);
      i = end;
      await breathe();
    }
  }
  const queued = await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(importJobs)
      .set({ state: "queued" })
      .where(eq(importJobs.id, job!.id))
      .returning();
    await queue.send(IMPORT_JOB, { jobId: job!.id }, { tx, retryLimit: 10 });
    return row!;
  });
  queue.nudge(IMPORT_JOB);
  return queued;
}

export async function getImportJob(db: DbOrTx, accountId: number, id: number): Promise<ImportJobRow> {
  const [j] = await db
    .select()
    .from(importJobs)
    .where(and(eq(importJobs.accountId, accountId), eq(importJobs.id, id)));
  if (!j) throw notFound("import job");
  return j;
}

export async function listImportJobs(db: DbOrTx, accountId: number, limit = 20): Promise<ImportJobRow[]> {
  return db
    .select()
    .from(importJobs)
    .where(eq(importJobs.accountId, accountId))
    .orderBy(desc(importJobs.id))
    .limit(limit);
}

/** Asks a job to stop: what it wrote is taken back, so a cancelled import leaves nothing behind. */
export async function cancelImportJob(ctx: AppContext, accountId: number, id: number): Promise<ImportJobRow> {
  const j = await getImportJob(ctx.db, accountId, id);
  if (FINAL.has(j.state))
    throw new AppError(409, "conflict", `import ${id} is already ${j.state}: there is nothing to cancel`);
  const [row] = await ctx.db
    .update(importJobs)
    .set({ cancelRequested: true })
    .where(eq(importJobs.id, id))
    .returning();
  return row!;
}

/** The lot a staged line `b` adds to, in the terms of inventory_lots_import_key_idx. */
const keyMatch = (accountId: number) => sql`l.account_id = ${accountId}::bigint
  and lower(l.item_no) = lower(b.item_no) and coalesce(l.color_id, '') = coalesce(b.color_id, '')
  and l.condition = b.condition and coalesce(l.location, '') = coalesce(b.location, '')`;

/** Writes lines (from, to] of the job: new lots, one "import" ledger row per line, the lots' totals. */
async function writeBatch(tx: DbOrTx, job: ImportJobRow, from: number, to: number) {
  const [created] = rowsOf<{ n: number }>(
    await tx.execute(sql`
      with b as (select * from import_job_lines where job_id = ${job.id} and seq > ${from} and seq <= ${to}),
      fresh as (
        select distinct on (lower(b.item_no), coalesce(b.color_id, ''), b.condition, coalesce(b.location, '')) b.*
        from b
        where not exists (select 1 from inventory_lots l where ${keyMatch(job.accountId)})
        order by lower(b.item_no), coalesce(b.color_id, ''), b.condition, coalesce(b.location, ''), b.seq
      ),
      ins as (
        insert into inventory_lots (account_id, item_type, item_no, color_id, color_name, condition, location, price, description)
        select ${job.accountId}, item_type, item_no, color_id, color_name, condition, location, price, description
        from fresh order by seq
        returning id
      ),
      kept as (insert into import_job_created_lots (job_id, lot_id) select ${job.id}, id from ins returning 1)
      select count(*)::int as n from kept`),
  );
  await tx.execute(sql`
    with b as (select * from import_job_lines where job_id = ${job.id} and seq > ${from} and seq <= ${to}),
    m as (
      select b.seq, b.quantity, (select min(l.id) from inventory_lots l where ${keyMatch(job.accountId)}) as lot_id
      from b
    ),
    led as (
      insert into inventory_ledger (account_id, lot_id, kind, quantity_delta, reserved_delta, reason, user_id, dedupe_key)
      select ${job.accountId}, m.lot_id, 'import', m.quantity, 0, ${`from ${job.name}`}, ${job.userId},
        'import-file:' || ${job.id} || ':' || m.seq
      from m
      on conflict do nothing
      returning lot_id, quantity_delta
    )
    update inventory_lots l set quantity = l.quantity + d.q, updated_at = now()
    from (select lot_id, sum(quantity_delta) as q from led group by lot_id) d
    where l.id = d.lot_id`);
  return created?.n ?? 0;
}

/** Takes back lines (from, to]: their ledger rows go, and the lots' totals with them. */
async function undoBatch(tx: DbOrTx, job: ImportJobRow, from: number, to: number) {
  await tx.execute(sql`
    with led as (
      delete from inventory_ledger
      where account_id = ${job.accountId} and dedupe_key in (
        select 'import-file:' || ${job.id} || ':' || seq from import_job_lines
        where job_id = ${job.id} and seq > ${from} and seq <= ${to})
      returning lot_id, quantity_delta
    )
    update inventory_lots l set quantity = l.quantity - d.q, updated_at = now()
    from (select lot_id, sum(quantity_delta) as q from led group by lot_id) d
    where l.id = d.lot_id`);
}

const lockStock = (tx: DbOrTx, accountId: number) =>
  tx.execute(sql`select pg_advisory_xact_lock(hashtext('stock'), ${accountId}::int)`);

/** Integer overflow and the like: the data cannot go in, retrying will not help. */
function isDataError(err: unknown): boolean {
  const code =
    (err as { code?: string; cause?: { code?: string } }).code ??
    (err as { cause?: { code?: string } }).cause?.code;
  return typeof code === "string" && code.startsWith("22");
}

async function finish(ctx: AppContext, job: ImportJobRow, state: string, error: string | null) {
  // The staged lines go in slices, each its own short statement.
  let size = WRITE_BATCH * 4;
  for (let to = job.total; to > 0; ) {
    const from = Math.max(0, to - size);
    const t0 = performance.now();
    await ctx.db.execute(
      sql`delete from import_job_lines where job_id = ${job.id} and seq > ${from} and seq <= ${to}`,
    );
    size = nextSize(ctx, size, performance.now() - t0);
    to = from;
    await breathe();
  }
  await ctx.db
    .update(importJobs)
    .set({
      state,
      error,
      finishedAt: ctx.clock.now(),
      ...(state === "completed" ? {} : { created: 0, added: 0 }),
    })
    .where(eq(importJobs.id, job.id));
}

/** Takes back everything the job wrote, newest lines first, then the lots it created. */
async function undo(ctx: AppContext, job: ImportJobRow) {
  let done = job.done;
  while (done > 0) {
    const from = Math.max(0, done - WRITE_BATCH);
    await ctx.db.transaction(async (tx) => {
      await lockStock(tx, job.accountId);
      await undoBatch(tx, job, from, done);
      await tx.update(importJobs).set({ done: from }).where(eq(importJobs.id, job.id));
    });
    done = from;
    await breathe();
  }
  // Lots it created go, unless something else has used them meanwhile (a ledger row, a listing, an order line).
  await ctx.db.transaction(async (tx) => {
    await lockStock(tx, job.accountId);
    await tx.execute(sql`
      delete from inventory_lots l
      using import_job_created_lots c
      where c.job_id = ${job.id} and l.id = c.lot_id
        and not exists (select 1 from inventory_ledger g where g.lot_id = l.id)
        and not exists (select 1 from listings s where s.lot_id = l.id)
        and not exists (select 1 from order_lines o where o.lot_id = l.id)
        and not exists (select 1 from outbox x where x.lot_id = l.id)`);
  });
}

/** The job: writes the staged lines in batches (resuming where it stopped), or takes them back on cancel. */
export async function runImportJob(ctx: AppContext, jobId: number, opts: { signal?: AbortSignal } = {}) {
  const [start] = await ctx.db.select().from(importJobs).where(eq(importJobs.id, jobId));
  if (!start || FINAL.has(start.state) || start.state === "staging") return;
  let job = start;
  if (job.state === "queued") {
    const [running] = await ctx.db
      .update(importJobs)
      .set({ state: "running", startedAt: ctx.clock.now() })
      .where(eq(importJobs.id, jobId))
      .returning();
    job = running!;
  }
  if (job.state === "undoing") {
    await undo(ctx, job);
    return finish(ctx, job, job.cancelRequested ? "cancelled" : "failed", job.error);
  }
  let size = WRITE_BATCH;
  while (job.done < job.total) {
    if (opts.signal?.aborted) throw new Error("the job queue is stopping: the import resumes later");
    const t0 = performance.now();
    try {
      job = await ctx.db.transaction(async (tx) => {
        await lockStock(tx, job.accountId);
        // Where the job stands now (a retried copy of this job may have moved it meanwhile).
        const [now] = await tx.select().from(importJobs).where(eq(importJobs.id, jobId)).for("update");
        if (now!.cancelRequested || now!.state !== "running" || now!.done >= now!.total) return now!;
        const from = now!.done;
        const to = Math.min(now!.total, from + size);
        const created = await writeBatch(tx, now!, from, to);
        const [row] = await tx
          .update(importJobs)
          .set({ done: to, created: now!.created + created, added: now!.added + (to - from - created) })
          .where(eq(importJobs.id, jobId))
          .returning();
        return row!;
      });
    } catch (err) {
      if (!isDataError(err)) throw err;
      const message = `the import stopped: ${err instanceof Error ? err.message : String(err)}; nothing of it was kept`;
      job = { ...job, state: "undoing", error: message };
      await ctx.db
        .update(importJobs)
        .set({ state: "undoing", error: message })
        .where(eq(importJobs.id, jobId));
      await undo(ctx, job);
      return finish(ctx, job, "failed", message);
    }
    size = nextSize(ctx, size, performance.now() - t0);
    if (job.state !== "running") return;
    if (job.cancelRequested) {
      await ctx.db.update(importJobs).set({ state: "undoing" }).where(eq(importJobs.id, jobId));
      await undo(ctx, job);
      return finish(ctx, job, "cancelled", null);
    }
    await breathe();
  }
  await finish(ctx, job, "completed", null);
}

/** An upload cut off while its lines were being staged never became a job: say so, drop its lines. */
export async function failInterruptedImports(ctx: AppContext): Promise<void> {
  // An hour old: another web process may be staging a fresh upload right now.
  const stale = await ctx.db
    .select()
    .from(importJobs)
    .where(
      and(
        eq(importJobs.state, "staging"),
        lt(importJobs.createdAt, new Date(ctx.clock.now().getTime() - 3_600_000)),
      ),
    );
  for (const j of stale)
    await finish(ctx, j, "failed", "the upload was interrupted before the import started");
}
