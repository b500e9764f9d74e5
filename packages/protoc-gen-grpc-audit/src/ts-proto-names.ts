/**
 * Names ts-proto gives to what a proto file declares, so that generated rule tables can import
 * ts-proto's message interfaces and read their properties. Mirrors ts-proto 2.x with its default
 * naming options (`snakeToCamel=keys_json`, `useSnakeTypeName=true`, no type prefix or suffix, no
 * `useJsonName`); see ts-proto's src/case.ts (`maybeSnakeToCamel`) and src/visit.ts (`messageName`).
 */
import type { DescField, DescFile, DescMessage } from "@bufbuild/protobuf";

/** Property name of a field in ts-proto's interface: `member_id` → `memberId`, `FOO_BAR` → `fooBar`. */
export function tsProtoPropertyName(field: DescField): string {
  return maybeSnakeToCamel(field.name);
}

/**
 * Exported name of a message's interface: nested messages are joined with "_" (`Outer.Inner` →
 * `Outer_Inner`), and the JS built-ins `Date` and `Function` get a `Message` suffix.
 */
export function tsProtoTypeName(message: DescMessage): string {
  const names: string[] = [];
  for (let m: DescMessage | undefined = message; m !== undefined; m = m.parent) {
    names.unshift(maybeSnakeToCamel(m.name));
  }
  const name = names.join("_");
  return name === "Date" || name === "Function" ? `${name}Message` : name;
}

/**
 * Import path of ts-proto's module for a proto file, relative to the output root (`example/v1/projects.proto`
 * → `./example/v1/projects.js`); protoplugin makes it relative to the importing file and applies
 * `import_extension`.
 */
export function tsProtoModulePath(file: DescFile): string {
  return `./${file.name}.js`;
}

/** ts-proto's `maybeSnakeToCamel` with its default `snakeToCamel=keys_json`: also how it names a oneof's property. */
export function maybeSnakeToCamel(name: string): string {
  if (!name.includes("_")) return name;
  // ts-proto keeps the case of mixed-case words and lowercases all-caps names first.
  const hasLowerCase = /[a-z]/.test(name);
  return name
    .split("_")
    .map((word, i) => {
      const w = hasLowerCase ? word : word.toLowerCase();
      return i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1);
    })
    .join("");
}
