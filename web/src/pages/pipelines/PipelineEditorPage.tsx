import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Accordion,
  Anchor,
  Badge,
  Button,
  Code,
  Grid,
  Group,
  Kbd,
  Loader,
  Paper,
  SimpleGrid,
  Skeleton,
  Stack,
  Tabs,
  Text,
  TextInput,
  Textarea,
  Title,
} from '@mantine/core';
import { useDebouncedValue, useHotkeys, useWindowEvent } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { IconArrowLeft, IconDeviceFloppy, IconPlayerPlay } from '@tabler/icons-react';
import type { EditorView } from '@codemirror/view';
import { ApiError, api, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { PageHeader } from '../../components/PageHeader';
import { formatAgo, formatTime } from '../../format';
import { configKeys, findingsOf, useAdapters, useConfig, validateYaml, type Config } from './api';
import { RunDialog } from './RunDialog';
import { NEW_PIPELINE_TEMPLATE } from './template';
import { yamlDescription } from './yamlContext';
import { FindingsList, ValidityBadge } from './Validity';
import { VersionsPanel } from './VersionsPanel';
import { YamlEditor, moveTo } from './YamlEditor';

interface Draft {
  name: string;
  description: string;
  yaml: string;
}

const emptyDraft: Draft = { name: '', description: '', yaml: NEW_PIPELINE_TEMPLATE };

export default function PipelineEditorPage() {
  const { id } = useParams();
  const isNew = !id;
  const navigate = useNavigate();
  const qc = useQueryClient();
  const config = useConfig(id);
  const adapters = useAdapters();

  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [saved, setSaved] = useState<Draft>(emptyDraft);
  const [nameError, setNameError] = useState<string | undefined>();
  const [runOpen, setRunOpen] = useState(false);
  const [tab, setTab] = useState<string | null>('details');
  const viewRef = useRef<EditorView | null>(null);
  // The config the draft was loaded from; the editor is reset only when it changes.
  const loadedFor = useRef<string | undefined>(undefined);

  useEffect(() => {
    if (isNew) {
      if (loadedFor.current !== 'new') {
        loadedFor.current = 'new';
        setDraft(emptyDraft);
        setSaved(emptyDraft);
      }
      return;
    }
    const c = config.data;
    if (c && loadedFor.current !== id && loadedFor.current !== c.id) {
      loadedFor.current = id;
      const d = { name: c.name, description: c.description ?? '', yaml: c.config_yaml };
      setDraft(d);
      setSaved(d);
    }
  }, [isNew, id, config.data]);

  const dirty = draft.name !== saved.name || draft.description !== saved.description || draft.yaml !== saved.yaml;
  useWindowEvent('beforeunload', (e) => {
    if (dirty) e.preventDefault();
  });

  // Live validation of the editor's text.
  const [debounced] = useDebouncedValue(draft.yaml, 400);
  const validation = useQuery({
    queryKey: configKeys.validate(debounced),
    queryFn: async ({ signal }) => ({ text: debounced, report: await validateYaml(debounced, signal) }),
    placeholderData: keepPreviousData,
    staleTime: 60_000,
    refetchOnWindowFocus: false,
  });
  const live = validation.data;
  const liveFindings = findingsOf(live?.report);
  const validating = debounced !== draft.yaml || validation.isFetching;

  const save = useMutation({
    mutationFn: (d: Draft): Promise<Config> =>
      isNew
        ? unwrap(api.POST('/api/v1/configs', { body: { name: d.name, description: d.description || undefined, config_yaml: d.yaml } }))
        : unwrap(
            api.PUT('/api/v1/configs/{id}', {
              params: { path: { id: id! } },
              body: { name: d.name, description: d.description, config_yaml: d.yaml },
            }),
          ),
    onSuccess: (c, d) => {
      qc.setQueryData(configKeys.one(c.id), c);
      if (id && id !== c.id) qc.setQueryData(configKeys.one(id), c);
      qc.invalidateQueries({ queryKey: ['configs', 'list'] });
      qc.invalidateQueries({ queryKey: configKeys.versions(c.id) });
      setSaved(d);
      const r = c.validation_report;
      notifications.show({
        color: r.is_valid ? 'green' : 'yellow',
        title: `Saved ${c.name} (v${c.version})`,
        message: r.is_valid ? (c.is_runnable ? 'Valid and runnable.' : 'Valid.') : `Stored with ${r.error_count} error${r.error_count === 1 ? '' : 's'}; it cannot run until they are fixed.`,
      });
      if (isNew) {
        loadedFor.current = c.id;
        navigate(`/pipelines/${c.id}`, { replace: true });
      }
    },
    onError: (e) => {
      notifications.show({ color: 'red', title: 'Save failed', message: e instanceof Error ? e.message : String(e) });
    },
  });

  const doSave = () => {
    const name = draft.name.trim();
    if (!name) {
      setNameError('A name is required');
      return;
    }
    setNameError(undefined);
    // A new pipeline without a description takes the YAML's own.
    const description = draft.description.trim() || (isNew ? yamlDescription(draft.yaml) : '');
    if (description !== draft.description) setDraft((d) => ({ ...d, description }));
    save.mutate({ ...draft, name, description });
  };

  useHotkeys([['mod+S', doSave]], [], true);

  const stored = config.data;

  if (!isNew && config.isPending) {
    return (
      <Stack gap="md" aria-label="Loading pipeline">
        <Skeleton height={36} width={280} />
        <Skeleton height={56} />
        <Skeleton height={480} />
      </Stack>
    );
  }
  if (!isNew && config.error) {
    const notFound = config.error instanceof ApiError && config.error.status === 404;
    return (
      <Stack gap="md">
        <PageHeader title={notFound ? 'Pipeline not found' : 'Pipeline'} />
        <ErrorAlert error={config.error} title={notFound ? `No pipeline ${id}` : 'Could not load the pipeline'} />
        <Anchor component={Link} to="/pipelines">
          Back to pipelines
        </Anchor>
      </Stack>
    );
  }

  return (
    <>
      <PageHeader
        title={
          <Group gap="xs" component="span">
            <Anchor component={Link} to="/pipelines" aria-label="Back to pipelines" c="dimmed" display="inline-flex">
              <IconArrowLeft size={22} />
            </Anchor>
            {isNew ? 'New pipeline' : stored?.name}
            {dirty && (
              <Badge color="yellow" variant="light" size="sm">
                unsaved changes
              </Badge>
            )}
          </Group>
        }
        description={
          stored
            ? `Version ${stored.version} · ${stored.source_type}${stored.source_path ? ` (${stored.source_path})` : ''} · updated ${formatAgo(stored.updated_at)}`
            : 'Write the YAML; it is validated as you type. Save stores it even when invalid.'
        }
        actions={
          <>
            {!isNew && stored && (
              <Button
                variant="light"
                color="green"
                leftSection={<IconPlayerPlay size={16} />}
                onClick={() => setRunOpen(true)}
                disabled={!stored.is_runnable}
                title={stored.is_runnable ? undefined : 'The stored version has errors'}
              >
                Run
              </Button>
            )}
            <Button leftSection={<IconDeviceFloppy size={16} />} onClick={doSave} loading={save.isPending} disabled={!isNew && !dirty}>
              {isNew ? 'Create pipeline' : 'Save'}
            </Button>
          </>
        }
      />

      <Grid gap="md">
        <Grid.Col span={{ base: 12, lg: 8 }}>
          <Stack gap="md">
            <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
              <TextInput
                label="Name"
                required
                placeholder="my-pipeline"
                value={draft.name}
                error={nameError}
                onChange={(e) => {
                  const v = e.currentTarget.value;
                  setDraft((d) => ({ ...d, name: v }));
                }}
              />
              <Textarea
                label="Description"
                placeholder={isNew ? "Defaults to the YAML's description" : 'What this pipeline does'}
                autosize
                minRows={1}
                maxRows={4}
                value={draft.description}
                onChange={(e) => {
                  const v = e.currentTarget.value;
                  setDraft((d) => ({ ...d, description: v }));
                }}
              />
            </SimpleGrid>

            {save.error && <ErrorAlert error={save.error} title="Could not save" />}

            <Stack gap={4}>
              <Group justify="space-between" gap="xs">
                <Text size="sm" fw={500}>
                  Pipeline YAML
                </Text>
                <Text size="xs" c="dimmed">
                  <Kbd size="xs">Ctrl</Kbd> + <Kbd size="xs">Space</Kbd> completes · <Kbd size="xs">Ctrl</Kbd> + <Kbd size="xs">S</Kbd> saves
                </Text>
              </Group>
              <YamlEditor
                value={draft.yaml}
                onChange={(v) => setDraft((d) => ({ ...d, yaml: v }))}
                adapters={adapters.data?.items ?? []}
                findings={live ? liveFindings : undefined}
                findingsFor={live?.text}
                onView={(v) => (viewRef.current = v)}
              />
            </Stack>

            <Paper withBorder p="sm">
              <Group justify="space-between" mb="xs" gap="xs">
                <Group gap="xs">
                  <Title order={4}>Validation</Title>
                  {live && !validating && <ValidityBadge report={live.report} />}
                  {validating && (
                    <Group gap={4}>
                      <Loader size="xs" />
                      <Text size="xs" c="dimmed">
                        Validating…
                      </Text>
                    </Group>
                  )}
                </Group>
                {liveFindings.length > 0 && (
                  <Text size="xs" c="dimmed">
                    Click a finding to go to its line
                  </Text>
                )}
              </Group>
              {validation.error && <ErrorAlert error={validation.error} title="Validation request failed" />}
              {live && liveFindings.length === 0 && (
                <Text size="sm" c="dimmed">
                  No findings: the pipeline is valid.
                </Text>
              )}
              {liveFindings.length > 0 && <FindingsList findings={liveFindings} onSelect={(f) => moveTo(viewRef.current, f)} />}
            </Paper>
          </Stack>
        </Grid.Col>

        <Grid.Col span={{ base: 12, lg: 4 }}>
          <Paper withBorder p="sm">
            <Tabs value={tab} onChange={setTab} keepMounted={false}>
              <Tabs.List mb="sm">
                <Tabs.Tab value="details">Details</Tabs.Tab>
                <Tabs.Tab value="versions" disabled={isNew}>
                  Versions
                </Tabs.Tab>
                <Tabs.Tab value="adapters">Adapters</Tabs.Tab>
              </Tabs.List>
              <Tabs.Panel value="details">
                <StoredDetails config={stored} isNew={isNew} />
              </Tabs.Panel>
              <Tabs.Panel value="versions">
                {stored && (
                  <VersionsPanel
                    configId={stored.id}
                    onRestore={(v) => {
                      setDraft({ name: v.name, description: v.description ?? '', yaml: v.config_yaml });
                      notifications.show({ title: `Version ${v.version} restored into the editor`, message: 'Save to make it the current version.' });
                    }}
                  />
                )}
              </Tabs.Panel>
              <Tabs.Panel value="adapters">
                <AdapterReference />
              </Tabs.Panel>
            </Tabs>
          </Paper>
        </Grid.Col>
      </Grid>

      {stored && (
        <RunDialog
          opened={runOpen}
          onClose={() => setRunOpen(false)}
          configId={stored.id}
          configName={stored.name}
          yaml={stored.config_yaml}
          unsaved={dirty}
        />
      )}
    </>
  );
}

function StoredDetails({ config, isNew }: { config: Config | undefined; isNew: boolean }) {
  if (isNew || !config) {
    return (
      <Text size="sm" c="dimmed">
        Not saved yet. Creating the pipeline stores version 1 with its validation report.
      </Text>
    );
  }
  const r = config.validation_report;
  return (
    <Stack gap="sm">
      <Group gap="xs">
        <Text size="sm" fw={500}>
          Stored version {config.version}
        </Text>
        <ValidityBadge report={r} />
        <Badge color={config.is_runnable ? 'green' : 'gray'} variant="outline" size="sm">
          {config.is_runnable ? 'runnable' : 'not runnable'}
        </Badge>
      </Group>
      <Stack gap={2}>
        <Text size="xs" c="dimmed">
          Id <Code>{config.id}</Code>
        </Text>
        <Text size="xs" c="dimmed">
          Created {formatTime(config.created_at)} · updated {formatTime(config.updated_at)}
        </Text>
        <Text size="xs" c="dimmed">
          Source {config.source_type}
          {config.source_path ? ` · ${config.source_path}` : ''}
        </Text>
      </Stack>
      {findingsOf(r).length > 0 ? (
        <Stack gap={4}>
          <Text size="sm" fw={500}>
            Findings of the stored version
          </Text>
          <FindingsList findings={findingsOf(r)} />
        </Stack>
      ) : (
        <Text size="sm" c="dimmed">
          The stored version has no findings.
        </Text>
      )}
      <Anchor component={Link} to={`/executions?config=${encodeURIComponent(config.id)}`} size="sm">
        Executions of this pipeline
      </Anchor>
    </Stack>
  );
}

function AdapterReference() {
  const adapters = useAdapters();
  if (adapters.error) return <ErrorAlert error={adapters.error} title="Could not load adapters" />;
  if (adapters.isPending) return <Skeleton height={200} />;
  const items = adapters.data?.items ?? [];
  return (
    <Stack gap="xs">
      <Text size="xs" c="dimmed">
        {items.length} adapter types. Type <Code>type:</Code> in a step for completion.
      </Text>
      <Accordion variant="separated" chevronPosition="right">
        {items.map((a) => (
          <Accordion.Item key={a.type} value={a.type}>
            <Accordion.Control>
              <Stack gap={0}>
                <Group gap={6}>
                  <Text size="sm" ff="monospace" fw={600}>
                    {a.type}
                  </Text>
                  <Badge size="xs" variant="light">
                    {a.category}
                  </Badge>
                </Group>
                <Text size="xs" c="dimmed">
                  {a.summary}
                </Text>
              </Stack>
            </Accordion.Control>
            <Accordion.Panel>
              <Stack gap="xs">
                {a.description && (
                  <Text size="xs" style={{ whiteSpace: 'pre-wrap' }}>
                    {a.description}
                  </Text>
                )}
                {a.example && <Code block>{a.example}</Code>}
              </Stack>
            </Accordion.Panel>
          </Accordion.Item>
        ))}
      </Accordion>
    </Stack>
  );
}
