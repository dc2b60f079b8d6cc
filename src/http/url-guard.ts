import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";
import { badRequest } from "../core/errors.ts";

/** Ranges a marketplace never lives in: this machine, the local network, link-local, carrier NAT. */
const PRIVATE_RANGES = new Set([
  "unspecified",
  "loopback",
  "private",
  "linkLocal",
  "uniqueLocal",
  "carrierGradeNat",
  "broadcast",
  "reserved",
]);

export interface UrlPolicy {
  /** Private and loopback targets are allowed (operator setting, the local CLI, demo connections). */
  allowPrivate: boolean;
  /** Resolves a host name to its addresses (injectable for tests). */
  resolve?: (host: string) => Promise<string[]>;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
}

function isLoopbackName(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost");
}

function isPrivateAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === "ipv6" && (ip as ipaddr.IPv6).isIPv4MappedAddress()) {
    ip = (ip as ipaddr.IPv6).toIPv4Address();
  }
  return PRIVATE_RANGES.has(ip.range());
}

const defaultResolve = async (host: string) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * Checks a URL a connection will send its credentials to: HTTPS, or plain HTTP to this machine only
 * (simulators); and no private or loopback target unless the policy allows it, judged by the
 * address the name resolves to as well, so a public name pointing inside is refused too.
 */
export async function checkMarketplaceUrl(field: string, value: string, policy: UrlPolicy): Promise<void> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badRequest(`${field}: not a valid URL`, { field });
  }
  const host = hostOf(url);
  const loopback =
    isLoopbackName(host) || (ipaddr.isValid(host) && ipaddr.parse(host).range() === "loopback");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw badRequest(
      `${field}: must be an https:// URL (plain http:// only to this machine, for simulators)`,
      {
        field,
      },
    );
  }
  if (url.username || url.password)
    throw badRequest(`${field}: must not carry a user name or password`, { field });
  if (policy.allowPrivate) return;
  const refuse = () =>
    badRequest(
      `${field}: ${host} is a private or loopback address; set ORDERHUB_ALLOW_PRIVATE_MARKETPLACE_URLS=1 to allow such targets`,
      { field },
    );
  if (loopback || isPrivateAddress(host)) throw refuse();
  if (ipaddr.isValid(host)) return;
  // A name that does not resolve reaches nothing; one that resolves inside the network is refused.
  const addresses = await (policy.resolve ?? defaultResolve)(host).catch(() => [] as string[]);
  if (addresses.some(isPrivateAddress)) throw refuse();
}
