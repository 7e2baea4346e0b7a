import { Alert, Code, Text } from '@mantine/core';
import { IconAlertCircle } from '@tabler/icons-react';
import { ApiError } from '../api/client';

/** ErrorAlert shows an API failure with its stable code and hint. */
export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : undefined;
  return (
    <Alert color="red" icon={<IconAlertCircle />} title={title ?? 'Request failed'} role="alert" data-kind="error">
      <Text size="sm">{error instanceof Error ? error.message : String(error)}</Text>
      {e && (
        <Text size="xs" mt={4}>
          <Code>{e.code}</Code>
          {e.hint ? ` — ${e.hint}` : ''}
        </Text>
      )}
    </Alert>
  );
}
