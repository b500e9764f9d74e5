import type { JWTPayload } from "jose";
import type { ActorInput } from "../event/builders.js";

// The default claims-to-actor mapping of the JWT authenticator, and the personal claims it may copy.

/** A personal claim the default actor copies only when asked (`JwtAuthenticatorOptions.claims`). */
type PersonalClaim = "name" | "email";

/**
 * The personal claims `JwtAuthenticatorOptions.claims` may list.
 * @internal
 */
export const PERSONAL_CLAIMS: readonly string[] = ["name", "email"] satisfies PersonalClaim[];

/**
 * The default claims-to-actor mapping: an allow-list (`sub`, `iss`, `azp` or `client_id`), plus `name`
 * and `email` only when opted in. Any other claim never reaches the actor.
 * @internal
 */
export function defaultActor(personal: readonly PersonalClaim[]): (claims: JWTPayload) => ActorInput {
  const withName = personal.includes("name");
  const withEmail = personal.includes("email");
  return (claims) => {
    const actor: ActorInput = { id: text(claims.sub) ?? "", type: "user" };
    const fields = {
      subject: text(claims.sub),
      displayName: withName ? text(claims.name) : undefined,
      email: withEmail ? text(claims.email) : undefined,
      clientId: text(claims.azp) ?? text(claims.client_id),
      realm: text(claims.iss),
    };
    for (const [field, value] of Object.entries(fields)) {
      if (value !== undefined) (actor as unknown as Record<string, string>)[field] = value;
    }
    return actor;
  };
}

const text = (value: unknown) => (typeof value === "string" ? value : undefined);
