import { type SimulatorEntry, seedOptions } from "../../simulator.ts";
import { startBrickOwlSimulator } from "./server.ts";

/** `orderhub simulate brickowl`, the demo store and the benchmarks start BrickOwl through this. */
export const brickowlSimulator: SimulatorEntry = {
  marketplace: "brickowl",
  demo: { orders: 120, lines: 5 },
  async start(opts) {
    const owl = await startBrickOwlSimulator({
      ...seedOptions(opts),
      ...(opts.notifyPort ? { notifyPort: opts.notifyPort } : {}),
    });
    // Registered as BrickOwl's order/notify would be: call-outs go to this machine.
    if (opts.notifyPort) owl.control.state.notifyIp = "127.0.0.1";
    return {
      marketplace: "brickowl",
      baseUrl: owl.baseUrl,
      controlUrl: `${owl.url}/_sim`,
      config: { storeId: owl.control.state.storeId },
      secrets: { apiKey: owl.apiKey },
      describe: () => [
        `BrickOwl simulator at ${owl.baseUrl} (lots linked to a BrickLink simulator of seed ${opts.seed})`,
        `control API: ${owl.url}/_sim (POST /_sim/orders, POST /_sim/orders/<id>/status, POST /_sim/faults)`,
        opts.notifyPort
          ? `new orders are announced to http://127.0.0.1:${opts.notifyPort}/brick_owl_order_notify`
          : "add --notify-port <port> to announce new orders like BrickOwl's order/notify",
        "connect it with:",
        `  npx orderhub connect brickowl --name "Simulated owl store" --base-url ${owl.baseUrl} --api-key ${owl.apiKey}`,
      ],
      // BrickOwl calls a fixed port rather than a URL: there is no callback URL to point.
      setCallbackUrl() {},
      async tick() {
        // Every other step a new order, named as BrickOwl's order/notify names it.
        if (Math.random() >= 0.5) return { notifiedOrderIds: [] };
        const id = owl.control.createOrder({ lines: 1 + Math.floor(Math.random() * 6) });
        return { notifiedOrderIds: [String(id)] };
      },
      close: () => owl.close(),
    };
  },
};
