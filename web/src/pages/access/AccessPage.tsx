import { useSearchParams } from 'react-router';
import { Tabs } from '@mantine/core';
import { IconKey, IconListDetails } from '@tabler/icons-react';
import { PageHeader } from '../../components/PageHeader';
import { TokensTab } from './TokensTab';
import { AuditTab } from './AuditTab';

type Tab = 'tokens' | 'audit';

/**
 * AccessPage manages API tokens and reads the audit log (?tab=audit).
 * Both need the admin scope; the shell lists the page only for admins,
 * and anyone else who opens it sees the server's 403 with its hint.
 */
export default function AccessPage() {
  const [params, setParams] = useSearchParams();
  const tab: Tab = params.get('tab') === 'audit' ? 'audit' : 'tokens';
  // The audit filters live in the address too; a tab switch starts clean.
  const select = (t: string | null) => setParams(t === 'audit' ? { tab: 'audit' } : {}, { replace: true });
  return (
    <>
      <PageHeader
        title="Access"
        description="API tokens for scripts and people, and the audit log of what every caller changed or was refused."
      />
      <Tabs value={tab} onChange={select} keepMounted={false}>
        <Tabs.List mb="md">
          <Tabs.Tab value="tokens" leftSection={<IconKey size={16} />}>
            Tokens
          </Tabs.Tab>
          <Tabs.Tab value="audit" leftSection={<IconListDetails size={16} />}>
            Audit log
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="tokens">
          <TokensTab />
        </Tabs.Panel>
        <Tabs.Panel value="audit">
          <AuditTab />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}
