import { Link } from 'react-router';
import { Anchor, Badge, Code, EmptyState, Group, Paper, Skeleton, Stack, Tabs, Text, Title, Tooltip } from '@mantine/core';
import { IconCircleCheck } from '@tabler/icons-react';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatAgo, formatNumber, formatTime, shortId } from '../../format';
import { useFailedExecutions, useStepFailures } from './queries';

function errorText(info: Record<string, unknown> | undefined): string {
  if (!info) return '';
  for (const k of ['message', 'error', 'reason']) {
    const v = info[k];
    if (typeof v === 'string' && v) return v;
  }
  return '';
}

function None({ what }: { what: string }) {
  return (
    <EmptyState size="sm" py="md" icon={<IconCircleCheck size={22} />} title={`No ${what}`} description="All clear." />
  );
}

function FailedExecutions() {
  const q = useFailedExecutions();
  if (q.error) return <ErrorAlert error={q.error} title="Could not load failed executions" />;
  if (q.isLoading) return <Skeleton height={80} />;
  const items = q.data?.items ?? [];
  if (items.length === 0) return <None what="failed executions" />;
  return (
    <Stack gap="xs" component="ul" style={{ listStyle: 'none', padding: 0, margin: 0 }} aria-label="Failed executions">
      {items.map((ex) => {
        const when = ex.completed_at ?? ex.updated_at;
        const err = errorText(ex.error_info);
        return (
          <li key={ex.id}>
            <Group justify="space-between" wrap="nowrap" gap="xs">
              <Anchor component={Link} to={`/executions/${encodeURIComponent(ex.id)}`} size="sm" fw={500} truncate>
                {ex.config_name ?? 'execution'}{' '}
                <Text span size="xs" c="dimmed" ff="monospace">
                  {ex.tag || shortId(ex.id)}
                </Text>
              </Anchor>
              <Tooltip label={formatTime(when)}>
                <Text size="xs" c="dimmed" style={{ whiteSpace: 'nowrap' }}>
                  {formatAgo(when)}
                </Text>
              </Tooltip>
            </Group>
            {err && (
              <Text size="xs" c="red" lineClamp={2} style={{ wordBreak: 'break-word' }}>
                {err}
              </Text>
            )}
          </li>
        );
      })}
      {(q.data?.total ?? 0) > items.length && (
        <Anchor component={Link} to="/executions?status=failed" size="xs">
          All {formatNumber(q.data?.total)} failed executions
        </Anchor>
      )}
    </Stack>
  );
}

function StepFailures() {
  const q = useStepFailures();
  if (q.error) return <ErrorAlert error={q.error} title="Could not load failed steps" />;
  if (q.isLoading) return <Skeleton height={80} />;
  const items = q.data?.items ?? [];
  if (items.length === 0) return <None what="failed steps" />;
  return (
    <Stack gap="xs" component="ul" style={{ listStyle: 'none', padding: 0, margin: 0 }} aria-label="Failed steps">
      {items.map((f) => {
        const info = f.error_info as Record<string, unknown> | undefined;
        const code = typeof info?.code === 'string' ? info.code : undefined;
        const cls = typeof info?.class === 'string' ? info.class : undefined;
        return (
          <li key={f.id ?? `${f.correlation_id}-${f.adapter_index}`}>
            <Group justify="space-between" wrap="nowrap" gap="xs">
              <Group gap={6} wrap="wrap" style={{ minWidth: 0 }}>
                <Code style={{ wordBreak: 'break-all' }}>
                  {f.route_id}/{f.adapter_name}
                </Code>
                {code && (
                  <Badge size="xs" color="red" variant="light" tt="none">
                    {code}
                  </Badge>
                )}
                {cls && (
                  <Badge size="xs" color="gray" variant="outline" tt="none">
                    {cls}
                  </Badge>
                )}
              </Group>
              <Stack gap={0} align="flex-end">
                <Tooltip label={formatTime(f.started_at)}>
                  <Text size="xs" c="dimmed" style={{ whiteSpace: 'nowrap' }}>
                    {formatAgo(f.started_at)}
                  </Text>
                </Tooltip>
                <Anchor
                  component={Link}
                  to={`/executions/${encodeURIComponent(f.execution_id)}`}
                  size="xs"
                  ff="monospace"
                  aria-label={`Execution ${f.execution_id}`}
                  style={{ whiteSpace: 'nowrap' }}
                >
                  {shortId(f.execution_id)}
                </Anchor>
              </Stack>
            </Group>
            <Text size="xs" c="dimmed" lineClamp={2} style={{ wordBreak: 'break-word' }}>
              {errorText(info) || 'failed'}
            </Text>
          </li>
        );
      })}
      {(q.data?.total ?? 0) > items.length && (
        <Text size="xs" c="dimmed">
          {formatNumber(q.data?.total)} failed steps in all
        </Text>
      )}
    </Stack>
  );
}

export function RecentFailures() {
  const ex = useFailedExecutions();
  const steps = useStepFailures();
  return (
    <Paper withBorder p="md" radius="md" h="100%">
      <Title order={4} mb="sm">
        Recent failures
      </Title>
      <Tabs defaultValue="executions" keepMounted={false}>
        <Tabs.List mb="sm">
          <Tabs.Tab value="executions">
            Executions{ex.data ? ` (${formatNumber(ex.data.total)})` : ''}
          </Tabs.Tab>
          <Tabs.Tab value="steps">Steps{steps.data ? ` (${formatNumber(steps.data.total)})` : ''}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="executions">
          <FailedExecutions />
        </Tabs.Panel>
        <Tabs.Panel value="steps">
          <StepFailures />
        </Tabs.Panel>
      </Tabs>
    </Paper>
  );
}
