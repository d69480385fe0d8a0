#!/usr/bin/env node
import { createRequire as __cobaltCreateRequire } from "node:module";
const require = __cobaltCreateRequire(import.meta.url);

// ../core/dist/chunk-6AP6B7NI.js
import { createHash } from "crypto";
import { Transform, Writable } from "stream";
var MIN_PART_SIZE = 5 * 1024 * 1024;
var MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
var TARGET_PARTS = 9e3;
var MiB = 1024 * 1024;
function partSizeFor(expectedBytes, minimum = MIN_PART_SIZE) {
  const needed = Math.ceil(expectedBytes / TARGET_PARTS / MiB) * MiB;
  return Math.min(MAX_PART_SIZE, Math.max(minimum, MIN_PART_SIZE, needed));
}
var Meter = class extends Transform {
  /** `hash: false` only counts (for progress), where the bytes are checked elsewhere. */
  constructor(onChunk, opts = {}) {
    super();
    this.onChunk = onChunk;
    this.hash = opts.hash === false ? void 0 : createHash("sha256");
  }
  onChunk;
  bytes = 0;
  lines = 0;
  hash;
  digest;
  _transform(chunk, _enc, done) {
    this.bytes += chunk.length;
    let lines = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    this.lines += lines;
    this.hash?.update(chunk);
    this.onChunk?.(chunk.length, lines);
    done(null, chunk);
  }
  sha256() {
    if (!this.hash) throw new Error("this Meter does not hash");
    this.digest ??= this.hash.digest("hex");
    return this.digest;
  }
};
var IntegrityError = class extends Error {
  constructor(key, detail) {
    super(`object ${key} is corrupt: ${detail}`);
    this.key = key;
  }
  key;
};
var Verifier = class extends Transform {
  constructor(key, expected) {
    super();
    this.key = key;
    this.expected = expected;
  }
  key;
  expected;
  hash = createHash("sha256");
  bytes = 0;
  _transform(chunk, _enc, done) {
    this.bytes += chunk.length;
    if (this.bytes > this.expected.bytes) return done(new IntegrityError(this.key, `longer than the ${this.expected.bytes} bytes recorded in the manifest`));
    this.hash.update(chunk);
    done(null, chunk);
  }
  _flush(done) {
    if (this.bytes !== this.expected.bytes) return done(new IntegrityError(this.key, `${this.bytes} bytes, the manifest recorded ${this.expected.bytes}`));
    const got = this.hash.digest("hex");
    if (got !== this.expected.sha256) return done(new IntegrityError(this.key, `sha256 ${got} does not match the manifest's ${this.expected.sha256}`));
    done();
  }
};
var PartHasher = class extends Writable {
  constructor(rowsPerPart) {
    super();
    this.rowsPerPart = rowsPerPart;
    this.skipEmpty();
  }
  rowsPerPart;
  pieces = [];
  hash = createHash("sha256");
  rows = 0;
  bytes = 0;
  target() {
    return this.pieces.length < this.rowsPerPart.length ? this.rowsPerPart[this.pieces.length] : Number.POSITIVE_INFINITY;
  }
  close() {
    this.pieces.push({ rows: this.rows, bytes: this.bytes, sha256: this.hash.digest("hex") });
    this.hash = createHash("sha256");
    this.rows = 0;
    this.bytes = 0;
  }
  /** Parts of no rows end before they start. */
  skipEmpty() {
    while (this.pieces.length < this.rowsPerPart.length && this.target() === 0) this.close();
  }
  _write(chunk, _enc, done) {
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
  _final(done) {
    if (this.rows > 0 || this.bytes > 0 || this.pieces.length < this.rowsPerPart.length) this.close();
    while (this.pieces.length < this.rowsPerPart.length) this.close();
    done();
  }
};

export {
  partSizeFor,
  Meter,
  IntegrityError,
  Verifier,
  PartHasher
};
//# sourceMappingURL=chunk-RSPZTCWW.js.map