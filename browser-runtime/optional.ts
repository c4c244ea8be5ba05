// For what a page may do without: a GPU pass whose shader does not compile, a model that cannot
// be captured. The page goes on the plain way and says why once on its console, which the
// gateway logs.

/** `made`, or null with `instead` and the reason written as a warning. */
export function orNull<T>(made: Promise<T>, instead: string): Promise<T | null> {
  return made.catch((e: unknown) => {
    console.warn(`${instead}: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  });
}
