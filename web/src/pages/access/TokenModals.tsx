import { useEffect, useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button, Code, Group, Modal, MultiSelect, Select, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { api, unwrap, type Schemas } from '../../api/client';
import { SCOPES, type Scope } from '../../api/auth';
import { ErrorAlert } from '../../components/ErrorAlert';
import { ConfirmModal } from '../../components/ConfirmModal';
import { ShownOnceModal } from '../../components/ShownOnceModal';
import { EXPIRY_OPTIONS, expiryProblem, formProblem, tokenBody, type Expiry, type TokenForm } from './tokenForm';

export type Token = Schemas['APIToken'];

const blank: TokenForm = { name: '', scopes: ['read'], expiry: '90d', expiresAt: '' };

const scopeOptions = SCOPES.map((s) => ({
  value: s,
  label: s === 'read' ? 'read — look at everything' : s === 'write' ? 'write — also change and run' : 'admin — also tokens and audit',
}));

/** CreateTokenModal asks for a name, scopes and expiry; the created token goes to onCreated. */
export function CreateTokenModal({
  opened,
  onClose,
  onCreated,
}: {
  opened: boolean;
  onClose: () => void;
  onCreated: (t: Schemas['TokenCreated']) => void;
}) {
  const qc = useQueryClient();
  const [f, setF] = useState<TokenForm>(blank);
  const up = (p: Partial<TokenForm>) => setF((x) => ({ ...x, ...p }));
  const create = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/auth/tokens', { body: tokenBody(f) })),
    onSuccess: (t) => {
      void qc.invalidateQueries({ queryKey: ['auth', 'tokens'] });
      void qc.invalidateQueries({ queryKey: ['auth', 'audit'] });
      onClose();
      onCreated(t);
    },
  });
  useEffect(() => {
    if (opened) {
      setF(blank);
      create.reset();
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [opened]);

  const problem = formProblem(f);
  // Only once something is typed: an empty field is not an error yet.
  const expiryError = f.expiresAt.trim() ? expiryProblem(f) : null;
  return (
    <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={opened} onClose={onClose} title="New API token">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!problem) create.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput
            label="Name"
            description="What the token is for, e.g. ci-nightly"
            required
            value={f.name}
            onChange={(e) => up({ name: e.currentTarget.value })}
            data-autofocus
          />
          <MultiSelect
            label="Scopes"
            description="read < write < admin: each includes the weaker ones"
            required
            data={scopeOptions}
            value={f.scopes}
            onChange={(v) => up({ scopes: v as Scope[] })}
            comboboxProps={{ withinPortal: true }}
          />
          <Select
            label="Expires"
            data={EXPIRY_OPTIONS}
            value={f.expiry}
            onChange={(v) => up({ expiry: (v ?? 'never') as Expiry })}
            allowDeselect={false}
            comboboxProps={{ withinPortal: true }}
          />
          {f.expiry === 'custom' && (
            <TextInput
              label="Expires at"
              description="RFC 3339, e.g. 2027-01-31T00:00:00Z (a plain date means midnight UTC)"
              placeholder="2027-01-31T00:00:00Z"
              required
              value={f.expiresAt}
              onChange={(e) => up({ expiresAt: e.currentTarget.value })}
              error={expiryError}
            />
          )}
          {create.error ? <ErrorAlert error={create.error} title="Could not create the token" /> : null}
          <Group justify="flex-end" gap="xs">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending} disabled={!!problem}>
              Create token
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** TokenSecretModal shows a new token the one time the server reveals it. */
export function TokenSecretModal({ token, onClose }: { token: Schemas['TokenCreated'] | null; onClose: () => void }) {
  return (
    <ShownOnceModal
      value={token?.token}
      onClose={onClose}
      title="API token created"
      what="token"
      warning={
        <>
          It will not be shown again: the server keeps only its hash. Send it as <Code>Authorization: Bearer …</Code>, or
          paste it when the UI asks for a token.
        </>
      }
    >
      <Text size="sm">
        <b>{token?.name}</b> with scopes {(token?.scopes ?? []).join(', ')}
      </Text>
    </ShownOnceModal>
  );
}

/** RevokeTokenModal asks before revoking a token, which stops it working at once. */
export function RevokeTokenModal({ token, onClose }: { token: Token | null; onClose: () => void }) {
  const qc = useQueryClient();
  const revoke = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/auth/tokens/{id}', { params: { path: { id } } })),
    onSuccess: (t) => {
      void qc.invalidateQueries({ queryKey: ['auth', 'tokens'] });
      void qc.invalidateQueries({ queryKey: ['auth', 'audit'] });
      notifications.show({ color: 'green', title: 'Token revoked', message: t.name });
      onClose();
    },
  });
  useEffect(() => {
    if (token) revoke.reset();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [token]);
  return (
    <ConfirmModal
      closeLabel="Close"
      opened={!!token}
      onClose={onClose}
      title="Revoke token?"
      confirmLabel="Revoke token"
      confirmColor="red"
      loading={revoke.isPending}
      onConfirm={() => token && revoke.mutate(token.id)}
      error={revoke.error}
      errorTitle="Not revoked"
    >
      <Text size="sm">
        <b>{token?.name}</b> (<Code>{token?.prefix}…</Code>) stops working at once: every request with it is refused
        with AUTH_TOKEN_REVOKED. This cannot be undone.
      </Text>
    </ConfirmModal>
  );
}
