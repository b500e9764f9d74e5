/**
 * Version of protoc-gen-grpc-audit, printed into every generated file. Kept equal to this package's
 * package.json version by a test: the compiled plugin lives in dist/src, where a relative import of
 * package.json would point at the wrong folder.
 */
export const version = "0.1.0";
