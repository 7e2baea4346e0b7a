import { useCallback, useEffect, useMemo, useState } from 'react';
import { useParams, Link } from 'react-router';
import {
  Anchor,
  Badge,
  Box,
  Button,
  Card,
  Group,
  Skeleton,
  Stack,
  Tabs,
  Text,
  Title,
} from '@mantine/core';
import {
  IconArrowLeft,
  IconPlayerStop,
  IconRepeat,
} from '@tabler/icons-react';
import { ErrorAlert } from '../../components/ErrorAlert';
import { ConfirmModal } from '../../components/ConfirmModal';
import { CopyIconButton } from '../../components/CopyIconButton';
import { StatusBadge } from '../../components/StatusBadge';
import { formatDuration, formatNumber, formatTime, shortId } from '../../format';
import {
  isTerminal,
  useCancel,
  useDag,
  useExecution,
  useReplays,
  useRouteControl,
  useRouteStates,
  useStats,
  type Execution,
} from './detail/api';
import { useLiveExecution } from './detail/useLiveExecution';
import { ExecutionDag } from './detail/ExecutionDag';
import { OverviewTab } from './detail/OverviewTab';
import { TimelineTab } from './detail/TimelineTab';
import { LineageTab } from './detail/LineageTab';
import { ArtefactsTab } from './detail/ArtefactsTab';
import { DeadLettersTab } from './detail/DeadLettersTab';
import { ReplayDialog } from './detail/ReplayDialog';

export default function ExecutionDetailPage() {
  const { id = '' } = useParams();
  // A new id (e.g. following a replay link) starts a fresh page state.
  return <ExecutionDetail key={id} id={id} />;
}

function LiveIndicator({ live, status }: { live: boolean; status: string }) {
  if (!live) {
    return (
      <Badge variant="dot" color="gray" size="md" aria-label="Not live">
        {isTerminal(status) ? 'ended' : 'offline'}
      </Badge>
    );
  }
  return (
    <Badge variant="dot" color="green" size="md" aria-label="Live updates on" className="ff-live-badge">
      live
    </Badge>
  );
}

function useNow(active: boolean) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

function duration(ex: Execution, now: number): number | undefined {
  if (!ex.started_at) return undefined;
  const start = new Date(ex.started_at).getTime();
  const end = ex.completed_at ? new Date(ex.completed_at).getTime() : isTerminal(ex.status) ? undefined : now;
  return end === undefined ? undefined : end - start;
}

function ExecutionDetail({ id }: { id: string }) {
  const execution = useExecution(id);
  const ex = execution.data;
  const live = useLiveExecution(id, ex);
  const stats = useStats(id, !!ex, live.live);
  const dag = useDag(id);
  const routeStates = useRouteStates();
  const replays = useReplays(id);
  const cancel = useCancel(id);
  const control = useRouteControl();
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [replayOpen, setReplayOpen] = useState(false);
  const [tab, setTab] = useState<string | null>('overview');
  const now = useNow(live.live);

  const stateByRoute = useMemo(
    () => new Map((routeStates.data?.items ?? []).map((s) => [s.route_id, s.state] as const)),
    [routeStates.data],
  );
  const routes = useMemo(() => stats.data?.routes ?? [], [stats.data]);
  const isPaused = useCallback(
    (routeId: string) => {
      const persisted = stateByRoute.get(routeId);
      if (persisted) return persisted === 'paused';
      return routes.find((r) => r.route_id === routeId)?.paused ?? false;
    },
    [stateByRoute, routes],
  );
  const onToggle = useCallback(
    (routeId: string, pause: boolean) => control.mutate({ routeId, state: pause ? 'paused' : 'running' }),
    [control],
  );
  const routeIds = useMemo(() => (dag.data?.nodes ?? []).map((n) => n.route_id), [dag.data]);

  if (execution.error) {
    return (
      <Stack>
        <Anchor component={Link} to="/executions" size="sm">
          <Group gap={4}>
            <IconArrowLeft size={14} /> Executions
          </Group>
        </Anchor>
        <ErrorAlert error={execution.error} title={`Could not load execution ${id}`} />
      </Stack>
    );
  }
  if (!ex) {
    return (
      <Stack>
        <Skeleton h={40} w={320} />
        <Skeleton h={20} w={480} />
        <Skeleton h={360} />
      </Stack>
    );
  }

  const terminal = isTerminal(ex.status);
  const replayItems = replays.data?.items ?? [];
  const totals = stats.data?.totals;

  return (
    <Stack gap="md">
      <Anchor component={Link} to="/executions" size="sm" w="fit-content">
        <Group gap={4}>
          <IconArrowLeft size={14} /> Executions
        </Group>
      </Anchor>

      <Group justify="space-between" align="flex-start" wrap="wrap" gap="sm">
        <Stack gap={4} miw={0}>
          <Group gap="xs" wrap="wrap">
            <Title order={2} style={{ wordBreak: 'break-all' }}>
              {ex.tag || shortId(ex.id)}
            </Title>
            <StatusBadge status={ex.status} size="lg" />
            <LiveIndicator live={live.live} status={ex.status} />
          </Group>
          <Group gap={4} wrap="nowrap">
            <Text size="xs" c="dimmed" ff="monospace" truncate>
              {ex.id}
            </Text>
            <CopyIconButton value={ex.id} label="Copy execution id" tooltip="Copy id" size="xs" iconSize={12} />
          </Group>
          <Group wrap="wrap" style={{ columnGap: 'var(--mantine-spacing-lg)', rowGap: 2 }}>
            <Text size="sm">
              <Text span c="dimmed">
                Pipeline{' '}
              </Text>
              {ex.config_id ? (
                <Anchor component={Link} to={`/pipelines/${ex.config_id}`}>
                  {ex.config_name || shortId(ex.config_id)}
                </Anchor>
              ) : (
                (ex.config_name ?? '—')
              )}
            </Text>
            <Text size="sm">
              <Text span c="dimmed">
                Started{' '}
              </Text>
              {formatTime(ex.started_at ?? ex.created_at)}
            </Text>
            <Text size="sm">
              <Text span c="dimmed">
                Finished{' '}
              </Text>
              {formatTime(ex.completed_at)}
            </Text>
            <Text size="sm">
              <Text span c="dimmed">
                Duration{' '}
              </Text>
              {formatDuration(duration(ex, now) ?? stats.data?.elapsed_ms)}
            </Text>
            {totals && (
              <Text size="sm">
                <Text span c="dimmed">
                  Messages{' '}
                </Text>
                {formatNumber(totals.completed)} done
                {totals.failed ? `, ${formatNumber(totals.failed)} failed` : ''}
              </Text>
            )}
          </Group>
          {ex.parent_execution_id && (
            <Text size="sm">
              <Text span c="dimmed">
                Replay of{' '}
              </Text>
              <Anchor component={Link} to={`/executions/${ex.parent_execution_id}`} ff="monospace">
                {shortId(ex.parent_execution_id)}
              </Anchor>
            </Text>
          )}
        </Stack>
        <Group gap="xs">
          <Button variant="default" leftSection={<IconRepeat size={16} />} onClick={() => setReplayOpen(true)}>
            Replay
          </Button>
          {!terminal && (
            <Button
              color="red"
              variant="light"
              leftSection={<IconPlayerStop size={16} />}
              onClick={() => setConfirmCancel(true)}
              disabled={ex.status === 'cancelling'}
            >
              {ex.status === 'cancelling' ? 'Cancelling…' : 'Cancel execution'}
            </Button>
          )}
        </Group>
      </Group>

      {ex.error_info && ex.status === 'failed' && typeof ex.error_info.error === 'string' && (
        <ErrorAlert error={new Error(ex.error_info.error)} title="Execution failed" />
      )}

      {replayItems.length > 0 && (
        <Group gap="xs" wrap="wrap" aria-label="Replays">
          <Text size="sm" c="dimmed">
            Replays ({replays.data?.total ?? replayItems.length}):
          </Text>
          {replayItems.map((r) => (
            <Group key={r.id} gap={4} wrap="nowrap">
              <Anchor component={Link} to={`/executions/${r.id}`} size="sm" ff="monospace">
                {r.tag || shortId(r.id)}
              </Anchor>
              <StatusBadge status={r.status} size="xs" />
            </Group>
          ))}
        </Group>
      )}

      <Card withBorder padding={0} radius="md">
        <Group justify="space-between" px="sm" py={6}>
          <Text fw={600} size="sm">
            Routes
          </Text>
          <Text size="xs" c="dimmed">
            {live.live ? 'counts update live' : terminal ? 'final counts' : ''}
          </Text>
        </Group>
        {dag.error ? (
          <Box p="sm">
            <ErrorAlert error={dag.error} title="Could not load the pipeline graph" />
          </Box>
        ) : dag.data ? (
          <ExecutionDag
            dag={dag.data}
            routes={routes}
            paused={isPaused}
            live={live.live}
            busyRoute={control.isPending ? (control.variables?.routeId ?? null) : null}
            onToggle={onToggle}
          />
        ) : (
          <Skeleton h={340} />
        )}
      </Card>

      <Tabs value={tab} onChange={setTab} keepMounted={false}>
        <Tabs.List style={{ overflowX: 'auto', flexWrap: 'nowrap' }}>
          <Tabs.Tab value="overview">Overview</Tabs.Tab>
          <Tabs.Tab value="timeline">Timeline</Tabs.Tab>
          <Tabs.Tab value="lineage">Lineage</Tabs.Tab>
          <Tabs.Tab value="artefacts">
            Artefacts{stats.data ? ` (${formatNumber(stats.data.artefacts)})` : ''}
          </Tabs.Tab>
          <Tabs.Tab value="dead-letters">
            Dead letters{stats.data && stats.data.dead_letters > 0 ? ` (${formatNumber(stats.data.dead_letters)})` : ''}
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="overview" pt="md">
          <OverviewTab stats={stats.data} isLoading={stats.isLoading} error={stats.error} />
        </Tabs.Panel>
        <Tabs.Panel value="timeline" pt="md">
          <TimelineTab id={id} />
        </Tabs.Panel>
        <Tabs.Panel value="lineage" pt="md">
          <LineageTab id={id} executionId={ex.id} routes={routeIds} />
        </Tabs.Panel>
        <Tabs.Panel value="artefacts" pt="md">
          <ArtefactsTab id={id} executionId={ex.id} routes={routeIds} />
        </Tabs.Panel>
        <Tabs.Panel value="dead-letters" pt="md">
          <DeadLettersTab id={id} />
        </Tabs.Panel>
      </Tabs>

      <ConfirmModal
        opened={confirmCancel}
        onClose={() => setConfirmCancel(false)}
        title="Cancel this execution?"
        closeLabel="Dismiss"
        cancelLabel="Keep running"
        confirmLabel="Confirm cancel"
        confirmColor="red"
        loading={cancel.isPending}
        onConfirm={() => cancel.mutate(undefined, { onSettled: () => setConfirmCancel(false) })}
      >
        <Text size="sm">
          Messages in flight finish their current step; nothing new is picked up. The execution ends as
          <b> cancelled</b>. This cannot be undone.
        </Text>
      </ConfirmModal>
      <ReplayDialog id={id} dag={dag.data} opened={replayOpen} onClose={() => setReplayOpen(false)} />
    </Stack>
  );
}
