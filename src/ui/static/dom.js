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
 * The invisible format characters (Unicode category Cf: bidi overrides and isolates, zero-width spaces
 * and joiners, the BOM, the soft hyphen, tags), the other characters Unicode says to draw as nothing
 * (Default_Ignorable_Code_Point: variation selectors, the combining grapheme joiner, Hangul fillers)
 * and the line and paragraph separators: shown as they are, they make an id look like another
 * ("al\u200bice" or "ali\ufe0fce" as "alice") or reorder the rest of a line.
 */
const HIDDEN = /[\p{Cf}\p{Default_Ignorable_Code_Point}\u2028\u2029]/gu;

const codePoint = (char) => (char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");

/** `text` with each hidden character shown as ⟨U+200B⟩. */
export function shown(text) {
  return text.replace(HIDDEN, (char) => `⟨U+${codePoint(char)}⟩`);
}

/**
 * Nodes for parts of page words and stored values (`mixed` in format.js): each stored value in its
 * own <bdi>, which isolates its direction from its neighbours, marked as `shown` marks it.
 */
export function isolated(parts) {
  return parts.map((part) =>
    typeof part === "string" ? document.createTextNode(shown(part)) : el("bdi", { text: part.stored }),
  );
}

/**
 * `value` as indented JSON whose hidden characters are written as \u escapes: the same JSON value (a
 * parser reads back the exact stored strings), nothing in it shows as nothing.
 */
export function jsonText(value) {
  // A tag character (beyond U+FFFF) is two UTF-16 units: each is written as its own escape.
  const escaped = (char) =>
    char
      .split("")
      .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`)
      .join("");
  return JSON.stringify(value, null, 2).replace(HIDDEN, escaped);
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
