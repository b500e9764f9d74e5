// Types of on-exit-leak-free (pino's own exit-hook library; it ships none): call `fn(obj, event)` when
// the process exits, holding `obj` weakly so a forgotten emitter can still be collected.
declare module "on-exit-leak-free" {
  type ExitEvent = "exit" | "beforeExit";
  function register<T extends object>(obj: T, fn: (obj: T, event: ExitEvent) => void): void;
  function registerBeforeExit<T extends object>(obj: T, fn: (obj: T, event: ExitEvent) => void): void;
  function unregister(obj: object): void;
  const onExit: {
    register: typeof register;
    registerBeforeExit: typeof registerBeforeExit;
    unregister: typeof unregister;
  };
  export default onExit;
}
