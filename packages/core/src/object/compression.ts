import { promisify } from "node:util";
import { constants, createGunzip, createGzip, createZstdCompress, createZstdDecompress, gzip, zstdCompress, type ZstdOptions, type ZlibOptions } from "node:zlib";
import { PassThrough, Transform, type TransformCallback } from "node:stream";

export type Compression = "zstd" | "gzip" | "none";

/**
 * zstd level 1: on the bench's rows (2 cores, the server on the same machine) it compresses at
 * 330 MB/s against level 3's 150 MB/s, and smaller (0.296 against 0.308 of the raw bytes): the
 * CPU it leaves goes to the server's COPY. gzip 6 runs at 60 MB/s, as pg_dump -Fc does.
 */
export const DEFAULT_LEVEL: Record<Compression, number | undefined> = { zstd: 1, gzip: 6, none: undefined };

export const suffix = (c: Compression): string => ({ zstd: ".zst", gzip: ".gz", none: "" })[c];

/**
 * At level 1, a 16 KiB match table instead of 64 KiB: it stays in the core's cache. On 64 MiB of
 * the bench's rows, compressing took 10 % less CPU for 0.2 % more output (min of 7 runs each).
 */
const FAST_HASH_LOG = 12;

/**
 * Chunks of a compressed stream, in (joined) and out: 1 MiB. Each chunk is a trip to the thread
 * pool (a futex wake, an eventfd write, two context switches) and a write. On the bench's backup,
 * 256 KiB chunks made 30,000 futex calls and 1 MiB chunks 14,000; the backup's CPU went from
 * 3.67 s to 3.46 s and its wall time from 4.21 s to 3.98 s (medians of 10, alternating runs).
 */
const STREAM_CHUNK = 2 ** 20;

/** Output chunks of a decompressing stream (restore, verify, export). */
const READ_CHUNK = 256 * 1024;

/** ZSTD_compressBound: the largest frame `n` bytes can make. */
const zstdBound = (n: number): number => n + (n >>> 8) + (n < 128 * 1024 ? (128 * 1024 - n) >>> 11 : 0) + 64;

/**
 * Output room for `n` bytes compressed in one call: the whole result (zstd's bound, above
 * deflate's too), at most a stream's chunk. The result is then written in one pass, and a small
 * object does not take (and count against the collector) a whole chunk's buffer of its own.
 */
const oneCallRoom = (n: number): number => Math.min(STREAM_CHUNK, zstdBound(n));

const zstdOptions = (level: number | undefined): ZstdOptions => ({
  chunkSize: STREAM_CHUNK,
  params: { [constants.ZSTD_c_compressionLevel]: level ?? 3, [constants.ZSTD_c_checksumFlag]: 1, ...(level === 1 ? { [constants.ZSTD_c_hashLog]: FAST_HASH_LOG } : {}) },
});
const gzipOptions = (level: number | undefined): ZlibOptions => ({ level: level ?? 6, chunkSize: STREAM_CHUNK });

export function compressor(c: Compression, level = DEFAULT_LEVEL[c]): Transform {
  switch (c) {
    case "zstd":
      return createZstdCompress(zstdOptions(level));
    case "gzip":
      return createGzip(gzipOptions(level));
    case "none":
      return new PassThrough();
  }
}

/**
 * Compresses a stream as `compressor` does, after joining the source's chunks into buffers of
 * `bytes` (default 1 MiB). A COPY stream arrives in socket reads of 8 to 64 KiB, and the
 * compressor pays per chunk (a trip to the thread pool, a write): joined in 256 KiB, the bench's
 * backup took 4.5 s instead of 4.8 s. Two buffers are filled in turn, each again once the
 * compressor has taken its bytes: a new buffer per joined chunk added up to the table's size in
 * external memory, and each 64 MiB of that starts a full garbage collection in V8. `observe` sees every joined buffer before it is
 * compressed (the raw bytes' count and digest).
 */
export class CompressingStream extends Transform {
  private readonly z: Transform;
  private readonly buffers: Buffer[];
  /** Settles when the compressor has taken the buffer's bytes; undefined while it is free. */
  private readonly taking: (Promise<void> | undefined)[] = [undefined, undefined];
  /** Without compression the buffer itself is passed on: it cannot be filled again. */
  private readonly reuse: boolean;
  private turn = 0;
  private used = 0;

  constructor(
    compression: Compression,
    level: number | undefined,
    private readonly observe: (chunk: Buffer) => void,
    private readonly bytes = STREAM_CHUNK,
  ) {
    super();
    this.z = compressor(compression, level);
    this.reuse = compression !== "none";
    this.buffers = [Buffer.allocUnsafe(bytes), Buffer.allocUnsafe(bytes)];
    this.z.on("data", (d: Buffer) => this.push(d));
    this.z.on("error", (e: Error) => this.destroy(e));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let pos = 0;
    const fill = (): void => {
      while (pos < chunk.length) {
        const taking = this.used === 0 ? this.taking[this.turn] : undefined;
        if (taking) return void taking.then(fill);
        const n = chunk.copy(this.buffers[this.turn]!, this.used, pos);
        this.used += n;
        pos += n;
        if (this.used === this.bytes) this.send();
      }
      done();
    };
    fill();
  }

  override _flush(done: TransformCallback): void {
    if (this.used > 0) this.send();
    this.z.once("end", () => done());
    this.z.end();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.z.destroy();
    done(error);
  }

  private send(): void {
    const turn = this.turn;
    const joined = this.buffers[turn]!.subarray(0, this.used);
    this.observe(joined);
    this.used = 0;
    if (!this.reuse) {
      this.z.write(joined);
      this.buffers[turn] = Buffer.allocUnsafe(this.bytes);
      return;
    }
    this.taking[turn] = new Promise<void>((resolve) =>
      this.z.write(joined, () => {
        this.taking[turn] = undefined;
        resolve();
      }),
    );
    this.turn = 1 - turn;
  }
}

const zstdAsync = promisify(zstdCompress);
const gzipAsync = promisify(gzip);

/**
 * The same encoding as `compressor`, of bytes already in memory, in one call on the thread pool.
 * A zstd frame then also records its content size; any zstd reader opens both.
 */
export async function compressBuffer(c: Compression, bytes: Buffer, level = DEFAULT_LEVEL[c]): Promise<Buffer> {
  switch (c) {
    case "zstd":
      return zstdAsync(bytes, { ...zstdOptions(level), pledgedSrcSize: bytes.length, chunkSize: oneCallRoom(bytes.length) });
    case "gzip":
      return gzipAsync(bytes, { ...gzipOptions(level), chunkSize: oneCallRoom(bytes.length) });
    case "none":
      return bytes;
  }
}

export function decompressor(c: Compression): Transform {
  switch (c) {
    // Large output chunks: each chunk is a trip to the thread pool, a pass through every stage
    // after it and, on restore, a message and a write to the server.
    case "zstd":
      return createZstdDecompress({ chunkSize: READ_CHUNK });
    case "gzip":
      return createGunzip({ chunkSize: READ_CHUNK });
    case "none":
      return new PassThrough();
  }
}
