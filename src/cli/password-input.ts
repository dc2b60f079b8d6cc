import { createInterface } from "node:readline";
import type { Writable } from "node:stream";

/** Reads all of standard input: the password, without the line break a pipe or `echo` adds. */
export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  const text = Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
  if (!text) throw new Error("--password-stdin: standard input was empty");
  if (/[\r\n]/.test(text)) throw new Error("--password-stdin: give one line (the password), not several");
  return text;
}

/** Asks on the terminal without echoing what is typed. */
function askHidden(question: string, output: Writable): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output, terminal: true });
    let muted = false;
    // readline echoes through _writeToOutput: only the question is shown, never the keystrokes.
    const r = rl as unknown as { _writeToOutput(s: string): void };
    r._writeToOutput = (s: string) => {
      if (!muted || s.includes("\n")) output.write(muted ? "\n" : s);
    };
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    });
    muted = true;
    rl.on("SIGINT", () => {
      rl.close();
      reject(new Error("cancelled"));
    });
  });
}

/** The new user's password: from --password, from stdin with --password-stdin, or asked twice on a terminal. */
export async function newUserPassword(o: { password?: string; passwordStdin?: boolean }): Promise<string> {
  if (o.password !== undefined && o.passwordStdin)
    throw new Error("give either --password or --password-stdin, not both");
  if (o.password !== undefined) return o.password;
  if (o.passwordStdin) return readPasswordFromStdin();
  if (!process.stdin.isTTY)
    throw new Error(
      "no password: pipe it with --password-stdin (printf '%s' \"$PASSWORD\" | orderhub user add … --password-stdin), or run on a terminal to be asked",
    );
  const first = await askHidden("Password (at least 10 characters): ", process.stderr);
  const again = await askHidden("The same password again: ", process.stderr);
  if (first !== again) throw new Error("the two passwords differ: nothing was created");
  return first;
}
