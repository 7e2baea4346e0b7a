import { useMemo, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  ActionIcon,
  Anchor,
  Badge,
  Button,
  EmptyState,
  Group,
  Paper,
  Skeleton,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconFileCode, IconPencil, IconPlayerPlay, IconPlus, IconRefresh, IconSearch, IconTrash } from '@tabler/icons-react';
import { api, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { ConfirmModal } from '../../components/ConfirmModal';
import { PageHeader } from '../../components/PageHeader';
import { formatAgo, formatTime } from '../../format';
import { configKeys, useConfigs, type Config } from './api';
import { RunDialog } from './RunDialog';
import { ValidityBadge } from './Validity';
import classes from './pipelines.module.css';

/** matchesConfig is the search box's filter: name, description, source or id. */
export function matchesConfig(c: Config, q: string): boolean {
  const t = q.trim().toLowerCase();
  if (!t) return true;
  return [c.name, c.description, c.source_type, c.source_path, c.id].some((v) => v?.toLowerCase().includes(t));
}

export default function PipelinesPage() {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [q, setQ] = useState('');
  const [showInactive, setShowInactive] = useState(false);
  const configs = useConfigs(showInactive);
  const [runFor, setRunFor] = useState<Config | null>(null);
  const [deleteFor, setDeleteFor] = useState<Config | null>(null);

  const items = useMemo(() => (configs.data?.items ?? []).filter((c) => matchesConfig(c, q)), [configs.data, q]);

  const deactivate = useMutation({
    mutationFn: (c: Config) => unwrap(api.DELETE('/api/v1/configs/{id}', { params: { path: { id: c.id } } })),
    onSuccess: (_d, c) => {
      qc.invalidateQueries({ queryKey: configKeys.all });
      notifications.show({ color: 'green', title: 'Pipeline deactivated', message: `${c.name} no longer runs; its executions and versions stay.` });
      setDeleteFor(null);
    },
    onError: (e, c) => notifications.show({ color: 'red', title: `Could not deactivate ${c.name}`, message: e instanceof Error ? e.message : String(e) }),
  });

  const total = configs.data?.items?.length ?? 0;

  return (
    <>
      <PageHeader
        title="Pipelines"
        description="Stored pipeline configs, validated against this server's adapters"
        actions={
          <>
            <Tooltip label="Refresh">
              <ActionIcon variant="default" size="lg" aria-label="Refresh pipelines" onClick={() => configs.refetch()} loading={configs.isFetching}>
                <IconRefresh size={18} />
              </ActionIcon>
            </Tooltip>
            <Button component={Link} to="/pipelines/new" leftSection={<IconPlus size={16} />}>
              New pipeline
            </Button>
          </>
        }
      />
      <Stack gap="md">
        <Group gap="md" wrap="wrap">
          <TextInput
            placeholder="Search by name, description or source"
            aria-label="Search pipelines"
            leftSection={<IconSearch size={16} />}
            value={q}
            onChange={(e) => setQ(e.currentTarget.value)}
            style={{ flex: '1 1 240px', maxWidth: 480 }}
          />
          <Switch label="Show deactivated" checked={showInactive} onChange={(e) => setShowInactive(e.currentTarget.checked)} />
          {configs.data && (
            <Text size="sm" c="dimmed">
              {q ? `${items.length} of ${total}` : `${total}`} pipeline{total === 1 ? '' : 's'}
            </Text>
          )}
        </Group>

        {configs.error && <ErrorAlert error={configs.error} title="Could not load pipelines" />}

        {configs.isPending && (
          <Stack gap="xs" aria-label="Loading pipelines">
            {[0, 1, 2].map((i) => (
              <Skeleton key={i} height={44} />
            ))}
          </Stack>
        )}

        {configs.data && items.length === 0 && (
          <Paper withBorder p="xl">
            {total === 0 ? (
              <EmptyState
                icon={<IconFileCode size={32} />}
                title="No pipelines yet"
                description="A pipeline is a YAML file of routes and adapters. Start from a template."
              >
                <EmptyState.Actions>
                  <Button component={Link} to="/pipelines/new" leftSection={<IconPlus size={16} />}>
                    New pipeline
                  </Button>
                </EmptyState.Actions>
              </EmptyState>
            ) : (
              <EmptyState icon={<IconSearch size={32} />} title="No pipeline matches" description={`Nothing matches “${q}”.`}>
                <EmptyState.Actions>
                  <Button variant="default" onClick={() => setQ('')}>
                    Clear search
                  </Button>
                </EmptyState.Actions>
              </EmptyState>
            )}
          </Paper>
        )}

        {items.length > 0 && (
          <Paper withBorder>
            <Table.ScrollContainer minWidth={360}>
              <Table highlightOnHover verticalSpacing="sm" aria-label="Pipelines">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Name</Table.Th>
                    <Table.Th visibleFrom="sm">Version</Table.Th>
                    <Table.Th>Validity</Table.Th>
                    <Table.Th visibleFrom="sm">Source</Table.Th>
                    <Table.Th visibleFrom="sm">Updated</Table.Th>
                    <Table.Th style={{ textAlign: 'right' }}>Actions</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {items.map((c) => (
                    <Table.Tr key={c.id} className={classes.row} onClick={() => navigate(`/pipelines/${c.id}`)}>
                      <Table.Td style={{ maxWidth: 380, minWidth: 140 }}>
                        <Group gap={6} wrap="nowrap">
                          <Anchor component={Link} to={`/pipelines/${c.id}`} fw={600} onClick={(e) => e.stopPropagation()}>
                            {c.name}
                          </Anchor>
                          {!c.is_active && (
                            <Badge color="gray" variant="outline" size="xs">
                              deactivated
                            </Badge>
                          )}
                        </Group>
                        {c.description && (
                          <Text size="xs" c="dimmed" lineClamp={1} title={c.description}>
                            {c.description}
                          </Text>
                        )}
                      </Table.Td>
                      <Table.Td visibleFrom="sm">v{c.version}</Table.Td>
                      <Table.Td>
                        <Group gap={4} wrap="nowrap">
                          <ValidityBadge report={c.validation_report} />
                          {c.is_active && !c.is_runnable && c.validation_report.is_valid && (
                            <Badge color="gray" variant="light" size="sm">
                              not runnable
                            </Badge>
                          )}
                        </Group>
                      </Table.Td>
                      <Table.Td visibleFrom="sm">
                        <Text size="sm" title={c.source_path}>
                          {c.source_type}
                        </Text>
                      </Table.Td>
                      <Table.Td visibleFrom="sm">
                        <Text size="sm" title={formatTime(c.updated_at)}>
                          {formatAgo(c.updated_at)}
                        </Text>
                      </Table.Td>
                      <Table.Td onClick={(e) => e.stopPropagation()}>
                        <Group gap={4} justify="flex-end" wrap="nowrap">
                          <Tooltip label={c.is_runnable ? 'Run' : 'Fix the errors before running'}>
                            <ActionIcon
                              variant="light"
                              color="green"
                              aria-label={`Run ${c.name}`}
                              disabled={!c.is_runnable}
                              onClick={() => setRunFor(c)}
                            >
                              <IconPlayerPlay size={16} />
                            </ActionIcon>
                          </Tooltip>
                          <Tooltip label="Edit">
                            <ActionIcon variant="subtle" aria-label={`Edit ${c.name}`} component={Link} to={`/pipelines/${c.id}`}>
                              <IconPencil size={16} />
                            </ActionIcon>
                          </Tooltip>
                          {c.is_active && (
                            <Tooltip label="Deactivate">
                              <ActionIcon variant="subtle" color="red" aria-label={`Deactivate ${c.name}`} onClick={() => setDeleteFor(c)}>
                                <IconTrash size={16} />
                              </ActionIcon>
                            </Tooltip>
                          )}
                        </Group>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          </Paper>
        )}
      </Stack>

      {runFor && (
        <RunDialog
          opened={!!runFor}
          onClose={() => setRunFor(null)}
          configId={runFor.id}
          configName={runFor.name}
          yaml={runFor.config_yaml}
        />
      )}

      <ConfirmModal
        opened={!!deleteFor}
        onClose={() => setDeleteFor(null)}
        title="Deactivate pipeline?"
        confirmLabel="Deactivate"
        confirmColor="red"
        loading={deactivate.isPending}
        onConfirm={() => deleteFor && deactivate.mutate(deleteFor)}
        error={deactivate.error}
      >
        <Text size="sm">
          <b>{deleteFor?.name}</b> will no longer be listed or runnable. Its executions and version history stay, and
          the name becomes free for a new config.
        </Text>
      </ConfirmModal>
    </>
  );
}
