import { CliError, EXIT_FAILURE } from "./errors.js";

/**
 * Loads a module that imports optional peer dependencies: one of `peers` missing is a CliError
 * naming what needs it and the install commands ("the PostgreSQL store needs pg, an optional peer
 * dependency: npm install pg (for a global grpc-audit: npm install -g pg)"), not Node's resolution
 * error. A global grpc-audit resolves its peers from the global folder, never from the working
 * directory's node_modules, so the local command alone would not help there.
 */
export async function loadOptionalPeers<T>(
  load: () => Promise<T>,
  what: string,
  peers: readonly string[],
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const message = String(error);
    if (
      (error as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND" ||
      !peers.some((peer) => message.includes(`'${peer}'`))
    )
      throw error;
    const needs =
      peers.length === 1
        ? `${peers[0]}, an optional peer dependency`
        : `${peers.join(" and ")}, optional peer dependencies`;
    const names = peers.join(" ");
    throw new CliError(
      `${what} needs ${needs}: npm install ${names} (for a global grpc-audit: npm install -g ${names})`,
      EXIT_FAILURE,
      { cause: error },
    );
  }
}
