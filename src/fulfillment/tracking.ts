import { badRequest } from "../core/errors.ts";

/**
 * Why a tracking URL may not be stored or pushed, or null when it may: only absolute http(s)
 * links, since marketplaces show them to buyers as links (javascript: and data: would run there).
 */
export function trackingUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return "must be an absolute http:// or https:// link";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return `must be an http:// or https:// link (not ${url.protocol})`;
  if (!url.hostname) return "must name a host";
  return null;
}

/** The URL as given, or a 400 naming `field`. */
export function checkTrackingUrl(value: string | null | undefined, field = "trackingUrl"): string | null {
  if (value === null || value === undefined || value.trim() === "") return null;
  const problem = trackingUrlProblem(value);
  if (problem) throw badRequest(`${field}: ${problem}`, { field });
  return value.trim();
}
