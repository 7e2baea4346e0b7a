import { useState } from 'react';
import {
  ActionIcon,
  Anchor,
  Box,
  Button,
  Code,
  DataList,
  Group,
  Paper,
  SegmentedControl,
  Skeleton,
  Stack,
  Tabs,
  Text,
  Title,
  Tooltip,
  Typography,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import ReactMarkdown from 'react-markdown';
import remarkGfm from 'remark-gfm';
import { IconDownload, IconFileUnknown, IconShieldLock, IconX } from '@tabler/icons-react';
import { api, getToken, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { CopyIconButton } from '../../components/CopyIconButton';
import { JsonView } from '../../components/JsonView';
import { formatBytes, formatTime } from '../../format';
import { PREVIEW_LIMIT, baseName, fetchObjectText, objectUrl, previewKind, saveUrl, type PreviewKind } from './storageApi';

/** DownloadButton links to a file; with an API token it fetches it with the header instead. */
export function DownloadButton({ url, filename, label }: { url: string; filename: string; label: string }) {
  return (
    <Button
      component="a"
      href={url}
      download={filename}
      size="xs"
      variant="light"
      leftSection={<IconDownload size={14} />}
      onClick={(e: React.MouseEvent) => {
        if (!getToken()) return;
        e.preventDefault();
        saveUrl(url, filename).catch((err: unknown) =>
          notifications.show({ color: 'red', title: 'Download failed', message: err instanceof Error ? err.message : String(err) }),
        );
      }}
    >
      {label}
    </Button>
  );
}

function MarkdownView({ text }: { text: string }) {
  const [mode, setMode] = useState('rendered');
  return (
    <Stack gap="xs">
      <SegmentedControl
        size="xs"
        value={mode}
        onChange={setMode}
        aria-label="Markdown view"
        data={[
          { value: 'rendered', label: 'Rendered' },
          { value: 'source', label: 'Source' },
        ]}
        style={{ alignSelf: 'flex-start' }}
      />
      {mode === 'rendered' ? (
        <Typography className="markdown-preview" data-testid="markdown-preview" style={{ overflowWrap: 'anywhere' }}>
          <ReactMarkdown remarkPlugins={[remarkGfm]}>{text}</ReactMarkdown>
        </Typography>
      ) : (
        <SourceView text={text} />
      )}
    </Stack>
  );
}

function SourceView({ text, label }: { text: string; label?: string }) {
  return (
    <Code block aria-label={label} style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word', maxHeight: '70vh', overflow: 'auto' }}>
      {text}
    </Code>
  );
}

/**
 * HtmlView shows HTML as escaped source. Rendering it is opt-in and happens
 * only inside an iframe with an empty sandbox: no scripts, no same origin,
 * no forms or navigation of this page.
 */
function HtmlView({ text, title }: { text: string; title: string }) {
  const [mode, setMode] = useState('source');
  return (
    <Stack gap="xs">
      <Group gap="xs">
        <SegmentedControl
          size="xs"
          value={mode}
          onChange={setMode}
          aria-label="HTML view"
          data={[
            { value: 'source', label: 'Source' },
            { value: 'rendered', label: 'Rendered (sandboxed)' },
          ]}
        />
        {mode === 'rendered' && (
          <Tooltip label="Scripts, forms and same-origin access are blocked">
            <IconShieldLock size={16} color="var(--mantine-color-dimmed)" aria-label="Sandboxed" />
          </Tooltip>
        )}
      </Group>
      {mode === 'source' ? (
        <SourceView text={text} label="HTML source" />
      ) : (
        <Box
          component="iframe"
          title={`Rendered ${title}`}
          sandbox=""
          srcDoc={text}
          referrerPolicy="no-referrer"
          style={{
            width: '100%',
            height: '70vh',
            border: '1px solid var(--mantine-color-default-border)',
            borderRadius: 'var(--mantine-radius-sm)',
            background: 'white',
          }}
        />
      )}
    </Stack>
  );
}

function ContentView({ objectKey, kind, size }: { objectKey: string; kind: PreviewKind; size: number }) {
  const previewable = kind !== 'binary' && size <= PREVIEW_LIMIT;
  const q = useQuery({
    queryKey: ['storage', 'content', objectKey],
    queryFn: ({ signal }) => fetchObjectText(objectKey, signal),
    enabled: previewable,
    staleTime: 60_000,
  });
  if (!previewable) {
    return (
      <Stack align="center" py="lg" gap="xs">
        <IconFileUnknown size={36} color="var(--mantine-color-dimmed)" />
        <Text size="sm" c="dimmed" ta="center">
          {kind === 'binary'
            ? `Binary object (${formatBytes(size)}) — no preview.`
            : `${formatBytes(size)} is too large to preview (limit ${formatBytes(PREVIEW_LIMIT)}).`}
        </Text>
        <DownloadButton url={objectUrl(objectKey)} filename={baseName(objectKey)} label="Download object" />
      </Stack>
    );
  }
  if (q.isPending) return <Skeleton h={200} aria-label="Loading content" />;
  if (q.isError) return <ErrorAlert error={q.error} title="Could not read the object" />;
  if (q.data.length === 0) return <Text c="dimmed" size="sm">The object is empty.</Text>;
  switch (kind) {
    case 'markdown':
      return <MarkdownView text={q.data} />;
    case 'html':
      return <HtmlView text={q.data} title={baseName(objectKey)} />;
    case 'json':
      return <JsonView value={q.data} maxHeight={600} />;
    default:
      return <SourceView text={q.data} label="Text content" />;
  }
}

const knownMeta = ['execution_id', 'route', 'stage', 'source_url', 'title', 'message_id'];

function MetadataView({ meta }: { meta: Record<string, unknown> }) {
  const entries = Object.entries(meta).sort(([a], [b]) => {
    const ia = knownMeta.indexOf(a);
    const ib = knownMeta.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  if (entries.length === 0) return <Text size="sm" c="dimmed">No sidecar metadata.</Text>;
  return (
    <DataList size="sm" withDivider labelWidth={130} aria-label="Sidecar metadata">
      {entries.map(([k, v]) => (
        <DataList.Item key={k}>
          <DataList.ItemLabel>{k}</DataList.ItemLabel>
          <DataList.ItemValue style={{ wordBreak: 'break-all', minWidth: 0 }}>
            {k === 'execution_id' && typeof v === 'string' ? (
              <Anchor component={Link} to={`/executions/${encodeURIComponent(v)}`} size="sm" className="mono">
                {v}
              </Anchor>
            ) : typeof v === 'string' ? (
              v
            ) : (
              <Code>{JSON.stringify(v)}</Code>
            )}
          </DataList.ItemValue>
        </DataList.Item>
      ))}
    </DataList>
  );
}

/** ObjectPreview shows one object: its content by kind and its metadata. */
export function ObjectPreview({ objectKey, onClose }: { objectKey: string; onClose: () => void }) {
  const meta = useQuery({
    queryKey: ['storage', 'metadata', objectKey],
    queryFn: () => unwrap(api.GET('/api/v1/storage/objects/{key}/metadata', { params: { path: { key: objectKey } } })),
  });
  const kind = previewKind(objectKey, meta.data?.content_type);
  return (
    <Paper withBorder p="sm" radius="md" component="section" aria-label="Object preview">
      <Stack gap="sm">
        <Group justify="space-between" wrap="nowrap" align="flex-start">
          <Stack gap={2} style={{ minWidth: 0 }}>
            <Title order={4} style={{ wordBreak: 'break-all' }}>
              {baseName(objectKey)}
            </Title>
            <Group gap={4} wrap="nowrap">
              <Text size="xs" c="dimmed" className="mono" truncate="start" title={objectKey} style={{ minWidth: 0 }}>
                {objectKey}
              </Text>
              <CopyIconButton value={objectKey} label="Copy key" tooltip="Copy key" />
            </Group>
          </Stack>
          <Group gap={4} wrap="nowrap">
            <DownloadButton url={objectUrl(objectKey)} filename={baseName(objectKey)} label="Download" />
            <ActionIcon variant="subtle" color="gray" onClick={onClose} aria-label="Close preview">
              <IconX size={16} />
            </ActionIcon>
          </Group>
        </Group>
        {meta.isPending && <Skeleton h={120} />}
        {meta.isError && <ErrorAlert error={meta.error} title="Could not open the object" />}
        {meta.data && (
          <>
            <Group gap="md">
              <Text size="xs" c="dimmed">
                {formatBytes(meta.data.size)}
              </Text>
              <Text size="xs" c="dimmed">
                {meta.data.content_type || 'unknown type'}
              </Text>
              <Text size="xs" c="dimmed">
                {formatTime(meta.data.last_modified)}
              </Text>
            </Group>
            <Tabs defaultValue="content" keepMounted={false}>
              <Tabs.List>
                <Tabs.Tab value="content">Content</Tabs.Tab>
                <Tabs.Tab value="metadata">Metadata ({Object.keys(meta.data.metadata ?? {}).length})</Tabs.Tab>
              </Tabs.List>
              <Tabs.Panel value="content" pt="sm">
                <Box mah="75vh" style={{ overflow: 'auto', minWidth: 0 }}>
                  <ContentView objectKey={objectKey} kind={kind} size={meta.data.size} />
                </Box>
              </Tabs.Panel>
              <Tabs.Panel value="metadata" pt="sm">
                <Stack gap="sm">
                  <DataList size="sm" withDivider labelWidth={130} aria-label="Object details">
                    <DataList.Item>
                      <DataList.ItemLabel>Size</DataList.ItemLabel>
                      <DataList.ItemValue>
                        {formatBytes(meta.data.size)} ({meta.data.size.toLocaleString()} bytes)
                      </DataList.ItemValue>
                    </DataList.Item>
                    <DataList.Item>
                      <DataList.ItemLabel>Content type</DataList.ItemLabel>
                      <DataList.ItemValue>{meta.data.content_type || '—'}</DataList.ItemValue>
                    </DataList.Item>
                    <DataList.Item>
                      <DataList.ItemLabel>ETag</DataList.ItemLabel>
                      <DataList.ItemValue className="mono" style={{ wordBreak: 'break-all' }}>
                        {meta.data.etag || '—'}
                      </DataList.ItemValue>
                    </DataList.Item>
                    <DataList.Item>
                      <DataList.ItemLabel>Modified</DataList.ItemLabel>
                      <DataList.ItemValue>{formatTime(meta.data.last_modified)}</DataList.ItemValue>
                    </DataList.Item>
                  </DataList>
                  <Title order={6}>Sidecar metadata</Title>
                  <MetadataView meta={meta.data.metadata ?? {}} />
                </Stack>
              </Tabs.Panel>
            </Tabs>
          </>
        )}
      </Stack>
    </Paper>
  );
}
