import { useMemo, useState } from 'react';
import { Alert, Anchor, Button, Group, Modal, Select, Stack, Text, TextInput } from '@mantine/core';
import { IconCircleCheck } from '@tabler/icons-react';
import { Link } from 'react-router';
import type { Schemas } from '../../../api/client';
import { ErrorAlert } from '../../../components/ErrorAlert';
import { StatusBadge } from '../../../components/StatusBadge';
import { shortId } from '../../../format';
import { useReplay, type DAG } from './api';

const tagPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function ReplayDialog({ id, dag, opened, onClose }: { id: string; dag: DAG | undefined; opened: boolean; onClose: () => void }) {
  const replay = useReplay(id);
  const [stage, setStage] = useState<string | null>(null);
  const [fromPath, setFromPath] = useState('');
  const [toRoute, setToRoute] = useState<string | null>(null);
  const [configId, setConfigId] = useState('');
  const [tag, setTag] = useState('');
  const [result, setResult] = useState<Schemas['ReplayResult'] | null>(null);

  const stageOptions = useMemo(
    () =>
      (dag?.nodes ?? []).map((n) => ({
        group: n.name ? `${n.route_id} — ${n.name}` : n.route_id,
        items: (n.adapters ?? []).map((a) => ({ value: `${n.route_id}\u0000${a.name || a.type}`, label: a.name || a.type })),
      })),
    [dag],
  );
  const routes = (dag?.nodes ?? []).map((n) => n.route_id);
  const tagError = tag && !tagPattern.test(tag) ? 'Letters, digits, . _ - and starting with a letter or digit' : null;

  const close = () => {
    onClose();
    setResult(null);
    replay.reset();
  };

  const submit = () => {
    if (!stage) return;
    const [fromRoute, fromStage] = stage.split('\u0000');
    replay.mutate(
      {
        replay_source: 'storage',
        from_stage: fromStage,
        from_route: fromRoute,
        from_path: fromPath.trim() || undefined,
        to_route: toRoute || undefined,
        config_id: configId.trim() || undefined,
        tag: tag.trim() || undefined,
      },
      { onSuccess: (r) => setResult(r) },
    );
  };

  return (
    <Modal opened={opened} onClose={close} title="Replay stored artefacts" size="lg" closeButtonProps={{ 'aria-label': 'Dismiss' }}>
      {result ? (
        <Stack>
          <Alert color="green" icon={<IconCircleCheck />} title="Replay started">
            <Text size="sm">
              {result.objects_published} of {result.objects_found} artefacts were sent to route <b>{result.to_route}</b>
              {result.objects_failed > 0 ? ` (${result.objects_failed} could not be sent)` : ''}.
            </Text>
          </Alert>
          <Group gap="xs">
            <Text size="sm">New execution:</Text>
            <Anchor component={Link} to={`/executions/${result.execution.id}`} onClick={close} ff="monospace">
              {result.execution.tag || shortId(result.execution.id)}
            </Anchor>
            <StatusBadge status={result.execution.status} />
          </Group>
          <Text size="xs" c="dimmed">
            Replay batch {result.replay_batch_id}
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Close
            </Button>
          </Group>
        </Stack>
      ) : (
        <Stack>
          <Text size="sm" c="dimmed">
            Starts a new execution linked to this one with one message per artefact a stage stored.
          </Text>
          <Select
            label="From stage"
            description="The adapter step whose stored artefacts are replayed"
            placeholder="Pick a stage"
            data={stageOptions}
            value={stage}
            onChange={setStage}
            searchable
            required
            comboboxProps={{ withinPortal: true }}
          />
          <TextInput
            label="Only under sub-path"
            description="Optional sub-path of the stage's folder"
            value={fromPath}
            onChange={(e) => setFromPath(e.currentTarget.value)}
          />
          <TextInput
            label="Into config"
            description="Optional: another config (id or name) for a cross-pipeline replay"
            value={configId}
            onChange={(e) => setConfigId(e.currentTarget.value)}
          />
          {configId.trim() ? (
            <TextInput
              label="To route"
              description="A route of the target config"
              value={toRoute ?? ''}
              onChange={(e) => setToRoute(e.currentTarget.value || null)}
            />
          ) : (
            <Select
              label="To route"
              description="By default the route the stage's route feeds"
              placeholder="Default"
              data={routes}
              value={toRoute}
              onChange={setToRoute}
              clearable
            />
          )}
          <TextInput label="Tag" description="Optional unique alias of the new execution" value={tag} onChange={(e) => setTag(e.currentTarget.value)} error={tagError} />
          {replay.error && <ErrorAlert error={replay.error} title="Replay failed" />}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Close
            </Button>
            <Button onClick={submit} loading={replay.isPending} disabled={!stage || !!tagError}>
              Start replay
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
