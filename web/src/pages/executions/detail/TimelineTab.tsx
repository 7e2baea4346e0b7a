import { useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Badge, Code, Group, Skeleton, Stack, Switch, Text, Timeline } from '@mantine/core';
import { IconActivity, IconAlertTriangle, IconBolt, IconCircleCheck, IconCircleX, IconPlayerPause } from '@tabler/icons-react';
import { api, unwrap, type Schemas } from '../../../api/client';
import { ErrorAlert } from '../../../components/ErrorAlert';
import { StatusBadge } from '../../../components/StatusBadge';
import { formatTime } from '../../../format';
import { keys } from './api';

type Ev = Schemas['ExecutionEvent'];

function bullet(ev: Ev) {
  if (ev.type === 'dead_letter') return { color: 'red', icon: <IconAlertTriangle size={12} /> };
  if (ev.type === 'breaker') return { color: 'orange', icon: <IconBolt size={12} /> };
  if (ev.type === 'progress') return { color: 'gray', icon: <IconActivity size={12} /> };
  switch (ev.status) {
    case 'completed':
      return { color: 'green', icon: <IconCircleCheck size={12} /> };
    case 'failed':
    case 'cancelled':
      return { color: 'red', icon: <IconCircleX size={12} /> };
    case 'paused':
      return { color: 'yellow', icon: <IconPlayerPause size={12} /> };
  }
  return { color: 'blue', icon: <IconActivity size={12} /> };
}

function summary(ev: Ev): string {
  const d = ev.data ?? {};
  if (ev.type === 'progress') {
    const routes = (d.routes as { route: string; completed?: number }[] | undefined) ?? [];
    return routes.map((r) => `${r.route}: ${r.completed ?? 0}`).join(' · ') + (d.outstanding !== undefined ? ` — ${String(d.outstanding)} outstanding` : '');
  }
  if (ev.type === 'dead_letter') return [d.reason, d.error_class, d.adapter].filter(Boolean).map(String).join(' · ');
  if (ev.type === 'breaker') return `${String(d.adapter ?? '')} ${String(d.from ?? '')} → ${String(d.to ?? '')}`;
  return '';
}

export function TimelineTab({ id }: { id: string }) {
  const [showProgress, setShowProgress] = useState(false);
  const q = useQuery({
    queryKey: keys.timeline(id),
    queryFn: () => unwrap(api.GET('/api/v1/executions/{id}/timeline', { params: { path: { id } } })),
  });
  const all = useMemo(() => q.data?.events ?? [], [q.data]);
  const events = useMemo(() => (showProgress ? all : all.filter((e) => e.type !== 'progress')), [all, showProgress]);
  const progressCount = all.length - all.filter((e) => e.type !== 'progress').length;

  if (q.error) return <ErrorAlert error={q.error} title="Could not load the timeline" />;
  if (q.isLoading) return <Skeleton h={200} />;
  return (
    <Stack>
      <Switch
        label={`Show progress events (${progressCount})`}
        checked={showProgress}
        onChange={(e) => setShowProgress(e.currentTarget.checked)}
      />
      {events.length === 0 ? (
        <Text c="dimmed">No events recorded.</Text>
      ) : (
        <Timeline bulletSize={22} lineWidth={2} aria-label="Execution timeline">
          {events.map((ev) => {
            const b = bullet(ev);
            const text = summary(ev);
            return (
              <Timeline.Item
                key={ev.id}
                bullet={b.icon}
                color={b.color}
                title={
                  <Group gap="xs">
                    <Badge size="sm" variant="outline" color={b.color}>
                      {ev.type}
                    </Badge>
                    {ev.status && ev.type === 'status' && <StatusBadge status={ev.status} />}
                    {ev.route && <Code>{ev.route}</Code>}
                    {ev.reason && (
                      <Text size="sm" fw={500}>
                        {ev.reason}
                      </Text>
                    )}
                  </Group>
                }
              >
                {text && (
                  <Text size="xs" c="dimmed">
                    {text}
                  </Text>
                )}
                <Text size="xs" c="dimmed">
                  {formatTime(ev.created_at)}
                </Text>
              </Timeline.Item>
            );
          })}
        </Timeline>
      )}
    </Stack>
  );
}
