// The file check's worker thread. It runs next to compiled code (build/) and next to the sources
// (tests, a checkout that cannot build): a .ts module needs the TypeScript loader registered first.
import { parentPort, workerData } from "node:worker_threads";

if (workerData.module.endsWith(".ts")) (await import("tsx/esm/api")).register();
const { runCheckWorker } = await import(workerData.module);
runCheckWorker(parentPort, workerData);
