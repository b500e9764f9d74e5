import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** A small file system of its own, for a disk that fills up or turns read-only for real. */
export interface Tmpfs {
  dir: string;
  /** Fills every byte left with a file; `free()` removes it. */
  fill(): void;
  free(): void;
  readOnly(): void;
  /** Unmounts it (closing every file in it first is the caller's part) and removes its folder. */
  remove(): void;
}

/**
 * Mounts a tmpfs of `sizeKiB`. Mounting needs root, as `.ci/run` has: anywhere else this throws,
 * loudly, rather than skip what it tests.
 */
export function mountTmpfs(sizeKiB: number): Tmpfs {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-tmpfs-"));
  const run = (args: string[]) => execFileSync("mount", args, { stdio: ["ignore", "ignore", "pipe"] });
  try {
    run(["-t", "tmpfs", "-o", `size=${sizeKiB}k`, "tmpfs", dir]);
  } catch (error) {
    fs.rmdirSync(dir);
    throw new Error(`this test mounts a tmpfs, which needs root (CI runs as root): ${String(error)}`);
  }
  const filler = path.join(dir, "filler");
  return {
    dir,
    fill() {
      const fd = fs.openSync(filler, "w");
      try {
        for (;;) fs.writeSync(fd, Buffer.alloc(64 * 1024));
      } catch (error) {
        if ((error as { code?: unknown }).code !== "ENOSPC") throw error;
      } finally {
        fs.closeSync(fd);
      }
    },
    free: () => fs.rmSync(filler),
    readOnly: () => run(["-o", "remount,ro", dir]),
    remove() {
      execFileSync("umount", [dir]);
      fs.rmdirSync(dir);
    },
  };
}
