import type { Command } from 'commander';

export function registerSimulator(command: Command) {
  command.description('archery sensor processes (bow, arrow and target readers)');
}
