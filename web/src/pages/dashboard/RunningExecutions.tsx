import { Link } from 'react-router';
import { Anchor, Badge, EmptyState, Group, Paper, Progress, Skeleton, Stack, Table, Text, Title, Tooltip } from '@mantine/core';
import { IconPlayerPause } from '@tabler/icons-react';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatAgo, formatDuration, formatNumber, formatTime, shortId } from '../../format';
import { durationMs, useStreamProgress, usePolledProgress, type Execution } from '../executions/list/progress';
import { runningLimit, useLatestExecutions, useRunning } from './queries';
import { StatusBadge } from '../../components/StatusBadge';

/**
 * Browsers allow ~6 HTTP/1.1 connections per origin: only the first few
 * running executions follow their event stream, the rest poll their stats.
 */
export const streamCap = 3;

function RunningRow({ ex, stream }: { ex: Execution; stream: boolean }) {
  const streamed = useStreamProgress(ex.id, stream);
  const polled = usePolledProgress(ex.id, !stream);
  const p = stream ? streamed : polled;
  const t = p.totals;
  const href = `/executions/${encodeURIComponent(ex.id)}`;
  const done = t && t.received > 0 ? (100 * (t.completed + t.failed + t.skipped)) / t.received : 0;
  const started = ex.started_at ?? ex.created_at;
  return (
    <Table.Tr>
      <Table.Td>
        <Anchor component={Link} to={href} fw={500} size="sm">
          {ex.config_name ?? 'execution'}
        </Anchor>
        <Text size="xs" c="dimmed" ff="monospace" title={ex.id}>
          {ex.tag || shortId(ex.id)}
        </Text>
      </Table.Td>
      <Table.Td>
        <Tooltip label={formatTime(started)}>
          <Text size="sm">{formatAgo(started)}</Text>
        </Tooltip>
        <Text size="xs" c="dimmed">
          {formatDuration(durationMs(ex))}
        </Text>
      </Table.Td>
      <Table.Td miw={160}>
        {t ? (
          <Stack gap={4}>
            <Text size="sm" ff="monospace">
              {formatNumber(t.completed)} / {formatNumber(t.received)}
            </Text>
            <Progress value={done} size="sm" aria-label={`Progress of ${ex.tag || ex.id}`} />
          </Stack>
        ) : (
          <Skeleton height={14} width={90} />
        )}
      </Table.Td>
      <Table.Td>
        <Group gap={4}>
          {t && t.inFlight > 0 && (
            <Badge variant="light" color="blue" size="sm">
              {formatNumber(t.inFlight)} in flight
            </Badge>
          )}
          {t && t.failed > 0 && (
            <Badge variant="light" color="red" size="sm">
              {formatNumber(t.failed)} failed
            </Badge>
          )}
          {t && t.deadLettered > 0 && (
            <Badge variant="light" color="orange" size="sm">
              {formatNumber(t.deadLettered)} DLQ
            </Badge>
          )}
          {t && t.inFlight === 0 && t.failed === 0 && t.deadLettered === 0 && (
            <Text size="xs" c="dimmed">
              —
            </Text>
          )}
        </Group>
      </Table.Td>
      <Table.Td ta="right">
        <Tooltip label={p.source === 'stream' ? 'Live from the event stream' : 'From stats, every 2 s'}>
          <Text size="sm" fw={600} ff="monospace" aria-label={`Throughput of ${ex.tag || ex.id}`}>
            {p.rate === null ? '—' : `${formatNumber(p.rate, 1)} msg/s`}
          </Text>
        </Tooltip>
      </Table.Td>
    </Table.Tr>
  );
}

export function RunningExecutions() {
  const running = useRunning();
  const items = running.data?.items ?? [];
  const more = (running.data?.total ?? 0) - items.length;
  const idle = Boolean(running.data && items.length === 0);
  const latest = useLatestExecutions(idle);
  const last = latest.data?.items?.[0];
  return (
    <Paper withBorder p="md" radius="md">
      <Group justify="space-between" mb="sm">
        <Title order={4}>Running executions</Title>
        <Anchor component={Link} to="/executions?status=running" size="sm">
          All running
        </Anchor>
      </Group>
      {running.error && <ErrorAlert error={running.error} title="Could not load running executions" />}
      {running.isLoading && <Skeleton height={60} />}
      {running.data && items.length === 0 && (
        <EmptyState
          size="sm"
          py="md"
          icon={<IconPlayerPause size={22} />}
          title="Nothing running"
          description={
            <>
              Start one from the <Anchor component={Link} to="/executions">executions</Anchor> page.
            </>
          }
        >
          {last && (
            <Group gap={6} justify="center" mt="xs">
              <Text size="sm" c="dimmed">
                Last run:
              </Text>
              <Anchor component={Link} to={`/executions/${encodeURIComponent(last.id)}`} size="sm">
                {last.config_name ?? 'execution'} {last.tag ? `(${last.tag})` : ''}
              </Anchor>
              <StatusBadge status={last.status} />
              <Text size="xs" c="dimmed">
                {formatAgo(last.completed_at ?? last.updated_at)}
              </Text>
            </Group>
          )}
        </EmptyState>
      )}
      {items.length > 0 && (
        <Table.ScrollContainer minWidth={640}>
          <Table verticalSpacing="xs" aria-label="Running executions">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Execution</Table.Th>
                <Table.Th>Started</Table.Th>
                <Table.Th>Completed / received</Table.Th>
                <Table.Th>Issues</Table.Th>
                <Table.Th ta="right">Throughput</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.slice(0, runningLimit).map((ex, i) => (
                <RunningRow key={ex.id} ex={ex} stream={i < streamCap} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {more > 0 && (
        <Text size="xs" c="dimmed" mt="xs">
          and {formatNumber(more)} more —{' '}
          <Anchor component={Link} to="/executions?status=running" size="xs">
            see all
          </Anchor>
        </Text>
      )}
    </Paper>
  );
}
