import { EventEmitter } from "node:events";
import type { Logger } from "./core/logger.ts";
import type { Database } from "./db/connection.ts";

/** What the live stream (`/api/events`) carries: a small, closed set. */
export type LiveEvent =
  | { type: "order.created"; orderId: number; number: string; marketplace: string }
  | { type: "order.updated"; orderId: number; number: string; marketplace: string; status: string }
  | {
      type: "sync.progress";
      runId: number;
      connectionId: number;
      state: string;
      seen: number;
      total: number | null;
      created: number;
      updated: number;
      skipped: number;
      failed: number;
    }
  | { type: "connection.updated"; connectionId: number }
  | { type: "push.updated"; pushId: number; orderId: number | null; state: "pending" | "sent" | "failed" }
  /** A lot of a pick batch was claimed, ticked or reported short, or orders were added to the batch. */
  | {
      type: "pick.updated";
      batchId: number;
      itemId: number | null;
      version: number | null;
      state: string | null;
    };

export interface AccountEvent {
  accountId: number;
  event: LiveEvent;
}

const CHANNEL = "orderhub_events";

/**
 * Fans live events out to every process: through LISTEN/NOTIFY on PostgreSQL (web and worker
 * processes are separate), in-process on PGlite (one process owns it).
 */
export class EventBus {
  private readonly local = new EventEmitter();
  private unlisten: (() => Promise<void>) | null = null;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
  ) {
    this.local.setMaxListeners(0);
  }

  async start(): Promise<void> {
    if (this.database.kind !== "postgres" || this.unlisten) return;
    this.unlisten = await this.database.listen(CHANNEL, (payload) => {
      try {
        this.local.emit("event", JSON.parse(payload) as AccountEvent);
      } catch (err) {
        this.logger.warn({ err }, "ignored a malformed live event");
      }
    });
  }

  async publish(accountId: number, event: LiveEvent): Promise<void> {
    const msg: AccountEvent = { accountId, event };
    if (this.database.kind === "postgres") {
      try {
        await this.database.notify(CHANNEL, JSON.stringify(msg));
      } catch (err) {
        this.logger.warn({ err }, "could not publish a live event");
      }
    } else this.local.emit("event", msg);
  }

  subscribe(accountId: number, onEvent: (e: LiveEvent) => void): () => void {
    const handler = (msg: AccountEvent) => {
      if (msg.accountId === accountId) onEvent(msg.event);
    };
    this.local.on("event", handler);
    return () => this.local.off("event", handler);
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    this.unlisten = null;
    this.local.removeAllListeners();
  }
}
