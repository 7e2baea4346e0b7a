import { Anchor, Badge, Center, Group, Pagination, ScrollArea, Skeleton, Stack, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { IconFile, IconFolder } from '@tabler/icons-react';
import { ErrorAlert } from '../../components/ErrorAlert';
import { StatusBadge } from '../../components/StatusBadge';
import { formatBytes, formatTime } from '../../format';
import { PAGE_SIZE, baseName, fetchObjects } from './storageApi';

/** storageHref builds the storage page's address for a folder and, optionally, an open object. */
export function storageHref(prefix: string, key?: string): string {
  const q = new URLSearchParams();
  if (prefix) q.set('prefix', prefix);
  if (key) q.set('key', key);
  const s = q.toString();
  return s ? `/storage?${s}` : '/storage';
}

/** ObjectList lists a folder's sub-folders and one page of its objects. */
export function ObjectList({
  prefix,
  page,
  onPage,
  selectedKey,
  compact = false,
}: {
  compact?: boolean;
  prefix: string;
  page: number;
  onPage: (page: number) => void;
  selectedKey: string | null;
}) {
  const q = useQuery({ queryKey: ['storage', 'objects', { prefix, page }], queryFn: () => fetchObjects(prefix, page) });
  if (q.isPending) {
    return (
      <Stack gap="xs" aria-busy="true">
        {Array.from({ length: 6 }, (_, i) => (
          <Skeleton key={i} h={28} />
        ))}
      </Stack>
    );
  }
  if (q.isError) return <ErrorAlert error={q.error} title="Could not list objects" />;
  const data = q.data;
  const folders = page === 1 ? (data.common_prefixes ?? []) : [];
  const items = data.items ?? [];
  const execs = new Map((data.execution_prefixes ?? []).map((e) => [e.prefix, e]));
  const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));

  if (folders.length === 0 && items.length === 0) {
    return (
      <Center py="xl">
        <Stack align="center" gap={4}>
          <IconFolder size={32} color="var(--mantine-color-dimmed)" />
          <Text c="dimmed" size="sm">
            {prefix ? 'This folder is empty.' : 'Nothing is stored yet. Run a pipeline to write objects.'}
          </Text>
        </Stack>
      </Center>
    );
  }

  return (
    <Stack gap="xs">
      <Text size="xs" c="dimmed">
        {(data.common_prefixes ?? []).length} folders · {data.total} objects
      </Text>
      <ScrollArea type="auto">
        <Table highlightOnHover verticalSpacing={6} miw={320} aria-label="Objects">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th ta="right">Size</Table.Th>
              {!compact && <Table.Th visibleFrom="sm">Modified</Table.Th>}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {folders.map((p) => {
              const ex = execs.get(p);
              return (
                <Table.Tr key={p}>
                  <Table.Td>
                    <Group gap={6} wrap="nowrap">
                      <IconFolder size={16} color="var(--mantine-color-yellow-filled)" style={{ flex: 'none' }} />
                      <Anchor component={Link} to={storageHref(p)} size="sm" aria-label={`Open folder ${baseName(p)}`}>
                        {baseName(p)}/
                      </Anchor>
                      {ex?.found && (ex.tag || ex.config_name) && (
                        <Badge size="xs" variant="outline" color="gray">
                          {ex.tag || ex.config_name}
                        </Badge>
                      )}
                      {ex?.status && <StatusBadge status={ex.status} size="xs" />}
                    </Group>
                  </Table.Td>
                  <Table.Td ta="right">
                    <Text size="sm" c="dimmed">
                      —
                    </Text>
                  </Table.Td>
                  {!compact && (
                    <Table.Td visibleFrom="sm">
                      <Text size="sm" c="dimmed">
                        {ex?.started_at ? formatTime(ex.started_at) : ''}
                      </Text>
                    </Table.Td>
                  )}
                </Table.Tr>
              );
            })}
            {items.map((o) => (
              <Table.Tr key={o.key} bg={o.key === selectedKey ? 'var(--mantine-primary-color-light)' : undefined}>
                <Table.Td style={{ maxWidth: 0, width: '60%' }}>
                  <Group gap={6} wrap="nowrap">
                    <IconFile size={16} style={{ flex: 'none' }} color="var(--mantine-color-dimmed)" />
                    <Anchor
                      component={Link}
                      to={storageHref(prefix, o.key)}
                      size="sm"
                      truncate="end"
                      title={o.key}
                      aria-current={o.key === selectedKey ? 'true' : undefined}
                    >
                      {baseName(o.key)}
                    </Anchor>
                  </Group>
                </Table.Td>
                <Table.Td ta="right" style={{ whiteSpace: 'nowrap' }}>
                  <Text size="sm">{formatBytes(o.size)}</Text>
                </Table.Td>
                {!compact && (
                  <Table.Td visibleFrom="sm" style={{ whiteSpace: 'nowrap' }}>
                    <Text size="sm" c="dimmed">
                      {formatTime(o.last_modified)}
                    </Text>
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea>
      {pages > 1 && (
        <Group justify="center">
          <Pagination total={pages} value={page} onChange={onPage} size="sm" aria-label="Object pages" />
        </Group>
      )}
    </Stack>
  );
}
