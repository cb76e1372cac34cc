// The API server, reachable from inside a network namespace a test made at the same address and
// port as from this machine (`127.0.0.1:<port>`), so a CNI plugin run there (in a namespace that
// plays a node) uses the test's kubeconfig unchanged, and no link joins that namespace to this
// machine's: a Unix socket, a file and so shared by every network namespace, carries each
// connection. In the namespace a small listener on 127.0.0.1:<port> forwards to the socket; in
// this process the socket forwards to the API server.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Both sockets end when either does. */
function splice(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

export interface ApiBridge {
  close(): Promise<void>;
}

/** Forwards `127.0.0.1:<port of server>` inside named namespace `netns` to `server` (a URL). */
export async function bridgeApiServer(netns: string, server: string): Promise<ApiBridge> {
  const url = new URL(server);
  const port = Number(url.port || 443);
  const host = url.hostname;
  const dir = mkdtempSync(join(tmpdir(), 'api-bridge-'));
  const socketPath = join(dir, 'api.sock');
  const outside: Server = createServer((c) => splice(c, createConnection(port, host)));
  await new Promise<void>((resolve, reject) => {
    outside.once('error', reject);
    outside.listen(socketPath, () => resolve());
  });
  await exec('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  // An API server on another local address (a real-nodes control plane's bridge address) gets that
  // address on the namespace's loopback, so the same URL works there.
  if (host !== '127.0.0.1' && host !== 'localhost')
    await exec('ip', ['-n', netns, 'addr', 'add', `${host}/32`, 'dev', 'lo']);
  const script = `
    const net = require('node:net');
    net.createServer((c) => {
      const u = net.connect(${JSON.stringify(socketPath)});
      c.pipe(u).pipe(c);
      for (const [a, b] of [[c, u], [u, c]]) { a.on('error', () => b.destroy()); a.on('close', () => b.destroy()); }
    }).listen(${port}, ${JSON.stringify(host)}, () => process.stdout.write('ready\\n'));`;
  // `ip netns exec` execs the command, so the child's pid is the listener's.
  const inside: ChildProcess = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  inside.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => inside.once('exit', () => resolve()));
  const close = async () => {
    if (inside.exitCode === null && inside.signalCode === null) inside.kill('SIGTERM');
    await exited;
    await new Promise<void>((resolve) => outside.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the API bridge in ${netns} did not start: ${stderr}`)),
        15_000,
      );
      inside.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      inside.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the API bridge in ${netns} exited (${code}): ${stderr}`));
      });
    });
  } catch (e) {
    await close();
    throw e;
  }
  return { close };
}
