import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AuditConfigError } from "../errors/index.js";

/** A file of the page, held in memory: the viewer serves only these, never a path taken from a URL. */
export interface StaticAsset {
  contentType: string;
  body: Buffer;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** The folder of the page's files: ./static beside this module (the build copies it into dist/ui). */
export const STATIC_DIR = fileURLToPath(new URL("./static/", import.meta.url));

/**
 * Reads the page's files (HTML, CSS, JS, SVG) by URL path: `/` is index.html, `/app.js` is app.js.
 * Throws an AuditConfigError when the folder is missing or has no index.html (a build that did not
 * copy it).
 */
export function loadStaticAssets(dir: string = STATIC_DIR): ReadonlyMap<string, StaticAsset> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new AuditConfigError(`web viewer: its files are missing from ${dir}; rebuild the package`);
  }
  const assets = new Map<string, StaticAsset>();
  for (const name of names.sort()) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType !== undefined)
      assets.set(`/${name}`, { contentType, body: readFileSync(join(dir, name)) });
  }
  const index = assets.get("/index.html");
  if (index === undefined)
    throw new AuditConfigError(`web viewer: ${dir} has no index.html; rebuild the package`);
  assets.set("/", index);
  return assets;
}
