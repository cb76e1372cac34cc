import type { V1Pod } from '@kubernetes/client-node';
import type { VirtualMachineInstance, VirtualMachineInstanceMigration } from '../../../../api/index.js';
import { migrationHandover, migrationView } from '../../../../ipam/gc/migration.js';

const vmiRef = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  name: 'vm1',
  uid: 'vmi',
  controller: true,
};

function launcher(name: string, uid: string, node: string, phase = 'Running', migrationUid?: string): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid,
      ownerReferences: [vmiRef],
      ...(migrationUid ? { labels: { 'kubevirt.io/migrationJobUID': migrationUid } } : {}),
    },
    spec: { containers: [], nodeName: node, restartPolicy: 'Never' },
    status: { phase },
  };
}

const source = launcher('virt-launcher-vm1-aaaaa', 'src', 'node-a');
const target = launcher('virt-launcher-vm1-bbbbb', 'tgt', 'node-b', 'Running', 'm1');

function vmi(state?: object): VirtualMachineInstance {
  return {
    metadata: { name: 'vm1', namespace: 'ns', uid: 'vmi' },
    status: state ? { migrationState: state } : {},
  };
}

function vmim(phase: string, extra: object = {}): VirtualMachineInstanceMigration {
  return {
    metadata: { name: 'mig', namespace: 'ns', uid: 'm1', ...extra },
    spec: { vmiName: 'vm1' },
    status: { phase },
  };
}

const names = { sourcePod: source.metadata?.name, targetPod: target.metadata?.name, migrationUid: 'm1' };

describe('how a migration ended', () => {
  test.each([
    ['VMI completed without failed', vmi({ ...names, completed: true }), undefined, 'succeeded'],
    ['VMI completed and failed', vmi({ ...names, completed: true, failed: true }), undefined, 'failed'],
    ['VMI abort succeeded', vmi({ ...names, abortStatus: 'Succeeded' }), undefined, 'failed'],
    ['VMIM Succeeded, VMI not told yet', vmi(), vmim('Succeeded'), 'succeeded'],
    ['VMIM Failed before hand-off', vmi(), vmim('Failed'), 'failed'],
    ['VMIM running', vmi({ ...names }), vmim('Running'), 'running'],
    [
      'VMIM deleted while running (cancelled)',
      vmi(),
      vmim('Scheduling', { deletionTimestamp: 'x' }),
      'failed',
    ],
  ])('%s', (_what, v, m, outcome) => {
    expect(migrationView(v, m)?.outcome).toBe(outcome);
  });

  test('no migration at all', () => {
    expect(migrationView(vmi(), undefined)).toBeUndefined();
  });
});

describe('who holds the addresses afterwards', () => {
  const pods = [source, target];

  test('success makes the live target the holder, from whatever pod held them', () => {
    const v = vmi({ ...names, completed: true });
    const view = migrationView(v, undefined);
    expect(view).toBeDefined();
    const h = migrationHandover({
      vmi: v,
      view: view as NonNullable<typeof view>,
      pods,
      holderUids: ['src'],
    });
    expect(h).toEqual({
      move: true,
      to: { uid: 'tgt', name: 'virt-launcher-vm1-bbbbb', node: 'node-b' },
      from: 'any',
      reason: 'migration m1 succeeded: target pod virt-launcher-vm1-bbbbb holds the addresses',
    });
    // Already done: nothing to move.
    expect(
      migrationHandover({ vmi: v, view: view as NonNullable<typeof view>, pods, holderUids: ['tgt'] }).move,
    ).toBe(false);
  });

  test('success found by the label when the VMI does not name the target yet', () => {
    const view = migrationView(vmi(), vmim('Succeeded'));
    const h = migrationHandover({
      vmi: vmi(),
      view: view as NonNullable<typeof view>,
      pods,
      holderUids: ['src'],
    });
    expect(h).toMatchObject({ move: true, to: { uid: 'tgt' } });
  });

  test('an older migration never moves the holder back', () => {
    const current = vmi({ migrationUid: 'm2', completed: true, targetPod: 'other' });
    const h = migrationHandover({
      vmi: current,
      view: { uid: 'm1', outcome: 'succeeded' },
      pods,
      holderUids: ['x'],
    });
    expect(h).toEqual({ move: false, reason: "migration m1 is not the VMI's latest (m2)" });
  });

  test('success towards a target that is no longer alive moves nothing', () => {
    const deadTarget = launcher('virt-launcher-vm1-bbbbb', 'tgt', 'node-b', 'Succeeded', 'm1');
    const v = vmi({ ...names, completed: true });
    const view = migrationView(v, undefined) as NonNullable<ReturnType<typeof migrationView>>;
    expect(migrationHandover({ vmi: v, view, pods: [source, deadTarget], holderUids: ['src'] })).toEqual({
      move: false,
      reason: 'the target pod is not alive',
    });
  });

  test('failure gives records that name the dead target back to the source; none naming it, nothing moves', () => {
    const deadTarget = launcher('virt-launcher-vm1-bbbbb', 'tgt', 'node-b', 'Failed', 'm1');
    const v = vmi({ ...names, completed: true, failed: true });
    const view = migrationView(v, undefined) as NonNullable<ReturnType<typeof migrationView>>;
    expect(
      migrationHandover({ vmi: v, view, pods: [source, deadTarget], holderUids: ['tgt', 'src'] }),
    ).toEqual({
      move: true,
      to: { uid: 'src', name: 'virt-launcher-vm1-aaaaa', node: 'node-a' },
      from: ['tgt'],
      reason: 'migration m1 failed: source pod virt-launcher-vm1-aaaaa keeps the addresses',
    });
    expect(migrationHandover({ vmi: v, view, pods: [source, deadTarget], holderUids: ['src'] })).toEqual({
      move: false,
      reason: 'the source pod holds the addresses',
    });
  });

  test('a failed migration whose target pod is already deleted still gives its records back to the source', () => {
    const view = migrationView(vmi(), vmim('Failed')) as NonNullable<ReturnType<typeof migrationView>>;
    expect(migrationHandover({ vmi: vmi(), view, pods: [source], holderUids: ['tgt', 'src'] })).toMatchObject(
      {
        move: true,
        to: { uid: 'src' },
        from: ['tgt'],
      },
    );
  });

  test('a failure with no live source moves nothing (the VM rules decide)', () => {
    const deadSource = launcher('virt-launcher-vm1-aaaaa', 'src', 'node-a', 'Failed');
    const v = vmi({ ...names, completed: true, failed: true });
    const view = migrationView(v, undefined) as NonNullable<ReturnType<typeof migrationView>>;
    expect(migrationHandover({ vmi: v, view, pods: [deadSource, target], holderUids: ['tgt'] }).move).toBe(
      false,
    );
  });
});
