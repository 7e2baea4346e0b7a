// RunDialog starts an execution of a stored config: payload overrides
// (a JSON object merged into init_message.payload), a tag and the
// skip-init switch. Shared by the list and the editor.
import { useEffect, useMemo, useState } from 'react';
import { Alert, Button, Checkbox, Group, JsonInput, Modal, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { IconPlayerPlay } from '@tabler/icons-react';
import { useNavigate } from 'react-router';
import { parse as parseYaml } from 'yaml';
import { ApiError, api, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { FindingsList } from './Validity';
import { initPayloadOf } from './yamlContext';

const tagRe = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** parsePayload reads the overrides text: undefined when blank, an object, or an error message. */
export function parsePayload(text: string): { value?: Record<string, unknown>; error?: string } {
  if (!text.trim()) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `Invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: 'The payload must be a JSON object, e.g. {"root": "/srv/docs"}' };
  return { value: v as Record<string, unknown> };
}

/** defaultPayloadText is the init_message payload of yaml, pretty-printed ('' when none). */
export function defaultPayloadText(yaml: string | undefined): string {
  if (!yaml) return '';
  try {
    const p = initPayloadOf(parseYaml(yaml));
    return p && Object.keys(p).length ? JSON.stringify(p, null, 2) : '';
  } catch {
    return '';
  }
}

export interface RunDialogProps {
  opened: boolean;
  onClose: () => void;
  /** Config id (or name) to run. */
  configId: string;
  configName?: string;
  /** The config's YAML, for the init_message payload prefill. */
  yaml?: string;
  /** The editor has changes that are not saved (the stored version runs). */
  unsaved?: boolean;
}

export function RunDialog({ opened, onClose, configId, configName, yaml, unsaved }: RunDialogProps) {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const prefill = useMemo(() => defaultPayloadText(yaml), [yaml]);
  const [payload, setPayload] = useState(prefill);
  const [tag, setTag] = useState('');
  const [skipInit, setSkipInit] = useState(false);
  const [payloadError, setPayloadError] = useState<string | undefined>();

  useEffect(() => {
    if (opened) {
      setPayload(prefill);
      setTag('');
      setSkipInit(false);
      setPayloadError(undefined);
    }
  }, [opened, prefill]);

  const run = useMutation({
    mutationFn: (v: { body?: Record<string, unknown>; tag?: string; skip: boolean }) =>
      unwrap(
        api.POST('/api/v1/configs/{id}/run', {
          params: {
            path: { id: configId },
            query: { tag: v.tag || undefined, skip_init_message: v.skip || undefined },
          },
          body: v.body,
        }),
      ),
    onSuccess: (ex) => {
      qc.invalidateQueries({ queryKey: ['executions'] });
      notifications.show({
        color: 'green',
        title: 'Execution started',
        message: `${configName ?? configId}${ex.tag ? ` (${ex.tag})` : ''} is ${ex.status}`,
      });
      onClose();
      navigate(`/executions/${ex.id}`);
    },
    onError: (e) => {
      notifications.show({ color: 'red', title: 'Run failed', message: e instanceof Error ? e.message : String(e) });
    },
  });

  const tagError = tag && !tagRe.test(tag) ? 'Letters, digits, . _ - (starting with a letter or digit)' : undefined;

  const submit = () => {
    const p = parsePayload(payload);
    setPayloadError(p.error);
    if (p.error || tagError) return;
    run.mutate({ body: p.value, tag: tag.trim() || undefined, skip: skipInit });
  };

  const report = run.error instanceof ApiError ? run.error.problem?.validation_report : undefined;

  return (
    <Modal opened={opened} onClose={onClose} title={`Run ${configName ?? 'pipeline'}`} size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <Stack gap="sm">
          {unsaved && (
            <Alert color="yellow" variant="light" title="Unsaved changes">
              The stored version runs; save first to run what the editor shows.
            </Alert>
          )}
          <JsonInput
            label="Payload overrides (JSON)"
            description="A JSON object merged into init_message.payload; leave empty to use the pipeline's payload"
            placeholder='{"root": "/srv/docs"}'
            value={payload}
            onChange={(v) => {
              setPayload(v);
              if (payloadError) setPayloadError(undefined);
            }}
            error={payloadError}
            autosize
            minRows={4}
            maxRows={14}
            formatOnBlur
            validationError="Invalid JSON"
            styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
          />
          <TextInput
            label="Tag"
            description="Optional unique alias of the new execution"
            placeholder="nightly-2026-01-01"
            value={tag}
            onChange={(e) => setTag(e.currentTarget.value)}
            error={tagError}
          />
          <Checkbox
            label="Skip init message"
            description="Start the routes without publishing the init message"
            checked={skipInit}
            onChange={(e) => setSkipInit(e.currentTarget.checked)}
          />
          {run.error && <ErrorAlert error={run.error} title="Could not start the execution" />}
          {report && report.findings && report.findings.length > 0 && (
            <Stack gap={4}>
              <Text size="sm" fw={600}>
                Validation findings
              </Text>
              <FindingsList findings={report.findings} />
            </Stack>
          )}
          <Group justify="flex-end" gap="xs">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" leftSection={<IconPlayerPlay size={16} />} loading={run.isPending}>
              Start execution
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
