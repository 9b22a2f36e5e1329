// The store's own codes as the UI needs to recognise them before asking the core: a pickup
// code typed at the counter, an associate's badge scanned at sign-in. The core decides what a
// scan means; these only choose which field a scan belongs in.

/** Characters of a pickup code (the core's `PICKUP_ALPHABET`): none that people confuse. */
const PICKUP_ALPHABET = 'ACDEFGHJKMNPQRTUVWXYZ234679';

/**
 * The canonical `XXXX-XXXX` form when `text` is a pickup code, typed with or without the
 * hyphen and in any case, as the core accepts it; otherwise `null`.
 */
export function pickupCode(text: string): string | null {
  const upper = text.trim().toUpperCase();
  const compact = upper.replace(/-/g, '');
  const hyphens = upper.length - compact.length;
  const valid =
    compact.length === 8 &&
    hyphens <= 1 &&
    (hyphens === 0 || upper.charAt(4) === '-') &&
    [...compact].every((c) => PICKUP_ALPHABET.includes(c));
  return valid ? `${compact.slice(0, 4)}-${compact.slice(4)}` : null;
}

/** The staff id on a scanned associate badge (`BADGE-1001`), or `null` for anything else. */
export function badgeStaffId(text: string): string | null {
  const match = /^BADGE-([A-Z0-9]+)$/i.exec(text.trim());
  return match?.[1] ?? null;
}
