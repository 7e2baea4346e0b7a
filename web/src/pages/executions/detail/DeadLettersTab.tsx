import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Anchor, Badge, Group, Pagination, Skeleton, Stack, Table, Text } from '@mantine/core';
import { Link } from 'react-router';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert } from '../../../components/ErrorAlert';
import { DeadLetterStateBadge, errorClassColor } from '../../../components/DeadLetterBadges';
import { formatTime, shortId } from '../../../format';
import { keys } from './api';

const PAGE = 25;

export function DeadLettersTab({ id }: { id: string }) {
  const [page, setPage] = useState(1);
  const offset = (page - 1) * PAGE;
  const q = useQuery({
    queryKey: keys.deadLetters(id, page),
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(api.GET('/api/v1/executions/{id}/dead-letters', { params: { path: { id }, query: { limit: PAGE, offset } } })),
  });
  const items = q.data?.items ?? [];
  const total = q.data?.total ?? 0;
  return (
    <Stack>
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          {total.toLocaleString()} dead letters (requeued ones included)
        </Text>
        <Anchor component={Link} to={`/dead-letters?execution=${encodeURIComponent(id)}`} size="sm">
          Manage in Dead letters
        </Anchor>
      </Group>
      {q.error ? (
        <ErrorAlert error={q.error} title="Could not load the dead letters" />
      ) : q.isLoading ? (
        <Skeleton h={160} />
      ) : items.length === 0 ? (
        <Text c="dimmed">No message was dead-lettered in this execution.</Text>
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table striped aria-label="Dead letters">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Message</Table.Th>
                <Table.Th>Route</Table.Th>
                <Table.Th>Adapter</Table.Th>
                <Table.Th>Reason</Table.Th>
                <Table.Th>Class</Table.Th>
                <Table.Th ta="right">Attempt</Table.Th>
                <Table.Th>When</Table.Th>
                <Table.Th>State</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((d) => (
                <Table.Tr key={d.id}>
                  <Table.Td ff="monospace">{shortId(d.correlation_id)}</Table.Td>
                  <Table.Td ff="monospace">{d.route}</Table.Td>
                  <Table.Td>{d.adapter ?? '—'}</Table.Td>
                  <Table.Td maw={320}>
                    <Text size="sm" lineClamp={2} title={d.reason}>
                      {d.reason}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge size="sm" variant="light" color={errorClassColor(d.error_class)}>
                      {d.error_class}
                    </Badge>
                  </Table.Td>
                  <Table.Td ta="right">{d.attempt}</Table.Td>
                  <Table.Td>{formatTime(d.created_at)}</Table.Td>
                  <Table.Td>
                    <DeadLetterStateBadge requeuedAt={d.requeued_at} />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {total > PAGE && <Pagination total={Math.ceil(total / PAGE)} value={page} onChange={setPage} aria-label="Dead letter pages" />}
    </Stack>
  );
}
