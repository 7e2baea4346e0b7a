import { useEffect, useState, type ReactNode } from 'react';
import { NavLink as RouterLink, useLocation } from 'react-router';
import {
  ActionIcon,
  AppShell,
  Burger,
  Button,
  Group,
  Modal,
  NavLink,
  PasswordInput,
  Stack,
  Text,
  Title,
  Tooltip,
  useComputedColorScheme,
  useMantineColorScheme,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import {
  IconActivity,
  IconAlertTriangle,
  IconBook,
  IconDashboard,
  IconFileCode,
  IconFolders,
  IconMessageChatbot,
  IconMoon,
  IconSearch,
  IconSun,
  IconWebhook,
} from '@tabler/icons-react';
import { getToken, setToken, unauthorizedEvent } from '../api/client';

const nav = [
  { to: '/', label: 'Dashboard', icon: IconDashboard, end: true },
  { to: '/pipelines', label: 'Pipelines', icon: IconFileCode },
  { to: '/executions', label: 'Executions', icon: IconActivity },
  { to: '/storage', label: 'Storage', icon: IconFolders },
  { to: '/dead-letters', label: 'Dead letters', icon: IconAlertTriangle },
  { to: '/search', label: 'Search', icon: IconSearch },
  { to: '/chat', label: 'Chat', icon: IconMessageChatbot },
  { to: '/webhooks', label: 'Webhooks', icon: IconWebhook },
];

/** Shell is the frame of every page: header, navigation and token login. */
export function Shell({ children }: { children: ReactNode }) {
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  useEffect(close, [location.pathname, close]);
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Title order={3}>Factflow</Title>
          </Group>
          <Group gap="xs">
            <Tooltip label="API reference">
              <ActionIcon component="a" href="/docs" target="_blank" variant="subtle" aria-label="API reference">
                <IconBook size={18} />
              </ActionIcon>
            </Tooltip>
            <ColorSchemeToggle />
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {nav.map((n) => (
          <NavLink
            key={n.to}
            component={RouterLink}
            to={n.to}
            end={n.end}
            label={n.label}
            leftSection={<n.icon size={18} stroke={1.6} />}
            active={n.end ? location.pathname === n.to : location.pathname.startsWith(n.to)}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>{children}</AppShell.Main>
      <TokenLogin />
    </AppShell>
  );
}

function ColorSchemeToggle() {
  const { setColorScheme } = useMantineColorScheme();
  const scheme = useComputedColorScheme('light');
  const next = scheme === 'dark' ? 'light' : 'dark';
  return (
    <Tooltip label={`Switch to ${next} mode`}>
      <ActionIcon variant="subtle" onClick={() => setColorScheme(next)} aria-label={`Switch to ${next} mode`}>
        {scheme === 'dark' ? <IconSun size={18} /> : <IconMoon size={18} />}
      </ActionIcon>
    </Tooltip>
  );
}

/**
 * TokenLogin asks for an API token when the server answers 401. A server
 * without auth never does, so nothing here assumes auth is on.
 */
function TokenLogin() {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState(getToken() ?? '');
  useEffect(() => {
    const onUnauthorized = () => setOpen(true);
    window.addEventListener(unauthorizedEvent, onUnauthorized);
    return () => window.removeEventListener(unauthorizedEvent, onUnauthorized);
  }, []);
  return (
    <Modal opened={open} onClose={() => setOpen(false)} title="Sign in with an API token">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setToken(value.trim() || null);
          setOpen(false);
          window.location.reload();
        }}
      >
        <Stack>
          <Text size="sm" c="dimmed">
            This server requires authentication. Paste a token made with <code>factflow token create</code>.
          </Text>
          <PasswordInput label="Token" value={value} onChange={(e) => setValue(e.currentTarget.value)} autoFocus />
          <Group justify="flex-end">
            <Button type="submit">Sign in</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
