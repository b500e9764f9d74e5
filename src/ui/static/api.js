// The viewer's JSON API (/api/...), read with fetch. A refused request throws an Error carrying the
// server's own message ("`limit` must be an integer from 1 to 1000").

/** GETs `path` with the query `params` (URLSearchParams or undefined) and resolves to its JSON. */
export async function getJson(path, params) {
  const query = params === undefined ? "" : params.toString();
  const response = await fetch(query === "" ? path : `${path}?${query}`, {
    headers: { Accept: "application/json" },
  });
  let body;
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  if (response.status === 431) {
    // Node's own answer, without a body, to a request line and headers over its limit (16 KiB by
    // default): an address holding a long value, such as an actor id of thousands of non-ASCII letters.
    throw new Error(
      "A value in the address is too long for the viewer to look up (431 Request Header Fields Too Large).",
    );
  }
  if (!response.ok) {
    throw new Error(
      typeof body.error === "string" ? body.error : `${response.status} ${response.statusText}`,
    );
  }
  return body;
}
