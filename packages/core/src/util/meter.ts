import { createHash, type Hash } from "node:crypto";
import { Transform, Writable, type TransformCallback } from "node:stream";

/** Newline bytes: in COPY text, the rows. */
export function countLines(chunk: Buffer): number {
  let lines = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  return lines;
}

/**
 * Passes bytes through unchanged while counting them, hashing them (sha256) and counting
 * newline bytes, which in COPY text format is exactly the number of rows.
 */
export class Meter extends Transform {
  bytes = 0;
  lines = 0;
  private readonly hash: Hash | undefined;
  private digest?: string;

  /** `hash: false` only counts (for progress), where the bytes are checked elsewhere. */
  constructor(
    private readonly onChunk?: (bytes: number, lines: number) => void,
    opts: { hash?: boolean } = {},
  ) {
    super();
    this.hash = opts.hash === false ? undefined : createHash("sha256");
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.observe(chunk);
    done(null, chunk);
  }

  /** Counts and hashes bytes that do not flow through this stream (a stage that meters as it goes). */
  observe(chunk: Buffer): void {
    this.bytes += chunk.length;
    const lines = countLines(chunk);
    this.lines += lines;
    this.hash?.update(chunk);
    this.onChunk?.(chunk.length, lines);
  }

  sha256(): string {
    if (!this.hash) throw new Error("this Meter does not hash");
    this.digest ??= this.hash.digest("hex");
    return this.digest;
  }
}

/** Raised when a stored object's bytes differ from what its manifest recorded. */
export class IntegrityError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`object ${key} is corrupt: ${detail}`);
  }
}

/**
 * Passes bytes through and, at the end, fails the stream unless their size and sha256 match the
 * expected values, so a consumer (COPY FROM, a hash) is aborted instead of committing bad data.
 */
export class Verifier extends Transform {
  private readonly hash = createHash("sha256");
  private bytes = 0;

  constructor(
    private readonly key: string,
    private readonly expected: { bytes: number; sha256: string },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expected.bytes) return done(new IntegrityError(this.key, `longer than the ${this.expected.bytes} bytes recorded in the manifest`));
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.bytes !== this.expected.bytes) return done(new IntegrityError(this.key, `${this.bytes} bytes, the manifest recorded ${this.expected.bytes}`));
    const got = this.hash.digest("hex");
    if (got !== this.expected.sha256) return done(new IntegrityError(this.key, `sha256 ${got} does not match the manifest's ${this.expected.sha256}`));
    done();
  }
}

/**
 * Takes a COPY text stream (one line per row) and cuts it where each part of a table ends, by
 * the parts' row counts, hashing each piece: a table restored part after part reads back as the
 * same pieces. Rows beyond the last part's end make one more piece.
 */
export class PartHasher extends Writable {
  readonly pieces: { rows: number; bytes: number; sha256: string }[] = [];
  private hash = createHash("sha256");
  private rows = 0;
  private bytes = 0;

  constructor(private readonly rowsPerPart: readonly number[]) {
    super();
    this.skipEmpty();
  }

  private target(): number {
    return this.pieces.length < this.rowsPerPart.length ? this.rowsPerPart[this.pieces.length]! : Number.POSITIVE_INFINITY;
  }

  private close(): void {
    this.pieces.push({ rows: this.rows, bytes: this.bytes, sha256: this.hash.digest("hex") });
    this.hash = createHash("sha256");
    this.rows = 0;
    this.bytes = 0;
  }

  /** Parts of no rows end before they start. */
  private skipEmpty(): void {
    while (this.pieces.length < this.rowsPerPart.length && this.target() === 0) this.close();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    let from = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) {
      if (++this.rows < this.target()) continue;
      this.hash.update(chunk.subarray(from, i + 1));
      this.bytes += i + 1 - from;
      from = i + 1;
      this.close();
      this.skipEmpty();
    }
    this.hash.update(chunk.subarray(from));
    this.bytes += chunk.length - from;
    done();
  }

  override _final(done: (e?: Error | null) => void): void {
    // A part cut short (fewer rows than recorded), and the parts after it, still get a piece.
    if (this.rows > 0 || this.bytes > 0 || this.pieces.length < this.rowsPerPart.length) this.close();
    while (this.pieces.length < this.rowsPerPart.length) this.close();
    done();
  }
}
