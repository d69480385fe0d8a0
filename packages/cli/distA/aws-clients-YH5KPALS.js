#!/usr/bin/env node
import { createRequire as __cobaltCreateRequire } from "node:module";
const require = __cobaltCreateRequire(import.meta.url);
import {
  awsClients,
  temporaryInstanceConnect
} from "./chunk-LAEXPQBW.js";
import "./chunk-5SOUXTRF.js";
import "./chunk-IOUMZER7.js";
export {
  awsClients,
  temporaryInstanceConnect
};
//# sourceMappingURL=aws-clients-YH5KPALS.js.map