// The execution's routes as a live React Flow graph.
import { memo, useMemo } from 'react';
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import { ActionIcon, Badge, Box, Group, Paper, SimpleGrid, Stack, Text, Tooltip, useComputedColorScheme } from '@mantine/core';
import { IconPlayerPause, IconPlayerPlay } from '@tabler/icons-react';
import { useMediaQuery } from '@mantine/hooks';
import { formatNumber } from '../../../format';
import { emptyRoute, type DAG, type RouteStats } from './api';
import { layoutDag, NODE_HEIGHT, NODE_WIDTH } from './layout';

export interface RouteNodeData extends Record<string, unknown> {
  routeId: string;
  name?: string;
  queue: string;
  adapters: { type: string; name?: string }[];
  stats: RouteStats;
  paused: boolean;
  isInit: boolean;
  live: boolean;
  busy: boolean;
  vertical: boolean;
  onToggle: (routeId: string, pause: boolean) => void;
}

type RouteNodeType = Node<RouteNodeData, 'route'>;

function Count({ label, value, color }: { label: string; value: number; color?: string }) {
  return (
    <Stack gap={0} align="center">
      <Text size="sm" fw={600} c={value > 0 ? color : undefined} data-testid="route-count">
        {formatNumber(value)}
      </Text>
      <Text size="9px" c="dimmed" tt="uppercase" style={{ whiteSpace: 'nowrap' }}>
        {label}
      </Text>
    </Stack>
  );
}

const RouteNode = memo(function RouteNode({ data }: NodeProps<RouteNodeType>) {
  const s = data.stats;
  return (
    <Paper
      withBorder
      shadow="xs"
      radius="md"
      p="xs"
      w={NODE_WIDTH}
      role="group"
      aria-label={`Route ${data.routeId}`}
      style={{
        borderColor: data.paused
          ? 'var(--mantine-color-yellow-filled)'
          : s.in_flight > 0 && data.live
            ? 'var(--mantine-color-blue-filled)'
            : undefined,
        borderWidth: data.paused || (s.in_flight > 0 && data.live) ? 2 : undefined,
      }}
    >
      <Handle type="target" position={data.vertical ? Position.Top : Position.Left} />
      <Text fw={600} size="sm" truncate title={data.name || data.routeId}>
        {data.name || data.routeId}
      </Text>
      <Group justify="space-between" wrap="nowrap" gap={4} mb={6}>
        <Text size="xs" c="dimmed" ff="monospace" truncate miw={0}>
          {data.routeId}
          {data.isInit ? ' · init' : ''}
        </Text>
        <Group gap={4} wrap="nowrap">
          {(data.paused || data.live) && (
            <Badge size="xs" variant="light" color={data.paused ? 'yellow' : 'green'}>
              {data.paused ? 'paused' : 'running'}
            </Badge>
          )}
          <Tooltip label={`${data.paused ? 'Resume' : 'Pause'} route key “${data.routeId}” in every execution using it`} withinPortal events={{ hover: true, focus: false, touch: false }}>
            <ActionIcon
              className="nodrag nopan"
              size="sm"
              variant="light"
              color={data.paused ? 'green' : 'yellow'}
              loading={data.busy}
              aria-label={`${data.paused ? 'Resume' : 'Pause'} route ${data.routeId}`}
              onClick={() => data.onToggle(data.routeId, !data.paused)}
            >
              {data.paused ? <IconPlayerPlay size={14} /> : <IconPlayerPause size={14} />}
            </ActionIcon>
          </Tooltip>
        </Group>
      </Group>
      <Group gap={4} mb={6}>
        {data.adapters.map((a, i) => (
          <Badge key={`${i}-${a.name ?? a.type}`} size="xs" variant="outline" color="gray" tt="none" title={a.type}>
            {a.name && a.name !== a.type ? `${a.name} (${a.type})` : a.type}
          </Badge>
        ))}
      </Group>
      <SimpleGrid cols={5} spacing={2}>
        <Count label="recv" value={s.received} />
        <Count label="done" value={s.completed} color="green" />
        <Count label="failed" value={s.failed} color="red" />
        <Count label="dlq" value={s.dead_lettered} color="red" />
        <Count label="in-flight" value={s.in_flight} color="blue" />
      </SimpleGrid>
      <Text size="xs" c="dimmed" ta="right" mt={4}>
        {formatNumber(s.rate, 1)} msg/s
      </Text>
      <Handle type="source" position={data.vertical ? Position.Bottom : Position.Right} />
    </Paper>
  );
});

const nodeTypes = { route: RouteNode };

export interface ExecutionDagProps {
  dag: DAG;
  routes: RouteStats[];
  paused: (routeId: string) => boolean;
  live: boolean;
  busyRoute: string | null;
  onToggle: (routeId: string, pause: boolean) => void;
}

export function ExecutionDag({ dag, routes, paused, live, busyRoute, onToggle }: ExecutionDagProps) {
  const scheme = useComputedColorScheme('light');
  // Narrow screens stack the routes top to bottom.
  const vertical = useMediaQuery('(max-width: 48em)') ?? false;
  const positions = useMemo(() => layoutDag(dag, vertical ? 'TB' : 'LR'), [dag, vertical]);
  const byRoute = useMemo(() => new Map(routes.map((r) => [r.route_id, r])), [routes]);

  const nodes: RouteNodeType[] = useMemo(
    () =>
      (dag.nodes ?? []).map((n) => ({
        id: n.route_id,
        type: 'route' as const,
        position: positions.get(n.route_id) ?? { x: 0, y: 0 },
        draggable: false,
        connectable: false,
        // Sizes before measuring, so fitView and first paint are right.
        initialWidth: NODE_WIDTH,
        initialHeight: NODE_HEIGHT,
        data: {
          routeId: n.route_id,
          name: n.name,
          queue: n.queue,
          adapters: n.adapters ?? [],
          stats: byRoute.get(n.route_id) ?? emptyRoute(n.route_id),
          paused: paused(n.route_id),
          isInit: dag.init_route === n.route_id,
          live,
          busy: busyRoute === n.route_id,
          vertical,
          onToggle,
        },
      })),
    [dag, positions, byRoute, paused, live, busyRoute, onToggle, vertical],
  );
  const edges: Edge[] = useMemo(
    () =>
      (dag.edges ?? []).map((e) => ({
        id: `${e.from_route}->${e.to_route}:${e.queue}`,
        source: e.from_route,
        target: e.to_route,
        label: e.queue,
        animated: live && (byRoute.get(e.to_route)?.in_flight ?? 0) > 0,
        markerEnd: { type: MarkerType.ArrowClosed },
        labelStyle: { fontSize: 10 },
      })),
    [dag, live, byRoute],
  );

  return (
    <Box
      style={{ height: vertical ? 'clamp(360px, 80vh, 720px)' : 'clamp(320px, 55vh, 440px)' }}
      data-testid="execution-dag"
    >
      <ReactFlow
        key={vertical ? 'TB' : 'LR'}
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        colorMode={scheme}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
        minZoom={0.2}
        nodesConnectable={false}
        nodesDraggable={false}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </Box>
  );
}
