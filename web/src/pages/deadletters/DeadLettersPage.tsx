import { useEffect, useMemo, useState } from 'react';
import {
  ActionIcon,
  Alert,
  Anchor,
  Badge,
  Button,
  Checkbox,
  Group,
  List,
  Menu,
  NumberInput,
  Pagination,
  Paper,
  ScrollArea,
  SegmentedControl,
  Select,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
  Tooltip,
  VisuallyHidden,
} from '@mantine/core';
import { useDebouncedCallback } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { IconChevronDown, IconChevronRight, IconInbox, IconRefresh, IconTrash } from '@tabler/icons-react';
import { PageHeader } from '../../components/PageHeader';
import { ErrorAlert } from '../../components/ErrorAlert';
import { ConfirmModal } from '../../components/ConfirmModal';
import { DeadLetterStateBadge, errorClassColor } from '../../components/DeadLetterBadges';
import { formatAgo, formatTime, shortId } from '../../format';
import { DeadLetterDrawer } from './DeadLetterDrawer';
import {
  PAGE_SIZE,
  discardIds,
  discardMatching,
  listDeadLetters,
  narrowed,
  requeue,
  requeueSummary,
  type DeadLetter,
  type DeadLetterFilters,
  type RequeueResult,
} from './deadLetterApi';

/** What a confirm modal is about to do. */
type Pending =
  | { action: 'requeue'; ids: string[] }
  | { action: 'requeue'; all: true; count: number }
  | { action: 'discard'; ids: string[] }
  | { action: 'discard'; all: true; count: number };

const errorClasses = [
  { value: 'permanent', label: 'permanent' },
  { value: 'retryable', label: 'retryable' },
  { value: 'retry_after', label: 'retry_after' },
];

function useFilters(): [DeadLetterFilters, number, (f: Partial<DeadLetterFilters> & { page?: number }) => void] {
  const [params, setParams] = useSearchParams();
  const stateParam = params.get('state');
  const filters: DeadLetterFilters = {
    execution: params.get('execution') ?? '',
    route: params.get('route') ?? '',
    adapter: params.get('adapter') ?? '',
    errorClass: params.get('error_class') ?? '',
    state: stateParam === 'requeued' || stateParam === 'all' ? stateParam : 'pending',
  };
  const page = Math.max(1, Number(params.get('page')) || 1);
  const set = (f: Partial<DeadLetterFilters> & { page?: number }) =>
    setParams(
      (cur) => {
        const q = new URLSearchParams(cur);
        const put = (k: string, v: string | undefined) => (v ? q.set(k, v) : q.delete(k));
        if (f.execution !== undefined) put('execution', f.execution.trim());
        if (f.route !== undefined) put('route', f.route.trim());
        if (f.adapter !== undefined) put('adapter', f.adapter.trim());
        if (f.errorClass !== undefined) put('error_class', f.errorClass);
        if (f.state !== undefined) put('state', f.state === 'pending' ? '' : f.state);
        put('page', f.page && f.page > 1 ? String(f.page) : '');
        return q;
      },
      { replace: true },
    );
  return [filters, page, set];
}

/** A text filter that updates the address as one types (debounced). */
function FilterInput({ label, value, onChange, placeholder }: { label: string; value: string; onChange: (v: string) => void; placeholder?: string }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const commit = useDebouncedCallback(onChange, 350);
  return (
    <TextInput
      label={label}
      placeholder={placeholder}
      size="xs"
      value={text}
      onChange={(e) => {
        setText(e.currentTarget.value);
        commit(e.currentTarget.value);
      }}
      w={{ base: '100%', xs: 180 }}
    />
  );
}

function RequeueOutcome({ result, onClose }: { result: RequeueResult; onClose: () => void }) {
  return (
    <Alert color="teal" title="Requeued" withCloseButton onClose={onClose} closeButtonLabel="Dismiss requeue result">
      <Text size="sm">
        {result.requeued} dead letter{result.requeued === 1 ? '' : 's'} went back into their pipelines.
      </Text>
      {(result.executions ?? []).length > 0 && (
        <List size="sm" mt={4}>
          {(result.executions ?? []).map((e) => (
            <List.Item key={e.execution_id}>
              {e.requeued} into{' '}
              <Anchor component={Link} to={`/executions/${encodeURIComponent(e.execution_id)}`} size="sm" className="mono">
                {shortId(e.execution_id)}
              </Anchor>{' '}
              ({e.status})
              {e.source_execution_id && (
                <>
                  , a new run of the finished{' '}
                  <Anchor component={Link} to={`/executions/${encodeURIComponent(e.source_execution_id)}`} size="sm" className="mono">
                    {shortId(e.source_execution_id)}
                  </Anchor>
                </>
              )}
            </List.Item>
          ))}
        </List>
      )}
    </Alert>
  );
}

/**
 * DeadLettersPage lists the messages the engine gave up on, filtered by
 * execution, route, adapter, error class and state (?execution= etc.),
 * and requeues or discards them one by one or in bulk.
 */
export default function DeadLettersPage() {
  const [filters, page, setFilters] = useFilters();
  const qc = useQueryClient();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [openId, setOpenId] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [delay, setDelay] = useState<number | string>(0);
  const [outcome, setOutcome] = useState<RequeueResult | null>(null);

  const list = useQuery({
    queryKey: ['dead-letters', 'list', filters, page],
    queryFn: () => listDeadLetters(filters, page),
    placeholderData: keepPreviousData,
  });
  const items = useMemo(() => list.data?.items ?? [], [list.data]);
  const total = list.data?.total ?? 0;
  const filterKey = JSON.stringify(filters);
  useEffect(() => setSelected(new Set()), [filterKey]);

  const byId = useMemo(() => new Map(items.map((d) => [d.id, d])), [items]);
  const selectedIds = [...selected];
  const selectedRequeued = selectedIds.some((id) => byId.get(id)?.requeued_at);

  const refresh = () => qc.invalidateQueries({ queryKey: ['dead-letters'] });

  const requeueM = useMutation({
    mutationFn: (p: Pending) =>
      requeue({
        ids: 'ids' in p ? p.ids : undefined,
        filters: 'all' in p ? filters : undefined,
        delaySeconds: Number(delay) || undefined,
      }),
    onSuccess: (res, p) => {
      notifications.show({ color: 'teal', title: 'Dead letters requeued', message: requeueSummary(res), autoClose: 8000 });
      setOutcome(res);
      if ('ids' in p) setSelected((s) => new Set([...s].filter((id) => !p.ids.includes(id))));
      setPending(null);
      void refresh();
      void qc.invalidateQueries({ queryKey: ['executions'] });
    },
    onError: (err) => notifications.show({ color: 'red', title: 'Requeue failed', message: err.message }),
  });

  const discardM = useMutation({
    mutationFn: async (p: Pending): Promise<{ deleted: number; failed: { id: string; error: unknown }[]; ids?: string[] }> => {
      if ('ids' in p) {
        const r = await discardIds(p.ids);
        return { deleted: r.deleted.length, failed: r.failed, ids: r.deleted };
      }
      const r = await discardMatching(filters);
      return { deleted: r.deleted, failed: [] };
    },
    onSuccess: (r) => {
      if (r.failed.length > 0) {
        const first = r.failed[0].error;
        notifications.show({
          color: 'orange',
          title: `Discarded ${r.deleted}, ${r.failed.length} failed`,
          message: `${first instanceof Error ? first.message : String(first)}`,
        });
      } else {
        notifications.show({ color: 'gray', title: 'Dead letters discarded', message: `${r.deleted} dead letter${r.deleted === 1 ? '' : 's'} discarded.` });
      }
      if (r.ids) setSelected((s) => new Set([...s].filter((id) => !r.ids!.includes(id))));
      else setSelected(new Set());
      if (openId && (!r.ids || r.ids.includes(openId))) setOpenId(null);
      setPending(null);
      // Only the lists: the drawer's letter may be gone, and asking for it again would 404.
      void qc.invalidateQueries({ queryKey: ['dead-letters', 'list'] });
    },
    onError: (err) => notifications.show({ color: 'red', title: 'Discard failed', message: err.message }),
  });

  const pageIds = items.map((d) => d.id);
  const allOnPage = pageIds.length > 0 && pageIds.every((id) => selected.has(id));
  const someOnPage = pageIds.some((id) => selected.has(id));
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  const count = pending ? ('ids' in pending ? pending.ids.length : pending.count) : 0;
  const noun = (n: number) => `${n} dead letter${n === 1 ? '' : 's'}`;
  const busy = requeueM.isPending || discardM.isPending;

  return (
    <Stack gap="md">
      <PageHeader
        title="Dead letters"
        description="Messages the pipelines gave up on. Requeue them once the cause is fixed, or discard them."
        actions={
          <>
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <Button size="xs" variant="default" rightSection={<IconChevronDown size={14} />} disabled={total === 0}>
                  All matching
                </Button>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>{noun(total)} match the filters</Menu.Label>
                <Menu.Item
                  leftSection={<IconRefresh size={14} />}
                  disabled={filters.state === 'requeued'}
                  onClick={() => setPending({ action: 'requeue', all: true, count: total })}
                >
                  Requeue all matching
                </Menu.Item>
                <Menu.Item
                  color="red"
                  leftSection={<IconTrash size={14} />}
                  onClick={() => setPending({ action: 'discard', all: true, count: total })}
                >
                  Discard all matching
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
            <Tooltip label="Refresh">
              <ActionIcon variant="default" aria-label="Refresh dead letters" onClick={() => void refresh()} loading={list.isFetching}>
                <IconRefresh size={16} />
              </ActionIcon>
            </Tooltip>
          </>
        }
      />

      <Paper withBorder p="sm" radius="md">
        <Group gap="sm" align="flex-end" wrap="wrap">
          <FilterInput label="Execution" placeholder="id or tag" value={filters.execution} onChange={(v) => setFilters({ execution: v })} />
          <FilterInput label="Route" value={filters.route} onChange={(v) => setFilters({ route: v })} />
          <FilterInput label="Adapter" value={filters.adapter} onChange={(v) => setFilters({ adapter: v })} />
          <Select
            label="Error class"
            size="xs"
            placeholder="Any"
            clearable
            data={errorClasses}
            value={filters.errorClass || null}
            onChange={(v) => setFilters({ errorClass: v ?? '' })}
            w={{ base: '100%', xs: 150 }}
          />
          <Stack gap={2}>
            <Text size="xs" fw={500} id="dl-state-label">
              State
            </Text>
            <SegmentedControl
              size="xs"
              aria-labelledby="dl-state-label"
              value={filters.state}
              onChange={(v) => setFilters({ state: v as DeadLetterFilters['state'] })}
              data={[
                { value: 'pending', label: 'Pending' },
                { value: 'requeued', label: 'Requeued' },
                { value: 'all', label: 'All' },
              ]}
            />
          </Stack>
          {(narrowed(filters) || filters.state !== 'pending') && (
            <Button
              size="xs"
              variant="subtle"
              onClick={() => setFilters({ execution: '', route: '', adapter: '', errorClass: '', state: 'pending' })}
            >
              Clear filters
            </Button>
          )}
        </Group>
      </Paper>

      {outcome && <RequeueOutcome result={outcome} onClose={() => setOutcome(null)} />}

      {selected.size > 0 && (
        <Paper withBorder p="xs" radius="md" bg="var(--mantine-primary-color-light)" role="region" aria-label="Selection actions">
          <Group justify="space-between" wrap="wrap" gap="xs">
            <Text size="sm" fw={500}>
              {selected.size} selected
            </Text>
            <Group gap="xs">
              <Tooltip label="Some selected dead letters were already requeued" disabled={!selectedRequeued}>
                <Button
                  size="xs"
                  leftSection={<IconRefresh size={14} />}
                  disabled={selectedRequeued}
                  onClick={() => setPending({ action: 'requeue', ids: selectedIds })}
                >
                  Requeue selected
                </Button>
              </Tooltip>
              <Button
                size="xs"
                color="red"
                variant="light"
                leftSection={<IconTrash size={14} />}
                onClick={() => setPending({ action: 'discard', ids: selectedIds })}
              >
                Discard selected
              </Button>
              <Button size="xs" variant="subtle" onClick={() => setSelected(new Set())}>
                Clear selection
              </Button>
            </Group>
          </Group>
        </Paper>
      )}

      {list.isError && <ErrorAlert error={list.error} title="Could not list dead letters" />}

      {list.isPending ? (
        <Stack gap="xs">
          {Array.from({ length: 6 }, (_, i) => (
            <Skeleton key={i} h={34} />
          ))}
        </Stack>
      ) : items.length === 0 && !list.isError ? (
        <Paper withBorder p="xl" radius="md">
          <Stack align="center" gap={4}>
            <IconInbox size={36} color="var(--mantine-color-dimmed)" />
            <Text fw={500}>No dead letters</Text>
            <Text size="sm" c="dimmed" ta="center">
              {narrowed(filters) || filters.state !== 'pending'
                ? 'Nothing matches these filters.'
                : 'Every message was processed or is still on its way.'}
            </Text>
          </Stack>
        </Paper>
      ) : (
        items.length > 0 && (
          <Paper withBorder radius="md">
            <ScrollArea type="auto">
              <Table highlightOnHover verticalSpacing="xs" miw={820} aria-label="Dead letters">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th w={40}>
                      <Checkbox
                        aria-label="Select all on this page"
                        checked={allOnPage}
                        indeterminate={someOnPage && !allOnPage}
                        onChange={() =>
                          setSelected((s) => {
                            const n = new Set(s);
                            if (allOnPage) pageIds.forEach((id) => n.delete(id));
                            else pageIds.forEach((id) => n.add(id));
                            return n;
                          })
                        }
                      />
                    </Table.Th>
                    <Table.Th>Dead-lettered</Table.Th>
                    <Table.Th>Execution</Table.Th>
                    <Table.Th>Route / adapter</Table.Th>
                    <Table.Th>Error</Table.Th>
                    <Table.Th ta="right">Attempt</Table.Th>
                    <Table.Th>State</Table.Th>
                    <Table.Th w={40}>
                      <VisuallyHidden>Details</VisuallyHidden>
                    </Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {items.map((d) => (
                    <Row key={d.id} d={d} checked={selected.has(d.id)} onToggle={() => toggle(d.id)} onOpen={() => setOpenId(d.id)} />
                  ))}
                </Table.Tbody>
              </Table>
            </ScrollArea>
          </Paper>
        )
      )}

      {total > PAGE_SIZE && (
        <Group justify="space-between">
          <Text size="sm" c="dimmed">
            {noun(total)}
          </Text>
          <Pagination total={Math.ceil(total / PAGE_SIZE)} value={page} onChange={(p) => setFilters({ page: p })} size="sm" />
        </Group>
      )}
      {total > 0 && total <= PAGE_SIZE && (
        <Text size="sm" c="dimmed">
          {noun(total)}
        </Text>
      )}

      <DeadLetterDrawer
        id={openId}
        initial={openId ? byId.get(openId) : undefined}
        onClose={() => setOpenId(null)}
        onRequeue={(dl) => setPending({ action: 'requeue', ids: [dl.id] })}
        onDiscard={(dl) => setPending({ action: 'discard', ids: [dl.id] })}
      />

      <ConfirmModal
        opened={pending?.action === 'requeue'}
        onClose={() => !busy && setPending(null)}
        title={`Requeue ${noun(count)}?`}
        zIndex={400}
        cancelDisabled={busy}
        confirmLabel="Confirm requeue"
        confirmIcon={<IconRefresh size={16} />}
        loading={requeueM.isPending}
        onConfirm={() => pending && requeueM.mutate(pending)}
      >
        <Text size="sm">
          {pending && 'all' in pending
            ? `Every pending dead letter matching the filters (${noun(count)}, oldest first, at most 1000) goes back to its queue.`
            : `The ${count === 1 ? 'message goes' : 'messages go'} back to ${count === 1 ? 'its' : 'their'} queue.`}{' '}
          A finished execution gets a new child execution that runs them.
        </Text>
        <NumberInput
          label="Delay before delivery (seconds)"
          description="0 delivers at once; at most 24 h."
          min={0}
          max={86400}
          value={delay}
          onChange={setDelay}
          allowDecimal={false}
        />
      </ConfirmModal>

      <ConfirmModal
        opened={pending?.action === 'discard'}
        onClose={() => !busy && setPending(null)}
        title={`Discard ${noun(count)}?`}
        zIndex={400}
        cancelDisabled={busy}
        confirmLabel="Confirm discard"
        confirmColor="red"
        confirmIcon={<IconTrash size={16} />}
        loading={discardM.isPending}
        onConfirm={() => pending && discardM.mutate(pending)}
      >
        <Text size="sm">
          {pending && 'all' in pending
            ? `Every ${filters.state === 'all' ? '' : filters.state + ' '}dead letter matching the filters (${noun(count)}) is deleted.`
            : 'The selected dead letters are deleted.'}{' '}
          Their messages are gone for good; this cannot be undone.
        </Text>
        {pending && 'all' in pending && !narrowed(filters) && (
          <Alert color="red" variant="light">
            No filter narrows this: it discards every {filters.state === 'all' ? '' : filters.state} dead letter.
          </Alert>
        )}
      </ConfirmModal>
    </Stack>
  );
}

function Row({ d, checked, onToggle, onOpen }: { d: DeadLetter; checked: boolean; onToggle: () => void; onOpen: () => void }) {
  return (
    <Table.Tr
      bg={checked ? 'var(--mantine-primary-color-light)' : undefined}
      style={{ cursor: 'pointer' }}
      onClick={(e) => {
        const t = e.target as HTMLElement;
        if (t.closest('a,button,input,label')) return;
        onOpen();
      }}
    >
      <Table.Td>
        <Checkbox aria-label={`Select dead letter ${d.id}`} checked={checked} onChange={onToggle} />
      </Table.Td>
      <Table.Td style={{ whiteSpace: 'nowrap' }}>
        <Text size="sm" title={formatTime(d.created_at)}>
          {formatAgo(d.created_at)}
        </Text>
      </Table.Td>
      <Table.Td style={{ whiteSpace: 'nowrap' }}>
        <Anchor component={Link} to={`/executions/${encodeURIComponent(d.execution_id)}`} size="sm" className="mono" title={d.execution_id}>
          {shortId(d.execution_id)}
        </Anchor>
      </Table.Td>
      <Table.Td>
        <Text size="sm">{d.route}</Text>
        <Text size="xs" c="dimmed">
          {d.adapter || '—'}
        </Text>
      </Table.Td>
      <Table.Td style={{ maxWidth: 360 }}>
        <Group gap={6} wrap="nowrap">
          <Badge size="xs" variant="light" color={errorClassColor(d.error_class)} style={{ flex: 'none' }}>
            {d.error_class || 'unknown'}
          </Badge>
          <Text size="sm" truncate="end" title={d.reason}>
            {d.reason}
          </Text>
        </Group>
      </Table.Td>
      <Table.Td ta="right">{d.attempt}</Table.Td>
      <Table.Td>
        <DeadLetterStateBadge requeuedAt={d.requeued_at} />
      </Table.Td>
      <Table.Td>
        <ActionIcon variant="subtle" color="gray" aria-label={`Show dead letter ${d.id}`} onClick={onOpen}>
          <IconChevronRight size={16} />
        </ActionIcon>
      </Table.Td>
    </Table.Tr>
  );
}
