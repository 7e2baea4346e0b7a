import { useEffect, useState, type ReactNode } from 'react';
import { NavLink as RouterLink, useLocation } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import {
  ActionIcon,
  AppShell,
  Badge,
  Burger,
  Button,
  Group,
  Menu,
  Modal,
  NavLink,
  PasswordInput,
  Stack,
  Text,
  Title,
  Tooltip,
  UnstyledButton,
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
  IconLogin,
  IconLogout,
  IconMessageChatbot,
  IconMoon,
  IconSearch,
  IconShieldLock,
  IconSun,
  IconUserCircle,
  IconWebhook,
} from '@tabler/icons-react';
import { getToken, setToken, unauthorizedEvent } from '../api/client';
import { hasScope, highestScope, scopeColor, useStoredToken, useWhoami, type Whoami } from '../api/auth';

const nav: { to: string; label: string; icon: typeof IconDashboard; end?: boolean; adminOnly?: boolean }[] = [
  { to: '/', label: 'Dashboard', icon: IconDashboard, end: true },
  { to: '/pipelines', label: 'Pipelines', icon: IconFileCode },
  { to: '/executions', label: 'Executions', icon: IconActivity },
  { to: '/storage', label: 'Storage', icon: IconFolders },
  { to: '/dead-letters', label: 'Dead letters', icon: IconAlertTriangle },
  { to: '/search', label: 'Search', icon: IconSearch },
  { to: '/chat', label: 'Chat', icon: IconMessageChatbot },
  { to: '/webhooks', label: 'Webhooks', icon: IconWebhook },
  { to: '/access', label: 'Access', icon: IconShieldLock, adminOnly: true },
];

const modeLabel: Record<Whoami['auth_mode'], string> = {
  none: 'none (every caller is local with all scopes)',
  token: 'API tokens',
  trusted_headers: 'trusted proxy headers',
  oidc: 'OpenID Connect',
};

/** Shell is the frame of every page: header, navigation and token login. */
export function Shell({ children }: { children: ReactNode }) {
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  useEffect(close, [location.pathname, close]);
  const whoami = useWhoami();
  // Only an admin can use the Access page; others would meet a 403 there.
  const isAdmin = hasScope(whoami.data?.scopes, 'admin');
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Title order={3}>Factflow</Title>
          </Group>
          <Group gap="xs">
            {whoami.data && <Caller who={whoami.data} />}
            <Tooltip label="API reference">
              <ActionIcon component="a" href="/docs" target="_blank" variant="subtle" aria-label="API reference">
                <IconBook size={18} />
              </ActionIcon>
            </Tooltip>
            <ColorSchemeToggle />
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main">
        {nav
          .filter((n) => !n.adminOnly || isAdmin)
          .map((n) => (
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

/**
 * Caller shows who the server takes the user for. Without auth (mode
 * none) that is always "local", said quietly; otherwise the subject, the
 * strongest scope and a menu to sign in or out.
 */
function Caller({ who }: { who: Whoami }) {
  const qc = useQueryClient();
  const token = useStoredToken();
  const mode = `Auth mode: ${modeLabel[who.auth_mode] ?? who.auth_mode}`;
  if (who.auth_mode === 'none' && !token) {
    return (
      <Tooltip label={mode}>
        <Text size="sm" c="dimmed">
          {who.subject}
        </Text>
      </Tooltip>
    );
  }
  const top = highestScope(who.scopes);
  const anonymous = who.kind === 'anonymous';
  const signOut = () => {
    setToken(null);
    // Everything shown so far was fetched with the old token.
    void qc.invalidateQueries();
  };
  return (
    <Menu position="bottom-end" withinPortal>
      <Tooltip label={mode}>
        <Menu.Target>
          <UnstyledButton aria-label={`Caller: ${who.subject}${top ? ` (${top})` : ''}`}>
            <Group gap={6} wrap="nowrap">
              <IconUserCircle size={20} stroke={1.5} />
              <Text size="sm" fw={500} truncate="end" maw={180} visibleFrom="xs">
                {anonymous ? 'Not signed in' : who.subject}
              </Text>
              {top && (
                <Badge size="sm" variant="light" color={scopeColor[top]}>
                  {top}
                </Badge>
              )}
            </Group>
          </UnstyledButton>
        </Menu.Target>
      </Tooltip>
      <Menu.Dropdown>
        <Menu.Label>
          {who.kind}
          {who.email ? ` · ${who.email}` : ''}
        </Menu.Label>
        {token ? (
          <Menu.Item leftSection={<IconLogout size={14} />} onClick={signOut}>
            Sign out
          </Menu.Item>
        ) : who.auth_mode === 'token' ? (
          <Menu.Item leftSection={<IconLogin size={14} />} onClick={() => window.dispatchEvent(new Event(unauthorizedEvent))}>
            Sign in with a token
          </Menu.Item>
        ) : null}
      </Menu.Dropdown>
    </Menu>
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
            This server requires authentication. Paste a token made with <code>factflow token create</code> or by an admin
            on the Access page.
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
