import type { FetchImplementation } from "jose";

/** The largest JWKS body read: real key sets are a few KiB; an endpoint sending more is refused. */
export const MAX_JWKS_BYTES = 1024 * 1024;

/**
 * Wraps the fetch jose uses for a remote key set so that at most `maxBytes` of the body are read.
 * jose reads the whole body into memory; its timeout bounds the time, not the size, and a fast
 * endpoint (or a proxy's error page) can send hundreds of megabytes within it. A larger body is a
 * failed fetch: tokens are refused as "error", as for an endpoint that is down.
 */
export function boundedJwksFetch(inner: FetchImplementation, maxBytes = MAX_JWKS_BYTES): FetchImplementation {
  return async (url, init) => {
    const response = await inner(url, init);
    const body = response.body;
    if (response.status !== 200 || body === null) return response;
    const tooLarge = () =>
      Object.assign(new Error(`the key set is larger than ${maxBytes} bytes`), {
        code: "ERR_JWKS_TOO_LARGE",
      });
    if (Number(response.headers.get("content-length")) > maxBytes) {
      await body.cancel();
      throw tooLarge();
    }
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
    return new Response(Buffer.concat(chunks), { status: 200, headers: response.headers });
  };
}
