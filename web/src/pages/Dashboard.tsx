import { SimpleGrid, Stack } from '@mantine/core';
import { PageHeader } from '../components/PageHeader';
import { formatDuration } from '../format';
import { Overview } from './dashboard/Overview';
import { HealthPanel, SystemPanel } from './dashboard/HealthPanel';
import { RunningExecutions } from './dashboard/RunningExecutions';
import { RecentFailures } from './dashboard/RecentFailures';
import { DeadLetterSummary } from './dashboard/DeadLetterSummary';
import { useSystemInfo } from './dashboard/queries';

export default function Dashboard() {
  const info = useSystemInfo();
  return (
    <>
      <PageHeader
        title="Dashboard"
        description={
          info.data
            ? `Factflow ${info.data.version} · up ${formatDuration(info.data.uptime_seconds * 1000)}`
            : 'Health, live executions and failures at a glance'
        }
      />
      <Stack gap="md">
        <Overview />
        <RunningExecutions />
        <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md">
          <RecentFailures />
          <DeadLetterSummary />
        </SimpleGrid>
        <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md">
          <HealthPanel />
          <SystemPanel />
        </SimpleGrid>
      </Stack>
    </>
  );
}
