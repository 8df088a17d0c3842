/** The checker's commands (check, trace, check-formula): registered into the CLI by src/cli.ts. */
import type { Command } from '../cli.js';

export const checkCommands: Record<string, Command> = {};
