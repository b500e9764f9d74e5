/**
 * Calls a function with an object at the process's "exit" (and, if asked, "beforeExit"), holding the
 * object weakly: an emitter nobody holds any more is collected, and its hook with it.
 *
 * Why not on-exit-leak-free (pino's exit-hook library, which this mirrors): its 2.1.2 removes a
 * collected object's hook with `splice(index, index + 1)`, which also removes the hooks registered
 * after it, so one emitter collected without `close()` made other, live emitters lose what they held
 * at exit, unseen. pino registers its own streams there still; log-destination.ts unregisters those.
 * @internal
 */
export type ExitEvent = "exit" | "beforeExit";

type Hook = { ref: WeakRef<object>; fn: (target: never, event: ExitEvent) => void; beforeExit: boolean };

const hooks = new Map<WeakRef<object>, Hook>();
const refOf = new WeakMap<object, WeakRef<object>>();
const collected = new FinalizationRegistry<WeakRef<object>>((ref) => {
  hooks.delete(ref);
  listen();
});
let listening = false;

/** Calls `fn(target, event)` at "exit", and at "beforeExit" too when `beforeExit`, until `offExit(target)`. */
export function onExit<T extends object>(
  target: T,
  fn: (target: T, event: ExitEvent) => void,
  options: { beforeExit?: boolean } = {},
): void {
  offExit(target);
  const ref = new WeakRef<object>(target);
  hooks.set(ref, { ref, fn: fn as Hook["fn"], beforeExit: options.beforeExit === true });
  refOf.set(target, ref);
  collected.register(target, ref, ref);
  listen();
}

/** Removes `target`'s hook, if it has one. */
export function offExit(target: object): void {
  const ref = refOf.get(target);
  if (ref === undefined) return;
  refOf.delete(target);
  hooks.delete(ref);
  collected.unregister(ref);
  listen();
}

/** One listener per event while any hook is registered: none keeps a process that has no hook busy. */
function listen(): void {
  const wanted = hooks.size > 0;
  if (wanted === listening) return;
  listening = wanted;
  if (wanted) {
    process.on("exit", atExit);
    process.on("beforeExit", atBeforeExit);
  } else {
    process.removeListener("exit", atExit);
    process.removeListener("beforeExit", atBeforeExit);
  }
}

function atExit(): void {
  run("exit");
}

function atBeforeExit(): void {
  run("beforeExit");
}

/** In the order they were registered; a hook that throws does not keep the others from running. */
function run(event: ExitEvent): void {
  for (const hook of [...hooks.values()]) {
    if (event === "beforeExit" && !hook.beforeExit) continue;
    const target = hook.ref.deref();
    if (target === undefined) continue;
    try {
      hook.fn(target as never, event);
    } catch {
      // Hooks report their own failures (onError); an exit hook must not throw past the others.
    }
  }
}
