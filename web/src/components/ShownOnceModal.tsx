import type { ReactNode } from 'react';
import { Alert, Button, Code, Group, Modal, Stack } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { CopyIconButton } from './CopyIconButton';

/**
 * ShownOnceModal shows a secret the server returns in one answer only (a
 * webhook signing secret, an API token): it cannot be dismissed by a stray
 * click, and closing it says the secret was saved.
 */
export function ShownOnceModal({
  value,
  title,
  what,
  warning,
  children,
  onClose,
}: {
  /** The secret; the modal is open while it is set. */
  value: string | null | undefined;
  title: string;
  /** What the value is, in lower case: "secret", "token". */
  what: string;
  /** Why it will not be shown again and how it is used. */
  warning: ReactNode;
  /** More lines under the warning. */
  children?: ReactNode;
  onClose: () => void;
}) {
  return (
    <Modal
      closeButtonProps={{ 'aria-label': 'Close' }}
      opened={!!value}
      onClose={onClose}
      title={title}
      closeOnClickOutside={false}
      size="lg"
    >
      <Stack gap="sm">
        <Alert color="yellow" icon={<IconAlertTriangle />} title={`Copy this ${what} now`}>
          {warning}
        </Alert>
        {children}
        <Group gap="xs" wrap="nowrap" align="center">
          <Code block style={{ flex: 1, wordBreak: 'break-all', whiteSpace: 'pre-wrap' }} aria-label={title}>
            {value}
          </Code>
          <CopyIconButton value={value ?? ''} label={`Copy ${what}`} tooltip="Copy" timeout={2000} iconSize={16} />
        </Group>
        <Group justify="flex-end">
          <Button onClick={onClose}>I have saved the {what}</Button>
        </Group>
      </Stack>
    </Modal>
  );
}
