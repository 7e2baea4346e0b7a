import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Anchor, Group, Pagination, Select, Skeleton, Stack, Table, Text } from '@mantine/core';
import { Link } from 'react-router';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert } from '../../../components/ErrorAlert';
import { formatBytes, formatTime } from '../../../format';
import { keys } from './api';

const PAGE = 25;

export function ArtefactsTab({ id, executionId, routes }: { id: string; executionId: string; routes: string[] }) {
  const [page, setPage] = useState(1);
  const [route, setRoute] = useState<string | null>(null);
  const offset = (page - 1) * PAGE;
  const q = useQuery({
    queryKey: keys.artefacts(id, { route, offset }),
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/storage/objects', {
          params: { query: { execution_id: id, route_id: route ?? undefined, limit: PAGE, offset, include_metadata: true } },
        }),
      ),
  });
  const items = q.data?.items ?? [];
  const total = q.data?.total ?? 0;
  const prefix = `executions/${executionId}/`;

  return (
    <Stack>
      <Group align="flex-end" wrap="wrap">
        <Select
          label="Written by route"
          placeholder="All routes"
          data={routes}
          value={route}
          onChange={(v) => {
            setRoute(v);
            setPage(1);
          }}
          clearable
          w={200}
        />
        <Anchor component={Link} to={`/storage?prefix=${encodeURIComponent(prefix)}`} size="sm">
          Browse the execution folder in storage
        </Anchor>
        <Text size="sm" c="dimmed" ml="auto">
          {total.toLocaleString()} objects
        </Text>
      </Group>
      {q.error ? (
        <ErrorAlert error={q.error} title="Could not list the artefacts" />
      ) : q.isLoading ? (
        <Skeleton h={200} />
      ) : items.length === 0 ? (
        <Text c="dimmed">This execution has stored no objects{route ? ' from that route' : ''}.</Text>
      ) : (
        <Table.ScrollContainer minWidth={680}>
          <Table striped highlightOnHover aria-label="Artefacts">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Key</Table.Th>
                <Table.Th>Title</Table.Th>
                <Table.Th>Route / stage</Table.Th>
                <Table.Th ta="right">Size</Table.Th>
                <Table.Th>Written</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((o) => {
                const md = (o.metadata ?? {}) as Record<string, unknown>;
                const rel = o.key.startsWith(prefix) ? o.key.slice(prefix.length) : o.key;
                return (
                  <Table.Tr key={o.key}>
                    <Table.Td maw={360}>
                      <Anchor component={Link} to={`/storage?key=${encodeURIComponent(o.key)}`} size="sm" ff="monospace" title={o.key}
                        style={{ wordBreak: 'break-all' }}>
                        {rel}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" lineClamp={1}>
                        {typeof md.title === 'string' ? md.title : '—'}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs" ff="monospace">
                        {[md.route, md.stage].filter(Boolean).map(String).join(' / ') || '—'}
                      </Text>
                    </Table.Td>
                    <Table.Td ta="right">{formatBytes(o.size)}</Table.Td>
                    <Table.Td>{formatTime(o.last_modified)}</Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {total > PAGE && <Pagination total={Math.ceil(total / PAGE)} value={page} onChange={setPage} aria-label="Artefact pages" />}
    </Stack>
  );
}
