import { useEffect, useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Badge,
  Button,
  Code,
  Fieldset,
  Group,
  Modal,
  MultiSelect,
  PasswordInput,
  SimpleGrid,
  Stack,
  Switch,
  Text,
  Textarea,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { api, unwrap, type Schemas } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { ConfirmModal } from '../../components/ConfirmModal';
import { ShownOnceModal } from '../../components/ShownOnceModal';
import { ProblemFields } from '../search/ProblemFields';

export type Webhook = Schemas['Subscription'];
export type EventType = NonNullable<Schemas['WebhookCreate']['event_types']>[number];

export const EVENT_TYPES: { value: EventType; label: string }[] = [
  { value: 'execution.started', label: 'execution.started' },
  { value: 'execution.completed', label: 'execution.completed' },
  { value: 'execution.failed', label: 'execution.failed' },
  { value: 'execution.cancelled', label: 'execution.cancelled' },
  { value: 'storage.object.created', label: 'storage.object.created' },
  { value: 'lineage.failed', label: 'lineage.failed' },
  { value: 'dead_letter.created', label: 'dead_letter.created' },
  { value: 'webhook.test', label: 'webhook.test' },
];

const filterFields: { key: keyof Schemas['WebhookFilterInput']; label: string; placeholder: string }[] = [
  { key: 'config_id', label: 'Config id', placeholder: 'Any config' },
  { key: 'execution_id', label: 'Execution id', placeholder: 'Any execution' },
  { key: 'route_id', label: 'Route', placeholder: 'Any route' },
  { key: 'adapter_name', label: 'Adapter', placeholder: 'Any adapter' },
];

export function filterSummary(f: Schemas['WebhookFilters'] | undefined): string {
  const parts = filterFields.filter((x) => f?.[x.key]).map((x) => `${x.key.replace('_id', '').replace('_name', '')}=${f![x.key]}`);
  return parts.join(', ');
}

interface FormState {
  url: string;
  events: EventType[];
  description: string;
  active: boolean;
  secret: string;
  filters: Schemas['WebhookFilterInput'];
}

function initialState(w?: Webhook): FormState {
  return {
    url: w?.url ?? '',
    events: ((w?.event_types ?? []) as EventType[]).filter((e) => EVENT_TYPES.some((t) => t.value === e)),
    description: w?.description ?? '',
    active: w?.active ?? true,
    secret: '',
    filters: { ...(w?.filters ?? {}) },
  };
}

function cleanFilters(f: Schemas['WebhookFilterInput']): Schemas['WebhookFilterInput'] {
  const out: Schemas['WebhookFilterInput'] = {};
  for (const { key } of filterFields) {
    const v = f[key]?.trim();
    if (v) out[key] = v;
  }
  return out;
}

/**
 * WebhookFormModal creates a subscription (webhook undefined) or edits
 * one. A create answers with the signing secret, handed to onCreated.
 */
export function WebhookFormModal({
  opened,
  onClose,
  webhook,
  onCreated,
}: {
  opened: boolean;
  onClose: () => void;
  webhook?: Webhook;
  onCreated?: (w: Schemas['WebhookWithSecret']) => void;
}) {
  const qc = useQueryClient();
  const [f, setF] = useState<FormState>(() => initialState(webhook));
  useEffect(() => {
    if (opened) setF(initialState(webhook));
  }, [opened, webhook]);
  const up = (p: Partial<FormState>) => setF((x) => ({ ...x, ...p }));
  const editing = !!webhook;

  const save = useMutation({
    mutationFn: async () => {
      const filters = cleanFilters(f.filters);
      if (webhook) {
        return unwrap(
          api.PATCH('/api/v1/webhooks/{id}', {
            params: { path: { id: webhook.id } },
            body: { url: f.url.trim(), event_types: f.events, description: f.description, active: f.active, filters },
          }),
        );
      }
      const body: Schemas['WebhookCreate'] = { url: f.url.trim(), event_types: f.events, active: f.active };
      if (f.description.trim()) body.description = f.description.trim();
      if (Object.keys(filters).length) body.filters = filters;
      if (f.secret) body.secret = f.secret;
      return unwrap(api.POST('/api/v1/webhooks', { body }));
    },
    onSuccess: (w) => {
      qc.invalidateQueries({ queryKey: ['webhooks'] });
      notifications.show({ color: 'green', title: editing ? 'Webhook saved' : 'Webhook created', message: w.url });
      onClose();
      if (!editing) onCreated?.(w);
    },
    onError: (err) =>
      notifications.show({ color: 'red', title: editing ? 'Webhook not saved' : 'Webhook not created', message: (err as Error).message }),
  });
  useEffect(() => {
    if (opened) save.reset();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [opened]);

  const urlOk = /^https?:\/\/\S+$/i.test(f.url.trim());
  return (
    <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={opened} onClose={onClose} title={editing ? 'Edit webhook' : 'New webhook'} size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput
            label="URL"
            description="Events are POSTed here, signed with HMAC-SHA256 (X-Factflow-Signature)"
            placeholder="https://example.com/hooks/factflow"
            required
            value={f.url}
            onChange={(e) => up({ url: e.currentTarget.value })}
            error={f.url && !urlOk ? 'An absolute http(s) URL' : undefined}
            data-autofocus
          />
          <MultiSelect
            label="Events"
            placeholder={f.events.length ? undefined : 'Pick event types'}
            required
            data={EVENT_TYPES}
            value={f.events}
            onChange={(v) => up({ events: v as EventType[] })}
            clearable
            searchable
            comboboxProps={{ withinPortal: true }}
          />
          <Textarea
            label="Description"
            autosize
            minRows={1}
            maxRows={4}
            value={f.description}
            onChange={(e) => up({ description: e.currentTarget.value })}
          />
          <Fieldset legend="Filters (optional): only events with all of these attributes" variant="filled">
            <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
              {filterFields.map((x) => (
                <TextInput
                  key={x.key}
                  label={x.label}
                  placeholder={x.placeholder}
                  value={f.filters[x.key] ?? ''}
                  onChange={(e) => {
                    const v = e.currentTarget.value;
                    setF((s) => ({ ...s, filters: { ...s.filters, [x.key]: v } }));
                  }}
                />
              ))}
            </SimpleGrid>
          </Fieldset>
          {!editing && (
            <PasswordInput
              label="Signing secret"
              description="Leave empty to have a strong one generated. It is shown once, after creating."
              value={f.secret}
              onChange={(e) => up({ secret: e.currentTarget.value })}
              autoComplete="new-password"
            />
          )}
          <Switch label="Active (send events)" checked={f.active} onChange={(e) => up({ active: e.currentTarget.checked })} />
          {save.error ? (
            <Stack gap={4}>
              <ErrorAlert error={save.error} title={editing ? 'Could not save the webhook' : 'Could not create the webhook'} />
              <ProblemFields error={save.error} />
            </Stack>
          ) : null}
          <Group justify="flex-end" gap="xs">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending} disabled={!urlOk || f.events.length === 0}>
              {editing ? 'Save changes' : 'Create webhook'}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** SecretModal shows a signing secret the one time the server reveals it. */
export function SecretModal({ secret, onClose, title }: { secret: string | null; onClose: () => void; title?: string }) {
  return (
    <ShownOnceModal
      value={secret}
      onClose={onClose}
      title={title ?? 'Webhook signing secret'}
      what="secret"
      warning={
        <>
          It will not be shown again. Receivers verify each delivery with it: X-Factflow-Signature is
          sha256=HMAC-SHA256(secret, timestamp + "." + body).
        </>
      }
    />
  );
}

/** DeleteWebhookModal asks before removing a subscription. */
export function DeleteWebhookModal({
  webhook,
  onClose,
  onDeleted,
}: {
  webhook: Webhook | null;
  onClose: () => void;
  onDeleted?: () => void;
}) {
  const qc = useQueryClient();
  const del = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/webhooks/{id}', { params: { path: { id } } })),
    onSuccess: (_, id) => {
      qc.removeQueries({ queryKey: ['webhooks', 'detail', id] });
      qc.invalidateQueries({ queryKey: ['webhooks', 'list'] });
      notifications.show({ color: 'green', title: 'Webhook deleted', message: webhook?.url ?? id });
      onClose();
      onDeleted?.();
    },
    onError: (err) => notifications.show({ color: 'red', title: 'Webhook not deleted', message: (err as Error).message }),
  });
  useEffect(() => {
    if (webhook) del.reset();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [webhook]);
  return (
    <ConfirmModal
      closeLabel="Close"
      opened={!!webhook}
      onClose={onClose}
      title="Delete webhook?"
      confirmLabel="Delete webhook"
      confirmColor="red"
      loading={del.isPending}
      onConfirm={() => webhook && del.mutate(webhook.id)}
      error={del.error}
      errorTitle="Not deleted"
    >
      <Text size="sm">
        Events will no longer be sent to <Code>{webhook?.url}</Code>, and its delivery log goes with it. This cannot be undone.
      </Text>
    </ConfirmModal>
  );
}

/** useTestWebhook sends a webhook.test event to a subscription. */
export function useTestWebhook() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.POST('/api/v1/webhooks/{id}/test', { params: { path: { id } } })),
    onSuccess: (d, id) => {
      qc.invalidateQueries({ queryKey: ['webhooks', 'deliveries', id] });
      notifications.show({ color: 'green', title: 'Test event queued', message: `Delivery ${d.id}` });
    },
    onError: (err) => notifications.show({ color: 'red', title: 'Test not sent', message: (err as Error).message }),
  });
}

/** useToggleActive switches a subscription on or off. */
export function useToggleActive() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, active }: { id: string; active: boolean }) =>
      unwrap(api.PATCH('/api/v1/webhooks/{id}', { params: { path: { id } }, body: { active } })),
    onSuccess: (w) => {
      qc.invalidateQueries({ queryKey: ['webhooks'] });
      notifications.show({ color: 'green', title: w.active ? 'Webhook activated' : 'Webhook paused', message: w.url });
    },
    onError: (err) => notifications.show({ color: 'red', title: 'Not changed', message: (err as Error).message }),
  });
}

export function EventBadges({ events, max = 3 }: { events: string[] | null | undefined; max?: number }) {
  const list = events ?? [];
  const shown = list.slice(0, max);
  return (
    <Group gap={4} wrap="wrap">
      {shown.map((e) => (
        <Badge key={e} size="sm" variant="light" tt="none" color={e.endsWith('failed') || e.startsWith('dead_letter') ? 'red' : 'blue'}>
          {e}
        </Badge>
      ))}
      {list.length > max && (
        <Tooltip label={list.slice(max).join(', ')}>
          <Badge size="sm" variant="outline" color="gray">
            +{list.length - max}
          </Badge>
        </Tooltip>
      )}
    </Group>
  );
}
