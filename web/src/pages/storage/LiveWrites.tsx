import { useEffect, useRef, useState } from 'react';
import { Anchor, Badge, Group, Paper, ScrollArea, Stack, Switch, Text, Tooltip } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { follow } from '../../api/sse';
import { formatAgo, formatBytes } from '../../format';
import { storageHref } from './ObjectList';
import { baseName, parentPrefix } from './storageApi';

/** A storage.object.created event of GET /storage/events. */
export interface StorageWrite {
  id: string;
  key: string;
  size: number;
  content_type?: string;
  execution_id?: string;
  route?: string;
  stage?: string;
  created_at: string;
}

const KEEP = 50;
/** How far back the feed starts when switched on. */
const LOOKBACK_MS = 5 * 60_000;

/**
 * useStorageWrites follows the storage feed while on, starting a few
 * minutes back (`since`; the feed would otherwise replay its whole
 * history), and reconnects with Last-Event-ID when the server ends the
 * stream.
 */
function useStorageWrites(on: boolean, onWrite: (w: StorageWrite) => void) {
  const [error, setError] = useState<unknown>(null);
  const handler = useRef(onWrite);
  handler.current = onWrite;
  useEffect(() => {
    if (!on) return;
    const ctl = new AbortController();
    const since = new Date(Date.now() - LOOKBACK_MS).toISOString();
    void follow(`/api/v1/storage/events?keep_open=true&since=${encodeURIComponent(since)}`, {
      signal: ctl.signal,
      // The feed stays open: every end of it is a reason to reconnect.
      done: () => false,
      onError: setError,
      onEvent: (e) => {
        setError(null);
        try {
          const w = JSON.parse(e.data) as StorageWrite;
          handler.current({ ...w, id: w.id ?? e.id ?? '' });
        } catch {
          /* not an object event */
        }
      },
    });
    return () => ctl.abort();
  }, [on]);
  return error;
}

/** LiveWrites lists the latest objects written, live, while switched on. */
export function LiveWrites({ prefix }: { prefix: string }) {
  const [on, setOn] = useState(true);
  const [writes, setWrites] = useState<StorageWrite[]>([]);
  const qc = useQueryClient();
  const refreshAt = useRef(0);
  const prefixRef = useRef(prefix);
  prefixRef.current = prefix;
  const error = useStorageWrites(on, (w) => {
    setWrites((ws) => (ws.some((x) => x.id === w.id) ? ws : [w, ...ws].slice(0, KEEP)));
    // A write into the open folder refreshes its list, at most every 2 s.
    const now = Date.now();
    if (parentPrefix(w.key).startsWith(prefixRef.current) && now - refreshAt.current > 2000) {
      refreshAt.current = now;
      setTimeout(() => void qc.invalidateQueries({ queryKey: ['storage', 'objects'] }), 500);
    }
  });
  return (
    <Paper withBorder p="sm" radius="md" component="section" aria-label="Live writes">
      <Stack gap="xs">
        <Group justify="space-between" wrap="nowrap">
          <Group gap={6}>
            <Text fw={600} size="sm">
              Latest writes
            </Text>
            {on && !error && (
              <Badge size="xs" color="green" variant="dot">
                live
              </Badge>
            )}
            {on && !!error && (
              <Tooltip label={error instanceof Error ? error.message : String(error)}>
                <Badge size="xs" color="orange" variant="dot">
                  reconnecting
                </Badge>
              </Tooltip>
            )}
          </Group>
          <Switch size="xs" checked={on} onChange={(e) => setOn(e.currentTarget.checked)} label="Live" aria-label="Live writes feed" />
        </Group>
        {writes.length === 0 ? (
          <Text size="xs" c="dimmed">
            {on ? 'Waiting for objects to be written…' : 'The feed is off.'}
          </Text>
        ) : (
          <ScrollArea.Autosize mah={320} type="auto" scrollbars="y" styles={{ content: { display: 'block' } }}>
            <Stack gap={4} component="ul" style={{ listStyle: 'none', padding: 0, margin: 0 }} aria-label="Written objects">
              {writes.map((w) => (
                <li key={w.id} style={{ minWidth: 0 }}>
                  <Anchor
                    component={Link}
                    to={storageHref(parentPrefix(w.key), w.key)}
                    size="xs"
                    display="block"
                    truncate="end"
                    title={w.key}
                  >
                    {baseName(w.key)}
                  </Anchor>
                  <Text size="xs" c="dimmed" truncate="end">
                    {[[w.route, w.stage].filter(Boolean).join(' / '), formatBytes(w.size), formatAgo(w.created_at)]
                      .filter(Boolean)
                      .join(' · ')}
                  </Text>
                </li>
              ))}
            </Stack>
          </ScrollArea.Autosize>
        )}
      </Stack>
    </Paper>
  );
}
