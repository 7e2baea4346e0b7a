import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ActionIcon,
  Badge,
  Box,
  Button,
  Drawer,
  EmptyState,
  Group,
  Loader,
  Menu,
  Modal,
  NavLink,
  Paper,
  ScrollArea,
  Skeleton,
  Stack,
  Text,
  Textarea,
  TextInput,
  Title,
  Tooltip,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import {
  IconDots,
  IconEdit,
  IconLayoutSidebar,
  IconMessageChatbot,
  IconPlayerStopFilled,
  IconPlus,
  IconSend,
  IconSettings,
  IconTrash,
} from '@tabler/icons-react';
import { api, unwrap, type Schemas } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { ConfirmModal } from '../../components/ConfirmModal';
import { formatAgo } from '../../format';
import { AnswerText, SourceList } from './Answer';
import { CitationDrawer } from './CitationDrawer';
import { sendMessage, stopTurn, usePendingTurn, type PendingTurn } from './streams';
import { defaultSettings, fromStored, ThreadSettingsModal, toOptions, type SettingsForm } from './ThreadSettings';
import { citationsOf, type Citation } from './types';

type Thread = Schemas['ChatThread'];
type Message = Schemas['ChatMessage'];

const examples = ['How do I requeue dead letters?', 'How are failed messages retried?', 'What does folder-ingest do?'];

export default function ChatPage() {
  const { threadId } = useParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [listOpen, { open: openList, close: closeList }] = useDisclosure(false);
  const [settingsOpen, { open: openSettings, close: closeSettings }] = useDisclosure(false);
  const [renaming, setRenaming] = useState<Thread | null>(null);
  const [deleting, setDeleting] = useState<Thread | null>(null);
  const [citation, setCitation] = useState<Citation | null>(null);
  // Settings chosen before the first message, for the thread it creates.
  const [newSettings, setNewSettings] = useState<SettingsForm | null>(null);

  const threads = useQuery({
    queryKey: ['chat', 'threads'],
    queryFn: () => unwrap(api.GET('/api/v1/chat/threads', { params: { query: { limit: 200 } } })),
  });
  const thread = useQuery({
    queryKey: ['chat', 'thread', threadId],
    queryFn: () => unwrap(api.GET('/api/v1/chat/threads/{id}', { params: { path: { id: threadId! } } })),
    enabled: !!threadId,
  });

  const createThread = useMutation({
    mutationFn: (settings: SettingsForm | null) =>
      unwrap(api.POST('/api/v1/chat/threads', { body: settings ? { settings: toOptions(settings) } : {} })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['chat', 'threads'] }),
    onError: (err) => notifications.show({ color: 'red', title: 'Could not start a thread', message: String((err as Error).message) }),
  });

  const saveSettings = useMutation({
    mutationFn: (f: SettingsForm) =>
      unwrap(api.PATCH('/api/v1/chat/threads/{id}', { params: { path: { id: threadId! } }, body: { settings: toOptions(f) } })),
    onSuccess: (th) => {
      qc.setQueryData(['chat', 'thread', th.id], th);
      qc.invalidateQueries({ queryKey: ['chat', 'threads'] });
      notifications.show({ color: 'green', title: 'Settings saved', message: 'The next messages use them.' });
      closeSettings();
    },
  });

  const send = async (content: string) => {
    let id = threadId;
    if (!id) {
      try {
        const th = await createThread.mutateAsync(newSettings);
        id = th.id;
      } catch {
        return false;
      }
      setNewSettings(null);
      navigate(`/chat/${id}`);
    }
    void sendMessage(id, content, qc);
    return true;
  };

  const list = (
    <ThreadList
      threads={threads.data?.items ?? []}
      loading={threads.isPending}
      error={threads.error}
      activeId={threadId}
      onRename={setRenaming}
      onDelete={setDeleting}
      onNavigate={closeList}
    />
  );

  const current = thread.data;
  return (
    <>
      <Group justify="space-between" mb="sm" wrap="nowrap" gap="xs">
        <Group gap="xs" wrap="nowrap" style={{ minWidth: 0 }}>
          <ActionIcon variant="default" size="lg" hiddenFrom="md" onClick={openList} aria-label="Show threads">
            <IconLayoutSidebar size={18} />
          </ActionIcon>
          <Title order={2} style={{ minWidth: 0 }} lineClamp={1}>
            {threadId ? current?.title || (thread.isPending ? 'Chat' : 'Untitled thread') : 'Chat'}
          </Title>
        </Group>
        <Group gap="xs" wrap="nowrap">
          {threadId && current && (
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <ActionIcon variant="default" size="lg" aria-label="Thread actions">
                  <IconDots size={18} />
                </ActionIcon>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Item leftSection={<IconEdit size={14} />} onClick={() => setRenaming(current)}>
                  Rename
                </Menu.Item>
                <Menu.Item leftSection={<IconTrash size={14} />} color="red" onClick={() => setDeleting(current)}>
                  Delete
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          )}
          <Tooltip label="Thread settings">
            <ActionIcon
              variant="default"
              size="lg"
              onClick={openSettings}
              aria-label="Thread settings"
              disabled={!!threadId && !current}
            >
              <IconSettings size={18} />
            </ActionIcon>
          </Tooltip>
          <Button component={Link} to="/chat" leftSection={<IconPlus size={16} />} variant="light" visibleFrom="sm">
            New thread
          </Button>
          <ActionIcon component={Link} to="/chat" variant="light" size="lg" hiddenFrom="sm" aria-label="New thread">
            <IconPlus size={18} />
          </ActionIcon>
        </Group>
      </Group>

      <Group align="stretch" gap="md" wrap="nowrap" h="calc(100dvh - 56px - 2 * var(--mantine-spacing-md) - 52px)" mih={420}>
        <Paper withBorder w={280} visibleFrom="md" style={{ flexShrink: 0, display: 'flex', flexDirection: 'column' }}>
          {list}
        </Paper>
        <Paper withBorder style={{ flex: 1, minWidth: 0, display: 'flex', flexDirection: 'column' }}>
          {threadId && thread.error ? (
            <Box p="md">
              <ErrorAlert error={thread.error} title="Thread not available" />
              <Button component={Link} to="/chat" mt="sm" variant="default">
                Start a new thread
              </Button>
            </Box>
          ) : (
            <Conversation key={threadId ?? 'new'} threadId={threadId} onCite={setCitation} onSend={send} sending={createThread.isPending} />
          )}
        </Paper>
      </Group>

      <Drawer opened={listOpen} onClose={closeList} title="Threads" size="xs" styles={{ body: { padding: 0 } }} closeButtonProps={{ 'aria-label': 'Close threads' }}>
        {list}
      </Drawer>
      <CitationDrawer citation={citation} onClose={() => setCitation(null)} />
      <ThreadSettingsModal
        opened={settingsOpen}
        onClose={closeSettings}
        title={threadId ? 'Thread settings' : 'Settings for the new thread'}
        initial={threadId ? fromStored(current?.settings) : (newSettings ?? defaultSettings)}
        saving={saveSettings.isPending}
        error={saveSettings.error}
        onSave={(f) => {
          if (threadId) saveSettings.mutate(f);
          else {
            setNewSettings(f);
            closeSettings();
          }
        }}
      />
      <RenameModal thread={renaming} onClose={() => setRenaming(null)} />
      <DeleteModal
        thread={deleting}
        onClose={() => setDeleting(null)}
        onDeleted={(id) => {
          if (id === threadId) navigate('/chat');
        }}
      />
    </>
  );
}

function ThreadList({
  threads,
  loading,
  error,
  activeId,
  onRename,
  onDelete,
  onNavigate,
}: {
  threads: Thread[];
  loading: boolean;
  error: unknown;
  activeId?: string;
  onRename: (t: Thread) => void;
  onDelete: (t: Thread) => void;
  onNavigate: () => void;
}) {
  return (
    <ScrollArea style={{ flex: 1 }} p="xs">
      <Stack gap={2} component="nav" aria-label="Chat threads">
        {error ? <ErrorAlert error={error} title="Could not load threads" /> : null}
        {loading && [0, 1, 2, 3].map((i) => <Skeleton key={i} h={44} radius="sm" />)}
        {!loading && !error && threads.length === 0 && (
          <Text size="sm" c="dimmed" p="sm">
            No threads yet. Ask a question to start one.
          </Text>
        )}
        {threads.map((t) => (
          <Group key={t.id} gap={0} wrap="nowrap">
            <NavLink
              component={Link}
              to={`/chat/${t.id}`}
              onClick={onNavigate}
              active={t.id === activeId}
              label={<Text size="sm" lineClamp={1}>{t.title || 'Untitled thread'}</Text>}
              description={`${t.message_count} message${t.message_count === 1 ? '' : 's'} · ${formatAgo(t.updated_at)}`}
              style={{ flex: 1, minWidth: 0, borderRadius: 'var(--mantine-radius-sm)' }}
            />
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <ActionIcon variant="subtle" color="gray" aria-label={`Actions for thread ${t.title || t.id}`}>
                  <IconDots size={16} />
                </ActionIcon>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Item leftSection={<IconEdit size={14} />} onClick={() => onRename(t)}>
                  Rename
                </Menu.Item>
                <Menu.Item leftSection={<IconTrash size={14} />} color="red" onClick={() => onDelete(t)}>
                  Delete
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        ))}
      </Stack>
    </ScrollArea>
  );
}

function Conversation({
  threadId,
  onCite,
  onSend,
  sending,
}: {
  threadId?: string;
  onCite: (c: Citation) => void;
  onSend: (content: string) => Promise<boolean>;
  sending: boolean;
}) {
  const pending = usePendingTurn(threadId);
  const messages = useQuery({
    queryKey: ['chat', 'messages', threadId],
    queryFn: () =>
      unwrap(api.GET('/api/v1/chat/threads/{id}/messages', { params: { path: { id: threadId! }, query: { limit: 1000 } } })),
    enabled: !!threadId,
  });
  const items = messages.data?.items ?? [];
  const viewport = useRef<HTMLDivElement>(null);
  const [draft, setDraft] = useState('');
  const streaming = pending?.status === 'streaming';

  useEffect(() => {
    const v = viewport.current;
    if (v) v.scrollTop = v.scrollHeight;
  }, [items.length, pending?.text, pending?.status, pending?.sources.length]);

  const submit = async () => {
    const content = draft.trim();
    if (!content || streaming || sending) return;
    setDraft('');
    const ok = await onSend(content);
    if (!ok) setDraft(content);
  };

  // The stored messages may already hold what is being shown as pending.
  const last = items[items.length - 1];
  const prev = items[items.length - 2];
  const storedQuestion =
    !!pending &&
    ((last?.role === 'user' && last.content === pending.question) ||
      (last?.role === 'assistant' && prev?.role === 'user' && prev.content === pending.question));
  const storedAnswer = !!pending && pending.status === 'done' && last?.role === 'assistant' && prev?.content === pending.question;

  return (
    <>
      <ScrollArea style={{ flex: 1 }} viewportRef={viewport} px="md" py="sm">
        <Stack gap="md" role="log" aria-label="Messages" aria-live="polite">
          {threadId && messages.error ? <ErrorAlert error={messages.error} title="Could not load messages" /> : null}
          {threadId && messages.isPending && (
            <>
              <Skeleton h={40} w="60%" ml="auto" radius="md" />
              <Skeleton h={120} w="85%" radius="md" />
            </>
          )}
          {(!threadId || (messages.isSuccess && items.length === 0)) && !pending && (
            <EmptyState
              mt="xl"
              icon={<IconMessageChatbot size={32} />}
              withIndicatorBackground
              title="Ask about your documents"
              description="Answers are grounded in the indexed segments and cite them as [n]; click a citation to see the passage."
            >
              <EmptyState.Actions>
                <Group gap="xs" justify="center">
                  {examples.map((q) => (
                    <Button key={q} size="xs" variant="light" onClick={() => setDraft(q)}>
                      {q}
                    </Button>
                  ))}
                </Group>
              </EmptyState.Actions>
            </EmptyState>
          )}
          {items.map((m) => (
            <MessageView key={m.id} message={m} onCite={onCite} />
          ))}
          {pending && !storedAnswer && <PendingView turn={pending} showQuestion={!storedQuestion} onCite={onCite} />}
        </Stack>
      </ScrollArea>
      <Box p="sm" style={{ borderTop: '1px solid var(--mantine-color-default-border)' }}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <Group gap="xs" align="flex-end" wrap="nowrap">
            <Textarea
              style={{ flex: 1 }}
              aria-label="Message"
              placeholder="Ask a question… (Enter to send, Shift+Enter for a new line)"
              autosize
              minRows={1}
              maxRows={6}
              value={draft}
              onChange={(e) => setDraft(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                  e.preventDefault();
                  void submit();
                }
              }}
            />
            {streaming ? (
              <Button
                color="red"
                variant="light"
                leftSection={<IconPlayerStopFilled size={14} />}
                onClick={() => threadId && stopTurn(threadId)}
                aria-label="Stop generating"
              >
                Stop
              </Button>
            ) : (
              <Button type="submit" leftSection={<IconSend size={16} />} loading={sending} disabled={!draft.trim()} aria-label="Send message">
                Send
              </Button>
            )}
          </Group>
        </form>
      </Box>
    </>
  );
}

function UserBubble({ content }: { content: string }) {
  return (
    <Paper
      p="sm"
      radius="md"
      ml="auto"
      maw="85%"
      bg="var(--mantine-primary-color-light)"
      aria-label="Your question"
      style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}
    >
      <Text size="sm">{content}</Text>
    </Paper>
  );
}

function AssistantBubble({ children, label }: { children: React.ReactNode; label: string }) {
  return (
    <Paper withBorder p="sm" radius="md" maw={{ base: '100%', sm: '90%' }} aria-label={label} component="article">
      {children}
    </Paper>
  );
}

function metaLine(meta: Record<string, unknown> | undefined): string {
  if (!meta) return '';
  const parts: string[] = [];
  if (typeof meta.model === 'string' && meta.model) parts.push(meta.model);
  if (typeof meta.strategy === 'string' && meta.strategy) parts.push(meta.strategy);
  const usage = meta.usage as { total_tokens?: number } | undefined;
  if (usage?.total_tokens) parts.push(`${usage.total_tokens} tokens`);
  const timing = meta.timing as { total_ms?: number } | undefined;
  if (timing?.total_ms) parts.push(`${Math.round(timing.total_ms)} ms`);
  return parts.join(' · ');
}

function MessageView({ message, onCite }: { message: Message; onCite: (c: Citation) => void }) {
  if (message.role === 'user') return <UserBubble content={message.content} />;
  const sources = citationsOf(message.sources);
  const meta = metaLine(message.metadata);
  return (
    <AssistantBubble label="Answer">
      <AnswerText text={message.content} sources={sources} onCite={onCite} />
      <SourceList sources={sources} onOpen={onCite} />
      {meta && (
        <Text size="xs" c="dimmed" mt={6}>
          {meta}
        </Text>
      )}
    </AssistantBubble>
  );
}

function PendingView({ turn, showQuestion, onCite }: { turn: PendingTurn; showQuestion: boolean; onCite: (c: Citation) => void }) {
  return (
    <>
      {showQuestion && <UserBubble content={turn.question} />}
      <AssistantBubble label={turn.status === 'streaming' ? 'Answer (streaming)' : 'Answer'}>
        {turn.text ? (
          <AnswerText text={turn.text} sources={turn.sources} onCite={onCite} />
        ) : turn.status === 'streaming' ? (
          <Group gap="xs">
            <Loader size="xs" type="dots" />
            <Text size="sm" c="dimmed">
              {turn.sources.length ? `Read ${turn.sources.length} passages, writing…` : 'Retrieving passages…'}
            </Text>
          </Group>
        ) : null}
        {turn.status === 'streaming' && turn.text && <Loader size="xs" type="dots" mt={4} aria-label="Generating" />}
        {turn.status === 'stopped' && (
          <Badge color="orange" variant="light" mt="xs">
            Stopped — the partial answer is not saved
          </Badge>
        )}
        {turn.status === 'error' && (
          <Box mt="xs">
            <ErrorAlert error={turn.error} title="The answer failed" />
          </Box>
        )}
        <SourceList sources={turn.sources} onOpen={onCite} />
        {turn.status === 'done' && metaLine(turn.meta) && (
          <Text size="xs" c="dimmed" mt={6}>
            {metaLine(turn.meta)}
          </Text>
        )}
      </AssistantBubble>
    </>
  );
}

function RenameModal({ thread, onClose }: { thread: Thread | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [title, setTitle] = useState('');
  useEffect(() => {
    if (thread) setTitle(thread.title);
  }, [thread]);
  const rename = useMutation({
    mutationFn: () => unwrap(api.PATCH('/api/v1/chat/threads/{id}', { params: { path: { id: thread!.id } }, body: { title: title.trim() } })),
    onSuccess: (th) => {
      qc.setQueryData(['chat', 'thread', th.id], th);
      qc.invalidateQueries({ queryKey: ['chat', 'threads'] });
      notifications.show({ color: 'green', title: 'Thread renamed', message: th.title });
      onClose();
    },
  });
  return (
    <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={!!thread} onClose={onClose} title="Rename thread">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (title.trim()) rename.mutate();
        }}
      >
        <Stack>
          <TextInput label="Title" value={title} onChange={(e) => setTitle(e.currentTarget.value)} maxLength={500} data-autofocus required />
          {rename.error ? <ErrorAlert error={rename.error} title="Not renamed" /> : null}
          <Group justify="flex-end" gap="xs">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={rename.isPending} disabled={!title.trim()}>
              Save
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function DeleteModal({ thread, onClose, onDeleted }: { thread: Thread | null; onClose: () => void; onDeleted: (id: string) => void }) {
  const qc = useQueryClient();
  const del = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/chat/threads/{id}', { params: { path: { id } } })),
    onSuccess: (_, id) => {
      qc.removeQueries({ queryKey: ['chat', 'messages', id] });
      qc.removeQueries({ queryKey: ['chat', 'thread', id] });
      qc.invalidateQueries({ queryKey: ['chat', 'threads'] });
      notifications.show({ color: 'green', title: 'Thread deleted', message: thread?.title || id });
      onDeleted(id);
      onClose();
    },
  });
  return (
    <ConfirmModal
      closeLabel="Close"
      opened={!!thread}
      onClose={onClose}
      title="Delete thread?"
      confirmLabel="Delete thread"
      confirmColor="red"
      loading={del.isPending}
      onConfirm={() => thread && del.mutate(thread.id)}
      error={del.error}
      errorTitle="Not deleted"
    >
      <Text size="sm">
        “{thread?.title || 'Untitled thread'}” and its {thread?.message_count ?? 0} messages will be deleted. This cannot be undone.
      </Text>
    </ConfirmModal>
  );
}
