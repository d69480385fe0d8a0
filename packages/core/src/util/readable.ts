import { PassThrough, type Readable } from "node:stream";

/** A stream of one in-memory text (manifests, small JSON objects). */
export const readableOf = (text: string): Readable => {
  const s = new PassThrough();
  s.end(Buffer.from(text));
  return s;
};
