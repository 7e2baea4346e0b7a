import { useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import {
  ActionIcon,
  Button,
  EmptyState,
  Group,
  Pagination,
  Paper,
  Select,
  Stack,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconActivity, IconFilterOff, IconPlayerPlay, IconRefresh, IconSearch } from '@tabler/icons-react';
import { api, ApiError, unwrap } from '../../api/client';
import { PageHeader } from '../../components/PageHeader';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatNumber } from '../../format';
import { matchesText, pageSizes, readFilters, statusOptions, writeFilters } from './list/filters';
import { isActive, type Execution } from './list/progress';
import { ExecutionsTable } from './list/ExecutionsTable';
import { StartExecutionModal } from './list/StartExecutionModal';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default function ExecutionsPage() {
  const [sp, setSp] = useSearchParams();
  const f = readFilters(sp);
  const update = (change: Parameters<typeof writeFilters>[1]) => setSp(writeFilters(sp, change), { replace: true });

  // The text box is debounced into the URL.
  const [text, setText] = useState(f.q);
  const [debounced] = useDebouncedValue(text, 300);
  useEffect(() => {
    if (debounced !== f.q) update({ q: debounced });
    // Only a settled text moves the URL (update reads the current params).
  }, [debounced]);
  useEffect(() => setText(f.q), [f.q]);

  const startConfig = sp.get('start') ?? '';
  const [startOpen, setStartOpen] = useState(Boolean(startConfig));
  const closeStart = () => {
    setStartOpen(false);
    if (startConfig) {
      const next = new URLSearchParams(sp);
      next.delete('start');
      setSp(next, { replace: true });
    }
  };

  const query = {
    limit: f.size,
    offset: (f.page - 1) * f.size,
    ...(f.status ? { status: f.status } : {}),
    ...(f.config ? { config_id: f.config } : {}),
  };
  const list = useQuery({
    queryKey: ['executions', 'list', query],
    queryFn: () => unwrap(api.GET('/api/v1/executions', { params: { query } })),
    placeholderData: keepPreviousData,
    // Refresh quickly while something runs, slowly otherwise.
    refetchInterval: (q) => (q.state.data?.items?.some((e) => isActive(e.status)) ? 2_000 : 10_000),
  });

  // An execution id typed in full, or a tag confirmed with Enter, is looked
  // up across all executions, not only this page.
  const exactRef = f.q.trim();
  const [lookedUp, setLookedUp] = useState('');
  const exact = useQuery({
    queryKey: ['executions', 'one', exactRef],
    queryFn: () => unwrap(api.GET('/api/v1/executions/{id}', { params: { path: { id: exactRef } } })),
    enabled: exactRef !== '' && (uuidPattern.test(exactRef) || lookedUp === exactRef),
    retry: false,
  });
  const lookupMissed = exact.error instanceof ApiError && exact.error.status === 404;

  const configs = useQuery({
    queryKey: ['configs', { limit: 500, include_inactive: true }],
    queryFn: () => unwrap(api.GET('/api/v1/configs', { params: { query: { limit: 500, include_inactive: true } } })),
    staleTime: 60_000,
  });

  const rows: Execution[] = useMemo(() => {
    const items = (list.data?.items ?? []).filter((e) => matchesText(e, f.q));
    const hit = exact.data;
    if (hit && !items.some((e) => e.id === hit.id)) items.unshift(hit);
    return items;
  }, [list.data, exact.data, f.q]);

  // The filtered config stays choosable before (or without) the list of configs.
  const configNames = useMemo(() => {
    const names = (configs.data?.items ?? []).map((c) => c.name);
    if (f.config && !names.includes(f.config)) names.unshift(f.config);
    return names;
  }, [configs.data, f.config]);

  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / f.size));
  const filtered = Boolean(f.status || f.config || f.q);
  const configError = list.error instanceof ApiError && list.error.status === 404 && f.config;

  return (
    <>
      <PageHeader
        title="Executions"
        description="Every run of a pipeline config, newest first"
        actions={
          <>
            <Tooltip label="Refresh">
              <ActionIcon
                variant="default"
                size="lg"
                aria-label="Refresh executions"
                onClick={() => void list.refetch()}
                loading={list.isFetching && !list.isLoading}
              >
                <IconRefresh size={18} />
              </ActionIcon>
            </Tooltip>
            <Button leftSection={<IconPlayerPlay size={16} />} onClick={() => setStartOpen(true)}>
              Start execution
            </Button>
          </>
        }
      />
      <Stack gap="md">
        <Paper withBorder p="sm" radius="md">
          <Group gap="sm" align="flex-end" wrap="wrap">
            <Select
              label="Status"
              placeholder="All statuses"
              data={statusOptions.map((s) => ({ value: s, label: s }))}
              value={f.status || null}
              onChange={(v) => update({ status: (v ?? '') as typeof f.status })}
              clearable
              w={{ base: '100%', xs: 170 }}
            />
            <Select
              label="Config"
              placeholder="All configs"
              data={configNames}
              value={f.config || null}
              onChange={(v) => update({ config: v ?? '' })}
              searchable
              clearable
              nothingFoundMessage="No config matches"
              w={{ base: '100%', xs: 220 }}
            />
            <TextInput
              label="Search"
              placeholder="Tag, id or config"
              leftSection={<IconSearch size={16} />}
              value={text}
              onChange={(e) => setText(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key !== 'Enter') return;
                const v = e.currentTarget.value.trim();
                if (v !== f.q) update({ q: v });
                setLookedUp(v);
              }}
              title="Filters this page; Enter also looks the text up as an exact tag or id"
              w={{ base: '100%', xs: 260 }}
            />
            {filtered && (
              <Button
                variant="subtle"
                leftSection={<IconFilterOff size={16} />}
                onClick={() => {
                  setText('');
                  setSp(new URLSearchParams(), { replace: true });
                }}
              >
                Clear filters
              </Button>
            )}
          </Group>
        </Paper>

        {lookupMissed && rows.length === 0 && (
          <Text size="sm" c="dimmed" role="status">
            No execution has the id or tag “{exactRef}”.
          </Text>
        )}
        {list.error && !configError && <ErrorAlert error={list.error} title="Could not load executions" />}
        {configError && <ErrorAlert error={list.error} title={`No config named “${f.config}”`} />}

        <Paper withBorder radius="md">
          {!list.error && !list.isLoading && rows.length === 0 ? (
            <EmptyState
              py="xl"
              icon={<IconActivity size={28} />}
              title={filtered ? 'No executions match' : 'No executions yet'}
              description={
                filtered
                  ? 'Change or clear the filters to see more.'
                  : 'Start an execution of a pipeline config to see it here.'
              }
            />
          ) : (
            !list.error && <ExecutionsTable items={rows} loading={list.isLoading} />
          )}
        </Paper>

        {total > 0 && (
          <Group justify="space-between" wrap="wrap">
            <Text size="sm" c="dimmed">
              {f.q
                ? `${formatNumber(rows.length)} matching on this page · ${formatNumber(total)} total`
                : `${formatNumber(query.offset + 1)}–${formatNumber(Math.min(query.offset + f.size, total))} of ${formatNumber(total)}`}
            </Text>
            <Group gap="sm">
              <Select
                aria-label="Rows per page"
                data={pageSizes.map((n) => ({ value: String(n), label: `${n} / page` }))}
                value={String(f.size)}
                onChange={(v) => v && update({ size: Number(v) })}
                allowDeselect={false}
                w={120}
              />
              <Pagination
                total={pages}
                value={Math.min(f.page, pages)}
                onChange={(p) => update({ page: p })}
                getControlProps={(c) => ({ 'aria-label': `${c} page` })}
                size="sm"
              />
            </Group>
          </Group>
        )}
      </Stack>
      <StartExecutionModal opened={startOpen} onClose={closeStart} initialConfig={startConfig} />
    </>
  );
}
