import { useEffect, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import {
  ActionIcon,
  Button,
  Code,
  EmptyState,
  Group,
  Modal,
  Pagination,
  Paper,
  Select,
  Skeleton,
  Table,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { useDebouncedCallback } from '@mantine/hooks';
import { IconListSearch, IconRefresh } from '@tabler/icons-react';
import { api, unwrap, type Schemas } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { JsonView } from '../../components/JsonView';
import { StatusBadge } from '../../components/StatusBadge';
import { formatAgo, formatTime } from '../../format';
import { AUDIT_PAGE_SIZE, auditQuery, sinceInstant, useAuditFilters } from './auditFilters';

type Entry = Schemas['AuditEntry'];

const results = [
  { value: 'ok', label: 'ok' },
  { value: 'error', label: 'error' },
  { value: 'denied', label: 'denied' },
];

/** A text filter that updates the address as one types (debounced). */
function FilterInput({
  label,
  value,
  onChange,
  placeholder,
  error,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  placeholder?: string;
  error?: string;
}) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const commit = useDebouncedCallback(onChange, 350);
  return (
    <TextInput
      label={label}
      placeholder={placeholder}
      size="xs"
      value={text}
      error={error}
      onChange={(e) => {
        setText(e.currentTarget.value);
        commit(e.currentTarget.value);
      }}
      w={{ base: '100%', xs: 180 }}
    />
  );
}

/** AuditTab is the audit log: who did what to which path, and how it ended. */
export function AuditTab() {
  const [filters, page, setFilters] = useAuditFilters();
  const [open, setOpen] = useState<Entry | null>(null);
  const sinceBad = sinceInstant(filters.since) === null;

  const list = useQuery({
    queryKey: ['auth', 'audit', filters, page],
    // "since=24h" counts back from the moment of asking, not of rendering.
    queryFn: () => unwrap(api.GET('/api/v1/audit', { params: { query: auditQuery(filters, page) } })),
    placeholderData: keepPreviousData,
    enabled: !sinceBad,
  });
  const items = list.data?.items ?? [];
  const total = list.data?.total ?? 0;
  const narrowed = Object.values(filters).some((v) => v.trim());

  return (
    <>
      <Paper withBorder p="sm" radius="md" mb="sm">
        <Group gap="sm" align="flex-end" wrap="wrap">
          <FilterInput label="Actor" placeholder="token:ci or alice" value={filters.actor} onChange={(v) => setFilters({ actor: v })} />
          <FilterInput label="Action" placeholder="create-token" value={filters.action} onChange={(v) => setFilters({ action: v })} />
          <Select
            label="Result"
            size="xs"
            placeholder="Any"
            clearable
            data={results}
            value={filters.result || null}
            onChange={(v) => setFilters({ result: (v ?? '') as typeof filters.result })}
            w={{ base: '100%', xs: 120 }}
            comboboxProps={{ withinPortal: true }}
          />
          <FilterInput
            label="Target prefix"
            placeholder="/auth/tokens"
            value={filters.target}
            onChange={(v) => setFilters({ target: v })}
          />
          <FilterInput
            label="Since"
            placeholder="24h, 7d or RFC 3339"
            value={filters.since}
            onChange={(v) => setFilters({ since: v })}
            error={sinceBad ? 'e.g. 24h, 7d or 2026-01-31T00:00:00Z' : undefined}
          />
          {narrowed && (
            <Button size="xs" variant="subtle" onClick={() => setFilters({ actor: '', action: '', result: '', target: '', since: '' })}>
              Clear filters
            </Button>
          )}
          <Tooltip label="Refresh">
            <ActionIcon
              variant="default"
              aria-label="Refresh audit log"
              onClick={() => void list.refetch()}
              loading={list.isFetching}
              ml="auto"
            >
              <IconRefresh size={16} />
            </ActionIcon>
          </Tooltip>
        </Group>
      </Paper>

      {list.error ? <ErrorAlert error={list.error} title="Could not load the audit log" /> : null}
      {list.isPending && !sinceBad ? (
        <Paper withBorder p="md">
          {[0, 1, 2, 3].map((i) => (
            <Skeleton key={i} h={28} mb="sm" />
          ))}
        </Paper>
      ) : list.isSuccess && items.length === 0 ? (
        <Paper withBorder p="xl">
          <EmptyState
            icon={<IconListSearch size={28} />}
            withIndicatorBackground
            title="No audit entries"
            description={narrowed ? 'Nothing matches these filters.' : 'Changes made through the API are recorded here.'}
          />
        </Paper>
      ) : items.length > 0 ? (
        <Paper withBorder>
          <Table.ScrollContainer minWidth={900}>
            <Table verticalSpacing="xs" aria-label="Audit log" highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>At</Table.Th>
                  <Table.Th>Actor</Table.Th>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Target</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Result</Table.Th>
                  <Table.Th>Code</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((e) => (
                  <Table.Tr
                    key={e.id}
                    onClick={() => setOpen(e)}
                    onKeyDown={(ev) => {
                      if (ev.key === 'Enter' || ev.key === ' ') {
                        ev.preventDefault();
                        setOpen(e);
                      }
                    }}
                    tabIndex={0}
                    aria-label={`Audit entry ${e.action} by ${e.actor}`}
                    style={{ cursor: 'pointer' }}
                  >
                    <Table.Td>
                      <Tooltip label={formatTime(e.at)}>
                        <Text size="sm">{formatAgo(e.at)}</Text>
                      </Tooltip>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{e.actor}</Text>
                      <Text size="xs" c="dimmed">
                        {e.actor_kind}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" className="mono">
                        {e.action}
                      </Text>
                    </Table.Td>
                    <Table.Td maw={320}>
                      <Text size="sm" className="mono" truncate="end" title={`${e.method} ${e.target}`}>
                        <Text span c="dimmed" inherit>
                          {e.method}
                        </Text>{' '}
                        {e.target}
                      </Text>
                    </Table.Td>
                    <Table.Td>{e.status}</Table.Td>
                    <Table.Td>
                      <StatusBadge status={e.result} />
                    </Table.Td>
                    <Table.Td>
                      {e.error_code ? (
                        <Code>{e.error_code}</Code>
                      ) : (
                        <Text size="sm" c="dimmed">
                          —
                        </Text>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Paper>
      ) : null}
      {total > AUDIT_PAGE_SIZE && (
        <Group justify="center" mt="md">
          <Pagination
            total={Math.ceil(total / AUDIT_PAGE_SIZE)}
            value={page}
            onChange={(p) => setFilters({ page: p })}
            size="sm"
            aria-label="Audit pages"
          />
        </Group>
      )}
      {total > 0 && (
        <Text size="xs" c="dimmed" ta="center" mt="xs">
          {total} entr{total === 1 ? 'y' : 'ies'}
        </Text>
      )}
      <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={!!open} onClose={() => setOpen(null)} title="Audit entry" size="lg">
        {open && <JsonView value={open} maxHeight={520} />}
      </Modal>
    </>
  );
}
