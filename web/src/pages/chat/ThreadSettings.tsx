import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import {
  Button,
  Divider,
  Group,
  Input,
  Modal,
  NumberInput,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  TagsInput,
  Text,
  TextInput,
} from '@mantine/core';
import { api, unwrap, type Schemas } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';

/** The thread settings the form edits (a flat view of ChatOptions). */
export interface SettingsForm {
  contextMode: 'rag' | 'none';
  strategy: 'merge' | 'sequential' | 'ensemble';
  maxTotal: number;
  topK: number;
  threshold?: number;
  slot: string;
  executions: string[];
  model: string;
  profile: string;
  temperature?: number;
  maxTokens?: number;
}

export const defaultSettings: SettingsForm = {
  contextMode: 'rag',
  strategy: 'merge',
  maxTotal: 8,
  topK: 5,
  slot: '',
  executions: [],
  model: '',
  profile: '',
};

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** fromStored reads a thread's stored settings into the form. */
export function fromStored(settings: unknown): SettingsForm {
  const s = obj(settings);
  const rag = obj(s.rag_config);
  const src = obj(Array.isArray(rag.sources) ? rag.sources[0] : undefined);
  const strategy = str(rag.retrieval_strategy);
  return {
    contextMode: s.context_mode === 'none' ? 'none' : 'rag',
    strategy: strategy === 'sequential' || strategy === 'ensemble' ? strategy : 'merge',
    maxTotal: num(rag.max_total_results) ?? 8,
    topK: num(src.limit) ?? 5,
    threshold: num(src.similarity_threshold),
    slot: str(src.model_name) || str(s.embedding_model),
    executions: Array.isArray(src.execution_ids) ? (src.execution_ids as string[]) : [],
    model: str(s.model),
    profile: str(s.profile),
    temperature: num(s.temperature),
    maxTokens: num(s.max_tokens),
  };
}

/** toOptions turns the form into the ChatOptions the API takes. */
export function toOptions(f: SettingsForm): Schemas['ChatOptions'] {
  const source: Schemas['RAGSource'] = { limit: f.topK };
  if (f.slot) source.model_name = f.slot;
  if (f.threshold !== undefined) source.similarity_threshold = f.threshold;
  if (f.executions.length) source.execution_ids = f.executions;
  const o: Schemas['ChatOptions'] = {
    context_mode: f.contextMode,
    rag_config: { retrieval_strategy: f.strategy, max_total_results: f.maxTotal, sources: [source] },
  };
  if (f.model) o.model = f.model;
  if (f.profile) o.profile = f.profile;
  if (f.temperature !== undefined) o.temperature = f.temperature;
  if (f.maxTokens !== undefined) o.max_tokens = f.maxTokens;
  return o;
}

const optNum = (v: string | number) => (v === '' ? undefined : Number(v));

export function ThreadSettingsModal({
  opened,
  onClose,
  initial,
  onSave,
  saving,
  error,
  title,
}: {
  opened: boolean;
  onClose: () => void;
  initial: SettingsForm;
  onSave: (f: SettingsForm) => void;
  saving?: boolean;
  error?: unknown;
  title?: string;
}) {
  const [f, setF] = useState(initial);
  useEffect(() => {
    if (opened) setF(initial);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [opened]);
  const caps = useQuery({
    queryKey: ['search', 'capabilities'],
    queryFn: () => unwrap(api.GET('/api/v1/search/capabilities')),
    enabled: opened,
    staleTime: 60_000,
  });
  const sources = useQuery({
    queryKey: ['chat', 'sources'],
    queryFn: () => unwrap(api.GET('/api/v1/chat/sources')),
    enabled: opened,
    staleTime: 30_000,
  });
  const up = (patch: Partial<SettingsForm>) => setF((x) => ({ ...x, ...patch }));
  const rag = f.contextMode === 'rag';
  return (
    <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={opened} onClose={onClose} title={title ?? 'Thread settings'} size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onSave(f);
        }}
      >
        <Stack gap="sm">
          <Input.Wrapper label="Context" description="Answer from retrieved passages, or ask the model alone">
            <SegmentedControl
              mt={4}
              aria-label="Context mode"
              value={f.contextMode}
              onChange={(v) => up({ contextMode: v as SettingsForm['contextMode'] })}
              data={[
                { value: 'rag', label: 'Retrieval (RAG)' },
                { value: 'none', label: 'Model only' },
              ]}
            />
          </Input.Wrapper>
          <Divider label="Retrieval" labelPosition="left" />
          <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
            <Select
              label="Retrieval strategy"
              disabled={!rag}
              allowDeselect={false}
              value={f.strategy}
              onChange={(v) => v && up({ strategy: v as SettingsForm['strategy'] })}
              data={[
                { value: 'merge', label: 'Merge — sources in parallel, by weighted score' },
                { value: 'sequential', label: 'Sequential — sources in order until enough' },
                { value: 'ensemble', label: 'Ensemble — RRF of vector and keyword ranks' },
              ]}
            />
            <Select
              label="Embedding slot"
              disabled={!rag}
              placeholder={caps.data?.default_model ? `Default (${caps.data.default_model})` : 'Default'}
              clearable
              value={f.slot || null}
              onChange={(v) => up({ slot: v ?? '' })}
              data={(caps.data?.models ?? []).map((m) => m.model_name)}
            />
            <NumberInput
              label="Top-k per source"
              description="Passages taken from the source (1–50)"
              disabled={!rag}
              min={1}
              max={50}
              value={f.topK}
              onChange={(v) => up({ topK: Number(v) || 5 })}
            />
            <NumberInput
              label="Max passages"
              description="Passages handed to the model (1–50)"
              disabled={!rag}
              min={1}
              max={50}
              value={f.maxTotal}
              onChange={(v) => up({ maxTotal: Number(v) || 8 })}
            />
            <NumberInput
              label="Similarity threshold"
              description="Drop passages less similar than this (−1…1)"
              disabled={!rag}
              min={-1}
              max={1}
              step={0.05}
              decimalScale={3}
              value={f.threshold ?? ''}
              onChange={(v) => up({ threshold: optNum(v) })}
            />
            <TagsInput
              label="Executions"
              description="Only these executions (id or tag)"
              disabled={!rag}
              placeholder={f.executions.length ? undefined : 'All'}
              data={Array.from(new Set((sources.data?.sources ?? []).map((s) => s.tag || s.execution_id)))}
              value={f.executions}
              onChange={(executions) => up({ executions })}
              clearable
            />
          </SimpleGrid>
          <Divider label="Model" labelPosition="left" />
          <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
            <TextInput
              label="Completion profile"
              placeholder="Default"
              value={f.profile}
              onChange={(e) => up({ profile: e.currentTarget.value })}
            />
            <TextInput label="Model" placeholder="The profile's model" value={f.model} onChange={(e) => up({ model: e.currentTarget.value })} />
            <NumberInput
              label="Temperature"
              min={0}
              max={2}
              step={0.1}
              decimalScale={2}
              value={f.temperature ?? ''}
              onChange={(v) => up({ temperature: optNum(v) })}
            />
            <NumberInput
              label="Max tokens"
              min={1}
              max={32768}
              value={f.maxTokens ?? ''}
              onChange={(v) => up({ maxTokens: optNum(v) })}
            />
          </SimpleGrid>
          {error ? <ErrorAlert error={error} title="Settings not saved" /> : null}
          <Group justify="space-between">
            <Button variant="subtle" onClick={() => setF(defaultSettings)}>
              Reset to defaults
            </Button>
            <Group gap="xs">
              <Button variant="default" onClick={onClose}>
                Cancel
              </Button>
              <Button type="submit" loading={saving}>
                Save settings
              </Button>
            </Group>
          </Group>
          <Text size="xs" c="dimmed">
            Every message of the thread uses these settings.
          </Text>
        </Stack>
      </form>
    </Modal>
  );
}
