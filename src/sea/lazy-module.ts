/**
 * A stand-in for a module that require()s it on first use of any of its properties (a call or `new`
 * goes through too, for a module that is a function): the single executable hands these out for
 * oclif's own top-level require()s (scripts/package.ts) and for the side libraries (main.ts), so
 * that a module is evaluated when it is first used, not when a module that imports it is.
 * Whoever holds one must look at the module through its properties only: its typeof is "function"
 * and it is not the module object itself.
 */
export function lazyModule<T extends object>(load: () => T): T {
  let real: T | undefined
  const mod = (): T => (real ??= load())
  // An arrow function as target: it may be called, and has no property a proxy must report as it is.
  return new Proxy((() => {}) as unknown as T, {
    get: (_, key) => Reflect.get(mod(), key),
    set: (_, key, value) => Reflect.set(mod(), key, value),
    has: (_, key) => Reflect.has(mod(), key),
    ownKeys: () => Reflect.ownKeys(mod()),
    getOwnPropertyDescriptor: (target, key) => {
      const desc = Reflect.getOwnPropertyDescriptor(mod(), key)
      // a proxy may report a property non-configurable only if its target has it so
      if (desc && !desc.configurable) Object.defineProperty(target, key, desc)
      return desc
    },
    defineProperty: (_, key, desc) => Reflect.defineProperty(mod(), key, desc),
    deleteProperty: (_, key) => Reflect.deleteProperty(mod(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(mod()),
    apply: (_, self, args) => Reflect.apply(mod() as (...a: unknown[]) => unknown, self, args),
    construct: (_, args, newTarget) => Reflect.construct(mod() as new (...a: unknown[]) => object, args, newTarget),
  })
}
