import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import {
  Anchor,
  Badge,
  Code,
  Drawer,
  Group,
  Pagination,
  Select,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
  Timeline,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconSearch } from '@tabler/icons-react';
import { Link } from 'react-router';
import { api, unwrap, type Schemas } from '../../../api/client';
import { ErrorAlert } from '../../../components/ErrorAlert';
import { JsonView } from '../../../components/JsonView';
import { StatusBadge } from '../../../components/StatusBadge';
import { formatDuration, formatTime, shortId } from '../../../format';
import { keys, type LineageEntry } from './api';

const PAGE = 25;
const statusColor: Record<string, string> = { completed: 'green', failed: 'red', skipped: 'gray', retrying: 'yellow' };

export function stageBadge(s: string) {
  return (
    <Badge size="sm" variant="light" color={statusColor[s] ?? 'gray'}>
      {s}
    </Badge>
  );
}

export function LineageTab({ id, executionId, routes }: { id: string; executionId: string; routes: string[] }) {
  const [page, setPage] = useState(1);
  const [route, setRoute] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [q] = useDebouncedValue(text.trim(), 300);
  const [selected, setSelected] = useState<string | null>(null);
  const offset = (page - 1) * PAGE;
  const filtered = !!route || !!status || !!q;
  const params = { route, status, q, offset };

  const query = useQuery({
    queryKey: keys.lineage(id, params),
    placeholderData: keepPreviousData,
    queryFn: () =>
      filtered
        ? unwrap(
            api.GET('/api/v1/lineage', {
              params: {
                query: {
                  execution_id: id,
                  route_id: route ?? undefined,
                  stage_status: (status ?? undefined) as 'completed' | 'failed' | 'skipped' | 'retrying' | undefined,
                  q: q || undefined,
                  limit: PAGE,
                  offset,
                },
              },
            }),
          )
        : unwrap(api.GET('/api/v1/executions/{id}/lineage', { params: { path: { id }, query: { limit: PAGE, offset } } })),
  });
  const items = query.data?.items ?? [];
  const total = query.data?.total ?? 0;

  return (
    <Stack>
      <Group align="flex-end" wrap="wrap">
        <Select
          label="Route"
          placeholder="All routes"
          data={routes}
          value={route}
          onChange={(v) => {
            setRoute(v);
            setPage(1);
          }}
          clearable
          w={180}
        />
        <Select
          label="Stage status"
          placeholder="Any status"
          data={['completed', 'failed', 'skipped', 'retrying']}
          value={status}
          onChange={(v) => {
            setStatus(v);
            setPage(1);
          }}
          clearable
          w={160}
        />
        <TextInput
          label="Metadata contains"
          placeholder="title, url…"
          leftSection={<IconSearch size={14} />}
          value={text}
          onChange={(e) => {
            setText(e.currentTarget.value);
            setPage(1);
          }}
          w={220}
        />
        <Text size="sm" c="dimmed" ml="auto">
          {total.toLocaleString()} rows
        </Text>
      </Group>
      {query.error ? (
        <ErrorAlert error={query.error} title="Could not load the lineage" />
      ) : query.isLoading ? (
        <Skeleton h={240} />
      ) : items.length === 0 ? (
        <Text c="dimmed">{filtered ? 'No lineage rows match the filter.' : 'No lineage recorded yet.'}</Text>
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table striped highlightOnHover aria-label="Lineage">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Message</Table.Th>
                <Table.Th>Route</Table.Th>
                <Table.Th>Stage</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th ta="right">Duration</Table.Th>
                <Table.Th>Started</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((e) => (
                <Table.Tr
                  key={e.id ?? `${e.correlation_id}-${e.adapter_index}-${e.started_at}`}
                  style={{ cursor: 'pointer' }}
                  onClick={() => setSelected(e.correlation_id)}
                >
                  <Table.Td>
                    <Anchor
                      component="button"
                      type="button"
                      ff="monospace"
                      size="sm"
                      aria-label={`Open message ${e.correlation_id}`}
                      onClick={(ev) => {
                        ev.stopPropagation();
                        setSelected(e.correlation_id);
                      }}
                    >
                      {shortId(e.correlation_id)}
                    </Anchor>
                  </Table.Td>
                  <Table.Td ff="monospace">{e.route_id}</Table.Td>
                  <Table.Td>
                    {e.adapter_index}. {e.stage_name || e.adapter_name}
                  </Table.Td>
                  <Table.Td>{stageBadge(e.stage_status)}</Table.Td>
                  <Table.Td ta="right">{formatDuration(e.duration_ms)}</Table.Td>
                  <Table.Td>{formatTime(e.started_at)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {total > PAGE && (
        <Pagination total={Math.ceil(total / PAGE)} value={page} onChange={setPage} aria-label="Lineage pages" />
      )}
      <MessageDrawer executionId={executionId} correlationId={selected} onSelect={setSelected} onClose={() => setSelected(null)} />
    </Stack>
  );
}

type ChainEntry = Schemas['LineageChainEntry'];

function MessageDrawer({
  executionId,
  correlationId,
  onSelect,
  onClose,
}: {
  executionId: string;
  correlationId: string | null;
  onSelect: (c: string) => void;
  onClose: () => void;
}) {
  const cid = correlationId ?? '';
  const chain = useQuery({
    queryKey: ['lineage', cid, 'chain'],
    queryFn: () => unwrap(api.GET('/api/v1/lineage/{correlation_id}/chain', { params: { path: { correlation_id: cid } } })),
    enabled: !!correlationId,
  });
  const children = useQuery({
    queryKey: ['lineage', cid, 'children'],
    queryFn: () =>
      unwrap(api.GET('/api/v1/lineage/{correlation_id}/children', { params: { path: { correlation_id: cid }, query: { limit: 50 } } })),
    enabled: !!correlationId,
  });

  // One item per message (depth), each with its adapter steps.
  const byMessage = new Map<string, ChainEntry[]>();
  for (const e of chain.data?.entries ?? []) {
    byMessage.set(e.correlation_id, [...(byMessage.get(e.correlation_id) ?? []), e]);
  }
  const messages = [...byMessage.values()].sort((a, b) => a[0].depth - b[0].depth);
  const childMessages = [...new Map((children.data?.items ?? []).map((c) => [c.correlation_id, c] as const)).values()];

  return (
    <Drawer
      opened={!!correlationId}
      onClose={onClose}
      position="right"
      size="lg"
      closeButtonProps={{ 'aria-label': 'Close message details' }}
      title={
        <Text fw={600}>
          Message <Code>{shortId(correlationId)}</Code>
        </Text>
      }
    >
      <Stack>
        <Text size="xs" c="dimmed" ff="monospace" style={{ wordBreak: 'break-all' }}>
          {correlationId}
        </Text>
        <Title order={5}>Chain</Title>
        {chain.error ? (
          <ErrorAlert error={chain.error} title="Could not load the chain" />
        ) : chain.isLoading ? (
          <Skeleton h={160} />
        ) : messages.length === 0 ? (
          <Text c="dimmed" size="sm">
            No lineage for this message.
          </Text>
        ) : (
          <>
            <Text size="sm" c="dimmed">
              {chain.data?.ancestors ?? 0} ancestors · {chain.data?.descendants ?? 0} descendants
              {chain.data?.truncated ? ' (truncated)' : ''}
            </Text>
            <Timeline bulletSize={18} lineWidth={2} active={messages.findIndex((m) => m[0].depth === 0)}>
              {messages.map((steps) => {
                const head = steps[0];
                const failed = steps.some((s) => s.stage_status === 'failed');
                return (
                  <Timeline.Item
                    key={head.correlation_id}
                    color={failed ? 'red' : head.depth === 0 ? 'blue' : 'gray'}
                    title={
                      <Group gap="xs">
                        <Badge size="xs" variant="light">
                          depth {head.depth}
                        </Badge>
                        <Code>{head.route_id}</Code>
                        {head.depth === 0 ? (
                          <Text size="sm" fw={600}>
                            this message
                          </Text>
                        ) : (
                          <Anchor
                            component="button"
                            type="button"
                            size="sm"
                            ff="monospace"
                            aria-label={`Show message ${head.correlation_id}`}
                            onClick={() => onSelect(head.correlation_id)}
                          >
                            {shortId(head.correlation_id)}
                          </Anchor>
                        )}
                      </Group>
                    }
                  >
                    <Stack gap={2} mt={4}>
                      {steps
                        .slice()
                        .sort((a, b) => a.adapter_index - b.adapter_index)
                        .map((s) => (
                          <Group key={`${s.adapter_index}-${s.stage_name}-${s.started_at}`} gap="xs" wrap="nowrap">
                            {stageBadge(s.stage_status)}
                            <Text size="xs">
                              {s.adapter_index}. {s.stage_name || s.adapter_name} · {formatDuration(s.duration_ms)}
                            </Text>
                          </Group>
                        ))}
                      {head.execution_id && head.execution_id !== executionId && (
                        <Anchor component={Link} to={`/executions/${head.execution_id}`} size="xs">
                          execution {shortId(head.execution_id)}
                        </Anchor>
                      )}
                    </Stack>
                  </Timeline.Item>
                );
              })}
            </Timeline>
            {messages
              .filter((m) => m[0].depth === 0)
              .flatMap((m) => m.filter((s) => s.metadata && Object.keys(s.metadata).length > 0).slice(-1))
              .map((s) => (
                <Stack key="meta" gap={4}>
                  <Title order={6}>Metadata</Title>
                  <JsonView value={s.metadata} />
                </Stack>
              ))}
            {messages
              .flatMap((m) => m)
              .filter((s) => s.depth === 0 && s.error_info)
              .slice(0, 1)
              .map((s) => (
                <Stack key="err" gap={4}>
                  <Title order={6}>Error</Title>
                  <JsonView value={s.error_info} />
                </Stack>
              ))}
          </>
        )}
        <Title order={5}>Children</Title>
        {children.error ? (
          <ErrorAlert error={children.error} title="Could not load the children" />
        ) : children.isLoading ? (
          <Skeleton h={80} />
        ) : childMessages.length === 0 ? (
          <Text c="dimmed" size="sm">
            No message was derived from this one.
          </Text>
        ) : (
          <Table aria-label="Child messages">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Message</Table.Th>
                <Table.Th>Route</Table.Th>
                <Table.Th>Status</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {childMessages.map((c: LineageEntry) => (
                <Table.Tr key={c.correlation_id}>
                  <Table.Td>
                    <Anchor
                      component="button"
                      type="button"
                      size="sm"
                      ff="monospace"
                      aria-label={`Show child message ${c.correlation_id}`}
                      onClick={() => onSelect(c.correlation_id)}
                    >
                      {shortId(c.correlation_id)}
                    </Anchor>
                  </Table.Td>
                  <Table.Td ff="monospace">{c.route_id}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={c.stage_status} size="xs" />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        {(children.data?.total ?? 0) > childMessages.length && (
          <Text size="xs" c="dimmed">
            {children.data?.total} child rows in all.
          </Text>
        )}
      </Stack>
    </Drawer>
  );
}
