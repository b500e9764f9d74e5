// Adds lock entries for the other-platform optional binaries of our tools (biome, buf, esbuild,
// rollup, ...). This machine's npm registry only serves the packages for its own platform, so
// `npm install` leaves them out of package-lock.json, and `npm ci` then refuses the lock ("Missing:
// @biomejs/cli-win32-x64@ from lock file"). The entries added carry `os`/`cpu`, so npm skips them
// here without fetching anything. The file is written exactly as npm writes it (see npmOrder), so a
// later `npm install` leaves it as it is. Idempotent; run after `npm install` changes the lock.
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2] ?? "package-lock.json";
const lock = JSON.parse(readFileSync(file, "utf8"));
const packages = lock.packages;

/** Keys npm puts first in every object of the lock, in this order (arborist's lib/shrinkwrap.js). */
const FIRST_KEYS = [
  "name",
  "version",
  "lockfileVersion",
  "resolved",
  "integrity",
  "requires",
  "packages",
  "dependencies",
];

const OS = {
  android: "android",
  darwin: "darwin",
  freebsd: "freebsd",
  linux: "linux",
  win32: "win32",
  openbsd: "openbsd",
  netbsd: "netbsd",
  sunos: "sunos",
  aix: "aix",
  openharmony: "openharmony",
  windows: "win32",
};
const CPU = {
  arm64: "arm64",
  x64: "x64",
  ia32: "ia32",
  arm: "arm",
  armv7: "arm",
  armeabi: "arm",
  ppc64: "ppc64",
  ppc64le: "ppc64",
  riscv64: "riscv64",
  s390x: "s390x",
  loong64: "loong64",
  mips64el: "mips64el",
  wasm32: "wasm32",
};

/** os, cpu and libc read from a platform package name such as "@biomejs/cli-linux-arm64-musl". */
function platformOf(name) {
  const parts = name.split("/").pop().split("-");
  const os = parts.map((p) => OS[p]).find(Boolean);
  const cpu = parts.map((p) => CPU[p]).find(Boolean);
  if (os === undefined || cpu === undefined) return undefined;
  const libc = parts.includes("musl") ? "musl" : parts.includes("gnu") ? "glibc" : undefined;
  return { os, cpu, libc };
}

let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = path === "" ? "node_modules" : `${path}/node_modules`;
    const candidates = [`${base}/${name}`, `node_modules/${name}`];
    if (candidates.some((c) => packages[c] !== undefined)) continue;
    const platform = platformOf(name);
    if (platform === undefined) continue; // not a platform binary: leave npm's own decision alone
    packages[`node_modules/${name}`] = {
      version: version.replace(/^[\^~=]/, ""),
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      os: [platform.os],
      cpu: [platform.cpu],
      ...(platform.libc ? { libc: [platform.libc] } : {}),
    };
    added++;
  }
}
writeFileSync(file, `${JSON.stringify(npmOrder(lock), null, 2)}\n`);
console.log(`complete-lockfile: ${added} platform entries added to ${file}`);

/**
 * A copy of value with every object's keys in the order npm writes them (json-stringify-nice): keys
 * holding plain values (arrays too) before keys holding objects; in each group FIRST_KEYS first, in
 * their order, then the rest by `localeCompare(…, "en")`.
 */
function npmOrder(value) {
  if (Array.isArray(value)) return value.map(npmOrder);
  if (!isObject(value)) return value;
  const rank = (key) => (FIRST_KEYS.includes(key) ? FIRST_KEYS.indexOf(key) : FIRST_KEYS.length);
  const entries = Object.entries(value).sort(
    ([a, av], [b, bv]) => isObject(av) - isObject(bv) || rank(a) - rank(b) || a.localeCompare(b, "en"),
  );
  return Object.fromEntries(entries.map(([key, child]) => [key, npmOrder(child)]));
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
