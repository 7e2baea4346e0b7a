import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { Group, Paper, SimpleGrid, Skeleton, Text, ThemeIcon, UnstyledButton } from '@mantine/core';
import { IconActivity, IconAlertTriangle, IconHeartbeat, IconInbox } from '@tabler/icons-react';
import { StatusBadge } from '../../components/StatusBadge';
import { formatNumber } from '../../format';
import { useFailedExecutions, useHealth, usePendingDeadLetters, useRunning, useSystemInfo } from './queries';

function Stat({
  label,
  value,
  hint,
  icon,
  color,
  to,
  loading,
}: {
  label: string;
  value: ReactNode;
  hint?: ReactNode;
  icon: ReactNode;
  color: string;
  to?: string;
  loading?: boolean;
}) {
  const body = (
    <Paper withBorder p="md" radius="md" h="100%">
      <Group justify="space-between" wrap="nowrap" align="flex-start">
        <div>
          <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
            {label}
          </Text>
          {loading ? (
            <Skeleton height={28} width={80} mt={6} />
          ) : (
            <Text component="div" fz={28} fw={700} lh={1.3} aria-label={label}>
              {value}
            </Text>
          )}
          {hint && (
            <Text size="xs" c="dimmed">
              {hint}
            </Text>
          )}
        </div>
        <ThemeIcon variant="light" color={color} size="lg" radius="md">
          {icon}
        </ThemeIcon>
      </Group>
    </Paper>
  );
  return to ? (
    <UnstyledButton component={Link} to={to} aria-label={`${label}: open`} style={{ display: 'block' }}>
      {body}
    </UnstyledButton>
  ) : (
    body
  );
}

export function Overview() {
  const health = useHealth();
  const info = useSystemInfo();
  const running = useRunning();
  const failed = useFailedExecutions();
  const dlq = usePendingDeadLetters();
  const maxConc = info.data?.limits.max_concurrent_executions;
  const status = health.data?.status;
  const unhealthy = health.data?.components?.filter((c) => c.status !== 'healthy').length ?? 0;
  return (
    <SimpleGrid cols={{ base: 1, xs: 2, lg: 4 }} spacing="md">
      <Stat
        label="System health"
        value={health.error ? <StatusBadge status="unhealthy" size="lg" /> : <StatusBadge status={status} size="lg" />}
        hint={
          health.error
            ? 'health check failed'
            : unhealthy > 0
              ? `${unhealthy} component${unhealthy > 1 ? 's' : ''} not healthy`
              : `${health.data?.components?.length ?? 0} components · ${info.data?.version ?? ''}`
        }
        icon={<IconHeartbeat size={20} />}
        color={status === 'healthy' ? 'green' : status === 'degraded' ? 'yellow' : 'red'}
        loading={health.isLoading}
      />
      <Stat
        label="Running executions"
        value={formatNumber(running.data?.total)}
        hint={maxConc ? `of ${formatNumber(maxConc)} allowed at once` : undefined}
        icon={<IconActivity size={20} />}
        color="blue"
        to="/executions?status=running"
        loading={running.isLoading}
      />
      <Stat
        label="Pending dead letters"
        value={formatNumber(dlq.data?.total)}
        hint="messages given up on"
        icon={<IconInbox size={20} />}
        color={(dlq.data?.total ?? 0) > 0 ? 'orange' : 'gray'}
        to="/dead-letters"
        loading={dlq.isLoading}
      />
      <Stat
        label="Failed executions"
        value={formatNumber(failed.data?.total)}
        hint="all time"
        icon={<IconAlertTriangle size={20} />}
        color={(failed.data?.total ?? 0) > 0 ? 'red' : 'gray'}
        to="/executions?status=failed"
        loading={failed.isLoading}
      />
    </SimpleGrid>
  );
}
