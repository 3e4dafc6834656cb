/**
 * Loads an optional peer package, or returns undefined when it is not installed. Any other
 * failure (a broken install) is rethrown rather than mistaken for absence.
 */
export function optionalRequire<T>(name: string): T | undefined {
  try {
    return require(name) as T;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const missing = code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(name);
    if (missing) return undefined;
    throw error;
  }
}
