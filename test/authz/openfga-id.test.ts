import { describe, expect, it } from "vitest";
import {
  isValidOpenFgaId,
  isValidOpenFgaUser,
  OPENFGA_MAX_OBJECT_BYTES,
} from "../../src/authz/openfga-id.js";

describe("isValidOpenFgaId", () => {
  it.each([
    "p-1",
    "smile-😀",
    "alice",
    "01JSTORE0000000000000000000",
    "user@example.com",
    "a.b_c~d",
    "ünïcödé",
    "项目",
  ])("accepts %j", (id) => expect(isValidOpenFgaId("project", id, OPENFGA_MAX_OBJECT_BYTES)).toBe(true));

  it.each([
    ["empty", ""],
    ["the wildcard", "*"],
    ["a wildcard inside", "p*"],
    ["a type separator", "project:p-1"],
    ["a relation separator", "p-1#owner"],
    ["a space", "p 1"],
    ["a tab", "p\t1"],
    ["a newline", "p\n1"],
    ["a no-break space", "p\u00a01"],
    ["a line separator", "p\u20281"],
    ["NUL", "p\u00001"],
    ["ESC", "p\u001b[2J"],
    ["DEL", "p\u007f"],
    ["a C1 control", "p\u0085"],
    // OpenFGA reads a lone surrogate as U+FFFD: these two would name one object.
    ["a lone high surrogate", "p\ud800"],
    ["a lone low surrogate", "p\udc00"],
    ["surrogates in the wrong order", "p\ude00\ud83d"],
  ])("refuses %s", (_name, id) => {
    expect(isValidOpenFgaId("project", id, OPENFGA_MAX_OBJECT_BYTES)).toBe(false);
  });

  it("refuses an id whose type:id is longer than OpenFGA accepts, counted in UTF-8 bytes", () => {
    const fits = "a".repeat(OPENFGA_MAX_OBJECT_BYTES - "project:".length);
    expect(isValidOpenFgaId("project", fits, OPENFGA_MAX_OBJECT_BYTES)).toBe(true);
    expect(isValidOpenFgaId("project", `${fits}a`, OPENFGA_MAX_OBJECT_BYTES)).toBe(false);
    // 82 three-byte characters: 254 bytes with "project:"; 83 make 257.
    expect(isValidOpenFgaId("project", "项".repeat(82), OPENFGA_MAX_OBJECT_BYTES)).toBe(true);
    expect(isValidOpenFgaId("project", "项".repeat(83), OPENFGA_MAX_OBJECT_BYTES)).toBe(false);
    expect(isValidOpenFgaId("project", "x".repeat(1_500_000), OPENFGA_MAX_OBJECT_BYTES)).toBe(false);
  });
});

describe("isValidOpenFgaUser", () => {
  it.each(["user:alice", "user:alice@example.com", "service_account:ci-bot", `user:${"x".repeat(507)}`])(
    "accepts %j",
    (user) => expect(isValidOpenFgaUser(user)).toBe(true),
  );

  it.each([
    ["the wildcard", "user:*"],
    ["a userset", "team:core#member"],
    ["no type", "alice"],
    ["an empty type", ":alice"],
    ["an empty id", "user:"],
    ["an @ in the type", "us@er:alice"],
    ["a * in the type", "*:alice"],
    ["a space in the type", "us er:alice"],
    ["a second colon", "user:https://id.example/|alice"],
    ["whitespace in the id", "user:bob @x"],
    ["NUL in the id", "user:a\u0000b"],
    ["more than 512 bytes", `user:${"x".repeat(508)}`],
    ["a number", 42],
    ["undefined", undefined],
  ])("refuses %s", (_, user) => expect(isValidOpenFgaUser(user)).toBe(false));
});
