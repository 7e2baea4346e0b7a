import { Alert, Card, Group, Paper, SimpleGrid, Skeleton, Stack, Table, Text, Title } from '@mantine/core';
import { IconInfoCircle } from '@tabler/icons-react';
import { ErrorAlert } from '../../../components/ErrorAlert';
import { formatDuration, formatNumber } from '../../../format';
import type { ExecutionStats } from './api';

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <Paper withBorder p="sm" radius="md">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="lg" fw={700}>
        {value}
      </Text>
    </Paper>
  );
}

export function OverviewTab({
  stats,
  isLoading,
  error,
}: {
  stats: ExecutionStats | undefined;
  isLoading: boolean;
  error: unknown;
}) {
  if (error) return <ErrorAlert error={error} title="Could not load the statistics" />;
  if (isLoading || !stats) return <Skeleton h={240} />;
  const t = stats.totals;
  const routes = stats.routes ?? [];
  const adapters = stats.adapters ?? [];
  return (
    <Stack>
      <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }}>
        <Stat label="Elapsed" value={formatDuration(stats.elapsed_ms)} />
        <Stat label="Messages done" value={formatNumber(t?.completed)} />
        <Stat label="Failed" value={formatNumber(t?.failed)} />
        <Stat label="Outstanding" value={formatNumber(stats.outstanding)} />
        <Stat label="Artefacts" value={formatNumber(stats.artefacts)} />
        <Stat label="Dead letters" value={formatNumber(stats.dead_letters)} />
      </SimpleGrid>
      {stats.lineage_notes && (
        <Alert variant="light" color="gray" icon={<IconInfoCircle />}>
          {stats.lineage_notes}
        </Alert>
      )}
      <Card withBorder padding="sm">
        <Group justify="space-between" mb="xs">
          <Title order={4}>Routes</Title>
          <Text size="xs" c="dimmed">
            {routes.some((r) => r.live) ? 'live counts from the engine' : 'counts derived after the run'}
          </Text>
        </Group>
        {routes.length === 0 ? (
          <Text c="dimmed" size="sm">
            No route has received a message yet.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={760}>
            <Table striped highlightOnHover aria-label="Route statistics">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Route</Table.Th>
                  <Table.Th ta="right">Received</Table.Th>
                  <Table.Th ta="right">Completed</Table.Th>
                  <Table.Th ta="right">Failed</Table.Th>
                  <Table.Th ta="right">Retried</Table.Th>
                  <Table.Th ta="right">Dead-lettered</Table.Th>
                  <Table.Th ta="right">Skipped</Table.Th>
                  <Table.Th ta="right">Emitted</Table.Th>
                  <Table.Th ta="right">In flight</Table.Th>
                  <Table.Th ta="right">msg/s</Table.Th>
                  <Table.Th ta="right">Avg</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {routes.map((r) => (
                  <Table.Tr key={r.route_id}>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {r.route_id}
                      </Text>
                    </Table.Td>
                    <Table.Td ta="right">{formatNumber(r.received)}</Table.Td>
                    <Table.Td ta="right">{formatNumber(r.completed)}</Table.Td>
                    <Table.Td ta="right" c={r.failed ? 'red' : undefined}>
                      {formatNumber(r.failed)}
                    </Table.Td>
                    <Table.Td ta="right">{formatNumber(r.retried)}</Table.Td>
                    <Table.Td ta="right" c={r.dead_lettered ? 'red' : undefined}>
                      {formatNumber(r.dead_lettered)}
                    </Table.Td>
                    <Table.Td ta="right">{formatNumber(r.skipped)}</Table.Td>
                    <Table.Td ta="right">{formatNumber(r.emitted)}</Table.Td>
                    <Table.Td ta="right">{formatNumber(r.in_flight)}</Table.Td>
                    <Table.Td ta="right">{formatNumber(r.rate, 1)}</Table.Td>
                    <Table.Td ta="right">{r.avg_duration_ms ? formatDuration(r.avg_duration_ms) : '—'}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>
      <Card withBorder padding="sm">
        <Title order={4} mb="xs">
          Adapters
        </Title>
        {adapters.length === 0 ? (
          <Text c="dimmed" size="sm">
            No adapter step has been recorded in the lineage yet.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table striped aria-label="Adapter statistics">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Route</Table.Th>
                  <Table.Th>Adapter</Table.Th>
                  <Table.Th ta="right">Completed</Table.Th>
                  <Table.Th ta="right">Failed</Table.Th>
                  <Table.Th ta="right">Skipped</Table.Th>
                  <Table.Th ta="right">Retrying</Table.Th>
                  <Table.Th ta="right">Avg</Table.Th>
                  <Table.Th ta="right">msg/s</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {adapters.map((a) => (
                  <Table.Tr key={`${a.route_id}-${a.adapter_index}-${a.adapter_name}`}>
                    <Table.Td ff="monospace">{a.route_id}</Table.Td>
                    <Table.Td>
                      {a.adapter_index}. {a.adapter_name}
                    </Table.Td>
                    <Table.Td ta="right">{formatNumber(a.completed)}</Table.Td>
                    <Table.Td ta="right" c={a.failed ? 'red' : undefined}>
                      {formatNumber(a.failed)}
                    </Table.Td>
                    <Table.Td ta="right">{formatNumber(a.skipped)}</Table.Td>
                    <Table.Td ta="right">{formatNumber(a.retrying)}</Table.Td>
                    <Table.Td ta="right">{formatDuration(a.avg_duration_ms)}</Table.Td>
                    <Table.Td ta="right">{formatNumber(a.throughput, 1)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>
    </Stack>
  );
}
