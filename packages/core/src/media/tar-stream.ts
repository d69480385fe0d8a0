import type * as TarStream from "tar-stream";

/** tar-stream, loaded when a files backup or its restore needs it: a database backup never does. */
export async function tarStream(): Promise<typeof TarStream> {
  // A CommonJS package: imported from the bundle, its exports are the default export's.
  const loaded = (await import("tar-stream")) as typeof TarStream & { default?: typeof TarStream };
  return loaded.default ?? loaded;
}
