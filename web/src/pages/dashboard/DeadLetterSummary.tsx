import { useMemo } from 'react';
import { Link } from 'react-router';
import { Anchor, Button, EmptyState, Group, Paper, Progress, Skeleton, Stack, Table, Text, Title } from '@mantine/core';
import { IconInbox } from '@tabler/icons-react';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatAgo, formatNumber } from '../../format';
import { dlqSample, usePendingDeadLetters } from './queries';

interface RouteDepth {
  route: string;
  count: number;
  latest: string;
}

export function DeadLetterSummary() {
  const q = usePendingDeadLetters();
  const total = q.data?.total ?? 0;
  const byRoute = useMemo(() => {
    const m = new Map<string, RouteDepth>();
    for (const d of q.data?.items ?? []) {
      const r = m.get(d.route) ?? { route: d.route, count: 0, latest: d.created_at };
      r.count++;
      if (d.created_at > r.latest) r.latest = d.created_at;
      m.set(d.route, r);
    }
    return [...m.values()].sort((a, b) => b.count - a.count);
  }, [q.data]);
  const sampled = q.data?.items?.length ?? 0;
  return (
    <Paper withBorder p="md" radius="md" h="100%">
      <Group justify="space-between" mb="sm">
        <Title order={4}>Dead-letter queue</Title>
        <Button component={Link} to="/dead-letters" variant="light" size="xs">
          Open dead letters
        </Button>
      </Group>
      {q.error && <ErrorAlert error={q.error} title="Could not load dead letters" />}
      {q.isLoading && <Skeleton height={80} />}
      {q.data && total === 0 && (
        <EmptyState size="sm" py="md" icon={<IconInbox size={22} />} title="Queue is empty" description="No pending dead letters." />
      )}
      {q.data && total > 0 && (
        <Stack gap="xs">
          <Text size="sm">
            <Text span fw={700} fz="lg" aria-label="Pending dead letters">
              {formatNumber(total)}
            </Text>{' '}
            pending across {formatNumber(byRoute.length)} route{byRoute.length === 1 ? '' : 's'}
            {sampled < total ? ` (split from the newest ${formatNumber(dlqSample)})` : ''}
          </Text>
          <Table verticalSpacing={4} aria-label="Dead letters by route">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Route</Table.Th>
                <Table.Th ta="right">Pending</Table.Th>
                <Table.Th visibleFrom="xs">Latest</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {byRoute.map((r) => (
                <Table.Tr key={r.route}>
                  <Table.Td>
                    <Anchor component={Link} to={`/dead-letters?route=${encodeURIComponent(r.route)}`} size="sm">
                      {r.route}
                    </Anchor>
                    <Progress
                      value={(100 * r.count) / Math.max(1, sampled)}
                      color="orange"
                      size="xs"
                      mt={4}
                      aria-label={`Share of route ${r.route}`}
                    />
                  </Table.Td>
                  <Table.Td ta="right">
                    <Text size="sm" ff="monospace">
                      {formatNumber(r.count)}
                    </Text>
                  </Table.Td>
                  <Table.Td visibleFrom="xs">
                    <Text size="xs" c="dimmed">
                      {formatAgo(r.latest)}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Stack>
      )}
    </Paper>
  );
}
