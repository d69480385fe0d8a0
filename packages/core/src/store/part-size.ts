/** S3 multipart limits: at most 10,000 parts of 5 MiB to 5 GiB each (the last may be smaller). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
export const MAX_PARTS = 10_000;
/** Parts to aim for: headroom below 10,000 for an object larger than its estimate. */
const TARGET_PARTS = 9_000;
const MiB = 1024 * 1024;

/**
 * Part size for an object expected to be about `expectedBytes` long: the smallest whole number of
 * MiB (at least `minimum`) that fits it in 9,000 parts, so a 5 TB object uploads in under 10,000
 * parts while a small one keeps memory (`partSize x queueSize`) low.
 */
export function partSizeFor(expectedBytes: number, minimum = MIN_PART_SIZE): number {
  const needed = Math.ceil(expectedBytes / TARGET_PARTS / MiB) * MiB;
  return Math.min(MAX_PART_SIZE, Math.max(minimum, MIN_PART_SIZE, needed));
}

/** The largest object `partSize` can carry. */
export const maxObjectBytes = (partSize: number): number => partSize * MAX_PARTS;
