import { useEffect, useMemo, useState } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Checkbox, Group, JsonInput, Modal, Select, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlayerPlay } from '@tabler/icons-react';
import { parse as parseYaml } from 'yaml';
import { api, unwrap, type Schemas } from '../../../api/client';
import { ErrorAlert } from '../../../components/ErrorAlert';

const tagPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** initPayloadOf reads the init message payload of a config's YAML, as a template. */
export function initPayloadOf(yaml: string | undefined): Record<string, unknown> | null {
  if (!yaml) return null;
  try {
    const doc = parseYaml(yaml) as { init_message?: { payload?: unknown } } | null;
    const p = doc?.init_message?.payload;
    return p && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** parseObject parses an optional JSON object field; '' is undefined. */
function parseObject(text: string): { value?: Record<string, unknown>; error?: string } {
  if (!text.trim()) return {};
  try {
    const v: unknown = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) return { error: 'Must be a JSON object' };
    return { value: v as Record<string, unknown> };
  } catch {
    return { error: 'Invalid JSON' };
  }
}

export function StartExecutionModal({
  opened,
  onClose,
  initialConfig,
}: {
  opened: boolean;
  onClose: () => void;
  initialConfig?: string;
}) {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [config, setConfig] = useState<string | null>(initialConfig || null);
  const [tag, setTag] = useState('');
  const [payload, setPayload] = useState('');
  const [payloadTouched, setPayloadTouched] = useState(false);
  const [metadata, setMetadata] = useState('');
  const [skipInit, setSkipInit] = useState(false);
  const [submitted, setSubmitted] = useState(false);

  useEffect(() => {
    if (opened) {
      setConfig(initialConfig || null);
      setTag('');
      setPayload('');
      setPayloadTouched(false);
      setMetadata('');
      setSkipInit(false);
      setSubmitted(false);
    }
  }, [opened, initialConfig]);

  const configs = useQuery({
    queryKey: ['configs', { limit: 500 }],
    queryFn: () => unwrap(api.GET('/api/v1/configs', { params: { query: { limit: 500 } } })),
    enabled: opened,
  });

  const byName = useMemo(() => {
    const m = new Map<string, Schemas['Config']>();
    for (const c of configs.data?.items ?? []) m.set(c.name, c);
    return m;
  }, [configs.data]);
  const selected = config ? byName.get(config) : undefined;

  // Offer the config's own init payload as a template until the user edits it.
  useEffect(() => {
    if (payloadTouched) return;
    const p = initPayloadOf(selected?.config_yaml);
    setPayload(p ? JSON.stringify(p, null, 2) : '');
  }, [selected, payloadTouched]);

  const payloadParsed = parseObject(payload);
  const metaParsed = parseObject(metadata);
  const tagError = tag && !tagPattern.test(tag) ? 'Letters, digits, ".", "_" or "-", starting with a letter or digit' : undefined;

  const start = useMutation({
    mutationFn: (body: Schemas['ExecutionStart']) => unwrap(api.POST('/api/v1/executions', { body })),
    onSuccess: (ex) => {
      notifications.show({
        color: 'green',
        title: 'Execution started',
        message: `${ex.config_name ?? 'Execution'} ${ex.tag ? `(${ex.tag})` : ''} is ${ex.status}`,
      });
      void qc.invalidateQueries({ queryKey: ['executions'] });
      void qc.invalidateQueries({ queryKey: ['dashboard'] });
      onClose();
      void navigate(`/executions/${encodeURIComponent(ex.id)}`);
    },
    onError: (err) => {
      notifications.show({ color: 'red', title: 'Could not start the execution', message: err.message });
    },
  });

  const submit = () => {
    setSubmitted(true);
    if (!config || tagError || payloadParsed.error || metaParsed.error) return;
    const body: Schemas['ExecutionStart'] = { config_id: config };
    if (tag) body.tag = tag;
    if (payloadParsed.value && !skipInit) body.payload = payloadParsed.value;
    if (metaParsed.value) body.metadata = metaParsed.value;
    if (skipInit) body.skip_init_message = true;
    start.mutate(body);
  };

  const options = (configs.data?.items ?? []).map((c) => ({
    value: c.name,
    label: c.is_runnable ? c.name : `${c.name} (not runnable)`,
    disabled: !c.is_runnable,
  }));

  return (
    <Modal opened={opened} onClose={onClose} title="Start execution" size="lg" closeButtonProps={{ 'aria-label': 'Close' }}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <Stack>
          {configs.error && <ErrorAlert error={configs.error} title="Could not load configs" />}
          <Select
            label="Pipeline config"
            placeholder={configs.isLoading ? 'Loading configs…' : 'Choose a config'}
            data={options}
            value={config}
            onChange={(v) => {
              setConfig(v);
              setPayloadTouched(false);
            }}
            searchable
            required
            nothingFoundMessage="No config matches"
            error={submitted && !config ? 'Choose a config' : undefined}
            comboboxProps={{ withinPortal: true }}
          />
          {selected?.description && (
            <Text size="sm" c="dimmed" lineClamp={3}>
              {selected.description}
            </Text>
          )}
          <TextInput
            label="Tag"
            description="Optional unique alias, usable wherever the execution id is"
            placeholder="nightly-2026-12-01"
            value={tag}
            onChange={(e) => setTag(e.currentTarget.value.trim())}
            error={tagError}
          />
          <JsonInput
            label="Payload"
            description="Merged into the init message payload (JSON object)"
            placeholder='{"root": "/srv/docs"}'
            value={payload}
            onChange={(v) => {
              setPayload(v);
              setPayloadTouched(true);
            }}
            error={submitted ? payloadParsed.error : undefined}
            validationError="Invalid JSON"
            disabled={skipInit}
            autosize
            minRows={3}
            maxRows={12}
          />
          <JsonInput
            label="Metadata"
            description="Optional JSON object recorded with the execution"
            placeholder='{"ticket": "OPS-42"}'
            value={metadata}
            onChange={setMetadata}
            error={submitted ? metaParsed.error : undefined}
            validationError="Invalid JSON"
            autosize
            minRows={2}
            maxRows={8}
          />
          <Checkbox
            label="Skip the init message (start idle and wait for messages)"
            checked={skipInit}
            onChange={(e) => setSkipInit(e.currentTarget.checked)}
          />
          {start.error && <ErrorAlert error={start.error} title="Could not start the execution" />}
          {selected && !selected.is_runnable && (
            <Alert color="yellow">This config has validation errors and cannot run.</Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" leftSection={<IconPlayerPlay size={16} />} loading={start.isPending}>
              Start
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
