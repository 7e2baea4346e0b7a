import { useCallback, useState } from 'react';
import { ActionIcon, Anchor, Breadcrumbs, Grid, Group, Paper, ScrollArea, Stack, Text, Tooltip } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { IconRefresh } from '@tabler/icons-react';
import { PageHeader } from '../../components/PageHeader';
import { ArchiveDownload } from './ArchiveDownload';
import { FolderTree } from './FolderTree';
import { LiveWrites } from './LiveWrites';
import { ObjectList, storageHref } from './ObjectList';
import { ObjectPreview } from './ObjectPreview';
import { ancestors, baseName, parentPrefix } from './storageApi';

/** A folder prefix from the address: "" (root) or ending in a slash. */
function normalisePrefix(p: string | null): string {
  if (!p) return '';
  const trimmed = p.replace(/^\/+/, '');
  return trimmed && !trimmed.endsWith('/') ? `${trimmed}/` : trimmed;
}

/**
 * StoragePage browses the object store: folders (lazy tree), the objects
 * of the selected folder, a preview of the open object, the live feed of
 * writes and zip archives of a folder. ?prefix= selects the folder and
 * ?key= opens an object (its folder is selected when no prefix is given).
 */
export default function StoragePage() {
  const [params, setParams] = useSearchParams();
  const key = params.get('key');
  const prefix = params.has('prefix') ? normalisePrefix(params.get('prefix')) : key ? parentPrefix(key) : '';
  const page = Math.max(1, Number(params.get('page')) || 1);
  const qc = useQueryClient();
  const [refreshKey, setRefreshKey] = useState(0);

  const update = useCallback(
    (next: { prefix?: string; key?: string | null; page?: number }) => {
      setParams((cur) => {
        const q = new URLSearchParams(cur);
        if (next.prefix !== undefined) {
          if (next.prefix) q.set('prefix', next.prefix);
          else q.delete('prefix');
          q.delete('page');
        }
        if (next.key !== undefined) {
          if (next.key) q.set('key', next.key);
          else q.delete('key');
        }
        if (next.page !== undefined) {
          if (next.page > 1) q.set('page', String(next.page));
          else q.delete('page');
        }
        return q;
      });
    },
    [setParams],
  );

  const crumbs = ancestors(prefix);

  return (
    <Stack gap="md">
      <PageHeader
        title="Storage"
        description="Browse what pipelines wrote: folders, objects, their content and metadata."
        actions={
          <>
            <ArchiveDownload prefix={prefix} />
            <Tooltip label="Refresh">
              <ActionIcon
                variant="default"
                size="md"
                aria-label="Refresh storage"
                onClick={() => {
                  void qc.invalidateQueries({ queryKey: ['storage'] });
                  setRefreshKey((k) => k + 1);
                }}
              >
                <IconRefresh size={16} />
              </ActionIcon>
            </Tooltip>
          </>
        }
      />
      <Grid gap="md">
        <Grid.Col span={{ base: 12, md: 4, lg: 3 }}>
          <Stack gap="md">
            <Paper withBorder p="xs" radius="md" component="nav" aria-label="Folder tree">
              <ScrollArea.Autosize mah={{ base: 260, md: '55vh' }} type="auto" scrollbars="y" styles={{ content: { display: 'block' } }}>
                <FolderTree refreshKey={refreshKey} selected={prefix} onSelect={(p) => update({ prefix: p, key: null })} />
              </ScrollArea.Autosize>
            </Paper>
            <LiveWrites prefix={prefix} />
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 8, lg: key ? 4 : 9 }}>
          <Paper withBorder p="sm" radius="md" component="section" aria-label="Folder contents">
            <Stack gap="xs">
              <Group justify="space-between" wrap="nowrap">
                <ScrollArea type="never" style={{ minWidth: 0 }}>
                  <Breadcrumbs separator="/" separatorMargin={4} aria-label="Current folder" style={{ flexWrap: 'nowrap' }}>
                    <Anchor component={Link} to={storageHref('')} size="sm">
                      All objects
                    </Anchor>
                    {crumbs.map((c, i) =>
                      i === crumbs.length - 1 ? (
                        <Text key={c} size="sm" fw={600} style={{ whiteSpace: 'nowrap' }}>
                          {baseName(c)}
                        </Text>
                      ) : (
                        <Anchor key={c} component={Link} to={storageHref(c)} size="sm" style={{ whiteSpace: 'nowrap' }}>
                          {baseName(c)}
                        </Anchor>
                      ),
                    )}
                  </Breadcrumbs>
                </ScrollArea>
              </Group>
              <ObjectList prefix={prefix} page={page} onPage={(p) => update({ page: p })} selectedKey={key} compact={!!key} />
            </Stack>
          </Paper>
        </Grid.Col>
        {key ? (
          <Grid.Col span={{ base: 12, lg: 5 }}>
            <ObjectPreview key={key} objectKey={key} onClose={() => update({ key: null })} />
          </Grid.Col>
        ) : null}
      </Grid>
    </Stack>
  );
}
