import { useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import {
  Alert,
  Anchor,
  Badge,
  Breadcrumbs,
  Button,
  Card,
  Collapse,
  EmptyState,
  Group,
  MultiSelect,
  NumberInput,
  Paper,
  SegmentedControl,
  Select,
  SimpleGrid,
  Skeleton,
  Spoiler,
  Stack,
  TagsInput,
  Text,
  TextInput,
  Tooltip,
  Typography,
  UnstyledButton,
} from '@mantine/core';
import ReactMarkdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';
import { useDisclosure } from '@mantine/hooks';
import {
  IconAdjustmentsHorizontal,
  IconAlertTriangle,
  IconExternalLink,
  IconFileText,
  IconSearch,
  IconTimeline,
} from '@tabler/icons-react';
import { api, unwrap, type Schemas } from '../../api/client';
import { PageHeader } from '../../components/PageHeader';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatNumber, shortId } from '../../format';
import { ProblemFields } from './ProblemFields';

export type SearchMode = 'semantic' | 'hybrid' | 'rrf' | 'multi-model';

const modes: { value: SearchMode; label: string; path: string; help: string }[] = [
  { value: 'semantic', label: 'Semantic', path: '/api/v1/search', help: 'Nearest segments to the query embedding (cosine similarity).' },
  { value: 'hybrid', label: 'Hybrid', path: '/api/v1/search/hybrid', help: 'Vector similarity blended with full-text rank.' },
  { value: 'rrf', label: 'RRF', path: '/api/v1/search/rrf', help: 'Reciprocal rank fusion of the vector and keyword rankings (what chat uses).' },
  {
    value: 'multi-model',
    label: 'Multi-model',
    path: '/api/v1/search/multi-model',
    help: 'Searches several embedding slots and merges them, with each slot’s score.',
  },
];

function isMode(v: string | null): v is SearchMode {
  return modes.some((m) => m.value === v);
}

type SearchPath = '/api/v1/search' | '/api/v1/search/hybrid' | '/api/v1/search/rrf' | '/api/v1/search/multi-model';

/** artefactKey is the storage key a hit or citation opens: its Markdown, else its original. */
export function artefactKey(h: { markdown_key?: string; storage_key?: string }): string | undefined {
  return h.markdown_key || h.storage_key || undefined;
}

/** Parameters of a search as kept in the URL. */
interface SearchState {
  q: string;
  mode: SearchMode;
  model: string;
  models: string[];
  executions: string[];
  limit: number;
  minScore?: number;
  vectorWeight?: number;
  rrfK?: number;
}

function readState(sp: URLSearchParams): SearchState {
  const mode = sp.get('mode');
  const num = (k: string) => {
    const v = sp.get(k);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  return {
    q: sp.get('q') ?? '',
    mode: isMode(mode) ? mode : 'semantic',
    model: sp.get('model') ?? '',
    models: sp.getAll('models'),
    executions: sp.getAll('execution'),
    limit: num('limit') ?? 10,
    minScore: num('min_score'),
    vectorWeight: num('vector_weight'),
    rrfK: num('rrf_k'),
  };
}

function writeState(s: SearchState): URLSearchParams {
  const sp = new URLSearchParams();
  if (s.q) sp.set('q', s.q);
  sp.set('mode', s.mode);
  if (s.model && s.mode !== 'multi-model') sp.set('model', s.model);
  if (s.mode === 'multi-model') s.models.forEach((m) => sp.append('models', m));
  s.executions.forEach((e) => sp.append('execution', e));
  if (s.limit !== 10) sp.set('limit', String(s.limit));
  if (s.minScore !== undefined) sp.set('min_score', String(s.minScore));
  if (s.mode === 'hybrid' && s.vectorWeight !== undefined) sp.set('vector_weight', String(s.vectorWeight));
  if (s.mode === 'rrf' && s.rrfK !== undefined) sp.set('rrf_k', String(s.rrfK));
  return sp;
}

function bodyOf(s: SearchState): Schemas['SearchBody'] {
  const body: Schemas['SearchBody'] = { query: s.q, limit: s.limit };
  if (s.mode === 'multi-model') {
    if (s.models.length) body.models = s.models;
  } else if (s.model) body.model = s.model;
  if (s.executions.length) body.filter = { execution_ids: s.executions };
  if (s.minScore !== undefined) body.min_score = s.minScore;
  if (s.mode === 'hybrid' && s.vectorWeight !== undefined) body.vector_weight = s.vectorWeight;
  if (s.mode === 'rrf' && s.rrfK !== undefined) body.rrf_k = s.rrfK;
  return body;
}

export default function SearchPage() {
  const [params, setParams] = useSearchParams();
  const current = useMemo(() => readState(params), [params]);
  const [draft, setDraft] = useState<SearchState>(current);
  const [advanced, { toggle: toggleAdvanced }] = useDisclosure(
    current.minScore !== undefined || current.vectorWeight !== undefined || current.rrfK !== undefined,
  );
  // The URL is the truth: back/forward (or a pasted link) refill the form.
  useEffect(() => setDraft(current), [current]);

  const caps = useQuery({
    queryKey: ['search', 'capabilities'],
    queryFn: () => unwrap(api.GET('/api/v1/search/capabilities')),
    staleTime: 60_000,
  });
  const sources = useQuery({
    queryKey: ['search', 'sources'],
    queryFn: () => unwrap(api.GET('/api/v1/search/sources')),
    staleTime: 30_000,
  });

  const modeInfo = modes.find((m) => m.value === current.mode)!;
  // A multi-model search without chosen slots searches every slot.
  const allSlots = current.mode === 'multi-model' && current.models.length === 0;
  const effective =
    allSlots && caps.data ? { ...current, models: (caps.data.models ?? []).map((m) => m.model_name) } : current;
  const body = bodyOf(effective);
  const results = useQuery({
    queryKey: ['search', 'results', current.mode, body],
    queryFn: () => unwrap(api.POST(modeInfo.path as SearchPath, { body })),
    enabled: current.q.trim() !== '' && (!allSlots || !!caps.data || !!caps.error),
    staleTime: 30_000,
  });

  const slotOptions = (caps.data?.models ?? []).map((m) => ({
    value: m.model_name,
    label: `${m.model_name} (${m.dims} dims, ${formatNumber(m.vector_count)} vectors)`,
  }));
  const sourceOptions = useMemo(() => {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const s of sources.data?.sources ?? []) {
      const v = s.tag || s.execution_id;
      if (!seen.has(v)) {
        seen.add(v);
        out.push(v);
      }
    }
    return out;
  }, [sources.data]);

  const submit = (e?: React.FormEvent) => {
    e?.preventDefault();
    const q = draft.q.trim();
    if (!q) return;
    setParams(writeState({ ...draft, q }));
  };
  const setMode = (mode: SearchMode) => {
    const next = { ...draft, mode };
    setDraft(next);
    // Switching mode re-runs a search that is already shown.
    if (current.q) setParams(writeState({ ...next, q: current.q }));
  };

  const maxLimit = caps.data?.max_limit ?? 100;
  const vectorsOff = caps.data && !caps.data.pgvector_available;
  const noSlots = caps.data && (caps.data.models ?? []).length === 0;

  return (
    <>
      <PageHeader
        title="Search"
        description="Find segments of ingested documents by meaning, keywords or both."
      />
      <Stack gap="md">
        {caps.error && <ErrorAlert error={caps.error} title="Could not load search capabilities" />}
        {vectorsOff && (
          <Alert color="yellow" icon={<IconAlertTriangle />} title="pgvector unavailable">
            The database has no pgvector extension, so vector search cannot run. Install pgvector in PostgreSQL and restart
            the server.
          </Alert>
        )}
        {noSlots && !vectorsOff && (
          <Alert color="blue" icon={<IconAlertTriangle />} title="Nothing indexed yet">
            No embedding slot holds vectors. Run an ingest pipeline (for example <code>folder-ingest</code>) to have something
            to search.
          </Alert>
        )}
        <Paper withBorder p="md" component="form" onSubmit={submit} role="search" aria-label="Search segments">
          <Stack gap="sm">
            <Group align="flex-end" wrap="nowrap" gap="xs">
              <TextInput
                style={{ flex: 1 }}
                label="Query"
                placeholder="How do I requeue dead letters?"
                leftSection={<IconSearch size={16} />}
                value={draft.q}
                onChange={(e) => {
                  const q = e.currentTarget.value;
                  setDraft((d) => ({ ...d, q }));
                }}
                autoFocus
              />
              <Button type="submit" disabled={!draft.q.trim()} loading={results.isFetching}>
                Search
              </Button>
            </Group>
            <Group gap="sm" align="center" wrap="wrap">
              <SegmentedControl
                aria-label="Search mode"
                value={draft.mode}
                onChange={(v) => setMode(v as SearchMode)}
                data={modes.map((m) => ({ value: m.value, label: m.label }))}
              />
              <Text size="xs" c="dimmed" style={{ flex: 1, minWidth: 200 }}>
                {modes.find((m) => m.value === draft.mode)!.help}
              </Text>
            </Group>
            <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="sm">
              {draft.mode === 'multi-model' ? (
                <MultiSelect
                  label="Embedding slots"
                  placeholder={draft.models.length ? undefined : 'All slots'}
                  data={slotOptions}
                  value={draft.models}
                  onChange={(models) => setDraft((d) => ({ ...d, models }))}
                  clearable
                />
              ) : (
                <Select
                  label="Embedding slot"
                  placeholder={caps.data?.default_model ? `Default (${caps.data.default_model})` : 'Default'}
                  data={slotOptions}
                  value={draft.model || null}
                  onChange={(v) => setDraft((d) => ({ ...d, model: v ?? '' }))}
                  clearable
                />
              )}
              <TagsInput
                label="Executions"
                description={undefined}
                placeholder={draft.executions.length ? undefined : 'Any (id or tag)'}
                data={sourceOptions}
                value={draft.executions}
                onChange={(executions) => setDraft((d) => ({ ...d, executions }))}
                clearable
              />
              <NumberInput
                label="Limit"
                min={1}
                max={maxLimit}
                value={draft.limit}
                onChange={(v) => setDraft((d) => ({ ...d, limit: typeof v === 'number' ? v : Number(v) || 10 }))}
              />
            </SimpleGrid>
            <Group>
              <UnstyledButton onClick={toggleAdvanced} aria-expanded={advanced} aria-label="Advanced options">
                <Group gap={4}>
                  <IconAdjustmentsHorizontal size={16} />
                  <Text size="sm" c="dimmed">
                    {advanced ? 'Hide advanced options' : 'Advanced options'}
                  </Text>
                </Group>
              </UnstyledButton>
            </Group>
            <Collapse expanded={advanced}>
              <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="sm">
                <NumberInput
                  label="Minimum score"
                  description="Drop vector hits below this cosine similarity"
                  min={-1}
                  max={1}
                  step={0.05}
                  decimalScale={3}
                  value={draft.minScore ?? ''}
                  onChange={(v) => setDraft((d) => ({ ...d, minScore: v === '' ? undefined : Number(v) }))}
                />
                {draft.mode === 'hybrid' && (
                  <NumberInput
                    label="Vector weight"
                    description="Weight of the vector score against the keyword score (default 0.7)"
                    min={0}
                    max={1}
                    step={0.05}
                    decimalScale={2}
                    value={draft.vectorWeight ?? ''}
                    onChange={(v) => setDraft((d) => ({ ...d, vectorWeight: v === '' ? undefined : Number(v) }))}
                  />
                )}
                {draft.mode === 'rrf' && (
                  <NumberInput
                    label="RRF k"
                    description="The k of 1/(k + rank) (default 60)"
                    min={1}
                    max={1000}
                    value={draft.rrfK ?? ''}
                    onChange={(v) => setDraft((d) => ({ ...d, rrfK: v === '' ? undefined : Number(v) }))}
                  />
                )}
              </SimpleGrid>
            </Collapse>
          </Stack>
        </Paper>

        <Results state={current} query={results} />
      </Stack>
    </>
  );
}

function Results({
  state,
  query,
}: {
  state: SearchState;
  query: { data?: Schemas['Response']; error: unknown; isPending: boolean; isFetching: boolean };
}) {
  if (!state.q) {
    return (
      <EmptyState
        icon={<IconSearch size={32} />}
        withIndicatorBackground
        title="Search the indexed documents"
        description="Type a question or keywords and press Search. The query and mode are kept in the address, so results can be shared."
      />
    );
  }
  if (query.error) {
    return (
      <Stack gap="xs">
        <ErrorAlert error={query.error} title="Search failed" />
        <ProblemFields error={query.error} />
      </Stack>
    );
  }
  if (query.isPending) {
    return (
      <Stack gap="sm" aria-busy="true" aria-label="Loading results">
        {[0, 1, 2].map((i) => (
          <Skeleton key={i} h={110} radius="md" />
        ))}
      </Stack>
    );
  }
  const data = query.data!;
  const hits = data.results ?? [];
  return (
    <Stack gap="sm">
      <Group justify="space-between" wrap="wrap">
        <Text size="sm" c="dimmed" aria-live="polite">
          {formatNumber(data.total)} result{data.total === 1 ? '' : 's'} in {formatNumber(data.took_ms, 1)} ms · {data.mode}
          {data.models && data.models.length ? ` · ${data.models.join(', ')}` : data.model ? ` · ${data.model}` : ''}
        </Text>
      </Group>
      {hits.length === 0 ? (
        <EmptyState
          icon={<IconSearch size={32} />}
          withIndicatorBackground
          title="No results"
          description="Nothing matched. Try other words, another mode, or fewer filters."
        />
      ) : (
        <Stack gap="sm" component="ol" style={{ listStyle: 'none', padding: 0, margin: 0 }} aria-label="Search results">
          {hits.map((h, i) => (
            <li key={`${h.segment_id}-${h.model ?? ''}`}>
              <HitCard hit={h} rank={i + 1} />
            </li>
          ))}
        </Stack>
      )}
    </Stack>
  );
}

// Headings inside a snippet are part of the passage, not of the page.
const smallHeading = ({ children }: { children?: React.ReactNode }) => (
  <Text fw={700} size="sm" mt={4} mb={4}>
    {children}
  </Text>
);
const snippetComponents: Components = {
  h1: smallHeading,
  h2: smallHeading,
  h3: smallHeading,
  h4: smallHeading,
  h5: smallHeading,
  h6: smallHeading,
};

function score(n: number | undefined) {
  return n === undefined ? '—' : n.toFixed(3);
}

function HitCard({ hit, rank }: { hit: Schemas['SearchHit']; rank: number }) {
  const key = artefactKey(hit);
  const path = hit.heading_path && hit.heading_path.length ? hit.heading_path : hit.heading ? [hit.heading] : [];
  const isHttp = hit.url?.startsWith('http://') || hit.url?.startsWith('https://');
  return (
    <Card withBorder padding="md" radius="md">
      <Stack gap={6}>
        <Group justify="space-between" align="flex-start" wrap="nowrap" gap="xs">
          <Group gap="xs" wrap="nowrap" style={{ minWidth: 0 }}>
            <Badge variant="outline" color="gray" size="sm" style={{ flexShrink: 0 }}>
              #{rank}
            </Badge>
            <Text fw={600} truncate="end" title={hit.title || hit.document_key}>
              {hit.title || hit.document_key}
            </Text>
          </Group>
          <Tooltip label="Score">
            <Badge variant="light" color="blue" style={{ flexShrink: 0 }} aria-label={`Score ${score(hit.score)}`}>
              {score(hit.score)}
            </Badge>
          </Tooltip>
        </Group>
        {path.length > 0 && (
          <Breadcrumbs separator="›" separatorMargin={4} style={{ flexWrap: 'wrap' }}>
            {path.map((p, i) => (
              <Text key={i} size="xs" c="dimmed">
                {p}
              </Text>
            ))}
          </Breadcrumbs>
        )}
        <Group gap={6} wrap="wrap">
          {hit.vector_score !== undefined && (
            <Badge size="xs" tt="none" variant="dot" color="violet">
              vector {score(hit.vector_score)}
            </Badge>
          )}
          {hit.text_score !== undefined && (
            <Badge size="xs" tt="none" variant="dot" color="teal">
              text {score(hit.text_score)}
            </Badge>
          )}
          {Object.entries(hit.model_scores ?? {}).map(([m, s]) => (
            <Badge key={m} size="xs" tt="none" variant="dot" color="orange">
              {m} {score(s)}
            </Badge>
          ))}
          {hit.model && (
            <Badge size="xs" tt="none" variant="light" color="gray">
              {hit.model}
            </Badge>
          )}
        </Group>
        <Spoiler maxHeight={96} showLabel="Show more" hideLabel="Show less" styles={{ control: { fontSize: 'var(--mantine-font-size-sm)' } }}>
          <Typography className="markdown-preview" style={{ wordBreak: 'break-word', fontSize: 'var(--mantine-font-size-sm)' }}>
            <ReactMarkdown remarkPlugins={[remarkGfm]} components={snippetComponents}>
              {hit.text}
            </ReactMarkdown>
          </Typography>
        </Spoiler>
        <Group gap="md" wrap="wrap">
          {key && (
            <Anchor component={Link} to={`/storage?key=${encodeURIComponent(key)}`} size="sm">
              <Group gap={4} wrap="nowrap">
                <IconFileText size={14} /> Open artefact
              </Group>
            </Anchor>
          )}
          <Anchor component={Link} to={`/executions/${hit.execution_id}`} size="sm" aria-label={`Execution ${hit.execution_id}`}>
            <Group gap={4} wrap="nowrap">
              <IconTimeline size={14} /> Execution {shortId(hit.execution_id)}
            </Group>
          </Anchor>
          {hit.url && isHttp && (
            <Anchor href={hit.url} target="_blank" rel="noreferrer" size="sm">
              <Group gap={4} wrap="nowrap">
                <IconExternalLink size={14} /> Source
              </Group>
            </Anchor>
          )}
          {hit.url && !isHttp && (
            <Text size="xs" c="dimmed" className="mono" truncate="end" style={{ maxWidth: 360 }}>
              {hit.url}
            </Text>
          )}
        </Group>
      </Stack>
    </Card>
  );
}
