// Sorts `perf script` samples of a benchmark server into the categories of docs/performance.md ("Where a
// call's audit cost goes"). Each sample is charged to the function it was taken in (self time, no call
// graph): a JS function's share leaves out the builtins and runtime it calls, which have their own rows.

/** The categories, in the order of the table. */
export const CATEGORIES = [
  "kernel",
  "GC",
  "JIT compilation",
  "V8 runtime and Node C++",
  "V8 builtins",
  "RegExp (JIT-compiled patterns)",
  "JSON.stringify",
  "libc",
  "grpc-js, nghttp2, Node http2/net/streams",
  "AsyncLocalStorage (JS)",
  "Node JS (other)",
  "pino, sonic-boom",
  "src/ JS (grpc-audit)",
  "bench + example service JS",
  "other packages (jose, uuidv7, …)",
  "other",
] as const;

export type Category = (typeof CATEGORIES)[number];

const GC =
  /(^|::)(Heap|Scavenger|ScavengerCollector|MarkCompact|MinorMarkSweep|MinorMS|ConcurrentMarking|IncrementalMarking|MarkingVisitor|MainMarkingVisitor|MarkingWorklist|Sweeper|Evacuat|GCTracer|MemoryAllocator|Pretenuring|PagedSpace|NewSpace|SemiSpace|PagedNewSpace|LargeObjectSpace|MemoryChunk|MutablePageMetadata|PageMetadata|ArrayBufferSweeper|YoungGeneration|RememberedSet|SlotSet|TypedSlot|ObjectStatsCollector|LocalHeap|IsolateSafepoint|StackGuard::HandleGCInterrupt)|cppgc::|heap::base::|(^|::)Scavenge|Builtins_RecordWrite|Builtins_EphemeronKey|GCEpilogue|GCPrologue/;
const JIT =
  /compiler::|maglev::|turboshaft::|baseline::|Compiler::|Compile|OptimizingCompileDispatcher|interpreter::(BytecodeGenerator|BytecodeArrayBuilder|BytecodeArrayWriter)|(^|::)(Parser|ParserBase|PreParser|Scanner|AstNode|DeclarationScope|Scope::)|SharedFunctionInfo::EnsureSourcePositions|Deoptimizer|wasm::/;
const JSON_STRINGIFY = /Json_?Stringif|JSONStringif|FastJsonStringifier|JsonStringifier/i;
const HTTP2_NATIVE =
  /nghttp2|node::http2::|node::StreamBase|node::LibuvStreamWrap|node::StreamResource|node::TCPWrap/;
const PINO =
  /node_modules\/(pino|sonic-boom|on-exit-leak-free|quick-format-unescaped|atomic-sleep|fast-redact|pino-std-serializers|thread-stream|safe-stable-stringify|@pinojs)\//;
const GRPC_JS =
  /node_modules\/@grpc\/|node:(internal\/)?(http2|net|stream|_stream|internal\/streams|internal\/stream_base_commons|internal\/http2|internal\/net|buffer|internal\/buffer|zlib)/;
const ALS =
  /node:(internal\/)?(async_hooks|async_context_frame|async_local_storage|internal\/async_local_storage|internal\/async_hooks)/;

/** The category of one sample: `sym` the symbol perf resolved, `dso` the object it lies in. */
export function categorize(sym: string, dso: string): Category {
  if (dso.includes("kernel") || dso.startsWith("[") || /^\[?k\]/.test(sym)) return "kernel";
  if (JSON_STRINGIFY.test(sym)) return "JSON.stringify";
  if (GC.test(sym)) return "GC";
  if (/^RegExp[:.]/.test(sym)) return "RegExp (JIT-compiled patterns)";
  const jitted =
    /perf-\d+\.map|jitted|\[JIT\]/.test(dso) || /^(JS|LazyCompile|Function|Script|Eval):/.test(sym);
  if (jitted) return categorizeJs(sym);
  if (/^(Builtin|BytecodeHandler|Stub|Handler|InlinedBuiltin):/.test(sym)) return "V8 builtins";
  if (JIT.test(sym)) return "JIT compilation";
  if (sym.startsWith("Builtins_")) return "V8 builtins";
  if (HTTP2_NATIVE.test(sym) || dso.includes("nghttp2")) return "grpc-js, nghttp2, Node http2/net/streams";
  if (/libc[.-]|libm[.-]|libstdc\+\+|libgcc|ld-linux|libpthread/.test(dso)) return "libc";
  if (/\/node$|libnode|\bnode\b/.test(dso) || /^(v8::|node::|uv_|Runtime_|icu_)/.test(sym))
    return "V8 runtime and Node C++";
  if (dso.includes("libcrypto") || dso.includes("libssl") || dso.includes("libuv") || dso.includes("libz"))
    return "V8 runtime and Node C++";
  return "other";
}

function categorizeJs(sym: string): Category {
  if (PINO.test(sym)) return "pino, sonic-boom";
  if (/dist-bench\/src\/cli\/demo\/|dist-bench\/bench\//.test(sym)) return "bench + example service JS";
  if (/dist-bench\/src\//.test(sym)) return "src/ JS (grpc-audit)";
  if (GRPC_JS.test(sym)) return "grpc-js, nghttp2, Node http2/net/streams";
  if (ALS.test(sym)) return "AsyncLocalStorage (JS)";
  if (/node_modules\//.test(sym)) return "other packages (jose, uuidv7, …)";
  if (/node:/.test(sym)) return "Node JS (other)";
  return "other"; // JIT code perf could not name, or code without a source file
}

/** One line of `perf script -F comm,tid,ip,sym,dso`: [sym, dso], or undefined for a line that is not one. */
export function parseSample(line: string): [string, string] | undefined {
  const match = /^\s*.*?\s+\d+\s+[0-9a-f]+\s+(.*?)\s+\(([^()]*)\)\s*$/.exec(line);
  if (match === null) return undefined;
  return [match[1] ?? "", match[2] ?? ""];
}

/** Samples of one `perf script` output per category, and per symbol of `src/` JS and of "other". */
export function tally(script: string): {
  counts: Map<Category, number>;
  total: number;
  unknown: Map<string, number>;
  src: Map<string, number>;
} {
  const counts = new Map<Category, number>(CATEGORIES.map((c) => [c, 0]));
  const unknown = new Map<string, number>();
  const src = new Map<string, number>();
  let total = 0;
  for (const line of script.split("\n")) {
    const sample = parseSample(line);
    if (sample === undefined) continue;
    const [sym, dso] = sample;
    const category = categorize(sym, dso);
    counts.set(category, (counts.get(category) ?? 0) + 1);
    if (category === "other") unknown.set(`${sym} (${dso})`, (unknown.get(`${sym} (${dso})`) ?? 0) + 1);
    if (category === "src/ JS (grpc-audit)") {
      const name = sym.replace(/^JS:[*~^+]?'?/, "").replace(/file:\/\/\S*dist-bench\//, "");
      src.set(name, (src.get(name) ?? 0) + 1);
    }
    total++;
  }
  return { counts, total, unknown, src };
}
