// What a child process prints, gathered as it comes: the test harnesses read it when the child exits.
import type { ChildProcess } from 'node:child_process';

export interface ChildOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Collects `child`'s stdout and stderr; `onStderrLine` sees each complete non-empty stderr line as
 * soon as it arrives (for children that report progress as JSON lines).
 */
export function collectOutput(child: ChildProcess, onStderrLine?: (line: string) => void): ChildOutput {
  const output = { stdout: '', stderr: '' };
  let partialLine = '';
  child.stdout?.on('data', (d: Buffer) => {
    output.stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    const text = d.toString();
    output.stderr += text;
    if (!onStderrLine) return;
    const lines = (partialLine + text).split('\n');
    partialLine = lines.pop() ?? '';
    for (const line of lines) if (line) onStderrLine(line);
  });
  return output;
}
