import { Link, useNavigate } from 'react-router';
import { Anchor, Badge, Group, Skeleton, Table, Text, Tooltip } from '@mantine/core';
import { StatusBadge } from '../../../components/StatusBadge';
import { formatAgo, formatDuration, formatNumber, formatTime, shortId } from '../../../format';
import { durationMs, isActive, totalsOfRecord, usePolledProgress, type Execution, type Totals } from './progress';

/** How many running rows poll their live stats. */
const liveRowCap = 10;

function Counts({ totals, rate }: { totals: Totals | null; rate?: number | null }) {
  if (!totals) return <Text c="dimmed">—</Text>;
  return (
    <Group gap={6} wrap="nowrap">
      <Tooltip label="Completed / received">
        <Text size="sm" ff="monospace">
          {formatNumber(totals.completed)}/{formatNumber(totals.received)}
        </Text>
      </Tooltip>
      {totals.failed > 0 && (
        <Badge color="red" variant="light" size="xs">
          {formatNumber(totals.failed)} failed
        </Badge>
      )}
      {totals.deadLettered > 0 && (
        <Badge color="orange" variant="light" size="xs">
          {formatNumber(totals.deadLettered)} DLQ
        </Badge>
      )}
      {rate !== undefined && rate !== null && (
        <Text size="xs" c="dimmed">
          {formatNumber(rate, 1)} msg/s
        </Text>
      )}
    </Group>
  );
}

function LiveCounts({ id }: { id: string }) {
  const p = usePolledProgress(id, true);
  return <Counts totals={p.totals} rate={p.rate} />;
}

export function ExecutionsTable({ items, loading }: { items: Execution[]; loading: boolean }) {
  const navigate = useNavigate();
  let live = 0;
  const now = Date.now();
  return (
    <Table.ScrollContainer minWidth={820}>
      <Table highlightOnHover verticalSpacing="sm" aria-label="Executions">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Status</Table.Th>
            <Table.Th>Execution</Table.Th>
            <Table.Th>Config</Table.Th>
            <Table.Th>Started</Table.Th>
            <Table.Th>Duration</Table.Th>
            <Table.Th>Messages</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {loading &&
            Array.from({ length: 5 }, (_, i) => (
              <Table.Tr key={`skeleton-${i}`}>
                {Array.from({ length: 6 }, (_, j) => (
                  <Table.Td key={j}>
                    <Skeleton height={14} />
                  </Table.Td>
                ))}
              </Table.Tr>
            ))}
          {items.map((ex) => {
            const active = isActive(ex.status);
            const showLive = active && live++ < liveRowCap;
            const started = ex.started_at ?? ex.created_at;
            const href = `/executions/${encodeURIComponent(ex.id)}`;
            return (
              <Table.Tr key={ex.id} style={{ cursor: 'pointer' }} onClick={() => void navigate(href)}>
                <Table.Td>
                  <StatusBadge status={ex.status} />
                </Table.Td>
                <Table.Td>
                  <Anchor
                    component={Link}
                    to={href}
                    onClick={(e) => e.stopPropagation()}
                    ff="monospace"
                    size="sm"
                    title={ex.id}
                  >
                    {ex.tag || shortId(ex.id)}
                  </Anchor>
                  {ex.tag && (
                    <Text size="xs" c="dimmed" ff="monospace">
                      {shortId(ex.id)}
                    </Text>
                  )}
                  {ex.parent_execution_id && (
                    <Badge size="xs" variant="outline" color="grape" ml={4}>
                      replay
                    </Badge>
                  )}
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{ex.config_name ?? '—'}</Text>
                </Table.Td>
                <Table.Td>
                  <Tooltip label={formatTime(started)}>
                    <Text size="sm">{formatAgo(started, now)}</Text>
                  </Tooltip>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{formatDuration(durationMs(ex, now))}</Text>
                </Table.Td>
                <Table.Td>{showLive ? <LiveCounts id={ex.id} /> : <Counts totals={totalsOfRecord(ex)} />}</Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
