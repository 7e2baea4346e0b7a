import { ActionIcon, CopyButton, Tooltip } from '@mantine/core';
import { IconCheck, IconCopy } from '@tabler/icons-react';

/** CopyIconButton is a small icon button that copies value and turns into a teal check for a moment. */
export function CopyIconButton({
  value,
  label,
  tooltip,
  size = 'sm',
  iconSize = 14,
  timeout,
}: {
  value: string;
  /** Accessible name of the button. */
  label: string;
  /** Tooltip text before copying ("Copied" after); no tooltip when unset. */
  tooltip?: string;
  size?: 'xs' | 'sm';
  iconSize?: number;
  timeout?: number;
}) {
  return (
    <CopyButton value={value} timeout={timeout}>
      {({ copied, copy }) => {
        const button = (
          <ActionIcon size={size} variant="subtle" color={copied ? 'teal' : 'gray'} onClick={copy} aria-label={label}>
            {copied ? <IconCheck size={iconSize} /> : <IconCopy size={iconSize} />}
          </ActionIcon>
        );
        return tooltip ? <Tooltip label={copied ? 'Copied' : tooltip}>{button}</Tooltip> : button;
      }}
    </CopyButton>
  );
}
