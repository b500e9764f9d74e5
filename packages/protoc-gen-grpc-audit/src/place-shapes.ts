/**
 * Decides which output file prints each message shape of a run. A message of a proto file generated in
 * the same run has its shape printed once, in that file's output, which exports it when another output
 * refers to it; a message of any other file (an import left out of the run, google/protobuf) is printed
 * in each output that refers to it, as nothing else in the run can hold it. So a chain of files whose
 * payloads reach each other prints each shape once, and the output grows with the chain, not its square.
 * An output imports shapes only from outputs of files its proto file imports (directly or not), so
 * there is no import cycle. Nothing depends on the order of the files in the request (protoc sends them
 * in command-line order): see `runOrder` and `shapeNames`.
 */
import type { DescFile, DescMessage } from "@bufbuild/protobuf";
import { childMessages } from "./message-shapes.js";

/** Where the shapes of a run are printed. */
export interface ShapePlan {
  /** The messages whose shapes the output of `file` prints, in the order they are first met. */
  printed(file: DescFile): readonly DescMessage[];
  /** Whether an output other than the one printing it refers to the shape of `message`. */
  exported(message: DescMessage): boolean;
  /** Where the output of `from` finds the shape of `message`: the file printing it, and its name there. */
  locate(message: DescMessage, from: DescFile): { readonly file: DescFile; readonly name: string };
}

/**
 * Places the shapes that the payload-capturing rules of `generated` (the files of the run, each with the
 * request and response messages of its capturing rules as `roots`) reach, depth first, fields by number.
 * Where nothing is shared, an output prints the shapes, order and names it prints when its file is
 * generated alone.
 */
export function planShapes(
  generated: readonly DescFile[],
  roots: (file: DescFile) => readonly DescMessage[],
): ShapePlan {
  const inRun = new Set(generated.map((file) => file.name));
  const home = (message: DescMessage, from: DescFile): DescFile =>
    inRun.has(message.file.name) ? message.file : from;
  const printed = new Map<string, Map<string, DescMessage>>();
  const exported = new Set<string>();
  for (const file of runOrder(generated)) {
    // A stack, not recursion (a chain of thousands of nested types must not overflow the call stack);
    // each entry is a message and the output that refers to it. Children are pushed last first.
    const stack = roots(file)
      .map((message): [DescFile, DescMessage] => [file, message])
      .reverse();
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      const [from, message] = next;
      const at = home(message, from);
      if (at !== from) exported.add(message.typeName);
      const shapes = printed.get(at.name) ?? new Map<string, DescMessage>();
      printed.set(at.name, shapes);
      if (shapes.has(message.typeName)) continue;
      shapes.set(message.typeName, message);
      for (const child of childMessages(message).reverse()) stack.push([at, child]);
    }
  }
  const names = new Map<string, ReadonlyMap<string, string>>();
  for (const [file, shapes] of printed) names.set(file, shapeNames([...shapes.values()]));
  return {
    printed: (file) => [...(printed.get(file.name)?.values() ?? [])],
    exported: (message) => exported.has(message.typeName),
    locate(message, from) {
      const file = home(message, from);
      const name = names.get(file.name)?.get(message.typeName);
      if (name === undefined) throw new Error(`no shape for ${message.typeName} in ${file.name}`);
      return { file, name };
    },
  };
}

/**
 * The files of a run in the order they are walked and checked: each after the files of the run it imports
 * (directly or not), others by name. It depends only on which files are in the run, never on their order
 * in the request, which for protoc is the command line's (`protoc a.proto b.proto` and `protoc b.proto
 * a.proto` must print the same shapes, in the same order, under the same names).
 */
export function runOrder(generated: readonly DescFile[]): DescFile[] {
  const inRun = new Set(generated.map((file) => file.name));
  const ordered: DescFile[] = [];
  const seen = new Set<string>();
  // A stack, not recursion, for long import chains: [file, whether its imports are already placed].
  const stack = [...generated]
    .sort((a, b) => compareNames(b.name, a.name))
    .map((file): [DescFile, boolean] => [file, false]);
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [file, importsPlaced] = next;
    if (importsPlaced) {
      ordered.push(file);
      continue;
    }
    if (seen.has(file.name)) continue;
    seen.add(file.name);
    stack.push([file, true]);
    const imports = file.dependencies.filter((dep) => inRun.has(dep.name) && !seen.has(dep.name));
    for (const dep of imports.reverse()) stack.push([dep, false]);
  }
  return ordered;
}

/** Compares by UTF-16 code units, as `Array.prototype.sort` does, whatever the locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Names the `const` holding the shape of each message of one output: "shape_example_v1_Project". Two type
 * names that differ only in "." versus "_" (`foo.v1.Foo.Bar` and `foo.v1.Foo_Bar`, `foo_bar.v1.X` and
 * `foo.bar_v1.X`) would get the same name; in the order of their type names the first keeps it and the
 * others get `$1`, `$2` (`$` is never in a proto name), so the names are unique, and which message a name
 * means does not depend on the order the shapes are met in.
 */
export function shapeNames(messages: readonly DescMessage[]): ReadonlyMap<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  const byTypeName = [...messages].sort((a, b) => compareNames(a.typeName, b.typeName));
  for (const message of byTypeName) {
    const base = `shape_${message.typeName.replaceAll(".", "_")}`;
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}$${i}`;
    taken.add(name);
    names.set(message.typeName, name);
  }
  return names;
}
