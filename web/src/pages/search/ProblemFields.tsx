import { List, Text } from '@mantine/core';
import { ApiError } from '../../api/client';

/**
 * ProblemFields lists the per-field messages of a validation problem
 * (`errors: [{message, location}]`), which ErrorAlert does not show.
 */
export function ProblemFields({ error }: { error: unknown }) {
  if (!(error instanceof ApiError)) return null;
  const errs = error.problem?.errors ?? [];
  if (errs.length === 0) return null;
  return (
    <List size="sm" spacing={2} aria-label="Field errors">
      {errs.map((e, i) => (
        <List.Item key={i}>
          {e.location && (
            <Text span className="mono" size="xs" c="red">
              {e.location.replace(/^body\./, '')}
            </Text>
          )}
          {e.location ? ': ' : ''}
          {e.message}
        </List.Item>
      ))}
    </List>
  );
}
