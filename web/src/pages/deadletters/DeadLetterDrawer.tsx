import { Alert, Anchor, Badge, Button, Code, DataList, Drawer, Group, Skeleton, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { IconAlertTriangle, IconRefresh, IconTrash } from '@tabler/icons-react';
import { api, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { errorClassColor } from '../../components/DeadLetterBadges';
import { JsonView } from '../../components/JsonView';
import { formatTime } from '../../format';
import type { DeadLetter } from './deadLetterApi';

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <DataList.Item>
      <DataList.ItemLabel>{label}</DataList.ItemLabel>
      <DataList.ItemValue style={{ wordBreak: 'break-all', minWidth: 0 }}>{children}</DataList.ItemValue>
    </DataList.Item>
  );
}

/** DeadLetterDrawer shows one dead letter in full, with its actions. */
export function DeadLetterDrawer({
  id,
  initial,
  onClose,
  onRequeue,
  onDiscard,
}: {
  id: string | null;
  initial?: DeadLetter;
  onClose: () => void;
  onRequeue: (dl: DeadLetter) => void;
  onDiscard: (dl: DeadLetter) => void;
}) {
  const q = useQuery({
    queryKey: ['dead-letters', 'one', id],
    queryFn: () => unwrap(api.GET('/api/v1/dead-letters/{id}', { params: { path: { id: id! } } })),
    enabled: !!id,
    initialData: initial && initial.id === id ? initial : undefined,
  });
  const dl = q.data;
  const headers = Object.entries(dl?.headers ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <Drawer opened={!!id} onClose={onClose} position="right" size="xl" title="Dead letter"
      styles={{ title: { fontWeight: 700, fontSize: "var(--mantine-font-size-lg)" } }}>
      {q.isPending && <Skeleton h={300} />}
      {q.isError && <ErrorAlert error={q.error} title="Could not load the dead letter" />}
      {dl && (
        <Stack gap="md">
          <Group gap="xs">
            <Button
              leftSection={<IconRefresh size={16} />}
              disabled={!!dl.requeued_at}
              onClick={() => onRequeue(dl)}
              title={dl.requeued_at ? 'Already requeued' : undefined}
            >
              Requeue
            </Button>
            <Button color="red" variant="light" leftSection={<IconTrash size={16} />} onClick={() => onDiscard(dl)}>
              Discard
            </Button>
          </Group>
          <Alert color="red" icon={<IconAlertTriangle />} title={`Given up after attempt ${dl.attempt}`}>
            <Text size="sm" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
              {dl.reason}
            </Text>
          </Alert>
          <DataList size="sm" withDivider labelWidth={140} aria-label="Dead letter details">
            <Field label="ID">
              <Code>{dl.id}</Code>
            </Field>
            <Field label="Execution">
              <Anchor component={Link} to={`/executions/${encodeURIComponent(dl.execution_id)}`} size="sm" className="mono">
                {dl.execution_id}
              </Anchor>
            </Field>
            <Field label="Route">{dl.route}</Field>
            <Field label="Adapter">{dl.adapter || '—'}</Field>
            <Field label="Queue">
              <Code>{dl.queue}</Code>
            </Field>
            <Field label="Error class">
              <Badge variant="light" color={errorClassColor(dl.error_class)}>
                {dl.error_class || 'unknown'}
              </Badge>
            </Field>
            <Field label="Attempt">{dl.attempt}</Field>
            <Field label="Correlation ID">
              <Code>{dl.correlation_id}</Code>
            </Field>
            <Field label="First failed">{formatTime(dl.first_failed_at)}</Field>
            <Field label="Dead-lettered">{formatTime(dl.created_at)}</Field>
            <Field label="State">
              {dl.requeued_at ? (
                <Badge color="teal" variant="light">
                  requeued {formatTime(dl.requeued_at)}
                </Badge>
              ) : (
                <Badge color="red" variant="light">
                  pending
                </Badge>
              )}
            </Field>
            {dl.requeued_as && (
              <Field label="Requeued as">
                <Code>{dl.requeued_as}</Code>
              </Field>
            )}
          </DataList>
          <Stack gap={4}>
            <Title order={5}>Payload</Title>
            {dl.payload === null || dl.payload === undefined ? (
              <Text size="sm" c="dimmed">
                No payload.
              </Text>
            ) : (
              <JsonView value={dl.payload} maxHeight={420} />
            )}
          </Stack>
          <Stack gap={4}>
            <Title order={5}>Headers</Title>
            {headers.length === 0 ? (
              <Text size="sm" c="dimmed">
                No headers.
              </Text>
            ) : (
              <Table withTableBorder striped verticalSpacing={4} aria-label="Headers">
                <Table.Tbody>
                  {headers.map(([k, v]) => (
                    <Table.Tr key={k}>
                      <Table.Td>
                        <Code>{k}</Code>
                      </Table.Td>
                      <Table.Td style={{ wordBreak: 'break-all' }}>
                        <Text size="sm">{v}</Text>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </Stack>
        </Stack>
      )}
    </Drawer>
  );
}
