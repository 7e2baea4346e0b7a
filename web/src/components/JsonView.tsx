import { Code } from '@mantine/core';

/** JsonView pretty-prints a value in a scrollable block. */
export function JsonView({ value, maxHeight = 400 }: { value: unknown; maxHeight?: number }) {
  let text: string;
  if (typeof value === 'string') {
    try {
      text = JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      text = value;
    }
  } else {
    text = JSON.stringify(value, null, 2) ?? '';
  }
  return (
    <Code block style={{ maxHeight, overflow: 'auto', whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
      {text}
    </Code>
  );
}
