import { useState } from 'react';
import { Badge, Button, Group, Modal, Paper, Skeleton, Stack, Text } from '@mantine/core';
import { IconArrowBackUp, IconEye } from '@tabler/icons-react';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatAgo, formatTime } from '../../format';
import { useConfigVersions } from './api';
import { ValidityBadge } from './Validity';
import { YamlEditor } from './YamlEditor';
import type { Schemas } from '../../api/client';

type Version = Schemas['ConfigVersion'];

/** VersionsPanel lists a config's versions, newest first; one can be viewed and restored into the editor. */
export function VersionsPanel({ configId, onRestore }: { configId: string; onRestore: (v: Version) => void }) {
  const versions = useConfigVersions(configId);
  const [viewing, setViewing] = useState<Version | null>(null);
  const items = [...(versions.data?.items ?? [])].sort((a, b) => b.version - a.version);
  const current = versions.data?.current_version;

  return (
    <Stack gap="xs">
      {versions.error && <ErrorAlert error={versions.error} title="Could not load versions" />}
      {versions.isPending && [0, 1].map((i) => <Skeleton key={i} height={56} />)}
      {versions.data && items.length === 0 && (
        <Text size="sm" c="dimmed">
          No versions stored.
        </Text>
      )}
      <Stack gap="xs" role="list" aria-label="Versions">
        {items.map((v) => (
          <Paper key={v.version} withBorder p="xs" role="listitem" aria-label={`Version ${v.version}`}>
            <Group justify="space-between" wrap="nowrap" gap="xs">
              <Stack gap={2} style={{ minWidth: 0 }}>
                <Group gap={6}>
                  <Text fw={600} size="sm">
                    v{v.version}
                  </Text>
                  {v.version === current && (
                    <Badge size="xs" variant="outline">
                      current
                    </Badge>
                  )}
                  <ValidityBadge report={v.validation_report} size="xs" />
                </Group>
                <Text size="xs" c="dimmed" title={formatTime(v.created_at)}>
                  {formatAgo(v.created_at)} · {v.name}
                </Text>
              </Stack>
              <Button size="xs" variant="light" leftSection={<IconEye size={14} />} onClick={() => setViewing(v)} aria-label={`View version ${v.version}`}>
                View
              </Button>
            </Group>
          </Paper>
        ))}
      </Stack>
      <Modal opened={!!viewing} onClose={() => setViewing(null)} title={viewing ? `Version ${viewing.version} of ${viewing.name}` : ''} size="xl">
        {viewing && (
          <Stack gap="sm">
            <Group gap="xs">
              <ValidityBadge report={viewing.validation_report} />
              <Text size="sm" c="dimmed">
                Saved {formatTime(viewing.created_at)}
              </Text>
            </Group>
            {viewing.description && (
              <Text size="sm" c="dimmed">
                {viewing.description}
              </Text>
            )}
            <YamlEditor value={viewing.config_yaml} readOnly height="420px" label={`YAML of version ${viewing.version}`} />
            <Group justify="flex-end" gap="xs">
              <Button variant="default" onClick={() => setViewing(null)}>
                Close
              </Button>
              <Button
                leftSection={<IconArrowBackUp size={16} />}
                onClick={() => {
                  onRestore(viewing);
                  setViewing(null);
                }}
              >
                Restore into editor
              </Button>
            </Group>
          </Stack>
        )}
      </Modal>
    </Stack>
  );
}
