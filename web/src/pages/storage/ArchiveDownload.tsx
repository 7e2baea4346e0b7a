import { useState } from 'react';
import { Alert, Button, Checkbox, Code, Group, Modal, Progress, Skeleton, Stack, Text, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery } from '@tanstack/react-query';
import { IconFileZip } from '@tabler/icons-react';
import { api, unwrap, type Schemas } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { StatusBadge } from '../../components/StatusBadge';
import { formatBytes, formatNumber } from '../../format';
import { DownloadButton } from './ObjectPreview';
import { archiveDownloadUrl } from './storageApi';

type Job = Schemas['ArchiveJob'];
const running = (s?: string) => s === 'pending' || s === 'running';

/**
 * ArchiveDownload zips the current folder: it counts what the archive
 * would hold, prepares it in the background with a progress bar, then
 * offers the zip; a job can be cancelled or its archive deleted.
 */
export function ArchiveDownload({ prefix }: { prefix: string }) {
  const [open, setOpen] = useState(false);
  const [withMeta, setWithMeta] = useState(false);
  const [jobId, setJobId] = useState<string | null>(null);
  const [jobPrefix, setJobPrefix] = useState('');

  const count = useQuery({
    queryKey: ['storage', 'archive-count', prefix, withMeta],
    queryFn: () =>
      unwrap(api.POST('/api/v1/content/archive/count', { body: { prefix, include_metadata: withMeta || undefined } })),
    enabled: open && !!prefix && !jobId,
  });

  const job = useQuery({
    queryKey: ['archive', jobId],
    queryFn: () => unwrap(api.GET('/api/v1/content/archive/{job}/status', { params: { path: { job: jobId! } } })),
    enabled: !!jobId,
    refetchInterval: (q) => (running((q.state.data as Job | undefined)?.status) || !q.state.data ? 1000 : false),
  });

  const prepare = useMutation({
    mutationFn: () =>
      unwrap(api.POST('/api/v1/content/archive/prepare', { body: { prefix, include_metadata: withMeta || undefined } })),
    onSuccess: (j) => {
      setJobId(j.id);
      setJobPrefix(prefix);
    },
    onError: (err) => notifications.show({ color: 'red', title: 'Could not start the archive', message: err.message }),
  });

  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/content/archive/{job}', { params: { path: { job: id } } })),
    onSuccess: () => {
      notifications.show({
        color: 'gray',
        title: running(job.data?.status) ? 'Archive cancelled' : 'Archive deleted',
        message: `The archive of ${jobPrefix} was removed.`,
      });
      setJobId(null);
    },
    onError: (err) => notifications.show({ color: 'red', title: 'Could not remove the archive', message: err.message }),
  });

  const j = job.data;
  const pct = j && j.objects_total > 0 ? Math.round((j.objects_done / j.objects_total) * 100) : j?.status === 'completed' ? 100 : 0;
  const label = !jobId ? 'Download archive' : running(j?.status) ? `Archive ${pct}%` : j?.status === 'completed' ? 'Archive ready' : 'Archive';

  return (
    <>
      <Tooltip label="Open a folder to archive it" disabled={!!prefix}>
        <Button
          size="xs"
          variant="default"
          leftSection={<IconFileZip size={14} />}
          disabled={!prefix && !jobId}
          onClick={() => setOpen(true)}
        >
          {label}
        </Button>
      </Tooltip>
      <Modal opened={open} onClose={() => setOpen(false)} title="Download a zip archive" size="lg">
        <Stack>
          {!jobId ? (
            <>
              <Text size="sm">
                Every object under <Code>{prefix}</Code> goes into one zip, built in the background.
              </Text>
              {count.isPending && <Skeleton h={20} />}
              {count.isError && <ErrorAlert error={count.error} title="Could not count the objects" />}
              {count.data && (
                <Text size="sm" aria-label="Archive size">
                  <b>{formatNumber(count.data.objects)}</b> objects, <b>{formatBytes(count.data.bytes)}</b>
                </Text>
              )}
              <Checkbox
                label="Include each object's metadata as <key>.meta.json"
                checked={withMeta}
                onChange={(e) => setWithMeta(e.currentTarget.checked)}
              />
              <Group justify="flex-end">
                <Button variant="default" onClick={() => setOpen(false)}>
                  Close
                </Button>
                <Button
                  onClick={() => prepare.mutate()}
                  loading={prepare.isPending}
                  disabled={!count.data || count.data.objects === 0}
                  leftSection={<IconFileZip size={16} />}
                >
                  Prepare archive
                </Button>
              </Group>
            </>
          ) : (
            <>
              <Group gap="xs">
                <Text size="sm">
                  Archive of <Code>{jobPrefix}</Code>
                </Text>
                {j && <StatusBadge status={j.status} />}
              </Group>
              {job.isError && <ErrorAlert error={job.error} title="Could not read the archive job" />}
              {j && (
                <>
                  <Progress
                    value={pct}
                    animated={running(j.status)}
                    color={j.status === 'failed' ? 'red' : j.status === 'completed' ? 'green' : undefined}
                    size="lg"
                    aria-label="Archive progress"
                  />
                  <Text size="sm" c="dimmed">
                    {formatNumber(j.objects_done)} / {formatNumber(j.objects_total)} objects · {formatBytes(j.bytes_done)}
                    {j.status === 'completed' ? ` · zip ${formatBytes(j.archive_size)}` : ''}
                  </Text>
                  {j.error && (
                    <Alert color="red" title="The archive failed">
                      {j.error}
                    </Alert>
                  )}
                </>
              )}
              <Group justify="flex-end">
                {running(j?.status) ? (
                  <Button color="red" variant="light" loading={remove.isPending} onClick={() => remove.mutate(jobId)}>
                    Cancel archive
                  </Button>
                ) : (
                  <Button color="red" variant="subtle" loading={remove.isPending} onClick={() => remove.mutate(jobId)}>
                    Delete archive
                  </Button>
                )}
                {!running(j?.status) && (
                  <Button variant="default" onClick={() => setJobId(null)}>
                    New archive
                  </Button>
                )}
                {j?.status === 'completed' && (
                  <DownloadButton url={archiveDownloadUrl(j.id)} filename={`factflow-${j.id}.zip`} label="Download zip" />
                )}
              </Group>
            </>
          )}
        </Stack>
      </Modal>
    </>
  );
}
