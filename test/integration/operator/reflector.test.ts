// The Reflector on its own against the real API server: stop() ends the loop at any moment of it,
// including between a list and the watch that follows, when no watch request is open yet.
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import { RestClient } from '../../../kube/rest.js';
import { Reflector } from '../../../operator/framework/reflector.js';
import { kubeConfig, uniqueName } from '../../harness/clients.js';
import { eventually, timedOut, within } from '../../harness/wait.js';

const kc = kubeConfig('admin');
const rest = new RestClient(kc);
const namespace = uniqueName('reflector');

beforeAll(async () => {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace });
  rest.close();
});

function reflector(hooks: { onSynced?: () => void } = {}): Reflector {
  return new Reflector(
    { ref: { group: '', version: 'v1', plural: 'configmaps', namespace }, kubeConfig: kc, rest },
    { onEvent: () => {}, ...hooks },
  );
}

/** How stop() ended: 'stopped', or 'hung' when it was still waiting after `ms`. */
async function stopWithin(r: Reflector, ms: number): Promise<'stopped' | 'hung'> {
  return (await within(r.stop(), ms)) === timedOut ? 'hung' : 'stopped';
}

// Without an end to the pending watch, the loop would follow a watch opened after stop() for its
// whole server-side timeout (5 to 10 minutes): a SIGTERM then never finishes.
test('stop() right after the list, before the watch request is answered, ends the loop', async () => {
  for (let round = 0; round < 5; round++) {
    let stopping: Promise<'stopped' | 'hung'> | undefined;
    const r: Reflector = reflector({
      onSynced: () => {
        stopping = stopWithin(r, 10_000);
      },
    });
    r.start();
    await eventually('synced', () => stopping !== undefined);
    expect(await stopping).toBe('stopped');
  }
});

test('stop() while the watch is open ends the loop', async () => {
  const r = reflector();
  r.start();
  await eventually('synced', () => r.hasSynced);
  await sleep(300);
  expect(await stopWithin(r, 10_000)).toBe('stopped');
});
