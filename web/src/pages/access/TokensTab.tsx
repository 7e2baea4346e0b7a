import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Badge, Button, EmptyState, Group, Pagination, Paper, Skeleton, Switch, Table, Text, Tooltip } from '@mantine/core';
import { IconKey, IconPlus, IconTrash } from '@tabler/icons-react';
import { api, unwrap, type Schemas } from '../../api/client';
import { scopeColor, type Scope } from '../../api/auth';
import { ErrorAlert } from '../../components/ErrorAlert';
import { StatusBadge } from '../../components/StatusBadge';
import { formatAgo, formatTime } from '../../format';
import { CreateTokenModal, RevokeTokenModal, TokenSecretModal, type Token } from './TokenModals';

const pageSize = 50;

/** tokenState is what a token is good for now: revocation wins over expiry. */
export function tokenState(t: Token, now = Date.now()): 'active' | 'expired' | 'revoked' {
  if (t.revoked_at) return 'revoked';
  if (t.expires_at && new Date(t.expires_at).getTime() <= now) return 'expired';
  return 'active';
}

function When({ iso, empty }: { iso: string | undefined; empty: string }) {
  if (!iso)
    return (
      <Text size="sm" c="dimmed">
        {empty}
      </Text>
    );
  return (
    <Tooltip label={formatTime(iso)}>
      <Text size="sm">{formatAgo(iso)}</Text>
    </Tooltip>
  );
}

function expiresText(iso: string | undefined): string {
  if (!iso) return 'never';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString();
}

/** TokensTab lists API tokens (never their secrets), creates and revokes them. */
export function TokensTab() {
  const [page, setPage] = useState(1);
  const [showRevoked, setShowRevoked] = useState(false);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Schemas['TokenCreated'] | null>(null);
  const [revoking, setRevoking] = useState<Token | null>(null);

  const list = useQuery({
    queryKey: ['auth', 'tokens', { showRevoked, page }],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/auth/tokens', {
          params: { query: { include_revoked: showRevoked, limit: pageSize, offset: (page - 1) * pageSize } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const items = list.data?.items ?? [];
  const pages = Math.max(1, Math.ceil((list.data?.total ?? 0) / pageSize));

  return (
    <>
      <Group justify="space-between" mb="sm" wrap="wrap">
        <Switch
          label="Show revoked"
          checked={showRevoked}
          onChange={(e) => {
            setShowRevoked(e.currentTarget.checked);
            setPage(1);
          }}
        />
        <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
          New token
        </Button>
      </Group>
      {list.error ? <ErrorAlert error={list.error} title="Could not load tokens" /> : null}
      {list.isPending ? (
        <Paper withBorder p="md">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} h={32} mb="sm" />
          ))}
        </Paper>
      ) : list.isSuccess && items.length === 0 ? (
        <Paper withBorder p="xl">
          <EmptyState
            icon={<IconKey size={28} />}
            withIndicatorBackground
            title={showRevoked ? 'No tokens' : 'No active tokens'}
            description="API tokens let scripts, the CLI and this UI call the API with read, write or admin scope."
          />
        </Paper>
      ) : list.isSuccess ? (
        <Paper withBorder>
          <Table.ScrollContainer minWidth={960}>
            <Table verticalSpacing="xs" aria-label="API tokens" highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Token</Table.Th>
                  <Table.Th>Scopes</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>Expires</Table.Th>
                  <Table.Th>Last used</Table.Th>
                  <Table.Th>State</Table.Th>
                  <Table.Th>Actions</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((t) => {
                  const state = tokenState(t);
                  return (
                    <Table.Tr key={t.id}>
                      <Table.Td>
                        <Text size="sm" fw={500}>
                          {t.name}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm" className="mono" title={t.id}>
                          {t.prefix}…
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Group gap={4}>
                          {(t.scopes ?? []).map((s) => (
                            <Badge key={s} size="sm" variant="light" color={scopeColor[s as Scope] ?? 'gray'}>
                              {s}
                            </Badge>
                          ))}
                        </Group>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm">{t.created_by}</Text>
                        <Tooltip label={formatTime(t.created_at)}>
                          <Text size="xs" c="dimmed">
                            {formatAgo(t.created_at)}
                          </Text>
                        </Tooltip>
                      </Table.Td>
                      <Table.Td>
                        <Tooltip label={formatTime(t.expires_at)} disabled={!t.expires_at}>
                          <Text size="sm" c={t.expires_at ? undefined : 'dimmed'}>
                            {expiresText(t.expires_at)}
                          </Text>
                        </Tooltip>
                      </Table.Td>
                      <Table.Td>
                        <When iso={t.last_used_at} empty="never" />
                      </Table.Td>
                      <Table.Td>
                        <Tooltip label={`Revoked ${formatTime(t.revoked_at)}`} disabled={!t.revoked_at}>
                          <span>
                            <StatusBadge status={state} />
                          </span>
                        </Tooltip>
                      </Table.Td>
                      <Table.Td>
                        <Button
                          size="xs"
                          variant="light"
                          color="red"
                          leftSection={<IconTrash size={14} />}
                          disabled={state === 'revoked'}
                          onClick={() => setRevoking(t)}
                          aria-label={`Revoke ${t.name}`}
                        >
                          Revoke
                        </Button>
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Paper>
      ) : null}
      {pages > 1 && (
        <Group justify="center" mt="md">
          <Pagination value={page} onChange={setPage} total={pages} aria-label="Token pages" />
        </Group>
      )}
      <CreateTokenModal opened={creating} onClose={() => setCreating(false)} onCreated={setCreated} />
      <TokenSecretModal token={created} onClose={() => setCreated(null)} />
      <RevokeTokenModal token={revoking} onClose={() => setRevoking(null)} />
    </>
  );
}
