const SAFE_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A credential-free code for an error: its `code` when that is a short identifier, else its class
 * name, else "unknown_error". Messages are never used: SDK errors carry request data in them.
 */
export function errorCode(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const code: unknown = (error as { code?: unknown }).code;
    if ((typeof code === "string" || typeof code === "number") && SAFE_CODE.test(String(code)))
      return String(code);
    if (error instanceof Error) {
      const name: unknown = error.name; // read once: a getter could pass the test, then return more
      if (typeof name === "string" && SAFE_CODE.test(name)) return name;
    }
  }
  return "unknown_error";
}
