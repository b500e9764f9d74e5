// Element builders for the page. Stored text goes in through text nodes and textContent only, never
// innerHTML, so an event's actor, target or attributes always show as text and never become markup.

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

function build(node, props, children) {
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (name === "text") node.textContent = String(value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
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
