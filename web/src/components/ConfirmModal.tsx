import type { ReactNode } from 'react';
import { Button, Group, Modal, Stack, type MantineColor } from '@mantine/core';
import { ErrorAlert } from './ErrorAlert';

export interface ConfirmModalProps {
  opened: boolean;
  onClose: () => void;
  title: ReactNode;
  /** The explanation (and any extra inputs) above the buttons. */
  children: ReactNode;
  confirmLabel: ReactNode;
  onConfirm: () => void;
  confirmColor?: MantineColor;
  confirmIcon?: ReactNode;
  /** The confirm button shows a spinner while the action runs. */
  loading?: boolean;
  cancelLabel?: ReactNode;
  /** Disables the cancel button (e.g. while the action runs). */
  cancelDisabled?: boolean;
  /** The action's failure, shown above the buttons when set. */
  error?: unknown;
  errorTitle?: string;
  /** aria-label of the modal's close (×) button; Mantine's default when unset. */
  closeLabel?: string;
  zIndex?: number;
}

/** ConfirmModal asks before a consequential action: text, optional error, Cancel and a confirm button. */
export function ConfirmModal({
  opened,
  onClose,
  title,
  children,
  confirmLabel,
  onConfirm,
  confirmColor,
  confirmIcon,
  loading,
  cancelLabel = 'Cancel',
  cancelDisabled,
  error,
  errorTitle,
  closeLabel,
  zIndex,
}: ConfirmModalProps) {
  return (
    <Modal
      opened={opened}
      onClose={onClose}
      title={title}
      zIndex={zIndex}
      closeButtonProps={closeLabel ? { 'aria-label': closeLabel } : undefined}
    >
      <Stack>
        {children}
        {error ? <ErrorAlert error={error} title={errorTitle} /> : null}
        <Group justify="flex-end" gap="xs">
          <Button variant="default" onClick={onClose} disabled={cancelDisabled}>
            {cancelLabel}
          </Button>
          <Button color={confirmColor} loading={loading} onClick={onConfirm} leftSection={confirmIcon}>
            {confirmLabel}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
