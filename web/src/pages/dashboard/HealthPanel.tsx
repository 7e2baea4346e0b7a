import { Fragment, useState } from 'react';
import {
  ActionIcon,
  Badge,
  Group,
  Paper,
  Skeleton,
  Stack,
  Table,
  Text,
  Title,
  Tooltip,
} from '@mantine/core';
import { IconChevronDown, IconChevronRight } from '@tabler/icons-react';
import type { Schemas } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { JsonView } from '../../components/JsonView';
import { StatusBadge } from '../../components/StatusBadge';
import { formatAgo, formatDuration, formatNumber } from '../../format';
import { useHealth, useSystemInfo } from './queries';

function ComponentRow({ c }: { c: Schemas['HealthComponent'] }) {
  const [open, setOpen] = useState(false);
  const hasDetails = c.details !== undefined && c.details !== null && Object.keys(c.details as object).length > 0;
  return (
    <Fragment>
      <Table.Tr>
        <Table.Td w={36}>
          {hasDetails && (
            <ActionIcon
              variant="subtle"
              size="sm"
              aria-label={`${open ? 'Hide' : 'Show'} ${c.name} details`}
              aria-expanded={open}
              onClick={() => setOpen((o) => !o)}
            >
              {open ? <IconChevronDown size={14} /> : <IconChevronRight size={14} />}
            </ActionIcon>
          )}
        </Table.Td>
        <Table.Td>
          <Text size="sm" fw={500}>
            {c.name}
          </Text>
        </Table.Td>
        <Table.Td style={{ whiteSpace: 'nowrap' }}>
          <StatusBadge status={c.status} />
        </Table.Td>
        <Table.Td>
          <Text size="sm" c="dimmed" lineClamp={2} style={{ wordBreak: 'break-word' }}>
            {c.message || '—'}
          </Text>
        </Table.Td>
        <Table.Td ta="right" style={{ whiteSpace: 'nowrap' }}>
          <Text size="sm" ff="monospace">
            {formatNumber(c.latency_ms, 2)} ms
          </Text>
        </Table.Td>
      </Table.Tr>
      {hasDetails && open && (
        <Table.Tr>
          <Table.Td colSpan={5}>
            <JsonView value={c.details} maxHeight={240} />
          </Table.Td>
        </Table.Tr>
      )}
    </Fragment>
  );
}

export function HealthPanel() {
  const health = useHealth();
  return (
    <Paper withBorder p="md" radius="md">
      <Group justify="space-between" mb="sm">
        <Title order={4}>Component health</Title>
        {health.data && (
          <Tooltip label={`Checked ${formatAgo(health.data.timestamp)}`}>
            <StatusBadge status={health.data.status} />
          </Tooltip>
        )}
      </Group>
      {health.error && <ErrorAlert error={health.error} title="Health check failed" />}
      {health.isLoading && (
        <Stack gap="xs">
          {[0, 1, 2, 3, 4].map((i) => (
            <Skeleton key={i} height={20} />
          ))}
        </Stack>
      )}
      {health.data && (
        <Table.ScrollContainer minWidth={420}>
          <Table verticalSpacing={6} aria-label="Component health">
            <Table.Thead>
              <Table.Tr>
                <Table.Th />
                <Table.Th>Component</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Message</Table.Th>
                <Table.Th ta="right">Latency</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(health.data.components ?? []).map((c) => (
                <ComponentRow key={c.name} c={c} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Paper>
  );
}

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Table.Tr>
      <Table.Th w={140} fw={500} c="dimmed" style={{ verticalAlign: 'top' }}>
        {label}
      </Table.Th>
      <Table.Td style={{ wordBreak: 'break-all' }}>{children}</Table.Td>
    </Table.Tr>
  );
}

export function SystemPanel() {
  const info = useSystemInfo();
  const d = info.data;
  return (
    <Paper withBorder p="md" radius="md">
      <Title order={4} mb="sm">
        System
      </Title>
      {info.error && <ErrorAlert error={info.error} title="Could not load system info" />}
      {info.isLoading && (
        <Stack gap="xs">
          {[0, 1, 2, 3, 4].map((i) => (
            <Skeleton key={i} height={20} />
          ))}
        </Stack>
      )}
      {d && (
        <Table verticalSpacing={4} fz="sm" aria-label="System information">
          <Table.Tbody>
            <Row label="Version">
              <Group gap={6}>
                <Text size="sm" ff="monospace">
                  {d.version}
                </Text>
                <Text size="xs" c="dimmed">
                  {d.go_version} · schema {d.pipeline_schema_version}
                </Text>
              </Group>
            </Row>
            <Row label="Uptime">{formatDuration(d.uptime_seconds * 1000)}</Row>
            <Row label="Broker">
              <Text size="sm" ff="monospace">
                {d.providers.queue.provider}
                {d.providers.queue.url ? ` · ${d.providers.queue.url}` : ''}
              </Text>
            </Row>
            <Row label="Storage">
              <Text size="sm" ff="monospace">
                {d.providers.storage.uri}
              </Text>
            </Row>
            <Row label="Database">
              <Group gap={6}>
                <Text size="sm" ff="monospace" style={{ wordBreak: 'break-all' }}>
                  {d.providers.database.url ?? '—'}
                </Text>
                <Badge size="xs" variant="light" color={d.providers.pgvector ? 'green' : 'gray'}>
                  {d.providers.pgvector ? 'pgvector' : 'no pgvector'}
                </Badge>
              </Group>
            </Row>
            {(d.providers.llm?.length ?? 0) > 0 && (
              <Row label="LLM profiles">
                <Group gap={4}>
                  {d.providers.llm?.map((p) => (
                    <Tooltip key={p.name} label={`${p.provider_type} · ${p.model}`}>
                      <Badge variant="outline" size="sm" tt="none">
                        {p.name}
                      </Badge>
                    </Tooltip>
                  ))}
                </Group>
              </Row>
            )}
            <Row label="Adapters">{formatNumber(d.adapters)} types</Row>
            <Row label="Instance">
              <Text size="xs" ff="monospace">
                {d.instance_id ?? '—'}
              </Text>
            </Row>
          </Table.Tbody>
        </Table>
      )}
    </Paper>
  );
}
