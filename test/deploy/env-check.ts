/** Variables the Node.js runtime itself reads; a manifest may set them although the product's config does not. */
export const RUNTIME_VARIABLES = new Set(['NODE_ENV', 'NODE_OPTIONS']);

/**
 * The names in `env` that `load` never reads, found by handing it an environment that records every read.
 * The configuration reads each variable of its schema before validating (src/config/parse.ts), so a failed
 * validation still reports every name it knows.
 */
export function unreadVariables(env: Record<string, string>, load: (env: NodeJS.ProcessEnv) => unknown): string[] {
  const read = new Set<string>();
  const recording = new Proxy(
    { ...env },
    {
      get(target, property) {
        if (typeof property === 'string') read.add(property);
        return Reflect.get(target, property);
      },
      has(target, property) {
        if (typeof property === 'string') read.add(property);
        return Reflect.has(target, property);
      },
    },
  );
  try {
    load(recording);
  } catch {
    // Only which names were read matters here; whether the values load is checked separately.
  }
  return Object.keys(env).filter((name) => !read.has(name) && !RUNTIME_VARIABLES.has(name));
}
