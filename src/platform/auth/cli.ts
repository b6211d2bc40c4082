/** `conflux users create <username> [--admin | --role r]`: accounts from the command line (the first admin). */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Platform, Stoppable } from '../app.ts';
import type { Role } from './port.ts';
import { randomSecret } from './secrets.ts';

/** Reads the password without echo on a terminal, or the first line of piped stdin. */
async function readPassword(): Promise<string> {
  const tty = process.stdin.isTTY;
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: tty });
  try {
    if (tty) {
      return await new Promise<string>((resolve) => {
        rl.question('password (empty = generate one): ', (answer) => {
          process.stderr.write('\n');
          resolve(answer);
        });
        muted = true;
      });
    }
    for await (const line of rl) return line;
    return '';
  } finally {
    rl.close();
  }
}

export function registerUserCommands(program: Command, open: () => Promise<Platform & Stoppable>) {
  const users = program.command('users').description('manage accounts');
  users
    .command('create <username>')
    .description('create an account; the password is read from the terminal or the first line of stdin')
    .option('--admin', 'give the account the admin role')
    .option('--role <role>', 'admin | user | device', 'user')
    .option('--no-password', 'no password (device accounts that sign in with API keys)')
    .action(async (username: string, opts: { admin?: boolean; role: string; password: boolean }) => {
      const role = (opts.admin ? 'admin' : opts.role) as Role;
      if (!['admin', 'user', 'device'].includes(role)) throw new Error(`--role: unknown role '${role}'`);
      let password: string | null = null;
      let generated = false;
      if (opts.password) {
        password = (await readPassword()).trim();
        if (password === '') {
          password = randomSecret(15);
          generated = true;
        }
      }
      const platform = await open();
      try {
        const user = await platform.auth.createUser(username, password, role);
        process.stdout.write(`created ${user.role} '${user.username}' (${user.id})\n`);
        if (generated) process.stdout.write(`password: ${password}\n`);
      } finally {
        await platform.stop();
      }
    });
}
