import { Badge } from '@mantine/core';

const colors: Record<string, string> = {
  pending: 'gray',
  running: 'blue',
  completed: 'green',
  failed: 'red',
  cancelled: 'orange',
  canceled: 'orange',
  interrupted: 'yellow',
  paused: 'yellow',
  dead: 'red',
  succeeded: 'green',
  requeued: 'teal',
  discarded: 'gray',
  healthy: 'green',
  ok: 'green',
  degraded: 'yellow',
  unhealthy: 'red',
  down: 'red',
  active: 'green',
  expired: 'gray',
  revoked: 'red',
  error: 'red',
  denied: 'orange',
};

/** StatusBadge colours a status word the same way on every page. */
export function StatusBadge({ status, size }: { status: string | undefined | null; size?: 'xs' | 'sm' | 'md' | 'lg' }) {
  const s = (status ?? 'unknown').toLowerCase();
  return (
    <Badge color={colors[s] ?? 'gray'} variant="light" size={size ?? 'sm'}>
      {s}
    </Badge>
  );
}
