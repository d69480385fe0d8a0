#!/usr/bin/env node
import { createRequire as __cobaltCreateRequire } from "node:module";
const require = __cobaltCreateRequire(import.meta.url);
import {
  CHECKED_KEY,
  VERIFIED_KEY,
  awsSettingsOf,
  backupFiles,
  backupKind,
  checkBackups,
  checkSourceDatabase,
  checkStore,
  damageSummary,
  decryptionFlags,
  decryptionKeys,
  deliverNotifications,
  describeReadData,
  encryptionFlags,
  encryptionKeys,
  errorText,
  exportSql,
  external_exports,
  failureKind,
  keysFromConfig,
  listCatalog,
  lockUntilFor,
  parseReadData,
  parseSize,
  pruneBackups,
  readManifest,
  recordChecks,
  recordFailedVerification,
  recordVerification,
  reportSetupFailure,
  require_pg_copy_streams,
  resolveBackupId,
  restoreBackup,
  restoreFiles,
  restoreSpaceNeeded,
  runNightly,
  storeFlags,
  storeFromConfig,
  storeFromUrl,
  streamDump,
  tagOf,
  verifyFiles,
  verifyRestore
} from "./chunk-GXRNIRD4.js";
import "./chunk-RSPZTCWW.js";
import {
  Failure,
  causeMessage,
  redactSecrets
} from "./chunk-SZRQ5ROZ.js";
import {
  UsageError,
  esm_default,
  require_helper
} from "./chunk-5SOUXTRF.js";
import {
  __commonJS,
  __require,
  __toESM
} from "./chunk-IOUMZER7.js";

// ../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/lib/error.js
var require_error = __commonJS({
  "../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/lib/error.js"(exports) {
    "use strict";
    var CommanderError2 = class extends Error {
      /**
       * Constructs the CommanderError class
       * @param {number} exitCode suggested exit code which could be used with process.exit
       * @param {string} code an id string representing the error
       * @param {string} message human-readable description of the error
       */
      constructor(exitCode, code, message) {
        super(message);
        Error.captureStackTrace(this, this.constructor);
        this.name = this.constructor.name;
        this.code = code;
        this.exitCode = exitCode;
        this.nestedError = void 0;
      }
    };
    var InvalidArgumentError2 = class extends CommanderError2 {
      /**
       * Constructs the InvalidArgumentError class
       * @param {string} [message] explanation of why argument is invalid
       */
      constructor(message) {
        super(1, "commander.invalidArgument", message);
        Error.captureStackTrace(this, this.constructor);
        this.name = this.constructor.name;
      }
    };
    exports.CommanderError = CommanderError2;
    exports.InvalidArgumentError = InvalidArgumentError2;
  }
});

// ../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/lib/argument.js
var require_argument = __commonJS({
  "../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/lib/argument.js"(exports) {
    "use strict";
    var { InvalidArgumentError: InvalidArgumentError2 } = require_error();
    var Argument2 = class {
      /**
       * Initialize a new command argument with the given name and description.
       * The default is that the argument is required, and you can explicitly
       * indicate this with <> around the name. Put [] around the name for an optional argument.
       *
       * @param {string} name
       * @param {string} [description]
       */
      constructor(name, description) {
        this.description = description || "";
        this.variadic = false;
        this.parseArg = void 0;
        this.defaultValue = void 0;
        this.defaultValueDescription = void 0;
        this.argChoices = void 0;
        switch (name[0]) {
          case "<":
            this.required = true;
            this._name = name.slice(1, -1);
            break;
          case "[":
            this.required = false;
            this._name = name.slice(1, -1);
            break;
          default:
            this.required = true;
            this._name = name;
            break;
        }
        if (this._name.endsWith("...")) {
          this.variadic = true;
          this._name = this._name.slice(0, -3);
        }
      }
      /**
       * Return argument name.
       *
       * @return {string}
       */
      name() {
        return this._name;
      }
      /**
       * @package
       */
      _collectValue(value, previous) {
        if (previous === this.defaultValue || !Array.isArray(previous)) {
          return [value];
        }
        previous.push(value);
        return previous;
      }
      /**
       * Set the default value, and optionally supply the description to be displayed in the help.
       *
       * @param {*} value
       * @param {string} [description]
       * @return {Argument}
       */
      default(value, description) {
        this.defaultValue = value;
        this.defaultValueDescription = description;
        return this;
      }
      /**
       * Set the custom handler for processing CLI command arguments into argument values.
       *
       * @param {Function} [fn]
       * @return {Argument}
       */
      argParser(fn) {
        this.parseArg = fn;
        return this;
      }
      /**
       * Only allow argument value to be one of choices.
       *
       * @param {string[]} values
       * @return {Argument}
       */
      choices(values) {
        this.argChoices = values.slice();
        this.parseArg = (arg, previous) => {
          if (!this.argChoices.includes(arg)) {
            throw new InvalidArgumentError2(
              `Allowed choices are ${this.argChoices.join(", ")}.`
            );
          }
          if (this.variadic) {
            return this._collectValue(arg, previous);
          }
          return arg;
        };
        return this;
      }
      /**
       * Make argument required.
       *
       * @returns {Argument}
       */
      argRequired() {
        this.required = true;
        return this;
      }
      /**
       * Make argument optional.
       *
       * @returns {Argument}
       */
      argOptional() {
        this.required = false;
        return this;
      }
    };
    function humanReadableArgName(arg) {
      const nameOutput = arg.name() + (arg.variadic === true ? "..." : "");
      return arg.required ? "<" + nameOutput + ">" : "[" + nameOutput + "]";
    }
    exports.Argument = Argument2;
    exports.humanReadableArgName = humanReadableArgName;
  }
});

// ../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/lib/help.js
var require_help = __commonJS({
  "../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/lib/help.js"(exports) {
    "use strict";
    var { humanReadableArgName } = require_argument();
    var Help2 = class {
      constructor() {
        this.helpWidth = void 0;
        this.minWidthToWrap = 40;
        this.sortSubcommands = false;
        this.sortOptions = false;
        this.showGlobalOptions = false;
      }
      /**
       * prepareContext is called by Commander after applying overrides from `Command.configureHelp()`
       * and just before calling `formatHelp()`.
       *
       * Commander just uses the helpWidth and the rest is provided for optional use by more complex subclasses.
       *
       * @param {{ error?: boolean, helpWidth?: number, outputHasColors?: boolean }} contextOptions
       */
      prepareContext(contextOptions) {
        this.helpWidth = this.helpWidth ?? contextOptions.helpWidth ?? 80;
      }
      /**
       * Get an array of the visible subcommands. Includes a placeholder for the implicit help command, if there is one.
       *
       * @param {Command} cmd
       * @returns {Command[]}
       */
      visibleCommands(cmd) {
        const visibleCommands = cmd.commands.filter((cmd2) => !cmd2._hidden);
        const helpCommand = cmd._getHelpCommand();
        if (helpCommand && !helpCommand._hidden) {
          visibleCommands.push(helpCommand);
        }
        if (this.sortSubcommands) {
          visibleCommands.sort((a, b) => {
            return a.name().localeCompare(b.name());
          });
        }
        return visibleCommands;
      }
      /**
       * Compare options for sort.
       *
       * @param {Option} a
       * @param {Option} b
       * @returns {number}
       */
      compareOptions(a, b) {
        const getSortKey = (option) => {
          return option.short ? option.short.replace(/^-/, "") : option.long.replace(/^--/, "");
        };
        return getSortKey(a).localeCompare(getSortKey(b));
      }
      /**
       * Get an array of the visible options. Includes a placeholder for the implicit help option, if there is one.
       *
       * @param {Command} cmd
       * @returns {Option[]}
       */
      visibleOptions(cmd) {
        const visibleOptions = cmd.options.filter((option) => !option.hidden);
        const helpOption = cmd._getHelpOption();
        if (helpOption && !helpOption.hidden) {
          const removeShort = helpOption.short && cmd._findOption(helpOption.short);
          const removeLong = helpOption.long && cmd._findOption(helpOption.long);
          if (!removeShort && !removeLong) {
            visibleOptions.push(helpOption);
          } else if (helpOption.long && !removeLong) {
            visibleOptions.push(
              cmd.createOption(helpOption.long, helpOption.description)
            );
          } else if (helpOption.short && !removeShort) {
            visibleOptions.push(
              cmd.createOption(helpOption.short, helpOption.description)
            );
          }
        }
        if (this.sortOptions) {
          visibleOptions.sort(this.compareOptions);
        }
        return visibleOptions;
      }
      /**
       * Get an array of the visible global options. (Not including help.)
       *
       * @param {Command} cmd
       * @returns {Option[]}
       */
      visibleGlobalOptions(cmd) {
        if (!this.showGlobalOptions) return [];
        const globalOptions = [];
        for (let ancestorCmd = cmd.parent; ancestorCmd; ancestorCmd = ancestorCmd.parent) {
          const visibleOptions = ancestorCmd.options.filter(
            (option) => !option.hidden
          );
          globalOptions.push(...visibleOptions);
        }
        if (this.sortOptions) {
          globalOptions.sort(this.compareOptions);
        }
        return globalOptions;
      }
      /**
       * Get an array of the arguments if any have a description.
       *
       * @param {Command} cmd
       * @returns {Argument[]}
       */
      visibleArguments(cmd) {
        if (cmd._argsDescription) {
          cmd.registeredArguments.forEach((argument) => {
            argument.description = argument.description || cmd._argsDescription[argument.name()] || "";
          });
        }
        if (cmd.registeredArguments.find((argument) => argument.description)) {
          return cmd.registeredArguments;
        }
        return [];
      }
      /**
       * Get the command term to show in the list of subcommands.
       *
       * @param {Command} cmd
       * @returns {string}
       */
      subcommandTerm(cmd) {
        const args = cmd.registeredArguments.map((arg) => humanReadableArgName(arg)).join(" ");
        return cmd._name + (cmd._aliases[0] ? "|" + cmd._aliases[0] : "") + (cmd.options.length ? " [options]" : "") + // simplistic check for non-help option
        (args ? " " + args : "");
      }
      /**
       * Get the option term to show in the list of options.
       *
       * @param {Option} option
       * @returns {string}
       */
      optionTerm(option) {
        return option.flags;
      }
      /**
       * Get the argument term to show in the list of arguments.
       *
       * @param {Argument} argument
       * @returns {string}
       */
      argumentTerm(argument) {
        return argument.name();
      }
      /**
       * Get the longest command term length.
       *
       * @param {Command} cmd
       * @param {Help} helper
       * @returns {number}
       */
      longestSubcommandTermLength(cmd, helper) {
        return helper.visibleCommands(cmd).reduce((max, command) => {
          return Math.max(
            max,
            this.displayWidth(
              helper.styleSubcommandTerm(helper.subcommandTerm(command))
            )
          );
        }, 0);
      }
      /**
       * Get the longest option term length.
       *
       * @param {Command} cmd
       * @param {Help} helper
       * @returns {number}
       */
      longestOptionTermLength(cmd, helper) {
        return helper.visibleOptions(cmd).reduce((max, option) => {
          return Math.max(
            max,
            this.displayWidth(helper.styleOptionTerm(helper.optionTerm(option)))
          );
        }, 0);
      }
      /**
       * Get the longest global option term length.
       *
       * @param {Command} cmd
       * @param {Help} helper
       * @returns {number}
       */
      longestGlobalOptionTermLength(cmd, helper) {
        return helper.visibleGlobalOptions(cmd).reduce((max, option) => {
          return Math.max(
            max,
            this.displayWidth(helper.styleOptionTerm(helper.optionTerm(option)))
          );
        }, 0);
      }
      /**
       * Get the longest argument term length.
       *
       * @param {Command} cmd
       * @param {Help} helper
       * @returns {number}
       */
      longestArgumentTermLength(cmd, helper) {
        return helper.visibleArguments(cmd).reduce((max, argument) => {
          return Math.max(
            max,
            this.displayWidth(
              helper.styleArgumentTerm(helper.argumentTerm(argument))
            )
          );
        }, 0);
      }
      /**
       * Get the command usage to be displayed at the top of the built-in help.
       *
       * @param {Command} cmd
       * @returns {string}
       */
      commandUsage(cmd) {
        let cmdName = cmd._name;
        if (cmd._aliases[0]) {
          cmdName = cmdName + "|" + cmd._aliases[0];
        }
        let ancestorCmdNames = "";
        for (let ancestorCmd = cmd.parent; ancestorCmd; ancestorCmd = ancestorCmd.parent) {
          ancestorCmdNames = ancestorCmd.name() + " " + ancestorCmdNames;
        }
        return ancestorCmdNames + cmdName + " " + cmd.usage();
      }
      /**
       * Get the description for the command.
       *
       * @param {Command} cmd
       * @returns {string}
       */
      commandDescription(cmd) {
        return cmd.description();
      }
      /**
       * Get the subcommand summary to show in the list of subcommands.
       * (Fallback to description for backwards compatibility.)
       *
       * @param {Command} cmd
       * @returns {string}
       */
      subcommandDescription(cmd) {
        return cmd.summary() || cmd.description();
      }
      /**
       * Get the option description to show in the list of options.
       *
       * @param {Option} option
       * @return {string}
       */
      optionDescription(option) {
        const extraInfo = [];
        if (option.argChoices) {
          extraInfo.push(
            // use stringify to match the display of the default value
            `choices: ${option.argChoices.map((choice) => JSON.stringify(choice)).join(", ")}`
          );
        }
        if (option.defaultValue !== void 0) {
          const showDefault = option.required || option.optional || option.isBoolean() && typeof option.defaultValue === "boolean";
          if (showDefault) {
            extraInfo.push(
              `default: ${option.defaultValueDescription || JSON.stringify(option.defaultValue)}`
            );
          }
        }
        if (option.presetArg !== void 0 && option.optional) {
          extraInfo.push(`preset: ${JSON.stringify(option.presetArg)}`);
        }
        if (option.envVar !== void 0) {
          extraInfo.push(`env: ${option.envVar}`);
        }
        if (extraInfo.length > 0) {
          const extraDescription = `(${extraInfo.join(", ")})`;
          if (option.description) {
            return `${option.description} ${extraDescription}`;
          }
          return extraDescription;
        }
        return option.description;
      }
      /**
       * Get the argument description to show in the list of arguments.
       *
       * @param {Argument} argument
       * @return {string}
       */
      argumentDescription(argument) {
        const extraInfo = [];
        if (argument.argChoices) {
          extraInfo.push(
            // use stringify to match the display of the default value
            `choices: ${argument.argChoices.map((choice) => JSON.stringify(choice)).join(", ")}`
          );
        }
        if (argument.defaultValue !== void 0) {
          extraInfo.push(
            `default: ${argument.defaultValueDescription || JSON.stringify(argument.defaultValue)}`
          );
        }
        if (extraInfo.length > 0) {
          const extraDescription = `(${extraInfo.join(", ")})`;
          if (argument.description) {
            return `${argument.description} ${extraDescription}`;
          }
          return extraDescription;
        }
        return argument.description;
      }
      /**
       * Format a list of items, given a heading and an array of formatted items.
       *
       * @param {string} heading
       * @param {string[]} items
       * @param {Help} helper
       * @returns string[]
       */
      formatItemList(heading, items, helper) {
        if (items.length === 0) return [];
        return [helper.styleTitle(heading), ...items, ""];
      }
      /**
       * Group items by their help group heading.
       *
       * @param {Command[] | Option[]} unsortedItems
       * @param {Command[] | Option[]} visibleItems
       * @param {Function} getGroup
       * @returns {Map<string, Command[] | Option[]>}
       */
      groupItems(unsortedItems, visibleItems, getGroup) {
        const result = /* @__PURE__ */ new Map();
        unsortedItems.forEach((item) => {
          const group = getGroup(item);
          if (!result.has(group)) result.set(group, []);
        });
        visibleItems.forEach((item) => {
          const group = getGroup(item);
          if (!result.has(group)) {
            result.set(group, []);
          }
          result.get(group).push(item);
        });
        return result;
      }
      /**
       * Generate the built-in help text.
       *
       * @param {Command} cmd
       * @param {Help} helper
       * @returns {string}
       */
      formatHelp(cmd, helper) {
        const termWidth = helper.padWidth(cmd, helper);
        const helpWidth = helper.helpWidth ?? 80;
        function callFormatItem(term, description) {
          return helper.formatItem(term, termWidth, description, helper);
        }
        let output = [
          `${helper.styleTitle("Usage:")} ${helper.styleUsage(helper.commandUsage(cmd))}`,
          ""
        ];
        const commandDescription = helper.commandDescription(cmd);
        if (commandDescription.length > 0) {
          output = output.concat([
            helper.boxWrap(
              helper.styleCommandDescription(commandDescription),
              helpWidth
            ),
            ""
          ]);
        }
        const argumentList = helper.visibleArguments(cmd).map((argument) => {
          return callFormatItem(
            helper.styleArgumentTerm(helper.argumentTerm(argument)),
            helper.styleArgumentDescription(helper.argumentDescription(argument))
          );
        });
        output = output.concat(
          this.formatItemList("Arguments:", argumentList, helper)
        );
        const optionGroups = this.groupItems(
          cmd.options,
          helper.visibleOptions(cmd),
          (option) => option.helpGroupHeading ?? "Options:"
        );
        optionGroups.forEach((options, group) => {
          const optionList = options.map((option) => {
            return callFormatItem(
              helper.styleOptionTerm(helper.optionTerm(option)),
              helper.styleOptionDescription(helper.optionDescription(option))
            );
          });
          output = output.concat(this.formatItemList(group, optionList, helper));
        });
        if (helper.showGlobalOptions) {
          const globalOptionList = helper.visibleGlobalOptions(cmd).map((option) => {
            return callFormatItem(
              helper.styleOptionTerm(helper.optionTerm(option)),
              helper.styleOptionDescription(helper.optionDescription(option))
            );
          });
          output = output.concat(
            this.formatItemList("Global Options:", globalOptionList, helper)
          );
        }
        const commandGroups = this.groupItems(
          cmd.commands,
          helper.visibleCommands(cmd),
          (sub) => sub.helpGroup() || "Commands:"
        );
        commandGroups.forEach((commands, group) => {
          const commandList = commands.map((sub) => {
            return callFormatItem(
              helper.styleSubcommandTerm(helper.subcommandTerm(sub)),
              helper.styleSubcommandDescription(helper.subcommandDescription(sub))
            );
          });
          output = output.concat(this.formatItemList(group, commandList, helper));
        });
        return output.join("\n");
      }
      /**
       * Return display width of string, ignoring ANSI escape sequences. Used in padding and wrapping calculations.
       *
       * @param {string} str
       * @returns {number}
       */
      displayWidth(str) {
        return stripColor(str).length;
      }
      /**
       * Style the title for displaying in the help. Called with 'Usage:', 'Options:', etc.
       *
       * @param {string} str
       * @returns {string}
       */
      styleTitle(str) {
        return str;
      }
      styleUsage(str) {
        return str.split(" ").map((word) => {
          if (word === "[options]") return this.styleOptionText(word);
          if (word === "[command]") return this.styleSubcommandText(word);
          if (word[0] === "[" || word[0] === "<")
            return this.styleArgumentText(word);
          return this.styleCommandText(word);
        }).join(" ");
      }
      styleCommandDescription(str) {
        return this.styleDescriptionText(str);
      }
      styleOptionDescription(str) {
        return this.styleDescriptionText(str);
      }
      styleSubcommandDescription(str) {
        return this.styleDescriptionText(str);
      }
      styleArgumentDescription(str) {
        return this.styleDescriptionText(str);
      }
      styleDescriptionText(str) {
        return str;
      }
      styleOptionTerm(str) {
        return this.styleOptionText(str);
      }
      styleSubcommandTerm(str) {
        return str.split(" ").map((word) => {
          if (word === "[options]") return this.styleOptionText(word);
          if (word[0] === "[" || word[0] === "<")
            return this.styleArgumentText(word);
          return this.styleSubcommandText(word);
        }).join(" ");
      }
      styleArgumentTerm(str) {
        return this.styleArgumentText(str);
      }
      styleOptionText(str) {
        return str;
      }
      styleArgumentText(str) {
        return str;
      }
      styleSubcommandText(str) {
        return str;
      }
      styleCommandText(str) {
        return str;
      }
      /**
       * Calculate the pad width from the maximum term length.
       *
       * @param {Command} cmd
       * @param {Help} helper
       * @returns {number}
       */
      padWidth(cmd, helper) {
        return Math.max(
          helper.longestOptionTermLength(cmd, helper),
          helper.longestGlobalOptionTermLength(cmd, helper),
          helper.longestSubcommandTermLength(cmd, helper),
          helper.longestArgumentTermLength(cmd, helper)
        );
      }
      /**
       * Detect manually wrapped and indented strings by checking for line break followed by whitespace.
       *
       * @param {string} str
       * @returns {boolean}
       */
      preformatted(str) {
        return /\n[^\S\r\n]/.test(str);
      }
      /**
       * Format the "item", which consists of a term and description. Pad the term and wrap the description, indenting the following lines.
       *
       * So "TTT", 5, "DDD DDDD DD DDD" might be formatted for this.helpWidth=17 like so:
       *   TTT  DDD DDDD
       *        DD DDD
       *
       * @param {string} term
       * @param {number} termWidth
       * @param {string} description
       * @param {Help} helper
       * @returns {string}
       */
      formatItem(term, termWidth, description, helper) {
        const itemIndent = 2;
        const itemIndentStr = " ".repeat(itemIndent);
        if (!description) return itemIndentStr + term;
        const paddedTerm = term.padEnd(
          termWidth + term.length - helper.displayWidth(term)
        );
        const spacerWidth = 2;
        const helpWidth = this.helpWidth ?? 80;
        const remainingWidth = helpWidth - termWidth - spacerWidth - itemIndent;
        let formattedDescription;
        if (remainingWidth < this.minWidthToWrap || helper.preformatted(description)) {
          formattedDescription = description;
        } else {
          const wrappedDescription = helper.boxWrap(description, remainingWidth);
          formattedDescription = wrappedDescription.replace(
            /\n/g,
            "\n" + " ".repeat(termWidth + spacerWidth)
          );
        }
        return itemIndentStr + paddedTerm + " ".repeat(spacerWidth) + formattedDescription.replace(/\n/g, `
${itemIndentStr}`);
      }
      /**
       * Wrap a string at whitespace, preserving existing line breaks.
       * Wrapping is skipped if the width is less than `minWidthToWrap`.
       *
       * @param {string} str
       * @param {number} width
       * @returns {string}
       */
      boxWrap(str, width) {
        if (width < this.minWidthToWrap) return str;
        const rawLines = str.split(/\r\n|\n/);
        const chunkPattern = /[\s]*[^\s]+/g;
        const wrappedLines = [];
        rawLines.forEach((line) => {
          const chunks = line.match(chunkPattern);
          if (chunks === null) {
            wrappedLines.push("");
            return;
          }
          let sumChunks = [chunks.shift()];
          let sumWidth = this.displayWidth(sumChunks[0]);
          chunks.forEach((chunk) => {
            const visibleWidth = this.displayWidth(chunk);
            if (sumWidth + visibleWidth <= width) {
              sumChunks.push(chunk);
              sumWidth += visibleWidth;
              return;
            }
            wrappedLines.push(sumChunks.join(""));
            const nextChunk = chunk.trimStart();
            sumChunks = [nextChunk];
            sumWidth = this.displayWidth(nextChunk);
          });
          wrappedLines.push(sumChunks.join(""));
        });
        return wrappedLines.join("\n");
      }
    };
    function stripColor(str) {
      const sgrPattern = /\x1b\[\d*(;\d*)*m/g;
      return str.replace(sgrPattern, "");
    }
    exports.Help = Help2;
    exports.stripColor = stripColor;
  }
});

// ../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/lib/option.js
var require_option = __commonJS({
  "../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/lib/option.js"(exports) {
    "use strict";
    var { InvalidArgumentError: InvalidArgumentError2 } = require_error();
    var Option2 = class {
      /**
       * Initialize a new `Option` with the given `flags` and `description`.
       *
       * @param {string} flags
       * @param {string} [description]
       */
      constructor(flags, description) {
        this.flags = flags;
        this.description = description || "";
        this.required = flags.includes("<");
        this.optional = flags.includes("[");
        this.variadic = /\w\.\.\.[>\]]$/.test(flags);
        this.mandatory = false;
        const optionFlags = splitOptionFlags(flags);
        this.short = optionFlags.shortFlag;
        this.long = optionFlags.longFlag;
        this.negate = false;
        if (this.long) {
          this.negate = this.long.startsWith("--no-");
        }
        this.defaultValue = void 0;
        this.defaultValueDescription = void 0;
        this.presetArg = void 0;
        this.envVar = void 0;
        this.parseArg = void 0;
        this.hidden = false;
        this.argChoices = void 0;
        this.conflictsWith = [];
        this.implied = void 0;
        this.helpGroupHeading = void 0;
      }
      /**
       * Set the default value, and optionally supply the description to be displayed in the help.
       *
       * @param {*} value
       * @param {string} [description]
       * @return {Option}
       */
      default(value, description) {
        this.defaultValue = value;
        this.defaultValueDescription = description;
        return this;
      }
      /**
       * Preset to use when option used without option-argument, especially optional but also boolean and negated.
       * The custom processing (parseArg) is called.
       *
       * @example
       * new Option('--color').default('GREYSCALE').preset('RGB');
       * new Option('--donate [amount]').preset('20').argParser(parseFloat);
       *
       * @param {*} arg
       * @return {Option}
       */
      preset(arg) {
        this.presetArg = arg;
        return this;
      }
      /**
       * Add option name(s) that conflict with this option.
       * An error will be displayed if conflicting options are found during parsing.
       *
       * @example
       * new Option('--rgb').conflicts('cmyk');
       * new Option('--js').conflicts(['ts', 'jsx']);
       *
       * @param {(string | string[])} names
       * @return {Option}
       */
      conflicts(names) {
        this.conflictsWith = this.conflictsWith.concat(names);
        return this;
      }
      /**
       * Specify implied option values for when this option is set and the implied options are not.
       *
       * The custom processing (parseArg) is not called on the implied values.
       *
       * @example
       * program
       *   .addOption(new Option('--log', 'write logging information to file'))
       *   .addOption(new Option('--trace', 'log extra details').implies({ log: 'trace.txt' }));
       *
       * @param {object} impliedOptionValues
       * @return {Option}
       */
      implies(impliedOptionValues) {
        let newImplied = impliedOptionValues;
        if (typeof impliedOptionValues === "string") {
          newImplied = { [impliedOptionValues]: true };
        }
        this.implied = Object.assign(this.implied || {}, newImplied);
        return this;
      }
      /**
       * Set environment variable to check for option value.
       *
       * An environment variable is only used if when processed the current option value is
       * undefined, or the source of the current value is 'default' or 'config' or 'env'.
       *
       * @param {string} name
       * @return {Option}
       */
      env(name) {
        this.envVar = name;
        return this;
      }
      /**
       * Set the custom handler for processing CLI option arguments into option values.
       *
       * @param {Function} [fn]
       * @return {Option}
       */
      argParser(fn) {
        this.parseArg = fn;
        return this;
      }
      /**
       * Whether the option is mandatory and must have a value after parsing.
       *
       * @param {boolean} [mandatory=true]
       * @return {Option}
       */
      makeOptionMandatory(mandatory = true) {
        this.mandatory = !!mandatory;
        return this;
      }
      /**
       * Hide option in help.
       *
       * @param {boolean} [hide=true]
       * @return {Option}
       */
      hideHelp(hide = true) {
        this.hidden = !!hide;
        return this;
      }
      /**
       * @package
       */
      _collectValue(value, previous) {
        if (previous === this.defaultValue || !Array.isArray(previous)) {
          return [value];
        }
        previous.push(value);
        return previous;
      }
      /**
       * Only allow option value to be one of choices.
       *
       * @param {string[]} values
       * @return {Option}
       */
      choices(values) {
        this.argChoices = values.slice();
        this.parseArg = (arg, previous) => {
          if (!this.argChoices.includes(arg)) {
            throw new InvalidArgumentError2(
              `Allowed choices are ${this.argChoices.join(", ")}.`
            );
          }
          if (this.variadic) {
            return this._collectValue(arg, previous);
          }
          return arg;
        };
        return this;
      }
      /**
       * Return option name.
       *
       * @return {string}
       */
      name() {
        if (this.long) {
          return this.long.replace(/^--/, "");
        }
        return this.short.replace(/^-/, "");
      }
      /**
       * Return option name, in a camelcase format that can be used
       * as an object attribute key.
       *
       * @return {string}
       */
      attributeName() {
        if (this.negate) {
          return camelcase(this.name().replace(/^no-/, ""));
        }
        return camelcase(this.name());
      }
      /**
       * Set the help group heading.
       *
       * @param {string} heading
       * @return {Option}
       */
      helpGroup(heading) {
        this.helpGroupHeading = heading;
        return this;
      }
      /**
       * Check if `arg` matches the short or long flag.
       *
       * @param {string} arg
       * @return {boolean}
       * @package
       */
      is(arg) {
        return this.short === arg || this.long === arg;
      }
      /**
       * Return whether a boolean option.
       *
       * Options are one of boolean, negated, required argument, or optional argument.
       *
       * @return {boolean}
       * @package
       */
      isBoolean() {
        return !this.required && !this.optional && !this.negate;
      }
    };
    var DualOptions = class {
      /**
       * @param {Option[]} options
       */
      constructor(options) {
        this.positiveOptions = /* @__PURE__ */ new Map();
        this.negativeOptions = /* @__PURE__ */ new Map();
        this.dualOptions = /* @__PURE__ */ new Set();
        options.forEach((option) => {
          if (option.negate) {
            this.negativeOptions.set(option.attributeName(), option);
          } else {
            this.positiveOptions.set(option.attributeName(), option);
          }
        });
        this.negativeOptions.forEach((value, key) => {
          if (this.positiveOptions.has(key)) {
            this.dualOptions.add(key);
          }
        });
      }
      /**
       * Did the value come from the option, and not from possible matching dual option?
       *
       * @param {*} value
       * @param {Option} option
       * @returns {boolean}
       */
      valueFromOption(value, option) {
        const optionKey = option.attributeName();
        if (!this.dualOptions.has(optionKey)) return true;
        const preset = this.negativeOptions.get(optionKey).presetArg;
        const negativeValue = preset !== void 0 ? preset : false;
        return option.negate === (negativeValue === value);
      }
    };
    function camelcase(str) {
      return str.split("-").reduce((str2, word) => {
        return str2 + word[0].toUpperCase() + word.slice(1);
      });
    }
    function splitOptionFlags(flags) {
      let shortFlag;
      let longFlag;
      const shortFlagExp = /^-[^-]$/;
      const longFlagExp = /^--[^-]/;
      const flagParts = flags.split(/[ |,]+/).concat("guard");
      if (shortFlagExp.test(flagParts[0])) shortFlag = flagParts.shift();
      if (longFlagExp.test(flagParts[0])) longFlag = flagParts.shift();
      if (!shortFlag && shortFlagExp.test(flagParts[0]))
        shortFlag = flagParts.shift();
      if (!shortFlag && longFlagExp.test(flagParts[0])) {
        shortFlag = longFlag;
        longFlag = flagParts.shift();
      }
      if (flagParts[0].startsWith("-")) {
        const unsupportedFlag = flagParts[0];
        const baseError = `option creation failed due to '${unsupportedFlag}' in option flags '${flags}'`;
        if (/^-[^-][^-]/.test(unsupportedFlag))
          throw new Error(
            `${baseError}
- a short flag is a single dash and a single character
  - either use a single dash and a single character (for a short flag)
  - or use a double dash for a long option (and can have two, like '--ws, --workspace')`
          );
        if (shortFlagExp.test(unsupportedFlag))
          throw new Error(`${baseError}
- too many short flags`);
        if (longFlagExp.test(unsupportedFlag))
          throw new Error(`${baseError}
- too many long flags`);
        throw new Error(`${baseError}
- unrecognised flag format`);
      }
      if (shortFlag === void 0 && longFlag === void 0)
        throw new Error(
          `option creation failed due to no flags found in '${flags}'.`
        );
      return { shortFlag, longFlag };
    }
    exports.Option = Option2;
    exports.DualOptions = DualOptions;
  }
});

// ../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/lib/suggestSimilar.js
var require_suggestSimilar = __commonJS({
  "../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/lib/suggestSimilar.js"(exports) {
    "use strict";
    var maxDistance = 3;
    function editDistance(a, b) {
      if (Math.abs(a.length - b.length) > maxDistance)
        return Math.max(a.length, b.length);
      const d = [];
      for (let i = 0; i <= a.length; i++) {
        d[i] = [i];
      }
      for (let j = 0; j <= b.length; j++) {
        d[0][j] = j;
      }
      for (let j = 1; j <= b.length; j++) {
        for (let i = 1; i <= a.length; i++) {
          let cost = 1;
          if (a[i - 1] === b[j - 1]) {
            cost = 0;
          } else {
            cost = 1;
          }
          d[i][j] = Math.min(
            d[i - 1][j] + 1,
            // deletion
            d[i][j - 1] + 1,
            // insertion
            d[i - 1][j - 1] + cost
            // substitution
          );
          if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
            d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
          }
        }
      }
      return d[a.length][b.length];
    }
    function suggestSimilar(word, candidates) {
      if (!candidates || candidates.length === 0) return "";
      candidates = Array.from(new Set(candidates));
      const searchingOptions = word.startsWith("--");
      if (searchingOptions) {
        word = word.slice(2);
        candidates = candidates.map((candidate) => candidate.slice(2));
      }
      let similar = [];
      let bestDistance = maxDistance;
      const minSimilarity = 0.4;
      candidates.forEach((candidate) => {
        if (candidate.length <= 1) return;
        const distance2 = editDistance(word, candidate);
        const length = Math.max(word.length, candidate.length);
        const similarity = (length - distance2) / length;
        if (similarity > minSimilarity) {
          if (distance2 < bestDistance) {
            bestDistance = distance2;
            similar = [candidate];
          } else if (distance2 === bestDistance) {
            similar.push(candidate);
          }
        }
      });
      similar.sort((a, b) => a.localeCompare(b));
      if (searchingOptions) {
        similar = similar.map((candidate) => `--${candidate}`);
      }
      if (similar.length > 1) {
        return `
(Did you mean one of ${similar.join(", ")}?)`;
      }
      if (similar.length === 1) {
        return `
(Did you mean ${similar[0]}?)`;
      }
      return "";
    }
    exports.suggestSimilar = suggestSimilar;
  }
});

// ../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/lib/command.js
var require_command = __commonJS({
  "../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/lib/command.js"(exports) {
    "use strict";
    var EventEmitter = __require("events").EventEmitter;
    var childProcess = __require("child_process");
    var path = __require("path");
    var fs = __require("fs");
    var process2 = __require("process");
    var { Argument: Argument2, humanReadableArgName } = require_argument();
    var { CommanderError: CommanderError2 } = require_error();
    var { Help: Help2, stripColor } = require_help();
    var { Option: Option2, DualOptions } = require_option();
    var { suggestSimilar } = require_suggestSimilar();
    var Command2 = class _Command extends EventEmitter {
      /**
       * Initialize a new `Command`.
       *
       * @param {string} [name]
       */
      constructor(name) {
        super();
        this.commands = [];
        this.options = [];
        this.parent = null;
        this._allowUnknownOption = false;
        this._allowExcessArguments = false;
        this.registeredArguments = [];
        this._args = this.registeredArguments;
        this.args = [];
        this.rawArgs = [];
        this.processedArgs = [];
        this._scriptPath = null;
        this._name = name || "";
        this._optionValues = {};
        this._optionValueSources = {};
        this._storeOptionsAsProperties = false;
        this._actionHandler = null;
        this._executableHandler = false;
        this._executableFile = null;
        this._executableDir = null;
        this._defaultCommandName = null;
        this._exitCallback = null;
        this._aliases = [];
        this._combineFlagAndOptionalValue = true;
        this._description = "";
        this._summary = "";
        this._argsDescription = void 0;
        this._enablePositionalOptions = false;
        this._passThroughOptions = false;
        this._lifeCycleHooks = {};
        this._showHelpAfterError = false;
        this._showSuggestionAfterError = true;
        this._savedState = null;
        this._outputConfiguration = {
          writeOut: (str) => process2.stdout.write(str),
          writeErr: (str) => process2.stderr.write(str),
          outputError: (str, write) => write(str),
          getOutHelpWidth: () => process2.stdout.isTTY ? process2.stdout.columns : void 0,
          getErrHelpWidth: () => process2.stderr.isTTY ? process2.stderr.columns : void 0,
          getOutHasColors: () => useColor() ?? (process2.stdout.isTTY && process2.stdout.hasColors?.()),
          getErrHasColors: () => useColor() ?? (process2.stderr.isTTY && process2.stderr.hasColors?.()),
          stripColor: (str) => stripColor(str)
        };
        this._hidden = false;
        this._helpOption = void 0;
        this._addImplicitHelpCommand = void 0;
        this._helpCommand = void 0;
        this._helpConfiguration = {};
        this._helpGroupHeading = void 0;
        this._defaultCommandGroup = void 0;
        this._defaultOptionGroup = void 0;
      }
      /**
       * Copy settings that are useful to have in common across root command and subcommands.
       *
       * (Used internally when adding a command using `.command()` so subcommands inherit parent settings.)
       *
       * @param {Command} sourceCommand
       * @return {Command} `this` command for chaining
       */
      copyInheritedSettings(sourceCommand) {
        this._outputConfiguration = sourceCommand._outputConfiguration;
        this._helpOption = sourceCommand._helpOption;
        this._helpCommand = sourceCommand._helpCommand;
        this._helpConfiguration = sourceCommand._helpConfiguration;
        this._exitCallback = sourceCommand._exitCallback;
        this._storeOptionsAsProperties = sourceCommand._storeOptionsAsProperties;
        this._combineFlagAndOptionalValue = sourceCommand._combineFlagAndOptionalValue;
        this._allowExcessArguments = sourceCommand._allowExcessArguments;
        this._enablePositionalOptions = sourceCommand._enablePositionalOptions;
        this._showHelpAfterError = sourceCommand._showHelpAfterError;
        this._showSuggestionAfterError = sourceCommand._showSuggestionAfterError;
        return this;
      }
      /**
       * @returns {Command[]}
       * @private
       */
      _getCommandAndAncestors() {
        const result = [];
        for (let command = this; command; command = command.parent) {
          result.push(command);
        }
        return result;
      }
      /**
       * Define a command.
       *
       * There are two styles of command: pay attention to where to put the description.
       *
       * @example
       * // Command implemented using action handler (description is supplied separately to `.command`)
       * program
       *   .command('clone <source> [destination]')
       *   .description('clone a repository into a newly created directory')
       *   .action((source, destination) => {
       *     console.log('clone command called');
       *   });
       *
       * // Command implemented using separate executable file (description is second parameter to `.command`)
       * program
       *   .command('start <service>', 'start named service')
       *   .command('stop [service]', 'stop named service, or all if no name supplied');
       *
       * @param {string} nameAndArgs - command name and arguments, args are `<required>` or `[optional]` and last may also be `variadic...`
       * @param {(object | string)} [actionOptsOrExecDesc] - configuration options (for action), or description (for executable)
       * @param {object} [execOpts] - configuration options (for executable)
       * @return {Command} returns new command for action handler, or `this` for executable command
       */
      command(nameAndArgs, actionOptsOrExecDesc, execOpts) {
        let desc = actionOptsOrExecDesc;
        let opts = execOpts;
        if (typeof desc === "object" && desc !== null) {
          opts = desc;
          desc = null;
        }
        opts = opts || {};
        const [, name, args] = nameAndArgs.match(/([^ ]+) *(.*)/);
        const cmd = this.createCommand(name);
        if (desc) {
          cmd.description(desc);
          cmd._executableHandler = true;
        }
        if (opts.isDefault) this._defaultCommandName = cmd._name;
        cmd._hidden = !!(opts.noHelp || opts.hidden);
        cmd._executableFile = opts.executableFile || null;
        if (args) cmd.arguments(args);
        this._registerCommand(cmd);
        cmd.parent = this;
        cmd.copyInheritedSettings(this);
        if (desc) return this;
        return cmd;
      }
      /**
       * Factory routine to create a new unattached command.
       *
       * See .command() for creating an attached subcommand, which uses this routine to
       * create the command. You can override createCommand to customise subcommands.
       *
       * @param {string} [name]
       * @return {Command} new command
       */
      createCommand(name) {
        return new _Command(name);
      }
      /**
       * You can customise the help with a subclass of Help by overriding createHelp,
       * or by overriding Help properties using configureHelp().
       *
       * @return {Help}
       */
      createHelp() {
        return Object.assign(new Help2(), this.configureHelp());
      }
      /**
       * You can customise the help by overriding Help properties using configureHelp(),
       * or with a subclass of Help by overriding createHelp().
       *
       * @param {object} [configuration] - configuration options
       * @return {(Command | object)} `this` command for chaining, or stored configuration
       */
      configureHelp(configuration) {
        if (configuration === void 0) return this._helpConfiguration;
        this._helpConfiguration = configuration;
        return this;
      }
      /**
       * The default output goes to stdout and stderr. You can customise this for special
       * applications. You can also customise the display of errors by overriding outputError.
       *
       * The configuration properties are all functions:
       *
       *     // change how output being written, defaults to stdout and stderr
       *     writeOut(str)
       *     writeErr(str)
       *     // change how output being written for errors, defaults to writeErr
       *     outputError(str, write) // used for displaying errors and not used for displaying help
       *     // specify width for wrapping help
       *     getOutHelpWidth()
       *     getErrHelpWidth()
       *     // color support, currently only used with Help
       *     getOutHasColors()
       *     getErrHasColors()
       *     stripColor() // used to remove ANSI escape codes if output does not have colors
       *
       * @param {object} [configuration] - configuration options
       * @return {(Command | object)} `this` command for chaining, or stored configuration
       */
      configureOutput(configuration) {
        if (configuration === void 0) return this._outputConfiguration;
        this._outputConfiguration = {
          ...this._outputConfiguration,
          ...configuration
        };
        return this;
      }
      /**
       * Display the help or a custom message after an error occurs.
       *
       * @param {(boolean|string)} [displayHelp]
       * @return {Command} `this` command for chaining
       */
      showHelpAfterError(displayHelp = true) {
        if (typeof displayHelp !== "string") displayHelp = !!displayHelp;
        this._showHelpAfterError = displayHelp;
        return this;
      }
      /**
       * Display suggestion of similar commands for unknown commands, or options for unknown options.
       *
       * @param {boolean} [displaySuggestion]
       * @return {Command} `this` command for chaining
       */
      showSuggestionAfterError(displaySuggestion = true) {
        this._showSuggestionAfterError = !!displaySuggestion;
        return this;
      }
      /**
       * Add a prepared subcommand.
       *
       * See .command() for creating an attached subcommand which inherits settings from its parent.
       *
       * @param {Command} cmd - new subcommand
       * @param {object} [opts] - configuration options
       * @return {Command} `this` command for chaining
       */
      addCommand(cmd, opts) {
        if (!cmd._name) {
          throw new Error(`Command passed to .addCommand() must have a name
- specify the name in Command constructor or using .name()`);
        }
        opts = opts || {};
        if (opts.isDefault) this._defaultCommandName = cmd._name;
        if (opts.noHelp || opts.hidden) cmd._hidden = true;
        this._registerCommand(cmd);
        cmd.parent = this;
        cmd._checkForBrokenPassThrough();
        return this;
      }
      /**
       * Factory routine to create a new unattached argument.
       *
       * See .argument() for creating an attached argument, which uses this routine to
       * create the argument. You can override createArgument to return a custom argument.
       *
       * @param {string} name
       * @param {string} [description]
       * @return {Argument} new argument
       */
      createArgument(name, description) {
        return new Argument2(name, description);
      }
      /**
       * Define argument syntax for command.
       *
       * The default is that the argument is required, and you can explicitly
       * indicate this with <> around the name. Put [] around the name for an optional argument.
       *
       * @example
       * program.argument('<input-file>');
       * program.argument('[output-file]');
       *
       * @param {string} name
       * @param {string} [description]
       * @param {(Function|*)} [parseArg] - custom argument processing function or default value
       * @param {*} [defaultValue]
       * @return {Command} `this` command for chaining
       */
      argument(name, description, parseArg, defaultValue) {
        const argument = this.createArgument(name, description);
        if (typeof parseArg === "function") {
          argument.default(defaultValue).argParser(parseArg);
        } else {
          argument.default(parseArg);
        }
        this.addArgument(argument);
        return this;
      }
      /**
       * Define argument syntax for command, adding multiple at once (without descriptions).
       *
       * See also .argument().
       *
       * @example
       * program.arguments('<cmd> [env]');
       *
       * @param {string} names
       * @return {Command} `this` command for chaining
       */
      arguments(names) {
        names.trim().split(/ +/).forEach((detail) => {
          this.argument(detail);
        });
        return this;
      }
      /**
       * Define argument syntax for command, adding a prepared argument.
       *
       * @param {Argument} argument
       * @return {Command} `this` command for chaining
       */
      addArgument(argument) {
        const previousArgument = this.registeredArguments.slice(-1)[0];
        if (previousArgument?.variadic) {
          throw new Error(
            `only the last argument can be variadic '${previousArgument.name()}'`
          );
        }
        if (argument.required && argument.defaultValue !== void 0 && argument.parseArg === void 0) {
          throw new Error(
            `a default value for a required argument is never used: '${argument.name()}'`
          );
        }
        this.registeredArguments.push(argument);
        return this;
      }
      /**
       * Customise or override default help command. By default a help command is automatically added if your command has subcommands.
       *
       * @example
       *    program.helpCommand('help [cmd]');
       *    program.helpCommand('help [cmd]', 'show help');
       *    program.helpCommand(false); // suppress default help command
       *    program.helpCommand(true); // add help command even if no subcommands
       *
       * @param {string|boolean} enableOrNameAndArgs - enable with custom name and/or arguments, or boolean to override whether added
       * @param {string} [description] - custom description
       * @return {Command} `this` command for chaining
       */
      helpCommand(enableOrNameAndArgs, description) {
        if (typeof enableOrNameAndArgs === "boolean") {
          this._addImplicitHelpCommand = enableOrNameAndArgs;
          if (enableOrNameAndArgs && this._defaultCommandGroup) {
            this._initCommandGroup(this._getHelpCommand());
          }
          return this;
        }
        const nameAndArgs = enableOrNameAndArgs ?? "help [command]";
        const [, helpName, helpArgs] = nameAndArgs.match(/([^ ]+) *(.*)/);
        const helpDescription = description ?? "display help for command";
        const helpCommand = this.createCommand(helpName);
        helpCommand.helpOption(false);
        if (helpArgs) helpCommand.arguments(helpArgs);
        if (helpDescription) helpCommand.description(helpDescription);
        this._addImplicitHelpCommand = true;
        this._helpCommand = helpCommand;
        if (enableOrNameAndArgs || description) this._initCommandGroup(helpCommand);
        return this;
      }
      /**
       * Add prepared custom help command.
       *
       * @param {(Command|string|boolean)} helpCommand - custom help command, or deprecated enableOrNameAndArgs as for `.helpCommand()`
       * @param {string} [deprecatedDescription] - deprecated custom description used with custom name only
       * @return {Command} `this` command for chaining
       */
      addHelpCommand(helpCommand, deprecatedDescription) {
        if (typeof helpCommand !== "object") {
          this.helpCommand(helpCommand, deprecatedDescription);
          return this;
        }
        this._addImplicitHelpCommand = true;
        this._helpCommand = helpCommand;
        this._initCommandGroup(helpCommand);
        return this;
      }
      /**
       * Lazy create help command.
       *
       * @return {(Command|null)}
       * @package
       */
      _getHelpCommand() {
        const hasImplicitHelpCommand = this._addImplicitHelpCommand ?? (this.commands.length && !this._actionHandler && !this._findCommand("help"));
        if (hasImplicitHelpCommand) {
          if (this._helpCommand === void 0) {
            this.helpCommand(void 0, void 0);
          }
          return this._helpCommand;
        }
        return null;
      }
      /**
       * Add hook for life cycle event.
       *
       * @param {string} event
       * @param {Function} listener
       * @return {Command} `this` command for chaining
       */
      hook(event, listener) {
        const allowedValues = ["preSubcommand", "preAction", "postAction"];
        if (!allowedValues.includes(event)) {
          throw new Error(`Unexpected value for event passed to hook : '${event}'.
Expecting one of '${allowedValues.join("', '")}'`);
        }
        if (this._lifeCycleHooks[event]) {
          this._lifeCycleHooks[event].push(listener);
        } else {
          this._lifeCycleHooks[event] = [listener];
        }
        return this;
      }
      /**
       * Register callback to use as replacement for calling process.exit.
       *
       * @param {Function} [fn] optional callback which will be passed a CommanderError, defaults to throwing
       * @return {Command} `this` command for chaining
       */
      exitOverride(fn) {
        if (fn) {
          this._exitCallback = fn;
        } else {
          this._exitCallback = (err) => {
            if (err.code !== "commander.executeSubCommandAsync") {
              throw err;
            } else {
            }
          };
        }
        return this;
      }
      /**
       * Call process.exit, and _exitCallback if defined.
       *
       * @param {number} exitCode exit code for using with process.exit
       * @param {string} code an id string representing the error
       * @param {string} message human-readable description of the error
       * @return never
       * @private
       */
      _exit(exitCode, code, message) {
        if (this._exitCallback) {
          this._exitCallback(new CommanderError2(exitCode, code, message));
        }
        process2.exit(exitCode);
      }
      /**
       * Register callback `fn` for the command.
       *
       * @example
       * program
       *   .command('serve')
       *   .description('start service')
       *   .action(function() {
       *      // do work here
       *   });
       *
       * @param {Function} fn
       * @return {Command} `this` command for chaining
       */
      action(fn) {
        const listener = (args) => {
          const expectedArgsCount = this.registeredArguments.length;
          const actionArgs = args.slice(0, expectedArgsCount);
          if (this._storeOptionsAsProperties) {
            actionArgs[expectedArgsCount] = this;
          } else {
            actionArgs[expectedArgsCount] = this.opts();
          }
          actionArgs.push(this);
          return fn.apply(this, actionArgs);
        };
        this._actionHandler = listener;
        return this;
      }
      /**
       * Factory routine to create a new unattached option.
       *
       * See .option() for creating an attached option, which uses this routine to
       * create the option. You can override createOption to return a custom option.
       *
       * @param {string} flags
       * @param {string} [description]
       * @return {Option} new option
       */
      createOption(flags, description) {
        return new Option2(flags, description);
      }
      /**
       * Wrap parseArgs to catch 'commander.invalidArgument'.
       *
       * @param {(Option | Argument)} target
       * @param {string} value
       * @param {*} previous
       * @param {string} invalidArgumentMessage
       * @private
       */
      _callParseArg(target, value, previous, invalidArgumentMessage) {
        try {
          return target.parseArg(value, previous);
        } catch (err) {
          if (err.code === "commander.invalidArgument") {
            const message = `${invalidArgumentMessage} ${err.message}`;
            this.error(message, { exitCode: err.exitCode, code: err.code });
          }
          throw err;
        }
      }
      /**
       * Check for option flag conflicts.
       * Register option if no conflicts found, or throw on conflict.
       *
       * @param {Option} option
       * @private
       */
      _registerOption(option) {
        const matchingOption = option.short && this._findOption(option.short) || option.long && this._findOption(option.long);
        if (matchingOption) {
          const matchingFlag = option.long && this._findOption(option.long) ? option.long : option.short;
          throw new Error(`Cannot add option '${option.flags}'${this._name && ` to command '${this._name}'`} due to conflicting flag '${matchingFlag}'
-  already used by option '${matchingOption.flags}'`);
        }
        this._initOptionGroup(option);
        this.options.push(option);
      }
      /**
       * Check for command name and alias conflicts with existing commands.
       * Register command if no conflicts found, or throw on conflict.
       *
       * @param {Command} command
       * @private
       */
      _registerCommand(command) {
        const knownBy = (cmd) => {
          return [cmd.name()].concat(cmd.aliases());
        };
        const alreadyUsed = knownBy(command).find(
          (name) => this._findCommand(name)
        );
        if (alreadyUsed) {
          const existingCmd = knownBy(this._findCommand(alreadyUsed)).join("|");
          const newCmd = knownBy(command).join("|");
          throw new Error(
            `cannot add command '${newCmd}' as already have command '${existingCmd}'`
          );
        }
        this._initCommandGroup(command);
        this.commands.push(command);
      }
      /**
       * Add an option.
       *
       * @param {Option} option
       * @return {Command} `this` command for chaining
       */
      addOption(option) {
        this._registerOption(option);
        const oname = option.name();
        const name = option.attributeName();
        if (option.negate) {
          const positiveLongFlag = option.long.replace(/^--no-/, "--");
          if (!this._findOption(positiveLongFlag)) {
            this.setOptionValueWithSource(
              name,
              option.defaultValue === void 0 ? true : option.defaultValue,
              "default"
            );
          }
        } else if (option.defaultValue !== void 0) {
          this.setOptionValueWithSource(name, option.defaultValue, "default");
        }
        const handleOptionValue = (val, invalidValueMessage, valueSource) => {
          if (val == null && option.presetArg !== void 0) {
            val = option.presetArg;
          }
          const oldValue = this.getOptionValue(name);
          if (val !== null && option.parseArg) {
            val = this._callParseArg(option, val, oldValue, invalidValueMessage);
          } else if (val !== null && option.variadic) {
            val = option._collectValue(val, oldValue);
          }
          if (val == null) {
            if (option.negate) {
              val = false;
            } else if (option.isBoolean() || option.optional) {
              val = true;
            } else {
              val = "";
            }
          }
          this.setOptionValueWithSource(name, val, valueSource);
        };
        this.on("option:" + oname, (val) => {
          const invalidValueMessage = `error: option '${option.flags}' argument '${val}' is invalid.`;
          handleOptionValue(val, invalidValueMessage, "cli");
        });
        if (option.envVar) {
          this.on("optionEnv:" + oname, (val) => {
            const invalidValueMessage = `error: option '${option.flags}' value '${val}' from env '${option.envVar}' is invalid.`;
            handleOptionValue(val, invalidValueMessage, "env");
          });
        }
        return this;
      }
      /**
       * Internal implementation shared by .option() and .requiredOption()
       *
       * @return {Command} `this` command for chaining
       * @private
       */
      _optionEx(config, flags, description, fn, defaultValue) {
        if (typeof flags === "object" && flags instanceof Option2) {
          throw new Error(
            "To add an Option object use addOption() instead of option() or requiredOption()"
          );
        }
        const option = this.createOption(flags, description);
        option.makeOptionMandatory(!!config.mandatory);
        if (typeof fn === "function") {
          option.default(defaultValue).argParser(fn);
        } else if (fn instanceof RegExp) {
          const regex = fn;
          fn = (val, def) => {
            const m = regex.exec(val);
            return m ? m[0] : def;
          };
          option.default(defaultValue).argParser(fn);
        } else {
          option.default(fn);
        }
        return this.addOption(option);
      }
      /**
       * Define option with `flags`, `description`, and optional argument parsing function or `defaultValue` or both.
       *
       * The `flags` string contains the short and/or long flags, separated by comma, a pipe or space. A required
       * option-argument is indicated by `<>` and an optional option-argument by `[]`.
       *
       * See the README for more details, and see also addOption() and requiredOption().
       *
       * @example
       * program
       *     .option('-p, --pepper', 'add pepper')
       *     .option('--pt, --pizza-type <TYPE>', 'type of pizza') // required option-argument
       *     .option('-c, --cheese [CHEESE]', 'add extra cheese', 'mozzarella') // optional option-argument with default
       *     .option('-t, --tip <VALUE>', 'add tip to purchase cost', parseFloat) // custom parse function
       *
       * @param {string} flags
       * @param {string} [description]
       * @param {(Function|*)} [parseArg] - custom option processing function or default value
       * @param {*} [defaultValue]
       * @return {Command} `this` command for chaining
       */
      option(flags, description, parseArg, defaultValue) {
        return this._optionEx({}, flags, description, parseArg, defaultValue);
      }
      /**
       * Add a required option which must have a value after parsing. This usually means
       * the option must be specified on the command line. (Otherwise the same as .option().)
       *
       * The `flags` string contains the short and/or long flags, separated by comma, a pipe or space.
       *
       * @param {string} flags
       * @param {string} [description]
       * @param {(Function|*)} [parseArg] - custom option processing function or default value
       * @param {*} [defaultValue]
       * @return {Command} `this` command for chaining
       */
      requiredOption(flags, description, parseArg, defaultValue) {
        return this._optionEx(
          { mandatory: true },
          flags,
          description,
          parseArg,
          defaultValue
        );
      }
      /**
       * Alter parsing of short flags with optional values.
       *
       * @example
       * // for `.option('-f,--flag [value]'):
       * program.combineFlagAndOptionalValue(true);  // `-f80` is treated like `--flag=80`, this is the default behaviour
       * program.combineFlagAndOptionalValue(false) // `-fb` is treated like `-f -b`
       *
       * @param {boolean} [combine] - if `true` or omitted, an optional value can be specified directly after the flag.
       * @return {Command} `this` command for chaining
       */
      combineFlagAndOptionalValue(combine = true) {
        this._combineFlagAndOptionalValue = !!combine;
        return this;
      }
      /**
       * Allow unknown options on the command line.
       *
       * @param {boolean} [allowUnknown] - if `true` or omitted, no error will be thrown for unknown options.
       * @return {Command} `this` command for chaining
       */
      allowUnknownOption(allowUnknown = true) {
        this._allowUnknownOption = !!allowUnknown;
        return this;
      }
      /**
       * Allow excess command-arguments on the command line. Pass false to make excess arguments an error.
       *
       * @param {boolean} [allowExcess] - if `true` or omitted, no error will be thrown for excess arguments.
       * @return {Command} `this` command for chaining
       */
      allowExcessArguments(allowExcess = true) {
        this._allowExcessArguments = !!allowExcess;
        return this;
      }
      /**
       * Enable positional options. Positional means global options are specified before subcommands which lets
       * subcommands reuse the same option names, and also enables subcommands to turn on passThroughOptions.
       * The default behaviour is non-positional and global options may appear anywhere on the command line.
       *
       * @param {boolean} [positional]
       * @return {Command} `this` command for chaining
       */
      enablePositionalOptions(positional = true) {
        this._enablePositionalOptions = !!positional;
        return this;
      }
      /**
       * Pass through options that come after command-arguments rather than treat them as command-options,
       * so actual command-options come before command-arguments. Turning this on for a subcommand requires
       * positional options to have been enabled on the program (parent commands).
       * The default behaviour is non-positional and options may appear before or after command-arguments.
       *
       * @param {boolean} [passThrough] for unknown options.
       * @return {Command} `this` command for chaining
       */
      passThroughOptions(passThrough = true) {
        this._passThroughOptions = !!passThrough;
        this._checkForBrokenPassThrough();
        return this;
      }
      /**
       * @private
       */
      _checkForBrokenPassThrough() {
        if (this.parent && this._passThroughOptions && !this.parent._enablePositionalOptions) {
          throw new Error(
            `passThroughOptions cannot be used for '${this._name}' without turning on enablePositionalOptions for parent command(s)`
          );
        }
      }
      /**
       * Whether to store option values as properties on command object,
       * or store separately (specify false). In both cases the option values can be accessed using .opts().
       *
       * @param {boolean} [storeAsProperties=true]
       * @return {Command} `this` command for chaining
       */
      storeOptionsAsProperties(storeAsProperties = true) {
        if (this.options.length) {
          throw new Error("call .storeOptionsAsProperties() before adding options");
        }
        if (Object.keys(this._optionValues).length) {
          throw new Error(
            "call .storeOptionsAsProperties() before setting option values"
          );
        }
        this._storeOptionsAsProperties = !!storeAsProperties;
        return this;
      }
      /**
       * Retrieve option value.
       *
       * @param {string} key
       * @return {object} value
       */
      getOptionValue(key) {
        if (this._storeOptionsAsProperties) {
          return this[key];
        }
        return this._optionValues[key];
      }
      /**
       * Store option value.
       *
       * @param {string} key
       * @param {object} value
       * @return {Command} `this` command for chaining
       */
      setOptionValue(key, value) {
        return this.setOptionValueWithSource(key, value, void 0);
      }
      /**
       * Store option value and where the value came from.
       *
       * @param {string} key
       * @param {object} value
       * @param {string} source - expected values are default/config/env/cli/implied
       * @return {Command} `this` command for chaining
       */
      setOptionValueWithSource(key, value, source2) {
        if (this._storeOptionsAsProperties) {
          this[key] = value;
        } else {
          this._optionValues[key] = value;
        }
        this._optionValueSources[key] = source2;
        return this;
      }
      /**
       * Get source of option value.
       * Expected values are default | config | env | cli | implied
       *
       * @param {string} key
       * @return {string}
       */
      getOptionValueSource(key) {
        return this._optionValueSources[key];
      }
      /**
       * Get source of option value. See also .optsWithGlobals().
       * Expected values are default | config | env | cli | implied
       *
       * @param {string} key
       * @return {string}
       */
      getOptionValueSourceWithGlobals(key) {
        let source2;
        this._getCommandAndAncestors().forEach((cmd) => {
          if (cmd.getOptionValueSource(key) !== void 0) {
            source2 = cmd.getOptionValueSource(key);
          }
        });
        return source2;
      }
      /**
       * Get user arguments from implied or explicit arguments.
       * Side-effects: set _scriptPath if args included script. Used for default program name, and subcommand searches.
       *
       * @private
       */
      _prepareUserArgs(argv, parseOptions) {
        if (argv !== void 0 && !Array.isArray(argv)) {
          throw new Error("first parameter to parse must be array or undefined");
        }
        parseOptions = parseOptions || {};
        if (argv === void 0 && parseOptions.from === void 0) {
          if (process2.versions?.electron) {
            parseOptions.from = "electron";
          }
          const execArgv = process2.execArgv ?? [];
          if (execArgv.includes("-e") || execArgv.includes("--eval") || execArgv.includes("-p") || execArgv.includes("--print")) {
            parseOptions.from = "eval";
          }
        }
        if (argv === void 0) {
          argv = process2.argv;
        }
        this.rawArgs = argv.slice();
        let userArgs;
        switch (parseOptions.from) {
          case void 0:
          case "node":
            this._scriptPath = argv[1];
            userArgs = argv.slice(2);
            break;
          case "electron":
            if (process2.defaultApp) {
              this._scriptPath = argv[1];
              userArgs = argv.slice(2);
            } else {
              userArgs = argv.slice(1);
            }
            break;
          case "user":
            userArgs = argv.slice(0);
            break;
          case "eval":
            userArgs = argv.slice(1);
            break;
          default:
            throw new Error(
              `unexpected parse option { from: '${parseOptions.from}' }`
            );
        }
        if (!this._name && this._scriptPath)
          this.nameFromFilename(this._scriptPath);
        this._name = this._name || "program";
        return userArgs;
      }
      /**
       * Parse `argv`, setting options and invoking commands when defined.
       *
       * Use parseAsync instead of parse if any of your action handlers are async.
       *
       * Call with no parameters to parse `process.argv`. Detects Electron and special node options like `node --eval`. Easy mode!
       *
       * Or call with an array of strings to parse, and optionally where the user arguments start by specifying where the arguments are `from`:
       * - `'node'`: default, `argv[0]` is the application and `argv[1]` is the script being run, with user arguments after that
       * - `'electron'`: `argv[0]` is the application and `argv[1]` varies depending on whether the electron application is packaged
       * - `'user'`: just user arguments
       *
       * @example
       * program.parse(); // parse process.argv and auto-detect electron and special node flags
       * program.parse(process.argv); // assume argv[0] is app and argv[1] is script
       * program.parse(my-args, { from: 'user' }); // just user supplied arguments, nothing special about argv[0]
       *
       * @param {string[]} [argv] - optional, defaults to process.argv
       * @param {object} [parseOptions] - optionally specify style of options with from: node/user/electron
       * @param {string} [parseOptions.from] - where the args are from: 'node', 'user', 'electron'
       * @return {Command} `this` command for chaining
       */
      parse(argv, parseOptions) {
        this._prepareForParse();
        const userArgs = this._prepareUserArgs(argv, parseOptions);
        this._parseCommand([], userArgs);
        return this;
      }
      /**
       * Parse `argv`, setting options and invoking commands when defined.
       *
       * Call with no parameters to parse `process.argv`. Detects Electron and special node options like `node --eval`. Easy mode!
       *
       * Or call with an array of strings to parse, and optionally where the user arguments start by specifying where the arguments are `from`:
       * - `'node'`: default, `argv[0]` is the application and `argv[1]` is the script being run, with user arguments after that
       * - `'electron'`: `argv[0]` is the application and `argv[1]` varies depending on whether the electron application is packaged
       * - `'user'`: just user arguments
       *
       * @example
       * await program.parseAsync(); // parse process.argv and auto-detect electron and special node flags
       * await program.parseAsync(process.argv); // assume argv[0] is app and argv[1] is script
       * await program.parseAsync(my-args, { from: 'user' }); // just user supplied arguments, nothing special about argv[0]
       *
       * @param {string[]} [argv]
       * @param {object} [parseOptions]
       * @param {string} parseOptions.from - where the args are from: 'node', 'user', 'electron'
       * @return {Promise}
       */
      async parseAsync(argv, parseOptions) {
        this._prepareForParse();
        const userArgs = this._prepareUserArgs(argv, parseOptions);
        await this._parseCommand([], userArgs);
        return this;
      }
      _prepareForParse() {
        if (this._savedState === null) {
          this.saveStateBeforeParse();
        } else {
          this.restoreStateBeforeParse();
        }
      }
      /**
       * Called the first time parse is called to save state and allow a restore before subsequent calls to parse.
       * Not usually called directly, but available for subclasses to save their custom state.
       *
       * This is called in a lazy way. Only commands used in parsing chain will have state saved.
       */
      saveStateBeforeParse() {
        this._savedState = {
          // name is stable if supplied by author, but may be unspecified for root command and deduced during parsing
          _name: this._name,
          // option values before parse have default values (including false for negated options)
          // shallow clones
          _optionValues: { ...this._optionValues },
          _optionValueSources: { ...this._optionValueSources }
        };
      }
      /**
       * Restore state before parse for calls after the first.
       * Not usually called directly, but available for subclasses to save their custom state.
       *
       * This is called in a lazy way. Only commands used in parsing chain will have state restored.
       */
      restoreStateBeforeParse() {
        if (this._storeOptionsAsProperties)
          throw new Error(`Can not call parse again when storeOptionsAsProperties is true.
- either make a new Command for each call to parse, or stop storing options as properties`);
        this._name = this._savedState._name;
        this._scriptPath = null;
        this.rawArgs = [];
        this._optionValues = { ...this._savedState._optionValues };
        this._optionValueSources = { ...this._savedState._optionValueSources };
        this.args = [];
        this.processedArgs = [];
      }
      /**
       * Throw if expected executable is missing. Add lots of help for author.
       *
       * @param {string} executableFile
       * @param {string} executableDir
       * @param {string} subcommandName
       */
      _checkForMissingExecutable(executableFile, executableDir, subcommandName) {
        if (fs.existsSync(executableFile)) return;
        const executableDirMessage = executableDir ? `searched for local subcommand relative to directory '${executableDir}'` : "no directory for search for local subcommand, use .executableDir() to supply a custom directory";
        const executableMissing = `'${executableFile}' does not exist
 - if '${subcommandName}' is not meant to be an executable command, remove description parameter from '.command()' and use '.description()' instead
 - if the default executable name is not suitable, use the executableFile option to supply a custom name or path
 - ${executableDirMessage}`;
        throw new Error(executableMissing);
      }
      /**
       * Execute a sub-command executable.
       *
       * @private
       */
      _executeSubCommand(subcommand, args) {
        args = args.slice();
        let launchWithNode = false;
        const sourceExt = [".js", ".ts", ".tsx", ".mjs", ".cjs"];
        function findFile(baseDir, baseName) {
          const localBin = path.resolve(baseDir, baseName);
          if (fs.existsSync(localBin)) return localBin;
          if (sourceExt.includes(path.extname(baseName))) return void 0;
          const foundExt = sourceExt.find(
            (ext) => fs.existsSync(`${localBin}${ext}`)
          );
          if (foundExt) return `${localBin}${foundExt}`;
          return void 0;
        }
        this._checkForMissingMandatoryOptions();
        this._checkForConflictingOptions();
        let executableFile = subcommand._executableFile || `${this._name}-${subcommand._name}`;
        let executableDir = this._executableDir || "";
        if (this._scriptPath) {
          let resolvedScriptPath;
          try {
            resolvedScriptPath = fs.realpathSync(this._scriptPath);
          } catch {
            resolvedScriptPath = this._scriptPath;
          }
          executableDir = path.resolve(
            path.dirname(resolvedScriptPath),
            executableDir
          );
        }
        if (executableDir) {
          let localFile = findFile(executableDir, executableFile);
          if (!localFile && !subcommand._executableFile && this._scriptPath) {
            const legacyName = path.basename(
              this._scriptPath,
              path.extname(this._scriptPath)
            );
            if (legacyName !== this._name) {
              localFile = findFile(
                executableDir,
                `${legacyName}-${subcommand._name}`
              );
            }
          }
          executableFile = localFile || executableFile;
        }
        launchWithNode = sourceExt.includes(path.extname(executableFile));
        let proc;
        if (process2.platform !== "win32") {
          if (launchWithNode) {
            args.unshift(executableFile);
            args = incrementNodeInspectorPort(process2.execArgv).concat(args);
            proc = childProcess.spawn(process2.argv[0], args, { stdio: "inherit" });
          } else {
            proc = childProcess.spawn(executableFile, args, { stdio: "inherit" });
          }
        } else {
          this._checkForMissingExecutable(
            executableFile,
            executableDir,
            subcommand._name
          );
          args.unshift(executableFile);
          args = incrementNodeInspectorPort(process2.execArgv).concat(args);
          proc = childProcess.spawn(process2.execPath, args, { stdio: "inherit" });
        }
        if (!proc.killed) {
          const signals = ["SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT", "SIGHUP"];
          signals.forEach((signal) => {
            process2.on(signal, () => {
              if (proc.killed === false && proc.exitCode === null) {
                proc.kill(signal);
              }
            });
          });
        }
        const exitCallback = this._exitCallback;
        proc.on("close", (code) => {
          code = code ?? 1;
          if (!exitCallback) {
            process2.exit(code);
          } else {
            exitCallback(
              new CommanderError2(
                code,
                "commander.executeSubCommandAsync",
                "(close)"
              )
            );
          }
        });
        proc.on("error", (err) => {
          if (err.code === "ENOENT") {
            this._checkForMissingExecutable(
              executableFile,
              executableDir,
              subcommand._name
            );
          } else if (err.code === "EACCES") {
            throw new Error(`'${executableFile}' not executable`);
          }
          if (!exitCallback) {
            process2.exit(1);
          } else {
            const wrappedError = new CommanderError2(
              1,
              "commander.executeSubCommandAsync",
              "(error)"
            );
            wrappedError.nestedError = err;
            exitCallback(wrappedError);
          }
        });
        this.runningCommand = proc;
      }
      /**
       * @private
       */
      _dispatchSubcommand(commandName, operands, unknown) {
        const subCommand = this._findCommand(commandName);
        if (!subCommand) this.help({ error: true });
        subCommand._prepareForParse();
        let promiseChain;
        promiseChain = this._chainOrCallSubCommandHook(
          promiseChain,
          subCommand,
          "preSubcommand"
        );
        promiseChain = this._chainOrCall(promiseChain, () => {
          if (subCommand._executableHandler) {
            this._executeSubCommand(subCommand, operands.concat(unknown));
          } else {
            return subCommand._parseCommand(operands, unknown);
          }
        });
        return promiseChain;
      }
      /**
       * Invoke help directly if possible, or dispatch if necessary.
       * e.g. help foo
       *
       * @private
       */
      _dispatchHelpCommand(subcommandName) {
        if (!subcommandName) {
          this.help();
        }
        const subCommand = this._findCommand(subcommandName);
        if (subCommand && !subCommand._executableHandler) {
          subCommand.help();
        }
        return this._dispatchSubcommand(
          subcommandName,
          [],
          [this._getHelpOption()?.long ?? this._getHelpOption()?.short ?? "--help"]
        );
      }
      /**
       * Check this.args against expected this.registeredArguments.
       *
       * @private
       */
      _checkNumberOfArguments() {
        this.registeredArguments.forEach((arg, i) => {
          if (arg.required && this.args[i] == null) {
            this.missingArgument(arg.name());
          }
        });
        if (this.registeredArguments.length > 0 && this.registeredArguments[this.registeredArguments.length - 1].variadic) {
          return;
        }
        if (this.args.length > this.registeredArguments.length) {
          this._excessArguments(this.args);
        }
      }
      /**
       * Process this.args using this.registeredArguments and save as this.processedArgs!
       *
       * @private
       */
      _processArguments() {
        const myParseArg = (argument, value, previous) => {
          let parsedValue = value;
          if (value !== null && argument.parseArg) {
            const invalidValueMessage = `error: command-argument value '${value}' is invalid for argument '${argument.name()}'.`;
            parsedValue = this._callParseArg(
              argument,
              value,
              previous,
              invalidValueMessage
            );
          }
          return parsedValue;
        };
        this._checkNumberOfArguments();
        const processedArgs = [];
        this.registeredArguments.forEach((declaredArg, index) => {
          let value = declaredArg.defaultValue;
          if (declaredArg.variadic) {
            if (index < this.args.length) {
              value = this.args.slice(index);
              if (declaredArg.parseArg) {
                value = value.reduce((processed, v) => {
                  return myParseArg(declaredArg, v, processed);
                }, declaredArg.defaultValue);
              }
            } else if (value === void 0) {
              value = [];
            }
          } else if (index < this.args.length) {
            value = this.args[index];
            if (declaredArg.parseArg) {
              value = myParseArg(declaredArg, value, declaredArg.defaultValue);
            }
          }
          processedArgs[index] = value;
        });
        this.processedArgs = processedArgs;
      }
      /**
       * Once we have a promise we chain, but call synchronously until then.
       *
       * @param {(Promise|undefined)} promise
       * @param {Function} fn
       * @return {(Promise|undefined)}
       * @private
       */
      _chainOrCall(promise, fn) {
        if (promise?.then && typeof promise.then === "function") {
          return promise.then(() => fn());
        }
        return fn();
      }
      /**
       *
       * @param {(Promise|undefined)} promise
       * @param {string} event
       * @return {(Promise|undefined)}
       * @private
       */
      _chainOrCallHooks(promise, event) {
        let result = promise;
        const hooks = [];
        this._getCommandAndAncestors().reverse().filter((cmd) => cmd._lifeCycleHooks[event] !== void 0).forEach((hookedCommand) => {
          hookedCommand._lifeCycleHooks[event].forEach((callback) => {
            hooks.push({ hookedCommand, callback });
          });
        });
        if (event === "postAction") {
          hooks.reverse();
        }
        hooks.forEach((hookDetail) => {
          result = this._chainOrCall(result, () => {
            return hookDetail.callback(hookDetail.hookedCommand, this);
          });
        });
        return result;
      }
      /**
       *
       * @param {(Promise|undefined)} promise
       * @param {Command} subCommand
       * @param {string} event
       * @return {(Promise|undefined)}
       * @private
       */
      _chainOrCallSubCommandHook(promise, subCommand, event) {
        let result = promise;
        if (this._lifeCycleHooks[event] !== void 0) {
          this._lifeCycleHooks[event].forEach((hook) => {
            result = this._chainOrCall(result, () => {
              return hook(this, subCommand);
            });
          });
        }
        return result;
      }
      /**
       * Process arguments in context of this command.
       * Returns action result, in case it is a promise.
       *
       * @private
       */
      _parseCommand(operands, unknown) {
        const parsed = this.parseOptions(unknown);
        this._parseOptionsEnv();
        this._parseOptionsImplied();
        operands = operands.concat(parsed.operands);
        unknown = parsed.unknown;
        this.args = operands.concat(unknown);
        if (operands && this._findCommand(operands[0])) {
          return this._dispatchSubcommand(operands[0], operands.slice(1), unknown);
        }
        if (this._getHelpCommand() && operands[0] === this._getHelpCommand().name()) {
          return this._dispatchHelpCommand(operands[1]);
        }
        if (this._defaultCommandName) {
          this._outputHelpIfRequested(unknown);
          return this._dispatchSubcommand(
            this._defaultCommandName,
            operands,
            unknown
          );
        }
        if (this.commands.length && this.args.length === 0 && !this._actionHandler && !this._defaultCommandName) {
          this.help({ error: true });
        }
        this._outputHelpIfRequested(parsed.unknown);
        this._checkForMissingMandatoryOptions();
        this._checkForConflictingOptions();
        const checkForUnknownOptions = () => {
          if (parsed.unknown.length > 0) {
            this.unknownOption(parsed.unknown[0]);
          }
        };
        const commandEvent = `command:${this.name()}`;
        if (this._actionHandler) {
          checkForUnknownOptions();
          this._processArguments();
          let promiseChain;
          promiseChain = this._chainOrCallHooks(promiseChain, "preAction");
          promiseChain = this._chainOrCall(
            promiseChain,
            () => this._actionHandler(this.processedArgs)
          );
          if (this.parent) {
            promiseChain = this._chainOrCall(promiseChain, () => {
              this.parent.emit(commandEvent, operands, unknown);
            });
          }
          promiseChain = this._chainOrCallHooks(promiseChain, "postAction");
          return promiseChain;
        }
        if (this.parent?.listenerCount(commandEvent)) {
          checkForUnknownOptions();
          this._processArguments();
          this.parent.emit(commandEvent, operands, unknown);
        } else if (operands.length) {
          if (this._findCommand("*")) {
            return this._dispatchSubcommand("*", operands, unknown);
          }
          if (this.listenerCount("command:*")) {
            this.emit("command:*", operands, unknown);
          } else if (this.commands.length) {
            this.unknownCommand();
          } else {
            checkForUnknownOptions();
            this._processArguments();
          }
        } else if (this.commands.length) {
          checkForUnknownOptions();
          this.help({ error: true });
        } else {
          checkForUnknownOptions();
          this._processArguments();
        }
      }
      /**
       * Find matching command.
       *
       * @private
       * @return {Command | undefined}
       */
      _findCommand(name) {
        if (!name) return void 0;
        return this.commands.find(
          (cmd) => cmd._name === name || cmd._aliases.includes(name)
        );
      }
      /**
       * Return an option matching `arg` if any.
       *
       * @param {string} arg
       * @return {Option}
       * @package
       */
      _findOption(arg) {
        return this.options.find((option) => option.is(arg));
      }
      /**
       * Display an error message if a mandatory option does not have a value.
       * Called after checking for help flags in leaf subcommand.
       *
       * @private
       */
      _checkForMissingMandatoryOptions() {
        this._getCommandAndAncestors().forEach((cmd) => {
          cmd.options.forEach((anOption) => {
            if (anOption.mandatory && cmd.getOptionValue(anOption.attributeName()) === void 0) {
              cmd.missingMandatoryOptionValue(anOption);
            }
          });
        });
      }
      /**
       * Display an error message if conflicting options are used together in this.
       *
       * @private
       */
      _checkForConflictingLocalOptions() {
        const definedNonDefaultOptions = this.options.filter((option) => {
          const optionKey = option.attributeName();
          if (this.getOptionValue(optionKey) === void 0) {
            return false;
          }
          return this.getOptionValueSource(optionKey) !== "default";
        });
        const optionsWithConflicting = definedNonDefaultOptions.filter(
          (option) => option.conflictsWith.length > 0
        );
        optionsWithConflicting.forEach((option) => {
          const conflictingAndDefined = definedNonDefaultOptions.find(
            (defined) => option.conflictsWith.includes(defined.attributeName())
          );
          if (conflictingAndDefined) {
            this._conflictingOption(option, conflictingAndDefined);
          }
        });
      }
      /**
       * Display an error message if conflicting options are used together.
       * Called after checking for help flags in leaf subcommand.
       *
       * @private
       */
      _checkForConflictingOptions() {
        this._getCommandAndAncestors().forEach((cmd) => {
          cmd._checkForConflictingLocalOptions();
        });
      }
      /**
       * Parse options from `argv` removing known options,
       * and return argv split into operands and unknown arguments.
       *
       * Side effects: modifies command by storing options. Does not reset state if called again.
       *
       * Examples:
       *
       *     argv => operands, unknown
       *     --known kkk op => [op], []
       *     op --known kkk => [op], []
       *     sub --unknown uuu op => [sub], [--unknown uuu op]
       *     sub -- --unknown uuu op => [sub --unknown uuu op], []
       *
       * @param {string[]} args
       * @return {{operands: string[], unknown: string[]}}
       */
      parseOptions(args) {
        const operands = [];
        const unknown = [];
        let dest = operands;
        function maybeOption(arg) {
          return arg.length > 1 && arg[0] === "-";
        }
        const negativeNumberArg = (arg) => {
          if (!/^-(\d+|\d*\.\d+)(e[+-]?\d+)?$/.test(arg)) return false;
          return !this._getCommandAndAncestors().some(
            (cmd) => cmd.options.map((opt) => opt.short).some((short) => /^-\d$/.test(short))
          );
        };
        let activeVariadicOption = null;
        let activeGroup = null;
        let i = 0;
        while (i < args.length || activeGroup) {
          const arg = activeGroup ?? args[i++];
          activeGroup = null;
          if (arg === "--") {
            if (dest === unknown) dest.push(arg);
            dest.push(...args.slice(i));
            break;
          }
          if (activeVariadicOption && (!maybeOption(arg) || negativeNumberArg(arg))) {
            this.emit(`option:${activeVariadicOption.name()}`, arg);
            continue;
          }
          activeVariadicOption = null;
          if (maybeOption(arg)) {
            const option = this._findOption(arg);
            if (option) {
              if (option.required) {
                const value = args[i++];
                if (value === void 0) this.optionMissingArgument(option);
                this.emit(`option:${option.name()}`, value);
              } else if (option.optional) {
                let value = null;
                if (i < args.length && (!maybeOption(args[i]) || negativeNumberArg(args[i]))) {
                  value = args[i++];
                }
                this.emit(`option:${option.name()}`, value);
              } else {
                this.emit(`option:${option.name()}`);
              }
              activeVariadicOption = option.variadic ? option : null;
              continue;
            }
          }
          if (arg.length > 2 && arg[0] === "-" && arg[1] !== "-") {
            const option = this._findOption(`-${arg[1]}`);
            if (option) {
              if (option.required || option.optional && this._combineFlagAndOptionalValue) {
                this.emit(`option:${option.name()}`, arg.slice(2));
              } else {
                this.emit(`option:${option.name()}`);
                activeGroup = `-${arg.slice(2)}`;
              }
              continue;
            }
          }
          if (/^--[^=]+=/.test(arg)) {
            const index = arg.indexOf("=");
            const option = this._findOption(arg.slice(0, index));
            if (option && (option.required || option.optional)) {
              this.emit(`option:${option.name()}`, arg.slice(index + 1));
              continue;
            }
          }
          if (dest === operands && maybeOption(arg) && !(this.commands.length === 0 && negativeNumberArg(arg))) {
            dest = unknown;
          }
          if ((this._enablePositionalOptions || this._passThroughOptions) && operands.length === 0 && unknown.length === 0) {
            if (this._findCommand(arg)) {
              operands.push(arg);
              unknown.push(...args.slice(i));
              break;
            } else if (this._getHelpCommand() && arg === this._getHelpCommand().name()) {
              operands.push(arg, ...args.slice(i));
              break;
            } else if (this._defaultCommandName) {
              unknown.push(arg, ...args.slice(i));
              break;
            }
          }
          if (this._passThroughOptions) {
            dest.push(arg, ...args.slice(i));
            break;
          }
          dest.push(arg);
        }
        return { operands, unknown };
      }
      /**
       * Return an object containing local option values as key-value pairs.
       *
       * @return {object}
       */
      opts() {
        if (this._storeOptionsAsProperties) {
          const result = {};
          const len = this.options.length;
          for (let i = 0; i < len; i++) {
            const key = this.options[i].attributeName();
            result[key] = key === this._versionOptionName ? this._version : this[key];
          }
          return result;
        }
        return this._optionValues;
      }
      /**
       * Return an object containing merged local and global option values as key-value pairs.
       *
       * @return {object}
       */
      optsWithGlobals() {
        return this._getCommandAndAncestors().reduce(
          (combinedOptions, cmd) => Object.assign(combinedOptions, cmd.opts()),
          {}
        );
      }
      /**
       * Display error message and exit (or call exitOverride).
       *
       * @param {string} message
       * @param {object} [errorOptions]
       * @param {string} [errorOptions.code] - an id string representing the error
       * @param {number} [errorOptions.exitCode] - used with process.exit
       */
      error(message, errorOptions) {
        this._outputConfiguration.outputError(
          `${message}
`,
          this._outputConfiguration.writeErr
        );
        if (typeof this._showHelpAfterError === "string") {
          this._outputConfiguration.writeErr(`${this._showHelpAfterError}
`);
        } else if (this._showHelpAfterError) {
          this._outputConfiguration.writeErr("\n");
          this.outputHelp({ error: true });
        }
        const config = errorOptions || {};
        const exitCode = config.exitCode || 1;
        const code = config.code || "commander.error";
        this._exit(exitCode, code, message);
      }
      /**
       * Apply any option related environment variables, if option does
       * not have a value from cli or client code.
       *
       * @private
       */
      _parseOptionsEnv() {
        this.options.forEach((option) => {
          if (option.envVar && option.envVar in process2.env) {
            const optionKey = option.attributeName();
            if (this.getOptionValue(optionKey) === void 0 || ["default", "config", "env"].includes(
              this.getOptionValueSource(optionKey)
            )) {
              if (option.required || option.optional) {
                this.emit(`optionEnv:${option.name()}`, process2.env[option.envVar]);
              } else {
                this.emit(`optionEnv:${option.name()}`);
              }
            }
          }
        });
      }
      /**
       * Apply any implied option values, if option is undefined or default value.
       *
       * @private
       */
      _parseOptionsImplied() {
        const dualHelper = new DualOptions(this.options);
        const hasCustomOptionValue = (optionKey) => {
          return this.getOptionValue(optionKey) !== void 0 && !["default", "implied"].includes(this.getOptionValueSource(optionKey));
        };
        this.options.filter(
          (option) => option.implied !== void 0 && hasCustomOptionValue(option.attributeName()) && dualHelper.valueFromOption(
            this.getOptionValue(option.attributeName()),
            option
          )
        ).forEach((option) => {
          Object.keys(option.implied).filter((impliedKey) => !hasCustomOptionValue(impliedKey)).forEach((impliedKey) => {
            this.setOptionValueWithSource(
              impliedKey,
              option.implied[impliedKey],
              "implied"
            );
          });
        });
      }
      /**
       * Argument `name` is missing.
       *
       * @param {string} name
       * @private
       */
      missingArgument(name) {
        const message = `error: missing required argument '${name}'`;
        this.error(message, { code: "commander.missingArgument" });
      }
      /**
       * `Option` is missing an argument.
       *
       * @param {Option} option
       * @private
       */
      optionMissingArgument(option) {
        const message = `error: option '${option.flags}' argument missing`;
        this.error(message, { code: "commander.optionMissingArgument" });
      }
      /**
       * `Option` does not have a value, and is a mandatory option.
       *
       * @param {Option} option
       * @private
       */
      missingMandatoryOptionValue(option) {
        const message = `error: required option '${option.flags}' not specified`;
        this.error(message, { code: "commander.missingMandatoryOptionValue" });
      }
      /**
       * `Option` conflicts with another option.
       *
       * @param {Option} option
       * @param {Option} conflictingOption
       * @private
       */
      _conflictingOption(option, conflictingOption) {
        const findBestOptionFromValue = (option2) => {
          const optionKey = option2.attributeName();
          const optionValue = this.getOptionValue(optionKey);
          const negativeOption = this.options.find(
            (target) => target.negate && optionKey === target.attributeName()
          );
          const positiveOption = this.options.find(
            (target) => !target.negate && optionKey === target.attributeName()
          );
          if (negativeOption && (negativeOption.presetArg === void 0 && optionValue === false || negativeOption.presetArg !== void 0 && optionValue === negativeOption.presetArg)) {
            return negativeOption;
          }
          return positiveOption || option2;
        };
        const getErrorMessage = (option2) => {
          const bestOption = findBestOptionFromValue(option2);
          const optionKey = bestOption.attributeName();
          const source2 = this.getOptionValueSource(optionKey);
          if (source2 === "env") {
            return `environment variable '${bestOption.envVar}'`;
          }
          return `option '${bestOption.flags}'`;
        };
        const message = `error: ${getErrorMessage(option)} cannot be used with ${getErrorMessage(conflictingOption)}`;
        this.error(message, { code: "commander.conflictingOption" });
      }
      /**
       * Unknown option `flag`.
       *
       * @param {string} flag
       * @private
       */
      unknownOption(flag) {
        if (this._allowUnknownOption) return;
        let suggestion = "";
        if (flag.startsWith("--") && this._showSuggestionAfterError) {
          let candidateFlags = [];
          let command = this;
          do {
            const moreFlags = command.createHelp().visibleOptions(command).filter((option) => option.long).map((option) => option.long);
            candidateFlags = candidateFlags.concat(moreFlags);
            command = command.parent;
          } while (command && !command._enablePositionalOptions);
          suggestion = suggestSimilar(flag, candidateFlags);
        }
        const message = `error: unknown option '${flag}'${suggestion}`;
        this.error(message, { code: "commander.unknownOption" });
      }
      /**
       * Excess arguments, more than expected.
       *
       * @param {string[]} receivedArgs
       * @private
       */
      _excessArguments(receivedArgs) {
        if (this._allowExcessArguments) return;
        const expected = this.registeredArguments.length;
        const s = expected === 1 ? "" : "s";
        const forSubcommand = this.parent ? ` for '${this.name()}'` : "";
        const message = `error: too many arguments${forSubcommand}. Expected ${expected} argument${s} but got ${receivedArgs.length}.`;
        this.error(message, { code: "commander.excessArguments" });
      }
      /**
       * Unknown command.
       *
       * @private
       */
      unknownCommand() {
        const unknownName = this.args[0];
        let suggestion = "";
        if (this._showSuggestionAfterError) {
          const candidateNames = [];
          this.createHelp().visibleCommands(this).forEach((command) => {
            candidateNames.push(command.name());
            if (command.alias()) candidateNames.push(command.alias());
          });
          suggestion = suggestSimilar(unknownName, candidateNames);
        }
        const message = `error: unknown command '${unknownName}'${suggestion}`;
        this.error(message, { code: "commander.unknownCommand" });
      }
      /**
       * Get or set the program version.
       *
       * This method auto-registers the "-V, --version" option which will print the version number.
       *
       * You can optionally supply the flags and description to override the defaults.
       *
       * @param {string} [str]
       * @param {string} [flags]
       * @param {string} [description]
       * @return {(this | string | undefined)} `this` command for chaining, or version string if no arguments
       */
      version(str, flags, description) {
        if (str === void 0) return this._version;
        this._version = str;
        flags = flags || "-V, --version";
        description = description || "output the version number";
        const versionOption = this.createOption(flags, description);
        this._versionOptionName = versionOption.attributeName();
        this._registerOption(versionOption);
        this.on("option:" + versionOption.name(), () => {
          this._outputConfiguration.writeOut(`${str}
`);
          this._exit(0, "commander.version", str);
        });
        return this;
      }
      /**
       * Set the description.
       *
       * @param {string} [str]
       * @param {object} [argsDescription]
       * @return {(string|Command)}
       */
      description(str, argsDescription) {
        if (str === void 0 && argsDescription === void 0)
          return this._description;
        this._description = str;
        if (argsDescription) {
          this._argsDescription = argsDescription;
        }
        return this;
      }
      /**
       * Set the summary. Used when listed as subcommand of parent.
       *
       * @param {string} [str]
       * @return {(string|Command)}
       */
      summary(str) {
        if (str === void 0) return this._summary;
        this._summary = str;
        return this;
      }
      /**
       * Set an alias for the command.
       *
       * You may call more than once to add multiple aliases. Only the first alias is shown in the auto-generated help.
       *
       * @param {string} [alias]
       * @return {(string|Command)}
       */
      alias(alias) {
        if (alias === void 0) return this._aliases[0];
        let command = this;
        if (this.commands.length !== 0 && this.commands[this.commands.length - 1]._executableHandler) {
          command = this.commands[this.commands.length - 1];
        }
        if (alias === command._name)
          throw new Error("Command alias can't be the same as its name");
        const matchingCommand = this.parent?._findCommand(alias);
        if (matchingCommand) {
          const existingCmd = [matchingCommand.name()].concat(matchingCommand.aliases()).join("|");
          throw new Error(
            `cannot add alias '${alias}' to command '${this.name()}' as already have command '${existingCmd}'`
          );
        }
        command._aliases.push(alias);
        return this;
      }
      /**
       * Set aliases for the command.
       *
       * Only the first alias is shown in the auto-generated help.
       *
       * @param {string[]} [aliases]
       * @return {(string[]|Command)}
       */
      aliases(aliases) {
        if (aliases === void 0) return this._aliases;
        aliases.forEach((alias) => this.alias(alias));
        return this;
      }
      /**
       * Set / get the command usage `str`.
       *
       * @param {string} [str]
       * @return {(string|Command)}
       */
      usage(str) {
        if (str === void 0) {
          if (this._usage) return this._usage;
          const args = this.registeredArguments.map((arg) => {
            return humanReadableArgName(arg);
          });
          return [].concat(
            this.options.length || this._helpOption !== null ? "[options]" : [],
            this.commands.length ? "[command]" : [],
            this.registeredArguments.length ? args : []
          ).join(" ");
        }
        this._usage = str;
        return this;
      }
      /**
       * Get or set the name of the command.
       *
       * @param {string} [str]
       * @return {(string|Command)}
       */
      name(str) {
        if (str === void 0) return this._name;
        this._name = str;
        return this;
      }
      /**
       * Set/get the help group heading for this subcommand in parent command's help.
       *
       * @param {string} [heading]
       * @return {Command | string}
       */
      helpGroup(heading) {
        if (heading === void 0) return this._helpGroupHeading ?? "";
        this._helpGroupHeading = heading;
        return this;
      }
      /**
       * Set/get the default help group heading for subcommands added to this command.
       * (This does not override a group set directly on the subcommand using .helpGroup().)
       *
       * @example
       * program.commandsGroup('Development Commands:);
       * program.command('watch')...
       * program.command('lint')...
       * ...
       *
       * @param {string} [heading]
       * @returns {Command | string}
       */
      commandsGroup(heading) {
        if (heading === void 0) return this._defaultCommandGroup ?? "";
        this._defaultCommandGroup = heading;
        return this;
      }
      /**
       * Set/get the default help group heading for options added to this command.
       * (This does not override a group set directly on the option using .helpGroup().)
       *
       * @example
       * program
       *   .optionsGroup('Development Options:')
       *   .option('-d, --debug', 'output extra debugging')
       *   .option('-p, --profile', 'output profiling information')
       *
       * @param {string} [heading]
       * @returns {Command | string}
       */
      optionsGroup(heading) {
        if (heading === void 0) return this._defaultOptionGroup ?? "";
        this._defaultOptionGroup = heading;
        return this;
      }
      /**
       * @param {Option} option
       * @private
       */
      _initOptionGroup(option) {
        if (this._defaultOptionGroup && !option.helpGroupHeading)
          option.helpGroup(this._defaultOptionGroup);
      }
      /**
       * @param {Command} cmd
       * @private
       */
      _initCommandGroup(cmd) {
        if (this._defaultCommandGroup && !cmd.helpGroup())
          cmd.helpGroup(this._defaultCommandGroup);
      }
      /**
       * Set the name of the command from script filename, such as process.argv[1],
       * or require.main.filename, or __filename.
       *
       * (Used internally and public although not documented in README.)
       *
       * @example
       * program.nameFromFilename(require.main.filename);
       *
       * @param {string} filename
       * @return {Command}
       */
      nameFromFilename(filename) {
        this._name = path.basename(filename, path.extname(filename));
        return this;
      }
      /**
       * Get or set the directory for searching for executable subcommands of this command.
       *
       * @example
       * program.executableDir(__dirname);
       * // or
       * program.executableDir('subcommands');
       *
       * @param {string} [path]
       * @return {(string|null|Command)}
       */
      executableDir(path2) {
        if (path2 === void 0) return this._executableDir;
        this._executableDir = path2;
        return this;
      }
      /**
       * Return program help documentation.
       *
       * @param {{ error: boolean }} [contextOptions] - pass {error:true} to wrap for stderr instead of stdout
       * @return {string}
       */
      helpInformation(contextOptions) {
        const helper = this.createHelp();
        const context = this._getOutputContext(contextOptions);
        helper.prepareContext({
          error: context.error,
          helpWidth: context.helpWidth,
          outputHasColors: context.hasColors
        });
        const text = helper.formatHelp(this, helper);
        if (context.hasColors) return text;
        return this._outputConfiguration.stripColor(text);
      }
      /**
       * @typedef HelpContext
       * @type {object}
       * @property {boolean} error
       * @property {number} helpWidth
       * @property {boolean} hasColors
       * @property {function} write - includes stripColor if needed
       *
       * @returns {HelpContext}
       * @private
       */
      _getOutputContext(contextOptions) {
        contextOptions = contextOptions || {};
        const error = !!contextOptions.error;
        let baseWrite;
        let hasColors;
        let helpWidth;
        if (error) {
          baseWrite = (str) => this._outputConfiguration.writeErr(str);
          hasColors = this._outputConfiguration.getErrHasColors();
          helpWidth = this._outputConfiguration.getErrHelpWidth();
        } else {
          baseWrite = (str) => this._outputConfiguration.writeOut(str);
          hasColors = this._outputConfiguration.getOutHasColors();
          helpWidth = this._outputConfiguration.getOutHelpWidth();
        }
        const write = (str) => {
          if (!hasColors) str = this._outputConfiguration.stripColor(str);
          return baseWrite(str);
        };
        return { error, write, hasColors, helpWidth };
      }
      /**
       * Output help information for this command.
       *
       * Outputs built-in help, and custom text added using `.addHelpText()`.
       *
       * @param {{ error: boolean } | Function} [contextOptions] - pass {error:true} to write to stderr instead of stdout
       */
      outputHelp(contextOptions) {
        let deprecatedCallback;
        if (typeof contextOptions === "function") {
          deprecatedCallback = contextOptions;
          contextOptions = void 0;
        }
        const outputContext = this._getOutputContext(contextOptions);
        const eventContext = {
          error: outputContext.error,
          write: outputContext.write,
          command: this
        };
        this._getCommandAndAncestors().reverse().forEach((command) => command.emit("beforeAllHelp", eventContext));
        this.emit("beforeHelp", eventContext);
        let helpInformation = this.helpInformation({ error: outputContext.error });
        if (deprecatedCallback) {
          helpInformation = deprecatedCallback(helpInformation);
          if (typeof helpInformation !== "string" && !Buffer.isBuffer(helpInformation)) {
            throw new Error("outputHelp callback must return a string or a Buffer");
          }
        }
        outputContext.write(helpInformation);
        if (this._getHelpOption()?.long) {
          this.emit(this._getHelpOption().long);
        }
        this.emit("afterHelp", eventContext);
        this._getCommandAndAncestors().forEach(
          (command) => command.emit("afterAllHelp", eventContext)
        );
      }
      /**
       * You can pass in flags and a description to customise the built-in help option.
       * Pass in false to disable the built-in help option.
       *
       * @example
       * program.helpOption('-?, --help' 'show help'); // customise
       * program.helpOption(false); // disable
       *
       * @param {(string | boolean)} flags
       * @param {string} [description]
       * @return {Command} `this` command for chaining
       */
      helpOption(flags, description) {
        if (typeof flags === "boolean") {
          if (flags) {
            if (this._helpOption === null) this._helpOption = void 0;
            if (this._defaultOptionGroup) {
              this._initOptionGroup(this._getHelpOption());
            }
          } else {
            this._helpOption = null;
          }
          return this;
        }
        this._helpOption = this.createOption(
          flags ?? "-h, --help",
          description ?? "display help for command"
        );
        if (flags || description) this._initOptionGroup(this._helpOption);
        return this;
      }
      /**
       * Lazy create help option.
       * Returns null if has been disabled with .helpOption(false).
       *
       * @returns {(Option | null)} the help option
       * @package
       */
      _getHelpOption() {
        if (this._helpOption === void 0) {
          this.helpOption(void 0, void 0);
        }
        return this._helpOption;
      }
      /**
       * Supply your own option to use for the built-in help option.
       * This is an alternative to using helpOption() to customise the flags and description etc.
       *
       * @param {Option} option
       * @return {Command} `this` command for chaining
       */
      addHelpOption(option) {
        this._helpOption = option;
        this._initOptionGroup(option);
        return this;
      }
      /**
       * Output help information and exit.
       *
       * Outputs built-in help, and custom text added using `.addHelpText()`.
       *
       * @param {{ error: boolean }} [contextOptions] - pass {error:true} to write to stderr instead of stdout
       */
      help(contextOptions) {
        this.outputHelp(contextOptions);
        let exitCode = Number(process2.exitCode ?? 0);
        if (exitCode === 0 && contextOptions && typeof contextOptions !== "function" && contextOptions.error) {
          exitCode = 1;
        }
        this._exit(exitCode, "commander.help", "(outputHelp)");
      }
      /**
       * // Do a little typing to coordinate emit and listener for the help text events.
       * @typedef HelpTextEventContext
       * @type {object}
       * @property {boolean} error
       * @property {Command} command
       * @property {function} write
       */
      /**
       * Add additional text to be displayed with the built-in help.
       *
       * Position is 'before' or 'after' to affect just this command,
       * and 'beforeAll' or 'afterAll' to affect this command and all its subcommands.
       *
       * @param {string} position - before or after built-in help
       * @param {(string | Function)} text - string to add, or a function returning a string
       * @return {Command} `this` command for chaining
       */
      addHelpText(position, text) {
        const allowedValues = ["beforeAll", "before", "after", "afterAll"];
        if (!allowedValues.includes(position)) {
          throw new Error(`Unexpected value for position to addHelpText.
Expecting one of '${allowedValues.join("', '")}'`);
        }
        const helpEvent = `${position}Help`;
        this.on(helpEvent, (context) => {
          let helpStr;
          if (typeof text === "function") {
            helpStr = text({ error: context.error, command: context.command });
          } else {
            helpStr = text;
          }
          if (helpStr) {
            context.write(`${helpStr}
`);
          }
        });
        return this;
      }
      /**
       * Output help information if help flags specified
       *
       * @param {Array} args - array of options to search for help flags
       * @private
       */
      _outputHelpIfRequested(args) {
        const helpOption = this._getHelpOption();
        const helpRequested = helpOption && args.find((arg) => helpOption.is(arg));
        if (helpRequested) {
          this.outputHelp();
          this._exit(0, "commander.helpDisplayed", "(outputHelp)");
        }
      }
    };
    function incrementNodeInspectorPort(args) {
      return args.map((arg) => {
        if (!arg.startsWith("--inspect")) {
          return arg;
        }
        let debugOption;
        let debugHost = "127.0.0.1";
        let debugPort = "9229";
        let match;
        if ((match = arg.match(/^(--inspect(-brk)?)$/)) !== null) {
          debugOption = match[1];
        } else if ((match = arg.match(/^(--inspect(-brk|-port)?)=([^:]+)$/)) !== null) {
          debugOption = match[1];
          if (/^\d+$/.test(match[3])) {
            debugPort = match[3];
          } else {
            debugHost = match[3];
          }
        } else if ((match = arg.match(/^(--inspect(-brk|-port)?)=([^:]+):(\d+)$/)) !== null) {
          debugOption = match[1];
          debugHost = match[3];
          debugPort = match[4];
        }
        if (debugOption && debugPort !== "0") {
          return `${debugOption}=${debugHost}:${parseInt(debugPort) + 1}`;
        }
        return arg;
      });
    }
    function useColor() {
      if (process2.env.NO_COLOR || process2.env.FORCE_COLOR === "0" || process2.env.FORCE_COLOR === "false")
        return false;
      if (process2.env.FORCE_COLOR || process2.env.CLICOLOR_FORCE !== void 0)
        return true;
      return void 0;
    }
    exports.Command = Command2;
    exports.useColor = useColor;
  }
});

// ../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/index.js
var require_commander = __commonJS({
  "../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/index.js"(exports) {
    "use strict";
    var { Argument: Argument2 } = require_argument();
    var { Command: Command2 } = require_command();
    var { CommanderError: CommanderError2, InvalidArgumentError: InvalidArgumentError2 } = require_error();
    var { Help: Help2 } = require_help();
    var { Option: Option2 } = require_option();
    exports.program = new Command2();
    exports.createCommand = (name) => new Command2(name);
    exports.createOption = (flags, description) => new Option2(flags, description);
    exports.createArgument = (name, description) => new Argument2(name, description);
    exports.Command = Command2;
    exports.Option = Option2;
    exports.Argument = Argument2;
    exports.Help = Help2;
    exports.CommanderError = CommanderError2;
    exports.InvalidArgumentError = InvalidArgumentError2;
    exports.InvalidOptionArgumentError = InvalidArgumentError2;
  }
});

// ../../node_modules/.pnpm/@databases+pg-connection-string@2.0.0/node_modules/@databases/pg-connection-string/lib/EnvironmentVariables.js
var require_EnvironmentVariables = __commonJS({
  "../../node_modules/.pnpm/@databases+pg-connection-string@2.0.0/node_modules/@databases/pg-connection-string/lib/EnvironmentVariables.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    var EnvironmentVariables = /* @__PURE__ */ new Map([
      ["PGHOST", "host"],
      ["PGHOSTADDR", "hostaddr"],
      ["PGPORT", "port"],
      ["PGDATABASE", "dbname"],
      ["PGUSER", "user"],
      ["PGPASSWORD", "password"],
      ["PGPASSFILE", "passfile"],
      ["PGCHANNELBINDING", "channel_binding"],
      ["PGSERVICE", "service"],
      // PGSERVICEFILE specifies the name of the per-user connection service file. If not set, it defaults to ~/.pg_service.conf (see Section 33.16).
      ["PGOPTIONS", "options"],
      ["PGAPPNAME", "application_name"],
      // This environment variable is deprecated in favor of the PGSSLMODE variable; setting both variables suppresses the effect of this one.
      // ['PGREQUIRESSL', 'requiressl'],
      ["PGSSLMODE", "sslmode"],
      ["PGSSLCOMPRESSION", "sslcompression"],
      ["PGSSLCERT", "sslcert"],
      ["PGSSLKEY", "sslkey"],
      ["PGSSLROOTCERT", "sslrootcert"],
      ["PGSSLCRL", "sslcrl"],
      ["PGREQUIREPEER", "requirepeer"],
      ["PGSSLMINPROTOCOLVERSION", "ssl_min_protocol_version"],
      ["PGSSLMAXPROTOCOLVERSION", "ssl_min_protocol_version"],
      ["PGGSSENCMODE", "gssencmode"],
      ["PGKRBSRVNAME", "krbsrvname"],
      ["PGGSSLIB", "gsslib"],
      ["PGCONNECT_TIMEOUT", "connect_timeout"],
      ["PGCLIENTENCODING", "client_encoding"],
      ["PGTARGETSESSIONATTRS", "target_session_attrs"]
    ]);
    exports.default = EnvironmentVariables;
  }
});

// ../../node_modules/.pnpm/@databases+pg-connection-string@2.0.0/node_modules/@databases/pg-connection-string/lib/Configuration.js
var require_Configuration = __commonJS({
  "../../node_modules/.pnpm/@databases+pg-connection-string@2.0.0/node_modules/@databases/pg-connection-string/lib/Configuration.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.ConfigurationBuilder = void 0;
    var EnvironmentVariables_1 = require_EnvironmentVariables();
    var ConfigurationBuilder = class {
      constructor(options) {
        this._config = {
          host: [],
          hostaddr: [],
          port: []
        };
        this._options = { ...options, envVarName: null };
      }
      getConfig() {
        for (const [envVarName, configParamName] of EnvironmentVariables_1.default) {
          const currentValue = this._config[configParamName];
          if (!currentValue || Array.isArray(currentValue) && currentValue.length === 0) {
            const envVarValue = this._options.env[envVarName];
            if (envVarValue) {
              try {
                this._options.envVarName = envVarName;
                this.set(configParamName, envVarValue);
              } finally {
                this._options.envVarName = null;
              }
            }
          }
        }
        if (!this._config.sslmode) {
          const envVarValue = this._options.env.PGREQUIRESSL;
          if (envVarValue) {
            try {
              this._options.envVarName = "PGREQUIRESSL";
              this.set("requiressl", envVarValue);
            } finally {
              this._options.envVarName = null;
            }
          }
        }
        return {
          ...this._config
        };
      }
      set(paramName, paramValue) {
        switch (paramName) {
          // Non standard parameters
          case "ssl":
            if (!this._config.sslmode) {
              parseEnum(this._options, [
                [["true", "1"], "require"],
                ["0", "disable"]
              ])((sslmode) => this._config.sslmode = sslmode, "ssl", paramValue);
            }
            break;
          // standard parameters
          case "host":
            for (const val of paramValue.split(",")) {
              this._config.host.push(val);
            }
            break;
          case "hostaddr":
            for (const val of paramValue.split(",")) {
              this._config.hostaddr.push(val);
            }
            break;
          case "port":
            for (const val of paramValue.split(",")) {
              parseInteger(this._options, (port) => this._config.port.push(port), "port", val);
            }
            break;
          case "dbname":
            this._config.dbname = paramValue;
            break;
          case "user":
            this._config.user = paramValue;
            break;
          case "password":
            this._config.password = paramValue;
            break;
          case "passfile":
            this._config.passfile = paramValue;
            break;
          case "connect_timeout":
            parseInteger(this._options, this._config, "connect_timeout", paramValue, "seconds");
            if (this._config.connect_timeout && this._config.connect_timeout < 2) {
              this._config.connect_timeout = 2;
            }
            break;
          case "client_encoding":
            this._config.client_encoding = paramValue;
            break;
          case "options":
            this._config.options = paramValue;
            break;
          case "application_name":
            this._config.application_name = paramValue;
            break;
          case "fallback_application_name":
            this._config.fallback_application_name = paramValue;
            break;
          case "keepalives":
            parseEnum(this._options, [
              ["1", true],
              ["0", false]
            ])(this._config, "keepalives", paramValue);
            break;
          case "keepalives_idle":
            parseInteger(this._options, this._config, "keepalives_idle", paramValue, "seconds");
            break;
          case "keepalives_interval":
            parseInteger(this._options, this._config, "keepalives_interval", paramValue, "seconds");
            break;
          case "keepalives_count":
            parseInteger(this._options, this._config, "keepalives_count", paramValue);
            break;
          case "tcp_user_timeout":
            parseInteger(this._options, this._config, "tcp_user_timeout", paramValue, "milliseconds");
            break;
          case "tty":
            break;
          case "replication":
            parseEnum(this._options, [
              [["true", "on", "yes", "1"], true],
              [["false", "off", "no", "0"], false],
              ["database", "database"]
            ])(this._config, "replication", paramValue);
            break;
          case "gssencmode":
            parseEnum(this._options, [
              ["disable", "disable"],
              ["prefer", "prefer"],
              ["require", "require"]
            ])(this._config, "gssencmode", paramValue);
            break;
          case "sslmode":
            parseEnum(this._options, [
              ["disable", "disable"],
              ["allow", "allow"],
              ["prefer", "prefer"],
              ["require", "require"],
              ["verify-ca", "verify-ca"],
              ["verify-full", "verify-full"],
              ["no-verify", "no-verify"]
            ])(this._config, "sslmode", paramValue);
            break;
          case "requiressl":
            if (!this._config.sslmode) {
              parseEnum(this._options, [
                ["1", "require"],
                ["0", "prefer"]
              ])((sslmode) => this._config.sslmode = sslmode, "requiressl", paramValue);
            }
            break;
          case "sslcompression":
            parseEnum(this._options, [
              ["1", true],
              ["0", false]
            ])(this._config, "sslcompression", paramValue);
            break;
          case "sslcert":
            this._config.sslcert = paramValue;
            break;
          case "sslkey":
            this._config.sslkey = paramValue;
            break;
          case "sslpassword":
            this._config.sslpassword = paramValue;
            break;
          case "sslrootcert":
            this._config.sslrootcert = paramValue;
            break;
          case "sslcrl":
            this._config.sslcrl = paramValue;
            break;
          case "requirepeer":
            this._config.requirepeer = paramValue;
            break;
          case "ssl_min_protocol_version":
            parseEnum(this._options, [
              ["TLSv1", "TLSv1"],
              ["TLSv1.1", "TLSv1.1"],
              ["TLSv1.2", "TLSv1.2"],
              ["TLSv1.3", "TLSv1.3"]
            ])(this._config, "ssl_min_protocol_version", paramValue);
            break;
          case "ssl_max_protocol_version":
            parseEnum(this._options, [
              ["TLSv1", "TLSv1"],
              ["TLSv1.1", "TLSv1.1"],
              ["TLSv1.2", "TLSv1.2"],
              ["TLSv1.3", "TLSv1.3"]
            ])(this._config, "ssl_max_protocol_version", paramValue);
            break;
          case "krbsrvname":
            this._config.krbsrvname = paramValue;
            break;
          case "gsslib":
            this._config.gsslib = paramValue;
            break;
          case "service":
            this._config.service = paramValue;
            break;
          case "target_session_attrs":
            parseEnum(this._options, [
              ["read-write", "read-write"],
              ["any", "any"]
            ])(this._config, "target_session_attrs", paramValue);
            break;
          default:
            if (this._options.envVarName) {
              throw new Error(`The environment variable "${this._options.envVarName}" was mapped to an unrecognized parameter name, "${paramName}".  This is probably a bug in @databases/pg-connection-string, not a mistake in your config. Please open an issue at https://github.com/ForbesLindesay/atdatabases/issues to report this.`);
            } else if (this._options.unrecognisedOptionMode === "error") {
              throw new Error(`Unrecognised option in connection string: ${paramName}`);
            } else if (this._options.unrecognisedOptionMode === "warn") {
              console.warn(`Warning: Ignoring unrecognised option in connection string: ${paramName}`);
            } else if (typeof this._options.unrecognisedOptionMode === "function") {
              this._options.unrecognisedOptionMode(paramName, paramValue);
            }
            break;
        }
      }
    };
    exports.ConfigurationBuilder = ConfigurationBuilder;
    function parseInteger(options, obj, paramName, value, unit) {
      var _a, _b;
      if (!/^\d+$/.test(value)) {
        if (options.invalidOptionMode === "error") {
          throw new Error(`Expected "${(_a = options.envVarName) !== null && _a !== void 0 ? _a : paramName}" to be an integer${unit ? ` in ${unit}` : ``}`);
        } else if (options.invalidOptionMode === "warn") {
          console.warn(`Warning: Expected "${(_b = options.envVarName) !== null && _b !== void 0 ? _b : paramName}" to be an integer${unit ? ` in ${unit}` : ``} - ignoring invalid value!!`);
        }
        return;
      }
      const val = parseInt(value, 10);
      if (typeof obj === "function") {
        obj(val);
      } else {
        if (val > 0) {
          obj[paramName] = val;
        } else if (paramName in obj) {
          delete obj[paramName];
        }
      }
    }
    function parseEnum(options, mapping) {
      return (obj, paramName, value) => {
        var _a, _b;
        for (const [keys, outputValue] of mapping) {
          if (typeof keys === "string" ? value === keys : keys.includes(value)) {
            if (typeof obj === "function") {
              obj(outputValue);
            } else {
              obj[paramName] = outputValue;
            }
            return;
          }
        }
        if (options.invalidOptionMode === "error") {
          throw new Error(`Expected "${(_a = options.envVarName) !== null && _a !== void 0 ? _a : paramName}" to be one of ${mapping.map((value2) => typeof value2 === "string" ? `"${value2}"` : value2.map((v) => `"${v}"`).join(", ")).join(", ")}`);
        } else if (options.invalidOptionMode === "warn") {
          console.warn(`Warning: Expected "${(_b = options.envVarName) !== null && _b !== void 0 ? _b : paramName}" to be one of ${mapping.map((value2) => typeof value2 === "string" ? `"${value2}"` : value2.map((v) => `"${v}"`).join(", ")).join(", ")} - ignoring invalid value!!`);
        }
      };
    }
  }
});

// ../../node_modules/.pnpm/@databases+pg-connection-string@2.0.0/node_modules/@databases/pg-connection-string/lib/parseConnectionURI.js
var require_parseConnectionURI = __commonJS({
  "../../node_modules/.pnpm/@databases+pg-connection-string@2.0.0/node_modules/@databases/pg-connection-string/lib/parseConnectionURI.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.isConnectionURI = void 0;
    var Configuration_1 = require_Configuration();
    function isConnectionURI2(str) {
      return str.startsWith("postgresql://") || str.startsWith("postgres://");
    }
    exports.isConnectionURI = isConnectionURI2;
    var symbolsWithSpecialMeaning = /* @__PURE__ */ new Set([":", "/", "@", ",", "?", "=", "&"]);
    function parseConnectionURI(originalString, options) {
      const config = new Configuration_1.ConfigurationBuilder(options);
      let str = originalString.startsWith("postgresql://") ? originalString.substr("postgresql://".length) : originalString.startsWith("postgres://") ? originalString.substr("postgres://".length) : fail(`Expected the connection string to start with "postgresql://" or "postgres://"`);
      str = parseAuth(config, str);
      let afterParsingHost = parsePort(config, parseHost(config, str));
      while (str !== afterParsingHost) {
        str = afterParsingHost;
        if (str[0] === ",") {
          str = str.substr(1);
          afterParsingHost = parsePort(config, parseHost(config, str));
        }
      }
      str = parseDbName(config, str);
      str = parseQueryString(config, str);
      if (str) {
        throw new Error(`Unexpected character in connection string "${str[0]}"`);
      }
      return config.getConfig();
    }
    exports.default = parseConnectionURI;
    function parseAuth(config, str) {
      if (!str)
        return str;
      let user = "";
      let pass = "";
      let inPassword = false;
      for (const char of str) {
        if (char === "@") {
          config.set("user", decodeURIComponent(user));
          if (inPassword)
            config.set("password", decodeURIComponent(pass));
          return str.substr(`${user}${inPassword ? `:${pass}` : ""}@`.length);
        }
        if (!inPassword && char === ":") {
          inPassword = true;
        } else if (symbolsWithSpecialMeaning.has(char)) {
          return str;
        } else if (inPassword) {
          pass += char;
        } else {
          user += char;
        }
      }
      return str;
    }
    function parseHost(config, str) {
      if (!str)
        return str;
      let netloc = "";
      for (const char of str) {
        if (symbolsWithSpecialMeaning.has(char)) {
          break;
        } else {
          netloc += char;
        }
      }
      if (netloc) {
        config.set("host", decodeURIComponent(netloc));
      }
      return str.substr(netloc.length);
    }
    function parsePort(config, str) {
      if (!str)
        return str;
      let start = true;
      let port = "";
      for (const char of str) {
        if (start) {
          start = false;
          if (char !== ":") {
            return str;
          }
        } else if (symbolsWithSpecialMeaning.has(char)) {
          break;
        } else {
          port += char;
        }
      }
      config.set("port", decodeURIComponent(port));
      return str.substr(port.length + 1);
    }
    function parseDbName(config, str) {
      if (!str)
        return str;
      let start = true;
      let dbname = "";
      for (const char of str) {
        if (start) {
          start = false;
          if (char !== "/") {
            return str;
          }
        } else if (symbolsWithSpecialMeaning.has(char)) {
          break;
        } else {
          dbname += char;
        }
      }
      config.set("dbname", decodeURIComponent(dbname));
      return str.substr(dbname.length + 1);
    }
    function parseQueryString(config, str) {
      if (!str)
        return str;
      let start = true;
      let inValue = false;
      let key = "";
      let value = "";
      for (const char of str) {
        if (start) {
          start = false;
          if (char !== "?") {
            return str;
          }
        } else if (inValue && char === "&") {
          inValue = false;
          config.set(decodeURIComponent(key), decodeURIComponent(value));
          key = "";
          value = "";
        } else if (!inValue && char === "=") {
          inValue = true;
        } else if (symbolsWithSpecialMeaning.has(char)) {
          throw new Error(`Unexpected character "${char}". All special chracters should be % encoded via encodeURIComponent`);
        } else {
          if (inValue) {
            value += char;
          } else {
            key += char;
          }
        }
      }
      if (inValue) {
        config.set(decodeURIComponent(key), decodeURIComponent(value));
      } else if (key) {
        throw new Error(`Missing value for the key: "${key}"`);
      }
      return "";
    }
    function fail(reason) {
      throw new Error(reason);
    }
  }
});

// ../../node_modules/.pnpm/@databases+pg-connection-string@2.0.0/node_modules/@databases/pg-connection-string/lib/parseKeywordValueConnectionString.js
var require_parseKeywordValueConnectionString = __commonJS({
  "../../node_modules/.pnpm/@databases+pg-connection-string@2.0.0/node_modules/@databases/pg-connection-string/lib/parseKeywordValueConnectionString.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.isKeywordValueConnectionString = void 0;
    var Configuration_1 = require_Configuration();
    function isKeywordValueConnectionString2(str) {
      return /^\s*[a-z_]+\s*\=/.test(str);
    }
    exports.isKeywordValueConnectionString = isKeywordValueConnectionString2;
    function parseKeywordValueConnectionString(str, options) {
      const config = new Configuration_1.ConfigurationBuilder(options);
      let isKey = true;
      let key = "";
      let value = "";
      let quoted = false;
      let escaped = false;
      for (const char of str) {
        if (isKey) {
          if (char === "=") {
            isKey = false;
          } else {
            key += char;
          }
        } else {
          if (escaped) {
            escaped = false;
            value += char;
          } else if (quoted) {
            if (char === `'`) {
              quoted = false;
              config.set(key.trim(), value);
              isKey = true;
              key = "";
              value = "";
            } else if (char === "\\") {
              escaped = true;
            } else {
              value += char;
            }
          } else if (char === " ") {
            if (value) {
              config.set(key.trim(), value);
              isKey = true;
              key = "";
              value = "";
            }
          } else if (char === `'`) {
            quoted = true;
          } else {
            value += char;
          }
        }
      }
      if (key.trim() && isKey) {
        throw new Error(`Missing value for ${key}`);
      }
      if (key.trim() || value) {
        config.set(key.trim(), value);
      }
      return config.getConfig();
    }
    exports.default = parseKeywordValueConnectionString;
  }
});

// ../../node_modules/.pnpm/@databases+pg-connection-string@2.0.0/node_modules/@databases/pg-connection-string/lib/index.js
var require_lib = __commonJS({
  "../../node_modules/.pnpm/@databases+pg-connection-string@2.0.0/node_modules/@databases/pg-connection-string/lib/index.js"(exports, module) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.isKeywordValueConnectionString = exports.parseKeywordValueConnectionString = exports.isConnectionURI = exports.parseConnectionURI = void 0;
    var Configuration_1 = require_Configuration();
    var parseConnectionURI_1 = require_parseConnectionURI();
    exports.parseConnectionURI = parseConnectionURI_1.default;
    Object.defineProperty(exports, "isConnectionURI", { enumerable: true, get: function() {
      return parseConnectionURI_1.isConnectionURI;
    } });
    var parseKeywordValueConnectionString_1 = require_parseKeywordValueConnectionString();
    exports.parseKeywordValueConnectionString = parseKeywordValueConnectionString_1.default;
    Object.defineProperty(exports, "isKeywordValueConnectionString", { enumerable: true, get: function() {
      return parseKeywordValueConnectionString_1.isKeywordValueConnectionString;
    } });
    function parseConnectionString2(str, { invalidOptionMode = "error", unrecognisedOptionMode = "warn", env = process.env } = {}) {
      if (str === void 0) {
        return new Configuration_1.ConfigurationBuilder({
          invalidOptionMode,
          unrecognisedOptionMode,
          env
        }).getConfig();
      }
      if ((0, parseConnectionURI_1.isConnectionURI)(str)) {
        return (0, parseConnectionURI_1.default)(str, {
          invalidOptionMode,
          unrecognisedOptionMode,
          env
        });
      }
      if ((0, parseKeywordValueConnectionString_1.isKeywordValueConnectionString)(str)) {
        return (0, parseKeywordValueConnectionString_1.default)(str, {
          invalidOptionMode,
          unrecognisedOptionMode,
          env
        });
      }
      throw new Error(`Expected either a Connection URI, starting with "postgresql://" or "postgres://" or a Keyword/Value Connection String. See https://www.postgresql.org/docs/13/libpq-connect.html for examples.`);
    }
    exports.default = parseConnectionString2;
    module.exports = Object.assign(parseConnectionString2, {
      default: parseConnectionString2,
      parseConnectionURI: parseConnectionURI_1.default,
      isConnectionURI: parseConnectionURI_1.isConnectionURI,
      parseKeywordValueConnectionString: parseKeywordValueConnectionString_1.default,
      isKeywordValueConnectionString: parseKeywordValueConnectionString_1.isKeywordValueConnectionString
    });
  }
});

// ../../node_modules/.pnpm/commander@14.0.3/node_modules/commander/esm.mjs
var import_index = __toESM(require_commander(), 1);
var {
  program,
  createCommand,
  createArgument,
  createOption,
  CommanderError,
  InvalidArgumentError,
  InvalidOptionArgumentError,
  // deprecated old name
  Command,
  Argument,
  Option,
  Help
} = import_index.default;

// src/adapters/aws-flags.ts
var awsFlags = (command) => command.option("--rds-region <region>", "AWS region of the RDS instance; default $AWS_REGION").option("--rds-profile <name>", "AWS profile for RDS (--profile is the store's); default the AWS default credential chain").option("--rds-endpoint <url>", "RDS and EC2 API endpoint (a VPC endpoint or an emulator); default $AWS_ENDPOINT_URL_RDS");
var tlsFlags = (command) => command.option("--tls <mode>", "TLS to the temporary instance: verify (with --rds-ca-bundle), require, or disable", "require").option("--rds-ca-bundle <path>", "RDS CA bundle (global-bundle.pem) to verify the instance's certificate; implies --tls verify");

// src/exit-codes.ts
var EXIT = {
  ok: 0,
  /** Failed at run time: a connection dropped, an upload or a restore failed, a disk filled. */
  failed: 1,
  /** Usage, configuration or unreachable input: bad flags, wrong password, port or database, no such bucket, unknown backup, a key that does not open it, no scratch space. */
  usage: 2,
  /** The backup is proven bad: verification found a difference, or an object or manifest is corrupt or missing. */
  backupBad: 3,
  /** The temporary RDS instance could not be deleted: it may still be running, and billed. */
  instanceLeft: 4,
  /** The work succeeded, but a notification (webhook, email, heartbeat) could not be delivered. */
  notifyFailed: 5,
  /** Interrupted by SIGINT (128 + 2), after deleting what the command had written. */
  sigint: 130,
  /** Interrupted by SIGTERM (128 + 15), likewise. */
  sigterm: 143
};
var BY_KIND = {
  input: EXIT.usage,
  "backup-defect": EXIT.backupBad,
  "instance-left": EXIT.instanceLeft,
  runtime: EXIT.failed,
  // An interruption exits with the signal's code, set where the signal is handled.
  interrupted: EXIT.failed
};
var CLI_TAGS = {
  UsageError: "input",
  /** The scratch directory has less free space than the restore needs. */
  ScratchSpaceTooSmall: "input"
};
var exitCodeFor = (tag) => BY_KIND[CLI_TAGS[tag ?? ""] ?? failureKind(tag ?? "Unexpected")];

// src/output.ts
function throttle(intervalMs, now = Date.now) {
  let last = -Infinity;
  return () => {
    const t = now();
    if (t - last < intervalMs) return false;
    last = t;
    return true;
  };
}
var progressInterval = () => {
  const ms = Number(process.env.COBALT_PROGRESS_MS);
  return Number.isFinite(ms) && ms >= 0 ? ms : 5e3;
};
function createOutput(opts) {
  const tty = !opts.json && Boolean(process.stderr.isTTY);
  const drawGate = throttle(100);
  const tickGate = throttle(progressInterval());
  let drawn = false;
  const clear = () => {
    if (drawn) process.stderr.write("\r\x1B[2K");
    drawn = false;
  };
  const fail = (message, code, details = {}) => {
    clear();
    process.stderr.write(`cobalt-backup: error: ${redactSecrets(message)}
`);
    if (opts.json) process.stdout.write(redactSecrets(JSON.stringify({ ok: false, error: { message, ...details } })) + "\n");
    process.exitCode = code;
  };
  return {
    event(name, fields = {}, level = "info") {
      if (tty) {
        clear();
        const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
        process.stderr.write(redactSecrets(`${level === "info" ? "" : `cobalt-backup: ${level === "warn" ? "warning" : "error"}: `}${name}${extra ? ` ${extra}` : ""}`) + "\n");
      } else {
        process.stderr.write(redactSecrets(JSON.stringify({ time: (/* @__PURE__ */ new Date()).toISOString(), level, event: name, ...fields })) + "\n");
      }
    },
    progress(text, now = false) {
      if (!tty || !(drawGate() || now)) return;
      process.stderr.write(`\r\x1B[2K${redactSecrets(typeof text === "function" ? text() : text)}`);
      drawn = true;
    },
    tick(name, fields) {
      if (!tty && tickGate()) process.stderr.write(redactSecrets(JSON.stringify({ time: (/* @__PURE__ */ new Date()).toISOString(), level: "info", event: name, ...fields })) + "\n");
    },
    result(value, human) {
      clear();
      if (opts.json) process.stdout.write(redactSecrets(JSON.stringify({ ok: true, ...value })) + "\n");
      else process.stdout.write(redactSecrets(human) + "\n");
    },
    text(human) {
      if (opts.json) return;
      clear();
      process.stdout.write(redactSecrets(human) + "\n");
    },
    fail,
    failWith(error, prefix, details = {}) {
      fail(`${prefix ? `${prefix}: ` : ""}${errorText(error)}`, exitCodeFor(tagOf(error)), { tag: error._tag, ...details });
    }
  };
}
var UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
function bytes(n) {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${UNITS[i]}`;
}
var count = (n) => n.toLocaleString("en-US");
function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

// src/adapters/connection-string.ts
var import_pg_connection_string = __toESM(require_lib(), 1);
var import_helper = __toESM(require_helper(), 1);
import { existsSync, readFileSync, statSync, createReadStream } from "fs";
import { userInfo } from "os";
import { join } from "path";
var { default: parseConnectionString, isConnectionURI, isKeywordValueConnectionString } = import_pg_connection_string.default;
var DEFAULT_SOCKET_DIRS = ["/var/run/postgresql", "/tmp"];
var DEFAULT_PORT = 5432;
var isSocketDir = (host) => host.startsWith("/");
var ConnectionStringError = class extends Error {
};
function parseConnection(value, env = process.env) {
  const trimmed = value.trim();
  if (!trimmed) throw new ConnectionStringError("it is empty");
  let config;
  const unknown = [];
  const opts = { env, invalidOptionMode: "error", unrecognisedOptionMode: (key) => void unknown.push(key) };
  try {
    if (isConnectionURI(trimmed)) config = parseConnectionString(encodeQuery(trimmed), opts);
    else if (isKeywordValueConnectionString(trimmed)) config = parseConnectionString(trimmed, opts);
    else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) throw new ConnectionStringError(`${trimmed.split("://")[0]}:// is not a PostgreSQL connection string`);
    else config = parseConnectionString(`dbname='${trimmed.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`, opts);
  } catch (e) {
    if (e instanceof ConnectionStringError) throw e;
    throw new ConnectionStringError(e instanceof Error ? e.message : String(e));
  }
  if (unknown.length) throw new ConnectionStringError(`unknown option ${unknown.join(", ")}`);
  if (config.service) throw new ConnectionStringError("service files (service=, PGSERVICE) are not supported: give host, port, dbname and user instead");
  const ports = config.port.length ? config.port : [null];
  const hostList = config.host.length ? config.host : [""];
  if (ports.length !== 1 && ports.length !== hostList.length) throw new ConnectionStringError(`it names ${hostList.length} hosts but ${ports.length} ports`);
  const endpoints = hostList.map((h, i) => {
    const port = ports.length === 1 ? ports[0] : ports[i];
    const resolvedPort = port ?? DEFAULT_PORT;
    const address = config.hostaddr[i] || void 0;
    return { host: h || (address ? address : defaultSocketDir(resolvedPort)), ...address ? { address } : {}, port: resolvedPort };
  });
  const user = config.user || osUser();
  const home = env.HOME ?? "";
  return {
    endpoints,
    database: config.dbname || user,
    user,
    ...config.password !== void 0 ? { password: config.password } : {},
    passfile: config.passfile || join(home, ".pgpass"),
    sslmode: config.sslmode ?? "prefer",
    ssl: sslFiles(config, home),
    applicationName: config.application_name || config.fallback_application_name || "cobalt-backup",
    ...config.options ? { options: config.options } : {},
    connectTimeoutMs: config.connect_timeout ? config.connect_timeout * 1e3 : 15e3
  };
}
function encodeQuery(uri) {
  const q = uri.indexOf("?");
  return q < 0 ? uri : uri.slice(0, q + 1) + uri.slice(q + 1).replace(/[/:@,?]/g, (c) => encodeURIComponent(c));
}
var osUser = () => {
  try {
    return userInfo().username;
  } catch {
    return "postgres";
  }
};
function defaultSocketDir(port) {
  return DEFAULT_SOCKET_DIRS.find((d) => existsSync(join(d, `.s.PGSQL.${port}`))) ?? DEFAULT_SOCKET_DIRS[0];
}
function sslFiles(config, home) {
  const read = (path, what) => {
    if (!path) return void 0;
    try {
      return readFileSync(path, "utf8");
    } catch (e) {
      throw new ConnectionStringError(`cannot read the ${what} ${path}: ${e.message}`);
    }
  };
  const pgDir = join(home, ".postgresql");
  const orDefault = (given, file) => given ?? (existsSync(join(pgDir, file)) ? join(pgDir, file) : void 0);
  const rootcert = config.sslrootcert === "system" ? void 0 : orDefault(config.sslrootcert, "root.crt");
  const ca = read(rootcert, "root certificate (sslrootcert)");
  const cert = read(orDefault(config.sslcert, "postgresql.crt"), "client certificate (sslcert)");
  const key = read(orDefault(config.sslkey, "postgresql.key"), "client key (sslkey)");
  const mode = config.sslmode;
  if ((mode === "verify-ca" || mode === "verify-full") && !ca && config.sslrootcert !== "system") {
    throw new ConnectionStringError(`sslmode=${mode} needs the server's root certificate: add sslrootcert=/path/to/root.crt (or sslrootcert=system), or put it in ~/.postgresql/root.crt`);
  }
  return { ...ca ? { ca } : {}, ...cert ? { cert } : {}, ...key ? { key } : {} };
}
function sslAttempts(s, e) {
  if (isSocketDir(e.host)) return [false];
  const files = { ...s.ssl };
  const lax = { ...files, rejectUnauthorized: false };
  const verifyCa = { ...files, rejectUnauthorized: true, checkServerIdentity: () => void 0 };
  const verifyFull = { ...files, rejectUnauthorized: true, servername: e.host };
  switch (s.sslmode) {
    case "disable":
      return [false];
    case "allow":
      return [false, lax];
    case "prefer":
      return [lax, false];
    case "require":
      return [files.ca ? verifyCa : lax];
    case "verify-ca":
      return [verifyCa];
    case "verify-full":
      return [verifyFull];
    case "no-verify":
      return [lax];
  }
}
var tlsRefused = (e) => {
  const m = e instanceof Error ? e.message : String(e);
  return /does not support SSL|SSL off|no encryption|SSL connection is required|requires SSL/i.test(m);
};
function passwordFileHost(e) {
  if (!isSocketDir(e.host)) return e.host;
  return DEFAULT_SOCKET_DIRS.includes(e.host.replace(/\/+$/, "")) ? "localhost" : e.host;
}
async function passwordFromFile(s, e) {
  let stat;
  try {
    stat = statSync(s.passfile);
  } catch {
    return void 0;
  }
  if (!import_helper.default.usePgPass(stat, s.passfile)) return void 0;
  return new Promise((resolve5) => {
    const stream = createReadStream(s.passfile);
    stream.on("error", () => resolve5(void 0));
    import_helper.default.getPassword({ host: passwordFileHost(e), port: String(e.port), database: s.database, user: s.user }, stream, resolve5);
  });
}
function clientConfig(s, e, ssl) {
  return {
    host: e.address ?? e.host,
    port: e.port,
    user: s.user,
    database: s.database,
    // Asked only when the server wants a password: the one given, else the password file.
    password: async () => {
      const password = s.password ?? await passwordFromFile(s, e);
      if (password === void 0) {
        throw new Error(`the server asks for a password for user ${s.user} and none was given: set PGPASSWORD, add a line to ${s.passfile} (host:port:database:user:password, mode 0600), or put it in the connection string`);
      }
      return password;
    },
    ssl,
    application_name: s.applicationName,
    ...s.options ? { options: s.options } : {},
    connectionTimeoutMillis: s.connectTimeoutMs
  };
}
async function connectWith(Client, s) {
  let last;
  for (const e of s.endpoints) {
    const attempts = sslAttempts(s, e);
    for (let i = 0; i < attempts.length; i++) {
      const client = new Client(clientConfig(s, e, attempts[i]));
      client.on("error", () => {
      });
      try {
        await client.connect();
        return client;
      } catch (err) {
        last = err;
        await client.end().catch(() => {
        });
        if (i + 1 < attempts.length && tlsRefused(err)) continue;
        break;
      }
    }
  }
  throw last;
}
function toUri(s, opts = {}) {
  const e = s.endpoints[0];
  const auth = encodeURIComponent(s.user) + (opts.includePassword && s.password !== void 0 ? `:${encodeURIComponent(s.password)}` : "");
  const db = encodeURIComponent(s.database);
  if (isSocketDir(e.host)) return `postgresql://${auth}@/${db}?host=${encodeURIComponent(e.host)}&port=${e.port}`;
  const host = e.host.includes(":") ? `[${e.host}]` : e.host;
  return `postgresql://${auth}@${host}:${e.port}/${db}${s.sslmode !== "prefer" ? `?sslmode=${s.sslmode}` : ""}`;
}
function toEnv(s) {
  const e = s.endpoints[0];
  return {
    PGHOST: e.host,
    ...e.address ? { PGHOSTADDR: e.address } : {},
    PGPORT: String(e.port),
    PGUSER: s.user,
    PGDATABASE: s.database,
    ...s.password !== void 0 ? { PGPASSWORD: s.password } : {},
    PGSSLMODE: s.sslmode === "no-verify" ? "require" : s.sslmode
  };
}

// src/adapters/postgres-url.ts
var FORMS = "expected a connection string as psql takes it: postgresql://user@host:5432/db, postgresql://user@/db?host=/var/run/postgresql, host=... dbname=... user=..., or a database name (PGHOST, PGPORT, PGUSER, PGPASSWORD and ~/.pgpass apply)";
function postgresTarget(value, what) {
  let settings;
  try {
    settings = parseConnection(value);
  } catch (e) {
    if (e instanceof ConnectionStringError) throw new UsageError(`${what} is not a usable connection string (${e.message}): ${FORMS}`);
    throw e;
  }
  return targetOf(settings);
}
function targetOf(settings) {
  const first = settings.endpoints[0];
  return {
    connect: () => connectWith(esm_default.Client, settings),
    host: first.host,
    port: first.port,
    database: settings.database,
    user: settings.user,
    display: toUri(settings),
    withDatabase: (database) => targetOf({ ...settings, database }),
    secretUrl: () => toUri(settings, { includePassword: true }),
    env: () => toEnv(settings)
  };
}

// src/sources/open-source.ts
async function openSource(out, src, signal, store, what = "source.url") {
  if (src.url) {
    const t = postgresTarget(src.url, what);
    return { connect: t.connect, describe: { kind: "postgres-url", host: t.host, port: t.port, database: t.database, user: t.user }, close: async () => {
    } };
  }
  return (await import("./rds-source-4VNBTQRL.js")).openRdsSource(out, src, signal, store);
}

// src/version.ts
import { createRequire } from "module";
var require2 = createRequire(import.meta.url);
var TOOL = { name: "cobalt-backup", version: require2("../package.json").version };

// src/adapters/interrupt.ts
function interruptible(onSignal2) {
  const controller = new AbortController();
  let received;
  const handler = (signal) => {
    if (received) process.exit(signal === "SIGINT" ? EXIT.sigint : EXIT.sigterm);
    received = signal;
    onSignal2(signal);
    controller.abort(new Failure({ _tag: "Interrupted", message: `interrupted by ${signal}` }));
  };
  const crash = (e) => {
    if (controller.signal.aborted) return;
    controller.abort(new Failure({ _tag: "Unexpected", message: `unexpected error: ${causeMessage(e)}` }));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
  return {
    signal: controller.signal,
    exitCode: () => received === "SIGINT" ? EXIT.sigint : received === "SIGTERM" ? EXIT.sigterm : void 0,
    dispose() {
      process.removeListener("SIGINT", handler);
      process.removeListener("SIGTERM", handler);
      process.removeListener("uncaughtException", crash);
      process.removeListener("unhandledRejection", crash);
    }
  };
}

// src/commands/common.ts
var parseJobs = (v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError("expected a whole number from 1 to 64");
  return n;
};
var parseDays = (v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 36500) throw new InvalidArgumentError("expected a whole number of days from 1 to 36500");
  return n;
};
var parseCompression = (v) => {
  if (v === "zstd" || v === "gzip" || v === "none") return v;
  throw new InvalidArgumentError("expected zstd, gzip or none");
};
async function runCommand(opts, body, how = {}) {
  const out = createOutput(opts);
  const interrupt = how.interruptible ? interruptible((signal) => out.event("interrupt", { signal, action: "stopping: closing connections, aborting uploads and deleting what was written" })) : void 0;
  try {
    await body(out, interrupt?.signal ?? new AbortController().signal);
  } catch (e) {
    out.failWith({ _tag: tagOf(e), message: causeMessage(e) });
  } finally {
    interrupt?.dispose();
  }
  const signalled = interrupt?.exitCode();
  if (signalled !== void 0 && process.exitCode !== void 0 && process.exitCode !== EXIT.ok) process.exitCode = signalled;
}
function dumpProgress(out, label) {
  const t0 = Date.now();
  let shown;
  return (p) => {
    const current = p.streaming ? `${p.streaming.table} ${p.streaming.chunk ?? ""}` : void 0;
    const fresh = current !== void 0 && current !== shown;
    if (current) shown = current;
    out.progress(() => {
      const secs = Math.max(1e-3, (Date.now() - t0) / 1e3);
      const inTable = p.streaming ? ` \xB7 ${p.streaming.table}${p.streaming.chunk ? ` chunk ${p.streaming.chunk}` : ""} ${count(p.streaming.rows)} rows ${bytes(p.streaming.rawBytes)}` : "";
      const units = p.unitsTotal > p.tablesTotal ? ` \xB7 units ${p.unitsDone}/${p.unitsTotal}${p.unitsReused ? ` (${p.unitsReused} reused)` : ""}` : "";
      return `${label}: ${p.phase} \xB7 tables ${p.tablesDone}/${p.tablesTotal}${units} \xB7 ${count(p.rows)} rows \xB7 ${bytes(p.rawBytes)} read \xB7 ${bytes(p.storedBytes)} stored \xB7 ${bytes(p.rawBytes / secs)}/s${inTable}`;
    }, fresh);
    const totals = { tablesDone: p.tablesDone, tablesTotal: p.tablesTotal, unitsDone: p.unitsDone, unitsTotal: p.unitsTotal, unitsReused: p.unitsReused, rows: p.rows, rawBytes: p.rawBytes, storedBytes: p.storedBytes };
    if (p.streaming) out.tick("table.progress", { table: p.streaming.table, ...p.streaming.chunk ? { chunk: p.streaming.chunk } : {}, tableRows: p.streaming.rows, tableRawBytes: p.streaming.rawBytes, ...totals });
    else if (!process.stderr.isTTY || p.phase !== "data" || !p.table) out.event(p.table ? "table.dumped" : `phase.${p.phase}`, { ...p.table ? { table: p.table } : {}, ...totals });
  };
}
function restoreProgress(out, label) {
  const t0 = Date.now();
  let shown;
  return (p) => {
    const s = p.streaming;
    const fresh = s !== void 0 && `${p.phase} ${s.table}` !== shown;
    if (s) shown = `${p.phase} ${s.table}`;
    out.progress(() => {
      const secs = Math.max(1e-3, (Date.now() - t0) / 1e3);
      const inTable = s ? ` \xB7 ${s.table} ${count(s.rows)}/${count(s.expectedRows)} rows ${bytes(s.rawBytes)}` : "";
      return `${label}: ${p.phase} \xB7 tables ${p.tablesDone}/${p.tablesTotal} \xB7 ${count(p.rows)} rows \xB7 ${count(Math.round(p.rows / secs))} rows/s${inTable}`;
    }, fresh);
    const totals = { tablesDone: p.tablesDone, tablesTotal: p.tablesTotal, rows: p.rows };
    if (s) out.tick("table.progress", { phase: p.phase, table: s.table, tableRows: s.rows, tableExpectedRows: s.expectedRows, tableRawBytes: s.rawBytes, ...totals });
    else if (!process.stderr.isTTY || !p.table) out.event(p.table ? p.phase === "read-back" ? "table.checked" : "table.restored" : `phase.${p.phase}`, { ...p.table ? { table: p.table } : {}, ...totals });
  };
}
function filesProgress(out, label) {
  let phase = "";
  const t0 = Date.now();
  return (p) => {
    out.progress(() => `${label}: ${p.phase} \xB7 files ${count(p.files)}/${count(p.filesTotal)} \xB7 ${bytes(p.bytes)} of ${bytes(p.bytesTotal)} \xB7 ${bytes(p.bytes / Math.max(1e-3, (Date.now() - t0) / 1e3))}/s`);
    if (p.phase !== phase) {
      phase = p.phase;
      out.event(`phase.${p.phase}`, { files: p.files, filesTotal: p.filesTotal, bytes: p.bytes, bytesTotal: p.bytesTotal });
    }
  };
}
function parseSizeFlag(v) {
  const n = parseSize(v);
  if (n === void 0) throw new InvalidArgumentError(`expected a size in bytes or with a unit such as 64MiB or 1GiB, got ${JSON.stringify(v)}`);
  return n;
}
var peakRssBytes = () => process.resourceUsage().maxRSS * 1024;
var roleFlags = (command) => command.option("--create-roles", "first create the roles the backup uses that the target lacks (attributes and memberships; NOLOGIN, no password), so every owner and GRANT applies").option("--roles-login", "with --create-roles: LOGIN for roles that could log in on the source (still no password)");
function createRolesOption(opts) {
  if (opts.rolesLogin && !opts.createRoles) throw new UsageError("--roles-login goes with --create-roles");
  return opts.createRoles ? { createRoles: { login: Boolean(opts.rolesLogin) } } : {};
}
var selectBackup = (command) => command.requiredOption("--from <store-url>", "the store holding the backup").option("--backup <id>", "backup id, <source>/latest, or latest", "latest");
var collect = (v, previous = []) => [...previous, v];
function selectionFlags(cmd) {
  return cmd.option("--table <schema.name>", "only this table (repeatable; a bare name is public.name), with what it needs that the target lacks, its indexes, constraints and triggers", collect).option("--schema <name>", "only the objects of this schema (repeatable)", collect).option("--exclude-table <schema.name>", "leave this table out, and the objects that need it (reported) (repeatable)", collect).option("--schema-only", "definitions only, no rows").option("--data-only", "rows (and sequence states) only, into tables the target already has");
}
function selectionOf(opts) {
  if (opts.schemaOnly && opts.dataOnly) throw new UsageError("--schema-only and --data-only exclude each other: leave both out for definitions and rows");
  if (opts.dataOnly && opts.clean) throw new UsageError("--clean drops objects, --data-only keeps the target's: use one of them");
  return {
    selection: { ...opts.table ? { tables: opts.table } : {}, ...opts.schema ? { schemas: opts.schema } : {}, ...opts.excludeTable ? { excludeTables: opts.excludeTable } : {} },
    sections: opts.schemaOnly ? "schema-only" : opts.dataOnly ? "data-only" : "all"
  };
}

// src/commands/backup.ts
var sourceOf = (o) => ({
  snapshot: o.snapshot,
  waitMinutes: o.waitMinutes,
  tls: o.rdsCaBundle ? "verify" : o.tls ?? "require",
  ...o.source ? { url: o.source } : {},
  ...o.rdsInstance ? { rdsInstance: o.rdsInstance } : {},
  ...o.database ? { database: o.database } : {},
  ...o.instanceClass ? { instanceClass: o.instanceClass } : {},
  ...o.tempInstance ? { tempInstance: o.tempInstance } : {},
  ...o.subnetGroup ? { subnetGroup: o.subnetGroup } : {},
  ...o.securityGroupIds ? { securityGroupIds: o.securityGroupIds.split(",") } : {},
  ...o.storageType ? { storageType: o.storageType } : {},
  ...o.openIngress ? { openIngress: o.openIngress } : {},
  ...o.masterPasswordEnv ? { masterPasswordEnv: o.masterPasswordEnv } : {},
  ...o.rdsRegion ? { region: o.rdsRegion } : {},
  ...o.rdsProfile ? { profile: o.rdsProfile } : {},
  ...o.rdsEndpoint ? { endpoint: o.rdsEndpoint } : {},
  ...o.rdsCaBundle ? { caBundle: o.rdsCaBundle } : {}
});
function registerBackup(program3) {
  tlsFlags(awsFlags(encryptionFlags(storeFlags(program3.command("backup").description("take a consistent, checksummed backup of a PostgreSQL database into a store"))))).option("--source <database>", "database to back up, as psql -d takes it: postgresql://user@host:5432/db, host=... dbname=..., or a name (PG* variables and ~/.pgpass apply)").option("--rds-instance <id>", "back up this RDS instance from its snapshot, through a temporary instance, instead of --source").option("--snapshot <id>", "with --rds-instance: latest (newest available automated or manual) or a snapshot id", "latest").option("--database <name>", "with --rds-instance: the database to back up (default: the instance's DBName, else postgres)").option("--instance-class <class>", "with --rds-instance: class of the temporary instance (default db.t4g.medium)").option("--temp-instance <id>", "with --rds-instance: name of the temporary instance (default cobalt-tmp-<instance>)").option("--subnet-group <name>", "with --rds-instance: DB subnet group (default: the source's)").option("--security-group-ids <ids>", "with --rds-instance: comma-separated VPC security groups (default: the source's)").option("--open-ingress <sg[=cidr]>", "with --rds-instance: allow this runner on this security group while the backup runs (cidr default: this host's public IP /32)").option("--storage-type <type>", "with --rds-instance: storage of the temporary instance (gp3, gp2, io1, io2); default the snapshot's").option("--master-password-env <VAR>", "with --rds-instance: use the snapshot's master password from this variable (an existing secret) instead of resetting it").option("--wait-minutes <n>", "with --rds-instance: give up on each RDS state change after n minutes", (v) => Number(v), 120).requiredOption("--dest <store-url>", "where to store it: file:///path/to/dir, a plain directory path, or s3://bucket/prefix").option("--jobs <n>", "tables (or chunks of them) read in parallel", parseJobs, 2).option("--split-larger-than <size>", "dump tables larger than this in chunks that run in parallel: bytes or a size such as 64MiB, 1GiB (default: from --jobs and the table sizes; no split when the server runs on this machine)", parseSizeFlag).option("--resume <id>", "continue this interrupted backup of a frozen source (an RDS snapshot): only its unfinished units run; backup --rds-instance finds it by itself").option("--compression <kind>", "zstd, gzip or none", parseCompression, "zstd").option("--lock-days <n>", "S3 Object Lock: keep every object of the backup for n days (ransomware protection)", parseDays).option("--json", "print the result as one JSON object, logs as JSON lines on stderr").action(
    (opts) => runCommand(
      opts,
      async (out, signal) => {
        if (Boolean(opts.source) === Boolean(opts.rdsInstance)) throw new UsageError("give either --source <database> or --rds-instance <id>");
        if (opts.resume && !opts.rdsInstance) {
          throw new UsageError(`--resume continues a backup of a frozen source (--rds-instance); a backup of --source reads a live database through a snapshot that ended with the process that held it, so ${opts.resume} cannot be continued: start a new backup`);
        }
        const rds = opts.rdsInstance;
        const lockUntil = lockUntilFor(opts.lockDays);
        const store = await storeFromUrl(opts.dest, "--dest", { ...opts, ...lockUntil ? { lockUntil } : {} });
        const encryption = encryptionKeys(opts);
        let source2;
        try {
          source2 = await openSource(out, sourceOf(opts), signal, store, "--source");
        } catch (e) {
          if (e instanceof UsageError || !rds) throw e;
          return out.failWith({ _tag: tagOf(e), message: causeMessage(e) }, "backup failed");
        }
        const label = rds ?? source2.describe.database;
        out.event("backup.start", rds ? { rdsInstance: rds, snapshot: opts.snapshot, dest: store.location, encrypted: Boolean(encryption) } : { source: `${source2.describe.host}:${source2.describe.port}/${source2.describe.database}`, dest: store.location, jobs: opts.jobs, compression: opts.compression, encrypted: Boolean(encryption) });
        const backup = opts.resume ? { id: opts.resume, resume: true } : source2.backup;
        const result = await streamDump(
          { connect: source2.connect, store, tool: TOOL, onProgress: dumpProgress(out, `backup ${label}`), signal },
          {
            jobs: opts.jobs,
            compression: opts.compression,
            source: source2.describe,
            consistency: source2.consistency ?? "live",
            ...backup ? backup.resume ? { resume: backup.id } : { id: backup.id } : {},
            ...opts.splitLargerThan ? { splitLargerThan: opts.splitLargerThan } : {},
            ...encryption ? { encryption } : {},
            ...lockUntil ? { lockUntil } : {}
          }
        );
        const closed = await source2.close().then(() => void 0, (e) => e);
        if (closed) return out.fail(`${result.isOk() ? `backup ${result.value.id} is complete, but ` : `backup failed (${result.error.message}), and `}${causeMessage(closed)}`, EXIT.instanceLeft, { tag: "CleanupFailed" });
        if (result.isErr()) return out.failWith(result.error, "backup failed");
        const { id, manifest: m } = result.value;
        const units = { units: m.units.total, reusedUnits: m.units.reused };
        const continued = m.units.reused ? `, continuing an interrupted attempt (${m.units.reused} of ${m.units.total} units reused)` : "";
        if (rds) {
          return out.result(
            { id, location: store.location, snapshot: m.source.snapshotId, tables: m.totals.tables, ...units, rows: m.totals.rows, rawBytes: m.totals.rawBytes, storedBytes: m.totals.storedBytes, durationMs: m.timings.totalMs, peakRssBytes: peakRssBytes() },
            `backup ${id} of ${rds} (snapshot ${m.source.snapshotId}) complete: ${m.totals.tables} tables, ${count(m.totals.rows)} rows, ${bytes(m.totals.storedBytes)} stored${continued}; temporary instance deleted`
          );
        }
        out.result(
          { id, location: store.location, tables: m.totals.tables, ...units, rows: m.totals.rows, rawBytes: m.totals.rawBytes, storedBytes: m.totals.storedBytes, largeObjects: m.largeObjects?.count ?? 0, durationMs: m.timings.totalMs, peakRssBytes: peakRssBytes(), ...store.describe ? { store: store.describe() } : {} },
          `backup ${id} complete: ${m.totals.tables} tables, ${count(m.totals.rows)} rows, ${bytes(m.totals.rawBytes)} read, ${bytes(m.totals.storedBytes)} stored in ${(m.timings.totalMs / 1e3).toFixed(1)} s`
        );
      },
      { interruptible: true }
    )
  );
}

// src/commands/demo.ts
import { readFileSync as readFileSync4 } from "fs";
import { dirname as dirname2, join as join4, resolve as resolve3 } from "path";
import { fileURLToPath, pathToFileURL as pathToFileURL2 } from "url";

// src/adapters/embedded-postgres.ts
import { spawn as spawn2 } from "child_process";
import { randomBytes } from "crypto";
import { chmodSync, chownSync, existsSync as existsSync2, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { createServer } from "net";
import { constants, tmpdir } from "os";
import { join as join3 } from "path";

// src/adapters/postgres-binaries.ts
import { execFile, spawn } from "child_process";
import { chmod, copyFile, link, lstat, mkdir, readFile, readdir, readlink, symlink } from "fs/promises";
import { createRequire as createRequire2 } from "module";
import { arch, platform } from "os";
import { dirname, join as join2, relative, resolve } from "path";
import { pathToFileURL } from "url";
import { promisify } from "util";
var run = promisify(execFile);
async function embeddedPostgresBinaries(embeddedPostgresEntry) {
  const here = createRequire2(import.meta.url);
  const entry = embeddedPostgresEntry ?? here.resolve("embedded-postgres");
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let platformEntry;
  try {
    platformEntry = createRequire2(entry).resolve(name);
  } catch {
    throw new Error(`no embedded PostgreSQL for ${platform()}-${arch()}: the npm package ${name} is not installed; reinstall cobalt-backup, or pass a PostgreSQL URL (--target) instead`);
  }
  const mod = await import(pathToFileURL(platformEntry).href);
  if (!mod.initdb || !mod.postgres) throw new Error(`${name} does not name its initdb and postgres binaries`);
  return { initdb: mod.initdb, postgres: mod.postgres };
}
var isRoot = () => process.getuid?.() === 0;
var idOf = async (name) => {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", name]), run("id", ["-g", name])]);
    return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return void 0;
  }
};
async function serverUser() {
  if (!isRoot()) return void 0;
  const existing = await idOf("postgres");
  if (existing) return existing;
  const groupExists = await run("getent", ["group", "postgres"]).then(() => true, () => false);
  const created = await run("useradd", ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", ...groupExists ? ["--gid", "postgres"] : ["--user-group"], "postgres"]).then(() => "", (e) => (e.stderr || e.message).trim());
  const user = await idOf("postgres");
  if (user) return user;
  throw new Error(`PostgreSQL cannot run as root and there is no 'postgres' user to run it as; creating one failed (${created}). Create it (useradd --system postgres) or run cobalt-backup as an ordinary user`);
}
function canRun(binaries, user) {
  return new Promise((done) => {
    const child = spawn(binaries.postgres, ["--version"], { uid: user.uid, gid: user.gid, cwd: "/", stdio: "ignore" });
    child.on("error", () => done(false));
    child.on("close", (code) => done(code === 0));
  });
}
async function binariesFor(binaries, user, dir) {
  const home = resolve(dirname(binaries.postgres), "..");
  const missing = await missingLibraryLinks(home);
  if (missing.length === 0 && (!user || await canRun(binaries, user))) return binaries;
  const copied = /* @__PURE__ */ new Map();
  await mkdir(dir);
  await chmod(dir, 493);
  for (const sub of ["bin", "lib", "share"]) await linkTree(join2(home, sub), join2(dir, sub), copied);
  for (const { source: source2, target } of missing) await symlink(relative(dirname(target), source2), join2(dir, relative(home, target)));
  const staged = { initdb: join2(dir, "bin", "initdb"), postgres: join2(dir, "bin", "postgres") };
  if (user && !await canRun(staged, user)) {
    throw new Error(`the ${user.name} user cannot run the embedded PostgreSQL from ${dir}: every directory above it must be searchable by others (set TMPDIR to one that is, such as /tmp) and its file system not mounted noexec`);
  }
  return staged;
}
async function missingLibraryLinks(home) {
  let links;
  try {
    links = JSON.parse(await readFile(join2(home, "pg-symlinks.json"), "utf8"));
  } catch {
    return [];
  }
  const abs = (p) => resolve(home, "..", p);
  const present = await Promise.all(links.map((l) => lstat(abs(l.target)).then(() => true, () => false)));
  return links.filter((_, i) => !present[i]).map((l) => ({ source: abs(l.source), target: abs(l.target) }));
}
async function linkTree(from, to, copied) {
  await mkdir(to);
  await chmod(to, 493);
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join2(from, entry.name);
    const dest = join2(to, entry.name);
    if (entry.isDirectory()) await linkTree(src, dest, copied);
    else if (entry.isSymbolicLink()) await symlink(await readlink(src), dest);
    else if (entry.isFile() && !entry.name.endsWith(".a")) {
      const st = await lstat(src);
      const key = `${st.dev}:${st.ino}`;
      const first = copied.get(key);
      const readable = (st.mode & 292) === 292 && (st.mode & 64 ? (st.mode & 73) === 73 : true);
      if (first) await link(first, dest);
      else if (!readable || !await link(src, dest).then(() => true, () => false)) {
        await copyFile(src, dest);
        await chmod(dest, st.mode & 64 ? 493 : 420);
        copied.set(key, dest);
      }
    }
  }
}

// src/adapters/embedded-postgres.ts
async function freePort() {
  return new Promise((resolve5, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve5(typeof address === "object" && address ? address.port : 0));
    });
  });
}
async function startEmbeddedPostgres(binaries, opts = {}) {
  const base = mkdtempSync(join3(opts.parentDir ?? tmpdir(), "cobalt-pg-"));
  const entry = track({ base, dataDir: join3(base, "data") });
  const password = randomBytes(18).toString("base64url");
  let port;
  try {
    const user = await serverUser();
    if (user) chmodSync(base, 493);
    const bin = await binariesFor(binaries, user, join3(base, "pg"));
    mkdirSync(entry.dataDir, { mode: 448 });
    const pwfile = join3(base, "pwfile");
    writeFileSync(pwfile, `${password}
`, { mode: 384, flag: "wx" });
    if (user) {
      chownSync(entry.dataDir, user.uid, user.gid);
      chownSync(pwfile, user.uid, user.gid);
    }
    try {
      await runToEnd(entry, bin.initdb, [`--pgdata=${entry.dataDir}`, "--username=postgres", `--pwfile=${pwfile}`, "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"], user, opts.onLog);
    } finally {
      rmSync(pwfile, { force: true });
    }
    port = await startPostgres(entry, bin, user, opts);
  } catch (e) {
    await stop(entry);
    throw e;
  }
  const url = (database = "postgres") => `postgresql://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    port,
    url,
    async createDatabase(name) {
      const client = new esm_default.Client({ connectionString: url() });
      client.on("error", () => {
      });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8'`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop: () => stop(entry)
  };
}
var live = /* @__PURE__ */ new Set();
async function startPostgres(entry, bin, user, opts) {
  const durability = opts.fast ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : [];
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = ["-D", entry.dataDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${opts.socketDir ?? ""}`, "-c", "max_connections=60", ...durability];
    entry.child = spawnAs(bin.postgres, args, user, entry.base);
    const started = await untilReady(entry.child, opts.onLog);
    if (started.ok) return port;
    if (!/could not bind|already in use/i.test(started.log) || attempt === 3) throw new Error(`the embedded PostgreSQL did not start: ${started.reason}`);
  }
}
function spawnAs(file, args, user, cwd) {
  const env = { ...process.env, LC_ALL: "C" };
  return spawn2(file, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], ...user ? { uid: user.uid, gid: user.gid } : {} });
}
function collectLines(child, onLine) {
  const tail = [];
  const take = (chunk) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      onLine(line);
    }
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  return () => tail;
}
var lastProblem = (lines) => [...lines].reverse().find((l) => /FATAL|ERROR|error|cannot|could not/i.test(l)) ?? lines.at(-1) ?? "no output";
function runToEnd(entry, file, args, user, onLog) {
  return new Promise((resolve5, reject) => {
    const child = entry.child = spawnAs(file, args, user, entry.base);
    const tail = collectLines(child, (l) => onLog?.(l));
    child.on("error", (e) => reject(new Error(`cannot run the embedded PostgreSQL's ${file}: ${e.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) resolve5();
      else reject(new Error(`the embedded PostgreSQL's initdb failed (${signal ?? `exit ${code}`}): ${lastProblem(tail())}`));
    });
  });
}
function untilReady(child, onLog) {
  return new Promise((resolve5) => {
    const tail = collectLines(child, (line) => {
      onLog?.(line);
      if (line.includes("database system is ready to accept connections")) resolve5({ ok: true });
    });
    const failed = (reason) => resolve5({ ok: false, reason, log: tail().join("\n") });
    child.on("error", (e) => failed(`cannot run ${child.spawnfile}: ${e.message}`));
    child.on("exit", (code, signal) => failed(`${signal ?? `exit ${code}`}: ${lastProblem(tail())}`));
  });
}
var running = (child) => child?.pid !== void 0 && child.exitCode === null && child.signalCode === null;
function stop(entry) {
  entry.stopping ??= (async () => {
    const { child } = entry;
    if (running(child)) {
      const exited = new Promise((resolve5) => child.once("exit", () => resolve5()));
      child.kill("SIGQUIT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 1e4);
      await exited;
      clearTimeout(timer);
    }
    rmSync(entry.base, { recursive: true, force: true, maxRetries: 5 });
    untrack(entry);
  })();
  return entry.stopping;
}
var SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];
function track(entry) {
  if (live.size === 0) {
    process.on("exit", onExit);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  live.add(entry);
  return entry;
}
function untrack(entry) {
  if (!live.delete(entry) || live.size > 0) return;
  process.removeListener("exit", onExit);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}
function onSignal(signal) {
  if (process.listenerCount(signal) > 1) return;
  process.stderr.write(`cobalt-backup: interrupted by ${signal}; stopping the embedded PostgreSQL and removing its files
`);
  const code = 128 + (constants.signals[signal] ?? 0);
  void Promise.allSettled([...live].map(stop)).finally(() => process.exit(code));
}
function onExit() {
  const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  for (const { child, dataDir, base } of live) {
    if (running(child) && child.kill("SIGQUIT")) {
      const pidFile = join3(dataDir, "postmaster.pid");
      for (let waited = 0; existsSync2(pidFile) && waited < 5e3; waited += 20) sleep(20);
      child.kill("SIGKILL");
    }
    rmSync(base, { recursive: true, force: true, maxRetries: 5 });
  }
  live.clear();
}

// src/adapters/sql-script.ts
var import_pg_copy_streams = __toESM(require_pg_copy_streams(), 1);
import { Readable } from "stream";
import { pipeline } from "stream/promises";
async function runSqlScript(client, script) {
  const lines = script.split("\n");
  let sql = [];
  const flush = async () => {
    const text = sql.join("\n").trim();
    sql = [];
    if (text) await client.query(text);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^COPY .* FROM stdin;$/.test(line)) {
      await flush();
      const data = [];
      for (i++; i < lines.length && lines[i] !== "\\."; i++) data.push(lines[i]);
      const body = data.length ? `${data.join("\n")}
` : "";
      await pipeline(Readable.from([Buffer.from(body)]), client.query((0, import_pg_copy_streams.from)(line.replace(/;$/, ""))));
    } else if (!line.startsWith("\\")) {
      sql.push(line);
    }
  }
  await flush();
}

// src/config/config-schema.ts
var source = external_exports.object({
  url: external_exports.string().optional().describe("A database to back up directly (no RDS stage), as psql takes it: postgresql://user@host:5432/db, key=value pairs or a database name; PG* variables and ~/.pgpass apply. Or use the RDS_HOSTNAME, RDS_PORT, RDS_DB_NAME, RDS_USERNAME, RDS_PASSWORD variables."),
  rdsInstance: external_exports.string().optional().describe("The RDS instance whose snapshot is restored to a temporary instance and dumped."),
  snapshot: external_exports.string().default("latest").describe("`latest` (newest automated or manual snapshot) or a snapshot id."),
  database: external_exports.string().optional().describe("Database to back up on the temporary instance (default: the instance's DBName, else postgres)."),
  instanceClass: external_exports.string().optional().describe("Class of the temporary instance (default db.t4g.medium)."),
  tempInstance: external_exports.string().optional().describe("Name of the temporary instance (default cobalt-tmp-<instance>)."),
  subnetGroup: external_exports.string().optional().describe("DB subnet group of the temporary instance (default: the source's)."),
  securityGroupIds: external_exports.array(external_exports.string()).optional().describe("VPC security groups of the temporary instance (default: the source's)."),
  storageType: external_exports.string().optional().describe("Storage type of the temporary instance (gp3, gp2, io1, io2)."),
  openIngress: external_exports.string().optional().describe("`sg-id` or `sg-id=cidr`: open the instance's port to this runner while it runs."),
  masterPasswordEnv: external_exports.string().optional().describe("Use the snapshot's master password from this environment variable instead of resetting it."),
  waitMinutes: external_exports.number().positive().default(120).describe("Give up on each RDS state change after this many minutes."),
  region: external_exports.string().optional().describe("AWS region of the RDS instance (default $AWS_REGION)."),
  profile: external_exports.string().optional().describe("AWS profile for RDS (default: the AWS default credential chain)."),
  endpoint: external_exports.string().optional().describe("RDS/EC2 API endpoint (a VPC endpoint; default $AWS_ENDPOINT_URL_RDS)."),
  tls: external_exports.enum(["verify", "require", "disable"]).default("require").describe("TLS to the temporary instance."),
  caBundle: external_exports.string().optional().describe("RDS CA bundle (global-bundle.pem); implies tls verify.")
}).strict().refine((s) => Boolean(s.url) !== Boolean(s.rdsInstance), { message: "give exactly one of source.url or source.rdsInstance" });
var configSchema = external_exports.object({
  source,
  store: external_exports.object({
    url: external_exports.string().describe("`s3://bucket/prefix` (Backblaze B2, S3) or `file:///dir`."),
    endpoint: external_exports.string().optional().describe("S3 endpoint, e.g. https://s3.us-west-004.backblazeb2.com (default $AWS_ENDPOINT_URL_S3)."),
    region: external_exports.string().optional().describe("S3 region (default $AWS_REGION)."),
    profile: external_exports.string().optional().describe("AWS profile holding the store's keys, e.g. `backblaze` (default $AWS_PROFILE)."),
    pathStyle: external_exports.boolean().optional().describe("Path-style addressing (default true with an endpoint)."),
    lockDays: external_exports.number().int().positive().optional().describe("S3 Object Lock: keep every object of a backup this many days.")
  }).strict(),
  backup: external_exports.object({
    jobs: external_exports.number().int().min(1).max(64).default(2).describe("Tables read (and restored) in parallel."),
    compression: external_exports.enum(["zstd", "gzip", "none"]).default("zstd").describe("Compression of every data object."),
    splitLargerThan: external_exports.union([external_exports.number().int().positive(), external_exports.string().refine((v) => parseSize(v) !== void 0, "a size such as 64MiB or 1GiB")]).optional().describe("Tables larger than this (bytes, or a size such as 64MiB, 1GiB) are dumped in chunks that run in parallel (default: from jobs and the table sizes).")
  }).strict().default({ jobs: 2, compression: "zstd" }),
  encryption: external_exports.object({
    recipients: external_exports.array(external_exports.string()).default([]).describe("age public keys (age1...) every object is encrypted for."),
    recipientsFile: external_exports.string().optional().describe("A file of age public keys, one per line."),
    passphraseEnv: external_exports.string().optional().describe("Environment variable with a passphrase to encrypt (and decrypt) with."),
    identityFile: external_exports.string().optional().describe("age identity file (AGE-SECRET-KEY) used to verify; keep it off the backup host if you can.")
  }).strict().optional(),
  verify: external_exports.object({
    enabled: external_exports.boolean().default(true).describe("Restore every backup into a scratch PostgreSQL and compare it with the manifest."),
    target: external_exports.string().optional().describe("Server to create the scratch database on, as a connection string psql takes (default: an embedded PostgreSQL)."),
    scratchDir: external_exports.string().optional().describe("Directory the embedded scratch PostgreSQL lives in while it verifies (default: the system's temporary directory, often a small tmpfs); it needs about the database's size free, checked before verification starts."),
    hook: external_exports.object({
      sql: external_exports.string().optional().describe("A SQL file run against the verified scratch copy (never the source)."),
      command: external_exports.string().optional().describe("A shell command run with DATABASE_URL (and PG*) set to the scratch copy.")
    }).strict().optional()
  }).strict().default({ enabled: true }),
  retention: external_exports.object({
    keepLast: external_exports.number().int().nonnegative().optional(),
    keepDaily: external_exports.number().int().nonnegative().optional(),
    keepWeekly: external_exports.number().int().nonnegative().optional(),
    keepMonthly: external_exports.number().int().nonnegative().optional()
  }).strict().optional().describe("restic's policy, applied after each successful run to complete, verified backups."),
  check: external_exports.object({
    backups: external_exports.number().int().min(1).default(1).describe("At most this many older backups are checked per run: those never checked first (oldest first), then those checked longest ago."),
    everyDays: external_exports.number().positive().default(7).describe("A backup is checked again once its last check is this many days old."),
    readData: external_exports.union([external_exports.boolean(), external_exports.string().refine((v) => parseReadData(v) !== void 0, "a percentage such as 10%")]).default(false).describe('`false`: every object is in the store at its recorded size; `true`: every object is read and its sha256 compared; `"10%"`: a random tenth of the stored bytes is read.')
  }).strict().optional().describe("Check older backups on each run (after retention), so a deleted or rotten object is found while a good copy still exists; damage fails the run with exit code 3 and notifies."),
  notify: external_exports.object({
    webhook: external_exports.string().optional().describe("POST a JSON report (with a Slack-compatible `text`) here, on success and failure."),
    heartbeatUrl: external_exports.string().optional().describe("GET this URL after a successful run only (dead man's switch)."),
    email: external_exports.object({
      from: external_exports.string(),
      to: external_exports.array(external_exports.string()).min(1),
      region: external_exports.string().optional(),
      endpoint: external_exports.string().optional()
    }).strict().optional().describe("Send the report with Amazon SES (v2)."),
    onSuccess: external_exports.boolean().default(true).describe("Also notify on success (failures always notify).")
  }).strict().optional()
}).strict();

// src/adapters/hook.ts
import { spawn as spawn3 } from "child_process";
import { readFileSync as readFileSync2 } from "fs";
function hookRunner(hook) {
  if (!hook || !hook.sql && !hook.command) return void 0;
  if (hook.sql && hook.command) throw new UsageError("verify.hook: give sql or command, not both");
  return async (scratch) => {
    const s = scratch;
    if (hook.sql) {
      const sql = readFileSync2(hook.sql, "utf8");
      const client = await s.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
      return `ran ${hook.sql} against ${s.name}`;
    }
    if (!s.url) throw new Error("the scratch database has no URL to give the hook command");
    const env = { ...process.env, DATABASE_URL: s.url, ...postgresTarget(s.url, "the scratch database").env() };
    const stderr = [];
    const code = await new Promise((resolve5, reject) => {
      const child = spawn3("sh", ["-c", hook.command], { env, stdio: ["ignore", "ignore", "pipe"] });
      child.stderr.on("data", (d) => stderr.push(String(d)));
      child.on("error", reject);
      child.on("close", resolve5);
    });
    if (code !== 0) throw new Error(`hook command exited ${code}: ${stderr.join("").trim().split("\n").slice(-3).join(" | ")}`);
    return `ran the hook command against ${s.name}`;
  };
}

// src/adapters/notify.ts
async function notify(config, report2) {
  if (!config) return [];
  const email = config.email;
  const sendEmail = async (mail) => {
    const { SESv2Client, SendEmailCommand } = await import("@aws-sdk/client-sesv2");
    const ses = new SESv2Client({ region: email?.region ?? process.env.AWS_REGION ?? "us-east-1", ...email?.endpoint ? { endpoint: email.endpoint } : {}, maxAttempts: 4 });
    await ses.send(new SendEmailCommand({ FromEmailAddress: mail.from, Destination: { ToAddresses: mail.to }, Content: { Simple: { Subject: { Data: mail.subject }, Body: { Text: { Data: mail.text } } } } }));
  };
  const r = await deliverNotifications(
    { fetch, sendEmail },
    { targets: { onSuccess: config.onSuccess, ...config.webhook ? { webhook: config.webhook } : {}, ...config.heartbeatUrl ? { heartbeatUrl: config.heartbeatUrl } : {}, ...email ? { email: { from: email.from, to: email.to } } : {} }, report: report2 }
  );
  return r.isOk() ? r.value : [];
}

// src/adapters/scratch-target.ts
import { randomBytes as randomBytes2 } from "crypto";
import { statfs } from "fs/promises";
import { tmpdir as tmpdir2 } from "os";
import { resolve as resolve2 } from "path";
var EMBEDDED_MAJOR = 17;
async function checkScratchSpace(dir, needed) {
  const fs = await statfs(dir).catch((e) => {
    throw new Failure({ _tag: "ScratchSpaceTooSmall", message: `the scratch directory ${dir} cannot be used (${e.code ?? e.message}): choose another with --scratch-dir <dir> (verify.scratchDir in the configuration)` });
  });
  const free = fs.bavail * fs.bsize;
  if (free < needed) {
    throw new Failure({
      _tag: "ScratchSpaceTooSmall",
      message: `verifying needs about ${bytes(needed)} free in ${dir} for the scratch PostgreSQL, which has ${bytes(free)} free: choose a directory with more room with --scratch-dir <dir> (verify.scratchDir in the configuration), or verify on a server with --target`
    });
  }
}
async function openScratch(targetUrl, needs, scratchDir) {
  const name = `cobalt_verify_${randomBytes2(4).toString("hex")}`;
  if (!targetUrl) {
    if (needs.sourceMajor > EMBEDDED_MAJOR) {
      throw new Failure({ _tag: "UsageError", message: `the backup comes from PostgreSQL ${needs.sourceMajor}, newer than the embedded PostgreSQL ${EMBEDDED_MAJOR}; pass --target with a PostgreSQL ${needs.sourceMajor} server` });
    }
    const parentDir = resolve2(scratchDir ?? tmpdir2());
    await checkScratchSpace(parentDir, needs.bytes);
    const server = await startEmbeddedPostgres(await embeddedPostgresBinaries(), { parentDir });
    try {
      const url = await server.createDatabase(name);
      return { target: postgresTarget(url, "scratch database"), url, dispose: () => server.stop() };
    } catch (e) {
      await server.stop();
      throw e;
    }
  }
  const admin = postgresTarget(targetUrl, "--target");
  const adminClient = await admin.connect();
  try {
    await adminClient.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8'`);
  } finally {
    await adminClient.end();
  }
  const target = admin.withDatabase(name);
  return {
    target,
    url: target.secretUrl(),
    dispose: async () => {
      const c = await admin.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    }
  };
}

// src/config/load-config.ts
import { readFileSync as readFileSync3 } from "fs";
function distance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}
function knownKeys(path) {
  let node = configSchema;
  for (const p of path) {
    const shape = unwrap(node);
    node = shape.shape?.[String(p)] ?? node;
  }
  return Object.keys(unwrap(node).shape ?? {});
}
function unwrap(t) {
  let cur = t;
  for (let i = 0; i < 6 && cur.def && (cur.def.innerType || cur.def.in || cur.def.schema); i++) cur = cur.def.innerType ?? cur.def.in ?? cur.def.schema;
  return cur;
}
function describeConfigErrors(error) {
  return error.issues.map((issue) => {
    const where = issue.path.length ? issue.path.join(".") : "the top level";
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((k) => {
        const near = knownKeys(issue.path).map((c) => [c, distance(k, c)]).sort((a, b) => a[1] - b[1])[0];
        const hint = near && near[1] <= 3 ? `; did you mean "${near[0]}"?` : `; allowed keys: ${knownKeys(issue.path).join(", ")}`;
        return `unknown key "${[...issue.path, k].join(".")}"${hint}`;
      }).join("\n");
    }
    return `${where}: ${issue.message}`;
  });
}
function loadConfig(path, env = process.env) {
  let raw;
  try {
    raw = JSON.parse(readFileSync3(path, "utf8"));
  } catch (e) {
    const code = e.code;
    throw new UsageError(code === "ENOENT" ? `no configuration file ${path}: create one (see docs/configuration.md) or pass --config` : `${path} is not valid JSON: ${e.message}`);
  }
  const obj = raw && typeof raw === "object" ? raw : {};
  const source2 = obj.source ?? {};
  if (!source2.url && !source2.rdsInstance && env.RDS_HOSTNAME) {
    const user = encodeURIComponent(env.RDS_USERNAME ?? "postgres");
    const pass = env.RDS_PASSWORD ? `:${encodeURIComponent(env.RDS_PASSWORD)}` : "";
    obj.source = { ...source2, url: `postgresql://${user}${pass}@${env.RDS_HOSTNAME}:${env.RDS_PORT ?? 5432}/${encodeURIComponent(env.RDS_DB_NAME ?? "postgres")}` };
  }
  const parsed = configSchema.safeParse(obj);
  if (!parsed.success) throw new UsageError(`${path}: ${describeConfigErrors(parsed.error).join("\n")}`);
  return parsed.data;
}
function maskConfig(c) {
  const maskUrl = (u, path) => {
    if (!u) return u;
    try {
      const url = new URL(u);
      if (url.password) url.password = "***";
      if (path && (url.pathname.length > 1 || url.search)) return `${url.protocol}//${url.host}/***`;
      return url.href;
    } catch {
      return "***";
    }
  };
  return {
    ...c,
    source: { ...c.source, url: maskUrl(c.source.url, false) },
    ...c.verify ? { verify: { ...c.verify, target: maskUrl(c.verify.target, false) } } : {},
    ...c.notify ? { notify: { ...c.notify, webhook: maskUrl(c.notify.webhook, true), heartbeatUrl: maskUrl(c.notify.heartbeatUrl, true) } } : {}
  };
}

// src/commands/run.ts
function registerRun(program3) {
  program3.command("run").description("the nightly job: snapshot, temporary instance, dump, off-site upload, verify by restoring, hook, delete, retention, check of older backups, notify").option("--config <path>", "configuration file", "cobalt-backup.config.json").option("--heartbeat-url <url>", "ping this URL after a successful run only (overrides notify.heartbeatUrl)").option("--json", "print the run report as one JSON object, logs as JSON lines on stderr").action(
    (opts) => runCommand(
      opts,
      async (out, signal) => {
        const loaded = loadConfig(opts.config);
        const config = opts.heartbeatUrl ? { ...loaded, notify: { onSuccess: true, ...loaded.notify, heartbeatUrl: opts.heartbeatUrl } } : loaded;
        reportRun(out, await runWithConfig(out, config, signal), "run");
      },
      { interruptible: true }
    )
  );
}
function reportRun(out, outcome, label) {
  const { report: report2, notifications } = outcome;
  const undelivered = notifications.filter((d) => !d.ok);
  for (const d of undelivered) out.event("notify.failed", { channel: d.channel, reason: d.detail }, "error");
  if (outcome.reportError) out.event("report.not-stored", { reason: outcome.reportError }, "warn");
  const human = [
    `${report2.ok ? `${label} OK` : `${label} FAILED at ${report2.failedStage}`}: ${report2.source || "the source"} -> ${report2.location}${report2.id ? ` (${report2.id})` : ""}`,
    ...report2.stages.map((s) => `  ${s.stage.padEnd(10)} ${s.status.padEnd(8)} ${(s.durationMs / 1e3).toFixed(1).padStart(7)} s  ${s.detail ?? ""}`),
    ...report2.ok && report2.verification ? [`verified: restored into a scratch database and compared, ${report2.verification.tables} tables identical`] : []
  ].join("\n");
  const details = { report: report2, notifications, ...outcome.reportKey ? { reportKey: outcome.reportKey } : {} };
  if (report2.ok && undelivered.length === 0) return out.result(details, human);
  out.text(human);
  if (report2.ok) {
    const which = undelivered.map((d) => `${d.channel} (${d.detail ?? "failed"})`).join(", ");
    return out.fail(`${label} succeeded, but its notification could not be delivered: ${which}`, EXIT.notifyFailed, { tag: "NotifyFailed", ...details });
  }
  const instanceLeft = report2.stages.some((s) => s.stage === "cleanup" && s.status === "failed");
  out.fail(report2.error ?? `${label} failed`, instanceLeft ? EXIT.instanceLeft : exitCodeFor(report2.errorTag), { tag: report2.errorTag, stage: report2.failedStage, ...details });
}
async function runWithConfig(out, config, signal) {
  const send = (report2) => notify(config.notify, report2);
  let built;
  try {
    built = await build(out, config, signal);
  } catch (error) {
    return (await reportSetupFailure({ notify: send }, { error, location: config.store.url }))._unsafeUnwrap();
  }
  return (await runNightly({ ...built.deps, notify: send }, built.input))._unsafeUnwrap();
}
async function build(out, config, signal) {
  const lockUntil = lockUntilFor(config.store.lockDays);
  const store = await storeFromConfig(config.store, lockUntil);
  const { encryption, decryption } = keysFromConfig(config.encryption);
  const runHook = hookRunner(config.verify.hook);
  const src = config.source;
  const input = {
    jobs: config.backup.jobs,
    compression: config.backup.compression,
    ...config.backup.splitLargerThan !== void 0 ? { splitLargerThan: typeof config.backup.splitLargerThan === "number" ? config.backup.splitLargerThan : parseSize(config.backup.splitLargerThan) } : {},
    verify: config.verify.enabled,
    ...encryption ? { encryption } : {},
    ...decryption ? { decryption } : {},
    ...config.retention ? { retention: config.retention } : {},
    ...config.check ? { check: { backups: config.check.backups, everyDays: config.check.everyDays, readData: parseReadData(config.check.readData) } } : {},
    ...lockUntil ? { lockUntil } : {}
  };
  const deps = {
    store,
    tool: TOOL,
    openSource: () => openSource(out, src, signal, store),
    sourceIsSnapshot: Boolean(src.rdsInstance),
    openScratch: async (needs) => {
      const s = await openScratch(config.verify.target, needs, config.verify.scratchDir);
      return { connect: s.target.connect, name: `scratch ${s.target.database}`, url: s.url, dispose: s.dispose };
    },
    ...runHook ? { runHook } : {},
    signal,
    onProgress: dumpProgress(out, `backup ${src.rdsInstance ?? "source"}`),
    onVerifyProgress: restoreProgress(out, "verify"),
    onStage: (s) => out.event(`stage.${s.stage}`, { status: s.status, durationMs: s.durationMs, ...s.detail ? { detail: s.detail } : {} })
  };
  return { deps, input };
}

// src/commands/demo.ts
var pagilaDir = () => resolve3(dirname2(fileURLToPath(import.meta.url)), "pagila");
function registerDemo(program3) {
  program3.command("demo").description("no AWS, no database needed: the nightly pipeline on the pagila sample in an embedded PostgreSQL, into ./demo-backups, verified").option("--dest <dir>", "where to keep the demo backups", "demo-backups").option("--jobs <n>", "parallel jobs", parseJobs, 2).option("--json", "print the report as one JSON object, logs as JSON lines on stderr").action(
    (opts) => runCommand(opts, async (out, signal) => {
      out.event("demo.start", { step: "starting an embedded PostgreSQL and loading pagila" });
      const server = await startEmbeddedPostgres(await embeddedPostgresBinaries(), { fast: true });
      try {
        const sourceUrl = await server.createDatabase("pagila");
        const client = await postgresTarget(sourceUrl, "demo source").connect();
        try {
          for (const f of ["schema.sql", "data.sql"]) await runSqlScript(client, readFileSync4(join4(pagilaDir(), f), "utf8"));
        } finally {
          await client.end();
        }
        const config = configSchema.parse({
          source: { url: sourceUrl },
          store: { url: pathToFileURL2(resolve3(opts.dest)).href },
          backup: { jobs: opts.jobs },
          verify: { target: server.url() },
          retention: { keepLast: 3 }
        });
        reportRun(out, await runWithConfig(out, config, signal), "demo");
      } finally {
        await server.stop();
      }
    }, { interruptible: true })
  );
}

// src/commands/check.ts
function registerCheck(program3) {
  storeFlags(program3.command("check").description("check that backups are whole in the store without restoring them: every object their manifests list is there at its recorded size; with --read-data each is read back and its sha256 compared (no keys needed)")).requiredOption("--from <store-url>", "the store to check").option("--backup <id>", "check one backup (database or files): an id, <source>/latest, or latest").option("--all", "check every backup in the store (the default)").option("--read-data", "read every object back and compare its sha256 with the manifest's").option("--read-data-subset <percent>", "read a random sample of the objects, this share of the stored bytes (10%): another sample each time").option("--jobs <n>", "objects read in parallel", parseJobs, 2).option("--json", "print the report as one JSON object, logs as JSON lines on stderr").action(
    (opts) => runCommand(opts, async (out) => {
      if (opts.backup && opts.all) throw new UsageError("give --backup <id> or --all, not both");
      if (opts.readData && opts.readDataSubset) throw new UsageError("give --read-data or --read-data-subset, not both");
      const readData = parseReadData(opts.readDataSubset ?? Boolean(opts.readData));
      if (!readData) throw new UsageError(`--read-data-subset ${opts.readDataSubset}: expected a percentage above 0 and at most 100, such as 10%`);
      const store = await storeFromUrl(opts.from, "--from", opts);
      let backups = "all";
      if (opts.backup) {
        const id = await resolveBackupId(store, opts.backup, "any");
        if (id.isErr()) return out.failWith(id.error);
        backups = [id.value];
      }
      const r = await checkBackups({ store, jobs: opts.jobs, onProgress: progress(out) }, { backups, readData });
      if (r.isErr()) return out.failWith(r.error, "check failed");
      const recorded = await recordChecks(store, r.value, /* @__PURE__ */ new Date());
      if (recorded.isErr()) out.event("check.not-recorded", { reason: `could not record the verdicts as ${CHECKED_KEY} (and ${VERIFIED_KEY} of damaged backups): ${recorded.error.message}` }, "warn");
      const c = r.value;
      const lines = [
        table(["backup", "kind", "objects", "read", "result"], c.backups.map((b) => [b.id, b.kind, `${count(b.objects)} (${bytes(b.bytes)})`, `${count(b.objectsRead)} (${bytes(b.bytesRead)})`, b.ok ? "ok" : "DAMAGED"])),
        ...c.backups.flatMap((b) => b.damage.map((d) => `damaged: ${d.message}`))
      ];
      if (c.ok) return out.result({ report: c }, [...lines, `checked ${c.backups.length} backup(s) in ${c.location}: ${describeReadData(c.readData)}, no damage`].join("\n"));
      out.text(lines.join("\n"));
      out.fail(damageSummary(c), EXIT.backupBad, { tag: "DamageFound", report: c });
    })
  );
}
function progress(out) {
  return (p) => {
    const reading = p.reading ? ` \xB7 ${p.reading}` : "";
    out.progress(`check: manifests ${p.backupsListed}/${p.backupsTotal} \xB7 objects read ${p.objectsRead}/${p.objectsToRead} \xB7 ${bytes(p.bytesRead)} of ${bytes(p.bytesToRead)}${reading}`);
    if (p.reading) out.tick("check.progress", { ...p });
  };
}

// src/commands/list.ts
var verificationOf = (e) => ({
  verification: e.verification === null ? "never" : e.verification.ok ? "passed" : "failed",
  verified: e.verification?.ok === true,
  verifiedAt: e.verification?.verifiedAt ?? null,
  ...e.verification?.problem ? { verificationProblem: e.verification.problem } : {}
});
function registerList(program3) {
  storeFlags(program3.command("list").description("list the complete backups in a store, database and files (unfinished ones, without a manifest, are not backups); damaged ones are reported")).requiredOption("--from <store-url>", "the store to list").option("--json", "print the list as one JSON object").action(
    (opts) => runCommand(opts, async (out) => {
      const store = await storeFromUrl(opts.from, "--from", opts);
      const r = await listCatalog(store);
      if (r.isErr()) return out.failWith(r.error);
      const backups = r.value.entries.map(
        (e) => e.kind === "database" ? {
          id: e.id,
          kind: e.kind,
          time: e.manifest.startedAt,
          source: `${e.manifest.source.host}:${e.manifest.source.port}/${e.manifest.source.database}`,
          serverVersion: e.manifest.source.serverVersion,
          tables: e.manifest.totals.tables,
          rows: e.manifest.totals.rows,
          storedBytes: e.manifest.totals.storedBytes,
          ...verificationOf(e)
        } : {
          id: e.id,
          kind: e.kind,
          time: e.manifest.startedAt,
          source: e.manifest.source.dir,
          files: e.manifest.totals.files,
          bytes: e.manifest.totals.bytes,
          storedBytes: e.manifest.totals.storedBytes,
          encrypted: e.manifest.encryption !== null,
          ...verificationOf(e)
        }
      );
      const { damaged } = r.value;
      for (const d of damaged) out.event("backup.damaged", { id: d.id, problem: d.problem }, "warn");
      const shown = { passed: "yes", failed: "FAILED", never: "never" };
      const rows = backups.map((b) => [
        b.id,
        b.kind,
        b.time,
        b.source,
        "tables" in b ? `${b.tables} tables, ${count(b.rows ?? 0)} rows` : `${count(b.files ?? 0)} files, ${bytes(b.bytes ?? 0)}`,
        bytes(b.storedBytes),
        shown[b.verification]
      ]);
      const human = backups.length || damaged.length ? [
        table(["id", "kind", "time", "source", "contents", "size", "verified"], [...rows, ...damaged.map((d) => [d.id, "DAMAGED", "", "", "its manifest cannot be read", "", ""])]),
        ...damaged.map((d) => `damaged: ${d.id}: ${d.problem}`)
      ].join("\n") : `no backups in ${store.location}`;
      out.result({ location: store.location, backups, damaged }, human);
    })
  );
}

// src/commands/prune.ts
var count2 = (flag) => (v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} expects a whole number`);
  return n;
};
function registerPrune(program3) {
  storeFlags(program3.command("prune").description("apply a retention policy (restic semantics) to the complete, verified backups of a store, and remove what interrupted runs left")).requiredOption("--from <store-url>", "the store to prune").option("--keep-last <n>", "keep the n newest verified backups", count2("--keep-last")).option("--keep-daily <n>", "keep the newest verified backup of each of the last n days that have one", count2("--keep-daily")).option("--keep-weekly <n>", "likewise for ISO weeks", count2("--keep-weekly")).option("--keep-monthly <n>", "likewise for calendar months", count2("--keep-monthly")).option("--grace-hours <n>", "remove unfinished backups (no manifest) and unfinished uploads (S3 multipart uploads, temporary files) only once older than this; without any --keep-* prune removes only these", count2("--grace-hours"), 24).option("--dry-run", "show what would be removed, remove nothing").option("--json", "print the decisions as one JSON object").action(
    (opts) => runCommand(opts, async (out) => {
      const store = await storeFromUrl(opts.from, "--from", opts);
      const given = [opts.keepLast, opts.keepDaily, opts.keepWeekly, opts.keepMonthly].some((k) => k !== void 0);
      const policy = { keepLast: opts.keepLast, keepDaily: opts.keepDaily, keepWeekly: opts.keepWeekly, keepMonthly: opts.keepMonthly };
      const r = await pruneBackups({ store, now: () => /* @__PURE__ */ new Date() }, { ...given ? { policy } : {}, dryRun: Boolean(opts.dryRun), graceMs: opts.graceHours * 36e5 });
      if (r.isErr()) return out.failWith(r.error);
      const { decisions, removedObjects, dryRun, unfinished } = r.value;
      for (const d of decisions.filter((x) => x.action === "damaged")) out.event("backup.damaged", { id: d.id, reason: d.reasons.join("; ") }, "warn");
      const verb = (a) => a === "remove" ? dryRun ? "would remove" : "removed" : a;
      const n = (action) => decisions.filter((d) => d.action === action).length;
      const aborted = unfinished.filter((u) => u.action === "remove").length;
      out.result(
        { dryRun, removedObjects, decisions, unfinished },
        [
          ...decisions.length ? [table(["backup", "action", "why"], decisions.map((d) => [d.id, verb(d.action), d.reasons.join("; ")]))] : [],
          ...unfinished.length ? [table(["unfinished upload", "started", "action"], unfinished.map((u) => [u.key, u.started, u.action === "remove" ? verb("remove") : "kept (within the grace period)"]))] : [],
          `${n("remove")} backup(s) ${dryRun ? "would be removed (dry run)" : `removed (${removedObjects} objects)`}, ${n("keep")} kept, ${n("locked")} locked, ${n("damaged")} damaged; ${aborted} unfinished upload(s) ${dryRun ? "would be removed" : "removed"}, ${unfinished.length - aborted} kept`
        ].join("\n")
      );
    })
  );
}

// src/commands/config.ts
import { existsSync as existsSync3 } from "fs";
function setupText(reason, where, message) {
  const key = where === "the store" ? "store.profile" : "source.profile";
  switch (reason) {
    case "credentials":
      return `no AWS credentials for ${where}: set ${key}, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`;
    case "no-bucket":
      return "the bucket does not exist: check store.url";
    case "unreachable":
      return `cannot reach ${where}: check the endpoint and the network (${message})`;
    case "denied":
      return `${where} refused the credentials: check the key and its permissions (${message.split("\n")[0]})`;
    default:
      return message;
  }
}
var storeText = (e) => e._tag === "StoreUnavailable" ? setupText(e.reason, "the store", e.message) : e.message;
var rdsText = (e) => e._tag === "SourceInstanceNotFound" ? `${e.message}: check source.rdsInstance and source.region` : setupText("reason" in e ? e.reason : void 0, "RDS", e.message);
async function checks(c) {
  const out = [];
  const check = async (what, run2) => {
    try {
      out.push({ what, ok: true, detail: await run2() });
    } catch (e) {
      out.push({ what, ok: false, detail: causeMessage(e) });
    }
  };
  await check("store", async () => (await checkStore(await storeFromConfig(c.store))).match((v) => v, (e) => Promise.reject(new Error(storeText(e)))));
  if (c.source.url) {
    await check("source", async () => {
      const t = postgresTarget(c.source.url, "source.url");
      return (await checkSourceDatabase(t.connect, `${t.host}:${t.port}/${t.database}`)).match((v) => v, (e) => Promise.reject(new Error(e.message)));
    });
  } else {
    await check("source", async () => {
      const [{ awsClients }, { checkSourceInstance }] = await Promise.all([import("./aws-clients-YH5KPALS.js"), import("./rds-7GYENTWU.js")]);
      const { rds } = awsClients(awsSettingsOf(c.source));
      return (await checkSourceInstance({ rds }, { instance: c.source.rdsInstance })).match((v) => v, (e) => Promise.reject(new Error(rdsText(e))));
    });
  }
  if (c.encryption) {
    await check("encryption", async () => {
      const { encryption } = keysFromConfig(c.encryption);
      if (!encryption) throw new Error("encryption is configured without any recipient or passphrase");
      const identityFile = c.encryption.identityFile;
      return `${encryption.recipients.length} recipient(s)${encryption.passphrase ? " and a passphrase" : ""}${identityFile ? "; identity readable for verify" : "; no identityFile: verify cannot read encrypted backups"}`;
    });
  }
  if (c.verify.hook?.sql) await check("verify.hook", async () => existsSync3(c.verify.hook.sql) ? `${c.verify.hook.sql} exists` : Promise.reject(new Error(`${c.verify.hook.sql} does not exist`)));
  return out;
}
function registerConfig(program3) {
  const config = program3.command("config").description("configuration of `run`");
  config.command("check").description("print the effective configuration (secrets masked) and check the store, the source and the keys, changing nothing").option("--config <path>", "configuration file", "cobalt-backup.config.json").option("--json", "print the result as one JSON object").action(
    (opts) => runCommand(opts, async (out) => {
      const c = loadConfig(opts.config);
      const results = await checks(c);
      const masked = maskConfig(c);
      const human = [JSON.stringify(masked, null, 2), ...results.map((r) => `${r.ok ? "ok    " : "FAILED"} ${r.what}: ${r.detail}`)].join("\n");
      if (results.every((r) => r.ok)) out.result({ config: masked, checks: results }, human);
      else {
        out.text(human);
        const failed = results.filter((r) => !r.ok);
        out.fail(failed.map((r) => `${r.what}: ${r.detail}`).join("; "), EXIT.usage, { tag: "ConfigCheckFailed", checks: results });
      }
    })
  );
}

// src/commands/snapshot.ts
function registerSnapshot(program3) {
  awsFlags(program3.command("snapshot").description("take a manual RDS snapshot of an instance and wait until it is available")).requiredOption("--rds-instance <id>", "the instance to snapshot").option("--snapshot-id <id>", "name of the snapshot (default cobalt-<instance>-<time>)").option("--wait-minutes <n>", "give up after n minutes", (v) => Number(v), 120).option("--json", "print the result as one JSON object").action(
    (opts) => runCommand(opts, async (out) => {
      const [{ awsClients }, { takeSnapshot }] = await Promise.all([import("./aws-clients-YH5KPALS.js"), import("./rds-7GYENTWU.js")]);
      const { rds } = awsClients(opts);
      const r = await takeSnapshot(
        { rds, onProgress: (e) => out.progress(`snapshot: ${e.detail ?? e.step}`) },
        { instance: opts.rdsInstance, waitMs: opts.waitMinutes * 6e4, ...opts.snapshotId ? { snapshotId: opts.snapshotId } : {}, ...process.env.COBALT_RDS_POLL_MS ? { pollIntervalMs: Number(process.env.COBALT_RDS_POLL_MS) } : {} }
      );
      if (r.isErr()) return out.failWith(r.error);
      out.result({ snapshotId: r.value.snapshotId, createdAt: r.value.createdAt.toISOString() }, `snapshot ${r.value.snapshotId} of ${opts.rdsInstance} is available`);
    })
  );
}

// src/commands/cleanup.ts
function registerCleanup(program3) {
  awsFlags(program3.command("cleanup").description("delete temporary RDS instances this tool tagged whose expiry has passed (after a crashed run)")).option("--dry-run", "show what would be deleted, delete nothing").option("--json", "print the decisions as one JSON object").action(
    (opts) => runCommand(opts, async (out) => {
      const [{ awsClients }, { cleanupExpired }] = await Promise.all([import("./aws-clients-YH5KPALS.js"), import("./rds-7GYENTWU.js")]);
      const { rds } = awsClients(opts);
      const r = await cleanupExpired({ rds }, { dryRun: Boolean(opts.dryRun) });
      if (r.isErr()) return out.failWith(r.error);
      const deleted = r.value.filter((d) => d.action === "delete").length;
      out.result(
        { dryRun: Boolean(opts.dryRun), decisions: r.value },
        r.value.length ? `${table(["instance", "action", "why"], r.value.map((d) => [d.instance, d.action === "delete" && opts.dryRun ? "would delete" : d.action, d.reason]))}
${deleted} expired temporary instance(s) ${opts.dryRun ? "would be deleted (dry run)" : "deleted"}` : "no temporary instances of cobalt-backup in this account and region"
      );
    })
  );
}

// src/commands/restore.ts
function registerRestore(program3) {
  selectionFlags(roleFlags(decryptionFlags(storeFlags(selectBackup(program3.command("restore").description("restore a backup, or part of it, into an empty database (or, with --clean, replace its contents, or just the selected objects)")))))).requiredOption("--target <database>", "database to restore into, as psql -d takes it: postgresql://user@host/db, host=... dbname=..., or a name (PG* variables and ~/.pgpass apply)").option("--jobs <n>", "tables loaded and indexes built in parallel", parseJobs, 2).option("--clean", "drop what the target database holds before restoring").option("--no-owner", "do not restore object owners (objects belong to the restoring user)").option("--no-privileges", "do not restore GRANTs and default privileges").option("--no-analyze", "do not ANALYZE the restored tables at the end (the planner then has no statistics until autovacuum runs)").option("--json", "print the result as one JSON object, logs as JSON lines on stderr").action(
    (opts) => runCommand(opts, async (out, signal) => {
      const store = await storeFromUrl(opts.from, "--from", opts);
      const target = postgresTarget(opts.target, "--target");
      const roleOption = createRolesOption(opts);
      const { selection, sections } = selectionOf(opts);
      const id = await resolveBackupId(store, opts.backup);
      if (id.isErr()) return out.failWith(id.error);
      out.event("restore.start", { id: id.value, from: store.location, target: target.display });
      const r = await restoreBackup(
        { connect: target.connect, store, decryption: decryptionKeys(opts), onProgress: restoreProgress(out, `restore ${id.value}`), signal },
        { id: id.value, jobs: opts.jobs, clean: Boolean(opts.clean), targetName: `${target.host}:${target.port}/${target.database}`, owners: opts.owner, privileges: opts.privileges, ...roleOption, selection, sections, analyze: opts.analyze }
      );
      if (r.isErr()) return out.failWith(r.error, "restore failed");
      const skipped = r.value.skippedPrivileges;
      const roles = r.value.roles;
      if (roles) out.event("roles.created", { created: roles.created, existing: roles.existing.length, memberships: roles.memberships, skipped: roles.skipped });
      if (skipped.length) out.event("privileges.skipped", { count: skipped.length, first: skipped.slice(0, 5) });
      const part = r.value.selection;
      const t = r.value.timings;
      const secs = (ms) => `${(ms / 1e3).toFixed(1)} s`;
      out.result(
        { id: r.value.id, tables: r.value.tables, rows: r.value.rows, largeObjects: r.value.largeObjects, analyzed: r.value.analyzed, skippedPrivileges: skipped, ...roles ? { roles } : {}, ...part ? { selection: part } : {}, timings: t, durationMs: r.value.durationMs },
        `restored ${r.value.id} into ${target.database}: ${r.value.tables} tables, ${count(r.value.rows)} rows in ${secs(r.value.durationMs)}
phases: check ${secs(t.checkMs)}, pre-data ${secs(t.preDataMs)}, data ${secs(t.dataMs)}, post-data ${secs(t.postDataMs)} more, analyze ${secs(t.analyzeMs)} more, finish ${secs(t.finishMs)}` + (part?.dependencies.length ? `
also created, because the selection needs them: ${part.dependencies.join(", ")}` : "") + (part?.skipped.length ? `
not created (each needs a table neither restored nor in the target): ${part.skipped.map((k) => `${k.object} (${k.missing.join(", ")})`).join("; ")}` : "") + (part?.uncheckedForeignKeys?.length ? `
loaded without triggers; these foreign keys to tables not loaded were not checked: ${part.uncheckedForeignKeys.join(", ")}` : "") + (roles?.created.length ? `
created roles ${roles.created.join(", ")} (${opts.rolesLogin ? "LOGIN where the source's could log in" : "NOLOGIN"}, no password: ALTER ROLE ... LOGIN PASSWORD ... for those that connect)` : "") + (roles?.skipped.length ? `
warning: ${roles.skipped.length} role(s) or membership(s) not created (e.g. ${roles.skipped[0].object}: ${roles.skipped[0].reason})` : "") + (skipped.length ? `
warning: ${skipped.length} owner/privilege statement(s) not applied (e.g. ${skipped[0].object}: ${skipped[0].reason}); see --json for all` : "")
      );
    }, { interruptible: true })
  );
}

// src/commands/verify.ts
function registerVerify(program3) {
  decryptionFlags(storeFlags(selectBackup(program3.command("verify").description("prove a backup: a database backup is restored into a scratch database and compared with the manifest, a files backup read back and every file checked")))).option("--target <database>", "server to create the scratch database on, as psql -d takes it (default: an embedded PostgreSQL)").option("--scratch-dir <dir>", "directory for the embedded scratch PostgreSQL (default: the system's temporary directory); it needs about the database's size free").option("--jobs <n>", "parallel jobs for the restore and the read-back", parseJobs, 2).option("--json", "print the report as one JSON object, logs as JSON lines on stderr").action(
    (opts) => runCommand(
      opts,
      async (out, signal) => {
        const store = await storeFromUrl(opts.from, "--from", opts);
        const id = await resolveBackupId(store, opts.backup, opts.backup === "latest" ? "database" : "any");
        if (id.isErr()) return out.failWith(id.error);
        const kind = await backupKind(store, id.value);
        if (kind.isErr()) return out.failWith(kind.error);
        if (kind.value === "files") return verifyFilesBackup(out, opts, store, id.value);
        const manifest = await readManifest(store, id.value);
        if (manifest.isErr()) return out.failWith(manifest.error);
        out.event("verify.start", { id: id.value, from: store.location, scratch: opts.target ? "server of --target" : "embedded PostgreSQL" });
        const scratch = await openScratch(opts.target, { sourceMajor: Math.floor(manifest.value.source.serverVersionNum / 1e4), bytes: restoreSpaceNeeded(manifest.value) }, opts.scratchDir);
        const targetName = `scratch ${scratch.target.database}`;
        try {
          const r = await verifyRestore(
            { connect: scratch.target.connect, store, decryption: decryptionKeys(opts), onProgress: restoreProgress(out, `verify ${id.value}`), signal },
            { id: id.value, jobs: opts.jobs, targetName, toolVersion: TOOL.version }
          );
          if (r.isErr()) {
            if (failureKind(tagOf(r.error)) === "backup-defect") {
              const recorded2 = await recordFailedVerification({ store }, id.value, targetName, r.error.message, /* @__PURE__ */ new Date());
              if (recorded2.isErr()) warnUnrecorded(store.location, recorded2.error.message);
            }
            return out.failWith(r.error, "verify failed");
          }
          const recorded = await recordVerification({ store }, r.value, /* @__PURE__ */ new Date());
          if (recorded.isErr()) warnUnrecorded(store.location, recorded.error.message);
          report(out, r.value, { recorded: recorded.isOk(), ...recorded.isErr() ? { recordError: recorded.error.message } : {} });
        } finally {
          await scratch.dispose();
        }
      },
      { interruptible: true }
    )
  );
}
async function verifyFilesBackup(out, opts, store, id) {
  out.event("verify.start", { id, from: store.location, kind: "files" });
  const r = await verifyFiles({ store, decryption: decryptionKeys(opts), onProgress: filesProgress(out, `verify ${id}`) }, { id });
  if (r.isErr()) return out.failWith(r.error, "verify failed");
  out.result({ report: { id, kind: "files", ...r.value } }, `verified ${id}: ${count(r.value.files)} files, ${bytes(r.value.bytes)}, read back from the store and every file's sha256 matched`);
}
function warnUnrecorded(location, reason) {
  process.stderr.write(`cobalt-backup: warning: could not record the verdict as ${VERIFIED_KEY} in ${location} (a read-only key?): ${reason}; the verdict stands, but list will not show it
`);
}
function report(out, r, extra = {}) {
  const rows = r.tables.map((t) => [t.table, count(t.expectedRows), count(t.rows), t.sha256.slice(0, 12), t.ok ? "ok" : "DIFFERENT"]);
  const lines = [table(["table", "manifest rows", "restored rows", "sha256", "result"], rows)];
  for (const d of r.inventory) lines.push(`schema: ${d.kind} ${d.name} is ${d.problem}`);
  for (const s of r.sequences) lines.push(`sequence ${s.name}: expected ${s.expected}, restored ${s.actual}`);
  for (const m of r.matviews) lines.push(`materialized view ${m.name}: populated expected ${m.expected}, restored ${m.actual}`);
  if (!r.definitionsCompared) lines.push("note: written by another cobalt-backup version; schema objects compared by kind and name only");
  lines.push(`large objects: ${r.largeObjects.actual}/${r.largeObjects.expected} ${r.largeObjects.ok ? "ok" : "DIFFERENT"}`);
  const summary = r.ok ? `verified ${r.id}: ${r.tables.length} tables, ${count(r.tables.reduce((s, t) => s + t.rows, 0))} rows, schema inventory ${r.definitionsCompared ? "identical" : "complete"}` : `verification of ${r.id} FAILED: ${r.tables.filter((t) => !t.ok).length} table(s), ${r.inventory.length} schema object(s), ${r.sequences.length} sequence(s) differ`;
  lines.push(summary);
  if (r.ok) out.result({ report: r, ...extra }, lines.join("\n"));
  else {
    out.text(lines.join("\n"));
    out.fail(summary, EXIT.backupBad, { tag: "VerifyMismatch", report: r });
  }
}

// src/commands/files.ts
var collect2 = (v, prev = []) => [...prev, v];
function registerFiles(program3) {
  encryptionFlags(storeFlags(program3.command("backup-files").description("back up a directory tree (an application's media) as a checksummed, compressed tar archive into a store"))).requiredOption("--dir <path>", "the directory to back up (symlinks in it are kept as symlinks)").requiredOption("--dest <store-url>", "where to store it: file:///path/to/dir, a plain directory path, or s3://bucket/prefix").option("--name <name>", "name of the backup, the first part of its id; retention applies per name", "media").option("--compression <kind>", "zstd, gzip or none", parseCompression, "zstd").option("--identity <path>", "with --recipient: an AGE-SECRET-KEY file to read the encrypted archive back and verify it (repeatable)", collect2).option("--json", "print the result as one JSON object, logs as JSON lines on stderr").action(
    (opts) => runCommand(opts, async (out) => {
      const store = await storeFromUrl(opts.dest, "--dest", opts);
      const encryption = encryptionKeys(opts);
      const verifyDecryption = opts.identity?.length ? decryptionKeys({ identity: opts.identity }) : void 0;
      out.event("backup-files.start", { dir: opts.dir, dest: store.location, name: opts.name, compression: opts.compression, encrypted: Boolean(encryption) });
      const r = await backupFiles(
        { store, tool: TOOL, onProgress: filesProgress(out, `backup-files ${opts.name}`) },
        { dir: opts.dir, name: opts.name, compression: opts.compression, ...encryption ? { encryption } : {}, ...verifyDecryption ? { verifyDecryption } : {} }
      );
      if (r.isErr()) return out.failWith(r.error, "files backup failed");
      const { id, manifest: m, verification, unverifiedReason } = r.value;
      if (m.skipped.length) out.event("entries.skipped", { count: m.skipped.length, first: m.skipped.slice(0, 5) });
      if (unverifiedReason) out.event("backup-files.unverified", { reason: unverifiedReason });
      out.result(
        { id, location: store.location, files: m.totals.files, directories: m.totals.directories, symlinks: m.totals.symlinks, bytes: m.totals.bytes, storedBytes: m.totals.storedBytes, skipped: m.skipped, verified: verification?.ok === true, ...unverifiedReason ? { unverifiedReason } : {}, durationMs: m.timings.totalMs, peakRssBytes: peakRssBytes() },
        `files backup ${id} complete: ${count(m.totals.files)} files, ${count(m.totals.directories)} directories, ${count(m.totals.symlinks)} symlinks, ${bytes(m.totals.bytes)} read, ${bytes(m.totals.storedBytes)} stored in ${(m.timings.totalMs / 1e3).toFixed(1)} s; ` + (verification?.ok ? "verified (read back from the store)" : `not verified: ${unverifiedReason}`) + (m.skipped.length ? `
warning: ${m.skipped.length} entr${m.skipped.length === 1 ? "y" : "ies"} not backed up (e.g. ${m.skipped[0].path}: ${m.skipped[0].reason}); see --json for all` : "")
      );
    })
  );
  decryptionFlags(storeFlags(selectBackup(program3.command("restore-files").description("restore a files backup into an empty or absent directory, checking every file against the manifest")))).requiredOption("--to <dir>", "directory to restore into: empty or absent").option("--json", "print the result as one JSON object, logs as JSON lines on stderr").action(
    (opts) => runCommand(opts, async (out) => {
      const store = await storeFromUrl(opts.from, "--from", opts);
      const id = await resolveBackupId(store, opts.backup, "files");
      if (id.isErr()) return out.failWith(id.error);
      out.event("restore-files.start", { id: id.value, from: store.location, to: opts.to });
      const r = await restoreFiles(
        { store, decryption: decryptionKeys(opts), onProgress: filesProgress(out, `restore-files ${id.value}`) },
        { id: id.value, to: opts.to }
      );
      if (r.isErr()) return out.failWith(r.error, "restore-files failed");
      const v = r.value;
      out.result(
        { id: v.id, to: v.to, files: v.files, directories: v.directories, symlinks: v.symlinks, bytes: v.bytes, durationMs: v.durationMs },
        `restored ${v.id} into ${v.to}: ${count(v.files)} files, ${count(v.directories)} directories, ${count(v.symlinks)} symlinks, ${bytes(v.bytes)}, every file checked, in ${(v.durationMs / 1e3).toFixed(1)} s`
      );
    })
  );
}

// src/commands/export-sql.ts
import { createWriteStream } from "fs";
import { rename, rm } from "fs/promises";
import { basename, dirname as dirname3, join as join5, resolve as resolve4 } from "path";
import { finished } from "stream/promises";
function registerExportSql(program3) {
  selectionFlags(roleFlags(decryptionFlags(storeFlags(selectBackup(program3.command("export-sql").description("write a backup, or part of it, as one plain SQL script that psql -f restores into an empty database")))))).option("--out <file>", "write the script to this file instead of stdout. The file holds the whole database decrypted: prefer the stream, export-sql ... | psql -v ON_ERROR_STOP=1 -d <target> -f -").option("--no-owner", "leave out object owners").option("--no-privileges", "leave out GRANTs and default privileges").option("--json", "logs as JSON lines on stderr; with --out, the result as one JSON object on stdout").action(
    (opts) => runCommand(opts, async (out) => {
      const roleOption = createRolesOption(opts);
      const { selection, sections } = selectionOf(opts);
      const store = await storeFromUrl(opts.from, "--from", opts);
      const keys = decryptionKeys(opts);
      const id = await resolveBackupId(store, opts.backup);
      if (id.isErr()) return out.failWith(id.error);
      out.event("export.start", { id: id.value, from: store.location, out: opts.out ?? "stdout" });
      const file = opts.out ? resolve4(opts.out) : void 0;
      const partial = file ? join5(dirname3(file), `.${basename(file)}.partial`) : void 0;
      const sink = partial ? createWriteStream(partial, { mode: 384 }) : process.stdout;
      const r = await exportSql({ store, decryption: keys, onProgress: progress2(out, `export ${id.value}`) }, { id: id.value, owners: opts.owner, privileges: opts.privileges, ...roleOption, selection, sections }, sink);
      if (partial && file) {
        sink.end();
        const closed = await finished(sink).then(() => void 0, (e) => e);
        if (r.isErr() || closed) {
          await rm(partial, { force: true });
          if (r.isOk()) return out.fail(`export failed: cannot write ${file}: ${String(closed)}`, EXIT.failed, { tag: "WriteFailed" });
        } else {
          await rename(partial, file);
        }
      } else {
        await new Promise((done) => process.stdout.write("", () => done()));
      }
      if (r.isErr()) return out.failWith(r.error, "export failed");
      const v = r.value;
      const summary = { id: v.id, tables: v.tables, rows: v.rows, largeObjects: v.largeObjects, bytes: v.bytes, out: file ?? "stdout", ...v.skipped ? { dependencies: v.dependencies, skipped: v.skipped } : {} };
      const human = `exported ${v.id}: ${v.tables} tables, ${count(v.rows)} rows, ${v.largeObjects} large objects, ${bytes(v.bytes)} of SQL${file ? ` to ${file}` : ""}`;
      if (file) {
        process.stderr.write(`cobalt-backup: note: ${file} holds the whole database${v.decrypted ? " decrypted" : ""}; delete it once restored. To write nothing to disk, stream it: cobalt-backup export-sql ... | psql -v ON_ERROR_STOP=1 -d <target> -f -
`);
        out.result(summary, human);
      } else out.event("export.done", summary);
    })
  );
}
function progress2(out, label) {
  return (p) => {
    out.progress(`${label}: ${p.phase} \xB7 tables ${p.tablesDone}/${p.tablesTotal} \xB7 ${count(p.rows)} rows`);
    if (!process.stderr.isTTY || !p.table) out.event(p.table ? "table.exported" : `phase.${p.phase}`, { ...p.table ? { table: p.table } : {}, tablesDone: p.tablesDone, tablesTotal: p.tablesTotal, rows: p.rows });
  };
}

// src/main.ts
var program2 = new Command("cobalt-backup").description("verified, off-system backups of PostgreSQL").version(TOOL.version).exitOverride((e) => {
  process.exit(e.exitCode === 0 ? 0 : EXIT.usage);
});
registerBackup(program2);
registerRestore(program2);
registerVerify(program2);
registerList(program2);
registerCheck(program2);
registerPrune(program2);
registerRun(program2);
registerConfig(program2);
registerSnapshot(program2);
registerCleanup(program2);
registerDemo(program2);
registerFiles(program2);
registerExportSql(program2);
await program2.parseAsync(process.argv);
process.exit(process.exitCode ?? EXIT.ok);
//# sourceMappingURL=main.js.map