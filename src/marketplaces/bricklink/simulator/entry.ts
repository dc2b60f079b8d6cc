import { type SimulatorEntry, seedOptions } from "../../simulator.ts";
import { startBrickLinkSimulator } from "./server.ts";
import { STATUS_FLOW } from "./store.ts";

/** `orderhub simulate bricklink`, the demo store and the benchmarks start BrickLink through this. */
export const bricklinkSimulator: SimulatorEntry = {
  marketplace: "bricklink",
  demo: { orders: 250, lines: 6 },
  async start(opts) {
    const sim = await startBrickLinkSimulator({
      ...seedOptions(opts),
      callbackUrl: opts.callbackUrl ?? null,
    });
    const c = sim.credentials;
    return {
      marketplace: "bricklink",
      baseUrl: sim.baseUrl,
      controlUrl: `${sim.url}/_sim`,
      config: {},
      secrets: { ...c },
      describe: () => [
        `BrickLink simulator at ${sim.baseUrl}`,
        `control API: ${sim.url}/_sim (POST /_sim/orders, POST /_sim/orders/<id>/status, POST /_sim/faults)`,
        "connect it with:",
        `  npx orderhub connect bricklink --name "Simulated store" --base-url ${sim.baseUrl} \\`,
        `    --consumer-key ${c.consumerKey} --consumer-secret ${c.consumerSecret} \\`,
        `    --token-value ${c.tokenValue} --token-secret ${c.tokenSecret}`,
      ],
      setCallbackUrl(url) {
        sim.control.state.callbackUrl = url;
      },
      async tick() {
        // A new order, and two open ones a step further along BrickLink's status flow. BrickLink
        // announces them with its callback ping (when one is set), naming nothing.
        sim.control.createOrder({ lines: 2 + Math.floor(Math.random() * 8) });
        const open = [...sim.control.state.orders.values()].filter(
          (o) =>
            o.direction === "in" &&
            !o.order.is_filed &&
            STATUS_FLOW.indexOf(o.order.status) >= 0 &&
            o.order.status !== "COMPLETED",
        );
        for (let i = 0; i < 2 && open.length; i++) {
          const o = open.splice(Math.floor(Math.random() * open.length), 1)[0]!;
          const next = STATUS_FLOW[STATUS_FLOW.indexOf(o.order.status) + 1];
          if (next) sim.control.setStatus(o.order.order_id, next);
        }
        return { notifiedOrderIds: [] };
      },
      close: () => sim.close(),
    };
  },
};
