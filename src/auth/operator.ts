export { ensureOperatorToken } from "./tokens.ts";
