/**
 * Canary secrets and plain markers for the end-to-end canary fuzz, and a scanner that finds canaries in
 * the raw bytes of an output in every form a leak can take: as they are (UTF-8), in standard and
 * URL-safe base64 at each of the three byte alignments (a canary inside a JWT, or a bytes field written
 * as base64), and in hex (a bytes field written as hex).
 *
 * Every canary of a run starts with the same prefix, so one search per form finds them all, whichever
 * canary it is; the text around a hit is then decoded to name it.
 */

/** Makes unique canaries and plain markers for one seed, and remembers where each canary was put. */
export class Marks {
  readonly canaryPrefix: string;
  readonly plainPrefix: string;
  /** Where each canary was placed ("call 12 PutSecret request 0: credentials[1].password"), by canary. */
  readonly placed = new Map<string, string>();
  #next = 0;

  constructor(readonly seed: number) {
    this.canaryPrefix = `CANARY_${seed}_`;
    this.plainPrefix = `PLAIN_${seed}_`;
  }

  /** A new canary secret placed at `where`. */
  canary(where: string): string {
    const value = `${this.canaryPrefix}${this.#id()}_END`;
    this.placed.set(value, where);
    return value;
  }

  /** A new non-sensitive marker. */
  plain(): string {
    return `${this.plainPrefix}${this.#id()}_END`;
  }

  /** Every plain marker in `text`. */
  plainsIn(text: string): Set<string> {
    return new Set(text.match(new RegExp(`${this.plainPrefix}\\d{6}_END`, "g")));
  }

  #id(): string {
    return String(this.#next++).padStart(6, "0");
  }
}

/** A canary found in an output: in which form, at which byte, and which canary when it could be decoded. */
export interface Hit {
  form: string;
  offset: number;
  canary: string | undefined;
}

interface Form {
  name: string;
  needle: string;
  /** The canary a hit of this form at `at` in `text` decodes to, if it does. */
  identify(text: string, at: number): string | undefined;
}

const CANARY_TEXT = /CANARY_\d+_\d{6}_END/;
/** Characters enough to hold a whole canary in any encoding. */
const WINDOW = 96;

function decoded(bytes: Buffer): string | undefined {
  return CANARY_TEXT.exec(bytes.toString("latin1"))?.[0];
}

/** The forms a canary with `prefix` can take, each with the text to search for. */
function formsOf(prefix: string): Form[] {
  const forms: Form[] = [
    {
      name: "raw",
      needle: prefix,
      identify: (text, at) => decoded(Buffer.from(text.slice(at, at + WINDOW), "latin1")),
    },
  ];
  for (const hex of [
    Buffer.from(prefix).toString("hex"),
    Buffer.from(prefix).toString("hex").toUpperCase(),
  ]) {
    forms.push({
      name: "hex",
      needle: hex,
      identify: (text, at) => decoded(Buffer.from(text.slice(at, at + 2 * WINDOW), "hex")),
    });
  }
  for (let align = 0; align < 3; align++) {
    // Base64 of the prefix after `align` other bytes: the characters that depend on the prefix alone.
    const encoded = Buffer.concat([Buffer.alloc(align), Buffer.from(prefix)]).toString("base64");
    const skip = [0, 2, 3][align] ?? 0;
    const whole = Math.floor((align + prefix.length) / 3) * 4;
    const standard = encoded.slice(skip, whole);
    const urlSafe = standard.replaceAll("+", "-").replaceAll("/", "_");
    // Node's base64 decoding reads both alphabets; the URL-safe needle is searched only where it differs.
    for (const [name, needle] of urlSafe === standard
      ? [["base64", standard]]
      : [
          ["base64", standard],
          ["base64url", urlSafe],
        ]) {
      forms.push({
        name,
        needle,
        identify: (text, at) => {
          const start = at - skip; // where the 4-character group holding the prefix's first byte begins
          const group = "A".repeat(Math.max(0, -start)) + text.slice(Math.max(0, start), at + 2 * WINDOW);
          return decoded(Buffer.from(group, "base64"));
        },
      });
    }
  }
  return forms;
}

/** Every occurrence of a canary with `prefix` in `bytes`, in any form. */
export function findCanaries(bytes: Uint8Array, prefix: string): Hit[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  const hits: Hit[] = [];
  for (const form of formsOf(prefix)) {
    for (let at = text.indexOf(form.needle); at !== -1; at = text.indexOf(form.needle, at + 1)) {
      hits.push({ form: form.name, offset: at, canary: form.identify(text, at) });
    }
  }
  return hits;
}

/**
 * What an output leaked, in one line: how many canaries, in which forms, the method and field shape of
 * each distinct place they were put (the first 8), and the first hit; undefined when there is none.
 */
export function leakSummary(output: string, hits: readonly Hit[], marks: Marks): string | undefined {
  const [first] = hits;
  if (first === undefined) return undefined;
  const shapes = new Set(
    hits.map((hit) => {
      const placed = hit.canary === undefined ? undefined : marks.placed.get(hit.canary);
      return (placed ?? "an undecodable canary")
        .replace(/^call \d+ /, "")
        .replace(/ request \d+/, "")
        .replace(/\[\d+\]/g, "[]");
    }),
  );
  const forms = [...new Set(hits.map((hit) => hit.form))].join(", ");
  const where = first.canary === undefined ? "" : ` (${marks.placed.get(first.canary)})`;
  return `${output}: ${hits.length} canaries (${forms}) from ${[...shapes].slice(0, 8).join(" | ")}; first ${first.canary ?? "?"} at byte ${first.offset}${where}`;
}
