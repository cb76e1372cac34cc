// A follower's one exchange with its node's leader: connect to the scope's abstract socket, send one
// request line, read one answer line. In the compiled plugin through Bun's native sockets: importing
// node:net costs each process start about 2 ms of CPU, a sixth of a follower's (docs/cni.md, "What
// a follower's start costs"), and a follower needs nothing else of it. Under Node (tests, tools)
// through node:net, taken when first needed rather than imported.
import { type Answer, encodeLine, isAnswer, LineReader } from './wire.js';

/**
 * The answer, or why there is none: `refused` when nobody listens on the name (no leader: the caller
 * may lead), `retry` when a leader was there but gave no usable answer (it vanished, or the deadline).
 */
export type FollowOutcome = { answer: Answer<unknown> } | { refused: true } | { retry: string };

/** The part of a Bun socket this uses. */
interface BunSocket {
  write(data: string): number;
  end(): void;
}

interface BunSocketHandlers {
  open(socket: BunSocket): void;
  data(socket: BunSocket, chunk: Uint8Array): void;
  drain(socket: BunSocket): void;
  close(socket: BunSocket): void;
  error(socket: BunSocket, err: Error): void;
  connectError(socket: BunSocket, err: Error): void;
}

interface BunConnect {
  connect(options: { unix: string; socket: BunSocketHandlers }): Promise<BunSocket>;
}

const bun = (globalThis as { Bun?: BunConnect }).Bun;

/** What a transport reports; follow() turns it into one outcome. */
interface Events {
  connected: () => void;
  data: (chunk: Uint8Array | string) => void;
  /** The connection failed or ended; `code` is the errno name when there is one. */
  failed: (reason: string, code?: string) => void;
}

/** Connects to `name`, sends `line` once connected, and reports what happens; returns the closer. */
type Transport = (name: string, line: string, events: Events) => () => void;

const bunTransport: Transport = (name, line, events) => {
  let socket: BunSocket | undefined;
  let closed = false;
  let unsent = line;
  const send = (s: BunSocket) => {
    // A write may take only part of the line when the socket's buffer is full: the rest on drain.
    const written = s.write(unsent);
    unsent = unsent.slice(Math.max(0, written));
  };
  const fail = (err: Error) =>
    events.failed(err.message, (err as NodeJS.ErrnoException).code ?? (err as { code?: string }).code);
  bun
    ?.connect({
      unix: name,
      socket: {
        open(s) {
          socket = s;
          if (closed) {
            s.end();
            return;
          }
          events.connected();
          send(s);
        },
        data: (_s, chunk) => events.data(chunk),
        drain(s) {
          if (unsent !== '') send(s);
        },
        close: () => events.failed('closed without an answer'),
        error: (_s, err) => fail(err),
        connectError: (_s, err) => fail(err),
      },
    })
    .catch(fail);
  return () => {
    closed = true;
    socket?.end();
  };
};

const nodeTransport: Transport = (name, line, events) => {
  const net = process.getBuiltinModule('node:net');
  const socket = net.connect(name);
  socket.on('connect', () => {
    events.connected();
    socket.write(line);
  });
  socket.on('data', (chunk) => events.data(chunk));
  socket.on('error', (err: NodeJS.ErrnoException) => events.failed(err.message, err.code));
  socket.on('close', () => events.failed('closed without an answer'));
  return () => socket.destroy();
};

/**
 * Sends `request` to the leader listening on `name` and waits for its answer until `deadline`
 * (epoch ms). `onConnected` runs once the leader has accepted the connection.
 */
export function follow(
  name: string,
  request: unknown,
  deadline: number,
  onConnected: () => void = () => undefined,
): Promise<FollowOutcome> {
  const transport = bun ? bunTransport : nodeTransport;
  return new Promise((resolve) => {
    let done = false;
    let connected = false;
    let close: () => void = () => undefined;
    const finish = (outcome: FollowOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      close();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ retry: 'deadline' }), Math.max(0, deadline - Date.now()));
    const reader = new LineReader();
    close = transport(name, encodeLine({ request }), {
      connected: () => {
        connected = true;
        onConnected();
      },
      data: (chunk) => {
        let message: unknown;
        try {
          message = reader.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk));
        } catch {
          finish({ retry: 'garbled answer' });
          return;
        }
        if (message === undefined) return;
        finish(isAnswer(message) ? { answer: message } : { retry: 'garbled answer' });
      },
      failed: (reason, code) => {
        // Nobody listens: an abstract name with no socket bound to it refuses the connection.
        if (!connected && code === 'ECONNREFUSED') finish({ refused: true });
        else finish({ retry: code ?? reason });
      },
    });
  });
}
