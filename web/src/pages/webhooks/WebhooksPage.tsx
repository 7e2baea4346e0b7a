import { useState } from 'react';
import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import {
  ActionIcon,
  Anchor,
  Button,
  EmptyState,
  Group,
  Menu,
  Pagination,
  Paper,
  Skeleton,
  Switch,
  Table,
  Text,
  Tooltip,
  VisuallyHidden,
} from '@mantine/core';
import { IconDots, IconEdit, IconPlus, IconSend, IconTrash, IconWebhook } from '@tabler/icons-react';
import { api, unwrap, type Schemas } from '../../api/client';
import { PageHeader } from '../../components/PageHeader';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatAgo, formatTime } from '../../format';
import {
  DeleteWebhookModal,
  EventBadges,
  filterSummary,
  SecretModal,
  useTestWebhook,
  useToggleActive,
  WebhookFormModal,
  type Webhook,
} from './shared';

const pageSize = 50;

export default function WebhooksPage() {
  const [page, setPage] = useState(1);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Webhook | null>(null);
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const test = useTestWebhook();
  const toggle = useToggleActive();

  const list = useQuery({
    queryKey: ['webhooks', 'list', page],
    queryFn: () =>
      unwrap(api.GET('/api/v1/webhooks', { params: { query: { limit: pageSize, offset: (page - 1) * pageSize } } })),
  });
  const items = list.data?.items ?? [];
  const pages = Math.max(1, Math.ceil((list.data?.total ?? 0) / pageSize));

  const onCreated = (w: Schemas['WebhookWithSecret']) => {
    if (w.secret) setSecret(w.secret);
  };

  return (
    <>
      <PageHeader
        title="Webhooks"
        description="Subscribe URLs to execution, storage and dead-letter events. Deliveries are signed, retried and logged."
        actions={
          <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
            New webhook
          </Button>
        }
      />
      {list.error ? <ErrorAlert error={list.error} title="Could not load webhooks" /> : null}
      {list.isPending ? (
        <Paper withBorder p="md">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} h={32} mb="sm" />
          ))}
        </Paper>
      ) : list.isSuccess && items.length === 0 ? (
        <Paper withBorder p="xl">
          <EmptyState
            icon={<IconWebhook size={32} />}
            withIndicatorBackground
            title="No webhooks yet"
            description="Create one to have Factflow POST events (execution finished, artefact stored, dead letter…) to your service."
          >
            <EmptyState.Actions>
              <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
                Create a webhook
              </Button>
            </EmptyState.Actions>
          </EmptyState>
        </Paper>
      ) : list.isSuccess ? (
        <Paper withBorder>
          <Table.ScrollContainer minWidth={760}>
            <Table verticalSpacing="sm" highlightOnHover aria-label="Webhooks">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>URL</Table.Th>
                  <Table.Th>Events</Table.Th>
                  <Table.Th>Filters</Table.Th>
                  <Table.Th>Active</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th w={48}>
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((w) => (
                  <Table.Tr key={w.id}>
                    <Table.Td maw={360}>
                      <Anchor component={Link} to={`/webhooks/${w.id}`} className="mono" size="sm" style={{ wordBreak: 'break-all' }}>
                        {w.url}
                      </Anchor>
                      {w.description && (
                        <Text size="xs" c="dimmed" lineClamp={1}>
                          {w.description}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <EventBadges events={w.event_types} />
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs" c={filterSummary(w.filters) ? undefined : 'dimmed'} className="mono">
                        {filterSummary(w.filters) || 'none'}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Switch
                        checked={w.active}
                        aria-label={`Active: ${w.url}`}
                        disabled={toggle.isPending && toggle.variables?.id === w.id}
                        onChange={(e) => toggle.mutate({ id: w.id, active: e.currentTarget.checked })}
                      />
                    </Table.Td>
                    <Table.Td>
                      <Tooltip label={formatTime(w.created_at)}>
                        <Text size="sm">{formatAgo(w.created_at)}</Text>
                      </Tooltip>
                    </Table.Td>
                    <Table.Td>
                      <Menu position="bottom-end" withinPortal>
                        <Menu.Target>
                          <ActionIcon variant="subtle" color="gray" aria-label={`Actions for ${w.url}`}>
                            <IconDots size={16} />
                          </ActionIcon>
                        </Menu.Target>
                        <Menu.Dropdown>
                          <Menu.Item leftSection={<IconSend size={14} />} onClick={() => test.mutate(w.id)}>
                            Send test
                          </Menu.Item>
                          <Menu.Item leftSection={<IconEdit size={14} />} onClick={() => setEditing(w)}>
                            Edit
                          </Menu.Item>
                          <Menu.Item leftSection={<IconTrash size={14} />} color="red" onClick={() => setDeleting(w)}>
                            Delete
                          </Menu.Item>
                        </Menu.Dropdown>
                      </Menu>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Paper>
      ) : null}
      {pages > 1 && (
        <Group justify="center" mt="md">
          <Pagination value={page} onChange={setPage} total={pages} aria-label="Webhook pages" />
        </Group>
      )}

      <WebhookFormModal opened={creating} onClose={() => setCreating(false)} onCreated={onCreated} />
      <WebhookFormModal opened={!!editing} onClose={() => setEditing(null)} webhook={editing ?? undefined} />
      <DeleteWebhookModal webhook={deleting} onClose={() => setDeleting(null)} />
      <SecretModal secret={secret} onClose={() => setSecret(null)} />
    </>
  );
}
