// Element builders for the page. Stored text goes in through text nodes and textContent only, never
// innerHTML, so an event's actor, target or attributes always show as text and never become markup.
// Characters that show as nothing are marked (see `shown`), so stored text never looks like other text.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * A new element: `props` sets attributes ("class", "href", ...), "text" sets its textContent and
 * "on<event>" adds a listener; `children` are nodes or strings (made text nodes).
 */
export function el(tag, props = {}, ...children) {
  return build(document.createElement(tag), props, children);
}

/** A new SVG element, as `el`. */
export function svg(tag, props = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), props, children);
}

/**
 * The control characters (Unicode category Cc: line breaks and tabs, which HTML draws as a space, and
 * the others, drawn as nothing), the invisible format characters (Cf: bidi overrides and isolates,
 * zero-width spaces and joiners, the BOM, the soft hyphen, tags), the other characters Unicode says to
 * draw as nothing (Default_Ignorable_Code_Point: variation selectors, the combining grapheme joiner,
 * Hangul fillers) and the line and paragraph separators: shown as they are, they make an id look like
 * another ("alice\n", "al\u200bice" or "ali\ufe0fce" as "alice") or reorder the rest of a line.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\u2028\u2029]/gu;

/**
 * The spaces of a stored value a reader cannot see or count: at its start or end, two or more in a
 * row (HTML draws a run as one space, and none at a line's ends), and every space character but
 * U+0020 (a no-break space looks like one).
 */
const UNSEEN_SPACES = /^\p{Zs}+|\p{Zs}+$|\p{Zs}{2,}|(?! )\p{Zs}/gu;

const codePoint = (char) => (char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
const marked = (char) => `⟨U+${codePoint(char)}⟩`;

/** `text` with each hidden character shown as ⟨U+200B⟩. */
export function shown(text) {
  return text.replace(HIDDEN, marked);
}

/** A stored value as the page shows it: as `shown`, and its unseen spaces marked as ⟨U+0020⟩ too. */
export function storedText(value) {
  return shown(value).replace(UNSEEN_SPACES, (spaces) => [...spaces].map(marked).join(""));
}

/** A stored value in its own <bdi>, which isolates its direction from its neighbours, as `storedText`. */
export function stored(value) {
  const node = document.createElement("bdi");
  node.textContent = storedText(value);
  return node;
}

/**
 * Nodes for parts of page words and stored values (`mixed` in format.js): the words marked as `shown`
 * marks them, each stored value as `stored`.
 */
export function isolated(parts) {
  return parts.map((part) =>
    typeof part === "string" ? document.createTextNode(shown(part)) : stored(part.stored),
  );
}

/**
 * A text node of `value` as indented JSON whose hidden characters are written as \u escapes: the same
 * JSON value (a parser reads back the exact stored strings), nothing in it shows as nothing. Its line
 * breaks are its own (JSON.stringify writes those of strings as escapes), so not marked as `shown` would.
 */
export function jsonNode(value) {
  // A tag character (beyond U+FFFF) is two UTF-16 units: each is written as its own escape.
  const escaped = (char) =>
    char
      .split("")
      .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`)
      .join("");
  const text = JSON.stringify(value, null, 2).replace(HIDDEN, (char) =>
    char === "\n" ? char : escaped(char),
  );
  return document.createTextNode(text);
}

function build(node, props, children) {
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (name === "text") node.textContent = shown(String(value));
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(shown(child)) : child);
  }
  return node;
}

/** Removes every child of `node`, then appends `children`. */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  for (const child of children) {
    if (child !== undefined && child !== null) node.append(child);
  }
}

/** The element with this id; throws when the page lacks it (a page and script out of step). */
export function byId(id) {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`the page has no #${id}`);
  return node;
}

/** A link to a view of the page: `#/<path>` with each segment percent-encoded. */
export function viewHref(...segments) {
  return `#/${segments.map((s) => encodeURIComponent(s)).join("/")}`;
}
