// Network namespaces, veth pairs and bridges for tests, always removed again, and a CNI chain run
// inside them: a Debian main plugin from /usr/lib/cni calling the compiled `spiderpool`.
//
// Only objects this file creates are touched. Names carry the test process id and a counter, so
// parallel test files never collide, and link names stay within Linux's 15 characters.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cniArgs, type ProcessOutcome, runProcess } from './cni-call.js';
import { pluginDir } from './cni-plugin.js';

export { cniArgs } from './cni-call.js';

const exec = promisify(execFile);

export const debianCniDir = '/usr/lib/cni';

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await exec('ip', args);
  return stdout;
}

export interface IpAddress {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope?: string;
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
}

export interface CniCall {
  /** `macvlan`, `bridge`, ... from /usr/lib/cni, or an absolute path. */
  plugin: string;
  command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS';
  config: unknown;
  netns?: string;
  ifname?: string;
  containerId?: string;
  /** K8S_POD_* and others; IgnoreUnknown=1 is always sent, as container runtimes do. */
  args?: Record<string, string>;
  env?: Record<string, string>;
  /**
   * A named namespace (NetworkLab.netns) that plays the node: the plugin runs inside it, so what it
   * makes on "the node" (a veth's host end, rules, neighbour entries) is made there. Default: this
   * process's namespace.
   */
  nodeNetns?: string;
}

let counter = 0;

/** Everything one test file creates; `cleanup()` removes it all (call it in afterAll/afterEach). */
export class NetworkLab {
  private readonly namespaces: string[] = [];
  private readonly hostLinks: string[] = [];
  private readonly tag = process.pid.toString(36);

  /** A fresh name of at most 15 characters: `<prefix><pid><n>`. */
  linkName(prefix: string): string {
    const name = `${prefix}${this.tag}${(counter++).toString(36)}`;
    if (name.length > 15) throw new Error(`link name ${name} is longer than 15 characters`);
    return name;
  }

  /** Creates a network namespace with loopback up; returns its name (path: /var/run/netns/<name>). */
  async netns(): Promise<string> {
    const name = `sptest-${process.pid}-${counter++}`;
    await ip('netns', 'add', name);
    this.namespaces.push(name);
    await ip('-n', name, 'link', 'set', 'lo', 'up');
    return name;
  }

  netnsPath(name: string): string {
    return `/var/run/netns/${name}`;
  }

  /**
   * A veth pair, both ends up. An end with a namespace is moved there; one without stays in the
   * host namespace (removed again by cleanup()).
   */
  async vethPair(opts: { aNetns?: string; bNetns?: string } = {}): Promise<{ a: string; b: string }> {
    const a = this.linkName('spa');
    const b = this.linkName('spb');
    await ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    this.hostLinks.push(a);
    for (const [end, ns] of [
      [a, opts.aNetns],
      [b, opts.bNetns],
    ] as const) {
      if (ns) await ip('link', 'set', end, 'netns', ns);
      await ip(...(ns ? ['-n', ns] : []), 'link', 'set', end, 'up');
    }
    return { a, b };
  }

  /** A bridge in the host namespace, up. */
  async bridge(): Promise<string> {
    const name = this.linkName('spbr');
    await ip('link', 'add', name, 'type', 'bridge');
    this.hostLinks.push(name);
    await ip('link', 'set', name, 'up');
    return name;
  }

  /** Records a host link a CNI plugin created (a bridge), so cleanup() removes it. */
  adopt(link: string): void {
    this.hostLinks.push(link);
  }

  async addAddress(netns: string, dev: string, cidr: string, nodad = false): Promise<void> {
    await ip('-n', netns, 'addr', 'add', cidr, 'dev', dev, ...(nodad ? ['nodad'] : []));
  }

  async addresses(netns: string, dev?: string): Promise<IpAddress[]> {
    const out = await ip('-n', netns, '-j', 'addr', 'show', ...(dev ? ['dev', dev] : []));
    const links = JSON.parse(out) as Array<{ addr_info?: IpAddress[] }>;
    return links.flatMap((l) => l.addr_info ?? []);
  }

  async routes(netns: string, family: 4 | 6 = 4): Promise<IpRoute[]> {
    return JSON.parse(await ip('-n', netns, `-${family}`, '-j', 'route', 'show')) as IpRoute[];
  }

  async linkExists(name: string, netns?: string): Promise<boolean> {
    try {
      await ip(...(netns ? ['-n', netns] : []), 'link', 'show', name);
      return true;
    } catch {
      return false;
    }
  }

  async cleanup(): Promise<void> {
    const errors: string[] = [];
    for (const ns of this.namespaces.splice(0).reverse()) {
      await ip('netns', 'del', ns).catch((err: Error) => errors.push(`netns ${ns}: ${err.message}`));
    }
    for (const link of this.hostLinks.splice(0).reverse()) {
      // Deleting a namespace removes the veth ends inside it and their peers (the kernel may finish
      // that a moment later, so a link that vanishes in between is fine); what is left is ours.
      if (await this.linkExists(link)) {
        await ip('link', 'del', link).catch(async (err: Error) => {
          if (await this.linkExists(link)) errors.push(`link ${link}: ${err.message}`);
        });
      }
    }
    if (errors.length > 0) throw new Error(`network cleanup failed:\n${errors.join('\n')}`);
  }
}

/** Runs one CNI plugin as a container runtime would, with the compiled spiderpool on CNI_PATH. */
export function runCni(call: CniCall): Promise<ProcessOutcome> {
  const binary = call.plugin.startsWith('/') ? call.plugin : `${debianCniDir}/${call.plugin}`;
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.netns,
    CNI_IFNAME: call.ifname,
    CNI_PATH: `${debianCniDir}:${pluginDir()}`,
    CNI_ARGS: cniArgs(call.args),
    ...call.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const stdin = typeof call.config === 'string' ? call.config : JSON.stringify(call.config);
  if (call.nodeNetns) return runProcess('ip', ['netns', 'exec', call.nodeNetns, binary], env, stdin);
  return runProcess(binary, [], env, stdin);
}
