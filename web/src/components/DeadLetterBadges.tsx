import { Badge } from '@mantine/core';

/** errorClassColor is the badge colour of a dead letter's error class: permanent failures red, others orange. */
export function errorClassColor(errorClass: string | undefined | null): string {
  return errorClass === 'permanent' ? 'red' : 'orange';
}

/** DeadLetterStateBadge shows whether a dead letter was requeued or still waits. */
export function DeadLetterStateBadge({ requeuedAt }: { requeuedAt: string | undefined | null }) {
  return requeuedAt ? (
    <Badge size="sm" color="teal" variant="light">
      requeued
    </Badge>
  ) : (
    <Badge size="sm" color="red" variant="light">
      pending
    </Badge>
  );
}
