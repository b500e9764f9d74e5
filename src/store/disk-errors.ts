/**
 * What a SQLite error code says about the store's file system, for a message naming the store: a
 * full disk is SQLITE_FULL when a write finds no space, and an SQLITE_IOERR when growing a file fails
 * (SQLITE_IOERR_SHMSIZE: a reader, too, must grow the -shm file it creates). Undefined for any other code.
 * @internal
 */
export function diskProblem(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "SQLITE_FULL") return "its file system is full (SQLITE_FULL); free space on it";
  if (typeof code === "string" && code.startsWith("SQLITE_IOERR")) {
    return `its file system is full or failing (${code}); free space on it, or check the disk`;
  }
  return undefined;
}
