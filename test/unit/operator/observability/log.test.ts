import { ApiException } from '@kubernetes/client-node';
import { operatorLogger } from '../../../../operator/observability/log.js';

test('one JSON object per line with time, level, msg, context and the error described', () => {
  const lines: string[] = [];
  const log = operatorLogger('info', (l) => lines.push(l)).child({ controller: 'pools' });
  log.debug('not shown');
  log.error('handler failed', {
    object: 'p1',
    error: new ApiException(409, 'x', JSON.stringify({ message: 'the object has been modified' }), {}),
  });
  log.warn('network', { error: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  expect(lines).toHaveLength(2);
  const first = JSON.parse(lines[0] as string);
  expect(first).toEqual({
    time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    level: 'error',
    msg: 'handler failed',
    controller: 'pools',
    object: 'p1',
    error: 'the object has been modified (HTTP 409)',
  });
  expect(JSON.parse(lines[1] as string).error).toBe('connect ECONNREFUSED (ECONNREFUSED)');
});

test('fields that cannot be serialised do not lose the line', () => {
  const lines: string[] = [];
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  operatorLogger('debug', (l) => lines.push(l)).info('odd', { cyclic });
  expect(JSON.parse(lines[0] as string)).toMatchObject({
    level: 'info',
    msg: 'odd',
    note: 'fields were not serialisable',
  });
});
