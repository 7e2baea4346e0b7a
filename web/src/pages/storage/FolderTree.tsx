import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Group, Loader, Text, Tree, useTree, type TreeNodeData } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { IconChevronRight, IconDatabase, IconFolder, IconFolderOpen } from '@tabler/icons-react';
import { ErrorAlert } from '../../components/ErrorAlert';
import { shortId } from '../../format';
import { ancestors, baseName, fetchFolders, type Folder } from './storageApi';

/** The tree's value of the store's root (keys never start with a slash). */
export const ROOT = '/';

const toPrefix = (value: string) => (value === ROOT ? '' : value);

function folderLabel(f: Folder): string {
  const name = baseName(f.prefix);
  const ex = f.execution;
  // An execution's folder is named by its tag or config first: a bare id says little.
  if (ex?.found && (ex.tag || ex.config_name)) return `${ex.tag || ex.config_name} · ${shortId(name)}`;
  return name;
}

/**
 * FolderTree shows the store's folders; a folder's sub-folders are listed
 * when it is first expanded. Clicking a folder selects it (shows its
 * objects) and expands it.
 */
export function FolderTree({
  selected,
  onSelect,
  refreshKey = 0,
}: {
  selected: string;
  onSelect: (prefix: string) => void;
  /** Changing it lists every loaded folder again. */
  refreshKey?: number;
}) {
  const qc = useQueryClient();
  const [folders, setFolders] = useState<Record<string, Folder[]>>({});
  const [rootError, setRootError] = useState<unknown>(null);

  const fetchChildren = useCallback(
    (value: string) =>
      qc.fetchQuery({ queryKey: ['storage', 'folders', toPrefix(value)], queryFn: () => fetchFolders(toPrefix(value)), staleTime: 10_000 }),
    [qc],
  );

  const onLoadChildren = useCallback(
    async (value: string) => {
      const children = await fetchChildren(value);
      setFolders((f) => ({ ...f, [value]: children }));
    },
    [fetchChildren],
  );

  const tree = useTree({ onLoadChildren, initialExpandedState: { [ROOT]: true } });
  const treeRef = useRef(tree);
  treeRef.current = tree;

  // Open the path down to the selected folder (e.g. from ?prefix=): load
  // each level, then expand them all at once.
  const selectedValue = selected || ROOT;
  useEffect(() => {
    let stale = false;
    const chain = [ROOT, ...ancestors(selected)];
    (async () => {
      const loaded: Record<string, Folder[]> = {};
      for (const v of chain) {
        try {
          loaded[v] = await fetchChildren(v);
        } catch (err) {
          if (v === ROOT && !stale) setRootError(err);
          break;
        }
      }
      if (stale) return;
      setRootError(null);
      setFolders((f) => ({ ...f, ...loaded }));
      const t = treeRef.current;
      const expanded = { ...t.expandedState };
      for (const v of Object.keys(loaded)) expanded[v] = true;
      t.setExpandedState(expanded);
    })();
    return () => {
      stale = true;
    };
  }, [selected, fetchChildren]);

  const foldersRef = useRef(folders);
  foldersRef.current = folders;
  useEffect(() => {
    if (refreshKey === 0) return;
    let stale = false;
    const values = Object.keys(foldersRef.current);
    void Promise.allSettled(
      values.map((v) =>
        qc.fetchQuery({ queryKey: ['storage', 'folders', toPrefix(v)], queryFn: () => fetchFolders(toPrefix(v)), staleTime: 0 }),
      ),
    ).then((results) => {
      if (stale) return;
      const next: Record<string, Folder[]> = {};
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') next[values[i]] = r.value;
      });
      setFolders((f) => ({ ...f, ...next }));
    });
    return () => {
      stale = true;
    };
  }, [refreshKey, qc]);

  const data = useMemo(() => {
    const build = (value: string): TreeNodeData[] | undefined =>
      folders[value]?.map((f) => ({
        value: f.prefix,
        label: folderLabel(f),
        nodeProps: { execution: f.execution },
        hasChildren: true,
        children: build(f.prefix),
      }));
    return [{ value: ROOT, label: 'All objects', hasChildren: true, children: build(ROOT) }];
  }, [folders]);

  if (rootError) return <ErrorAlert error={rootError} title="Could not list folders" />;

  return (
    <Tree
      aria-label="Folders"
      data={data}
      tree={tree}
      levelOffset="md"
      expandOnClick={false}
      renderNode={({ node, expanded, hasChildren, elementProps, isLoading, loadError, tree: controller }) => {
        const isSelected = node.value === selectedValue;
        const execution = (node.nodeProps as { execution?: Folder['execution'] } | undefined)?.execution;
        const Icon = node.value === ROOT ? IconDatabase : expanded ? IconFolderOpen : IconFolder;
        return (
          <Group
            gap={4}
            wrap="nowrap"
            preventGrowOverflow={false}
            {...elementProps}
            onClick={(e) => {
              elementProps.onClick(e);
              // A first click opens and selects; a click on the selected folder folds it.
              if (!expanded || isSelected) controller.toggleExpanded(node.value);
              onSelect(toPrefix(node.value));
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter') onSelect(toPrefix(node.value));
            }}
            data-selected={isSelected || undefined}
            title={
              node.value === ROOT
                ? 'All objects'
                : execution?.status
                  ? `${node.value} (${execution.config_name ?? 'execution'}, ${execution.status})`
                  : node.value
            }
            style={{
              ...elementProps.style,
              cursor: 'pointer',
              borderRadius: 'var(--mantine-radius-sm)',
              paddingBlock: 2,
              paddingInlineEnd: 4,
              background: isSelected ? 'var(--mantine-primary-color-light)' : undefined,
            }}
          >
            <IconChevronRight
              size={14}
              style={{
                flex: 'none',
                visibility: hasChildren ? 'visible' : 'hidden',
                transform: expanded ? 'rotate(90deg)' : undefined,
                transition: 'transform 120ms',
              }}
            />
            <Icon size={16} style={{ flex: 'none' }} color="var(--mantine-color-yellow-filled)" />
            <Text size="sm" truncate="end" fw={isSelected ? 600 : undefined} style={{ minWidth: 0, flex: '0 1 auto' }}>
              {node.label}
            </Text>
            {isLoading && <Loader size={12} />}
            {loadError && (
              <Text size="xs" c="red">
                failed
              </Text>
            )}
          </Group>
        );
      }}
    />
  );
}
