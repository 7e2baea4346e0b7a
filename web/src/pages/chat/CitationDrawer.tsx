import { Link } from 'react-router';
import { Anchor, Badge, Button, Drawer, Group, Paper, Stack, Text, Title } from '@mantine/core';
import { IconExternalLink, IconFileText, IconTimeline } from '@tabler/icons-react';
import { shortId } from '../../format';
import type { Citation } from './types';

/** CitationDrawer shows the passage a citation points at, with links to its artefact and execution. */
export function CitationDrawer({ citation, onClose }: { citation: Citation | null; onClose: () => void }) {
  const c = citation;
  const key = c ? c.markdown_key || c.storage_key : undefined;
  const isHttp = !!c?.url && /^https?:\/\//.test(c.url);
  return (
    <Drawer
      opened={!!c}
      onClose={onClose}
      position="right"
      size="md"
      title={c ? `Source ${c.index}` : 'Source'}
      closeButtonProps={{ 'aria-label': 'Close source' }}
    >
      {c && (
        <Stack gap="sm">
          <Title order={4}>{c.title || 'Untitled document'}</Title>
          {c.heading && (
            <Text size="sm" c="dimmed">
              {c.heading}
            </Text>
          )}
          <Group gap={6}>
            <Badge variant="light" tt="none">score {c.score.toFixed(3)}</Badge>
            {c.cited ? <Badge color="green" variant="light" tt="none">cited</Badge> : <Badge color="gray" variant="light" tt="none">not cited</Badge>}
            {c.model && <Badge color="gray" variant="outline" tt="none">{c.model}</Badge>}
            {c.source && c.source !== 'default' && <Badge color="grape" variant="outline" tt="none">{c.source}</Badge>}
          </Group>
          <Paper withBorder p="sm" bg="var(--mantine-color-default-hover)">
            <Text size="sm" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
              {c.snippet}
            </Text>
          </Paper>
          {c.url && (
            <Text size="xs" c="dimmed" style={{ wordBreak: 'break-all' }}>
              {isHttp ? (
                <Anchor href={c.url} target="_blank" rel="noreferrer" size="xs">
                  <IconExternalLink size={12} /> {c.url}
                </Anchor>
              ) : (
                <span className="mono">{c.url}</span>
              )}
            </Text>
          )}
          <Group gap="xs">
            {key && (
              <Button component={Link} to={`/storage?key=${encodeURIComponent(key)}`} leftSection={<IconFileText size={16} />} onClick={onClose}>
                Open artefact
              </Button>
            )}
            <Button
              component={Link}
              to={`/executions/${c.execution_id}`}
              variant="default"
              leftSection={<IconTimeline size={16} />}
              onClick={onClose}
            >
              Execution {shortId(c.execution_id)}
            </Button>
          </Group>
          <Text size="xs" c="dimmed" className="mono">
            segment {c.segment_id}
          </Text>
        </Stack>
      )}
    </Drawer>
  );
}
