import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ActionIcon,
  Anchor,
  Badge,
  Box,
  Breadcrumbs,
  Button,
  Code,
  EmptyState,
  Group,
  Menu,
  Modal,
  Pagination,
  Paper,
  SimpleGrid,
  Skeleton,
  Stack,
  Switch,
  Table,
  Text,
  Title,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import {
  IconDots,
  IconEdit,
  IconKey,
  IconRefresh,
  IconRepeat,
  IconSend,
  IconTrash,
  IconCode,
} from '@tabler/icons-react';
import { api, unwrap, type Schemas } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { ConfirmModal } from '../../components/ConfirmModal';
import { CopyIconButton } from '../../components/CopyIconButton';
import { JsonView } from '../../components/JsonView';
import { StatusBadge } from '../../components/StatusBadge';
import { formatAgo, formatTime, shortId } from '../../format';
import { DeleteWebhookModal, EventBadges, filterSummary, SecretModal, useTestWebhook, useToggleActive, WebhookFormModal } from './shared';

type Delivery = Schemas['WebhookDelivery'];
const pageSize = 25;

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Stack gap={2}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <div>{children}</div>
    </Stack>
  );
}

function statusCodeColor(code: number | undefined) {
  if (!code) return 'gray';
  if (code < 300) return 'green';
  if (code < 500) return 'orange';
  return 'red';
}

export default function WebhookDetailPage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [page, setPage] = useState(1);
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [rotateAsk, setRotateAsk] = useState(false);
  const [payload, setPayload] = useState<Delivery | null>(null);
  const test = useTestWebhook();
  const toggle = useToggleActive();

  const hook = useQuery({
    queryKey: ['webhooks', 'detail', id],
    queryFn: () => unwrap(api.GET('/api/v1/webhooks/{id}', { params: { path: { id } } })),
  });
  const deliveries = useQuery({
    queryKey: ['webhooks', 'deliveries', id, page],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/webhooks/{id}/deliveries', {
          params: { path: { id }, query: { limit: pageSize, offset: (page - 1) * pageSize } },
        }),
      ),
    enabled: hook.isSuccess,
    // Pending deliveries change on their own: keep the log fresh while any is.
    refetchInterval: (q) => ((q.state.data?.items ?? []).some((d) => d.status === 'pending') ? 3000 : 15000),
  });

  const rotate = useMutation({
    mutationFn: () => unwrap(api.PATCH('/api/v1/webhooks/{id}', { params: { path: { id } }, body: { rotate_secret: true } })),
    onSuccess: (w) => {
      setRotateAsk(false);
      qc.invalidateQueries({ queryKey: ['webhooks'] });
      if (w.secret) setSecret(w.secret);
      notifications.show({ color: 'green', title: 'Secret rotated', message: 'Update your receiver with the new secret.' });
    },
    onError: (err) => notifications.show({ color: 'red', title: 'Secret not rotated', message: (err as Error).message }),
  });

  const redeliver = useMutation({
    mutationFn: (deliveryId: string) =>
      unwrap(api.POST('/api/v1/webhooks/deliveries/{id}/redeliver', { params: { path: { id: deliveryId } } })),
    onSuccess: (d) => {
      qc.invalidateQueries({ queryKey: ['webhooks', 'deliveries', id] });
      notifications.show({ color: 'green', title: 'Redelivery queued', message: `Delivery ${d.id}` });
    },
    onError: (err) => notifications.show({ color: 'red', title: 'Not redelivered', message: (err as Error).message }),
  });

  const w = hook.data;
  const items = deliveries.data?.items ?? [];
  const pages = Math.max(1, Math.ceil((deliveries.data?.total ?? 0) / pageSize));

  return (
    <>
      <Breadcrumbs mb="xs">
        <Anchor component={Link} to="/webhooks" size="sm">
          Webhooks
        </Anchor>
        <Text size="sm" c="dimmed">
          {shortId(id)}
        </Text>
      </Breadcrumbs>
      {hook.error ? (
        <Stack>
          <ErrorAlert error={hook.error} title="Webhook not available" />
          <Button component={Link} to="/webhooks" variant="default" w="fit-content">
            Back to webhooks
          </Button>
        </Stack>
      ) : !w ? (
        <Stack>
          <Skeleton h={36} w="50%" />
          <Skeleton h={140} />
          <Skeleton h={240} />
        </Stack>
      ) : (
        <Stack gap="md">
          <Group justify="space-between" align="flex-start" wrap="wrap" gap="sm">
            <Stack gap={4} style={{ minWidth: 0, flex: '1 1 320px' }}>
              <Title order={2} className="mono" style={{ wordBreak: 'break-all', fontSize: 'var(--mantine-h3-font-size)' }}>
                {w.url}
              </Title>
              {w.description && (
                <Text c="dimmed" size="sm">
                  {w.description}
                </Text>
              )}
            </Stack>
            <Group gap="xs">
              <Button
                leftSection={<IconSend size={16} />}
                onClick={() => test.mutate(w.id)}
                loading={test.isPending}
                variant="light"
              >
                Send test
              </Button>
              <Button leftSection={<IconEdit size={16} />} variant="default" onClick={() => setEditing(true)}>
                Edit
              </Button>
              <Menu position="bottom-end" withinPortal>
                <Menu.Target>
                  <ActionIcon variant="default" size="lg" aria-label="More webhook actions">
                    <IconDots size={18} />
                  </ActionIcon>
                </Menu.Target>
                <Menu.Dropdown>
                  <Menu.Item leftSection={<IconKey size={14} />} onClick={() => setRotateAsk(true)}>
                    Rotate secret
                  </Menu.Item>
                  <Menu.Item leftSection={<IconTrash size={14} />} color="red" onClick={() => setDeleting(true)}>
                    Delete
                  </Menu.Item>
                </Menu.Dropdown>
              </Menu>
            </Group>
          </Group>

          <Paper withBorder p="md">
            <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }} spacing="md">
              <Field label="Status">
                <Switch
                  checked={w.active}
                  label={w.active ? 'Active' : 'Paused'}
                  aria-label="Active"
                  disabled={toggle.isPending}
                  onChange={(e) => toggle.mutate({ id: w.id, active: e.currentTarget.checked })}
                />
              </Field>
              <Field label="Events">
                <EventBadges events={w.event_types} max={8} />
              </Field>
              <Field label="Filters">
                <Text size="sm" className={filterSummary(w.filters) ? 'mono' : undefined} c={filterSummary(w.filters) ? undefined : 'dimmed'}>
                  {filterSummary(w.filters) || 'none — every event of the chosen types'}
                </Text>
              </Field>
              <Field label="Id">
                <Group gap={4} wrap="nowrap">
                  <Text size="sm" className="mono" truncate="end">
                    {w.id}
                  </Text>
                  <CopyId value={w.id} label="Copy webhook id" />
                </Group>
              </Field>
              <Field label="Created">
                <Text size="sm">{formatTime(w.created_at)}</Text>
              </Field>
              <Field label="Updated">
                <Text size="sm">{formatTime(w.updated_at)}</Text>
              </Field>
            </SimpleGrid>
          </Paper>

          <Group justify="space-between">
            <Title order={3}>Deliveries</Title>
            <Tooltip label="Refresh deliveries">
              <ActionIcon
                variant="subtle"
                onClick={() => deliveries.refetch()}
                loading={deliveries.isFetching}
                aria-label="Refresh deliveries"
              >
                <IconRefresh size={18} />
              </ActionIcon>
            </Tooltip>
          </Group>
          {deliveries.error ? <ErrorAlert error={deliveries.error} title="Could not load deliveries" /> : null}
          {deliveries.isPending ? (
            <Skeleton h={160} />
          ) : deliveries.isSuccess && items.length === 0 ? (
            <Paper withBorder p="lg">
              <EmptyState
                icon={<IconSend size={28} />}
                withIndicatorBackground
                title="No deliveries yet"
                description="Events matching this subscription appear here. Send a test event to check the receiver."
              />
            </Paper>
          ) : deliveries.isSuccess ? (
            <Paper withBorder>
              <Table.ScrollContainer minWidth={900}>
                <Table verticalSpacing="xs" aria-label="Deliveries" highlightOnHover>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Status</Table.Th>
                      <Table.Th>Event</Table.Th>
                      <Table.Th>Attempts</Table.Th>
                      <Table.Th>Last response</Table.Th>
                      <Table.Th>Next attempt</Table.Th>
                      <Table.Th>Created</Table.Th>
                      <Table.Th>Delivery id</Table.Th>
                      <Table.Th>Actions</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {items.map((d) => (
                      <Table.Tr key={d.id}>
                        <Table.Td>
                          <Box miw={96}>
                            <StatusBadge status={d.status} />
                          </Box>
                        </Table.Td>
                        <Table.Td>
                          <Text size="sm" className="mono">
                            {d.event_type}
                          </Text>
                        </Table.Td>
                        <Table.Td>{d.attempts}</Table.Td>
                        <Table.Td maw={280}>
                          <Group gap={6} wrap="nowrap" align="flex-start">
                            {d.last_status ? (
                              <Badge size="sm" variant="light" color={statusCodeColor(d.last_status)} style={{ flexShrink: 0 }}>
                                HTTP {d.last_status}
                              </Badge>
                            ) : null}
                            {d.last_error ? (
                              <Tooltip label={d.last_error} multiline maw={420} withinPortal>
                                <Text size="xs" c="red" lineClamp={2} style={{ wordBreak: 'break-word' }}>
                                  {d.last_error}
                                </Text>
                              </Tooltip>
                            ) : !d.last_status ? (
                              <Text size="xs" c="dimmed">
                                —
                              </Text>
                            ) : null}
                          </Group>
                        </Table.Td>
                        <Table.Td>
                          {d.status === 'pending' ? (
                            <Tooltip label={formatTime(d.next_attempt_at)}>
                              <Text size="sm">{nextIn(d.next_attempt_at)}</Text>
                            </Tooltip>
                          ) : d.delivered_at ? (
                            <Text size="xs" c="dimmed">
                              delivered {formatAgo(d.delivered_at)}
                            </Text>
                          ) : (
                            <Text size="xs" c="dimmed">
                              —
                            </Text>
                          )}
                        </Table.Td>
                        <Table.Td>
                          <Tooltip label={formatTime(d.created_at)}>
                            <Text size="sm">{formatAgo(d.created_at)}</Text>
                          </Tooltip>
                        </Table.Td>
                        <Table.Td>
                          <Group gap={2} wrap="nowrap">
                            <Text size="xs" className="mono" title={d.id}>
                              {shortId(d.id)}
                            </Text>
                            <CopyId value={d.id} label={`Copy delivery id ${d.id}`} />
                          </Group>
                        </Table.Td>
                        <Table.Td>
                          <Group gap={4} wrap="nowrap">
                            <Tooltip label="Show payload">
                              <ActionIcon variant="subtle" color="gray" onClick={() => setPayload(d)} aria-label={`Payload of ${d.id}`}>
                                <IconCode size={16} />
                              </ActionIcon>
                            </Tooltip>
                            <Button
                              size="xs"
                              variant="light"
                              leftSection={<IconRepeat size={14} />}
                              loading={redeliver.isPending && redeliver.variables === d.id}
                              onClick={() => redeliver.mutate(d.id)}
                              aria-label={`Redeliver ${d.id}`}
                            >
                              Redeliver
                            </Button>
                          </Group>
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            </Paper>
          ) : null}
          {pages > 1 && (
            <Group justify="center">
              <Pagination value={page} onChange={setPage} total={pages} aria-label="Delivery pages" />
            </Group>
          )}
        </Stack>
      )}

      {w && (
        <>
          <WebhookFormModal opened={editing} onClose={() => setEditing(false)} webhook={w} />
          <DeleteWebhookModal webhook={deleting ? w : null} onClose={() => setDeleting(false)} onDeleted={() => navigate('/webhooks')} />
        </>
      )}
      <ConfirmModal
        closeLabel="Close"
        opened={rotateAsk}
        onClose={() => setRotateAsk(false)}
        title="Rotate the signing secret?"
        confirmLabel="Rotate secret"
        confirmColor="orange"
        loading={rotate.isPending}
        onConfirm={() => rotate.mutate()}
      >
        <Text size="sm">
          A new secret is generated and the current one stops working at once: deliveries will fail verification until the
          receiver has the new one.
        </Text>
      </ConfirmModal>
      <SecretModal secret={secret} onClose={() => setSecret(null)} title="New signing secret" />
      <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={!!payload} onClose={() => setPayload(null)} title={`Delivery ${shortId(payload?.id)}`} size="lg">
        {payload && (
          <Stack gap="xs">
            <Group gap="xs">
              <StatusBadge status={payload.status} />
              <Code>{payload.event_type}</Code>
              <Text size="xs" c="dimmed">
                event {payload.event_id} · seq {payload.seq}
              </Text>
            </Group>
            <JsonView value={payload.payload} />
          </Stack>
        )}
      </Modal>
    </>
  );
}

function nextIn(iso: string): string {
  const ms = new Date(iso).getTime() - Date.now();
  if (Number.isNaN(ms)) return '—';
  if (ms <= 0) return 'due now';
  const s = Math.round(ms / 1000);
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.round(s / 60)} m`;
  return `in ${Math.round(s / 3600)} h`;
}

function CopyId({ value, label }: { value: string; label: string }) {
  return <CopyIconButton value={value} label={label} timeout={1500} />;
}
