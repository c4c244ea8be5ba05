/**
 * A `node --test` reporter that writes nothing until the run ends, then one block per failed
 * test: where it is, its name and the first lines of its error. `npm test` adds it beside the
 * TAP stream so that the last lines of a long run (often all a CI log keeps) say what failed,
 * which the TAP output says only hundreds of lines earlier.
 */

interface FailEvent {
  type: 'test:fail';
  data: {
    name: string;
    file?: string;
    line?: number;
    details: { error?: unknown };
  };
}

interface OtherEvent {
  type: string;
  data?: unknown;
}

const ERROR_LINES = 12;

/** A suite fails by its failed subtests alone; those are listed, not the suite again. */
function onlySubtestsFailed(error: unknown): boolean {
  return (error as { failureType?: string } | undefined)?.failureType === 'subtestsFailed';
}

function describeError(error: unknown): string {
  // The runner wraps what the test threw; its cause is what the test's author wrote.
  const thrown = (error as { cause?: unknown } | undefined)?.cause ?? error;
  const text = thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown);
  return text
    .split('\n')
    .filter((line) => !/^\s+at .*\(?node:/.test(line))
    .slice(0, ERROR_LINES)
    .join('\n');
}

export function failureBlock(event: FailEvent['data'], cwd = process.cwd()): string {
  const file = event.file?.startsWith(`${cwd}/`) ? event.file.slice(cwd.length + 1) : event.file;
  const where = file === undefined ? '' : `${file}${event.line === undefined ? '' : `:${event.line}`} `;
  const error = describeError(event.details.error).replace(/^/gm, '    ');
  return `  ✗ ${where}› ${event.name}\n${error}\n`;
}

export default async function* failuresReporter(source: AsyncIterable<FailEvent | OtherEvent>): AsyncGenerator<string> {
  const failed: string[] = [];
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const { data } = event as FailEvent;
    if (onlySubtestsFailed(data.details.error)) continue;
    failed.push(failureBlock(data));
  }
  if (failed.length === 0) return;
  yield `\n${failed.length} failed:\n${failed.join('\n')}`;
}
